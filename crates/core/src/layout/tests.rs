//! The index's and the editor's tests.

use super::render::double_quoted;
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

/// The values serde-saphyr reads from each document of `text` that has content (`None` if one fails).
fn serde_values(text: &str, docs: &[Document]) -> Option<Vec<serde_json::Value>> {
    docs.iter()
        .filter(|d| d.root.is_some())
        .map(|d| serde_saphyr::from_str_with_options(&text[d.span.clone()], serde_saphyr::options! {}).ok())
        .collect()
}

/// The one-pass values of the documents that have content, checked against serde-saphyr's; whether there were any.
fn check_values(text: &str) -> bool {
    let Ok((docs, values)) = index_with_values(text) else {
        assert!(index(text).is_err(), "{text:?}");
        return false;
    };
    assert_eq!(docs, index(text).unwrap(), "the index differs with values on: {text:?}");
    let Some(values) = values else { return false };
    assert_eq!(values.len(), docs.len(), "{text:?}");
    let quick: Vec<_> = docs
        .iter()
        .zip(values)
        .filter(|(d, _)| d.root.is_some())
        .map(|(_, v)| v)
        .collect();
    assert_eq!(Some(quick), serde_values(text, &docs), "{text:?}");
    true
}

#[test]
fn one_pass_values_equal_serde_saphyrs_on_every_yaml_file_in_the_repository() {
    let (mut readable, mut quick) = (0, 0);
    for (_, text) in crate::testutil::repository_yaml() {
        let serde_reads = index(&text).ok().and_then(|docs| serde_values(&text, &docs)).is_some();
        readable += usize::from(serde_reads);
        quick += usize::from(check_values(&text));
    }
    assert!(
        quick * 3 > readable * 2,
        "values in one pass for only {quick} of {readable} files"
    );
}

#[test]
fn one_pass_values_give_up_before_serde_saphyrs_limits() {
    // More comments between a key and its value than serde-saphyr's parser buffers: the index refuses it too.
    let comments = format!("a:\n{}  b: c\n", "# c\n".repeat(40));
    assert!(index_with_values(&comments).is_err());
    for text in [
        format!("a: b\n{}", "#\n".repeat(500_001)),
        format!("a: {}\n", "b".repeat(17 << 20)),
    ] {
        let (_, values) = index_with_values(&text).unwrap();
        assert_eq!(values, None, "{}", &text[..10]);
    }
}

#[test]
fn one_pass_values_leave_every_hard_case_to_serde_saphyr() {
    for text in [
        "a: yes\n",
        "a: On\n",
        "a: 0x1F\n",
        "a: 1e3\n",
        "a: 010\n",
        "a: 1:30\n",
        "a: .inf\n",
        "a: 12345678901234567890\n",
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "!!map {a: b}\n",
        "a: 1\na: 2\n",
        "<<: {a: 1}\n",
        "%YAML 1.1\n---\na: b\n",
        "? [a]\n: b\n",
        "1: a\n",
        "~: a\n",
        "a: [{b: [{c: yes}]}]\n",
        "ok: 1\n---\nnot: no\n",
    ] {
        let (_, values) = index_with_values(text).unwrap();
        assert_eq!(values, None, "{text:?}");
    }
}

#[test]
fn one_pass_values_type_plain_scalars_as_serde_saphyr_does() {
    let text = "a: abc\nb: 3\nc: -12\nd: 0.5\ne: true\nf: false\ng: null\nh: ~\ni:\nj: '3'\nk: \"x\\ty\"\nl: 512Mi\n\
                m: [1, two, {key: --x}]\no: |\n  block\np: >-\n  folded\n  text\nq: {}\nr: []\n---\n---\n- a\n- 1\n";
    assert!(check_values(text));
}

mod one_pass_value_properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn one_pass_values_equal_serde_saphyrs(text in crate::testutil::yaml_documents()) {
            check_values(&text);
        }
    }
}
