//! `sealant controller` as a real process on the test control plane, authenticated as its ServiceAccount; on
//! drop, its logs, audit log, events and statuses are checked for every value a test sealed.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cluster::*;

/// A running `sealant controller` process.
pub struct Controller {
    child: Option<Child>,
    /// Its identity in the Lease.
    pub identity: String,
    /// `http://<address>:<port>` of the HTTP API (loopback, or the test host's address).
    pub api: String,
    /// `http://<address>:<port>` of the metrics.
    pub metrics: String,
    /// The audit log file.
    pub audit: PathBuf,
    /// stderr (logs).
    pub log: PathBuf,
    /// The namespaces it watches (their events and SealedSecret statuses are checked for values on drop).
    pub namespaces: Vec<String>,
}

impl Controller {
    /// Starts a controller for `ns`, watching `watch` namespaces, and waits until it serves a certificate.
    pub fn start(ns: &Namespace, identity: &str, watch: &[&str], extra: &[&str]) -> Self {
        Self::start_in(None, ns, identity, watch, extra)
    }

    /// As [`Controller::start`], inside the test host ([`crate::testhost`]), listening on its address: what the
    /// API server's service proxy can reach.
    pub fn start_on_test_host(ns: &Namespace, identity: &str, watch: &[&str], extra: &[&str]) -> Self {
        Self::start_in(Some(crate::testhost::test_host()), ns, identity, watch, extra)
    }

    fn start_in(
        host: Option<&crate::testhost::TestHost>,
        ns: &Namespace,
        identity: &str,
        watch: &[&str],
        extra: &[&str],
    ) -> Self {
        let ip = host.map_or_else(|| "127.0.0.1".to_string(), |h| h.ip.to_string());
        let (api_port, metrics_port) = (free_port(), free_port());
        // `--audit-log` in `extra` (a test that breaks the file) replaces the default.
        let audit = extra
            .iter()
            .position(|a| *a == "--audit-log")
            .and_then(|i| extra.get(i + 1))
            .map_or_else(|| ns.dir.path().join(format!("{identity}.audit.jsonl")), PathBuf::from);
        let default_audit = (!extra.contains(&"--audit-log")).then(|| audit.clone());
        let log = ns.dir.path().join(format!("{identity}.log"));
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        // `--listen-addr` in `extra` (e.g. a non-loopback address for the service proxy) replaces the default.
        let listen_at = extra.iter().position(|a| *a == "--listen-addr");
        let listen = match listen_at {
            Some(_) => None,
            None => Some(format!("{ip}:{api_port}")),
        };
        let api_addr = listen_at
            .and_then(|i| extra.get(i + 1))
            .map_or_else(|| format!("{ip}:{api_port}"), ToString::to_string);
        let mut watched = vec![ns.name.as_str()];
        watched.extend_from_slice(watch);
        // Test defaults, unless `extra` sets the same flag: 2048-bit keys (key generation is the slow part of a
        // start), debug logs for failure messages.
        let mut defaults = vec!["--key-size", "2048", "--log-level", "info,sealant_controller=debug"];
        for flag in ["--key-size", "--log-level"] {
            if extra.contains(&flag) {
                let at = defaults.iter().position(|f| *f == flag).unwrap();
                defaults.drain(at..at + 2);
            }
        }
        let kubeconfig = match host {
            Some(host) => {
                let file = ns.dir.path().join(format!("{identity}.kubeconfig"));
                std::fs::write(
                    &file,
                    host.kubeconfig(&std::fs::read_to_string(&ns.kubeconfig).unwrap()),
                )
                .unwrap();
                file
            }
            None => ns.kubeconfig.clone(),
        };
        let mut command = match host {
            Some(host) => host.command(sealant_bin()),
            None => Command::new(sealant_bin()),
        };
        let child = command
            .arg("controller")
            .args(&defaults)
            // `--all-namespaces` in `extra` watches every namespace instead (upstream's default).
            .args(
                (!extra.iter().any(|a| a.starts_with("--all-namespaces")))
                    .then(|| ["--additional-namespaces".to_string(), watched.join(",")])
                    .into_iter()
                    .flatten(),
            )
            .args(listen.iter().flat_map(|l| ["--listen-addr", l.as_str()]))
            .args(["--listen-metrics-addr", &format!("{ip}:{metrics_port}")])
            .args(["--lease-duration", "4s"])
            .args(default_audit.iter().flat_map(|a| ["--audit-log".as_ref(), a.as_os_str()]))
            .args(extra)
            .env("KUBECONFIG", &kubeconfig)
            .env("POD_NAMESPACE", &ns.name)
            .env("POD_NAME", identity)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let controller = Self {
            child: Some(child),
            identity: identity.to_string(),
            api: format!("http://{api_addr}"),
            metrics: format!("http://{ip}:{metrics_port}"),
            audit,
            log,
            namespaces: watched.iter().map(ToString::to_string).collect(),
        };
        controller.wait_serving();
        controller
    }

