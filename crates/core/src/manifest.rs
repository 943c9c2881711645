//! Reading and writing Kubernetes manifests: YAML streams (`---`), concatenated JSON objects, and `v1 List`s,
//! with errors that name the document, its line and the item — never a value.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::layout;
use crate::types::{SEALED_SECRET_KIND, SealedSecret, Secret, SecretValue, secret_value};

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
            // Fast path: one parse. Any problem, and the precise path (layout index first) says where.
            match read_yaml_fast(text, &mut out) {
                Ok(()) => {}
                Err(()) => {
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

/// Replaces the top-level JSON document `number` (1-based) of a JSON stream with `replacement`, keeping every
/// other document byte for byte. Nothing in a file is ever dropped by a rewrite: a document that is not there
/// is an error, not an append.
pub fn replace_json_document(text: &str, number: usize, replacement: &str) -> Result<String, JsonDocumentError> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<IgnoredAny>();
    for n in 1.. {
        let before = stream.byte_offset();
        match stream.next() {
            None => break,
            Some(Err(e)) => {
                return Err(JsonDocumentError::Invalid {
                    document: n,
                    reason: json_reason(&e),
                });
            }
            Some(Ok(_)) => {}
        }
        if n == number {
            let start = before + (text[before..].len() - text[before..].trim_start().len());
            let end = stream.byte_offset();
            return Ok(format!("{}{}{}", &text[..start], replacement.trim_end(), &text[end..]));
        }
    }
    Err(JsonDocumentError::Missing(number))
}

/// Why one document of a JSON stream could not be replaced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonDocumentError {
    /// A document before it does not parse.
    #[error("document {document}: not valid JSON: {reason}")]
    Invalid {
        /// 1-based document number.
        document: usize,
        /// Why (never a copy of the input).
        reason: String,
    },
    /// There is no such document.
    #[error("document {0} is not in the file")]
    Missing(usize),
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

fn json_reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    redact(text.split(" at line ").next().unwrap_or(&text))
}

/// Drops the input's own text from a deserializer's message: serde writes the unexpected value into
/// `invalid type: string "…", expected …` (and integers, floats and characters in backticks), and that value
/// can be a plaintext secret (`stringData: "password=…"`). Only its kind is kept.
pub fn redact(reason: &str) -> String {
    let mut out = String::with_capacity(reason.len());
    let mut rest = reason;
    loop {
        let at = ["invalid type: ", "invalid value: "]
            .iter()
            .filter_map(|p| rest.find(p).map(|i| (i, p.len())))
            .min();
        let Some((i, len)) = at else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..i + len]);
        let unexpected = &rest[i + len..];
        let kind = unexpected.split([' ', '`', '"', ',']).next().unwrap_or_default();
        out.push_str(match kind {
            "floating" => "floating point",
            "byte" => "byte array",
            "unit" => "unit value",
            other => other,
        });
        // Skip the value itself, which serde quotes (`string "…"`, Rust escapes inside) or puts in backticks:
        // the end is its closing quote, never a `, expected` that the value could contain.
        let after_kind = &unexpected[kind.len()..];
        let quoted = after_kind.strip_prefix(' ').unwrap_or(after_kind);
        rest = match quoted.chars().next() {
            Some('"') => end_of_quoted(quoted, '"'),
            Some('`') => end_of_quoted(quoted, '`'),
            _ => after_kind,
        };
    }
}

