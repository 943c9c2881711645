//! Reading and updating `keys/<cluster>/`: certificates, the `current` pointer, `state.yaml`, escrow files.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use sealant_core::Certificate;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// What went wrong with the key directory, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file or directory cannot be read or written.
    #[error("{path}: {cause}")]
    Io {
        /// The file.
        path: String,
        /// The OS error (printed in the message).
        cause: std::io::Error,
    },
    /// A file is there but is not what its name promises.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// No certificate under `keys/` has this fingerprint.
    #[error("no certificate under {root} has fingerprint {fingerprint}")]
    UnknownKey {
        /// The keys directory.
        root: String,
        /// The fingerprint asked for.
        fingerprint: String,
    },
    /// A state change that would leave a cluster without a key to seal to, or undo a compromise.
    #[error("{0}")]
    Refused(String),
}

/// Where a key is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    /// The key new secrets of its cluster are sealed to.
    Current,
    /// Still held by the controller and still opens what was sealed to it, but no longer sealed to.
    Active,
    /// Taken out of use: nothing may be sealed to it; what is sealed to it must be re-sealed.
    Retired,
    /// Its private key may be known to someone else: every value sealed to it must be regenerated.
    Compromised,
}

impl std::fmt::Display for KeyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Current => "current",
            Self::Active => "active",
            Self::Retired => "retired",
            Self::Compromised => "compromised",
        })
    }
}

/// One certificate under `keys/<cluster>/`.
#[derive(Debug, Clone)]
pub struct KeyRecord {
    /// The cluster directory it is in.
    pub cluster: String,
    /// The key's fingerprint (`SHA256:…`, as `sealant keys fingerprint` prints it).
    pub fingerprint: String,
    /// The certificate.
    pub cert: Certificate,
    /// The `.crt` file.
    pub cert_path: PathBuf,
    /// The escrowed private key (`<stem>.key.age`), when committed.
    pub escrow_path: Option<PathBuf>,
    /// Current, active, retired or compromised.
    pub state: KeyState,
    /// When it was retired or marked compromised.
    pub since: Option<OffsetDateTime>,
    /// Why (free text from the operator).
    pub reason: Option<String>,
}

/// The keys of one cluster.
#[derive(Debug, Clone)]
pub struct ClusterKeys {
    /// The cluster's name (its directory name).
    pub name: String,
    /// Its certificates, oldest first.
    pub keys: Vec<KeyRecord>,
}

impl ClusterKeys {
    /// The key new secrets are sealed to, if any.
    pub fn current(&self) -> Option<&KeyRecord> {
        self.keys.iter().find(|k| k.state == KeyState::Current)
    }
}

/// The whole `keys/` directory, read leniently: a file that cannot be used is listed in `problems` and skipped.
#[derive(Debug, Default)]
pub struct KeysDir {
    pub(crate) root: PathBuf,
    pub(crate) clusters: Vec<ClusterKeys>,
    /// Files that could not be used.
    pub problems: Vec<StoreError>,
}

/// `state.yaml`: the retired and compromised keys of a cluster.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StateFile {
    #[serde(default)]
    pub(crate) keys: BTreeMap<String, StateEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StateEntry {
    pub(crate) state: KeyState,
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) since: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
}

pub(crate) const STATE_FILE: &str = "state.yaml";
pub(crate) const CURRENT_FILE: &str = "current";

/// The file-name form of a fingerprint: the base64 part with `/` and `+` replaced, so it is a safe name on every
/// file system (`SHA256:ab/c+d` → `ab_c-d`).
pub fn file_stem(fingerprint: &str) -> String {
    fingerprint
        .strip_prefix("SHA256:")
        .unwrap_or(fingerprint)
        .replace('/', "_")
        .replace('+', "-")
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |cause| StoreError::Io {
        path: path.display().to_string(),
        cause,
    }
}

