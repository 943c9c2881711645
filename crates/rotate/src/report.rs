//! The plan and the run as people and machines read them: a text table, JSON, the pull request's title and body,
//! the commit message, and the progress log. Fingerprints, names and reasons only: never a value.

use std::fmt::Write as _;

use crate::plan::{Action, Kind, Plan};

/// The marker a pull request body and a commit message carry, so the next run can tell they hold its plan.
pub const PLAN_MARKER: &str = "Sealant-Plan:";

fn short(fp: Option<&str>) -> String {
    match fp {
        Some(fp) => {
            let body = fp.strip_prefix("SHA256:").unwrap_or(fp);
            format!("SHA256:{}…", body.chars().take(10).collect::<String>())
        }
        None => "?".into(),
    }
}

fn kind(a: &Action) -> String {
    match a.kind {
        Kind::Regenerate => format!("regenerate ({})", a.generator.as_deref().unwrap_or_default()),
        Kind::Reseal => "re-seal".into(),
        Kind::Report => "report".into(),
    }
}

/// A text table, one row per item, then the problems.
pub fn table(plan: &Plan) -> String {
    let rows: Vec<[String; 5]> = plan
        .actions
        .iter()
        .map(|a| {
            [
                format!("{} ({}/{})", a.file.display(), a.namespace, a.name),
                a.item.clone(),
                kind(a),
                match a.kind {
                    Kind::Report => short(a.old_key.as_deref()),
                    _ if a.old_key == a.new_key => short(a.new_key.as_deref()),
                    _ => format!("{} → {}", short(a.old_key.as_deref()), short(a.new_key.as_deref())),
                },
                a.reason.clone(),
            ]
        })
        .collect();
    let header = ["FILE", "ITEM", "ACTION", "KEY", "REASON"].map(String::from);
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for k in &plan.key_changes {
        let _ = writeln!(
            out,
            "keys/{}: current {} (was {}), {} certificate(s) and {} escrowed key(s) added from the live controller",
            k.cluster,
            short(k.current.as_deref()),
            short(k.previous.as_deref()),
            k.added.len(),
            k.escrowed.len()
        );
    }
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    for p in &plan.problems {
        let _ = writeln!(
            out,
            "skipped: {}: document {}: {}",
            p.file.display(),
            p.document,
            p.message
        );
    }
    let _ = writeln!(out, "{}", summary(plan));
    out
}

/// One line: counts.
pub fn summary(plan: &Plan) -> String {
    let count = |k: Kind| plan.actions.iter().filter(|a| a.kind == k).count();
    format!(
        "{}{} SealedSecret(s): {} item(s) to regenerate, {} to re-seal, {} for a human to rotate at the source, {} skipped",
        if plan.key_changes.is_empty() {
            String::new()
        } else {
            format!("key renewal in {} cluster(s); ", plan.key_changes.len())
        },
        plan.sealed_secrets,
        count(Kind::Regenerate),
        count(Kind::Reseal),
        count(Kind::Report),
        plan.problems.len()
    )
}

/// The plan as JSON.
pub fn json(plan: &Plan) -> String {
    #[derive(serde::Serialize)]
    struct WithDigest<'a> {
        #[serde(flatten)]
        plan: &'a Plan,
        digest: String,
    }
    // Serialized straight to text (no intermediate `Value`): 10,000 SealedSecrets make a 10 MB plan.
    serde_json::to_string_pretty(&WithDigest {
        plan,
        digest: plan.digest(),
    })
    .unwrap_or_default()
}

/// The pull request's title.
pub fn title(plan: &Plan, date: &str) -> String {
    if plan.compromised.is_empty() {
        format!("Rotate sealed secrets ({date})")
    } else {
        format!("URGENT: rotate sealed secrets after a key compromise ({date})")
    }
}

