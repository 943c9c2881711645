//! The rotation run, from an open repository to a pull request: [`plan`] reads (config, `keys/`, the scan, ages
//! from history) and decides; [`propose`] re-seals and regenerates in memory, commits on `sealant/rotate-<date>`
//! without touching the work tree, pushes, and opens or updates one pull request. The forge and the re-sealer are
//! traits, so the whole run is testable without the binary. Progress is reported as `tracing` events.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use git2::Repository;
use sealant_core::Keyring;
use sealant_core::manifest;
use sealant_core::types::{KEY_FINGERPRINT_ANNOTATION, SEALED_AT_ANNOTATION};
use sealant_repo::{KeyState, KeysDir, StoreError};
use time::OffsetDateTime;

use crate::BRANCH_PREFIX;
use crate::apply::{self, ApplyError};
use crate::forge::{Forge, ForgeError, PullRequest};
use crate::git::{self, Credentials, GitError};
use crate::plan::{self, Facts, Focus, KeyChange, Plan, Problem};
use crate::report;
use crate::resealer::{Live, Resealer, identify_key};
use crate::scan::{self, Scan};
use sealant_repo::config::{ConfigError, RepoConfig};

/// Why a run stopped. Names files, branches and certificates; never a value.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A git operation failed.
    #[error(transparent)]
    Git(#[from] GitError),
    /// `.sealant.yaml` is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `keys/` could not be read.
    #[error(transparent)]
    Keys(#[from] StoreError),
    /// The history walk failed.
    #[error("cannot read the git history: {}", .0.message())]
    History(git2::Error),
    /// The repository is bare.
    #[error("the repository has no work tree")]
    Bare,
    /// The forge refused or failed.
    #[error(transparent)]
    Forge(#[from] ForgeError),
    /// The token's user could not be asked for.
    #[error("{0}; to name the pull requests' author yourself, give --forge-user (SEALANT_FORGE_USER)")]
    TokenUser(ForgeError),
    /// Carrying out the plan failed.
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// The plan would seal to certificates nobody outside the repository confirmed.
    #[error(
        "refusing to seal to a certificate the repository alone vouches for: {}; pin it with --trust-cert \
         (or SEALANT_TRUST_CERT, --trust-file) after checking it, or re-seal through the live controller with --controller",
        .0.join(", ")
    )]
    Unconfirmed(Vec<String>),
    /// A file to change is checked out with CRLF endings while the repository stores LF.
    #[error(
        "{}: checked out with CRLF line endings (a .gitattributes eol=crlf rule) while the repository stores \
         LF; rotation rewrites files as they are checked out, which would change every line: drop the \
         eol=crlf rule for manifests",
        .0.display()
    )]
    Crlf(PathBuf),
    /// `--only` names a path that holds no SealedSecret.
    #[error("--only {}: no SealedSecret there", .0.display())]
    NothingSelected(PathBuf),
    /// A file to change has uncommitted edits.
    #[error("{}: the work tree differs from the base branch; commit or stash it, or use --clone", .0.display())]
    Dirty(PathBuf),
}

/// What a run is asked to do, besides which repository.
pub struct Request<'a> {
    /// The branch to rotate (default: `forge.base` in `.sealant.yaml`, else the checked-out branch).
    pub base: Option<String>,
    /// The remote to push to.
    pub remote: String,
    /// The time the run takes as now.
    pub now: OffsetDateTime,
    /// Private keys, for offline re-sealing and for telling which key an unannotated SealedSecret uses.
    pub keyring: Option<&'a Keyring>,
    /// What the run is limited to and forces.
    pub focus: Focus,
    /// Keys to treat as compromised from this run on (`--compromised`): recorded in `state.yaml` by the same
    /// pull request.
    pub compromised: Vec<String>,
}

/// The plan and everything read to make it.
pub struct Planned<'r> {
    /// The work tree.
    pub root: PathBuf,
    /// `.sealant.yaml`.
    pub config: RepoConfig,
    /// The base branch's name.
    pub base: String,
    /// Its commit, the parent of the rotation commit.
    pub base_commit: git2::Commit<'r>,
    /// `keys/`.
    pub keys: KeysDir,
    /// Every SealedSecret found.
    pub scan: Scan,
    /// What the planner knew besides each object (ages from history, keys by trial), kept to plan again.
    pub facts: Vec<Facts>,
    /// Files under `keys/` a key renewal or a declared compromise changes (relative to the root), committed with
    /// the re-sealed files.
    pub key_files: Vec<(PathBuf, String)>,
    /// What the run is limited to and forces.
    pub focus: Focus,
    /// What is due.
    pub plan: Plan,
}

