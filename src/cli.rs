//! Command-line definition: one `Args` struct per subcommand; doc comments are the help text. The flag ↔
//! environment rule is [`ENVIRONMENT_RULE`], printed by `sealant --help` and checked for every flag by a test.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use sealant_core::Scope;

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
  lint --format reads SEALANT_LINT_FORMAT
  seal --from-literal, lint --list-rules, controller --print-crd read nothing";

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Encrypt Secret(s) into SealedSecret(s) that are safe to commit.
    Seal(SealArgs),
    /// Decrypt SealedSecret(s) with private keys, offline (disaster recovery).
    Unseal(UnsealArgs),
    /// Check that every item of every SealedSecret decrypts with the given keys.
    Verify(VerifyArgs),
    /// Re-encrypt SealedSecret files to another key offline, changing only the ciphertexts.
    Reseal(crate::cmd::reseal::ResealArgs),
    /// Create, fetch, list, retire, back up and restore sealing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Re-seal or regenerate what is due (90 days, old keys), commit on a branch, push, open one pull request.
    Rotate(Box<crate::cmd::rotate::RotateArgs>),
    /// Check a GitOps tree for plaintext, badly named, overdue and unsafely consumed secrets.
    Lint(crate::cmd::lint::LintArgs),
    /// Run the in-cluster controller: unseal SealedSecrets into Secrets and serve the HTTP API.
    Controller(Box<crate::cmd::controller::ControllerArgs>),
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// YAML documents, each preceded by `---`.
    Yaml,
    /// Pretty JSON objects, one after another.
    Json,
}

/// Scope flag values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScopeArg {
    /// Only under the same name and namespace.
    Strict,
    /// Under any name in the same namespace.
    NamespaceWide,
    /// Anywhere in the cluster.
    ClusterWide,
}

impl From<ScopeArg> for Scope {
    fn from(s: ScopeArg) -> Self {
        match s {
            ScopeArg::Strict => Scope::Strict,
            ScopeArg::NamespaceWide => Scope::NamespaceWide,
            ScopeArg::ClusterWide => Scope::ClusterWide,
        }
    }
}

impl From<Scope> for ScopeArg {
    fn from(s: Scope) -> Self {
        match s {
            Scope::Strict => ScopeArg::Strict,
            Scope::NamespaceWide => ScopeArg::NamespaceWide,
            Scope::ClusterWide => ScopeArg::ClusterWide,
        }
    }
}

