//! How plain YAML scalars are typed, told conservatively: the quick readers take only the scalars every YAML
//! schema (and the complete reader) types the same way, and give up on the rest.

pub(crate) fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

/// A plain scalar no YAML schema reads as anything but a string.
pub(crate) fn clearly_string(text: &str) -> bool {
    const WORDS: [&str; 8] = ["y", "n", "yes", "no", "true", "false", "on", "off"];
    !is_null(text) && !numeric(text) && !WORDS.iter().any(|w| text.eq_ignore_ascii_case(w))
}

/// Whether a plain scalar might read as a number in some YAML schema: after an optional sign, it starts with a
/// digit, or a dot and a digit, and has only the characters numbers are written with (digits, hex digits, radix
/// prefixes, `_`, `.`, `:`, exponents); or it is a spelling of infinity or not-a-number. `512Mi` is a string.
pub(crate) fn numeric(text: &str) -> bool {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let word = |s: &str| ["inf", "infinity", "nan"].iter().any(|w| s.eq_ignore_ascii_case(w));
    let number_chars = unsigned
        .bytes()
        .all(|b| b.is_ascii_hexdigit() || b"_.:xXoO+-".contains(&b));
    let starts = unsigned.starts_with(|c: char| c.is_ascii_digit())
        || unsigned
            .strip_prefix('.')
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()));
    (starts && number_chars) || word(unsigned) || unsigned.strip_prefix('.').is_some_and(word)
}

/// `0`, `-12`, `3.5`: decimal, no leading zero, at most 15 digits on each side of the point.
pub(crate) fn simple_number(text: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.len() <= 15 && s.bytes().all(|b| b.is_ascii_digit());
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (unsigned, None),
    };
    digits(whole) && (whole == "0" || !whole.starts_with('0')) && fraction.is_none_or(digits)
}

/// The JSON value of a plain scalar, as the complete reader makes it: null, `true`/`false`, a simple number, or
/// a string no schema reads otherwise; `None` for anything else (`yes`, `0x1F`, `1e3`, …).
pub(crate) fn value(text: &str) -> Option<serde_json::Value> {
    use serde_json::Value;
    if is_null(text) {
        return Some(Value::Null);
    }
    match text {
        "true" => return Some(Value::Bool(true)),
        "false" => return Some(Value::Bool(false)),
        _ => {}
    }
    if clearly_string(text) {
        return Some(Value::String(text.to_string()));
    }
    if !simple_number(text) {
        return None;
    }
    if text.contains('.') {
        serde_json::Number::from_f64(text.parse().ok()?).map(Value::Number)
    } else {
        text.parse::<i64>().ok().map(|n| Value::Number(n.into()))
    }
}
