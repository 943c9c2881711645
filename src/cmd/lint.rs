//! `sealant lint`: the policy check over a GitOps tree (see `sealant-lint`).

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use clap::{Args, ValueEnum};
use sealant_lint::{Config, output};

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
}

/// Runs the check; exit status 1 when any finding is an error.
pub fn run(args: LintArgs) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    if args.list_rules {
        for r in sealant_lint::RULES {
            writeln!(stdout, "{:<22} {:<8} {}", r.id, r.severity.as_str(), r.summary)?;
        }
        return Ok(());
    }
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths
    };
    for p in &paths {
        if !p.exists() {
            bail!("{}: no such file or directory", p.display());
        }
    }
    let config_dir = args
        .config_dir
        .clone()
        .or_else(|| paths.iter().find(|p| p.is_dir()).cloned())
        .unwrap_or_else(|| PathBuf::from("."));
    let config = Config::load(&config_dir).context("cannot use the lint configuration")?;
    let report = sealant_lint::lint_in(Some(&config_dir), &paths, &config, time::OffsetDateTime::now_utc());
    let text = match args.format {
        LintFormat::Text => output::text(&report),
        LintFormat::Json => output::json(&report),
        LintFormat::Sarif => output::sarif(&report),
    };
    stdout.write_all(text.as_bytes())?;
    if report.has_errors() {
        let errors = report
            .findings
            .iter()
            .filter(|f| f.severity == sealant_lint::Severity::Error)
            .count();
        bail!("{errors} policy error(s)");
    }
    Ok(())
}
