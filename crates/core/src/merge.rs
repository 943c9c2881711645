//! `seal --merge-into`: new items sealed for an existing SealedSecret — its name, namespace and scope, not the
//! input's — and written into its file in place, only the changed values touched, then re-read to prove it.

use crate::Scope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::input::SealFailure;
use crate::keys::Certificate;
use crate::manifest::{self, Located, ManifestError, Object};
use crate::rewrite::{Edit, RewriteError, rewrite_sealed};
use crate::seal::{self, SealOptions};
use crate::types::{SealedSecret, Secret};

/// Why the merge did not happen. The file is then left as it was.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// The target file does not parse.
    #[error(transparent)]
    Read(#[from] ManifestError),
    /// The target file holds no SealedSecret.
    #[error("no SealedSecret to merge into")]
    NoSealedSecret,
    /// The target file holds several.
    #[error("more than one SealedSecret; --merge-into needs a file with exactly one")]
    Several,
    /// An input Secret could not be sealed.
    #[error(transparent)]
    Seal(Box<SealFailure>),
    /// The SealedSecret cannot be edited in place.
    #[error("{0}; --merge-into needs a top-level SealedSecret")]
    Rewrite(RewriteError),
}

/// Seals `secrets` for the one SealedSecret in `text` and returns the file's new text. The file's own scope is
/// the default (upstream would silently seal strict here, spec 4.9).
pub fn merge_into(
    text: &str,
    secrets: &[(&Located, &Secret)],
    cert: &Certificate,
    mut opts: SealOptions,
) -> Result<String, MergeError> {
    let (format, objects) = manifest::read(text)?;
    let mut found = objects.iter().filter_map(|l| match &l.object {
        Object::SealedSecret(ss) => Some((l, ss.as_ref())),
        _ => None,
    });
    let (located, existing) = found.next().ok_or(MergeError::NoSealedSecret)?;
    if found.next().is_some() {
        return Err(MergeError::Several);
    }
    opts.name = Some(existing.name().to_string());
    opts.namespace = Some(existing.namespace().to_string()).filter(|n| !n.is_empty());
    opts.scope = opts
        .scope
        .or(Some(Scope::from_annotations(existing.metadata.annotations.as_ref())));
    // Why: the target's name and namespace decide the label, not the input's.
    opts.replace_namespace = true;
    // What the template's labels and annotations are after each input so far: only real changes become edits.
    let mut template_meta = existing
        .spec
        .template
        .as_ref()
        .and_then(|t| t.metadata.clone())
        .unwrap_or_default();
    let mut edits: Vec<Edit> = Vec::new();
    for (loc, secret) in secrets {
        let sealed = seal::seal_secret(secret, cert, &opts)
            .map_err(|cause| MergeError::Seal(Box::new(SealFailure::new(loc, secret, cause))))?;
        collect_changes(&sealed, &mut template_meta, &mut edits);
    }
    for (key, value) in seal::sealant_annotations(cert, opts.now) {
        edits.push((vec!["metadata".into(), "annotations".into(), key], value));
    }
    rewrite_sealed(text, format, &located.document, existing, &edits).map_err(MergeError::Rewrite)
}

/// Upstream's merge (items, template labels and annotations; new entries win) as edits: every item of `sealed`,
/// and each template label or annotation that differs from `template_meta`, which is updated to match.
fn collect_changes(sealed: &SealedSecret, template_meta: &mut ObjectMeta, edits: &mut Vec<Edit>) {
    for (item, blob) in &sealed.spec.encrypted_data {
        edits.push((vec!["spec".into(), "encryptedData".into(), item.clone()], blob.clone()));
    }
    let Some(new_meta) = sealed.spec.template.as_ref().and_then(|t| t.metadata.as_ref()) else {
        return;
    };
    for (field, new, old) in [
        ("labels", &new_meta.labels, &mut template_meta.labels),
        ("annotations", &new_meta.annotations, &mut template_meta.annotations),
    ] {
        for (k, v) in new.iter().flatten() {
            let old = old.get_or_insert_with(Default::default);
            if old.get(k) != Some(v) {
                old.insert(k.clone(), v.clone());
                edits.push((
                    vec![
                        "spec".into(),
                        "template".into(),
                        "metadata".into(),
                        field.into(),
                        k.clone(),
                    ],
                    v.clone(),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{DEFAULT_CERT_VALIDITY, generate_key_and_cert};

    fn cert() -> Certificate {
        generate_key_and_cert(2048, time::OffsetDateTime::now_utc(), DEFAULT_CERT_VALIDITY)
            .unwrap()
            .1
    }

    fn input(text: &str) -> Vec<Located> {
        manifest::read(text).unwrap().1
    }

    fn secrets(objects: &[Located]) -> Vec<(&Located, &Secret)> {
        objects
            .iter()
            .filter_map(|l| match &l.object {
                Object::Secret(s) => Some((l, s.as_ref())),
                _ => None,
            })
            .collect()
    }

    const TARGET: &str = "# kept\napiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: db\n  namespace: web\nspec:\n  encryptedData:\n    old: AgBy # kept too\n";

    #[test]
    fn new_items_are_added_for_the_targets_name_and_the_rest_of_the_file_is_kept() {
        let objects = input(
            "apiVersion: v1\nkind: Secret\nmetadata: {name: other, namespace: elsewhere}\nstringData: {new: v}\n",
        );
        let out = merge_into(TARGET, &secrets(&objects), &cert(), SealOptions::default()).unwrap();
        assert!(
            out.starts_with("# kept\n") && out.contains("old: AgBy # kept too"),
            "{out}"
        );
        let (_, read) = manifest::read(&out).unwrap();
        let Object::SealedSecret(ss) = &read[0].object else {
            panic!()
        };
        assert_eq!((ss.namespace(), ss.name()), ("web", "db"));
        assert!(ss.spec.encrypted_data.contains_key("new"));
    }

    #[test]
    fn a_file_without_exactly_one_sealed_secret_is_refused() {
        let objects = input("apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {k: v}\n");
        let none = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n";
        assert!(matches!(
            merge_into(none, &secrets(&objects), &cert(), SealOptions::default()),
            Err(MergeError::NoSealedSecret)
        ));
        let two = format!("{TARGET}---\n{TARGET}");
        assert!(matches!(
            merge_into(&two, &secrets(&objects), &cert(), SealOptions::default()),
            Err(MergeError::Several)
        ));
    }
}