impl KeysDir {
    /// Reads `root` (a repository's `keys/`). A missing directory reads as empty.
    pub fn load(root: &Path) -> Result<Self, StoreError> {
        let mut dir = Self {
            root: root.to_path_buf(),
            ..Self::default()
        };
        if !root.is_dir() {
            return Ok(dir);
        }
        if !crate::repofs::is_real_dir(root) {
            return Err(StoreError::Invalid {
                path: root.display().to_string(),
                reason: "a symbolic link; keys are read only from the repository itself".into(),
            });
        }
        let mut names: Vec<String> = std::fs::read_dir(root)
            .map_err(io_error(root))?
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| !n.starts_with('.'))
            .collect();
        names.sort();
        for name in names {
            let cluster = dir.load_cluster(&name);
            dir.clusters.push(cluster);
        }
        Ok(dir)
    }

    fn load_cluster(&mut self, name: &str) -> ClusterKeys {
        let path = self.root.join(name);
        let mut keys = Vec::new();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        for file in files.iter().filter(|f| f.extension().is_some_and(|e| e == "crt")) {
            let cert = crate::repofs::read(file, crate::repofs::MAX_SMALL_FILE)
                .map_err(io_error(file))
                .and_then(|data| {
                    Certificate::from_pem(&data).map_err(|e| StoreError::Invalid {
                        path: file.display().to_string(),
                        reason: format!("not a sealing certificate: {e}"),
                    })
                });
            match cert {
                Ok(cert) => {
                    let fingerprint = cert.fingerprint().to_string();
                    let escrow = path.join(format!("{}.key.age", file_stem(&fingerprint)));
                    keys.push(KeyRecord {
                        cluster: name.to_string(),
                        fingerprint,
                        cert,
                        cert_path: file.clone(),
                        escrow_path: std::fs::symlink_metadata(&escrow)
                            .is_ok_and(|m| m.is_file())
                            .then_some(escrow),
                        state: KeyState::Active,
                        since: None,
                        reason: None,
                    });
                }
                Err(e) => self.problems.push(e),
            }
        }
        keys.sort_by_key(|k| k.cert.not_before());
        match read_state(&path.join(STATE_FILE)) {
            Ok(state) => {
                for key in &mut keys {
                    if let Some(entry) = state.keys.get(&key.fingerprint) {
                        key.state = entry.state;
                        key.since = Some(entry.since);
                        key.reason = entry.reason.clone();
                    }
                }
            }
            Err(e) => self.problems.push(e),
        }
        let pointer = path.join(CURRENT_FILE);
        let current = match crate::repofs::read_text(&pointer, crate::repofs::MAX_SMALL_FILE) {
            Ok(text) => Some(text.trim().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                self.problems.push(io_error(&pointer)(e));
                None
            }
        };
        // Without a pointer, the newest usable certificate is current (what the controller seals with).
        let chosen = match current {
            Some(fp) => keys
                .iter()
                .position(|k| k.fingerprint == fp && k.state == KeyState::Active),
            None => keys.iter().rposition(|k| k.state == KeyState::Active),
        };
        if let Some(i) = chosen {
            keys[i].state = KeyState::Current;
        }
        ClusterKeys {
            name: name.to_string(),
            keys,
        }
    }

    /// The directory this was read from.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every cluster, by name.
    pub fn clusters(&self) -> &[ClusterKeys] {
        &self.clusters
    }

    /// One cluster by name.
    pub fn cluster(&self, name: &str) -> Option<&ClusterKeys> {
        self.clusters.iter().find(|c| c.name == name)
    }

    /// The certificate with this fingerprint, in whichever cluster it is.
    pub fn find(&self, fingerprint: &str) -> Option<&KeyRecord> {
        self.clusters
            .iter()
            .flat_map(|c| &c.keys)
            .find(|k| k.fingerprint == fingerprint)
    }

    /// Commits a certificate (and optionally its escrowed private key) under `keys/<cluster>/`; `current` makes
    /// it the key new secrets are sealed to. Returns the files written.
    pub fn add(
        root: &Path,
        cluster: &str,
        cert: &Certificate,
        escrow: Option<&str>,
        current: bool,
    ) -> Result<Vec<PathBuf>, StoreError> {
        check_cluster_name(cluster)?;
        let dir = root.join(cluster);
        crate::repofs::ensure_inside_repository(&dir).map_err(io_error(&dir))?;
        std::fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        let stem = file_stem(cert.fingerprint());
        let mut written = vec![dir.join(format!("{stem}.crt"))];
        write_atomic(&written[0], cert.pem().as_bytes())?;
        if let Some(armored) = escrow {
            written.push(dir.join(format!("{stem}.key.age")));
            write_atomic(&written[1], armored.as_bytes())?;
        }
        if current {
            let pointer = dir.join(CURRENT_FILE);
            write_atomic(&pointer, format!("{}\n", cert.fingerprint()).as_bytes())?;
            written.push(pointer);
        }
        Ok(written)
    }
}

/// Refuses a cluster name that is not one plain directory name under `keys/`.
pub(crate) fn check_cluster_name(cluster: &str) -> Result<(), StoreError> {
    if cluster.is_empty() || cluster.starts_with('.') || cluster.contains(['/', '\\', '\0']) {
        return Err(StoreError::Refused(format!(
            "`{cluster}` is not a usable cluster name (a directory name under keys/)"
        )));
    }
    Ok(())
}

