//! The reference `age` CLI for tests: built from Go modules by tests/tools/age.sh and cached in ~/.cache/sealant.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The directory holding `age` and `age-keygen`.
pub fn age_bin() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| crate::cached_tool("age.sh"))
}

/// A fresh identity from `age-keygen`, written to `dir/name`: (identity file, public key).
pub fn age_identity(dir: &Path, name: &str) -> (PathBuf, String) {
    let file = dir.join(name);
    let out = Command::new(age_bin().join("age-keygen"))
        .arg("-o")
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success());
    let public = String::from_utf8(out.stderr)
        .unwrap()
        .split_whitespace()
        .find(|w| w.starts_with("age1"))
        .unwrap()
        .to_string();
    (file, public)
}
