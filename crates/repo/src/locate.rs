//! Which `.sealant.yaml` applies where, and what it says a SealedSecret written at a path is sealed to.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Component, Path, PathBuf};

use sealant_core::Scope;

use crate::config::{ConfigError, FILE_NAME, RepoConfig};

/// The directory of the `.sealant.yaml` that applies at `cwd`: the nearest one from `cwd` up to the
/// repository's top level (the first directory holding `.git`), never above it; only `cwd` itself outside a
/// repository.
///
/// Why not up to `/`: whoever can write an ancestor directory (a shared CI workspace, `/tmp`) could drop a
/// `.sealant.yaml` and a `keys/` there and receive every secret sealed below it. For the same reason a file
/// owned by another user (root aside) is refused.
pub fn config_root(cwd: &Path) -> Result<Option<PathBuf>, ConfigError> {
    let top = cwd.ancestors().find(|d| d.join(".git").exists()).unwrap_or(cwd);
    for dir in cwd.ancestors() {
        let file = dir.join(FILE_NAME);
        if let Ok(meta) = std::fs::symlink_metadata(&file) {
            let refuse = |message: String| ConfigError {
                path: file.display().to_string(),
                message,
            };
            if !meta.is_file() {
                return Err(refuse("not a regular file; refusing to use it".into()));
            }
            let me = rustix::process::geteuid().as_raw();
            if meta.uid() != me && meta.uid() != 0 {
                return Err(refuse(format!(
                    "owned by uid {}, not by you; refusing to seal to keys someone else chose",
                    meta.uid()
                )));
            }
            return Ok(Some(dir.to_path_buf()));
        }
        if dir == top {
            break;
        }
    }
    Ok(None)
}

/// `path` relative to `root`, lexically (`.` and `..` resolved; the file and its directory may not exist yet).
pub fn relative_to(root: &Path, path: &Path) -> Option<PathBuf> {
    let mut normal = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                normal.pop();
            }
            other => normal.push(other),
        }
    }
    normal.strip_prefix(root).ok().map(Path::to_path_buf)
}

/// What a new SealedSecret is sealed to by the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealTarget {
    /// The clusters whose current keys it is sealed to.
    pub clusters: Vec<String>,
    /// The scope the path rule sets, if it does.
    pub scope: Option<Scope>,
}

impl RepoConfig {
    /// The clusters (and scope) for a SealedSecret written at `target` (absolute, or relative to `cwd`) in the
    /// repository at `root`: the first path rule matching it, else the repository's only cluster, else none.
    pub fn seal_target(&self, root: &Path, cwd: &Path, target: Option<&Path>) -> Option<SealTarget> {
        let rule = target
            .and_then(|t| relative_to(root, &cwd.join(t)))
            .and_then(|relative| self.rule_for(&relative));
        match (rule, self.clusters.as_slice()) {
            (Some(rule), _) => Some(SealTarget {
                clusters: rule.clusters.clone(),
                scope: rule.scope,
            }),
            (None, [only]) => Some(SealTarget {
                clusters: vec![only.name.clone()],
                scope: None,
            }),
            (None, _) => None,
        }
    }
}

/// The repository of `cwd` (the nearest directory up holding a `.sealant.yaml`) and what its configuration
/// seals a SealedSecret written at `target` to; `None` outside such a repository or without a matching rule.
pub fn seal_target(cwd: &Path, target: Option<&Path>) -> Result<Option<(PathBuf, SealTarget)>, ConfigError> {
    let Some(root) = config_root(cwd)? else {
        return Ok(None);
    };
    let found = RepoConfig::load(&root)?.seal_target(&root, cwd, target);
    Ok(found.map(|t| (root, t)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_config_below_the_repository_top_applies_and_nothing_above_it() {
        let dir = tempfile::tempdir().unwrap();
        let above = dir.path();
        let repo = above.join("repo");
        let deep = repo.join("apps/web");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::write(above.join(FILE_NAME), "clusters: [{name: evil}]\n").unwrap();
        assert_eq!(config_root(&deep).unwrap(), None);
        std::fs::write(repo.join(FILE_NAME), "").unwrap();
        assert_eq!(config_root(&deep).unwrap(), Some(repo.clone()));
    }

    #[test]
    fn a_path_rule_decides_else_the_only_cluster() {
        let config = RepoConfig::parse(
            "clusters: [{name: prod}, {name: dev}]\npaths: [{glob: 'prod/**', clusters: [prod], scope: namespace-wide}]\n",
            "x",
        )
        .unwrap();
        let root = Path::new("/r");
        let target = config.seal_target(root, Path::new("/r/prod"), Some(Path::new("../prod/a/db.yaml")));
        assert_eq!(
            target,
            Some(SealTarget {
                clusters: vec!["prod".into()],
                scope: Some(Scope::NamespaceWide)
            })
        );
        assert_eq!(config.seal_target(root, root, Some(Path::new("dev/db.yaml"))), None);
        let one = RepoConfig::parse("clusters: [{name: prod}]\n", "x").unwrap();
        assert_eq!(one.seal_target(root, root, None).unwrap().clusters, ["prod"]);
    }
}
