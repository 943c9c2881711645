//! Replicas, Bitnami key Secrets, the shipped RBAC and unowned Secrets (workload restarts: `tests/acting.rs`).

use super::*;

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
