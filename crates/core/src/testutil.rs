//! Test support: the repository's own YAML files, and generated manifests that mix the shapes the quick readers
//! take with the ones they must leave to serde-saphyr.

use std::path::PathBuf;

use proptest::prelude::*;

/// Every YAML file of the repository (and the manifest fuzz seeds), with its text.
pub(crate) fn repository_yaml() -> Vec<(PathBuf, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut pending = vec![root];
    let mut out = Vec::new();
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if path.is_dir() {
                if !matches!(name.as_str(), "target" | "node_modules" | ".git") {
                    pending.push(path);
                }
                continue;
            }
            let seed = dir.ends_with("fuzz/seeds/manifest_read") || dir.ends_with("fuzz/seeds/lint_text");
            if !(name.ends_with(".yaml") || name.ends_with(".yml") || seed) {
                continue;
            }
            if let Ok(text) = std::fs::read_to_string(&path)
                && crate::manifest::Format::detect(&text) == crate::manifest::Format::Yaml
            {
                out.push((path, text));
            }
        }
    }
    out
}

/// A stream of one or two generated manifests.
pub(crate) fn yaml_documents() -> impl Strategy<Value = String> {
    proptest::collection::vec(document(), 1..3).prop_map(|docs| docs.join("---\n"))
}

/// Scalars that YAML schemas read in their own ways, or that the reader refuses in some places.
const TRICKY: &[&str] = &[
    "yes",
    "No",
    "on",
    "OFF",
    "y",
    "true",
    "False",
    "TRUE",
    "null",
    "~",
    "Null",
    "0",
    "3",
    "-12",
    "3.5",
    "010",
    "0x1F",
    "0o17",
    "1e3",
    "1_000",
    "1:30",
    ".5",
    ".inf",
    "-.INF",
    ".nan",
    "NaN",
    "inf",
    "2026-01-01",
    "10.0.0.1",
    "12345678901234567890",
    "&a x",
    "*a",
    "!!str 5",
    "!!binary aGk=",
    "[a]",
    "{}",
    "[]",
    "{a: b}",
    "<<",
    "not base64!",
    "{<<: {a: b}}",
    "!custom {}",
];
/// Scalars every schema reads as strings (base64 ones among them).
const PLAIN: &[&str] = &[
    "abc",
    "AgBy3i4O+/==",
    "aGk=",
    "YWJj",
    "512Mi",
    "100m",
    "--x",
    "-x",
    ".gitignore",
    "nginx:1.27",
    "\"quoted\"",
    "'single'",
    "\"\"",
    "''",
    "\"\\u00e9\\n\"",
    "\"yes\"",
    "'0x1F'",
];

fn value(good: &'static [&'static str]) -> BoxedStrategy<String> {
    prop_oneof![
        16 => proptest::sample::select(good).prop_map(str::to_string),
        1 => proptest::sample::select(TRICKY).prop_map(str::to_string),
    ]
    .boxed()
}

/// A flow mapping of some of `fields`, each with a value from its strategy; now and then a repeated key.
fn mapping(fields: Vec<(&'static str, BoxedStrategy<String>)>) -> BoxedStrategy<String> {
    entries(fields).prop_map(|e| format!("{{{}}}", e.join(", "))).boxed()
}

/// `key: value` entries for some of `fields`.
fn entries(fields: Vec<(&'static str, BoxedStrategy<String>)>) -> BoxedStrategy<Vec<String>> {
    let n = fields.len();
    let picks: Vec<_> = fields
        .into_iter()
        .map(|(k, v)| (proptest::bool::weighted(0.6), v).prop_map(move |(on, v)| on.then(|| format!("{k}: {v}"))))
        .collect();
    (picks, proptest::bool::weighted(0.05), 0..n.max(1))
        .prop_map(|(entries, repeat, which)| {
            let mut entries: Vec<String> = entries.into_iter().flatten().collect();
            if repeat && !entries.is_empty() {
                let again = entries[which % entries.len()].clone();
                entries.push(again);
            }
            entries
        })
        .boxed()
}

fn strings(values: &'static [&'static str]) -> BoxedStrategy<String> {
    prop_oneof![
        9 => mapping(vec![("a", value(values)), ("b.c/d", value(values)), ("e", value(values))]),
        1 => value(PLAIN),
    ]
    .boxed()
}

fn metadata() -> BoxedStrategy<String> {
    mapping(vec![
        ("name", value(PLAIN)),
        ("namespace", value(PLAIN)),
        ("labels", strings(PLAIN)),
        ("annotations", strings(PLAIN)),
        ("creationTimestamp", value(&["null"])),
    ])
}

fn document() -> impl Strategy<Value = String> {
    let kind = proptest::sample::select(&["Secret", "SealedSecret", "ConfigMap", "List"][..]);
    let api = proptest::sample::select(&["v1", "v1", "v2", "bitnami.com/v1alpha1", "null"][..]);
    let template = mapping(vec![
        ("metadata", metadata()),
        ("type", value(PLAIN)),
        ("immutable", value(&["true", "false"])),
        ("data", strings(PLAIN)),
    ]);
    let spec = mapping(vec![
        ("encryptedData", strings(PLAIN)),
        ("template", template),
        ("data", value(PLAIN)),
    ]);
    let doc = entries(vec![
        ("metadata", metadata()),
        ("data", strings(PLAIN)),
        ("stringData", strings(PLAIN)),
        ("type", value(PLAIN)),
        ("immutable", value(&["true", "false"])),
        ("spec", spec),
    ]);
    (kind, api, doc).prop_map(|(kind, api, doc)| format!("apiVersion: {api}\nkind: {kind}\n{}\n", doc.join("\n")))
}
