//! `sealant keys restore`: recreate the controller's key Secrets from `keys/<cluster>/*.key.age` with an age
//! identity, after a cluster is lost or rebuilt.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use sealant_core::keys::private_key_pkcs1_pem;
use sealant_core::keysecret;
use sealant_repo::{Identities, KeysDir};
use zeroize::Zeroizing;

use crate::io::{self, Sensitivity};

/// `sealant keys restore`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sealant keys restore --cluster prod --age-identity ~/break-glass.txt --fingerprint SHA256:… --apply
  sealant keys restore --cluster prod --age-identity ~/break-glass.txt --all -w keys.yaml   # mode 0600")]
pub struct KeysRestoreArgs {
    /// The cluster whose escrowed keys to restore (`keys/<cluster>/*.key.age`).
    #[arg(long, env = "SEALANT_CLUSTER", value_parser = crate::args::dns_label)]
    pub cluster: String,
    /// age identity file (`AGE-SECRET-KEY-1…`) that opens the escrow files.
    #[arg(long = "age-identity", env = "SEALANT_AGE_IDENTITY", value_name = "FILE")]
    pub age_identity: PathBuf,
    /// Namespace of the controller the key Secrets are for.
    #[arg(long, env = "SEALANT_CONTROLLER_NAMESPACE", default_value = "kube-system", value_parser = crate::args::dns_label)]
    pub controller_namespace: String,
    /// Create the key Secrets in the cluster (kubeconfig from `KUBECONFIG` or `~/.kube/config`); existing ones
    /// are left alone.
    #[arg(long, env = "SEALANT_APPLY", conflicts_with = "output")]
    pub apply: bool,
    /// Write the key Secrets (a YAML stream) to FILE, mode 0600, instead of stdout. Read from the command line
    /// only: an exported SEALANT_OUTPUT must never receive private keys.
    #[arg(short = 'w', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Fingerprints (`SHA256:…`, as `sealant keys list` shows them) of the keys to restore; repeat it or separate
    /// with commas. The keys you expect back: anyone who can commit to keys/ can escrow a key of their own.
    #[arg(
        long = "fingerprint",
        env = "SEALANT_FINGERPRINT",
        value_name = "SHA256:…",
        value_delimiter = ','
    )]
    pub fingerprints: Vec<String>,
    /// Restore every escrowed key of the cluster (each is listed), instead of the ones --fingerprint names.
    #[arg(long, env = "SEALANT_ALL", conflicts_with = "fingerprints")]
    pub all: bool,
    /// Print the key Secrets even when stdout is a terminal.
    #[arg(long, env = "SEALANT_FORCE")]
    pub force: bool,
    /// The GitOps repository holding `keys/`.
    #[arg(long, env = "SEALANT_REPO", default_value = ".", value_name = "DIR")]
    pub repo: PathBuf,
}

/// One restored key Secret.
struct Restored {
    name: String,
    fingerprint: String,
    cert: sealant_core::Certificate,
    key_pem: Zeroizing<String>,
}

/// Runs the command.
pub fn run(args: KeysRestoreArgs) -> Result<()> {
    let id_name = args.age_identity.display().to_string();
    let identity = Identities::parse(&io::read_secret_file(&args.age_identity)?, &id_name)?;
    let root = args.repo.join("keys");
    let dir = KeysDir::load(&root).with_context(|| format!("cannot read {}", root.display()))?;
    let cluster = dir
        .cluster(&args.cluster)
        .ok_or_else(|| anyhow!("no cluster {} under {}", args.cluster, root.display()))?;
    for record in cluster.keys.iter().filter(|r| r.escrow_path.is_none()) {
        eprintln!(
            "warning: {} has no escrow file; it cannot be restored",
            record.fingerprint
        );
    }
    let pins: Vec<String> = args
        .fingerprints
        .iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    let chosen = sealant_repo::escrow::restorable(&cluster.keys, &pins, time::OffsetDateTime::now_utc())?;
    let listed: Vec<String> = chosen
        .iter()
        .map(|r| format!("{} (from {})", r.fingerprint, r.cert.not_before().date()))
        .collect();
    if pins.is_empty() && !args.all {
        bail!(
            "name the keys to restore with --fingerprint SHA256:… (or pass --all): anyone who can commit to keys/ can escrow a key of their own; cluster {} has {}",
            args.cluster,
            listed.join(", ")
        );
    }
    if args.all {
        eprintln!(
            "restoring every escrowed key of cluster {}: {}",
            args.cluster,
            listed.join(", ")
        );
    }
    // Every escrow file is opened before anything is written: one bad file stops the restore, whole.
    let opened = sealant_repo::escrow::open_escrowed(chosen, &identity, false)?;
    let mut restored = Vec::new();
    for (record, key) in opened.keys {
        restored.push(Restored {
            name: keysecret::restored_name(&record.fingerprint),
            fingerprint: record.fingerprint.clone(),
            cert: record.cert.clone(),
            key_pem: private_key_pkcs1_pem(&key)?,
        });
    }
    if restored.is_empty() {
        bail!("no escrowed key for cluster {} under {}", args.cluster, root.display());
    }
    if args.apply {
        return apply(&restored, &args.controller_namespace);
    }
    let mut out = Zeroizing::new(String::new());
    for r in &restored {
        let _ = write!(
            out,
            "---\n{}",
            keysecret::yaml(
                &r.cert,
                &r.key_pem,
                &args.controller_namespace,
                keysecret::Naming::Name(&r.name)
            )
            .as_str()
        );
    }
    io::emit(args.output.as_deref(), out.as_bytes(), Sensitivity::Secret, args.force)?;
    eprintln!(
        "{} key Secret(s) for namespace {}",
        restored.len(),
        args.controller_namespace
    );
    Ok(())
}

fn apply(restored: &[Restored], namespace: &str) -> Result<()> {
    // The key goes into the request body as kube serializes it; that copy is not wiped (see SECURITY.md).
    let secrets: Vec<_> = restored
        .iter()
        .map(|r| {
            keysecret::object(
                &r.cert,
                &r.key_pem,
                namespace,
                keysecret::Naming::Name(&r.name),
                BTreeMap::new(),
                [("sealant.dev/restored-from".to_string(), "escrow".to_string())].into(),
            )
        })
        .collect();
    let created = sealant_client::keysecrets::create(namespace, &secrets)?;
    for (r, created) in restored.iter().zip(created) {
        if created {
            eprintln!("created Secret {namespace}/{} ({})", r.name, r.fingerprint);
        } else {
            eprintln!(
                "Secret {namespace}/{} already exists ({}), left alone",
                r.name, r.fingerprint
            );
        }
    }
    Ok(())
}
