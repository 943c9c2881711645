//! `sealant report`: its flags.

use std::path::PathBuf;

use clap::Args;

/// `sealant report`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sealant report                                   # writes sealant-report.html for the repository here
  sealant report --repo ../gitops --html /tmp/secrets.html --due-soon 30")]
pub struct ReportArgs {
    /// The GitOps repository (a git work tree: ages without `sealant.dev/sealed-at` come from its history).
    #[arg(long, env = "SEALANT_REPO", default_value = ".", value_name = "DIR")]
    pub repo: PathBuf,
    /// Where to write the page (atomically). It holds names, files, ages and fingerprints, never a value.
    #[arg(
        long,
        env = "SEALANT_HTML",
        default_value = "sealant-report.html",
        value_name = "FILE"
    )]
    pub html: PathBuf,
    /// Days before its period ends that a SealedSecret shows as due soon [default: `policy.warnBefore` of
    /// `.sealant.yaml`, 14].
    #[arg(long, env = "SEALANT_DUE_SOON", value_name = "DAYS")]
    pub due_soon: Option<i64>,
    /// The time ages are measured at (RFC 3339), for tests and what-if pages.
    #[arg(long, hide = true, value_parser = crate::shared::parse_time)]
    pub now: Option<time::OffsetDateTime>,
}
