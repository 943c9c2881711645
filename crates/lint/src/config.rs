//! The `lint` and `policy` sections of `.sealant.yaml`.

use std::collections::BTreeMap;
use std::path::Path;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;

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

/// The whole file: the sections lint reads, and the rotation job's (read there). Why every section is named and
/// anything else refused: a misspelt section (`polcy:`) would otherwise be ignored in silence, and the policy
/// everyone believes in would not be the one in force.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
struct File {
    policy: Policy,
    lint: LintSection,
    clusters: serde::de::IgnoredAny,
    paths: serde::de::IgnoredAny,
    forge: serde::de::IgnoredAny,
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

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
struct LintSection {
    disable: Vec<String>,
    severity: BTreeMap<String, String>,
    ignore: Vec<IgnoreRule>,
    dev_paths: Vec<String>,
    allow_cluster_wide: Vec<String>,
    naming: Option<Naming>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct IgnoreRule {
    path: String,
    #[serde(default)]
    rules: Vec<String>,
}

/// Allowed parts of a secret name.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Naming {
    /// Last part of a name.
    pub environments: Vec<String>,
    /// Second-to-last part(s): the kind of secret.
    pub types: Vec<String>,
}

impl Default for Naming {
    fn default() -> Self {
        let list = |s: &[&str]| s.iter().map(|x| x.to_string()).collect();
        Self {
            environments: list(&[
                "dev",
                "development",
                "test",
                "qa",
                "staging",
                "stage",
                "prod",
                "production",
            ]),
            types: list(&[
                "credentials",
                "creds",
                "password",
                "token",
                "tokens",
                "key",
                "keys",
                "api-key",
                "api-keys",
                "secret",
                "secrets",
                "tls",
                "cert",
                "certs",
                "config",
                "env",
                "oauth",
                "jwt",
                "ssh",
                "webhook",
                "registry",
                "pull-secret",
                "dockerconfig",
            ]),
        }
    }
}

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
        Self::from_file(File::default(), "defaults").unwrap_or_else(|_| unreachable!("the defaults are valid"))
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
        let path = root.join(".sealant.yaml");
        let origin = path.display().to_string();
        let text = match sealant_keys::repofs::read_text(&path, sealant_keys::repofs::MAX_SMALL_FILE) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => {
                return Err(ConfigError::Invalid {
                    path: origin,
                    message: e.to_string(),
                });
            }
        };
        let file: File = sealant_keys::repofs::from_yaml(&text).map_err(|message| ConfigError::Invalid {
            path: origin.clone(),
            message,
        })?;
        Self::from_file(file, &origin)
    }

    fn from_file(file: File, origin: &str) -> Result<Self, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: origin.into(),
            message,
        };
        for id in file.lint.disable.iter().chain(file.lint.severity.keys()) {
            if rules::rule(id).is_none() {
                return Err(invalid(format!("unknown rule {id:?}")));
            }
        }
        let mut severity = BTreeMap::new();
        for (id, s) in &file.lint.severity {
            let s = Severity::parse(s).ok_or_else(|| invalid(format!("severity of {id}: want error or warning")))?;
            severity.insert(id.clone(), s);
        }
        let mut ignores = Vec::new();
        for rule in &file.lint.ignore {
            ignores.push((globs(std::slice::from_ref(&rule.path), origin)?, rule.rules.clone()));
        }
        let rotation_days = parse_days(&file.policy.rotation)
            .ok_or_else(|| invalid(format!("policy.rotation {:?}: want e.g. 90d", file.policy.rotation)))?;
        let warn_days = parse_days(&file.policy.warn_before).ok_or_else(|| {
            invalid(format!(
                "policy.warnBefore {:?}: want e.g. 14d",
                file.policy.warn_before
            ))
        })?;
        Ok(Self {
            disabled: file.lint.disable,
            severity,
            ignores,
            dev_paths: globs(&file.lint.dev_paths, origin)?,
            allow_cluster_wide: globs(&file.lint.allow_cluster_wide, origin)?,
            naming: file.lint.naming.unwrap_or_default(),
            rotation_days,
            warn_days,
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
