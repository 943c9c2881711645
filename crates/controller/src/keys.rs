//! The sealing keys: loaded from the labelled key Secrets of the controller's namespace (and kept current by a
//! watch, so keys added later need no restart), generated at first start and on every renewal period, never
//! deleted, and kept loaded until restart when their Secret is deleted (spec 3.2–3.5).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::{Api, PostParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt as _, watcher};
use sealant_core::keys::{self as core_keys, Certificate, Keyring};
use sealant_core::keysecret;
use time::OffsetDateTime;
use tokio::sync::watch;
use tracing::{error, info, warn};

use crate::audit::{self, Audit};
use crate::metrics::Metrics;
use crate::{Config, Error};

/// `generateName` of key Secrets, and the name of the pre-0.9 single key Secret.
pub use sealant_core::keysecret::DEFAULT_PREFIX as DEFAULT_KEY_PREFIX;
/// Label that marks a key Secret to load (value `active`).
pub use sealant_core::keysecret::LABEL as KEY_LABEL;

/// One loaded key, as the API and metrics see it (the private half stays in the [`Keyring`]).
#[derive(Debug, Clone)]
pub struct KeyInfo {
    /// `SHA256:` fingerprint of the public key.
    pub fingerprint: String,
    /// The certificate served by `/v1/cert.pem`.
    pub cert: Certificate,
    /// Which key is newest: the certificate's NotBefore (upstream's default order).
    pub created: OffsetDateTime,
    /// The Secret it came from.
    pub secret_name: String,
}

/// Every loaded key: the keyring for unsealing and the certificates, oldest first.
#[derive(Debug, Default)]
pub struct KeySet {
    /// All private keys; each is tried when unsealing.
    pub keyring: Keyring,
    /// Public side of each key, oldest first.
    pub keys: Vec<KeyInfo>,
}

impl KeySet {
    /// The newest key: it seals (`/v1/cert.pem`, `/v1/rotate`).
    pub fn latest(&self) -> Option<&KeyInfo> {
        self.keys.last()
    }
}

/// Shared, swappable view of the keys: readers take a snapshot and never block a reload.
#[derive(Clone)]
pub struct KeyRegistry {
    current: Arc<RwLock<Arc<KeySet>>>,
    loaded: watch::Sender<u64>,
}

impl Default for KeyRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl KeyRegistry {
    /// An empty registry, not yet loaded.
    pub fn new() -> Self {
        Self {
            current: Arc::new(RwLock::new(Arc::new(KeySet::default()))),
            loaded: watch::channel(0).0,
        }
    }

    /// The keys right now.
    pub fn snapshot(&self) -> Arc<KeySet> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the key set; readers see it on their next snapshot.
    fn publish(&self, set: KeySet) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(set);
        self.loaded.send_modify(|generation| *generation += 1);
    }

    /// Resolves once the first full load is published.
    pub async fn wait_loaded(&self) {
        let mut rx = self.loaded.subscribe();
        let _ = rx.wait_for(|generation| *generation > 0).await;
    }

    /// A receiver that changes every time the key set is republished.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.loaded.subscribe()
    }
}

/// Which key is the newest, the one that seals (upstream's `--key-order-priority`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyOrder {
    /// The certificate's NotBefore, then the Secret's creation time (upstream's default).
    #[default]
    CertNotBefore,
    /// The Secret's creation time, then the certificate's NotBefore.
    SecretCreationTimestamp,
}

/// Builds a key set from key Secrets, oldest first in `order`. A Secret that cannot be read is reported and
/// skipped: one bad Secret must not stop the others from working (upstream panics here, spec 3.4).
pub fn key_set_from_secrets<'a>(
    secrets: impl IntoIterator<Item = &'a Secret>,
    order: KeyOrder,
) -> (KeySet, Vec<String>) {
    let mut problems = Vec::new();
    let mut loaded: Vec<(KeyInfo, sealant_core::PrivateKey, OffsetDateTime)> = Vec::new();
    for secret in secrets {
        let name = secret.metadata.name.clone().unwrap_or_default();
        match keysecret::read(secret) {
            Ok((key, cert)) => {
                let fingerprint = cert.fingerprint().to_string();
                if loaded.iter().any(|(k, _, _)| k.fingerprint == fingerprint) {
                    continue;
                }
                let created_at = secret
                    .metadata
                    .creation_timestamp
                    .as_ref()
                    .and_then(|t| OffsetDateTime::from_unix_timestamp(t.0.as_second()).ok())
                    .unwrap_or(OffsetDateTime::UNIX_EPOCH);
                let info = KeyInfo {
                    fingerprint,
                    created: cert.not_before(),
                    cert,
                    secret_name: name,
                };
                loaded.push((info, key, created_at));
            }
            Err(e) => problems.push(format!("key Secret {name}: {e}")),
        }
    }
    match order {
        KeyOrder::CertNotBefore => loaded.sort_by_key(|(info, _, created_at)| (info.created, *created_at)),
        KeyOrder::SecretCreationTimestamp => loaded.sort_by_key(|(info, _, created_at)| (*created_at, info.created)),
    }
    let mut set = KeySet::default();
    for (info, key, _) in loaded {
        if set.keyring.add(key).is_ok() {
            set.keys.push(info);
        }
    }
    (set, problems)
}