/// Reads the repository and plans what is due at `request.now`.
pub fn plan<'r>(repo: &'r Repository, request: &Request<'_>) -> Result<Planned<'r>, RunError> {
    let root = repo.workdir().ok_or(RunError::Bare)?.to_path_buf();
    let config = RepoConfig::load(&root)?;
    let base = match request
        .base
        .clone()
        .or_else(|| config.forge.as_ref().and_then(|f| f.base.clone()))
    {
        Some(base) => base,
        None => git::current_branch(repo)?,
    };
    let base_commit = git::base_commit(repo, &request.remote, &base)?;
    let mut keys = KeysDir::load(&root.join("keys"))?;
    for problem in &keys.problems {
        tracing::warn!("{problem}");
    }
    // A compromise declared on the command line counts from this run on, and the pull request records it.
    let mut key_files = Vec::new();
    let mut declared = Vec::new();
    for fingerprint in &request.compromised {
        let already = keys.find(fingerprint).map(|k| k.state) == Some(KeyState::Compromised);
        if !already {
            let (path, text) = keys.mark(
                fingerprint,
                KeyState::Compromised,
                Some("declared by sealant rotate --compromised"),
                request.now,
            )?;
            key_files.push((path.strip_prefix(&root).unwrap_or(&path).to_path_buf(), text));
            declared.push(fingerprint.clone());
        }
    }
    let scan = scan::scan(&root);
    let facts = facts(repo, base_commit.id(), &scan, request.keyring)?;
    // Why an error: a mistyped --only would otherwise end with "nothing due" and exit 0.
    if let Some((path, _)) = request
        .focus
        .only
        .iter()
        .find(|(path, _)| !scan.found.iter().any(|f| f.file.starts_with(path)))
    {
        return Err(RunError::NothingSelected(path.clone()));
    }
    let mut plan = whole_plan(&scan, &facts, &keys, &config, request.now, &request.focus);
    plan.declared_compromised = declared.clone();
    Ok(Planned {
        root,
        config,
        base,
        base_commit,
        keys,
        scan,
        facts,
        key_files,
        focus: request.focus.clone(),
        plan,
    })
}

/// The plan of every SealedSecret the scan found, with the files it skipped as problems.
fn whole_plan(
    scan: &Scan,
    facts: &[Facts],
    keys: &KeysDir,
    config: &RepoConfig,
    now: OffsetDateTime,
    focus: &Focus,
) -> Plan {
    let mut plan = plan::plan(&scan.found, facts, keys, config, now, focus);
    // The compromised keys items are still sealed to: the run is urgent.
    let mut compromised: Vec<String> = plan
        .actions
        .iter()
        .filter_map(|a| a.old_key.as_deref())
        .filter(|fp| keys.find(fp).is_some_and(|k| k.state == KeyState::Compromised))
        .map(str::to_string)
        .collect();
    compromised.sort();
    compromised.dedup();
    plan.compromised = compromised;
    for skipped in &scan.skipped {
        plan.problems.push(Problem {
            file: skipped.file.clone(),
            document: "-".into(),
            message: skipped.message.clone(),
        });
    }
    plan
}

impl Planned<'_> {
    /// Takes what each cluster's live controller serves into `keys/` (in memory: the files join the commit) and
    /// plans again: a renewed certificate becomes current, so what is due is sealed to it.
    ///
    /// Why only a live controller's certificate: it is confirmed by the cluster itself (reached through the API
    /// server with the job's own credentials), never by the repository alone, so the certificate-trust rule holds.
    pub fn renew(&mut self, live: &BTreeMap<String, Live>, now: OffsetDateTime) -> Result<(), RunError> {
        let mut changes = Vec::new();
        for (cluster, live) in live {
            let renewal = self.keys.renew(cluster, &live.cert, &live.escrow)?;
            if renewal.is_empty() {
                continue;
            }
            tracing::info!(
                %cluster,
                current = renewal.current.as_deref().unwrap_or(""),
                added = renewal.added.len(),
                escrowed = renewal.escrowed.len(),
                "cluster {cluster}: the controller serves {}; keys/{cluster}/ takes {} certificate(s) and {} escrowed key(s) in this run",
                live.cert.fingerprint(),
                renewal.added.len(),
                renewal.escrowed.len()
            );
            for (path, text) in renewal.files {
                let relative = path.strip_prefix(&self.root).unwrap_or(&path).to_path_buf();
                self.key_files.push((relative, text));
            }
            changes.push(KeyChange {
                cluster: renewal.cluster,
                current: renewal.current,
                previous: renewal.previous,
                added: renewal.added,
                escrowed: renewal.escrowed,
            });
        }
        if !changes.is_empty() {
            let problems = std::mem::take(&mut self.plan.problems);
            let declared = std::mem::take(&mut self.plan.declared_compromised);
            self.plan = whole_plan(&self.scan, &self.facts, &self.keys, &self.config, now, &self.focus);
            self.plan.declared_compromised = declared;
            // Problems noted before (unconfirmed certificates) are the caller's; the plan's own were recomputed.
            self.plan
                .problems
                .extend(problems.into_iter().filter(|p| p.file.starts_with("keys")));
            self.plan.key_changes = changes;
        }
        Ok(())
    }

    /// Adds a problem per certificate the plan would seal to that `confirmed` lacks, for a dry run to show what a
    /// real run would refuse.
    pub fn note_unconfirmed(&mut self, unconfirmed: &BTreeSet<(String, String)>) {
        for (cluster, fingerprint) in unconfirmed {
            self.plan.problems.push(Problem {
                file: PathBuf::from(format!("keys/{cluster}")),
                document: "-".into(),
                message: format!(
                    "certificate {fingerprint} is not confirmed: a real run needs --trust-cert {cluster}={fingerprint} (if you checked it) or --controller"
                ),
            });
        }
    }
}