/// Input and output shared by the commands that read manifests.
#[derive(Debug, Args)]
pub struct Io {
    /// Input file (YAML or JSON, one or many documents, or a v1 List); `-` or absent reads stdin.
    #[arg(short = 'f', long = "file", env = "SEALANT_FILE", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Output format; defaults to the input's format.
    #[arg(short = 'o', long = "format", env = "SEALANT_FORMAT", value_enum, ignore_case = true)]
    pub format: Option<OutputFormat>,
    /// Write the output to FILE (atomically: a temporary file renamed into place) instead of stdout.
    #[arg(short = 'w', long = "output", env = "SEALANT_OUTPUT", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `sealant seal`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sealant seal --cert keys/prod/current.crt -f secret.yaml -w sealed.yaml
  kubectl create secret generic db --dry-run=client -o yaml --from-file=./pw | sealant seal --cert c.pem
  sealant seal --cert cert.pem --raw -n prod --name db --from-file=./password
  sealant seal --cert cert.pem -f new-item.yaml --merge-into sealed.yaml")]
pub struct SealArgs {
    /// Certificate to seal to: a PEM file, or an http(s):// or file:// URL (e.g. the controller's /v1/cert.pem).
    #[arg(long, env = "SEALANT_CERT", value_name = "FILE|URL", conflicts_with = "clusters")]
    pub cert: Option<String>,
    /// Seal to the current key of this cluster (`keys/<cluster>/current`). Repeat it to write one SealedSecret
    /// per cluster: `-w` must then contain `{cluster}` (e.g. `overlays/{cluster}/db.yaml`).
    #[arg(
        long = "cluster",
        env = "SEALANT_CLUSTER",
        value_name = "NAME",
        value_delimiter = ',',
        value_parser = dns_label
    )]
    pub clusters: Vec<String>,
    /// The repository's key directory: certificates per cluster, and which keys are retired or compromised
    /// (sealing to those is refused).
    #[arg(
        long = "keys-dir",
        env = "SEALANT_KEYS_DIR",
        value_name = "DIR",
        default_value = "keys"
    )]
    pub keys_dir: PathBuf,
    #[command(flatten)]
    pub io: Io,
    /// Scope to seal for; by default the Secret's own scope annotations decide (strict when none).
    #[arg(long, env = "SEALANT_SCOPE", value_enum)]
    pub scope: Option<ScopeArg>,
    /// Namespace: fills in a Secret that has none, and must match one that has.
    #[arg(short = 'n', long, env = "SEALANT_NAMESPACE")]
    pub namespace: Option<String>,
    /// Namespace for Secrets without one, never checked against a declared one (kubeseal mode: the
    /// kubeconfig context's namespace).
    #[arg(skip)]
    pub default_namespace: Option<String>,
    /// Name: overrides every input Secret's name; with --raw, the name the value is sealed for.
    #[arg(long, env = "SEALANT_NAME")]
    pub name: Option<String>,
    /// Seal one raw value and print only its base64 ciphertext (for hand-editing `encryptedData`).
    #[arg(long, env = "SEALANT_RAW")]
    pub raw: bool,
    /// With --raw: read the value from FILE (a `key=` prefix is accepted and ignored).
    #[arg(
        long = "from-file",
        env = "SEALANT_FROM_FILE",
        value_name = "[KEY=]FILE",
        requires = "raw"
    )]
    pub from_file: Vec<String>,
    /// With --raw: the value itself. It is visible in `ps` and shell history: prefer --from-file or stdin.
    #[arg(
        long = "from-literal",
        value_name = "VALUE",
        requires = "raw",
        conflicts_with = "from_file"
    )]
    pub from_literal: Option<String>,
    /// Add the sealed items to this existing SealedSecret file, in place, keeping its comments and layout.
    #[arg(
        long = "merge-into",
        env = "SEALANT_MERGE_INTO",
        value_name = "FILE",
        conflicts_with = "raw"
    )]
    pub merge_into: Option<PathBuf>,
    /// Accept Secrets without any item.
    #[arg(long = "allow-empty-data", env = "SEALANT_ALLOW_EMPTY_DATA")]
    pub allow_empty_data: bool,
    /// Certificate fingerprints (`SHA256:…`) you have checked; sealing to a certificate picked from keys/ by
    /// `.sealant.yaml` that is not among them prints a warning.
    #[arg(
        long = "trust-cert",
        env = "SEALANT_TRUST_CERT",
        value_name = "SHA256:…",
        value_delimiter = ','
    )]
    pub trust_cert: Vec<String>,
    /// The `.sealant.yaml` the certificate was picked by, when it was (set while running).
    #[arg(skip)]
    pub from_config: Option<PathBuf>,
}

/// Private keys to unseal with: key files, or the repository's age-encrypted escrow and an age identity.
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// Private key file: PEM (PKCS#1 or PKCS#8), a controller key Secret, or a v1 List backup of them
    /// (`kubectl get secret -n kube-system -l sealedsecrets.bitnami.com/sealed-secrets-key -o yaml`).
    /// Repeat it or separate with commas; every key is tried.
    #[arg(
        long = "key",
        env = "SEALANT_KEY",
        value_name = "FILE",
        value_delimiter = ',',
        required_unless_present = "age_identity"
    )]
    pub keys: Vec<PathBuf>,
    /// age identity file (`AGE-SECRET-KEY-1…`): every `keys/<cluster>/*.key.age` it opens is used (no cluster
    /// needed).
    #[arg(long = "age-identity", env = "SEALANT_AGE_IDENTITY", value_name = "FILE")]
    pub age_identity: Option<PathBuf>,
    /// The directory holding the escrowed keys, for `--age-identity`.
    #[arg(
        long = "keys-dir",
        env = "SEALANT_KEYS_DIR",
        value_name = "DIR",
        default_value = "keys"
    )]
    pub keys_dir: PathBuf,
}

/// `sealant unseal`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sealant unseal --key backup.yaml -f sealed.yaml -w recovered.yaml
  sealant unseal --key tls.key -f sealed.yaml --force        # print plaintext to the terminal")]
