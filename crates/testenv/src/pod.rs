//! A Deployment's container run as a process, the way a kubelet would start it but without one: its command and
//! args exactly as rendered, its environment (field references resolved), and in-cluster credentials of its
//! ServiceAccount (a token, the CA and the namespace at the in-cluster path, in a private mount namespace, by
//! tests/upstream/run-controller.sh).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use crate::cluster::plane;

/// The process standing for the pod.
pub struct PodProcess {
    child: Child,
    log: PathBuf,
    /// The command line it runs (program replaced, args as rendered).
    pub argv: Vec<String>,
    /// The environment it was given from the container spec.
    pub env: Vec<(String, String)>,
}

impl PodProcess {
    /// Starts the first container of `deployment` (as the API server has it) in namespace `ns`, running
    /// `program` in place of the container's `command[0]`; its output goes to `dir/<pod>.log`.
    pub fn start(deployment: &Value, program: &Path, dir: &Path) -> Self {
        let ns = deployment["metadata"]["namespace"].as_str().unwrap().to_string();
        let pod_name = format!("{}-test-0", deployment["metadata"]["name"].as_str().unwrap());
        let spec = &deployment["spec"]["template"]["spec"];
        let container = &spec["containers"][0];
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
                .unwrap_or_default()
        };
        let command = strings(&container["command"]);
        let mut argv: Vec<String> = command.iter().skip(1).cloned().collect();
        argv.extend(strings(&container["args"]));
        let env: Vec<(String, String)> = container["env"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                let name = e["name"].as_str().unwrap().to_string();
                let value = match (&e["value"], e["valueFrom"]["fieldRef"]["fieldPath"].as_str()) {
                    (Value::String(v), _) => v.clone(),
                    (_, Some("metadata.namespace")) => ns.clone(),
                    (_, Some("metadata.name")) => pod_name.clone(),
                    _ => panic!("env {name}: no value the test can give: {e}"),
                };
                (name, value)
            })
            .collect();
        let account = spec["serviceAccountName"].as_str().unwrap_or("default");
        let r = plane()
            .request_as(
                plane().admin(),
                "POST",
                &format!("/api/v1/namespaces/{ns}/serviceaccounts/{account}/token"),
                Some(
                    &json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                             "spec": {"expirationSeconds": 3600}}),
                ),
            )
            .unwrap();
        assert_eq!(r.status, 201, "token for {ns}/{account}: {}", r.body);
        let token = dir.join(format!("{pod_name}.token"));
        std::fs::write(&token, r.json()["status"]["token"].as_str().unwrap()).unwrap();
        let ca = dir.join("ca.crt");
        std::fs::write(&ca, plane().ca_pem()).unwrap();
        let url = plane().url().trim_start_matches("https://").to_string();
        let (host, port) = url.rsplit_once(':').unwrap();
        let log = dir.join(format!("{pod_name}.log"));
        let output = std::fs::File::create(&log).unwrap();
        let child = Command::new("bash")
            .arg(crate::repo_root().join("tests/upstream/run-controller.sh"))
            .arg(program)
            .args([token.as_path(), ca.as_path()])
            .args([ns.as_str(), host, port])
            .args(&argv)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            // Nothing of the test's own environment leaks in: the pod gets what its spec gives it.
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null())
            // One open file for both streams: two opens would each write at their own offset over the other.
            .stdout(output.try_clone().unwrap())
            .stderr(output)
            .spawn()
            .unwrap();
        Self { child, log, argv, env }
    }

    /// Its output so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops it and waits for it to exit.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PodProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
