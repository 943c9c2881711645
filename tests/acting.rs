//! With kube-controller-manager running, what the cluster itself does with what sealant makes: the garbage
//! collector deletes the Secret of a deleted SealedSecret, a restart the controller asks for becomes a new
//! ReplicaSet of that Deployment only, and the shipped rotation CronJob creates its Job on schedule.
//!
//! A test binary of its own: the controller-manager runs for the whole test process, and its garbage collector
//! would change what the other controller tests see (they check that sealant itself deletes nothing).

use std::time::Duration;

use sealant_testenv::cluster::{self, *};
use sealant_testenv::controller_manager;
use serde_json::json;

fn sealed_for(c: &Controller, ns: &str, name: &str, items: &[(&str, &str)]) -> serde_json::Value {
    seal(&format!("{}/v1/cert.pem", c.api), &secret(ns, name, items), &[])
}

#[test]
fn deleting_a_sealed_secret_lets_the_garbage_collector_delete_its_secret() {
    controller_manager::ensure();
    let ns = Namespace::new("gc");
    let apps = ns.other("gc-apps");
    let c = Controller::start(&ns, "ctl-0", &[&apps], &[]);
    let admin = cluster::plane().admin();
    for name in ["gc-db", "gc-kept"] {
        create(admin, &sealed_for(&c, &apps, name, &[("password", "gc-pl41ntext")]));
        wait_secret(&apps, name, |s| item(s, "password") == "gc-pl41ntext");
    }
    delete(&format!(
        "/apis/bitnami.com/v1alpha1/namespaces/{apps}/sealedsecrets/gc-db"
    ));
    wait_for("the Secret garbage-collected", Duration::from_secs(60), || {
        get_secret(&apps, "gc-db").is_none().then_some(())
    });
    // Only the owned Secret goes.
    assert!(get_secret(&apps, "gc-kept").is_some());
}

#[test]
fn the_shipped_rotation_cronjob_creates_its_job_on_schedule() {
    controller_manager::ensure();
    let ns = Namespace::new("cron");
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/manifests/optional/rotate-cronjob.yaml"
    ))
    .unwrap();
    let mut cronjob = yaml_docs(&shipped)
        .into_iter()
        .find(|o| o["kind"] == "CronJob")
        .unwrap();
    // As shipped, but in this test's namespace and every minute instead of weekly.
    cronjob["metadata"]["namespace"] = json!(ns.name);
    cronjob["spec"]["schedule"] = json!("* * * * *");
    create(cluster::plane().admin(), &cronjob);
    let job = wait_for("a Job made by the CronJob", Duration::from_secs(150), || {
        let jobs = get(&format!("/apis/batch/v1/namespaces/{}/jobs", ns.name))?;
        jobs["items"].as_array()?.first().cloned()
    });
    let owner = &job["metadata"]["ownerReferences"][0];
    assert_eq!(
        (owner["kind"].as_str(), owner["name"].as_str()),
        (Some("CronJob"), Some("sealant-rotate"))
    );
    // Its pod template is the shipped one: the job's ServiceAccount, hardened, running `sealant rotate`.
    let spec = &job["spec"]["template"]["spec"];
    assert_eq!(
        spec["serviceAccountName"],
        cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["serviceAccountName"]
    );
    assert_eq!(spec["containers"][0]["command"], json!(["sealant", "rotate"]), "{spec}");
}

#[test]
fn a_changed_secret_restarts_the_workloads_that_use_it_when_asked() {
    // The Deployment controller turns a restart into a new ReplicaSet, as in a real cluster.
    controller_manager::ensure();
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
    let replica_sets = |name: &str| {
        cluster::get(&format!(
            "/apis/apps/v1/namespaces/{}/replicasets?labelSelector=app%3D{name}",
            ns.name
        ))
        .and_then(|l| l["items"].as_array().map(Vec::len))
        .unwrap_or_default()
    };
    wait_for(
        "a second ReplicaSet of the restarted Deployment",
        Duration::from_secs(60),
        || (replica_sets("uses-it") == 2).then_some(()),
    );
    for name in ["unrelated", "not-accepting"] {
        assert_eq!(replica_sets(name), 1, "{name}: a rollout it did not ask for");
    }
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