/// How the changes leave the machine, and what does the sealing.
pub struct Publish<'a> {
    /// The remote to compare with and push to.
    pub remote: &'a str,
    /// Credentials for the remote.
    pub creds: &'a Credentials,
    /// Push (and open a pull request); `false` commits on the local branch only.
    pub push: bool,
    /// The forge for the pull request, if any.
    pub forge: Option<&'a dyn Forge>,
    /// The login the job's pull requests are opened as (default: the token's user).
    pub forge_user: Option<&'a str>,
    /// The re-sealer for items whose value is kept.
    pub resealer: Option<&'a (dyn Resealer + Sync)>,
    /// Certificates the plan would seal to that nobody outside the repository confirmed (pins or a live
    /// controller): a non-empty set stops the run before any sealing.
    pub unconfirmed: BTreeSet<(String, String)>,
    /// Called with the number of items done, as they are done.
    pub progress: &'a (dyn Fn(usize) + Sync),
}

/// How a run ended.
#[derive(Debug)]
pub enum Outcome {
    /// Nothing to re-seal or regenerate.
    NothingDue,
    /// The open pull request (or, without a forge, the remote branch) already carries this plan.
    AlreadyProposed {
        /// The branch.
        branch: String,
        /// The pull request, with a forge.
        pull_request: Option<PullRequest>,
    },
    /// Committed on a local branch, not pushed.
    Committed {
        /// The branch.
        branch: String,
        /// The commit.
        commit: git2::Oid,
    },
    /// Pushed, and with a forge the pull request opened or updated.
    Proposed {
        /// The branch.
        branch: String,
        /// The commit.
        commit: git2::Oid,
        /// The pull request and whether it already existed (updated) or was opened.
        pull_request: Option<(PullRequest, bool)>,
    },
}

