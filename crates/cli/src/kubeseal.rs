//! `kubeseal` mode: upstream's flags, with the same names, defaults and environment variables.

use std::path::PathBuf;

use clap::{ArgAction, Parser};

use crate::shared::ScopeArg;

/// kubeseal's flags (spec 4.2), with the same names, defaults and environment variables.
#[derive(Debug, Parser)]
// `args_override_self`: pflag keeps the last of a repeated flag (`--kubeconfig a --kubeconfig b`); so does this.
#[command(
    name = "kubeseal",
    version,
    disable_version_flag = true,
    term_width = 100,
    args_override_self = true
)]
pub struct Kubeseal {
    /// Certificate / public key file/URL to use for encryption. Overrides --controller-*
    #[arg(long, env = "SEALED_SECRETS_CERT", default_value = "")]
    pub cert: String,
    /// Namespace of sealed-secrets controller.
    #[arg(long, env = "SEALED_SECRETS_CONTROLLER_NAMESPACE", default_value = "kube-system")]
    pub controller_namespace: String,
    /// Name of sealed-secrets controller.
    #[arg(
        long,
        env = "SEALED_SECRETS_CONTROLLER_NAME",
        default_value = "sealed-secrets-controller"
    )]
    pub controller_name: String,
    /// Output format for sealed secret. Either json or yaml
    #[arg(short = 'o', long = "format", env = "SEALED_SECRETS_FORMAT", default_value = "json")]
    pub format: String,
    /// Sealed-secret (output) file
    #[arg(short = 'w', long = "sealed-secret-file", env = "SEALED_SECRETS_SEALED_SECRET_FILE")]
    pub sealed_secret_file: Option<PathBuf>,
    /// Secret (input) file
    #[arg(short = 'f', long = "secret-file", env = "SEALED_SECRETS_SECRET_FILE")]
    pub secret_file: Option<PathBuf>,
    /// Write certificate to stdout. Useful for later use with --cert
    #[arg(long, env = "SEALED_SECRETS_FETCH_CERT")]
    pub fetch_cert: bool,
    /// Allow empty data in the secret object
    #[arg(long, env = "SEALED_SECRETS_ALLOW_EMPTY_DATA")]
    pub allow_empty_data: bool,
    /// Validate given sealed secret object
    #[arg(long, env = "SEALED_SECRETS_VALIDATE")]
    pub validate: bool,
    /// Merge items from secret into an existing sealed secret file, updating the file in-place instead of
    /// writing to stdout.
    #[arg(long, env = "SEALED_SECRETS_MERGE_INTO")]
    pub merge_into: Option<PathBuf>,
    /// Encrypt a raw value passed via the --from-* flags instead of the whole secret object
    #[arg(long, env = "SEALED_SECRETS_RAW")]
    pub raw: bool,
    /// Name of the sealed secret (required with --raw and default (strict) scope)
    #[arg(long, env = "SEALED_SECRETS_NAME")]
    pub name: Option<String>,
    /// (only with --raw) Secret items can be sourced from files. Pairs of key=file
    #[arg(long = "from-file", env = "SEALED_SECRETS_FROM_FILE", value_delimiter = ',', action = ArgAction::Append)]
    pub from_file: Vec<String>,
    /// Set the scope of the sealed secret: strict, namespace-wide, cluster-wide (defaults to strict).
    #[arg(long, env = "SEALED_SECRETS_SCOPE", default_value = "strict", value_parser = parse_scope)]
    pub scope: ScopeArg,
    /// Re-encrypt the given sealed secret to use the latest cluster key.
    #[arg(long = "re-encrypt", visible_alias = "rotate", env = "SEALED_SECRETS_RE_ENCRYPT")]
    pub re_encrypt: bool,
    /// Decrypt a sealed secrets file obtaining the original secret resource
    #[arg(long = "recovery-unseal", env = "SEALED_SECRETS_RECOVERY_UNSEAL")]
    pub recovery_unseal: bool,
    /// Private key filename used by the --recovery-unseal command. Multiple files accepted either via comma
    /// separated list or by repetition of the flag.
    #[arg(long = "recovery-private-key", env = "SEALED_SECRETS_RECOVERY_PRIVATE_KEY", value_delimiter = ',', action = ArgAction::Append)]
    pub recovery_private_key: Vec<PathBuf>,
    /// Path to a kube config. Only required if out-of-cluster
    #[arg(long, env = "SEALED_SECRETS_KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// The name of the kubeconfig context to use
    #[arg(long, env = "SEALED_SECRETS_CONTEXT")]
    pub context: Option<String>,
    /// If present, the namespace scope for this CLI request
    #[arg(short = 'n', long, env = "SEALED_SECRETS_NAMESPACE")]
    pub namespace: Option<String>,
    /// Print the version (as `kubeseal version: …`).
    #[arg(long)]
    pub version: bool,
}

fn parse_scope(s: &str) -> Result<ScopeArg, String> {
    match s {
        "" | "strict" => Ok(ScopeArg::Strict),
        "namespace-wide" => Ok(ScopeArg::NamespaceWide),
        "cluster-wide" => Ok(ScopeArg::ClusterWide),
        _ => Err("must be one of: strict, namespace-wide, cluster-wide".into()),
    }
}
