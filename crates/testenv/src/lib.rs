//! A real Kubernetes control plane for tests: etcd and kube-apiserver, built from Go modules by
//! `tests/control-plane/build.sh` (cached outside the clone), started on free loopback ports with generated
//! certificates and RBAC authorization, and stopped when the [`ControlPlane`] is dropped — also on panic, and
//! by a watchdog when the test process itself dies.
//!
//! Identities are client certificates signed by the test CA: [`ControlPlane::admin`] is in `system:masters`;
//! [`ControlPlane::service_account`] authenticates exactly as that ServiceAccount's username and groups, so RBAC
//! bound to the ServiceAccount applies to it.
//!
//! The harness of every test that needs a Go-built tool: [`cluster`] (namespaces with the shipped RBAC, the
//! controller as a real process), [`gitea`] (a real forge), [`age`] (the reference age CLI) and [`upstream`]
//! (Bitnami's kubeseal and controller), [`helm`] (Helm, and Bitnami's chart).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod age;
pub mod audit;
pub mod cluster;
pub mod controller;
pub mod controller_manager;
pub mod gitea;
pub mod helm;
pub mod image;
pub mod pod;
mod process;
pub mod testhost;
pub mod upstream;

pub use process::binaries;
use process::{free_ports, spawn, stop, tail};

/// Runs the tool script `tests/tools/<script>` (it builds or installs the tool once, from Go modules, PyPI or
/// npm, then prints the cached path at once) and returns the path it prints; a failed build fails the test with
/// the script's output.
pub fn cached_tool(script: &str) -> std::path::PathBuf {
    let path = repo_root().join("tests/tools").join(script);
    let out = std::process::Command::new("bash").arg(&path).output().unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    std::path::PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// The repository's root (where `manifests/`, `tests/tools/` and the Go build scripts are).
pub fn repo_root() -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::canonicalize(&root).unwrap_or(root)
}

use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

/// Why the control plane could not be provided.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Building or locating the binaries failed.
    #[error("cannot build the control plane with {script}: {message}")]
    Build {
        /// The build script.
        script: String,
        /// What went wrong (the script's last output lines).
        message: String,
    },
    /// A process did not become ready.
    #[error("{process} did not become ready: {message}")]
    NotReady {
        /// `etcd` or `kube-apiserver`.
        process: &'static str,
        /// Why, with the tail of its log.
        message: String,
    },
    /// Certificates could not be made.
    #[error("cannot make test certificates: {0}")]
    Certs(rcgen::Error),
    /// A file or process operation failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// An HTTP request failed at the transport level.
    #[error("request failed: {0}")]
    Http(String),
}

// By hand, not `#[from]`: the message already prints the cause, and a source would print it a second time.
impl From<rcgen::Error> for Error {
    fn from(e: rcgen::Error) -> Self {
        Error::Certs(e)
    }
}

/// A client identity: certificate and key, PEM.
#[derive(Clone)]
pub struct Identity {
    /// The user name the apiserver sees.
    pub user: String,
    cert_pem: String,
    key_pem: String,
}

/// A response from the apiserver.
#[derive(Debug)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Body as text.
    pub body: String,
}

impl Response {
    /// The body parsed as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// A running etcd + kube-apiserver pair.
pub struct ControlPlane {
    dir: tempfile::TempDir,
    bin: PathBuf,
    etcd: Mutex<Child>,
    etcd_args: Vec<String>,
    apiserver: Mutex<Child>,
    apiserver_args: Vec<String>,
    url: String,
    ca_pem: String,
    ca: Issuer<'static, KeyPair>,
    admin: Identity,
}

impl ControlPlane {
    /// Builds the binaries if they are not cached, then starts etcd and the apiserver and waits until the
    /// apiserver answers `/readyz` and the `default` namespace exists. Retries once on a port race.
    pub fn start() -> Result<Self, Error> {
        let bin = binaries()?;
        match Self::start_with(&bin) {
            Err(Error::NotReady { .. }) => Self::start_with(&bin),
            other => other,
        }
    }

