//! `sealant completions`: the shell completion script, generated from the command-line definition.

use std::io::Write as _;

use clap::CommandFactory as _;
use sealant_cli::docs::CompletionsArgs;

/// Writes the script to standard output.
pub fn run(args: CompletionsArgs) -> anyhow::Result<()> {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut sealant_cli::Cli::command(), "sealant", &mut out);
    std::io::stdout().lock().write_all(&out)?;
    Ok(())
}