    fn wait_serving(&self) {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Ok((200, _)) = http_get(&format!("{}/v1/cert.pem", self.api)) {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "controller {} did not serve a certificate:\n{}",
                    self.identity,
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The controller's log so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The audit log lines so far, each checked against `docs/audit.schema.json`.
    pub fn audit_lines(&self) -> Vec<Value> {
        crate::audit::read(&self.audit)
    }

    /// Sum of every sample of a metric (all label sets), 0 if absent.
    pub fn metric(&self, name: &str) -> f64 {
        metric_at(&self.metrics, name)
    }

    /// SIGKILL: no cleanup, no Lease release.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The address of its HTTP API.
    pub fn ip(&self) -> String {
        let host = self.api.trim_start_matches("http://");
        host.rsplit_once(':').map(|(ip, _)| ip.to_string()).unwrap_or_default()
    }

    /// The port of its HTTP API.
    pub fn port(&self) -> u16 {
        self.api
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse().ok())
            .unwrap_or_default()
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process still runs.
    pub fn running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        self.kill();
        // Secrets hygiene, for every controller of every test: its log and audit log hold none of the values
        // the tests sealed. (Not while unwinding: a second panic would abort and hide the first.)
        if !std::thread::panicking() {
            // Only a regular file: a test may point the log at /dev/full, which reads as endless zeros.
            let audit = match self.audit.is_file() {
                true => std::fs::read_to_string(&self.audit).unwrap_or_default(),
                false => String::new(),
            };
            let mut text = audit + &self.logs();
            // What the controller wrote into the cluster for people to read: events and status conditions.
            for ns in &self.namespaces {
                for path in [
                    format!("/apis/events.k8s.io/v1/namespaces/{ns}/events"),
                    format!("/apis/bitnami.com/v1alpha1/namespaces/{ns}/sealedsecrets"),
                ] {
                    if let Ok(r) = plane().request_as(plane().admin(), "GET", &path, None) {
                        let v = r.json();
                        for obj in v["items"].as_array().into_iter().flatten() {
                            text.push_str(&obj["note"].to_string());
                            text.push_str(&obj["status"].to_string());
                        }
                    }
                }
            }
            let leaked = PLAINTEXTS.lock().unwrap().iter().filter(|v| text.contains(*v)).count();
            // And every audit line it wrote follows the documented schema.
            if self.audit.is_file() {
                crate::audit::read(&self.audit);
            }
            assert_eq!(
                leaked, 0,
                "controller {} logged {leaked} sealed value(s)",
                self.identity
            );
        }
    }
}

/// Every value of 12 characters or more a test put in a Secret (shorter ones could match a log by chance).
pub(crate) static PLAINTEXTS: Mutex<std::collections::BTreeSet<String>> = Mutex::new(std::collections::BTreeSet::new());
