//! `sealant rotate`: the rotation job. Plans what is due in a GitOps repository, regenerates or re-seals it,
//! commits on `sealant/rotate-<date>` without touching the work tree, pushes, and opens (or updates) one pull
//! request. Safe to interrupt: nothing reaches the remote before the push, and the push is the last git step.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::{Args, ValueEnum};
use sealant_core::manifest;
use sealant_core::types::{KEY_FINGERPRINT_ANNOTATION, SEALED_AT_ANNOTATION, SealedSecret};
use sealant_core::{Certificate, Keyring};
use sealant_keys::KeysDir;
use sealant_rotate::apply::{self, Offline, Resealer};
use sealant_rotate::config::RotateConfig;
use sealant_rotate::forge::{self, Forge, PullRequest};
use sealant_rotate::git::{self, Credentials};
use sealant_rotate::git2;
use sealant_rotate::plan::{self, Facts};
use sealant_rotate::{BRANCH_PREFIX, history, report, scan};
use secrecy::SecretString;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cli::KeyArgs;
use crate::io;

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
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub repo: PathBuf,
    /// Clone this URL into a temporary directory first (the CronJob way).
    #[arg(long, value_name = "URL")]
    pub clone: Option<String>,
    /// The branch to rotate and to open the pull request against (default: forge.base, else the checked-out
    /// branch).
    #[arg(long, value_name = "BRANCH")]
    pub base: Option<String>,
    /// The remote to push to.
    #[arg(long, default_value = "origin")]
    pub remote: String,
    /// Print the plan and stop.
    #[arg(long)]
    pub dry_run: bool,
    /// Plan output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = PlanFormat::Table)]
    pub format: PlanFormat,
    /// Commit on the local branch but do not push or open a pull request.
    #[arg(long)]
    pub no_push: bool,
    /// Private key file(s) for offline re-sealing (as `sealant unseal --key`).
    #[arg(long = "key", env = "SEALANT_KEY", value_name = "FILE", value_delimiter = ',')]
    pub keys: Vec<PathBuf>,
    /// age identity file opening the escrowed keys under keys/, for offline re-sealing.
    #[arg(long = "age-identity", env = "SEALANT_AGE_IDENTITY", value_name = "FILE")]
    pub age_identity: Option<PathBuf>,
    /// Re-seal through each cluster's controller (`/v1/rotate`, as `.sealant.yaml` clusters[].controller says).
    #[arg(long)]
    pub controller: bool,
    /// The controller's URL, for a repository with one cluster (instead of the API server's service proxy).
    #[arg(long, env = "SEALANT_CONTROLLER_URL", value_name = "URL")]
    pub controller_url: Option<String>,
    /// kubeconfig for the service proxy (default: KUBECONFIG, ~/.kube/config, in-cluster).
    #[arg(long, env = "KUBECONFIG", value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Forge for the pull request: github, gitlab, gitea, or none (default: forge.kind in .sealant.yaml).
    #[arg(long, value_name = "KIND")]
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
    #[arg(long, value_name = "FILE")]
    pub forge_token_file: Option<PathBuf>,
    /// File holding the HTTPS git token (else SEALANT_GIT_TOKEN).
    #[arg(long, value_name = "FILE")]
    pub git_token_file: Option<PathBuf>,
    /// User name for the HTTPS git token (GitHub: x-access-token, GitLab: oauth2, Gitea: the token's owner).
    #[arg(long, env = "SEALANT_GIT_USER", default_value = "x-access-token")]
    pub git_user: String,
    /// SSH private key file for push.
    #[arg(long, value_name = "FILE")]
    pub ssh_key: Option<PathBuf>,
    /// Log format: text on a terminal and JSON lines otherwise (CronJob and CI logs), unless set.
    #[arg(long, value_enum, default_value_t = LogFormat::Auto)]
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

