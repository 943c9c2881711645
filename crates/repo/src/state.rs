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
