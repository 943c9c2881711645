//! Manifests as values with positions: a `serde_json::Value` (aliases resolved) for the rules, and
//! sealant-core's span index for the line and column of any path the rules point at. YAML is read once when its
//! values are plain, twice (the index, then serde-saphyr) when they are not; JSON objects twice.

use sealant_core::layout::{self, Node, NodeKind};
use serde_json::Value;

/// A step of a path into a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// A path into a document.
pub type Path = Vec<Step>;

/// Builds a path from keys.
pub fn keys(parts: &[&str]) -> Path {
    parts.iter().map(|p| Step::Key((*p).to_string())).collect()
}

/// One document of a file.
pub struct Document {
    /// 1-based number in the file.
    pub number: usize,
    /// The content.
    pub value: Value,
    /// The positioned tree, when the span index could read it.
    node: Option<Node>,
    /// First line of the document.
    pub line: usize,
}

impl Document {
    /// Line and column (1-based) of `path`, or of the deepest part of it that exists.
    pub fn position(&self, path: &[Step]) -> (usize, usize) {
        let Some(mut node) = self.node.as_ref() else {
            return (self.line, 1);
        };
        for step in path {
            let next = match (&node.kind, step) {
                (NodeKind::Mapping(entries), Step::Key(k)) => entries.iter().find(|e| &e.key == k).map(|e| &e.value),
                (NodeKind::Sequence(items), Step::Index(i)) => items.get(*i),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        (node.line, node.column + 1)
    }
}

/// A file that could not be read as manifests.
#[derive(Debug)]
pub struct ParseProblem {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong (never the input text).
    pub message: String,
}

/// Reads a YAML stream: positions and values in one pass over the parser's events where the values are plain
/// (see `layout::index_with_values`), else each document once more through serde-saphyr.
pub fn yaml(text: &str) -> Result<Vec<Document>, ParseProblem> {
    let (docs, values) = layout::index_with_values(text).map_err(|e| ParseProblem {
        line: e.line,
        column: e.column + 1,
        message: e.message,
    })?;
    let mut values = values.map(Vec::into_iter);
    let mut out = Vec::new();
    for doc in docs {
        let quick = values.as_mut().and_then(Iterator::next);
        let Some(root) = doc.root else { continue };
        let value = match quick {
            Some(value) => value,
            None => {
                let slice = &text[doc.span.clone()];
                let options = serde_saphyr::options! { with_snippet: false };
                serde_saphyr::from_str_with_options(slice, options).map_err(|e| ParseProblem {
                    line: doc.line,
                    column: 1,
                    message: e.without_snippet().to_string(),
                })?
            }
        };
        out.push(Document {
            number: doc.number,
            value,
            line: root.line,
            node: Some(root),
        });
    }
    Ok(out)
}

/// Reads one or more concatenated JSON values.
pub fn json(text: &str) -> Result<Vec<Document>, ParseProblem> {
    let mut out = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let mut start = 0;
    while let Some(next) = stream.next() {
        let end = stream.byte_offset();
        // serde_json says column 0 for an error at a line's start; SARIF and editors want 1-based positions.
        let value = next.map_err(|e| ParseProblem {
            line: e.line().max(1),
            column: e.column().max(1),
            message: format!("{:?} error", e.classify()).to_lowercase(),
        })?;
        let leading = text[start..end].len() - text[start..end].trim_start().len();
        let begin = start + leading;
        let line = text[..begin].matches('\n').count() + 1;
        // JSON is YAML flow syntax: the span index gives positions inside the object.
        let node = layout::index(&text[begin..end])
            .ok()
            .and_then(|mut d| d.drain(..).next())
            .and_then(|d| d.root)
            .map(|mut n| {
                shift(&mut n, line - 1);
                n
            });
        out.push(Document {
            number: out.len() + 1,
            value,
            node,
            line,
        });
        start = end;
    }
    Ok(out)
}

fn shift(node: &mut Node, lines: usize) {
    node.line += lines;
    match &mut node.kind {
        NodeKind::Mapping(entries) => {
            for e in entries {
                shift(&mut e.value, lines);
                e.key_node.line += lines;
            }
        }
        NodeKind::Sequence(items) => items.iter_mut().for_each(|n| shift(n, lines)),
        _ => {}
    }
}
