//! `sealant controller` on a real etcd + kube-apiserver, running as its ServiceAccount under the shipped RBAC:
//! Secrets follow SealedSecrets, failures are reported without hot loops, restarts cost no RSA work, two
//! replicas elect one writer, Bitnami key Secrets work as they are, and the RBAC denies what it should.

use sealant_testenv::age;
use sealant_testenv::cluster;

use std::time::Duration;

use cluster::*;
use serde_json::{Value, json};

fn sealed_for(c: &Controller, ns: &str, name: &str, items: &[(&str, &str)]) -> Value {
    seal(&format!("{}/v1/cert.pem", c.api), &secret(ns, name, items), &[])
}

fn vectors() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/core/tests/data/vectors")
}

fn vector_doc(path: &str) -> Value {
    yaml_docs(&std::fs::read_to_string(vectors().join(path)).unwrap()).remove(0)
}

/// The vectors' two Bitnami key Secrets, as they are, in the controller's namespace.
fn import_vector_keys(ns: &str) {
    for file in ["keys/key2048.secret.yaml", "keys/key4096.secret.yaml"] {
        let mut key = vector_doc(file);
        key["metadata"]["namespace"] = json!(ns);
        key["metadata"].as_object_mut().unwrap().remove("creationTimestamp");
        create(cluster::plane().admin(), &key);
    }
}

/// Creates a namespace with a fixed name (the vectors' own); fine if it exists.
fn ensure_namespace(name: &str) {
    let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
    let r = cluster::plane()
        .request_as(cluster::plane().admin(), "POST", "/api/v1/namespaces", Some(&body))
        .unwrap();
    assert!(r.status == 201 || r.status == 409, "{}", r.body);
}

/// Merge-patches a SealedSecret as admin.
fn patch_sealed(ns: &str, name: &str, patch: &Value) {
    let path = format!("/apis/bitnami.com/v1alpha1/namespaces/{ns}/sealedsecrets/{name}");
    let r = cluster::plane()
        .request_as(cluster::plane().admin(), "PATCH", &path, Some(patch))
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
}

fn uid(obj: &Value) -> String {
    obj["metadata"]["uid"].as_str().unwrap().to_string()
}

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

#[test]
fn two_replicas_elect_one_writer_and_the_follower_takes_over_when_it_dies() {
    let ns = Namespace::new("ha");
    let mut a = Controller::start(&ns, "replica-a", &[], &[]);
    let mut b = Controller::start(&ns, "replica-b", &[], &[]);
    let admin = cluster::plane().admin();
    let leader_is_a = wait_for("a leader", Duration::from_secs(30), || {
        match (a.metric("sealant_leader"), b.metric("sealant_leader")) {
            (1.0, 0.0) => Some(true),
            (0.0, 1.0) => Some(false),
            _ => None,
        }
    });
    let (leader, follower) = if leader_is_a {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    // Both serve the same certificate; the follower serves the API too.
    let (_, cert_leader) = http_get(&format!("{}/v1/cert.pem", leader.api)).unwrap();
    let (status, cert_follower) = http_get(&format!("{}/v1/cert.pem", follower.api)).unwrap();
    assert_eq!((status, &cert_follower), (200, &cert_leader));

    create(admin, &sealed_for(leader, &ns.name, "before", &[("k", "1")]));
    wait_secret(&ns.name, "before", |s| item(s, "k") == "1");
    std::thread::sleep(Duration::from_millis(500));
    let writes = |c: &Controller| c.audit_lines().iter().filter(|l| l["audit"] == "secret_create").count();
    assert_eq!(writes(leader), 1);
    assert_eq!(writes(follower), 0, "the follower wrote");

    leader.kill();
    create(admin, &sealed_for(follower, &ns.name, "after", &[("k", "2")]));
    wait_secret(&ns.name, "after", |s| item(s, "k") == "2");
    assert_eq!(follower.metric("sealant_leader"), 1.0);
    assert_eq!(writes(follower), 1, "the new leader wrote only the new Secret");
}

#[test]
fn bitnami_key_secrets_unseal_the_vectors_sealed_secrets() {
    let ns = Namespace::new("bitnami");
    let admin = cluster::plane().admin();
    import_vector_keys(&ns.name);
    // The vectors live in namespace `myns`, shared by nobody else.
    ensure_namespace("myns");
    // Renewal off: the imported keys are older than 30 days, so a renewal would (rightly) add a key at start.
    let c = Controller::start(&ns, "ctl-0", &["myns"], &["--key-renew-period", "0"]);
    let keys = cluster::get(&format!("/api/v1/namespaces/{}/secrets", ns.name)).unwrap();
    assert_eq!(
        keys["items"].as_array().unwrap().len(),
        2,
        "imported keys were not enough: a key was generated"
    );

    let mut checked = 0;
    for entry in std::fs::read_dir(vectors().join("sealedsecrets")).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_str().unwrap().to_string();
        let Some(stem) = file.strip_suffix(".sealedsecret.yaml") else {
            continue;
        };
        let mut ss = yaml_docs(&std::fs::read_to_string(&path).unwrap()).remove(0);
        ss["metadata"]["namespace"] = json!("myns");
        let name = ss["metadata"]["name"].as_str().unwrap().to_string();
        create(admin, &ss);
        let expected = vector_doc(&format!("sealedsecrets/{stem}.expected-secret.yaml"));
        let got = wait_secret("myns", &name, |_| true);
        assert_eq!(got["data"], expected["data"], "{stem}: data differs");
        checked += 1;
        let r = cluster::plane()
            .request_as(
                admin,
                "DELETE",
                &format!("/apis/bitnami.com/v1alpha1/namespaces/myns/sealedsecrets/{name}"),
                None,
            )
            .unwrap();
        assert_eq!(r.status, 200);
        let r = cluster::plane()
            .request_as(
                admin,
                "DELETE",
                &format!("/api/v1/namespaces/myns/secrets/{name}"),
                None,
            )
            .unwrap();
        assert_eq!(r.status, 200);
    }
    assert!(checked >= 6, "only {checked} vectors");
    assert!(c.metric("sealant_keys") == 2.0);
}

