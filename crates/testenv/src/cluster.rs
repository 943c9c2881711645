//! Shared helpers for the tests that run `sealant controller` against a real etcd + kube-apiserver: one control
//! plane per test binary, one namespace (with the shipped RBAC applied) per test, controllers as real
//! processes authenticated as their ServiceAccount.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::{ControlPlane, Identity};
use serde_json::{Value, json};

/// The `sealant` binary: `$SEALANT_BIN`, else the one Cargo built beside the running test, bench or example
/// (`target/<profile>/sealant`, next to their `deps/` or `examples/` directories), else the debug build.
pub fn sealant_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("SEALANT_BIN") {
        return bin.into();
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.ancestors()
                .skip(1)
                .take(2)
                .map(|dir| dir.join("sealant"))
                .find(|bin| bin.is_file())
        })
        .unwrap_or_else(|| crate::repo_root().join("target/debug/sealant"))
}

/// The control plane shared by every test of this binary (each test works in its own namespace).
pub fn plane() -> &'static ControlPlane {
    static PLANE: OnceLock<ControlPlane> = OnceLock::new();
    PLANE.get_or_init(|| {
        let plane = ControlPlane::start().unwrap_or_else(|e| panic!("control plane: {e}"));
        install_crd(&plane);
        plane
    })
}

/// Parses a YAML stream into JSON values.
pub fn yaml_docs(text: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(text)
        .unwrap_or_else(|e| panic!("bad YAML: {e}"))
        .into_iter()
        .filter(|v| !v.is_null())
        .collect()
}

fn repo_file(path: &str) -> String {
    let full = crate::repo_root().join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// Applies the generated CRD and waits until it is Established.
fn install_crd(plane: &ControlPlane) {
    let crd = yaml_docs(&repo_file("manifests/crd.yaml")).remove(0);
    let r = plane
        .request_as(
            plane.admin(),
            "POST",
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            Some(&crd),
        )
        .unwrap();
    assert!(
        r.status == 201 || r.status == 409,
        "CRD refused: {} {}",
        r.status,
        r.body
    );
    wait_for("CRD Established", Duration::from_secs(60), || {
        let r = plane
            .request_as(
                plane.admin(),
                "GET",
                "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/sealedsecrets.bitnami.com",
                None,
            )
            .ok()?;
        let conditions = r.json()["status"]["conditions"].as_array()?.clone();
        conditions
            .iter()
            .any(|c| c["type"] == "Established" && c["status"] == "True")
            .then_some(())
    });
    // The discovery cache of the apiserver needs a moment before the new resource is served.
    wait_for("sealedsecrets served", Duration::from_secs(30), || {
        let r = plane
            .request_as(plane.admin(), "GET", "/apis/bitnami.com/v1alpha1/sealedsecrets", None)
            .ok()?;
        (r.status == 200).then_some(())
    });
}

/// Polls `f` every 100 ms until it returns `Some`, or panics with `what` after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The REST collection path of a manifest object.
pub fn collection_path(obj: &Value) -> String {
    let kind = obj["kind"].as_str().unwrap_or_default();
    let api_version = obj["apiVersion"].as_str().unwrap_or_default();
    let ns = obj["metadata"]["namespace"].as_str();
    let plural = match kind {
        "ServiceAccount" => "serviceaccounts",
        "ClusterRole" => "clusterroles",
        "ClusterRoleBinding" => "clusterrolebindings",
        "Role" => "roles",
        "RoleBinding" => "rolebindings",
        "Secret" => "secrets",
        "SealedSecret" => "sealedsecrets",
        "Deployment" => "deployments",
        "Service" => "services",
        "ConfigMap" => "configmaps",
        "Pod" => "pods",
        "Namespace" => "namespaces",
        "NetworkPolicy" => "networkpolicies",
        "PodDisruptionBudget" => "poddisruptionbudgets",
        "CronJob" => "cronjobs",
        "CustomResourceDefinition" => "customresourcedefinitions",
        "ServiceMonitor" => "servicemonitors",
        other => panic!("no path for kind {other}"),
    };
    let base = if api_version.contains('/') {
        format!("/apis/{api_version}")
    } else {
        format!("/api/{api_version}")
    };
    match ns {
        Some(ns) => format!("{base}/namespaces/{ns}/{plural}"),
        None => format!("{base}/{plural}"),
    }
}

/// Creates `obj` as `who`; panics unless the API server answers 201.
pub fn create(who: &Identity, obj: &Value) -> Value {
    let r = plane()
        .request_as(who, "POST", &collection_path(obj), Some(obj))
        .unwrap();
    assert_eq!(r.status, 201, "creating {}: {}", obj["metadata"]["name"], r.body);
    r.json()
}

/// GET a path as admin: `None` on 404.
pub fn get(path: &str) -> Option<Value> {
    let r = plane().request_as(plane().admin(), "GET", path, None).unwrap();
    match r.status {
        200 => Some(r.json()),
        404 => None,
        s => panic!("GET {path}: {s} {}", r.body),
    }
}

/// Deletes `path` as the administrator; anything but 200 fails the test.
pub fn delete(path: &str) {
    let r = plane().request_as(plane().admin(), "DELETE", path, None).unwrap();
    assert_eq!(r.status, 200, "DELETE {path}: {}", r.body);
}

/// One test's namespace with the shipped RBAC bound to its `sealant-controller` ServiceAccount.
pub struct Namespace {
    /// The namespace (the controller's own: keys and Lease live here).
    pub name: String,
    /// The controller's ServiceAccount identity.
    pub sa: Identity,
    /// A kubeconfig for that identity.
    pub kubeconfig: PathBuf,
    /// Scratch files of the test.
    pub dir: tempfile::TempDir,
}

impl Namespace {
    /// A fresh namespace with `manifests/rbac.yaml` applied: `kube-system` becomes this namespace, and
    /// cluster-wide objects get the namespace as a suffix so tests do not collide.
    pub fn new(prefix: &str) -> Self {
        let plane = plane();
        let name = plane.namespace(prefix).unwrap();
        apply_for(&name, "manifests/rbac.yaml");
        let sa = plane.service_account(&name, "sealant-controller").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, plane.kubeconfig(&sa)).unwrap();
        Self {
            name,
            sa,
            kubeconfig,
            dir,
        }
    }

    /// Applies another shipped RBAC file the way `new` applies `manifests/rbac.yaml`.
    pub fn apply(&self, path: &str) {
        apply_for(&self.name, path);
    }

    /// Another namespace, for objects (no RBAC of its own needed: the ClusterRole covers it).
    pub fn other(&self, prefix: &str) -> String {
        plane().namespace(prefix).unwrap()
    }
}

