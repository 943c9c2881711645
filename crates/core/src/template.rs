//! `spec.template.data` rendering: the subset of Go `text/template` + Sprig that SealedSecrets use (spec 2.6):
//! text, `{{ .item }}`, `{{ index . "item" }}`, pipelines, `{{-`/`-}}` trimming, and the functions `toJson`,
//! `quote`, `squote`, `b64enc`, `b64dec`, `upper`, `lower`, `trim`, `default`. Anything else fails loudly
//! with Go's wording instead of rendering something different from the upstream controller.

use std::collections::BTreeMap;

use base64::Engine as _;
use secrecy::ExposeSecret as _;
use zeroize::Zeroizing;

use crate::types::{SecretValue, secret_value};

/// A template that cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {message}")]
pub struct TemplateError {
    /// The template's name (the output item).
    pub name: String,
    /// What is wrong.
    pub message: String,
}

/// The most bytes a Secret may hold: the API server refuses a bigger object, so rendering past it only costs
/// memory. Every template of one object shares this budget with the decrypted items.
pub const MAX_SECRET_BYTES: usize = 1024 * 1024;

/// The most arguments a template function call may have (`default` takes two, the others one).
const MAX_ARGUMENTS: usize = 2;

/// The longest template source accepted (all templates of one object together).
pub const MAX_TEMPLATE_SOURCE_BYTES: usize = 64 * 1024;

/// Renders `template` with the decrypted items as `.`, spending at most `budget` bytes of output (and of any
/// intermediate value), which it decreases by the size of the result.
///
/// Why a budget checked as rendering grows: `{{.a}}` repeated copies one item many times, so a small object
/// could otherwise make the controller allocate gigabytes (and crash-loop on every start).
pub fn render(
    name: &str,
    template: &str,
    items: &BTreeMap<String, SecretValue>,
    budget: &mut usize,
) -> Result<SecretValue, TemplateError> {
    let fail = |message: String| TemplateError {
        name: name.to_string(),
        message,
    };
    let over = || {
        fail(format!(
            "rendered data exceeds {MAX_SECRET_BYTES} bytes, the most a Secret can hold"
        ))
    };
    let mut out = Zeroizing::new(String::new());
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let mut text = &rest[..open];
        let after = &rest[open + 2..];
        let (trim_left, after) = match after.strip_prefix("- ") {
            Some(a) => (true, a),
            None => (false, after),
        };
        if trim_left {
            text = text.trim_end();
        }
        if out.len() + text.len() > *budget {
            return Err(over());
        }
        out.push_str(text);
        let close = after.find("}}").ok_or_else(|| fail("unclosed action".into()))?;
        let mut action = &after[..close];
        let mut next = &after[close + 2..];
        if let Some(a) = action.strip_suffix(" -") {
            action = a;
            next = next.trim_start();
        }
        let value = eval_pipeline(action.trim(), items, *budget).map_err(fail)?;
        if out.len() + value.len() > *budget {
            return Err(over());
        }
        out.push_str(&value);
        rest = next;
    }
    if out.len() + rest.len() > *budget {
        return Err(over());
    }
    out.push_str(rest);
    *budget -= out.len();
    Ok(secret_value(out.as_bytes().to_vec()))
}

fn eval_pipeline(
    action: &str,
    items: &BTreeMap<String, SecretValue>,
    budget: usize,
) -> Result<Zeroizing<String>, String> {
    let mut value: Option<Zeroizing<String>> = None;
    for command in split_outside_quotes(action, '|') {
        let tokens = tokenize(command.trim())?;
        let (head, args) = tokens.split_first().ok_or("missing value for command")?;
        // Why before evaluating any: each operand copies an item, so `{{x .a .a …}}` with thousands of arguments
        // would allocate gigabytes before the function is even looked up. No function here takes more than two.
        if args.len() > MAX_ARGUMENTS {
            return Err(format!(
                "too many arguments ({}) for {head}: at most {MAX_ARGUMENTS}",
                args.len()
            ));
        }
        let mut spent = 0usize;
        let mut evaluated = Vec::with_capacity(args.len());
        for token in args {
            let value = operand(token, items)?;
            spent += value.len();
            if spent > budget {
                return Err(format!(
                    "rendered data exceeds {MAX_SECRET_BYTES} bytes, the most a Secret can hold"
                ));
            }
            evaluated.push(value);
        }
        let mut args = evaluated;
        if let Some(piped) = value.take() {
            args.push(piped);
        }
        value = Some(if is_operand(head) {
            if !args.is_empty() {
                return Err(format!("can't give argument to non-function {head}"));
            }
            operand(head, items)?
        } else {
            call(head, &args, items)?
        });
        // An intermediate value (`b64enc` grows its input by a third) counts against the same budget.
        if value.as_ref().is_some_and(|v| v.len() > budget) {
            return Err(format!(
                "rendered data exceeds {MAX_SECRET_BYTES} bytes, the most a Secret can hold"
            ));
        }
    }
    value.ok_or_else(|| "missing value for command".to_string())
}