pub struct UnsealArgs {
    #[command(flatten)]
    pub keys: KeyArgs,
    #[command(flatten)]
    pub io: Io,
    /// Print plaintext even when stdout is a terminal.
    #[arg(long, env = "SEALANT_FORCE")]
    pub force: bool,
}

/// `sealant verify`.
#[derive(Debug, Args)]
#[command(after_help = "Exit status: 0 when every item of every SealedSecret decrypts, 1 otherwise.")]
pub struct VerifyArgs {
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Input file; `-` or absent reads stdin.
    #[arg(short = 'f', long = "file", env = "SEALANT_FILE", value_name = "FILE")]
    pub file: Option<PathBuf>,
}

/// `sealant keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a new key pair shaped like the controller's (for development and tests).
    New(KeysNewArgs),
    /// Print the SHA256 fingerprint of a certificate, private key or key Secret.
    Fingerprint(KeysFingerprintArgs),
    /// List the certificates under keys/: cluster, fingerprint, age, state, escrow, SealedSecrets using each.
    List(crate::cmd::keys::list::KeysListArgs),
    /// Fetch a cluster's sealing certificate into keys/<cluster>/ and make it current.
    Fetch(crate::cmd::keys::fetch::KeysFetchArgs),
    /// Mark a key retired: nothing may be sealed to it; what is sealed to it should be re-sealed.
    Retire(crate::cmd::keys::state::KeysStateArgs),
    /// Mark a key compromised: the values sealed to it must be regenerated.
    Compromise(crate::cmd::keys::state::KeysStateArgs),
    /// Escrow the controller's private keys, age-encrypted, into keys/<cluster>/*.key.age.
    Backup(crate::cmd::keys::backup::KeysBackupArgs),
    /// Recreate the controller's key Secrets from keys/<cluster>/*.key.age with an age identity.
    Restore(crate::cmd::keys::restore::KeysRestoreArgs),
}

/// `sealant keys new`.
#[derive(Debug, Args)]
pub struct KeysNewArgs {
    /// Directory to write `tls.crt`, `tls.key` (mode 0600) and `key-secret.yaml` (mode 0600) into.
    #[arg(long, env = "SEALANT_OUT", value_name = "DIR")]
    pub out: PathBuf,
    /// RSA key size in bits.
    #[arg(long, env = "SEALANT_BITS", default_value_t = 4096, value_parser = parse_bits)]
    pub bits: usize,
    /// Namespace written into the key Secret (the controller's namespace).
    #[arg(long, env = "SEALANT_CONTROLLER_NAMESPACE", default_value = "kube-system", value_parser = dns_label)]
    pub controller_namespace: String,
    /// Replace existing files. Its own variable, `SEALANT_OVERWRITE`: `SEALANT_FORCE` lets `unseal` and
    /// `keys restore` print plaintext to a terminal, and one export must not switch on both.
    #[arg(long, env = "SEALANT_OVERWRITE")]
    pub force: bool,
}

/// `sealant keys fingerprint`.
#[derive(Debug, Args)]
pub struct KeysFingerprintArgs {
    /// Certificate, private key (PEM), key Secret or v1 List backup.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

fn parse_bits(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(bits @ (2048 | 3072 | 4096 | 8192)) => Ok(bits),
        _ => Err("must be one of: 2048, 3072, 4096, 8192".to_string()),
    }
}

/// A namespace or cluster name: a DNS-1123 label (lowercase letters, digits and `-`, at most 63 characters,
/// starting and ending with a letter or digit).
///
/// Why checked at the flag: these names are written into YAML (`keys new`, `keys restore -w`) and paths
/// (`keys/<cluster>/`); a newline or a `/` would inject keys into the YAML or leave the directory.
pub fn dns_label(s: &str) -> Result<String, String> {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let ok = s.len() <= 63
        && edge(s.chars().next())
        && edge(s.chars().last())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(s.to_string())
    } else {
        Err(
            "want lowercase letters, digits and '-', at most 63 characters, starting and ending with a letter or digit"
                .into(),
        )
    }
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
            ("sealant lint", "list-rules", None),
            ("sealant seal", "from-literal", None),
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
