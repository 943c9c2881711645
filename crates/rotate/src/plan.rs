//! The plan: per item of every SealedSecret, what the run does and why. Pure: it reads what the scan, the git
//! history and `keys/` found, and decides; nothing is sealed or written here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sealant_core::types::{KEY_FINGERPRINT_ANNOTATION, SEALED_AT_ANNOTATION, parse_days};
use sealant_repo::{KeyState, KeysDir};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::generate::Generator;
use crate::scan::Found;
use crate::{
    GENERATE_ANNOTATION_PREFIX, ROLLOUT_RESTART_ANNOTATION, ROTATE_EVERY_ANNOTATION, ROTATED_AT_ANNOTATION_PREFIX,
};
use sealant_repo::RepoConfig;

/// What happens to one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A new value from the item's generator, sealed to the newest key.
    Regenerate,
    /// The same value, re-encrypted to the newest key.
    Reseal,
    /// Due, but the value comes from outside: a human rotates it at its source.
    Report,
}

/// One planned step.
#[derive(Debug, Clone, Serialize)]
pub struct Action {
    /// File, relative to the repository root.
    pub file: PathBuf,
    /// Document in the file.
    pub document: String,
    /// Namespace of the SealedSecret.
    pub namespace: String,
    /// Name of the SealedSecret.
    pub name: String,
    /// The item (`encryptedData` key).
    pub item: String,
    /// What happens.
    pub kind: Kind,
    /// The generator, for `regenerate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generator: Option<String>,
    /// Why, in words.
    pub reason: String,
    /// Age in days, when known.
    pub age_days: Option<i64>,
    /// The key it is sealed to now, when known.
    pub old_key: Option<String>,
    /// The key it will be sealed to (`regenerate`, `reseal`).
    pub new_key: Option<String>,
    /// The cluster whose key that is.
    pub cluster: Option<String>,
    /// Workloads restarted when the Secret changes (`sealant.dev/rollout-restart`).
    pub restarts: Vec<String>,
}

/// A SealedSecret the plan cannot decide for.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// File, relative to the repository root.
    pub file: PathBuf,
    /// Document in the file.
    pub document: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// A cluster's new key, taken from its live controller into `keys/<cluster>/` by the same pull request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KeyChange {
    /// The cluster.
    pub cluster: String,
    /// The certificate made current, if that changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    /// The certificate it replaces as current.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    /// Certificates added under `keys/<cluster>/`.
    pub added: Vec<String>,
    /// Certificates whose escrowed private key was added.
    pub escrowed: Vec<String>,
}

/// The whole plan.
#[derive(Debug, Default, Serialize)]
pub struct Plan {
    /// Keys taken from the live controllers (a renewal since the last run), before any item is re-sealed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub key_changes: Vec<KeyChange>,
    /// Compromised keys that items of the plan are sealed to: the run is urgent.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub compromised: Vec<String>,
    /// Keys this run marks compromised (`--compromised`), recorded in `state.yaml` by its commit.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub declared_compromised: Vec<String>,
    /// Steps, in file and document order.
    pub actions: Vec<Action>,
    /// SealedSecrets left alone, with the reason.
    pub problems: Vec<Problem>,
    /// SealedSecrets looked at.
    pub sealed_secrets: usize,
}

impl Plan {
    /// Whether the run changes any file.
    pub fn changes_files(&self) -> bool {
        !self.key_changes.is_empty()
            || !self.declared_compromised.is_empty()
            || self.actions.iter().any(|a| a.kind != Kind::Report)
    }

