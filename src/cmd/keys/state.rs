//! `sealant keys retire|compromise`: record that a key must no longer be sealed to (or is no longer trusted).

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::Args;
use sealant_repo::{KeyState, KeysDir};
use time::OffsetDateTime;

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

/// Runs the command.
pub fn run(args: KeysStateArgs, state: KeyState) -> Result<()> {
    let root = args.repo.join("keys");
    let dir = KeysDir::load(&root).with_context(|| format!("cannot read {}", root.display()))?;
    let path = dir.set_state(
        &args.fingerprint,
        state,
        args.reason.as_deref(),
        OffsetDateTime::now_utc(),
    )?;
    let users = sealant_repo::usage(&args.repo)
        .get(&Some(args.fingerprint.clone()))
        .copied()
        .unwrap_or(0);
    eprintln!(
        "{} marked {state} in {}; {users} SealedSecret(s) in the repository are sealed to it{}",
        args.fingerprint,
        path.display(),
        match (state, users) {
            (_, 0) => String::new(),
            (KeyState::Compromised, _) =>
                ": regenerate their values at the source, then re-seal (`sealant rotate`)".into(),
            _ => ": re-seal them (`sealant reseal` or `sealant rotate`)".into(),
        }
    );
    Ok(())
}
