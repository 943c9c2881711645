//! Faults on the real control plane: 1,000 SealedSecrets, the controller killed in the middle of them and replaced, the
//! API server restarted, etcd restarted, and a corrupt key Secret planted. Afterwards every Secret is correct, the
//! controller never exited, and the RSA work beyond one decryption per object is bounded by what was in flight
//! at the kill. Its own test binary: restarting the shared API server must not disturb other tests.

use sealant_testenv::cluster;

use std::time::{Duration, Instant};

use base64::Engine as _;
use cluster::*;
use serde_json::{Value, json};

const N: usize = 1_000;

/// The namespace's Secrets by name, as `(value of "password", owned by a SealedSecret)`.
fn secrets(ns: &str) -> std::collections::BTreeMap<String, String> {
    let r = plane()
        .request_as(
            plane().admin(),
            "GET",
            &format!("/api/v1/namespaces/{ns}/secrets"),
            None,
        )
        .unwrap();
    if r.status != 200 {
        return Default::default();
    }
    r.json()["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|s| s["metadata"]["ownerReferences"][0]["kind"] == "SealedSecret")
        .map(|s| {
            let value = s["data"]["password"].as_str().unwrap_or_default();
            let value = base64::engine::general_purpose::STANDARD
                .decode(value)
                .unwrap_or_default();
            (
                s["metadata"]["name"].as_str().unwrap().to_string(),
                String::from_utf8_lossy(&value).into_owned(),
            )
        })
        .collect()
}

/// Seals `names` (value `v-<name>`) in one `sealant seal` run.
fn sealed(cert: &str, ns: &str, names: &[String], value: &str) -> Vec<Value> {
    let input: String = names
        .iter()
        .map(|n| format!("---\n{}\n", secret(ns, n, &[("password", &format!("{value}-{n}"))])))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.yaml");
    std::fs::write(&file, input).unwrap();
    let out = std::process::Command::new(sealant_bin())
        .args(["seal", "--cert", cert, "-o", "yaml", "-f"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    yaml_docs(&String::from_utf8(out.stdout).unwrap())
}

/// Creates an object, retrying while the API server is away.
fn create_retrying(obj: &Value) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match plane().request_as(plane().admin(), "POST", &collection_path(obj), Some(obj)) {
            Ok(r) if r.status == 201 || r.status == 409 => return,
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
            other => panic!("creating {}: {other:?}", obj["metadata"]["name"]),
        }
    }
}

/// Waits until every name has its Secret with the expected value.
fn converged(ns: &str, names: &[String], value: &str, what: &str) {
    wait_for(what, Duration::from_secs(240), || {
        let have = secrets(ns);
        names
            .iter()
            .all(|n| have.get(n).is_some_and(|v| *v == format!("{value}-{n}")))
            .then_some(())
    });
}

#[test]
fn a_thousand_sealed_secrets_survive_controller_kills_api_server_and_etcd_restarts_and_a_corrupt_key() {
    let ns = Namespace::new("faults");
    let mut first = Controller::start(&ns, "ctl-0", &[], &[]);
    // The certificate as a file: the controller that served it is killed below.
    let cert_file = ns.dir.path().join("cert.pem");
    std::fs::write(&cert_file, http_get(&format!("{}/v1/cert.pem", first.api)).unwrap().1).unwrap();
    let cert = cert_file.display().to_string();
    let names: Vec<String> = (0..N).map(|i| format!("app{i}-db-credentials-prod")).collect();
    let objects = sealed(&cert, &ns.name, &names, "v");

    // 1. All applied while no controller runs; one started, killed (SIGKILL) in the middle of the work, and a
    // new one started.
    first.kill();
    for obj in &objects {
        create_retrying(obj);
    }
    let mut interrupted = Controller::start(&ns, "ctl-1", &[], &[]);
    wait_for("some progress", Duration::from_secs(60), || {
        (secrets(&ns.name).len() >= N / 10).then_some(())
    });
    interrupted.kill();
    let done_at_kill = secrets(&ns.name).len();
    assert!(done_at_kill < N, "the kill came too late to interrupt anything");
    let mut second = Controller::start(&ns, "ctl-2", &[], &[]);
    converged(&ns.name, &names, "v", "all 1,000 Secrets after the kill");
    let rsa = second.metric("sealant_rsa_private_operations_total");
    // One decryption per object not yet written at the kill; at most the in-flight ones (one per core, plus a
    // reconcile batch) again. Objects already written are never decrypted again.
    eprintln!("faults: {done_at_kill} of {N} Secrets written at the kill; the replacement did {rsa} RSA operations");
    let in_flight = 32.0;
    assert!(
        rsa <= (N - done_at_kill) as f64 + in_flight,
        "{rsa} RSA operations for {} objects left at the kill",
        N - done_at_kill
    );

    // 2. The API server restarted under the running controller: it reconnects, keeps its watches working, and
    // handles what changes afterwards.
    plane().restart_apiserver().unwrap();
    let after_api: Vec<String> = (0..20).map(|i| format!("late{i}-db-credentials-prod")).collect();
    for obj in sealed(&cert, &ns.name, &after_api, "a") {
        create_retrying(&obj);
    }
    converged(
        &ns.name,
        &after_api,
        "a",
        "Secrets created after the API server restart",
    );

    // 3. etcd restarted: the same.
    plane().restart_etcd().unwrap();
    let after_etcd: Vec<String> = (0..20).map(|i| format!("etcd{i}-db-credentials-prod")).collect();
    for obj in sealed(&cert, &ns.name, &after_etcd, "e") {
        create_retrying(&obj);
    }
    converged(&ns.name, &after_etcd, "e", "Secrets created after the etcd restart");

    // 4. A corrupt key Secret appears among the sealing keys: counted and skipped, the rest goes on.
    create_retrying(
        &json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": {"name": "sealed-secrets-keycorrupt", "namespace": ns.name,
                     "labels": {"sealedsecrets.bitnami.com/sealed-secrets-key": "active"}},
        "data": {"tls.crt": "bm90IGEgY2VydA==", "tls.key": "bm90IGEga2V5"}}),
    );
    wait_for("the corrupt key counted", Duration::from_secs(60), || {
        (second.metric("sealant_key_load_errors") >= 1.0).then_some(())
    });
    let after_key: Vec<String> = (0..5).map(|i| format!("key{i}-db-credentials-prod")).collect();
    for obj in sealed(&cert, &ns.name, &after_key, "k") {
        create_retrying(&obj);
    }
    converged(&ns.name, &after_key, "k", "Secrets created after the corrupt key");

    // Through all of it: the controller never exited, and every status tells the truth.
    assert!(second.running(), "the controller exited: {}", second.logs());
    let all: Vec<&String> = names
        .iter()
        .chain(&after_api)
        .chain(&after_etcd)
        .chain(&after_key)
        .collect();
    wait_for("every status Synced", Duration::from_secs(120), || {
        let r = plane()
            .request_as(
                plane().admin(),
                "GET",
                &format!("/apis/bitnami.com/v1alpha1/namespaces/{}/sealedsecrets", ns.name),
                None,
            )
            .ok()?;
        let items = r.json()["items"].as_array().cloned().unwrap_or_default();
        let synced: std::collections::BTreeSet<String> = items
            .iter()
            .filter(|ss| {
                ss["status"]["conditions"]
                    .as_array()
                    .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Synced" && c["status"] == "True"))
            })
            .map(|ss| ss["metadata"]["name"].as_str().unwrap_or_default().to_string())
            .collect();
        all.iter().all(|n| synced.contains(*n)).then_some(())
    });
    let logs = second.logs();
    for n in names.iter().take(10) {
        assert!(!logs.contains(&format!("v-{n}")), "a value in the logs");
    }
}
