//! Re-encrypting existing items to another key: offline with the private keys at hand, or through each
//! cluster's live controller (`/v1/rotate`, with the one client of the controller's API).

use std::collections::{BTreeMap, BTreeSet};

use sealant_client::Controller;
use sealant_core::seal::{ResealError, reseal};
use sealant_core::types::SealedSecret;
use sealant_core::unseal::{ItemError, UnsealError, UnsealOptions, decode_blob};
use sealant_core::{Certificate, Keyring, Scope};
use sealant_repo::KeysDir;

use crate::setup::Route;

/// Why items could not be re-sealed. Names items and clusters; never a value.
#[derive(Debug, thiserror::Error)]
pub enum ResealerError {
    /// None of the private keys opens these items.
    #[error("item {}: none of the given private keys opens it", .0.join(", "))]
    NoKey(Vec<String>),
    /// The core re-seal failed (a bad ciphertext, a template, the certificate).
    #[error(transparent)]
    Reseal(#[from] ResealError),
    /// No live controller serves the key the plan seals to.
    #[error("no controller serves {0}, the key the plan seals to")]
    NotServed(String),
    /// The cluster has no controller configured.
    #[error("cluster {0} has no controller configured")]
    NoController(String),
    /// The controller did not answer.
    #[error("cannot reach the controller of {cluster}")]
    Unreachable {
        /// The cluster.
        cluster: String,
        /// Why.
        #[source]
        source: sealant_client::Error,
    },
    /// The controller answered with an error, or with something that is not a SealedSecret.
    #[error("the controller of {cluster}")]
    Controller {
        /// The cluster.
        cluster: String,
        /// Why.
        #[source]
        source: sealant_client::Error,
    },
    /// The controller cannot open the SealedSecret (409).
    #[error("the controller of {0} cannot open it (none of its keys does)")]
    Refused(String),
    /// The controller's answer lacks an item asked for.
    #[error("the controller's answer lacks item {0}")]
    Missing(String),
    /// A controller reached through a route `.sealant.yaml` chose serves another certificate than
    /// `keys/<cluster>/current`.
    #[error(
        "the controller of {cluster} seals to {served}, but keys/{cluster}/current is {current}, and the way to it comes from .sealant.yaml: pin it with --controller-namespace and --controller-name (and --context) to take a renewal from it"
    )]
    Unpinned {
        /// The cluster.
        cluster: String,
        /// What the controller serves.
        served: String,
        /// What `keys/` says.
        current: String,
    },
    /// The controller's escrow bundle is not what `keys fetch --escrow` accepts.
    #[error("the controller of {cluster}: escrow bundle")]
    Escrow {
        /// The cluster.
        cluster: String,
        /// Why.
        #[source]
        source: sealant_repo::EscrowError,
    },
    /// The controller's certificate does not parse.
    #[error("the controller of {cluster}: /v1/cert.pem: {cause}")]
    Certificate {
        /// The cluster.
        cluster: String,
        /// Why (printed in the message).
        cause: sealant_core::keys::CertError,
    },
}

/// Re-encrypts existing items to another key.
pub trait Resealer {
    /// New ciphertexts (base64, as in `encryptedData`) for `items` of `sealed`, sealed to `to`.
    fn reseal(
        &self,
        sealed: &SealedSecret,
        items: &[&str],
        to: &Certificate,
    ) -> Result<BTreeMap<String, String>, ResealerError>;

    /// The scope `item`'s current ciphertext opens under, when this re-sealer can tell (it holds the keys).
    fn scope_of(&self, _sealed: &SealedSecret, _item: &str) -> Option<Scope> {
        None
    }
}

/// Re-sealing with private keys at hand (escrowed keys opened with an age identity, or key files).
pub struct Offline<'a> {
    /// The keys that can open the current ciphertexts.
    pub keyring: &'a Keyring,
}

impl Resealer for Offline<'_> {
    fn reseal(
        &self,
        sealed: &SealedSecret,
        items: &[&str],
        to: &Certificate,
    ) -> Result<BTreeMap<String, String>, ResealerError> {
        // The one core re-seal: each item keeps the scope its ciphertext opened under, whatever the file's
        // annotations (which a repository writer controls) claim.
        let resealed =
            reseal(sealed, self.keyring, to, Some(items), UnsealOptions::default()).map_err(|e| match e {
                ResealError::Unseal(UnsealError::Items(items)) if items.iter().all(|(_, e)| *e == ItemError::NoKey) => {
                    ResealerError::NoKey(items.into_iter().map(|(i, _)| i).collect())
                }
                other => ResealerError::Reseal(other),
            })?;
        Ok(resealed.items)
    }

    fn scope_of(&self, sealed: &SealedSecret, item: &str) -> Option<Scope> {
        sealant_core::unseal::item_scope(sealed, item, self.keyring)
    }
}

/// Finds which key of `keyring` a SealedSecret without a key annotation is sealed to (its first item).
pub fn identify_key(sealed: &SealedSecret, keyring: &Keyring) -> Option<String> {
    let scope = Scope::from_annotations(sealed.metadata.annotations.as_ref());
    let (_, blob) = sealed.spec.encrypted_data.iter().next()?;
    let blob = decode_blob(blob).ok()?;
    let (_, fp) = keyring
        .open(&scope.label(sealed.namespace(), sealed.name()), &blob, None)
        .ok()?;
    Some(fp.to_string())
}

