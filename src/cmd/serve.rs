//! `sealant serve`: the sealing page on this machine, for a browser to seal Secrets without the CLI.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::Args;
use sealant_controller::listener::Limits;
use time::OffsetDateTime;

/// Serve the sealing page: it seals in the browser, to the certificate given here (or to one pasted into
/// it), and sends no value anywhere.
///
/// The page is the one the controller serves at `/` of its API port. Browsers give WebCrypto only to secure
/// contexts: open it on localhost (the default address), or behind HTTPS.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sealant serve --cert keys/prod/current.crt        # then open http://127.0.0.1:8080/
  sealant serve --cert https://sealed-secrets.example.org/v1/cert.pem --listen 127.0.0.1:9000")]
pub struct ServeArgs {
    /// Certificate the page offers (at `v1/cert.pem`): a PEM file, or an http(s):// or file:// URL, read once at
    /// start. Without it the page asks for one to be pasted.
    #[arg(long, env = "SEALANT_CERT", value_name = "FILE|URL")]
    pub cert: Option<String>,
    /// Address to listen on. Port 0 picks a free one; the address is printed.
    #[arg(
        long,
        env = "SEALANT_LISTEN",
        value_name = "ADDR:PORT",
        default_value = "127.0.0.1:8080"
    )]
    pub listen: SocketAddr,
}

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
