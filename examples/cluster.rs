//! The in-cluster half of `make demo`: a real etcd + kube-apiserver on loopback (built from Go modules and
//! cached by tests/control-plane/build.sh), the generated CRD and the shipped RBAC, and `sealant controller`
//! running as its ServiceAccount. The Secrets of examples/ are sealed against the controller's `/v1/cert.pem`,
//! applied, and come back as Secrets; a restarted controller then does no RSA work. No value is printed.

use sealant_testenv::cluster;

use std::time::Duration;

use cluster::*;
use serde_json::{Value, json};

fn step(text: &str) {
    println!("\n== {text}");
}

fn main() {
    step("10. A real control plane: etcd + kube-apiserver on loopback, CRD from manifests/crd.yaml");
    let plane = plane();
    println!("apiserver {} is ready; SealedSecret CRD established", plane.url());

    step("11. manifests/rbac.yaml applied; the controller runs as its ServiceAccount");
    let ns = Namespace::new("demo");
    let apps = ns.other("billing");
    let mut c = Controller::start(&ns, "controller-0", &[&apps], &[]);
    let (_, cert) = http_get(&format!("{}/v1/cert.pem", c.api)).unwrap();
    println!(
        "controller namespace {}, watching {apps}; it generated a key and serves a {}-line certificate",
        ns.name,
        cert.lines().count()
    );

    step("12. Seal against the controller's certificate, apply, and let the controller unseal");
    let mut names = Vec::new();
    for (name, items) in [
        (
            "db-credentials-prod",
            vec![("username", "billing"), ("password", "demo-password-1")],
        ),
        (
            "api-keys-prod",
            vec![("stripe", "demo-key-2"), ("sentry", "demo-key-3")],
        ),
    ] {
        let sealed = seal(&format!("{}/v1/cert.pem", c.api), &secret(&apps, name, &items), &[]);
        create(plane.admin(), &sealed);
        let s = wait_secret(&apps, name, |_| true);
        let owner = &s["metadata"]["ownerReferences"][0];
        let keys: Vec<&String> = s["data"].as_object().unwrap().keys().collect();
        println!(
            "Secret {apps}/{name}: items {keys:?}, owned by {}/{}",
            owner["kind"].as_str().unwrap(),
            owner["name"].as_str().unwrap()
        );
        let condition = wait_for("Synced", Duration::from_secs(30), || {
            synced(&apps, name).filter(|c| c["status"] == "True")
        });
        println!("  status: Synced={}", condition["status"]);
        names.push(name);
    }

    step("13. The controller's audit log (one JSON line per unseal and Secret write, never a value)");
    for line in c.audit_lines().iter().filter(|l| l["audit"] != "http") {
        println!("  {line}");
    }

    step("14. Restart the controller: it finds every Secret current and decrypts nothing");
    let before = c.metric("sealant_rsa_private_operations_total");
    c.kill();
    let c = Controller::start(&ns, "controller-1", &[&apps], &[]);
    wait_for("resync", Duration::from_secs(30), || {
        (c.metric("sealant_unseal_skipped_total") >= names.len() as f64).then_some(())
    });
    println!(
        "first controller: {before} RSA private operations; restarted controller: {} (and {} Secret writes)",
        c.metric("sealant_rsa_private_operations_total"),
        c.metric("sealant_secret_writes_total")
    );

    step("15. A SealedSecret copied to another name is refused, with the reason in its status");
    let mut moved: Value = get_sealed(&apps, "api-keys-prod").unwrap();
    moved["metadata"] = json!({"name": "copied", "namespace": apps});
    moved.as_object_mut().unwrap().remove("status");
    moved["spec"]["template"]["metadata"]["name"] = json!("copied");
    create(plane.admin(), &moved);
    let condition = wait_for("failure", Duration::from_secs(30), || {
        synced(&apps, "copied").filter(|c| c["status"] == "False")
    });
    println!(
        "status: Synced=False, message {:?}; Secret written: {}",
        condition["message"].as_str().unwrap(),
        get_secret(&apps, "copied").is_some()
    );
    let logs = format!("{}{}", c.logs(), std::fs::read_to_string(&c.audit).unwrap_or_default());
    assert!(
        !logs.contains("demo-password-1") && !logs.contains("demo-key-2"),
        "a value reached a log"
    );
    println!("\nNo value appeared in any log or audit line. The control plane stops when this program ends.");
}