    /// A digest of what the plan changes (files, items, kinds, keys; not ages, which grow daily), so a run can
    /// tell that an open pull request already carries the same rotation.
    pub fn digest(&self) -> String {
        let mut lines: Vec<String> = self
            .actions
            .iter()
            .map(|a| {
                format!(
                    "{}\t{}\t{}\t{:?}\t{}\t{}\t{}",
                    a.file.display(),
                    a.document,
                    a.item,
                    a.kind,
                    a.generator.as_deref().unwrap_or(""),
                    a.old_key.as_deref().unwrap_or(""),
                    a.new_key.as_deref().unwrap_or("")
                )
            })
            .collect();
        lines.extend(self.compromised.iter().map(|fp| format!("compromised\t{fp}")));
        lines.extend(self.declared_compromised.iter().map(|fp| format!("declared\t{fp}")));
        lines.extend(self.key_changes.iter().map(|k| {
            format!(
                "keys\t{}\t{}\t{}\t{}",
                k.cluster,
                k.current.as_deref().unwrap_or(""),
                k.added.join(","),
                k.escrowed.join(",")
            )
        }));
        lines.sort();
        let hash = sealant_core::envelope::sha256(lines.join("\n").as_bytes());
        hash.iter().take(16).map(|b| format!("{b:02x}")).collect()
    }
}

/// What a run is limited to (`--only PATH[:ITEM]`) and made to do now (`--force`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Focus {
    /// Files or directories (relative to the repository root), each with an item or all of them; empty selects
    /// everything.
    pub only: Vec<(PathBuf, Option<String>)>,
    /// What `only` selects is due now, whatever its age.
    pub force: bool,
}

impl Focus {
    /// `PATH` or `PATH:ITEM` selectors (the item after the last `:`), paths relative to the repository root.
    pub fn new(specs: &[String], force: bool) -> Self {
        let only = specs
            .iter()
            .map(|spec| {
                let (path, item) = match spec.rsplit_once(':') {
                    Some((path, item)) if !path.is_empty() && !item.is_empty() && !item.contains('/') => {
                        (path, Some(item.to_string()))
                    }
                    _ => (spec.as_str(), None),
                };
                let path = Path::new(path.trim_start_matches("./"));
                (path.to_path_buf(), item)
            })
            .collect();
        Self { only, force }
    }

    fn selects(&self, file: &Path, item: Option<&str>) -> bool {
        self.only.is_empty()
            || self.only.iter().any(|(path, wanted)| {
                file.starts_with(path) && (wanted.is_none() || item.is_none() || wanted.as_deref() == item)
            })
    }
}

/// What the planner knows about one SealedSecret besides the object itself.
#[derive(Debug, Default, Clone)]
pub struct Facts {
    /// When its file last changed in git (used without `sealant.dev/sealed-at`).
    pub last_change: Option<OffsetDateTime>,
    /// The key it is sealed to, found by trying private keys (used without `sealant.dev/key-fingerprint`).
    pub key: Option<String>,
}

/// Plans every found SealedSecret.
pub fn plan(
    found: &[Found],
    facts: &[Facts],
    keys: &KeysDir,
    config: &RepoConfig,
    now: OffsetDateTime,
    focus: &Focus,
) -> Plan {
    let mut plan = Plan {
        sealed_secrets: found.len(),
        ..Plan::default()
    };
    for (f, facts) in found
        .iter()
        .zip(facts.iter().chain(std::iter::repeat(&Facts::default())))
    {
        if !focus.selects(&f.file, None) {
            continue;
        }
        if let Err(message) = plan_one(f, facts, keys, config, now, focus, &mut plan.actions) {
            plan.problems.push(Problem {
                file: f.file.clone(),
                document: f.document.clone(),
                message,
            });
        }
    }
    plan
}

