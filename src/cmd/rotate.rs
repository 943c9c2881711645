//! `sealant rotate`: the rotation job. Plans what is due in a GitOps repository, regenerates or re-seals it,
//! commits on `sealant/rotate-<date>` without touching the work tree, pushes, and opens (or updates) one pull
//! request. Safe to interrupt: nothing reaches the remote before the push, and the push is the last git step.

use std::path::PathBuf;

use anyhow::{Result, anyhow};
use clap::{Args, ValueEnum};
use sealant_core::Keyring;
use sealant_rotate::git::{self, Credentials};
use sealant_rotate::pipeline::{self, Publish, Request};
use sealant_rotate::report;
use sealant_rotate::resealer::{Offline, Resealer, ThroughControllers};
use sealant_rotate::setup::{self, ControllerFlags, ForgeFlags};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::args::KeyArgs;

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
    /// The controllers' namespace (their Services, through the API server's service proxy), for every cluster;
    /// wins over `.sealant.yaml`, and a file that names another is refused.
    #[arg(long, env = "SEALANT_CONTROLLER_NAMESPACE", value_name = "NAMESPACE", value_parser = crate::args::dns_label)]
    pub controller_namespace: Option<String>,
    /// The controllers' Service name, for every cluster; wins over `.sealant.yaml` (see --controller-namespace).
    #[arg(long, env = "SEALANT_CONTROLLER_NAME", value_name = "NAME")]
    pub controller_name: Option<String>,
    /// kubeconfig for the service proxy (default: KUBECONFIG, ~/.kube/config, in-cluster).
    #[arg(long, env = "KUBECONFIG", value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
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
    /// The time the run pretends it is (RFC 3339), for tests and what-if plans.
    #[arg(long, hide = true, value_parser = parse_time)]
    pub now: Option<OffsetDateTime>,
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

/// Progress lines go to stderr: plain on a terminal, JSON lines for log collectors (unless the flag says).
fn init_logging(format: LogFormat) {
    use std::io::IsTerminal as _;
    sealant_rotate::report::init_logging(match format {
        LogFormat::Auto => !std::io::stderr().is_terminal(),
        LogFormat::Text => false,
        LogFormat::Json => true,
    });
}

fn parse_time(s: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|e| e.to_string())
}

/// Runs the command: flags to a [`pipeline::plan`], the plan printed, then [`pipeline::propose`].
pub fn run(args: RotateArgs) -> Result<()> {
    init_logging(args.log_format);
    let now = args.now.unwrap_or_else(OffsetDateTime::now_utc);
    let creds = Credentials {
        user: args.git_user.clone(),
        token: setup::token(args.git_token_file.as_deref(), "SEALANT_GIT_TOKEN")?,
        ssh_key: args.ssh_key.clone(),
    };
    let _clone_dir;
    let repo = match &args.clone {
        Some(url) => {
            let dir = tempfile::Builder::new().prefix("sealant-rotate-").tempdir()?;
            let shown = git::redact_url(url);
            tracing::info!(url = %shown, "cloning {shown}");
            let repo = git::clone(url, dir.path(), &creds)?;
            _clone_dir = dir;
            repo
        }
        None => git::open(&args.repo)?,
    };
    let root = repo
        .workdir()
        .ok_or_else(|| anyhow!("the repository has no work tree"))?
        .to_path_buf();
    let keyring = offline_keyring(&args, &root)?;
    let request = Request {
        base: args.base.clone(),
        remote: args.remote.clone(),
        now,
        keyring: keyring.as_ref(),
    };
    let mut planned = pipeline::plan(&repo, &request)?;
    let unpinned = setup::pins(&args.trust_cert, args.trust_file.as_deref())?.unconfirmed(&planned.plan, &planned.keys);
    if args.dry_run {
        planned.note_unconfirmed(&unpinned);
    }
    match args.format {
        PlanFormat::Table => eprint!("{}", report::table(&planned.plan)),
        PlanFormat::Json => println!("{}", report::json(&planned.plan)),
    }
    if args.dry_run {
        return Ok(());
    }
    // Everything that can fail without side effects comes first: the forge and the re-sealer (only when there
    // is something to do: a run with nothing due needs neither).
    let busy = planned.plan.changes_files();
    let forge = if args.no_push || !busy {
        None
    } else {
        let flags = ForgeFlags {
            kind: args.forge.clone(),
            url: args.forge_url.clone(),
            repo: args.forge_repo.clone(),
            token_file: args.forge_token_file.clone(),
        };
        setup::forge(&flags, &planned.config)?
    };
    let controller = if busy && keyring.is_none() && (args.controller || args.controller_url.is_some()) {
        Some(ThroughControllers::connect(
            &planned.keys,
            setup::controllers(
                &ControllerFlags {
                    url: args.controller_url.clone(),
                    kubeconfig: args.kubeconfig.clone(),
                    namespace: args.controller_namespace.clone(),
                    name: args.controller_name.clone(),
                },
                &planned.config,
                &planned.keys,
            )?,
        )?)
    } else {
        None
    };
    let served = controller.as_ref().map(|c| c.served().clone()).unwrap_or_default();
    let offline;
    let resealer: Option<&(dyn Resealer + Sync)> = if let Some(ring) = &keyring {
        offline = Offline { keyring: ring };
        Some(&offline)
    } else if let Some(controller) = &controller {
        Some(controller)
    } else {
        None
    };
    let bar = progress_bar(planned.plan.actions.len());
    let publish = Publish {
        remote: &args.remote,
        creds: &creds,
        push: !args.no_push,
        forge: forge.as_deref(),
        forge_user: args.forge_user.as_deref(),
        resealer,
        unconfirmed: unpinned.difference(&served).cloned().collect(),
        progress: &|n| bar.inc(n as u64),
    };
    let outcome = pipeline::propose(&repo, &planned, &publish, now);
    bar.finish_and_clear();
    outcome?;
    Ok(())
}

/// A progress bar on a terminal; hidden otherwise (CronJob and CI logs get the summary lines only).
fn progress_bar(len: usize) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(Some(len as u64), indicatif::ProgressDrawTarget::stderr());
    bar.set_style(
        indicatif::ProgressStyle::with_template("sealing {bar:40} {pos}/{len} items ({eta} left)")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// Private keys for offline re-sealing and for telling which key an unannotated SealedSecret uses.
fn offline_keyring(args: &RotateArgs, root: &std::path::Path) -> Result<Option<Keyring>> {
    if args.keys.is_empty() && args.age_identity.is_none() {
        return Ok(None);
    }
    let key_args = KeyArgs {
        keys: args.keys.clone(),
        age_identity: args.age_identity.clone(),
        keys_dir: root.join("keys"),
    };
    Ok(Some(crate::keyring::load_keyring(&key_args)?))
}
