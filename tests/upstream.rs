//! Upstream Bitnami Sealed Secrets as a test peer (kubeseal and the controller built from Go modules by
//! tests/upstream/build.sh): each side opens the other's ciphertexts offline, kubeseal seals for sealant's
//! controller, the upstream controller unseals what sealant sealed, and keys migrate between the two controllers
//! in both directions without a new key.

use sealant_testenv::cluster;
use sealant_testenv::upstream;

use std::path::{Path, PathBuf};
use std::process::Command;

use cluster::*;
use serde_json::{Value, json};
use upstream::*;

fn kubeseal(args: &[&str], stdin: &str) -> String {
    let (code, out, err) = run(
        Command::new(upstream().join("kubeseal"))
            .args(args)
            // No cluster: kubeseal must not reach for one.
            .env("KUBECONFIG", "/nonexistent"),
        stdin,
    );
    assert_eq!(code, 0, "kubeseal {args:?}: {err}");
    out
}

fn sealant(args: &[&str], stdin: &str) -> String {
    let (code, out, err) = run(Command::new(sealant_bin()).args(args), stdin);
    assert_eq!(code, 0, "sealant {args:?}: {err}");
    out
}

/// The decoded value of one item of the first Secret in a JSON or YAML stream.
fn unsealed_item(text: &str, key: &str) -> String {
    let doc = yaml_docs(text).remove(0);
    item(&doc, key)
}

#[test]
fn kubeseal_and_sealant_open_each_others_ciphertexts_offline() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    sealant(&["keys", "new", "--bits", "2048", "--out", keys.to_str().unwrap()], "");
    let cert = keys.join("tls.crt");
    let key_secret = keys.join("key-secret.yaml");
    let (cert, key_secret) = (cert.to_str().unwrap(), key_secret.to_str().unwrap());
    for scope in ["strict", "namespace-wide", "cluster-wide"] {
        let plain = secret(
            "web",
            "web-db-password-prod",
            &[("password", "interop-pl41n"), ("user", "app")],
        )
        .to_string();
        let by_kubeseal = kubeseal(&["--cert", cert, "--scope", scope, "-o", "yaml"], &plain);
        let opened = sealant(&["unseal", "--key", key_secret, "-o", "yaml", "--force"], &by_kubeseal);
        assert_eq!(
            unsealed_item(&opened, "password"),
            "interop-pl41n",
            "{scope}: sealant opening kubeseal"
        );

        let by_sealant = sealant(&["seal", "--cert", cert, "--scope", scope, "-o", "yaml"], &plain);
        let opened = kubeseal(
            &["--recovery-unseal", "--recovery-private-key", key_secret, "-o", "yaml"],
            &by_sealant,
        );
        assert_eq!(
            unsealed_item(&opened, "password"),
            "interop-pl41n",
            "{scope}: kubeseal opening sealant"
        );
        assert_eq!(unsealed_item(&opened, "user"), "app");
    }
}

#[test]
fn kubeseal_seals_for_sealants_controller_which_unseals_it() {
    let ns = Namespace::new("kubeseal");
    let c = Controller::start(&ns, "ctl-0", &[], &[]);
    let plain = secret(&ns.name, "web-api-token-prod", &[("token", "from-kubeseal-pl41n")]).to_string();
    let sealed = kubeseal(&["--cert", &format!("{}/v1/cert.pem", c.api), "-o", "json"], &plain);
    create(plane().admin(), &serde_json::from_str::<Value>(&sealed).unwrap());
    wait_secret(&ns.name, "web-api-token-prod", |s| {
        item(s, "token") == "from-kubeseal-pl41n"
    });
}

