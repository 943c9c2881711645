//! `sealant completions`: the shell completion script, generated from the command-line definition.

use std::io::Write as _;

use clap::CommandFactory as _;

/// Print the completion script for a shell.
///
/// Install it where your shell looks (`make install` does this for bash, zsh and fish):
///   bash: sealant completions bash > ~/.local/share/bash-completion/completions/sealant
///   zsh:  sealant completions zsh > "${fpath[1]}/_sealant"
///   fish: sealant completions fish > ~/.config/fish/completions/sealant.fish
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Writes the script to standard output.
pub fn run(args: CompletionsArgs) -> anyhow::Result<()> {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut crate::cli::Cli::command(), "sealant", &mut out);
    std::io::stdout().lock().write_all(&out)?;
    Ok(())
}
