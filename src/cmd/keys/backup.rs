//! `sealant keys backup`: the controller's private keys, age-encrypted to break-glass recipients, committed as
//! `keys/<cluster>/<fingerprint>.key.age` next to each certificate.

use std::path::PathBuf;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use sealant_core::keys::private_key_pkcs1_pem;
use sealant_core::keysecret;
use sealant_core::manifest::{self, Object};
use sealant_repo::{KeysDir, Recipients};
use secrecy::ExposeSecret as _;
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

/// A key Secret's certificate and private key (PEM).
pub struct KeyPair {
    /// Where it came from, for messages.
    pub origin: String,
    /// `tls.crt`.
    pub cert_pem: Vec<u8>,
    /// `tls.key`.
    pub key_pem: Zeroizing<Vec<u8>>,
}

/// Runs the command.
pub fn run(args: KeysBackupArgs) -> Result<()> {
    let recipients = recipients(&args)?;
    let pairs = match &args.key_secrets {
        Some(file) => pairs_from_file(file)?,
        None => sealant_client::cluster::runtime()?.block_on(pairs_from_cluster(&args.controller_namespace))?,
    };
    if pairs.is_empty() {
        bail!("no key Secrets found: nothing to back up");
    }
    let root = args.repo.join("keys");
    for pair in pairs {
        let (key, cert) =
            keysecret::read_items(&pair.cert_pem, &pair.key_pem).map_err(|e| anyhow!("{}: {e}", pair.origin))?;
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
    let mut pairs = Vec::new();
    for located in objects {
        let Object::Secret(secret) = located.object else {
            continue;
        };
        let origin = format!(
            "{name}: document {} ({})",
            located.document,
            secret.metadata.name.as_deref().unwrap_or("?")
        );
        let (Some(cert), Some(key)) = (
            secret.data.get(keysecret::CERT_ITEM),
            secret.data.get(keysecret::KEY_ITEM),
        ) else {
            bail!("{origin}: not a key Secret (needs tls.crt and tls.key)");
        };
        pairs.push(KeyPair {
            origin,
            cert_pem: cert.expose_secret().to_vec(),
            key_pem: Zeroizing::new(key.expose_secret().to_vec()),
        });
    }
    Ok(pairs)
}

async fn pairs_from_cluster(namespace: &str) -> Result<Vec<KeyPair>> {
    use k8s_openapi::api::core::v1::Secret;
    let client = sealant_client::cluster::client(None).await?;
    let api: kube::Api<Secret> = kube::Api::namespaced(client, namespace);
    let list = api
        .list(&kube::api::ListParams::default().labels(keysecret::LABEL))
        .await
        .with_context(|| format!("cannot list the key Secrets in namespace {namespace}"))?;
    let mut pairs = Vec::new();
    for secret in list.items {
        let origin = format!("Secret {namespace}/{}", secret.metadata.name.as_deref().unwrap_or("?"));
        let mut data = secret.data.unwrap_or_default();
        let (Some(cert), Some(key)) = (data.remove(keysecret::CERT_ITEM), data.remove(keysecret::KEY_ITEM)) else {
            eprintln!("warning: {origin}: not a key Secret (no tls.crt/tls.key), skipped");
            continue;
        };
        pairs.push(KeyPair {
            origin,
            cert_pem: cert.0,
            key_pem: Zeroizing::new(key.0),
        });
    }
    Ok(pairs)
}
