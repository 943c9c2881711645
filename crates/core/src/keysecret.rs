//! The controller's key Secret, the one place its format is built and read: a `kubernetes.io/tls` Secret with
//! the certificate in `tls.crt` and the PKCS#1 private key in `tls.key`, labelled
//! `sealedsecrets.bitnami.com/sealed-secrets-key: active` — what upstream's controller writes and selects.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::Engine as _;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret as K8sSecret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use zeroize::Zeroizing;

use crate::envelope::PrivateKey;
use crate::keys::{self, CertError, Certificate, PrivateKeyError};
use crate::manifest::{Located, Object};
use secrecy::ExposeSecret as _;

/// The label upstream's controller selects its key Secrets by.
pub const LABEL: &str = "sealedsecrets.bitnami.com/sealed-secrets-key";
/// The label's value on a key in use.
pub const ACTIVE: &str = "active";
/// The Secret type.
pub const TYPE: &str = "kubernetes.io/tls";
/// The item holding the certificate (PEM).
pub const CERT_ITEM: &str = "tls.crt";
/// The item holding the private key (PKCS#1 PEM).
pub const KEY_ITEM: &str = "tls.key";
/// Upstream's `generateName` of new key Secrets (`--key-prefix`).
pub const DEFAULT_PREFIX: &str = "sealed-secrets-key";

/// How the Secret is named.
#[derive(Debug, Clone, Copy)]
pub enum Naming<'a> {
    /// A fixed name.
    Name(&'a str),
    /// A prefix the API server completes (`generateName`).
    Prefix(&'a str),
}

/// Why a key Secret cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeySecretError {
    /// It has no `data`, or lacks an item.
    #[error("no {0}")]
    Missing(&'static str),
    /// `tls.key` holds no usable key.
    #[error("tls.key: {0}")]
    Key(PrivateKeyError),
    /// `tls.crt` holds no usable certificate.
    #[error("tls.crt: {0}")]
    Cert(CertError),
    /// The certificate is not the private key's.
    #[error("tls.crt does not match tls.key")]
    Mismatch,
    /// A Secret among key Secrets lacks an item.
    #[error("{0}: not a key Secret (needs tls.crt and tls.key)")]
    NotAKeySecret(String),
}

/// The key Secret as an API object, with `labels` added to the key label and `annotations` if any. Why the key
/// bytes are copied into the object: the API client needs owned bytes to serialise; the copy lives only until the
/// request is sent.
pub fn object(
    cert: &Certificate,
    key_pem: &str,
    namespace: &str,
    naming: Naming<'_>,
    mut labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
) -> K8sSecret {
    labels.insert(LABEL.to_string(), ACTIVE.to_string());
    let (name, generate_name) = match naming {
        Naming::Name(name) => (Some(name.to_string()), None),
        Naming::Prefix(prefix) => (None, Some(prefix.to_string())),
    };
    K8sSecret {
        metadata: ObjectMeta {
            name,
            generate_name,
            namespace: Some(namespace.to_string()),
            labels: Some(labels),
            annotations: (!annotations.is_empty()).then_some(annotations),
            ..ObjectMeta::default()
        },
        type_: Some(TYPE.into()),
        data: Some(BTreeMap::from([
            (CERT_ITEM.to_string(), ByteString(cert.pem().as_bytes().to_vec())),
            (KEY_ITEM.to_string(), ByteString(key_pem.as_bytes().to_vec())),
        ])),
        ..K8sSecret::default()
    }
}

/// The key Secret as YAML for a file or `kubectl apply`, in memory that is wiped when dropped.
pub fn yaml(cert: &Certificate, key_pem: &str, namespace: &str, naming: Naming<'_>) -> Zeroizing<String> {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let naming = match naming {
        Naming::Name(name) => format!("name: {name}"),
        Naming::Prefix(prefix) => format!("generateName: {prefix}"),
    };
    let mut out = Zeroizing::new(String::new());
    let _ = write!(
        out,
        "apiVersion: v1\nkind: Secret\ntype: {TYPE}\nmetadata:\n  {naming}\n  namespace: {namespace}\n  labels:\n    {LABEL}: {ACTIVE}\ndata:\n  {CERT_ITEM}: {}\n  {KEY_ITEM}: {}\n",
        b64(cert.pem()),
        Zeroizing::new(b64(key_pem)).as_str(),
    );
    out
}

/// The private key and certificate a key Secret holds, checked to belong together.
pub fn read(secret: &K8sSecret) -> Result<(PrivateKey, Certificate), KeySecretError> {
    let data = secret.data.as_ref().ok_or(KeySecretError::Missing("data"))?;
    let key_pem = data.get(KEY_ITEM).ok_or(KeySecretError::Missing(KEY_ITEM))?;
    let cert_pem = data.get(CERT_ITEM).ok_or(KeySecretError::Missing(CERT_ITEM))?;
    read_items(&cert_pem.0, &key_pem.0)
}