#[test]
fn the_upstream_controller_unseals_sealants_output_and_keys_migrate_both_ways() {
    let ns = Namespace::new("upstream");
    let apps = ns.other("upstream-apps");
    // 1. Upstream's controller makes its key; sealant seals to its certificate; upstream unseals.
    let mut up = Upstream::start(&ns, "first", &[]);
    let upstream_keys = key_secret_names(&ns.name);
    assert_eq!(upstream_keys.len(), 1, "upstream made one key: {upstream_keys:?}");
    let sealed = seal(
        &format!("{}/v1/cert.pem", up.api),
        &secret(&apps, "web-db-password-prod", &[("password", "sealed-by-sealant")]),
        &[],
    );
    create(plane().admin(), &sealed);
    let by_kubeseal = kubeseal(
        &["--cert", &format!("{}/v1/cert.pem", up.api), "-o", "json"],
        &secret(&apps, "web-api-token-prod", &[("token", "sealed-by-kubeseal")]).to_string(),
    );
    create(plane().admin(), &serde_json::from_str::<Value>(&by_kubeseal).unwrap());
    wait_secret(&apps, "web-db-password-prod", |s| {
        item(s, "password") == "sealed-by-sealant"
    });
    wait_secret(&apps, "web-api-token-prod", |s| {
        item(s, "token") == "sealed-by-kubeseal"
    });
    let _ = up.child.kill();
    let _ = up.child.wait();

    // 2. sealant's controller takes over the same namespace: the Secrets come back from upstream's key.
    delete_secret(&apps, "web-db-password-prod");
    delete_secret(&apps, "web-api-token-prod");
    let mut ours = Controller::start(&ns, "ctl-0", &[&apps], &[]);
    wait_secret(&apps, "web-db-password-prod", |s| {
        item(s, "password") == "sealed-by-sealant"
    });
    wait_secret(&apps, "web-api-token-prod", |s| {
        item(s, "token") == "sealed-by-kubeseal"
    });
    assert_eq!(
        key_secret_names(&ns.name),
        upstream_keys,
        "sealant made a key it did not need"
    );
    // Something new, sealed while sealant runs (to the same, upstream-made key).
    let later = sealed_for(&ours, &apps, "web-session-key-prod", &[("key", "sealed-later")]);
    create(plane().admin(), &later);
    wait_secret(&apps, "web-session-key-prod", |s| item(s, "key") == "sealed-later");
    ours.kill();

    // 3. And back: upstream again, every Secret restored, still one key.
    for name in ["web-db-password-prod", "web-api-token-prod", "web-session-key-prod"] {
        delete_secret(&apps, name);
    }
    let up = Upstream::start(&ns, "second", &[]);
    wait_secret(&apps, "web-db-password-prod", |s| {
        item(s, "password") == "sealed-by-sealant"
    });
    wait_secret(&apps, "web-session-key-prod", |s| item(s, "key") == "sealed-later");
    assert_eq!(key_secret_names(&ns.name), upstream_keys);
    assert!(!up.logs().contains("sealed-by-sealant"));
}

fn sealed_for(c: &Controller, ns: &str, name: &str, items: &[(&str, &str)]) -> Value {
    seal(&format!("{}/v1/cert.pem", c.api), &secret(ns, name, items), &[])
}

/// `sealant` under the name `kubeseal` (the symlink users make).
fn sealant_as_kubeseal(dir: &Path) -> PathBuf {
    let link = dir.join("kubeseal");
    if !link.exists() {
        std::os::unix::fs::symlink(sealant_bin(), &link).unwrap();
    }
    link
}

/// A SealedSecret with its ciphertexts blanked and sealant's own annotations removed: what must match upstream.
fn shape(text: &str) -> Vec<Value> {
    yaml_docs(text)
        .into_iter()
        .map(|mut doc| {
            if let Some(items) = doc["spec"]["encryptedData"].as_object_mut() {
                items.values_mut().for_each(|v| *v = json!("…"));
            }
            let meta = doc["metadata"].as_object_mut().unwrap();
            if let Some(a) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
                a.retain(|k, _| !k.starts_with("sealant.dev/"));
                if a.is_empty() {
                    meta.remove("annotations");
                }
            }
            doc
        })
        .collect()
}

