//! Carries out a plan in memory: new values are generated and sealed, stale items re-sealed (offline with private
//! keys, or by the controller's `/v1/rotate`), and each file is rewritten changing only those values and the
//! sealant annotations, layout kept. Nothing is written to disk here: the caller commits the result.

use std::collections::BTreeMap;
use std::path::PathBuf;

use sealant_core::Scope;
use sealant_core::seal::seal_raw;
use sealant_core::types::{KEY_FINGERPRINT_ANNOTATION, SEALED_AT_ANNOTATION};
use sealant_repo::KeysDir;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::ROTATED_AT_ANNOTATION_PREFIX;
use crate::generate::Generator;
use crate::plan::{self, Action, Kind, Plan};
use crate::resealer::{Resealer, chain};
use crate::scan::{Found, Scan};

/// Why a plan could not be carried out. Names the file, document and item; never a value.
#[derive(Debug, thiserror::Error)]
#[error("{file}: document {document}: {message}")]
pub struct ApplyError {
    /// File, relative to the repository root.
    pub file: PathBuf,
    /// Document in the file.
    pub document: String,
    /// What failed.
    pub message: String,
}

/// New contents of every changed file, in path order. The sealing work (generation, RSA) is spread over the
/// machine's cores; files are rewritten afterwards, in order.
pub fn apply(
    plan: &Plan,
    scan: &Scan,
    keys: &KeysDir,
    resealer: Option<&(dyn Resealer + Sync)>,
    now: OffsetDateTime,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Vec<(PathBuf, String)>, ApplyError> {
    let objects = plan::by_object(plan);
    // An index, not a search per object: 10,000 objects would make that 10^8 path comparisons.
    let index: std::collections::HashMap<(&std::path::Path, &str), &Found> = scan
        .found
        .iter()
        .map(|f| ((f.file.as_path(), f.document.as_str()), f))
        .collect();
    let mut jobs: Vec<(&Found, Vec<&Action>)> = Vec::new();
    for ((file, document), actions) in objects {
        if actions.iter().all(|a| a.kind == Kind::Report) {
            continue;
        }
        let found = index
            .get(&(file.as_path(), document.as_str()))
            .copied()
            .ok_or_else(|| ApplyError {
                file: file.clone(),
                document: document.clone(),
                message: "not found in the scan".into(),
            })?;
        jobs.push((found, actions));
    }
    let fail = |found: &Found, message: String| ApplyError {
        file: found.file.clone(),
        document: found.document.clone(),
        message,
    };
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(16);
    let chunk = jobs.len().div_ceil(workers).max(1);
    let edits: Vec<Result<Vec<Edit>, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|(found, actions)| {
                            let r = edits_for(found, actions, keys, resealer, now);
                            progress(actions.len());
                            r
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        // A worker's panic is re-raised: dropping its results would silently lose objects.
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut texts: BTreeMap<PathBuf, String> = BTreeMap::new();
    for ((found, _), edits) in jobs.iter().zip(edits) {
        let edits = edits.map_err(|m| fail(found, m))?;
        let (format, original) = scan
            .texts
            .get(&found.file)
            .ok_or_else(|| fail(found, "file text missing".into()))?;
        let text = texts.entry(found.file.clone()).or_insert_with(|| original.clone());
        // The core rewrite re-reads the result to prove it holds every edit.
        *text = sealant_core::rewrite::rewrite_sealed(text, *format, &found.document, &found.sealed, &edits)
            .map_err(|e| fail(found, e.to_string()))?;
    }
    Ok(texts
        .into_iter()
        .filter(|(f, t)| scan.texts.get(f).is_some_and(|(_, o)| o != t))
        .collect())
}

/// One edit: the YAML path to a scalar and its new value.
type Edit = (Vec<String>, String);

/// The (path, value) edits for one object.
fn edits_for(
    found: &Found,
    actions: &[&Action],
    keys: &KeysDir,
    resealer: Option<&(dyn Resealer + Sync)>,
    now: OffsetDateTime,
) -> Result<Vec<Edit>, String> {
    let ss = &found.sealed;
    let new_key = actions
        .iter()
        .find_map(|a| a.new_key.as_deref())
        .ok_or("no key to seal to")?;
    let cert = &keys
        .find(new_key)
        .ok_or_else(|| format!("key {new_key} is not under keys/"))?
        .cert;
    let scope = Scope::from_annotations(ss.metadata.annotations.as_ref());
    let mut sealed: BTreeMap<String, String> = BTreeMap::new();
    for a in actions.iter().filter(|a| a.kind == Kind::Regenerate) {
        let generator: Generator = a
            .generator
            .as_deref()
            .unwrap_or_default()
            .parse()
            .map_err(|e| format!("item {}: {e}", a.item))?;
        let value = generator.generate().map_err(|e| format!("item {}: {e}", a.item))?;
        // Why the old ciphertext's scope when the keys can tell it: the annotation is the repository writer's to
        // edit, and a widened annotation must not widen the new value.
        let scope = resealer.and_then(|r| r.scope_of(ss, &a.item)).unwrap_or(scope);
        let ciphertext =
            seal_raw(cert, scope, ss.namespace(), ss.name(), &value).map_err(|e| format!("item {}: {e}", a.item))?;
        sealed.insert(a.item.clone(), ciphertext);
    }
    let reseal: Vec<&str> = actions
        .iter()
        .filter(|a| a.kind == Kind::Reseal && !sealed.contains_key(&a.item))
        .map(|a| a.item.as_str())
        .collect();
    if !reseal.is_empty() {
        let resealer = resealer.ok_or(
            "re-sealing needs the old key: give --age-identity (escrowed keys) or --key, or use the controller (--controller)",
        )?;
        let new = resealer.reseal(ss, &reseal, cert).map_err(|e| chain(&e))?;
        for item in reseal {
            let ciphertext = new
                .get(item)
                .ok_or_else(|| format!("item {item}: the re-sealer returned no ciphertext"))?;
            sealed.insert(item.to_string(), ciphertext.clone());
        }
    }
    let mut edits: Vec<Edit> = sealed
        .iter()
        .map(|(item, c)| (path(&["spec", "encryptedData", item]), c.clone()))
        .collect();
    // Why the key annotation changes only when every item moved: it must name the key all items are sealed to.
    let all_moved = ss.spec.encrypted_data.keys().all(|i| sealed.contains_key(i))
        || ss.annotation(KEY_FINGERPRINT_ANNOTATION) == Some(new_key);
    if all_moved {
        edits.push((
            path(&["metadata", "annotations", KEY_FINGERPRINT_ANNOTATION]),
            new_key.to_string(),
        ));
    }
    // Why sealed-at restarts only when nothing due is left: an external item still due must stay visible as due.
    let regenerated = actions.iter().any(|a| a.kind == Kind::Regenerate);
    let due_left = actions.iter().any(|a| a.kind == Kind::Report);
    let at = now
        .replace_nanosecond(0)
        .unwrap_or(now)
        .format(&Rfc3339)
        .unwrap_or_default();
    if regenerated && !due_left {
        edits.push((path(&["metadata", "annotations", SEALED_AT_ANNOTATION]), at));
    } else {
        for a in actions.iter().filter(|a| a.kind == Kind::Regenerate) {
            let key = format!("{ROTATED_AT_ANNOTATION_PREFIX}{}", a.item);
            edits.push((path(&["metadata", "annotations", &key]), at.clone()));
        }
    }
    Ok(edits)
}

fn path(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}
