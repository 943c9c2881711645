//! Finds every SealedSecret among the files of the repository walk. A file that does not parse (or is a symbolic
//! link, which is never followed) is reported with its path and skipped; the rest go on.

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

/// Scans the files of the repository walk under `root` (tracked files, and untracked ones `.gitignore` does not
/// exclude): the reading and parsing run on every core, each thread collecting its own part; the parts are
/// merged in path order. A symbolic link is reported, never followed.
pub fn scan(root: &Path) -> Scan {
    let walk = sealant_repo::walk::files(root);
    let root = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
    let manifests: Vec<PathBuf> = walk
        .files
        .into_iter()
        .filter(|f| sealant_repo::repofs::is_manifest(f))
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    let chunk = manifests.len().div_ceil(threads).max(1);
    let parts: Vec<Scan> = std::thread::scope(|s| {
        let workers: Vec<_> = manifests
            .chunks(chunk)
            .map(|part| {
                let root = &root;
                s.spawn(move || {
                    let mut scan = Scan::default();
                    for file in part {
                        scan.files += 1;
                        read_file(root, file, &mut scan);
                    }
                    scan
                })
            })
            .collect();
        // A worker's panic is re-raised: dropping its results would silently lose files.
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    // Why reserve first: growing the list part by part doubles it, and the copy is the scan's peak memory.
    let mut all = Scan::default();
    all.found.reserve_exact(parts.iter().map(|p| p.found.len()).sum());
    for part in parts {
        all.merge(part);
    }
    for notice in walk.notices {
        all.skipped.push(Skipped {
            file: PathBuf::from("."),
            message: notice,
        });
    }
    all.found.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    // By message too: the walk's notices all name "." and arrive in the order its threads finish.
    all.skipped
        .sort_by(|a, b| (&a.file, &a.message).cmp(&(&b.file, &b.message)));
    all
}

impl Scan {
    /// Adds another part's findings; the caller sorts once all are in (parts come in any order, as threads
    /// finish when they do, and plans, tables and commits must be the same on every run).
    fn merge(&mut self, part: Scan) {
        self.files += part.files;
        self.found.extend(part.found);
        self.skipped.extend(part.skipped);
        self.texts.extend(part.texts);
    }
}

fn read_file(root: &Path, path: &Path, acc: &mut Scan) {
    let rel = path.strip_prefix(root).unwrap_or(path).to_path_buf();
    let text = match sealant_repo::repofs::read(path, sealant_repo::repofs::MAX_MANIFEST_FILE) {
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
