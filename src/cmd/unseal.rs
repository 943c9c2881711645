//! `sealant unseal`: offline recovery — SealedSecret(s) → the Secret(s) the controller would write.

use anyhow::{Result, anyhow};
use sealant_core::input;
use sealant_core::manifest;

use crate::audit::Audit;
use crate::io::{self, Sensitivity};
use sealant_cli::unseal::UnsealArgs;

/// Runs the command, audited.
pub fn run(args: UnsealArgs) -> Result<()> {
    Audit::around(args.audit.audit_log.as_deref(), "unseal", |audit| unseal(&args, audit))
}

fn unseal(args: &UnsealArgs, audit: &mut Audit) -> Result<()> {
    let keyring = crate::io::keyring(&args.keys)?;
    audit.keyring(&keyring);
    let input = io::read_input(
        args.io.file.as_deref(),
        "tty detected: expecting SealedSecret json/yaml in stdin",
    )?;
    audit.file(&input.name);
    audit.output(args.io.output.as_deref());
    let (format, objects) = manifest::read(&input.text).map_err(|e| anyhow!("{}: {e}", input.name))?;
    audit.sealed_secrets(&objects);
    let secrets = input::unseal_located(&objects, &keyring).map_err(|e| anyhow!("{}: {e}", input.name))?;
    let format = io::output_format(args.io.format, args.io.output.as_deref(), format);
    let out = manifest::write_secrets(&secrets, format);
    audit.commit()?;
    io::emit(
        args.io.output.as_deref(),
        out.as_bytes(),
        Sensitivity::Secret,
        args.force,
    )
}
