//! Surgical edits: set values and add keys in one document, changing only those bytes.

use std::ops::Range;

use super::render::{double_quoted, render_in_style, render_scalar};
use super::{Document, EditError, Entry, Node, NodeKind, Style, index};

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
