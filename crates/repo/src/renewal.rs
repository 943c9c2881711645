//! A controller's key renewal, taken into `keys/<cluster>/` in memory: the certificate it now serves becomes
//! current, and every escrowed key of its bundle is added. The files come back as changes for a commit; nothing
//! is written here, so the rotation job can put them in its pull request without touching the work tree.

use std::path::PathBuf;

use sealant_core::Certificate;

use crate::store::{CURRENT_FILE, ClusterKeys, KeyRecord, KeyState, KeysDir, StoreError, file_stem};

/// What a renewal changed: files (absolute, under `keys/`) with their new text, and the fingerprints added.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Renewal {
    /// The cluster.
    pub cluster: String,
    /// The certificate now current, if it changed.
    pub current: Option<String>,
    /// The one it replaces as current, if there was one.
    pub previous: Option<String>,
    /// Certificates added (the served one among them when it was new).
    pub added: Vec<String>,
    /// Certificates whose escrowed key was added.
    pub escrowed: Vec<String>,
    /// Files to write: path and content.
    pub files: Vec<(PathBuf, String)>,
}

impl Renewal {
    /// Whether anything changes.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

impl KeysDir {
    /// Takes `served` (the certificate the cluster's live controller seals to) as `cluster`'s current key, and
    /// adds each certificate and escrowed key of `escrow` (as `escrow::bundle_keys` returns them) not yet under
    /// `keys/<cluster>/`.
    ///
    /// Why a certificate found under another cluster is refused: a controller reached through the wrong
    /// kubeconfig context (or a repository that copied one cluster's keys into another) would otherwise have one
    /// cluster's values sealed to a key another cluster holds. Why a served key marked retired or compromised is
    /// refused: the controller has not renewed since, and making it current would seal new values to it.
    pub fn renew(
        &mut self,
        cluster: &str,
        served: &Certificate,
        escrow: &[(Certificate, String)],
    ) -> Result<Renewal, StoreError> {
        crate::store::check_cluster_name(cluster)?;
        for cert in std::iter::once(served).chain(escrow.iter().map(|(c, _)| c)) {
            if let Some(other) = self.find(cert.fingerprint())
                && other.cluster != cluster
            {
                return Err(StoreError::Refused(format!(
                    "the controller of cluster {cluster} serves {}, which is a certificate of cluster {} under keys/: \
                     two clusters cannot share a key (wrong kubeconfig context?)",
                    cert.fingerprint(),
                    other.cluster
                )));
            }
        }
        if let Some(known) = self.find(served.fingerprint())
            && matches!(known.state, KeyState::Retired | KeyState::Compromised)
        {
            return Err(StoreError::Refused(format!(
                "the controller of cluster {cluster} still seals to {}, marked {} under keys/{cluster}/: renew its key \
                 before rotating",
                served.fingerprint(),
                known.state
            )));
        }
        let dir = self.root.join(cluster);
        let index = match self.clusters.iter().position(|c| c.name == cluster) {
            Some(i) => i,
            None => {
                self.clusters.push(ClusterKeys {
                    name: cluster.to_string(),
                    keys: Vec::new(),
                });
                self.clusters.sort_by(|a, b| a.name.cmp(&b.name));
                self.clusters.iter().position(|c| c.name == cluster).unwrap_or_default()
            }
        };
        let keys = &mut self.clusters[index].keys;
        let mut renewal = Renewal {
            cluster: cluster.to_string(),
            ..Renewal::default()
        };
        let wanted = std::iter::once((served, None)).chain(escrow.iter().map(|(c, a)| (c, Some(a.as_str()))));
        for (cert, armored) in wanted {
            let stem = file_stem(cert.fingerprint());
            let record = match keys.iter_mut().position(|k| k.fingerprint == cert.fingerprint()) {
                Some(i) => &mut keys[i],
                None => {
                    let cert_path = dir.join(format!("{stem}.crt"));
                    renewal.files.push((cert_path.clone(), cert.pem().to_string()));
                    renewal.added.push(cert.fingerprint().to_string());
                    keys.push(KeyRecord {
                        cluster: cluster.to_string(),
                        fingerprint: cert.fingerprint().to_string(),
                        cert: cert.clone(),
                        cert_path,
                        escrow_path: None,
                        state: KeyState::Active,
                        since: None,
                        reason: None,
                    });
                    keys.last_mut().expect("just pushed")
                }
            };
            if let Some(armored) = armored
                && record.escrow_path.is_none()
            {
                let path = dir.join(format!("{stem}.key.age"));
                renewal.files.push((path.clone(), armored.to_string()));
                renewal.escrowed.push(cert.fingerprint().to_string());
                record.escrow_path = Some(path);
            }
        }
        let previous = keys.iter().position(|k| k.state == KeyState::Current);
        let now = keys.iter().position(|k| k.fingerprint == served.fingerprint());
        if previous != now {
            if let Some(i) = previous {
                keys[i].state = KeyState::Active;
                renewal.previous = Some(keys[i].fingerprint.clone());
            }
            if let Some(i) = now {
                keys[i].state = KeyState::Current;
            }
            renewal.current = Some(served.fingerprint().to_string());
            renewal
                .files
                .push((dir.join(CURRENT_FILE), format!("{}\n", served.fingerprint())));
        }
        keys.sort_by_key(|k| k.cert.not_before());
        renewal.files.dedup_by(|a, b| a.0 == b.0);
        Ok(renewal)
    }
}

#[cfg(test)]
mod tests {
    use sealant_core::keys::{DEFAULT_CERT_VALIDITY, generate_key_and_cert};
    use time::macros::datetime;

