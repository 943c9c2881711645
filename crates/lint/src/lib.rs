//! sealant-lint: the policy check that stops plaintext, badly named, overdue and unsafely consumed secrets
//! before they land — over a GitOps tree of YAML/JSON manifests, honouring `.gitignore`, configured from
//! `.sealant.yaml`, reporting `file:line:column` as text, JSON or SARIF 2.1.0.
//!
//! Findings name files, objects and items, never values.

pub mod config;
pub mod output;
pub mod rules;

mod checks;
mod document;
#[cfg(feature = "repository")]
mod repository;

#[cfg(feature = "repository")]
pub use repository::{lint, lint_in};

use std::path::Path;

use serde::Serialize;
use time::OffsetDateTime;

use crate::checks::KnownKeys;

pub use config::Config;
pub use rules::{RULES, Rule, Severity};

/// One finding.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Finding {
    /// Rule id.
    pub rule: &'static str,
    /// Effective severity.
    pub severity: Severity,
    /// File, relative to the root it was found under.
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What was found.
    pub message: String,
    /// How to fix it.
    pub help: &'static str,
}

/// The result of a run.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// Findings, by file and line.
    pub findings: Vec<Finding>,
    /// Files skipped and why (Helm templates, unreadable files).
    pub notices: Vec<String>,
    /// Files checked.
    pub files: usize,
}

impl Report {
    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.error_count() > 0
    }

    /// How many findings are errors.
    pub fn error_count(&self) -> usize {
        self.findings.iter().filter(|f| f.severity == Severity::Error).count()
    }
}

/// Lints one file's text as if it were at `rel` (its extension picks YAML or JSON), with no `keys/` and no git
/// history: what an editor integration or a fuzzer needs.
pub fn lint_text(rel: &Path, text: &str, config: &Config, now: OffsetDateTime) -> Report {
    let mut report = Report::default();
    lint_source(rel, text, None, None, config, now, &mut report);
    report
}

pub(crate) fn lint_source(
    rel: &Path,
    text: &str,
    known: Option<&KnownKeys>,
    changed: Option<OffsetDateTime>,
    config: &Config,
    now: OffsetDateTime,
    report: &mut Report,
) {
    let display = rel.display().to_string();
    report.files += 1;
    let suppressions = Suppressions::new(text);
    let mut push = |rule_id: &'static str, line: usize, column: usize, message: String| {
        let Some(rule) = rules::rule(rule_id) else { return };
        let Some(severity) = config.severity(rule, rel) else {
            return;
        };
        if suppressions.covers(rule_id, line) {
            return;
        }
        report.findings.push(Finding {
            rule: rule_id,
            severity,
            path: display.clone(),
            line,
            column,
            message,
            help: rule.help,
        });
    };
    for (line, column, message) in checks::credentials(text) {
        push("committed-credential", line, column, message);
    }
    let extension = rel.extension().and_then(|e| e.to_str()).unwrap_or_default();
    let documents = match extension {
        "yaml" | "yml" => {
            if is_helm_template(rel, text) {
                report
                    .notices
                    .push(format!("{display}: Helm template, skipped (lint the rendered output)"));
                return;
            }
            document::yaml(text)
        }
        "json" => document::json(text),
        _ => return,
    };
    let documents = match documents {
        Ok(d) => d,
        Err(problem) => {
            push("parse-error", problem.line, problem.column, problem.message);
            return;
        }
    };
    let ctx = checks::Context {
        config,
        file: rel,
        now,
        known_keys: known,
        last_change: changed,
    };
    let starts: Vec<usize> = documents.iter().map(|d| d.line).collect();
    for (i, doc) in documents.iter().enumerate() {
        let next_start = starts.get(i + 1).copied().unwrap_or(usize::MAX);
        let mut hits = Vec::new();
        checks::object(&doc.value, Vec::new(), &ctx, &mut hits);
        for h in hits {
            let (line, column) = doc.position(&h.path);
            // A suppression right above a document covers the whole document.
            if suppressions.covers_range(h.rule, doc.line, line.min(next_start)) {
                continue;
            }
            let message = if documents.len() > 1 {
                format!("document {}: {}", doc.number, h.message)
            } else {
                h.message
            };
            push(h.rule, line, column, message);
        }
    }
}

fn is_helm_template(rel: &Path, text: &str) -> bool {
    rel.components().any(|c| c.as_os_str() == "templates") && text.contains("{{")
}

/// Inline suppressions: a comment `sealant-lint: disable=RULE[,RULE] reason="why"` on the finding's line or the
/// line above. A suppression without a reason does not count.
struct Suppressions {
    entries: Vec<(usize, Vec<String>)>,
}

impl Suppressions {
    fn new(text: &str) -> Self {
        let mut entries = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let Some(at) = line.find("sealant-lint: disable=") else {
                continue;
            };
            let rest = &line[at + "sealant-lint: disable=".len()..];
            let (ids, tail) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let has_reason = tail
                .trim()
                .strip_prefix("reason=")
                .is_some_and(|r| r.trim_matches('"').trim().len() >= 3);
            if has_reason {
                entries.push((n + 1, ids.split(',').map(|s| s.trim().to_string()).collect()));
            }
        }
        Self { entries }
    }

    /// A suppression on the line before `start` (a document's first line), for a finding before `end`.
    fn covers_range(&self, rule: &str, start: usize, end: usize) -> bool {
        end >= start && self.covers(rule, start)
    }

    fn covers(&self, rule: &str, line: usize) -> bool {
        self.entries
            .iter()
            .any(|(at, ids)| (*at == line || *at + 1 == line) && ids.iter().any(|i| i == rule))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_syntax_error_at_a_line_start_is_reported_at_column_one() {
        // Found by fuzzing (fuzz/seeds/lint_text/regression-json-column-0): serde_json says column 0 there.
        let report = lint_text(
            Path::new("x.json"),
            "\n-\n",
            &Config::default(),
            OffsetDateTime::UNIX_EPOCH,
        );
        let finding = report.findings.iter().find(|f| f.rule == "parse-error").unwrap();
        assert!(finding.line >= 1 && finding.column >= 1, "{finding:?}");
    }

    #[test]
    fn a_sealed_at_time_in_the_future_is_an_error_not_a_fresh_secret() {
        let doc = |at: &str| {
            format!(
                "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: web-api-token-prod\n  namespace: web\n  annotations:\n    sealant.dev/sealed-at: \"{at}\"\nspec:\n  encryptedData:\n    token: AgA=\n"
            )
        };
        let now = OffsetDateTime::from_unix_timestamp(1_900_000_000).unwrap();
        let lint = |at: &str| lint_text(Path::new("s.yaml"), &doc(at), &Config::default(), now).findings;
        let future = lint("2031-01-01T00:00:00Z");
        assert!(
            future
                .iter()
                .any(|f| f.rule == "rotation-overdue" && f.message.contains("in the future")),
            "{future:?}"
        );
        // Today (clock skew of less than a day) is fine.
        assert!(
            !lint("2030-03-17T18:00:00Z")
                .iter()
                .any(|f| f.rule == "rotation-overdue")
        );
    }
}
