//! The rules themselves, over one object (manifest rules) or one file's text (credential rules).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use sealant_repo::KeyState;
use serde_json::Value;
use time::OffsetDateTime;

use crate::config::{Config, parse_days};
use crate::document::{Path, Step, keys};

/// The state of each certificate under `keys/`, by fingerprint.
pub type KnownKeys = BTreeMap<String, KeyState>;

/// What the rules need besides the object.
pub struct Context<'a> {
    /// Effective settings.
    pub config: &'a Config,
    /// The file, relative to the root.
    pub file: &'a std::path::Path,
    /// "Now" for ages.
    pub now: OffsetDateTime,
    /// The state of each certificate under `keys/` by fingerprint, when that directory exists.
    pub known_keys: Option<&'a KnownKeys>,
    /// When git last saw the file change (used when an object has no `sealant.dev/sealed-at`).
    pub last_change: Option<OffsetDateTime>,
}

/// A rule that matched, before positions and severities are applied.
#[derive(Debug)]
pub struct Hit {
    /// Rule id.
    pub rule: &'static str,
    /// Where in the document.
    pub path: Path,
    /// What was found (names and counts, never values).
    pub message: String,
}

fn hit(rule: &'static str, path: Path, message: String) -> Hit {
    Hit { rule, path, message }
}

fn join(base: &[Step], rest: &[&str]) -> Path {
    let mut p = base.to_vec();
    p.extend(keys(rest));
    p
}

fn str_at<'v>(v: &'v Value, path: &[&str]) -> Option<&'v str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

fn display_name(obj: &Value) -> String {
    let name = str_at(obj, &["metadata", "name"]).unwrap_or("<unnamed>");
    match str_at(obj, &["metadata", "namespace"]) {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    }
}

/// Checks one object (a `v1 List` is checked item by item).
pub fn object(obj: &Value, base: Path, ctx: &Context, hits: &mut Vec<Hit>) {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    match (kind, api_version) {
        ("List", "v1") | ("SecretList", "v1") => {
            for (i, item) in obj
                .get("items")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let mut path = base.clone();
                path.extend([Step::Key("items".into()), Step::Index(i)]);
                object(item, path, ctx, hits);
            }
        }
        ("Secret", "v1") => secret(obj, &base, ctx, hits),
        ("SealedSecret", _) if api_version.starts_with("bitnami.com/") => sealed_secret(obj, &base, ctx, hits),
        ("Config", "v1") => kubeconfig(obj, &base, hits),
        _ => {}
    }
    if let Some((spec_path, spec)) = pod_spec(obj, kind) {
        let spec_base: Path = base.iter().cloned().chain(keys(&spec_path)).collect();
        containers(spec, &spec_base, hits);
        hardening(obj, spec, &spec_base, hits);
    }
}

fn secret(obj: &Value, base: &[Step], ctx: &Context, hits: &mut Vec<Hit>) {
    naming(obj, base, ctx, hits);
    // SOPS-encrypted Secrets carry their values as ENC[...] and a `sops` block with a MAC.
    if obj.get("sops").and_then(|s| s.get("mac")).is_some() || ctx.config.is_dev_path(ctx.file) {
        return;
    }
    for field in ["stringData", "data"] {
        let Some(items) = obj.get(field).and_then(Value::as_object) else {
            continue;
        };
        if items.is_empty() {
            continue;
        }
        let names: Vec<&str> = items.keys().map(String::as_str).collect();
        hits.push(hit(
            "plaintext-secret",
            join(base, &[field]),
            format!(
                "Secret {} has {} plaintext item(s) in {field}: {}",
                display_name(obj),
                names.len(),
                names.join(", ")
            ),
        ));
        return;
    }
}