/// Progress lines go to stderr as tracing events: plain on a terminal, JSON lines for log collectors.
fn init_logging(format: LogFormat) {
    use std::io::IsTerminal as _;
    let json = match format {
        LogFormat::Auto => !std::io::stderr().is_terminal(),
        LogFormat::Text => false,
        LogFormat::Json => true,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .with_writer(std::io::stderr)
        .with_target(false);
    // `try_init`: a second subscriber (tests calling run twice in one process) is not an error.
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        // Text is for people: the message alone (it already names the branch, commit or pull request).
        let message_only = tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
            if field.name() == "message" {
                write!(w, "{value:?}")
            } else {
                Ok(())
            }
        });
        builder
            .without_time()
            .with_level(false)
            .with_ansi(false)
            .fmt_fields(message_only)
            .try_init()
    };
}

fn parse_time(s: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|e| e.to_string())
}

/// A token from a file, else from the environment; never from argv.
fn token(file: Option<&PathBuf>, env: &str) -> Result<Option<SecretString>> {
    if let Some(file) = file {
        let bytes = io::read_secret_file(file)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| anyhow!("{}: not UTF-8", file.display()))?;
        return Ok(Some(SecretString::from(text.trim().to_string())));
    }
    Ok(std::env::var(env)
        .ok()
        .filter(|t| !t.is_empty())
        .map(SecretString::from))
}

