//! `sealant seal`: its flags.

use std::path::PathBuf;

use clap::Args;

use crate::shared::{Io, ScopeArg, dns_label};

/// `sealant seal`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sealant seal --cert keys/prod/current.crt -f secret.yaml -w sealed.yaml
  kubectl create secret generic db --dry-run=client -o yaml --from-file=./pw | sealant seal --cert c.pem
  sealant seal --cert cert.pem --raw -n prod --name db --from-file=./password
  sealant seal --cert cert.pem -f new-item.yaml --merge-into sealed.yaml
  sealant seal --cluster prod -n web --name db --generate password --generate api-key=hex:32 -w db.yaml")]
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
    /// Input and output.
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
    /// Add an item with a new random value: `ITEM` (32 random bytes in base64, as `openssl rand -base64 32`) or
    /// `ITEM=GENERATOR`: `base64:N` or `hex:N` (N random bytes), `alnum:N` (N characters), `uuid`. The value is
    /// made here and sealed at once: it never reaches a disk, argv or a terminal. The SealedSecret is annotated
    /// `sealant.dev/generate.<item>`, so `sealant rotate` makes a new value when it is due. Without -f, a new
    /// Secret (--name, --namespace) holds only the generated items.
    #[arg(
        long = "generate",
        env = "SEALANT_GENERATE",
        value_name = "ITEM[=GENERATOR]",
        value_delimiter = ',',
        conflicts_with_all = ["raw", "merge_into"]
    )]
    pub generate: Vec<String>,
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
    /// Names checked as kubeseal checks them (kubeseal mode), with a warning where the API server would refuse.
    #[arg(skip)]
    pub upstream_names: bool,
    /// The `.sealant.yaml` the certificate was picked by, when it was (set while running).
    #[arg(skip)]
    pub from_config: Option<PathBuf>,
}
