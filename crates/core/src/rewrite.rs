//! Rewriting one SealedSecret of a manifest file in place: only the values that change, every other object of the
//! file kept. `seal --merge-into`, `reseal` and `rotate` all write through here, so they follow one rule.

use crate::layout::{self, EditError};
use crate::manifest::{self, Format};
use crate::types::SealedSecret;

/// A path into a SealedSecret (`["spec", "encryptedData", "password"]`) and the string to put there.
pub type Edit = (Vec<String>, String);

/// Why a SealedSecret could not be rewritten in place. Nothing is written when this is returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RewriteError {
    /// It sits inside a `v1 List`: rewriting it would mean rewriting the whole List.
    #[error("a SealedSecret inside a List cannot be rewritten in place")]
    InList,
    /// A YAML edit could not be made without changing more than the value.
    #[error(transparent)]
    Edit(#[from] EditError),
    /// The JSON stream is not what was read.
    #[error(transparent)]
    Stream(#[from] manifest::JsonDocumentError),
    /// The edited object no longer reads as a SealedSecret.
    #[error("the edited SealedSecret: {0}")]
    Object(serde_json::Error),
}

/// Rewrites the SealedSecret `base`, document `document` of `text`, with `edits` applied: YAML by changing only
/// those scalars (comments, key order and layout kept), JSON by replacing that one document (the others kept byte
/// for byte). Returns the new text.
pub fn rewrite_sealed(
    text: &str,
    format: Format,
    document: &str,
    base: &SealedSecret,
    edits: &[Edit],
) -> Result<String, RewriteError> {
    let number: usize = document.parse().map_err(|_| RewriteError::InList)?;
    match format {
        Format::Yaml => Ok(layout::edit_document(text, number, edits)?),
        Format::Json => {
            let merged = apply(base, edits)?;
            let json = manifest::write_sealed(std::slice::from_ref(&merged), Format::Json);
            Ok(manifest::replace_json_document(text, number, &json)?)
        }
    }
}

/// `base` with `edits` applied (each path's string set, mappings made where missing).
pub fn apply(base: &SealedSecret, edits: &[Edit]) -> Result<SealedSecret, RewriteError> {
    let mut value = serde_json::to_value(base).map_err(RewriteError::Object)?;
    for (path, new) in edits {
        let mut at = &mut value;
        for key in path {
            if at.is_null() {
                *at = serde_json::Value::Object(serde_json::Map::new());
            }
            let map = at
                .as_object_mut()
                .ok_or_else(|| RewriteError::Edit(EditError::NotAMapping(key.clone())))?;
            at = map.entry(key.clone()).or_insert(serde_json::Value::Null);
        }
        *at = serde_json::Value::String(new.clone());
    }
    serde_json::from_value(value).map_err(RewriteError::Object)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(parts: &[&str]) -> Vec<String> {
        parts.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn edits_reach_items_annotations_and_template_labels_and_a_list_member_is_refused() {
        let base = SealedSecret {
            kind: "SealedSecret".into(),
            api_version: "bitnami.com/v1alpha1".into(),
            ..SealedSecret::default()
        };
        let merged = apply(
            &base,
            &[
                (path(&["spec", "encryptedData", "k"]), "AgB".into()),
                (path(&["metadata", "annotations", "a"]), "b".into()),
                (path(&["spec", "template", "metadata", "labels", "app"]), "web".into()),
            ],
        )
        .unwrap();
        assert_eq!(merged.spec.encrypted_data["k"], "AgB");
        assert_eq!(merged.metadata.annotations.unwrap()["a"], "b");
        let labels = merged.spec.template.unwrap().metadata.unwrap().labels.unwrap();
        assert_eq!(labels["app"], "web");
        assert!(matches!(
            rewrite_sealed("{}", Format::Json, "1.items[0]", &base, &[]),
            Err(RewriteError::InList)
        ));
    }
}
