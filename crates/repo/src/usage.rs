//! Which keys the repository's SealedSecrets are sealed to, by their `sealant.dev/key-fingerprint` annotation.

use std::collections::BTreeMap;
use std::path::Path;

/// How many SealedSecrets under `repo` name each key fingerprint in `sealant.dev/key-fingerprint` (the
/// repository walk: tracked files, and untracked ones `.gitignore` does not exclude). SealedSecrets without the
/// annotation (made by kubeseal) count under `None`: which key sealed them can only be told with the private keys.
pub fn usage(repo: &Path) -> BTreeMap<Option<String>, usize> {
    let mut counts = BTreeMap::new();
    let files = crate::walk::files(repo)
        .files
        .into_iter()
        .filter(|f| crate::repofs::is_manifest(f));
    for file in files {
        let Ok(text) = crate::repofs::read_text(&file, crate::repofs::MAX_MANIFEST_FILE) else {
            continue;
        };
        if !text.contains("SealedSecret") {
            continue;
        }
        let Ok((_, objects)) = sealant_core::manifest::read(&text) else {
            continue;
        };
        for located in objects {
            if let sealant_core::manifest::Object::SealedSecret(ss) = located.object {
                let fingerprint = ss
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(sealant_core::types::KEY_FINGERPRINT_ANNOTATION))
                    .cloned();
                *counts.entry(fingerprint).or_default() += 1;
            }
        }
    }
    counts
}
