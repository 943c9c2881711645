//! Keys added, renewed, escrowed and restored; immutable Secrets; rotation through the service proxy.

use super::*;

#[test]
fn keys_added_later_and_renewed_keys_are_used_without_a_restart() {
    let ns = Namespace::new("keys");
    let admin = cluster::plane().admin();
    let c = Controller::start(&ns, "ctl-0", &["myns-later"], &["--key-renew-period", "4s"]);
    let (_, first_cert) = http_get(&format!("{}/v1/cert.pem", c.api)).unwrap();
    let key_secrets = || {
        cluster::get(&format!(
            "/api/v1/namespaces/{}/secrets?labelSelector=sealedsecrets.bitnami.com/sealed-secrets-key%3Dactive",
            ns.name
        ))
        .unwrap()["items"]
            .as_array()
            .unwrap()
            .len()
    };
    // Renewal: a new key Secret, a new certificate served; the old key is kept.
    wait_for("a renewed key", Duration::from_secs(60), || {
        (key_secrets() >= 2).then_some(())
    });
    let second_cert = wait_for("the new certificate served", Duration::from_secs(30), || {
        let (_, cert) = http_get(&format!("{}/v1/cert.pem", c.api)).ok()?;
        (cert != first_cert).then_some(cert)
    });
    assert_ne!(first_cert, second_cert);
    assert!(c.metric("sealant_keys") >= 2.0);

    // Bitnami key Secrets added while running are picked up by the watch.
    import_vector_keys(&ns.name);
    ensure_namespace("myns-later");
    let mut ss = vector_doc("sealedsecrets/cluster-wide.sealedsecret.yaml");
    let name = ss["metadata"]["name"].as_str().unwrap().to_string();
    ss["metadata"]["namespace"] = json!("myns-later");
    if let Some(t) = ss["spec"]["template"]["metadata"].as_object_mut() {
        t.insert("namespace".into(), json!("myns-later"));
    }
    create(admin, &ss);
    let expected = vector_doc("sealedsecrets/cluster-wide.expected-secret.yaml");
    let got = wait_secret("myns-later", &name, |_| true);
    assert_eq!(got["data"], expected["data"]);
}

#[test]
fn an_immutable_secret_is_created_immutable_and_a_change_is_reported_not_forced() {
    let ns = Namespace::new("immutable");
    let c = Controller::start(&ns, "ctl-0", &[], &[]);
    let admin = cluster::plane().admin();
    let mut sealed = sealed_for(&c, &ns.name, "frozen", &[("k", "v1")]);
    sealed["spec"]["template"]["immutable"] = json!(true);
    create(admin, &sealed);
    let s = wait_secret(&ns.name, "frozen", |_| true);
    assert_eq!(s["immutable"], true);

    let resealed = sealed_for(&c, &ns.name, "frozen", &[("k", "v2")]);
    let patch = json!({"spec": {"encryptedData": resealed["spec"]["encryptedData"]}});
    patch_sealed(&ns.name, "frozen", &patch);
    let condition = wait_for("immutable refusal", Duration::from_secs(30), || {
        synced(&ns.name, "frozen").filter(|c| c["status"] == "False")
    });
    assert!(
        condition["message"]
            .as_str()
            .unwrap()
            .contains("the target Secret is immutable"),
        "{condition}"
    );
    assert_eq!(item(&get_secret(&ns.name, "frozen").unwrap(), "k"), "v1");
}

