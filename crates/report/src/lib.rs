//! `sealant report`: one self-contained HTML page about a GitOps repository — per cluster, each SealedSecret's
//! age against its rotation line (an SVG chart drawn here) and when it falls due, the keys with their state and
//! use, and the lint findings.
//!
//! Self-contained: no script, no external style sheet, font, image or link to fetch, so the page opens offline
//! and from a CI artifact, and reveals nothing by loading. Every text from the repository goes through `maud`'s
//! escaping.

use std::collections::BTreeMap;

use maud::{DOCTYPE, Markup, PreEscaped, html};
use sealant_lint::{Finding, Severity};
use sealant_repo::usage::KeySummary;
use sealant_rotate::plan::Standing;
use time::OffsetDateTime;

/// Everything the page shows.
pub struct Input<'a> {
    /// The repository's name, for the title.
    pub title: &'a str,
    /// The time the ages are counted to.
    pub now: OffsetDateTime,
    /// Every SealedSecret's standing.
    pub standings: &'a [Standing],
    /// Every certificate under `keys/`.
    pub keys: &'a [KeySummary],
    /// The lint findings.
    pub findings: &'a [Finding],
    /// How many days before its period ends a SealedSecret counts as due soon.
    pub due_soon_days: i64,
}

/// Where a SealedSecret is against its period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// At or past its period.
    Overdue,
    /// Within the due-soon window.
    DueSoon,
    /// Well within its period.
    Fresh,
    /// Its age is unknown (no annotation, no history) or its annotations are invalid.
    Unknown,
}

impl Status {
    /// Of one standing at `due_soon_days`.
    pub fn of(s: &Standing, due_soon_days: i64) -> Self {
        match s.age_days {
            _ if s.problem.is_some() => Status::Unknown,
            None => Status::Unknown,
            Some(age) if age >= s.period_days => Status::Overdue,
            Some(age) if s.period_days - age <= due_soon_days => Status::DueSoon,
            Some(_) => Status::Fresh,
        }
    }

    fn class(self) -> &'static str {
        match self {
            Status::Overdue => "overdue",
            Status::DueSoon => "due-soon",
            Status::Fresh => "fresh",
            Status::Unknown => "unknown",
        }
    }
}

/// The chart's geometry, in SVG user units (pixels).
const LABEL_WIDTH: f64 = 300.0;
const PLOT_WIDTH: f64 = 560.0;
const ROW_HEIGHT: f64 = 22.0;
const BAR_HEIGHT: f64 = 14.0;
const AXIS_HEIGHT: f64 = 28.0;

