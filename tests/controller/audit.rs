//! The audit trail on the real API server: each access the controller makes is exactly one schema-valid line
//! (Secret read, create, update, refused, observed deletion; key Secret read, generation, renewal, escrow;
//! unseal; status write; HTTP calls with the peer and the TokenReview user), the API server's own audit log (the
//! shipped policy) names who read, listed, deleted and wrote, without bodies, and `--audit-fail-closed` stops
//! decryption while the file cannot be written.

use super::*;

/// Lines of `audit` kind for `name` (any name when `None`).
fn of<'a>(lines: &'a [Value], audit: &str, name: Option<&str>) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|l| l["audit"] == audit && name.is_none_or(|n| l["name"] == n))
        .collect()
}

/// Waits until the controller's audit log has a line matching `pred`.
fn wait_line(c: &Controller, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    wait_for(what, Duration::from_secs(30), || {
        c.audit_lines().into_iter().find(&pred)
    })
}

/// A bearer token of ServiceAccount `name` in `ns`, from the TokenRequest API (the account is created first).
fn service_account_token(ns: &str, name: &str) -> String {
    let admin = cluster::plane().admin();
    create(
        admin,
        &json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": ns}}),
    );
    let r = cluster::plane()
        .request_as(
            admin,
            "POST",
            &format!("/api/v1/namespaces/{ns}/serviceaccounts/{name}/token"),
            Some(&json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 600}})),
        )
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["status"]["token"].as_str().unwrap().to_string()
}

