//! The reader's and writers' tests.

use super::*;
use secrecy::ExposeSecret as _;

fn secret(obj: &Object) -> &Secret {
    match obj {
        Object::Secret(s) => s,
        other => panic!("expected a Secret, got {}", other.kind()),
    }
}

#[test]
fn yaml_stream_with_list_and_string_data_is_read_in_order() {
    let text = "\
apiVersion: v1
kind: Secret
metadata: {name: a, namespace: ns}
data: {k: aGk=}
stringData: {k: override, s: plain}
---
# empty documents are skipped
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Secret
  metadata: {name: b}
  data: {x: eA==}
";
    let (format, objs) = read(text).unwrap();
    assert_eq!(format, Format::Yaml);
    assert_eq!(objs.len(), 2);
    let a = secret(&objs[0].object);
    assert_eq!(a.data["k"].expose_secret(), b"override");
    assert_eq!(a.data["s"].expose_secret(), b"plain");
    assert_eq!(objs[1].document, "3.items[0]");
    assert_eq!(secret(&objs[1].object).data["x"].expose_secret(), b"x");
}

#[test]
fn fast_and_precise_yaml_paths_agree_on_documents_and_lines() {
    let text = "\
# leading comment
%YAML 1.2
---
kind: Secret
metadata: {name: a}
--- # a comment after the marker
---
kind: ConfigMap
data:
  block: |
    --- not a marker: indented
---
apiVersion: v1
kind: List
items:
- kind: Secret
  metadata: {name: b}
- kind: Secret
  metadata: {name: c}
...
";
    let (mut fast, mut precise) = (Vec::new(), Vec::new());
    let without_list = &text[..text.find("---\napiVersion: v1\nkind: List").unwrap()];
    read_yaml_fast(without_list, &mut fast).unwrap();
    read_yaml_precise(without_list, &mut precise).unwrap();
    let summary = |v: &[Located]| {
        v.iter()
            .map(|l| (l.document.clone(), l.line, l.object.kind().to_string()))
            .collect::<Vec<_>>()
    };
    assert_eq!(summary(&fast), summary(&precise));
    assert!(
        read_yaml_fast(text, &mut Vec::new()).is_err(),
        "Lists take the precise path"
    );
    precise.clear();
    read_yaml_precise(text, &mut precise).unwrap();
    let summary = |v: &[Located]| {
        v.iter()
            .map(|l| (l.document.clone(), l.line, l.object.kind().to_string()))
            .collect::<Vec<_>>()
    };
    assert_eq!(summary(&precise)[0], ("1".to_string(), 4, "Secret".to_string()));
    assert_eq!(summary(&precise)[1].0, "3");
    assert_eq!(
        summary(&precise)[2],
        ("4.items[0]".to_string(), 16, "Secret".to_string())
    );
}

#[test]
fn a_type_error_names_the_kind_of_value_never_the_value() {
    for text in [
        r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"a","namespace":"b"},"stringData":"password=canary-value-1"}"#,
        "apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: b}\nstringData: \"password=canary-value-1\"\n",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: b}\nstringData: 12345678987654321\n",
    ] {
        let err = read(text).unwrap_err().to_string();
        assert!(!err.contains("canary") && !err.contains("12345678987654321"), "{err}");
        assert!(
            err.contains("invalid type") || err.contains("expected mapping"),
            "{err}"
        );
    }
    assert_eq!(
        redact(r#"invalid type: string "x, y", expected a map; invalid value: integer `7`, expected u8"#),
        "invalid type: string, expected a map; invalid value: integer, expected u8"
    );
    // A value that contains the words serde puts after it, and escaped quotes.
    assert_eq!(
        redact(r#"invalid type: string "pw, expected CANARY-2\", expected x", expected a map"#),
        "invalid type: string, expected a map"
    );
    assert_eq!(
        redact(r#"invalid type: string "never closed CANARY"#),
        "invalid type: string"
    );
}

#[test]
fn many_small_json_documents_are_read_in_linear_time_with_their_lines() {
    let doc = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\"}\n";
    let (_, objects) = read(&doc.repeat(20_000)).unwrap();
    assert_eq!(objects.len(), 20_000);
    assert_eq!(objects[19_999].line, 20_000);
}

#[test]
fn a_second_document_is_seen_without_parsing() {
    assert!(!more_than_one_document("%YAML 1.2\n---\na: 1\n"));
    assert!(!more_than_one_document("# c\n---\na: 1\n---\n"));
    assert!(more_than_one_document("a: 1\n---\nb: 2\n"));
    assert!(more_than_one_document("{}{}"));
    assert!(more_than_one_document("--- {a: 1}\n--- {b: 2}\n"));
    assert!(more_than_one_document("a: 1\r---\rb: 2\r"));
    assert!(more_than_one_document("a: 1\n...\nb: 2\n"));
    assert!(!more_than_one_document("\u{feff}# c\n---\na: 1\n"));
    for text in [
        "--- {a: 1}\n--- {b: 2}\n",
        "a: 1\r---\rb: 2\r",
        "a: 1\n...\n---\nb: 2\n",
    ] {
        // Whatever the parser makes of these, the cheap check never says one where the parser says two.
        if let Ok((_, objects)) = read(text) {
            assert!(objects.len() < 2 || more_than_one_document(text), "{text:?}");
        }
    }
    assert!(!more_than_one_document("{\"a\": 1}\n"));
}

#[test]
fn one_json_document_is_replaced_and_the_others_kept_byte_for_byte() {
    let text = "{\"a\": 1}\n  {\"b\":   2}\n{\"c\": 3}\n";
    assert_eq!(
        replace_json_document(text, 2, "{\"b\": 9}\n").unwrap(),
        "{\"a\": 1}\n  {\"b\": 9}\n{\"c\": 3}\n"
    );
    assert!(replace_json_document(text, 4, "{}").is_err());
}

#[test]
fn concatenated_json_objects_are_read() {
    let text = r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"a"},"data":{"k":"aGk="}}
{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}"#;
    let (format, objs) = read(text).unwrap();
    assert_eq!(format, Format::Json);
    assert_eq!(objs[1].object.kind(), "ConfigMap");
    assert_eq!(objs[1].line, 2);
}

#[test]
fn bad_base64_names_document_line_and_item_but_not_the_value() {
    let text = "kind: Secret\napiVersion: v1\nmetadata: {name: a}\n---\nkind: Secret\napiVersion: v1\ndata:\n  password: hunter2!!\n";
    let err = read(text).unwrap_err();
    assert_eq!(err.document, "2");
    assert_eq!(err.line, Some(8));
    assert_eq!(err.item.as_deref(), Some("password"));
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[test]
fn syntax_errors_do_not_quote_the_input() {
    let text = "kind: Secret\nstringData:\n  password: \"hunter2\n";
    let err = read(text).unwrap_err();
    assert!(err.line.is_some());
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[test]
fn base64_with_line_breaks_is_accepted_like_go() {
    let text = "kind: Secret\ndata:\n  k: \"aG\\r\\nk=\"\n";
    let (_, objs) = read(text).unwrap();
    assert_eq!(secret(&objs[0].object).data["k"].expose_secret(), b"hi");
}
