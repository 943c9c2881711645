//! Parser messages without the input's values: what an error about a manifest may say.

pub(super) fn json_reason(e: &serde_json::Error) -> String {
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
