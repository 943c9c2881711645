//! The quick YAML reader: one pass over the parser's events into a small tree per document, turned straight into
//! the objects the tools need, for the shapes real manifests have.
//!
//! It is never more permissive than the complete reader, because it never decides a hard case: anything outside
//! those shapes (anchors and aliases, tags, `%YAML` directives, merge keys, duplicate keys, plain scalars whose
//! type depends on the YAML schema, metadata beyond name, namespace, labels and annotations, Lists, `status`,
//! deep nesting, a value that fails to decode) makes it give up, and the complete reader reads the file again and
//! decides, with its located errors. So it has no errors of its own: `None` means "ask the complete reader".

use std::collections::BTreeMap;

use granit_parser::{Event, Parser, ScalarStyle};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use zeroize::Zeroizing;

use super::{Located, Object, decode_base64};
use crate::budget::{self, Tally};
use crate::plain::{clearly_string, is_null, numeric, simple_number};
use crate::types::{SEALED_SECRET_KIND, SealedSecret, SealedSecretSpec, Secret, SecretTemplateSpec, secret_value};

/// Deepest nesting handled here; the complete reader's own limit is 64.
const MAX_DEPTH: usize = 48;
/// Most nodes in one document handled here; the complete reader's own budget is 250,000.
const MAX_NODES: usize = 100_000;
/// Most keys in one mapping read here.
const MAX_KEYS: usize = 256;

/// A scalar's text: borrowed from the input, or owned (escapes, folding) and wiped on drop, since it may be a
/// plaintext value.
enum Text<'a> {
    Borrowed(&'a str),
    Owned(Zeroizing<String>),
}

impl Text<'_> {
    fn as_str(&self) -> &str {
        match self {
            Text::Borrowed(s) => s,
            Text::Owned(s) => s,
        }
    }
}

enum Node<'a> {
    Scalar { text: Text<'a>, plain: bool },
    Map(Vec<(Text<'a>, Node<'a>)>),
    Seq,
}

enum Frame<'a> {
    Map {
        entries: Vec<(Text<'a>, Node<'a>)>,
        key: Option<Text<'a>>,
        line: usize,
    },
    Seq {
        line: usize,
    },
}

/// Reads every document of a YAML stream into `out`, or gives up (`None`) and leaves `out` to be cleared.
pub(super) fn read(text: &str, out: &mut Vec<Located>) -> Option<()> {
    let mut stack: Vec<Frame> = Vec::new();
    let (mut number, mut nodes) = (0usize, 0usize);
    let mut tally = Tally::default();
    let mut root: Option<(Node, usize)> = None;
    for event in Parser::new_from_str_with_options(text, budget::parser_options()) {
        let (event, span) = event.ok()?;
        let line = span.start.line();
        if !tally.observe(&event) {
            return None;
        }
        let (node, line) = match event {
            Event::DocumentStart(_, version) => {
                // Why: a `%YAML 1.1` document may resolve plain scalars differently.
                if version.is_some() {
                    return None;
                }
                number += 1;
                nodes = 0;
                continue;
            }
            Event::DocumentEnd => {
                match root.take() {
                    Some((Node::Scalar { text, plain: true }, _)) if is_null(text.as_str()) => {}
                    Some((root, line)) => out.push(Located {
                        document: number.to_string(),
                        line,
                        object: object(root)?,
                    }),
                    None => {}
                }
                continue;
            }
            Event::Scalar(value, style, anchor, tag) => {
                if anchor != 0 || tag.is_some() {
                    return None;
                }
                let plain = style == ScalarStyle::Plain;
                // Why: a plain scalar that reads as a number only where it is simple (no radix, exponent, leading
                // zero, sexagesimal or overflow): the others may be refused or turned into something else.
                if plain && numeric(&value) && !simple_number(&value) {
                    return None;
                }
                let text = match value {
                    std::borrow::Cow::Borrowed(s) => Text::Borrowed(s),
                    std::borrow::Cow::Owned(s) => Text::Owned(Zeroizing::new(s)),
                };
                (Node::Scalar { text, plain }, line)
            }
            Event::MappingStart(_, anchor, ref tag) | Event::SequenceStart(_, anchor, ref tag) => {
                if anchor != 0 || tag.is_some() || stack.len() >= MAX_DEPTH {
                    return None;
                }
                stack.push(if matches!(event, Event::MappingStart(..)) {
                    Frame::Map {
                        entries: Vec::new(),
                        key: None,
                        line,
                    }
                } else {
                    Frame::Seq { line }
                });
                continue;
            }
            // A collection's line is where it starts.
            Event::MappingEnd | Event::SequenceEnd => match stack.pop()? {
                Frame::Map {
                    entries,
                    key: None,
                    line,
                } => (Node::Map(entries), line),
                Frame::Seq { line } => (Node::Seq, line),
                Frame::Map { key: Some(_), .. } => return None,
            },
            Event::Alias(..) | Event::Anchor(..) | Event::UnresolvedAlias(..) => return None,
            _ => continue,
        };
        nodes += 1;
        if nodes > MAX_NODES {
            return None;
        }
        attach(&mut stack, &mut root, node, line)?;
    }
    Some(())
}

