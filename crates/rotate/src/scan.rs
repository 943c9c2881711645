//! Finds every SealedSecret of a repository's work tree (`.gitignore` honoured, `.git/` skipped). A file that does
//! not parse is reported with its path and skipped; the rest go on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sealant_core::manifest::{self, Format, Object};
use sealant_core::types::SealedSecret;

/// One SealedSecret and where it is.
#[derive(Debug)]
pub struct Found {
    /// File, relative to the repository root.
    pub file: PathBuf,
    /// Document (`3`, or `3.items[1]` inside a `List`).
    pub document: String,
    /// 1-based line of its document.
    pub line: usize,
    /// The object.
    pub sealed: SealedSecret,
}

/// A file that could not be read.
#[derive(Debug)]
pub struct Skipped {
    /// File, relative to the repository root.
    pub file: PathBuf,
    /// Why (never a copy of the content).
    pub message: String,
}

/// Everything found.
#[derive(Debug, Default)]
pub struct Scan {
    /// The SealedSecrets, by file then document order.
    pub found: Vec<Found>,
    /// Files that hold a SealedSecret but could not be read.
    pub skipped: Vec<Skipped>,
    /// Text and format of every file that holds a SealedSecret, for the writer.
    pub texts: BTreeMap<PathBuf, (Format, String)>,
    /// How many manifest files were looked at.
    pub files: usize,
}

/// Scans the work tree under `root`.
pub fn scan(root: &Path) -> Scan {
    let files = manifest_files(root);
    let count = files.len();
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    let chunk = count.div_ceil(workers).max(1);
    let parts: Vec<Scan> = std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter().fold(Scan::default(), |mut acc, f| {
                        read_file(root, f, &mut acc);
                        acc
                    })
                })
            })
            .collect();
        // A worker's panic is re-raised: dropping its part would silently skip files.
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut all = Scan {
        files: count,
        ..Scan::default()
    };
    for part in parts {
        all.found.extend(part.found);
        all.skipped.extend(part.skipped);
        all.texts.extend(part.texts);
    }
    all
}

fn manifest_files(root: &Path) -> Vec<PathBuf> {
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .require_git(false)
        .filter_entry(|e| e.file_name() != ".git")
        .build();
    let mut files: Vec<PathBuf> = walker
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .map(|e| e.into_path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")))
        .collect();
    files.sort();
    files
}

fn read_file(root: &Path, path: &Path, acc: &mut Scan) {
    let rel = path.strip_prefix(root).unwrap_or(path).to_path_buf();
    let text = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => {
            acc.skipped.push(Skipped {
                file: rel,
                message: format!("cannot read: {e}"),
            });
            return;
        }
    };
    // Why a byte search first: most files of a GitOps tree are not SealedSecrets; parsing them all is the cost.
    if memchr::memmem::find(&text, b"SealedSecret").is_none() {
        return;
    }
    let Ok(text) = String::from_utf8(text) else {
        acc.skipped.push(Skipped {
            file: rel,
            message: "not UTF-8".into(),
        });
        return;
    };
    let (format, objects) = match manifest::read(&text) {
        Ok(read) => read,
        Err(e) => {
            acc.skipped.push(Skipped {
                file: rel,
                message: e.to_string(),
            });
            return;
        }
    };
    let mut any = false;
    for located in objects {
        if let Object::SealedSecret(sealed) = located.object {
            any = true;
            acc.found.push(Found {
                file: rel.clone(),
                document: located.document,
                line: located.line,
                sealed: *sealed,
            });
        }
    }
    if any {
        acc.texts.insert(rel, (format, text));
    }
}
