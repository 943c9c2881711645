//! `sealant keys list`: every certificate under `keys/`, its state and age, and how many SealedSecrets use it.

use anyhow::{Context as _, Result};
use sealant_cli::keys::{KeysListArgs, ListFormat};
use sealant_repo::KeysDir;
use time::OffsetDateTime;

/// Runs the command.
pub fn run(args: KeysListArgs) -> Result<()> {
    let root = args.repo.join("keys");
    let dir = KeysDir::load(&root).with_context(|| format!("cannot read {}", root.display()))?;
    for problem in &dir.problems {
        eprintln!("warning: {problem}");
    }
    let usage = sealant_repo::usage(&args.repo);
    let now = OffsetDateTime::now_utc();
    let rows = sealant_repo::usage::summaries(&dir, &usage, now);
    let unannotated = usage.get(&None).copied().unwrap_or(0);
    if args.format == ListFormat::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"keys": rows, "sealedSecretsWithoutFingerprint": unannotated})
            )?
        );
        return Ok(());
    }
    if rows.is_empty() {
        println!(
            "no certificates under {} (add one with `sealant keys fetch`)",
            root.display()
        );
    } else {
        println!(
            "{:<12} {:<51} {:<10} {:>5} {:<11} {:<7} {:>7}",
            "CLUSTER", "FINGERPRINT", "CREATED", "AGE", "STATE", "ESCROW", "SEALED"
        );
        for r in &rows {
            println!(
                "{:<12} {:<51} {:<10} {:>4}d {:<11} {:<7} {:>7}",
                r.cluster,
                r.fingerprint,
                r.created,
                r.age_days,
                r.state,
                if r.escrowed { "yes" } else { "no" },
                r.sealed_secrets,
            );
        }
    }
    if unannotated > 0 {
        println!(
            "{unannotated} SealedSecret(s) carry no sealant.dev/key-fingerprint (made by kubeseal): `sealant verify` tells their key"
        );
    }
    Ok(())
}
