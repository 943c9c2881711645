//! `sealant keys restore`: recreate the controller's key Secrets from `keys/<cluster>/*.key.age` with an age
//! identity, after a cluster is lost or rebuilt.

use anyhow::{Context as _, Result, anyhow, bail};
use sealant_cli::keys::KeysRestoreArgs;
use sealant_client::cluster::Access;
use sealant_repo::restore::{RestoreError, RestoredKey};
use sealant_repo::{Identities, KeysDir};
use zeroize::Zeroizing;

use crate::audit::Audit;
use crate::io::{self, Sensitivity};

/// Runs the command.
pub fn run(args: KeysRestoreArgs, audit: &mut Audit) -> Result<()> {
    audit.cluster(&args.cluster);
    audit.output(args.output.as_deref());
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
    for record in &chosen {
        audit.key(record.fingerprint.clone());
        if let Some(path) = &record.escrow_path {
            audit.file(path.display().to_string());
        }
    }
    let restored = sealant_repo::restore::restore(chosen, &identity).map_err(|e| match e {
        RestoreError::Nothing => anyhow!("no escrowed key for cluster {} under {}", args.cluster, root.display()),
        e => e.into(),
    })?;
    audit.commit()?;
    if args.apply {
        let access = Access::new(args.kube.kubeconfig.clone(), args.kube.context.clone());
        return apply(&restored, &args.controller_namespace, &access);
    }
    let mut out = Zeroizing::new(String::new());
    for r in &restored {
        out.push_str("---\n");
        out.push_str(&r.yaml(&args.controller_namespace));
    }
    io::emit(args.output.as_deref(), out.as_bytes(), Sensitivity::Secret, args.force)?;
    eprintln!(
        "{} key Secret(s) for namespace {}",
        restored.len(),
        args.controller_namespace
    );
    Ok(())
}

fn apply(restored: &[RestoredKey], namespace: &str, access: &Access) -> Result<()> {
    // The key goes into the request body as kube serializes it; that copy is not wiped (see SECURITY.md).
    let secrets: Vec<_> = restored.iter().map(|r| r.object(namespace)).collect();
    let created = sealant_client::keysecrets::create(access, namespace, &secrets)?;
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
