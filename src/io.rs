//! Files, stdin/stdout, the terminal guard, atomic writes and certificate fetching: every side effect of the
//! CLI lives here, so the commands stay readable and the core stays sans-IO.

use std::fs;
use std::io::{IsTerminal as _, Read as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use sealant_core::manifest::MAX_INPUT_BYTES;
use zeroize::Zeroizing;

use crate::args::OutputFormat;
use sealant_core::manifest::Format;

/// Where input came from, for error messages.
pub struct Input {
    /// `path` or `<stdin>`.
    pub name: String,
    /// The text, wiped when dropped (it may be a plaintext Secret).
    pub text: Zeroizing<String>,
}

/// Reads `-f FILE`, or stdin when absent or `-`.
pub fn read_input(file: Option<&Path>, tty_hint: &str) -> Result<Input> {
    match file.filter(|p| p.as_os_str() != "-") {
        Some(path) => {
            let name = path.display().to_string();
            let bytes = read_limited(fs::File::open(path).with_context(|| format!("cannot read {name}"))?)
                .with_context(|| format!("cannot read {name}"))?;
            Ok(Input {
                text: utf8(bytes).with_context(|| name.clone())?,
                name,
            })
        }
        None => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                eprintln!("({tty_hint})");
            }
            let bytes = read_limited(stdin.lock()).context("cannot read stdin")?;
            Ok(Input {
                name: "<stdin>".into(),
                text: utf8(bytes).context("<stdin>")?,
            })
        }
    }
}

/// Reads a file that may hold key material into a wiped buffer.
pub fn read_secret_file(path: &Path) -> Result<Zeroizing<Vec<u8>>> {
    let file = fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    read_limited(file).with_context(|| format!("cannot read {}", path.display()))
}

/// Reads a file given on the command line, at most `limit` bytes; it must be a regular file once symlinks are
/// followed (mounted Secrets are symlinks), so a FIFO or a device cannot hang or flood the command.
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

fn read_limited(reader: impl std::io::Read) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let mut buf = Zeroizing::new(Vec::new());
    let limit = u64::try_from(MAX_INPUT_BYTES).unwrap_or(u64::MAX) + 1;
    reader.take(limit).read_to_end(&mut buf)?;
    if buf.len() > MAX_INPUT_BYTES {
        return Err(std::io::Error::other(format!(
            "input larger than {MAX_INPUT_BYTES} bytes"
        )));
    }
    Ok(buf)
}

fn utf8(mut bytes: Zeroizing<Vec<u8>>) -> Result<Zeroizing<String>> {
    match String::from_utf8(std::mem::take(&mut *bytes)) {
        Ok(s) => Ok(Zeroizing::new(s)),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            // Why: wipe the rejected bytes too; they may be a plaintext value.
            let _wipe = Zeroizing::new(e.into_bytes());
            bail!("not UTF-8 text (invalid byte at offset {at}); YAML and JSON manifests must be UTF-8")
        }
    }
}

/// The output format: `-o`, else the `-w` file's extension, else the input's.
pub fn output_format(flag: Option<OutputFormat>, output: Option<&Path>, input: Format) -> Format {
    let by_ext = output
        .and_then(|p| p.extension())
        .and_then(|e| e.to_str())
        .and_then(|e| match e {
            "yaml" | "yml" => Some(Format::Yaml),
            "json" => Some(Format::Json),
            _ => None,
        });
    match flag {
        Some(OutputFormat::Yaml) => Format::Yaml,
        Some(OutputFormat::Json) => Format::Json,
        None => by_ext.unwrap_or(input),
    }
}

/// How sensitive an output is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Sensitivity {
    /// Ciphertext, certificates: safe anywhere.
    Public,
    /// Plaintext or private keys: files get mode 0600, and a terminal needs `--force`.
    Secret,
}

/// Writes `data` to `-w FILE` (atomically) or stdout.
pub fn emit(output: Option<&Path>, data: &[u8], sensitivity: Sensitivity, force: bool) -> Result<()> {
    match output {
        Some(path) => write_atomic(path, data, sensitivity),
        None => {
            let mut stdout = std::io::stdout().lock();
            if sensitivity == Sensitivity::Secret && stdout.is_terminal() && !force {
                // Why: plaintext on a terminal ends up in scrollback, screen shares and recordings.
                bail!("refusing to print plaintext to a terminal: redirect stdout, use -w FILE, or pass --force");
            }
            stdout
                .write_all(data)
                .and_then(|()| stdout.flush())
                .or_else(ignore_broken_pipe)
        }
    }
}

fn ignore_broken_pipe(e: std::io::Error) -> Result<()> {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(e).context("cannot write to stdout")
    }
}

/// Writes a file through a temporary file in the same directory and a rename, so a reader never sees half a
/// file and a failure leaves the old one intact. Secret files are created 0600; public ones keep the mode of
/// the file they replace (0644 when new).
pub fn write_atomic(path: &Path, data: &[u8], sensitivity: Sensitivity) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.display();
    sealant_repo::repofs::ensure_inside_repository(&dir).with_context(|| format!("cannot write {name}"))?;
    // tempfile creates the file with mode 0600 before any byte is written.
    let mut tmp = tempfile::Builder::new()
        .prefix(".sealant-")
        .tempfile_in(&dir)
        .with_context(|| format!("cannot create a temporary file next to {name}"))?;
    tmp.write_all(data)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {name}"))?;
    if sensitivity == Sensitivity::Public {
        let mode = fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0o644);
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot set permissions of {name}"))?;
    }
    tmp.persist(path)
        .map_err(|e| anyhow!(e.error))
        .with_context(|| format!("cannot write {name}"))?;
    Ok(())
}

/// Reads a certificate from a file path or an `http://`, `https://` or `file://` URL.
pub fn read_cert(location: &str) -> Result<Vec<u8>> {
    let scheme = location.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    // Files are bounded like a fetched answer: a certificate is a few kilobytes, and a FIFO or device must not
    // hang the command or fill its memory.
    let file = |path: &str| {
        read_bounded(Path::new(path), 1024 * 1024).with_context(|| format!("cannot read certificate {location}"))
    };
    match scheme.as_deref() {
        None => file(location),
        Some("file") => file(&location["file://".len()..]),
        Some("http" | "https") => Ok(sealant_client::fetch_cert(location)?),
        Some(other) => bail!("cannot fetch {location:?}: unsupported URL scheme {other:?} (use http, https or file)"),
    }
}

/// Reads and checks a sealing certificate (expiry included).
pub fn load_cert(location: &str) -> Result<sealant_core::Certificate> {
    let pem = read_cert(location)?;
    let cert = sealant_core::Certificate::from_pem(&pem).map_err(|e| anyhow!("{location}: {e}"))?;
    cert.ensure_valid_at(time::OffsetDateTime::now_utc())
        .map_err(|e| anyhow!("{location}: {e}"))?;
    Ok(cert)
}
