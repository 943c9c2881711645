//! Reading and writing Kubernetes manifests: YAML streams (`---`), concatenated JSON objects, and `v1 List`s,
//! with errors that name the document, its line and the item — never a value.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use zeroize::Zeroizing;

use crate::layout;

mod json;
mod redact;
mod skim;
#[cfg(test)]
mod tests;
mod write;

use crate::types::{SEALED_SECRET_KIND, SealedSecret, Secret, SecretValue, secret_value};
pub use json::{JsonDocumentError, replace_json_document};
use redact::json_reason;
pub use redact::redact;
pub use write::{to_yaml, write_sealed, write_secrets};

/// Largest input accepted, in bytes: bigger than any real manifest, small enough to bound memory.
pub const MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;

/// The serialization of a manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// YAML, one or more documents.
    Yaml,
    /// One or more JSON objects.
    Json,
}

impl Format {
    /// Guesses the format from the first non-blank character: JSON starts with `{` or `[`.
    pub fn detect(text: &str) -> Format {
        match text.trim_start_matches('\u{feff}').trim_start().chars().next() {
            Some('{' | '[') => Format::Json,
            _ => Format::Yaml,
        }
    }
}

/// A manifest problem, located.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ManifestError {
    /// Which document: `3`, or `3.items[1]` inside a List.
    pub document: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The item (data key) concerned, if any.
    pub item: Option<String>,
    /// What is wrong and, where it helps, how to fix it.
    pub message: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "document {}", self.document)?;
        if let Some(line) = self.line {
            write!(f, " (line {line})")?;
        }
        if let Some(item) = &self.item {
            write!(f, ", item {item:?}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl ManifestError {
    fn new(document: &str, line: Option<usize>, message: impl Into<String>) -> Self {
        Self {
            document: document.to_string(),
            line,
            item: None,
            message: message.into(),
        }
    }
}

/// A decoded object.
#[derive(Debug)]
pub enum Object {
    /// A v1 Secret (plaintext).
    Secret(Box<Secret>),
    /// A SealedSecret.
    SealedSecret(Box<SealedSecret>),
    /// Anything else, by `apiVersion` and `kind`.
    Other {
        /// `apiVersion`, if any.
        api_version: Option<String>,
        /// `kind`, if any.
        kind: Option<String>,
    },
}

impl Object {
    /// The kind, for messages.
    pub fn kind(&self) -> &str {
        match self {
            Object::Secret(_) => "Secret",
            Object::SealedSecret(_) => SEALED_SECRET_KIND,
            Object::Other { kind, .. } => kind.as_deref().unwrap_or("(no kind)"),
        }
    }
}

/// One object of a manifest, with where it came from.
#[derive(Debug)]
pub struct Located {
    /// `3`, or `3.items[1]`.
    pub document: String,
    /// 1-based line of its document.
    pub line: usize,
    /// The object.
    pub object: Object,
}

/// Reads every object of a manifest. `v1 List`s are unwrapped; empty documents are skipped.
pub fn read(text: &str) -> Result<(Format, Vec<Located>), ManifestError> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(ManifestError::new(
            "1",
            None,
            format!("input larger than {MAX_INPUT_BYTES} bytes"),
        ));
    }
    let format = Format::detect(text);
    let mut out = Vec::new();
    match format {
        Format::Yaml => {
            // Quickest first: one pass over the parser's events, for the common shapes (see `skim`). Then one
            // parse through serde. Any problem, and the precise path (layout index first) says where.
            if skim::read(text, &mut out).is_none() {
                out.clear();
                if read_yaml_fast(text, &mut out).is_err() {
                    out.clear();
                    read_yaml_precise(text, &mut out)?;
                }
            }
        }
        Format::Json => {
            let mut stream = serde_json::Deserializer::from_str(text).into_iter::<RawDoc>();
            let mut number = 0;
            // Lines are counted from the previous document on, not from the start: counting from the start for
            // every document made a stream of many small objects quadratic (512 KiB took seconds).
            let (mut counted_to, mut line) = (0, 1);
            loop {
                let offset = stream.byte_offset();
                let start = offset + (text.len() - offset - text[offset..].trim_start().len());
                line += text[counted_to..start].bytes().filter(|&b| b == b'\n').count();
                counted_to = start;
                let Some(next) = stream.next() else { break };
                number += 1;
                let raw = next.map_err(|e| {
                    ManifestError::new(
                        &number.to_string(),
                        Some(e.line()),
                        format!("not valid JSON: {}", json_reason(&e)),
                    )
                })?;
                push_objects(raw, number.to_string(), line, None, &mut out)?;
            }
        }
    }
    Ok((format, out))
}

