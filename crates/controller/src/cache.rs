//! The SealedSecret cache in a compact form: each cached object keeps its metadata as kube-rs reads it and its
//! body (`spec`, `status`) as one JSON string, expanded again when the object is reconciled.
//!
//! Why: a `serde_json::Value` tree spends a B-tree node (about 600 bytes) on every map, however small, and a
//! SealedSecret's body is a handful of small maps; at 10,000 objects the trees were 52 MB of the controller's
//! 98 MB heap (heaptrack, `make bench-controller`). One string per object is about a third of that, and parsing
//! it back costs microseconds next to the RSA work and API round trips of a reconcile.

use kube::api::DynamicObject;
use sealant_core::types::LAST_APPLIED_ANNOTATIONS;

/// Where the cache keeps an object's body. Not a valid annotation key (it has spaces), so the API server never
/// sends an object that has it: a user cannot plant a body for the controller to read.
const BODY_KEY: &str = " sealant cached body ";

/// Trims `obj` to what reconciling and the metrics read, and folds its body into one string. `managedFields`
/// and kubectl's copy of the whole object in `last-applied-configuration` are dropped: nothing reads them, and
/// they would roughly double the cache.
pub fn compact(obj: &mut DynamicObject) {
    obj.metadata.managed_fields = None;
    if let Some(annotations) = obj.metadata.annotations.as_mut() {
        annotations.retain(|k, _| !LAST_APPLIED_ANNOTATIONS.contains(&k.as_str()));
    }
    let body = std::mem::take(&mut obj.data);
    match serde_json::to_string(&body) {
        Ok(mut text) => {
            text.shrink_to_fit();
            obj.metadata
                .annotations
                .get_or_insert_with(Default::default)
                .insert(BODY_KEY.to_string(), text);
            obj.data = serde_json::Value::Object(serde_json::Map::new());
        }
        // A Value always serializes; should it not, the object is cached as it came.
        Err(_) => obj.data = body,
    }
}

/// The object as the API server sent it (less what [`compact`] dropped): a cached object expanded, any other
/// object as it is.
pub fn expand(obj: &DynamicObject) -> DynamicObject {
    let mut full = obj.clone();
    let body = full.metadata.annotations.as_mut().and_then(|a| a.remove(BODY_KEY));
    if full.metadata.annotations.as_ref().is_some_and(|a| a.is_empty()) {
        full.metadata.annotations = None;
    }
    if let Some(data) = body.and_then(|text| serde_json::from_str(&text).ok()) {
        full.data = data;
    }
    full
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(annotations: serde_json::Value) -> DynamicObject {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "bitnami.com/v1alpha1",
            "kind": "SealedSecret",
            "metadata": {"name": "db", "namespace": "app", "uid": "u1", "generation": 3, "annotations": annotations,
                "managedFields": [{"manager": "kubectl", "operation": "Apply"}]},
            "spec": {"encryptedData": {"password": "AgB…", "user": "AgC…"},
                "template": {"metadata": {"labels": {"a": "b"}}, "type": "Opaque"}},
            "status": {"observedGeneration": 3, "sealedDigest": "ab12", "conditions": [
                {"type": "Synced", "status": "True", "lastUpdateTime": "2026-12-01T00:00:00Z"}]}
        }))
        .unwrap()
    }

    #[test]
    fn a_compacted_object_expands_to_the_same_body_and_metadata() {
        let original = object(serde_json::json!({"sealant.dev/sealed-at": "2026-11-01T00:00:00Z"}));
        let mut cached = original.clone();
        compact(&mut cached);
        assert_eq!(cached.data, serde_json::json!({}), "the body is folded away");
        let expanded = expand(&cached);
        assert_eq!(expanded.data, original.data);
        assert_eq!(expanded.metadata.annotations, original.metadata.annotations);
        assert_eq!(expanded.metadata.name, original.metadata.name);
        assert_eq!(expanded.metadata.generation, Some(3));
        assert_eq!(expanded.metadata.managed_fields, None);
    }

    #[test]
    fn an_object_without_annotations_gets_none_back_and_last_applied_is_dropped() {
        let mut cached = object(serde_json::json!({
            "kubectl.kubernetes.io/last-applied-configuration": "{\"spec\":{}}"
        }));
        compact(&mut cached);
        let expanded = expand(&cached);
        assert_eq!(expanded.metadata.annotations, None);
        assert!(expanded.data.get("spec").is_some());
    }

    #[test]
    fn an_object_that_was_not_compacted_is_left_as_it_is() {
        let original = object(serde_json::json!({"x": "y"}));
        let expanded = expand(&original);
        assert_eq!(expanded.data, original.data);
        assert_eq!(expanded.metadata.annotations, original.metadata.annotations);
    }

    #[test]
    fn the_body_key_is_not_a_key_the_api_server_accepts() {
        // Annotation keys are qualified names: no spaces. An object from the API server never carries it.
        assert!(BODY_KEY.contains(' '));
    }
}
