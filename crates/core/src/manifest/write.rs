//! Writing manifests: SealedSecrets as kubeseal writes them, plaintext Secrets (wiped when dropped), any value as
//! sigs.k8s.io/yaml writes YAML.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use zeroize::Zeroizing;

use super::Format;
use crate::types::{SealedSecret, SealedSecretSpec, Secret, SecretTemplateSpec};

/// Renders SealedSecrets like kubeseal: YAML documents each preceded by `---` with keys sorted, or
/// 2-space-indented JSON objects one after another.
pub fn write_sealed(objects: &[SealedSecret], format: Format) -> String {
    let mut out = String::new();
    for object in objects {
        match format {
            Format::Yaml => {
                out.push_str("---\n");
                let options = serde_saphyr::ser_options! { prefer_block_scalars: false };
                out.push_str(&serde_saphyr::to_string_with_options(&SortedSealed(object), options).unwrap_or_default());
            }
            Format::Json => {
                out.push_str(&serde_json::to_string_pretty(object).unwrap_or_default());
                out.push('\n');
            }
        }
    }
    out
}

/// Renders any value as YAML the way sigs.k8s.io/yaml does: keys sorted, long strings on one line,
/// ambiguous strings quoted.
pub fn to_yaml(value: &serde_json::Value) -> String {
    let options = serde_saphyr::ser_options! { prefer_block_scalars: false };
    serde_saphyr::to_string_with_options(value, options).unwrap_or_default()
}

/// Renders plaintext Secrets (the output of `unseal`). The buffer is wiped when dropped.
pub fn write_secrets(secrets: &[Secret], format: Format) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::new());
    for secret in secrets {
        match format {
            Format::Yaml => {
                out.push_str("---\n");
                let sorted = SecretOut { secret, sorted: true };
                out.push_str(&Zeroizing::new(
                    serde_saphyr::to_string_with_options(
                        &sorted,
                        serde_saphyr::ser_options! { prefer_block_scalars: false },
                    )
                    .unwrap_or_default(),
                ));
            }
            Format::Json => {
                let mut buf = Zeroizing::new(Vec::with_capacity(4096));
                let mut ser = serde_json::Serializer::with_formatter(
                    &mut *buf,
                    serde_json::ser::PrettyFormatter::with_indent(b"  "),
                );
                if (SecretOut { secret, sorted: false }).serialize(&mut ser).is_ok() {
                    out.push_str(&String::from_utf8_lossy(&buf));
                    out.push('\n');
                }
            }
        }
    }
    out
}

/// A SealedSecret with its keys in sorted order at every level, as sigs.k8s.io/yaml writes them, serialised
/// straight from the typed object: going through a `serde_json::Value` first (which sorts too) cost a third of
/// the writing time of a 1,000-document file. `ObjectMeta` serialises its fields sorted already, and the maps
/// are `BTreeMap`s.
struct SortedSealed<'a>(&'a SealedSecret);

impl Serialize for SortedSealed<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Destructured whole, here and below: a field added to the type must be added to the writer.
        let SealedSecret {
            kind,
            api_version,
            metadata,
            spec,
            status,
        } = self.0;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("apiVersion", api_version)?;
        map.serialize_entry("kind", kind)?;
        map.serialize_entry("metadata", metadata)?;
        map.serialize_entry("spec", &SortedSpec(spec))?;
        if let Some(status) = status {
            map.serialize_entry("status", status)?;
        }
        map.end()
    }
}

struct SortedSpec<'a>(&'a SealedSecretSpec);

impl Serialize for SortedSpec<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let SealedSecretSpec {
            template,
            data,
            encrypted_data,
        } = self.0;
        let mut map = s.serialize_map(None)?;
        if let Some(data) = data {
            map.serialize_entry("data", data)?;
        }
        map.serialize_entry("encryptedData", encrypted_data)?;
        if let Some(template) = template {
            map.serialize_entry("template", &SortedTemplate(template))?;
        }
        map.end()
    }
}

struct SortedTemplate<'a>(&'a SecretTemplateSpec);

impl Serialize for SortedTemplate<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let SecretTemplateSpec {
            metadata,
            type_,
            immutable,
            data,
        } = self.0;
        let mut map = s.serialize_map(None)?;
        if let Some(data) = data {
            map.serialize_entry("data", data)?;
        }
        if let Some(immutable) = immutable {
            map.serialize_entry("immutable", immutable)?;
        }
        if let Some(metadata) = metadata {
            map.serialize_entry("metadata", metadata)?;
        }
        if let Some(type_) = type_ {
            map.serialize_entry("type", type_)?;
        }
        map.end()
    }
}

struct SecretOut<'a> {
    secret: &'a Secret,
    sorted: bool,
}

impl Serialize for SecretOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use secrecy::ExposeSecret as _;
        let s_ = self.secret;
        let metadata = serde_json::to_value(&s_.metadata).map_err(serde::ser::Error::custom)?;
        let data: BTreeMap<&str, Zeroizing<String>> = s_
            .data
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str(),
                    Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(v.expose_secret())),
                )
            })
            .collect();
        let data: BTreeMap<&str, &str> = data.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut map = s.serialize_map(None)?;
        // sigs.k8s.io/yaml sorts keys; Go's JSON encoder follows the struct order.
        if self.sorted {
            map.serialize_entry("apiVersion", "v1")?;
            if !data.is_empty() {
                map.serialize_entry("data", &data)?;
            }
            if let Some(i) = s_.immutable {
                map.serialize_entry("immutable", &i)?;
            }
            map.serialize_entry("kind", "Secret")?;
            map.serialize_entry("metadata", &metadata)?;
            if let Some(t) = &s_.type_ {
                map.serialize_entry("type", t)?;
            }
        } else {
            map.serialize_entry("kind", "Secret")?;
            map.serialize_entry("apiVersion", "v1")?;
            map.serialize_entry("metadata", &metadata)?;
            if let Some(i) = s_.immutable {
                map.serialize_entry("immutable", &i)?;
            }
            if !data.is_empty() {
                map.serialize_entry("data", &data)?;
            }
            if let Some(t) = &s_.type_ {
                map.serialize_entry("type", t)?;
            }
        }
        map.end()
    }
}