/// What a cluster's live controller serves: its sealing certificate and its escrowed keys (certificates and
/// age-encrypted private keys, checked as `keys fetch --escrow` checks them; empty without escrow).
pub struct Live {
    /// The certificate it seals to now.
    pub cert: Certificate,
    /// Its escrow bundle's keys.
    pub escrow: Vec<(Certificate, String)>,
}

/// Re-sealing through each cluster's controller (`/v1/rotate`).
pub struct ThroughControllers {
    controllers: BTreeMap<String, Controller>,
    /// What each controller serves (fingerprints), whatever its route.
    serving: BTreeMap<String, String>,
    /// Certificate and escrow of the controllers reached through routes chosen outside the repository.
    live: BTreeMap<String, Live>,
}

impl ThroughControllers {
    /// Asks each cluster's controller for its certificate and its escrow bundle.
    ///
    /// Why the bundle is read here: when the certificate is new (the controller renewed its key), the run
    /// commits it with the escrowed private keys, so `keys/` keeps every key the cluster ever sealed with and
    /// the break-glass path can open what is sealed to them.
    ///
    /// Why a route `.sealant.yaml` chose must answer with `keys/<cluster>/current`: the repository writer who
    /// picked the Service picked whose certificate answers, so its answer confirms nothing; it may only re-seal
    /// to the key the plan already targets.
    pub fn connect(routes: BTreeMap<String, Route>, keys: &KeysDir) -> Result<Self, ResealerError> {
        let mut live = BTreeMap::new();
        let mut controllers = BTreeMap::new();
        let mut serving = BTreeMap::new();
        for (cluster, route) in routes {
            let controller = route.controller;
            let pem = controller.cert_pem().map_err(|e| controller_error(&cluster, e))?;
            let cert = Certificate::from_pem(&pem).map_err(|cause| ResealerError::Certificate {
                cluster: cluster.clone(),
                cause,
            })?;
            serving.insert(cluster.clone(), cert.fingerprint().to_string());
            if !route.chosen_outside {
                let current = keys
                    .cluster(&cluster)
                    .and_then(|c| c.current())
                    .map(|r| r.fingerprint.as_str());
                if current != Some(cert.fingerprint()) {
                    return Err(ResealerError::Unpinned {
                        cluster: cluster.clone(),
                        served: cert.fingerprint().to_string(),
                        current: current.unwrap_or("missing").to_string(),
                    });
                }
                controllers.insert(cluster, controller);
                continue;
            }
            let escrow = match controller.escrow().map_err(|e| controller_error(&cluster, e))? {
                Some(bundle) => {
                    sealant_repo::escrow::bundle_keys(&bundle, &format!("{}/v1/escrow", controller.location()))
                        .map_err(|source| ResealerError::Escrow {
                            cluster: cluster.clone(),
                            source,
                        })?
                }
                None => {
                    tracing::warn!(%cluster, "the controller of {cluster} publishes no escrow bundle: new keys are committed without their escrow");
                    Vec::new()
                }
            };
            live.insert(cluster.clone(), Live { cert, escrow });
            controllers.insert(cluster, controller);
        }
        Ok(Self {
            controllers,
            serving,
            live,
        })
    }

    /// What each cluster's controller serves, for the clusters whose route was chosen outside the repository.
    pub fn live(&self) -> &BTreeMap<String, Live> {
        &self.live
    }

    /// The (cluster, fingerprint) pairs the live controllers serve through routes chosen outside the
    /// repository: certificates they confirm.
    pub fn served(&self) -> BTreeSet<(String, String)> {
        self.live
            .iter()
            .map(|(cluster, live)| (cluster.clone(), live.cert.fingerprint().to_string()))
            .collect()
    }

    /// The cluster whose controller seals to `to`.
    fn cluster_of(&self, to: &Certificate) -> Option<&String> {
        self.serving
            .iter()
            .find(|(_, fp)| fp.as_str() == to.fingerprint())
            .map(|(cluster, _)| cluster)
    }
}

impl Resealer for ThroughControllers {
    fn reseal(
        &self,
        sealed: &SealedSecret,
        items: &[&str],
        to: &Certificate,
    ) -> Result<BTreeMap<String, String>, ResealerError> {
        // The controller seals to the certificate it serves: only a plan that targets exactly that one is
        // carried out through it (the plan takes the served certificate as current, see `Planned::renew`; a
        // route from `.sealant.yaml` was checked to serve `keys/<cluster>/current` at connect).
        let cluster = self
            .cluster_of(to)
            .ok_or_else(|| ResealerError::NotServed(to.fingerprint().to_string()))?;
        let controller = self
            .controllers
            .get(cluster)
            .ok_or_else(|| ResealerError::NoController(cluster.clone()))?;
        let new = controller
            .rotate(sealed)
            .map_err(|e| controller_error(cluster, e))?
            .ok_or_else(|| ResealerError::Refused(cluster.clone()))?;
        items
            .iter()
            .map(|item| {
                new.spec
                    .encrypted_data
                    .get(*item)
                    .map(|c| ((*item).to_string(), c.clone()))
                    .ok_or_else(|| ResealerError::Missing((*item).to_string()))
            })
            .collect()
    }
}

/// A client error as the cluster's: unreachable, or a bad answer.
fn controller_error(cluster: &str, source: sealant_client::Error) -> ResealerError {
    let cluster = cluster.to_string();
    match source {
        sealant_client::Error::Unreachable { .. } => ResealerError::Unreachable { cluster, source },
        source => ResealerError::Controller { cluster, source },
    }
}

/// An error and its causes on one line (`a: b: c`), for messages that carry it as text.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}
