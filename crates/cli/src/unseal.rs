//! `sealant unseal`: its flags.

use clap::Args;

use crate::shared::{AuditArgs, KeyArgs, SecretIo};

/// `sealant unseal`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sealant unseal --key backup.yaml -f sealed.yaml -w recovered.yaml
  sealant unseal --key tls.key -f sealed.yaml --force        # print plaintext to the terminal")]
pub struct UnsealArgs {
    /// The private keys to unseal with.
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Input and output (plaintext).
    #[command(flatten)]
    pub io: SecretIo,
    /// Print plaintext even when stdout is a terminal.
    #[arg(long, env = "SEALANT_FORCE")]
    pub force: bool,
    /// The audit log.
    #[command(flatten)]
    pub audit: AuditArgs,
}
