//! The command line's audit log: one JSON line per run of a command that decrypts or handles a private key
//! (`unseal`, `verify`, `reseal`, `rotate` offline, `keys new`, `keys backup`, `keys restore`, kubeseal's
//! `--recovery-unseal`), naming the OS user, the command, the files, the SealedSecrets and items, and the key
//! fingerprints — never a value. Its format is in `docs/audit.md` and `docs/audit.schema.json`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use sealant_controller::audit::open;
use sealant_core::Keyring;
use sealant_core::manifest::{Located, Object};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// One SealedSecret a command opened (or tried to), with the names of its items.
#[derive(Debug, Serialize)]
struct Touched<'a> {
    namespace: &'a str,
    name: &'a str,
    items: &'a BTreeSet<String>,
}

/// The line being collected while a command runs; written by [`Audit::finish`].
pub struct Audit {
    path: Option<PathBuf>,
    command: &'static str,
    files: BTreeSet<String>,
    output: Option<String>,
    objects: BTreeMap<(String, String), BTreeSet<String>>,
    keys: BTreeSet<String>,
    cluster: Option<String>,
    /// The success line was written before the output ([`Audit::commit`]).
    committed: bool,
}

#[derive(Serialize)]
struct Line<'a> {
    ts: String,
    audit: &'static str,
    command: &'static str,
    user: String,
    uid: u32,
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    files: &'a BTreeSet<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    objects: Vec<Touched<'a>>,
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    keys: &'a BTreeSet<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster: Option<&'a str>,
}

impl Audit {
    /// Starts the line of `command`, to `path` (`--audit-log`), or nowhere without one. The file is opened now:
    /// a command that could not record what it did must not do it.
    ///
    /// Why fail before the work: the policy asks that every access to secrets be logged; a decryption whose
    /// line cannot be written would be one that goes unrecorded.
    pub fn start(path: Option<&Path>, command: &'static str) -> Result<Self> {
        if let Some(path) = path {
            open(path).with_context(|| format!("cannot open the audit log {}", path.display()))?;
        }
        Ok(Self {
            path: path.map(Path::to_path_buf),
            command,
            files: BTreeSet::new(),
            output: None,
            objects: BTreeMap::new(),
            keys: BTreeSet::new(),
            cluster: None,
            committed: false,
        })
    }

    /// Runs `work` with a line started for `command`, and writes the line with its outcome.
    pub fn around(
        path: Option<&Path>,
        command: &'static str,
        work: impl FnOnce(&mut Audit) -> Result<()>,
    ) -> Result<()> {
        let mut audit = Self::start(path, command)?;
        let result = work(&mut audit);
        audit.finish(result)
    }

    /// Whether a line will be written (what is costly to collect is collected only then).
    pub fn enabled(&self) -> bool {
        self.path.is_some()
    }

    /// A file read.
    pub fn file(&mut self, name: impl Into<String>) {
        self.files.insert(name.into());
    }

    /// The file written (plaintext or keys), if any.
    pub fn output(&mut self, path: Option<&Path>) {
        self.output = path.map(|p| p.display().to_string());
    }

    /// The cluster whose keys a command handled.
    pub fn cluster(&mut self, cluster: &str) {
        self.cluster = Some(cluster.to_string());
    }

    /// Every SealedSecret of a parsed input, with its item names.
    pub fn sealed_secrets(&mut self, objects: &[Located]) {
        for located in objects {
            if let Object::SealedSecret(ss) = &located.object {
                self.sealed_secret(ss.namespace(), ss.name(), ss.spec.encrypted_data.keys().cloned());
            }
        }
    }

    /// One SealedSecret and the items of it that were opened.
    pub fn sealed_secret(&mut self, namespace: &str, name: &str, items: impl IntoIterator<Item = String>) {
        self.objects
            .entry((namespace.to_string(), name.to_string()))
            .or_default()
            .extend(items);
    }

    /// Every private key of a keyring (the keys the command could decrypt with).
    pub fn keyring(&mut self, keyring: &Keyring) {
        self.keys.extend(keyring.fingerprints().map(str::to_string));
    }

    /// One private key handled, by fingerprint.
    pub fn key(&mut self, fingerprint: impl Into<String>) {
        self.keys.insert(fingerprint.into());
    }

    /// Writes the line now, as a success, before the command hands out what it decrypted (plaintext or keys):
    /// when it cannot be written, nothing is handed out. [`Audit::finish`] then writes a second line only if the
    /// command still fails.
    ///
    /// Why before the output: a full disk lets the file open at the start and fails the write at the end, after
    /// the plaintext would already be out.
    pub fn commit(&mut self) -> Result<()> {
        if self.path.is_none() || self.committed {
            return Ok(());
        }
        self.write(None)?;
        self.committed = true;
        Ok(())
    }

    /// Writes the line with the command's outcome, and returns that outcome; a line that cannot be written
    /// turns success into an error.
    pub fn finish(self, result: Result<()>) -> Result<()> {
        if self.path.is_none() || (self.committed && result.is_ok()) {
            return result;
        }
        let written = self.write(result.as_ref().err());
        match (result, written) {
            (result, Ok(())) => result,
            (Ok(()), Err(e)) => Err(e),
            (Err(e), Err(audit)) => Err(e.context(format!("and {audit:#}"))),
        }
    }

    /// Appends the line: a success, or `error`.
    fn write(&self, error: Option<&anyhow::Error>) -> Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let (uid, user) = os_user();
        let line = Line {
            ts: OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default(),
            audit: "cli",
            command: self.command,
            user,
            uid,
            outcome: if error.is_none() { "ok" } else { "error" },
            // Errors name files, documents, items and keys, never values (see SECURITY.md).
            error: error.map(|e| format!("{e:#}")),
            files: &self.files,
            output: self.output.as_deref(),
            objects: self
                .objects
                .iter()
                .map(|((namespace, name), items)| Touched { namespace, name, items })
                .collect(),
            keys: &self.keys,
            cluster: self.cluster.as_deref(),
        };
        let mut text = serde_json::to_string(&line).context("cannot format the audit line")?;
        text.push('\n');
        open(path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .with_context(|| format!("cannot write the audit log {}", path.display()))
    }
}

/// The real user id and its name (from the password database; the id alone when it has no entry).
fn os_user() -> (u32, String) {
    let uid = uzers::get_current_uid();
    let name = uzers::get_user_by_uid(uid)
        .map(|u| u.name().to_string_lossy().into_owned())
        .unwrap_or_else(|| uid.to_string());
    (uid, name)
}