#[test]
fn escrowed_keys_restored_into_a_fresh_controller_namespace_open_the_old_sealed_secrets() {
    let ns = Namespace::new("escrow");
    let apps = ns.other("escrow-apps");
    let (identity, public) = age::age_identity(ns.dir.path(), "break-glass.txt");
    let mut first = Controller::start(&ns, "ctl-0", &[&apps], &["--escrow-recipients", &public]);
    let sealed = sealed_for(
        &first,
        &apps,
        "web-db-password-prod",
        &[("password", "escrowed-pl41ntext")],
    );
    create(plane().admin(), &sealed);
    wait_secret(&apps, "web-db-password-prod", |s| {
        item(s, "password") == "escrowed-pl41ntext"
    });

    // The leader publishes the bundle: ciphertext and certificates only, in the ConfigMap and over HTTP.
    let cm = wait_for("escrow ConfigMap", Duration::from_secs(30), || {
        get(&format!("/api/v1/namespaces/{}/configmaps/sealant-key-escrow", ns.name))
    });
    let (status, body) = wait_for("GET /v1/escrow", Duration::from_secs(30), || {
        http_get(&format!("{}/v1/escrow", first.api))
            .ok()
            .filter(|(s, _)| *s == 200)
    });
    assert_eq!(status, 200);
    let bundle: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(bundle, cm["data"], "endpoint and ConfigMap disagree");
    let files = bundle.as_object().unwrap();
    assert_eq!(files.len(), 2, "one key: its .crt and .key.age");
    for (name, text) in files {
        let text = text.as_str().unwrap();
        assert!(!text.contains("PRIVATE KEY"), "{name} holds a plaintext key");
        if name.ends_with(".key.age") {
            assert!(text.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"));
        }
    }

    // What the rotation job commits: the certificate and the escrow, fetched into keys/prod/.
    let repo = ns.dir.path().join("repo");
    let out = std::process::Command::new(sealant_bin())
        .args(["keys", "fetch", "--cluster", "prod"])
        .args(["--cert", &format!("{}/v1/cert.pem", first.api)])
        .args(["--escrow", &format!("{}/v1/escrow", first.api)])
        .arg("--repo")
        .arg(&repo)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for name in files.keys() {
        let committed = std::fs::read_to_string(repo.join("keys/prod").join(name)).unwrap();
        assert_eq!(committed, files[name].as_str().unwrap(), "{name}");
    }
    // The cluster is lost: its controller is gone and its Secret with it.
    first.kill();
    cluster::delete(&format!("/api/v1/namespaces/{apps}/secrets/web-db-password-prod"));

    // Restore into a fresh controller namespace with the age identity, as an administrator would.
    let fresh = Namespace::new("restored");
    let admin = ns.dir.path().join("admin.kubeconfig");
    std::fs::write(&admin, plane().kubeconfig(plane().admin())).unwrap();
    let out = std::process::Command::new(sealant_bin())
        .args([
            "keys",
            "restore",
            "--cluster",
            "prod",
            "--all",
            "--apply",
            "--controller-namespace",
            &fresh.name,
        ])
        .arg("--age-identity")
        .arg(&identity)
        .arg("--repo")
        .arg(&repo)
        .env("KUBECONFIG", &admin)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let second = Controller::start(&fresh, "ctl-restored", &[&apps], &[]);
    wait_secret(&apps, "web-db-password-prod", |s| {
        item(s, "password") == "escrowed-pl41ntext"
    });
    // No new key was needed: the one key Secret there is the restored one.
    let keys = get(&format!(
        "/api/v1/namespaces/{}/secrets?labelSelector=sealedsecrets.bitnami.com/sealed-secrets-key",
        fresh.name
    ))
    .unwrap();
    let names: Vec<&str> = keys["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(names[0].starts_with("sealed-secrets-key-"), "{names:?}");
    for log in [first.logs(), second.logs()] {
        assert!(!log.contains("escrowed-pl41ntext") && !log.contains("PRIVATE KEY"));
    }
}

#[test]
fn rotate_reseals_through_the_service_proxy_as_the_cronjobs_service_account_to_the_newest_key() {
    let ns = Namespace::new("rotjob");
    let root = ns.dir.path();
    let (job, job_kubeconfig) = rotation_job(&ns);
    // Two keys in the controller's namespace, the second one newer: the controller seals to it.
    for key in ["old", "new"] {
        add_key_secret(&ns, key);
    }
    // The service proxy refuses loopback: the controller runs on the test host, in a network namespace.
    let c = Controller::start_on_test_host(&ns, "ctl-0", &[], &[]);
    expose_through_service_proxy(&ns.name, "sealed-secrets-controller", &c.ip(), c.port());

    let work = gitops(&ns, |work| {
        cli(
            work,
            &["keys", "fetch", "--cluster", "prod", "--cert", "../old/tls.crt"],
        );
        cli(
            work,
            &[
                "keys",
                "fetch",
                "--cluster",
                "prod",
                "--cert",
                &format!("{}/v1/cert.pem", c.api),
            ],
        );
        seal_into(work, "../old/tls.crt", "db.yaml", "rotate-through-controller");
    });

    let text = cli_with(
        &work,
        &[
            "rotate",
            "--controller",
            "--controller-namespace",
            &ns.name,
            "--forge",
            "none",
        ],
        &[("KUBECONFIG", &job_kubeconfig)],
    );
    assert!(text.contains("re-seal"), "{text}");
    // The job's ServiceAccount reaches the controller and nothing else: no Secrets, no SealedSecrets.
    for path in [
        format!("/api/v1/namespaces/{}/secrets", ns.name),
        format!("/apis/bitnami.com/v1alpha1/namespaces/{}/sealedsecrets", ns.name),
        format!("/api/v1/namespaces/{}/services", ns.name),
    ] {
        let r = cluster::plane().request_as(&job, "GET", &path, None).unwrap();
        assert_eq!(r.status, 403, "{path}: {}", r.body);
    }
    let rotated = on_rotation_branch(root, "db.yaml");
    std::fs::write(root.join("rotated.yaml"), &rotated).unwrap();
    let new_fp = cli(root, &["keys", "fingerprint", "new/tls.crt"]);
    assert!(rotated.contains(new_fp.split_whitespace().next().unwrap()), "{rotated}");
    let opened = cli(
        root,
        &["unseal", "--key", "new/tls.key", "-f", "rotated.yaml", "-o", "json"],
    );
    assert!(opened.contains("cm90YXRlLXRocm91Z2gtY29udHJvbGxlcg=="), "{opened}"); // base64 of the value
    let out = std::process::Command::new(sealant_bin())
        .current_dir(root)
        .args(["unseal", "--key", "old/tls.key", "-f", "rotated.yaml"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "the old key still opens the re-sealed file");
    // The controller logged the /v1/rotate call in its audit log, without the value.
    let audit = std::fs::read_to_string(&c.audit).unwrap();
    assert!(audit.contains("/v1/rotate"), "{audit}");
    assert!(!audit.contains("rotate-through-controller"));
}
