//! `sealant keys`: make a controller-shaped key pair, print fingerprints, and manage a repository's `keys/`
//! (fetch, list, retire, compromise, age-encrypted backup and restore).

pub mod backup;
pub mod fetch;
pub mod list;
pub mod restore;
pub mod state;

use anyhow::{Result, anyhow, bail};
use sealant_core::keys::{self, Certificate, DEFAULT_CERT_VALIDITY};
use sealant_core::keysecret;
use time::OffsetDateTime;

use crate::audit::Audit;
use crate::io::{self, Sensitivity};
use sealant_cli::keys::{KeysCommand, KeysFingerprintArgs, KeysNewArgs};

/// Runs the command.
pub fn run(cmd: KeysCommand) -> Result<()> {
    match cmd {
        KeysCommand::New(args) => Audit::around(args.audit.audit_log.clone().as_deref(), "keys new", |audit| {
            new(args, audit)
        }),
        KeysCommand::Fingerprint(args) => fingerprint(args),
        KeysCommand::List(args) => list::run(args),
        KeysCommand::Fetch(args) => fetch::run(args),
        KeysCommand::Retire(args) => state::run(args, sealant_repo::KeyState::Retired),
        KeysCommand::Compromise(args) => state::run(args, sealant_repo::KeyState::Compromised),
        KeysCommand::Backup(args) => Audit::around(args.audit.audit_log.clone().as_deref(), "keys backup", |audit| {
            backup::run(args, audit)
        }),
        KeysCommand::Restore(args) => Audit::around(args.audit.audit_log.clone().as_deref(), "keys restore", |audit| {
            restore::run(args, audit)
        }),
    }
}

fn new(args: KeysNewArgs, audit: &mut Audit) -> Result<()> {
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
    audit.key(cert.fingerprint());
    audit.output(Some(dir));
    let key_pem = keys::private_key_pkcs1_pem(&key)?;
    let secret = keysecret::yaml(
        &cert,
        &key_pem,
        &args.controller_namespace,
        keysecret::Naming::Prefix(keysecret::DEFAULT_PREFIX),
    );
    audit.commit()?;
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
