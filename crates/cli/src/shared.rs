//! Flag groups and value types several commands share: input and output, private keys, scope, format, and the
//! check every namespace or cluster name passes.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use sealant_core::Scope;

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

/// Input and output of the commands that write plaintext (`unseal`): as [`Io`], but `-w` reads no environment
/// variable.
///
/// Why: an exported `SEALANT_OUTPUT` meant for `seal` (say `sealed.yaml`) would otherwise make `unseal -f
/// sealed.yaml` write the plaintext over the very file that gets committed.
#[derive(Debug, Args)]
pub struct SecretIo {
    /// Input file (YAML or JSON, one or many documents, or a v1 List); `-` or absent reads stdin.
    #[arg(short = 'f', long = "file", env = "SEALANT_FILE", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Output format; defaults to the input's format.
    #[arg(short = 'o', long = "format", env = "SEALANT_FORMAT", value_enum, ignore_case = true)]
    pub format: Option<OutputFormat>,
    /// Write the plaintext to FILE (mode 0600, atomically) instead of stdout. Read from the command line only.
    #[arg(short = 'w', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
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

/// Where a command that decrypts or handles private keys records that it did.
#[derive(Debug, Clone, Default, Args)]
pub struct AuditArgs {
    /// Append one JSON line to FILE (created 0600) saying who ran this command on which files, SealedSecrets,
    /// items and keys, and how it ended — never a value. A FILE that cannot be written stops the command before
    /// it decrypts anything.
    #[arg(long = "audit-log", env = "SEALANT_AUDIT_LOG", value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
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

/// Which cluster a command talks to through the API server.
#[derive(Debug, Clone, Default, Args)]
pub struct KubeArgs {
    /// kubeconfig file (default: KUBECONFIG, ~/.kube/config, in-cluster).
    #[arg(long, env = "KUBECONFIG", value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: its current context).
    #[arg(long, env = "SEALANT_CONTEXT", value_name = "NAME")]
    pub context: Option<String>,
}

/// An RFC 3339 time, for the hidden `--now` flags (tests and what-if runs).
pub fn parse_time(s: &str) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).map_err(|e| e.to_string())
}
