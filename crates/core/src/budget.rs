//! The limits of the one-pass readers (the manifest skim, lint's values): the complete reader's parser options,
//! and half its budget per document, so that whatever a one-pass reader reads the complete reader reads too.

/// Events (comments included) in one document before a one-pass reader gives up; serde-saphyr allows 1,000,000.
const MAX_EVENTS: usize = 500_000;
/// Bytes of scalar and comment text in one document before a one-pass reader gives up; serde-saphyr allows 64 MiB
/// of each (counted decoded, as here).
const MAX_TEXT_BYTES: usize = 16 << 20;

/// The parser options serde-saphyr uses by default. Why the same: the parser's own limits (a long simple key,
/// deep flow nesting, comments buffered between a key and its value) are errors there, and a pass with looser
/// ones would read a file the complete reader refuses.
pub(crate) fn parser_options() -> granit_parser::Options {
    let budget = serde_saphyr::Budget::default();
    granit_parser::options! {
        simple_key_max_lookahead: budget.simple_key_max_lookahead,
        flow_nesting_limit: budget.flow_nesting_limit,
        max_buffered_comment_events: budget.max_buffered_comment_events,
    }
}

/// What the current document has cost so far.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    events: usize,
    text: usize,
}

impl Tally {
    /// Counts one parser event (a document start begins a new count; scalars and comments count their text);
    /// `false` once the document is past the one-pass limits (well inside the complete reader's budget, which
    /// then decides).
    pub(crate) fn observe(&mut self, event: &granit_parser::Event) -> bool {
        use granit_parser::Event;
        let text = match event {
            Event::DocumentStart(..) => {
                *self = Self::default();
                0
            }
            Event::Scalar(text, ..) | Event::Comment(text, _) => text.len(),
            _ => 0,
        };
        self.events += 1;
        self.text = self.text.saturating_add(text);
        self.events <= MAX_EVENTS && self.text <= MAX_TEXT_BYTES
    }
}
