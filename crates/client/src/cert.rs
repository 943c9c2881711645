//! A sealing certificate from where the user says it is: a file, or an `http://`, `https://` or `file://` URL
//! (the controller's `/v1/cert.pem`).

use std::path::Path;

use sealant_core::Certificate;
use time::OffsetDateTime;

use crate::{Error, Result};

/// Largest certificate file read: a certificate is a few kilobytes.
const MAX_CERT_FILE_BYTES: u64 = 1024 * 1024;

/// The bytes at `location`. Files are bounded like a fetched answer: a FIFO or a device must not hang the
/// command or fill its memory.
pub fn read(location: &str) -> Result<Vec<u8>> {
    let scheme = location.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    let file = |path: &str| {
        sealant_repo::files::read_bounded(Path::new(path), MAX_CERT_FILE_BYTES).map_err(|cause| Error::CertFile {
            location: location.to_string(),
            cause,
        })
    };
    match scheme.as_deref() {
        None => file(location),
        Some("file") => file(&location["file://".len()..]),
        Some("http" | "https") => crate::fetch_cert(location),
        Some(other) => Err(Error::Scheme {
            location: location.to_string(),
            scheme: other.to_string(),
        }),
    }
}

/// The certificate at `location`, valid at `now`.
pub fn load(location: &str, now: OffsetDateTime) -> Result<Certificate> {
    let bad = |cause| Error::Cert {
        location: location.to_string(),
        cause,
    };
    let cert = Certificate::from_pem(&read(location)?).map_err(bad)?;
    cert.ensure_valid_at(now).map_err(bad)?;
    Ok(cert)
}

/// A cluster's sealing certificate, valid at `now`, with where it came from (for messages): from `location` (a
/// file or URL) when given, else from the controller `namespace/name` through the API server's service proxy
/// (of the cluster `access` names), as `kubeseal --fetch-cert` does.
pub fn fetch(
    access: &crate::cluster::Access,
    location: Option<&str>,
    namespace: &str,
    name: &str,
    now: OffsetDateTime,
) -> Result<(Certificate, String)> {
    if let Some(location) = location {
        return Ok((load(location, now)?, location.to_string()));
    }
    let origin = format!(
        "the controller {namespace}/{name} through the API server ({})",
        access.describe()
    );
    let pem = crate::Controller::through_proxy(access, namespace, name)
        .and_then(|c| c.cert_pem())
        .map_err(|e| Error::ControllerCert {
            origin: origin.clone(),
            source: Box::new(e),
        })?;
    let bad = |cause| Error::Cert {
        location: origin.clone(),
        cause,
    };
    let cert = Certificate::from_pem(&pem).map_err(bad)?;
    cert.ensure_valid_at(now).map_err(bad)?;
    Ok((cert, origin))
}
