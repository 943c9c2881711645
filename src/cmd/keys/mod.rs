//! `sealant keys`: make a controller-shaped key pair, print fingerprints, and manage a repository's `keys/`
//! (fetch, list, retire, compromise, age-encrypted backup and restore).

pub mod backup;
pub mod fetch;
pub mod list;
pub mod restore;
pub mod state;

use std::path::PathBuf;

use anyhow::{Result, anyhow, bail};
use clap::{Args, Subcommand};
use sealant_core::keys::{self, Certificate, DEFAULT_CERT_VALIDITY};
use sealant_core::keysecret;
use time::OffsetDateTime;

use crate::args::dns_label;
use crate::io::{self, Sensitivity};

/// `sealant keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a new key pair shaped like the controller's (for development and tests).
    New(KeysNewArgs),
    /// Print the SHA256 fingerprint of a certificate, private key or key Secret.
    Fingerprint(KeysFingerprintArgs),
    /// List the certificates under keys/: cluster, fingerprint, age, state, escrow, SealedSecrets using each.
    List(list::KeysListArgs),
    /// Fetch a cluster's sealing certificate into keys/<cluster>/ and make it current.
    Fetch(fetch::KeysFetchArgs),
    /// Mark a key retired: nothing may be sealed to it; what is sealed to it should be re-sealed.
    Retire(state::KeysStateArgs),
    /// Mark a key compromised: the values sealed to it must be regenerated.
    Compromise(state::KeysStateArgs),
    /// Escrow the controller's private keys, age-encrypted, into keys/<cluster>/*.key.age.
    Backup(backup::KeysBackupArgs),
    /// Recreate the controller's key Secrets from keys/<cluster>/*.key.age with an age identity.
    Restore(restore::KeysRestoreArgs),
}

/// `sealant keys new`.
#[derive(Debug, Args)]
pub struct KeysNewArgs {
    /// Directory to write `tls.crt`, `tls.key` (mode 0600) and `key-secret.yaml` (mode 0600) into.
    #[arg(long, env = "SEALANT_OUT", value_name = "DIR")]
    pub out: PathBuf,
    /// RSA key size in bits.
    #[arg(long, env = "SEALANT_BITS", default_value_t = 4096, value_parser = parse_bits)]
    pub bits: usize,
    /// Namespace written into the key Secret (the controller's namespace).
    #[arg(long, env = "SEALANT_CONTROLLER_NAMESPACE", default_value = "kube-system", value_parser = dns_label)]
    pub controller_namespace: String,
    /// Replace existing files. Its own variable, `SEALANT_OVERWRITE`: `SEALANT_FORCE` lets `unseal` and
    /// `keys restore` print plaintext to a terminal, and one export must not switch on both.
    #[arg(long, env = "SEALANT_OVERWRITE")]
    pub force: bool,
}

/// `sealant keys fingerprint`.
#[derive(Debug, Args)]
pub struct KeysFingerprintArgs {
    /// Certificate, private key (PEM), key Secret or v1 List backup.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

fn parse_bits(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(bits @ (2048 | 3072 | 4096 | 8192)) => Ok(bits),
        _ => Err("must be one of: 2048, 3072, 4096, 8192".to_string()),
    }
}

/// Runs the command.
pub fn run(cmd: KeysCommand) -> Result<()> {
    match cmd {
        KeysCommand::New(args) => new(args),
        KeysCommand::Fingerprint(args) => fingerprint(args),
        KeysCommand::List(args) => list::run(args),
        KeysCommand::Fetch(args) => fetch::run(args),
        KeysCommand::Retire(args) => state::run(args, sealant_repo::KeyState::Retired),
        KeysCommand::Compromise(args) => state::run(args, sealant_repo::KeyState::Compromised),
        KeysCommand::Backup(args) => backup::run(args),
        KeysCommand::Restore(args) => restore::run(args),
    }
}

fn new(args: KeysNewArgs) -> Result<()> {
    let dir = &args.out;
    sealant_repo::repofs::ensure_inside_repository(dir).map_err(|e| anyhow!("cannot create {}: {e}", dir.display()))?;
    std::fs::create_dir_all(dir).map_err(|e| anyhow!("cannot create {}: {e}", dir.display()))?;
    let files = ["tls.crt", "tls.key", "key-secret.yaml"].map(|f| dir.join(f));
    if let Some(existing) = files.iter().find(|f| !args.force && f.exists()) {
        bail!(
            "{} already exists: pass --force to replace it (the old key can no longer unseal anything sealed to it unless you keep a copy)",
            existing.display()
        );
    }
    let (key, cert) = keys::generate_key_and_cert(args.bits, OffsetDateTime::now_utc(), DEFAULT_CERT_VALIDITY)?;
    let key_pem = keys::private_key_pkcs1_pem(&key)?;
    let secret = keysecret::yaml(
        &cert,
        &key_pem,
        &args.controller_namespace,
        keysecret::Naming::Prefix(keysecret::DEFAULT_PREFIX),
    );
    io::write_atomic(&files[0], cert.pem().as_bytes(), Sensitivity::Public)?;
    io::write_atomic(&files[1], key_pem.as_bytes(), Sensitivity::Secret)?;
    io::write_atomic(&files[2], secret.as_bytes(), Sensitivity::Secret)?;
    eprintln!(
        "wrote {} (certificate: share it, seal with it), {} and {} (private key, mode 0600: keep it secret)",
        files[0].display(),
        files[1].display(),
        files[2].display()
    );
    println!("{}", cert.fingerprint());
    Ok(())
}

fn fingerprint(args: KeysFingerprintArgs) -> Result<()> {
    let name = args.file.display().to_string();
    let data = io::read_secret_file(&args.file)?;
    if let Ok(cert) = Certificate::from_pem(&data) {
        println!(
            "{}  {name} (certificate, valid until {})",
            cert.fingerprint(),
            cert.not_after().date()
        );
        return Ok(());
    }
    let keys = keys::load_private_keys(&data).map_err(|e| anyhow!("{name}: not a certificate or private key: {e}"))?;
    for key in keys {
        println!("{}  {name} (private key)", key.public_key().fingerprint()?);
    }
    Ok(())
}
