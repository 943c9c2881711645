//! Secret → SealedSecret, following kubeseal's transformation (spec 4.6) and adding sealant's annotations.

use std::collections::BTreeMap;

use base64::Engine as _;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use secrecy::ExposeSecret as _;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::envelope::KeyError;
use crate::keys::{Certificate, Keyring};
use crate::scope::Scope;
use crate::types::{
    KEY_FINGERPRINT_ANNOTATION, LAST_APPLIED_ANNOTATIONS, SEALED_AT_ANNOTATION, SEALED_SECRET_API_VERSION,
    SEALED_SECRET_KIND, SealedSecret, SealedSecretSpec, Secret, SecretTemplateSpec,
};
use crate::unseal::{self, ItemError, Labels, Learned, UnsealError, UnsealOptions};

/// Why a Secret cannot be sealed. The messages are kubeseal's (spec 4.13) so scripts keep matching them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// No `metadata.name`.
    #[error("missing metadata.name in input Secret")]
    MissingName,
    /// `-n` disagrees with the Secret's namespace.
    #[error("namespace mismatch: input secret is in namespace {input:?} but {flag:?} was specified")]
    NamespaceMismatch {
        /// The Secret's namespace.
        input: String,
        /// The namespace asked for.
        flag: String,
    },
    /// A strict or namespace-wide Secret without a namespace.
    #[error("secret must declare a namespace (set metadata.namespace, or pass -n NAMESPACE)")]
    NoNamespace,
    /// No items.
    #[error(
        "secret.data is empty in input Secret, assuming this is an error and aborting. To work with empty data, --allow-empty-data can be used"
    )]
    EmptyData,
    /// A name, namespace or item key Kubernetes would refuse.
    #[error("{what} {value:?} is not valid: {rule}")]
    Invalid {
        /// `metadata.name`, `metadata.namespace` or `item key`.
        what: &'static str,
        /// The offending name (names and keys are not secret; values never appear here).
        value: String,
        /// What is allowed.
        rule: &'static str,
    },
    /// The key refused an operation.
    #[error(transparent)]
    Key(#[from] KeyError),
}

const NAME_RULE: &str =
    "want lowercase letters, digits, '-' and '.', at most 253 characters, starting and ending with a letter or digit";
const NAMESPACE_RULE: &str =
    "want lowercase letters, digits and '-', at most 63 characters, starting and ending with a letter or digit";
const ITEM_RULE: &str =
    "want letters, digits, '-', '_' and '.', at most 253 characters, not starting with '..' nor '.'";

