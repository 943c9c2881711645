//! Reading files of a repository that anyone with commit rights shapes: regular files only, never through a
//! symbolic link, never more than a bound, and YAML errors that quote no line of the file.
//!
//! Why: a committed `keys/prod/z.crt -> /dev/zero`, a FIFO named `current`, or `.sealant.yaml` linked to
//! `~/.config/…/token` would otherwise make lint, `keys list`, `seal` or `rotate` hang, exhaust memory, or print
//! a file from outside the repository in an error message.

use std::io::Read as _;
use std::path::Path;

/// The most any configuration, key or state file of a repository may hold.
pub const MAX_SMALL_FILE: u64 = 1024 * 1024;

/// The most a manifest file may hold (the same bound as manifest input).
pub const MAX_MANIFEST_FILE: u64 = sealant_core::manifest::MAX_INPUT_BYTES as u64;

/// Reads `path` if it is a regular file (a symbolic link is refused, not followed) of at most `limit` bytes.
/// A missing file is `ErrorKind::NotFound`, as with `std::fs::read`.
pub fn read(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::os::unix::fs::OpenOptionsExt as _;
    // Why the checks on the open file, not the path: a link swapped in between a check and an open would be
    // followed. O_NOFOLLOW refuses a link as the last component; O_NONBLOCK keeps a FIFO from blocking the open;
    // fstat then says what was opened.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => std::io::Error::other("a symbolic link, not followed"),
            _ => e,
        })?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if meta.len() > limit {
        return Err(std::io::Error::other(format!("larger than {limit} bytes")));
    }
    let mut buf = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(limit + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(std::io::Error::other(format!("larger than {limit} bytes")));
    }
    Ok(buf)
}

/// [`read`] as UTF-8 text.
pub fn read_text(path: &Path, limit: u64) -> std::io::Result<String> {
    String::from_utf8(read(path, limit)?).map_err(|_| std::io::Error::other("not UTF-8 text"))
}

/// Whether `path` is a real directory (not a symbolic link to one).
pub fn is_real_dir(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

/// Refuses a directory that lies in a git work tree by its path but outside it once symbolic links are resolved.
///
/// Why: with `keys/prod -> /etc/…` or `overlays/prod -> ~/.ssh` committed, a write that looks like it goes into the
/// repository would land wherever the link points. Outside any work tree there is nothing to stay inside.
pub fn ensure_inside_repository(dir: &Path) -> std::io::Result<()> {
    let absolute = std::path::absolute(dir)?;
    // The repository the path *names*: `..` resolved lexically, and only real directories (not links) count as
    // its top, so `repo/link -> ../other-repo` is not taken for a repository of its own.
    let mut named = std::path::PathBuf::new();
    for part in absolute.components() {
        match part {
            std::path::Component::ParentDir => {
                named.pop();
            }
            std::path::Component::CurDir => {}
            other => named.push(other),
        }
    }
    let is_top = |d: &Path| is_real_dir(d) && d.join(".git").exists();
    let Some(top) = named.ancestors().find(|d| is_top(d)) else {
        return Ok(());
    };
    // Where the write really goes: the nearest existing directory on the way, resolved as the kernel does
    // (links first, then `..`), which is what a later create and rename will follow.
    let existing = absolute.ancestors().find(|d| d.exists()).unwrap_or(Path::new("/"));
    let (real_dir, real_top) = (std::fs::canonicalize(existing)?, std::fs::canonicalize(top)?);
    if real_dir.starts_with(&real_top) {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "{} leads outside the repository {} (through a symbolic link); refusing to write there",
            dir.display(),
            top.display()
        )))
    }
}

/// Deserializes YAML with source snippets off: the error gives a position and a reason, never a line of the
/// file (which could be a token or a key).
pub fn from_yaml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    serde_saphyr::from_str_with_options(text, serde_saphyr::options! { with_snippet: false })
        .map_err(|e| YamlError(sealant_core::manifest::redact(&e.without_snippet().to_string())))
}

/// A repository file that does not read as the YAML expected: the parser's message (with the line and the key)
/// with any quoted value redacted. Why a message and not the parser's error: that error may quote the file, and a
/// repository file may hold a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct YamlError(pub String);

/// Whether `path` names a manifest by its extension: `.yaml`, `.yml` or `.json`.
pub fn is_manifest(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_devices_and_oversized_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside-token");
        std::fs::write(&outside, "secret-token-value").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        assert!(read(&link, 100).unwrap_err().to_string().contains("symbolic link"));
        assert!(
            read(Path::new("/dev/zero"), 100)
                .unwrap_err()
                .to_string()
                .contains("regular")
        );
        assert!(read(&outside, 4).unwrap_err().to_string().contains("larger"));
        assert_eq!(read(&outside, 100).unwrap(), b"secret-token-value");
        assert_eq!(
            read(&dir.path().join("none"), 1).unwrap_err().kind(),
            std::io::ErrorKind::NotFound
        );
    }

    #[test]
    fn a_directory_linked_out_of_the_repository_is_refused_for_writing() {
        let dir = tempfile::tempdir().unwrap();
        let (repo, outside) = (dir.path().join("repo"), dir.path().join("outside"));
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::create_dir_all(repo.join("keys/staging")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, repo.join("keys/prod")).unwrap();
        assert!(ensure_inside_repository(&repo.join("keys/prod")).is_err());
        assert!(ensure_inside_repository(&repo.join("keys/staging")).is_ok());
        assert!(ensure_inside_repository(&outside).is_ok(), "outside any work tree");
        assert!(
            ensure_inside_repository(&repo.join("keys/../../outside")).is_ok(),
            "named outside, lexically"
        );
        // `..` after a link goes where the kernel takes it: out of the repository.
        assert!(ensure_inside_repository(&repo.join("keys/prod/../escaped")).is_err());
        // A directory not made yet, under a link: judged by the nearest one that exists.
        assert!(ensure_inside_repository(&repo.join("keys/prod/new/deeper")).is_err());
        assert!(ensure_inside_repository(&repo.join("keys/staging/new")).is_ok());
        // A link to another repository is not a repository of its own.
        let other = dir.path().join("other");
        std::fs::create_dir_all(other.join(".git")).unwrap();
        std::os::unix::fs::symlink(&other, repo.join("linked-repo")).unwrap();
        assert!(ensure_inside_repository(&repo.join("linked-repo")).is_err());
    }

    #[test]
    fn a_yaml_error_quotes_no_line_of_the_file() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Strict {
            a: u8,
        }
        let err = from_yaml::<Strict>("a: secret-token-value-42\n")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("secret-token-value-42"), "{err}");
    }
}
