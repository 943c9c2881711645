//! Files, stdin/stdout, the terminal guard, atomic writes and certificate fetching: every side effect of the
//! CLI lives here, so the commands stay readable and the core stays sans-IO.

use std::fs;
use std::io::{IsTerminal as _, Write as _};
use std::path::Path;

use anyhow::{Context as _, Result, bail};
use sealant_core::manifest::MAX_INPUT_BYTES;
use sealant_repo::files;
pub use sealant_repo::files::Sensitivity;
use zeroize::Zeroizing;

use sealant_cli::shared::{KeyArgs, OutputFormat};
use sealant_core::Keyring;
use sealant_core::manifest::Format;
use sealant_repo::KeySources;

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
            let bytes = files::read_limited(
                fs::File::open(path).with_context(|| format!("cannot read {name}"))?,
                MAX_INPUT_BYTES,
            )
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
            let bytes = files::read_limited(stdin.lock(), MAX_INPUT_BYTES).context("cannot read stdin")?;
            Ok(Input {
                name: "<stdin>".into(),
                text: utf8(bytes).context("<stdin>")?,
            })
        }
    }
}

/// Reads a file that may hold key material into a wiped buffer.
pub fn read_secret_file(path: &Path) -> Result<Zeroizing<Vec<u8>>> {
    Ok(files::read_secret(path, MAX_INPUT_BYTES)?)
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

/// Writes a file atomically (see [`files::write_atomic`]).
pub fn write_atomic(path: &Path, data: &[u8], sensitivity: Sensitivity) -> Result<()> {
    Ok(files::write_atomic(path, data, sensitivity)?)
}

/// The keyring `--key` and `--age-identity` name.
pub fn keyring(args: &KeyArgs) -> Result<Keyring> {
    let sources = KeySources {
        files: args.keys.clone(),
        age_identity: args.age_identity.clone(),
        keys_dir: args.keys_dir.clone(),
    };
    Ok(sources.load()?)
}
