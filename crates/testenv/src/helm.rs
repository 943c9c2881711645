//! Helm and kustomize for tests: built from Go modules by tests/tools/{helm,kustomize}.sh, Helm run against the test control plane as its
//! administrator; and Bitnami's chart, copied out of the pinned upstream module by tests/upstream/chart.sh.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::cluster::plane;

/// The `helm` binary.
pub fn helm_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| crate::cached_tool("helm.sh").join("helm"))
}

/// Bitnami's chart of the pinned upstream release.
pub fn bitnami_chart() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let script = crate::repo_root().join("tests/upstream/chart.sh");
        let out = Command::new("bash").arg(&script).output().unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
}

/// sealant's chart in this repository.
pub fn sealant_chart() -> PathBuf {
    crate::repo_root().join("charts/sealant")
}

/// Runs `helm` with `args` as the control plane's administrator (its own config and cache directories in
/// `dir`): (exit code, stdout, stderr).
pub fn helm(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let kubeconfig = dir.join("helm.kubeconfig");
    if !kubeconfig.exists() {
        std::fs::write(&kubeconfig, plane().kubeconfig(plane().admin())).unwrap();
    }
    let out = Command::new(helm_bin())
        .args(args)
        .env("KUBECONFIG", &kubeconfig)
        .env("HELM_CONFIG_HOME", dir.join("helm-config"))
        .env("HELM_CACHE_HOME", dir.join("helm-cache"))
        .env("HELM_DATA_HOME", dir.join("helm-data"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `helm` that must succeed; returns stdout.
pub fn helm_ok(dir: &Path, args: &[&str]) -> String {
    let (code, out, err) = helm(dir, args);
    assert_eq!(code, 0, "helm {args:?}: {err}{out}");
    out
}

/// The `kustomize` binary (manifests/ is a kustomize base).
pub fn kustomize_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| crate::cached_tool("kustomize.sh").join("kustomize"))
}
