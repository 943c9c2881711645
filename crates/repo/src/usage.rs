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

/// One line of `keys list`: a certificate under `keys/`, its age and state, and how many SealedSecrets use it.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeySummary {
    /// Its cluster.
    pub cluster: String,
    /// `SHA256:…`.
    pub fingerprint: String,
    /// The certificate's NotBefore date.
    pub created: String,
    /// Days since then.
    pub age_days: i64,
    /// Current, active, retired or compromised.
    pub state: String,
    /// When it was retired or marked compromised.
    pub since: Option<String>,
    /// Whether its private key is escrowed in the repository.
    pub escrowed: bool,
    /// SealedSecrets in the repository sealed to it (by their annotation).
    pub sealed_secrets: usize,
}

/// Every certificate under `keys/` as of `now`, with its use counted in `usage` (see [`usage`]).
pub fn summaries(
    dir: &crate::KeysDir,
    usage: &BTreeMap<Option<String>, usize>,
    now: time::OffsetDateTime,
) -> Vec<KeySummary> {
    dir.clusters()
        .iter()
        .flat_map(|c| &c.keys)
        .map(|k| KeySummary {
            cluster: k.cluster.clone(),
            fingerprint: k.fingerprint.clone(),
            created: k.cert.not_before().date().to_string(),
            age_days: (now - k.cert.not_before()).whole_days(),
            state: k.state.to_string(),
            since: k.since.map(|s| s.date().to_string()),
            escrowed: k.escrow_path.is_some(),
            sealed_secrets: usage.get(&Some(k.fingerprint.clone())).copied().unwrap_or(0),
        })
        .collect()
}
