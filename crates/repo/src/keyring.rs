//! The private keys a command unseals with: key files (PEM, key Secrets, v1 List backups) and the escrowed keys
//! under `keys/` that an age identity opens, gathered into one [`Keyring`].

use std::path::{Path, PathBuf};

use sealant_core::Keyring;
use sealant_core::keys::{PrivateKeyError, load_private_keys};

use crate::escrow::{EscrowError, Identities, open_escrowed};
use crate::files::{FileError, read_secret};
use crate::store::{KeysDir, StoreError};

/// The largest key file read (a v1 List backup of many key Secrets stays far below it).
const MAX_KEY_FILE: usize = sealant_core::manifest::MAX_INPUT_BYTES;

/// Why the keys could not be gathered. Names files, never key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    /// A key or identity file cannot be read.
    #[error(transparent)]
    Read(#[from] FileError),
    /// A `--key` file holds no usable private key.
    #[error("{file}: cannot use as a private key: {cause}")]
    NotAKey {
        /// The file.
        file: String,
        /// Why (printed in the message).
        cause: PrivateKeyError,
    },
    /// A key's public half cannot be fingerprinted.
    #[error(transparent)]
    Key(#[from] sealant_core::envelope::KeyError),
    /// The identity file, or an escrow file, cannot be used.
    #[error(transparent)]
    Escrow(#[from] EscrowError),
    /// The keys directory cannot be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The identity opens none of the escrowed keys.
    #[error("{identity} opens none of the escrowed keys under {dir} ({foreign} file(s) are for other identities)")]
    NoneOpened {
        /// The identity file.
        identity: String,
        /// The keys directory.
        dir: String,
        /// How many escrow files are for other recipients.
        foreign: usize,
    },
}

/// Where the private keys come from.
#[derive(Debug, Clone, Default)]
pub struct KeySources {
    /// Key files: PEM (PKCS#1 or PKCS#8), a controller key Secret, or a v1 List of them.
    pub files: Vec<PathBuf>,
    /// An age identity file: every `keys/<cluster>/*.key.age` it opens is used.
    pub age_identity: Option<PathBuf>,
    /// The keys directory the escrowed keys are under.
    pub keys_dir: PathBuf,
}

impl KeySources {
    /// True when neither a key file nor an identity is given.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.age_identity.is_none()
    }

    /// Loads every private key of every key file, and every escrowed key the identity opens, into one keyring.
    pub fn load(&self) -> Result<Keyring, KeyringError> {
        let mut ring = Keyring::new();
        if let Some(identity_file) = &self.age_identity {
            escrowed_keys(&mut ring, identity_file, &self.keys_dir)?;
        }
        for file in &self.files {
            let data = read_secret(file, MAX_KEY_FILE)?;
            let keys = load_private_keys(&data).map_err(|cause| KeyringError::NotAKey {
                file: file.display().to_string(),
                cause,
            })?;
            for key in keys {
                ring.add(key)?;
            }
        }
        Ok(ring)
    }
}

/// Adds every `*.key.age` under `dir` that the identity opens. A file for other recipients is skipped (a team may
/// escrow to several groups); a truncated, tampered or undecryptable one is an error, and so is opening none.
fn escrowed_keys(ring: &mut Keyring, identity_file: &Path, dir: &Path) -> Result<(), KeyringError> {
    let identities = Identities::parse(
        &read_secret(identity_file, MAX_KEY_FILE)?,
        &identity_file.display().to_string(),
    )?;
    let keys = KeysDir::load(dir)?;
    let records = keys.clusters().iter().flat_map(|c| &c.keys);
    let opened = open_escrowed(records, &identities, true)?;
    if opened.keys.is_empty() {
        return Err(KeyringError::NoneOpened {
            identity: identity_file.display().to_string(),
            dir: dir.display().to_string(),
            foreign: opened.foreign,
        });
    }
    for (_, key) in opened.keys {
        ring.add(key)?;
    }
    Ok(())
}
