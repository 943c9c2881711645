//! sealant's command line as data: every command's flags and their help (clap derive), kubeseal mode's flags,
//! and the one flag ↔ environment rule ([`ENVIRONMENT_RULE`], printed by `sealant --help` and checked for every
//! flag by a test). No behaviour: the binary maps these to library calls, and the manual pages and completions are
//! generated from them.

pub mod docs;
pub mod keys;
pub mod kubeseal;
pub mod lint;
pub mod report;
pub mod reseal;
pub mod rotate;
pub mod seal;
pub mod serve;
pub mod shared;
pub mod unseal;
pub mod verify;

use clap::{Parser, Subcommand};

/// Keep Kubernetes Secrets in Git safely: seal them to a cluster's certificate, unseal offline for recovery,
/// verify, and manage keys. Compatible with Bitnami Sealed Secrets (same ciphertexts, CRD and key Secrets).
#[derive(Debug, Parser)]
#[command(name = "sealant", version, propagate_version = true, term_width = 100, after_help = ENVIRONMENT_RULE)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How flags and environment variables correspond; a flag given on the command line wins over its variable.
pub const ENVIRONMENT_RULE: &str = "Environment: every flag --some-flag also reads SEALANT_SOME_FLAG, except:
  controller flags read upstream's SEALED_SECRETS_SOME_FLAG where upstream has the flag, else
    SEALANT_CONTROLLER_SOME_FLAG (--identity: POD_NAME)
  --kubeconfig reads KUBECONFIG
  keys new --force reads SEALANT_OVERWRITE (a separate guard from SEALANT_FORCE, which lets
    unseal and keys restore print secret material to a terminal)
  keys backup --recipient(s-file) reads SEALANT_ESCROW_RECIPIENTS(_FILE)
  lint --format reads SEALANT_LINT_FORMAT, man --dir reads SEALANT_MAN_DIR
  unseal -w and keys restore -w read nothing (SEALANT_OUTPUT must not receive plaintext or keys)
  seal --from-literal, rotate --force, lint --list-rules, controller --print-crd and --version
    read nothing";

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Encrypt Secret(s) into SealedSecret(s) that are safe to commit.
    Seal(crate::seal::SealArgs),
    /// Serve the sealing page: seal Secrets in a browser, to a cluster's certificate, on this machine.
    Serve(crate::serve::ServeArgs),
    /// Decrypt SealedSecret(s) with private keys, offline (disaster recovery).
    Unseal(crate::unseal::UnsealArgs),
    /// Check that every item of every SealedSecret decrypts with the given keys.
    Verify(crate::verify::VerifyArgs),
    /// Re-encrypt SealedSecret files to another key offline, changing only the ciphertexts.
    Reseal(crate::reseal::ResealArgs),
    /// Create, fetch, list, retire, back up and restore sealing keys.
    #[command(subcommand)]
    Keys(crate::keys::KeysCommand),
    /// Re-seal or regenerate what is due (90 days, old keys), commit on a branch, push, open one pull request.
    Rotate(Box<crate::rotate::RotateArgs>),
    /// Check a GitOps tree for plaintext, badly named, overdue and unsafely consumed secrets.
    Lint(crate::lint::LintArgs),
    /// Write one HTML page about a repository: each SealedSecret's age against its rotation line, keys, findings.
    Report(crate::report::ReportArgs),
    /// Run the in-cluster controller: unseal SealedSecrets into Secrets and serve the HTTP API.
    #[command(disable_version_flag = true)]
    Controller(Box<sealant_controller::flags::Flags>),
    /// Print the shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(crate::docs::CompletionsArgs),
    /// Write the manual pages (roff), one per command.
    Man(crate::docs::ManArgs),
}

/// The command line of sealant invoked as `controller` (Bitnami's chart runs `command: [controller]`): the
/// controller's flags alone.
#[derive(Debug, Parser)]
#[command(
    name = "controller",
    about = "The Sealed Secrets controller (sealant): unseals SealedSecrets into Secrets and serves the HTTP API",
    disable_version_flag = true,
    term_width = 100
)]
pub struct ControllerCommand {
    /// The controller's flags.
    #[command(flatten)]
    pub flags: sealant_controller::flags::Flags,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    /// Every long flag of every command, with its command path.
    fn flags(command: &clap::Command, path: &str, out: &mut Vec<(String, clap::Arg)>) {
        for arg in command.get_arguments() {
            if arg.get_long().is_some() && !matches!(arg.get_id().as_str(), "help" | "version") {
                out.push((path.to_string(), arg.clone()));
            }
        }
        for sub in command.get_subcommands() {
            flags(sub, &format!("{path} {}", sub.get_name()), out);
        }
    }

    #[test]
    fn every_flag_reads_its_environment_variable_as_the_help_states() {
        let mut all = Vec::new();
        flags(&Cli::command(), "sealant", &mut all);
        // The exceptions ENVIRONMENT_RULE states, by command and flag.
        let exceptions: &[(&str, &str, Option<&str>)] = &[
            ("sealant controller", "identity", Some("POD_NAME")),
            ("sealant controller", "print-crd", None),
            ("sealant keys new", "force", Some("SEALANT_OVERWRITE")),
            ("sealant keys backup", "recipient", Some("SEALANT_ESCROW_RECIPIENTS")),
            (
                "sealant keys backup",
                "recipients-file",
                Some("SEALANT_ESCROW_RECIPIENTS_FILE"),
            ),
            ("sealant lint", "format", Some("SEALANT_LINT_FORMAT")),
            ("sealant man", "dir", Some("SEALANT_MAN_DIR")),
            ("sealant lint", "list-rules", None),
            ("sealant seal", "from-literal", None),
            ("sealant rotate", "force", None),
            ("sealant unseal", "output", None),
            ("sealant keys restore", "output", None),
        ];
        let mut wrong = Vec::new();
        for (command, arg) in &all {
            let long = arg.get_long().unwrap_or_default();
            let variable = long.to_uppercase().replace('-', "_");
            let expected = match exceptions.iter().find(|(c, f, _)| c == command && *f == long) {
                Some((_, _, env)) => env.map(str::to_string),
                None if long == "kubeconfig" => Some("KUBECONFIG".into()),
                None if command == "sealant controller" => arg
                    .get_env()
                    .filter(|e| e.to_string_lossy().starts_with("SEALED_SECRETS_"))
                    .map(|_| format!("SEALED_SECRETS_{variable}"))
                    .or(Some(format!("SEALANT_CONTROLLER_{variable}"))),
                None if arg.is_hide_set() => None,
                None => Some(format!("SEALANT_{variable}")),
            };
            let env = arg.get_env().map(|e| e.to_string_lossy().into_owned());
            if env != expected {
                wrong.push(format!("{command} --{long}: {env:?}"));
            }
        }
        assert!(
            wrong.is_empty(),
            "{} flags break the rule:\n{}",
            wrong.len(),
            wrong.join("\n")
        );
        // Why a test: the guard that prints plaintext to a terminal must not share a variable with any other flag.
        let force: Vec<_> = all
            .iter()
            .filter(|(_, a)| a.get_env().is_some_and(|e| e == "SEALANT_FORCE"))
            .map(|(c, _)| c.as_str())
            .collect();
        assert_eq!(force, ["sealant unseal", "sealant keys restore"]);
    }
}
