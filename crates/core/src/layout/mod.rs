//! Where things are in a YAML file: document boundaries, node spans and positions, and surgical edits that
//! change only the bytes of the values they set, so comments, key order and indentation survive and
//! `git diff` shows only what changed.
//!
//! The tree keeps byte spans, not values: only mapping keys are stored as text, so indexing a plaintext
//! Secret does not copy its values.

use std::ops::Range;

use granit_parser::{Event, Parser, ScalarStyle, StructureStyle};

mod edit;
mod render;
#[cfg(test)]
mod tests;
mod values;

pub use edit::{Editor, edit_document};
pub use render::{is_plain_safe, render_scalar};

/// Deepest nesting accepted; deeper input is rejected instead of risking the stack.
pub const MAX_DEPTH: usize = 128;

/// A YAML syntax problem, with its position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line} column {column}: {message}")]
pub struct SyntaxError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// 1-based number of the document the error is in.
    pub document: usize,
    /// What is wrong (never a copy of the input).
    pub message: String,
}

/// An edit that cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    /// A path element is not a mapping.
    #[error("`{0}` is not a mapping")]
    NotAMapping(String),
    /// The target exists but is not a scalar.
    #[error("`{0}` is not a scalar value")]
    NotAScalar(String),
    /// The document has no root mapping.
    #[error("the document is not a mapping")]
    NoRoot,
    /// Two edits overlap (a bug in the caller).
    #[error("overlapping edits")]
    Overlap,
    /// The edited text would no longer parse as the same stream (e.g. new keys in a mapping indented with tabs).
    #[error("the edit would leave YAML that no longer parses; edit this file by hand")]
    WouldBreak,
    /// The source does not parse.
    #[error(transparent)]
    Syntax(#[from] SyntaxError),
    /// There is no document with that number.
    #[error("document {0} vanished")]
    NoDocument(usize),
    /// A path could not be set.
    #[error("cannot set {path}: {cause}")]
    At {
        /// The dotted path.
        path: String,
        /// Why (printed in the message).
        cause: Box<EditError>,
    },
}

/// How a node is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Unquoted scalar.
    Plain,
    /// `'…'`.
    SingleQuoted,
    /// `"…"`.
    DoubleQuoted,
    /// `|` or `>`.
    Block,
    /// `{…}` or `[…]`.
    Flow,
    /// Indented collection.
    Indented,
}

/// What a node is.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A scalar (its text is `&source[span]`).
    Scalar,
    /// A mapping, with its entries in source order.
    Mapping(Vec<Entry>),
    /// A sequence.
    Sequence(Vec<Node>),
    /// An alias (`*name`).
    Alias,
}

/// One `key: value` pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key's text (empty for a complex key).
    pub key: String,
    /// The key node.
    pub key_node: Node,
    /// The value node.
    pub value: Node,
}

/// A node and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What it is.
    pub kind: NodeKind,
    /// How it is written.
    pub style: Style,
    /// Byte range in the source. For block scalars, up to the end of the last content line.
    pub span: Range<usize>,
    /// 1-based line of the start.
    pub line: usize,
    /// 0-based column of the start.
    pub column: usize,
}

impl Node {
    /// The entries, if this is a mapping.
    pub fn entries(&self) -> Option<&[Entry]> {
        match &self.kind {
            NodeKind::Mapping(e) => Some(e),
            _ => None,
        }
    }

    /// The value under `key`, if this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries()?.iter().find(|e| e.key == key).map(|e| &e.value)
    }

    /// The node at a path of mapping keys.
    pub fn at(&self, path: &[&str]) -> Option<&Node> {
        path.iter().try_fold(self, |node, key| node.get(key))
    }
}

/// One document of a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// 1-based position in the stream, counting empty documents too.
    pub number: usize,
    /// Byte range of the whole document, markers included.
    pub span: Range<usize>,
    /// 1-based line where the content starts.
    pub line: usize,
    /// The root node; `None` for an empty document.
    pub root: Option<Node>,
}

enum Frame {
    Mapping {
        start: Node,
        entries: Vec<Entry>,
        key: Option<(String, Node)>,
    },
    Sequence {
        start: Node,
        items: Vec<Node>,
    },
}

/// Indexes every document of a YAML stream.
pub fn index(source: &str) -> Result<Vec<Document>, SyntaxError> {
    index_stream(source, None)
}

/// Indexes every document of a YAML stream and, in the same pass, reads each document's value (one per
/// document, `Null` for an empty one) exactly as serde-saphyr reads a `serde_json::Value`; the values are `None`
/// when the stream has anything that reader treats in its own way (anchors and aliases, tags, directives, merge
/// or duplicate keys, complex keys, plain scalars whose type depends on the schema, deep nesting): read those
/// documents with serde-saphyr.
#[allow(clippy::type_complexity)]
pub fn index_with_values(source: &str) -> Result<(Vec<Document>, Option<Vec<serde_json::Value>>), SyntaxError> {
    let mut values = values::Values::default();
    let docs = index_stream(source, Some(&mut values))?;
    Ok((docs, values.finish()))
}

