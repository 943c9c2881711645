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

/// What a reader made of a manifest, values included (hex), for comparing two readers.
fn describe(objects: &[Located]) -> Vec<String> {
    objects
        .iter()
        .map(|l| {
            let object = match &l.object {
                Object::Secret(s) => {
                    let data: Vec<String> = s
                        .data
                        .iter()
                        .map(|(k, v)| format!("{k}={:02x?}", v.expose_secret()))
                        .collect();
                    format!(
                        "Secret {} {:?} {:?} {data:?}",
                        serde_json::to_string(&s.metadata).unwrap(),
                        s.type_,
                        s.immutable
                    )
                }
                Object::SealedSecret(s) => serde_json::to_string(s).unwrap(),
                Object::Other { api_version, kind } => format!("Other {api_version:?} {kind:?}"),
            };
            format!("{} line {}: {object}", l.document, l.line)
        })
        .collect()
}

/// The quick reader's answer, and the serde reader's (fast path, else precise path).
fn both_readers(text: &str) -> (Option<Vec<String>>, Result<Vec<String>, ManifestError>) {
    let mut quick = Vec::new();
    let quick = skim::read(text, &mut quick).map(|()| describe(&quick));
    let mut slow = Vec::new();
    let slow = match read_yaml_fast(text, &mut slow) {
        Ok(()) => Ok(describe(&slow)),
        Err(()) => {
            slow.clear();
            read_yaml_precise(text, &mut slow).map(|()| describe(&slow))
        }
    };
    (quick, slow)
}

#[test]
fn the_quick_reader_agrees_with_the_complete_reader_on_every_manifest_in_the_repository() {
    let (mut files, mut accepted, mut quick_read) = (0, 0, 0);
    for (path, text) in crate::testutil::repository_yaml() {
        files += 1;
        let (quick, slow) = both_readers(&text);
        accepted += usize::from(slow.is_ok());
        if let Some(quick) = quick {
            quick_read += 1;
            assert_eq!(Ok(quick), slow, "{}", path.display());
        }
    }
    assert!(files > 50, "the repository's manifests were not found ({files})");
    assert!(
        quick_read * 3 > accepted * 2,
        "the quick reader read only {quick_read} of the {accepted} files the complete reader accepts"
    );
}

#[test]
fn the_quick_reader_gives_up_before_the_complete_readers_limits() {
    // More comments between a key and its value than the complete reader's parser buffers: it refuses the file.
    let comments = format!(
        "kind: Secret\nmetadata: {{name: a}}\nstringData:\n{}  k: v\n",
        "# c\n".repeat(40)
    );
    let (quick, slow) = both_readers(&comments);
    assert_eq!(quick, None);
    assert!(slow.is_err(), "the complete reader refuses {} buffered comments", 40);
    // More events than half the complete reader's budget (comments count), and more text than a quarter of it.
    let noisy = format!(
        "kind: Secret\nmetadata: {{name: a}}\nstringData:\n  k: v\n{}",
        "#\n".repeat(500_001)
    );
    let long = format!(
        "kind: Secret\nmetadata: {{name: a}}\nstringData:\n  k: {}\n",
        "a".repeat(17 << 20)
    );
    // A mapping too wide to check for repeated keys one by one.
    let wide: String = std::iter::once("kind: ConfigMap\ndata:\n".to_string())
        .chain((0..300).map(|i| format!("  k{i}: v\n")))
        .collect();
    for text in [noisy, long, wide] {
        let (quick, slow) = both_readers(&text);
        assert_eq!(quick, None, "{}", &text[..60]);
        assert!(slow.is_ok(), "{}", &text[..60]);
    }
}

