//! A Deployment's container run as a process, the way a kubelet would start it but without one: its command and
//! args exactly as rendered, its environment (field references resolved), and in-cluster credentials of its
//! ServiceAccount (a token, the CA and the namespace at the in-cluster path, in a private mount namespace, by
//! tests/upstream/run-controller.sh), or from the
//! built image (tests/tools/run-in-image.sh).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use std::time::{Duration, Instant};

use crate::cluster::{create, get_secret, http_get, item, plane, seal, secret};

/// The process standing for the pod.
pub struct PodProcess {
    child: Child,
    log: PathBuf,
    /// The command line it runs (program replaced, args as rendered).
    pub argv: Vec<String>,
    /// The environment it was given from the container spec.
    pub env: Vec<(String, String)>,
}

/// What a kubelet would have ready before starting the pod's first container.
struct Pod {
    namespace: String,
    command: Vec<String>,
    args: Vec<String>,
    env: Vec<(String, String)>,
    token: PathBuf,
    ca: PathBuf,
    host: String,
    port: String,
    log: PathBuf,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

impl Pod {
    /// The container's command, args and environment (field references resolved), a token of its
    /// ServiceAccount and the cluster CA in `dir`.
    fn new(deployment: &Value, dir: &Path) -> Self {
        let ns = deployment["metadata"]["namespace"].as_str().unwrap().to_string();
        let pod_name = format!("{}-test-0", deployment["metadata"]["name"].as_str().unwrap());
        let spec = &deployment["spec"]["template"]["spec"];
        let container = &spec["containers"][0];
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
        Self {
            namespace: ns,
            command: strings(&container["command"]),
            args: strings(&container["args"]),
            env,
            token,
            ca,
            host: host.to_string(),
            port: port.to_string(),
            log: dir.join(format!("{pod_name}.log")),
        }
    }

    /// Starts `command` with its output in the pod's log.
    fn spawn(self, mut command: Command, argv: Vec<String>) -> PodProcess {
        let output = std::fs::File::create(&self.log).unwrap();
        let child = command
            .stdin(Stdio::null())
            // One open file for both streams: two opens would each write at their own offset over the other.
            .stdout(output.try_clone().unwrap())
            .stderr(output)
            .spawn()
            .unwrap();
        PodProcess {
            child,
            log: self.log,
            argv,
            env: self.env,
        }
    }
}

impl PodProcess {
    /// Starts the first container of `deployment` (as the API server has it) in namespace `ns`, running
    /// `program` in place of the container's `command[0]`; its output goes to `dir/<pod>.log`.
    pub fn start(deployment: &Value, program: &Path, dir: &Path) -> Self {
        let pod = Pod::new(deployment, dir);
        let argv: Vec<String> = pod.command.iter().skip(1).chain(&pod.args).cloned().collect();
        let mut command = Command::new("bash");
        command
            .arg(crate::repo_root().join("tests/upstream/run-controller.sh"))
            .arg(program)
            .args([pod.token.as_path(), pod.ca.as_path()])
            .args([pod.namespace.as_str(), pod.host.as_str(), pod.port.as_str()])
            .args(&argv)
            .envs(pod.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            // Nothing of the test's own environment leaks in: the pod gets what its spec gives it.
            .env_remove("KUBECONFIG");
        pod.spawn(command, argv)
    }

    /// Starts the first container of `deployment` from the unpacked `image`, as a kubelet would: the
    /// container's command (or the image's entrypoint) and args (or the image's cmd), the image's environment
    /// and the container's, `KUBERNETES_SERVICE_HOST/PORT`, the user of the container's securityContext (or the
    /// image's), a read-only root and the in-cluster credentials.
    pub fn start_in_image(deployment: &Value, image: &crate::image::Image, dir: &Path) -> Self {
        let pod = Pod::new(deployment, dir);
        let argv: Vec<String> = match (pod.command.is_empty(), pod.args.is_empty()) {
            (false, _) => pod.command.iter().chain(&pod.args).cloned().collect(),
            (true, false) => strings(&image.config["Entrypoint"])
                .into_iter()
                .chain(pod.args.clone())
                .collect(),
            (true, true) => strings(&image.config["Entrypoint"])
                .into_iter()
                .chain(strings(&image.config["Cmd"]))
                .collect(),
        };
        let spec = &deployment["spec"]["template"]["spec"];
        let context = |field: &str| {
            spec["containers"][0]["securityContext"][field]
                .as_u64()
                .or(spec["securityContext"][field].as_u64())
        };
        let user = match (context("runAsUser"), context("runAsGroup")) {
            (Some(uid), gid) => format!("{uid}:{}", gid.unwrap_or(uid)),
            (None, _) => image.config["User"].as_str().unwrap_or("0").to_string(),
        };
        let mut env = pod.env.clone();
        env.push(("KUBERNETES_SERVICE_HOST".into(), pod.host.clone()));
        env.push(("KUBERNETES_SERVICE_PORT".into(), pod.port.clone()));
        let argv_ref: Vec<&str> = argv.iter().map(String::as_str).collect();
        let command = image.command(&user, &pod.token, &pod.ca, &pod.namespace, &env, &argv_ref);
        pod.spawn(command, argv)
    }

    /// Waits (up to 90 s) for the certificate at `api`, failing with the pod's log.
    pub fn wait_cert(&self, api: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Ok((200, pem)) = http_get(&format!("{api}/v1/cert.pem")) {
                return pem;
            }
            assert!(Instant::now() < deadline, "no certificate at {api}:\n{}", self.logs());
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Seals a Secret for `ns` to the controller at `api`, creates the SealedSecret and waits for the Secret
    /// to hold `value`.
    pub fn unseals(&self, api: &str, ns: &str, name: &str, value: &str) {
        let sealed = seal(
            &format!("{api}/v1/cert.pem"),
            &secret(ns, name, &[("password", value)]),
            &[],
        );
        create(plane().admin(), &sealed);
        let found = self.wait_for_secret(ns, name);
        assert_eq!(item(&found, "password"), value);
    }

    /// Waits (up to 60 s) for the Secret `ns/name`, failing with the pod's log.
    pub fn wait_for_secret(&self, ns: &str, name: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(s) = get_secret(ns, name) {
                return s;
            }
            assert!(Instant::now() < deadline, "no Secret {ns}/{name}:\n{}", self.logs());
            std::thread::sleep(Duration::from_millis(200));
        }
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
