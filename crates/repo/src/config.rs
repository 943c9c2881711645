//! `.sealant.yaml`: the one typed model of a repository's settings, read by `seal` (path rules), `lint` (policy
//! and the lint section) and `rotate` (policy, clusters, path rules, forge). Strict: an unknown key anywhere is an
//! error naming the file, line and key; scopes and periods are typed when the file is read.

use std::collections::BTreeMap;
use std::path::Path;

use globset::{Glob, GlobMatcher};
use sealant_core::Scope;
use sealant_core::types::{DEFAULT_ROTATION_DAYS, DEFAULT_WARN_DAYS, parse_days};
use serde::{Deserialize, Deserializer};

use crate::repofs;

/// The file's name, at the repository root.
pub const FILE_NAME: &str = ".sealant.yaml";

/// Why the configuration cannot be used: the file and what is wrong (with the line, for a YAML error).
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    /// The file.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// A period in whole days, written `90d`, `12w` or `2160h`: the one duration grammar of `.sealant.yaml` and of
/// the `sealant.dev/rotate-every` annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Days(pub i64);

impl<'de> Deserialize<'de> for Days {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_days(&text)
            .map(Days)
            .ok_or_else(|| serde::de::Error::custom(format!("{text:?}: want a period such as 90d, 12w or 2160h")))
    }
}

/// Rotation policy.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Policy {
    /// How long a value may live (default 90 days).
    pub rotation: Days,
    /// How long before the end of the period to warn (default 14 days).
    pub warn_before: Days,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            rotation: Days(DEFAULT_ROTATION_DAYS),
            warn_before: Days(DEFAULT_WARN_DAYS),
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
    /// The kubeconfig context that reaches its API server (default: the current context).
    #[serde(default)]
    pub context: Option<String>,
    /// The kubeconfig file holding that context: an absolute path outside the repository (default: KUBECONFIG,
    /// ~/.kube/config, in-cluster).
    #[serde(default)]
    pub kubeconfig: Option<std::path::PathBuf>,
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
    /// A direct URL. Read only to warn that it is ignored: a repository writer must not choose the server that
    /// re-seals every value.
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
    /// The scope new SealedSecrets under the glob get (`strict`, `namespace-wide` or `cluster-wide`).
    #[serde(default, deserialize_with = "scope")]
    pub scope: Option<Scope>,
}

fn scope<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Scope>, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse()
        .map(Some)
        .map_err(|e| serde::de::Error::custom(format!("scope {text:?}: {e}")))
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

/// The `lint` section, as written. Rule names and severities are checked by the lint, which owns the catalogue.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct LintSection {
    /// Rules turned off everywhere.
    pub disable: Vec<String>,
    /// Rule id to `error` or `warning`.
    pub severity: BTreeMap<String, String>,
    /// Rules turned off under a glob.
    pub ignore: Vec<IgnoreRule>,
    /// Globs where plaintext Secrets are allowed (local development).
    pub dev_paths: Vec<String>,
    /// Globs where cluster-wide SealedSecrets are allowed.
    pub allow_cluster_wide: Vec<String>,
    /// The naming convention (default: [`Naming::default`]).
    pub naming: Option<Naming>,
}

/// Rules turned off under a glob.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IgnoreRule {
    /// The glob.
    pub path: String,
    /// Rule ids (all rules when empty).
    #[serde(default)]
    pub rules: Vec<String>,
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
        // A list of data, not logic: the environments and secret kinds the naming rule accepts out of the box.
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

/// The whole file. Why every section is named and anything else refused: a misspelt section (`polcy:`) would
/// otherwise be ignored in silence, and the policy everyone believes in would not be the one in force.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
struct File {
    policy: Policy,
    clusters: Vec<Cluster>,
    paths: Vec<PathRule>,
    forge: Option<ForgeConfig>,
    lint: LintSection,
}

/// A repository's settings: `.sealant.yaml` read and checked, or the defaults without one.
#[derive(Debug)]
pub struct RepoConfig {
    /// Where it was read from (`defaults` without a file), for messages.
    pub origin: String,
    /// Rotation policy.
    pub policy: Policy,
    /// Declared clusters.
    pub clusters: Vec<Cluster>,
    rules: Vec<(GlobMatcher, PathRule)>,
    /// Forge settings.
    pub forge: Option<ForgeConfig>,
    /// The lint section.
    pub lint: LintSection,
}

