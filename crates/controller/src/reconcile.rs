//! SealedSecret → Secret (spec 2.5–2.9, 3.6–3.10): create, update on change, never overwrite a Secret it does
//! not own unless the `managed`/`patch` annotations say so, status, events, audit — and no RSA work for an
//! object whose sealed input the Secret already holds.
//!
//! The Secret carries `sealant.dev/sealed-digest`, a SHA-256 of the SealedSecret's UID, name and spec (public
//! data only: ciphertext, never plaintext). A resync, a restarted watch or a restarted controller finds the
//! digest unchanged in its Secret metadata cache and stops there.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt as _};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret as K8sSecret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, PartialObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Client, Resource as _, ResourceExt as _};
use sealant_core::types::{
    LAST_APPLIED_ANNOTATIONS, SEALED_SECRET_API_VERSION, SEALED_SECRET_KIND, SYNCED_CONDITION, SealedSecret,
    SealedSecretStatus,
};
use sealant_core::unseal::{UnsealOptions, unseal};
use secrecy::ExposeSecret as _;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::Semaphore;
use tracing::{debug, info, warn};

use crate::audit::{self, Audit};
use crate::keys::KeyRegistry;
use crate::metrics::{ErrorLabels, Metrics, OneLabel};
use crate::{Config, crd, restart};

/// Annotation on a produced Secret: digest of the sealed input it was made from.
pub const DIGEST_ANNOTATION: &str = "sealant.dev/sealed-digest";
/// On an existing Secret: the controller may take it over (spec 2.7).
pub const MANAGED_ANNOTATION: &str = "sealedsecrets.bitnami.com/managed";
/// On an existing Secret: merge into it instead of replacing it (spec 2.7).
pub const PATCH_ANNOTATION: &str = "sealedsecrets.bitnami.com/patch";
/// Field manager and event reporter name.
pub const MANAGER: &str = "sealant-controller";
/// Bumped when the way a Secret is produced changes, so every Secret is made again once.
const DIGEST_VERSION: &str = "sealant/1";

/// Why one reconcile failed. Messages name objects and items, never values.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The object does not parse as a SealedSecret.
    #[error("invalid SealedSecret: {0}")]
    Invalid(String),
    /// Decryption or templating failed (upstream text, e.g. `no key could decrypt secret (a, b)`).
    #[error("{0}")]
    Unseal(String),
    /// A Secret of the same name exists and is not ours.
    #[error("Resource \"{0}\" already exists and is not managed by SealedSecret")]
    Unmanaged(String),
    /// The Secret is immutable and its data would change.
    #[error(
        "Error updating {0}: the target Secret is immutable. Once a Secret is marked as immutable, it is not possible to revert this change nor to mutate the contents of the data field. You can only delete and recreate the Secret."
    )]
    Immutable(String),
    /// Reading the Secret failed.
    #[error("{0}")]
    Fetch(kube::Error),
    /// Writing the Secret failed.
    #[error("{0}")]
    Update(kube::Error),
}

impl ReconcileError {
    /// The metric `reason` (upstream's values, plus `invalid`).
    pub fn reason(&self) -> &'static str {
        match self {
            ReconcileError::Invalid(_) => "invalid",
            ReconcileError::Unseal(_) => "unseal",
            ReconcileError::Unmanaged(_) => "unmanaged",
            ReconcileError::Immutable(_) | ReconcileError::Update(_) => "update",
            ReconcileError::Fetch(_) => "fetch",
        }
    }

    /// The status condition `reason` (upstream leaves it empty; sealant names the failure).
    fn condition_reason(&self) -> &'static str {
        match self {
            ReconcileError::Invalid(_) => "Invalid",
            ReconcileError::Unseal(_) => "UnsealFailed",
            ReconcileError::Unmanaged(_) => "Unmanaged",
            ReconcileError::Immutable(_) => "Immutable",
            ReconcileError::Fetch(_) | ReconcileError::Update(_) => "UpdateFailed",
        }
    }

    /// Whether trying again later can help. Decryption failures are not retried on a timer: the same keys
    /// give the same answer, and each try costs RSA work an attacker chose. They are retried when the keys
    /// change or the object does.
    fn retryable(&self) -> bool {
        matches!(
            self,
            ReconcileError::Fetch(_) | ReconcileError::Update(_) | ReconcileError::Unmanaged(_)
        )
    }
}

