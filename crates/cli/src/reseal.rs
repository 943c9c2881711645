//! `sealant reseal`: its flags.

use std::path::PathBuf;

use clap::Args;

use crate::shared::{AuditArgs, KeyArgs};

/// `sealant reseal`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sealant reseal --cluster prod --age-identity ~/break-glass.txt apps/**/sealed-*.yaml
  sealant reseal --cert new.crt --key old-keys.yaml sealed.yaml")]
pub struct ResealArgs {
    /// SealedSecret files to re-seal, in place.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Certificate to re-seal to (file or URL).
    #[arg(
        long,
        env = "SEALANT_CERT",
        value_name = "FILE|URL",
        conflicts_with = "cluster",
        required_unless_present = "cluster"
    )]
    pub cert: Option<String>,
    /// Re-seal to this cluster's current key (`keys/<cluster>/current`).
    #[arg(long, env = "SEALANT_CLUSTER", value_parser = crate::shared::dns_label)]
    pub cluster: Option<String>,
    /// The private keys to unseal with.
    #[command(flatten)]
    pub keys: KeyArgs,
    /// The audit log.
    #[command(flatten)]
    pub audit: AuditArgs,
}
