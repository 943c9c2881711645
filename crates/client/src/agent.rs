//! The one HTTP agent: rustls on AWS-LC with the system's trust store, a deadline, and no redirects.

use std::sync::Arc;
use std::time::Duration;

use crate::{Error, Result};

/// The most a certificate (or a controller's answer about one) may be: a few kilobytes in practice.
pub const MAX_CERT_BYTES: u64 = 1024 * 1024;

/// An agent for `user_agent`: TLS through rustls on AWS-LC with the platform's roots, 30 s for a whole request,
/// statuses as answers (not errors).
///
/// Why no redirects: tokens travel in headers (GitLab's `PRIVATE-TOKEN` is not stripped on a redirect to another
/// host as `Authorization` is), and a certificate must come only from the scheme and origin asked for; an
/// `https://` URL that redirects to plain `http://` elsewhere would let anyone on that path choose the sealing key.
pub fn agent(user_agent: &str) -> ureq::Agent {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .unversioned_rustls_crypto_provider(provider)
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(user_agent)
        .build()
        .into()
}

/// GETs a certificate from an `http://` or `https://` URL: success only, no redirect, at most
/// [`MAX_CERT_BYTES`].
pub fn fetch_cert(url: &str) -> Result<Vec<u8>> {
    let unreachable = |e: ureq::Error| Error::Fetch {
        url: url.to_string(),
        source: Box::new(e),
    };
    let mut response = agent("sealant")
        .get(url)
        .header("Accept", "application/x-pem-file, */*")
        .call()
        .map_err(unreachable)?;
    let status = response.status();
    if status.is_redirection() {
        return Err(Error::Redirect {
            url: url.to_string(),
            status: status.to_string(),
        });
    }
    if !status.is_success() {
        return Err(Error::FetchStatus {
            url: url.to_string(),
            status: status.to_string(),
        });
    }
    response
        .body_mut()
        .with_config()
        .limit(MAX_CERT_BYTES)
        .read_to_vec()
        .map_err(unreachable)
}