#[test]
fn every_access_the_controller_makes_is_exactly_one_audit_line() {
    let ns = Namespace::new("audit");
    let (_identity, public) = age::age_identity(ns.dir.path(), "break-glass.txt");
    let c = Controller::start(
        &ns,
        "ctl-0",
        &[],
        &[
            "--escrow-recipients",
            &public,
            "--key-renew-period",
            "6s",
            "--rate-limit-burst",
            "10",
        ],
    );
    let admin = cluster::plane().admin();

    // Keys: the first key generated, read back into the key set, escrowed; then renewed on schedule.
    let first = wait_line(&c, "key_escrow", |l| l["audit"] == "key_escrow");
    let first_key = first["keys"][0].as_str().unwrap().to_string();
    wait_line(&c, "key_renew", |l| l["audit"] == "key_renew");
    let lines = c.audit_lines();
    let generated = of(&lines, "key_generate", None);
    assert_eq!(generated.len(), 1, "{generated:?}");
    assert_eq!(generated[0]["keys"][0], first_key.as_str());
    assert_eq!(generated[0]["namespace"], ns.name.as_str());
    let read: Vec<_> = of(&lines, "key_secret_read", None)
        .into_iter()
        .filter(|l| l["keys"][0] == first_key.as_str())
        .collect();
    assert_eq!(read.len(), 1, "the first key read once: {read:?}");
    let escrowed: Vec<_> = of(&lines, "key_escrow", None)
        .into_iter()
        .filter(|l| l["keys"][0] == first_key.as_str())
        .collect();
    assert_eq!(escrowed.len(), 1, "{escrowed:?}");

    // Create: one unseal, one create, one status write.
    let sealed = sealed_for(&c, &ns.name, "db", &[("password", "audited-value-one")]);
    create(admin, &sealed);
    wait_secret(&ns.name, "db", |_| true);
    wait_line(&c, "status_patch db", |l| {
        l["audit"] == "status_patch" && l["name"] == "db"
    });
    let lines = c.audit_lines();
    assert_eq!(of(&lines, "unseal", Some("db")).len(), 1, "{lines:#?}");
    let created = of(&lines, "secret_create", Some("db"));
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["items"], json!(["password"]));
    assert_eq!(
        of(&lines, "secret_read", Some("db")).len(),
        0,
        "nothing to read before the create"
    );

    // Update: the existing Secret read in full once, then written once.
    let resealed = sealed_for(&c, &ns.name, "db", &[("password", "audited-value-two")]);
    patch_sealed(
        &ns.name,
        "db",
        &json!({"spec": {"encryptedData": {"password": resealed["spec"]["encryptedData"]["password"]}}}),
    );
    wait_secret(&ns.name, "db", |s| item(s, "password") == "audited-value-two");
    let lines = c.audit_lines();
    assert_eq!(of(&lines, "secret_read", Some("db")).len(), 1, "{lines:#?}");
    assert_eq!(of(&lines, "secret_update", Some("db")).len(), 1, "{lines:#?}");
    assert_eq!(of(&lines, "unseal", Some("db")).len(), 2);

    // Refused: a Secret of that name that is not the SealedSecret's.
    create(
        admin,
        &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "taken", "namespace": ns.name}, "stringData": {"k": "someone-elses"}}),
    );
    create(
        admin,
        &sealed_for(&c, &ns.name, "taken", &[("k", "audited-value-three")]),
    );
    let refused = wait_line(&c, "secret_refused", |l| {
        l["audit"] == "secret_refused" && l["name"] == "taken"
    });
    assert_eq!(refused["outcome"], "error");
    assert!(refused["error"].as_str().unwrap().contains("taken"), "{refused}");

    // Deleted by someone else: seen once by the watch (and made again).
    cluster::delete(&format!("/api/v1/namespaces/{}/secrets/db", ns.name));
    wait_line(&c, "secret_delete", |l| {
        l["audit"] == "secret_delete" && l["name"] == "db"
    });
    wait_secret(&ns.name, "db", |s| item(s, "password") == "audited-value-two");
    assert_eq!(of(&c.audit_lines(), "secret_delete", Some("db")).len(), 1);

    // HTTP: the peer always; the user of a bearer token from a TokenReview on the calls that decrypt.
    let token = service_account_token(&ns.name, "ci-verifier");
    let (status, _) = http_post(
        &format!("{}/v1/verify", c.api),
        &resealed.to_string(),
        &[("Authorization", &format!("Bearer {token}"))],
    )
    .unwrap();
    assert_eq!(status, 200);
    let (status, _) = http_post(&format!("{}/v1/verify", c.api), &resealed.to_string(), &[]).unwrap();
    assert_eq!(status, 200);
    let (status, _) = http_post(
        &format!("{}/v1/verify", c.api),
        &resealed.to_string(),
        &[("Authorization", "Bearer not-a-token")],
    )
    .unwrap();
    assert_eq!(status, 200);
    let lines = c.audit_lines();
    let calls: Vec<_> = of(&lines, "http", None)
        .into_iter()
        .filter(|l| l["path"] == "/v1/verify")
        .collect();
    assert_eq!(calls.len(), 3, "{calls:#?}");
    let user = format!("system:serviceaccount:{}:ci-verifier", ns.name);
    assert_eq!(calls[0]["user"], user.as_str());
    assert!(calls[1].get("user").is_none(), "{}", calls[1]);
    assert_eq!(calls[2]["user"], "unauthenticated");
    for call in &calls {
        assert!(call["peer"].as_str().unwrap().starts_with("127.0.0.1:"), "{call}");
        assert_eq!(call["name"], "db");
    }
    let text = std::fs::read_to_string(&c.audit).unwrap();
    assert!(!text.contains(&token), "a bearer token reached the audit log");

    // The API server's own log, under the shipped policy: who did what to which Secret, never a body.
    let events = cluster::plane().audit_events();
    let admin_user = admin.user.as_str();
    let controller_user = format!("system:serviceaccount:{}:sealant-controller", ns.name);
    let find = |verb: &str, user: &str, name: Option<&str>| {
        events.iter().any(|e| {
            e["verb"] == verb
                && e["user"]["username"] == user
                && e["objectRef"]["resource"] == "secrets"
                && e["objectRef"]["namespace"] == ns.name.as_str()
                && name.is_none_or(|n| e["objectRef"]["name"] == n)
        })
    };
    assert!(find("delete", admin_user, Some("db")), "no delete event");
    assert!(
        find("create", &controller_user, Some("db")),
        "no create by the controller"
    );
    assert!(
        find("update", &controller_user, Some("db")),
        "no update by the controller"
    );
    assert!(find("get", &controller_user, Some("db")), "no get by the controller");
    for e in &events {
        assert_eq!(e["level"], "Metadata", "{e}");
        assert!(
            e.get("requestObject").is_none() && e.get("responseObject").is_none(),
            "{e}"
        );
    }
    let all = events.iter().map(Value::to_string).collect::<String>();
    for value in [
        "audited-value-one",
        "audited-value-two",
        "audited-value-three",
        "someone-elses",
    ] {
        assert!(!all.contains(value), "{value} in the API server's audit log");
    }
}

