//! With kube-controller-manager running, what the cluster itself does with what sealant makes: the garbage
//! collector deletes the Secret of a deleted SealedSecret, and the shipped rotation CronJob creates its Job on
//! schedule. (The rollout a restart starts is checked in `replicas`.)

use sealant_testenv::controller_manager;

use super::*;

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