fn is_operand(token: &str) -> bool {
    token.starts_with('.') || token.starts_with('"') || token.starts_with('`')
}

fn operand(token: &str, items: &BTreeMap<String, SecretValue>) -> Result<Zeroizing<String>, String> {
    if let Some(field) = token.strip_prefix('.') {
        if field.is_empty() {
            return Err("cannot print the whole item map".into());
        }
        return Ok(lookup(field, items));
    }
    string_literal(token).ok_or_else(|| format!("function {token:?} not defined"))
}

fn lookup(key: &str, items: &BTreeMap<String, SecretValue>) -> Zeroizing<String> {
    // Go's default `missingkey` behaviour prints "<no value>".
    Zeroizing::new(match items.get(key) {
        Some(v) => String::from_utf8_lossy(v.expose_secret()).into_owned(),
        None => "<no value>".to_string(),
    })
}

fn call(
    function: &str,
    args: &[Zeroizing<String>],
    items: &BTreeMap<String, SecretValue>,
) -> Result<Zeroizing<String>, String> {
    let one = || match args {
        [a] => Ok(a.as_str()),
        _ => Err(format!(
            "wrong number of args for {function}: want 1 got {}",
            args.len()
        )),
    };
    let z = |s: String| Ok(Zeroizing::new(s));
    match function {
        "index" => match args {
            // `index . "key"`: the map operand was consumed as "."; the key is the only real argument.
            [key] => Ok(lookup(key, items)),
            _ => Err("index takes the map `.` and one key".into()),
        },
        "toJson" => z(go_json(one()?)),
        "quote" => z(go_json(one()?)),
        "squote" => z(format!("'{}'", one()?)),
        "b64enc" => z(base64::engine::general_purpose::STANDARD.encode(one()?)),
        "b64dec" => {
            // Why no detail: the decoder names the offending byte and its offset, which is part of a value.
            let bytes = Zeroizing::new(
                base64::engine::general_purpose::STANDARD
                    .decode(one()?)
                    .map_err(|_| "b64dec: the input is not valid base64".to_string())?,
            );
            z(String::from_utf8_lossy(&bytes).into_owned())
        }
        "upper" => z(one()?.to_uppercase()),
        "lower" => z(one()?.to_lowercase()),
        "trim" => z(one()?.trim().to_string()),
        "default" => match args {
            [fallback, given] => z(if given.is_empty() || given.as_str() == "<no value>" {
                fallback.to_string()
            } else {
                given.to_string()
            }),
            _ => Err("wrong number of args for default: want 2".into()),
        },
        other => Err(format!("function {other:?} not defined")),
    }
}

/// JSON string encoding as Go's `json.Marshal` does it, which also escapes `<`, `>`, `&`, U+2028 and U+2029.
fn go_json(s: &str) -> String {
    let json = serde_json::to_string(s).unwrap_or_default();
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

fn string_literal(token: &str) -> Option<Zeroizing<String>> {
    if let Some(raw) = token.strip_prefix('`').and_then(|t| t.strip_suffix('`')) {
        return Some(Zeroizing::new(raw.to_string()));
    }
    if token.starts_with('"') {
        return serde_json::from_str::<String>(token).ok().map(Zeroizing::new);
    }
    None
}

fn split_outside_quotes(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quote) = (0, None);
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some('"'), '\\') if !escaped => {
                escaped = true;
                continue;
            }
            (Some(q), c) if c == q && !escaped => quote = None,
            (None, '"' | '`') => quote = Some(c),
            (None, c) if c == sep => {
                parts.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
        escaped = false;
    }
    parts.push(&s[start..]);
    parts
}