    use super::*;

    fn cert(at: time::OffsetDateTime) -> Certificate {
        generate_key_and_cert(2048, at, DEFAULT_CERT_VALIDITY).unwrap().1
    }

    const AGE: &str = "-----BEGIN AGE ENCRYPTED FILE-----\nx\n-----END AGE ENCRYPTED FILE-----\n";

    #[test]
    fn a_renewed_certificate_becomes_current_with_its_escrow_and_the_files_say_so() {
        let tmp = tempfile::tempdir().unwrap();
        let old = cert(datetime!(2026-01-01 00:00 UTC));
        let new = cert(datetime!(2026-02-01 00:00 UTC));
        KeysDir::add(tmp.path(), "prod", &old, None, true).unwrap();
        let mut dir = KeysDir::load(tmp.path()).unwrap();
        let renewal = dir
            .renew("prod", &new, &[(old.clone(), AGE.into()), (new.clone(), AGE.into())])
            .unwrap();
        assert_eq!(renewal.current.as_deref(), Some(new.fingerprint()));
        assert_eq!(renewal.previous.as_deref(), Some(old.fingerprint()));
        assert_eq!(renewal.added, [new.fingerprint()]);
        assert_eq!(renewal.escrowed.len(), 2);
        assert_eq!(renewal.files.len(), 4, "{:?}", renewal.files);
        assert_eq!(
            dir.cluster("prod").unwrap().current().unwrap().fingerprint,
            new.fingerprint()
        );
        // Written out, the files read back as the same state.
        for (path, text) in &renewal.files {
            std::fs::write(path, text).unwrap();
        }
        let read = KeysDir::load(tmp.path()).unwrap();
        assert_eq!(
            read.cluster("prod").unwrap().current().unwrap().fingerprint,
            new.fingerprint()
        );
        assert!(read.find(old.fingerprint()).unwrap().escrow_path.is_some());
        // A second renewal to the same certificate changes nothing.
        assert!(
            dir.renew("prod", &new, &[(new.clone(), AGE.into())])
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_certificate_of_another_cluster_is_never_taken() {
        let tmp = tempfile::tempdir().unwrap();
        let staging = cert(datetime!(2026-01-01 00:00 UTC));
        KeysDir::add(tmp.path(), "staging", &staging, None, true).unwrap();
        let mut dir = KeysDir::load(tmp.path()).unwrap();
        let err = dir.renew("prod", &staging, &[]).unwrap_err().to_string();
        assert!(
            err.contains("cluster staging") && err.contains("wrong kubeconfig context"),
            "{err}"
        );
        assert!(dir.cluster("prod").is_none());
    }

    #[test]
    fn a_controller_still_serving_a_compromised_key_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let old = cert(datetime!(2026-01-01 00:00 UTC));
        let new = cert(datetime!(2026-02-01 00:00 UTC));
        KeysDir::add(tmp.path(), "prod", &old, None, false).unwrap();
        KeysDir::add(tmp.path(), "prod", &new, None, true).unwrap();
        let dir = KeysDir::load(tmp.path()).unwrap();
        dir.set_state(
            old.fingerprint(),
            KeyState::Compromised,
            None,
            datetime!(2026-02-02 00:00 UTC),
        )
        .unwrap();
        let mut dir = KeysDir::load(tmp.path()).unwrap();
        let err = dir.renew("prod", &old, &[]).unwrap_err().to_string();
        assert!(err.contains("marked compromised"), "{err}");
    }
}