/// What a successful reconcile did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The Secret already holds this sealed input: nothing decrypted.
    Skipped,
    /// Decrypted; the Secret was already right.
    Unchanged,
    /// Created the Secret.
    Created,
    /// Updated the Secret; `data_changed` says whether its data changed.
    Updated {
        /// Whether `data` changed (restarts are only for that).
        data_changed: bool,
    },
}

/// Shared state of the reconcilers.
pub struct Context {
    client: Client,
    config: Arc<Config>,
    keys: KeyRegistry,
    metrics: Arc<Metrics>,
    audit: Arc<Audit>,
    recorder: Recorder,
    resource: ApiResource,
    secrets: OnceLock<Vec<Store<PartialObjectMeta<K8sSecret>>>>,
    /// Bounds concurrent RSA work to the cores we have: more would only queue inside the CPU.
    rsa: Semaphore,
    retries: Mutex<HashMap<(String, String), u32>>,
    /// Digest of what this process last wrote per object, and when: a lagging Secret cache must not cause a
    /// re-decrypt. Only the last minute matters (the cache has caught up after that), so older entries are
    /// pruned and the map stays bounded under churn.
    written: Mutex<HashMap<(String, String), (String, Instant)>>,
    /// Objects whose decryption failed: digest of the sealed input, the key set tried, the error. A metadata
    /// edit of a failing object (labels, annotations) changes neither, so it costs no new RSA work.
    failed: Mutex<HashMap<(String, String), Failure>>,
}

/// A decryption failure remembered so that only a change of the sealed input or of the keys retries it.
struct Failure {
    digest: String,
    keys: String,
    message: String,
    at: Instant,
}

/// Entries a bookkeeping map may hold before old ones are pruned.
const BOOKKEEPING_LIMIT: usize = 4096;

/// Inserts into a map of timed entries, pruning those older than `keep` once it is over the limit.
fn insert_bounded<V>(
    map: &Mutex<HashMap<(String, String), V>>,
    key: (String, String),
    value: V,
    at: impl Fn(&V) -> Instant,
    keep: Duration,
) {
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    if map.len() >= BOOKKEEPING_LIMIT {
        map.retain(|_, v| at(v).elapsed() < keep);
    }
    map.insert(key, value);
}

impl Context {
    /// Builds the shared state.
    pub fn new(
        client: Client,
        config: Arc<Config>,
        keys: KeyRegistry,
        metrics: Arc<Metrics>,
        audit: Arc<Audit>,
    ) -> Arc<Self> {
        let reporter = Reporter {
            controller: MANAGER.into(),
            instance: Some(config.identity.clone()),
        };
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Arc::new(Self {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            config,
            keys,
            metrics,
            audit,
            resource: api_resource(),
            secrets: OnceLock::new(),
            rsa: Semaphore::new(cores),
            retries: Mutex::new(HashMap::new()),
            written: Mutex::new(HashMap::new()),
            failed: Mutex::new(HashMap::new()),
        })
    }

    async fn secret_meta(&self, namespace: &str, name: &str) -> Option<Arc<PartialObjectMeta<K8sSecret>>> {
        let stores = self.secrets.get()?;
        let key = ObjectRef::new(name).within(namespace);
        for store in stores {
            // Why wait: before the first list completes, an empty cache would look like "no Secret yet" and
            // cost a needless decryption for every object at start-up. Polled, not awaited: the store wakes
            // only one of several concurrent waiters.
            while futures::FutureExt::now_or_never(store.wait_until_ready()).is_none() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if let Some(found) = store.get(&key) {
                return Some(found);
            }
        }
        None
    }
}

/// The dynamic API resource of SealedSecrets.
pub fn api_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(crd::GROUP, crd::VERSION, SEALED_SECRET_KIND),
        crd::PLURAL,
    )
}