fn plan_one(
    f: &Found,
    facts: &Facts,
    keys: &KeysDir,
    config: &RepoConfig,
    now: OffsetDateTime,
    focus: &Focus,
    out: &mut Vec<Action>,
) -> Result<(), String> {
    let ss = &f.sealed;
    let annotation = |k: &str| ss.annotation(k);
    let Basics {
        id,
        sealed_at,
        source,
        period,
        place,
    } = basics(f, facts, keys, config)?;
    let Placement {
        old_key,
        old_state,
        cluster,
        newest,
    } = place;
    let compromised = old_state == Some(KeyState::Compromised);
    let stale_key = match (&old_key, &newest) {
        (Some(old), Some(new)) => old != new,
        _ => false,
    };

    // (item, kind, generator, reason, age in days)
    type Step = (String, Kind, Option<Generator>, String, Option<i64>);
    let mut items: Vec<Step> = Vec::new();
    for item in ss.spec.encrypted_data.keys() {
        if !focus.selects(&f.file, Some(item)) {
            continue;
        }
        let generator = match annotation(&format!("{GENERATE_ANNOTATION_PREFIX}{item}")) {
            Some(spec) => Some(
                spec.parse::<Generator>()
                    .map_err(|e| format!("{id}: item {item}: {e}"))?,
            ),
            None => None,
        };
        let age = item_age(ss, item, sealed_at, now);
        let forced = focus.force && !focus.only.is_empty();
        let due = compromised || forced || age.is_some_and(|a| a >= period);
        let due_reason = if compromised {
            "sealed to a compromised key: the value must change".to_string()
        } else if forced && age.is_none_or(|a| a < period) {
            "rotated now (--only --force)".to_string()
        } else {
            format!(
                "due: sealed {} days ago, period {period} days{source}",
                age.unwrap_or_default()
            )
        };
        if due && let Some(generator) = generator {
            items.push((item.clone(), Kind::Regenerate, Some(generator), due_reason, age));
            continue;
        }
        if due {
            items.push((
                item.clone(),
                Kind::Report,
                None,
                format!("{due_reason}; external value"),
                age,
            ));
        }
        if stale_key {
            let what = match old_state {
                Some(KeyState::Retired) => "sealed to a retired key",
                Some(KeyState::Compromised) => "sealed to a compromised key",
                _ => "sealed to an older key",
            };
            items.push((item.clone(), Kind::Reseal, None, what.to_string(), age));
        }
    }
    if items.iter().any(|(_, k, ..)| *k != Kind::Report) && newest.is_none() {
        return Err(match &cluster {
            Some(c) => {
                format!("{id}: cluster {c} has no current key under keys/{c}/ (sealant keys fetch --cluster {c})")
            }
            None => format!(
                "{id}: cannot tell which cluster it is sealed for: add a path rule to .sealant.yaml, or seal it with sealant (key annotation)"
            ),
        });
    }
    let restarts = restarts(ss.annotation(ROLLOUT_RESTART_ANNOTATION), ss.namespace(), ss.name());
    for (item, kind, generator, reason, age) in items {
        let new_key = (kind != Kind::Report).then(|| newest.clone()).flatten();
        out.push(Action {
            file: f.file.clone(),
            document: f.document.clone(),
            namespace: ss.namespace().to_string(),
            name: ss.name().to_string(),
            item,
            kind,
            generator: generator.map(|g| g.to_string()),
            reason,
            age_days: age,
            old_key: old_key.clone(),
            new_key,
            cluster: cluster.clone(),
            restarts: restarts.clone(),
        });
    }
    Ok(())
}

/// What planning one SealedSecret starts from: its sealing time, period, key and cluster.
struct Basics {
    id: String,
    sealed_at: Option<OffsetDateTime>,
    /// Where the age comes from, for reasons: empty, or " (age from git history)".
    source: &'static str,
    period: i64,
    /// Its key and cluster.
    place: Placement,
}

fn basics(f: &Found, facts: &Facts, keys: &KeysDir, config: &RepoConfig) -> Result<Basics, String> {
    let ss = &f.sealed;
    let annotation = |k: &str| ss.annotation(k);
    let id = format!("SealedSecret {}/{}", ss.namespace(), ss.name());
    let (sealed_at, source) = match annotation(SEALED_AT_ANNOTATION) {
        Some(text) => (
            Some(
                OffsetDateTime::parse(text, &Rfc3339)
                    .map_err(|_| format!("{id}: {SEALED_AT_ANNOTATION} {text:?} is not an RFC 3339 time"))?,
            ),
            "",
        ),
        None => (facts.last_change, " (age from git history)"),
    };
    let period = match annotation(ROTATE_EVERY_ANNOTATION) {
        Some(text) => {
            parse_days(text).ok_or_else(|| format!("{id}: {ROTATE_EVERY_ANNOTATION} {text:?}: want e.g. 90d"))?
        }
        None => config.rotation_days(),
    };
    Ok(Basics {
        id,
        sealed_at,
        source,
        period,
        place: placement(f, facts, keys, config),
    })
}

