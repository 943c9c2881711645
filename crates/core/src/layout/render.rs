//! Writing a string as a YAML scalar that reads back as the same string, in the style the file already uses.

use super::Style;

/// Renders a string as a YAML scalar: plain when that reads back as the same string, else double-quoted.
pub fn render_scalar(value: &str) -> String {
    if is_plain_safe(value) {
        value.to_string()
    } else {
        double_quoted(value)
    }
}

pub(super) fn render_in_style(value: &str, style: Style) -> String {
    match style {
        Style::SingleQuoted if !value.contains(['\n', '\r', '\t']) => {
            format!("'{}'", value.replace('\'', "''"))
        }
        Style::DoubleQuoted => double_quoted(value),
        _ => render_scalar(value),
    }
}

pub(super) fn double_quoted(value: &str) -> String {
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