fn tokenize(command: &str) -> Result<Vec<&str>, String> {
    let mut tokens = Vec::new();
    let mut rest = command.trim_start();
    while !rest.is_empty() {
        let end = match rest.chars().next() {
            Some(q @ ('"' | '`')) => {
                let mut escaped = false;
                let close = rest[1..]
                    .char_indices()
                    .find(|&(_, c)| {
                        let hit = c == q && !escaped;
                        escaped = q == '"' && c == '\\' && !escaped;
                        hit
                    })
                    .ok_or("unterminated quoted string")?
                    .0;
                close + 2
            }
            _ => rest.find(char::is_whitespace).unwrap_or(rest.len()),
        };
        tokens.push(&rest[..end]);
        rest = rest[end..].trim_start();
    }
    // `index . "x"`: drop the map operand, which is always `.` here.
    if tokens.first() == Some(&"index") && tokens.get(1) == Some(&".") {
        tokens.remove(1);
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(pairs: &[(&str, &str)]) -> BTreeMap<String, SecretValue> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), secret_value(v.as_bytes().to_vec())))
            .collect()
    }

    fn r(t: &str, pairs: &[(&str, &str)]) -> Result<String, TemplateError> {
        let mut budget = MAX_SECRET_BYTES;
        render("out", t, &items(pairs), &mut budget).map(|v| String::from_utf8(v.expose_secret().to_vec()).unwrap())
    }

    #[test]
    fn index_and_field_access_render_items() {
        assert_eq!(
            r("secret {{ index . \"foo\" }} !", &[("foo", "bar")]).unwrap(),
            "secret bar !"
        );
        assert_eq!(r("u={{ .user }}", &[("user", "admin")]).unwrap(), "u=admin");
        assert_eq!(r("{{ .missing }}", &[]).unwrap(), "<no value>");
    }

    #[test]
    fn to_json_escapes_like_go() {
        assert_eq!(
            r("{{ toJson .password }}", &[("password", "hunter2'\"=")]).unwrap(),
            "\"hunter2'\\\"=\""
        );
        assert_eq!(
            r("{{ .p | toJson }}", &[("p", "<&>")]).unwrap(),
            "\"\\u003c\\u0026\\u003e\""
        );
    }

    #[test]
    fn trim_markers_and_pipelines_work() {
        assert_eq!(r("a  {{- .x | upper -}}  b", &[("x", "v")]).unwrap(), "aVb");
        assert_eq!(r("{{ .x | b64enc | b64dec }}", &[("x", "v")]).unwrap(), "v");
        assert_eq!(r("{{ .none | default \"d\" }}", &[]).unwrap(), "d");
    }

    #[test]
    fn unknown_functions_fail_with_the_template_name() {
        let err = r("{{ env \"HOME\" }}", &[]).unwrap_err();
        assert_eq!(err.to_string(), "out: function \"env\" not defined");
        assert!(r("{{ .x", &[]).is_err());
    }

    #[test]
    fn a_template_that_multiplies_an_item_stops_at_the_secret_size_limit() {
        let big = "a".repeat(64 * 1024);
        let bomb = "{{.a}}".repeat(8192);
        let err = r(&bomb, &[("a", &big)]).unwrap_err();
        assert!(err.message.contains("exceeds"), "{err}");
        // The budget is shared: two templates of half the limit each cannot both render.
        let mut budget = MAX_SECRET_BYTES;
        let half = "{{.a}}".repeat(9);
        let its = items(&[("a", &big)]);
        render("one", &half, &its, &mut budget).unwrap();
        assert!(render("two", &half, &its, &mut budget).is_err());
        // An intermediate value counts too: b64enc of an item close to the limit.
        let near = "b".repeat(MAX_SECRET_BYTES - 10);
        assert!(r("{{ .a | b64enc | b64dec | trim }}", &[("a", &near)]).is_err());
    }

    #[test]
    fn a_call_with_thousands_of_arguments_is_refused_before_copying_them() {
        let big = "a".repeat(200_000);
        let call = format!("{{{{x {}}}}}", ".a ".repeat(21_000));
        let err = r(&call, &[("a", &big)]).unwrap_err();
        assert!(err.message.contains("too many arguments"), "{err}");
        // Two large arguments still count against the budget as they are evaluated.
        let near = "b".repeat(600_000);
        assert!(r("{{ default .a .a }}", &[("a", &near)]).is_err());
    }

    #[test]
    fn a_b64dec_error_names_no_byte_of_the_value() {
        let err = r("{{ .a | b64dec }}", &[("a", "canary!value")]).unwrap_err();
        let text = err.to_string();
        assert!(
            !text.contains("33") && !text.contains("offset") && !text.contains("canary"),
            "{text}"
        );
        assert!(text.contains("not valid base64"), "{text}");
    }
}
