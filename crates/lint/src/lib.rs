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

use std::path::{Path, PathBuf};

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
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }
}

/// Largest file read; bigger ones are noted and skipped.
const MAX_FILE: u64 = 4 << 20;

/// Lints every file under `roots` (files or directories; `.gitignore` honoured, `.git/` skipped).
pub fn lint(roots: &[PathBuf], config: &Config, now: OffsetDateTime) -> Report {
    let mut report = Report::default();
    for root in roots {
        let base = if root.is_dir() {
            root.clone()
        } else {
            root.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        let known = known_keys(&base);
        let history = GitHistory::read(&base);
        let files = match tracked_and_unignored(root, &mut report) {
            Some(files) => files,
            // Why everything when git cannot answer inside a work tree (a repository git refuses as of dubious
            // ownership, no git in the image): `.gitignore` alone would hide files that are tracked anyway.
            None if in_work_tree(root) => {
                report.notices.push(format!(
                    "{}: git could not list the tracked files; checking every file",
                    root.display()
                ));
                walk(root, false, &mut report)
            }
            None => walk(root, true, &mut report),
        };
        // Files are independent: check them on every core, then merge (the order is restored by the sort).
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = files.len().div_ceil(threads).max(1);
        let parts: Vec<Report> = std::thread::scope(|scope| {
            let workers: Vec<_> = files
                .chunks(chunk)
                .map(|part| {
                    let (base, known, history) = (&base, known.as_ref(), history.as_ref());
                    scope.spawn(move || {
                        let mut partial = Report::default();
                        for full in part {
                            let rel = full.strip_prefix(base).unwrap_or(full).to_path_buf();
                            let file = FileContext {
                                full,
                                rel: &rel,
                                known,
                                changed: history.and_then(|h| h.last_change(full)),
                            };
                            lint_file(&file, config, now, &mut partial);
                        }
                        partial
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| w.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
                .collect()
        });
        for part in parts {
            report.findings.extend(part.findings);
            report.notices.extend(part.notices);
            report.files += part.files;
        }
    }
    report.notices.sort();
    report
        .findings
        .sort_by(|a, b| (&a.path, a.line, a.column, a.rule).cmp(&(&b.path, b.line, b.column, b.rule)));
    report
}

/// Inside a git work tree: every tracked file under `root`, and every untracked one that `.gitignore` (or
/// `.git/info/exclude`) does not exclude. `None` outside a repository (or without git).
///
/// Why git's own list: a tracked file is committed whatever an ignore file says, so it must be checked; and a
/// committed `.ignore` (not a git file, but honoured by generic walkers) or a global exclude must not be able to
/// hide one.
fn tracked_and_unignored(root: &Path, report: &mut Report) -> Option<Vec<PathBuf>> {
    let (dir, only) = if root.is_dir() {
        (root.to_path_buf(), None)
    } else {
        (
            root.parent().map(Path::to_path_buf).unwrap_or_default(),
            root.file_name(),
        )
    };
    let dir = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir
    };
    let mut command = git_command(&dir);
    command.args([
        "ls-files",
        "-z",
        "--cached",
        "--others",
        "--exclude-per-directory=.gitignore",
    ]);
    if let Some(info) = git_info_exclude(&dir) {
        command.arg(format!("--exclude-from={}", info.display()));
    }
    if let Some(name) = only {
        command.arg("--").arg(name);
    }
    let out = command.output().ok().filter(|o| o.status.success())?;
    use std::os::unix::ffi::OsStrExt as _;
    let mut files = Vec::new();
    for name in out.stdout.split(|&b| b == 0).filter(|p| !p.is_empty()) {
        // Names as bytes: a name that is not UTF-8 is still a file to check.
        let path = dir.join(std::ffi::OsStr::from_bytes(name));
        match std::fs::symlink_metadata(&path) {
            // A deleted-but-tracked file is not there to check; a symbolic link stays, to be reported unchecked.
            Ok(m) if m.is_file() || m.file_type().is_symlink() => files.push(path),
            // A submodule (a tracked directory): its files are deployed too, all of them are checked.
            Ok(m) if m.is_dir() => files.extend(walk(&path, false, report)),
            _ => {}
        }
    }
    files.sort();
    files.dedup();
    Some(files)
}

/// `<git dir>/info/exclude` of the repository holding `dir`, when it exists.
fn git_info_exclude(dir: &Path) -> Option<PathBuf> {
    let out = git_command(dir)
        .args(["rev-parse", "--git-path", "info/exclude"])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let path = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    let path = if path.is_absolute() { path } else { dir.join(path) };
    path.is_file().then_some(path)
}

/// `git -C dir` with what sealant needs of every git it runs: no bare repository found by walking up (a
/// repository writer could plant one), and paths printed as they are (non-ASCII names unquoted).
fn git_command(dir: &Path) -> std::process::Command {
    let mut command = std::process::Command::new("git");
    command
        .arg("-C")
        .arg(dir)
        .args(["-c", "safe.bareRepository=explicit", "-c", "core.quotePath=false"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    command
}

/// Whether `root` lies in a git work tree (a `.git` in it or above it).
fn in_work_tree(root: &Path) -> bool {
    std::path::absolute(root).is_ok_and(|a| a.ancestors().any(|d| d.join(".git").exists()))
}

/// Every file under `root`, `.git/` skipped, symbolic links listed (to be reported) but not followed; with
/// `gitignore`, `.gitignore` files are honoured (never `.ignore` files or global excludes).
fn walk(root: &Path, gitignore: bool, report: &mut Report) -> Vec<PathBuf> {
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .require_git(false)
        .ignore(false)
        .git_global(false)
        .git_ignore(gitignore)
        .git_exclude(gitignore)
        .parents(false)
        .build();
    let mut files = Vec::new();
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                report.notices.push(format!("skipped: {e}"));
                continue;
            }
        };
        if entry.path().components().any(|c| c.as_os_str() == ".git")
            || !entry.file_type().is_some_and(|t| t.is_file() || t.is_symlink())
        {
            continue;
        }
        files.push(entry.into_path());
    }
    files
}

/// The state of every certificate under `keys/<cluster>/` by fingerprint, if the directory exists.
fn known_keys(base: &Path) -> Option<KnownKeys> {
    let dir = base.join("keys");
    if !dir.is_dir() {
        return None;
    }
    // An unreadable keys/ directory or certificate only means fewer known keys: the findings then name them.
    let keys = sealant_repo::KeysDir::load(&dir).unwrap_or_default();
    Some(
        keys.clusters()
            .iter()
            .flat_map(|c| &c.keys)
            .map(|k| (k.fingerprint.clone(), k.state))
            .collect(),
    )
}

/// What is known about one file besides its text.
struct FileContext<'a> {
    full: &'a Path,
    rel: &'a Path,
    known: Option<&'a KnownKeys>,
    changed: Option<OffsetDateTime>,
}

/// When each file last changed, from one `git log` over the repository (for SealedSecrets that carry no
/// `sealant.dev/sealed-at`, e.g. those kubeseal made).
struct GitHistory {
    changed: std::collections::HashMap<PathBuf, OffsetDateTime>,
}

impl GitHistory {
    fn read(dir: &Path) -> Option<Self> {
        let git = |args: &[&str]| {
            git_command(dir)
                .args(args)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        };
        // Canonical once here, so each file needs only its own canonical path to look up.
        let top = std::fs::canonicalize(git(&["rev-parse", "--show-toplevel"])?.trim()).ok()?;
        let log = git(&["log", "--format=%x00%ct", "--name-only", "--no-renames"])?;
        let mut changed = std::collections::HashMap::new();
        let mut when = None;
        for line in log.lines() {
            if let Some(ts) = line.strip_prefix('\0') {
                when = ts
                    .parse::<i64>()
                    .ok()
                    .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok());
            } else if !line.is_empty()
                && let Some(t) = when
            {
                // Newest first: the first time a path is seen is its last change.
                changed.entry(top.join(line)).or_insert(t);
            }
        }
        Some(Self { changed })
    }

    fn last_change(&self, file: &Path) -> Option<OffsetDateTime> {
        self.changed.get(&std::fs::canonicalize(file).ok()?).copied()
    }
}

fn lint_file(file: &FileContext, config: &Config, now: OffsetDateTime, report: &mut Report) {
    let display = file.rel.display().to_string();
    // Why an error, not a note: a file lint cannot read is a file nobody checked, and an attacker's way past it.
    let bytes = match sealant_repo::repofs::read(file.full, MAX_FILE) {
        Ok(bytes) => bytes,
        Err(e) => {
            report.files += 1;
            push_unchecked(report, &display, &e.to_string(), config, file.rel);
            return;
        }
    };
    match decode(&bytes) {
        Some(text) => lint_source(file.rel, &text, file.known, file.changed, config, now, report),
        None => {
            // Not text: no manifest, but a key may still sit in it among other bytes (one Latin-1 byte in a
            // PEM block must not hide the block), so the credential scan sees the bytes as lossy text.
            report.files += 1;
            let lossy = String::from_utf8_lossy(&bytes);
            let mut partial = Report::default();
            lint_credentials(file.rel, &lossy, config, &mut partial);
            report.findings.extend(partial.findings);
        }
    }
}

/// A file's text: UTF-8 (a BOM is fine), or UTF-16 with a BOM (what PowerShell's `>` writes). `None` for
/// anything else.
fn decode(bytes: &[u8]) -> Option<std::borrow::Cow<'_, str>> {
    let utf16 = |big_endian: bool| {
        let units: Vec<u16> = bytes[2..]
            .chunks_exact(2)
            .map(|p| {
                if big_endian {
                    u16::from_be_bytes([p[0], p[1]])
                } else {
                    u16::from_le_bytes([p[0], p[1]])
                }
            })
            .collect();
        String::from_utf16(&units).ok().map(std::borrow::Cow::Owned)
    };
    match bytes {
        [0xFF, 0xFE, ..] => utf16(false),
        [0xFE, 0xFF, ..] => utf16(true),
        _ => std::str::from_utf8(bytes).ok().map(std::borrow::Cow::Borrowed),
    }
}

