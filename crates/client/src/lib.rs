//! sealant-client: how the CLI and the rotation job talk to the outside world over HTTP.
//!
//! [`agent`] builds the one HTTP agent (rustls on AWS-LC, the system's trust store, no redirects) used for
//! certificates by URL, for the forges and for a controller reached by URL. [`Controller`] is the one client of
//! the controller's API (`/v1/cert.pem`, `/v1/verify`, `/v1/rotate`), reached directly or through the API
//! server's service proxy as `kubeseal` does; [`cluster`] builds the kube client behind the proxy.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod agent;
pub mod cert;
pub mod cluster;
mod controller;
pub mod keysecrets;

pub use agent::{MAX_CERT_BYTES, agent, fetch_cert};
pub use controller::{Controller, Reply};

/// What can go wrong talking to a controller, a cluster or a URL. Each variant prints its own context once; the
/// underlying cause, where there is one, is the [`std::error::Error::source`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The kubeconfig file could not be read.
    #[error("cannot read kubeconfig {path}")]
    Kubeconfig {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// No kubeconfig, no in-cluster configuration.
    #[error("cannot reach the cluster (kubeconfig)")]
    Infer(#[source] kube::config::InferConfigError),
    /// The kubeconfig names something the client cannot use.
    #[error("cannot use the kubeconfig")]
    Config(#[source] kube::Error),
    /// The controller's Service could not be read (kubeseal's wording, which names the flags to fix it).
    #[error(
        "cannot get sealed secret service: {cause}.\nPlease, use the flag --controller-name and --controller-namespace to set up the name and namespace of the sealed secrets controller"
    )]
    Service {
        /// The API server's answer, printed in the message as kubeseal does.
        cause: kube::Error,
    },
    /// The request did not get an answer.
    #[error("cannot reach {url}")]
    Unreachable {
        /// Where it went.
        url: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The controller (or the URL) answered with a status other than success.
    #[error("{url} answered HTTP {status}{}", detail(body))]
    Status {
        /// Where it went.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the answer's body, for the message.
        body: String,
    },
    /// A certificate URL did not answer.
    #[error("cannot fetch {url:?}")]
    Fetch {
        /// The URL.
        url: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A certificate URL answered with a failure.
    #[error("cannot fetch {url:?}: {status}")]
    FetchStatus {
        /// The URL.
        url: String,
        /// The HTTP status and its reason, e.g. `404 Not Found`.
        status: String,
    },
    /// A certificate URL answered with a redirect, which is not followed.
    #[error("cannot fetch {url:?}: {status}: redirects are not followed for certificates; use the final URL")]
    Redirect {
        /// Where it went.
        url: String,
        /// The HTTP status and its reason, e.g. `302 Found`.
        status: String,
    },
    /// The controller's answer is not what the API promises.
    #[error("{url}: the answer is not a SealedSecret")]
    Answer {
        /// Where it went.
        url: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// A request could not be built (a bad URL).
    #[error("cannot send a request to {url}")]
    Request {
        /// Where it was to go.
        url: String,
        /// Why.
        #[source]
        source: http::Error,
    },
    /// The serialization of the SealedSecret to send failed.
    #[error("cannot encode the SealedSecret")]
    Encode(#[source] serde_json::Error),
    /// A certificate file cannot be read.
    #[error("cannot read certificate {location}: {cause}")]
    CertFile {
        /// The file as given.
        location: String,
        /// Why (printed in the message).
        cause: std::io::Error,
    },
    /// A certificate location with a scheme other than http, https or file.
    #[error("cannot fetch {location:?}: unsupported URL scheme {scheme:?} (use http, https or file)")]
    Scheme {
        /// The location as given.
        location: String,
        /// Its scheme.
        scheme: String,
    },
    /// What was read is not a usable certificate.
    #[error("{location}: {cause}")]
    Cert {
        /// The location as given.
        location: String,
        /// Why (printed in the message).
        cause: sealant_core::keys::CertError,
    },
    /// The API server refused or failed a request.
    #[error("cannot {what}: {cause}")]
    Api {
        /// What was asked, e.g. `read ConfigMap ns/name`.
        what: String,
        /// The API server's answer (printed in the message).
        cause: kube::Error,
    },
    /// The controller could not be asked for its certificate through the API server.
    #[error("cannot fetch the certificate from {origin}")]
    ControllerCert {
        /// The controller, as `the controller ns/name through the API server`.
        origin: String,
        /// Why.
        #[source]
        source: Box<Error>,
    },
    /// An escrow bundle is not the JSON object of file name to text the controller serves.
    #[error("{origin}: not an escrow bundle (JSON of file name to text)")]
    Bundle {
        /// Where it came from.
        origin: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// The async runtime could not start.
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
}

/// `: <body>` for a non-empty body (its first 200 characters), else nothing.
fn detail(body: &str) -> String {
    let body = body.trim();
    if body.is_empty() {
        String::new()
    } else {
        format!(": {}", body.chars().take(200).collect::<String>())
    }
}

/// This crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
