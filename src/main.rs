//! `sealant`: seal, unseal, verify and manage keys for Kubernetes SealedSecrets.

mod audit;
mod cmd;
mod io;
mod kubeseal;

use std::process::ExitCode;

use clap::Parser as _;

use sealant_cli::{Cli, Command};

fn main() -> ExitCode {
    sealant_controller::process::no_core_dumps();
    // Invoked as `kubeseal` (a symlink): upstream's flags, defaults and messages.
    let argv0 = std::env::args_os().next().unwrap_or_default();
    let invoked_as = std::path::Path::new(&argv0).file_stem().unwrap_or_default().to_owned();
    let result = if invoked_as == "kubeseal" {
        kubeseal::run(std::env::args_os())
    } else if invoked_as == "controller" {
        // Invoked as `controller` (Bitnami's chart runs `command: [controller]`): upstream's controller flags.
        cmd::controller::run(sealant_cli::ControllerCommand::parse().flags)
    } else {
        run(Cli::parse())
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line per cause; no value ever reaches an error (they carry positions and item names only).
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Seal(args) => cmd::seal::run(args),
        Command::Serve(args) => cmd::serve::run(args),
        Command::Unseal(args) => cmd::unseal::run(args),
        Command::Verify(args) => cmd::verify::run(args),
        Command::Reseal(args) => cmd::reseal::run(args),
        Command::Keys(cmd) => cmd::keys::run(cmd),
        Command::Lint(args) => cmd::lint::run(args),
        Command::Report(args) => cmd::report::run(args),
        Command::Rotate(args) => cmd::rotate::run(*args),
        Command::Controller(args) => cmd::controller::run(*args),
        Command::Completions(args) => cmd::completions::run(args),
        Command::Man(args) => cmd::man::run(args),
    }
}
