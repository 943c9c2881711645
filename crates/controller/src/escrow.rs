//! Key escrow: every key the controller holds, age-encrypted to the configured recipients (public keys only),
//! published in a ConfigMap the rotation job commits from and served at `GET /v1/escrow`. Only ciphertext and
//! certificates ever leave: the private key is encrypted in memory.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use sealant_core::keys::private_key_pkcs1_pem;
use sealant_repo::{Recipients, file_stem};
use tracing::{info, warn};

use crate::Config;
use crate::keys::KeyRegistry;

/// The escrow bundle as published: `<stem>.crt` and `<stem>.key.age` (armored age) per key, the same names as
/// in a repository's `keys/<cluster>/`.
pub type Bundle = Arc<RwLock<BTreeMap<String, String>>>;

/// Leader task: on every key-set change, escrow the keys not yet in the ConfigMap. Existing entries are never
/// rewritten (the same key would get a new ciphertext and every commit of it a pointless diff).
pub async fn export(
    client: Client,
    config: Arc<Config>,
    registry: KeyRegistry,
    recipients: Recipients,
    bundle: Bundle,
    audit: Arc<crate::audit::Audit>,
) {
    let api: Api<ConfigMap> = Api::namespaced(client, &config.namespace);
    let mut changes = registry.subscribe();
    loop {
        if let Err(e) = export_once(&api, &config, &registry, &recipients, &bundle, &audit).await {
            warn!(error = %e, configmap = %config.escrow_configmap, "cannot publish the key escrow; retrying on the next key change or in 60 s");
        }
        // Retry on a timer too: a transient API error must not leave a key unescrowed until the next renewal.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(60), changes.changed()).await;
    }
}

/// Why one escrow export failed.
#[derive(Debug, thiserror::Error)]
enum ExportError {
    /// The ConfigMap could not be read or written.
    #[error("escrow ConfigMap: {0}")]
    Kube(kube::Error),
    /// A key could not be encoded.
    #[error("escrow: {0}")]
    Key(sealant_core::envelope::KeyError),
    /// A key could not be encrypted to the recipients.
    #[error("escrow: {0}")]
    Encrypt(sealant_repo::EscrowError),
}

// By hand, not `#[from]`: each message prints its cause, and a source would print it a second time.
impl From<kube::Error> for ExportError {
    fn from(e: kube::Error) -> Self {
        ExportError::Kube(e)
    }
}

impl From<sealant_core::envelope::KeyError> for ExportError {
    fn from(e: sealant_core::envelope::KeyError) -> Self {
        ExportError::Key(e)
    }
}

impl From<sealant_repo::EscrowError> for ExportError {
    fn from(e: sealant_repo::EscrowError) -> Self {
        ExportError::Encrypt(e)
    }
}

async fn export_once(
    api: &Api<ConfigMap>,
    config: &Config,
    registry: &KeyRegistry,
    recipients: &Recipients,
    bundle: &Bundle,
    audit: &crate::audit::Audit,
) -> Result<(), ExportError> {
    // Why: with --audit-fail-closed, no private key is exported while the export cannot be recorded (retried
    // on the next key change or timer).
    if audit.holds_keys_back() {
        return Ok(());
    }
    let existing = api.get_opt(&config.escrow_configmap).await?;
    let mut data = existing.as_ref().and_then(|cm| cm.data.clone()).unwrap_or_default();
    let snapshot = registry.snapshot();
    let mut added = Vec::new();
    for info in &snapshot.keys {
        let stem = file_stem(&info.fingerprint);
        let name = format!("{stem}.key.age");
        if data.contains_key(&name) {
            continue;
        }
        let Some(key) = snapshot.keyring.key(&info.fingerprint) else {
            continue;
        };
        let pem = private_key_pkcs1_pem(key)?;
        let armored = recipients.encrypt(pem.as_bytes())?;
        data.insert(name, armored);
        data.insert(format!("{stem}.crt"), info.cert.pem().to_string());
        added.push(info.fingerprint.clone());
    }
    if !added.is_empty() {
        let cm = ConfigMap {
            metadata: ObjectMeta {
                name: Some(config.escrow_configmap.clone()),
                namespace: Some(config.namespace.clone()),
                resource_version: existing.as_ref().and_then(|cm| cm.metadata.resource_version.clone()),
                labels: Some([("app.kubernetes.io/part-of".to_string(), "sealant".to_string())].into()),
                ..ObjectMeta::default()
            },
            data: Some(data.clone()),
            ..ConfigMap::default()
        };
        // Why resourceVersion on replace: two leaders in a hand-over must not overwrite each other's entries.
        let result = match existing {
            Some(_) => api.replace(&config.escrow_configmap, &PostParams::default(), &cm).await,
            None => api.create(&PostParams::default(), &cm).await,
        };
        let result = result.map(|_| ());
        for fingerprint in &added {
            audit.record(
                crate::audit::Action::KeyEscrow,
                &crate::audit::Record {
                    namespace: Some(config.namespace.clone()),
                    name: Some(config.escrow_configmap.clone()),
                    outcome: if result.is_ok() { "ok" } else { "error" },
                    error: result.as_ref().err().map(ToString::to_string),
                    keys: vec![fingerprint.clone()],
                    ..crate::audit::Record::default()
                },
            );
        }
        result?;
        info!(keys = ?added, configmap = %config.escrow_configmap, recipients = recipients.len(), "keys escrowed");
    }
    if let Ok(mut published) = bundle.write() {
        *published = data;
    }
    Ok(())
}
