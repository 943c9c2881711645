//! `sealant unseal`: offline recovery — SealedSecret(s) → the Secret(s) the controller would write.

use anyhow::{Result, anyhow, bail};
use sealant_core::manifest::{self, Object};
use sealant_core::unseal::{self, UnsealOptions};

use crate::cli::UnsealArgs;
use crate::io::{self, Sensitivity};

/// Runs the command.
pub fn run(args: UnsealArgs) -> Result<()> {
    let keyring = super::load_keyring(&args.keys)?;
    let input = io::read_input(
        args.io.file.as_deref(),
        "tty detected: expecting SealedSecret json/yaml in stdin",
    )?;
    let (format, objects) = manifest::read(&input.text).map_err(|e| anyhow!("{}: {e}", input.name))?;
    let mut secrets = Vec::new();
    for located in &objects {
        let Object::SealedSecret(ss) = &located.object else {
            bail!(
                "{}: document {} (line {}): expected a SealedSecret, found kind {:?}",
                input.name,
                located.document,
                located.line,
                located.object.kind()
            );
        };
        let unsealed = unseal::unseal(ss, &keyring, UnsealOptions::default()).map_err(|e| {
            anyhow!(
                "{}: document {} (line {}) ({}): {e}",
                input.name,
                located.document,
                located.line,
                id(ss)
            )
        })?;
        secrets.push(unsealed.secret);
    }
    if secrets.is_empty() {
        bail!("{}: no SealedSecret found", input.name);
    }
    let format = io::output_format(args.io.format, args.io.output.as_deref(), format);
    let out = manifest::write_secrets(&secrets, format);
    io::emit(
        args.io.output.as_deref(),
        out.as_bytes(),
        Sensitivity::Secret,
        args.force,
    )
}

/// `namespace/name` of a SealedSecret, for messages.
pub fn id(ss: &sealant_core::SealedSecret) -> String {
    match ss.namespace() {
        "" => ss.name().to_string(),
        ns => format!("{ns}/{}", ss.name()),
    }
}
