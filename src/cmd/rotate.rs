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
    #[arg(long, value_name = "URL")]
    pub controller_url: Option<String>,
    /// kubeconfig for the service proxy (default: KUBECONFIG, ~/.kube/config, in-cluster).
    #[arg(long, env = "KUBECONFIG", value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Forge for the pull request: github, gitlab, gitea, or none (default: forge.kind in .sealant.yaml).
    #[arg(long, value_name = "KIND")]
    pub forge: Option<String>,
    /// The forge's API URL (default: forge.url, else the public service's).
    #[arg(long, value_name = "URL")]
    pub forge_url: Option<String>,
    /// The forge repository, owner/name (default: forge.repo).
    #[arg(long, value_name = "OWNER/NAME")]
    pub forge_repo: Option<String>,
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

    let scanned = scan::scan(&root);
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
        Some(forge) => forge.find_open(BRANCH_PREFIX, &base)?,
        None => None,
    };
    let digest = plan.digest();
    let date = now.date().to_string();
    let branch = existing
        .as_ref()
        .map(|pr| pr.head.clone())
        .unwrap_or_else(|| format!("{BRANCH_PREFIX}{date}"));
    if !args.no_push && already_proposed(&repo, &args, &branch, existing.as_ref(), &digest, &creds)? {
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
    let controller;
    let offline;
    let resealer: Option<&(dyn Resealer + Sync)> = if let Some(ring) = &keyring {
        offline = Offline { keyring: ring };
        Some(&offline)
    } else if args.controller || args.controller_url.is_some() {
        controller = ControllerResealer::new(&args, &config, &keys)?;
        Some(&controller)
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
    let repo = args
        .forge_repo
        .clone()
        .or_else(|| config.forge.as_ref().map(|f| f.repo.clone()))
        .ok_or_else(|| {
            anyhow!("the forge needs a repository: --forge-repo owner/name or forge.repo in .sealant.yaml")
        })?;
    let url = args
        .forge_url
        .clone()
        .or_else(|| config.forge.as_ref().and_then(|f| f.url.clone()));
    let token = token(args.forge_token_file.as_ref(), "SEALANT_FORGE_TOKEN")?
        .ok_or_else(|| anyhow!("the forge needs a token: --forge-token-file FILE or SEALANT_FORGE_TOKEN"))?;
    Ok(Some(
        forge::connect(kind, url.as_deref(), &repo, token).map_err(|e| anyhow!(e))?,
    ))
}

/// Whether the open pull request (or, without a forge, the remote branch) already holds this plan.
fn already_proposed(
    repo: &git2::Repository,
    args: &RotateArgs,
    branch: &str,
    existing: Option<&PullRequest>,
    digest: &str,
    creds: &Credentials,
) -> Result<bool> {
    if let Some(pr) = existing {
        return Ok(report::digest_in(&pr.body) == Some(digest));
    }
    if args.forge.as_deref().is_some_and(|f| f != "none") {
        return Ok(false);
    }
    let branches = git::remote_branches(repo, &args.remote, BRANCH_PREFIX, creds)?;
    if !branches.iter().any(|(b, _)| b == branch) {
        return Ok(false);
    }
    let message = git::fetch_message(repo, &args.remote, branch, creds)?;
    Ok(report::digest_in(&message) == Some(digest))
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
        if on_disk != git::file_at(repo, base, file) {
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
                let endpoint = match &controller.url {
                    Some(url) => Endpoint::Url(url.trim_end_matches('/').to_string()),
                    None => Endpoint::Proxy(runtime.block_on(async {
                        let client = crate::kube::client(args.kubeconfig.as_deref()).await?;
                        crate::kube::ControllerProxy::new(client, &controller.namespace, &controller.name).await
                    })?),
                };
                endpoints.insert(cluster.name.clone(), endpoint);
            }
        }
        if endpoints.is_empty() {
            bail!("--controller: no cluster in .sealant.yaml has a controller (clusters[].controller)");
        }
        let this = Self {
            keys,
            endpoints,
            runtime,
        };
        // Why the certificate is compared first: the controller seals to its own newest key, and the plan
        // promised keys/<cluster>/current; a mismatch means keys/ is stale (or the wrong cluster).
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
        }
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
