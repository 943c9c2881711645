//! The one walk of a repository: which files under a directory are the repository's, for lint, rotate and
//! `keys list`. Every file git tracks, and every untracked file `.gitignore` (or `.git/info/exclude`) does not
//! exclude; never `.ignore` files or anybody's global excludes; `.git/` skipped; symbolic links listed (for the
//! caller to report) but never followed; a submodule's files all included.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::worktree::WorkTree;

/// The files found, and what the walk could not do.
#[derive(Debug, Default)]
pub struct Walk {
    /// Absolute paths of regular files and symbolic links, sorted, each once.
    pub files: Vec<PathBuf>,
    /// What went wrong on the way (an unreadable directory, git unable to list the tracked files).
    pub notices: Vec<String>,
}

/// Walks `root` (a directory, or a single file) under the repository policy.
///
/// Why git's own list of tracked files: a tracked file is committed whatever an ignore file says, so it must be
/// checked and rotated; and a committed `.ignore` (not a git file, but honoured by generic walkers) or a global
/// exclude must not be able to hide one.
pub fn files(root: &Path) -> Walk {
    let mut walk = Walk::default();
    if !root.is_dir() {
        if std::fs::symlink_metadata(root).is_ok() {
            walk.files
                .push(std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf()));
        }
        return walk;
    }
    let root = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
    match WorkTree::find(&root) {
        Some(Ok(tree)) => match tree.tracked() {
            Ok(tracked) => {
                walk.files = walk_dir(&root, true, &mut walk.notices);
                // Why a set: most tracked files were just found by the directory walk (as regular files or
                // links); only the others (ignored but tracked, submodules, deleted) need a system call here.
                let found: std::collections::HashSet<PathBuf> = walk.files.iter().cloned().collect();
                let canonical = std::fs::canonicalize(&root).unwrap_or_else(|_| root.clone());
                for entry in tracked {
                    let Ok(rel) = entry.path.strip_prefix(&canonical) else {
                        continue;
                    };
                    let path = root.join(rel);
                    if !entry.submodule && found.contains(&path) {
                        continue;
                    }
                    match std::fs::symlink_metadata(&path) {
                        Ok(m) if entry.submodule && m.is_dir() => {
                            walk.files.extend(walk_dir(&path, false, &mut walk.notices));
                        }
                        // A deleted-but-tracked file is not there; a symbolic link stays, to be reported.
                        Ok(m) if m.is_file() || m.file_type().is_symlink() => walk.files.push(path),
                        _ => {}
                    }
                }
            }
            Err(e) => everything(&root, &e, &mut walk),
        },
        // Why everything when git cannot answer inside a work tree (a repository libgit2 refuses): `.gitignore`
        // alone would hide files that are tracked anyway.
        Some(Err(e)) => everything(&root, &e, &mut walk),
        None => walk.files = walk_dir(&root, true, &mut walk.notices),
    }
    walk.files.sort();
    walk.files.dedup();
    walk
}

fn everything(root: &Path, error: &git2::Error, walk: &mut Walk) {
    walk.notices.push(format!(
        "{}: git could not list the tracked files ({}); checking every file",
        root.display(),
        error.message()
    ));
    walk.files = walk_dir(root, false, &mut walk.notices);
}