/// Creates the objects of a shipped manifest for the test namespace `name`: `kube-system` becomes `name`, and
/// cluster-wide objects get `name` as a suffix so tests do not collide.
fn apply_for(name: &str, path: &str) {
    for mut obj in yaml_docs(&repo_file(path)) {
        let text = obj.to_string().replace("\"kube-system\"", &format!("\"{name}\""));
        obj = serde_json::from_str(&text).unwrap();
        if obj["metadata"]["namespace"].is_null() {
            let cluster_name = format!("{}-{name}", obj["metadata"]["name"].as_str().unwrap());
            obj["metadata"]["name"] = json!(cluster_name);
        }
        if obj["kind"] == "ClusterRoleBinding" {
            let role = format!("{}-{name}", obj["roleRef"]["name"].as_str().unwrap());
            obj["roleRef"]["name"] = json!(role);
        }
        create(plane().admin(), &obj);
    }
}

/// Makes the API server's service proxy reach a process listening on `ip:port` as Service `name` in `ns`, the
/// way it reaches a controller pod: a Service (port named `http`, as shipped), a Pod object standing for the
/// process (the proxy only goes to pod IPs), and Endpoints. There are no kubelets in this control plane.
pub fn expose_through_service_proxy(ns: &str, name: &str, ip: &str, port: u16) {
    create(
        plane().admin(),
        &json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": name, "namespace": ns},
                "spec": {"ports": [{"name": "http", "port": 8080, "targetPort": port}]}}),
    );
    let pod = format!("{name}-0");
    create(
        plane().admin(),
        &json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod, "namespace": ns},
                "spec": {"containers": [{"name": "controller", "image": "sealant:test"}]}}),
    );
    let r = plane()
        .request_as(
            plane().admin(),
            "PATCH",
            &format!("/api/v1/namespaces/{ns}/pods/{pod}/status"),
            Some(&json!({"status": {"podIP": ip, "podIPs": [{"ip": ip}]}})),
        )
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let endpoints = json!({"apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": name, "namespace": ns},
        "subsets": [{"addresses": [{"ip": ip, "targetRef": {"kind": "Pod", "name": pod, "namespace": ns}}],
                     "ports": [{"name": "http", "port": port}]}]});
    let r = plane()
        .request_as(
            plane().admin(),
            "POST",
            &format!("/api/v1/namespaces/{ns}/endpoints"),
            Some(&endpoints),
        )
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.body);
}