impl Default for RepoConfig {
    fn default() -> Self {
        Self {
            origin: "defaults".into(),
            policy: Policy::default(),
            clusters: Vec::new(),
            rules: Vec::new(),
            forge: None,
            lint: LintSection::default(),
        }
    }
}

impl RepoConfig {
    /// Reads `.sealant.yaml` in `root` if there is one, else the defaults. The file is read as any repository
    /// file is: no symbolic link, no device, bounded.
    pub fn load(root: &Path) -> Result<Self, ConfigError> {
        let path = root.join(FILE_NAME);
        match repofs::read_text(&path, repofs::MAX_SMALL_FILE) {
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
        let file: File = repofs::from_yaml(text).map_err(|e| invalid(e.0))?;
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
            origin: origin.to_string(),
            policy: file.policy,
            clusters: file.clusters,
            rules,
            forge: file.forge,
            lint: file.lint,
        })
    }

    /// The default rotation period, days.
    pub fn rotation_days(&self) -> i64 {
        self.policy.rotation.0
    }

    /// The warning window before a period ends, days.
    pub fn warn_days(&self) -> i64 {
        self.policy.warn_before.0
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
            ("lint:\n  dissable: [secret-naming]\n", "dissable", 2),
            ("forge:\n  kind: github\n  bse: main\n", "bse", 3),
        ] {
            let err = RepoConfig::parse(text, "repo/.sealant.yaml").unwrap_err().to_string();
            assert!(err.contains("repo/.sealant.yaml") && err.contains(key), "{err}");
            assert!(err.contains(&format!("line {line}")), "{err}");
        }
    }

    #[test]
    fn every_period_uses_one_grammar_of_days_weeks_and_hours() {
        let config = RepoConfig::parse("policy: {rotation: 12w, warnBefore: 336h}\n", "x").unwrap();
        assert_eq!((config.rotation_days(), config.warn_days()), (84, 14));
        for bad in ["90", "3m", "d", "-1d"] {
            let err = RepoConfig::parse(&format!("policy: {{rotation: '{bad}'}}\n"), "f").unwrap_err();
            assert!(err.to_string().contains("want a period"), "{bad}: {err}");
            assert!(err.to_string().contains("line 1"), "{bad}: {err}");
        }
    }

    #[test]
    fn an_invalid_path_rule_scope_is_an_error_not_a_silent_default() {
        let err = RepoConfig::parse(
            "paths:\n  - {glob: 'a/**', clusters: [prod], scope: global}\n",
            ".sealant.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("global") && err.contains("line 2"), "{err}");
        let config = RepoConfig::parse(
            "paths:\n  - {glob: 'a/**', clusters: [prod], scope: namespace-wide}\n",
            "x",
        )
        .unwrap();
        assert_eq!(
            config.rule_for(Path::new("a/b.yaml")).unwrap().scope,
            Some(Scope::NamespaceWide)
        );
    }

    #[test]
    fn path_rules_pick_the_first_matching_glob() {
        let config = RepoConfig::parse(
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
        let err = RepoConfig::parse(
            "clusters: [{name: prod}]\npaths: [{glob: 'a/**', clusters: [prdo]}]\n",
            ".sealant.yaml",
        )
        .unwrap_err();
        assert!(err.to_string().starts_with(".sealant.yaml: "), "{err}");
        assert!(err.to_string().contains("prdo"), "{err}");
    }

    #[test]
    fn every_section_is_read_and_the_defaults_are_ninety_and_fourteen_days() {
        let config = RepoConfig::parse("lint: {disable: [secret-naming]}\n", "x").unwrap();
        assert_eq!((config.rotation_days(), config.warn_days()), (90, 14));
        assert_eq!(config.lint.disable, ["secret-naming"]);
        let none = RepoConfig::default();
        assert_eq!((none.rotation_days(), none.warn_days()), (90, 14));
    }
}
