//! `sealant keys retire|compromise`: record that a key must no longer be sealed to (or is no longer trusted).

use anyhow::{Context as _, Result};
use sealant_cli::keys::KeysStateArgs;
use sealant_repo::{KeyState, KeysDir};
use time::OffsetDateTime;

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
