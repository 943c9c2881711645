//! Key states in `keys/<cluster>/state.yaml`: a key marked retired or compromised, on disk (`keys retire`,
//! `keys compromise`) or in memory for a commit (`rotate --compromised`).

use std::path::PathBuf;

use time::OffsetDateTime;

use crate::store::{KeyState, KeysDir, STATE_FILE, StateEntry, StoreError, read_state, write_atomic};

impl KeysDir {
    /// Marks a key retired or compromised in its cluster's `state.yaml`. Refuses to retire the current key
    /// (there would be nothing to seal to) and to downgrade a compromised key to retired.
    pub fn set_state(
        &self,
        fingerprint: &str,
        state: KeyState,
        reason: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<PathBuf, StoreError> {
        let (path, text) = self.state_change(fingerprint, state, reason, now)?;
        write_atomic(&path, text.as_bytes())?;
        Ok(path)
    }

    /// As [`KeysDir::set_state`], in memory: the key's state changes here, and the new `state.yaml` (path and
    /// text) comes back for the caller to commit.
    pub fn mark(
        &mut self,
        fingerprint: &str,
        state: KeyState,
        reason: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(PathBuf, String), StoreError> {
        let change = self.state_change(fingerprint, state, reason, now)?;
        for key in self.clusters.iter_mut().flat_map(|c| c.keys.iter_mut()) {
            if key.fingerprint == fingerprint {
                key.state = state;
                key.since = Some(now);
                key.reason = reason.map(str::to_string);
            }
        }
        Ok(change)
    }

    /// The `state.yaml` that records `fingerprint` as `state`: its path and text.
    fn state_change(
        &self,
        fingerprint: &str,
        state: KeyState,
        reason: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(PathBuf, String), StoreError> {
        if !matches!(state, KeyState::Retired | KeyState::Compromised) {
            return Err(StoreError::Refused(format!(
                "a key can be marked retired or compromised, not {state}"
            )));
        }
        // Why refuse a certificate under two clusters: only one state.yaml would be written, and the copy a
        // repository writer made could be the one marked while the real cluster's stays unmarked.
        let holders: Vec<&str> = self
            .clusters()
            .iter()
            .filter(|c| c.keys.iter().any(|k| k.fingerprint == fingerprint))
            .map(|c| c.name.as_str())
            .collect();
        if holders.len() > 1 {
            return Err(StoreError::Refused(format!(
                "{fingerprint} is a certificate of clusters {}: a key belongs to one cluster; remove the copy first",
                holders.join(", ")
            )));
        }
        let key = self.find(fingerprint).ok_or_else(|| StoreError::UnknownKey {
            root: self.root.display().to_string(),
            fingerprint: fingerprint.to_string(),
        })?;
        if key.state == KeyState::Current && state == KeyState::Retired {
            return Err(StoreError::Refused(format!(
                "{fingerprint} is the current key of cluster {}: fetch its new certificate first (`sealant keys fetch`), then retire this one",
                key.cluster
            )));
        }
        if key.state == KeyState::Compromised && state == KeyState::Retired {
            return Err(StoreError::Refused(format!(
                "{fingerprint} is marked compromised; it stays so"
            )));
        }
        let path = self.root.join(&key.cluster).join(STATE_FILE);
        let mut file = read_state(&path)?;
        file.keys.insert(
            fingerprint.to_string(),
            StateEntry {
                state,
                since: now,
                reason: reason.map(str::to_string),
            },
        );
        let body = serde_saphyr::to_string(&file).map_err(|e| StoreError::Invalid {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let text = format!(
            "# Key states of cluster {}, written by `sealant keys retire|compromise`; read by seal, lint and rotate.\n{body}",
            key.cluster
        );
        Ok((path, text))
    }
}

#[cfg(test)]
mod tests {
    use sealant_core::keys::{DEFAULT_CERT_VALIDITY, generate_key_and_cert};
    use time::macros::datetime;

    use super::*;

    #[test]
    fn a_certificate_under_two_clusters_cannot_be_marked() {
        // A repository writer copied prod's certificate under `aaa`: marking "it" would write aaa's state.yaml
        // and leave prod's unmarked.
        let tmp = tempfile::tempdir().unwrap();
        let (_, cert) = generate_key_and_cert(2048, datetime!(2026-01-01 00:00 UTC), DEFAULT_CERT_VALIDITY).unwrap();
        KeysDir::add(tmp.path(), "prod", &cert, None, true).unwrap();
        KeysDir::add(tmp.path(), "aaa", &cert, None, true).unwrap();
        let mut dir = KeysDir::load(tmp.path()).unwrap();
        let err = dir
            .mark(
                cert.fingerprint(),
                KeyState::Compromised,
                None,
                datetime!(2026-02-01 00:00 UTC),
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains("clusters aaa, prod"), "{err}");
        assert!(!tmp.path().join("aaa/state.yaml").exists() && !tmp.path().join("prod/state.yaml").exists());
    }
}
