//! SealedSecret → Secret (spec 2.5–2.9, 3.6–3.10): decrypt, then create or update the Secret as [`crate::update`]
//! decides, with audit, metrics and restarts — and no RSA work for an object whose sealed input the Secret already
//! holds. Watching is [`crate::watches`]'s, status and events [`crate::status`]'s, shared state [`crate::context`]'s.
//!
//! The Secret carries `sealant.dev/sealed-digest`, a SHA-256 of the SealedSecret's UID, name and spec (public
//! data only: ciphertext, never plaintext). A resync, a restarted watch or a restarted controller finds the
//! digest unchanged in its Secret metadata cache and stops there.

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret as K8sSecret;
use kube::ResourceExt as _;
use kube::api::{Api, DynamicObject, PostParams};
use kube::runtime::controller::Action;
use sealant_core::types::{SEALED_SECRET_API_VERSION, SEALED_SECRET_KIND, SealedSecret};
use sealant_core::unseal::{UnsealOptions, unseal};
use tracing::{debug, info, warn};

use crate::audit;
use crate::context::{Context, Failure, insert_bounded};
use crate::events::EventType;
use crate::metrics::{ErrorLabels, OneLabel};
use crate::outcome::{Outcome, ReconcileError};
use crate::status::{publish, update_status};
use crate::update::{Decision, Refusal, controlled_by, decide, may_write, to_k8s_secret};
use crate::{MANAGER, restart};

/// Bumped when the way a Secret is produced changes, so every Secret is made again once.
const DIGEST_VERSION: &str = "sealant/1";