/// Runs the command.
pub fn run(args: RotateArgs) -> Result<()> {
    init_logging(args.log_format);
    let now = args.now.unwrap_or_else(OffsetDateTime::now_utc);
    let creds = Credentials {
        user: args.git_user.clone(),
        token: token(args.git_token_file.as_ref(), "SEALANT_GIT_TOKEN")?,
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
    let config = RotateConfig::load(&root)?;
    let base = match args
        .base
        .clone()
        .or_else(|| config.forge.as_ref().and_then(|f| f.base.clone()))
    {
        Some(base) => base,
        None => git::current_branch(&repo)?,
    };
    let base_commit = git::base_commit(&repo, &args.remote, &base)?;
    let keys = KeysDir::load(&root.join("keys")).map_err(|e| anyhow!("{e}"))?;
    for problem in &keys.problems {
        tracing::warn!("{problem}");
    }
    let keyring = offline_keyring(&args, &root)?;

    let mut scanned = scan::scan(&root);
    scan::add_tracked_but_ignored(&mut scanned, &root, git::tracked_but_ignored(&repo)?);
    let facts = facts(&repo, base_commit.id(), &scanned, keyring.as_ref())?;
    let plan = plan::plan(&scanned.found, &facts, &keys, &config, now);
    let mut plan = plan;
    for skipped in &scanned.skipped {
        plan.problems.push(plan::Problem {
            file: skipped.file.clone(),
            document: "-".into(),
            message: skipped.message.clone(),
        });
    }
    let pinned = pinned_certs(&args)?;
    let unconfirmed = unconfirmed_targets(&plan, &pinned, &keys);
    if args.dry_run {
        for (cluster, fingerprint) in &unconfirmed {
            plan.problems.push(plan::Problem {
                file: PathBuf::from(format!("keys/{cluster}")),
                document: "-".into(),
                message: format!(
                    "certificate {fingerprint} is not confirmed: a real run needs --trust-cert {cluster}={fingerprint} (if you checked it) or --controller"
                ),
            });
        }
    }
    match args.format {
        PlanFormat::Table => eprint!("{}", report::table(&plan)),
        PlanFormat::Json => println!("{}", report::json(&plan)),
    }
    if args.dry_run {
        return Ok(());
    }
    if !plan.changes_files() {
        tracing::info!("nothing to re-seal or regenerate: no commit, no push, no pull request");
        return Ok(());
    }

    // Everything that can fail without side effects comes first: the forge, the remote, the re-sealer.
    let forge = if args.no_push {
        None
    } else {
        connect_forge(&args, &config)?
    };
    let existing = match &forge {
        Some(forge) => {
            let me = match &args.forge_user {
                Some(login) => login.clone(),
                None => forge.token_user().map_err(|e| {
                    anyhow!("{e}; to name the pull requests' author yourself, give --forge-user (SEALANT_FORGE_USER)")
                })?,
            };
            forge.find_open(BRANCH_PREFIX, &base, Some(&me))?
        }
        None => None,
    };
    let digest = plan.digest();
    let date = now.date().to_string();
    let branch = existing
        .as_ref()
        .map(|pr| pr.head.clone())
        .unwrap_or_else(|| format!("{BRANCH_PREFIX}{date}"));
    let proposal = Proposal {
        digest: &digest,
        base: &base_commit,
        plan: &plan,
    };
    if !args.no_push && already_proposed(&repo, &args, &branch, existing.as_ref(), &proposal, &creds)? {
        match &existing {
            Some(pr) => tracing::info!(
                pull_request = pr.number,
                url = %pr.url,
                digest = %digest,
                "pull request #{} ({}) already carries this plan: nothing pushed",
                pr.number,
                pr.url
            ),
            None => {
                tracing::info!(%branch, digest = %digest, "branch {branch} already carries this plan: nothing pushed")
            }
        }
        return Ok(());
    }
    let controller = if keyring.is_none() && (args.controller || args.controller_url.is_some()) {
        Some(ControllerResealer::new(&args, &config, &keys)?)
    } else {
        None
    };
    // Why before any sealing: a certificate the repository alone vouches for (a writer can commit their own
    // with `keys fetch` and move `current`) would receive every regenerated and re-sealed value.
    let confirmed_by_controller = controller.as_ref().map(|c| c.served.clone()).unwrap_or_default();
    let refused: Vec<String> = unconfirmed
        .iter()
        .filter(|target| !confirmed_by_controller.contains(target))
        .map(|(cluster, fp)| format!("{fp} (keys/{cluster}/current)"))
        .collect();
    if !refused.is_empty() {
        bail!(
            "refusing to seal to a certificate the repository alone vouches for: {}; pin it with --trust-cert \
             (or SEALANT_TRUST_CERT, --trust-file) after checking it, or re-seal through the live controller with --controller",
            refused.join(", ")
        );
    }
    let offline;
    let resealer: Option<&(dyn Resealer + Sync)> = if let Some(ring) = &keyring {
        offline = Offline { keyring: ring };
        Some(&offline)
    } else if let Some(controller) = &controller {
        Some(controller)
    } else {
        None
    };

    let bar = progress_bar(plan.actions.len());
    let changes = apply::apply(&plan, &scanned, &keys, resealer, now, &|n| bar.inc(n as u64))?;
    bar.finish_and_clear();
    check_clean(&repo, &base_commit, &root, &changes)?;
    let message = report::commit_message(&plan, &date);
    let oid = git::commit_changes(&repo, &base_commit, &changes, &branch, &message)?;
    tracing::info!(%branch, commit = %oid, files = changes.len(), "committed {} file(s) on {branch} ({oid})", changes.len());
    if args.no_push {
        return Ok(());
    }
    git::push(&repo, &args.remote, &branch, &creds)?;
    tracing::info!(%branch, remote = %args.remote, "pushed {branch} to {}", args.remote);
    if let Some(forge) = &forge {
        let title = report::title(&date);
        let body = report::body(&plan);
        let pr = match &existing {
            Some(pr) => forge.update(pr, &title, &body)?,
            None => forge.create(&branch, &base, &title, &body)?,
        };
        let verb = if existing.is_some() { "updated" } else { "opened" };
        tracing::info!(
            forge = forge.name(),
            pull_request = pr.number,
            url = %pr.url,
            "{verb} {} pull request #{}: {}",
            forge.name(),
            pr.number,
            pr.url
        );
    }
    Ok(())
}

/// Pins given outside the repository: `--trust-cert` and the lines of `--trust-file`, each `cluster=SHA256:…` or a
/// bare `SHA256:…`.
fn pinned_certs(args: &RotateArgs) -> Result<BTreeSet<String>> {
    let mut pinned: BTreeSet<String> = args.trust_cert.iter().map(|f| f.trim().to_string()).collect();
    if let Some(file) = &args.trust_file {
        let text = io::read_bounded(file, 1 << 20).with_context(|| format!("cannot read {}", file.display()))?;
        let text = String::from_utf8(text).map_err(|_| anyhow!("{}: not UTF-8", file.display()))?;
        pinned.extend(
            text.lines()
                .map(|l| l.split('#').next().unwrap_or_default().trim())
                .filter(|l| !l.is_empty())
                .map(str::to_string),
        );
    }
    pinned.retain(|f| !f.is_empty());
    Ok(pinned)
}

/// The (cluster, certificate) pairs the plan would seal to (regenerate or re-seal) that no pin confirms.
///
/// A pin `cluster=SHA256:…` confirms that certificate for that cluster only. A bare `SHA256:…` confirms it only
/// while it sits under one cluster: why, a writer could otherwise copy one cluster's pinned certificate into
/// another's `keys/` and have that cluster's values sealed to a key a different cluster holds.
fn unconfirmed_targets(plan: &plan::Plan, pinned: &BTreeSet<String>, keys: &KeysDir) -> BTreeSet<(String, String)> {
    let clusters_holding = |fp: &str| {
        keys.clusters()
            .iter()
            .filter(|c| c.keys.iter().any(|k| k.fingerprint == fp))
            .count()
    };
    plan.actions
        .iter()
        .filter(|a| matches!(a.kind, plan::Kind::Regenerate | plan::Kind::Reseal))
        .filter_map(|a| Some((a.cluster.clone().unwrap_or_default(), a.new_key.clone()?)))
        .filter(|(cluster, fp)| {
            !(pinned.contains(&format!("{cluster}={fp}")) || (pinned.contains(fp) && clusters_holding(fp) == 1))
        })
        .collect()
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
    Ok(Some(super::load_keyring(&key_args)?))
}

/// Age from git for SealedSecrets without `sealed-at`; key by trial for those without a key annotation.
fn facts(
    repo: &git2::Repository,
    tip: git2::Oid,
    scanned: &scan::Scan,
    keyring: Option<&Keyring>,
) -> Result<Vec<Facts>> {
    let wanted: BTreeSet<PathBuf> = scanned
        .found
        .iter()
        .filter(|f| f.sealed.annotation(SEALED_AT_ANNOTATION).is_none())
        .map(|f| f.file.clone())
        .collect();
    let changes = history::last_changes(repo, tip, &wanted).context("cannot read the git history")?;
    Ok(scanned
        .found
        .iter()
        .map(|f| Facts {
            last_change: changes.get(&f.file).copied(),
            key: match (keyring, f.sealed.annotation(KEY_FINGERPRINT_ANNOTATION)) {
                (Some(ring), None) => apply::identify_key(&f.sealed, ring),
                _ => None,
            },
        })
        .collect())
}

fn connect_forge(args: &RotateArgs, config: &RotateConfig) -> Result<Option<Box<dyn Forge>>> {
    let kind = args
        .forge
        .clone()
        .or_else(|| config.forge.as_ref().map(|f| f.kind.clone()));
    let Some(kind) = kind.filter(|k| k != "none") else {
        return Ok(None);
    };
    let kind: forge::Kind = kind.parse().map_err(|e: String| anyhow!(e))?;
    // Why flags and environment only: a repository writer who could set these would receive the forge token
    // (forge.url) or have it used on a repository of their choosing (forge.repo).
    if let Some(f) = &config.forge {
        if f.url.is_some() {
            tracing::warn!("forge.url in .sealant.yaml is ignored: give --forge-url or SEALANT_FORGE_URL");
        }
        if f.repo.is_some() {
            tracing::warn!("forge.repo in .sealant.yaml is ignored: give --forge-repo or SEALANT_FORGE_REPO");
        }
    }
    let repo = args
        .forge_repo
        .clone()
        .ok_or_else(|| anyhow!("the forge needs a repository: --forge-repo owner/name (or SEALANT_FORGE_REPO)"))?;
    let url = args.forge_url.clone();
    let token = token(args.forge_token_file.as_ref(), "SEALANT_FORGE_TOKEN")?
        .ok_or_else(|| anyhow!("the forge needs a token: --forge-token-file FILE or SEALANT_FORGE_TOKEN"))?;
    Ok(Some(
        forge::connect(kind, url.as_deref(), &repo, token).map_err(|e| anyhow!(e))?,
    ))
}

/// Whether the open pull request (or, without a forge, the remote branch) already holds this plan.
///
/// Why so strict: "already proposed" stops the run with success, so anything a repository writer can forge
/// would silence rotation (even after a key compromise). The digest must be in the last paragraph, and the
/// branch must be what this job makes: one commit on top of the current base that changes every planned item.
/// The pull request itself was already checked to be ours (same repository, the token's user).
fn already_proposed(
    repo: &git2::Repository,
    args: &RotateArgs,
    branch: &str,
    existing: Option<&PullRequest>,
    ctx: &Proposal<'_>,
    creds: &Credentials,
) -> Result<bool> {
    if let Some(pr) = existing
        && report::digest_in(&pr.body) != Some(ctx.digest)
    {
        return Ok(false);
    }
    if existing.is_none() {
        if args.forge.as_deref().is_some_and(|f| f != "none") {
            return Ok(false);
        }
        let branches = git::remote_branches(repo, &args.remote, BRANCH_PREFIX, creds)?;
        if !branches.iter().any(|(b, _)| b == branch) {
            return Ok(false);
        }
    }
    let tip = git::fetch_tip(repo, &args.remote, branch, creds)?;
    if report::digest_in(tip.message().unwrap_or_default()) != Some(ctx.digest) {
        return Ok(false);
    }
    if tip.parent_count() != 1 || tip.parent_id(0).ok() != Some(ctx.base.id()) {
        tracing::warn!(%branch, "branch {branch} is not one commit on the current base: proposing again");
        return Ok(false);
    }
    let changed = |action: &plan::Action| -> Option<bool> {
        let item_at = |commit: &git2::Commit<'_>| -> Option<String> {
            let text = String::from_utf8(git::file_at(repo, commit, &action.file)?).ok()?;
            let (_, objects) = manifest::read(&text).ok()?;
            objects
                .into_iter()
                .find(|l| l.document == action.document)
                .and_then(|l| match l.object {
                    manifest::Object::SealedSecret(ss) => ss.spec.encrypted_data.get(&action.item).cloned(),
                    _ => None,
                })
        };
        let now = item_at(&tip)?;
        Some(item_at(ctx.base) != Some(now))
    };
    let all_changed = ctx
        .plan
        .actions
        .iter()
        .filter(|a| a.kind != plan::Kind::Report)
        .all(|a| changed(a) == Some(true));
    if !all_changed {
        tracing::warn!(%branch, "branch {branch} carries the plan's digest but not its changes: proposing again");
    }
    Ok(all_changed)
}

