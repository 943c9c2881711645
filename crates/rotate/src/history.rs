//! When each file last changed, from the git history (for SealedSecrets made without `sealant.dev/sealed-at`,
//! e.g. by upstream kubeseal).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use time::OffsetDateTime;

/// The commit time of the newest commit that changed each of `wanted` (paths relative to the repository root),
/// walking first-parent history from `tip`. Paths never committed are absent.
pub fn last_changes(
    repo: &git2::Repository,
    tip: git2::Oid,
    wanted: &BTreeSet<PathBuf>,
) -> Result<BTreeMap<PathBuf, OffsetDateTime>, git2::Error> {
    let mut found = BTreeMap::new();
    if wanted.is_empty() {
        return Ok(found);
    }
    let mut walk = repo.revwalk()?;
    walk.push(tip)?;
    walk.simplify_first_parent()?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::TIME)?;
    let mut options = git2::DiffOptions::new();
    options.skip_binary_check(true);
    for oid in walk {
        let commit = repo.find_commit(oid?)?;
        let tree = commit.tree()?;
        let parent = match commit.parent(0) {
            Ok(p) => Some(p.tree()?),
            Err(_) => None,
        };
        let diff = repo.diff_tree_to_tree(parent.as_ref(), Some(&tree), Some(&mut options))?;
        let when = OffsetDateTime::from_unix_timestamp(commit.time().seconds()).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        for delta in diff.deltas() {
            if let Some(path) = delta.new_file().path()
                && wanted.contains(path)
                && !found.contains_key(path)
            {
                found.insert(path.to_path_buf(), when);
            }
        }
        if found.len() == wanted.len() {
            break;
        }
    }
    Ok(found)
}