/// An `unreadable-file` finding (error): the file was not checked.
fn push_unchecked(report: &mut Report, display: &str, why: &str, config: &Config, rel: &Path) {
    let Some(rule) = rules::rule("unreadable-file") else {
        return;
    };
    let Some(severity) = config.severity(rule, rel) else {
        return;
    };
    report.findings.push(Finding {
        rule: rule.id,
        severity,
        path: display.to_string(),
        line: 1,
        column: 1,
        message: format!("not checked: {why}"),
        help: rule.help,
    });
}

/// The credential scan alone, for bytes that are not text.
fn lint_credentials(rel: &Path, text: &str, config: &Config, report: &mut Report) {
    let Some(rule) = rules::rule("committed-credential") else {
        return;
    };
    let Some(severity) = config.severity(rule, rel) else {
        return;
    };
    for (line, column, message) in checks::credentials(text) {
        report.findings.push(Finding {
            rule: rule.id,
            severity,
            path: rel.display().to_string(),
            line,
            column,
            message,
            help: rule.help,
        });
    }
}

/// Lints one file's text as if it were at `rel` (its extension picks YAML or JSON), with no `keys/` and no git
/// history: what an editor integration or a fuzzer needs.
pub fn lint_text(rel: &Path, text: &str, config: &Config, now: OffsetDateTime) -> Report {
    let mut report = Report::default();
    lint_source(rel, text, None, None, config, now, &mut report);
    report
}

fn lint_source(
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
}
