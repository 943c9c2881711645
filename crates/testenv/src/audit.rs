//! The audit log's schema (`docs/audit.schema.json`), for tests that check every line they produced.

use std::sync::OnceLock;

use serde_json::Value;

/// The compiled schema.
fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let text = std::fs::read_to_string(crate::repo_root().join("docs/audit.schema.json")).unwrap();
        let schema: Value = serde_json::from_str(&text).unwrap();
        jsonschema::validator_for(&schema).expect("docs/audit.schema.json compiles")
    })
}

/// Panics, naming the line and every violation, unless each line is valid against `docs/audit.schema.json`.
pub fn assert_valid(lines: &[Value]) {
    let bad: Vec<String> = lines
        .iter()
        .filter_map(|line| {
            let errors: Vec<String> = validator()
                .iter_errors(line)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            (!errors.is_empty()).then(|| format!("{line}\n  {}", errors.join("\n  ")))
        })
        .collect();
    assert!(
        bad.is_empty(),
        "{} audit line(s) break docs/audit.schema.json:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// The lines of a JSON-lines audit file (none when it does not exist), each checked against the schema.
pub fn read(path: &std::path::Path) -> Vec<Value> {
    let lines: Vec<Value> = std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("audit line {l:?}: {e}")))
        .collect();
    assert_valid(&lines);
    lines
}
