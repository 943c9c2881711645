//! What a reconcile reports back: the `Synced` condition in the SealedSecret's status, and events.

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::{Resource as _, ResourceExt as _};
use sealant_core::types::{SYNCED_CONDITION, SealedSecretStatus};
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tracing::{debug, warn};

use crate::MANAGER;
use crate::audit;
use crate::context::{Context, insert_bounded};
use crate::events::EventType;
use crate::metrics::ErrorLabels;
use crate::outcome::{Outcome, ReconcileError};

/// Publishes an event about `obj`.
pub(crate) async fn publish(ctx: &Context, obj: &DynamicObject, type_: EventType, reason: &str, note: &str) {
    let note: String = note.chars().take(1000).collect();
    let regarding = obj.object_ref(&ctx.resource);
    if let Err(e) = ctx.events.publish(&regarding, type_, "Unseal", reason, &note).await {
        debug!(error = %e, "cannot publish event");
    }
}

/// How long a status this process wrote is trusted over the cache's copy (the cache has caught up after that).
const STATUS_MEMORY: Duration = Duration::from_secs(60);

/// A status this process wrote: what decides whether a status needs writing, and when it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StatusWritten {
    generation: Option<i64>,
    status: &'static str,
    message: String,
    digest: Option<String>,
    version: Option<String>,
    at: Instant,
}

impl StatusWritten {
    /// The same status, written less than [`STATUS_MEMORY`] ago.
    fn still_says(&self, other: &Self) -> bool {
        self.at.elapsed() < STATUS_MEMORY
            && (
                &self.generation,
                self.status,
                &self.message,
                &self.digest,
                &self.version,
            ) == (
                &other.generation,
                other.status,
                &other.message,
                &other.digest,
                &other.version,
            )
    }
}

/// Writes `status` when the condition or the observed generation changed (spec 3.10; unlike upstream, a
/// changed error message is written too, so status never shows a stale error).
pub(crate) async fn update_status(obj: &DynamicObject, ctx: &Context, result: &Result<Outcome, ReconcileError>) {
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
    // What the Secret was written from and its version after, when it was: a restart then decrypts nothing for
    // this object while the Secret stays at that version.
    let (digest, version) = match result {
        Ok(_) => {
            let digest = crate::reconcile::digest(obj);
            let key = (obj.namespace().unwrap_or_default(), obj.name_any());
            let written = ctx.written_version(&key, &digest);
            // Skipped as already applied from the status: what it records still holds.
            let version = written.or_else(|| current.secret_resource_version.clone());
            (Some(digest), version)
        }
        Err(_) => (None, None),
    };
    if same
        && current.observed_generation == generation
        && current.sealed_digest == digest
        && current.secret_resource_version == version
    {
        return;
    }
    let key = (obj.namespace().unwrap_or_default(), obj.name_any());
    let wanted = StatusWritten {
        generation,
        status,
        message: message.clone(),
        digest: digest.clone(),
        version: version.clone(),
        at: Instant::now(),
    };
    let already = ctx
        .statuses
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key)
        .is_some_and(|w| w.still_says(&wanted));
    if already {
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
            }],
            "sealedDigest": digest,
            "secretResourceVersion": version,
        }
    });
    let api: Api<DynamicObject> =
        Api::namespaced_with(ctx.client.clone(), &obj.namespace().unwrap_or_default(), &ctx.resource);
    let params = PatchParams {
        field_manager: Some(MANAGER.into()),
        ..PatchParams::default()
    };
    let mut written = api.patch_status(&obj.name_any(), &params, &Patch::Merge(&patch)).await;
    if let Err(kube::Error::Api(answer)) = &written
        && answer.code == 403
    {
        // Upstream's RBAC grants `update` on the status subresource, not `patch`: write the whole status then.
        let mut whole = obj.clone();
        whole.data["status"] = patch["status"].clone();
        let post = kube::api::PostParams {
            field_manager: Some(MANAGER.into()),
            ..kube::api::PostParams::default()
        };
        written = api.replace_status(&obj.name_any(), &post, &whole).await;
    }
    ctx.audit.record(
        audit::Action::StatusPatch,
        &audit::Record {
            namespace: obj.namespace(),
            name: Some(obj.name_any()),
            outcome: if written.is_ok() { "ok" } else { "error" },
            error: written.as_ref().err().map(ToString::to_string),
            ..audit::Record::default()
        },
    );
    if written.is_ok() {
        insert_bounded(&ctx.statuses, key, wanted, |w| w.at, STATUS_MEMORY);
    }
    if let Err(e) = written {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn written(message: &str, version: &str) -> StatusWritten {
        StatusWritten {
            generation: Some(2),
            status: "True",
            message: message.into(),
            digest: Some("d".into()),
            version: Some(version.into()),
            at: Instant::now(),
        }
    }

    #[test]
    fn a_status_just_written_is_not_written_again_but_a_different_one_is() {
        let last = written("", "7");
        assert!(last.still_says(&written("", "7")));
        assert!(
            !last.still_says(&written("", "8")),
            "a new Secret version is a new status"
        );
        assert!(!last.still_says(&written("boom", "7")), "a new message is a new status");
        let old = StatusWritten {
            at: Instant::now() - STATUS_MEMORY - Duration::from_secs(1),
            ..written("", "7")
        };
        assert!(
            !old.still_says(&written("", "7")),
            "after a minute the cache is trusted again"
        );
    }
}
