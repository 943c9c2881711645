//! Git with libgit2: open or clone the repository, commit the rewritten files on a branch without touching the
//! work tree or HEAD, look at the remote's rotation branches, push. Credentials come from files or the
//! environment, never argv; a rejected ref is an error (libgit2 reports it only in a callback).

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use git2::{Cred, CredentialType, FetchOptions, PushOptions, RemoteCallbacks, Repository};
use secrecy::{ExposeSecret as _, SecretString};

/// A git failure, with what was being done. Never holds a credential.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {message}")]
pub struct GitError {
    /// What was being done.
    pub what: String,
    /// libgit2's message.
    pub message: String,
}

fn err(what: impl Into<String>) -> impl FnOnce(git2::Error) -> GitError {
    let what = what.into();
    move |e| GitError {
        what,
        message: e.message().to_string(),
    }
}

/// How to authenticate to the remote.
#[derive(Default)]
pub struct Credentials {
    /// HTTPS: user name that goes with the token (`x-access-token` on GitHub, `oauth2` on GitLab).
    pub user: String,
    /// HTTPS: a token or password.
    pub token: Option<SecretString>,
    /// SSH: a private key file.
    pub ssh_key: Option<PathBuf>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("ssh_key", &self.ssh_key)
            .finish()
    }
}

impl Credentials {
    fn callbacks(&self) -> RemoteCallbacks<'_> {
        let mut callbacks = RemoteCallbacks::new();
        let mut tries = 0;
        callbacks.credentials(move |url, user_from_url, allowed| {
            // Why a limit: libgit2 asks again after a rejected credential; answering forever would loop.
            tries += 1;
            if tries > 3 {
                return Err(git2::Error::from_str("the remote rejected the credentials"));
            }
            if allowed.contains(CredentialType::SSH_KEY)
                && let Some(key) = &self.ssh_key
            {
                return Cred::ssh_key(user_from_url.unwrap_or("git"), None, key, None);
            }
            if allowed.contains(CredentialType::USER_PASS_PLAINTEXT)
                && let Some(token) = &self.token
            {
                // Why: over plain http the token would be readable by anyone on the path.
                crate::forge::check_token_url(url).map_err(|e| git2::Error::from_str(&e.to_string()))?;
                let user = if self.user.is_empty() {
                    "x-access-token"
                } else {
                    &self.user
                };
                return Cred::userpass_plaintext(user, token.expose_secret());
            }
            Cred::default()
        });
        callbacks
    }
}

/// Clones `url` into `dir`.
pub fn clone(url: &str, dir: &Path, creds: &Credentials) -> Result<Repository, GitError> {
    let mut fetch = FetchOptions::new();
    fetch.remote_callbacks(creds.callbacks());
    git2::build::RepoBuilder::new()
        .fetch_options(fetch)
        .clone(url, dir)
        .map_err(err(format!("cannot clone {}", redact_url(url))))
}

/// Opens the repository at or above `dir`.
pub fn open(dir: &Path) -> Result<Repository, GitError> {
    Repository::discover(dir).map_err(err(format!("{} is not in a git repository", dir.display())))
}

/// The branch HEAD points at.
pub fn current_branch(repo: &Repository) -> Result<String, GitError> {
    let head = repo.head().map_err(err("cannot read HEAD"))?;
    head.shorthand()
        .ok()
        .filter(|_| head.is_branch())
        .map(str::to_string)
        .ok_or_else(|| GitError {
            what: "cannot tell the base branch".into(),
            message: "HEAD is detached: give --base".into(),
        })
}

/// The commit the rotation starts from: the local branch `base`, else `<remote>/base`.
pub fn base_commit<'r>(repo: &'r Repository, remote: &str, base: &str) -> Result<git2::Commit<'r>, GitError> {
    let reference = repo
        .find_branch(base, git2::BranchType::Local)
        .or_else(|_| repo.find_branch(&format!("{remote}/{base}"), git2::BranchType::Remote))
        .map_err(err(format!("no branch {base}")))?;
    reference
        .get()
        .peel_to_commit()
        .map_err(err(format!("branch {base} has no commit")))
}

/// The text of `path` in `commit`, if it is there.
pub fn file_at(repo: &Repository, commit: &git2::Commit<'_>, path: &Path) -> Option<Vec<u8>> {
    let entry = commit.tree().ok()?.get_path(path).ok()?;
    let blob = repo.find_blob(entry.id()).ok()?;
    Some(blob.content().to_vec())
}