/// Whether a manifest holds more than one document, told without parsing it: a second JSON value, or a second
/// YAML document marker (`---` at the start of a line) after content. Callers that accept one object (the HTTP
/// API) refuse a stream before paying for parsing it.
pub fn more_than_one_document(text: &str) -> bool {
    match Format::detect(text) {
        Format::Json => {
            let mut stream = serde_json::Deserializer::from_str(text).into_iter::<IgnoredAny>();
            matches!(stream.next(), Some(Ok(_))) && stream.next().is_some()
        }
        Format::Yaml => {
            // Documents with content so far, and whether the current one has any. Lines end at LF, CR or CRLF (a
            // lone CR is a line break in YAML too); a BOM is not content.
            let (mut full, mut current) = (0, false);
            let text = text.strip_prefix('\u{feff}').unwrap_or(text);
            for line in text.split(['\n', '\r']) {
                let marker = ["---", "..."].into_iter().find(|m| {
                    line.strip_prefix(m)
                        .is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t']))
                });
                // `--- {a: 1}`: a marker with content on its own line.
                let after = marker.map_or(line, |m| &line[m.len()..]);
                if marker.is_some() {
                    full += usize::from(current);
                    current = false;
                }
                let t = after.trim();
                let directive = marker.is_none() && line.starts_with('%');
                if !(t.is_empty() || t.starts_with('#') || directive) {
                    current = true;
                    if full >= 1 {
                        return true;
                    }
                }
            }
            false
        }
    }
}

fn read_yaml_fast(text: &str, out: &mut Vec<Located>) -> Result<(), ()> {
    let docs: Vec<Option<serde_saphyr::Spanned<RawDoc>>> =
        serde_saphyr::from_multiple_with_options(text, yaml_options()).map_err(|_| ())?;
    let numbers = DocumentNumbers::new(text);
    for doc in docs.into_iter().flatten() {
        let line = usize::try_from(doc.referenced.line()).unwrap_or(0);
        // Lists need their items' lines, which only the precise path knows.
        if line == 0 || doc.value.items.is_some() {
            return Err(());
        }
        push_objects(doc.value, numbers.at(line).to_string(), line, None, out).map_err(|_| ())?;
    }
    Ok(())
}

fn read_yaml_precise(text: &str, out: &mut Vec<Located>) -> Result<(), ManifestError> {
    let docs = layout::index(text)
        .map_err(|e| ManifestError::new(&e.document.to_string(), Some(e.line), format!("not valid YAML: {e}")))?;
    for doc in docs.iter().filter(|d| d.root.is_some()) {
        let number = doc.number.to_string();
        let raw: RawDoc = serde_saphyr::from_str_with_options(&text[doc.span.clone()], yaml_options())
            .map_err(|e| yaml_error(&number, doc, text, &e))?;
        push_objects(raw, number, doc.line, doc.root.as_ref(), out)?;
    }
    Ok(())
}

/// Document numbers from the `---` markers: in YAML a `---` at the start of a line always starts a
/// document, even inside what would otherwise be a block scalar.
struct DocumentNumbers {
    /// 1-based lines of the markers.
    markers: Vec<usize>,
    /// Whether content comes before the first marker (an implicit first document).
    implicit_first: bool,
}