/// Puts a finished node where it belongs. Sequences are only validated, never kept: no tool reads one here.
fn attach<'a>(
    stack: &mut [Frame<'a>],
    root: &mut Option<(Node<'a>, usize)>,
    node: Node<'a>,
    line: usize,
) -> Option<()> {
    match stack.last_mut() {
        Some(Frame::Map { entries, key, .. }) => match key.take() {
            Some(k) => entries.push((k, node)),
            None => {
                // Keys are plain strings, once per mapping. Why: complex, typed or merge (`<<`) keys, and duplicates,
                // are each handled in their own way by the complete reader.
                let Node::Scalar { text, plain } = node else {
                    return None;
                };
                if (plain && !clearly_string(text.as_str())) || text.as_str() == "<<" {
                    return None;
                }
                // Why a bound: each key is checked against the others; a mapping this wide is for the complete
                // reader, whose lookups do not grow with it.
                if entries.len() >= MAX_KEYS || entries.iter().any(|(k, _)| k.as_str() == text.as_str()) {
                    return None;
                }
                *key = Some(text);
            }
        },
        Some(Frame::Seq { .. }) => {}
        None => *root = Some((node, line)),
    }
    Some(())
}

/// What the complete reader makes of a document, for the shapes handled here.
fn object(root: Node) -> Option<Object> {
    let Node::Map(entries) = root else { return None };
    let mut doc = Doc::default();
    for (key, value) in entries {
        match key.as_str() {
            "apiVersion" => doc.api_version = opt_string(value)?,
            "kind" => doc.kind = opt_string(value)?,
            "metadata" => doc.metadata = meta(value)?,
            "data" => doc.data = Some(value),
            "stringData" => doc.string_data = Some(value),
            "type" => doc.type_ = opt_string(value)?,
            "immutable" => doc.immutable = opt_bool(value)?,
            "spec" => doc.spec = Some(value),
            // Lists and status are for the complete reader.
            "items" | "status" => return None,
            _ => {}
        }
    }
    if doc.kind.as_deref().is_some_and(|k| k.ends_with("List")) {
        return None;
    }
    // Every kind: `data` and `stringData` are mappings with string keys (checked on the way in).
    for items in [&doc.data, &doc.string_data].into_iter().flatten() {
        if !matches!(items, Node::Map(_)) && !null(items) {
            return None;
        }
    }
    match (doc.api_version.as_deref(), doc.kind.as_deref()) {
        (Some("v1") | None, Some("Secret")) => secret(doc),
        (_, Some(SEALED_SECRET_KIND)) => sealed(doc),
        _ => Some(Object::Other {
            api_version: doc.api_version,
            kind: doc.kind,
        }),
    }
}

#[derive(Default)]
struct Doc<'a> {
    api_version: Option<String>,
    kind: Option<String>,
    metadata: Option<ObjectMeta>,
    data: Option<Node<'a>>,
    string_data: Option<Node<'a>>,
    type_: Option<String>,
    immutable: Option<bool>,
    spec: Option<Node<'a>>,
}

fn secret(doc: Doc) -> Option<Object> {
    let mut data = BTreeMap::new();
    for (key, value) in opt_entries(doc.data)? {
        let value = string_text(value)?;
        let bytes = decode_base64(value.as_str()).ok()?;
        data.insert(key.as_str().to_string(), secret_value(bytes.to_vec()));
    }
    // `stringData` after `data`: a same-named entry wins, as in the complete reader.
    for (key, value) in opt_entries(doc.string_data)? {
        let value = string_text(value)?;
        data.insert(
            key.as_str().to_string(),
            secret_value(value.as_str().as_bytes().to_vec()),
        );
    }
    Some(Object::Secret(Box::new(Secret {
        metadata: doc.metadata.unwrap_or_default(),
        type_: doc.type_,
        immutable: doc.immutable,
        data,
    })))
}