/// The controller stream: watches SealedSecrets (all namespaces or the configured ones) and the metadata of
/// Secrets (to learn about deleted or changed owned Secrets, and to skip unchanged objects), reconciles them
/// concurrently, and reconciles everything again when the keys change.
pub fn controller(
    ctx: Arc<Context>,
    stop: impl Future<Output = ()> + Send + Sync + 'static,
) -> impl Stream<Item = ()> + Send {
    let namespaces: Vec<Option<String>> = if ctx.config.namespaces.is_empty() {
        vec![None]
    } else {
        ctx.config.namespaces.iter().cloned().map(Some).collect()
    };
    let mut watcher_config = watcher::Config::default();
    if let Some(selector) = &ctx.config.label_selector {
        watcher_config = watcher_config.labels(selector);
    }
    let stop = futures::FutureExt::shared(Box::pin(stop));
    let mut stores = Vec::new();
    let mut streams = Vec::new();
    for ns in namespaces {
        let (sealed_api, secret_api): (Api<DynamicObject>, Api<PartialObjectMeta<K8sSecret>>) = match &ns {
            None => (
                Api::all_with(ctx.client.clone(), &ctx.resource),
                Api::all(ctx.client.clone()),
            ),
            Some(ns) => (
                Api::namespaced_with(ctx.client.clone(), ns, &ctx.resource),
                Api::namespaced(ctx.client.clone(), ns),
            ),
        };
        let (store, writer) = reflector::store();
        stores.push(store);
        // Why trimmed: with 10,000 Secrets the cache is most of the controller's memory; the reconciler only
        // needs the ownerReferences and the digest annotation.
        let owned = watcher(secret_api, watcher::Config::default())
            .default_backoff()
            .modify(|secret: &mut PartialObjectMeta<K8sSecret>| {
                let meta = &mut secret.metadata;
                meta.managed_fields = None;
                meta.labels = None;
                if let Some(annotations) = meta.annotations.as_mut() {
                    annotations.retain(|k, _| k == DIGEST_ANNOTATION);
                }
            })
            .reflect(writer)
            .touched_objects();
        let sealed_writer = reflector::store::Writer::new(ctx.resource.clone());
        let sealed_store = sealed_writer.as_reader();
        // The SealedSecret cache keeps what reconciling needs; `managedFields` and kubectl's copy of the whole
        // object in `last-applied-configuration` would roughly double it.
        let sealed = watcher(sealed_api, watcher_config.clone())
            .default_backoff()
            .modify(|obj: &mut DynamicObject| {
                obj.metadata.managed_fields = None;
                if let Some(annotations) = obj.metadata.annotations.as_mut() {
                    annotations.retain(|k, _| !LAST_APPLIED_ANNOTATIONS.contains(&k.as_str()));
                }
            })
            .reflect(sealed_writer)
            .touched_objects();
        let keys_changed = futures::stream::unfold(ctx.keys.subscribe(), |mut rx| async move {
            rx.changed().await.ok()?;
            Some(((), rx))
        });
        let controller = Controller::for_stream_with(sealed, sealed_store, ctx.resource.clone())
            .owns_stream(owned)
            .reconcile_all_on(keys_changed)
            .with_config(kube::runtime::controller::Config::default().concurrency(ctx.config.concurrency))
            .graceful_shutdown_on(stop.clone());
        ctx.metrics.add_inventory(controller.store());
        streams.push(
            controller
                .run(reconcile, error_policy, ctx.clone())
                .map(|result| {
                    if let Err(e) = result {
                        debug!(error = %e, "reconcile");
                    }
                })
                .boxed(),
        );
    }
    let _ = ctx.secrets.set(stores);
    futures::stream::select_all(streams)
}

