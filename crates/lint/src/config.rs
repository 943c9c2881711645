//! The lint's settings: the `lint` and `policy` sections of the repository's `.sealant.yaml` (read by
//! `sealant-repo`), with rule names, severities and globs checked against the catalogue.

use std::collections::BTreeMap;
use std::path::Path;

use globset::{Glob, GlobSet, GlobSetBuilder};
use sealant_repo::RepoConfig;

use crate::rules::{self, Severity};

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file cannot be read or parsed.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

pub use sealant_repo::config::Naming;

/// Effective lint settings.
#[derive(Debug)]
pub struct Config {
    disabled: Vec<String>,
    severity: BTreeMap<String, Severity>,
    ignores: Vec<(GlobSet, Vec<String>)>,
    dev_paths: GlobSet,
    allow_cluster_wide: GlobSet,
    /// Naming convention.
    pub naming: Naming,
    /// Default rotation period, days.
    pub rotation_days: i64,
    /// Warning window before the period ends, days.
    pub warn_days: i64,
}

impl Default for Config {
    fn default() -> Self {
        Self::from_repo(&RepoConfig::default()).unwrap_or_else(|_| unreachable!("the defaults are valid"))
    }
}

fn globs(patterns: &[String], origin: &str) -> Result<GlobSet, ConfigError> {
    let mut builder = GlobSetBuilder::new();
    for p in patterns {
        let glob = Glob::new(p).map_err(|e| ConfigError::Invalid {
            path: origin.into(),
            message: format!("bad glob {p:?}: {e}"),
        })?;
        builder.add(glob);
    }
    builder.build().map_err(|e| ConfigError::Invalid {
        path: origin.into(),
        message: e.to_string(),
    })
}

pub use sealant_core::types::parse_days;

impl Config {
    /// Reads `.sealant.yaml` in `root` if there is one, else the defaults.
    pub fn load(root: &Path) -> Result<Self, ConfigError> {
        let repo = RepoConfig::load(root).map_err(|e| ConfigError::Invalid {
            path: e.path,
            message: e.message,
        })?;
        Self::from_repo(&repo)
    }

    /// The lint settings of a repository's `.sealant.yaml`: its policy and lint section, with every rule name,
    /// severity and glob checked.
    pub fn from_repo(repo: &RepoConfig) -> Result<Self, ConfigError> {
        let origin = repo.origin.as_str();
        let lint = &repo.lint;
        let invalid = |message: String| ConfigError::Invalid {
            path: origin.into(),
            message,
        };
        for id in lint.disable.iter().chain(lint.severity.keys()) {
            if rules::rule(id).is_none() {
                return Err(invalid(format!("unknown rule {id:?}")));
            }
        }
        let mut severity = BTreeMap::new();
        for (id, s) in &lint.severity {
            let s = Severity::parse(s).ok_or_else(|| invalid(format!("severity of {id}: want error or warning")))?;
            severity.insert(id.clone(), s);
        }
        let mut ignores = Vec::new();
        for rule in &lint.ignore {
            ignores.push((globs(std::slice::from_ref(&rule.path), origin)?, rule.rules.clone()));
        }
        Ok(Self {
            disabled: lint.disable.clone(),
            severity,
            ignores,
            dev_paths: globs(&lint.dev_paths, origin)?,
            allow_cluster_wide: globs(&lint.allow_cluster_wide, origin)?,
            naming: lint.naming.clone().unwrap_or_default(),
            rotation_days: repo.rotation_days(),
            warn_days: repo.warn_days(),
        })
    }

    /// The severity of `rule` at `path`, or `None` when it is disabled there.
    pub fn severity(&self, rule: &rules::Rule, path: &Path) -> Option<Severity> {
        if self.disabled.iter().any(|d| d == rule.id) {
            return None;
        }
        let ignored = self
            .ignores
            .iter()
            .any(|(set, ids)| set.is_match(path) && (ids.is_empty() || ids.iter().any(|i| i == rule.id)));
        if ignored {
            return None;
        }
        Some(self.severity.get(rule.id).copied().unwrap_or(rule.severity))
    }

    /// Whether plaintext Secrets are allowed here (local development only).
    pub fn is_dev_path(&self, path: &Path) -> bool {
        self.dev_paths.is_match(path)
    }

    /// Whether cluster-wide SealedSecrets are allowed here.
    pub fn allows_cluster_wide(&self, path: &Path) -> bool {
        self.allow_cluster_wide.is_match(path)
    }
}
