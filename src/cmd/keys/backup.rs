//! `sealant keys backup`: the controller's private keys, age-encrypted to break-glass recipients, committed as
//! `keys/<cluster>/<fingerprint>.key.age` next to each certificate.

use anyhow::{Context as _, Result, anyhow, bail};
use sealant_cli::keys::KeysBackupArgs;
use sealant_core::keys::private_key_pkcs1_pem;
use sealant_core::keysecret::{self, KeyPair};
use sealant_core::manifest;
use sealant_repo::{KeysDir, Recipients};
use zeroize::Zeroizing;

use crate::audit::Audit;

/// Runs the command.
pub fn run(args: KeysBackupArgs, audit: &mut Audit) -> Result<()> {
    audit.cluster(&args.cluster);
    if let Some(file) = &args.key_secrets {
        audit.file(file.display().to_string());
    }
    let recipients = recipients(&args)?;
    let pairs = match &args.key_secrets {
        Some(file) => pairs_from_file(file)?,
        None => {
            let (pairs, skipped) = sealant_client::keysecrets::list(
                &sealant_client::cluster::Access::new(args.kube.kubeconfig.clone(), args.kube.context.clone()),
                &args.controller_namespace,
            )?;
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
        audit.key(cert.fingerprint());
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
