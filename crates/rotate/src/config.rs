//! The rotation sections of `.sealant.yaml`: policy, clusters, path rules and the forge.

use std::path::Path;

use globset::{Glob, GlobMatcher};
use sealant_core::types::parse_days;
use serde::Deserialize;

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    /// The file.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// The whole file: the sections rotation reads, and lint's (read there). Every section is named and anything else
/// refused, so a misspelt section is an error instead of a policy silently not in force.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
struct File {
    policy: Policy,
    clusters: Vec<Cluster>,
    paths: Vec<PathRule>,
    forge: Option<ForgeConfig>,
    lint: serde::de::IgnoredAny,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
struct Policy {
    rotation: String,
    warn_before: String,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            rotation: format!("{}d", sealant_core::types::DEFAULT_ROTATION_DAYS),
            warn_before: format!("{}d", sealant_core::types::DEFAULT_WARN_DAYS),
        }
    }
}

/// A cluster the repository deploys to; its certificates are under `keys/<name>/`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Cluster {
    /// The cluster's name (its directory under `keys/`).
    pub name: String,
    /// Where its controller is, for re-sealing through `/v1/rotate`.
    #[serde(default)]
    pub controller: Option<Controller>,
}

/// How to reach a cluster's controller.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Controller {
    /// Namespace of its Service (through the API server's service proxy).
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// Name of its Service.
    #[serde(default = "default_name")]
    pub name: String,
    /// A direct URL instead (e.g. `http://sealed-secrets.kube-system:8080`, in cluster).
    #[serde(default)]
    pub url: Option<String>,
}

fn default_namespace() -> String {
    "kube-system".into()
}

fn default_name() -> String {
    "sealed-secrets-controller".into()
}

/// Which clusters (and scope) the files matching a glob seal to.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PathRule {
    /// A glob relative to the repository root, e.g. `overlays/prod/**`.
    pub glob: String,
    /// Cluster names.
    pub clusters: Vec<String>,
    /// `strict`, `namespace-wide` or `cluster-wide`.
    #[serde(default)]
    pub scope: Option<String>,
}

/// The forge rotation pull requests go to.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForgeConfig {
    /// `github`, `gitlab` or `gitea`.
    pub kind: String,
    /// API base URL. Read only to warn that it is ignored: where the token goes is set by flags or the
    /// environment.
    #[serde(default)]
    pub url: Option<String>,
    /// `owner/name` (GitLab: the project's full path). Read only to warn that it is ignored: the repository is
    /// set by flags or the environment.
    #[serde(default)]
    pub repo: Option<String>,
    /// The branch pull requests target; the checked-out branch when omitted.
    #[serde(default)]
    pub base: Option<String>,
}

/// The effective rotation settings of a repository.
#[derive(Debug)]
pub struct RotateConfig {
    /// Default rotation period, days.
    pub rotation_days: i64,
    /// Warning window before the period ends, days.
    pub warn_days: i64,
    /// Declared clusters.
    pub clusters: Vec<Cluster>,
    rules: Vec<(GlobMatcher, PathRule)>,
    /// Forge settings.
    pub forge: Option<ForgeConfig>,
}

impl Default for RotateConfig {
    fn default() -> Self {
        Self {
            rotation_days: sealant_core::types::DEFAULT_ROTATION_DAYS,
            warn_days: sealant_core::types::DEFAULT_WARN_DAYS,
            clusters: Vec::new(),
            rules: Vec::new(),
            forge: None,
        }
    }
}