async fn reconcile(obj: Arc<DynamicObject>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let started = Instant::now();
    ctx.metrics.unseal_requests.inc();
    let namespace = obj.namespace().unwrap_or_default();
    let name = obj.name_any();
    debug!(namespace = %namespace, name = %name, "reconcile");
    let result = reconcile_object(&obj, &ctx, &namespace, &name).await;
    debug!(namespace = %namespace, name = %name, outcome = ?result.as_ref().map_err(ToString::to_string), "reconciled");
    ctx.metrics.reconcile_duration.observe(started.elapsed().as_secs_f64());
    if ctx.config.update_status {
        update_status(&obj, &ctx, &result).await;
    }
    match result {
        Ok(outcome) => {
            ctx.retries
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&(namespace, name));
            if outcome != Outcome::Skipped {
                publish(
                    &ctx,
                    &obj,
                    EventType::Normal,
                    "Unsealed",
                    "SealedSecret unsealed successfully",
                )
                .await;
            }
            Ok(Action::await_change())
        }
        Err(e) => {
            ctx.metrics
                .unseal_errors
                .get_or_create(&ErrorLabels {
                    reason: e.reason().into(),
                    namespace: namespace.clone(),
                })
                .inc();
            let (reason, note) = match &e {
                ReconcileError::Invalid(_) | ReconcileError::Unseal(_) => {
                    ("ErrUnsealFailed", format!("Failed to unseal: {e}"))
                }
                _ => ("ErrUpdateFailed", e.to_string()),
            };
            warn!(namespace = %namespace, name = %name, error = %e, "reconcile failed");
            publish(&ctx, &obj, EventType::Warning, reason, &note).await;
            Err(e)
        }
    }
}

fn error_policy(obj: Arc<DynamicObject>, error: &ReconcileError, ctx: Arc<Context>) -> Action {
    if !error.retryable() {
        return Action::await_change();
    }
    let key = (obj.namespace().unwrap_or_default(), obj.name_any());
    let mut retries = ctx.retries.lock().unwrap_or_else(|e| e.into_inner());
    let count = retries.entry(key).or_insert(0);
    *count += 1;
    if *count > ctx.config.max_unseal_retries {
        return Action::await_change();
    }
    let backoff = Duration::from_millis(200u64 << (*count).min(10)).min(Duration::from_secs(300));
    Action::requeue(backoff)
}