/// The page.
pub fn render(input: &Input<'_>) -> String {
    let statuses: Vec<Status> = input
        .standings
        .iter()
        .map(|s| Status::of(s, input.due_soon_days))
        .collect();
    let count = |want: Status| statuses.iter().filter(|s| **s == want).count();
    let errors = input.findings.iter().filter(|f| f.severity == Severity::Error).count();
    // By cluster (unknown last), oldest first within each.
    let mut clusters: BTreeMap<(bool, String), Vec<&Standing>> = BTreeMap::new();
    for s in input.standings {
        let key = match &s.cluster {
            Some(c) => (false, c.clone()),
            None => (true, "no cluster".to_string()),
        };
        clusters.entry(key).or_default().push(s);
    }
    for list in clusters.values_mut() {
        list.sort_by_key(|s| (std::cmp::Reverse(s.age_days), s.namespace.clone(), s.name.clone()));
    }
    let now = input.now.date();
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // Why a CSP: the page is meant to load nothing; the browser enforces it even if a future change
                // forgets.
                meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:";
                title { "sealant report: " (input.title) }
                style { (PreEscaped(CSS)) }
            }
            body {
                header {
                    h1 { "Sealed secrets in " span.repo { (input.title) } }
                    p.when { "As of " time datetime=(now.to_string()) { (now) } ", against each secret's rotation period (" (input.due_soon_days) " days' warning)." }
                }
                section.summary aria-label="Summary" {
                    (tile("SealedSecrets", input.standings.len(), "total"))
                    (tile("overdue", count(Status::Overdue), "overdue"))
                    (tile("due soon", count(Status::DueSoon), "due-soon"))
                    (tile("age unknown", count(Status::Unknown), "unknown"))
                    (tile("keys", input.keys.len(), "keys"))
                    (tile("lint errors", errors, if errors > 0 { "overdue" } else { "total" }))
                }
                @for ((_, name), list) in &clusters {
                    section.cluster data-cluster=(name) {
                        h2 { "Cluster " (name) }
                        (chart(name, list, input.due_soon_days))
                        (table(list, input.due_soon_days))
                        (keys_table(input.keys.iter().filter(|k| &k.cluster == name)))
                    }
                }
                @if clusters.is_empty() {
                    p.empty { "No SealedSecret found." }
                }
                @let orphans: Vec<&KeySummary> = input.keys.iter().filter(|k| !clusters.contains_key(&(false, k.cluster.clone()))).collect();
                @if !orphans.is_empty() {
                    section.cluster {
                        h2 { "Keys of clusters with no SealedSecret" }
                        (keys_table(orphans.into_iter()))
                    }
                }
                section.findings {
                    h2 { "Lint findings (" (input.findings.len()) ")" }
                    @if input.findings.is_empty() {
                        p.empty { "None." }
                    } @else {
                        table {
                            thead { tr { th { "severity" } th { "rule" } th { "where" } th { "what" } } }
                            tbody {
                                @for f in input.findings {
                                    tr class=(f.severity.as_str()) {
                                        td { (f.severity.as_str()) }
                                        td { code { (f.rule) } }
                                        td { code { (f.path) ":" (f.line) } }
                                        td { (f.message) }
                                    }
                                }
                            }
                        }
                    }
                }
                footer { "Written by sealant report. Ages come from sealant.dev/sealed-at (or git history); the line is each secret's period (sealant.dev/rotate-every, or the repository's policy)." }
            }
        }
    };
    page.into_string()
}

fn tile(label: &str, value: usize, class: &str) -> Markup {
    html! {
        div class={ "tile " (class) } {
            span.value { (value) }
            span.label { (label) }
        }
    }
}

/// Horizontal bars: each SealedSecret's age, on one day scale for the cluster, with its period's line.
fn chart(cluster: &str, list: &[&Standing], due_soon_days: i64) -> Markup {
    let longest = list
        .iter()
        .map(|s| s.age_days.unwrap_or(0).max(s.period_days))
        .max()
        .unwrap_or(90)
        .max(1);
    // A round scale a little past the longest bar or line.
    let scale_days = ((longest as f64 * 1.1 / 30.0).ceil() * 30.0).max(30.0);
    let per_day = PLOT_WIDTH / scale_days;
    let height = AXIS_HEIGHT + ROW_HEIGHT * list.len() as f64 + 8.0;
    let width = LABEL_WIDTH + PLOT_WIDTH + 20.0;
    let ticks: Vec<i64> = (0..=(scale_days as i64)).step_by(30).collect();
    html! {
        svg.chart role="img" width=(width) height=(height) viewBox={ "0 0 " (width) " " (height) }
            data-cluster=(cluster) data-px-per-day=(per_day) data-label-width=(LABEL_WIDTH) {
            title { "Age of each SealedSecret of cluster " (cluster) " against its rotation period" }
            @for t in &ticks {
                line.tick x1=(LABEL_WIDTH + *t as f64 * per_day) x2=(LABEL_WIDTH + *t as f64 * per_day) y1=(AXIS_HEIGHT - 4.0) y2=(height) {}
                text.axis x=(LABEL_WIDTH + *t as f64 * per_day) y=(AXIS_HEIGHT - 10.0) text-anchor="middle" { (t) "d" }
            }
            @for (i, s) in list.iter().enumerate() {
                @let y = AXIS_HEIGHT + ROW_HEIGHT * i as f64;
                @let status = Status::of(s, due_soon_days);
                @let age = s.age_days.unwrap_or(0).max(0);
                g.row data-namespace=(s.namespace) data-name=(s.name) {
                    text.label x=(LABEL_WIDTH - 8.0) y=(y + BAR_HEIGHT - 2.0) text-anchor="end" { (s.namespace) "/" (s.name) }
                    rect class={ "bar " (status.class()) } x=(LABEL_WIDTH) y=(y) height=(BAR_HEIGHT) width=(age as f64 * per_day)
                        data-age=[s.age_days] data-period=(s.period_days) data-status=(status.class()) {
                        title { (s.namespace) "/" (s.name) ": " (age_text(s)) }
                    }
                    // The rotation line of this SealedSecret's period.
                    line.period x1=(LABEL_WIDTH + s.period_days as f64 * per_day) x2=(LABEL_WIDTH + s.period_days as f64 * per_day)
                        y1=(y - 3.0) y2=(y + BAR_HEIGHT + 3.0) data-period=(s.period_days) {}
                }
            }
        }
    }
}