/// Watches the labelled key Secrets (and the legacy single key Secret) and republishes the key set on every
/// change. Runs on every replica: followers serve the API with the same keys.
pub async fn watch_keys(
    client: Client,
    config: Arc<Config>,
    registry: KeyRegistry,
    metrics: Arc<Metrics>,
    audit: Arc<Audit>,
) {
    let api: Api<Secret> = Api::namespaced(client.clone(), &config.namespace);
    let legacy = match api.get_opt(&config.key_prefix).await {
        Ok(found) => found,
        Err(e) => {
            warn!(error = %e, "cannot read the legacy key Secret");
            None
        }
    };
    let (store, writer) = reflector::store();
    let selector = format!("{KEY_LABEL}=active");
    let stream =
        reflector::reflector(writer, watcher(api, watcher::Config::default().labels(&selector))).default_backoff();
    futures::pin_mut!(stream);
    let mut last: Option<Vec<String>> = None;
    let mut seen = Seen::default();
    let mut ready = false;
    while let Some(event) = stream.next().await {
        match event {
            Ok(watcher::Event::InitDone) => ready = true,
            Ok(watcher::Event::Apply(_) | watcher::Event::Delete(_)) => {}
            Ok(watcher::Event::Init | watcher::Event::InitApply(_)) => continue,
            Err(e) => {
                warn!(error = %e, "key Secret watch");
                continue;
            }
        }
        if ready {
            reload(
                &store,
                legacy.as_ref(),
                &mut seen,
                (&registry, &metrics, &audit),
                &mut last,
                (config.key_order, &config.namespace),
            );
        }
    }
}

/// Every key Secret this process has loaded, by name, and which of them are gone from the API server.
#[derive(Default)]
struct Seen {
    secrets: BTreeMap<String, Arc<Secret>>,
    gone: std::collections::BTreeSet<String>,
}

impl Seen {
    /// The key Secrets to load: those the API server has, plus the deleted ones this process saw.
    ///
    /// Why keep a deleted key: one mistaken `kubectl delete` must not make every SealedSecret sealed to it fail
    /// (and, with the watch down, a deletion shows up only as a missing object). Upstream also drops a key only
    /// at restart, so removing a key for good stays what it was: delete its Secret, then restart.
    fn merge(&mut self, present: &[Arc<Secret>]) -> Vec<Arc<Secret>> {
        let mut names = std::collections::BTreeSet::new();
        for secret in present {
            let name = secret.metadata.name.clone().unwrap_or_default();
            if self.gone.remove(&name) {
                info!(secret = %name, "key Secret is back");
            }
            self.secrets.insert(name.clone(), secret.clone());
            names.insert(name);
        }
        for name in self.secrets.keys().filter(|n| !names.contains(*n)) {
            if self.gone.insert(name.clone()) {
                warn!(
                    secret = %name,
                    "key Secret deleted; its key stays loaded until the controller restarts (restore the Secret, \
                     e.g. from escrow, to keep it)"
                );
            }
        }
        self.secrets.values().cloned().collect()
    }
}

fn reload(
    store: &Store<Secret>,
    legacy: Option<&Secret>,
    seen: &mut Seen,
    (registry, metrics, audit): (&KeyRegistry, &Metrics, &Audit),
    last: &mut Option<Vec<String>>,
    (order, namespace): (KeyOrder, &str),
) {
    let state = seen.merge(&store.state());
    let secrets = state.iter().map(|s| s.as_ref()).chain(legacy);
    let (set, problems) = key_set_from_secrets(secrets, order);
    for problem in &problems {
        error!("{problem}");
    }
    metrics.key_load_errors.set(problems.len() as i64);
    let fingerprints: Vec<String> = set.keys.iter().map(|k| k.fingerprint.clone()).collect();
    if last.as_ref() == Some(&fingerprints) {
        return;
    }
    // Each private key this process reads for the first time is one audited access to its key Secret.
    let before = last.clone().unwrap_or_default();
    for key in set.keys.iter().filter(|k| !before.contains(&k.fingerprint)) {
        audit.record(
            audit::Action::KeySecretRead,
            &audit::Record {
                namespace: Some(namespace.to_string()),
                name: Some(key.secret_name.clone()),
                outcome: "ok",
                keys: vec![key.fingerprint.clone()],
                ..audit::Record::default()
            },
        );
    }
    info!(
        keys = fingerprints.len(),
        latest = fingerprints.last().map(String::as_str).unwrap_or("none"),
        "keys loaded"
    );
    metrics.observe_keys(set.keys.iter().map(|k| (k.fingerprint.clone(), k.created)));
    *last = Some(fingerprints);
    registry.publish(set);
}