/// What a run proposes, for [`already_proposed`].
struct Proposal<'a> {
    digest: &'a str,
    base: &'a git2::Commit<'a>,
    plan: &'a plan::Plan,
}

/// Refuses to commit over uncommitted edits: each changed file must be, in the work tree, what the base has.
fn check_clean(
    repo: &git2::Repository,
    base: &git2::Commit<'_>,
    root: &std::path::Path,
    changes: &[(PathBuf, String)],
) -> Result<()> {
    for (file, _) in changes {
        let on_disk = std::fs::read(root.join(file)).ok();
        let stored = git::file_at(repo, base, file);
        if on_disk != stored {
            let lf = |b: &Vec<u8>| String::from_utf8_lossy(b).replace("\r\n", "\n");
            if on_disk
                .as_ref()
                .map(lf)
                .is_some_and(|d| stored.as_ref().map(lf) == Some(d))
            {
                bail!(
                    "{}: checked out with CRLF line endings (a .gitattributes eol=crlf rule) while the repository stores \
                     LF; rotation rewrites files as they are checked out, which would change every line: drop the \
                     eol=crlf rule for manifests",
                    file.display()
                );
            }
            bail!(
                "{}: the work tree differs from the base branch; commit or stash it, or use --clone",
                file.display()
            );
        }
    }
    Ok(())
}