impl DocumentNumbers {
    fn new(text: &str) -> Self {
        let mut markers = Vec::new();
        let mut implicit_first = false;
        for (i, line) in text.lines().enumerate() {
            let is_marker = line
                .strip_prefix("---")
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']));
            if is_marker {
                markers.push(i + 1);
            } else if markers.is_empty() {
                let t = line.trim_start_matches('\u{feff}').trim();
                implicit_first |= !(t.is_empty() || t.starts_with('#') || t.starts_with('%'));
            }
        }
        Self {
            markers,
            implicit_first,
        }
    }

    fn at(&self, line: usize) -> usize {
        let before = self.markers.iter().take_while(|&&m| m <= line).count();
        before + usize::from(self.implicit_first)
    }
}

fn yaml_options() -> serde_saphyr::Options {
    // Why: snippets quote the input line, which can be a plaintext value; errors carry positions only.
    serde_saphyr::options! { with_snippet: false }
}

fn yaml_error(number: &str, doc: &layout::Document, text: &str, e: &serde_saphyr::Error) -> ManifestError {
    let line = e
        .location()
        .filter(|l| l.line() > 0)
        .map(|l| layout::position(text, doc.span.start).0 + usize::try_from(l.line()).unwrap_or(1) - 1);
    let raw = e.without_snippet().to_string();
    // Keep the reason only: positions are reported our way, and library advice is not the user's business.
    let mut reason = raw.strip_prefix("error: ").unwrap_or(&raw);
    if let Some((loc, rest)) = reason.split_once(": ")
        && loc.starts_with("line ")
    {
        reason = rest;
    }
    let reason = reason.split(" at line ").next().unwrap_or(reason);
    let reason = reason.split(", set DuplicateKeyPolicy").next().unwrap_or(reason);
    let reason = if reason.contains("budget breached") {
        format!("document too large after expanding anchors and aliases ({reason}); is it a YAML bomb?")
    } else {
        reason.to_string()
    };
    ManifestError::new(number, line.or(Some(doc.line)), redact(&reason))
}

fn push_objects(
    raw: RawDoc,
    document: String,
    line: usize,
    node: Option<&layout::Node>,
    out: &mut Vec<Located>,
) -> Result<(), ManifestError> {
    if raw.kind.as_deref() == Some("List")
        || raw
            .kind
            .as_deref()
            .is_some_and(|k| k.ends_with("List") && raw.items.is_some())
    {
        let nodes = match node.and_then(|n| n.get("items")).map(|n| &n.kind) {
            Some(layout::NodeKind::Sequence(nodes)) => nodes.as_slice(),
            _ => &[],
        };
        for (i, item) in raw.items.unwrap_or_default().into_iter().enumerate() {
            let child = nodes.get(i);
            let line = child.map_or(line, |n| n.line);
            push_objects(item, format!("{document}.items[{i}]"), line, child, out)?;
        }
        return Ok(());
    }
    let object = convert(raw, &document, line, node)?;
    out.push(Located { document, line, object });
    Ok(())
}

fn convert(raw: RawDoc, document: &str, line: usize, node: Option<&layout::Node>) -> Result<Object, ManifestError> {
    // The line of an item when the source is YAML, else the object's.
    let at = |field: &str, key: &str| Some(node.and_then(|n| n.at(&[field, key])).map_or(line, |n| n.line));
    match (raw.api_version.as_deref(), raw.kind.as_deref()) {
        (Some("v1") | None, Some("Secret")) => {
            let mut data = BTreeMap::new();
            for (key, value) in raw.data.unwrap_or_default() {
                let decoded = decode_item(&value).map_err(|message| ManifestError {
                    item: Some(key.clone()),
                    ..ManifestError::new(document, at("data", &key), message)
                })?;
                data.insert(key, decoded);
            }
            // Why `stringData` after `data`: a same-named stringData entry wins, as in the API server and kubeseal.
            for (key, value) in raw.string_data.unwrap_or_default() {
                let RawItem::Text(text) = value else {
                    return Err(ManifestError {
                        line: at("stringData", &key),
                        item: Some(key),
                        ..ManifestError::new(document, None, "stringData values must be strings")
                    });
                };
                data.insert(key, secret_value(text.as_bytes().to_vec()));
            }
            Ok(Object::Secret(Box::new(Secret {
                metadata: raw.metadata.unwrap_or_default(),
                type_: raw.type_,
                immutable: raw.immutable,
                data,
            })))
        }
        (_, Some(SEALED_SECRET_KIND)) => {
            let spec = raw
                .spec
                .ok_or_else(|| ManifestError::new(document, Some(line), "SealedSecret has no spec"))?;
            let spec = serde_json::from_value(spec).map_err(|e| {
                ManifestError::new(
                    document,
                    Some(line),
                    format!("bad SealedSecret spec: {}", json_reason(&e)),
                )
            })?;
            Ok(Object::SealedSecret(Box::new(SealedSecret {
                kind: SEALED_SECRET_KIND.to_string(),
                api_version: raw.api_version.unwrap_or_default(),
                metadata: raw.metadata.unwrap_or_default(),
                spec,
                status: raw.status,
            })))
        }
        (api_version, kind) => Ok(Object::Other {
            api_version: api_version.map(str::to_string),
            kind: kind.map(str::to_string),
        }),
    }
}

