//! `sealant keys fetch`: a cluster's sealing certificate into `keys/<cluster>/`, from a URL or file, or from the
//! controller through the API server's service proxy (as `kubeseal --fetch-cert` does).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context as _, Result, anyhow};
use clap::Args;
use sealant_core::Certificate;
use sealant_repo::KeysDir;
use time::OffsetDateTime;

/// `sealant keys fetch`.
#[derive(Debug, Args)]
pub struct KeysFetchArgs {
    /// The cluster's name: the certificate goes to `keys/<cluster>/`.
    #[arg(long, env = "SEALANT_CLUSTER", value_parser = crate::args::dns_label)]
    pub cluster: String,
    /// Where the certificate is: a file or an http(s) URL (e.g. the controller's `/v1/cert.pem`). Without it,
    /// the controller is asked through the API server (kubeconfig from `KUBECONFIG` or `~/.kube/config`).
    #[arg(long, env = "SEALANT_CERT", value_name = "FILE|URL")]
    pub cert: Option<String>,
    /// The controller's namespace (for the API server route).
    #[arg(long, env = "SEALANT_CONTROLLER_NAMESPACE", default_value = "kube-system", value_parser = crate::args::dns_label)]
    pub controller_namespace: String,
    /// The controller's Service name (for the API server route).
    #[arg(long, env = "SEALANT_CONTROLLER_NAME", default_value = "sealed-secrets-controller")]
    pub controller_name: String,
    /// Also commit the escrowed private keys (`*.key.age`): from the controller's `GET /v1/escrow` URL, a file
    /// holding that JSON, or `configmap` (the escrow ConfigMap, read through the API server).
    #[arg(long, env = "SEALANT_ESCROW", value_name = "URL|FILE|configmap")]
    pub escrow: Option<String>,
    /// The escrow ConfigMap's name (with `--escrow configmap`).
    #[arg(long, env = "SEALANT_ESCROW_CONFIGMAP", default_value = "sealant-key-escrow")]
    pub escrow_configmap: String,
    /// Do not make it the key new secrets are sealed to.
    #[arg(long, env = "SEALANT_NO_CURRENT")]
    pub no_current: bool,
    /// The GitOps repository holding `keys/`.
    #[arg(long, env = "SEALANT_REPO", default_value = ".", value_name = "DIR")]
    pub repo: PathBuf,
}

/// Runs the command.
pub fn run(args: KeysFetchArgs) -> Result<()> {
    let (pem, origin) = match &args.cert {
        Some(location) => (sealant_client::cert::read(location)?, location.clone()),
        None => {
            let origin = format!(
                "the controller {}/{} through the API server",
                args.controller_namespace, args.controller_name
            );
            let pem =
                sealant_client::Controller::through_proxy(None, &args.controller_namespace, &args.controller_name)
                    .and_then(|c| c.cert_pem())
                    .with_context(|| format!("cannot fetch the certificate from {origin}"))?;
            (pem, origin)
        }
    };
    let cert = Certificate::from_pem(&pem).map_err(|e| anyhow!("{origin}: {e}"))?;
    cert.ensure_valid_at(OffsetDateTime::now_utc())
        .map_err(|e| anyhow!("{origin}: {e}"))?;
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
        Some(source) => escrow(&args, source)?,
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

/// The escrowed keys of the bundle at `source` (a URL, a file, or `configmap`), checked against their
/// certificates.
fn escrow(args: &KeysFetchArgs, source: &str) -> Result<Vec<(Certificate, String)>> {
    let bundle: BTreeMap<String, String> = if source == "configmap" {
        sealant_client::keysecrets::configmap_data(&args.controller_namespace, &args.escrow_configmap)?
    } else {
        let text = sealant_client::cert::read(source)?;
        serde_json::from_slice(&text)
            .map_err(|e| anyhow!("{source}: not an escrow bundle (JSON of file name to text): {e}"))?
    };
    Ok(sealant_repo::escrow::bundle_keys(&bundle, source)?)
}
