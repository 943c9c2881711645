//! Which certificate to seal to from `keys/`: a cluster's current key, still valid, and never one the directory
//! marks retired or compromised.

use sealant_core::Certificate;
use sealant_core::keys::CertError;
use time::OffsetDateTime;

use crate::store::{KeyState, KeysDir};

/// Why `keys/` offers no certificate to seal to.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The cluster has no directory under `keys/`.
    #[error("no cluster {cluster} under {root} (add it with `sealant keys fetch --cluster {cluster}`)")]
    NoCluster {
        /// The cluster asked for.
        cluster: String,
        /// The keys directory.
        root: String,
    },
    /// The cluster has no `current` key.
    #[error("cluster {cluster} has no current key under {root}")]
    NoCurrent {
        /// The cluster.
        cluster: String,
        /// The keys directory.
        root: String,
    },
    /// The current certificate has expired (or is not valid yet).
    #[error("{path}: {cause}")]
    Invalid {
        /// The certificate file.
        path: String,
        /// Why (printed in the message).
        cause: CertError,
    },
    /// The certificate is retired or compromised.
    #[error("{fingerprint} is {state} in {root} (cluster {cluster}): seal to the cluster's current key instead")]
    Unsealable {
        /// The certificate's fingerprint.
        fingerprint: String,
        /// Retired or compromised.
        state: KeyState,
        /// The keys directory.
        root: String,
        /// The cluster it is under.
        cluster: String,
    },
}

impl KeysDir {
    /// The certificate new secrets of `cluster` are sealed to: its current key, valid at `now`.
    pub fn current_cert(&self, cluster: &str, now: OffsetDateTime) -> Result<&Certificate, TargetError> {
        let root = self.root().display().to_string();
        let keys = self.cluster(cluster).ok_or_else(|| TargetError::NoCluster {
            cluster: cluster.to_string(),
            root: root.clone(),
        })?;
        let current = keys.current().ok_or_else(|| TargetError::NoCurrent {
            cluster: cluster.to_string(),
            root,
        })?;
        current
            .cert
            .ensure_valid_at(now)
            .map_err(|cause| TargetError::Invalid {
                path: current.cert_path.display().to_string(),
                cause,
            })?;
        Ok(&current.cert)
    }

    /// Refuses a certificate this directory marks retired or compromised, wherever it came from.
    ///
    /// Why: a retired key may be dropped from the controller at any time, and a compromised one protects nothing;
    /// sealing to either would hand out a secret that cannot be trusted to stay sealed or openable.
    pub fn ensure_sealable(&self, cert: &Certificate) -> Result<(), TargetError> {
        match self.find(cert.fingerprint()) {
            Some(record) if matches!(record.state, KeyState::Retired | KeyState::Compromised) => {
                Err(TargetError::Unsealable {
                    fingerprint: record.fingerprint.clone(),
                    state: record.state,
                    root: self.root().display().to_string(),
                    cluster: record.cluster.clone(),
                })
            }
            _ => Ok(()),
        }
    }
}