/// The key a SealedSecret is sealed to and the cluster it is for: known from its key annotation, history or path
/// even when its time or period annotation is bad.
struct Placement {
    old_key: Option<String>,
    old_state: Option<KeyState>,
    cluster: Option<String>,
    /// The cluster's current key.
    newest: Option<String>,
}

fn placement(f: &Found, facts: &Facts, keys: &KeysDir, config: &RepoConfig) -> Placement {
    let old_key = f
        .sealed
        .annotation(KEY_FINGERPRINT_ANNOTATION)
        .map(str::to_string)
        .or_else(|| facts.key.clone());
    let old_state = old_key.as_deref().and_then(|fp| keys.find(fp)).map(|r| r.state);
    // The cluster: the one that holds the old key, else the path rule, else the only cluster there is.
    let cluster = old_key
        .as_deref()
        .and_then(|fp| keys.find(fp))
        .map(|r| r.cluster.clone())
        .or_else(|| cluster_by_path(&f.file, config))
        .or_else(|| match keys.clusters() {
            [only] => Some(only.name.clone()),
            _ => None,
        });
    let newest = cluster
        .as_deref()
        .and_then(|c| keys.cluster(c))
        .and_then(|c| c.current())
        .map(|r| r.fingerprint.clone());
    Placement {
        old_key,
        old_state,
        cluster,
        newest,
    }
}

/// An item's age in days: from its own `rotated-at` when it was regenerated alone (the newer time counts), else
/// from the object's sealing time.
fn item_age(
    ss: &sealant_core::SealedSecret,
    item: &str,
    sealed_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Option<i64> {
    let rotated_at = ss
        .annotation(&format!("{ROTATED_AT_ANNOTATION_PREFIX}{item}"))
        .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok());
    match (rotated_at, sealed_at) {
        (Some(r), Some(s)) => Some((now - r.max(s)).whole_days()),
        (Some(r), None) => Some((now - r).whole_days()),
        (None, s) => s.map(|s| (now - s).whole_days()),
    }
}

/// Where one SealedSecret stands against its rotation period (what `sealant report` draws).
#[derive(Debug, Clone, Serialize)]
pub struct Standing {
    /// File, relative to the repository root.
    pub file: PathBuf,
    /// Document in the file.
    pub document: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The cluster it is sealed for, when known.
    pub cluster: Option<String>,
    /// The key it is sealed to, when known.
    pub key: Option<String>,
    /// That key's state in `keys/`, when it is there.
    pub key_state: Option<KeyState>,
    /// The age of its oldest item, in days, when known.
    pub age_days: Option<i64>,
    /// Its rotation period in days.
    pub period_days: i64,
    /// Items, and how many of them sealant regenerates.
    pub items: usize,
    /// Items with a generator.
    pub generated: usize,
    /// Why it could not be placed (a bad annotation), if so.
    pub problem: Option<String>,
}