#[test]
fn the_shipped_rbac_lets_the_controller_work_and_denies_everything_else() {
    let ns = Namespace::new("rbac");
    let other = ns.other("elsewhere");
    let plane = cluster::plane();
    let sa = &ns.sa;
    let ss = |n: &str| format!("/apis/bitnami.com/v1alpha1/namespaces/{n}/sealedsecrets");
    let denied = [
        (
            "POST",
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings".to_string(),
            Some(
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": {"name": format!("escalate-{}", ns.name)},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                "subjects": [{"kind": "ServiceAccount", "name": "sealant-controller", "namespace": ns.name}]}),
            ),
        ),
        (
            "POST",
            format!("/apis/rbac.authorization.k8s.io/v1/namespaces/{}/roles", ns.name),
            Some(
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "x"}, "rules": []}),
            ),
        ),
        (
            "GET",
            format!("/api/v1/namespaces/{}/pods/any/exec?command=sh", ns.name),
            None,
        ),
        ("DELETE", format!("/api/v1/namespaces/{other}/secrets/anything"), None),
        (
            "DELETE",
            format!("/api/v1/namespaces/{}/secrets/anything", ns.name),
            None,
        ),
        (
            "POST",
            ss(&other),
            Some(json!({"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
            "metadata": {"name": "forged"}, "spec": {"encryptedData": {}}})),
        ),
        ("DELETE", format!("{}/anything", ss(&other)), None),
        (
            "PATCH",
            format!("{}/anything", ss(&other)),
            Some(json!({"spec": {"encryptedData": {}}})),
        ),
        (
            "POST",
            format!("/apis/coordination.k8s.io/v1/namespaces/{other}/leases"),
            Some(json!({"apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease", "metadata": {"name": "sealant-controller"}, "spec": {}})),
        ),
        (
            "PATCH",
            format!(
                "/apis/coordination.k8s.io/v1/namespaces/{}/leases/someone-elses",
                ns.name
            ),
            Some(json!({"spec": {}})),
        ),
        ("GET", format!("/api/v1/namespaces/{other}/configmaps"), None),
        // No `apps` rights by default: patching pod templates would make a compromised controller own the cluster.
        ("GET", format!("/apis/apps/v1/namespaces/{other}/deployments"), None),
        (
            "PATCH",
            format!("/apis/apps/v1/namespaces/{other}/deployments/any"),
            Some(json!({"spec": {"template": {"metadata": {"annotations": {"x": "y"}}}}})),
        ),
        (
            "POST",
            format!("/api/v1/namespaces/{other}/pods"),
            Some(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "x"}]}})),
        ),
    ];
    for (method, path, body) in &denied {
        let r = plane.request_as(sa, method, path, body.as_ref()).unwrap();
        assert_eq!(r.status, 403, "{method} {path} was not denied: {} {}", r.status, r.body);
    }
    // What it needs is allowed, checked the same way.
    let allowed = [
        ("GET", format!("/api/v1/namespaces/{other}/secrets")),
        ("GET", "/apis/bitnami.com/v1alpha1/sealedsecrets".to_string()),
    ];
    for (method, path) in &allowed {
        let r = plane.request_as(sa, method, path, None).unwrap();
        assert_eq!(r.status, 200, "{method} {path}: {}", r.body);
    }
    // And the controller works end to end as that ServiceAccount in another namespace.
    let c = Controller::start(&ns, "ctl-0", &[&other], &[]);
    create(plane.admin(), &sealed_for(&c, &other, "app", &[("k", "v")]));
    wait_secret(&other, "app", |s| item(s, "k") == "v");
    wait_for("status written", Duration::from_secs(30), || {
        synced(&other, "app").filter(|c| c["status"] == "True")
    });
}

