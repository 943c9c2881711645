//! Which certificates new values may be sealed to: pins given outside the repository (`--trust-cert`, a trust
//! file), or certificates a live controller serves. A certificate the repository alone vouches for is not one.

use std::collections::BTreeSet;

use sealant_repo::KeysDir;

use crate::plan::{Kind, Plan};

/// Pins, each `cluster=SHA256:…` or a bare `SHA256:…`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pins(BTreeSet<String>);

impl Pins {
    /// Pins from flag values and the lines of trust files (`#` starts a comment; blank lines are skipped).
    pub fn new<'a>(values: impl IntoIterator<Item = &'a str>, files: impl IntoIterator<Item = &'a str>) -> Self {
        let lines = files
            .into_iter()
            .flat_map(str::lines)
            .map(|l| l.split('#').next().unwrap_or_default());
        Self(
            values
                .into_iter()
                .chain(lines)
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
        )
    }

    /// The (cluster, certificate) pairs `plan` would seal to (regenerate or re-seal) that no pin confirms.
    ///
    /// A pin `cluster=SHA256:…` confirms that certificate for that cluster only. A bare `SHA256:…` confirms it only
    /// while it sits under one cluster: why, a writer could otherwise copy one cluster's pinned certificate into
    /// another's `keys/` and have that cluster's values sealed to a key a different cluster holds.
    pub fn unconfirmed(&self, plan: &Plan, keys: &KeysDir) -> BTreeSet<(String, String)> {
        let clusters_holding = |fp: &str| {
            keys.clusters()
                .iter()
                .filter(|c| c.keys.iter().any(|k| k.fingerprint == fp))
                .count()
        };
        plan.actions
            .iter()
            .filter(|a| matches!(a.kind, Kind::Regenerate | Kind::Reseal))
            .filter_map(|a| Some((a.cluster.clone().unwrap_or_default(), a.new_key.clone()?)))
            .filter(|(cluster, fp)| {
                !(self.0.contains(&format!("{cluster}={fp}")) || (self.0.contains(fp) && clusters_holding(fp) == 1))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Action;
    use time::OffsetDateTime;

    fn action(cluster: &str, new_key: &str) -> Action {
        Action {
            file: "apps/db.yaml".into(),
            document: "1".into(),
            namespace: "web".into(),
            name: "db".into(),
            item: "password".into(),
            kind: Kind::Regenerate,
            generator: Some("base64:32".into()),
            reason: "due".into(),
            age_days: Some(100),
            old_key: None,
            new_key: Some(new_key.into()),
            cluster: Some(cluster.into()),
            restarts: Vec::new(),
        }
    }

    #[test]
    fn a_bare_pin_confirms_a_certificate_only_while_one_cluster_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        let now = OffsetDateTime::now_utc();
        let (_, prod) =
            sealant_core::keys::generate_key_and_cert(2048, now, sealant_core::keys::DEFAULT_CERT_VALIDITY).unwrap();
        let fp = prod.fingerprint().to_string();
        KeysDir::add(&keys, "prod", &prod, None, true).unwrap();
        let plan = Plan {
            actions: vec![action("prod", &fp), action("staging", &fp)],
            ..Plan::default()
        };
        let pins = Pins::new([fp.as_str()], []);
        let one = KeysDir::load(&keys).unwrap();
        assert!(pins.unconfirmed(&plan, &one).iter().all(|(c, _)| c == "staging"));
        // A writer copies prod's pinned certificate into staging: the bare pin no longer vouches for either.
        KeysDir::add(&keys, "staging", &prod, None, true).unwrap();
        let two = KeysDir::load(&keys).unwrap();
        assert_eq!(pins.unconfirmed(&plan, &two).len(), 2);
        // A per-cluster pin confirms exactly its cluster.
        let per_cluster = Pins::new([format!("prod={fp}").as_str()], []);
        let left = per_cluster.unconfirmed(&plan, &two);
        assert_eq!(left, BTreeSet::from([("staging".to_string(), fp.clone())]));
    }

    #[test]
    fn trust_file_lines_drop_comments_and_blanks() {
        let pins = Pins::new(["SHA256:a "], ["# pins\nprod=SHA256:b # checked 2026-11\n\n  \n"]);
        assert_eq!(pins, Pins(BTreeSet::from(["SHA256:a".into(), "prod=SHA256:b".into()])));
    }
}
