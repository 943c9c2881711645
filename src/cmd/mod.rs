//! One module per subcommand, plus what several of them share.

pub mod controller;
pub mod keys;
pub mod lint;
pub mod seal;
pub mod unseal;
pub mod verify;

use std::path::PathBuf;

use anyhow::{Result, anyhow};
use sealant_core::Keyring;
use sealant_core::keys::load_private_keys;

use crate::io;

/// Loads every private key of every `--key` file into one keyring.
pub fn load_keyring(files: &[PathBuf]) -> Result<Keyring> {
    let mut ring = Keyring::new();
    for file in files {
        let data = io::read_secret_file(file)?;
        let keys =
            load_private_keys(&data).map_err(|e| anyhow!("{}: cannot use as a private key: {e}", file.display()))?;
        for key in keys {
            ring.add(key)?;
        }
    }
    Ok(ring)
}
