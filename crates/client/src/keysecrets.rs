//! The controller's key Secrets and escrow ConfigMap in a cluster, as the `keys` commands read and restore them,
//! each in the cluster an [`Access`] names.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{ListParams, PostParams};
use sealant_core::keysecret::{self, KeyPair};
use zeroize::Zeroizing;

use crate::cluster::{self, Access};
use crate::{Error, Result};

/// The key Secrets of the controller in `namespace` (selected by the key label), and the names of labelled
/// Secrets that lack an item (skipped).
pub fn list(access: &Access, namespace: &str) -> Result<(Vec<KeyPair>, Vec<String>)> {
    cluster::runtime()?.block_on(async {
        let api: kube::Api<Secret> = kube::Api::namespaced(access.client().await?, namespace);
        let list = api
            .list(&ListParams::default().labels(keysecret::LABEL))
            .await
            .map_err(|cause| api_error(format!("list the key Secrets in namespace {namespace}"), cause))?;
        let (mut pairs, mut skipped) = (Vec::new(), Vec::new());
        for secret in list.items {
            let origin = format!("Secret {namespace}/{}", secret.metadata.name.as_deref().unwrap_or("?"));
            let mut data = secret.data.unwrap_or_default();
            match (data.remove(keysecret::CERT_ITEM), data.remove(keysecret::KEY_ITEM)) {
                (Some(cert), Some(key)) => pairs.push(KeyPair {
                    origin,
                    cert_pem: cert.0,
                    key_pem: Zeroizing::new(key.0),
                }),
                _ => skipped.push(origin),
            }
        }
        Ok((pairs, skipped))
    })
}

/// Creates each Secret in `namespace`; an existing one is left alone. Returns, per Secret, whether it was created.
pub fn create(access: &Access, namespace: &str, secrets: &[Secret]) -> Result<Vec<bool>> {
    cluster::runtime()?.block_on(async {
        let api: kube::Api<Secret> = kube::Api::namespaced(access.client().await?, namespace);
        let mut created = Vec::new();
        for secret in secrets {
            match api.create(&PostParams::default(), secret).await {
                Ok(_) => created.push(true),
                Err(kube::Error::Api(status)) if status.code == 409 => created.push(false),
                Err(cause) => {
                    let name = secret.metadata.name.as_deref().unwrap_or("?");
                    return Err(api_error(format!("create Secret {namespace}/{name}"), cause));
                }
            }
        }
        Ok(created)
    })
}

/// The data of ConfigMap `namespace/name`.
pub fn configmap_data(access: &Access, namespace: &str, name: &str) -> Result<BTreeMap<String, String>> {
    cluster::runtime()?.block_on(async {
        let api: kube::Api<ConfigMap> = kube::Api::namespaced(access.client().await?, namespace);
        let cm = api
            .get(name)
            .await
            .map_err(|cause| api_error(format!("read ConfigMap {namespace}/{name}"), cause))?;
        Ok(cm.data.unwrap_or_default())
    })
}

/// The escrow bundle (file name to text) at `source`: the controller's `GET /v1/escrow` URL, a file holding that
/// JSON, or `configmap` for the escrow ConfigMap `namespace/configmap`. Not yet checked: see
/// `sealant_repo::escrow::bundle_keys`.
pub fn escrow_bundle(
    access: &Access,
    source: &str,
    namespace: &str,
    configmap: &str,
) -> Result<BTreeMap<String, String>> {
    if source == "configmap" {
        return configmap_data(access, namespace, configmap);
    }
    let text = crate::cert::read(source)?;
    serde_json::from_slice(&text).map_err(|source_error| Error::Bundle {
        origin: source.to_string(),
        source: source_error,
    })
}

fn api_error(what: String, cause: kube::Error) -> Error {
    Error::Api { what, cause }
}
