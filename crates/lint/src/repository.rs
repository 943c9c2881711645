//! Linting a repository's files: the one walk, `keys/` for key states, and ages from git history.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sealant_repo::worktree::WorkTree;
use time::OffsetDateTime;

use crate::checks::KnownKeys;
use crate::{Config, Finding, Report, checks, lint_source, rules};

/// Largest file read; bigger ones are noted and skipped.
const MAX_FILE: u64 = 4 << 20;

/// Lints every file under `roots` (files or directories) as the repository walk finds them: tracked files, and
/// untracked ones `.gitignore` does not exclude.
pub fn lint(roots: &[PathBuf], config: &Config, now: OffsetDateTime) -> Report {
    lint_in(None, roots, config, now)
}

/// As [`lint`], but a root inside `top` (the directory holding `.sealant.yaml`, the repository's top) is seen
/// from `top`: its paths, globs and `keys/` are `top`'s. So `sealant lint --config-dir . apps overlays` checks
/// only those directories, with the repository's keys and paths as the configuration names them.
pub fn lint_in(top: Option<&Path>, roots: &[PathBuf], config: &Config, now: OffsetDateTime) -> Report {
    let top = top.map(|t| std::path::absolute(t).unwrap_or_else(|_| t.to_path_buf()));
    let mut report = Report::default();
    for root in roots {
        let inside = |t: &PathBuf| std::path::absolute(root).is_ok_and(|r| r.starts_with(t));
        let base = if let Some(top) = top.as_ref().filter(|t| inside(t)) {
            top.clone()
        } else if root.is_dir() {
            root.clone()
        } else {
            root.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
        };
        let known = known_keys(&base);
        let walk = sealant_repo::walk::files(root);
        report.notices.extend(walk.notices);
        let base = std::path::absolute(&base).unwrap_or(base);
        let files = walk.files;
        let history = match WorkTree::find(&base) {
            Some(Ok(tree)) => tree.last_changes(&files),
            _ => HashMap::new(),
        };
        // Files are independent: check them on every core, then merge (the order is restored by the sort).
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = files.len().div_ceil(threads).max(1);
        let parts: Vec<Report> = std::thread::scope(|scope| {
            let workers: Vec<_> = files
                .chunks(chunk)
                .map(|part| {
                    let (base, known, history) = (&base, known.as_ref(), &history);
                    scope.spawn(move || {
                        let mut partial = Report::default();
                        for full in part {
                            let rel = full.strip_prefix(base).unwrap_or(full).to_path_buf();
                            let file = FileContext {
                                full,
                                rel: &rel,
                                known,
                                changed: history.get(full).copied(),
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
        // Reserved once: growing the list part by part would copy it at the peak of the run's memory.
        report
            .findings
            .reserve_exact(parts.iter().map(|p| p.findings.len()).sum());
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