pub(crate) fn read_state(path: &Path) -> Result<StateFile, StoreError> {
    match crate::repofs::read_text(path, crate::repofs::MAX_SMALL_FILE) {
        Ok(text) => crate::repofs::from_yaml(&text).map_err(|e| StoreError::Invalid {
            path: path.display().to_string(),
            reason: e.0,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StateFile::default()),
        Err(e) => Err(io_error(path)(e)),
    }
}

/// Writes through a temporary file and a rename: a reader never sees half a file.
pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    crate::repofs::ensure_inside_repository(dir).map_err(io_error(path))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".sealant-")
        .tempfile_in(dir)
        .map_err(io_error(path))?;
    tmp.write_all(data)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(io_error(path))?;
    // Certificates, pointers and age ciphertexts are all public: the usual 0644.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644)).map_err(io_error(path))?;
    }
    tmp.persist(path).map_err(|e| io_error(path)(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use sealant_core::keys::{DEFAULT_CERT_VALIDITY, generate_key_and_cert};
    use time::macros::datetime;

    use super::*;

    fn cert(at: OffsetDateTime) -> Certificate {
        generate_key_and_cert(2048, at, DEFAULT_CERT_VALIDITY).unwrap().1
    }

    #[test]
    fn the_newest_certificate_is_current_unless_a_pointer_says_otherwise() {
        let tmp = tempfile::tempdir().unwrap();
        let old = cert(datetime!(2026-01-01 00:00 UTC));
        let new = cert(datetime!(2026-06-01 00:00 UTC));
        KeysDir::add(tmp.path(), "prod", &old, None, false).unwrap();
        KeysDir::add(
            tmp.path(),
            "prod",
            &new,
            Some("-----BEGIN AGE ENCRYPTED FILE-----\n"),
            false,
        )
        .unwrap();
        let dir = KeysDir::load(tmp.path()).unwrap();
        let prod = dir.cluster("prod").unwrap();
        assert_eq!(prod.current().unwrap().fingerprint, new.fingerprint());
        assert!(prod.current().unwrap().escrow_path.is_some());
        assert_eq!(dir.find(old.fingerprint()).unwrap().state, KeyState::Active);

        KeysDir::add(tmp.path(), "prod", &old, None, true).unwrap();
        let dir = KeysDir::load(tmp.path()).unwrap();
        assert_eq!(
            dir.cluster("prod").unwrap().current().unwrap().fingerprint,
            old.fingerprint()
        );
        assert!(dir.problems.is_empty(), "{:?}", dir.problems);
    }

    #[test]
    fn retiring_and_compromising_are_recorded_and_guarded() {
        let tmp = tempfile::tempdir().unwrap();
        let old = cert(datetime!(2026-01-01 00:00 UTC));
        let new = cert(datetime!(2026-06-01 00:00 UTC));
        KeysDir::add(tmp.path(), "prod", &old, None, false).unwrap();
        KeysDir::add(tmp.path(), "prod", &new, None, true).unwrap();
        let now = datetime!(2026-11-23 00:00 UTC);
        let dir = KeysDir::load(tmp.path()).unwrap();
        let err = dir
            .set_state(new.fingerprint(), KeyState::Retired, None, now)
            .unwrap_err();
        assert!(err.to_string().contains("is the current key of cluster prod"), "{err}");
        let err = dir.set_state("SHA256:nope", KeyState::Retired, None, now).unwrap_err();
        assert!(matches!(err, StoreError::UnknownKey { .. }));

        dir.set_state(old.fingerprint(), KeyState::Compromised, Some("laptop lost"), now)
            .unwrap();
        let dir = KeysDir::load(tmp.path()).unwrap();
        let key = dir.find(old.fingerprint()).unwrap();
        assert_eq!(
            (key.state, key.since, key.reason.as_deref()),
            (KeyState::Compromised, Some(now), Some("laptop lost"))
        );
        assert!(dir.set_state(old.fingerprint(), KeyState::Retired, None, now).is_err());
    }

    #[test]
    fn a_broken_certificate_or_state_file_is_reported_and_the_rest_still_read() {
        let tmp = tempfile::tempdir().unwrap();
        let good = cert(datetime!(2026-01-01 00:00 UTC));
        KeysDir::add(tmp.path(), "prod", &good, None, false).unwrap();
        std::fs::write(tmp.path().join("prod/bad.crt"), "not a cert").unwrap();
        std::fs::write(tmp.path().join("prod/state.yaml"), "keys: [1, 2").unwrap();
        let dir = KeysDir::load(tmp.path()).unwrap();
        assert_eq!(dir.cluster("prod").unwrap().keys.len(), 1);
        let problems: Vec<String> = dir.problems.iter().map(ToString::to_string).collect();
        assert!(problems.iter().any(|p| p.contains("bad.crt")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("state.yaml")), "{problems:?}");
    }

    #[test]
    fn file_stems_are_safe_file_names() {
        assert_eq!(file_stem("SHA256:ab/c+d"), "ab_c-d");
    }
}
