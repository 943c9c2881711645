//! The reconcilers' shared state: the client, configuration, keys, metrics, audit, event recorder, the Secret
//! metadata caches, the RSA pool, and the bookkeeping that saves RSA work (what was written, what failed).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret as K8sSecret;
use kube::Client;
use kube::api::{ApiResource, PartialObjectMeta};
use kube::runtime::reflector::{ObjectRef, Store};

use crate::audit::Audit;
use crate::keys::KeyRegistry;
use crate::metrics::Metrics;
use crate::pool::RsaPool;
use crate::{Config, MANAGER, crd};

/// A SealedSecret's namespace and name.
pub(crate) type ObjectKey = (String, String);

/// What was written for an object: the sealed input's digest, the Secret's resourceVersion after, and when.
pub(crate) type Written = (String, String, Instant);

/// Shared state of the reconcilers.
pub struct Context {
    pub(crate) client: Client,
    pub(crate) config: Arc<Config>,
    pub(crate) keys: KeyRegistry,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) audit: Arc<Audit>,
    pub(crate) events: crate::events::Events,
    pub(crate) resource: ApiResource,
    pub(crate) secrets: OnceLock<Vec<Store<PartialObjectMeta<K8sSecret>>>>,
    /// The RSA work pool, shared with the HTTP API.
    pub(crate) rsa: RsaPool,
    pub(crate) retries: Mutex<HashMap<(String, String), u32>>,
    /// What this process last wrote (or found already right) per object: the digest of the sealed input, the
    /// Secret's resourceVersion after it, and when. A lagging Secret cache must not cause a re-decrypt, and the
    /// status records both. Only the last minute matters (the cache has caught up after that), so older entries
    /// are pruned and the map stays bounded under churn.
    pub(crate) written: Mutex<Timed<Written>>,
    /// Objects whose decryption failed: digest of the sealed input, the key set tried, the error. A metadata
    /// edit of a failing object (labels, annotations) changes neither, so it costs no new RSA work.
    pub(crate) failed: Mutex<Timed<Failure>>,
    /// The status this process last wrote per object, and when: a reconcile that reads a cached object whose
    /// status does not show that write yet (one woken by the Secret it just created) must not write it again.
    pub(crate) statuses: Mutex<Timed<crate::status::StatusWritten>>,
}

/// A decryption failure remembered so that only a change of the sealed input or of the keys retries it.
pub(crate) struct Failure {
    pub(crate) digest: String,
    pub(crate) keys: String,
    pub(crate) message: String,
    pub(crate) at: Instant,
}

/// Entries a bookkeeping map may hold before old ones are pruned.
const BOOKKEEPING_LIMIT: usize = 4096;

/// A map of timed entries per object whose old entries are pruned as it grows (see [`insert_bounded`]); it reads
/// and writes as the `HashMap` it wraps.
pub(crate) struct Timed<V> {
    map: HashMap<ObjectKey, V>,
    /// The size at which the next insert prunes.
    prune_at: usize,
    /// When the map was last pruned.
    pruned: Instant,
}

impl<V> Default for Timed<V> {
    fn default() -> Self {
        Self {
            map: HashMap::new(),
            prune_at: BOOKKEEPING_LIMIT,
            pruned: Instant::now(),
        }
    }
}

impl<V> std::ops::Deref for Timed<V> {
    type Target = HashMap<ObjectKey, V>;
    fn deref(&self) -> &Self::Target {
        &self.map
    }
}

impl<V> std::ops::DerefMut for Timed<V> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.map
    }
}

/// Inserts into a map of timed entries, pruning those older than `keep` when it reaches the size set by the last
/// pruning (twice what that pruning kept, at least 4,096), or when it is over 4,096 entries and was last pruned
/// `keep` ago.
///
/// Why twice: when every entry is still fresh (10,000 objects converging within the minute), pruning at a fixed
/// limit scanned the whole map on every insert, quadratic in the number of objects; doubling makes the scans
/// O(1) per insert. Why also by time: after a burst (a namespace user creating thousands of objects that fail)
/// the raised limit alone would keep the burst's stale entries until as many new ones arrived; pruning once per
/// `keep` drops them within twice `keep`, at the cost of one scan per `keep`.
pub(crate) fn insert_bounded<V>(
    map: &Mutex<Timed<V>>,
    key: ObjectKey,
    value: V,
    at: impl Fn(&V) -> Instant,
    keep: Duration,
) {
    insert_bounded_at(map, key, value, at, keep, Instant::now());
}

