//! The rotation job across a key renewal: the controller's new certificate and its escrow come into the same
//! pull request, and what is re-sealed is sealed to the new key.

use super::*;

fn fingerprint(dir: &std::path::Path, file: &str) -> String {
    cli(dir, &["keys", "fingerprint", file])
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// The file-name form of a fingerprint under keys/<cluster>/.
fn stem(fingerprint: &str) -> String {
    fingerprint
        .trim_start_matches("SHA256:")
        .replace('/', "_")
        .replace('+', "-")
}

#[test]
fn after_a_key_renewal_the_job_commits_the_new_certificate_and_escrow_and_reseals_to_it() {
    let ns = Namespace::new("renew");
    let root = ns.dir.path();
    let (_, job_kubeconfig) = rotation_job(&ns);
    let (identity, public) = age::age_identity(root, "break-glass.txt");
    add_key_secret(&ns, "old");
    let c = Controller::start_on_test_host(&ns, "ctl-0", &[], &["--escrow-recipients", &public]);
    expose_through_service_proxy(&ns.name, "sealed-secrets-controller", &c.ip(), c.port());
    let api = c.api.clone();
    let escrowed = |fp: &str| {
        let name = format!("{}.key.age", stem(fp));
        let api = api.clone();
        move || {
            http_get(&format!("{api}/v1/escrow"))
                .ok()
                .filter(|(s, body)| *s == 200 && body.contains(&name))
        }
    };
    let old = fingerprint(root, "old/tls.crt");
    wait_for("the first key escrowed", Duration::from_secs(30), escrowed(&old));
    let work = gitops(&ns, |work| {
        cli(
            work,
            &[
                "keys",
                "fetch",
                "--cluster",
                "prod",
                "--cert",
                &format!("{api}/v1/cert.pem"),
                "--escrow",
                &format!("{api}/v1/escrow"),
            ],
        );
        seal_into(work, "../old/tls.crt", "db.yaml", "renewed-pl41ntext");
    });

    // The controller renews its key (a newer key Secret, as its renewal makes); it serves and escrows it.
    add_key_secret(&ns, "new");
    let new = fingerprint(root, "new/tls.crt");
    wait_for("the new key served", Duration::from_secs(30), || {
        http_get(&format!("{}/v1/cert.pem", c.api))
            .ok()
            .filter(|(_, pem)| pem.trim() == std::fs::read_to_string(root.join("new/tls.crt")).unwrap().trim())
    });
    wait_for("the new key escrowed", Duration::from_secs(30), escrowed(&new));

    let job = [("KUBECONFIG", job_kubeconfig.as_path())];
    // With the Service named only by .sealant.yaml, a renewal is not taken: a repository writer could have
    // pointed the job at a Service of their own.
    let out = std::process::Command::new(sealant_bin())
        .current_dir(&work)
        .args(["rotate", "--controller", "--dry-run"])
        .env("KUBECONFIG", &job_kubeconfig)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("pin it with --controller-namespace"),
        "{err}"
    );
    let pinned = ["rotate", "--controller", "--controller-namespace", &ns.name];
    let plan = cli_with(&work, &[&pinned[..], &["--dry-run"]].concat(), &job);
    assert!(
        plan.contains("keys/prod: current") && plan.contains("1 certificate(s) and 1 escrowed key(s) added"),
        "{plan}"
    );
    assert!(plan.contains("re-seal"), "{plan}");

    let run = cli_with(&work, &[&pinned[..], &["--forge", "none"]].concat(), &job);
    assert!(run.contains("pushed"), "{run}");
    // One commit carries the renewal: the certificate, its escrow, the pointer, and the re-sealed file.
    assert_eq!(on_rotation_branch(root, "keys/prod/current").trim(), new);
    assert!(on_rotation_branch(root, &format!("keys/prod/{}.crt", stem(&new))).contains("BEGIN CERTIFICATE"));
    assert!(
        on_rotation_branch(root, &format!("keys/prod/{}.key.age", stem(&new))).contains("BEGIN AGE ENCRYPTED FILE")
    );
    let rotated = on_rotation_branch(root, "db.yaml");
    assert!(rotated.contains(&new), "{rotated}");
    std::fs::write(root.join("rotated.yaml"), &rotated).unwrap();
    let opened = cli(
        root,
        &["unseal", "--key", "new/tls.key", "-f", "rotated.yaml", "-o", "json"],
    );
    assert!(opened.contains("cmVuZXdlZC1wbDQxbnRleHQ="), "{opened}"); // base64 of the value

    // The escrow committed is the new key itself: break-glass restores it from the branch alone.
    let checkout = root.join("checkout");
    git_in(
        root,
        &["clone", "-q", "-b", &rotation_branch(root), "remote.git", "checkout"],
    );
    cli_with(
        &checkout,
        &[
            "keys",
            "restore",
            "--cluster",
            "prod",
            "--age-identity",
            identity.to_str().unwrap(),
            "--fingerprint",
            &new,
            "-w",
            "../restored.yaml",
        ],
        &[],
    );
    assert_eq!(fingerprint(root, "restored.yaml"), new);

    // The next run finds its own proposal: nothing new is pushed.
    let again = cli_with(&work, &[&pinned[..], &["--forge", "none"]].concat(), &job);
    assert!(again.contains("already carries this plan"), "{again}");
    assert!(!run.contains("renewed-pl41ntext") && !again.contains("renewed-pl41ntext"));
}

/// Waits until the controller at `api` serves the certificate in `cert_file`.
fn wait_served(api: &str, cert_file: &std::path::Path) {
    let want = std::fs::read_to_string(cert_file).unwrap();
    wait_for("the newest key served", Duration::from_secs(30), || {
        http_get(&format!("{api}/v1/cert.pem"))
            .ok()
            .filter(|(_, pem)| pem.trim() == want.trim())
    });
}

