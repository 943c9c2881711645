//! `sealant serve`: the sealing page on this machine, for a browser to seal Secrets without the CLI.

use std::time::Duration;

use anyhow::{Context as _, Result};
use sealant_cli::serve::ServeArgs;
use sealant_controller::listener::Limits;
use time::OffsetDateTime;

/// Serves until Ctrl-C or SIGTERM.
pub fn run(args: ServeArgs) -> Result<()> {
    let cert = match &args.cert {
        Some(location) => {
            let cert = sealant_client::cert::load(location, OffsetDateTime::now_utc())?;
            eprintln!(
                "sealing to {location} ({}, valid until {})",
                cert.fingerprint(),
                cert.not_after().date()
            );
            Some(cert.pem().to_string())
        }
        None => None,
    };
    if !args.listen.ip().is_loopback() {
        // Why a warning and not a refusal: behind a TLS proxy this is right; over plain HTTP the page cannot seal.
        eprintln!(
            "warning: {} is not loopback: a browser gives the page WebCrypto only over HTTPS or on localhost, so put \
             a TLS proxy in front of it",
            args.listen
        );
    }
    let app = sealant_web::standalone(cert);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener.local_addr()?;
        eprintln!("serving the sealing page on http://{addr}/ (Ctrl-C to stop)");
        let (stop, stopped) = tokio::sync::watch::channel(false);
        // The controller's accept loop: a deadline for request headers and a cap on connections, which
        // axum::serve lacks (any local process can connect).
        let limits = Limits {
            header_timeout: Duration::from_secs(10),
            max_connections: 64,
        };
        let server = sealant_controller::listener::spawn(listener, app, limits, stopped);
        sealant_controller::process::shutdown_signal().await;
        let _ = stop.send(true);
        server.await.context("the server failed")
    })
}
