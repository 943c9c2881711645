//! Events about SealedSecrets (`events.k8s.io/v1`), shaped as kube-rs's `Recorder` makes them, a repeat folded
//! into the first event's series; but with a bounded record of recent events.
//!
//! Why not kube-rs's `Recorder`: it keeps every event it published for six minutes, whole, and scans them all on
//! each publish. At 10,000 SealedSecrets that record was 35 MB of an 86 MB heap (heaptrack, `make
//! bench-controller`) and the scans grow with the square of the objects. client-go's event correlator bounds its
//! record the same way (an LRU of 4,096).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};

/// How many recent events are remembered for folding repeats into a series (client-go's correlator's size).
const REMEMBERED: usize = 4096;

/// How long a repeat is folded into an earlier event (kube-rs's `Recorder` cache time).
const SERIES_WINDOW: SignedDuration = SignedDuration::from_mins(6);

/// Normal or Warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    /// Something went as it should.
    Normal,
    /// Something needs attention.
    Warning,
}

impl EventType {
    fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "Normal",
            Self::Warning => "Warning",
        }
    }
}

/// What makes two events the same event (kube-rs's key, less the reporter, which is fixed here).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    type_: EventType,
    action: String,
    reason: String,
    namespace: Option<String>,
    name: Option<String>,
    uid: Option<String>,
}

/// A remembered event: where it is, how often it happened, when last.
struct Seen {
    name: String,
    count: i32,
    last: Timestamp,
}

/// The recent events, oldest first in `order`.
#[derive(Default)]
struct Recent {
    seen: HashMap<Key, Seen>,
    order: VecDeque<Key>,
}

/// Publishes events for one controller instance.
pub struct Events {
    client: Client,
    controller: String,
    instance: String,
    recent: Mutex<Recent>,
}

impl Events {
    /// An event publisher reporting as `controller` (the manager name) and `instance` (the pod).
    pub fn new(client: Client, controller: &str, instance: &str) -> Self {
        Self {
            client,
            controller: controller.to_string(),
            instance: instance.to_string(),
            recent: Mutex::default(),
        }
    }

    /// Publishes an event about `regarding`: a new one, or the earlier same event's series counted up when it
    /// happened within the series window and is still remembered.
    pub async fn publish(
        &self,
        regarding: &ObjectReference,
        type_: EventType,
        action: &str,
        reason: &str,
        note: &str,
    ) -> Result<(), kube::Error> {
        let now = Timestamp::now();
        let key = Key {
            type_,
            action: action.to_string(),
            reason: reason.to_string(),
            namespace: regarding.namespace.clone(),
            name: regarding.name.clone(),
            uid: regarding.uid.clone(),
        };
        let namespace = regarding.namespace.clone().unwrap_or_else(|| "default".into());
        let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        let repeat = self.repeat_of(&key, now);
        match repeat {
            Some((name, count)) => {
                let patch = serde_json::json!({
                    "series": EventSeries { count, last_observed_time: MicroTime(now) }
                });
                api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
            }
            None => {
                let event = self.event(regarding, &key, note, now);
                let name = event.metadata.name.clone().unwrap_or_default();
                api.create(&PostParams::default(), &event).await?;
                self.remember(key, name, now);
            }
        }
        Ok(())
    }

    /// The name and next count of the remembered same event, counted up, if there is one in the window.
    fn repeat_of(&self, key: &Key, now: Timestamp) -> Option<(String, i32)> {
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        let seen = recent.seen.get_mut(key)?;
        if seen.last + SERIES_WINDOW <= now {
            return None;
        }
        // kube-rs starts a series at 2: the first event counts as one.
        seen.count = seen.count.saturating_add(1).max(2);
        seen.last = now;
        Some((seen.name.clone(), seen.count))
    }

    fn remember(&self, key: Key, name: String, now: Timestamp) {
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if recent.seen.len() >= REMEMBERED
            && let Some(oldest) = recent.order.pop_front()
        {
            recent.seen.remove(&oldest);
        }
        if recent
            .seen
            .insert(
                key.clone(),
                Seen {
                    name,
                    count: 1,
                    last: now,
                },
            )
            .is_none()
        {
            recent.order.push_back(key);
        }
    }

