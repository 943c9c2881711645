//! `sealant`: seal, unseal, verify and manage keys for Kubernetes SealedSecrets.

mod args;
mod cli;
mod cmd;
mod io;
mod keyring;
mod kubeseal;

use std::process::ExitCode;

use clap::Parser as _;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    no_core_dumps();
    // Invoked as `kubeseal` (a symlink): upstream's flags, defaults and messages.
    let argv0 = std::env::args_os().next().unwrap_or_default();
    let invoked_as = std::path::Path::new(&argv0).file_stem().unwrap_or_default().to_owned();
    let result = if invoked_as == "kubeseal" {
        kubeseal::run(std::env::args_os())
    } else if invoked_as == "controller" {
        // Invoked as `controller` (Bitnami's chart runs `command: [controller]`): upstream's controller flags.
        cmd::controller::run(cli::ControllerCommand::parse().flags)
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

/// Makes the process non-dumpable and its core-file limit zero, for every command (most decrypt or hold keys).
///
/// Why: a crash would otherwise write the process memory (private keys, decrypted values) to a core file, and
/// a dumpable process can be read through `/proc/<pid>/mem` or ptrace by any process of the same user. Failure
/// to set either is not fatal (e.g. a sandbox that forbids prctl): the command still works.
fn no_core_dumps() {
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
    let _ = rustix::process::setrlimit(
        rustix::process::Resource::Core,
        rustix::process::Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    );
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
        Command::Rotate(args) => cmd::rotate::run(*args),
        Command::Controller(args) => cmd::controller::run(*args),
        Command::Completions(args) => cmd::completions::run(args),
        Command::Man(args) => cmd::man::run(args),
    }
}
