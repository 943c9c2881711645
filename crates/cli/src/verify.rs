//! `sealant verify`: its flags.

use std::path::PathBuf;

use clap::Args;

use crate::shared::{AuditArgs, KeyArgs};

/// `sealant verify`.
#[derive(Debug, Args)]
#[command(after_help = "Exit status: 0 when every item of every SealedSecret decrypts, 1 otherwise.")]
pub struct VerifyArgs {
    /// The private keys to unseal with.
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Input file; `-` or absent reads stdin.
    #[arg(short = 'f', long = "file", env = "SEALANT_FILE", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// The audit log.
    #[command(flatten)]
    pub audit: AuditArgs,
}