/// The text after a value quoted with `quote` (backslash escapes inside), or nothing when it never closes.
fn end_of_quoted(text: &str, quote: char) -> &str {
    let mut escaped = false;
    for (i, c) in text.char_indices().skip(1) {
        match c {
            '\\' if !escaped => escaped = true,
            c if c == quote && !escaped => return &text[i + c.len_utf8()..],
            _ => escaped = false,
        }
    }
    ""
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

/// Renders SealedSecrets like kubeseal: YAML documents each preceded by `---` with keys sorted, or
/// 2-space-indented JSON objects one after another.
pub fn write_sealed(objects: &[SealedSecret], format: Format) -> String {
    let mut out = String::new();
    for object in objects {
        match format {
            Format::Yaml => {
                out.push_str("---\n");
                out.push_str(&to_yaml(&serde_json::to_value(object).unwrap_or_default()));
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

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret as _;

    fn secret(obj: &Object) -> &Secret {
        match obj {
            Object::Secret(s) => s,
            other => panic!("expected a Secret, got {}", other.kind()),
        }
    }

    #[test]
    fn yaml_stream_with_list_and_string_data_is_read_in_order() {
        let text = "\
apiVersion: v1
kind: Secret
metadata: {name: a, namespace: ns}
data: {k: aGk=}
stringData: {k: override, s: plain}
---
# empty documents are skipped
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Secret
  metadata: {name: b}
  data: {x: eA==}
";
        let (format, objs) = read(text).unwrap();
        assert_eq!(format, Format::Yaml);
        assert_eq!(objs.len(), 2);
        let a = secret(&objs[0].object);
        assert_eq!(a.data["k"].expose_secret(), b"override");
        assert_eq!(a.data["s"].expose_secret(), b"plain");
        assert_eq!(objs[1].document, "3.items[0]");
        assert_eq!(secret(&objs[1].object).data["x"].expose_secret(), b"x");
    }

    #[test]
    fn fast_and_precise_yaml_paths_agree_on_documents_and_lines() {
        let text = "\
# leading comment
%YAML 1.2
---
kind: Secret
metadata: {name: a}
--- # a comment after the marker
---
kind: ConfigMap
data:
  block: |
    --- not a marker: indented
---
apiVersion: v1
kind: List
items:
- kind: Secret
  metadata: {name: b}
- kind: Secret
  metadata: {name: c}
...
";
        let (mut fast, mut precise) = (Vec::new(), Vec::new());
        let without_list = &text[..text.find("---\napiVersion: v1\nkind: List").unwrap()];
        read_yaml_fast(without_list, &mut fast).unwrap();
        read_yaml_precise(without_list, &mut precise).unwrap();
        let summary = |v: &[Located]| {
            v.iter()
                .map(|l| (l.document.clone(), l.line, l.object.kind().to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(summary(&fast), summary(&precise));
        assert!(
            read_yaml_fast(text, &mut Vec::new()).is_err(),
            "Lists take the precise path"
        );
        precise.clear();
        read_yaml_precise(text, &mut precise).unwrap();
        let summary = |v: &[Located]| {
            v.iter()
                .map(|l| (l.document.clone(), l.line, l.object.kind().to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(summary(&precise)[0], ("1".to_string(), 4, "Secret".to_string()));
        assert_eq!(summary(&precise)[1].0, "3");
        assert_eq!(
            summary(&precise)[2],
            ("4.items[0]".to_string(), 16, "Secret".to_string())
        );
    }

    #[test]
    fn a_type_error_names_the_kind_of_value_never_the_value() {
        for text in [
            r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"a","namespace":"b"},"stringData":"password=canary-value-1"}"#,
            "apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: b}\nstringData: \"password=canary-value-1\"\n",
            "apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: b}\nstringData: 12345678987654321\n",
        ] {
            let err = read(text).unwrap_err().to_string();
            assert!(!err.contains("canary") && !err.contains("12345678987654321"), "{err}");
            assert!(
                err.contains("invalid type") || err.contains("expected mapping"),
                "{err}"
            );
        }
        assert_eq!(
            redact(r#"invalid type: string "x, y", expected a map; invalid value: integer `7`, expected u8"#),
            "invalid type: string, expected a map; invalid value: integer, expected u8"
        );
        // A value that contains the words serde puts after it, and escaped quotes.
        assert_eq!(
            redact(r#"invalid type: string "pw, expected CANARY-2\", expected x", expected a map"#),
            "invalid type: string, expected a map"
        );
        assert_eq!(
            redact(r#"invalid type: string "never closed CANARY"#),
            "invalid type: string"
        );
    }

    #[test]
    fn many_small_json_documents_are_read_in_linear_time_with_their_lines() {
        let doc = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\"}\n";
        let (_, objects) = read(&doc.repeat(20_000)).unwrap();
        assert_eq!(objects.len(), 20_000);
        assert_eq!(objects[19_999].line, 20_000);
    }

    #[test]
    fn a_second_document_is_seen_without_parsing() {
        assert!(!more_than_one_document("%YAML 1.2\n---\na: 1\n"));
        assert!(!more_than_one_document("# c\n---\na: 1\n---\n"));
        assert!(more_than_one_document("a: 1\n---\nb: 2\n"));
        assert!(more_than_one_document("{}{}"));
        assert!(more_than_one_document("--- {a: 1}\n--- {b: 2}\n"));
        assert!(more_than_one_document("a: 1\r---\rb: 2\r"));
        assert!(more_than_one_document("a: 1\n...\nb: 2\n"));
        assert!(!more_than_one_document("\u{feff}# c\n---\na: 1\n"));
        for text in [
            "--- {a: 1}\n--- {b: 2}\n",
            "a: 1\r---\rb: 2\r",
            "a: 1\n...\n---\nb: 2\n",
        ] {
            // Whatever the parser makes of these, the cheap check never says one where the parser says two.
            if let Ok((_, objects)) = read(text) {
                assert!(objects.len() < 2 || more_than_one_document(text), "{text:?}");
            }
        }
        assert!(!more_than_one_document("{\"a\": 1}\n"));
    }

    #[test]
    fn one_json_document_is_replaced_and_the_others_kept_byte_for_byte() {
        let text = "{\"a\": 1}\n  {\"b\":   2}\n{\"c\": 3}\n";
        assert_eq!(
            replace_json_document(text, 2, "{\"b\": 9}\n").unwrap(),
            "{\"a\": 1}\n  {\"b\": 9}\n{\"c\": 3}\n"
        );
        assert!(replace_json_document(text, 4, "{}").is_err());
    }

    #[test]
    fn concatenated_json_objects_are_read() {
        let text = r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"a"},"data":{"k":"aGk="}}
{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}"#;
        let (format, objs) = read(text).unwrap();
        assert_eq!(format, Format::Json);
        assert_eq!(objs[1].object.kind(), "ConfigMap");
        assert_eq!(objs[1].line, 2);
    }

    #[test]
    fn bad_base64_names_document_line_and_item_but_not_the_value() {
        let text = "kind: Secret\napiVersion: v1\nmetadata: {name: a}\n---\nkind: Secret\napiVersion: v1\ndata:\n  password: hunter2!!\n";
        let err = read(text).unwrap_err();
        assert_eq!(err.document, "2");
        assert_eq!(err.line, Some(8));
        assert_eq!(err.item.as_deref(), Some("password"));
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn syntax_errors_do_not_quote_the_input() {
        let text = "kind: Secret\nstringData:\n  password: \"hunter2\n";
        let err = read(text).unwrap_err();
        assert!(err.line.is_some());
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn base64_with_line_breaks_is_accepted_like_go() {
        let text = "kind: Secret\ndata:\n  k: \"aG\\r\\nk=\"\n";
        let (_, objs) = read(text).unwrap();
        assert_eq!(secret(&objs[0].object).data["k"].expose_secret(), b"hi");
    }
}