/// Carries out `planned`: everything that can fail without side effects first (the forge, the remote, the trust
/// check), then sealing in memory, the commit, the push and the pull request.
pub fn propose(
    repo: &Repository,
    planned: &Planned<'_>,
    publish: &Publish<'_>,
    now: OffsetDateTime,
) -> Result<Outcome, RunError> {
    let plan = &planned.plan;
    if !plan.changes_files() {
        tracing::info!("nothing to re-seal or regenerate: no commit, no push, no pull request");
        return Ok(Outcome::NothingDue);
    }
    let forge = publish.forge.filter(|_| publish.push);
    let existing = match forge {
        Some(forge) => {
            let me = match publish.forge_user {
                Some(login) => login.to_string(),
                None => forge.token_user().map_err(RunError::TokenUser)?,
            };
            forge.find_open(BRANCH_PREFIX, &planned.base, Some(&me))?
        }
        None => None,
    };
    let digest = plan.digest();
    let date = now.date().to_string();
    let branch = existing
        .as_ref()
        .map(|pr| pr.head.clone())
        .unwrap_or_else(|| format!("{BRANCH_PREFIX}{date}"));
    if publish.push
        && already_proposed(
            repo,
            planned,
            publish,
            forge.is_some(),
            &branch,
            existing.as_ref(),
            &digest,
        )?
    {
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
        return Ok(Outcome::AlreadyProposed {
            branch,
            pull_request: existing,
        });
    }
    // Why before any sealing: a certificate the repository alone vouches for (a writer can commit their own with
    // `keys fetch` and move `current`) would receive every regenerated and re-sealed value.
    if !publish.unconfirmed.is_empty() {
        return Err(RunError::Unconfirmed(
            publish
                .unconfirmed
                .iter()
                .map(|(cluster, fp)| format!("{fp} (keys/{cluster}/current)"))
                .collect(),
        ));
    }
    let mut changes = apply::apply(
        plan,
        &planned.scan,
        &planned.keys,
        publish.resealer,
        now,
        publish.progress,
    )?;
    changes.extend(planned.key_files.iter().cloned());
    check_clean(repo, &planned.base_commit, &planned.root, &changes)?;
    let message = report::commit_message(plan, &date);
    let commit = git::commit_changes(repo, &planned.base_commit, &changes, &branch, &message)?;
    tracing::info!(%branch, commit = %commit, files = changes.len(), "committed {} file(s) on {branch} ({commit})", changes.len());
    if !publish.push {
        return Ok(Outcome::Committed { branch, commit });
    }
    git::push(repo, publish.remote, &branch, publish.creds)?;
    tracing::info!(%branch, remote = %publish.remote, "pushed {branch} to {}", publish.remote);
    let pull_request = match forge {
        Some(forge) => {
            let title = report::title(plan, &date);
            let body = report::body(plan);
            let pr = match &existing {
                Some(pr) => forge.update(pr, &title, &body)?,
                None => forge.create(&branch, &planned.base, &title, &body)?,
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
            Some((pr, existing.is_some()))
        }
        None => None,
    };
    Ok(Outcome::Proposed {
        branch,
        commit,
        pull_request,
    })
}

/// Age from git for SealedSecrets without `sealed-at`; key by trial for those without a key annotation.
fn facts(repo: &Repository, tip: git2::Oid, scan: &Scan, keyring: Option<&Keyring>) -> Result<Vec<Facts>, RunError> {
    let wanted: std::collections::HashSet<PathBuf> = scan
        .found
        .iter()
        .filter(|f| f.sealed.annotation(SEALED_AT_ANNOTATION).is_none())
        .map(|f| f.file.clone())
        .collect();
    let changes = sealant_repo::worktree::last_changes(repo, tip, &wanted).map_err(RunError::History)?;
    Ok(scan
        .found
        .iter()
        .map(|f| Facts {
            last_change: changes.get(&f.file).copied(),
            key: match (keyring, f.sealed.annotation(KEY_FINGERPRINT_ANNOTATION)) {
                (Some(ring), None) => identify_key(&f.sealed, ring),
                _ => None,
            },
        })
        .collect())
}

/// Whether the open pull request (or, without a forge, the remote branch) already holds this plan.
///
/// Why so strict: "already proposed" stops the run with success, so anything a repository writer can forge
/// would silence rotation (even after a key compromise). The digest must be in the last paragraph, and the
/// branch must be what this job makes: one commit on top of the current base that changes every planned item.
/// The pull request itself was already checked to be ours (same repository, the token's user). With a forge and
/// no open pull request, the plan is proposed again (a branch alone is not a proposal anybody reviews).
fn already_proposed(
    repo: &Repository,
    planned: &Planned<'_>,
    publish: &Publish<'_>,
    with_forge: bool,
    branch: &str,
    existing: Option<&PullRequest>,
    digest: &str,
) -> Result<bool, RunError> {
    match existing {
        Some(pr) if report::digest_in(&pr.body) != Some(digest) => return Ok(false),
        Some(_) => {}
        None if with_forge => return Ok(false),
        None => {
            let branches = git::remote_branches(repo, publish.remote, BRANCH_PREFIX, publish.creds)?;
            if !branches.iter().any(|(b, _)| b == branch) {
                return Ok(false);
            }
        }
    }
    let tip = git::fetch_tip(repo, publish.remote, branch, publish.creds)?;
    if report::digest_in(tip.message().unwrap_or_default()) != Some(digest) {
        return Ok(false);
    }
    if tip.parent_count() != 1 || tip.parent_id(0).ok() != Some(planned.base_commit.id()) {
        tracing::warn!(%branch, "branch {branch} is not one commit on the current base: proposing again");
        return Ok(false);
    }
    let item_at = |commit: &git2::Commit<'_>, action: &plan::Action| -> Option<String> {
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
    let all_changed = planned
        .plan
        .actions
        .iter()
        .filter(|a| a.kind != plan::Kind::Report)
        .all(|a| item_at(&tip, a).is_some_and(|now| item_at(&planned.base_commit, a) != Some(now)));
    if !all_changed {
        tracing::warn!(%branch, "branch {branch} carries the plan's digest but not its changes: proposing again");
    }
    Ok(all_changed)
}

/// Refuses to commit over uncommitted edits: each changed file must be, in the work tree, what the base has.
fn check_clean(
    repo: &Repository,
    base: &git2::Commit<'_>,
    root: &Path,
    changes: &[(PathBuf, String)],
) -> Result<(), RunError> {
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
                return Err(RunError::Crlf(file.clone()));
            }
            return Err(RunError::Dirty(file.clone()));
        }
    }
    Ok(())
}
