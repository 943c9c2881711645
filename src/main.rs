//! `sealant`: seal, unseal, verify and manage keys for Kubernetes SealedSecrets.

mod cli;
mod cmd;
mod io;

use std::process::ExitCode;

use clap::Parser as _;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Seal(args) => cmd::seal::run(args),
        Command::Unseal(args) => cmd::unseal::run(args),
        Command::Verify(args) => cmd::verify::run(args),
        Command::Reseal(args) => cmd::reseal::run(args),
        Command::Keys(cmd) => cmd::keys::run(cmd),
        Command::Lint(args) => cmd::lint::run(args),
        Command::Controller(args) => cmd::controller::run(*args),
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
