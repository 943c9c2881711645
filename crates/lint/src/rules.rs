//! The rule catalogue: every rule has an id, a default severity, what it finds and how to fix it.

use serde::Serialize;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Fails the run (exit 1).
    Error,
    /// Reported, does not fail.
    Warning,
}

impl Severity {
    /// Lower-case name (`error`, `warning`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }

    /// Parses `error` / `warning`.
    pub fn parse(text: &str) -> Option<Severity> {
        match text {
            "error" => Some(Severity::Error),
            "warning" => Some(Severity::Warning),
            _ => None,
        }
    }
}

/// One rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Stable id, used in config, inline suppressions and SARIF.
    pub id: &'static str,
    /// Severity unless the config says otherwise.
    pub severity: Severity,
    /// What it finds.
    pub summary: &'static str,
    /// How to fix it.
    pub help: &'static str,
}

/// Every rule.
pub const RULES: &[Rule] = &[
    Rule {
        id: "plaintext-secret",
        severity: Severity::Error,
        summary: "a plaintext Secret (data or stringData) is committed",
        help: "seal it (`sealant seal -f FILE -w FILE.sealed.yaml`), commit the SealedSecret and delete the Secret from history",
    },
    Rule {
        id: "secret-in-env",
        severity: Severity::Error,
        summary: "a container env var holds a secret-looking literal value",
        help: "put the value in a (sealed) Secret and use `valueFrom.secretKeyRef`",
    },
    Rule {
        id: "secret-naming",
        severity: Severity::Warning,
        summary: "the name does not follow <app>-<secret-type>-<environment>",
        help: "rename it, e.g. `billing-db-credentials-prod`; types and environments are set in .sealant.yaml (lint.naming)",
    },
    Rule {
        id: "rotation-overdue",
        severity: Severity::Error,
        summary: "the SealedSecret is older than its rotation period",
        help: "rotate the values and re-seal (`sealant rotate`, or by hand), which refreshes sealant.dev/sealed-at",
    },
    Rule {
        id: "rotation-due-soon",
        severity: Severity::Warning,
        summary: "the SealedSecret is due for rotation within the warning window",
        help: "plan the rotation; `sealant rotate --dry-run` shows what is due",
    },
    Rule {
        id: "unknown-sealing-key",
        severity: Severity::Error,
        summary: "sealed to a key whose certificate is not under keys/",
        help: "re-seal with a certificate from keys/<cluster>/, or commit the cluster's certificate there",
    },
    Rule {
        id: "retired-sealing-key",
        severity: Severity::Error,
        summary: "sealed to a key that keys/<cluster>/state.yaml marks retired or compromised",
        help: "re-seal to the cluster's current key (`sealant rotate`); for a compromised key, regenerate the values at their source first",
    },
    Rule {
        id: "cluster-wide-scope",
        severity: Severity::Warning,
        summary: "a cluster-wide SealedSecret can be unsealed in any namespace under any name",
        help: "seal with the default strict scope, or allow the path in .sealant.yaml (lint.allowClusterWide)",
    },
    Rule {
        id: "committed-credential",
        severity: Severity::Error,
        summary: "a private key, age identity, kubeconfig credential or cloud credential is committed",
        help: "remove it from the tree and its history, rotate it, and keep it sealed or in a secret manager",
    },
    Rule {
        id: "controller-hardening",
        severity: Severity::Warning,
        summary: "the sealing controller does not run hardened",
        help: "set runAsNonRoot, readOnlyRootFilesystem, allowPrivilegeEscalation: false and drop ALL capabilities",
    },
    Rule {
        id: "parse-error",
        severity: Severity::Error,
        summary: "the file cannot be parsed, so it was not checked",
        help: "fix the syntax; other files are still checked",
    },
    Rule {
        id: "unreadable-file",
        severity: Severity::Error,
        summary: "the file cannot be read (too large, not a regular file, a symbolic link), so it was not checked",
        help: "keep manifests under 4 MiB as regular files; a symbolic link is never followed",
    },
];

/// The rule with this id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}