#[test]
fn the_api_servers_audit_names_a_users_get_and_list_of_secrets_and_nothing_outside_the_policy() {
    let ns = Namespace::new("apiaudit");
    let admin = cluster::plane().admin();
    create(
        admin,
        &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "looked-at", "namespace": ns.name}, "stringData": {"k": "api-audit-canary-value"}}),
    );
    // A user with read rights on Secrets in the namespace.
    let reader = cluster::plane().user("auditor-alice", &[]).unwrap();
    create(
        admin,
        &json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "read-secrets", "namespace": ns.name},
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}]}),
    );
    create(
        admin,
        &json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "read-secrets", "namespace": ns.name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "read-secrets"},
            "subjects": [{"kind": "User", "name": "auditor-alice", "apiGroup": "rbac.authorization.k8s.io"}]}),
    );
    let plane = cluster::plane();
    let get = wait_for("RBAC in effect", Duration::from_secs(20), || {
        plane
            .request_as(
                &reader,
                "GET",
                &format!("/api/v1/namespaces/{}/secrets/looked-at", ns.name),
                None,
            )
            .ok()
            .filter(|r| r.status == 200)
    });
    assert!(get.body.contains("looked-at"));
    let list = plane
        .request_as(&reader, "GET", &format!("/api/v1/namespaces/{}/secrets", ns.name), None)
        .unwrap();
    assert_eq!(list.status, 200);
    // A ConfigMap read by the same user: outside the policy, not logged.
    plane
        .request_as(
            admin,
            "GET",
            &format!("/api/v1/namespaces/{}/configmaps", ns.name),
            None,
        )
        .unwrap();

    let events = plane.audit_events();
    let mine: Vec<&Value> = events
        .iter()
        .filter(|e| e["objectRef"]["namespace"] == ns.name.as_str())
        .collect();
    let by = |verb: &str| {
        mine.iter()
            .filter(|e| {
                e["verb"] == verb && e["user"]["username"] == "auditor-alice" && e["objectRef"]["resource"] == "secrets"
            })
            .count()
    };
    assert!(by("get") >= 1, "no get event for the user: {mine:#?}");
    assert_eq!(by("list"), 1, "{mine:#?}");
    assert!(
        !mine.iter().any(|e| e["objectRef"]["resource"] == "configmaps"),
        "configmaps are outside the policy"
    );
    let get_event = mine
        .iter()
        .find(|e| e["verb"] == "get" && e["user"]["username"] == "auditor-alice")
        .unwrap();
    assert_eq!(get_event["objectRef"]["name"], "looked-at");
    assert_eq!(get_event["stage"], "ResponseComplete");
    assert_eq!(get_event["responseStatus"]["code"], 200);
    let text = mine.iter().map(|e| e.to_string()).collect::<String>();
    assert!(
        !text.contains("api-audit-canary-value"),
        "a Secret's value in the audit log"
    );
}