/// Commits `changes` on top of `base` as a new commit, points `refs/heads/<branch>` at it (replacing what was
/// there), and returns it. The work tree, index and HEAD are not touched.
pub fn commit_changes(
    repo: &Repository,
    base: &git2::Commit<'_>,
    changes: &[(PathBuf, String)],
    branch: &str,
    message: &str,
) -> Result<git2::Oid, GitError> {
    let base_tree = base.tree().map_err(err("cannot read the base tree"))?;
    let mut update = git2::build::TreeUpdateBuilder::new();
    for (path, text) in changes {
        let mode = base_tree
            .get_path(path)
            .map(|e| e.filemode())
            .unwrap_or(i32::from(git2::FileMode::Blob));
        let blob = repo
            .blob(text.as_bytes())
            .map_err(err(format!("cannot store {}", path.display())))?;
        let mode = if mode == i32::from(git2::FileMode::BlobExecutable) {
            git2::FileMode::BlobExecutable
        } else {
            git2::FileMode::Blob
        };
        update.upsert(path, blob, mode);
    }
    let tree_id = update
        .create_updated(repo, &base_tree)
        .map_err(err("cannot build the tree"))?;
    let tree = repo.find_tree(tree_id).map_err(err("cannot read the new tree"))?;
    let signature = repo
        .signature()
        .or_else(|_| git2::Signature::now("sealant rotate", "sealant-rotate@users.noreply.invalid"))
        .map_err(err("cannot make a signature"))?;
    let oid = repo
        .commit(None, &signature, &signature, message, &tree, &[base])
        .map_err(err("cannot commit"))?;
    repo.reference(&format!("refs/heads/{branch}"), oid, true, "sealant rotate")
        .map_err(err(format!("cannot update branch {branch}")))?;
    Ok(oid)
}

/// The remote's branches whose names start with `prefix`, with their tips.
pub fn remote_branches(
    repo: &Repository,
    remote: &str,
    prefix: &str,
    creds: &Credentials,
) -> Result<Vec<(String, git2::Oid)>, GitError> {
    let mut remote = repo.find_remote(remote).map_err(err(format!("no remote {remote}")))?;
    let url = redact_url(remote.url().unwrap_or_default());
    let connection = remote
        .connect_auth(git2::Direction::Fetch, Some(creds.callbacks()), None)
        .map_err(err(format!("cannot reach {url}")))?;
    let heads = connection
        .list()
        .map_err(err(format!("cannot list the branches of {url}")))?;
    Ok(heads
        .iter()
        .filter_map(|h| {
            let name = h.name().strip_prefix("refs/heads/")?;
            name.starts_with(prefix).then(|| (name.to_string(), h.oid()))
        })
        .collect())
}

/// Fetches `branch` from the remote and returns its tip.
pub fn fetch_tip<'r>(
    repo: &'r Repository,
    remote: &str,
    branch: &str,
    creds: &Credentials,
) -> Result<git2::Commit<'r>, GitError> {
    let mut r = repo.find_remote(remote).map_err(err(format!("no remote {remote}")))?;
    let mut fetch = FetchOptions::new();
    fetch.remote_callbacks(creds.callbacks());
    let tracking = format!("refs/remotes/{remote}/{branch}");
    r.fetch(&[format!("+refs/heads/{branch}:{tracking}")], Some(&mut fetch), None)
        .map_err(err(format!("cannot fetch {branch}")))?;
    let commit = repo
        .find_reference(&tracking)
        .and_then(|r| r.peel_to_commit())
        .map_err(err(format!("cannot read {branch}")))?;
    Ok(commit)
}

/// Pushes `refs/heads/<branch>` to the remote, replacing the remote branch (it is ours: one rotation branch per
/// pull request). A ref the remote rejects (protected branch, hook) is an error.
pub fn push(repo: &Repository, remote: &str, branch: &str, creds: &Credentials) -> Result<(), GitError> {
    let mut r = repo.find_remote(remote).map_err(err(format!("no remote {remote}")))?;
    let url = redact_url(r.url().unwrap_or_default());
    let rejected: RefCell<Option<String>> = RefCell::new(None);
    let mut callbacks = creds.callbacks();
    callbacks.push_update_reference(|refname, status| {
        if let Some(status) = status {
            *rejected.borrow_mut() = Some(format!("{refname}: {status}"));
        }
        Ok(())
    });
    let mut options = PushOptions::new();
    options.remote_callbacks(callbacks);
    r.push(
        &[format!("+refs/heads/{branch}:refs/heads/{branch}")],
        Some(&mut options),
    )
    .map_err(err(format!("cannot push {branch} to {url}")))?;
    drop(options);
    if let Some(why) = rejected.take() {
        return Err(GitError {
            what: format!("{url} rejected the push"),
            message: why,
        });
    }
    Ok(())
}

/// A URL with any user info removed, for messages: `https://user:token@host/x` must never be printed.
pub fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}/{path}")
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_urls_are_not_printed() {
        assert_eq!(
            redact_url("https://bot:s3cret@git.example/org/repo.git"),
            "https://git.example/org/repo.git"
        );
        assert_eq!(redact_url("file:///tmp/x.git"), "file:///tmp/x.git");
    }

    #[test]
    fn debug_of_credentials_hides_the_token() {
        let creds = Credentials {
            user: "bot".into(),
            token: Some(SecretString::from("tok3n-value".to_string())),
            ssh_key: None,
        };
        assert!(!format!("{creds:?}").contains("tok3n-value"));
    }
}
