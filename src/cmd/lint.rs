//! `sealant lint`: the policy check over a GitOps tree (see `sealant-lint`).

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use sealant_cli::lint::{LintArgs, LintFormat};
use sealant_lint::{Config, output};

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
    let now = args.now.unwrap_or_else(time::OffsetDateTime::now_utc);
    let report = sealant_lint::lint_in(Some(&config_dir), &paths, &config, now);
    let text = match args.format {
        LintFormat::Text => output::text(&report),
        LintFormat::Json => output::json(&report),
        LintFormat::Sarif => output::sarif(&report),
    };
    stdout.write_all(text.as_bytes())?;
    if report.has_errors() {
        bail!("{} policy error(s)", report.error_count());
    }
    Ok(())
}