fn age_text(s: &Standing) -> String {
    match (s.age_days, &s.problem) {
        (_, Some(_)) => "cannot be placed".to_string(),
        (None, None) => "age unknown".to_string(),
        (Some(age), None) => format!("{age} days old, period {} days", s.period_days),
    }
}

fn due_text(s: &Standing) -> String {
    match s.age_days {
        _ if s.problem.is_some() => "unknown".to_string(),
        None => "unknown".to_string(),
        Some(age) if age >= s.period_days => format!("overdue by {} days", age - s.period_days),
        Some(age) if age + 1 == s.period_days => "tomorrow".to_string(),
        Some(age) => format!("in {} days", s.period_days - age),
    }
}

fn table(list: &[&Standing], due_soon_days: i64) -> Markup {
    html! {
        table.secrets {
            thead { tr { th { "SealedSecret" } th { "file" } th.num { "age" } th.num { "period" } th { "due" } th.num { "items" } th { "key" } } }
            tbody {
                @for s in list {
                    tr class=(Status::of(s, due_soon_days).class()) {
                        td { (s.namespace) "/" (s.name) }
                        td { code { (s.file.display()) } }
                        td.num { @if let Some(a) = s.age_days { (a) "d" } @else { "?" } }
                        td.num { (s.period_days) "d" }
                        td { (due_text(s)) @if let Some(p) = &s.problem { br; small { (p) } } }
                        td.num { (s.items) @if s.generated > 0 { " (" (s.generated) " generated)" } }
                        td { @if let Some(k) = &s.key { code title=(k) { (short(k)) } } @else { "?" }
                             @if let Some(state) = s.key_state { " " span.state { (format!("{state:?}").to_lowercase()) } } }
                    }
                }
            }
        }
    }
}

fn keys_table<'a>(keys: impl Iterator<Item = &'a KeySummary>) -> Markup {
    let keys: Vec<&KeySummary> = keys.collect();
    html! {
        @if !keys.is_empty() {
            table.keys {
                thead { tr { th { "key" } th { "state" } th { "created" } th.num { "age" } th { "escrowed" } th.num { "SealedSecrets" } } }
                tbody {
                    @for k in &keys {
                        tr class=(k.state) {
                            td { code title=(k.fingerprint) { (short(&k.fingerprint)) } }
                            td { (k.state) @if let Some(since) = &k.since { " since " (since) } }
                            td { (k.created) }
                            td.num { (k.age_days) "d" }
                            td { @if k.escrowed { "yes" } @else { "no" } }
                            td.num { (k.sealed_secrets) }
                        }
                    }
                }
            }
        }
    }
}

