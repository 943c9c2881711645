//! Report formats: text (`file:line:column: severity[rule]: message`), JSON, and SARIF 2.1.0 for code-scanning
//! UIs.

use serde_json::{Value, json};

use crate::Report;
use crate::rules::{RULES, Severity};

/// One line per finding, then the notices and a summary line.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.findings {
        out.push_str(&format!(
            "{}:{}:{}: {}[{}]: {}\n    help: {}\n",
            f.path,
            f.line,
            f.column,
            f.severity.as_str(),
            f.rule,
            f.message,
            f.help
        ));
    }
    for n in &report.notices {
        out.push_str(&format!("note: {n}\n"));
    }
    let errors = report.findings.iter().filter(|f| f.severity == Severity::Error).count();
    out.push_str(&format!(
        "{} file(s) checked: {errors} error(s), {} warning(s)\n",
        report.files,
        report.findings.len() - errors
    ));
    out
}

/// The report as JSON.
pub fn json(report: &Report) -> String {
    serde_json::to_string_pretty(report).unwrap_or_default() + "\n"
}

/// The report as a SARIF 2.1.0 log.
pub fn sarif(report: &Report) -> String {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.id,
                "shortDescription": {"text": r.summary},
                "help": {"text": r.help},
                "defaultConfiguration": {"level": level(r.severity)}
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            json!({
                "ruleId": f.rule,
                "ruleIndex": RULES.iter().position(|r| r.id == f.rule).unwrap_or(0),
                "level": level(f.severity),
                "message": {"text": f.message},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.path.replace('\\', "/")},
                        "region": {"startLine": f.line, "startColumn": f.column}
                    }
                }]
            })
        })
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "sealant",
                "informationUri": env!("CARGO_PKG_REPOSITORY"),
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules
            }},
            "results": results
        }]
    });
    serde_json::to_string_pretty(&log).unwrap_or_default() + "\n"
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}
