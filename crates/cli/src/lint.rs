//! `sealant lint`: its flags.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    /// `file:line:column: severity[rule]: message`.
    Text,
    /// One JSON document.
    Json,
    /// SARIF 2.1.0 (GitHub/GitLab code scanning).
    Sarif,
}

/// Flags of `sealant lint`.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// Files or directories to check [default: .].
    pub paths: Vec<PathBuf>,
    /// Report format.
    #[arg(long, short = 'o', value_enum, default_value_t = LintFormat::Text, env = "SEALANT_LINT_FORMAT")]
    pub format: LintFormat,
    /// Directory holding `.sealant.yaml` and `keys/`: paths under it are matched and keyed as seen from it
    /// [default: the first directory given, else .].
    #[arg(long, env = "SEALANT_CONFIG_DIR")]
    pub config_dir: Option<PathBuf>,
    /// List the rules and exit.
    #[arg(long)]
    pub list_rules: bool,
    /// The time ages are measured at (RFC 3339), for tests and what-if checks.
    #[arg(long, hide = true, value_parser = crate::shared::parse_time)]
    pub now: Option<time::OffsetDateTime>,
}