fn sealed_secret(obj: &Value, base: &[Step], ctx: &Context, hits: &mut Vec<Hit>) {
    naming(obj, base, ctx, hits);
    // A template has no `stringData`: anything written there is plaintext in Git (the API server prunes it).
    if let Some(items) = obj.pointer("/spec/template/stringData").and_then(Value::as_object)
        && !items.is_empty()
        && !ctx.config.is_dev_path(ctx.file)
    {
        let names: Vec<&str> = items.keys().map(String::as_str).collect();
        hits.push(hit(
            "plaintext-secret",
            join(base, &["spec", "template", "stringData"]),
            format!(
                "SealedSecret {} carries plaintext in spec.template.stringData: {}",
                display_name(obj),
                names.join(", ")
            ),
        ));
    }
    let annotations = obj.pointer("/metadata/annotations");
    let annotation = |key: &str| annotations.and_then(|a| a.get(key)).and_then(Value::as_str);
    let template_cluster_wide = obj
        .pointer("/spec/template/metadata/annotations/sealedsecrets.bitnami.com~1cluster-wide")
        .and_then(Value::as_str)
        == Some("true");
    if (annotation(sealant_core::scope::CLUSTER_WIDE_ANNOTATION) == Some("true") || template_cluster_wide)
        && !ctx.config.allows_cluster_wide(ctx.file)
    {
        hits.push(hit(
            "cluster-wide-scope",
            join(base, &["metadata", "annotations"]),
            format!("SealedSecret {} is sealed cluster-wide", display_name(obj)),
        ));
    }
    let sealed_at_path = join(
        base,
        &["metadata", "annotations", sealant_core::types::SEALED_AT_ANNOTATION],
    );
    let (sealed_at, source, path) = match annotation(sealant_core::types::SEALED_AT_ANNOTATION) {
        Some(text) => match OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339) {
            // Why: a repository writer could post-date the annotation to keep an old value from ever falling due.
            Ok(at) if at > ctx.now + time::Duration::DAY => {
                hits.push(hit(
                    "rotation-overdue",
                    sealed_at_path,
                    format!(
                        "SealedSecret {}: sealant.dev/sealed-at {text} is in the future, so its age is unknown",
                        display_name(obj)
                    ),
                ));
                (None, "", Vec::new())
            }
            Ok(at) => (Some(at), "", sealed_at_path),
            Err(_) => {
                hits.push(hit(
                    "rotation-overdue",
                    sealed_at_path,
                    format!(
                        "SealedSecret {}: sealant.dev/sealed-at is not an RFC 3339 time, so its age is unknown",
                        display_name(obj)
                    ),
                ));
                (None, "", Vec::new())
            }
        },
        None => (
            ctx.last_change,
            " (age from git history)",
            join(base, &["metadata", "name"]),
        ),
    };
    if let Some(at) = sealed_at {
        let period = annotation(sealant_core::types::ROTATE_EVERY_ANNOTATION)
            .and_then(parse_days)
            .unwrap_or(ctx.config.rotation_days);
        let age = (ctx.now - at).whole_days();
        let name = display_name(obj);
        if age >= period {
            hits.push(hit(
                "rotation-overdue",
                path,
                format!("SealedSecret {name} was sealed {age} days ago; its rotation period is {period} days{source}"),
            ));
        } else if age >= period - ctx.config.warn_days {
            hits.push(hit(
                "rotation-due-soon",
                path,
                format!(
                    "SealedSecret {name} is due for rotation in {} day(s){source}",
                    period - age
                ),
            ));
        }
    }
    let (Some(known), Some(fingerprint)) = (
        ctx.known_keys,
        annotation(sealant_core::types::KEY_FINGERPRINT_ANNOTATION),
    ) else {
        return;
    };
    let at = join(
        base,
        &[
            "metadata",
            "annotations",
            sealant_core::types::KEY_FINGERPRINT_ANNOTATION,
        ],
    );
    match known.get(fingerprint) {
        None => hits.push(hit(
            "unknown-sealing-key",
            at,
            format!(
                "SealedSecret {} is sealed to {fingerprint}, which is not a certificate under keys/",
                display_name(obj)
            ),
        )),
        Some(state @ (KeyState::Retired | KeyState::Compromised)) => hits.push(hit(
            "retired-sealing-key",
            at,
            format!(
                "SealedSecret {} is sealed to {fingerprint}, which keys/ marks {state}",
                display_name(obj)
            ),
        )),
        Some(_) => {}
    }
}

fn naming(obj: &Value, base: &[Step], ctx: &Context, hits: &mut Vec<Hit>) {
    let Some(name) = str_at(obj, &["metadata", "name"]) else {
        return;
    };
    let naming = &ctx.config.naming;
    let ok = naming.environments.iter().any(|env| {
        name.strip_suffix(env.as_str())
            .and_then(|rest| rest.strip_suffix('-'))
            .is_some_and(|rest| {
                naming.types.iter().any(|t| {
                    rest.strip_suffix(t.as_str())
                        .and_then(|app| app.strip_suffix('-'))
                        .is_some_and(|app| !app.is_empty())
                })
            })
    });
    if !ok {
        hits.push(hit(
            "secret-naming",
            join(base, &["metadata", "name"]),
            format!(
                "{} {name:?} is not <app>-<secret-type>-<environment> (environments: {})",
                obj.get("kind").and_then(Value::as_str).unwrap_or("object"),
                naming.environments.join(", ")
            ),
        ));
    }
}

fn kubeconfig(obj: &Value, base: &[Step], hits: &mut Vec<Hit>) {
    for (i, user) in obj
        .get("users")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let Some(fields) = user.get("user").and_then(Value::as_object) else {
            continue;
        };
        for field in ["client-key-data", "client-key", "token", "password"] {
            if fields.get(field).and_then(Value::as_str).is_some_and(|v| !v.is_empty()) {
                let mut path = base.to_vec();
                path.extend([Step::Key("users".into()), Step::Index(i), Step::Key("user".into())]);
                path.push(Step::Key(field.into()));
                hits.push(hit(
                    "committed-credential",
                    path,
                    format!("kubeconfig user {i} carries a credential ({field})"),
                ));
            }
        }
    }
}