#[test]
fn sealant_invoked_as_kubeseal_gives_upstreams_output_shape_and_error_texts() {
    let dir = tempfile::tempdir().unwrap();
    let ours = sealant_as_kubeseal(dir.path());
    let theirs = upstream().join("kubeseal");
    let keys = dir.path().join("keys");
    sealant(&["keys", "new", "--bits", "2048", "--out", keys.to_str().unwrap()], "");
    let cert = keys.join("tls.crt").display().to_string();
    let both = |args: &[&str], stdin: &str| {
        let mut outs = Vec::new();
        for bin in [&theirs, &ours] {
            outs.push(run(
                Command::new(bin)
                    .args(args)
                    .current_dir(dir.path())
                    .env("KUBECONFIG", "/nonexistent"),
                stdin,
            ));
        }
        (outs.remove(0), outs.remove(0))
    };
    let annotated = json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/basic-auth",
        "metadata": {"name": "web-db-password-prod", "namespace": "web", "labels": {"app": "web"},
                     "annotations": {"team": "payments"}},
        "data": {"username": "YWRtaW4="}, "stringData": {"password": "shape-pl41n"}});
    let two = format!(
        "{}\n{}",
        secret("web", "a-token-prod", &[("t", "1")]),
        secret("web", "b-token-prod", &[("t", "2")])
    );
    for (args, input) in [
        (vec!["--cert", cert.as_str()], annotated.to_string()),
        (vec!["--cert", cert.as_str(), "-o", "yaml"], annotated.to_string()),
        (
            vec!["--cert", cert.as_str(), "-o", "yaml", "--scope", "namespace-wide"],
            annotated.to_string(),
        ),
        (
            vec!["--cert", cert.as_str(), "--scope", "cluster-wide"],
            annotated.to_string(),
        ),
        (
            vec!["--cert", cert.as_str(), "-o", "yaml", "--name", "renamed-token-prod"],
            two.clone(),
        ),
    ] {
        let ((c1, o1, e1), (c2, o2, e2)) = both(&args, &input);
        assert_eq!((c1, c2), (0, 0), "{args:?}: {e1} / {e2}");
        assert_eq!(shape(&o1), shape(&o2), "{args:?}: output shape differs");
        let (json1, json2) = (o1.trim_start().starts_with('{'), o2.trim_start().starts_with('{'));
        assert_eq!(json1, json2, "{args:?}: one wrote JSON, the other YAML");
    }
    // --raw prints only the base64 ciphertext, no newline, in both.
    let ((_, raw1, _), (_, raw2, _)) = both(&["--cert", &cert, "--raw", "-n", "web", "--name", "x"], "value");
    assert!(!raw1.ends_with('\n') && !raw2.ends_with('\n') && raw2.len() == raw1.len());

    let no_ns = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}, "stringData": {"a": "b"}});
    let empty = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x", "namespace": "y"}});
    let no_name =
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"namespace": "y"}, "stringData": {"a": "b"}});
    let other_ns = secret("a", "x", &[("a", "b")]).to_string();
    for (args, input) in [
        (vec!["--cert", cert.as_str()], no_ns.to_string()),
        (vec!["--cert", cert.as_str()], empty.to_string()),
        (vec!["--cert", cert.as_str()], no_name.to_string()),
        (vec!["--cert", cert.as_str(), "-n", "b"], other_ns.clone()),
        (vec!["--cert", cert.as_str(), "--raw", "-n", "y"], "v".to_string()),
        (vec!["--cert", cert.as_str(), "--from-file", "x"], String::new()),
        (vec!["--cert", cert.as_str(), "-o", "xml"], other_ns.clone()),
        (vec!["--cert", cert.as_str(), "-f", "/nonexistent"], String::new()),
    ] {
        // Same exit code, and upstream's message inside ours (which may add the file, document and a hint), so
        // a script that greps for upstream's text still matches.
        let ((c1, _, e1), (c2, _, e2)) = both(&args, &input);
        let first = |e: &str| {
            e.lines()
                .find(|l| l.starts_with("error: "))
                .unwrap_or_default()
                .to_string()
        };
        let upstream_message = first(&e1).trim_start_matches("error: ").to_string();
        assert!(!upstream_message.is_empty(), "{args:?}: upstream said {e1}");
        assert_eq!(c1, c2, "{args:?} with {input}: exit codes; ours said {e2}");
        assert!(
            first(&e2).contains(&upstream_message),
            "{args:?} with {input}:\n upstream: {e1}\n ours: {e2}"
        );
    }
}