    fn start_with(bin: &Path) -> Result<Self, Error> {
        let dir = tempfile::Builder::new().prefix("sealant-control-plane-").tempdir()?;
        let d = dir.path();
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::default();
        ca_params.distinguished_name = dn("sealant-test-ca", &[]);
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_pem = ca_params.self_signed(&ca_key)?.pem();
        let ca = Issuer::new(ca_params, ca_key);

        let serving_key = KeyPair::generate()?;
        let mut serving = CertificateParams::new(vec!["localhost".to_string()])?;
        serving
            .subject_alt_names
            .push(SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
        // The address the test host reaches the API server at (through a relay; see `testhost`).
        serving
            .subject_alt_names
            .push(SanType::IpAddress(testhost::addresses().0.into()));
        serving.distinguished_name = dn("kube-apiserver", &[]);
        serving.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        std::fs::write(d.join("ca.crt"), &ca_pem)?;
        std::fs::write(d.join("apiserver.crt"), serving.signed_by(&serving_key, &ca)?.pem())?;
        std::fs::write(d.join("apiserver.key"), serving_key.serialize_pem())?;
        let sa_key = KeyPair::generate()?;
        std::fs::write(d.join("sa.key"), sa_key.serialize_pem())?;
        std::fs::write(d.join("sa.pub"), sa_key.public_key_pem())?;
        let admin = issue(&ca, "sealant-test-admin", &["system:masters"])?;

        let [etcd_port, peer_port, api_port] = free_ports()?;
        let etcd_args: Vec<String> = vec![
            "--name=test".into(),
            format!("--data-dir={}", d.join("etcd").display()),
            format!("--listen-client-urls=http://127.0.0.1:{etcd_port}"),
            format!("--advertise-client-urls=http://127.0.0.1:{etcd_port}"),
            format!("--listen-peer-urls=http://127.0.0.1:{peer_port}"),
            format!("--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}"),
            format!("--initial-cluster=test=http://127.0.0.1:{peer_port}"),
            "--unsafe-no-fsync=true".into(),
            "--log-level=warn".into(),
        ];
        let etcd = spawn(&bin.join("etcd"), &etcd_args, &d.join("etcd.log"))?;
        let apiserver_args: Vec<String> = vec![
            format!("--etcd-servers=http://127.0.0.1:{etcd_port}"),
            "--bind-address=127.0.0.1".into(),
            format!("--secure-port={api_port}"),
            // Why: without a default route the apiserver cannot pick an address, and a loopback one
            // cannot go into the `kubernetes` Endpoints, so no endpoint reconciler.
            "--advertise-address=127.0.0.1".into(),
            "--endpoint-reconciler-type=none".into(),
            format!("--cert-dir={}", d.display()),
            format!("--tls-cert-file={}", d.join("apiserver.crt").display()),
            format!("--tls-private-key-file={}", d.join("apiserver.key").display()),
            format!("--client-ca-file={}", d.join("ca.crt").display()),
            format!("--service-account-issuer=https://127.0.0.1:{api_port}"),
            format!("--service-account-key-file={}", d.join("sa.pub").display()),
            format!("--service-account-signing-key-file={}", d.join("sa.key").display()),
            "--service-cluster-ip-range=10.0.0.0/24".into(),
            // Why: the tests must see real authorization decisions, not "allow everything".
            "--authorization-mode=RBAC".into(),
            "--disable-admission-plugins=ServiceAccount".into(),
            // The audit policy sealant ships, on every test plane: what it logs is checked against what the
            // tests did (see `ControlPlane::audit_events`).
            format!(
                "--audit-policy-file={}",
                repo_root().join("manifests/audit-policy.yaml").display()
            ),
            format!("--audit-log-path={}", d.join("audit.log").display()),
            "--audit-log-format=json".into(),
            // Written as events happen, so a test sees its own right after the response.
            "--audit-log-mode=blocking".into(),
        ];
        let apiserver = spawn(
            &bin.join("kube-apiserver"),
            &apiserver_args,
            &d.join("kube-apiserver.log"),
        )?;
        let plane = ControlPlane {
            dir,
            bin: bin.to_path_buf(),
            etcd: Mutex::new(etcd),
            etcd_args,
            apiserver: Mutex::new(apiserver),
            apiserver_args,
            url: format!("https://127.0.0.1:{api_port}"),
            ca_pem,
            ca,
            admin,
        };
        plane.wait_ready()?;
        Ok(plane)
    }

    /// Stops the apiserver (TERM, then KILL after 10 s) and starts it again on the same port, then waits until
    /// it is ready: what clients see during an apiserver upgrade or crash.
    pub fn restart_apiserver(&self) -> Result<(), Error> {
        self.restart(
            &self.apiserver,
            "kube-apiserver",
            &self.apiserver_args,
            "kube-apiserver.log",
        )
    }

    /// Stops etcd and starts it again on the same data directory and ports, then waits until the apiserver
    /// answers again.
    pub fn restart_etcd(&self) -> Result<(), Error> {
        self.restart(&self.etcd, "etcd", &self.etcd_args, "etcd.log")
    }

    fn restart(&self, child: &Mutex<Child>, binary: &str, args: &[String], log: &str) -> Result<(), Error> {
        {
            let mut child = child.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            stop(&mut child);
            let log = self.dir.path().join(format!("{log}.{}", std::process::id()));
            *child = spawn(&self.bin.join(binary), args, &log)?;
        }
        self.wait_ready()
    }

    fn wait_ready(&self) -> Result<(), Error> {
        let deadline = Instant::now() + Duration::from_secs(120);
        let admin = self.admin.clone();
        for (path, process) in [
            ("/readyz", "kube-apiserver"),
            ("/api/v1/namespaces/default", "kube-apiserver"),
        ] {
            loop {
                for (child, name, log) in [
                    (&self.etcd, "etcd", "etcd.log"),
                    (&self.apiserver, "kube-apiserver", "kube-apiserver.log"),
                ] {
                    let exited = child
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .try_wait()?;
                    if let Some(status) = exited {
                        return Err(Error::NotReady {
                            process: name,
                            message: format!("exited with {status}; log tail:\n{}", tail(&self.dir.path().join(log))),
                        });
                    }
                }
                if matches!(self.request_as(&admin, "GET", path, None), Ok(r) if r.status == 200) {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(Error::NotReady {
                        process,
                        message: format!(
                            "{path} not answering 200 after 120 s; log tail:\n{}",
                            tail(&self.dir.path().join("kube-apiserver.log"))
                        ),
                    });
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        }
        Ok(())
    }

    /// The API server's audit events so far (its `--audit-log-path`, one JSON event per line), under the
    /// policy in `manifests/audit-policy.yaml`.
    pub fn audit_events(&self) -> Vec<serde_json::Value> {
        let mut events = Vec::new();
        // Restarts write to the same file; rotated files are not used (no --audit-log-maxsize).
        for line in std::fs::read_to_string(self.dir.path().join("audit.log"))
            .unwrap_or_default()
            .lines()
        {
            if let Ok(event) = serde_json::from_str(line) {
                events.push(event);
            }
        }
        events
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The cluster CA certificate (PEM).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The cluster administrator (`system:masters`).
    pub fn admin(&self) -> &Identity {
        &self.admin
    }

    /// A client that authenticates as ServiceAccount `namespace/name` (username
    /// `system:serviceaccount:<ns>:<name>`, groups `system:serviceaccounts` and `system:serviceaccounts:<ns>`).
    pub fn service_account(&self, namespace: &str, name: &str) -> Result<Identity, Error> {
        issue(
            &self.ca,
            &format!("system:serviceaccount:{namespace}:{name}"),
            &["system:serviceaccounts", &format!("system:serviceaccounts:{namespace}")],
        )
    }

    /// A client that authenticates as user `name` in `groups` (a client certificate of the cluster CA).
    pub fn user(&self, name: &str, groups: &[&str]) -> Result<Identity, Error> {
        issue(&self.ca, name, groups)
    }

    /// A kubeconfig (YAML) for `identity`, for kube-rs clients and kubectl.
    pub fn kubeconfig(&self, identity: &Identity) -> String {
        self.kubeconfig_contexts(&[("test", identity)])
    }

    /// A kubeconfig with one context (and user) per `(name, identity)`, all on this API server; the first is
    /// current.
    pub fn kubeconfig_contexts(&self, contexts: &[(&str, &Identity)]) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let mut users = String::new();
        let mut named = String::new();
        for (name, identity) in contexts {
            users.push_str(&format!(
                "- name: {name}\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\n",
                b64(&identity.cert_pem),
                b64(&identity.key_pem)
            ));
            named.push_str(&format!("- name: {name}\n  context: {{cluster: test, user: {name}}}\n"));
        }
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {}\n    certificate-authority-data: {}\nusers:\n{users}contexts:\n{named}current-context: {}\n",
            self.url,
            b64(&self.ca_pem),
            contexts.first().map(|(n, _)| *n).unwrap_or("test")
        )
    }

    /// Creates a fresh namespace named `<prefix>-<random>` and returns its name.
    pub fn namespace(&self, prefix: &str) -> Result<String, Error> {
        let mut suffix = [0u8; 4];
        sealant_core::envelope::random_bytes(&mut suffix).map_err(|e| Error::Http(e.to_string()))?;
        let name = format!(
            "{prefix}-{}",
            suffix.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        let body = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        let r = self.request_as(&self.admin, "POST", "/api/v1/namespaces", Some(&body))?;
        if r.status != 201 {
            return Err(Error::Http(format!(
                "creating namespace {name}: {} {}",
                r.status, r.body
            )));
        }
        Ok(name)
    }

    /// Sends one request as `identity` (JSON body), returning status and body whatever the status. `APPLY` is a
    /// server-side apply (a PATCH of type `application/apply-patch+yaml`).
    pub fn request_as(
        &self,
        identity: &Identity,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Response, Error> {
        let agent = agent(&self.ca_pem, identity)?;
        let url = format!("{}{path}", self.url);
        let http = |e: ureq::Error| Error::Http(format!("{method} {path}: {e}"));
        let mut response = match (method, body) {
            ("GET", _) => agent.get(&url).call(),
            ("DELETE", _) => agent.delete(&url).call(),
            (_, body) => {
                let body = body.cloned().unwrap_or(serde_json::Value::Null).to_string();
                let req = match method {
                    "POST" => agent.post(&url),
                    "PUT" => agent.put(&url),
                    _ => agent.patch(&url),
                };
                let content_type = match method {
                    "PATCH" => "application/merge-patch+json",
                    // Server-side apply: the path carries `fieldManager` (and `dryRun` when wanted).
                    "APPLY" => "application/apply-patch+yaml",
                    _ => "application/json",
                };
                req.header("Content-Type", content_type).send(body)
            }
        }
        .map_err(http)?;
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_string().map_err(http)?;
        Ok(Response { status, body })
    }

    /// The apiserver's log so far (for failure messages).
    pub fn apiserver_log(&self) -> String {
        tail(&self.dir.path().join("kube-apiserver.log"))
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        // Apiserver first, then etcd.
        for child in [&mut self.apiserver, &mut self.etcd] {
            stop(child.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner));
        }
    }
}

fn issue(ca: &Issuer<'static, KeyPair>, user: &str, groups: &[&str]) -> Result<Identity, Error> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    params.distinguished_name = dn(user, groups);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.signed_by(&key, ca)?;
    Ok(Identity {
        user: user.to_string(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// CN = user, one O per group (how the apiserver reads x509 client identities).
fn dn(common_name: &str, groups: &[&str]) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    for g in groups {
        dn.push(DnType::OrganizationName, *g);
    }
    dn
}

fn agent(ca_pem: &str, identity: &Identity) -> Result<ureq::Agent, Error> {
    let tls_err = |e: ureq::Error| Error::Http(format!("TLS setup: {e}"));
    let ca = ureq::tls::Certificate::from_pem(ca_pem.as_bytes()).map_err(tls_err)?;
    let cert = ureq::tls::Certificate::from_pem(identity.cert_pem.as_bytes()).map_err(tls_err)?;
    let key = ureq::tls::PrivateKey::from_pem(identity.key_pem.as_bytes()).map_err(tls_err)?;
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::new_with_certs(&[ca]))
        .client_cert(Some(ureq::tls::ClientCert::new_with_certs(&[cert], key)))
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .build();
    Ok(ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into())
}
