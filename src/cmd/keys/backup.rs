//! `sealant keys backup`: the controller's private keys, age-encrypted to break-glass recipients, committed as
//! `keys/<cluster>/<fingerprint>.key.age` next to each certificate.

use std::path::PathBuf;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use sealant_core::keys::private_key_pkcs1_pem;
use sealant_core::keysecret::{self, KeyPair};
use sealant_core::manifest;
use sealant_repo::{KeysDir, Recipients};
use zeroize::Zeroizing;

/// `sealant keys backup`.
#[derive(Debug, Args)]
pub struct KeysBackupArgs {
    /// The cluster the keys belong to: files go to `keys/<cluster>/`.
    #[arg(long, env = "SEALANT_CLUSTER", value_parser = crate::args::dns_label)]
    pub cluster: String,
    /// An age public key (`age1…`) to encrypt to; repeat it or separate with commas. Public keys only.
    #[arg(long = "recipient", env = "SEALANT_ESCROW_RECIPIENTS", value_delimiter = ',')]
    pub recipients: Vec<String>,
    /// A file of age public keys, one per line (`#` comments), as `age -R` reads.
    #[arg(
        long = "recipients-file",
        env = "SEALANT_ESCROW_RECIPIENTS_FILE",
        value_name = "FILE"
    )]
    pub recipients_file: Option<PathBuf>,
    /// Read the key Secrets from this file (`kubectl get secret -l sealedsecrets.bitnami.com/sealed-secrets-key
    /// -o yaml`) instead of from the cluster.
    #[arg(long = "key-secrets", env = "SEALANT_KEY_SECRETS", value_name = "FILE")]
    pub key_secrets: Option<PathBuf>,
    /// The controller's namespace, where its key Secrets are (when reading the cluster).
    #[arg(long, env = "SEALANT_CONTROLLER_NAMESPACE", default_value = "kube-system", value_parser = crate::args::dns_label)]
    pub controller_namespace: String,
    /// The GitOps repository holding `keys/`.
    #[arg(long, env = "SEALANT_REPO", default_value = ".", value_name = "DIR")]
    pub repo: PathBuf,
}

/// Runs the command.
pub fn run(args: KeysBackupArgs) -> Result<()> {
    let recipients = recipients(&args)?;
    let pairs = match &args.key_secrets {
        Some(file) => pairs_from_file(file)?,
        None => {
            let (pairs, skipped) = sealant_client::keysecrets::list(&args.controller_namespace)?;
            for origin in skipped {
                eprintln!("warning: {origin}: not a key Secret (no tls.crt/tls.key), skipped");
            }
            pairs
        }
    };
    if pairs.is_empty() {
        bail!("no key Secrets found: nothing to back up");
    }
    let root = args.repo.join("keys");
    for pair in pairs {
        let (key, cert) = pair.read().map_err(|e| anyhow!("{}: {e}", pair.origin))?;
        let pem = private_key_pkcs1_pem(&key)?;
        let armored = recipients.encrypt(pem.as_bytes())?;
        for file in KeysDir::add(&root, &args.cluster, &cert, Some(&armored), false)? {
            eprintln!("wrote {}", file.display());
        }
        println!("{}", cert.fingerprint());
    }
    Ok(())
}

/// Recipients from the flags and the recipients file.
pub fn recipients(args: &KeysBackupArgs) -> Result<Recipients> {
    let mut text = args.recipients.join("\n");
    let mut origin = "--recipient".to_string();
    if let Some(file) = &args.recipients_file {
        text.push('\n');
        text.push_str(&std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?);
        origin = file.display().to_string();
    }
    Ok(Recipients::parse(&text, &origin)?)
}

fn pairs_from_file(file: &std::path::Path) -> Result<Vec<KeyPair>> {
    let name = file.display().to_string();
    let text = Zeroizing::new(std::fs::read_to_string(file).with_context(|| format!("cannot read {name}"))?);
    let (_, objects) = manifest::read(&text).map_err(|e| anyhow!("{name}: {e}"))?;
    Ok(keysecret::pairs_in_manifest(&objects, &name)?)
}
