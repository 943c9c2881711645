//! Finds every SealedSecret of a repository's work tree (`.gitignore` honoured, `.git/` skipped). A file that does
//! not parse is reported with its path and skipped; the rest go on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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

/// Scans the work tree under `root`: the walk and the parsing run together on every core (the walk is mostly
/// system calls, the parsing CPU), each thread collecting its own part; the parts are merged in path order.
pub fn scan(root: &Path) -> Scan {
    let parts: Mutex<Vec<Scan>> = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    walker(root).threads(threads).build_parallel().run(|| {
        let mut part = Part {
            scan: Scan::default(),
            into: &parts,
        };
        Box::new(move |entry| {
            if let Ok(entry) = entry
                && entry.file_type().is_some_and(|t| t.is_file())
                && is_manifest(entry.path())
            {
                part.scan.files += 1;
                read_file(root, entry.path(), &mut part.scan);
            }
            ignore::WalkState::Continue
        })
    });
    let mut all = Scan::default();
    for part in parts.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner) {
        all.merge(part);
    }
    all
}

impl Scan {
    /// Adds another part's findings, keeping the path order: parts come in any order (threads finish when they
    /// do), and plans, tables and commits must be the same on every run.
    fn merge(&mut self, part: Scan) {
        self.files += part.files;
        self.found.extend(part.found);
        self.skipped.extend(part.skipped);
        self.texts.extend(part.texts);
        self.found.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        self.skipped.sort_by(|a, b| a.file.cmp(&b.file));
    }
}

/// Adds the manifests among `tracked` (paths relative to `root`) that an ignore file hides from the walk.
///
/// Why: a file git tracks is deployed whatever a nested `.gitignore` says; rotation must not miss it.
pub fn add_tracked_but_ignored(scan: &mut Scan, root: &Path, tracked: impl IntoIterator<Item = PathBuf>) {
    let mut extra = Scan::default();
    for rel in tracked {
        if is_manifest(&rel) && !scan.texts.contains_key(&rel) && !scan.skipped.iter().any(|s| s.file == rel) {
            extra.files += 1;
            read_file(root, &root.join(&rel), &mut extra);
        }
    }
    scan.merge(extra);
}

/// One walker thread's findings, handed over when the thread's visitor is dropped at the end of the walk.
struct Part<'a> {
    scan: Scan,
    into: &'a Mutex<Vec<Scan>>,
}

impl Drop for Part<'_> {
    fn drop(&mut self) {
        let scan = std::mem::take(&mut self.scan);
        self.into
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(scan);
    }
}

fn walker(root: &Path) -> ignore::WalkBuilder {
    let mut builder = ignore::WalkBuilder::new(root);
    // Only `.gitignore` (and `.git/info/exclude`) decide, as for git itself: no `.ignore` files, no global
    // excludes of whoever runs the job (one fewer lookup per directory, and the same result on every machine).
    builder
        .hidden(false)
        .require_git(false)
        .ignore(false)
        .git_global(false)
        .parents(false)
        .filter_entry(|e| e.file_name() != ".git");
    builder
}

fn is_manifest(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json"))
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