/// [`insert_bounded`] at a given time.
fn insert_bounded_at<V>(
    map: &Mutex<Timed<V>>,
    key: ObjectKey,
    value: V,
    at: impl Fn(&V) -> Instant,
    keep: Duration,
    now: Instant,
) {
    let mut timed = map.lock().unwrap_or_else(|e| e.into_inner());
    let full = timed.map.len() >= timed.prune_at;
    let due = timed.map.len() > BOOKKEEPING_LIMIT && now.saturating_duration_since(timed.pruned) >= keep;
    if full || due {
        timed.map.retain(|_, v| now.saturating_duration_since(at(v)) < keep);
        timed.prune_at = (2 * timed.map.len()).max(BOOKKEEPING_LIMIT);
        timed.pruned = now;
    }
    timed.map.insert(key, value);
}

impl Context {
    /// The Secret's resourceVersion after this process last wrote (or found right) object `key` from `digest`.
    pub(crate) fn written_version(&self, key: &ObjectKey, digest: &str) -> Option<String> {
        self.written
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .filter(|(d, _, _)| d == digest)
            .map(|(_, version, _)| version.clone())
    }

    /// Builds the shared state.
    pub fn new(
        client: Client,
        config: Arc<Config>,
        keys: KeyRegistry,
        metrics: Arc<Metrics>,
        audit: Arc<Audit>,
        rsa: RsaPool,
    ) -> Arc<Self> {
        Arc::new(Self {
            events: crate::events::Events::new(client.clone(), MANAGER, &config.identity),
            client,
            config,
            keys,
            metrics,
            audit,
            resource: crd::api_resource(),
            secrets: OnceLock::new(),
            rsa,
            retries: Mutex::new(HashMap::new()),
            written: Mutex::default(),
            failed: Mutex::default(),
            statuses: Mutex::default(),
        })
    }

    /// The cached metadata of Secret `namespace/name`, once the caches have listed everything.
    pub(crate) async fn secret_meta(&self, namespace: &str, name: &str) -> Option<Arc<PartialObjectMeta<K8sSecret>>> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_map_of_fresh_entries_is_not_scanned_again_on_every_insert() {
        let map = Mutex::new(Timed::default());
        let looked_at = AtomicUsize::new(0);
        let n = 5 * BOOKKEEPING_LIMIT;
        for i in 0..n {
            let at = |at: &Instant| {
                looked_at.fetch_add(1, Ordering::Relaxed);
                *at
            };
            insert_bounded(
                &map,
                ("ns".into(), format!("o{i}")),
                Instant::now(),
                at,
                Duration::from_secs(60),
            );
        }
        assert_eq!(map.lock().unwrap().len(), n);
        // Scanning the whole map on each insert past the limit would look at ~n²/2 entries; doubling, under 2n.
        assert!(
            looked_at.load(Ordering::Relaxed) < 2 * n,
            "{} entries looked at",
            looked_at.load(Ordering::Relaxed)
        );
    }

    #[test]
    fn a_burst_of_entries_is_forgotten_once_it_is_stale_without_waiting_for_as_many_new_ones() {
        let map = Mutex::new(Timed::default());
        let keep = Duration::from_secs(60);
        let start = Instant::now();
        let n = 5 * BOOKKEEPING_LIMIT;
        for i in 0..n {
            insert_bounded_at(&map, ("ns".into(), format!("o{i}")), start, |at| *at, keep, start);
        }
        // Two minutes on, every entry of the burst is stale: the next insert drops them.
        let later = start + 2 * keep;
        insert_bounded_at(&map, ("ns".into(), "new".into()), later, |at| *at, keep, later);
        let map = map.lock().unwrap();
        assert_eq!(map.len(), 1);
        assert_eq!(map.prune_at, BOOKKEEPING_LIMIT);
    }

    #[test]
    fn old_entries_are_pruned_once_the_map_is_full() {
        let map = Mutex::new(Timed::default());
        let old = Instant::now().checked_sub(Duration::from_secs(120)).unwrap();
        for i in 0..BOOKKEEPING_LIMIT {
            insert_bounded(
                &map,
                ("ns".into(), format!("old{i}")),
                old,
                |at| *at,
                Duration::from_secs(60),
            );
        }
        insert_bounded(
            &map,
            ("ns".into(), "new".into()),
            Instant::now(),
            |at| *at,
            Duration::from_secs(60),
        );
        let map = map.lock().unwrap();
        assert_eq!(map.len(), 1);
        assert!(map.contains_key(&("ns".to_string(), "new".to_string())));
    }
}
