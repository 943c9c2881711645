//! The git work tree holding a directory, opened with libgit2 (no `git` binary needed, as in the job's image):
//! the tracked files, and the first-parent history the ages of values come from.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

/// A git work tree.
pub struct WorkTree {
    repo: git2::Repository,
    root: PathBuf,
}

/// One tracked path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracked {
    /// Absolute path in the work tree.
    pub path: PathBuf,
    /// A submodule (a gitlink): its files are the submodule's, deployed all the same.
    pub submodule: bool,
}

impl WorkTree {
    /// The work tree holding `dir`: the nearest directory at or above it with a `.git`, opened there and nowhere
    /// else. `None` outside a work tree.
    ///
    /// Why no search beyond that: a bare repository planted in a subdirectory by a repository writer must never
    /// be taken for the repository (git's `safe.bareRepository=explicit`).
    pub fn find(dir: &Path) -> Option<Result<Self, git2::Error>> {
        let dir = std::path::absolute(dir).ok()?;
        let top = dir.ancestors().find(|d| d.join(".git").exists())?;
        Some(Self::open(top))
    }

    /// The work tree at `top` exactly.
    pub fn open(top: &Path) -> Result<Self, git2::Error> {
        let repo = git2::Repository::open_ext(
            top,
            git2::RepositoryOpenFlags::NO_SEARCH,
            std::iter::empty::<&std::ffi::OsStr>(),
        )?;
        Ok(Self::from_repository(repo, top))
    }

    /// An already open repository (`top`: where it was opened, used when it has no work tree).
    pub fn from_repository(repo: git2::Repository, top: &Path) -> Self {
        let root = repo.workdir().unwrap_or(top).to_path_buf();
        let root = std::fs::canonicalize(&root).unwrap_or(root);
        Self { repo, root }
    }

    /// The work tree's root (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The repository.
    pub fn repository(&self) -> &git2::Repository {
        &self.repo
    }

    /// Every path in the index (tracked), absolute.
    pub fn tracked(&self) -> Result<Vec<Tracked>, git2::Error> {
        let index = self.repo.index()?;
        Ok(index
            .iter()
            .map(|entry| {
                // Names as bytes: one that is not UTF-8 is still a tracked file.
                let rel = Path::new(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(
                    &entry.path,
                ));
                Tracked {
                    path: self.root.join(rel),
                    submodule: entry.mode == 0o160000,
                }
            })
            .collect())
    }

    /// When each of `files` (absolute, or relative to the root) last changed on the first-parent history of
    /// `HEAD`; files never committed are absent. Keys are the paths as given.
    pub fn last_changes(&self, files: &[PathBuf]) -> HashMap<PathBuf, OffsetDateTime> {
        let Ok(head) = self.repo.head().and_then(|h| h.peel_to_commit()) else {
            return HashMap::new();
        };
        // Why only the directory is resolved: a link to a file is its own path in git (and its own finding);
        // resolving it would hand it the age of the file it points at, in place of that file.
        // Each directory is resolved once: a tree of 100,000 files has a few hundred directories, and resolving a
        // path costs a system call per component.
        let mut directories: HashMap<PathBuf, Option<PathBuf>> = HashMap::new();
        let relative: HashMap<PathBuf, &PathBuf> = files
            .iter()
            .filter_map(|f| {
                let full = self.root.join(f);
                let parent = full.parent()?;
                let dir = directories
                    .entry(parent.to_path_buf())
                    .or_insert_with(|| std::fs::canonicalize(parent).ok())
                    .as_ref()?;
                let rel = dir.join(full.file_name()?).strip_prefix(&self.root).ok()?.to_path_buf();
                Some((rel, f))
            })
            .collect();
        let wanted: HashSet<PathBuf> = relative.keys().cloned().collect();
        last_changes(&self.repo, head.id(), &wanted)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(rel, when)| Some(((*relative.get(&rel)?).clone(), when)))
            .collect()
    }
}

/// The commit time of the newest commit that changed each of `wanted` (paths relative to the repository root),
/// walking first-parent history from `tip`: when the value landed on the branch. Paths never committed are
/// absent. The one source of ages from history, for lint and rotate alike.
///
/// Why hashed sets: every changed path of every commit is looked up, and ordered paths compare component by
/// component; on a tree of 10,000 files that comparison was a sixth of `lint`'s time.
pub fn last_changes(
    repo: &git2::Repository,
    tip: git2::Oid,
    wanted: &HashSet<PathBuf>,
) -> Result<HashMap<PathBuf, OffsetDateTime>, git2::Error> {
    let mut found = HashMap::new();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        let status = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }

    #[test]
    fn a_link_to_a_file_does_not_take_over_that_files_age() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &["init", "-q"]);
        std::fs::write(root.join("db.yaml"), "x").unwrap();
        git(root, &["add", "."]);
        git(root, &["commit", "-qm", "db"]);
        std::os::unix::fs::symlink("db.yaml", root.join("zz.yaml")).unwrap();
        let tree = WorkTree::find(root).unwrap().unwrap();
        let files = [root.join("db.yaml"), root.join("zz.yaml")];
        let ages = tree.last_changes(&files);
        assert!(ages.contains_key(&files[0]), "{ages:?}");
        assert!(!ages.contains_key(&files[1]), "{ages:?}");
    }
}