#[test]
fn the_quick_reader_leaves_every_hard_case_to_the_complete_reader() {
    let sealed = |spec: &str| {
        format!(
            "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {{name: a, namespace: b}}\nspec:\n{spec}"
        )
    };
    let secret = |data: &str| format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: a}}\ndata:\n{data}");
    let cases = [
        sealed("  encryptedData: {k: &a AgBy}\n  template: {data: {x: *a}}\n"),
        sealed("  encryptedData: {k: !!binary AgBy}\n"),
        sealed("  encryptedData: {k: yes}\n"),
        sealed("  encryptedData: {k: 0x1F}\n"),
        sealed("  encryptedData: {k: 12}\n"),
        sealed("  encryptedData: {k: null}\n"),
        sealed("  encryptedData: {k: AgBy, k: AgBz}\n"),
        sealed("  encryptedData: [AgBy]\n"),
        sealed("  encryptedData: {k: AgBy}\n  unknown: 1\n"),
        sealed("  encryptedData: {k: AgBy}\n  template: {metadata: {uid: x}}\n"),
        sealed("  encryptedData: {k: AgBy}\n  template: {immutable: yes}\n"),
        sealed("  encryptedData: {k: AgBy}\nstatus: {}\n"),
        "%YAML 1.1\n---\nkind: SealedSecret\nspec: {encryptedData: {k: on}}\n".to_string(),
        "kind: SealedSecret\nspec: {encryptedData: {k: AgBy}}\nspec: {encryptedData: {k: AgBz}}\n".to_string(),
        "kind: SealedSecret\nmetadata: {<<: {name: a}}\nspec: {}\n".to_string(),
        "kind: SealedSecret\nmetadata: {name: 1e3}\nspec: {}\n".to_string(),
        "kind: SealedSecret\nmetadata: {name: a, uid: b}\nspec: {}\n".to_string(),
        "kind: SealedSecret\nmetadata: {name: a}\n".to_string(),
        "kind: SealedSecret\nspec: null\n".to_string(),
        "kind: List\nitems: []\n".to_string(),
        "kind: ConfigMap\ndata: [a]\n".to_string(),
        "kind: ConfigMap\ndata: {1: a}\n".to_string(),
        "kind: ConfigMap\ndata: {a: 010}\n".to_string(),
        "just a scalar\n".to_string(),
        "- a\n- b\n".to_string(),
        secret("  k: 12345678\n"),
        secret("  k: not-base64!\n"),
        secret("  k: [a]\n"),
        "kind: Secret\nmetadata: {name: a}\nstringData: {k: true}\n".to_string(),
        "kind: Secret\nmetadata: {name: a}\nstringData: {k: ~}\n".to_string(),
        "kind: Secret\nmetadata: {name: a, labels: {a: 1}}\n".to_string(),
        "kind: Secret\nmetadata: {name: a, creationTimestamp: \"2026-01-01T00:00:00Z\"}\n".to_string(),
        "kind: Secret\nimmutable: TRUE\n".to_string(),
        "kind: Secret\ntype: {a: b}\n".to_string(),
        "kind: Secret\nmetadata: {name: a}\n---\nkind: Secret\nmetadata: {name: [x]}\n".to_string(),
    ];
    for text in &cases {
        let (quick, slow) = both_readers(text);
        assert_eq!(
            quick, None,
            "the quick reader took {text:?} (complete reader: {slow:?})"
        );
        // And the public reader answers exactly as the complete reader does.
        assert_eq!(read(text).map(|(_, objects)| describe(&objects)), slow, "{text:?}");
    }
}

