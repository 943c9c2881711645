//! sealant-controller: the in-cluster half of sealant. It keeps one Secret in line with each SealedSecret,
//! holds the sealing keys, and serves the Sealed Secrets HTTP API (`/v1/cert.pem`, `/v1/verify`, `/v1/rotate`).
//!
//! Compatible with the upstream controller (same CRD, key Secrets, annotations, events, status, API), plus:
//! no RSA work for objects already unsealed (a digest of the sealed input is kept on the Secret), the scope
//! taken from the ciphertext, a structured audit log, Prometheus metrics with key and secret ages, leader
//! election so several replicas can run, and opt-in rolling restarts of the workloads using a changed Secret.

pub mod audit;
pub mod cache;
pub mod context;
pub mod crd;
pub mod escrow;
pub mod events;
pub mod flags;
pub mod http;
pub mod keys;
pub mod listener;
pub mod metrics;
pub mod outcome;
pub mod pool;
pub mod process;
pub mod reconcile;
pub mod restart;
pub mod status;
pub mod update;
pub mod watches;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use kube::Client;
use time::OffsetDateTime;
use tokio::sync::watch;
use tracing::{info, warn};

/// Field manager and event reporter name.
pub const MANAGER: &str = "sealant-controller";

/// Everything the controller can be told (the binary maps flags and `SEALED_SECRETS_*` env onto this).
#[derive(Debug, Clone)]
pub struct Config {
    /// Namespace holding the key Secrets and the leader Lease.
    pub namespace: String,
    /// `generateName` of new key Secrets, and the name of the legacy single key Secret.
    pub key_prefix: String,
    /// RSA modulus size of new keys.
    pub key_size: usize,
    /// Validity of new certificates.
    pub key_ttl: Duration,
    /// A new key every this often; zero disables renewal.
    pub key_renew_period: Duration,
    /// Generate a key at start when the newest is older than this.
    pub key_cutoff_time: Option<OffsetDateTime>,
    /// Labels added to new key Secrets.
    pub key_labels: BTreeMap<String, String>,
    /// Annotations added to new key Secrets.
    pub key_annotations: BTreeMap<String, String>,
    /// age recipients every key is escrowed to (public keys only); none = no escrow.
    pub escrow_recipients: Option<sealant_repo::Recipients>,
    /// The ConfigMap (in `namespace`) the escrow bundle is published in.
    pub escrow_configmap: String,
    /// Open legacy `spec.data` objects.
    pub accept_deprecated_v1_data: bool,
    /// Namespaces to watch; empty = all.
    pub namespaces: Vec<String>,
    /// Only SealedSecrets with these labels (a label selector).
    pub label_selector: Option<String>,
    /// Write `status`.
    pub update_status: bool,
    /// Do not reconcile on changes of owned Secrets (upstream's `--skip-recreate`).
    pub skip_recreate: bool,
    /// Common name of new certificates (upstream's `--my-cn`); none = an empty subject.
    pub my_cn: Option<String>,
    /// Which key is newest.
    pub key_order: keys::KeyOrder,
    /// Rolling restarts of workloads after their Secret changed (`sealant.dev/rollout-restart`); off unless the
    /// install grants the rights for it.
    pub rollout_restarts: bool,
    /// Retries of a failing object before waiting for it to change.
    pub max_unseal_retries: u32,
    /// SealedSecrets reconciled at once.
    pub concurrency: u16,
    /// HTTP API address.
    pub listen_addr: SocketAddr,
    /// Metrics address.
    pub metrics_addr: SocketAddr,
    /// `/v1/verify` and `/v1/rotate`: sustained requests per second, per client.
    pub rate_limit: u32,
    /// Burst allowed above the rate.
    pub rate_limit_burst: u32,
    /// Serve the sealing page (`sealant_web`) at `/` of the API address.
    pub sealing_page: bool,
    /// Peers whose `X-Forwarded-For` names the client (e.g. the API server's address); everyone else is keyed
    /// on their own address.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Largest request body the HTTP API reads.
    pub max_body_bytes: usize,
    /// Per-request time limit of the HTTP API.
    pub request_timeout: Duration,
    /// Time a client of either server has to send a request's headers.
    pub header_timeout: Duration,
    /// Connections either server serves at once.
    pub max_connections: usize,
    /// Audit log file (JSON lines); `None` = stdout.
    pub audit_log: Option<PathBuf>,
    /// Stop decrypting (and report not ready) while the audit log cannot be written.
    pub audit_fail_closed: bool,
    /// Take part in leader election (only the leader writes).
    pub leader_election: bool,
    /// Exit when the Lease cannot be used rather than run alone (sealant's chart; Bitnami's chart runs alone).
    pub require_leader_election: bool,
    /// Name of the Lease.
    pub lease_name: String,
    /// This replica's identity in the Lease (the pod name).
    pub identity: String,
    /// Lease duration.
    pub lease_duration: Duration,
}

