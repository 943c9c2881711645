//! SealedSecrets to Secrets: ownership, failures in status, restarts without RSA work, edits put back, key deletion.

use super::*;

#[test]
fn a_sealed_secret_becomes_an_owned_secret_that_follows_its_changes() {
    let ns = Namespace::new("follow");
    let c = Controller::start(&ns, "ctl-0", &[], &[]);
    let admin = cluster::plane().admin();

    let sealed = sealed_for(&c, &ns.name, "db", &[("password", "first-value"), ("user", "app")]);
    let created = create(admin, &sealed);
    let s = wait_secret(&ns.name, "db", |_| true);
    assert_eq!(item(&s, "password"), "first-value");
    assert_eq!(item(&s, "user"), "app");
    let owner = &s["metadata"]["ownerReferences"][0];
    assert_eq!(owner["kind"], "SealedSecret");
    assert_eq!(owner["apiVersion"], "bitnami.com/v1alpha1");
    assert_eq!(owner["controller"], true);
    assert_eq!(owner["uid"].as_str().unwrap(), uid(&created));
    let condition = wait_for("Synced=True", Duration::from_secs(30), || {
        synced(&ns.name, "db").filter(|c| c["status"] == "True")
    });
    assert_eq!(condition["message"], "");
    let ss = get_sealed(&ns.name, "db").unwrap();
    assert_eq!(ss["status"]["observedGeneration"], ss["metadata"]["generation"]);

    // Change: the Secret follows, keys not in the SealedSecret any more are removed.
    let resealed = sealed_for(&c, &ns.name, "db", &[("password", "second-value")]);
    let patch =
        json!({"spec": {"encryptedData": {"password": resealed["spec"]["encryptedData"]["password"], "user": null}}});
    patch_sealed(&ns.name, "db", &patch);
    let s = wait_secret(&ns.name, "db", |s| item(s, "password") == "second-value");
    assert!(s["data"].get("user").is_none(), "removed item left behind: {s}");

    // A deleted Secret is made again (from the Secret watch, without a change to the SealedSecret).
    cluster::delete(&format!("/api/v1/namespaces/{}/secrets/db", ns.name));
    wait_secret(&ns.name, "db", |s| item(s, "password") == "second-value");

    // Events and audit: what happened, and never a value.
    let events = cluster::get(&format!("/apis/events.k8s.io/v1/namespaces/{}/events", ns.name)).unwrap();
    assert!(
        events["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["reason"] == "Unsealed"),
        "no Unsealed event: {events}"
    );
    let audit = c.audit_lines();
    assert!(
        audit
            .iter()
            .any(|l| l["audit"] == "unseal" && l["name"] == "db" && l["outcome"] == "ok")
    );
    assert!(audit.iter().any(|l| l["audit"] == "secret_create" && l["name"] == "db"));
    assert!(audit.iter().any(|l| l["audit"] == "secret_update" && l["name"] == "db"));
    let everything = format!("{}{}", std::fs::read_to_string(&c.audit).unwrap(), c.logs());
    for value in ["first-value", "second-value"] {
        assert!(
            !everything.contains(value),
            "plaintext {value} in the audit log or logs"
        );
    }

    // Deletion: no garbage collector runs in the test control plane, so the ownerReference above is what makes
    // Kubernetes remove the Secret; the controller itself must not delete anything (it has no delete right).
    cluster::delete(&format!(
        "/apis/bitnami.com/v1alpha1/namespaces/{}/sealedsecrets/db",
        ns.name
    ));
    std::thread::sleep(Duration::from_secs(1));
    let s = get_secret(&ns.name, "db").expect("the controller must not delete the Secret itself");
    assert_eq!(
        s["metadata"]["ownerReferences"][0]["uid"].as_str().unwrap(),
        uid(&created)
    );
}

#[test]
fn a_moved_or_malformed_sealed_secret_fails_in_status_without_a_secret_or_a_hot_loop() {
    let ns = Namespace::new("fail");
    let c = Controller::start(&ns, "ctl-0", &[], &[]);
    let admin = cluster::plane().admin();

    // Sealed for `original`, applied as `moved`: the strict scope binds the name.
    let mut moved = sealed_for(&c, &ns.name, "original", &[("token", "t0ps3cret")]);
    moved["metadata"]["name"] = json!("moved");
    moved["spec"]["template"]["metadata"]["name"] = json!("moved");
    create(admin, &moved);
    // Malformed: template metadata the API server preserves but that is not ObjectMeta, and a ciphertext that
    // is not base64.
    let malformed = json!({
        "apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
        "metadata": {"name": "malformed", "namespace": ns.name},
        "spec": {"encryptedData": {}, "template": {"metadata": {"ownerReferences": "not-a-list"}}}
    });
    create(admin, &malformed);
    let garbled = json!({
        "apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
        "metadata": {"name": "garbled", "namespace": ns.name},
        "spec": {"encryptedData": {"bad": "***not base64***"}}
    });
    create(admin, &garbled);

    for name in ["moved", "malformed", "garbled"] {
        let condition = wait_for(&format!("{name} Synced=False"), Duration::from_secs(30), || {
            synced(&ns.name, name).filter(|c| c["status"] == "False")
        });
        let message = condition["message"].as_str().unwrap();
        assert!(!message.is_empty());
        assert!(get_secret(&ns.name, name).is_none(), "{name}: a Secret was written");
        match name {
            "moved" => assert_eq!(message, "no key could decrypt secret (token)"),
            "malformed" => assert!(message.starts_with("invalid SealedSecret: "), "{message}"),
            _ => assert!(message.contains("illegal base64 data at input byte"), "{message}"),
        }
    }
    let events = cluster::get(&format!("/apis/events.k8s.io/v1/namespaces/{}/events", ns.name)).unwrap();
    let failures: Vec<&Value> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["reason"] == "ErrUnsealFailed")
        .collect();
    assert!(
        failures.iter().any(|e| e["note"]
            .as_str()
            .unwrap_or("")
            .starts_with("Failed to unseal: no key could decrypt secret")),
        "{events}"
    );

    // No hot loop: with nothing changing, nothing is retried.
    let (requests, rsa) = (
        c.metric("sealed_secrets_controller_unseal_requests_total"),
        c.metric("sealant_rsa_private_operations_total"),
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(c.metric("sealed_secrets_controller_unseal_requests_total"), requests);
    assert_eq!(c.metric("sealant_rsa_private_operations_total"), rsa);
    assert!(c.metric("sealed_secrets_controller_unseal_errors_total") >= 3.0);

    // The controller still works for good objects.
    create(admin, &sealed_for(&c, &ns.name, "fine", &[("k", "v")]));
    wait_secret(&ns.name, "fine", |s| item(s, "k") == "v");
    let mut c = c;
    assert!(c.running());
    assert!(!c.logs().contains("t0ps3cret"));
}

#[test]
fn a_restarted_controller_reuses_its_key_and_does_no_rsa_work_for_unchanged_objects() {
    let ns = Namespace::new("restart");
    let mut c = Controller::start(&ns, "ctl-0", &[], &[]);
    let admin = cluster::plane().admin();
    let names: Vec<String> = (0..6).map(|i| format!("app-{i}")).collect();
    for name in &names {
        create(admin, &sealed_for(&c, &ns.name, name, &[("a", "1"), ("b", "2")]));
    }
    for name in &names {
        wait_secret(&ns.name, name, |s| item(s, "b") == "2");
        wait_for("synced", Duration::from_secs(30), || {
            synced(&ns.name, name).filter(|c| c["status"] == "True")
        });
    }
    // Every item was decrypted exactly once: 6 objects × 2 items, one key.
    assert_eq!(c.metric("sealant_rsa_private_operations_total"), 12.0);
    let (_, cert_before) = http_get(&format!("{}/v1/cert.pem", c.api)).unwrap();
    c.kill();

    let c = Controller::start(&ns, "ctl-1", &[], &[]);
    let (_, cert_after) = http_get(&format!("{}/v1/cert.pem", c.api)).unwrap();
    assert_eq!(cert_before, cert_after, "the key was not reused");
    let keys = cluster::get(&format!(
        "/api/v1/namespaces/{}/secrets?labelSelector=sealedsecrets.bitnami.com/sealed-secrets-key%3Dactive",
        ns.name
    ))
    .unwrap();
    assert_eq!(keys["items"].as_array().unwrap().len(), 1, "a second key was generated");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while c.metric("sealant_unseal_skipped_total") < names.len() as f64 {
        assert!(
            std::time::Instant::now() < deadline,
            "not every object was seen again:\n{}\n{}",
            http_get(&format!("{}/metrics", c.metrics)).unwrap().1,
            c.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(c.metric("sealant_rsa_private_operations_total"), 0.0, "{}", c.logs());
    assert_eq!(c.metric("sealant_secret_writes_total"), 0.0);
}

#[test]
fn an_edited_secret_is_put_back_and_the_status_records_the_version_written() {
    // The record that saves RSA work on a restart names the Secret's version: a Secret changed since (by anyone)
    // is made again from its SealedSecret, not taken as still right.
    let ns = Namespace::new("edited");
    let c = Controller::start(&ns, "ctl-0", &[], &[]);
    create(
        cluster::plane().admin(),
        &sealed_for(&c, &ns.name, "db", &[("password", "the-sealed-password-1")]),
    );
    wait_secret(&ns.name, "db", |s| item(s, "password") == "the-sealed-password-1");
    let status = wait_for("status with the version written", Duration::from_secs(30), || {
        get_sealed(&ns.name, "db")
            .map(|ss| ss["status"].clone())
            .filter(|s| s["secretResourceVersion"].is_string())
    });
    let secret = get_secret(&ns.name, "db").unwrap();
    assert_eq!(status["secretResourceVersion"], secret["metadata"]["resourceVersion"]);
    assert!(
        status["sealedDigest"].as_str().is_some_and(|d| d.len() == 64),
        "{status}"
    );
    // Upstream's shape: no annotation of sealant's on the Secret.
    assert!(
        secret["metadata"]["annotations"]
            .as_object()
            .is_none_or(|a| a.keys().all(|k| !k.starts_with("sealant.dev/")))
    );
    let r = cluster::plane()
        .request_as(
            cluster::plane().admin(),
            "PATCH",
            &format!("/api/v1/namespaces/{}/secrets/db", ns.name),
            Some(&json!({"stringData": {"password": "edited-by-hand-value"}})),
        )
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    wait_secret(&ns.name, "db", |s| item(s, "password") == "the-sealed-password-1");
}

#[test]
fn a_deleted_key_secret_keeps_its_key_until_restart_and_no_secret_is_lost() {
    let ns = Namespace::new("keydel");
    let admin = cluster::plane().admin();
    let mut c = Controller::start(&ns, "ctl-0", &[], &[]);
    let before = sealed_for(&c, &ns.name, "before", &[("password", "made-before-the-delete")]);
    let after = sealed_for(&c, &ns.name, "after", &[("password", "made-after-the-delete")]);
    let later = sealed_for(&c, &ns.name, "later", &[("password", "made-after-the-restart")]);
    create(admin, &before);
    wait_secret(&ns.name, "before", |s| item(s, "password") == "made-before-the-delete");

    let keys = cluster::get(&format!(
        "/api/v1/namespaces/{}/secrets?labelSelector=sealedsecrets.bitnami.com/sealed-secrets-key",
        ns.name
    ))
    .unwrap();
    for key in keys["items"].as_array().unwrap() {
        let name = key["metadata"]["name"].as_str().unwrap();
        let path = format!("/api/v1/namespaces/{}/secrets/{name}", ns.name);
        let r = cluster::plane().request_as(admin, "DELETE", &path, None).unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
    }
    wait_for("the deletion noticed", Duration::from_secs(30), || {
        c.logs().contains("key Secret deleted").then_some(())
    });
    // The running controller still unseals what was sealed to the deleted key.
    create(admin, &after);
    wait_secret(&ns.name, "after", |s| item(s, "password") == "made-after-the-delete");
    assert!(c.running(), "{}", c.logs());
    c.kill();

    // After a restart the key is gone for good: a new one is made, and an object sealed to the old one fails
    // in its status, while the Secrets already written stay as they are.
    let c = Controller::start(&ns, "ctl-1", &[], &[]);
    let (_, cert) = http_get(&format!("{}/v1/cert.pem", c.api)).unwrap();
    assert!(cert.contains("BEGIN CERTIFICATE"), "{cert}");
    create(admin, &later);
    let condition = wait_for("later fails", Duration::from_secs(60), || {
        synced(&ns.name, "later").filter(|c| c["status"] == "False")
    });
    assert_eq!(condition["message"], "no key could decrypt secret (password)");
    assert!(get_secret(&ns.name, "later").is_none());
    for (name, value) in [("before", "made-before-the-delete"), ("after", "made-after-the-delete")] {
        assert_eq!(item(&get_secret(&ns.name, name).unwrap(), "password"), value);
    }
}
