//! `sealant completions` and `sealant man`: their flags.

use std::path::PathBuf;

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

/// Write the manual pages: sealant(1) and one page per subcommand (sealant-seal(1), sealant-keys-new(1), …).
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// The directory to write the pages into (created if missing); without it, sealant(1) goes to stdout.
    #[arg(long, env = "SEALANT_MAN_DIR", value_name = "DIR")]
    pub dir: Option<PathBuf>,
}