async fn publish(ctx: &Context, obj: &DynamicObject, type_: EventType, reason: &str, note: &str) {
    let event = Event {
        type_,
        reason: reason.into(),
        note: Some(note.chars().take(1000).collect()),
        action: "Unseal".into(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&event, &obj.object_ref(&ctx.resource)).await {
        debug!(error = %e, "cannot publish event");
    }
}

/// Reads the object as a SealedSecret. Like upstream, `encryptedData` entries that are not strings are
/// dropped rather than failing the whole object.
pub fn parse(obj: &DynamicObject) -> Result<SealedSecret, String> {
    let mut value = serde_json::to_value(obj).map_err(|e| e.to_string())?;
    if let Some(items) = value
        .pointer_mut("/spec/encryptedData")
        .and_then(serde_json::Value::as_object_mut)
    {
        items.retain(|_, v| v.is_string());
    }
    let mut ss: SealedSecret = serde_json::from_value(value).map_err(|e| e.to_string())?;
    ss.api_version = SEALED_SECRET_API_VERSION.into();
    ss.kind = SEALED_SECRET_KIND.into();
    Ok(ss)
}

/// Digest of the sealed input: what the produced Secret depends on (public data only).
pub fn digest(obj: &DynamicObject) -> String {
    let input = serde_json::json!([
        DIGEST_VERSION,
        obj.metadata.uid,
        obj.metadata.namespace,
        obj.metadata.name,
        obj.data.get("spec"),
    ]);
    let hash = sealant_core::envelope::sha256(input.to_string().as_bytes());
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

fn controlled_by(owners: Option<&Vec<OwnerReference>>, uid: &str) -> bool {
    owners.is_some_and(|refs| refs.iter().any(|r| r.controller == Some(true) && r.uid == uid))
}

async fn reconcile_object(
    obj: &DynamicObject,
    ctx: &Context,
    namespace: &str,
    name: &str,
) -> Result<Outcome, ReconcileError> {
    let ss = parse(obj).map_err(ReconcileError::Invalid)?;
    let uid = obj.metadata.uid.clone().unwrap_or_default();
    let digest = digest(obj);
    if already_applied(ctx, namespace, name, &uid, &digest).await? {
        ctx.metrics.unseal_skipped.inc();
        return Ok(Outcome::Skipped);
    }

    let keys = ctx.keys.snapshot();
    let key_set = keys.keyring.fingerprints().collect::<Vec<_>>().join(",");
    let object = (namespace.to_string(), name.to_string());
    if let Some(f) = ctx.failed.lock().unwrap_or_else(|e| e.into_inner()).get(&object)
        && f.digest == digest
        && f.keys == key_set
    {
        return Err(ReconcileError::Unseal(f.message.clone()));
    }
    let opts = UnsealOptions {
        accept_legacy_data: ctx.config.accept_deprecated_v1_data,
        stop_at_first_error: false,
    };
    let permit = ctx.rsa.acquire().await.ok();
    let unsealed = tokio::task::spawn_blocking(move || unseal(&ss, &keys.keyring, opts))
        .await
        .map_err(|e| ReconcileError::Unseal(format!("decryption task failed: {e}")))?;
    drop(permit);
    let mut record = audit::Record {
        namespace: Some(namespace.into()),
        name: Some(name.into()),
        ..audit::Record::default()
    };
    let unsealed = match unsealed {
        Ok(u) => u,
        Err(e) => {
            record.outcome = "error";
            record.error = Some(e.to_string());
            ctx.audit.record(audit::Action::Unseal, &record);
            let failure = Failure {
                digest,
                keys: key_set,
                message: e.to_string(),
                at: Instant::now(),
            };
            insert_bounded(&ctx.failed, object, failure, |f| f.at, Duration::from_secs(600));
            return Err(ReconcileError::Unseal(e.to_string()));
        }
    };
    ctx.failed.lock().unwrap_or_else(|e| e.into_inner()).remove(&object);
    record.outcome = "ok";
    record.items = unsealed.secret.data.keys().cloned().collect();
    let keys_used: std::collections::BTreeSet<&String> = unsealed.keys_used.values().collect();
    record.keys = keys_used.into_iter().cloned().collect();
    ctx.audit.record(audit::Action::Unseal, &record);

    let desired = to_k8s_secret(unsealed.secret, &digest);
    let outcome = write_secret(ctx, namespace, name, &uid, desired, &mut record).await?;
    insert_bounded(
        &ctx.written,
        object,
        (digest, Instant::now()),
        |(_, at)| *at,
        Duration::from_secs(60),
    );
    if let Outcome::Updated { data_changed: true } = outcome
        && ctx.config.rollout_restarts
        && let Some(targets) = obj
            .annotations()
            .get(restart::ROLLOUT_RESTART_ANNOTATION)
            .and_then(|v| restart::Targets::parse(v))
    {
        restart_workloads(ctx, namespace, name, &targets).await;
    }
    Ok(outcome)
}

/// True when the Secret already holds this sealed input (our ownerReference and the same digest).
async fn already_applied(
    ctx: &Context,
    namespace: &str,
    name: &str,
    uid: &str,
    digest: &str,
) -> Result<bool, ReconcileError> {
    let matches = |meta: &kube::api::ObjectMeta| {
        controlled_by(meta.owner_references.as_ref(), uid)
            && meta
                .annotations
                .as_ref()
                .and_then(|a| a.get(DIGEST_ANNOTATION))
                .map(String::as_str)
                == Some(digest)
    };
    if let Some(meta) = ctx.secret_meta(namespace, name).await
        && matches(&meta.metadata)
    {
        return Ok(true);
    }
    let wrote_this = ctx
        .written
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&(namespace.to_string(), name.to_string()))
        .is_some_and(|(d, _)| d == digest);
    if !wrote_this {
        return Ok(false);
    }
    // We wrote it but the cache does not show it yet (or it was deleted): ask the API server, which is cheaper
    // than decrypting again.
    let api: Api<K8sSecret> = Api::namespaced(ctx.client.clone(), namespace);
    let live = api.get_metadata_opt(name).await.map_err(ReconcileError::Fetch)?;
    Ok(live.is_some_and(|m| matches(&m.metadata)))
}

/// The k8s Secret to write. Why the plaintext is copied into `ByteString`: the API client needs owned bytes to
/// serialise; the copy lives only until the request is sent.
fn to_k8s_secret(secret: sealant_core::Secret, digest: &str) -> K8sSecret {
    let mut metadata = secret.metadata;
    metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(DIGEST_ANNOTATION.into(), digest.into());
    let data = secret
        .data
        .iter()
        .map(|(k, v)| (k.clone(), ByteString(v.expose_secret().to_vec())))
        .collect();
    K8sSecret {
        metadata,
        type_: secret.type_,
        immutable: secret.immutable,
        data: Some(data),
        ..K8sSecret::default()
    }
}

async fn write_secret(
    ctx: &Context,
    namespace: &str,
    name: &str,
    uid: &str,
    desired: K8sSecret,
    record: &mut audit::Record,
) -> Result<Outcome, ReconcileError> {
    let api: Api<K8sSecret> = Api::namespaced(ctx.client.clone(), namespace);
    let params = PostParams {
        field_manager: Some(MANAGER.into()),
        ..PostParams::default()
    };
    record.items = desired
        .data
        .as_ref()
        .map(|d| d.keys().cloned().collect())
        .unwrap_or_default();
    record.keys.clear();
    // When the (ready) cache knows no such Secret, create straight away: one round trip instead of two. If the
    // cache lags and the Secret exists after all, the API server answers 409 and the normal path follows.
    if ctx.secret_meta(namespace, name).await.is_none() {
        match api.create(&params, &desired).await {
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            result => return created(ctx, namespace, name, record, result),
        }
    }
    let Some(existing) = api.get_opt(name).await.map_err(ReconcileError::Fetch)? else {
        let result = api.create(&params, &desired).await;
        return created(ctx, namespace, name, record, result);
    };
    let annotation = |key: &str| {
        existing
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(key))
            .is_some_and(|v| v == "true")
    };
    let (managed, patch) = (annotation(MANAGED_ANNOTATION), annotation(PATCH_ANNOTATION));
    let owned = controlled_by(existing.metadata.owner_references.as_ref(), uid);
    if !(owned || managed || patch) {
        return Err(ReconcileError::Unmanaged(name.into()));
    }
    let mut updated = existing.clone();
    let desired_data = desired.data.unwrap_or_default();
    if patch {
        updated.data.get_or_insert_with(BTreeMap::new).extend(desired_data);
        if let Some(labels) = desired.metadata.labels {
            updated.metadata.labels.get_or_insert_with(BTreeMap::new).extend(labels);
        }
        if let Some(annotations) = desired.metadata.annotations {
            updated
                .metadata
                .annotations
                .get_or_insert_with(BTreeMap::new)
                .extend(annotations);
        }
        if managed {
            updated.metadata.owner_references = desired.metadata.owner_references;
        }
    } else {
        updated.data = Some(desired_data);
        updated.metadata.labels = desired.metadata.labels;
        updated.metadata.annotations = desired.metadata.annotations;
        updated.metadata.owner_references = desired.metadata.owner_references;
    }
    // Why keep the existing type when the template has none: sending "" would be defaulted to Opaque and
    // refused as a type change for e.g. a TLS Secret (an upstream bug, spec 2.7).
    if desired.type_.is_some() {
        updated.type_ = desired.type_;
    }
    if updated == existing {
        return Ok(Outcome::Unchanged);
    }
    let data_changed = updated.data != existing.data;
    if existing.immutable == Some(true) && data_changed {
        return Err(ReconcileError::Immutable(format!("{namespace}/{name}")));
    }
    let result = api.replace(name, &params, &updated).await;
    audit_write(ctx, audit::Action::SecretUpdate, record, result.as_ref().err());
    result.map_err(ReconcileError::Update)?;
    count_write(ctx, "update");
    info!(namespace, name, data_changed, "secret updated");
    Ok(Outcome::Updated { data_changed })
}