/// Re-sealing through a controller's `/v1/rotate`, per cluster.
struct ControllerResealer<'k> {
    keys: &'k KeysDir,
    endpoints: BTreeMap<String, Endpoint>,
    runtime: tokio::runtime::Runtime,
    /// (cluster, fingerprint) each live controller serves (checked against keys/<cluster>/current).
    served: BTreeSet<(String, String)>,
}

enum Endpoint {
    Url(String),
    Proxy(crate::kube::ControllerProxy),
}

impl<'k> ControllerResealer<'k> {
    fn new(args: &RotateArgs, config: &RotateConfig, keys: &'k KeysDir) -> Result<Self> {
        let runtime = crate::kube::runtime()?;
        let mut endpoints = BTreeMap::new();
        if let Some(url) = &args.controller_url {
            let [cluster] = keys.clusters() else {
                bail!(
                    "--controller-url needs a repository with exactly one cluster under keys/; use .sealant.yaml clusters[].controller"
                );
            };
            endpoints.insert(
                cluster.name.clone(),
                Endpoint::Url(url.trim_end_matches('/').to_string()),
            );
        } else {
            for cluster in &config.clusters {
                let Some(controller) = &cluster.controller else {
                    continue;
                };
                // Why not `controller.url`: a repository writer could point it at a server of their own that
                // answers /v1/rotate with ciphertexts of values they know. Only flags name a URL.
                if controller.url.is_some() {
                    tracing::warn!(
                        cluster = %cluster.name,
                        "clusters[].controller.url in .sealant.yaml is ignored: give --controller-url (one cluster) or use the service proxy"
                    );
                }
                let endpoint = Endpoint::Proxy(runtime.block_on(async {
                    let client = crate::kube::client(args.kubeconfig.as_deref()).await?;
                    crate::kube::ControllerProxy::new(client, &controller.namespace, &controller.name).await
                })?);
                endpoints.insert(cluster.name.clone(), endpoint);
            }
        }
        if endpoints.is_empty() {
            bail!("--controller: no cluster in .sealant.yaml has a controller (clusters[].controller)");
        }
        let mut this = Self {
            keys,
            endpoints,
            runtime,
            served: BTreeSet::new(),
        };
        // Why the certificate is compared first: the controller seals to its own newest key, and the plan
        // promised keys/<cluster>/current; a mismatch means keys/ is stale (or the wrong cluster).
        let mut served = BTreeSet::new();
        for cluster in this.endpoints.keys() {
            let pem = this.call(cluster, "/v1/cert.pem", None)?;
            let cert =
                Certificate::from_pem(&pem).map_err(|e| anyhow!("controller of {cluster}: /v1/cert.pem: {e}"))?;
            let current = keys
                .cluster(cluster)
                .and_then(|c| c.current())
                .map(|r| r.fingerprint.as_str());
            if current != Some(cert.fingerprint()) {
                bail!(
                    "the controller of {cluster} seals to {}, but keys/{cluster}/current is {}: run sealant keys fetch --cluster {cluster}",
                    cert.fingerprint(),
                    current.unwrap_or("missing")
                );
            }
            served.insert((cluster.clone(), cert.fingerprint().to_string()));
        }
        this.served = served;
        Ok(this)
    }

