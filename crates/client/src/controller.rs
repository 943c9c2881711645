//! The controller's HTTP API from the outside: one client for `/v1/cert.pem`, `/v1/verify` and `/v1/rotate`,
//! reached at a URL or through the API server's service proxy.

use sealant_core::SealedSecret;

use crate::cluster::{self, Access};
use crate::{Error, Result};

/// The largest answer read from a controller: a re-sealed SealedSecret is bounded by the controller's own limits,
/// far below this.
const MAX_ANSWER_BYTES: u64 = 64 * 1024 * 1024;

/// A controller to call.
pub struct Controller {
    endpoint: Endpoint,
}

enum Endpoint {
    Url {
        base: String,
        agent: ureq::Agent,
    },
    Proxy {
        runtime: tokio::runtime::Runtime,
        client: kube::Client,
        prefix: String,
    },
}

/// An answer: the HTTP status and the body.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status from the controller (or the proxy).
    pub status: u16,
    /// Body.
    pub body: Vec<u8>,
}

impl Controller {
    /// The controller at `base` (e.g. `http://127.0.0.1:8080`), called directly.
    pub fn at_url(base: &str) -> Self {
        Self {
            endpoint: Endpoint::Url {
                base: base.trim_end_matches('/').to_string(),
                agent: crate::agent("sealant"),
            },
        }
    }

    /// The controller behind Service `namespace/name`, through the API server's service proxy, with the Service's
    /// first port's name, as kubeseal does.
    pub fn through_proxy(access: &Access, namespace: &str, name: &str) -> Result<Self> {
        let runtime = cluster::runtime()?;
        let (client, prefix) = runtime.block_on(async {
            let client = access.client().await?;
            let api: kube::Api<k8s_openapi::api::core::v1::Service> = kube::Api::namespaced(client.clone(), namespace);
            let service = api.get(name).await.map_err(|cause| Error::Service { cause })?;
            let port = service
                .spec
                .and_then(|s| s.ports)
                .and_then(|p| p.into_iter().next())
                .and_then(|p| p.name)
                .unwrap_or_default();
            Ok::<_, Error>((
                client,
                format!("/api/v1/namespaces/{namespace}/services/http:{name}:{port}/proxy"),
            ))
        })?;
        Ok(Self {
            endpoint: Endpoint::Proxy {
                runtime,
                client,
                prefix,
            },
        })
    }

    /// GET (no body) or POST (a JSON body) `path`, e.g. `/v1/cert.pem`; any status is an answer.
    pub fn call(&self, path: &str, body: Option<Vec<u8>>) -> Result<Reply> {
        match &self.endpoint {
            Endpoint::Url { base, agent } => {
                let url = format!("{base}{path}");
                let unreachable = |e: ureq::Error| Error::Unreachable {
                    url: url.clone(),
                    source: Box::new(e),
                };
                let response = match body {
                    Some(body) => agent
                        .post(&url)
                        .header("Content-Type", "application/json")
                        .send(&body[..]),
                    None => agent.get(&url).header("Accept", "application/x-pem-file, */*").call(),
                };
                let mut response = response.map_err(unreachable)?;
                let status = response.status().as_u16();
                let body = response
                    .body_mut()
                    .with_config()
                    .limit(MAX_ANSWER_BYTES)
                    .read_to_vec()
                    .map_err(unreachable)?;
                Ok(Reply { status, body })
            }
            Endpoint::Proxy {
                runtime,
                client,
                prefix,
            } => {
                let url = format!("{prefix}{path}");
                let request = match body {
                    Some(body) => http::Request::post(&url)
                        .header("Content-Type", "application/json")
                        .body(body),
                    None => http::Request::get(&url)
                        .header("Accept", "application/x-pem-file, */*")
                        .body(Vec::new()),
                }
                .map_err(|source| Error::Request {
                    url: url.clone(),
                    source,
                })?;
                let unreachable = |source: Box<dyn std::error::Error + Send + Sync>| Error::Unreachable {
                    url: url.clone(),
                    source,
                };
                runtime.block_on(async {
                    let response = client
                        .send(request.map(kube::client::Body::from))
                        .await
                        .map_err(|e| unreachable(Box::new(e)))?;
                    let status = response.status().as_u16();
                    let body = http_body_util::BodyExt::collect(response.into_body())
                        .await
                        .map_err(|e| unreachable(Box::new(e)))?
                        .to_bytes()
                        .to_vec();
                    Ok(Reply { status, body })
                })
            }
        }
    }

    /// Where calls go, for messages: the URL, or the proxy path.
    pub fn location(&self) -> &str {
        match &self.endpoint {
            Endpoint::Url { base, .. } => base,
            Endpoint::Proxy { prefix, .. } => prefix,
        }
    }

    /// The controller's current sealing certificate, PEM.
    pub fn cert_pem(&self) -> Result<Vec<u8>> {
        let reply = self.call("/v1/cert.pem", None)?;
        self.success("/v1/cert.pem", reply)
    }

    /// The controller's escrow bundle (`GET /v1/escrow`: file name to text, not yet checked, see
    /// `sealant_repo::escrow::bundle_keys`); `None` when the controller has no escrow configured (404) or, after
    /// a few tries, no replica that answered has published it yet (503: only the leader serves it).
    pub fn escrow(&self) -> Result<Option<std::collections::BTreeMap<String, String>>> {
        for attempt in 0..5 {
            let reply = self.call("/v1/escrow", None)?;
            match reply.status {
                404 => return Ok(None),
                503 if attempt < 4 => std::thread::sleep(std::time::Duration::from_millis(500)),
                503 => return Ok(None),
                _ => {
                    let body = self.success("/v1/escrow", reply)?;
                    return serde_json::from_slice(&body).map(Some).map_err(|source| Error::Answer {
                        url: format!("{}/v1/escrow", self.location()),
                        source,
                    });
                }
            }
        }
        Ok(None)
    }

    /// Whether the controller can open `sealed` (`/v1/verify`: 200 yes, 409 no).
    pub fn verify(&self, sealed: &SealedSecret) -> Result<bool> {
        let reply = self.call("/v1/verify", Some(encode(sealed)?))?;
        if reply.status == 409 {
            return Ok(false);
        }
        self.success("/v1/verify", reply).map(|_| true)
    }

    /// `sealed` re-sealed by the controller to its newest key, under the scope the ciphertext opened with
    /// (`/v1/rotate`); `None` when the controller cannot open it (409).
    pub fn rotate(&self, sealed: &SealedSecret) -> Result<Option<SealedSecret>> {
        let reply = self.call("/v1/rotate", Some(encode(sealed)?))?;
        if reply.status == 409 {
            return Ok(None);
        }
        let body = self.success("/v1/rotate", reply)?;
        serde_json::from_slice(&body).map(Some).map_err(|source| Error::Answer {
            url: format!("{}/v1/rotate", self.location()),
            source,
        })
    }

    fn success(&self, path: &str, reply: Reply) -> Result<Vec<u8>> {
        if (200..300).contains(&reply.status) {
            return Ok(reply.body);
        }
        Err(Error::Status {
            url: format!("{}{path}", self.location()),
            status: reply.status,
            body: String::from_utf8_lossy(&reply.body).into_owned(),
        })
    }
}

fn encode(sealed: &SealedSecret) -> Result<Vec<u8>> {
    serde_json::to_vec(sealed).map_err(Error::Encode)
}
