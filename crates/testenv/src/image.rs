//! The container image `make image` builds (scripts/image.sh): built once per test process into `target/image`,
//! its root filesystem unpacked by crane (`crane export`), and programs of it run the way a kubelet runs a
//! container (tests/tools/run-in-image.sh): read-only root, in-cluster credentials, numeric user.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

/// The built image and its unpacked root filesystem.
pub struct Image {
    /// `target/image`: `oci/`, `sealant.tar`, `digest`, `sbom.cdx.json`, `packages.txt`.
    pub dir: PathBuf,
    /// The manifest digest (`sha256:…`).
    pub digest: String,
    /// The root filesystem, unpacked from `sealant.tar` by crane.
    pub rootfs: PathBuf,
    /// The image configuration (`config` of the config blob: User, Entrypoint, Cmd, Env, Labels).
    pub config: Value,
    /// The image manifest (its annotations among the rest).
    pub manifest: Value,
}

/// The crane binary (tests/tools/crane.sh).
pub fn crane() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| crate::cached_tool("crane.sh").join("crane")).clone()
}

/// Runs scripts/image.sh into `out`; fails the test with its output when it fails.
pub fn build(out: &Path) -> String {
    let root = crate::repo_root();
    let result = Command::new("bash")
        .arg(root.join("scripts/image.sh"))
        .arg(out)
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "scripts/image.sh: {}{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    std::fs::read_to_string(out.join("digest")).unwrap().trim().to_string()
}

/// The image of this checkout, built once per test process.
pub fn image() -> &'static Image {
    static IMAGE: OnceLock<Image> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let dir = crate::repo_root().join("target/image");
        let digest = build(&dir);
        let rootfs = crate::repo_root().join("target/image-rootfs");
        let _ = std::fs::remove_dir_all(&rootfs);
        std::fs::create_dir_all(&rootfs).unwrap();
        let flat = rootfs.with_extension("tar");
        let archive = std::fs::File::open(dir.join("sealant.tar")).unwrap();
        let out = Command::new(crane())
            .args(["export", "-"])
            .arg(&flat)
            .stdin(archive)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "crane export: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // As root, tar keeps the numeric owners and modes the layer records.
        let out = Command::new("tar")
            .args(["-x", "-p", "--numeric-owner", "-f"])
            .arg(&flat)
            .arg("-C")
            .arg(&rootfs)
            .output()
            .unwrap();
        assert!(out.status.success(), "tar: {}", String::from_utf8_lossy(&out.stderr));
        std::fs::remove_file(&flat).unwrap();
        let layout = dir.join("oci");
        let index: Value = serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
        let manifest = blob(&layout, index["manifests"][0]["digest"].as_str().unwrap());
        let config = blob(&layout, manifest["config"]["digest"].as_str().unwrap());
        Image {
            dir,
            digest,
            rootfs,
            config: config["config"].clone(),
            manifest,
        }
    })
}

/// A JSON blob of an OCI layout, by digest.
fn blob(layout: &Path, digest: &str) -> Value {
    let (algorithm, hex) = digest.split_once(':').unwrap();
    serde_json::from_slice(&std::fs::read(layout.join("blobs").join(algorithm).join(hex)).unwrap()).unwrap()
}

impl Image {
    /// The image's environment (`Env` of its config) as pairs.
    pub fn env(&self) -> Vec<(String, String)> {
        self.config["Env"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e.as_str()?.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
            .collect()
    }

    /// Runs `argv` in the image as `user` (`UID:GID`) with only `env` (plus the image's own), no credentials
    /// beyond an empty ServiceAccount directory, and waits for it.
    pub fn run(&self, user: &str, env: &[(String, String)], argv: &[&str]) -> Output {
        let dir = tempfile::tempdir().unwrap();
        let (token, ca) = (dir.path().join("token"), dir.path().join("ca.crt"));
        std::fs::write(&token, "").unwrap();
        std::fs::write(&ca, "").unwrap();
        self.command(user, &token, &ca, "default", env, argv).output().unwrap()
    }

    /// The command that runs `argv` in the image as a kubelet would (see tests/tools/run-in-image.sh).
    pub fn command(
        &self,
        user: &str,
        token: &Path,
        ca: &Path,
        namespace: &str,
        env: &[(String, String)],
        argv: &[&str],
    ) -> Command {
        let mut all = self.env();
        all.extend(env.iter().cloned());
        let mut command = Command::new("bash");
        command
            .arg(crate::repo_root().join("tests/tools/run-in-image.sh"))
            .arg(&self.rootfs)
            .arg(user)
            .args([token, ca])
            .arg(namespace)
            .args(all.iter().map(|(k, v)| format!("{k}={v}")))
            .arg("--")
            .args(argv);
        command
    }
}
