//! The Kubernetes objects sealant reads and writes: `SealedSecret` (ciphertext only) and the plaintext
//! `Secret`, whose values never leave [`SecretValue`] until they are written out on purpose.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use secrecy::SecretSlice;
use serde::{Deserialize, Serialize};

/// `apiVersion` of SealedSecret objects.
pub const SEALED_SECRET_API_VERSION: &str = "bitnami.com/v1alpha1";
/// `kind` of SealedSecret objects.
pub const SEALED_SECRET_KIND: &str = "SealedSecret";
/// Annotation sealant writes: when the object was sealed (RFC 3339, UTC).
pub const SEALED_AT_ANNOTATION: &str = "sealant.dev/sealed-at";
/// Annotation sealant writes: `SHA256:` fingerprint of the certificate the items were sealed to.
pub const KEY_FINGERPRINT_ANNOTATION: &str = "sealant.dev/key-fingerprint";
/// The annotation that names an item's generator (`sealant.dev/generate.<item>`): rotation makes a new value.
pub const GENERATE_ANNOTATION_PREFIX: &str = "sealant.dev/generate.";
/// Annotations kubectl and kubecfg use to remember the last applied object: they may hold plaintext
/// `stringData`, so they are stripped before sealing (upstream issue #227).
pub const LAST_APPLIED_ANNOTATIONS: [&str; 2] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    "kubecfg.ksonnet.io/last-applied-configuration",
];

/// A plaintext secret value: wiped from memory when dropped, and never printed by `Debug`.
pub type SecretValue = SecretSlice<u8>;

/// Makes a [`SecretValue`] from bytes (the vector is moved, not copied).
pub fn secret_value(bytes: Vec<u8>) -> SecretValue {
    SecretSlice::from(bytes)
}

/// Condition type the controller writes (the only one upstream has).
pub const SYNCED_CONDITION: &str = "Synced";

/// A `bitnami.com/v1alpha1` SealedSecret.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct SealedSecret {
    /// Always `SealedSecret`.
    #[serde(default)]
    pub kind: String,
    /// Always `bitnami.com/v1alpha1`.
    #[serde(default)]
    pub api_version: String,
    /// Outer metadata: name, namespace, scope annotations, sealant annotations.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// What to unseal.
    pub spec: SealedSecretSpec,
    /// Written by the controller; never by the CLI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<serde_json::Value>,
}

/// `spec` of a SealedSecret (spec section 2.2).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SealedSecretSpec {
    /// Metadata, type and templated data of the Secret to produce.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<SecretTemplateSpec>,
    /// Deprecated whole-Secret ciphertext (base64), spec 1.6.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(extend("format" = "byte")))]
    pub data: Option<String>,
    /// Item name → base64 sealed blob.
    #[serde(default)]
    // Upstream's schema, kept for compatibility; the API server still refuses non-string values here.
    #[cfg_attr(feature = "schema", schemars(extend("x-kubernetes-preserve-unknown-fields" = true)))]
    pub encrypted_data: BTreeMap<String, String>,
}

/// `spec.template` of a SealedSecret.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SecretTemplateSpec {
    /// Metadata copied to the Secret (name and namespace are forced to the SealedSecret's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "template_metadata_schema"))]
    pub metadata: Option<ObjectMeta>,
    /// Secret type.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Secret immutability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
    /// Templated items, rendered with the decrypted items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<BTreeMap<String, String>>,
}

/// `status` of a SealedSecret, as the controller writes it (spec 2.3).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SealedSecretStatus {
    /// `metadata.generation` of the object last processed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Only `Synced`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<SealedSecretCondition>,
    /// sealant's digest of the sealed input its Secret was last written from (public data only): a restart
    /// finds it here and decrypts nothing for an object already applied. Kept off the Secret, whose shape stays
    /// upstream's; a CRD without the field (upstream's) prunes it, which only costs decryptions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_digest: Option<String>,
    /// The Secret's resourceVersion after that write: the digest counts only while the Secret is at it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_resource_version: Option<String>,
}

/// One status condition.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SealedSecretCondition {
    /// Condition type: `Synced`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// When the condition was last written (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date-time")))]
    pub last_update_time: Option<String>,
    /// When `status` last changed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date-time")))]
    pub last_transition_time: Option<String>,
    /// Empty when synced, else the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Machine-readable reason (upstream never sets it; sealant does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Schema of `spec.template.metadata`: the declared fields, and anything else preserved (spec 6.1).
#[cfg(feature = "schema")]
fn template_metadata_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "nullable": true,
        "x-kubernetes-preserve-unknown-fields": true,
        "properties": {
            "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "finalizers": {"type": "array", "items": {"type": "string"}},
            "name": {"type": "string"},
            "namespace": {"type": "string"}
        }
    })
}

impl SealedSecret {
    /// The object's namespace, or `""`.
    pub fn namespace(&self) -> &str {
        self.metadata.namespace.as_deref().unwrap_or("")
    }

    /// The object's name, or `""`.
    pub fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or("")
    }

    /// `namespace/name`, or the name alone without a namespace: how messages name the object.
    pub fn id(&self) -> String {
        match self.namespace() {
            "" => self.name().to_string(),
            ns => format!("{ns}/{}", self.name()),
        }
    }

    /// An outer annotation.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.metadata.annotations.as_ref()?.get(key).map(String::as_str)
    }
}

/// A plaintext v1 Secret (the input of `seal`, the output of `unseal`).
#[derive(Debug, Default)]
pub struct Secret {
    /// Metadata as given.
    pub metadata: ObjectMeta,
    /// `type`, e.g. `Opaque`.
    pub type_: Option<String>,
    /// `immutable`.
    pub immutable: Option<bool>,
    /// Items: `data` decoded from base64, with `stringData` entries overriding same-named ones.
    pub data: BTreeMap<String, SecretValue>,
}

impl Secret {
    /// The Secret's namespace, or `""`.
    pub fn namespace(&self) -> &str {
        self.metadata.namespace.as_deref().unwrap_or("")
    }

    /// The Secret's name, or `""`.
    pub fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or("")
    }
}

/// Annotation: the rotation period of one SealedSecret (`90d`, `12w`, `2160h`), read by lint, rotate and the
/// controller's overdue metric through [`parse_days`], so all three agree.
pub const ROTATE_EVERY_ANNOTATION: &str = "sealant.dev/rotate-every";
/// The rotation period when neither the SealedSecret nor `.sealant.yaml` names one (the security policy's 90 days).
pub const DEFAULT_ROTATION_DAYS: i64 = 90;
/// How long before the period ends a secret counts as due soon, by default.
pub const DEFAULT_WARN_DAYS: i64 = 14;

/// A period such as `sealant.dev/rotate-every` or `policy.rotation`: `90d`, `12w`, `2160h` → days.
pub fn parse_days(text: &str) -> Option<i64> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = number.parse().ok()?;
    match unit {
        "d" => Some(n),
        "w" => Some(n * 7),
        "h" => Some(n / 24),
        _ => None,
    }
}