impl Config {
    /// The connection limits both HTTP servers apply.
    pub fn http_limits(&self) -> listener::Limits {
        listener::Limits {
            header_timeout: self.header_timeout,
            max_connections: self.max_connections,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            namespace: "kube-system".into(),
            key_prefix: keys::DEFAULT_KEY_PREFIX.into(),
            key_size: 4096,
            key_ttl: Duration::from_secs(87_600 * 3600),
            key_renew_period: Duration::from_secs(30 * 24 * 3600),
            key_cutoff_time: None,
            key_labels: BTreeMap::new(),
            key_annotations: BTreeMap::new(),
            escrow_recipients: None,
            escrow_configmap: "sealant-key-escrow".into(),
            accept_deprecated_v1_data: true,
            namespaces: Vec::new(),
            label_selector: None,
            update_status: true,
            skip_recreate: false,
            my_cn: None,
            key_order: keys::KeyOrder::CertNotBefore,
            rollout_restarts: false,
            max_unseal_retries: 5,
            concurrency: 32,
            listen_addr: ([0, 0, 0, 0], 8080).into(),
            metrics_addr: ([0, 0, 0, 0], 8081).into(),
            rate_limit: 2,
            rate_limit_burst: 2,
            sealing_page: true,
            trusted_proxies: Vec::new(),
            max_body_bytes: 1 << 20,
            request_timeout: Duration::from_secs(120),
            header_timeout: Duration::from_secs(10),
            max_connections: 256,
            audit_log: None,
            audit_fail_closed: false,
            leader_election: true,
            require_leader_election: false,
            lease_name: "sealant-controller".into(),
            identity: "sealant-controller".into(),
            lease_duration: Duration::from_secs(15),
        }
    }
}

/// Why the controller stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The Kubernetes API refused or failed.
    #[error("kubernetes API: {0}")]
    Kube(kube::Error),
    /// Key generation or storage failed.
    #[error("keys: {0}")]
    Keys(String),
    /// A listener could not start.
    #[error("cannot listen on {addr}: {cause}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why (printed in the message).
        cause: std::io::Error,
    },
    /// The audit log cannot be opened.
    #[error("audit log {path}: {cause}")]
    Audit {
        /// The file.
        path: PathBuf,
        /// Why (printed in the message).
        cause: std::io::Error,
    },
    /// Leader election failed.
    #[error("leader election: {0}")]
    Lease(String),
}

// By hand, not `#[from]`: the message already prints the cause, and a source would print it a second time.
impl From<kube::Error> for Error {
    fn from(e: kube::Error) -> Self {
        Error::Kube(e)
    }
}

/// A Kubernetes client from `KUBECONFIG`/`~/.kube/config`, else the in-cluster service account.
pub async fn default_client() -> Result<Client, Error> {
    Ok(Client::try_default().await?)
}

