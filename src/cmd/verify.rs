//! `sealant verify`: does every item of every SealedSecret decrypt with the given keys?

use std::io::Write as _;

use anyhow::{Result, anyhow, bail};
use sealant_core::input;
use sealant_core::manifest;

use crate::audit::Audit;
use crate::io;
use sealant_cli::verify::VerifyArgs;

/// Runs the command, audited; prints one line per SealedSecret and fails if any item does not decrypt.
pub fn run(args: VerifyArgs) -> Result<()> {
    Audit::around(args.audit.audit_log.as_deref(), "verify", |audit| verify(&args, audit))
}

fn verify(args: &VerifyArgs, audit: &mut Audit) -> Result<()> {
    let keyring = crate::io::keyring(&args.keys)?;
    audit.keyring(&keyring);
    let input = io::read_input(
        args.file.as_deref(),
        "tty detected: expecting SealedSecret json/yaml in stdin",
    )?;
    audit.file(&input.name);
    let (_, objects) = manifest::read(&input.text).map_err(|e| anyhow!("{}: {e}", input.name))?;
    audit.sealed_secrets(&objects);
    let mut failures = Vec::new();
    let mut report = String::new();
    let verdicts = input::verify_located(&objects, &keyring);
    let count = verdicts.len();
    for (located, ss, result) in verdicts {
        let id = ss.id();
        match result {
            Ok(unsealed) => {
                let keys: std::collections::BTreeSet<&str> = unsealed.keys_used.values().map(String::as_str).collect();
                let keys: Vec<&str> = keys.into_iter().collect();
                let keys = if keys.is_empty() {
                    "no key needed".to_string()
                } else {
                    format!("key {}", keys.join(", "))
                };
                report.push_str(&format!(
                    "ok      {id}: {} item(s), {keys}\n",
                    unsealed.secret.data.len()
                ));
            }
            Err(e) => {
                for line in e.to_string().lines() {
                    report.push_str(&format!("FAILED  {id}: {line}\n"));
                }
                failures.push(format!(
                    "{}: document {} (line {}) ({id}): {e}",
                    input.name, located.document, located.line
                ));
            }
        }
    }
    if count == 0 {
        bail!("{}: no SealedSecret found", input.name);
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(report.as_bytes());
    let _ = stdout.flush();
    if !failures.is_empty() {
        bail!(
            "{} of {count} SealedSecret(s) failed to verify:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
    Ok(())
}