#[test]
fn an_unowned_secret_is_left_alone_unless_it_is_marked_managed() {
    let ns = Namespace::new("owner");
    let c = Controller::start(&ns, "ctl-0", &[], &[]);
    let admin = cluster::plane().admin();
    let existing = |name: &str, annotations: Value| {
        json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": ns.name, "annotations": annotations},
            "stringData": {"k": "hand-made"}})
    };
    create(admin, &existing("theirs", json!({})));
    create(
        admin,
        &existing("managed", json!({"sealedsecrets.bitnami.com/managed": "true"})),
    );
    create(admin, &sealed_for(&c, &ns.name, "theirs", &[("k", "sealed")]));
    create(admin, &sealed_for(&c, &ns.name, "managed", &[("k", "sealed")]));

    wait_secret(&ns.name, "managed", |s| item(s, "k") == "sealed");
    let condition = wait_for("theirs refused", Duration::from_secs(30), || {
        synced(&ns.name, "theirs").filter(|c| c["status"] == "False")
    });
    assert_eq!(
        condition["message"],
        "Resource \"theirs\" already exists and is not managed by SealedSecret"
    );
    assert_eq!(item(&get_secret(&ns.name, "theirs").unwrap(), "k"), "hand-made");
}

#[test]
fn a_changed_secret_restarts_the_workloads_that_use_it_when_asked() {
    let ns = Namespace::new("rollout");
    // Opted in at install time: the optional RBAC and the flag.
    ns.apply("manifests/optional/rollout-restart.yaml");
    let c = Controller::start(&ns, "ctl-0", &[], &["--rollout-restarts"]);
    let admin = cluster::plane().admin();
    let deployment = |name: &str, secret: &str, accepts: bool| {
        let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns.name},
            "spec": {"selector": {"matchLabels": {"app": name}}, "template": {"metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": "app", "image": "example.invalid/app:1",
                "env": [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": secret, "key": "token"}}}]}]}}}});
        if accepts {
            d["metadata"]["annotations"] = json!({"sealant.dev/accept-restarts": "true"});
        }
        d
    };
    create(admin, &deployment("uses-it", "api-token", true));
    create(admin, &deployment("unrelated", "something-else", true));
    // Uses the Secret, but its owner did not accept restarts: a namespace user's annotation alone cannot restart it.
    create(admin, &deployment("not-accepting", "api-token", false));
    let mut sealed = sealed_for(&c, &ns.name, "api-token", &[("token", "v1")]);
    sealed["metadata"]["annotations"]["sealant.dev/rollout-restart"] = json!("true");
    create(admin, &sealed);
    wait_secret(&ns.name, "api-token", |s| item(s, "token") == "v1");
    let restarted_at = |name: &str| {
        cluster::get(&format!("/apis/apps/v1/namespaces/{}/deployments/{name}", ns.name)).unwrap()["spec"]["template"]
            ["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
            .clone()
    };
    assert!(restarted_at("uses-it").is_null(), "a first creation needs no restart");

    let resealed = sealed_for(&c, &ns.name, "api-token", &[("token", "v2")]);
    let patch = json!({"spec": {"encryptedData": resealed["spec"]["encryptedData"]}});
    let r = cluster::plane()
        .request_as(
            admin,
            "PATCH",
            &format!(
                "/apis/bitnami.com/v1alpha1/namespaces/{}/sealedsecrets/api-token",
                ns.name
            ),
            Some(&patch),
        )
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    wait_secret(&ns.name, "api-token", |s| item(s, "token") == "v2");
    wait_for("restartedAt", Duration::from_secs(30), || {
        restarted_at("uses-it").as_str().map(str::to_string)
    });
    assert!(
        restarted_at("unrelated").is_null(),
        "an unrelated Deployment was restarted"
    );
    assert!(
        restarted_at("not-accepting").is_null(),
        "a Deployment that does not accept restarts was restarted"
    );
    wait_for("the restart audited", Duration::from_secs(10), || {
        c.audit_lines()
            .iter()
            .any(|l| l["audit"] == "rollout_restart" && l["target"] == "Deployment/uses-it")
            .then_some(())
    });
}

#[test]
fn the_http_api_verifies_rotates_and_limits_callers() {
    let ns = Namespace::new("http");
    let c = Controller::start(
        &ns,
        "ctl-0",
        &[],
        &[
            "--rate-limit",
            "1",
            "--rate-limit-burst",
            "3",
            "--max-body-bytes",
            "65536",
            // The test stands for the API server's service proxy, which names callers in X-Forwarded-For.
            "--trusted-proxies",
            "127.0.0.1",
        ],
    );
    let (status, body) = http_get(&format!("{}/healthz", c.api)).unwrap();
    assert_eq!((status, body.as_str()), (200, "ok\n"));

    let good = sealed_for(&c, &ns.name, "web", &[("k", "v")]);
    let mut moved = good.clone();
    moved["metadata"]["name"] = json!("elsewhere");
    let verify = |ss: &Value, client: &str| {
        http_post(
            &format!("{}/v1/verify", c.api),
            &ss.to_string(),
            &[("X-Forwarded-For", client)],
        )
        .unwrap()
        .0
    };
    assert_eq!(verify(&good, "alice"), 200);
    assert_eq!(verify(&moved, "alice"), 409);

    // Rotate keeps the scope the ciphertext has, whatever the caller's annotations claim.
    let mut widened = good.clone();
    widened["metadata"]["annotations"]["sealedsecrets.bitnami.com/cluster-wide"] = json!("true");
    let (status, rotated) = http_post(
        &format!("{}/v1/rotate", c.api),
        &widened.to_string(),
        &[("X-Forwarded-For", "bob")],
    )
    .unwrap();
    assert_eq!(status, 200, "{rotated}");
    let rotated: Value = serde_json::from_str(&rotated).unwrap();
    assert!(
        rotated["metadata"]["annotations"]
            .get("sealedsecrets.bitnami.com/cluster-wide")
            .is_none(),
        "{rotated}"
    );
    assert_eq!(verify(&rotated, "bob"), 200);
    let mut rotated_moved = rotated.clone();
    rotated_moved["metadata"]["name"] = json!("elsewhere");
    assert_eq!(verify(&rotated_moved, "bob"), 409, "the rotated item was widened");

    // Rate limit per client: carol's burst is 3, then 429 with Retry-After; dave is not affected.
    let statuses: Vec<u16> = (0..6).map(|_| verify(&good, "carol")).collect();
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(verify(&good, "dave"), 200);
    // Body limit.
    let huge = "x".repeat(100_000);
    let (status, _) = http_post(&format!("{}/v1/verify", c.api), &huge, &[("X-Forwarded-For", "erin")]).unwrap();
    assert_eq!(status, 413);
    // Every call audited, no values.
    let audit = c.audit_lines();
    assert!(audit.iter().filter(|l| l["audit"] == "http").count() >= 10);
    assert!(
        audit
            .iter()
            .any(|l| l["audit"] == "http" && l["status"] == 429 && l["client"] == "carol")
    );
    let metrics = c.metric("sealed_secrets_controller_http_requests_total");
    assert!(metrics >= 10.0, "{metrics}");
}

/// How one slow client's connection ended.
#[derive(Debug, PartialEq)]
enum SlowEnd {
    /// The server closed it before the client gave up.
    Closed,
    /// Still open after the client's minute of dribbling.
    StillOpen,
}

/// A slowloris client: the start of a request, then one header byte every 200 ms for up to a minute.
fn slowloris(addr: &str) -> SlowEnd {
    use std::io::{Read as _, Write as _};
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return SlowEnd::Closed;
    };
    stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    if stream.write_all(b"POST /v1/verify HTTP/1.1\r\nHost: slow\r\n").is_err() {
        return SlowEnd::Closed;
    }
    let started = std::time::Instant::now();
    let header = b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    let mut buf = [0u8; 512];
    while started.elapsed() < Duration::from_secs(60) {
        let byte = header[(started.elapsed().as_millis() / 200) as usize % header.len()];
        if stream.write_all(&[byte]).is_err() {
            return SlowEnd::Closed;
        }
        match stream.read(&mut buf) {
            // The server hung up (possibly after an error answer): the connection is gone either way.
            Ok(0) => return SlowEnd::Closed,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return SlowEnd::Closed,
        }
    }
    SlowEnd::StillOpen
}

#[test]
fn slow_clients_are_cut_off_and_a_verify_flood_stays_bounded_while_others_are_served() {
    let ns = Namespace::new("load");
    let mut c = Controller::start(
        &ns,
        "ctl-0",
        &[],
        &[
            "--header-timeout",
            "2s",
            "--max-connections",
            "16",
            "--rate-limit",
            "1",
            "--rate-limit-burst",
            "5",
            "--trusted-proxies",
            "127.0.0.1",
        ],
    );
    let good = sealed_for(&c, &ns.name, "web", &[("k", "v")]);
    let addr = c.api.trim_start_matches("http://").to_string();

    // Twice as many slow clients as the server takes connections.
    let slow: Vec<_> = (0..32)
        .map(|_| {
            let addr = addr.clone();
            std::thread::spawn(move || slowloris(&addr))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));

    // Meanwhile a flood of verifies from 8 clients at once, 25 each, and an ordinary caller.
    let flood: Vec<_> = (0..8)
        .map(|i| {
            let (url, body) = (format!("{}/v1/verify", c.api), good.to_string());
            std::thread::spawn(move || {
                let client = format!("flood-{i}");
                (0..25)
                    .map(|_| http_post(&url, &body, &[("X-Forwarded-For", client.as_str())]).map(|r| r.0))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let (status, body) = http_get(&format!("{}/healthz", c.api)).unwrap();
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    let mut answered = std::collections::BTreeMap::<u16, usize>::new();
    for handle in flood {
        for result in handle.join().unwrap() {
            let status = result.expect("a flood request got no answer");
            *answered.entry(status).or_default() += 1;
        }
    }
    // Each client had at least its burst of 5 verified, the excess was refused with 429, and nothing else came
    // back: no 5xx, no reset connection.
    assert!(answered.get(&200).copied().unwrap_or(0) >= 8 * 5, "{answered:?}");
    assert!(answered.get(&429).copied().unwrap_or(0) >= 1, "{answered:?}");
    assert!(answered.keys().all(|s| [200, 429].contains(s)), "{answered:?}");
    let status = http_post(
        &format!("{}/v1/verify", c.api),
        &good.to_string(),
        &[("X-Forwarded-For", "zoe")],
    )
    .unwrap()
    .0;
    assert_eq!(status, 200);

    // Every slow client was disconnected by the server, none outlasted it.
    let ends: Vec<SlowEnd> = slow.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(ends.iter().all(|e| *e == SlowEnd::Closed), "{ends:?}");
    assert!(c.running(), "the controller exited:\n{}", c.logs());
    let status = std::fs::read_to_string(format!("/proc/{}/status", c.pid().unwrap())).unwrap();
    let peak_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap();
    assert!(peak_kib < 256 * 1024, "peak resident memory {peak_kib} KiB");
}

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

/// Runs the sealant CLI in `dir`; asserts success and returns stdout + stderr.
fn cli(dir: &std::path::Path, args: &[&str]) -> String {
    cli_with(dir, args, &[])
}

/// `sealant` in `dir` with extra environment variables; fails the test unless it succeeds.
fn cli_with(dir: &std::path::Path, args: &[&str], envs: &[(&str, &std::path::Path)]) -> String {
    let out = std::process::Command::new(sealant_bin())
        .current_dir(dir)
        .args(args)
        .env_remove("SEALANT_CERT")
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{args:?}: {text}");
    text
}

fn git_in(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn rotate_reseals_through_the_service_proxy_as_the_cronjobs_service_account_to_the_newest_key() {
    let ns = Namespace::new("rotjob");
    let root = ns.dir.path();
    // The CronJob's RBAC as shipped, with kube-system and the job's namespace both this test's namespace; the
    // binding that lets every authenticated user use the service proxy (as upstream ships) is removed, as a
    // hardened cluster does, so the job's access comes from its own Role only.
    cluster::delete(&format!(
        "/apis/rbac.authorization.k8s.io/v1/namespaces/{}/rolebindings/sealant-service-proxier",
        ns.name
    ));
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/manifests/optional/rotate-cronjob.yaml"
    ))
    .unwrap();
    for obj in yaml_docs(&shipped) {
        if obj["kind"] == "Role" || obj["kind"] == "RoleBinding" {
            let text = obj
                .to_string()
                .replace("\"kube-system\"", &format!("\"{}\"", ns.name))
                .replace(
                    "\"sealant-rotate\",\"namespace\":\"sealant-rotate\"",
                    &format!("\"sealant-rotate\",\"namespace\":\"{}\"", ns.name),
                );
            create(cluster::plane().admin(), &serde_json::from_str(&text).unwrap());
        }
    }
    let job = cluster::plane().service_account(&ns.name, "sealant-rotate").unwrap();
    let job_kubeconfig = root.join("job.kubeconfig");
    std::fs::write(&job_kubeconfig, cluster::plane().kubeconfig(&job)).unwrap();
    // Two keys in the controller's namespace, the second one newer: the controller seals to it.
    for key in ["old", "new"] {
        cli(root, &["keys", "new", "--bits", "2048", "--out", key]);
        let mut secret = yaml_docs(&std::fs::read_to_string(root.join(key).join("key-secret.yaml")).unwrap()).remove(0);
        secret["metadata"]["namespace"] = json!(ns.name);
        create(cluster::plane().admin(), &secret);
        std::thread::sleep(Duration::from_millis(1100));
    }
    // The service proxy refuses loopback: the controller runs on the test host, in a network namespace.
    let c = Controller::start_on_test_host(&ns, "ctl-0", &[], &[]);
    expose_through_service_proxy(&ns.name, "sealed-secrets-controller", &c.ip(), c.port());

    let work = root.join("work");
    std::fs::create_dir(&work).unwrap();
    git_in(&work, &["init", "-q", "-b", "main"]);
    cli(
        &work,
        &["keys", "fetch", "--cluster", "prod", "--cert", "../old/tls.crt"],
    );
    cli(
        &work,
        &[
            "keys",
            "fetch",
            "--cluster",
            "prod",
            "--cert",
            &format!("{}/v1/cert.pem", c.api),
        ],
    );
    let input = root.join("plain.yaml");
    std::fs::write(
        &input,
        "apiVersion: v1\nkind: Secret\nmetadata: {name: web-db-prod, namespace: web}\nstringData: {password: rotate-through-controller}\n",
    )
    .unwrap();
    cli(
        &work,
        &[
            "seal",
            "--cert",
            "../old/tls.crt",
            "-f",
            input.to_str().unwrap(),
            "-w",
            "db.yaml",
        ],
    );
    std::fs::write(
        work.join(".sealant.yaml"),
        format!("clusters: [{{name: prod, controller: {{namespace: {}}}}}]\n", ns.name),
    )
    .unwrap();
    git_in(&work, &["add", "-A"]);
    git_in(&work, &["commit", "-q", "-m", "init"]);

    git_in(root, &["clone", "-q", "--bare", "work", "remote.git"]);
    git_in(
        &work,
        &[
            "remote",
            "add",
            "origin",
            &format!("file://{}", root.join("remote.git").display()),
        ],
    );

    let text = cli_with(
        &work,
        &["rotate", "--controller", "--forge", "none"],
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
    let branch = git_in(
        &root.join("remote.git"),
        &["for-each-ref", "--format=%(refname:short)", "refs/heads/sealant/"],
    );
    let rotated = git_in(
        &root.join("remote.git"),
        &["show", &format!("{}:db.yaml", branch.trim())],
    );
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
