//! Upstream Bitnami Sealed Secrets for tests and benchmarks: `kubeseal` and the controller built from Go
//! modules (tests/upstream/build.sh), the controller run against the test control plane with in-cluster
//! credentials in a private mount namespace (tests/upstream/run-controller.sh).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::json;

use crate::cluster::*;

/// Where `kubeseal` and `sealed-secrets-controller` are (built once, cached in ~/.cache/sealant/upstream).
pub fn upstream() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let script = crate::repo_root().join("tests/upstream/build.sh");
        let out = Command::new("bash")
            .arg(script)
            .stderr(Stdio::inherit())
            .output()
            .unwrap();
        assert!(out.status.success(), "building upstream sealed-secrets failed");
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
}

/// Runs a command with stdin, returning (status, stdout, stderr).
pub fn run(cmd: &mut Command, stdin: &str) -> (i32, String, String) {
    use std::io::Write as _;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The upstream controller as a process, with in-cluster credentials in a private mount namespace.
pub struct Upstream {
    /// The controller process.
    pub child: Child,
    /// `http://127.0.0.1:<port>` of its HTTP API.
    pub api: String,
    /// Its metrics endpoint.
    pub metrics: String,
    log: PathBuf,
}

impl Upstream {
    /// Starts it for `ns` (its keys live there), bound to cluster-admin, and waits for its certificate.
    pub fn start(ns: &Namespace, name: &str, extra: &[&str]) -> Self {
        let plane = plane();
        // A ServiceAccount for upstream's controller, bound to cluster-admin: its RBAC is upstream's business.
        let sa = format!("upstream-{name}");
        create(
            plane.admin(),
            &json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa, "namespace": ns.name}}),
        );
        create(
            plane.admin(),
            &json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": {"name": format!("{sa}-{}", ns.name)},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns.name}]
            }),
        );
        let r = plane
            .request_as(
                plane.admin(),
                "POST",
                &format!("/api/v1/namespaces/{}/serviceaccounts/{sa}/token", ns.name),
                Some(&json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 3600}})),
            )
            .unwrap();
        assert_eq!(r.status, 201, "{}", r.body);
        let token = ns.dir.path().join(format!("{name}.token"));
        std::fs::write(&token, r.json()["status"]["token"].as_str().unwrap()).unwrap();
        let ca = ns.dir.path().join("ca.crt");
        std::fs::write(&ca, plane.ca_pem()).unwrap();
        let url = plane.url().trim_start_matches("https://").to_string();
        let (host, port) = url.rsplit_once(':').unwrap();
        let (api_port, metrics_port) = (free_port(), free_port());
        let log = ns.dir.path().join(format!("{name}.log"));
        let output = std::fs::File::create(&log).unwrap();
        let script = crate::repo_root().join("tests/upstream/run-controller.sh");
        let child = Command::new("bash")
            .arg(script)
            .arg(upstream().join("sealed-secrets-controller"))
            .args([token.as_path(), ca.as_path()])
            .args([ns.name.as_str(), host, port])
            .args(["--key-size", "2048", "--key-renew-period", "0"])
            .args(["--listen-addr", &format!("127.0.0.1:{api_port}")])
            .args(["--listen-metrics-addr", &format!("127.0.0.1:{metrics_port}")])
            .args(extra)
            .stdin(Stdio::null())
            // One open file for both streams: two opens would each write at their own offset over the other.
            .stdout(output.try_clone().unwrap())
            .stderr(output)
            .spawn()
            .unwrap();
        let upstream = Self {
            child,
            api: format!("http://127.0.0.1:{api_port}"),
            metrics: format!("http://127.0.0.1:{metrics_port}"),
            log,
        };
        wait_for("the upstream controller's certificate", Duration::from_secs(90), || {
            http_get(&format!("{}/v1/cert.pem", upstream.api))
                .ok()
                .filter(|(s, _)| *s == 200)
        });
        upstream
    }

    /// Its log so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The names of the key Secrets in `ns` (upstream's label).
pub fn key_secret_names(ns: &str) -> Vec<String> {
    let list = get(&format!(
        "/api/v1/namespaces/{ns}/secrets?labelSelector=sealedsecrets.bitnami.com/sealed-secrets-key"
    ))
    .unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

/// Deletes Secret `ns/name`.
pub fn delete_secret(ns: &str, name: &str) {
    delete(&format!("/api/v1/namespaces/{ns}/secrets/{name}"));
}