fn sealed(doc: Doc) -> Option<Object> {
    let Some(Node::Map(fields)) = doc.spec else { return None };
    let mut spec = SealedSecretSpec::default();
    for (key, value) in fields {
        match key.as_str() {
            "encryptedData" => spec.encrypted_data = string_map(value)?,
            "template" => spec.template = template(value)?,
            "data" => spec.data = opt_string(value)?,
            _ => return None,
        }
    }
    Some(Object::SealedSecret(Box::new(SealedSecret {
        kind: SEALED_SECRET_KIND.to_string(),
        api_version: doc.api_version.unwrap_or_default(),
        metadata: doc.metadata.unwrap_or_default(),
        spec,
        status: None,
    })))
}

fn template(node: Node) -> Option<Option<SecretTemplateSpec>> {
    nullable(node, |node| {
        let mut template = SecretTemplateSpec::default();
        for (key, value) in entries(node)? {
            match key.as_str() {
                "metadata" => template.metadata = meta(value)?,
                "type" => template.type_ = opt_string(value)?,
                "immutable" => template.immutable = opt_bool(value)?,
                "data" => template.data = nullable(value, string_map)?,
                _ => return None,
            }
        }
        Some(template)
    })
}

/// Metadata with name, namespace, generateName, labels, annotations and a null creationTimestamp (as `kubectl
/// create --dry-run` and kubeseal write it); `Some(None)` for a null.
fn meta(node: Node) -> Option<Option<ObjectMeta>> {
    nullable(node, |node| {
        let mut meta = ObjectMeta::default();
        for (key, value) in entries(node)? {
            match key.as_str() {
                "name" => meta.name = opt_string(value)?,
                "namespace" => meta.namespace = opt_string(value)?,
                "generateName" => meta.generate_name = opt_string(value)?,
                "labels" => meta.labels = nullable(value, string_map)?,
                "annotations" => meta.annotations = nullable(value, string_map)?,
                "creationTimestamp" if null(&value) => {}
                _ => return None,
            }
        }
        Some(meta)
    })
}

/// `Some(None)` for a null, else what `read` makes of the node (`None`: give up).
fn nullable<'a, T>(node: Node<'a>, read: impl FnOnce(Node<'a>) -> Option<T>) -> Option<Option<T>> {
    if null(&node) { Some(None) } else { read(node).map(Some) }
}

/// A mapping's entries; anything else gives up.
fn entries(node: Node) -> Option<Vec<(Text, Node)>> {
    let Node::Map(entries) = node else { return None };
    Some(entries)
}

/// An optional mapping's entries: absent and null are empty.
fn opt_entries(node: Option<Node>) -> Option<Vec<(Text, Node)>> {
    match node {
        Some(node) => nullable(node, entries).map(Option::unwrap_or_default),
        None => Some(Vec::new()),
    }
}

fn string_map(node: Node) -> Option<BTreeMap<String, String>> {
    entries(node)?
        .into_iter()
        .map(|(k, v)| Some((k.as_str().to_string(), string_text(v)?.as_str().to_string())))
        .collect()
}

/// A scalar that is a string in every YAML schema.
fn string_text(node: Node) -> Option<Text> {
    match node {
        Node::Scalar { text, plain } if !plain || clearly_string(text.as_str()) => Some(text),
        _ => None,
    }
}

/// `None` for a null, the string for a clear string; anything else gives up.
fn opt_string(node: Node) -> Option<Option<String>> {
    nullable(node, |node| string_text(node).map(|t| t.as_str().to_string()))
}

fn opt_bool(node: Node) -> Option<Option<bool>> {
    match node {
        Node::Scalar { text, plain: true } => match text.as_str() {
            "true" => Some(Some(true)),
            "false" => Some(Some(false)),
            t if is_null(t) => Some(None),
            _ => None,
        },
        _ => None,
    }
}

fn null(node: &Node) -> bool {
    matches!(node, Node::Scalar { text, plain: true } if is_null(text.as_str()))
}
