//! `sealant serve`: its flags.

use std::net::SocketAddr;

use clap::Args;

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
