//! Files named on the command line: read with a bound (a FIFO or a device must not hang or flood a command),
//! key material into wiped buffers, and every write atomic, secret files created 0600.

use std::fs;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

/// A file that could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {path}: {cause}")]
pub struct FileError {
    /// What was tried (`read`, `write`, …).
    pub action: &'static str,
    /// The file.
    pub path: String,
    /// The OS error, or the bound exceeded (printed in the message).
    pub cause: std::io::Error,
}

impl FileError {
    fn new(action: &'static str, path: &Path, cause: std::io::Error) -> Self {
        Self {
            action,
            path: path.display().to_string(),
            cause,
        }
    }
}

/// How sensitive a file's content is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sensitivity {
    /// Ciphertext, certificates: safe anywhere.
    Public,
    /// Plaintext or private keys: files get mode 0600, and a terminal needs `--force`.
    Secret,
}

/// Reads at most `limit` bytes of a regular file (symlinks are followed: mounted Secrets are symlinks), so a
/// FIFO or a device cannot hang or flood the command.
pub fn read_bounded(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let meta = fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut buf = Vec::new();
    fs::File::open(path)?.take(limit + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(std::io::Error::other(format!("larger than {limit} bytes")));
    }
    Ok(buf)
}

/// Reads at most `limit` bytes from `reader` into a buffer wiped when dropped (the input may be a plaintext).
pub fn read_limited(reader: impl std::io::Read, limit: usize) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let mut buf = Zeroizing::new(Vec::new());
    reader
        .take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut buf)?;
    if buf.len() > limit {
        return Err(std::io::Error::other(format!("input larger than {limit} bytes")));
    }
    Ok(buf)
}

/// Reads a file that may hold key material (at most `limit` bytes) into a wiped buffer.
pub fn read_secret(path: &Path, limit: usize) -> Result<Zeroizing<Vec<u8>>, FileError> {
    fs::File::open(path)
        .and_then(|file| read_limited(file, limit))
        .map_err(|e| FileError::new("read", path, e))
}

/// Writes a file through a temporary file in the same directory and a rename, so a reader never sees half a
/// file and a failure leaves the old one intact. Secret files are created 0600; public ones keep the mode of
/// the file they replace (0644 when new). A directory reached through a link out of the repository is refused.
pub fn write_atomic(path: &Path, data: &[u8], sensitivity: Sensitivity) -> Result<(), FileError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let fail = |action, e| FileError::new(action, path, e);
    crate::repofs::ensure_inside_repository(&dir).map_err(|e| fail("write", e))?;
    // tempfile creates the file with mode 0600 before any byte is written.
    let mut tmp = tempfile::Builder::new()
        .prefix(".sealant-")
        .tempfile_in(&dir)
        .map_err(|e| fail("create a temporary file next to", e))?;
    tmp.write_all(data)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| fail("write", e))?;
    if sensitivity == Sensitivity::Public {
        let mode = fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0o644);
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(mode)).map_err(|e| fail("set permissions of", e))?;
    }
    tmp.persist(path).map_err(|e| fail("write", e.error))?;
    Ok(())
}
