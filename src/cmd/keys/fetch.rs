//! `sealant keys fetch`: a cluster's sealing certificate into `keys/<cluster>/`, from a URL or file, or from the
//! controller through the API server's service proxy (as `kubeseal --fetch-cert` does).

use std::path::PathBuf;

use anyhow::{Context as _, Result, anyhow};
use clap::Args;
use sealant_core::Certificate;
use sealant_keys::KeysDir;
use time::OffsetDateTime;

use crate::io;

/// `sealant keys fetch`.
#[derive(Debug, Args)]
pub struct KeysFetchArgs {
    /// The cluster's name: the certificate goes to `keys/<cluster>/`.
    #[arg(long, env = "SEALANT_CLUSTER")]
    pub cluster: String,
    /// Where the certificate is: a file or an http(s) URL (e.g. the controller's `/v1/cert.pem`). Without it,
    /// the controller is asked through the API server (kubeconfig from `KUBECONFIG` or `~/.kube/config`).
    #[arg(long, env = "SEALANT_CERT", value_name = "FILE|URL")]
    pub cert: Option<String>,
    /// The controller's namespace (for the API server route).
    #[arg(long, env = "SEALANT_CONTROLLER_NAMESPACE", default_value = "kube-system")]
    pub controller_namespace: String,
    /// The controller's Service name (for the API server route).
    #[arg(long, env = "SEALANT_CONTROLLER_NAME", default_value = "sealed-secrets-controller")]
    pub controller_name: String,
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
        Some(location) => (io::read_cert(location)?, location.clone()),
        None => {
            let path = format!(
                "/api/v1/namespaces/{}/services/http:{}:/proxy/v1/cert.pem",
                args.controller_namespace, args.controller_name
            );
            let text = super::kube_runtime()?.block_on(async {
                let client = kube::Client::try_default()
                    .await
                    .context("cannot reach the cluster (kubeconfig)")?;
                let request = http::Request::get(&path).body(Vec::new())?;
                client
                    .request_text(request)
                    .await
                    .with_context(|| format!("cannot fetch the certificate through the API server ({path})"))
            })?;
            (text.into_bytes(), path)
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
    let written = KeysDir::add(&root, &args.cluster, &cert, None, !args.no_current)?;
    for file in &written {
        eprintln!("wrote {}", file.display());
    }
    println!("{}", cert.fingerprint());
    Ok(())
}
