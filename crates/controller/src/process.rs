//! The process around the controller (and every command of the binary): no core dumps, its log output and the
//! signals that stop it.

/// Makes the process non-dumpable and its core-file limit zero, for every command (most decrypt or hold keys).
///
/// Why: a crash would otherwise write the process memory (private keys, decrypted values) to a core file, and
/// a dumpable process can be read through `/proc/<pid>/mem` or ptrace by any process of the same user. Failure
/// to set either is not fatal (e.g. a sandbox that forbids prctl): the command still works.
pub fn no_core_dumps() {
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
    let _ = rustix::process::setrlimit(
        rustix::process::Resource::Core,
        rustix::process::Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    );
}

/// Logs to stderr (stdout is the audit log's by default), at `level` (a level or a tracing filter), as `text`
/// or `json`.
pub fn init_logging(level: &str, format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(level.to_ascii_lowercase())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Logs go to stderr: stdout is the audit log's by default.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
}