    /// A new event, as kube-rs's `Recorder` makes it.
    fn event(&self, regarding: &ObjectReference, key: &Key, note: &str, now: Timestamp) -> Event {
        Event {
            action: Some(key.action.clone()),
            reason: Some(key.reason.clone()),
            event_time: Some(MicroTime(now)),
            regarding: Some(regarding.clone()),
            note: Some(note.to_string()),
            metadata: ObjectMeta {
                namespace: regarding.namespace.clone(),
                name: Some(format!(
                    "{}.{:x}",
                    regarding.name.as_deref().unwrap_or(&self.controller),
                    now.as_nanosecond()
                )),
                ..ObjectMeta::default()
            },
            reporting_controller: Some(self.controller.clone()),
            reporting_instance: Some(self.instance.clone()),
            type_: Some(key.type_.as_str().to_string()),
            ..Event::default()
        }
    }

    /// How many events are remembered (for tests).
    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.recent.lock().unwrap_or_else(|e| e.into_inner()).seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events() -> Events {
        // A client that is never called: these tests exercise the record only.
        let config = kube::Config::new("http://127.0.0.1:9".parse().unwrap());
        let client = Client::try_from(config).unwrap();
        Events::new(client, "sealant", "pod-1")
    }

    fn key(name: &str, reason: &str) -> Key {
        Key {
            type_: EventType::Warning,
            action: "Unseal".into(),
            reason: reason.into(),
            namespace: Some("app".into()),
            name: Some(name.into()),
            uid: Some(format!("uid-{name}")),
        }
    }

    #[tokio::test]
    async fn a_repeat_within_the_window_counts_up_the_first_events_series() {
        let events = events();
        let now = Timestamp::now();
        assert_eq!(events.repeat_of(&key("db", "ErrUnsealFailed"), now), None);
        events.remember(key("db", "ErrUnsealFailed"), "db.1".into(), now);
        assert_eq!(
            events.repeat_of(&key("db", "ErrUnsealFailed"), now + SignedDuration::from_secs(1)),
            Some(("db.1".into(), 2))
        );
        assert_eq!(
            events.repeat_of(&key("db", "ErrUnsealFailed"), now + SignedDuration::from_secs(2)),
            Some(("db.1".into(), 3))
        );
        // Another reason or another object is another event.
        assert_eq!(events.repeat_of(&key("db", "ErrUpdateFailed"), now), None);
        assert_eq!(events.repeat_of(&key("cache", "ErrUnsealFailed"), now), None);
    }

    #[tokio::test]
    async fn a_repeat_after_the_window_is_a_new_event() {
        let events = events();
        let now = Timestamp::now();
        events.remember(key("db", "Unsealed"), "db.1".into(), now);
        let later = now + SERIES_WINDOW + SignedDuration::from_secs(1);
        assert_eq!(events.repeat_of(&key("db", "Unsealed"), later), None);
    }

    #[tokio::test]
    async fn the_record_of_recent_events_stays_bounded_and_forgets_the_oldest_first() {
        let events = events();
        let now = Timestamp::now();
        for i in 0..REMEMBERED + 100 {
            events.remember(key(&format!("s{i}"), "Unsealed"), format!("s{i}.1"), now);
        }
        assert_eq!(events.remembered(), REMEMBERED);
        assert_eq!(
            events.repeat_of(&key("s0", "Unsealed"), now),
            None,
            "the oldest is forgotten"
        );
        let newest = format!("s{}", REMEMBERED + 99);
        assert!(events.repeat_of(&key(&newest, "Unsealed"), now).is_some());
    }

    #[tokio::test]
    async fn a_new_event_has_kube_rs_shape() {
        let events = events();
        let regarding = ObjectReference {
            namespace: Some("app".into()),
            name: Some("db".into()),
            uid: Some("u".into()),
            ..ObjectReference::default()
        };
        let now = Timestamp::now();
        let event = events.event(&regarding, &key("db", "Unsealed"), "done", now);
        assert_eq!(event.metadata.name, Some(format!("db.{:x}", now.as_nanosecond())));
        assert_eq!(event.metadata.namespace.as_deref(), Some("app"));
        assert_eq!(event.reporting_controller.as_deref(), Some("sealant"));
        assert_eq!(event.reporting_instance.as_deref(), Some("pod-1"));
        assert_eq!(event.type_.as_deref(), Some("Warning"));
        assert_eq!(event.series, None);
    }
}