fn decode_item(value: &RawItem) -> Result<SecretValue, String> {
    let RawItem::Text(text) = value else {
        return Err("data values must be base64 strings".to_string());
    };
    decode_base64(text)
        .map(|bytes| secret_value(bytes.to_vec()))
        .map_err(|e| format!("data value is not valid base64: {e}; put plain text under stringData instead"))
}

/// Decodes base64 like Go's `StdEncoding` (CR and LF skipped, padding required), into a wiped buffer. The
/// error names the offset like Go (`illegal base64 data at input byte N`) and never the offending byte,
/// which would be a piece of the value.
pub fn decode_base64(text: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    use base64::DecodeError as E;
    let compact: Zeroizing<String> = Zeroizing::new(text.chars().filter(|c| !matches!(c, '\r' | '\n')).collect());
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map(Zeroizing::new)
        .map_err(|e| {
            let at = match e {
                E::InvalidByte(at, _) | E::InvalidLastSymbol { offset: at, .. } => at,
                E::InvalidLength(_) | E::InvalidPadding => compact.len() / 4 * 4,
            };
            format!("illegal base64 data at input byte {at}")
        })
}

/// Everything we need from any document, in one pass: unknown fields are ignored, and item values go
/// straight into wiped buffers.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawDoc {
    api_version: Option<String>,
    kind: Option<String>,
    metadata: Option<ObjectMeta>,
    data: Option<BTreeMap<String, RawItem>>,
    string_data: Option<BTreeMap<String, RawItem>>,
    #[serde(rename = "type")]
    type_: Option<String>,
    immutable: Option<bool>,
    spec: Option<serde_json::Value>,
    status: Option<serde_json::Value>,
    items: Option<Vec<RawDoc>>,
}

/// An item value: a string kept in a wiped buffer, or something else (rejected later for Secrets, ignored
/// for other kinds).
enum RawItem {
    Text(Zeroizing<String>),
    NotText,
}

impl<'de> Deserialize<'de> for RawItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawItem;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawItem, E> {
                Ok(RawItem::Text(Zeroizing::new(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<RawItem, E> {
                Ok(RawItem::Text(Zeroizing::new(v)))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<RawItem, E> {
                Ok(RawItem::NotText)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<RawItem, E> {
                Ok(RawItem::NotText)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<RawItem, E> {
                Ok(RawItem::NotText)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<RawItem, E> {
                Ok(RawItem::NotText)
            }
            fn visit_unit<E: de::Error>(self) -> Result<RawItem, E> {
                Ok(RawItem::NotText)
            }
            fn visit_none<E: de::Error>(self) -> Result<RawItem, E> {
                Ok(RawItem::NotText)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<RawItem, D::Error> {
                d.deserialize_any(self)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<RawItem, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(RawItem::NotText)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<RawItem, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(RawItem::NotText)
            }
        }
        d.deserialize_any(V)
    }
}
