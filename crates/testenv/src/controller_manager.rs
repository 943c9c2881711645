//! kube-controller-manager of the test API server's release, started once per test process when a test asks
//! for it: the garbage collector and the Deployment, ReplicaSet, Job and CronJob controllers, so tests see the
//! cluster act (owned objects deleted, rollouts, scheduled Jobs). There is no kubelet: pods stay pending.

use std::process::Child;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use crate::process::{controller_manager_binary, free_ports, spawn};

/// The controllers started: enough for ownership, rollouts and CronJobs, nothing that needs nodes or a cloud.
const CONTROLLERS: &str =
    "garbage-collector-controller,deployment-controller,replicaset-controller,job-controller,cronjob-controller";

/// Starts kube-controller-manager against [`crate::cluster::plane`] unless it runs already (building it on first
/// use, then cached like the rest of the control plane). Panics when it cannot start: a test that asked for it
/// cannot mean anything without it.
pub fn ensure() {
    static RUNNING: OnceLock<Mutex<Child>> = OnceLock::new();
    RUNNING.get_or_init(|| Mutex::new(start().unwrap_or_else(|e| panic!("kube-controller-manager: {e}"))));
}

fn start() -> Result<Child, crate::Error> {
    let bin = controller_manager_binary()?;
    let plane = crate::cluster::plane();
    // Kept for the life of the test process: its log is where a failing test looks.
    let dir = tempfile::Builder::new()
        .prefix("sealant-controller-manager-")
        .tempdir()?
        .keep();
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(&kubeconfig, plane.kubeconfig(plane.admin()))?;
    let [port, _, _] = free_ports()?;
    let args: Vec<String> = vec![
        format!("--kubeconfig={}", kubeconfig.display()),
        format!("--controllers={CONTROLLERS}"),
        "--leader-elect=false".into(),
        "--use-service-account-credentials=false".into(),
        "--bind-address=127.0.0.1".into(),
        format!("--secure-port={port}"),
        format!("--cert-dir={}", dir.display()),
        // Quick resyncs: the tests wait for what the controllers do.
        "--concurrent-gc-syncs=5".into(),
    ];
    let log = dir.join("kube-controller-manager.log");
    let mut child = spawn(&bin.join("kube-controller-manager"), &args, &log)?;
    std::thread::sleep(Duration::from_secs(2));
    if let Ok(Some(status)) = child.try_wait() {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(20).collect();
        panic!(
            "kube-controller-manager exited ({status}):\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    Ok(child)
}
