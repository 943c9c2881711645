//! `sealant man`: manual pages (roff), generated from the command-line definition: one per command.

use std::path::Path;

use anyhow::Context as _;
use clap::CommandFactory as _;
use sealant_cli::docs::ManArgs;

/// Renders every page; each file is written whole (temporary file, then rename).
pub fn run(args: ManArgs) -> anyhow::Result<()> {
    let mut command = sealant_cli::Cli::command();
    command.build();
    let Some(dir) = args.dir else {
        let mut out = Vec::new();
        clap_mangen::Man::new(command).render(&mut out)?;
        std::io::Write::write_all(&mut std::io::stdout().lock(), &out)?;
        return Ok(());
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("{}: cannot create the directory", dir.display()))?;
    write_pages(&command, &dir)
}

/// One page for `command` and, recursively, for each visible subcommand. A built command names its
/// subcommands `sealant-keys-new` and so on (their display names), which is the page name.
fn write_pages(command: &clap::Command, dir: &Path) -> anyhow::Result<()> {
    let name = command.get_display_name().unwrap_or(command.get_name());
    let mut out = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut out)?;
    let path = dir.join(format!("{name}.1"));
    sealant_repo::files::write_atomic(&path, &out, sealant_repo::files::Sensitivity::Public)
        .with_context(|| format!("{}: cannot write the manual page", path.display()))?;
    for sub in command
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        write_pages(sub, dir)?;
    }
    Ok(())
}