fn created(
    ctx: &Context,
    namespace: &str,
    name: &str,
    record: &mut audit::Record,
    result: Result<K8sSecret, kube::Error>,
) -> Result<Outcome, ReconcileError> {
    audit_write(ctx, audit::Action::SecretCreate, record, result.as_ref().err());
    result.map_err(ReconcileError::Update)?;
    count_write(ctx, "create");
    info!(namespace, name, "secret created");
    Ok(Outcome::Created)
}

fn audit_write(ctx: &Context, action: audit::Action, record: &mut audit::Record, error: Option<&kube::Error>) {
    record.outcome = if error.is_some() { "error" } else { "ok" };
    record.error = error.map(ToString::to_string);
    ctx.audit.record(action, record);
}

fn count_write(ctx: &Context, op: &str) {
    ctx.metrics
        .secret_writes
        .get_or_create(&OneLabel { value: op.into() })
        .inc();
}

async fn restart_workloads(ctx: &Context, namespace: &str, secret: &str, targets: &restart::Targets) {
    let result = restart::rollout_restart(&ctx.client, namespace, secret, targets).await;
    let (restarted, error) = match result {
        Ok(restarted) => (restarted, None),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    for target in &restarted {
        ctx.metrics.rollout_restarts.inc();
        info!(namespace, secret, target = %target, "rollout restart");
        ctx.audit.record(
            audit::Action::RolloutRestart,
            &audit::Record {
                namespace: Some(namespace.into()),
                name: Some(secret.into()),
                outcome: "ok",
                target: Some(target.clone()),
                ..audit::Record::default()
            },
        );
    }
    if let Some(error) = error {
        warn!(namespace, secret, error = %error, "rollout restart failed");
        ctx.audit.record(
            audit::Action::RolloutRestart,
            &audit::Record {
                namespace: Some(namespace.into()),
                name: Some(secret.into()),
                outcome: "error",
                error: Some(error),
                ..audit::Record::default()
            },
        );
    }
}

/// Writes `status` when the condition or the observed generation changed (spec 3.10; unlike upstream, a
/// changed error message is written too, so status never shows a stale error).
async fn update_status(obj: &DynamicObject, ctx: &Context, result: &Result<Outcome, ReconcileError>) {
    let current: SealedSecretStatus = obj
        .data
        .get("status")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    let generation = obj.metadata.generation;
    let (status, message, reason) = match result {
        Ok(_) => ("True", String::new(), None),
        Err(e) => ("False", e.to_string(), Some(e.condition_reason())),
    };
    let previous = current.conditions.iter().find(|c| c.type_ == SYNCED_CONDITION);
    let same = previous.is_some_and(|c| c.status == status && c.message.as_deref().unwrap_or("") == message);
    if same && current.observed_generation == generation {
        return;
    }
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| OffsetDateTime::now_utc());
    let now = now.format(&Rfc3339).unwrap_or_default();
    let transition = match previous {
        Some(c) if c.status == status => c.last_transition_time.clone().unwrap_or_else(|| now.clone()),
        _ => now.clone(),
    };
    let patch = serde_json::json!({
        "status": {
            "observedGeneration": generation,
            "conditions": [{
                "type": SYNCED_CONDITION,
                "status": status,
                "lastUpdateTime": now,
                "lastTransitionTime": transition,
                "message": message,
                "reason": reason,
            }]
        }
    });
    let api: Api<DynamicObject> =
        Api::namespaced_with(ctx.client.clone(), &obj.namespace().unwrap_or_default(), &ctx.resource);
    let params = PatchParams {
        field_manager: Some(MANAGER.into()),
        ..PatchParams::default()
    };
    if let Err(e) = api.patch_status(&obj.name_any(), &params, &Patch::Merge(&patch)).await {
        ctx.metrics
            .unseal_errors
            .get_or_create(&ErrorLabels {
                reason: "status".into(),
                namespace: obj.namespace().unwrap_or_default(),
            })
            .inc();
        warn!(name = %obj.name_any(), error = %e, "cannot update status");
    }
}