fn md(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The pull request's body: what changes and why, what restarts, what a human must still do.
pub fn body(plan: &Plan) -> String {
    let mut out = String::from(
        "Automated rotation by `sealant rotate`. No value appears here or in the diff: only ciphertexts change.\n\n",
    );
    out.push_str(&urgent(plan));
    out.push_str(&key_changes(plan));
    let changes: Vec<&Action> = plan.actions.iter().filter(|a| a.kind != Kind::Report).collect();
    if !changes.is_empty() {
        out.push_str("### Changed\n\n| File | Secret | Item | Action | Reason | Key |\n|---|---|---|---|---|---|\n");
        for a in &changes {
            let _ = writeln!(
                out,
                "| `{}` | {}/{} | `{}` | {} | {} | `{}` → `{}` |",
                md(&a.file.display().to_string()),
                a.namespace,
                a.name,
                md(&a.item),
                kind(a),
                md(&a.reason),
                a.old_key.as_deref().unwrap_or("?"),
                a.new_key.as_deref().unwrap_or("?")
            );
        }
        out.push('\n');
    }
    let mut restarts: Vec<&String> = changes.iter().flat_map(|a| &a.restarts).collect();
    restarts.sort();
    restarts.dedup();
    out.push_str("### Workloads that will restart\n\n");
    if restarts.is_empty() {
        out.push_str(
            "None declared (`sealant.dev/rollout-restart`): restart consumers of the changed Secrets yourself.\n\n",
        );
    } else {
        for r in restarts {
            let _ = writeln!(out, "- {}", md(r));
        }
        out.push('\n');
    }
    let external: Vec<&Action> = plan.actions.iter().filter(|a| a.kind == Kind::Report).collect();
    if !external.is_empty() {
        out.push_str(
            "### A human must rotate these at their source\n\nThey are due but have no generator \
            (`sealant.dev/generate.<item>`): make a new value where it is issued, then `sealant seal --merge-into`.\n\n\
            | File | Secret | Item | Reason |\n|---|---|---|---|\n",
        );
        for a in &external {
            let _ = writeln!(
                out,
                "| `{}` | {}/{} | `{}` | {} |",
                md(&a.file.display().to_string()),
                a.namespace,
                a.name,
                md(&a.item),
                md(&a.reason)
            );
        }
        out.push('\n');
    }
    if !plan.problems.is_empty() {
        out.push_str("### Skipped\n\n");
        for p in &plan.problems {
            let _ = writeln!(
                out,
                "- `{}` document {}: {}",
                md(&p.file.display().to_string()),
                p.document,
                md(&p.message)
            );
        }
        out.push('\n');
    }
    let _ = writeln!(out, "<!-- {PLAN_MARKER} {} -->", plan.digest());
    out
}

/// A compromise first: which keys, and the external values a human must change at their source now (the job
/// can only re-seal them, which does not help against whoever holds the key).
fn urgent(plan: &Plan) -> String {
    let mut out = String::new();
    for fp in &plan.declared_compromised {
        let _ = writeln!(
            out,
            "Key `{fp}` is marked compromised by this pull request (`state.yaml`).\n"
        );
    }
    if plan.compromised.is_empty() {
        return out;
    }
    let keys: Vec<String> = plan.compromised.iter().map(|k| format!("`{k}`")).collect();
    let _ = writeln!(
        out,
        "> [!CAUTION]\n> **Urgent: key compromise.** Items sealed to {} are regenerated or re-sealed here. Merge \
         this now.\n",
        keys.join(", ")
    );
    let external: Vec<&Action> = plan
        .actions
        .iter()
        .filter(|a| a.kind == Kind::Report && a.old_key.as_ref().is_some_and(|k| plan.compromised.contains(k)))
        .collect();
    if !external.is_empty() {
        out.push_str(
            "### Change these values at their source now\n\nWhoever holds the key can read them: re-sealing \
             alone does not help. Make a new value where each is issued, then `sealant seal --merge-into`.\n\n",
        );
        for a in external {
            let _ = writeln!(
                out,
                "- [ ] `{}`: {}/{} item `{}`",
                md(&a.file.display().to_string()),
                a.namespace,
                a.name,
                md(&a.item)
            );
        }
        out.push('\n');
    }
    out
}

/// The key renewals the pull request carries, first: a reviewer must know the target key changed before reading
/// the re-sealed files.
fn key_changes(plan: &Plan) -> String {
    let mut out = String::new();
    if plan.key_changes.is_empty() {
        return out;
    }
    out.push_str(
        "### Key renewal

",
    );
    for k in &plan.key_changes {
        match (&k.current, &k.previous) {
            (Some(new), Some(old)) => {
                let _ = write!(
                    out,
                    "- **{}**: the live controller renewed its key. `{new}` is now current (was `{old}`); what is due is \
                     sealed to it.",
                    k.cluster
                );
            }
            (Some(new), None) => {
                let _ = write!(
                    out,
                    "- **{}**: `{new}` (served by the live controller) is now current.",
                    k.cluster
                );
            }
            (None, _) => {
                let _ = write!(out, "- **{}**: keys the live controller holds are added.", k.cluster);
            }
        }
        let _ = writeln!(
            out,
            " Certificates added: {}; escrowed keys added: {}.",
            k.added.len(),
            k.escrowed.len()
        );
    }
    out.push('\n');
    out
}

/// The commit message, with the plan digest as a trailer.
pub fn commit_message(plan: &Plan, date: &str) -> String {
    let mut files: Vec<String> = plan
        .actions
        .iter()
        .filter(|a| a.kind != Kind::Report)
        .map(|a| a.file.display().to_string())
        .collect();
    files.dedup();
    let renewed: Vec<&str> = plan.key_changes.iter().map(|k| k.cluster.as_str()).collect();
    if !renewed.is_empty() {
        files.push(format!("keys/ of {}", renewed.join(", ")));
    }
    format!(
        "{}\n\n{}\n\nFiles:\n{}\n\n{PLAN_MARKER} {}\n",
        title(plan, date),
        summary(plan),
        files.iter().map(|f| format!("  {f}")).collect::<Vec<_>>().join("\n"),
        plan.digest()
    )
}

/// The plan digest a body or commit message carries: a `Sealant-Plan:` line (or the HTML comment the pull
/// request body ends with) in its **last paragraph** only, where the job writes it. Why not anywhere: text a
/// person adds above (a quoted earlier body, a review comment pasted in) must not be taken for the job's mark.
pub fn digest_in(text: &str) -> Option<&str> {
    let last = text.trim_end().rsplit("\n\n").next()?;
    last.lines().find_map(|line| {
        let line = line.trim();
        let line = line.strip_prefix("<!--").map_or(line, str::trim_start);
        line.strip_prefix(PLAN_MARKER)?.split_whitespace().next()
    })
}
/// Sends the run's progress events to stderr: one JSON object per event (timestamp, level, message, fields) for
/// log collectors, or the message alone for people (it already names the branch, commit or pull request).
pub fn init_logging(json: bool) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .with_writer(std::io::stderr)
        .with_target(false);
    // `try_init`: a second subscriber (tests calling run twice in one process) is not an error.
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        let message_only = tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
            if field.name() == "message" {
                write!(w, "{value:?}")
            } else {
                Ok(())
            }
        });
        builder
            .without_time()
            .with_level(false)
            .with_ansi(false)
            .fmt_fields(message_only)
            .try_init()
    };
}
