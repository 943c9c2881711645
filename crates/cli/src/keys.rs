//! `sealant keys …`: the subcommands and their flags.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use crate::shared::{AuditArgs, KubeArgs, dns_label};

/// `sealant keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a new key pair shaped like the controller's (for development and tests).
    New(KeysNewArgs),
    /// Print the SHA256 fingerprint of a certificate, private key or key Secret.
    Fingerprint(KeysFingerprintArgs),
    /// List the certificates under keys/: cluster, fingerprint, age, state, escrow, SealedSecrets using each.
    List(KeysListArgs),
    /// Fetch a cluster's sealing certificate into keys/<cluster>/ and make it current.
    Fetch(KeysFetchArgs),
    /// Mark a key retired: nothing may be sealed to it; what is sealed to it should be re-sealed.
    Retire(KeysStateArgs),
    /// Mark a key compromised: the values sealed to it must be regenerated.
    Compromise(KeysStateArgs),
    /// Escrow the controller's private keys, age-encrypted, into keys/<cluster>/*.key.age.
    Backup(KeysBackupArgs),
    /// Recreate the controller's key Secrets from keys/<cluster>/*.key.age with an age identity.
    Restore(KeysRestoreArgs),
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
    /// The audit log.
    #[command(flatten)]
    pub audit: AuditArgs,
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

/// `sealant keys backup`.
#[derive(Debug, Args)]
pub struct KeysBackupArgs {
    /// The cluster the keys belong to: files go to `keys/<cluster>/`.
    #[arg(long, env = "SEALANT_CLUSTER", value_parser = dns_label)]
    pub cluster: String,
    /// An age public key (`age1…`) to encrypt to; repeat it or separate with commas. Public keys only.
    #[arg(long = "recipient", env = "SEALANT_ESCROW_RECIPIENTS", value_delimiter = ',')]
    pub recipients: Vec<String>,
    /// A file of age public keys, one per line (`#` comments), as `age -R` reads.
    #[arg(
        long = "recipients-file",
        env = "SEALANT_ESCROW_RECIPIENTS_FILE",
        value_name = "FILE"
    )]
    pub recipients_file: Option<PathBuf>,
    /// Read the key Secrets from this file (`kubectl get secret -l sealedsecrets.bitnami.com/sealed-secrets-key
    /// -o yaml`) instead of from the cluster.
    #[arg(long = "key-secrets", env = "SEALANT_KEY_SECRETS", value_name = "FILE")]
    pub key_secrets: Option<PathBuf>,
    /// The controller's namespace, where its key Secrets are (when reading the cluster).
    #[arg(long, env = "SEALANT_CONTROLLER_NAMESPACE", default_value = "kube-system", value_parser = dns_label)]
    pub controller_namespace: String,
    /// The cluster's API server (for the routes through it).
    #[command(flatten)]
    pub kube: KubeArgs,
    /// The GitOps repository holding `keys/`.
    #[arg(long, env = "SEALANT_REPO", default_value = ".", value_name = "DIR")]
    pub repo: PathBuf,
    /// The audit log.
    #[command(flatten)]
    pub audit: AuditArgs,
}

/// `sealant keys fetch`.
#[derive(Debug, Args)]
pub struct KeysFetchArgs {
    /// The cluster's name: the certificate goes to `keys/<cluster>/`.
    #[arg(long, env = "SEALANT_CLUSTER", value_parser = dns_label)]
    pub cluster: String,
    /// Where the certificate is: a file or an http(s) URL (e.g. the controller's `/v1/cert.pem`). Without it,
    /// the controller is asked through the API server (--kubeconfig, --context).
    #[arg(long, env = "SEALANT_CERT", value_name = "FILE|URL")]
    pub cert: Option<String>,
    /// The controller's namespace (for the API server route).
    #[arg(long, env = "SEALANT_CONTROLLER_NAMESPACE", default_value = "kube-system", value_parser = dns_label)]
    pub controller_namespace: String,
    /// The controller's Service name (for the API server route).
    #[arg(long, env = "SEALANT_CONTROLLER_NAME", default_value = "sealed-secrets-controller")]
    pub controller_name: String,
    /// Also commit the escrowed private keys (`*.key.age`): from the controller's `GET /v1/escrow` URL, a file
    /// holding that JSON, or `configmap` (the escrow ConfigMap, read through the API server).
    #[arg(long, env = "SEALANT_ESCROW", value_name = "URL|FILE|configmap")]
    pub escrow: Option<String>,
    /// The escrow ConfigMap's name (with `--escrow configmap`).
    #[arg(long, env = "SEALANT_ESCROW_CONFIGMAP", default_value = "sealant-key-escrow")]
    pub escrow_configmap: String,
    /// Do not make it the key new secrets are sealed to.
    #[arg(long, env = "SEALANT_NO_CURRENT")]
    pub no_current: bool,
    /// The cluster's API server (for the routes through it).
    #[command(flatten)]
    pub kube: KubeArgs,
    /// The GitOps repository holding `keys/`.
    #[arg(long, env = "SEALANT_REPO", default_value = ".", value_name = "DIR")]
    pub repo: PathBuf,
}

