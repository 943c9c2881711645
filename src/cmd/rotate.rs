//! `sealant rotate`: the rotation job. Plans what is due in a GitOps repository, regenerates or re-seals it,
//! commits on `sealant/rotate-<date>` without touching the work tree, pushes, and opens (or updates) one pull
//! request. Safe to interrupt: nothing reaches the remote before the push, and the push is the last git step.

use anyhow::{Result, anyhow};
use sealant_core::Keyring;
use sealant_repo::KeySources;
use sealant_rotate::git::{self, Credentials};
use sealant_rotate::pipeline::{self, Publish, Request};
use sealant_rotate::plan::Focus;
use sealant_rotate::report;
use sealant_rotate::resealer::{Offline, Resealer, ThroughControllers};
use sealant_rotate::setup::{self, ControllerFlags, ForgeFlags};
use time::OffsetDateTime;

use sealant_cli::rotate::{LogFormat, PlanFormat, RotateArgs};

use crate::audit::Audit;

/// Progress lines go to stderr: plain on a terminal, JSON lines for log collectors (unless the flag says).
fn init_logging(format: LogFormat) {
    use std::io::IsTerminal as _;
    sealant_rotate::report::init_logging(match format {
        LogFormat::Auto => !std::io::stderr().is_terminal(),
        LogFormat::Text => false,
        LogFormat::Json => true,
    });
}

/// Runs the command, audited: flags to a [`pipeline::plan`], the plan printed, then [`pipeline::propose`].
pub fn run(args: RotateArgs) -> Result<()> {
    init_logging(args.log_format);
    Audit::around(args.audit.audit_log.clone().as_deref(), "rotate", |audit| {
        rotate(&args, audit)
    })
}

fn rotate(args: &RotateArgs, audit: &mut Audit) -> Result<()> {
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
    let keyring = offline_keyring(args, &root)?;
    if let Some(ring) = &keyring {
        audit.keyring(ring);
    }
    let request = Request {
        base: args.base.clone(),
        remote: args.remote.clone(),
        now,
        keyring: keyring.as_ref(),
        focus: Focus::new(&args.only, args.force),
        compromised: args.compromised.clone(),
    };
    let mut planned = pipeline::plan(&repo, &request)?;
    // The live controllers first, dry run or not: a key they renewed since the last run changes the plan (its
    // certificate becomes current, and what is due is sealed to it).
    let controller = if args.controller || args.controller_url.is_some() {
        let flags = ControllerFlags {
            url: args.controller_url.clone(),
            kubeconfig: args.kubeconfig.clone(),
            contexts: setup::per_cluster(&args.contexts, "--context")?,
            namespaces: setup::per_cluster(&args.controller_namespace, "--controller-namespace")?,
            name: args.controller_name.clone(),
        };
        let routes = setup::controllers(&flags, &planned.config, &planned.keys)?;
        let controller = ThroughControllers::connect(routes, &planned.keys)?;
        planned.renew(controller.live(), now)?;
        Some(controller)
    } else {
        None
    };
    let served = controller.as_ref().map(ThroughControllers::served).unwrap_or_default();
    let unconfirmed: std::collections::BTreeSet<_> = setup::pins(&args.trust_cert, args.trust_file.as_deref())?
        .unconfirmed(&planned.plan, &planned.keys)
        .difference(&served)
        .cloned()
        .collect();
    if args.dry_run {
        planned.note_unconfirmed(&unconfirmed);
    }
    match args.format {
        PlanFormat::Table => eprint!("{}", report::table(&planned.plan)),
        PlanFormat::Json => println!("{}", report::json(&planned.plan)),
    }
    if args.dry_run {
        return Ok(());
    }
    // What a run that decrypts offline may open: every item it re-seals or regenerates.
    if keyring.is_some() {
        for action in &planned.plan.actions {
            audit.file(action.file.display().to_string());
            audit.sealed_secret(&action.namespace, &action.name, [action.item.clone()]);
        }
    }
    // Everything that can fail without side effects comes first: the forge (only when there is something to do:
    // a run with nothing due needs none).
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
        unconfirmed,
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
    let sources = KeySources {
        files: args.keys.clone(),
        age_identity: args.age_identity.clone(),
        keys_dir: root.join("keys"),
    };
    Ok(if sources.is_empty() {
        None
    } else {
        Some(sources.load()?)
    })
}