/// The private key and certificate of a key Secret's two items (PEM), checked to belong together.
///
/// Why the check: a key that does not open what its certificate sealed (an escrow file, a restored Secret) is
/// worse than none — it looks like a backup and is not one.
pub fn read_items(cert_pem: &[u8], key_pem: &[u8]) -> Result<(PrivateKey, Certificate), KeySecretError> {
    let key = keys::private_keys_from_pem(key_pem)
        .map_err(KeySecretError::Key)?
        .into_iter()
        .next()
        .ok_or(KeySecretError::Key(PrivateKeyError::NoPem))?;
    let cert = Certificate::from_pem(cert_pem).map_err(KeySecretError::Cert)?;
    if key.public_key().fingerprint().ok().as_deref() != Some(cert.fingerprint()) {
        return Err(KeySecretError::Mismatch);
    }
    Ok((key, cert))
}

/// A key Secret's two items as found (a manifest, the cluster), before they are checked.
pub struct KeyPair {
    /// Where it came from, for messages.
    pub origin: String,
    /// `tls.crt`.
    pub cert_pem: Vec<u8>,
    /// `tls.key`, wiped when dropped.
    pub key_pem: Zeroizing<Vec<u8>>,
}

impl KeyPair {
    /// The private key and certificate, checked to belong together (see [`read_items`]).
    pub fn read(&self) -> Result<(PrivateKey, Certificate), KeySecretError> {
        read_items(&self.cert_pem, &self.key_pem)
    }
}

/// The key Secrets of a manifest (`kubectl get secret -l <LABEL> -o yaml`); every Secret in it must be one.
/// `origin` names the manifest in messages.
pub fn pairs_in_manifest(objects: &[Located], origin: &str) -> Result<Vec<KeyPair>, KeySecretError> {
    let mut pairs = Vec::new();
    for located in objects {
        let Object::Secret(secret) = &located.object else {
            continue;
        };
        let origin = format!(
            "{origin}: document {} ({})",
            located.document,
            secret.metadata.name.as_deref().unwrap_or("?")
        );
        let (Some(cert), Some(key)) = (secret.data.get(CERT_ITEM), secret.data.get(KEY_ITEM)) else {
            return Err(KeySecretError::NotAKeySecret(origin));
        };
        pairs.push(KeyPair {
            origin,
            cert_pem: cert.expose_secret().to_vec(),
            key_pem: Zeroizing::new(key.expose_secret().to_vec()),
        });
    }
    Ok(pairs)
}

/// The name a restored key Secret gets: stable per key, so a second restore finds the first one's Secrets
/// instead of duplicating them.
pub fn restored_name(fingerprint: &str) -> String {
    let digest = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(fingerprint.trim_start_matches("SHA256:"))
        .unwrap_or_default();
    let hex: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
    format!("{DEFAULT_PREFIX}-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_object_and_the_yaml_are_one_format_that_reads_back() {
        let now = time::OffsetDateTime::now_utc();
        let (key, cert) = keys::generate_key_and_cert(2048, now, keys::DEFAULT_CERT_VALIDITY).unwrap();
        let key_pem = keys::private_key_pkcs1_pem(&key).unwrap();
        let object = object(
            &cert,
            &key_pem,
            "kube-system",
            Naming::Prefix(DEFAULT_PREFIX),
            BTreeMap::new(),
            BTreeMap::new(),
        );
        let (read_key, read_cert) = read(&object).unwrap();
        assert_eq!(read_cert.fingerprint(), cert.fingerprint());
        assert_eq!(read_key.public_key().fingerprint().unwrap(), cert.fingerprint());
        assert_eq!(object.metadata.labels.unwrap()[LABEL], ACTIVE);
        // The YAML is what `load_private_keys` reads as a key Secret.
        let text = yaml(&cert, &key_pem, "kube-system", Naming::Name("k"));
        let keys = keys::load_private_keys(text.as_bytes()).unwrap();
        assert_eq!(keys[0].public_key().fingerprint().unwrap(), cert.fingerprint());
    }

    #[test]
    fn a_certificate_of_another_key_is_refused() {
        let now = time::OffsetDateTime::now_utc();
        let (key, _) = keys::generate_key_and_cert(2048, now, keys::DEFAULT_CERT_VALIDITY).unwrap();
        let (_, other) = keys::generate_key_and_cert(2048, now, keys::DEFAULT_CERT_VALIDITY).unwrap();
        let key_pem = keys::private_key_pkcs1_pem(&key).unwrap();
        let object = object(
            &other,
            &key_pem,
            "ns",
            Naming::Name("k"),
            BTreeMap::new(),
            BTreeMap::new(),
        );
        assert!(matches!(read(&object), Err(KeySecretError::Mismatch)));
    }
}