#[test]
fn under_audit_fail_closed_an_unwritable_audit_log_stops_decryption_and_readiness_until_it_recovers() {
    let ns = Namespace::new("failclosed");
    let audit = ns.dir.path().join("closed.audit.jsonl");
    let c = Controller::start(
        &ns,
        "ctl-0",
        &[],
        &["--audit-log", audit.to_str().unwrap(), "--audit-fail-closed"],
    );
    let admin = cluster::plane().admin();
    let (status, _) = http_get(&format!("{}/readyz", c.api)).unwrap();
    assert_eq!(status, 200);
    let sealed = sealed_for(&c, &ns.name, "before", &[("k", "fail-closed-one")]);
    create(admin, &sealed);
    wait_secret(&ns.name, "before", |_| true);

    // The file becomes a directory: no process can append to it, root included.
    std::fs::rename(&audit, ns.dir.path().join("moved-away.jsonl")).unwrap();
    std::fs::create_dir(&audit).unwrap();
    create(admin, &sealed_for(&c, &ns.name, "during", &[("k", "fail-closed-two")]));
    assert_held_back(&ns.name, "during");
    let (status, body) = http_get(&format!("{}/readyz", c.api)).unwrap();
    assert_eq!(status, 503, "{body}");
    let (status, _) = http_post(&format!("{}/v1/verify", c.api), &sealed.to_string(), &[]).unwrap();
    assert_eq!(status, 503);
    let (status, _) = http_get(&format!("{}/healthz", c.api)).unwrap();
    assert_eq!(status, 200, "liveness must not fail on a full disk");
    assert_eq!(c.metric("sealant_audit_sink_failing"), 1.0);
    assert!(c.metric("sealant_audit_write_failures_total") >= 1.0);

    // Recovered: the retry decrypts, readiness returns.
    std::fs::remove_dir(&audit).unwrap();
    wait_secret(&ns.name, "during", |s| item(s, "k") == "fail-closed-two");
    let (status, _) = http_get(&format!("{}/readyz", c.api)).unwrap();
    assert_eq!(status, 200);
    let lines = sealant_testenv::audit::read(&audit);
    assert!(
        lines.iter().any(|l| l["audit"] == "unseal" && l["name"] == "during"),
        "{lines:#?}"
    );
}

#[test]
fn without_fail_closed_an_unwritable_audit_log_is_logged_and_counted_and_decryption_goes_on() {
    let ns = Namespace::new("failopen");
    let audit = ns.dir.path().join("open.audit.jsonl");
    let c = Controller::start(&ns, "ctl-0", &[], &["--audit-log", audit.to_str().unwrap()]);
    let admin = cluster::plane().admin();
    std::fs::remove_file(&audit).unwrap();
    std::fs::create_dir(&audit).unwrap();
    create(admin, &sealed_for(&c, &ns.name, "goes-on", &[("k", "fail-open-value")]));
    wait_secret(&ns.name, "goes-on", |s| item(s, "k") == "fail-open-value");
    assert!(c.metric("sealant_audit_write_failures_total") >= 1.0);
    assert_eq!(c.metric("sealant_audit_sink_failing"), 1.0);
    assert!(c.logs().contains("cannot write the audit log"), "{}", c.logs());
    let (status, _) = http_get(&format!("{}/readyz", c.api)).unwrap();
    assert_eq!(status, 200, "ready: it still decrypts");
    std::fs::remove_dir(&audit).unwrap();
}

#[test]
fn under_audit_fail_closed_a_full_audit_disk_lets_no_decryption_out() {
    // /dev/full: the file opens, every write fails with ENOSPC, as on a full volume. Keys are imported, so the
    // controller needs to generate none.
    let ns = Namespace::new("fulldisk");
    import_vector_keys(&ns.name);
    let c = Controller::start(&ns, "ctl-0", &[], &["--audit-log", "/dev/full", "--audit-fail-closed"]);
    let admin = cluster::plane().admin();
    let sealed = sealed_for(&c, &ns.name, "full", &[("k", "full-disk-value")]);
    create(admin, &sealed);
    assert_held_back(&ns.name, "full");
    let (status, body) = http_post(&format!("{}/v1/verify", c.api), &sealed.to_string(), &[]).unwrap();
    assert_eq!(status, 503, "{body}");
    let (status, _) = http_get(&format!("{}/readyz", c.api)).unwrap();
    assert_eq!(status, 503);
    assert!(c.metric("sealant_audit_write_failures_total") >= 2.0);
}

/// SealedSecret `namespace/name` reports the audit log in a False Synced condition and has no Secret: its
/// decryption was held back for want of an audit line.
fn assert_held_back(namespace: &str, name: &str) {
    let condition = wait_for("AuditUnavailable status", Duration::from_secs(30), || {
        synced(namespace, name).filter(|c| c["status"] == "False")
    });
    assert!(
        condition["message"].as_str().unwrap().contains("audit log"),
        "{condition}"
    );
    assert!(
        get_secret(namespace, name).is_none(),
        "a Secret was written without its audit line"
    );
}