/// Reconciles one SealedSecret: the Secret, then status, events and metrics.
pub(crate) async fn reconcile(cached: Arc<DynamicObject>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let started = Instant::now();
    let obj = crate::cache::expand(&cached);
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

/// Reads the object as a SealedSecret. Like upstream, `encryptedData` entries that are not strings are
/// dropped rather than failing the whole object.
pub fn parse(obj: &DynamicObject) -> Result<SealedSecret, serde_json::Error> {
    let mut value = serde_json::to_value(obj)?;
    if let Some(items) = value
        .pointer_mut("/spec/encryptedData")
        .and_then(serde_json::Value::as_object_mut)
    {
        items.retain(|_, v| v.is_string());
    }
    let mut ss: SealedSecret = serde_json::from_value(value)?;
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

async fn reconcile_object(
    obj: &DynamicObject,
    ctx: &Context,
    namespace: &str,
    name: &str,
) -> Result<Outcome, ReconcileError> {
    let ss = parse(obj).map_err(|e| ReconcileError::Invalid(e.to_string()))?;
    let uid = obj.metadata.uid.clone().unwrap_or_default();
    let digest = digest(obj);
    if already_applied(ctx, obj, namespace, name, &uid, &digest).await? {
        ctx.metrics.unseal_skipped.inc();
        return Ok(Outcome::Skipped);
    }

    // A Secret the cache shows as somebody else's is refused before any RSA work: retries of a refusal must not
    // cost decryptions. (A cache that wrongly shows none still meets the live check in `write_secret`.)
    if let Some(meta) = ctx.secret_meta(namespace, name).await
        && !may_write(&meta.metadata, &uid)
    {
        return Err(refused(ctx, namespace, name, ReconcileError::Unmanaged(name.into())));
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
    // Why before any RSA work: with --audit-fail-closed, a decryption that cannot be logged does not happen.
    if ctx.audit.refuses() {
        return Err(ReconcileError::Audit);
    }
    let opts = UnsealOptions {
        accept_legacy_data: ctx.config.accept_deprecated_v1_data,
        stop_at_first_error: false,
    };
    let unsealed = ctx
        .rsa
        .run(move || unseal(&ss, &keys.keyring, opts))
        .await
        .map_err(|e| ReconcileError::Unseal(format!("decryption task failed: {e}")))?;
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
    // Why the write waits for the line: with --audit-fail-closed, a decryption whose line could not be written
    // (a full disk lets the file open and fails the write) has no effect outside this process.
    if !ctx.audit.record(audit::Action::Unseal, &record) && ctx.audit.fail_closed() {
        return Err(ReconcileError::Audit);
    }

    let desired = to_k8s_secret(unsealed.secret);
    let (outcome, resource_version) = write_secret(ctx, namespace, name, &uid, desired, &mut record).await?;
    insert_bounded(
        &ctx.written,
        object,
        (digest, resource_version, Instant::now()),
        |(_, _, at)| *at,
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

/// True when the Secret already holds this sealed input: the SealedSecret's status records the digest it was
/// written from and the Secret's resourceVersion after that write, and the Secret is still ours at that version;
/// or this process wrote it (and it is still at the version written).
///
/// Why the version too: the digest alone would call a Secret right that changed since (a write whose status
/// update failed, then a spec rolled back to the recorded one; or an edit of the Secret's data), and skip it.
async fn already_applied(
    ctx: &Context,
    obj: &DynamicObject,
    namespace: &str,
    name: &str,
    uid: &str,
    digest: &str,
) -> Result<bool, ReconcileError> {
    let status = obj.data.get("status");
    let field = |key: &str| {
        status
            .and_then(|s| s.get(key))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let recorded = (field("sealedDigest").as_deref() == Some(digest))
        .then(|| field("secretResourceVersion"))
        .flatten();
    let written = ctx.written_version(&(namespace.to_string(), name.to_string()), digest);
    // What this process wrote wins over a status that may not show its last write yet.
    let Some(version) = written.or(recorded) else {
        return Ok(false);
    };
    let at_version = |meta: &kube::api::ObjectMeta| {
        controlled_by(meta.owner_references.as_ref(), uid) && meta.resource_version.as_deref() == Some(&version)
    };
    if let Some(meta) = ctx.secret_meta(namespace, name).await
        && at_version(&meta.metadata)
    {
        return Ok(true);
    }
    // The cache does not show that version (yet, or any more): ask the API server, which is cheaper than
    // decrypting again.
    let api: Api<K8sSecret> = Api::namespaced(ctx.client.clone(), namespace);
    let live = api.get_metadata_opt(name).await.map_err(ReconcileError::Fetch)?;
    Ok(live.is_some_and(|m| at_version(&m.metadata)))
}

/// Audits a refused write (the Secret is somebody else's, or immutable) and returns the error.
fn refused(ctx: &Context, namespace: &str, name: &str, error: ReconcileError) -> ReconcileError {
    ctx.audit.record(
        audit::Action::SecretRefused,
        &audit::Record {
            namespace: Some(namespace.into()),
            name: Some(name.into()),
            outcome: "error",
            error: Some(error.to_string()),
            ..audit::Record::default()
        },
    );
    error
}

async fn write_secret(
    ctx: &Context,
    namespace: &str,
    name: &str,
    uid: &str,
    desired: K8sSecret,
    record: &mut audit::Record,
) -> Result<(Outcome, String), ReconcileError> {
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
    let cached = ctx.secret_meta(namespace, name).await;
    if cached.is_none() {
        match api.create(&params, &desired).await {
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            result => return created(ctx, namespace, name, record, result),
        }
    }
    let existing = api.get_opt(name).await.map_err(ReconcileError::Fetch)?;
    if let Some(secret) = &existing {
        // A full read: the Secret's data came into this process.
        ctx.audit.record(
            audit::Action::SecretRead,
            &audit::Record {
                namespace: Some(namespace.into()),
                name: Some(name.into()),
                outcome: "ok",
                items: secret.data.iter().flat_map(|d| d.keys().cloned()).collect(),
                ..audit::Record::default()
            },
        );
    }
    let decision = decide(existing.as_ref(), desired, uid).map_err(|refusal| {
        let error = match refusal {
            Refusal::Unmanaged => ReconcileError::Unmanaged(name.into()),
            Refusal::Immutable => ReconcileError::Immutable(format!("{namespace}/{name}")),
        };
        refused(ctx, namespace, name, error)
    })?;
    match decision {
        Decision::Create(desired) => {
            let result = api.create(&params, &desired).await;
            created(ctx, namespace, name, record, result)
        }
        Decision::Unchanged => Ok((Outcome::Unchanged, version_of(existing.as_ref()))),
        Decision::Replace { secret, data_changed } => {
            let result = api.replace(name, &params, &secret).await;
            audit_write(ctx, audit::Action::SecretUpdate, record, result.as_ref().err());
            let written = result.map_err(ReconcileError::Update)?;
            count_write(ctx, "update");
            info!(namespace, name, data_changed, "secret updated");
            Ok((Outcome::Updated { data_changed }, version_of(Some(&written))))
        }
    }
}

fn created(
    ctx: &Context,
    namespace: &str,
    name: &str,
    record: &mut audit::Record,
    result: Result<K8sSecret, kube::Error>,
) -> Result<(Outcome, String), ReconcileError> {
    audit_write(ctx, audit::Action::SecretCreate, record, result.as_ref().err());
    let written = result.map_err(ReconcileError::Update)?;
    count_write(ctx, "create");
    info!(namespace, name, "secret created");
    Ok((Outcome::Created, version_of(Some(&written))))
}

/// The resourceVersion of a Secret (empty when unknown: it then matches nothing).
fn version_of(secret: Option<&K8sSecret>) -> String {
    secret
        .and_then(|s| s.metadata.resource_version.clone())
        .unwrap_or_default()
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