/// Runs the controller until `shutdown` resolves: key watch, HTTP API and metrics on every replica; key
/// generation and reconciling on the leader only.
pub async fn run(
    client: Client,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let config = Arc::new(config);
    let audit = Arc::new(match &config.audit_log {
        Some(path) => audit::Audit::file(path.clone(), config.audit_fail_closed).map_err(|cause| Error::Audit {
            path: path.clone(),
            cause,
        })?,
        None => audit::Audit::stdout(),
    });
    let metrics = Arc::new(metrics::Metrics::new());
    metrics.register_audit(audit.metrics());
    let registry = keys::KeyRegistry::new();
    let (stop_tx, stop_rx) = watch::channel(false);
    let stop_tx = Arc::new(stop_tx);
    let on_signal = stop_tx.clone();
    tokio::spawn(async move {
        shutdown.await;
        let _ = on_signal.send(true);
    });

    let key_watch = tokio::spawn(keys::watch_keys(
        client.clone(),
        config.clone(),
        registry.clone(),
        metrics.clone(),
        audit.clone(),
    ));
    let escrow_bundle = escrow::Bundle::default();
    let rsa = pool::RsaPool::default();
    let api = http::serve(
        http::Parts {
            client: Some(client.clone()),
            config: config.clone(),
            keys: registry.clone(),
            metrics: metrics.clone(),
            audit: audit.clone(),
            escrow: escrow_bundle.clone(),
            rsa: rsa.clone(),
        },
        stop_rx.clone(),
    )
    .await?;
    let metrics_server = metrics::serve(
        config.metrics_addr,
        config.http_limits(),
        metrics.clone(),
        stop_rx.clone(),
    )
    .await?;

    let shared = Shared {
        client,
        config: config.clone(),
        registry,
        metrics: metrics.clone(),
        audit,
        escrow_bundle,
        rsa,
    };
    let elect = config.leader_election
        && (config.require_leader_election || may_use_leases(&shared.client, &config.namespace).await);
    let result = if elect {
        lead_when_elected(shared, stop_rx).await
    } else {
        metrics.set_leader(true);
        lead(shared, stop_rx).await
    };
    // Why stop everything on an error: the HTTP servers would otherwise keep `/healthz` green on a replica that
    // can never lead (e.g. the Lease or the first key refused), a silent outage. The error goes to the log and
    // the exit status, and the pod restarts with backoff.
    if let Err(e) = &result {
        tracing::error!("controller stopped: {e}");
        let _ = stop_tx.send(true);
    }
    key_watch.abort();
    let _ = api.await;
    let _ = metrics_server.await;
    result
}

/// Whether this controller's identity may create Leases in `namespace`, asked with a SelfSubjectAccessReview
/// (which every authenticated identity may make).
///
/// Why ask: upstream's RBAC (Bitnami's chart, which runs one replica and no leader election) grants no Lease
/// rights. Sealant dropped into that chart must work as upstream does there, alone, rather than stop; with its own
/// chart's RBAC it elects a leader. An answer that cannot be had counts as "may": the Lease calls then report.
async fn may_use_leases(client: &Client, namespace: &str) -> bool {
    use k8s_openapi::api::authorization::v1::{
        ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
    };
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                namespace: Some(namespace.to_string()),
                verb: Some("create".into()),
                group: Some("coordination.k8s.io".into()),
                resource: Some("leases".into()),
                ..ResourceAttributes::default()
            }),
            ..SelfSubjectAccessReviewSpec::default()
        },
        ..SelfSubjectAccessReview::default()
    };
    let api: kube::Api<SelfSubjectAccessReview> = kube::Api::all(client.clone());
    match api.create(&kube::api::PostParams::default(), &review).await {
        Ok(answer) if answer.status.as_ref().is_some_and(|s| !s.allowed) => {
            warn!(
                namespace,
                "no right to create Leases here (upstream's RBAC?): running without leader election, as upstream \
                 does; run one replica only"
            );
            false
        }
        _ => true,
    }
}

/// What every part of a running controller shares.
#[derive(Clone)]
struct Shared {
    client: Client,
    config: Arc<Config>,
    registry: keys::KeyRegistry,
    metrics: Arc<metrics::Metrics>,
    audit: Arc<audit::Audit>,
    escrow_bundle: escrow::Bundle,
    rsa: pool::RsaPool,
}

