//! Talking to a cluster from the CLI: a kube client from the usual kubeconfig (or a given one), and the
//! controller's HTTP API through the API server's service proxy, the route `kubeseal` uses.

use std::path::Path;

use anyhow::{Context as _, Result, anyhow};

/// A small runtime for the commands that talk to the API server.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

/// A client from `kubeconfig`, else `KUBECONFIG` / `~/.kube/config` / in-cluster.
pub async fn client(kubeconfig: Option<&Path>) -> Result<kube::Client> {
    let config = match kubeconfig {
        Some(path) => {
            let file = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("cannot read kubeconfig {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default()).await?
        }
        None => kube::Config::infer()
            .await
            .context("cannot reach the cluster (kubeconfig)")?,
    };
    Ok(kube::Client::try_from(config)?)
}

/// The controller's HTTP API behind the API server's service proxy.
pub struct ControllerProxy {
    client: kube::Client,
    prefix: String,
}

/// A proxied call's outcome.
pub struct Reply {
    /// HTTP status from the controller (or the proxy).
    pub status: u16,
    /// Body.
    pub body: Vec<u8>,
}

impl ControllerProxy {
    /// Finds the controller's Service and its first port's name, as kubeseal does (spec 4.4).
    pub async fn new(client: kube::Client, namespace: &str, name: &str) -> Result<Self> {
        let api: kube::Api<k8s_openapi::api::core::v1::Service> = kube::Api::namespaced(client.clone(), namespace);
        let service = api.get(name).await.map_err(|e| {
            anyhow!(
                "cannot get sealed secret service: {e}.\nPlease, use the flag --controller-name and --controller-namespace to set up the name and namespace of the sealed secrets controller"
            )
        })?;
        let port = service
            .spec
            .and_then(|s| s.ports)
            .and_then(|p| p.into_iter().next())
            .and_then(|p| p.name)
            .unwrap_or_default();
        Ok(Self {
            client,
            prefix: format!("/api/v1/namespaces/{namespace}/services/http:{name}:{port}/proxy"),
        })
    }

    /// GET or POST (with a JSON body) `path` (e.g. `/v1/cert.pem`) on the controller.
    pub async fn call(&self, path: &str, body: Option<Vec<u8>>) -> Result<Reply> {
        let url = format!("{}{path}", self.prefix);
        let request = match body {
            Some(body) => http::Request::post(&url)
                .header("Content-Type", "application/json")
                .body(body)?,
            None => http::Request::get(&url)
                .header("Accept", "application/x-pem-file, */*")
                .body(Vec::new())?,
        };
        let response = self
            .client
            .send(request.map(kube::client::Body::from))
            .await
            .with_context(|| format!("cannot reach {url}"))?;
        let status = response.status().as_u16();
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .map_err(|e| anyhow!("cannot read the answer from {url}: {e}"))?
            .to_bytes()
            .to_vec();
        Ok(Reply { status, body })
    }
}
