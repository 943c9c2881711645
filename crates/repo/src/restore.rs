//! Controller key Secrets recreated from `keys/<cluster>/*.key.age`, after a cluster is lost or rebuilt: each
//! named after its fingerprint, so a second restore finds the first and leaves it alone.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret as K8sSecret;
use sealant_core::Certificate;
use sealant_core::keys::private_key_pkcs1_pem;
use sealant_core::keysecret::{self, Naming};
use zeroize::Zeroizing;

use crate::escrow::{EscrowError, Identities, open_escrowed};
use crate::store::KeyRecord;

/// Why no key Secret could be recreated. Names files and fingerprints, never key material.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// An escrow file cannot be opened, or holds the wrong key.
    #[error(transparent)]
    Escrow(#[from] EscrowError),
    /// An opened key cannot be written as PEM.
    #[error(transparent)]
    Key(#[from] sealant_core::envelope::KeyError),
    /// Nothing was chosen that has an escrow file.
    #[error("no escrowed key to restore")]
    Nothing,
}

/// One controller key Secret, recreated from its escrow file.
pub struct RestoredKey {
    /// The Secret's name, derived from the fingerprint.
    pub name: String,
    /// The certificate's fingerprint.
    pub fingerprint: String,
    /// The certificate.
    pub cert: Certificate,
    /// The private key, PKCS#1 PEM, wiped when dropped.
    pub key_pem: Zeroizing<String>,
}

impl RestoredKey {
    /// The key Secret as YAML (for `-w` or a pipe), in the controller's namespace.
    pub fn yaml(&self, namespace: &str) -> Zeroizing<String> {
        keysecret::yaml(&self.cert, &self.key_pem, namespace, Naming::Name(&self.name))
    }

    /// The key Secret to create in the cluster, annotated as restored from escrow.
    pub fn object(&self, namespace: &str) -> K8sSecret {
        keysecret::object(
            &self.cert,
            &self.key_pem,
            namespace,
            Naming::Name(&self.name),
            BTreeMap::new(),
            [("sealant.dev/restored-from".to_string(), "escrow".to_string())].into(),
        )
    }
}

/// Opens the escrow files of `chosen` (see [`crate::escrow::restorable`]) with `identities`. Every file is opened
/// before anything is returned: one bad file stops the restore, whole.
pub fn restore<'r>(
    chosen: impl IntoIterator<Item = &'r KeyRecord>,
    identities: &Identities,
) -> Result<Vec<RestoredKey>, RestoreError> {
    let opened = open_escrowed(chosen, identities, false)?;
    let mut restored = Vec::new();
    for (record, key) in opened.keys {
        restored.push(RestoredKey {
            name: keysecret::restored_name(&record.fingerprint),
            fingerprint: record.fingerprint.clone(),
            cert: record.cert.clone(),
            key_pem: private_key_pkcs1_pem(&key)?,
        });
    }
    if restored.is_empty() {
        return Err(RestoreError::Nothing);
    }
    Ok(restored)
}
