//! The private keys a command unseals with: `--key` files and the escrowed keys an `--age-identity` opens.

use std::path::Path;

use anyhow::{Result, anyhow, bail};
use sealant_core::Keyring;
use sealant_core::keys::load_private_keys;

use crate::args::KeyArgs;
use crate::io;

/// Loads every private key of every `--key` file, and every escrowed key `--age-identity` opens, into one keyring.
pub fn load_keyring(args: &KeyArgs) -> Result<Keyring> {
    let mut ring = Keyring::new();
    if let Some(identity_file) = &args.age_identity {
        escrowed_keys(&mut ring, identity_file, &args.keys_dir)?;
    }
    for file in &args.keys {
        let data = io::read_secret_file(file)?;
        let keys =
            load_private_keys(&data).map_err(|e| anyhow!("{}: cannot use as a private key: {e}", file.display()))?;
        for key in keys {
            ring.add(key)?;
        }
    }
    Ok(ring)
}

/// Adds every `*.key.age` under `dir` that the identity opens. A file for other recipients is skipped (a team may
/// escrow to several groups); a truncated, tampered or undecryptable one is an error, and so is opening none.
fn escrowed_keys(ring: &mut Keyring, identity_file: &Path, dir: &Path) -> Result<()> {
    let identities = sealant_repo::Identities::parse(
        &io::read_secret_file(identity_file)?,
        &identity_file.display().to_string(),
    )?;
    let keys = sealant_repo::KeysDir::load(dir).map_err(|e| anyhow!("{e}"))?;
    let records = keys.clusters().iter().flat_map(|c| &c.keys);
    let opened = sealant_repo::escrow::open_escrowed(records, &identities, true)?;
    if opened.keys.is_empty() {
        bail!(
            "{} opens none of the escrowed keys under {} ({} file(s) are for other identities)",
            identity_file.display(),
            dir.display(),
            opened.foreign
        );
    }
    for (_, key) in opened.keys {
        ring.add(key)?;
    }
    Ok(())
}
