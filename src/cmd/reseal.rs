//! `sealant reseal`: re-encrypt SealedSecret files to another key offline (a cluster's new key, or a new
//! cluster), changing only the ciphertexts and the key annotation so `git diff` shows nothing else.

use anyhow::{Context as _, Result, anyhow};
use sealant_core::Certificate;
use sealant_core::rewrite::reseal_file;

use crate::audit::Audit;
use crate::io::{self, Sensitivity};
use sealant_cli::reseal::ResealArgs;

/// Runs the command. Every file is re-sealed in memory first; files are written only when all succeeded.
pub fn run(args: ResealArgs) -> Result<()> {
    Audit::around(args.audit.audit_log.as_deref(), "reseal", |audit| reseal(&args, audit))
}

fn reseal(args: &ResealArgs, audit: &mut Audit) -> Result<()> {
    let keyring = crate::io::keyring(&args.keys)?;
    audit.keyring(&keyring);
    let cert = target(args)?;
    let mut outputs = Vec::new();
    for file in &args.files {
        let name = file.display().to_string();
        audit.file(&name);
        let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {name}"))?;
        if audit.enabled()
            && let Ok((_, objects)) = sealant_core::manifest::read(&text)
        {
            audit.sealed_secrets(&objects);
        }
        let resealed = reseal_file(&text, &keyring, &cert).map_err(|e| anyhow!("{name}: {e}"))?;
        for (at, warning) in &resealed.warnings {
            eprintln!("{name}: {at}: warning: {warning}");
        }
        let (out, changed) = (resealed.text, resealed.changed);
        if changed > 0 {
            outputs.push((file, out, changed));
        } else {
            eprintln!("{name}: already sealed to {}", cert.fingerprint());
        }
    }
    for (file, out, changed) in outputs {
        io::write_atomic(file, out.as_bytes(), Sensitivity::Public)?;
        eprintln!(
            "{}: re-sealed {changed} SealedSecret(s) to {}",
            file.display(),
            cert.fingerprint()
        );
    }
    Ok(())
}

fn target(args: &ResealArgs) -> Result<Certificate> {
    let now = time::OffsetDateTime::now_utc();
    if let Some(location) = &args.cert {
        return Ok(sealant_client::cert::load(location, now)?);
    }
    let keys = sealant_repo::KeysDir::load(&args.keys.keys_dir)?;
    Ok(keys
        .current_cert(args.cluster.as_deref().unwrap_or_default(), now)?
        .clone())
}
