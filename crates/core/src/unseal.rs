//! SealedSecret → Secret, exactly as the controller produces it (spec 2.5), for offline recovery and checks.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use secrecy::ExposeSecret as _;

use crate::keys::Keyring;
use crate::manifest::{self, Object};
use crate::scope::Scope;
use crate::types::{
    KEY_FINGERPRINT_ANNOTATION, SEALED_SECRET_API_VERSION, SEALED_SECRET_KIND, SealedSecret, Secret, secret_value,
};

/// Template annotation that asks for no ownerReference on the produced Secret.
pub const SKIP_OWNER_REFERENCES_ANNOTATION: &str = "sealedsecrets.bitnami.com/skip-set-owner-references";

/// Why one item failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemError {
    /// The stored text is not base64.
    Base64(String),
    /// No key opened it (wrong key, wrong name/namespace/scope, or tampered).
    NoKey,
    /// `template.data` could not be rendered.
    Template(String),
}

impl fmt::Display for ItemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ItemError::Base64(e) => f.write_str(e),
            ItemError::NoKey => f.write_str("no key could decrypt secret"),
            ItemError::Template(e) => write!(f, "template: {e}"),
        }
    }
}

/// Why a SealedSecret cannot be unsealed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnsealError {
    /// Some items failed; grouped like upstream: `no key could decrypt secret (a, b)`.
    #[error("{}", group(.0))]
    Items(Vec<(String, ItemError)>),
    /// Legacy `spec.data` while the caller refuses it.
    #[error("using deprecated 'data' field, use 'encryptedData' or flip the feature flag")]
    LegacyRefused,
    /// Both `spec.data` and `encryptedData`.
    #[error("cannot use the field 'encryptedData' and the deprecated field 'data' at the same time")]
    LegacyAndItems,
    /// The legacy payload decrypted but is not a Secret.
    #[error("deprecated 'data' field does not hold a Secret")]
    LegacyNotASecret,
    /// The object is bigger than any Secret can be (too many items, too much template source or data); refused
    /// before any decryption where the size is known up front.
    #[error("{0}")]
    TooLarge(String),
}

/// The most items (`encryptedData` and `template.data` together) one SealedSecret may have.
///
/// Why a cap: every item costs RSA private-key operations (one per label tried and key held), so an object
/// with many bogus items would make anyone who may create SealedSecrets a cheap source of CPU load.
pub const MAX_ITEMS: usize = 1024;