    fn call(&self, cluster: &str, path: &str, body: Option<Vec<u8>>) -> Result<Vec<u8>> {
        let endpoint = self
            .endpoints
            .get(cluster)
            .ok_or_else(|| anyhow!("cluster {cluster} has no controller configured"))?;
        let (status, answer) = match endpoint {
            Endpoint::Url(base) => {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(std::time::Duration::from_secs(30)))
                    .build()
                    .into();
                let url = format!("{base}{path}");
                let response = match body {
                    Some(body) => agent
                        .post(&url)
                        .header("Content-Type", "application/json")
                        .send(&body[..]),
                    None => agent.get(&url).call(),
                };
                let mut response =
                    response.map_err(|e| anyhow!("cannot reach the controller of {cluster} at {url}: {e}"))?;
                let status = response.status().as_u16();
                (status, response.body_mut().read_to_vec().unwrap_or_default())
            }
            Endpoint::Proxy(proxy) => {
                let reply = self.runtime.block_on(proxy.call(path, body))?;
                (reply.status, reply.body)
            }
        };
        if !(200..300).contains(&status) {
            bail!(
                "the controller of {cluster} answered {path} with HTTP {status}: {}",
                String::from_utf8_lossy(&answer).chars().take(200).collect::<String>()
            );
        }
        Ok(answer)
    }
}