impl RotateConfig {
    /// Reads `.sealant.yaml` in `root` if there is one, else the defaults.
    pub fn load(root: &Path) -> Result<Self, ConfigError> {
        let path = root.join(".sealant.yaml");
        match sealant_keys::repofs::read_text(&path, sealant_keys::repofs::MAX_SMALL_FILE) {
            Ok(text) => Self::parse(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(ConfigError {
                path: path.display().to_string(),
                message: e.to_string(),
            }),
        }
    }

    /// Parses the text of a `.sealant.yaml` (`origin` names it in errors).
    pub fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let invalid = |message: String| ConfigError {
            path: origin.into(),
            message,
        };
        let file: File = sealant_keys::repofs::from_yaml(text).map_err(invalid)?;
        let rotation_days = parse_days(&file.policy.rotation)
            .ok_or_else(|| invalid(format!("policy.rotation {:?}: want e.g. 90d", file.policy.rotation)))?;
        let warn_days = parse_days(&file.policy.warn_before).ok_or_else(|| {
            invalid(format!(
                "policy.warnBefore {:?}: want e.g. 14d",
                file.policy.warn_before
            ))
        })?;
        let mut rules = Vec::new();
        for rule in file.paths {
            let glob = Glob::new(&rule.glob).map_err(|e| invalid(format!("paths: bad glob {:?}: {e}", rule.glob)))?;
            for cluster in &rule.clusters {
                if !file.clusters.is_empty() && !file.clusters.iter().any(|c| &c.name == cluster) {
                    return Err(invalid(format!(
                        "paths: {:?} names cluster {cluster:?}, which is not under clusters",
                        rule.glob
                    )));
                }
            }
            if let Some(scope) = &rule.scope
                && !["strict", "namespace-wide", "cluster-wide"].contains(&scope.as_str())
            {
                return Err(invalid(format!(
                    "paths: {:?}: scope {scope:?}: want strict, namespace-wide or cluster-wide",
                    rule.glob
                )));
            }
            rules.push((glob.compile_matcher(), rule));
        }
        if let Some(forge) = &file.forge
            && !["github", "gitlab", "gitea"].contains(&forge.kind.as_str())
        {
            return Err(invalid(format!(
                "forge.kind {:?}: want github, gitlab or gitea",
                forge.kind
            )));
        }
        Ok(Self {
            rotation_days,
            warn_days,
            clusters: file.clusters,
            rules,
            forge: file.forge,
        })
    }

    /// The first path rule matching `path` (relative to the repository root), if any.
    pub fn rule_for(&self, path: &Path) -> Option<&PathRule> {
        self.rules.iter().find(|(m, _)| m.is_match(path)).map(|(_, r)| r)
    }

    /// A declared cluster by name.
    pub fn cluster(&self, name: &str) -> Option<&Cluster> {
        self.clusters.iter().find(|c| c.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_key_anywhere_is_an_error_naming_the_file_line_and_key() {
        for (text, key, line) in [
            ("polcy: {rotation: 30d}\n", "polcy", 1),
            ("policy:\n  rotaton: 30d\n", "rotaton", 2),
            ("clusters:\n  - name: prod\n    contoller: {}\n", "contoller", 3),
        ] {
            let err = RotateConfig::parse(text, "repo/.sealant.yaml").unwrap_err().to_string();
            assert!(err.contains("repo/.sealant.yaml") && err.contains(key), "{err}");
            assert!(err.contains(&format!("line {line}")), "{err}");
        }
        // The lint section is lint's: rotation accepts it without reading it.
        assert!(RotateConfig::parse("lint: {disable: [secret-naming]}\n", "x").is_ok());
    }

    #[test]
    fn path_rules_pick_the_first_matching_glob() {
        let config = RotateConfig::parse(
            "clusters: [{name: prod}, {name: staging}]\npaths:\n  - {glob: 'apps/*/prod/**', clusters: [prod]}\n  - {glob: 'apps/**', clusters: [staging]}\n",
            "test",
        )
        .unwrap();
        assert_eq!(
            config.rule_for(Path::new("apps/web/prod/db.yaml")).unwrap().clusters,
            ["prod"]
        );
        assert_eq!(
            config.rule_for(Path::new("apps/web/dev/db.yaml")).unwrap().clusters,
            ["staging"]
        );
        assert!(config.rule_for(Path::new("other/x.yaml")).is_none());
    }

    #[test]
    fn a_rule_naming_an_undeclared_cluster_is_refused_with_the_file() {
        let err = RotateConfig::parse(
            "clusters: [{name: prod}]\npaths: [{glob: 'a/**', clusters: [prdo]}]\n",
            ".sealant.yaml",
        )
        .unwrap_err();
        assert!(err.to_string().starts_with(".sealant.yaml: "), "{err}");
        assert!(err.to_string().contains("prdo"), "{err}");
    }

    #[test]
    fn lint_sections_are_ignored_and_defaults_are_ninety_days() {
        let config = RotateConfig::parse("lint: {disable: [secret-naming]}\n", "x").unwrap();
        assert_eq!((config.rotation_days, config.warn_days), (90, 14));
    }
}
