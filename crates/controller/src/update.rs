//! The Secret-update decision, pure and table-tested: given the Secret that exists (if any) and the one the
//! SealedSecret produces, create, leave unchanged, replace or merge (the `patch` annotation), or refuse (a Secret
//! that is not ours, or an immutable one whose data would change). Upstream's rules (spec 2.7).

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret as K8sSecret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use secrecy::ExposeSecret as _;

/// On an existing Secret: the controller may take it over (spec 2.7).
pub const MANAGED_ANNOTATION: &str = "sealedsecrets.bitnami.com/managed";
/// On an existing Secret: merge into it instead of replacing it (spec 2.7).
pub const PATCH_ANNOTATION: &str = "sealedsecrets.bitnami.com/patch";
/// What to do with the Secret.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// No Secret of that name: create the desired one (handed back, so its data is never copied).
    Create(Box<K8sSecret>),
    /// The existing Secret already is what would be written.
    Unchanged,
    /// Replace the existing Secret with this one.
    Replace {
        /// The Secret to write (the existing one updated).
        secret: Box<K8sSecret>,
        /// Whether its data changes (restarts are only for that).
        data_changed: bool,
    },
}

/// Why the Secret may not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// It exists and is neither ours nor marked `managed` or `patch`.
    Unmanaged,
    /// It is immutable and its data would change.
    Immutable,
}

/// Whether a Secret with this metadata may be written for the SealedSecret with UID `uid`: ours, or marked
/// `managed` or `patch` by whoever made it.
pub fn may_write(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta, uid: &str) -> bool {
    let marked = |key: &str| {
        meta.annotations
            .as_ref()
            .and_then(|a| a.get(key))
            .is_some_and(|v| v == "true")
    };
    controlled_by(meta.owner_references.as_ref(), uid) || marked(MANAGED_ANNOTATION) || marked(PATCH_ANNOTATION)
}

