//! `sealant keys fetch`: a cluster's sealing certificate into `keys/<cluster>/`, from a URL or file, or from the
//! controller through the API server's service proxy (as `kubeseal --fetch-cert` does).

use anyhow::Result;
use sealant_cli::keys::KeysFetchArgs;
use sealant_repo::KeysDir;
use time::OffsetDateTime;

/// Runs the command.
pub fn run(args: KeysFetchArgs) -> Result<()> {
    let access = sealant_client::cluster::Access::new(args.kube.kubeconfig.clone(), args.kube.context.clone());
    let (cert, _) = sealant_client::cert::fetch(
        &access,
        args.cert.as_deref(),
        &args.controller_namespace,
        &args.controller_name,
        OffsetDateTime::now_utc(),
    )?;
    let root = args.repo.join("keys");
    let existing = KeysDir::load(&root)?;
    if let Some(known) = existing.find(cert.fingerprint())
        && known.cluster != args.cluster
    {
        eprintln!(
            "warning: {} is already the certificate of cluster {}: two clusters share one key",
            cert.fingerprint(),
            known.cluster
        );
    }
    // The bundle is read and checked before anything is written: a bad one leaves keys/ untouched.
    let escrowed = match &args.escrow {
        Some(source) => {
            let bundle = sealant_client::keysecrets::escrow_bundle(
                &access,
                source,
                &args.controller_namespace,
                &args.escrow_configmap,
            )?;
            sealant_repo::escrow::bundle_keys(&bundle, source)?
        }
        None => Vec::new(),
    };
    let mut written = KeysDir::add(&root, &args.cluster, &cert, None, !args.no_current)?;
    for (cert, armored) in &escrowed {
        written.extend(
            KeysDir::add(&root, &args.cluster, cert, Some(armored), false)?
                .into_iter()
                .filter(|p| p.extension().is_some_and(|e| e == "age")),
        );
    }
    for file in &written {
        eprintln!("wrote {}", file.display());
    }
    println!("{}", cert.fingerprint());
    Ok(())
}
