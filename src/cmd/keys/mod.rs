//! `sealant keys`: make a controller-shaped key pair, print fingerprints, and manage a repository's `keys/`
//! (fetch, list, retire, compromise, age-encrypted backup and restore).

pub mod backup;
pub mod fetch;
pub mod list;
pub mod restore;
pub mod state;

use std::fmt::Write as _;

use anyhow::{Result, anyhow, bail};
use base64::Engine as _;
use sealant_core::keys::{self, Certificate, DEFAULT_CERT_VALIDITY};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::cli::{KeysCommand, KeysFingerprintArgs, KeysNewArgs};
use crate::io::{self, Sensitivity};

/// Label upstream's controller selects its key Secrets by.
pub const KEY_LABEL: &str = "sealedsecrets.bitnami.com/sealed-secrets-key";

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
    let secret = key_secret(&cert, &key_pem, &args.controller_namespace, None);
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

/// The key as an upstream controller key Secret (`kubernetes.io/tls`, labelled active), ready to apply.
/// Why a fixed template and not the YAML serializer: every value here is plain base64 (always a safe plain
/// scalar), and the template lets the private key go straight into a wiped buffer instead of through a
/// `serde_json::Value` that is never zeroized.
/// `name` fixes the Secret's name (restores are idempotent); without it the API server picks one.
pub fn key_secret(cert: &Certificate, key_pem: &str, namespace: &str, name: Option<&str>) -> Zeroizing<String> {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let naming = match name {
        Some(name) => format!("name: {name}"),
        None => "generateName: sealed-secrets-key".to_string(),
    };
    let mut out = Zeroizing::new(String::new());
    let _ = write!(
        out,
        "apiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\nmetadata:\n  {naming}\n  namespace: {namespace}\n  labels:\n    {KEY_LABEL}: active\ndata:\n  tls.crt: {}\n  tls.key: {}\n",
        b64(cert.pem()),
        Zeroizing::new(b64(key_pem)).as_str(),
    );
    out
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