/// Checks the names that make up the sealing label and the items, as the API server would (DNS-1123 subdomain
/// for names, DNS-1123 label for namespaces, `[-._a-zA-Z0-9]+` for Secret keys).
///
/// Why before sealing: a '/' or NUL in a name or namespace makes the label `namespace/name` ambiguous (`a/b` +
/// `c` and `a` + `b/c` share one label), so a ciphertext would open under another object; and a SealedSecret the
/// API server refuses would only fail later, in the cluster.
fn check_names(
    namespace: &str,
    name: &str,
    items: impl Iterator<Item = impl AsRef<str>>,
    upstream_names: bool,
) -> Result<(), SealError> {
    if upstream_names {
        // kubeseal's rule: anything but what makes the label ambiguous ('/' or NUL); the caller warns.
        for (what, value) in [("metadata.name", name), ("metadata.namespace", namespace)] {
            if value.is_empty() && what == "metadata.name" || value.contains(['/', '\0']) {
                return Err(SealError::Invalid {
                    what,
                    value: value.to_string(),
                    rule: "no '/' or NUL: they make the strict label ambiguous",
                });
            }
        }
        return check_items(items);
    }
    let edges_ok = |s: &str| {
        s.bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && s.bytes()
                .last()
                .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    let name_ok = name.len() <= 253
        && edges_ok(name)
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if !name_ok {
        return Err(SealError::Invalid {
            what: "metadata.name",
            value: name.to_string(),
            rule: NAME_RULE,
        });
    }
    let namespace_ok = namespace.is_empty()
        || (namespace.len() <= 63
            && edges_ok(namespace)
            && namespace
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
    if !namespace_ok {
        return Err(SealError::Invalid {
            what: "metadata.namespace",
            value: namespace.to_string(),
            rule: NAMESPACE_RULE,
        });
    }
    check_items(items)
}

/// Whether `namespace`/`name` follow the API server's rules (DNS-1123), as [`SealError::Invalid`] when not; for a
/// warning where names are checked upstream's way.
pub fn name_problem(namespace: &str, name: &str) -> Option<SealError> {
    check_names(namespace, name, std::iter::empty::<&str>(), false).err()
}

fn check_items(items: impl Iterator<Item = impl AsRef<str>>) -> Result<(), SealError> {
    for item in items {
        let item = item.as_ref();
        let ok = !item.is_empty()
            && item.len() <= 253
            && item != "."
            && !item.starts_with("..")
            && item
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
        if !ok {
            return Err(SealError::Invalid {
                what: "item key",
                value: item.to_string(),
                rule: ITEM_RULE,
            });
        }
    }
    Ok(())
}

/// How to seal.
#[derive(Debug, Clone)]
pub struct SealOptions {
    /// Forced scope; `None` lets the Secret's own annotations decide (kubeseal's `--scope strict` default).
    pub scope: Option<Scope>,
    /// Namespace from `-n`: fills a missing namespace, and must match a present one.
    pub namespace: Option<String>,
    /// Namespace for a Secret that declares none, never checked against one that does (kubeseal's kubeconfig
    /// context namespace, spec 4.3). `namespace` wins when both are set.
    pub default_namespace: Option<String>,
    /// Name override (`--name`).
    pub name: Option<String>,
    /// Replace the Secret's namespace with `namespace` instead of checking that they match (`--merge-into`:
    /// the target file decides the label).
    pub replace_namespace: bool,
    /// Accept Secrets with no items.
    pub allow_empty_data: bool,
    /// Check names as kubeseal does (only '/' and NUL, which make the label ambiguous) instead of by the API
    /// server's rules: kubeseal mode, where upstream's scripts and tests seal names such as `testSecret`.
    pub upstream_names: bool,
    /// Time written into `sealant.dev/sealed-at`.
    pub now: OffsetDateTime,
}

impl Default for SealOptions {
    fn default() -> Self {
        Self {
            scope: None,
            namespace: None,
            default_namespace: None,
            name: None,
            replace_namespace: false,
            allow_empty_data: false,
            upstream_names: false,
            now: OffsetDateTime::now_utc(),
        }
    }
}

/// Seals one Secret to a certificate.
pub fn seal_secret(secret: &Secret, cert: &Certificate, opts: &SealOptions) -> Result<SealedSecret, SealError> {
    let mut meta = secret.metadata.clone();
    if let Some(name) = &opts.name {
        meta.name = Some(name.clone());
    }
    if opts.replace_namespace {
        meta.namespace.clone_from(&opts.namespace);
    }
    let name = meta
        .name
        .clone()
        .filter(|n| !n.is_empty())
        .ok_or(SealError::MissingName)?;
    let annotations = meta.annotations.get_or_insert_with(BTreeMap::new);
    if let Some(scope) = opts.scope.filter(|s| *s != Scope::Strict) {
        scope.apply_to(annotations);
    }
    let scope = Scope::from_annotations(Some(annotations));
    if scope != Scope::ClusterWide {
        let own = meta.namespace.clone().unwrap_or_default();
        match (&opts.namespace, own.is_empty()) {
            (Some(flag), false) if *flag != own => {
                return Err(SealError::NamespaceMismatch {
                    input: own,
                    flag: flag.clone(),
                });
            }
            (Some(flag), true) => meta.namespace = Some(flag.clone()),
            (None, true) => meta.namespace.clone_from(&opts.default_namespace),
            _ => {}
        }
        if meta.namespace.as_deref().unwrap_or("").is_empty() {
            return Err(SealError::NoNamespace);
        }
    }
    if secret.data.is_empty() && !opts.allow_empty_data {
        return Err(SealError::EmptyData);
    }
    let namespace = meta.namespace.clone().unwrap_or_default();
    check_names(&namespace, &name, secret.data.keys(), opts.upstream_names)?;
    let label = scope.label(&namespace, &name);
    let key = cert.public_key();
    let mut encrypted_data = BTreeMap::new();
    for (item, value) in &secret.data {
        let blob = key.seal(&label, value.expose_secret())?;
        encrypted_data.insert(item.clone(), base64::engine::general_purpose::STANDARD.encode(blob));
    }
    Ok(SealedSecret {
        kind: SEALED_SECRET_KIND.to_string(),
        api_version: SEALED_SECRET_API_VERSION.to_string(),
        metadata: outer_metadata(&name, &meta, scope, cert, opts.now),
        spec: SealedSecretSpec {
            template: Some(SecretTemplateSpec {
                metadata: Some(template_metadata(meta)),
                type_: secret.type_.clone().filter(|t| !t.is_empty()),
                immutable: secret.immutable,
                data: None,
            }),
            data: None,
            encrypted_data,
        },
        status: None,
    })
}

/// Seals many Secrets, spreading the RSA work over the machine's cores; results keep the input order.
pub fn seal_all(secrets: &[&Secret], cert: &Certificate, opts: &SealOptions) -> Vec<Result<SealedSecret, SealError>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(secrets.len())
        .max(1);
    if workers == 1 {
        return secrets.iter().map(|s| seal_secret(s, cert, opts)).collect();
    }
    let chunk = secrets.len().div_ceil(workers);
    std::thread::scope(|scope| {
        let handles: Vec<_> = secrets
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(|s| seal_secret(s, cert, opts)).collect::<Vec<_>>()))
            .collect();
        // A worker's panic is re-raised here: dropping its results would silently lose documents.
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// Seals one raw value (`--raw`), returning the base64 text that goes into `encryptedData`.
pub fn seal_raw(
    cert: &Certificate,
    scope: Scope,
    namespace: &str,
    name: &str,
    value: &[u8],
) -> Result<String, KeyError> {
    let blob = cert.public_key().seal(&scope.label(namespace, name), value)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(blob))
}

/// Why a SealedSecret could not be re-sealed. Names items, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResealError {
    /// An item (or the object) could not be opened.
    #[error(transparent)]
    Unseal(#[from] UnsealError),
    /// An item asked for is not in `encryptedData`.
    #[error("item {0} is not in encryptedData")]
    NoItem(String),
    /// The target key refused to seal.
    #[error(transparent)]
    Seal(#[from] SealError),
}

/// A SealedSecret re-sealed to another key.
#[derive(Debug)]
pub struct Resealed {
    /// The same object (metadata, template, other items untouched) with new ciphertexts and
    /// `sealant.dev/key-fingerprint` naming the new key. `sealant.dev/sealed-at` is kept: the values did not change,
    /// so their rotation clock does not restart.
    pub sealed: SealedSecret,
    /// The new ciphertexts (base64, as in `encryptedData`) of the items re-sealed.
    pub items: BTreeMap<String, String>,
    /// The scope the ciphertexts opened under (the narrowest, if items differ); the outer annotations now name it.
    pub scope: Scope,
    /// Item → fingerprint of the key that opened it before.
    pub keys_used: BTreeMap<String, String>,
    /// Things the caller should tell the user (an ignored scope annotation in the template).
    pub warnings: Vec<String>,
}

/// Re-seals `items` of a SealedSecret (all of them when `None`) to `to`, decrypting each item once.
///
/// This is the one re-seal operation: `/v1/rotate`, `sealant reseal`, `sealant rotate` and kubeseal's
/// `--re-encrypt` all come here. Why each item keeps **the scope its ciphertext opened under**: the scope is a
/// property of the ciphertext; annotations (outer or in the template) are written by whoever sends the object,
/// so letting them choose the new scope would let a user widen a victim's strict secret to cluster-wide and
/// unseal it in their own namespace. A scope annotation in the template is ignored, with a warning.
pub fn reseal(
    ss: &SealedSecret,
    keyring: &Keyring,
    to: &Certificate,
    items: Option<&[&str]>,
    opts: UnsealOptions,
) -> Result<Resealed, ResealError> {
    if ss.spec.data.is_some() {
        return reseal_legacy(ss, keyring, to, opts);
    }
    unseal::check_size(ss)?;
    let annotated = Scope::from_annotations(ss.metadata.annotations.as_ref());
    let mut labels = Labels::new(annotated, ss.namespace(), ss.name());
    let mut learned = Learned::new(ss.annotation(crate::types::KEY_FINGERPRINT_ANNOTATION));
    let wanted: Vec<&str> = match items {
        Some(items) => items.to_vec(),
        None => ss.spec.encrypted_data.keys().map(String::as_str).collect(),
    };
    let mut out = Resealed {
        sealed: ss.clone(),
        items: BTreeMap::new(),
        scope: annotated,
        keys_used: BTreeMap::new(),
        warnings: Vec::new(),
    };
    let mut narrowest: Option<Scope> = None;
    for item in wanted {
        let text = ss
            .spec
            .encrypted_data
            .get(item)
            .ok_or_else(|| ResealError::NoItem(item.to_string()))?;
        let fail = |e: ItemError| ResealError::Unseal(UnsealError::Items(vec![(item.to_string(), e)]));
        let blob = unseal::decode_blob(text).map_err(|e| fail(ItemError::Base64(e)))?;
        let (plain, fingerprint, scope) = learned
            .open(&mut labels, keyring, &blob)
            .map_err(|_| fail(ItemError::NoKey))?;
        let new = seal_raw(to, scope, ss.namespace(), ss.name(), &plain).map_err(|e| ResealError::Seal(e.into()))?;
        out.keys_used.insert(item.to_string(), fingerprint);
        out.sealed.spec.encrypted_data.insert(item.to_string(), new.clone());
        out.items.insert(item.to_string(), new);
        narrowest = Some(narrowest.map_or(scope, |s| s.min(scope)));
    }
    out.scope = narrowest.unwrap_or(annotated);
    let template_scope = ss
        .spec
        .template
        .as_ref()
        .and_then(|t| t.metadata.as_ref())
        .map(|m| Scope::from_annotations(m.annotations.as_ref()));
    if let Some(claimed) = template_scope.filter(|s| *s != out.scope && *s != Scope::Strict) {
        out.warnings.push(format!(
            "spec.template.metadata.annotations name the scope {claimed}; ignored: the ciphertext is {}",
            out.scope
        ));
    }
    out.sealed.status = None;
    let annotations = out.sealed.metadata.annotations.get_or_insert_with(BTreeMap::new);
    out.scope.apply_to(annotations);
    annotations.insert(
        crate::types::KEY_FINGERPRINT_ANNOTATION.to_string(),
        to.fingerprint().to_string(),
    );
    Ok(out)
}

/// A legacy `spec.data` object becomes an `encryptedData` one (as upstream's `/v1/rotate` does), sealed under the
/// scope its ciphertext opened with, whatever the decrypted Secret's own annotations say.
fn reseal_legacy(
    ss: &SealedSecret,
    keyring: &Keyring,
    to: &Certificate,
    opts: UnsealOptions,
) -> Result<Resealed, ResealError> {
    let unsealed = unseal::unseal(ss, keyring, opts)?;
    let mut secret = unsealed.secret;
    secret.metadata.owner_references = None;
    unsealed
        .scope
        .apply_to(secret.metadata.annotations.get_or_insert_with(BTreeMap::new));
    let options = SealOptions {
        scope: Some(unsealed.scope),
        allow_empty_data: true,
        ..SealOptions::default()
    };
    let mut sealed = seal_secret(&secret, to, &options)?;
    let mut annotations = ss.metadata.annotations.clone().unwrap_or_default();
    annotations.extend(sealed.metadata.annotations.take().unwrap_or_default());
    unsealed.scope.apply_to(&mut annotations);
    sealed.metadata.annotations = Some(annotations);
    Ok(Resealed {
        items: sealed.spec.encrypted_data.clone(),
        sealed,
        scope: unsealed.scope,
        keys_used: unsealed.keys_used,
        warnings: Vec::new(),
    })
}

/// Annotations sealant adds so age and key are readable offline.
pub fn sealant_annotations(cert: &Certificate, now: OffsetDateTime) -> [(String, String); 2] {
    let at = now
        .replace_nanosecond(0)
        .unwrap_or(now)
        .format(&Rfc3339)
        .unwrap_or_default();
    [
        (SEALED_AT_ANNOTATION.to_string(), at),
        (KEY_FINGERPRINT_ANNOTATION.to_string(), cert.fingerprint().to_string()),
    ]
}

fn outer_metadata(name: &str, meta: &ObjectMeta, scope: Scope, cert: &Certificate, now: OffsetDateTime) -> ObjectMeta {
    let mut annotations: BTreeMap<String, String> = sealant_annotations(cert, now).into_iter().collect();
    for (key, value) in meta.annotations.iter().flatten() {
        if is_policy_annotation(key) {
            annotations.insert(key.clone(), value.clone());
        }
    }
    scope.apply_to(&mut annotations);
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: meta.namespace.clone().filter(|n| !n.is_empty()),
        annotations: Some(annotations),
        ..ObjectMeta::default()
    }
}

/// Instructions to sealant written on the input Secret (`sealant.dev/generate.<item>`, `sealant.dev/rotate-every`,
/// `sealant.dev/rollout-restart`): they move to the SealedSecret, where rotate, lint and the controller read them.
fn is_policy_annotation(key: &str) -> bool {
    key.starts_with("sealant.dev/generate.")
        || key == "sealant.dev/rotate-every"
        || key == "sealant.dev/rollout-restart"
}

/// The input's metadata minus what the server owns, the owner references, and the last-applied
/// annotations (they can hold the plaintext, upstream issue #227).
fn template_metadata(mut meta: ObjectMeta) -> ObjectMeta {
    meta.uid = None;
    meta.resource_version = None;
    meta.generation = None;
    meta.creation_timestamp = None;
    meta.deletion_timestamp = None;
    meta.deletion_grace_period_seconds = None;
    meta.self_link = None;
    meta.owner_references = None;
    if let Some(a) = meta.annotations.as_mut() {
        for key in LAST_APPLIED_ANNOTATIONS {
            a.remove(key);
        }
        a.retain(|key, _| !is_policy_annotation(key));
    }
    if meta.annotations.as_ref().is_some_and(BTreeMap::is_empty) {
        meta.annotations = None;
    }
    meta
}
