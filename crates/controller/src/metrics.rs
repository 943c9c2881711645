//! Prometheus metrics on their own port: upstream's `sealed_secrets_controller_*` series (so existing
//! dashboards and alerts keep working) plus sealant's own: RSA private operations, skipped unseals, Secret
//! writes, reconcile duration, keys and their ages, and SealedSecrets by age so an alert fires before the
//! rotation period runs out.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use kube::api::DynamicObject;
use kube::runtime::reflector::Store;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use sealant_core::types::SEALED_AT_ANNOTATION;
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::Error;

/// The rotation period when a SealedSecret names none (the security policy's 90 days).
pub use sealant_core::types::DEFAULT_ROTATION_DAYS;
/// Annotation naming a SealedSecret's own rotation period (`90d`, `30d`).
pub use sealant_core::types::ROTATE_EVERY_ANNOTATION;

/// `reason` and `namespace` of an unseal error (upstream's labels).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// `fetch`, `unseal`, `update`, `unmanaged`, `status`, `invalid`.
    pub reason: String,
    /// Namespace of the object.
    pub namespace: String,
}

/// Labels of an HTTP API request (upstream's).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// Route path.
    pub path: String,
    /// Status code.
    pub code: String,
    /// Lower-case method.
    pub method: String,
}

/// Labels of the HTTP duration histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// Route path.
    pub path: String,
    /// Lower-case method.
    pub method: String,
}

/// A single `op` or `bucket` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OneLabel {
    /// The value.
    pub value: String,
}

/// Labels of a key's age.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KeyLabels {
    /// `SHA256:` fingerprint.
    pub fingerprint: String,
}

/// Every metric the controller exports.
pub struct Metrics {
    registry: Mutex<Registry>,
    /// Reconciles started (upstream: every request, deletions included).
    pub unseal_requests: Counter,
    /// Failures by reason and namespace.
    pub unseal_errors: Family<ErrorLabels, Counter>,
    /// HTTP API requests.
    pub http_requests: Family<HttpLabels, Counter>,
    /// HTTP API latency.
    pub http_duration: Family<RouteLabels, Histogram>,
    /// Time per reconcile.
    pub reconcile_duration: Histogram,
    /// Reconciles that found the Secret already made from the same sealed input: no RSA work.
    pub unseal_skipped: Counter,
    /// Secrets created or updated, by `op`.
    pub secret_writes: Family<OneLabel, Counter>,
    /// Workloads restarted after their Secret changed.
    pub rollout_restarts: Counter,
    /// RSA private-key operations of this process.
    rsa_operations: Counter,
    /// Loaded keys.
    pub keys: Gauge,
    /// Key Secrets that could not be loaded.
    pub key_load_errors: Gauge,
    key_age: Family<KeyLabels, Gauge>,
    key_created: Mutex<Vec<(String, OffsetDateTime)>>,
    sealed_secrets: Family<OneLabel, Gauge>,
    overdue: Gauge,
    due_soon: Gauge,
    leader: Gauge,
    inventory: Mutex<Vec<Store<DynamicObject>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers the audit sink's failure counter and gauge.
    pub fn register_audit(&self, (failures, failing): (Counter, Gauge)) {
        let mut r = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        r.register(
            "sealant_audit_write_failures",
            "Audit lines that could not be written",
            failures,
        );
        r.register(
            "sealant_audit_sink_failing",
            "1 while the audit log cannot be written (with --audit-fail-closed, nothing is decrypted)",
            failing,
        );
    }