/// Waits for the Lease, leads while holding it, and steps down (stops writing) as soon as it is lost.
async fn lead_when_elected(shared: Shared, mut stop: watch::Receiver<bool>) -> Result<(), Error> {
    let (client, config, metrics) = (&shared.client, &shared.config, &shared.metrics);
    let secs = config.lease_duration.as_secs().max(3);
    let manager = kube_lease_manager::LeaseManagerBuilder::new(client.clone(), &config.lease_name)
        .with_namespace(&config.namespace)
        .with_identity(&config.identity)
        .with_duration(secs)
        .with_grace((secs / 3).max(1))
        .build()
        .await
        .map_err(|e| Error::Lease(e.to_string()))?;
    let (mut leading, lease_task) = manager.watch().await;
    let result = loop {
        if *stop.borrow() {
            break Ok(());
        }
        if *leading.borrow_and_update() {
            info!(identity = %config.identity, "became leader");
            metrics.set_leader(true);
            let (step_down_tx, step_down_rx) = watch::channel(false);
            let work = lead(shared.clone(), merge_stops(stop.clone(), step_down_rx));
            tokio::pin!(work);
            let outcome = loop {
                tokio::select! {
                    r = &mut work => break Some(r),
                    changed = leading.changed() => {
                        if changed.is_err() || !*leading.borrow_and_update() {
                            let _ = step_down_tx.send(true);
                            break None;
                        }
                    }
                }
            };
            metrics.set_leader(false);
            match outcome {
                Some(r) => break r,
                None => {
                    // Why abort instead of finishing in-flight work: another replica may already lead.
                    warn!(identity = %config.identity, "lost the lease; stopped writing");
                }
            }
        } else {
            tokio::select! {
                changed = leading.changed() => if changed.is_err() { break Err(Error::Lease("lease task ended".into())) },
                _ = stop.changed() => {}
            }
        }
    };
    // Closing the channel makes the lease task release the Lease, so a successor need not wait for expiry.
    drop(leading);
    let _ = tokio::time::timeout(Duration::from_secs(3), lease_task).await;
    result
}

/// A stop signal that fires when either input does.
fn merge_stops(mut a: watch::Receiver<bool>, mut b: watch::Receiver<bool>) -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(*a.borrow() || *b.borrow());
    tokio::spawn(async move {
        loop {
            tokio::select! {
                r = a.changed() => if r.is_err() || *a.borrow() { break },
                r = b.changed() => if r.is_err() || *b.borrow() { break },
                _ = tx.closed() => return,
            }
        }
        let _ = tx.send(true);
    });
    rx
}

/// The leader's work: make sure a current key exists, renew it on schedule, reconcile every SealedSecret.
async fn lead(shared: Shared, stop: watch::Receiver<bool>) -> Result<(), Error> {
    let Shared {
        client,
        config,
        registry,
        metrics,
        audit,
        escrow_bundle,
        rsa,
    } = shared;
    registry.wait_loaded().await;
    keys::ensure_current_key(&client, &config, &registry, &audit).await?;
    // Aborted when this future is dropped (lost lease) as well as when it ends: only a leader may add keys.
    let _renewal = AbortOnDrop(tokio::spawn(keys::renew_keys(
        client.clone(),
        config.clone(),
        registry.clone(),
        audit.clone(),
    )));
    let _escrow = config.escrow_recipients.clone().map(|recipients| {
        AbortOnDrop(tokio::spawn(escrow::export(
            client.clone(),
            config.clone(),
            registry.clone(),
            recipients,
            escrow_bundle.clone(),
            audit.clone(),
        )))
    });
    let ctx = context::Context::new(client, config, registry, metrics, audit, rsa);
    let mut stop_signal = stop.clone();
    let stopped = async move {
        while !*stop_signal.borrow() {
            if stop_signal.changed().await.is_err() {
                break;
            }
        }
    };
    watches::controller(ctx, stopped).for_each(|_| async {}).await;
    Ok(())
}

/// Aborts a spawned task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
