//! The control plane's processes: the Go build that provides them, starting them under a watchdog, stopping
//! them, their ports and the end of their logs.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Error;

/// TERM (the watchdog passes it on), up to 20 s, then KILL.
pub(crate) fn stop(child: &mut Child) {
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let deadline = Instant::now() + Duration::from_secs(20);
    while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Where the binaries are: `tests/control-plane/build.sh` builds them on first use (minutes) and prints the
/// cached directory afterwards (instantly).
pub fn binaries() -> Result<PathBuf, Error> {
    build(None, &["kube-apiserver", "etcd"])
}

/// The directory of kube-controller-manager of the same release (`build.sh controller-manager`).
pub fn controller_manager_binary() -> Result<PathBuf, Error> {
    build(Some("controller-manager"), &["kube-controller-manager"])
}

fn build(what: Option<&str>, expect: &[&str]) -> Result<PathBuf, Error> {
    let script = crate::repo_root().join("tests/control-plane/build.sh");
    let output = Command::new("bash")
        .arg(&script)
        .args(what)
        .stderr(Stdio::piped())
        .output()?;
    let fail = |message: String| Error::Build {
        script: script.display().to_string(),
        message,
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last: Vec<&str> = stderr.lines().rev().take(20).collect();
        return Err(fail(last.into_iter().rev().collect::<Vec<_>>().join("\n")));
    }
    let dir = String::from_utf8_lossy(&output.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_string();
    let dir = PathBuf::from(dir);
    if expect.iter().any(|b| !dir.join(b).is_file()) {
        return Err(fail(format!("no binaries in {}", dir.display())));
    }
    Ok(dir)
}

/// Starts `binary` under a watchdog shell that kills it when this test process goes away, so a crashed or
/// killed test never leaves a control plane running.
pub(crate) fn spawn(binary: &Path, args: &[String], log: &Path) -> Result<Child, Error> {
    let log = std::fs::File::create(log)?;
    let watchdog = r#"parent=$1; shift
"$@" & child=$!
stop() {
  kill -TERM "$child" 2>/dev/null
  for _ in $(seq 40); do kill -0 "$child" 2>/dev/null || exit 0; sleep 0.25; done
  kill -KILL "$child" 2>/dev/null; exit 0
}
trap stop TERM INT
while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 0.5; done
stop"#;
    Ok(Command::new("bash")
        .arg("-c")
        .arg(watchdog)
        .arg("watchdog")
        .arg(std::process::id().to_string())
        .arg(binary)
        .args(args)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()?)
}

pub(crate) fn free_ports() -> Result<[u16; 3], Error> {
    // Hold all three listeners at once so the ports differ; the small race after closing is handled by the
    // retry in `start`.
    let listeners = [
        TcpListener::bind("127.0.0.1:0")?,
        TcpListener::bind("127.0.0.1:0")?,
        TcpListener::bind("127.0.0.1:0")?,
    ];
    let mut ports = [0u16; 3];
    for (port, l) in ports.iter_mut().zip(&listeners) {
        *port = l.local_addr()?.port();
    }
    Ok(ports)
}

pub(crate) fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().rev().take(30).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join("\n")
}