/// The pod spec of a workload, and its path.
fn pod_spec<'v>(obj: &'v Value, kind: &str) -> Option<(Vec<&'static str>, &'v Value)> {
    let path: &[&'static str] = match kind {
        "Pod" => &["spec"],
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" | "ReplicationController" => {
            &["spec", "template", "spec"]
        }
        "CronJob" => &["spec", "jobTemplate", "spec", "template", "spec"],
        _ => return None,
    };
    let spec = path.iter().try_fold(obj, |v, k| v.get(k))?;
    Some((path.to_vec(), spec))
}

static SECRET_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(passw(or)?d|secret|token|api_?key|private_?key|credential|access_?key|auth)")
        .unwrap_or_else(|_| unreachable!())
});

static SECRET_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|xox[abprs]-[A-Za-z0-9-]{10,}|sk_live_[A-Za-z0-9]{16,}|glpat-[A-Za-z0-9_-]{20,}|-----BEGIN)")
        .unwrap_or_else(|_| unreachable!())
});

fn containers(spec: &Value, base: &[Step], hits: &mut Vec<Hit>) {
    for field in ["containers", "initContainers"] {
        for (i, c) in spec
            .get(field)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            for (j, env) in c.get("env").and_then(Value::as_array).into_iter().flatten().enumerate() {
                let name = env.get("name").and_then(Value::as_str).unwrap_or_default();
                let Some(value) = env.get("value").and_then(Value::as_str) else {
                    continue;
                };
                // `$(OTHER)` refers to another variable; empty and boolean-ish values are not secrets.
                let trivial = value.is_empty() || value.starts_with("$(") || value.len() < 4;
                let by_name = SECRET_NAME.is_match(name) && !trivial && !looks_like_reference(value);
                if by_name || SECRET_VALUE.is_match(value) {
                    let mut path = base.to_vec();
                    path.extend([
                        Step::Key(field.into()),
                        Step::Index(i),
                        Step::Key("env".into()),
                        Step::Index(j),
                        Step::Key("value".into()),
                    ]);
                    let container = c.get("name").and_then(Value::as_str).unwrap_or("?");
                    hits.push(hit(
                        "secret-in-env",
                        path,
                        format!("container {container:?}: env {name:?} is a literal value"),
                    ));
                }
            }
        }
    }
}

/// File paths, URLs without credentials, and host names are configuration, not secrets.
fn looks_like_reference(value: &str) -> bool {
    value.starts_with('/') || (value.contains("://") && !value.contains('@')) || value.ends_with(".svc.cluster.local")
}

fn hardening(obj: &Value, spec: &Value, base: &[Step], hits: &mut Vec<Hit>) {
    let pod_non_root = spec.pointer("/securityContext/runAsNonRoot").and_then(Value::as_bool) == Some(true);
    for (i, c) in spec
        .get("containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let image = c.get("image").and_then(Value::as_str).unwrap_or_default();
        let runs = |word: &str| {
            ["command", "args"].iter().any(|f| {
                c.get(f)
                    .and_then(Value::as_array)
                    .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(word)))
            })
        };
        let is_controller =
            image.contains("sealed-secrets-controller") || (image.contains("sealant") && runs("controller"));
        if !is_controller {
            continue;
        }
        let sc = c.get("securityContext");
        let flag = |key: &str| sc.and_then(|s| s.get(key)).and_then(Value::as_bool);
        let drops_all = sc
            .and_then(|s| s.pointer("/capabilities/drop"))
            .and_then(Value::as_array)
            .is_some_and(|d| d.iter().any(|x| x.as_str() == Some("ALL")));
        let mut missing = Vec::new();
        if !(pod_non_root || flag("runAsNonRoot") == Some(true)) {
            missing.push("runAsNonRoot: true");
        }
        if flag("readOnlyRootFilesystem") != Some(true) {
            missing.push("readOnlyRootFilesystem: true");
        }
        if flag("allowPrivilegeEscalation") != Some(false) {
            missing.push("allowPrivilegeEscalation: false");
        }
        if !drops_all {
            missing.push("capabilities.drop: [ALL]");
        }
        if !missing.is_empty() {
            let mut path = base.to_vec();
            path.extend([Step::Key("containers".into()), Step::Index(i)]);
            hits.push(hit(
                "controller-hardening",
                path,
                format!(
                    "{} runs the controller without {}",
                    display_name(obj),
                    missing.join(", ")
                ),
            ));
        }
    }
}

static PRIVATE_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"-----BEGIN ((RSA|EC|DSA|OPENSSH|ENCRYPTED) )?PRIVATE KEY-----|AGE-SECRET-KEY-1[0-9A-Z]{58}|\bAKIA[0-9A-Z]{16}\b")
        .unwrap_or_else(|_| unreachable!())
});

/// Credentials in a file's text, with 1-based line and column.
pub fn credentials(text: &str) -> Vec<(usize, usize, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if let Some(m) = PRIVATE_KEY.find(line) {
            let what = match m.as_str() {
                s if s.starts_with("AGE-") => "an age identity".to_string(),
                s if s.starts_with("AKIA") => "an AWS access key id".to_string(),
                s => format!("a private key ({})", s.trim_matches('-').trim_start_matches("BEGIN ")),
            };
            found.push((n + 1, m.start() + 1, format!("{what} is committed")));
        }
    }
    found
}
