//! `sealant keys fetch`: a cluster's sealing certificate into `keys/<cluster>/`, from a URL or file, or from the
//! controller through the API server's service proxy (as `kubeseal --fetch-cert` does).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use sealant_core::Certificate;
use sealant_repo::KeysDir;
use time::OffsetDateTime;

use crate::io;

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
        Some(location) => (io::read_cert(location)?, location.clone()),
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

/// Reads the escrowed keys of a bundle whose certificates come with them: `<stem>.crt` + `<stem>.key.age`.
/// Why the names are checked against the certificates: the bundle is not authenticated, so a file is only
/// written under the fingerprint its own certificate has.
fn escrow(args: &KeysFetchArgs, source: &str) -> Result<Vec<(Certificate, String)>> {
    let bundle: BTreeMap<String, String> = if source == "configmap" {
        let ns = args.controller_namespace.clone();
        let name = args.escrow_configmap.clone();
        sealant_client::cluster::runtime()?.block_on(async move {
            let client = sealant_client::cluster::client(None).await?;
            let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> = kube::Api::namespaced(client, &ns);
            let cm = api
                .get(&name)
                .await
                .with_context(|| format!("cannot read ConfigMap {ns}/{name}"))?;
            anyhow::Ok(cm.data.unwrap_or_default())
        })?
    } else {
        let text = io::read_cert(source)?;
        serde_json::from_slice(&text)
            .map_err(|e| anyhow!("{source}: not an escrow bundle (JSON of file name to text): {e}"))?
    };
    let mut keys = Vec::new();
    for (name, pem) in &bundle {
        let Some(stem) = name.strip_suffix(".crt") else {
            continue;
        };
        let Some(armored) = bundle.get(&format!("{stem}.key.age")) else {
            continue;
        };
        let cert = Certificate::from_pem(pem.as_bytes()).map_err(|e| anyhow!("{source}: {name}: {e}"))?;
        if sealant_repo::file_stem(cert.fingerprint()) != stem {
            bail!(
                "{source}: {name} holds the certificate of {}, not {stem}",
                cert.fingerprint()
            );
        }
        if !armored.starts_with("-----BEGIN AGE ENCRYPTED FILE-----") {
            bail!("{source}: {stem}.key.age is not an armored age file");
        }
        keys.push((cert, armored.clone()));
    }
    if keys.is_empty() {
        bail!("{source}: the escrow bundle holds no key");
    }
    Ok(keys)
}
