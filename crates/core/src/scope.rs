//! Sealing scopes and the OAEP label each one binds a ciphertext to (spec 1.3, 1.4).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Annotation that makes a SealedSecret cluster-wide.
pub const CLUSTER_WIDE_ANNOTATION: &str = "sealedsecrets.bitnami.com/cluster-wide";
/// Annotation that makes a SealedSecret namespace-wide.
pub const NAMESPACE_WIDE_ANNOTATION: &str = "sealedsecrets.bitnami.com/namespace-wide";

/// Where a sealed value may be unsealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub enum Scope {
    /// Only under the same namespace and name (label `ns/name`); the default.
    #[default]
    Strict,
    /// Under any name in the same namespace (label `ns`).
    NamespaceWide,
    /// Anywhere (empty label).
    ClusterWide,
}

impl Scope {
    /// All scopes, in upstream's enum order.
    pub const ALL: [Scope; 3] = [Scope::Strict, Scope::NamespaceWide, Scope::ClusterWide];

    /// The scope named by a set of annotations, with upstream's rules: exactly `"true"` counts, and
    /// cluster-wide wins over namespace-wide.
    pub fn from_annotations(annotations: Option<&BTreeMap<String, String>>) -> Scope {
        let is_true = |key: &str| annotations.and_then(|a| a.get(key)).is_some_and(|v| v == "true");
        if is_true(CLUSTER_WIDE_ANNOTATION) {
            Scope::ClusterWide
        } else if is_true(NAMESPACE_WIDE_ANNOTATION) {
            Scope::NamespaceWide
        } else {
            Scope::Strict
        }
    }

    /// Rewrites the scope annotations so that they name this scope (strict removes both).
    pub fn apply_to(self, annotations: &mut BTreeMap<String, String>) {
        annotations.remove(CLUSTER_WIDE_ANNOTATION);
        annotations.remove(NAMESPACE_WIDE_ANNOTATION);
        if let Some(key) = self.annotation() {
            annotations.insert(key.to_string(), "true".to_string());
        }
    }

    /// The annotation that marks this scope, if any.
    pub fn annotation(self) -> Option<&'static str> {
        match self {
            Scope::Strict => None,
            Scope::NamespaceWide => Some(NAMESPACE_WIDE_ANNOTATION),
            Scope::ClusterWide => Some(CLUSTER_WIDE_ANNOTATION),
        }
    }

    /// The OAEP label: `ns/name`, `ns` or empty.
    pub fn label(self, namespace: &str, name: &str) -> Vec<u8> {
        match self {
            Scope::Strict => format!("{namespace}/{name}").into_bytes(),
            Scope::NamespaceWide => namespace.as_bytes().to_vec(),
            Scope::ClusterWide => Vec::new(),
        }
    }

    /// The flag spelling (`strict`, `namespace-wide`, `cluster-wide`).
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Strict => "strict",
            Scope::NamespaceWide => "namespace-wide",
            Scope::ClusterWide => "cluster-wide",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown scope name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be one of: strict, namespace-wide, cluster-wide")]
pub struct UnknownScope;

impl FromStr for Scope {
    type Err = UnknownScope;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "" | "strict" => Ok(Scope::Strict),
            "namespace-wide" => Ok(Scope::NamespaceWide),
            "cluster-wide" => Ok(Scope::ClusterWide),
            _ => Err(UnknownScope),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_match_upstream_encryption_label_table() {
        assert_eq!(Scope::Strict.label("myns", "myname"), b"myns/myname");
        assert_eq!(Scope::NamespaceWide.label("myns", "myname"), b"myns");
        assert_eq!(Scope::ClusterWide.label("myns", "myname"), b"");
    }

    #[test]
    fn only_the_exact_string_true_selects_a_scope_and_cluster_wide_wins() {
        let mut a = BTreeMap::new();
        a.insert(NAMESPACE_WIDE_ANNOTATION.to_string(), "True".to_string());
        assert_eq!(Scope::from_annotations(Some(&a)), Scope::Strict);
        a.insert(NAMESPACE_WIDE_ANNOTATION.to_string(), "true".to_string());
        assert_eq!(Scope::from_annotations(Some(&a)), Scope::NamespaceWide);
        a.insert(CLUSTER_WIDE_ANNOTATION.to_string(), "true".to_string());
        assert_eq!(Scope::from_annotations(Some(&a)), Scope::ClusterWide);
    }

    #[test]
    fn scope_names_round_trip() {
        for s in Scope::ALL {
            assert_eq!(s.as_str().parse::<Scope>(), Ok(s));
        }
        assert_eq!("".parse::<Scope>(), Ok(Scope::Strict));
        assert!("global".parse::<Scope>().is_err());
    }
}