    /// Registers every metric.
    pub fn new() -> Self {
        let m = Self {
            registry: Mutex::new(Registry::default()),
            unseal_requests: Counter::default(),
            unseal_errors: Family::default(),
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(|| {
                Histogram::new([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])
            }),
            reconcile_duration: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
            unseal_skipped: Counter::default(),
            secret_writes: Family::default(),
            rollout_restarts: Counter::default(),
            rsa_operations: Counter::default(),
            keys: Gauge::default(),
            key_load_errors: Gauge::default(),
            key_age: Family::default(),
            key_created: Mutex::new(Vec::new()),
            sealed_secrets: Family::default(),
            overdue: Gauge::default(),
            due_soon: Gauge::default(),
            leader: Gauge::default(),
            inventory: Mutex::new(Vec::new()),
        };
        {
            let mut r = m.registry.lock().unwrap_or_else(|e| e.into_inner());
            let up = "sealed_secrets_controller_";
            r.register(
                format!("{up}unseal_requests"),
                "Reconciles of SealedSecrets",
                m.unseal_requests.clone(),
            );
            r.register(
                format!("{up}unseal_errors"),
                "Failed reconciles by reason",
                m.unseal_errors.clone(),
            );
            r.register(
                format!("{up}http_requests"),
                "HTTP API requests",
                m.http_requests.clone(),
            );
            r.register(
                format!("{up}http_request_duration_seconds"),
                "HTTP API request duration",
                m.http_duration.clone(),
            );
            r.register(
                "sealant_reconcile_duration_seconds",
                "Time to reconcile one SealedSecret",
                m.reconcile_duration.clone(),
            );
            r.register(
                "sealant_unseal_skipped",
                "Reconciles that needed no decryption: the Secret already holds this sealed input",
                m.unseal_skipped.clone(),
            );
            r.register(
                "sealant_secret_writes",
                "Secrets created or updated",
                m.secret_writes.clone(),
            );
            r.register(
                "sealant_rollout_restarts",
                "Workloads restarted because a Secret they use changed",
                m.rollout_restarts.clone(),
            );
            r.register(
                "sealant_rsa_private_operations",
                "RSA private-key operations",
                m.rsa_operations.clone(),
            );
            r.register("sealant_keys", "Sealing keys loaded", m.keys.clone());
            r.register(
                "sealant_key_load_errors",
                "Key Secrets that could not be loaded",
                m.key_load_errors.clone(),
            );
            r.register("sealant_key_age_seconds", "Age of each sealing key", m.key_age.clone());
            r.register(
                "sealant_sealed_secrets",
                "SealedSecrets by age since sealing (label value = age bucket)",
                m.sealed_secrets.clone(),
            );
            r.register(
                "sealant_sealed_secrets_overdue",
                "SealedSecrets older than their rotation period",
                m.overdue.clone(),
            );
            r.register(
                "sealant_sealed_secrets_due_soon",
                "SealedSecrets within 14 days of their rotation period, not yet past it",
                m.due_soon.clone(),
            );
            r.register("sealant_leader", "1 when this replica leads", m.leader.clone());
        }
        m
    }

    /// Records which keys are loaded.
    pub fn observe_keys(&self, created: impl IntoIterator<Item = (String, OffsetDateTime)>) {
        let created: Vec<_> = created.into_iter().collect();
        self.keys.set(created.len() as i64);
        *self.key_created.lock().unwrap_or_else(|e| e.into_inner()) = created.into_iter().collect();
    }

    /// Marks this replica as leader or follower.
    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    /// Forgets the caches of an earlier leadership term (a new term adds its own).
    pub fn reset_inventory(&self) {
        self.inventory.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Adds a SealedSecret cache (one per watched namespace, the leader's) to the age inventory.
    pub fn add_inventory(&self, store: Store<DynamicObject>) {
        self.inventory.lock().unwrap_or_else(|e| e.into_inner()).push(store);
    }

    /// Refreshes the computed gauges and renders the text exposition.
    pub fn render(&self) -> String {
        let now = OffsetDateTime::now_utc();
        let done = sealant_core::envelope::rsa_private_operations();
        let seen = self.rsa_operations.get();
        self.rsa_operations.inc_by(done.saturating_sub(seen));
        self.key_age.clear();
        for (fingerprint, created) in self.key_created.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            self.key_age
                .get_or_create(&KeyLabels {
                    fingerprint: fingerprint.clone(),
                })
                .set((now - *created).whole_seconds());
        }
        let stores = self.inventory.lock().unwrap_or_else(|e| e.into_inner());
        // Why only while leading: a replica that stepped down keeps its last caches, frozen; their ages would
        // keep growing and an overdue alert would never resolve.
        if self.leader.get() == 0 {
            self.sealed_secrets.clear();
            self.overdue.set(0);
            self.due_soon.set(0);
        } else if !stores.is_empty() {
            let objects: Vec<Arc<DynamicObject>> = stores.iter().flat_map(Store::state).collect();
            let Inventory {
                buckets,
                overdue,
                due_soon,
            } = age_inventory(&objects, now);
            self.due_soon.set(due_soon);
            self.sealed_secrets.clear();
            for (bucket, count) in buckets {
                self.sealed_secrets
                    .get_or_create(&OneLabel { value: bucket.into() })
                    .set(count);
            }
            self.overdue.set(overdue);
        }
        drop(stores);
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &registry);
        out
    }
}