/// `sealant keys list`.
#[derive(Debug, Args)]
pub struct KeysListArgs {
    /// The GitOps repository: its `keys/` directory and the SealedSecrets that name a key.
    #[arg(long, env = "SEALANT_REPO", default_value = ".", value_name = "DIR")]
    pub repo: PathBuf,
    /// Output format.
    #[arg(
        short = 'o',
        long = "format",
        env = "SEALANT_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub format: ListFormat,
}

/// `keys list` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// An aligned table.
    Text,
    /// A JSON array, one object per key.
    Json,
}

/// `sealant keys restore`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sealant keys restore --cluster prod --age-identity ~/break-glass.txt --fingerprint SHA256:… --apply
  sealant keys restore --cluster prod --age-identity ~/break-glass.txt --all -w keys.yaml   # mode 0600")]
pub struct KeysRestoreArgs {
    /// The cluster whose escrowed keys to restore (`keys/<cluster>/*.key.age`).
    #[arg(long, env = "SEALANT_CLUSTER", value_parser = dns_label)]
    pub cluster: String,
    /// age identity file (`AGE-SECRET-KEY-1…`) that opens the escrow files.
    #[arg(long = "age-identity", env = "SEALANT_AGE_IDENTITY", value_name = "FILE")]
    pub age_identity: PathBuf,
    /// Namespace of the controller the key Secrets are for.
    #[arg(long, env = "SEALANT_CONTROLLER_NAMESPACE", default_value = "kube-system", value_parser = dns_label)]
    pub controller_namespace: String,
    /// Create the key Secrets in the cluster (--kubeconfig, --context); existing ones are left alone.
    #[arg(long, env = "SEALANT_APPLY", conflicts_with = "output")]
    pub apply: bool,
    /// Write the key Secrets (a YAML stream) to FILE, mode 0600, instead of stdout. Read from the command line
    /// only: an exported SEALANT_OUTPUT must never receive private keys.
    #[arg(short = 'w', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Fingerprints (`SHA256:…`, as `sealant keys list` shows them) of the keys to restore; repeat it or separate
    /// with commas. The keys you expect back: anyone who can commit to keys/ can escrow a key of their own.
    #[arg(
        long = "fingerprint",
        env = "SEALANT_FINGERPRINT",
        value_name = "SHA256:…",
        value_delimiter = ','
    )]
    pub fingerprints: Vec<String>,
    /// Restore every escrowed key of the cluster (each is listed), instead of the ones --fingerprint names.
    #[arg(long, env = "SEALANT_ALL", conflicts_with = "fingerprints")]
    pub all: bool,
    /// Print the key Secrets even when stdout is a terminal.
    #[arg(long, env = "SEALANT_FORCE")]
    pub force: bool,
    /// The cluster's API server (for the routes through it).
    #[command(flatten)]
    pub kube: KubeArgs,
    /// The GitOps repository holding `keys/`.
    #[arg(long, env = "SEALANT_REPO", default_value = ".", value_name = "DIR")]
    pub repo: PathBuf,
    /// The audit log.
    #[command(flatten)]
    pub audit: AuditArgs,
}

/// `sealant keys retire` / `sealant keys compromise`.
#[derive(Debug, Args)]
pub struct KeysStateArgs {
    /// The key's fingerprint (`SHA256:…`, as `sealant keys list` shows it).
    #[arg(value_name = "FINGERPRINT")]
    pub fingerprint: String,
    /// Why, recorded in `keys/<cluster>/state.yaml`.
    #[arg(long, env = "SEALANT_REASON")]
    pub reason: Option<String>,
    /// The GitOps repository holding `keys/`.
    #[arg(long, env = "SEALANT_REPO", default_value = ".", value_name = "DIR")]
    pub repo: PathBuf,
}
