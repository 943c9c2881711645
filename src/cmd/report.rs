//! `sealant report`: the repository's SealedSecrets, keys and lint findings as one self-contained HTML page.

use anyhow::{Context as _, Result, anyhow};
use sealant_cli::report::ReportArgs;
use sealant_core::types::KEY_FINGERPRINT_ANNOTATION;
use sealant_rotate::git;
use sealant_rotate::pipeline::{self, Request};
use sealant_rotate::plan::{Focus, standings};
use time::OffsetDateTime;

use crate::io::{self, Sensitivity};

/// Runs the command.
pub fn run(args: ReportArgs) -> Result<()> {
    let now = args.now.unwrap_or_else(OffsetDateTime::now_utc);
    let repo = git::open(&args.repo)?;
    let root = repo
        .workdir()
        .ok_or_else(|| anyhow!("the repository has no work tree"))?
        .to_path_buf();
    // The rotation planner reads what the page needs: every SealedSecret, its age (annotation or history), key
    // and cluster. No key, no network: nothing is decrypted or sealed.
    let planned = pipeline::plan(
        &repo,
        &Request {
            base: None,
            remote: "origin".into(),
            now,
            keyring: None,
            focus: Focus::default(),
            compromised: Vec::new(),
        },
    )?;
    let due_soon = args.due_soon.unwrap_or_else(|| planned.config.warn_days());
    let rows = standings(&planned.scan.found, &planned.facts, &planned.keys, &planned.config, now);
    // SealedSecrets per key, by their annotation (what `keys list` counts), from the scan already made.
    let mut usage = std::collections::BTreeMap::new();
    for found in &planned.scan.found {
        let key = found.sealed.annotation(KEY_FINGERPRINT_ANNOTATION).map(str::to_string);
        *usage.entry(key).or_default() += 1;
    }
    let keys = sealant_repo::usage::summaries(&planned.keys, &usage, now);
    let lint_config = sealant_lint::Config::load(&root).context("cannot use the lint configuration")?;
    let findings = sealant_lint::lint_in(Some(&root), std::slice::from_ref(&root), &lint_config, now).findings;
    let title = root
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "repository".into());
    let page = sealant_report::render(&sealant_report::Input {
        title: &title,
        now,
        standings: &rows,
        keys: &keys,
        findings: &findings,
        due_soon_days: due_soon,
    });
    io::write_atomic(&args.html, page.as_bytes(), Sensitivity::Public)?;
    let overdue = rows
        .iter()
        .filter(|s| sealant_report::Status::of(s, due_soon) == sealant_report::Status::Overdue)
        .count();
    eprintln!(
        "wrote {}: {} SealedSecret(s), {overdue} overdue, {} key(s), {} lint finding(s)",
        args.html.display(),
        rows.len(),
        keys.len(),
        findings.len()
    );
    Ok(())
}