#[test]
fn kubeseal_validates_re_encrypts_and_fetches_through_the_api_server_from_sealants_controller() {
    let ns = Namespace::new("proxy");
    // The service proxy refuses loopback: the controller runs on the test host, in a network namespace.
    let c = Controller::start_on_test_host(&ns, "ctl-0", &[], &[]);
    expose_through_service_proxy(&ns.name, "sealed-secrets-controller", &c.ip(), c.port());
    let admin = ns.dir.path().join("admin.kubeconfig");
    std::fs::write(&admin, plane().kubeconfig(plane().admin())).unwrap();
    let ours = sealant_as_kubeseal(ns.dir.path());
    let cert = http_get(&format!("{}/v1/cert.pem", c.api)).unwrap().1;

    for bin in [upstream().join("kubeseal"), ours] {
        let kubeseal = |args: &[&str], stdin: &str| {
            run(
                Command::new(&bin)
                    .args(["--controller-namespace", &ns.name, "--kubeconfig"])
                    .arg(&admin)
                    .args(args),
                stdin,
            )
        };
        let who = bin.display().to_string();
        let (code, fetched, err) = kubeseal(&["--fetch-cert"], "");
        assert_eq!((code, fetched.as_str()), (0, cert.as_str()), "{who}: {err}");
        let plain = secret(&ns.name, "web-db-password-prod", &[("password", "proxied-pl41n")]).to_string();
        let (code, sealed, err) = kubeseal(&["-o", "yaml"], &plain);
        assert_eq!(code, 0, "{who}: {err}");
        let (code, _, err) = kubeseal(&["--validate"], &sealed);
        assert_eq!(code, 0, "{who}: validate: {err}");
        let moved = sealed.replace("name: web-db-password-prod", "name: other-name");
        let (code, _, err) = kubeseal(&["--validate"], &moved);
        assert_eq!(code, 1, "{who}: a moved secret validated");
        assert!(
            err.contains("unable to decrypt sealed secret: other-name"),
            "{who}: {err}"
        );
        let (code, rotated, err) = kubeseal(&["--re-encrypt", "-o", "yaml"], &sealed);
        assert_eq!(code, 0, "{who}: re-encrypt: {err}");
        assert_ne!(shape(&rotated).len(), 0);
        assert_ne!(rotated, sealed, "{who}: fresh ciphertexts expected");
        let (code, _, err) = kubeseal(&["--validate"], &rotated);
        assert_eq!(code, 0, "{who}: the re-encrypted secret validates: {err}");
        assert!(!rotated.contains("proxied-pl41n") && !err.contains("proxied-pl41n"));
    }
    // `sealant keys fetch` takes the same route when no --cert is given.
    let repo = ns.dir.path().join("repo");
    let (code, fingerprint, err) = run(
        Command::new(sealant_bin())
            .args([
                "keys",
                "fetch",
                "--cluster",
                "prod",
                "--controller-namespace",
                &ns.name,
                "--repo",
            ])
            .arg(&repo)
            .env("KUBECONFIG", &admin),
        "",
    );
    assert_eq!(code, 0, "{err}");
    let stem = fingerprint
        .trim()
        .trim_start_matches("SHA256:")
        .replace('/', "_")
        .replace('+', "-");
    let committed = std::fs::read_to_string(repo.join(format!("keys/prod/{stem}.crt"))).unwrap();
    assert_eq!(committed, cert);
}

/// The long flags a `--help` text lists (`--name` at the start of an option line).
fn listed_flags(help: &str) -> std::collections::BTreeSet<String> {
    help.lines()
        .filter_map(|line| line.trim_start().strip_prefix("--"))
        .filter_map(|rest| rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')).next())
        .map(str::to_string)
        .collect()
}

#[test]
fn every_upstream_controller_flag_is_accepted_by_sealant_invoked_as_controller() {
    let (_, out, err) = run(
        Command::new(upstream().join("sealed-secrets-controller")).arg("--help"),
        "",
    );
    let upstream_flags = listed_flags(&format!("{out}{err}"));
    assert!(
        upstream_flags.len() > 25,
        "upstream's --help lists too few flags: {upstream_flags:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let controller = dir.path().join("controller");
    std::os::unix::fs::symlink(sealant_bin(), &controller).unwrap();
    let (code, help, err) = run(Command::new(&controller).arg("--help"), "");
    assert_eq!(code, 0, "{err}");
    let ours = listed_flags(&help);
    let missing: Vec<_> = upstream_flags.difference(&ours).collect();
    assert!(
        missing.is_empty(),
        "upstream flags sealant does not accept: {missing:?}"
    );
    // Bitnami's chart's default arguments, exactly (a bare boolean first), parse and reach the version check.
    let (code, out, err) = run(
        Command::new(&controller).args([
            "--update-status",
            "--key-prefix",
            "sealed-secrets-key",
            "--listen-addr",
            ":8080",
            "--listen-metrics-addr",
            ":8081",
            "--version",
        ]),
        "",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("controller version: v"), "{out}");
}
