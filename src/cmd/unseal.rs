//! `sealant unseal`: offline recovery — SealedSecret(s) → the Secret(s) the controller would write.

use anyhow::{Result, anyhow};
use clap::Args;
use sealant_core::input;
use sealant_core::manifest;

use crate::args::{KeyArgs, SecretIo};
use crate::io::{self, Sensitivity};

/// `sealant unseal`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sealant unseal --key backup.yaml -f sealed.yaml -w recovered.yaml
  sealant unseal --key tls.key -f sealed.yaml --force        # print plaintext to the terminal")]
pub struct UnsealArgs {
    #[command(flatten)]
    pub keys: KeyArgs,
    #[command(flatten)]
    pub io: SecretIo,
    /// Print plaintext even when stdout is a terminal.
    #[arg(long, env = "SEALANT_FORCE")]
    pub force: bool,
}

/// Runs the command.
pub fn run(args: UnsealArgs) -> Result<()> {
    let keyring = crate::keyring::load_keyring(&args.keys)?;
    let input = io::read_input(
        args.io.file.as_deref(),
        "tty detected: expecting SealedSecret json/yaml in stdin",
    )?;
    let (format, objects) = manifest::read(&input.text).map_err(|e| anyhow!("{}: {e}", input.name))?;
    let secrets = input::unseal_located(&objects, &keyring).map_err(|e| anyhow!("{}: {e}", input.name))?;
    let format = io::output_format(args.io.format, args.io.output.as_deref(), format);
    let out = manifest::write_secrets(&secrets, format);
    io::emit(
        args.io.output.as_deref(),
        out.as_bytes(),
        Sensitivity::Secret,
        args.force,
    )
}