/// A loopback port nothing listens on now.
pub fn free_port() -> u16 {
    // Ports are handed out by the kernel; a second controller started later may still race, which the
    // harness reports as a start-up failure with the controller's log.
    static USED: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    loop {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut used = USED.lock().unwrap();
        if !used.contains(&port) {
            used.push(port);
            return port;
        }
    }
}

pub use crate::controller::Controller;
pub(crate) use crate::controller::PLAINTEXTS;

/// The sum of every series of one Prometheus metric served at `base/metrics` (0 when absent).
pub fn metric_at(base: &str, name: &str) -> f64 {
    let (_, text) = http_get(&format!("{base}/metrics")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.split(['{', ' ']).next() == Some(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>()
        + 0.0 // an empty sum is -0.0
}

/// GET over plain HTTP: status and body.
pub fn http_get(url: &str) -> Result<(u16, String), String> {
    let agent = ureq::Agent::new_with_config(ureq::config::Config::builder().http_status_as_error(false).build());
    let mut r = agent.get(url).call().map_err(|e| e.to_string())?;
    let status = r.status().as_u16();
    Ok((status, r.body_mut().read_to_string().map_err(|e| e.to_string())?))
}

/// POST over plain HTTP: status and body.
pub fn http_post(url: &str, body: &str, headers: &[(&str, &str)]) -> Result<(u16, String), String> {
    let agent = ureq::Agent::new_with_config(ureq::config::Config::builder().http_status_as_error(false).build());
    let mut req = agent.post(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut r = req.send(body).map_err(|e| e.to_string())?;
    let status = r.status().as_u16();
    Ok((status, r.body_mut().read_to_string().map_err(|e| e.to_string())?))
}

/// Seals a Secret with the real CLI against `cert_url` and returns the SealedSecret as JSON.
pub fn seal(cert_url: &str, secret: &Value, extra: &[&str]) -> Value {
    let out = assert_cmd::Command::new(sealant_bin())
        .args(["seal", "--cert", cert_url, "-o", "json"])
        .args(extra)
        .write_stdin(secret.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "seal failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A plaintext Secret manifest.
pub fn secret(ns: &str, name: &str, items: &[(&str, &str)]) -> Value {
    let long = items.iter().map(|(_, v)| v.to_string()).filter(|v| v.len() >= 12);
    PLAINTEXTS.lock().unwrap().extend(long);
    let data: serde_json::Map<String, Value> = items.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns}, "stringData": data})
}

/// The Secret `ns/name` as the API server has it, if any.
pub fn get_secret(ns: &str, name: &str) -> Option<Value> {
    get(&format!("/api/v1/namespaces/{ns}/secrets/{name}"))
}

/// The SealedSecret `ns/name`.
pub fn get_sealed(ns: &str, name: &str) -> Option<Value> {
    get(&format!(
        "/apis/bitnami.com/v1alpha1/namespaces/{ns}/sealedsecrets/{name}"
    ))
}

/// One decoded item of a Secret.
pub fn item(secret: &Value, key: &str) -> String {
    use base64::Engine as _;
    let text = secret["data"][key]
        .as_str()
        .unwrap_or_else(|| panic!("no item {key} in {secret}"));
    String::from_utf8(base64::engine::general_purpose::STANDARD.decode(text).unwrap()).unwrap()
}

/// Waits until the Secret exists and `pred` holds on it.
pub fn wait_secret(ns: &str, name: &str, pred: impl Fn(&Value) -> bool) -> Value {
    wait_for(&format!("Secret {ns}/{name}"), Duration::from_secs(60), || {
        get_secret(ns, name).filter(|s| pred(s))
    })
}

/// The `Synced` condition of a SealedSecret, once written.
pub fn synced(ns: &str, name: &str) -> Option<Value> {
    let ss = get_sealed(ns, name)?;
    let conditions = ss["status"]["conditions"].as_array()?.clone();
    conditions.into_iter().find(|c| c["type"] == "Synced")
}