/// Days before its period ends that a SealedSecret counts as due soon (the lint's default `policy.warnBefore`).
pub const DUE_SOON_DAYS: i64 = 14;

/// What the age inventory found.
#[derive(Debug, PartialEq, Eq)]
pub struct Inventory {
    /// SealedSecrets by age bucket.
    pub buckets: [(&'static str, i64); 5],
    /// Past their own rotation period.
    pub overdue: i64,
    /// Within [`DUE_SOON_DAYS`] of their own period, not yet past it.
    pub due_soon: i64,
}

/// Age buckets of the SealedSecrets (from `sealant.dev/sealed-at`, else creation time), and how many are past,
/// or within [`DUE_SOON_DAYS`] of, their rotation period (`sealant.dev/rotate-every`, else 90 days).
pub fn age_inventory(objects: &[Arc<DynamicObject>], now: OffsetDateTime) -> Inventory {
    let mut buckets = [("0-30d", 0), ("30-60d", 0), ("60-80d", 0), ("80-90d", 0), ("90d+", 0)];
    let mut overdue = 0;
    let mut due_soon = 0;
    for obj in objects {
        let annotations = obj.metadata.annotations.as_ref();
        let sealed_at = annotations
            .and_then(|a| a.get(SEALED_AT_ANNOTATION))
            .and_then(|v| OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339).ok())
            .or_else(|| {
                let ts = obj.metadata.creation_timestamp.as_ref()?;
                OffsetDateTime::from_unix_timestamp(ts.0.as_second()).ok()
            });
        let Some(sealed_at) = sealed_at else { continue };
        let days = (now - sealed_at).whole_days();
        let index = match days {
            ..30 => 0,
            30..60 => 1,
            60..80 => 2,
            80..90 => 3,
            _ => 4,
        };
        buckets[index].1 += 1;
        let period = annotations
            .and_then(|a| a.get(ROTATE_EVERY_ANNOTATION))
            .and_then(|v| sealant_core::types::parse_days(v))
            .unwrap_or(DEFAULT_ROTATION_DAYS);
        if days >= period {
            overdue += 1;
        } else if period - days <= DUE_SOON_DAYS {
            due_soon += 1;
        }
    }
    Inventory {
        buckets,
        overdue,
        due_soon,
    }
}

/// Serves `/metrics` until `stop` fires.
pub async fn serve(
    addr: SocketAddr,
    limits: crate::listener::Limits,
    metrics: Arc<Metrics>,
    stop: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, Error> {
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let metrics = metrics.clone();
            async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    metrics.render(),
                )
                    .into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|cause| Error::Listen { addr, cause })?;
    Ok(crate::listener::spawn(listener, app, limits, stop))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed(age_days: i64, rotate_every: Option<&str>, now: OffsetDateTime) -> Arc<DynamicObject> {
        let at = (now - time::Duration::days(age_days))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let mut annotations = std::collections::BTreeMap::from([(SEALED_AT_ANNOTATION.to_string(), at)]);
        if let Some(period) = rotate_every {
            annotations.insert(ROTATE_EVERY_ANNOTATION.to_string(), period.to_string());
        }
        let mut obj = DynamicObject::new("x", &crate::crd::api_resource());
        obj.metadata.annotations = Some(annotations);
        Arc::new(obj)
    }

    #[test]
    fn every_metric_is_named_for_what_it_counts() {
        let metrics = Metrics::new();
        metrics.keys.set(2);
        let text = metrics.render();
        // A rename of the keys crate once renamed this gauge `sealant_repo`: dashboards and alerts read this name.
        assert!(text.contains("\n# HELP sealant_keys Sealing keys loaded"), "{text}");
        assert!(text.contains("\nsealant_keys 2\n"), "{text}");
        assert!(!text.contains("sealant_repo"), "{text}");
    }

    #[test]
    fn the_overdue_gauge_reads_periods_with_the_grammar_lint_and_rotate_use() {
        let now = OffsetDateTime::now_utc();
        // 85 days old: overdue for 12w (84 days) and 2016h (84 days), not for the 90-day default or 13w.
        let objects = [
            sealed(85, Some("12w"), now),
            sealed(85, Some("2016h"), now),
            sealed(85, None, now),
            sealed(85, Some("13w"), now),
        ];
        let inventory = age_inventory(&objects, now);
        assert_eq!(inventory.overdue, 2);
        // 85 days: 5 days before the 90-day default and 6 before 13w (91 days): both due soon.
        assert_eq!(inventory.due_soon, 2);
    }
}