/// `SHA256:abcdefghijkl…`: enough to tell keys apart on screen (the title holds the whole fingerprint).
fn short(fingerprint: &str) -> String {
    let cut: String = fingerprint.chars().take(19).collect();
    if cut.len() < fingerprint.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

const CSS: &str = r#"
:root { --ok: #2e7d32; --soon: #ef8f00; --late: #c62828; --unknown: #9e9e9e; --ink: #1f2328; --muted: #59636e; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); margin: 0 auto; max-width: 1000px; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; }
.when, footer { color: var(--muted); } footer { margin-top: 32px; font-size: 12px; }
.summary { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.tile { border: 1px solid #d0d7de; border-radius: 8px; padding: 10px 16px; min-width: 120px; }
.tile .value { display: block; font-size: 26px; font-weight: 600; } .tile .label { color: var(--muted); }
.tile.overdue .value { color: var(--late); } .tile.due-soon .value { color: var(--soon); }
.tile.unknown .value { color: var(--unknown); }
svg.chart { display: block; max-width: 100%; height: auto; margin: 8px 0 12px; }
svg .bar.fresh { fill: var(--ok); } svg .bar.due-soon { fill: var(--soon); } svg .bar.overdue { fill: var(--late); }
svg .bar.unknown { fill: var(--unknown); }
svg .period { stroke: var(--ink); stroke-width: 2; } svg .tick { stroke: #eaeef2; }
svg text { font-size: 12px; fill: var(--ink); } svg .axis { fill: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: 8px 0; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eaeef2; vertical-align: top; }
th { color: var(--muted); font-weight: 600; } .num { text-align: right; }
tr.overdue td:first-child { border-left: 4px solid var(--late); } tr.due-soon td:first-child { border-left: 4px solid var(--soon); }
tr.fresh td:first-child { border-left: 4px solid var(--ok); } tr.unknown td:first-child { border-left: 4px solid var(--unknown); }
tr.error td:first-child { color: var(--late); font-weight: 600; } tr.compromised td, tr.retired td { color: var(--muted); }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; } .empty { color: var(--muted); }
.state { color: var(--muted); font-size: 12px; }
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn standing(name: &str, age: Option<i64>, period: i64) -> Standing {
        Standing {
            file: format!("apps/{name}.yaml").into(),
            document: "1".into(),
            namespace: "apps".into(),
            name: name.into(),
            cluster: Some("prod".into()),
            key: Some("SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG".into()),
            key_state: None,
            age_days: age,
            period_days: period,
            items: 2,
            generated: 1,
            problem: None,
        }
    }

    fn page(standings: &[Standing]) -> String {
        render(&Input {
            title: "gitops",
            now: OffsetDateTime::UNIX_EPOCH,
            standings,
            keys: &[],
            findings: &[],
            due_soon_days: 14,
        })
    }

    #[test]
    fn statuses_follow_the_period_and_the_warning_window() {
        let due = |age, period| Status::of(&standing("x", age, period), 14);
        assert_eq!(due(Some(90), 90), Status::Overdue);
        assert_eq!(due(Some(76), 90), Status::DueSoon);
        assert_eq!(due(Some(75), 90), Status::Fresh);
        assert_eq!(due(Some(20), 30), Status::DueSoon);
        assert_eq!(due(None, 90), Status::Unknown);
    }

    #[test]
    fn each_bar_is_as_long_as_its_age_on_the_charts_scale() {
        let html = page(&[standing("db", Some(100), 90), standing("api", Some(45), 90)]);
        let per_day: f64 = attr(&html, "data-px-per-day").parse().unwrap();
        assert!(
            html.contains(&format!("width=\"{}\" data-age=\"100\"", 100.0 * per_day)),
            "{html}"
        );
        assert!(
            html.contains(&format!("width=\"{}\" data-age=\"45\"", 45.0 * per_day)),
            "{html}"
        );
        assert!(html.contains("class=\"bar overdue\""));
        assert!(html.contains("class=\"bar fresh\""));
    }

    #[test]
    fn repository_text_is_escaped_and_the_page_loads_nothing() {
        let mut s = standing("x", Some(1), 90);
        s.name = "<script>alert(1)</script>".into();
        s.file = "a\"><img src=http://evil.example/x>.yaml".into();
        let html = page(&[s]);
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("&lt;img src=http://evil.example/x&gt;"));
    }

    fn attr<'a>(html: &'a str, name: &str) -> &'a str {
        let at = html.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        &html[at..at + html[at..].find('"').unwrap()]
    }
}