/// Generates a key now if there is none, or the newest is older than `--key-cutoff-time` (spec 3.5).
pub async fn ensure_current_key(
    client: &Client,
    config: &Config,
    registry: &KeyRegistry,
    audit: &Audit,
) -> Result<(), Error> {
    let set = registry.snapshot();
    let due = match (set.latest(), config.key_cutoff_time) {
        (None, _) => true,
        (Some(latest), Some(cutoff)) => latest.created < cutoff,
        (Some(_), None) => false,
    };
    if due {
        generate_key(client, config, registry, (audit, audit::Action::KeyGenerate)).await?;
    }
    Ok(())
}

/// Generates a new key every renewal period after the newest one; runs on the leader only.
pub async fn renew_keys(client: Client, config: Arc<Config>, registry: KeyRegistry, audit: Arc<Audit>) {
    if config.key_renew_period.is_zero() {
        return;
    }
    let period = time::Duration::try_from(config.key_renew_period).unwrap_or(time::Duration::days(30));
    loop {
        let newest = registry.snapshot().latest().map(|k| k.created);
        let wait = newest.map_or(time::Duration::ZERO, |created| {
            created + period - OffsetDateTime::now_utc()
        });
        let wait = Duration::try_from(wait.max(time::Duration::ZERO)).unwrap_or_default();
        tokio::time::sleep(wait).await;
        if let Err(e) = generate_key(&client, &config, &registry, (&audit, audit::Action::KeyRenew)).await {
            // Why not exit: the old keys keep working; a failed renewal is retried later, not a crash loop.
            error!(error = %e, "key renewal failed; retrying in 5 minutes");
            tokio::time::sleep(Duration::from_secs(300)).await;
        }
    }
}

/// Generates a key, stores it as a key Secret (audited as `action`), and waits until the watch has loaded it.
pub async fn generate_key(
    client: &Client,
    config: &Config,
    registry: &KeyRegistry,
    (audit, action): (&Audit, audit::Action),
) -> Result<String, Error> {
    // Why: with --audit-fail-closed, no private key is made while its making cannot be recorded.
    if audit.holds_keys_back() {
        return Err(Error::Keys(
            "the audit log cannot be written: no key is generated (--audit-fail-closed)".into(),
        ));
    }
    let bits = config.key_size;
    let ttl = time::Duration::try_from(config.key_ttl).map_err(|e| Error::Keys(e.to_string()))?;
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| OffsetDateTime::now_utc());
    let cn = config.my_cn.clone();
    let (key, cert) = tokio::task::spawn_blocking(move || core_keys::generate_named(bits, now, ttl, cn.as_deref()))
        .await
        .map_err(|e| Error::Keys(e.to_string()))?
        .map_err(|e| Error::Keys(e.to_string()))?;
    let key_pem = core_keys::private_key_pkcs1_pem(&key).map_err(|e| Error::Keys(e.to_string()))?;
    let secret = keysecret::object(
        &cert,
        &key_pem,
        &config.namespace,
        keysecret::Naming::Prefix(&config.key_prefix),
        config.key_labels.clone(),
        config.key_annotations.clone(),
    );
    let api: Api<Secret> = Api::namespaced(client.clone(), &config.namespace);
    let created = api.create(&PostParams::default(), &secret).await;
    let fingerprint = cert.fingerprint().to_string();
    audit.record(
        action,
        &audit::Record {
            namespace: Some(config.namespace.clone()),
            name: created.as_ref().ok().and_then(|s| s.metadata.name.clone()),
            outcome: if created.is_ok() { "ok" } else { "error" },
            error: created.as_ref().err().map(ToString::to_string),
            keys: vec![fingerprint.clone()],
            ..audit::Record::default()
        },
    );
    let created = created?;
    info!(
        secret = created.metadata.name.as_deref().unwrap_or(""),
        fingerprint = %fingerprint,
        certificate = cert.pem(),
        "new key written; certificate generated"
    );
    let mut changes = registry.subscribe();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !registry.snapshot().keys.iter().any(|k| k.fingerprint == fingerprint) {
        if tokio::time::timeout_at(deadline, changes.changed()).await.is_err() {
            return Err(Error::Keys(format!(
                "key {fingerprint} was written but not seen by the watch"
            )));
        }
    }
    Ok(fingerprint)
}