/// Every found SealedSecret's standing at `now`.
pub fn standings(
    found: &[Found],
    facts: &[Facts],
    keys: &KeysDir,
    config: &RepoConfig,
    now: OffsetDateTime,
) -> Vec<Standing> {
    found
        .iter()
        .zip(facts.iter().chain(std::iter::repeat(&Facts::default())))
        .map(|(f, facts)| {
            let ss = &f.sealed;
            let mut standing = Standing {
                file: f.file.clone(),
                document: f.document.clone(),
                namespace: ss.namespace().to_string(),
                name: ss.name().to_string(),
                cluster: None,
                key: None,
                key_state: None,
                age_days: None,
                period_days: config.rotation_days(),
                items: ss.spec.encrypted_data.len(),
                generated: ss
                    .spec
                    .encrypted_data
                    .keys()
                    .filter(|i| ss.annotation(&format!("{GENERATE_ANNOTATION_PREFIX}{i}")).is_some())
                    .count(),
                problem: None,
            };
            match basics(f, facts, keys, config) {
                Ok(b) => {
                    standing.age_days = ss
                        .spec
                        .encrypted_data
                        .keys()
                        .filter_map(|i| item_age(ss, i, b.sealed_at, now))
                        .max();
                    standing.period_days = b.period;
                    standing.cluster = b.place.cluster;
                    standing.key = b.place.old_key;
                    standing.key_state = b.place.old_state;
                    // Why: a post-dated sealed-at would show an old value as fresh (lint reports it as an error).
                    if b.sealed_at.is_some_and(|at| at > now + time::Duration::DAY) {
                        standing.problem = Some(format!("{}: {SEALED_AT_ANNOTATION} is in the future", b.id));
                    }
                }
                Err(problem) => {
                    // Why still placed: a bad time or period annotation does not move a SealedSecret out of its
                    // cluster's chart (the page would show "no cluster" and its cluster's key as unused).
                    let p = placement(f, facts, keys, config);
                    standing.cluster = p.cluster;
                    standing.key = p.old_key;
                    standing.key_state = p.old_state;
                    standing.problem = Some(problem);
                }
            }
            standing
        })
        .collect()
}

fn cluster_by_path(file: &Path, config: &RepoConfig) -> Option<String> {
    match config.rule_for(file).map(|r| r.clusters.as_slice()) {
        Some([one]) => Some(one.clone()),
        _ => None,
    }
}

/// `true` → the workloads that reference the Secret; a list → those.
fn restarts(annotation: Option<&str>, namespace: &str, name: &str) -> Vec<String> {
    match annotation.map(str::trim) {
        None | Some("" | "false") => Vec::new(),
        Some("true") => vec![format!("workloads in {namespace} using Secret {name}")],
        Some(list) => list
            .split([',', ' ', '\n'])
            .filter(|s| !s.is_empty())
            .map(|s| format!("{namespace}/{s}"))
            .collect(),
    }
}

/// Items grouped by object, as `apply` needs them: (file, document) → actions.
pub fn by_object(plan: &Plan) -> BTreeMap<(PathBuf, String), Vec<&Action>> {
    let mut map: BTreeMap<(PathBuf, String), Vec<&Action>> = BTreeMap::new();
    for a in &plan.actions {
        map.entry((a.file.clone(), a.document.clone())).or_default().push(a);
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(sealed_at: &str) -> Found {
        let yaml = format!(
            "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: web-api-token-prod\n  namespace: web\n  annotations:\n    sealant.dev/sealed-at: \"{sealed_at}\"\nspec:\n  encryptedData:\n    token: AgA=\n"
        );
        let (_, objects) = sealant_core::manifest::read(&yaml).unwrap();
        let sealant_core::manifest::Object::SealedSecret(ss) = &objects[0].object else {
            panic!("not a SealedSecret");
        };
        Found {
            file: "apps/token.yaml".into(),
            document: "1".into(),
            line: 1,
            sealed: (**ss).clone(),
        }
    }

    #[test]
    fn a_post_dated_sealed_at_makes_a_standing_of_unknown_age_not_a_fresh_one() {
        let now = OffsetDateTime::from_unix_timestamp(1_900_000_000).unwrap();
        let config = RepoConfig::default();
        let keys = KeysDir::default();
        let standing = |at: &str| standings(&[found(at)], &[], &keys, &config, now).remove(0);
        let future = standing("2031-01-01T00:00:00Z");
        assert!(
            future.problem.as_deref().unwrap_or("").contains("in the future"),
            "{future:?}"
        );
        let fresh = standing("2030-03-01T00:00:00Z");
        assert_eq!((fresh.age_days, fresh.problem), (Some(16), None));
    }
}