/// Every file under `dir`, in parallel (the walk is mostly system calls): `.git/` skipped, symbolic links listed
/// but not followed; with `gitignore`, the `.gitignore` files under `dir` and `.git/info/exclude` are honoured.
///
/// Why never an ignore file above `dir`: whoever can write an ancestor (`/tmp`, a shared CI workspace, a home
/// directory) is not the repository, and must not hide its files. Why a nested repository (not a submodule) is
/// walked whole: its own `.gitignore` is its writer's, and would hide files the outer tree deploys (git itself
/// lists such a directory as one untracked entry).
fn walk_dir(dir: &Path, gitignore: bool, notices: &mut Vec<String>) -> Vec<PathBuf> {
    let found: Mutex<(Vec<PathBuf>, Vec<String>)> = Mutex::new((Vec::new(), Vec::new()));
    let nested: std::sync::Arc<Mutex<Vec<PathBuf>>> = std::sync::Arc::default();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    let seen = nested.clone();
    ignore::WalkBuilder::new(dir)
        .hidden(false)
        .require_git(false)
        .ignore(false)
        .git_global(false)
        .git_ignore(gitignore)
        .git_exclude(gitignore)
        .parents(false)
        .follow_links(false)
        .filter_entry(move |e| {
            if e.file_name() == ".git" {
                return false;
            }
            let repository = gitignore
                && e.depth() > 0
                && e.file_type().is_some_and(|t| t.is_dir())
                && e.path().join(".git").exists();
            if repository {
                seen.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(e.path().to_path_buf());
            }
            !repository
        })
        .threads(threads)
        .build_parallel()
        .run(|| {
            let found = &found;
            Box::new(move |entry| {
                let mut found = found.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                match entry {
                    Ok(entry) if entry.file_type().is_some_and(|t| t.is_file() || t.is_symlink()) => {
                        found.0.push(entry.into_path());
                    }
                    Ok(_) => {}
                    Err(e) => found.1.push(format!("skipped: {e}")),
                }
                ignore::WalkState::Continue
            })
        });
    let (mut files, problems) = found.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    notices.extend(problems);
    let nested = std::mem::take(&mut *nested.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    for repository in nested {
        files.extend(walk_dir(&repository, false, notices));
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        let status = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
            .args(args)
            .current_dir(dir)
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }

    fn names(walk: &Walk, root: &Path) -> Vec<String> {
        walk.files
            .iter()
            .map(|f| f.strip_prefix(root).unwrap().display().to_string())
            .collect()
    }

    #[test]
    fn tracked_files_are_walked_whatever_an_ignore_file_says_and_untracked_ignored_ones_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &["init", "-q"]);
        std::fs::create_dir_all(root.join("apps/web")).unwrap();
        std::fs::write(root.join("apps/web/db.yaml"), "a").unwrap();
        std::fs::write(root.join("apps/web/scratch.yaml"), "b").unwrap();
        std::fs::write(root.join("apps/web/new.yaml"), "c").unwrap();
        git(root, &["add", "apps/web/db.yaml"]);
        // After the add: the tracked file is now ignored too, as is an untracked scratch file.
        std::fs::write(root.join("apps/.gitignore"), "web/db.yaml\nweb/scratch.yaml\n").unwrap();
        // Neither a generic `.ignore` nor a hidden directory hides anything.
        std::fs::write(root.join(".ignore"), "new.yaml\n").unwrap();
        std::fs::create_dir_all(root.join(".hidden")).unwrap();
        std::fs::write(root.join(".hidden/x.yaml"), "d").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", root.join("link.yaml")).unwrap();
        let walk = files(root);
        let root = std::path::absolute(root).unwrap();
        assert_eq!(
            names(&walk, &root),
            [
                ".hidden/x.yaml",
                ".ignore",
                "apps/.gitignore",
                "apps/web/db.yaml",
                "apps/web/new.yaml",
                "link.yaml"
            ]
        );
        assert!(walk.notices.is_empty(), "{:?}", walk.notices);
    }

    #[test]
    fn outside_a_work_tree_gitignore_still_decides() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".gitignore"), "out.yaml\n").unwrap();
        std::fs::write(dir.path().join("out.yaml"), "x").unwrap();
        std::fs::write(dir.path().join("in.yaml"), "x").unwrap();
        let root = std::path::absolute(dir.path()).unwrap();
        assert_eq!(names(&files(dir.path()), &root), [".gitignore", "in.yaml"]);
    }

    #[test]
    fn a_planted_bare_repository_below_the_root_is_never_opened() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &["init", "-q", "--bare", "planted"]);
        std::fs::write(root.join("a.yaml"), "x").unwrap();
        assert!(WorkTree::find(root).is_none());
        assert!(WorkTree::find(&root.join("planted")).is_none());
    }

    #[test]
    fn an_ignore_file_above_the_walked_directory_hides_nothing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".gitignore"), "*.yaml\nrendered/\n").unwrap();
        // Outside a work tree.
        let plain = dir.path().join("tree");
        std::fs::create_dir_all(&plain).unwrap();
        std::fs::write(plain.join("db.yaml"), "x").unwrap();
        let root = std::path::absolute(&plain).unwrap();
        assert_eq!(names(&files(&plain), &root), ["db.yaml"]);
        // A work tree below an ignore file it does not own: untracked files stay visible.
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(repo.join("rendered")).unwrap();
        git(&repo, &["init", "-q"]);
        std::fs::write(repo.join("rendered/db.yaml"), "x").unwrap();
        let root = std::path::absolute(&repo).unwrap();
        assert_eq!(names(&files(&repo), &root), ["rendered/db.yaml"]);
    }

    #[test]
    fn a_nested_repository_that_is_not_a_submodule_is_walked_whole() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &["init", "-q"]);
        let nested = root.join("vendor/lib");
        std::fs::create_dir_all(&nested).unwrap();
        git(&nested, &["init", "-q"]);
        std::fs::write(nested.join(".gitignore"), "secret.yaml\n").unwrap();
        std::fs::write(nested.join("secret.yaml"), "x").unwrap();
        git(&nested, &["add", "-f", "."]);
        let walk = files(root);
        let root = std::path::absolute(root).unwrap();
        assert_eq!(names(&walk, &root), ["vendor/lib/.gitignore", "vendor/lib/secret.yaml"]);
    }
}
