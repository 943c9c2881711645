//! Where things are in a YAML file: document boundaries, node spans and positions, and surgical edits that
//! change only the bytes of the values they set, so comments, key order and indentation survive and
//! `git diff` shows only what changed.
//!
//! The tree keeps byte spans, not values: only mapping keys are stored as text, so indexing a plaintext
//! Secret does not copy its values.

use std::ops::Range;

use granit_parser::{Event, Parser, ScalarStyle, StructureStyle};

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
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut current: Option<(usize, usize, Option<Node>)> = None;
    let mut number = 0;
    for event in Parser::new_from_str(source) {
        let (event, span) = event.map_err(|e| SyntaxError {
            line: e.marker().line(),
            column: e.marker().col() + 1,
            document: number.max(1),
            message: e.info().to_string(),
        })?;
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
            Event::DocumentStart(..) => {
                number += 1;
                current = Some((start, span.start.line(), None));
                continue;
            }
            Event::DocumentEnd => {
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
            Event::MappingStart(style, ..) | Event::SequenceStart(style, ..) => {
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
            Event::Scalar(value, style, ..) => {
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
            Event::Alias(..) => here(NodeKind::Alias, Style::Plain, start..end),
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

/// Renders a string as a YAML scalar: plain when that reads back as the same string, else double-quoted.
pub fn render_scalar(value: &str) -> String {
    if is_plain_safe(value) {
        value.to_string()
    } else {
        double_quoted(value)
    }
}

fn render_in_style(value: &str, style: Style) -> String {
    match style {
        Style::SingleQuoted if !value.contains(['\n', '\r', '\t']) => {
            format!("'{}'", value.replace('\'', "''"))
        }
        Style::DoubleQuoted => double_quoted(value),
        _ => render_scalar(value),
    }
}

fn double_quoted(value: &str) -> String {
    // JSON string escapes are valid YAML double-quoted escapes.
    serde_json::to_string(value).unwrap_or_else(|_| "\"\"".to_string())
}

/// True when `value` can be written unquoted and reads back as the same string (YAML 1.1 and 1.2).
pub fn is_plain_safe(value: &str) -> bool {
    let Some(first) = value.chars().next() else {
        return false;
    };
    let reserved = matches!(
        value.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~"
    );
    !reserved
        && !"-?:,[]{}#&*!|>'\"%@` \t".contains(first)
        && !value.ends_with([' ', ':'])
        && !value.contains(": ")
        && !value.contains(" #")
        && !value.chars().any(|c| c.is_control())
        && value.parse::<f64>().is_err()
        && !value.starts_with("0x")
        && !value.starts_with("0o")
        && !looks_like_date(value)
}

fn looks_like_date(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() >= 10 && b[4] == b'-' && b[7] == b'-' && b[..4].iter().all(u8::is_ascii_digit)
}

/// Collects edits to one document and applies them all at once.
pub struct Editor<'a> {
    source: &'a str,
    root: &'a Node,
    edits: Vec<(Range<usize>, String)>,
    /// New keys, grouped by the mapping they go into (keyed by its start offset), as a tree of new entries.
    inserts: Vec<(&'a Node, Tree)>,
}

/// New entries to add under one mapping.
#[derive(Debug, Default)]
struct Tree(std::collections::BTreeMap<String, Leaf>);

#[derive(Debug)]
enum Leaf {
    Value(String),
    Nested(Tree),
}

impl Tree {
    fn add(&mut self, path: &[&str], value: &str) {
        match path {
            [] => {}
            [key] => {
                self.0.insert((*key).to_string(), Leaf::Value(value.to_string()));
            }
            [key, rest @ ..] => {
                let entry = self
                    .0
                    .entry((*key).to_string())
                    .or_insert_with(|| Leaf::Nested(Tree::default()));
                if let Leaf::Value(_) = entry {
                    *entry = Leaf::Nested(Tree::default());
                }
                if let Leaf::Nested(tree) = entry {
                    tree.add(rest, value);
                }
            }
        }
    }
}

impl<'a> Editor<'a> {
    /// Starts editing `doc` of `source`.
    pub fn new(source: &'a str, doc: &'a Document) -> Result<Self, EditError> {
        let root = doc
            .root
            .as_ref()
            .filter(|r| r.entries().is_some())
            .ok_or(EditError::NoRoot)?;
        Ok(Self {
            source,
            root,
            edits: Vec::new(),
            inserts: Vec::new(),
        })
    }

    /// Sets the string at `path` (mapping keys), creating missing mappings. An existing value keeps its
    /// position, quoting style where possible, and trailing comment; new keys go in sorted position when
    /// their siblings are sorted, else last, at their indentation.
    pub fn set(&mut self, path: &[&str], value: &str) -> Result<(), EditError> {
        let (last, parents) = path.split_last().ok_or(EditError::NoRoot)?;
        let mut node = self.root;
        for (depth, key) in parents.iter().enumerate() {
            let entries = node
                .entries()
                .ok_or_else(|| EditError::NotAMapping(path[..depth].join(".")))?;
            match entries.iter().find(|e| e.key == *key) {
                Some(entry) => node = &entry.value,
                None => return self.queue(node, &path[depth..], value),
            }
        }
        let entries = node
            .entries()
            .ok_or_else(|| EditError::NotAMapping(parents.join(".")))?;
        match entries.iter().find(|e| e.key == *last) {
            Some(entry) => self.replace(entry, value, path),
            None => self.queue(node, &[*last], value),
        }
    }

    fn queue(&mut self, mapping: &'a Node, rest: &[&str], value: &str) -> Result<(), EditError> {
        let index = match self.inserts.iter().position(|(m, _)| std::ptr::eq(*m, mapping)) {
            Some(i) => i,
            None => {
                self.inserts.push((mapping, Tree::default()));
                self.inserts.len() - 1
            }
        };
        self.inserts[index].1.add(rest, value);
        Ok(())
    }

    fn replace(&mut self, entry: &Entry, value: &str, path: &[&str]) -> Result<(), EditError> {
        let node = &entry.value;
        match (&node.kind, node.style) {
            (NodeKind::Scalar, Style::Block) => {
                // Replace from just after the key's colon, so the block indicator goes too.
                let colon = self.source[entry.key_node.span.end..node.span.start]
                    .find(':')
                    .map_or(node.span.start, |i| entry.key_node.span.end + i + 1);
                let text = format!(" {}\n", render_scalar(value));
                self.edits.push((colon..node.span.end, text));
                Ok(())
            }
            (NodeKind::Scalar, style) => {
                self.edits.push((node.span.clone(), render_in_style(value, style)));
                Ok(())
            }
            // An empty value (`key:`) parses as a plain null scalar; anything else is a collection.
            _ => Err(EditError::NotAScalar(path.join("."))),
        }
    }

    fn insert(&mut self, mapping: &Node, tree: &Tree) -> Result<(), EditError> {
        let entries = mapping.entries().ok_or(EditError::NoRoot)?;
        if mapping.style == Style::Flow {
            let close = mapping.span.end.saturating_sub(1);
            let mut sep = if entries.is_empty() { "" } else { ", " };
            let mut text = String::new();
            for (key, leaf) in &tree.0 {
                text.push_str(sep);
                text.push_str(&flow_entry(key, leaf));
                sep = ", ";
            }
            self.edits.push((close..close, text));
            return Ok(());
        }
        let indent = " ".repeat(mapping.column);
        let step = self.indent_step();
        let sorted = entries.windows(2).all(|w| w[0].key <= w[1].key);
        for (key, leaf) in &tree.0 {
            let mut text = String::new();
            block_entry(&mut text, key, leaf, &indent, step);
            if let Some(next) = entries.iter().find(|e| sorted && e.key.as_str() > key.as_str()) {
                let at = line_start(self.source, next.key_node.span.start);
                self.edits.push((at..at, format!("{text}\n")));
            } else {
                let last = entries.last().map_or(mapping.span.end, |e| e.value.span.end);
                let at = line_end(self.source, last);
                if at > 0 && self.source.as_bytes()[at - 1] == b'\n' {
                    self.edits.push((at..at, format!("{text}\n")));
                } else {
                    self.edits.push((at..at, format!("\n{text}")));
                }
            }
        }
        Ok(())
    }

    /// The indentation step the document uses (2 when it has no nested block mapping).
    fn indent_step(&self) -> usize {
        fn walk(node: &Node) -> Option<usize> {
            for e in node.entries()? {
                if e.value.style == Style::Indented && e.value.entries().is_some() {
                    return e.value.column.checked_sub(e.key_node.column).filter(|s| *s > 0);
                }
            }
            None
        }
        walk(self.root).unwrap_or(2)
    }

    /// Applies the edits and returns the new text.
    pub fn finish(mut self) -> Result<String, EditError> {
        for (mapping, tree) in std::mem::take(&mut self.inserts) {
            self.insert(mapping, &tree)?;
        }
        // Stable sort: insertions at the same offset keep their (key) order.
        self.edits.sort_by_key(|(r, _)| (r.start, r.end));
        if self.edits.windows(2).any(|w| w[0].0.end > w[1].0.start) {
            return Err(EditError::Overlap);
        }
        let mut out = String::with_capacity(self.source.len() + 1024);
        let mut pos = 0;
        for (range, text) in &self.edits {
            out.push_str(&self.source[pos..range.start]);
            out.push_str(text);
            pos = range.end;
        }
        out.push_str(&self.source[pos..]);
        // Why the result is parsed again: an edit must never turn a valid file into a broken one (a mapping
        // indented with tabs has no indentation a new key can copy; found by fuzzing). Refusing loses nothing.
        if !self.edits.is_empty() && index(&out).map(|docs| docs.len()) != index(self.source).map(|docs| docs.len()) {
            return Err(EditError::WouldBreak);
        }
        Ok(out)
    }
}

fn block_entry(out: &mut String, key: &str, leaf: &Leaf, indent: &str, step: usize) {
    out.push_str(indent);
    out.push_str(&render_scalar(key));
    out.push(':');
    match leaf {
        Leaf::Value(v) => {
            out.push(' ');
            out.push_str(&render_scalar(v));
        }
        Leaf::Nested(tree) => {
            let inner = format!("{indent}{}", " ".repeat(step));
            for (k, l) in &tree.0 {
                out.push('\n');
                block_entry(out, k, l, &inner, step);
            }
        }
    }
}

fn flow_entry(key: &str, leaf: &Leaf) -> String {
    match leaf {
        Leaf::Value(v) => format!("{}: {}", render_scalar(key), double_quoted(v)),
        Leaf::Nested(tree) => {
            let inner: Vec<String> = tree.0.iter().map(|(k, l)| flow_entry(k, l)).collect();
            format!("{}: {{{}}}", render_scalar(key), inner.join(", "))
        }
    }
}

fn line_start(source: &str, at: usize) -> usize {
    source[..at].rfind('\n').map_or(0, |i| i + 1)
}

fn line_end(source: &str, at: usize) -> usize {
    if at > 0 && source.as_bytes()[at - 1] == b'\n' {
        return at;
    }
    source[at..].find('\n').map_or(source.len(), |i| at + i)
}

/// Sets every `(path, value)` in document `number` (1-based) of `source`, keeping everything else byte for byte.
pub fn edit_document(source: &str, number: usize, paths: &[(Vec<String>, String)]) -> Result<String, EditError> {
    let docs = index(source)?;
    let doc = docs
        .iter()
        .find(|d| d.number == number)
        .ok_or(EditError::NoDocument(number))?;
    let mut editor = Editor::new(source, doc)?;
    for (path, value) in paths {
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        editor.set(&path, value).map_err(|e| EditError::At {
            path: path.join("."),
            cause: Box::new(e),
        })?;
    }
    editor.finish()
}

/// 1-based line and column of a byte offset.
pub fn position(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
# Database credentials for prod
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  name: db   # the app's name
  namespace: prod
spec:
  encryptedData:
    password: AgAAA   # rotated 2026-01
    username: 'AgBBB'
  template:
    metadata:
      name: db
---
kind: Other
";

    fn set(source: &str, path: &[&str], value: &str) -> String {
        let docs = index(source).unwrap();
        let mut ed = Editor::new(source, &docs[0]).unwrap();
        ed.set(path, value).unwrap();
        ed.finish().unwrap()
    }

    #[test]
    fn documents_are_split_with_their_lines() {
        let docs = index(FILE).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].line, 2);
        assert_eq!(docs[1].line, 15);
        let root = docs[0].root.as_ref().unwrap();
        let pw = root.at(&["spec", "encryptedData", "password"]).unwrap();
        assert_eq!(&FILE[pw.span.clone()], "AgAAA");
        assert_eq!(pw.line, 9);
    }

    #[test]
    fn replacing_a_value_keeps_comments_and_quoting() {
        let out = set(FILE, &["spec", "encryptedData", "password"], "AgNEW");
        assert_eq!(out, FILE.replace("password: AgAAA", "password: AgNEW"));
        let out = set(FILE, &["spec", "encryptedData", "username"], "AgNEW");
        assert_eq!(out, FILE.replace("'AgBBB'", "'AgNEW'"));
    }

    #[test]
    fn new_keys_go_in_sorted_position_at_sibling_indentation() {
        let out = set(FILE, &["spec", "encryptedData", "token"], "AgTOK");
        assert_eq!(out, FILE.replace("    username:", "    token: AgTOK\n    username:"));
        let out = set(FILE, &["spec", "encryptedData", "zz"], "AgZ");
        assert_eq!(out, FILE.replace("'AgBBB'\n", "'AgBBB'\n    zz: AgZ\n"));
    }

    #[test]
    fn an_insert_that_would_break_the_yaml_is_refused_not_written() {
        // Found by fuzzing (fuzz/seeds/layout_roundtrip/regression-tab-indented-mapping): a mapping after a tab.
        let source = "\t:";
        let docs = index(source).unwrap();
        let mut ed = Editor::new(source, &docs[0]).unwrap();
        ed.set(&["metadata", "name"], "x").unwrap();
        assert!(matches!(ed.finish(), Err(EditError::WouldBreak)));
    }

    #[test]
    fn missing_mappings_are_created() {
        let out = set(FILE, &["spec", "template", "metadata", "labels", "app"], "db");
        assert_eq!(
            out,
            FILE.replace("      name: db\n", "      labels:\n        app: db\n      name: db\n")
        );
    }

    #[test]
    fn several_new_keys_under_one_new_mapping_share_it() {
        let docs = index(FILE).unwrap();
        let mut ed = Editor::new(FILE, &docs[0]).unwrap();
        ed.set(&["metadata", "annotations", "b"], "2").unwrap();
        ed.set(&["metadata", "annotations", "a"], "1").unwrap();
        let out = ed.finish().unwrap();
        assert_eq!(
            out,
            FILE.replace(
                "  name: db   #",
                "  annotations:\n    a: \"1\"\n    b: \"2\"\n  name: db   #"
            )
        );
    }

    #[test]
    fn empty_flow_mappings_take_new_keys() {
        let src = "spec:\n  encryptedData: {}\n  x: 1\n";
        let out = set(src, &["spec", "encryptedData", "a"], "AgA");
        assert_eq!(out, "spec:\n  encryptedData: {a: \"AgA\"}\n  x: 1\n");
    }

    #[test]
    fn block_scalars_are_replaced_without_touching_the_next_key() {
        let src = "data:\n  a: |\n    line\n  b: x\n";
        let out = set(src, &["data", "a"], "new");
        assert_eq!(out, "data:\n  a: new\n  b: x\n");
    }

    #[test]
    fn values_that_would_change_type_are_quoted() {
        for v in ["true", "0123", "1e3", "", "a: b", "-x", "2026-01-01", "null", "x #y"] {
            assert_eq!(render_scalar(v), double_quoted(v), "{v}");
        }
        assert_eq!(render_scalar("AgB+/x=="), "AgB+/x==");
    }

    #[test]
    fn deep_nesting_is_rejected_not_overflowed() {
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        let err = index(&deep).unwrap_err();
        assert_eq!((err.line, err.document), (1, 1), "{err}");
    }

    #[test]
    fn position_counts_lines_and_columns_from_one() {
        assert_eq!(position("ab\ncd", 4), (2, 2));
        assert_eq!(position("ab", 0), (1, 1));
    }
}