#[test]
fn two_clusters_in_one_repository_are_each_renewed_and_resealed_through_their_own_context() {
    // Two "clusters": two controller namespaces, each reachable only by its own job identity (its Role), each
    // identity a context of one kubeconfig whose current context is prod's. Using one context for both would be
    // refused by the API server.
    let (prod, staging) = (Namespace::new("mc-prod"), Namespace::new("mc-stg"));
    let mut apis = Vec::new();
    let mut identities = Vec::new();
    for ns in [&prod, &staging] {
        identities.push(rotation_job(ns).0);
        add_key_secret(ns, "old");
        let c = Controller::start_on_test_host(ns, "ctl-0", &[], &[]);
        expose_through_service_proxy(&ns.name, "sealed-secrets-controller", &c.ip(), c.port());
        apis.push(c);
    }
    let root = prod.dir.path();
    let kubeconfig = root.join("two.kubeconfig");
    std::fs::write(
        &kubeconfig,
        cluster::plane().kubeconfig_contexts(&[("prod-job", &identities[0]), ("staging-job", &identities[1])]),
    )
    .unwrap();
    let kube = [("KUBECONFIG", kubeconfig.as_path())];
    let config = format!(
        "clusters:\n  - {{name: prod, context: prod-job, controller: {{namespace: {}}}}}\n  - {{name: staging, context: staging-job, controller: {{namespace: {}}}}}\n",
        prod.name, staging.name
    );
    let staging_old = staging.dir.path().join("old/tls.crt");
    let work = gitops_with(&prod, &config, |work| {
        cli(
            work,
            &["keys", "fetch", "--cluster", "prod", "--cert", "../old/tls.crt"],
        );
        // keys fetch through the API server with its own context: staging's job identity reaches staging.
        let fetched = cli_with(
            work,
            &[
                "keys",
                "fetch",
                "--cluster",
                "staging",
                "--context",
                "staging-job",
                "--controller-namespace",
                &staging.name,
            ],
            &kube,
        );
        assert!(
            fetched.contains(&fingerprint(root, staging_old.to_str().unwrap())),
            "{fetched}"
        );
        seal_into(work, "../old/tls.crt", "prod-db.yaml", "prod-pl41ntext");
        seal_into(
            work,
            staging_old.to_str().unwrap(),
            "staging-db.yaml",
            "staging-pl41ntext",
        );
    });
    // kubeseal mode: without --context the current context (prod's identity) is used, and staging's controller
    // refuses it; with it, staging's certificate comes back.
    let kubeseal = root.join("kubeseal");
    std::os::unix::fs::symlink(sealant_bin(), &kubeseal).unwrap();
    let fetch = |extra: &[&str]| {
        std::process::Command::new(&kubeseal)
            .args(["--fetch-cert", "--controller-namespace", &staging.name])
            .args(extra)
            .env("KUBECONFIG", &kubeconfig)
            .output()
            .unwrap()
    };
    assert!(!fetch(&[]).status.success());
    let fetched = fetch(&["--context", "staging-job"]);
    assert_eq!(
        String::from_utf8_lossy(&fetched.stdout).trim(),
        std::fs::read_to_string(&staging_old).unwrap().trim()
    );

    // Both controllers renew.
    for (ns, c) in [&prod, &staging].into_iter().zip(&apis) {
        add_key_secret(ns, "new");
        wait_served(&c.api, &ns.dir.path().join("new/tls.crt"));
    }
    // The contexts and the Services come from the flags; the file's contexts must agree with them.
    let namespaces = format!("prod={},staging={}", prod.name, staging.name);
    let refused = |extra: &[&str], expect: &str| {
        let out = std::process::Command::new(sealant_bin())
            .current_dir(&work)
            .args([
                "rotate",
                "--controller",
                "--dry-run",
                "--controller-namespace",
                &namespaces,
            ])
            .args(extra)
            .env("KUBECONFIG", &kubeconfig)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(expect), "{extra:?}: {err}");
    };
    refused(&["--context", "prod=prod-job,staging=prod-job"], "refusing to guess");
    refused(
        &["--context", "prod=prod-job"],
        "confirm it with --context staging=staging-job",
    );
    let flags = [
        "rotate",
        "--controller",
        "--controller-namespace",
        &namespaces,
        "--context",
        "prod=prod-job,staging=staging-job",
    ];
    let run = cli_with(&work, &[&flags[..], &["--forge", "none"]].concat(), &kube);
    assert!(
        run.contains("key renewal in 2 cluster(s)") || run.contains("pushed"),
        "{run}"
    );
    for (ns, file, cluster, value) in [
        (&prod, "prod-db.yaml", "prod", "prod-pl41ntext"),
        (&staging, "staging-db.yaml", "staging", "staging-pl41ntext"),
    ] {
        let new = fingerprint(ns.dir.path(), "new/tls.crt");
        assert_eq!(on_rotation_branch(root, &format!("keys/{cluster}/current")).trim(), new);
        let rotated = on_rotation_branch(root, file);
        assert!(rotated.contains(&new), "{file}: {rotated}");
        let copy = ns.dir.path().join("rotated.yaml");
        std::fs::write(&copy, &rotated).unwrap();
        let key = ns.dir.path().join("new/tls.key");
        let opened = cli(
            root,
            &[
                "unseal",
                "--key",
                key.to_str().unwrap(),
                "-f",
                copy.to_str().unwrap(),
                "-o",
                "json",
            ],
        );
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, value);
        assert!(opened.contains(&b64), "{file}: {opened}");
    }
}
