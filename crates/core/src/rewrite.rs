//! Rewriting one SealedSecret of a manifest file in place: only the values that change, every other object of the
//! file kept. `seal --merge-into`, `reseal` and `rotate` all write through here, so they follow one rule.

use crate::keys::{Certificate, Keyring};
use crate::layout::{self, EditError};
use crate::manifest::{self, Format, ManifestError, Object};
use crate::seal::{ResealError, reseal};
use crate::types::{KEY_FINGERPRINT_ANNOTATION, SealedSecret};
use crate::unseal::UnsealOptions;

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
    /// Re-read, the result is not what was written (nothing is written then).
    #[error("{0}, nothing written")]
    Verify(String),
}

/// Rewrites the SealedSecret `base`, document `document` of `text`, with `edits` applied: YAML by changing only
/// those scalars (comments, key order and layout kept), JSON by replacing that one document (the others kept byte
/// for byte). Returns the new text, re-read first to prove that document holds every edit.
pub fn rewrite_sealed(
    text: &str,
    format: Format,
    document: &str,
    base: &SealedSecret,
    edits: &[Edit],
) -> Result<String, RewriteError> {
    let number: usize = document.parse().map_err(|_| RewriteError::InList)?;
    let out = match format {
        Format::Yaml => layout::edit_document(text, number, edits)?,
        Format::Json => {
            let merged = apply(base, edits)?;
            let json = manifest::write_sealed(std::slice::from_ref(&merged), Format::Json);
            manifest::replace_json_document(text, number, &json)?
        }
    };
    verify(&out, document, edits)?;
    Ok(out)
}

/// The one re-read check of a rewrite: the text parses, `document` is still a SealedSecret, and every edited path
/// holds exactly its new string.
fn verify(out: &str, document: &str, edits: &[Edit]) -> Result<(), RewriteError> {
    let (_, objects) =
        manifest::read(out).map_err(|e| RewriteError::Verify(format!("the rewritten file does not parse: {e}")))?;
    let got = objects
        .iter()
        .find(|l| l.document == document)
        .and_then(|l| match &l.object {
            Object::SealedSecret(ss) => Some(ss),
            _ => None,
        })
        .ok_or_else(|| RewriteError::Verify(format!("document {document} is no longer a SealedSecret")))?;
    let value = serde_json::to_value(got.as_ref()).map_err(RewriteError::Object)?;
    for (path, want) in edits {
        let at = path.iter().try_fold(&value, |v, key| v.get(key));
        if at.and_then(serde_json::Value::as_str) != Some(want.as_str()) {
            return Err(RewriteError::Verify(format!(
                "{} did not come out as written",
                path.join(".")
            )));
        }
    }
    Ok(())
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

/// A file's text with its SealedSecrets re-sealed, and what happened.
#[derive(Debug)]
pub struct ResealedFile {
    /// The new text.
    pub text: String,
    /// How many SealedSecrets changed (those already sealed to the target are left as they are).
    pub changed: usize,
    /// Per object (`document N (line L) (ns/name)`), what the user should be told.
    pub warnings: Vec<(String, String)>,
}

/// Why a file could not be re-sealed. Nothing is written when this is returned.
#[derive(Debug, thiserror::Error)]
pub enum ResealFileError {
    /// The file does not parse.
    #[error(transparent)]
    Read(#[from] ManifestError),
    /// One object could not be re-sealed.
    #[error("{at}: {cause}")]
    Reseal {
        /// `document N (line L) (ns/name)`.
        at: String,
        /// Why (printed in the message).
        cause: ResealError,
    },
    /// One object could not be rewritten in place.
    #[error("{at}: {cause}")]
    Rewrite {
        /// `document N (line L) (ns/name)`.
        at: String,
        /// Why (printed in the message).
        cause: RewriteError,
    },
}

/// Re-seals every SealedSecret of `text` whose items are not all sealed to `cert` yet (each item decrypted once,
/// under the scope its ciphertext opened with), changing only the ciphertexts and the key annotation, then
/// re-reads the result to prove it holds exactly the re-sealed items.
pub fn reseal_file(text: &str, keyring: &Keyring, cert: &Certificate) -> Result<ResealedFile, ResealFileError> {
    let (format, objects) = manifest::read(text)?;
    let mut out = text.to_string();
    let mut changed = 0;
    let mut warnings = Vec::new();
    for located in &objects {
        let Object::SealedSecret(ss) = &located.object else {
            continue;
        };
        let at = format!("document {} (line {}) ({})", located.document, located.line, ss.id());
        let resealed = reseal(ss, keyring, cert, None, UnsealOptions::default())
            .map_err(|cause| ResealFileError::Reseal { at: at.clone(), cause })?;
        if resealed.keys_used.values().all(|fp| fp == cert.fingerprint()) {
            continue;
        }
        warnings.extend(resealed.warnings.iter().map(|w| (at.clone(), w.clone())));
        let mut edits: Vec<Edit> = resealed
            .items
            .iter()
            .map(|(item, sealed)| {
                (
                    vec!["spec".into(), "encryptedData".into(), item.clone()],
                    sealed.clone(),
                )
            })
            .collect();
        edits.push((
            vec![
                "metadata".into(),
                "annotations".into(),
                KEY_FINGERPRINT_ANNOTATION.into(),
            ],
            cert.fingerprint().to_string(),
        ));
        out = rewrite_sealed(&out, format, &located.document, ss, &edits)
            .map_err(|cause| ResealFileError::Rewrite { at: at.clone(), cause })?;
        changed += 1;
    }
    Ok(ResealedFile {
        text: out,
        changed,
        warnings,
    })
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

    #[test]
    fn the_re_read_check_refuses_a_result_that_does_not_hold_every_edit() {
        let text = "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: db, namespace: web}\nspec:\n  encryptedData: {k: AgB}\n";
        assert!(verify(text, "1", &[(path(&["spec", "encryptedData", "k"]), "AgB".into())]).is_ok());
        for edits in [
            vec![(path(&["spec", "encryptedData", "k"]), "AgC".to_string())],
            vec![(path(&["spec", "encryptedData", "missing"]), "AgB".to_string())],
        ] {
            assert!(
                matches!(verify(text, "1", &edits), Err(RewriteError::Verify(_))),
                "{edits:?}"
            );
        }
        assert!(matches!(verify(text, "2", &[]), Err(RewriteError::Verify(_))));
        assert!(matches!(verify("a: [", "1", &[]), Err(RewriteError::Verify(_))));
    }
}
