//! Watch set-up: SealedSecrets (all namespaces or the configured ones) and the trimmed metadata of Secrets feed
//! one kube-runtime controller per namespace set, which reconciles concurrently, everything again when the keys
//! change; failed objects are retried on a bounded backoff when retrying can help.

use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt as _};
use k8s_openapi::api::core::v1::Secret as K8sSecret;
use kube::ResourceExt as _;
use kube::api::{Api, DynamicObject, PartialObjectMeta};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector;
use kube::runtime::utils::PredicateConfig;
use kube::runtime::{WatchStreamExt as _, predicates, watcher};
use tracing::debug;

use crate::context::Context;
use crate::outcome::ReconcileError;
use crate::reconcile::reconcile;
use crate::update::{MANAGED_ANNOTATION, PATCH_ANNOTATION};

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
    ctx.metrics.reset_inventory();
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
        // needs the ownerReferences and upstream's managed/patch marks (the digest of what was written is in the
        // SealedSecret's status).
        let owned = watcher(secret_api, watcher::Config::default())
            .default_backoff()
            .modify(|secret: &mut PartialObjectMeta<K8sSecret>| {
                let meta = &mut secret.metadata;
                meta.managed_fields = None;
                meta.labels = None;
                if let Some(annotations) = meta.annotations.as_mut() {
                    annotations.retain(|k, _| k == MANAGED_ANNOTATION || k == PATCH_ANNOTATION);
                }
            })
            .inspect({
                let audit = ctx.audit.clone();
                move |event| audit_deletion(&audit, event)
            })
            .reflect(writer)
            .touched_objects();
        let sealed_writer = reflector::store::Writer::new(ctx.resource.clone());
        let sealed_store = sealed_writer.as_reader();
        // The SealedSecret cache keeps what reconciling needs, compactly (see crate::cache).
        let sealed = watcher(sealed_api, watcher_config.clone())
            .default_backoff()
            .modify(crate::cache::compact)
            .reflect(sealed_writer)
            .touched_objects()
            // Why only spec changes (a new generation) wake the reconciler, as upstream: its own status writes and
            // metadata edits change nothing it produces, and reacting to them races with people deleting Secrets
            // it must leave alone. The cache above still sees every change.
            .predicate_filter(predicates::generation, PredicateConfig::default());
        let keys_changed = futures::stream::unfold(ctx.keys.subscribe(), |mut rx| async move {
            rx.changed().await.ok()?;
            Some(((), rx))
        });
        let mut controller = Controller::for_stream_with(sealed, sealed_store, ctx.resource.clone());
        if ctx.config.skip_recreate {
            // Upstream's --skip-recreate: the Secret cache still fills (the reconciler reads it), but a change to
            // an owned Secret no longer triggers a reconcile.
            tokio::spawn(owned.for_each(|_| futures::future::ready(())));
        } else {
            controller = controller.owns_stream(owned);
        }
        let controller = controller
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

/// Audits the deletion of a Secret a SealedSecret owns, as the watch sees it (who deleted it is in the API
/// server's audit log; this line says the controller saw its Secret go).
fn audit_deletion(
    audit: &crate::audit::Audit,
    event: &Result<watcher::Event<PartialObjectMeta<K8sSecret>>, watcher::Error>,
) {
    let Ok(watcher::Event::Delete(secret)) = event else {
        return;
    };
    let owned = secret
        .metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.kind == "SealedSecret" && o.controller == Some(true));
    if !owned {
        return;
    }
    audit.record(
        crate::audit::Action::SecretDelete,
        &crate::audit::Record {
            namespace: secret.namespace(),
            name: Some(secret.name_any()),
            outcome: "ok",
            ..crate::audit::Record::default()
        },
    );
}

fn error_policy(obj: Arc<DynamicObject>, error: &ReconcileError, ctx: Arc<Context>) -> Action {
    if !error.retryable() {
        return Action::await_change();
    }
    let key = (obj.namespace().unwrap_or_default(), obj.name_any());
    let mut retries = ctx.retries.lock().unwrap_or_else(|e| e.into_inner());
    let count = retries.entry(key).or_insert(0);
    *count += 1;
    // An unwritable audit log (--audit-fail-closed) is retried however long it lasts: the object is fine and
    // must unseal once the log can be written again.
    if *count > ctx.config.max_unseal_retries && !matches!(error, ReconcileError::Audit) {
        return Action::await_change();
    }
    let backoff = Duration::from_millis(200u64 << (*count).min(10)).min(Duration::from_secs(300));
    Action::requeue(backoff)
}
