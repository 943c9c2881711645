//! `sealant reseal`: re-encrypt SealedSecret files to another key offline (a cluster's new key, or a new
//! cluster), changing only the ciphertexts and the key annotation so `git diff` shows nothing else.

use std::path::PathBuf;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use sealant_core::manifest::{self, Object};
use sealant_core::seal::reseal;
use sealant_core::types::KEY_FINGERPRINT_ANNOTATION;
use sealant_core::unseal::UnsealOptions;
use sealant_core::{Certificate, SealedSecret};

use crate::args::KeyArgs;
use crate::io::{self, Sensitivity};

/// `sealant reseal`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sealant reseal --cluster prod --age-identity ~/break-glass.txt apps/**/sealed-*.yaml
  sealant reseal --cert new.crt --key old-keys.yaml sealed.yaml")]
pub struct ResealArgs {
    /// SealedSecret files to re-seal, in place.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Certificate to re-seal to (file or URL).
    #[arg(
        long,
        env = "SEALANT_CERT",
        value_name = "FILE|URL",
        conflicts_with = "cluster",
        required_unless_present = "cluster"
    )]
    pub cert: Option<String>,
    /// Re-seal to this cluster's current key (`keys/<cluster>/current`).
    #[arg(long, env = "SEALANT_CLUSTER", value_parser = crate::args::dns_label)]
    pub cluster: Option<String>,
    #[command(flatten)]
    pub keys: KeyArgs,
}

/// Runs the command. Every file is re-sealed in memory first; files are written only when all succeeded.
pub fn run(args: ResealArgs) -> Result<()> {
    let keyring = crate::keyring::load_keyring(&args.keys)?;
    let cert = target(&args)?;
    let mut outputs = Vec::new();
    for file in &args.files {
        let name = file.display().to_string();
        let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {name}"))?;
        let (out, changed) = reseal_text(&name, &text, &keyring, &cert)?;
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
    if let Some(location) = &args.cert {
        return io::load_cert(location);
    }
    let name = args.cluster.as_deref().unwrap_or_default();
    let keys = sealant_repo::KeysDir::load(&args.keys.keys_dir).map_err(|e| anyhow!("{e}"))?;
    let current = keys.cluster(name).and_then(|c| c.current()).ok_or_else(|| {
        anyhow!(
            "cluster {name} has no current key under {}",
            args.keys.keys_dir.display()
        )
    })?;
    Ok(current.cert.clone())
}

/// Re-seals every SealedSecret of one file whose items are not all sealed to `cert` yet. Returns the new text
/// and how many objects changed.
fn reseal_text(name: &str, text: &str, keyring: &sealant_core::Keyring, cert: &Certificate) -> Result<(String, usize)> {
    let (format, objects) = manifest::read(text).map_err(|e| anyhow!("{name}: {e}"))?;
    let mut out = text.to_string();
    let mut changed = Vec::new();
    for located in &objects {
        let Object::SealedSecret(ss) = &located.object else {
            continue;
        };
        let at = format!(
            "{name}: document {} (line {}) ({})",
            located.document,
            located.line,
            ss.id()
        );
        // Each item is decrypted once; an object already sealed to the target is left as it is.
        let resealed = reseal(ss, keyring, cert, None, UnsealOptions::default()).map_err(|e| anyhow!("{at}: {e}"))?;
        if resealed.keys_used.values().all(|fp| fp == cert.fingerprint()) {
            continue;
        }
        for warning in &resealed.warnings {
            eprintln!("{at}: warning: {warning}");
        }
        let mut paths: Vec<(Vec<String>, String)> = resealed
            .items
            .iter()
            .map(|(item, sealed)| {
                (
                    vec!["spec".to_string(), "encryptedData".to_string(), item.clone()],
                    sealed.clone(),
                )
            })
            .collect();
        let merged = resealed.sealed;
        paths.push((
            vec![
                "metadata".into(),
                "annotations".into(),
                KEY_FINGERPRINT_ANNOTATION.into(),
            ],
            cert.fingerprint().to_string(),
        ));
        out = sealant_core::rewrite::rewrite_sealed(&out, format, &located.document, ss, &paths)
            .map_err(|e| anyhow!("{at}: {e}"))?;
        changed.push(merged);
    }
    check(name, &out, &changed)?;
    Ok((out, changed.len()))
}

/// Re-reads the result: it must parse and hold exactly the re-sealed items.
fn check(name: &str, out: &str, want: &[SealedSecret]) -> Result<()> {
    let (_, objects) = manifest::read(out)
        .map_err(|e| anyhow!("{name}: re-sealing produced unreadable output, file left unchanged: {e}"))?;
    for w in want {
        let found = objects.iter().any(|l| match &l.object {
            Object::SealedSecret(got) => got.name() == w.name() && got.spec.encrypted_data == w.spec.encrypted_data,
            _ => false,
        });
        if !found {
            bail!(
                "{name}: {} did not come out as re-sealed, file left unchanged",
                w.name()
            );
        }
    }
    Ok(())
}