impl Resealer for ControllerResealer<'_> {
    fn reseal(
        &self,
        sealed: &SealedSecret,
        items: &[&str],
        to: &Certificate,
    ) -> Result<BTreeMap<String, String>, String> {
        let cluster = self
            .keys
            .find(to.fingerprint())
            .map(|r| r.cluster.clone())
            .ok_or("the new key is not under keys/")?;
        let body = serde_json::to_vec(sealed).map_err(|e| e.to_string())?;
        let answer = self
            .call(&cluster, "/v1/rotate", Some(body))
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8(answer).map_err(|_| "the controller's answer is not UTF-8".to_string())?;
        let (_, objects) = manifest::read(&text).map_err(|e| format!("the controller's answer: {e}"))?;
        let Some(manifest::Object::SealedSecret(new)) = objects.into_iter().next().map(|l| l.object) else {
            return Err("the controller's answer is not a SealedSecret".into());
        };
        items
            .iter()
            .map(|item| {
                new.spec
                    .encrypted_data
                    .get(*item)
                    .map(|c| ((*item).to_string(), c.clone()))
                    .ok_or_else(|| format!("the controller's answer lacks item {item}"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(cluster: &str, new_key: &str) -> plan::Action {
        plan::Action {
            file: "apps/db.yaml".into(),
            document: "1".into(),
            namespace: "web".into(),
            name: "db".into(),
            item: "password".into(),
            kind: plan::Kind::Regenerate,
            generator: Some("base64:32".into()),
            reason: "due".into(),
            age_days: Some(100),
            old_key: None,
            new_key: Some(new_key.into()),
            cluster: Some(cluster.into()),
            restarts: Vec::new(),
        }
    }

    #[test]
    fn a_bare_pin_confirms_a_certificate_only_while_one_cluster_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        let now = OffsetDateTime::now_utc();
        let (_, prod) =
            sealant_core::keys::generate_key_and_cert(2048, now, sealant_core::keys::DEFAULT_CERT_VALIDITY).unwrap();
        let fp = prod.fingerprint().to_string();
        KeysDir::add(&keys, "prod", &prod, None, true).unwrap();
        let plan = plan::Plan {
            actions: vec![action("prod", &fp), action("staging", &fp)],
            ..plan::Plan::default()
        };
        let pins = BTreeSet::from([fp.clone()]);
        let one = KeysDir::load(&keys).unwrap();
        assert!(
            unconfirmed_targets(&plan, &pins, &one)
                .iter()
                .all(|(c, _)| c == "staging")
        );
        // A writer copies prod's pinned certificate into staging: the bare pin no longer vouches for either.
        KeysDir::add(&keys, "staging", &prod, None, true).unwrap();
        let two = KeysDir::load(&keys).unwrap();
        assert_eq!(unconfirmed_targets(&plan, &pins, &two).len(), 2);
        // A per-cluster pin confirms exactly its cluster.
        let per_cluster = BTreeSet::from([format!("prod={fp}")]);
        let left = unconfirmed_targets(&plan, &per_cluster, &two);
        assert_eq!(left, BTreeSet::from([("staging".to_string(), fp.clone())]));
    }
}