/// Decides how `desired` (made from the SealedSecret with UID `uid`) reaches the cluster, given `existing`.
pub fn decide(existing: Option<&K8sSecret>, desired: K8sSecret, uid: &str) -> Result<Decision, Refusal> {
    let Some(existing) = existing else {
        return Ok(Decision::Create(Box::new(desired)));
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
    // Why refuse: overwriting a Secret somebody else made would let a SealedSecret author replace any Secret of
    // the namespace (a service account token, another team's credentials).
    if !may_write(&existing.metadata, uid) {
        return Err(Refusal::Unmanaged);
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
    if &updated == existing {
        return Ok(Decision::Unchanged);
    }
    let data_changed = updated.data != existing.data;
    if existing.immutable == Some(true) && data_changed {
        return Err(Refusal::Immutable);
    }
    Ok(Decision::Replace {
        secret: Box::new(updated),
        data_changed,
    })
}

/// Whether `owners` holds a controller reference to the object with UID `uid`.
pub fn controlled_by(owners: Option<&Vec<OwnerReference>>, uid: &str) -> bool {
    owners.is_some_and(|refs| refs.iter().any(|r| r.controller == Some(true) && r.uid == uid))
}

/// The k8s Secret to write. Why the plaintext is copied into `ByteString`: the API client needs owned bytes to
/// serialise; the copy lives only until the request is sent.
pub fn to_k8s_secret(secret: sealant_core::Secret) -> K8sSecret {
    let metadata = secret.metadata;
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

#[cfg(test)]
mod tests {
    use super::*;
    use kube::api::ObjectMeta;

    const UID: &str = "uid-1";

    fn owner(uid: &str) -> OwnerReference {
        OwnerReference {
            api_version: "bitnami.com/v1alpha1".into(),
            kind: "SealedSecret".into(),
            name: "db".into(),
            uid: uid.into(),
            controller: Some(true),
            ..OwnerReference::default()
        }
    }

    /// A Secret with `data` (`k=v` pairs), owned by `owner_uid` if given, with the given annotations set to
    /// "true", immutable if asked.
    fn secret(data: &[(&str, &str)], owner_uid: Option<&str>, flags: &[&str], immutable: bool) -> K8sSecret {
        K8sSecret {
            metadata: ObjectMeta {
                name: Some("db".into()),
                namespace: Some("web".into()),
                owner_references: owner_uid.map(|u| vec![owner(u)]),
                annotations: (!flags.is_empty())
                    .then(|| flags.iter().map(|f| (f.to_string(), "true".to_string())).collect()),
                ..ObjectMeta::default()
            },
            data: Some(
                data.iter()
                    .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                    .collect(),
            ),
            immutable: immutable.then_some(true),
            ..K8sSecret::default()
        }
    }

    fn desired(data: &[(&str, &str)]) -> K8sSecret {
        secret(data, Some(UID), &[], false)
    }

    /// The outcome as a word, for the table.
    fn outcome(existing: Option<&K8sSecret>, data: &[(&str, &str)]) -> &'static str {
        match decide(existing, desired(data), UID) {
            Ok(Decision::Create(_)) => "create",
            Ok(Decision::Unchanged) => "unchanged",
            Ok(Decision::Replace { data_changed: true, .. }) => "update data",
            Ok(Decision::Replace {
                data_changed: false, ..
            }) => "update metadata",
            Err(Refusal::Unmanaged) => "refuse unmanaged",
            Err(Refusal::Immutable) => "refuse immutable",
        }
    }

    #[test]
    fn the_decision_follows_ownership_annotations_and_immutability() {
        let old = [("k", "old")];
        let new = [("k", "new")];
        let owned = secret(&old, Some(UID), &[], false);
        let owned_same = desired(&new);
        let other_owner = secret(&old, Some("someone-else"), &[], false);
        let unowned = secret(&old, None, &[], false);
        let managed = secret(&old, None, &[MANAGED_ANNOTATION], false);
        let patched = secret(&[("other", "x")], None, &[PATCH_ANNOTATION], false);
        let immutable = secret(&old, Some(UID), &[], true);
        let immutable_same = secret(&new, Some(UID), &[], true);
        let table: &[(&str, Option<&K8sSecret>, &str)] = &[
            ("none", None, "create"),
            ("owned, new data", Some(&owned), "update data"),
            ("owned, same data", Some(&owned_same), "unchanged"),
            ("owned by another object", Some(&other_owner), "refuse unmanaged"),
            ("unowned", Some(&unowned), "refuse unmanaged"),
            ("managed", Some(&managed), "update data"),
            ("patch", Some(&patched), "update data"),
            ("immutable, new data", Some(&immutable), "refuse immutable"),
            ("immutable, same data", Some(&immutable_same), "unchanged"),
        ];
        for (case, existing, expected) in table {
            assert_eq!(outcome(*existing, &new), *expected, "{case}");
        }
    }

    #[test]
    fn patch_merges_data_and_keeps_what_the_sealed_secret_does_not_name() {
        let existing = secret(&[("other", "x"), ("k", "old")], None, &[PATCH_ANNOTATION], false);
        let Ok(Decision::Replace { secret, .. }) = decide(Some(&existing), desired(&[("k", "new")]), UID) else {
            panic!("not a replace");
        };
        let data = secret.data.unwrap();
        assert_eq!(data["other"], ByteString(b"x".to_vec()));
        assert_eq!(data["k"], ByteString(b"new".to_vec()));
        // Patch without managed: the owner stays as it was (none).
        assert!(secret.metadata.owner_references.is_none());
    }

    #[test]
    fn a_template_without_a_type_keeps_the_existing_type() {
        let mut existing = secret(&[("k", "v")], Some(UID), &[], false);
        existing.type_ = Some("kubernetes.io/tls".into());
        assert_eq!(
            decide(Some(&existing), desired(&[("k", "v")]), UID),
            Ok(Decision::Unchanged)
        );
    }
}
