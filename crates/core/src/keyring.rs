//! The private keys a recovery or a controller unseals with, each tried in turn, the one an object names first.

use zeroize::Zeroizing;

use crate::envelope::{self, OpenError, PrivateKey};

/// The private keys a recovery or a controller can unseal with: every key is tried, the one whose fingerprint
/// the object names first.
#[derive(Debug, Default)]
pub struct Keyring {
    keys: Vec<(String, PrivateKey)>,
}

impl Keyring {
    /// An empty keyring.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key; a key already present (same fingerprint) is ignored. Returns its fingerprint.
    pub fn add(&mut self, key: PrivateKey) -> Result<String, envelope::KeyError> {
        let fingerprint = key.public_key().fingerprint()?;
        if !self.keys.iter().any(|(fp, _)| *fp == fingerprint) {
            self.keys.push((fingerprint.clone(), key));
        }
        Ok(fingerprint)
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when no key was added.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The private key with this fingerprint (for escrow: it is encrypted to age recipients, never shown).
    pub fn key(&self, fingerprint: &str) -> Option<&PrivateKey> {
        self.keys.iter().find(|(fp, _)| fp == fingerprint).map(|(_, k)| k)
    }

    /// Fingerprints of the keys, in the order they were added.
    pub fn fingerprints(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|(fp, _)| fp.as_str())
    }

    /// Opens one item with the first key that works, trying `hint` (a fingerprint) first. Returns the
    /// plaintext and the fingerprint of the key that opened it.
    pub fn open(&self, label: &[u8], blob: &[u8], hint: Option<&str>) -> Result<(Zeroizing<Vec<u8>>, &str), OpenError> {
        let hinted = self.keys.iter().filter(|(fp, _)| Some(fp.as_str()) == hint);
        let others = self.keys.iter().filter(|(fp, _)| Some(fp.as_str()) != hint);
        hinted
            .chain(others)
            .find_map(|(fp, key)| key.open(label, blob).ok().map(|pt| (pt, fp.as_str())))
            .ok_or(OpenError)
    }
}