fn group(errors: &[(String, ItemError)]) -> String {
    let mut by_text: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (item, e) in errors {
        by_text.entry(e.to_string()).or_default().push(item);
    }
    by_text
        .iter()
        .map(|(text, items)| format!("{text} ({})", items.join(", ")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// How to unseal.
#[derive(Debug, Clone, Copy)]
pub struct UnsealOptions {
    /// Open legacy `spec.data` objects (the controller's default; kubeseal refuses them).
    pub accept_legacy_data: bool,
    /// Stop at the first item that no key opens, instead of trying every item to list them all. The HTTP API
    /// sets it: a caller's bogus items then cost at most one item's worth of RSA work.
    pub stop_at_first_error: bool,
}

impl Default for UnsealOptions {
    fn default() -> Self {
        Self {
            accept_legacy_data: true,
            stop_at_first_error: false,
        }
    }
}

/// Refuses, before any decryption, an object no Secret could come from: too many items or too much template.
pub fn check_size(ss: &SealedSecret) -> Result<(), UnsealError> {
    let templates = ss.spec.template.as_ref().and_then(|t| t.data.as_ref());
    let items = ss.spec.encrypted_data.len() + templates.map_or(0, BTreeMap::len);
    if items > MAX_ITEMS {
        return Err(UnsealError::TooLarge(format!(
            "SealedSecret has {items} items, more than the {MAX_ITEMS} allowed"
        )));
    }
    let source: usize = templates.into_iter().flatten().map(|(k, v)| k.len() + v.len()).sum();
    if source > crate::template::MAX_TEMPLATE_SOURCE_BYTES {
        return Err(UnsealError::TooLarge(format!(
            "spec.template.data holds {source} bytes of templates, more than the {} allowed",
            crate::template::MAX_TEMPLATE_SOURCE_BYTES
        )));
    }
    Ok(())
}

/// The result of unsealing: the Secret, and which key opened each item.
#[derive(Debug)]
pub struct Unsealed {
    /// The Secret the controller would write.
    pub secret: Secret,
    /// Item → fingerprint of the key that opened it.
    pub keys_used: BTreeMap<String, String>,
    /// The scope the ciphertext was sealed for (the narrowest, if items differ); the annotated one when there
    /// is no item to tell.
    pub scope: Scope,
}

/// Unseals with every key of `keyring`, the one named by `sealant.dev/key-fingerprint` first.
///
/// The scope is a property of the ciphertext, not of the annotations: each item is opened with the label of
/// the scope the outer annotations name first, then with the other scopes' labels (narrowest first). Upstream
/// trusts the annotation; here editing it can neither widen nor break anything, and [`Unsealed::scope`] reports
/// the scope the ciphertext really has, so a re-seal (`/v1/rotate`) keeps it instead of taking one from
/// attacker-editable metadata.
pub fn unseal(ss: &SealedSecret, keyring: &Keyring, opts: UnsealOptions) -> Result<Unsealed, UnsealError> {
    let hint = ss.annotation(KEY_FINGERPRINT_ANNOTATION);
    let annotated = Scope::from_annotations(ss.metadata.annotations.as_ref());
    let mut labels = Labels::new(annotated, ss.namespace(), ss.name());
    if let Some(legacy) = &ss.spec.data {
        return unseal_legacy(ss, legacy, &labels, keyring, hint, opts);
    }
    check_size(ss)?;
    let template = ss.spec.template.clone().unwrap_or_default();
    let mut secret = Secret {
        metadata: template.metadata.unwrap_or_default(),
        type_: template.type_,
        immutable: template.immutable,
        data: BTreeMap::new(),
    };
    let mut errors = Vec::new();
    let mut keys_used = BTreeMap::new();
    let mut scope: Option<Scope> = None;
    let mut learned = Learned::new(hint);
    for (item, text) in &ss.spec.encrypted_data {
        let blob = match decode_blob(text) {
            Ok(b) => b,
            Err(e) => {
                errors.push((item.clone(), ItemError::Base64(e)));
                continue;
            }
        };
        match learned.open(&mut labels, keyring, &blob) {
            Ok((plain, fingerprint, opened_with)) => {
                keys_used.insert(item.clone(), fingerprint);
                secret.data.insert(item.clone(), secret_value(plain.to_vec()));
                // Why the narrowest: re-sealing everything to the narrowest scope seen never widens access.
                scope = Some(scope.map_or(opened_with, |s| s.min(opened_with)));
            }
            Err(_) => {
                errors.push((item.clone(), ItemError::NoKey));
                if opts.stop_at_first_error {
                    break;
                }
            }
        }
    }
    // Templates render only when every item decrypted, as upstream does (a partial Secret is never produced).
    // Their output shares one budget with the decrypted items: together they must fit in a Secret.
    if let Some(templates) = template.data.as_ref().filter(|_| errors.is_empty()) {
        let decrypted: usize = secret.data.values().map(|v| v.expose_secret().len()).sum();
        let mut budget = crate::template::MAX_SECRET_BYTES.saturating_sub(decrypted);
        for (item, tmpl) in templates {
            match crate::template::render(item, tmpl, &secret.data, &mut budget) {
                Ok(out) => {
                    secret.data.insert(item.clone(), out);
                }
                Err(e) => {
                    errors.push((item.clone(), ItemError::Template(e.to_string())));
                    break;
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(UnsealError::Items(errors));
    }
    finish(ss, &mut secret.metadata, template_skips_owner(ss));
    Ok(Unsealed {
        secret,
        keys_used,
        scope: scope.unwrap_or(annotated),
    })
}

/// The scope one item's ciphertext opens under with `keyring`; `None` when no key opens it.
///
/// Why callers ask: a new value for an existing item must keep the scope of the old ciphertext, not whatever the
/// (writer-editable) annotations now claim.
pub fn item_scope(ss: &SealedSecret, item: &str, keyring: &Keyring) -> Option<Scope> {
    let blob = decode_blob(ss.spec.encrypted_data.get(item)?).ok()?;
    let annotated = Scope::from_annotations(ss.metadata.annotations.as_ref());
    let labels = Labels::new(annotated, ss.namespace(), ss.name());
    let hint = ss.annotation(KEY_FINGERPRINT_ANNOTATION);
    labels.open(keyring, &blob, hint).ok().map(|(_, _, scope)| scope)
}

/// The OAEP labels to try for one object: the annotated scope first, then the others, narrowest first.
pub(crate) struct Labels {
    order: Vec<(Scope, Vec<u8>)>,
}

impl Labels {
    pub(crate) fn new(annotated: Scope, namespace: &str, name: &str) -> Self {
        let mut scopes = vec![annotated];
        scopes.extend(Scope::ALL.into_iter().filter(|s| *s != annotated));
        Self {
            order: scopes.into_iter().map(|s| (s, s.label(namespace, name))).collect(),
        }
    }

    pub(crate) fn open<'k>(
        &self,
        keyring: &'k Keyring,
        blob: &[u8],
        hint: Option<&str>,
    ) -> Result<(zeroize::Zeroizing<Vec<u8>>, &'k str, Scope), crate::OpenError> {
        self.order
            .iter()
            .find_map(|(scope, label)| keyring.open(label, blob, hint).ok().map(|(pt, fp)| (pt, fp, *scope)))
            .ok_or(crate::OpenError)
    }

    /// Tries `scope` first from now on: once one item opened under it, the others almost always do too.
    pub(crate) fn prefer(&mut self, scope: Scope) {
        if let Some(at) = self.order.iter().position(|(s, _)| *s == scope) {
            let first = self.order.remove(at);
            self.order.insert(0, first);
        }
    }
}

/// What the items of one object opened with so far, so the next item tries the same key and scope first.
///
/// Why: without a key annotation every item would try every key under every label; learning from the first item
/// bounds one object's RSA work to about `items + 3 × keys` operations, whatever the number of keys.
pub(crate) struct Learned {
    hint: Option<String>,
}

impl Learned {
    pub(crate) fn new(annotated: Option<&str>) -> Self {
        Self {
            hint: annotated.map(str::to_string),
        }
    }

    /// Opens one item, then remembers its key and scope for the next.
    pub(crate) fn open(
        &mut self,
        labels: &mut Labels,
        keyring: &Keyring,
        blob: &[u8],
    ) -> Result<(zeroize::Zeroizing<Vec<u8>>, String, Scope), crate::OpenError> {
        let (plain, fingerprint, scope) = labels.open(keyring, blob, self.hint.as_deref())?;
        self.hint = Some(fingerprint.to_string());
        labels.prefer(scope);
        Ok((plain, fingerprint.to_string(), scope))
    }
}

fn unseal_legacy(
    ss: &SealedSecret,
    legacy: &str,
    labels: &Labels,
    keyring: &Keyring,
    hint: Option<&str>,
    opts: UnsealOptions,
) -> Result<Unsealed, UnsealError> {
    if !opts.accept_legacy_data {
        return Err(UnsealError::LegacyRefused);
    }
    if !ss.spec.encrypted_data.is_empty() {
        return Err(UnsealError::LegacyAndItems);
    }
    let item = |e| UnsealError::Items(vec![("data".to_string(), e)]);
    let blob = decode_blob(legacy).map_err(|e| item(ItemError::Base64(e)))?;
    let (plain, fingerprint, scope) = labels.open(keyring, &blob, hint).map_err(|_| item(ItemError::NoKey))?;
    let text = std::str::from_utf8(&plain).map_err(|_| UnsealError::LegacyNotASecret)?;
    let (_, mut objects) = manifest::read(text).map_err(|_| UnsealError::LegacyNotASecret)?;
    let Some(Object::Secret(secret)) = objects.pop().map(|l| l.object) else {
        return Err(UnsealError::LegacyNotASecret);
    };
    let mut secret = *secret;
    finish(ss, &mut secret.metadata, false);
    let keys_used = secret
        .data
        .keys()
        .map(|k| (k.clone(), fingerprint.to_string()))
        .collect();
    Ok(Unsealed {
        secret,
        keys_used,
        scope,
    })
}

fn template_skips_owner(ss: &SealedSecret) -> bool {
    ss.spec
        .template
        .as_ref()
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.annotations.as_ref())
        .and_then(|a| a.get(SKIP_OWNER_REFERENCES_ANNOTATION))
        .is_some_and(|v| v == "true")
}

/// Name and namespace forced to the SealedSecret's; one controller ownerReference unless skipped.
fn finish(ss: &SealedSecret, meta: &mut ObjectMeta, skip_owner: bool) {
    meta.name = ss.metadata.name.clone();
    meta.namespace = ss.metadata.namespace.clone();
    meta.owner_references = (!skip_owner).then(|| {
        vec![OwnerReference {
            api_version: SEALED_SECRET_API_VERSION.to_string(),
            kind: SEALED_SECRET_KIND.to_string(),
            name: ss.name().to_string(),
            uid: ss.metadata.uid.clone().unwrap_or_default(),
            controller: Some(true),
            block_owner_deletion: None,
        }]
    });
}

/// Decodes a stored blob like Go's StdEncoding: CR and LF are skipped, anything else must be valid. The
/// error reads like Go's (`illegal base64 data at input byte N`).
pub fn decode_blob(text: &str) -> Result<Vec<u8>, String> {
    manifest::decode_base64(text).map(|b| b.to_vec())
}