fn index_stream(source: &str, mut values: Option<&mut values::Values>) -> Result<Vec<Document>, SyntaxError> {
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut current: Option<(usize, usize, Option<Node>)> = None;
    let mut number = 0;
    for event in Parser::new_from_str_with_options(source, crate::budget::parser_options()) {
        let (event, span) = event.map_err(|e| SyntaxError {
            line: e.marker().line(),
            column: e.marker().col() + 1,
            document: number.max(1),
            message: e.info().to_string(),
        })?;
        if let Some(v) = values.as_deref_mut() {
            v.count(&event);
        }
        let start = span.start.byte_offset().unwrap_or(0);
        let end = span.end.byte_offset().unwrap_or(start);
        let here = |kind, style, range: Range<usize>| Node {
            kind,
            style,
            span: range,
            line: span.start.line(),
            column: span.start.col(),
        };
        let node = match event {
            Event::DocumentStart(_, version) => {
                if let Some(v) = values.as_deref_mut() {
                    v.start_document(version.is_some());
                }
                number += 1;
                current = Some((start, span.start.line(), None));
                continue;
            }
            Event::DocumentEnd => {
                if let Some(v) = values.as_deref_mut() {
                    v.end_document();
                }
                if let Some((doc_start, line, root)) = current.take() {
                    let doc_end = end.max(root.as_ref().map_or(doc_start, |r| r.span.end));
                    let line = root.as_ref().map_or(line, |r| r.line);
                    let root = root.filter(|r| !is_null_scalar(source, r));
                    docs.push(Document {
                        number,
                        span: doc_start..doc_end,
                        line,
                        root,
                    });
                }
                continue;
            }
            Event::MappingStart(style, anchor, ref tag) | Event::SequenceStart(style, anchor, ref tag) => {
                if let Some(v) = values.as_deref_mut() {
                    v.open(matches!(event, Event::MappingStart(..)), anchor != 0 || tag.is_some());
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(SyntaxError {
                        line: span.start.line(),
                        column: span.start.col() + 1,
                        document: number,
                        message: format!("nesting deeper than {MAX_DEPTH} levels"),
                    });
                }
                let style = if style == StructureStyle::Flow {
                    Style::Flow
                } else {
                    Style::Indented
                };
                let start = here(NodeKind::Scalar, style, start..end);
                stack.push(if matches!(event, Event::MappingStart(..)) {
                    Frame::Mapping {
                        start,
                        entries: Vec::new(),
                        key: None,
                    }
                } else {
                    Frame::Sequence {
                        start,
                        items: Vec::new(),
                    }
                });
                continue;
            }
            Event::MappingEnd | Event::SequenceEnd => {
                if let Some(v) = values.as_deref_mut() {
                    v.close();
                }
                let Some(frame) = stack.pop() else { continue };
                let (mut node, last_end) = match frame {
                    Frame::Mapping { mut start, entries, .. } => {
                        let last = entries.last().map(|e| e.value.span.end);
                        start.kind = NodeKind::Mapping(entries);
                        (start, last)
                    }
                    Frame::Sequence { mut start, items } => {
                        let last = items.last().map(|n| n.span.end);
                        start.kind = NodeKind::Sequence(items);
                        (start, last)
                    }
                };
                node.span.end = if node.style == Style::Flow {
                    end
                } else {
                    last_end.unwrap_or(node.span.start)
                };
                node
            }
            Event::Scalar(value, style, anchor, tag) => {
                if let Some(v) = values.as_deref_mut() {
                    v.scalar(&value, style == ScalarStyle::Plain, anchor != 0 || tag.is_some());
                }
                let (style, range) = match style {
                    ScalarStyle::Plain => (Style::Plain, start..end),
                    ScalarStyle::SingleQuoted => (Style::SingleQuoted, start..end),
                    ScalarStyle::DoubleQuoted => (Style::DoubleQuoted, start..end),
                    _ => (Style::Block, start..block_end(source, start, end)),
                };
                let node = here(NodeKind::Scalar, style, range);
                // Only a mapping key keeps its text; values stay in the source.
                if let Some(Frame::Mapping { key: key @ None, .. }) = stack.last_mut() {
                    *key = Some((value.into_owned(), node));
                    continue;
                }
                node
            }
            Event::Alias(..) => {
                if let Some(v) = values.as_deref_mut() {
                    v.give_up();
                }
                here(NodeKind::Alias, Style::Plain, start..end)
            }
            _ => continue,
        };
        attach(&mut stack, &mut current, node);
    }
    Ok(docs)
}

fn attach(stack: &mut [Frame], current: &mut Option<(usize, usize, Option<Node>)>, node: Node) {
    match stack.last_mut() {
        Some(Frame::Mapping { entries, key, .. }) => match key.take() {
            Some((key, key_node)) => entries.push(Entry {
                key,
                key_node,
                value: node,
            }),
            None => *key = Some((String::new(), node)),
        },
        Some(Frame::Sequence { items, .. }) => items.push(node),
        None => {
            if let Some((_, _, root)) = current.as_mut() {
                *root = Some(node);
            }
        }
    }
}

fn is_null_scalar(source: &str, node: &Node) -> bool {
    node.kind == NodeKind::Scalar
        && node.style == Style::Plain
        && matches!(source[node.span.clone()].trim(), "" | "~" | "null" | "Null" | "NULL")
}

/// A block scalar's span from the parser runs into the next line's indentation; cut it after the last
/// line break so that edits never eat the following key's indentation.
fn block_end(source: &str, start: usize, end: usize) -> usize {
    source[start..end].rfind('\n').map_or(end, |i| start + i + 1)
}

/// 1-based line and column of a byte offset.
pub fn position(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}