#[test]
fn the_quick_reader_reads_the_common_shapes_exactly_as_the_complete_reader() {
    let cases = [
        "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: db\n  namespace: prod\n  creationTimestamp: null\n  annotations:\n    sealant.dev/sealed-at: \"2026-01-01T00:00:00Z\"\n    sealedsecrets.bitnami.com/namespace-wide: \"true\"\nspec:\n  encryptedData:\n    password: AgBy3i4OJSWK+PiTySYZZA==\n    user: 'AgAAAA=='\n  template:\n    metadata:\n      creationTimestamp: null\n      labels: {app: db}\n    type: Opaque\n    immutable: true\n    data:\n      url: \"postgres://{{ index . \\\"user\\\" }}\"\n",
        "# a comment\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: ns}\ntype: Opaque\ndata: {k: aGk=, e: \"\"}\nstringData: {k: override, s: \"plain \\u00e9\"}\n---\n---\nkind: Deployment\nmetadata: {name: web, labels: {app: web}}\nspec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n      - {name: web, image: \"nginx:1.27\", resources: {limits: {cpu: 0.5, memory: 512Mi}}}\n      - name: sidecar\n        args: [--x, \"1\"]\n...\n",
        "kind: SealedSecret\nspec:\n  data: AgBy\n  encryptedData: {}\n  template: null\n",
        "kind: Secret\nimmutable: false\ndata: null\nstringData:\n  key: |\n    line one\n    line two\n  folded: >\n    a\n    b\n",
        "apiVersion: v2\nkind: Secret\ndata: {a: [not, a, string], b: {c: 1}}\n",
    ];
    for text in cases {
        let (quick, slow) = both_readers(text);
        assert!(quick.is_some(), "the quick reader gave up on {text:?}");
        assert_eq!(quick.map(Ok), Some(slow), "{text:?}");
    }
}

mod quick_reader_properties {
    use super::*;
    use crate::testutil::yaml_documents;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn whatever_the_quick_reader_reads_the_complete_reader_reads_the_same(docs in yaml_documents()) {
            let (quick, slow) = both_readers(&docs);
            if let Some(quick) = quick {
                prop_assert_eq!(Ok(quick), slow, "{}", docs);
            }
        }
    }
}

#[test]
fn sealed_secrets_are_written_with_every_key_sorted_as_through_a_json_value() {
    // Every field the type has, including the server-owned ones, maps with keys out of order and a status: the
    // typed writer must give exactly what sorting through a JSON value gives (which is how kubeseal sorts).
    let meta = serde_json::json!({
        "name": "n", "namespace": "ns", "generateName": "g-", "uid": "u", "resourceVersion": "7", "generation": 3,
        "creationTimestamp": "2026-01-02T03:04:05Z", "deletionTimestamp": "2026-01-03T03:04:05Z",
        "deletionGracePeriodSeconds": 30, "finalizers": ["z", "a"],
        "labels": {"z": "1", "a": "yes", "m": "0x10"},
        "annotations": {"sealant.dev/sealed-at": "2026-01-02T03:04:05Z", "a": "true", "b": "null", "c": ""},
        "ownerReferences": [{"uid": "x", "name": "o", "kind": "K", "apiVersion": "v1", "controller": true,
            "blockOwnerDeletion": false}],
        "managedFields": [{"manager": "m", "operation": "Apply", "apiVersion": "v1", "time": "2026-01-02T03:04:05Z",
            "fieldsType": "FieldsV1", "subresource": "status", "fieldsV1": {"f:z": {}, "f:a": {".": {}}}}],
    });
    let object = serde_json::json!({
        "kind": "SealedSecret", "apiVersion": "bitnami.com/v1alpha1", "metadata": meta,
        "spec": {
            "template": {"type": "kubernetes.io/tls", "metadata": meta, "immutable": true,
                "data": {"z": "{{ .a }}", "a": "x: y"}},
            "encryptedData": {"z": "QUJD", "a": "REVG", "0": "R0hJ"},
            "data": "SktM",
        },
        "status": {"z": 1, "conditions": [{"type": "Synced", "status": "True"}], "a": "b"},
    });
    let sealed: crate::types::SealedSecret = serde_json::from_value(object).unwrap();
    let expected = format!("---\n{}", to_yaml(&serde_json::to_value(&sealed).unwrap()));
    assert_eq!(write_sealed(std::slice::from_ref(&sealed), Format::Yaml), expected);
    let minimal = crate::types::SealedSecret::default();
    let expected = format!("---\n{}", to_yaml(&serde_json::to_value(&minimal).unwrap()));
    assert_eq!(write_sealed(std::slice::from_ref(&minimal), Format::Yaml), expected);
}
