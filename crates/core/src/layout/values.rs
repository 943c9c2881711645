//! The values of a YAML stream as `serde_json::Value`s, built from the same parser events as the span index, for
//! the shapes whose value no reader could see differently; anything else gives up and leaves the documents to
//! serde-saphyr.

use granit_parser::Event;
use serde_json::{Map, Value};

use crate::budget::Tally;
use crate::plain;

/// Deepest nesting built here; serde-saphyr's own limit is 64.
const MAX_DEPTH: usize = 48;
/// Most nodes in one document built here; serde-saphyr's own budget is 250,000.
const MAX_NODES: usize = 100_000;

enum Frame {
    Map(Map<String, Value>, Option<String>),
    Seq(Vec<Value>),
}

/// The builder, fed by the indexer.
#[derive(Default)]
pub(super) struct Values {
    gave_up: bool,
    stack: Vec<Frame>,
    root: Option<Value>,
    nodes: usize,
    tally: Tally,
    done: Vec<Value>,
}

impl Values {
    pub(super) fn give_up(&mut self) {
        self.gave_up = true;
        self.stack.clear();
    }

    /// Counts every event of the stream (comments too) against the one-pass limits.
    pub(super) fn count(&mut self, event: &Event) {
        if !self.gave_up && !self.tally.observe(event) {
            self.give_up();
        }
    }

    pub(super) fn start_document(&mut self, directive: bool) {
        // Why: a `%YAML 1.1` document may type plain scalars differently.
        if directive {
            self.give_up();
        }
        self.nodes = 0;
        self.root = None;
    }

    pub(super) fn end_document(&mut self) {
        if !self.gave_up {
            self.done.push(self.root.take().unwrap_or(Value::Null));
        }
    }

    pub(super) fn open(&mut self, mapping: bool, properties: bool) {
        // A collection as a mapping key is a complex key.
        let complex_key = matches!(self.stack.last(), Some(Frame::Map(_, None)));
        if self.gave_up || properties || complex_key || self.stack.len() >= MAX_DEPTH {
            return self.give_up();
        }
        self.stack.push(if mapping {
            Frame::Map(Map::new(), None)
        } else {
            Frame::Seq(Vec::new())
        });
    }

    pub(super) fn close(&mut self) {
        if self.gave_up {
            return;
        }
        let value = match self.stack.pop() {
            Some(Frame::Map(map, None)) => Value::Object(map),
            Some(Frame::Seq(items)) => Value::Array(items),
            _ => return self.give_up(),
        };
        self.attach(value);
    }

    pub(super) fn scalar(&mut self, text: &str, plain: bool, properties: bool) {
        if self.gave_up {
            return;
        }
        if properties {
            return self.give_up();
        }
        if let Some(Frame::Map(map, key @ None)) = self.stack.last_mut() {
            // Keys are strings in every schema, once per mapping, and never the merge key.
            if (plain && !plain::clearly_string(text)) || text == "<<" || map.contains_key(text) {
                return self.give_up();
            }
            *key = Some(text.to_string());
            return;
        }
        let value = if plain {
            match plain::value(text) {
                Some(v) => v,
                None => return self.give_up(),
            }
        } else {
            Value::String(text.to_string())
        };
        self.attach(value);
    }

    fn attach(&mut self, value: Value) {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return self.give_up();
        }
        match self.stack.last_mut() {
            Some(Frame::Map(map, key)) => {
                if let Some(key) = key.take() {
                    map.insert(key, value);
                }
            }
            Some(Frame::Seq(items)) => items.push(value),
            None => self.root = Some(value),
        }
    }

    /// One value per document, or `None` if any part of the stream was given up on.
    pub(super) fn finish(self) -> Option<Vec<Value>> {
        (!self.gave_up).then_some(self.done)
    }
}
