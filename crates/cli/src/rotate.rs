//! `sealant rotate`: its flags.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use time::OffsetDateTime;

use crate::shared::AuditArgs;

/// `sealant rotate`.
#[derive(Debug, Args)]
#[command(
    after_help = "Credentials are read from files or the environment, never from the command line:
  SEALANT_GIT_TOKEN / --git-token-file     HTTPS token for push (user: --git-user)
  --ssh-key FILE                           SSH private key for push
  SEALANT_FORGE_TOKEN / --forge-token-file token for the forge API

Examples:
  sealant rotate --dry-run
  sealant rotate --age-identity /run/secrets/break-glass.txt --forge github --forge-repo org/gitops
  sealant rotate --clone https://git.example/org/gitops.git --controller"
)]
pub struct RotateArgs {
    /// The repository's work tree (ignored with --clone).
    #[arg(long, default_value = ".", value_name = "DIR", env = "SEALANT_REPO")]
    pub repo: PathBuf,
    /// Clone this URL into a temporary directory first (the CronJob way).
    #[arg(long, value_name = "URL", env = "SEALANT_CLONE")]
    pub clone: Option<String>,
    /// The branch to rotate and to open the pull request against (default: forge.base, else the checked-out
    /// branch).
    #[arg(long, value_name = "BRANCH", env = "SEALANT_BASE")]
    pub base: Option<String>,
    /// The remote to push to.
    #[arg(long, default_value = "origin", env = "SEALANT_REMOTE")]
    pub remote: String,
    /// Print the plan and stop.
    #[arg(long, env = "SEALANT_DRY_RUN")]
    pub dry_run: bool,
    /// Plan output format.
    #[arg(short = 'o', long = "output", env = "SEALANT_OUTPUT", value_enum, default_value_t = PlanFormat::Table)]
    pub format: PlanFormat,
    /// Commit on the local branch but do not push or open a pull request.
    #[arg(long, env = "SEALANT_NO_PUSH")]
    pub no_push: bool,
    /// Private key file(s) for offline re-sealing (as `sealant unseal --key`).
    #[arg(long = "key", env = "SEALANT_KEY", value_name = "FILE", value_delimiter = ',')]
    pub keys: Vec<PathBuf>,
    /// age identity file opening the escrowed keys under keys/, for offline re-sealing.
    #[arg(long = "age-identity", env = "SEALANT_AGE_IDENTITY", value_name = "FILE")]
    pub age_identity: Option<PathBuf>,
    /// Re-seal through each cluster's controller (`/v1/rotate`, as `.sealant.yaml` clusters[].controller says).
    #[arg(long, env = "SEALANT_CONTROLLER")]
    pub controller: bool,
    /// The controller's URL, for a repository with one cluster (instead of the API server's service proxy).
    #[arg(long, env = "SEALANT_CONTROLLER_URL", value_name = "URL")]
    pub controller_url: Option<String>,
    /// The controllers' namespace (their Services, through the API server's service proxy): `NAMESPACE` for every
    /// cluster, or `CLUSTER=NAMESPACE` (repeat it, or separate with commas). Wins over `.sealant.yaml`, and a file
    /// that names another is refused. Only a Service the flags name can bring a renewed certificate.
    #[arg(
        long,
        env = "SEALANT_CONTROLLER_NAMESPACE",
        value_name = "[CLUSTER=]NAMESPACE",
        value_delimiter = ',',
        value_parser = per_cluster_label
    )]
    pub controller_namespace: Vec<String>,
    /// The controllers' Service name, for every cluster; wins over `.sealant.yaml` (see --controller-namespace).
    #[arg(long, env = "SEALANT_CONTROLLER_NAME", value_name = "NAME")]
    pub controller_name: Option<String>,
    /// kubeconfig for the service proxy (default: KUBECONFIG, ~/.kube/config, in-cluster).
    #[arg(long, env = "KUBECONFIG", value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context of a cluster, `CLUSTER=CONTEXT` (repeat it, or separate with commas); a bare
    /// `CONTEXT` is for every cluster not named. Wins over `.sealant.yaml` clusters[].context, and a file that
    /// names another is refused.
    #[arg(
        long = "context",
        env = "SEALANT_CONTEXT",
        value_name = "[CLUSTER=]CONTEXT",
        value_delimiter = ','
    )]
    pub contexts: Vec<String>,
    /// Forge for the pull request: github, gitlab, gitea, or none (default: forge.kind in .sealant.yaml).
    #[arg(long, value_name = "KIND", env = "SEALANT_FORGE")]
    pub forge: Option<String>,
    /// The forge's API URL (default: the public service's). Never read from `.sealant.yaml`: where the token goes
    /// is not the repository's to say.
    #[arg(long, env = "SEALANT_FORGE_URL", value_name = "URL")]
    pub forge_url: Option<String>,
    /// The forge repository, owner/name. Never read from `.sealant.yaml` (see --forge-url).
    #[arg(long, env = "SEALANT_FORGE_REPO", value_name = "OWNER/NAME")]
    pub forge_repo: Option<String>,
    /// The login the job's pull requests are opened as; only those are reused (default: the token's user, from
    /// the forge's `GET /user`). GitHub's `GITHUB_TOKEN` cannot read `/user`: give `github-actions[bot]`.
    #[arg(long, env = "SEALANT_FORGE_USER", value_name = "LOGIN")]
    pub forge_user: Option<String>,
    /// File holding the forge token (else SEALANT_FORGE_TOKEN).
    #[arg(long, value_name = "FILE", env = "SEALANT_FORGE_TOKEN_FILE")]
    pub forge_token_file: Option<PathBuf>,
    /// File holding the HTTPS git token (else SEALANT_GIT_TOKEN).
    #[arg(long, value_name = "FILE", env = "SEALANT_GIT_TOKEN_FILE")]
    pub git_token_file: Option<PathBuf>,
    /// User name for the HTTPS git token (GitHub: x-access-token, GitLab: oauth2, Gitea: the token's owner).
    #[arg(long, env = "SEALANT_GIT_USER", default_value = "x-access-token")]
    pub git_user: String,
    /// SSH private key file for push.
    #[arg(long, value_name = "FILE", env = "SEALANT_SSH_KEY")]
    pub ssh_key: Option<PathBuf>,
    /// Log format: text on a terminal and JSON lines otherwise (CronJob and CI logs), unless set.
    #[arg(long, value_enum, default_value_t = LogFormat::Auto, env = "SEALANT_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// Certificates new values may be sealed to: `CLUSTER=SHA256:…`, or a bare `SHA256:…` for a certificate that
    /// sits under one cluster only. A certificate under keys/ is a target only when pinned here (or in
    /// --trust-file), or confirmed by the live controller (--controller): a repository writer must not be able to
    /// name the key that every rotated value is sealed to.
    #[arg(
        long = "trust-cert",
        env = "SEALANT_TRUST_CERT",
        value_name = "[CLUSTER=]SHA256:…",
        value_delimiter = ','
    )]
    pub trust_cert: Vec<String>,
    /// A file of pins (as --trust-cert), one per line (`#` starts a comment), e.g. mounted from a Secret or
    /// ConfigMap that repository writers cannot change.
    #[arg(long = "trust-file", env = "SEALANT_TRUST_FILE", value_name = "FILE")]
    pub trust_file: Option<PathBuf>,
    /// Only these files or directories (relative to the repository root), or one item of a file: `PATH:ITEM`.
    /// Repeat it or separate with commas.
    #[arg(
        long = "only",
        env = "SEALANT_ONLY",
        value_name = "PATH[:ITEM]",
        value_delimiter = ','
    )]
    pub only: Vec<String>,
    /// Rotate what --only selects now, whatever its age: generated items get a new value, external ones are
    /// listed for a human. Read from the command line only: an exported variable must not force every run.
    #[arg(long, requires = "only")]
    pub force: bool,
    /// Treat this key as compromised from this run on (as `sealant keys compromise` records it): every
    /// generated item sealed to it gets a new value and every other item is re-sealed now, in one pull request
    /// marked urgent that lists the values a human must change at their source. Repeat it or separate with
    /// commas.
    #[arg(
        long = "compromised",
        env = "SEALANT_COMPROMISED",
        value_name = "SHA256:…",
        value_delimiter = ','
    )]
    pub compromised: Vec<String>,
    /// The time the run pretends it is (RFC 3339), for tests and what-if plans.
    #[arg(long, hide = true, value_parser = crate::shared::parse_time)]
    pub now: Option<OffsetDateTime>,
    /// The audit log.
    #[command(flatten)]
    pub audit: AuditArgs,
}

/// `NAMESPACE` or `CLUSTER=NAMESPACE`, each part a DNS label.
fn per_cluster_label(s: &str) -> Result<String, String> {
    match s.split_once('=') {
        Some((cluster, namespace)) => {
            crate::shared::dns_label(cluster)?;
            crate::shared::dns_label(namespace)?;
        }
        None => {
            crate::shared::dns_label(s)?;
        }
    }
    Ok(s.to_string())
}

/// How `--dry-run` prints the plan.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PlanFormat {
    /// A table.
    Table,
    /// JSON.
    Json,
}

/// How the run's progress lines are logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Text on a terminal, JSON otherwise.
    Auto,
    /// One plain line per event.
    Text,
    /// One JSON object per event (timestamp, level, message, fields).
    Json,
}
