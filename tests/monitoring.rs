//! The chart's alerting rules and Grafana dashboard against real tools and a real controller: promtool (built
//! from Go modules) checks the PrometheusRule and runs it on series scraped from a controller holding overdue,
//! due-soon and fresh SealedSecrets, every metric the rules and dashboard name is one the controller exports,
//! and every dashboard query parses and every panel is complete.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use sealant_testenv::cluster::{self, *};
use serde_json::{Value, json};

/// How Grafana's interval variables are read here: what a 1-minute scrape makes of them.
const GRAFANA_INTERVALS: [(&str, &str); 3] = [("$__rate_interval", "5m"), ("$__interval", "1m"), ("$__range", "1h")];

fn promtool() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| sealant_testenv::cached_tool("promtool.sh").join("promtool"))
}

/// Runs promtool in `dir`: whether it succeeded, and everything it printed.
fn run_promtool(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(promtool()).args(args).current_dir(dir).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn repo_file(path: &str) -> String {
    let full = sealant_testenv::repo_root().join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// The rule groups of the PrometheusRule as `make generate` renders it with the chart's defaults.
fn rule_groups() -> Value {
    let rule = yaml_docs(&repo_file("manifests/monitoring/prometheusrule.yaml"))
        .into_iter()
        .find(|d| d["kind"] == "PrometheusRule")
        .expect("no PrometheusRule in manifests/monitoring/prometheusrule.yaml");
    assert!(rule["spec"]["groups"].is_array(), "{rule}");
    rule["spec"].clone()
}

fn rules(groups: &Value) -> impl Iterator<Item = &Value> {
    groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
}

/// The alert rule named `name`.
fn alert<'a>(groups: &'a Value, name: &str) -> &'a Value {
    rules(groups)
        .find(|r| r["alert"] == name)
        .unwrap_or_else(|| panic!("no alert rule {name}"))
}

/// Writes a rules file (a plain Prometheus one: `groups:`; JSON is YAML) into `dir`.
fn write_rules(dir: &Path, name: &str, groups: &Value) {
    std::fs::write(dir.join(name), serde_json::to_string_pretty(groups).unwrap()).unwrap();
}

fn dashboard() -> Value {
    serde_json::from_str(&repo_file("charts/sealant/files/dashboard.json")).expect("dashboard.json is not JSON")
}

/// Every panel of the dashboard, those inside collapsed rows included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().expect("a dashboard without panels") {
        out.push(panel);
        out.extend(panel["panels"].as_array().into_iter().flatten());
    }
    out.into_iter().filter(|p| p["type"] != "row").collect()
}

/// A target's query as Prometheus receives it: Grafana's interval variables replaced.
fn prometheus_query(expr: &str) -> String {
    GRAFANA_INTERVALS
        .iter()
        .fold(expr.to_string(), |e, (var, value)| e.replace(var, value))
}

/// The query of every target of every panel: (panel id, refId, legendFormat, PromQL).
fn dashboard_queries(dashboard: &Value) -> Vec<(i64, String, String, String)> {
    panels(dashboard)
        .into_iter()
        .flat_map(|p| {
            p["targets"].as_array().into_iter().flatten().map(move |t| {
                (
                    p["id"].as_i64().unwrap_or_default(),
                    t["refId"].as_str().unwrap_or_default().to_string(),
                    t["legendFormat"].as_str().unwrap_or_default().to_string(),
                    prometheus_query(t["expr"].as_str().unwrap_or_default()),
                )
            })
        })
        .collect()
}

/// The metric names an expression uses: identifiers starting `sealant_` or `sealed_secrets_`, with the label
/// matchers written right after each (`name{label="value"}`).
fn metrics_in(expr: &str) -> Vec<(String, Vec<(String, String)>)> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut out = Vec::new();
    let mut rest = expr;
    let mut previous = None;
    while let Some(c) = rest.chars().next() {
        let starts = (rest.starts_with("sealant_") || rest.starts_with("sealed_secrets_"))
            && !previous.is_some_and(|p: char| is_ident(p) || p == '"' || p == '$');
        if !starts {
            previous = Some(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let end = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
        let name = rest[..end].to_string();
        rest = &rest[end..];
        let mut matchers = Vec::new();
        if let Some(inner) = rest.strip_prefix('{') {
            let (labels, _) = parse_labels(inner);
            matchers = labels;
        }
        previous = name.chars().last();
        out.push((name, matchers));
    }
    out
}

/// Parses `a="x",b="y"}…` (a Prometheus label set after its `{`): the `=` pairs (other matchers are skipped),
/// and what follows the `}`.
fn parse_labels(text: &str) -> (Vec<(String, String)>, &str) {
    let mut labels = Vec::new();
    let mut rest = text.trim_start();
    loop {
        rest = rest.trim_start_matches([',', ' ']);
        if let Some(after) = rest.strip_prefix('}') {
            return (labels, after);
        }
        let op_at = rest.find(['=', '!']).unwrap_or_else(|| panic!("bad label set: {text}"));
        let name = rest[..op_at].trim().to_string();
        let op_end = rest[op_at..]
            .find('"')
            .map(|i| op_at + i)
            .expect("label value unquoted");
        let op = rest[op_at..op_end].trim();
        let mut value = String::new();
        let mut chars = rest[op_end + 1..].char_indices();
        let mut close = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, other)) => value.push(other),
                    None => break,
                },
                '"' => {
                    close = Some(op_end + 1 + i);
                    break;
                }
                other => value.push(other),
            }
        }
        let close = close.unwrap_or_else(|| panic!("unterminated label value: {text}"));
        if op == "=" {
            labels.push((name, value));
        }
        rest = &rest[close + 1..];
    }
}

/// One sample of the text exposition.
#[derive(Clone, Debug)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

/// The samples of an OpenMetrics (or Prometheus text) exposition; `#` lines (HELP, TYPE, EOF) skipped.
fn samples(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|line| {
            let name_end = line.find(['{', ' ']).unwrap_or_else(|| panic!("bad sample: {line}"));
            let name = line[..name_end].to_string();
            let (labels, rest) = match line[name_end..].strip_prefix('{') {
                Some(inner) => parse_labels(inner),
                None => (Vec::new(), &line[name_end..]),
            };
            let value = rest.split_whitespace().next().unwrap_or_default();
            let value = value
                .parse()
                .unwrap_or_else(|_| panic!("bad sample value {value:?}: {line}"));
            Sample { name, labels, value }
        })
        .collect()
}

/// The sum of the samples of `name` whose labels include `with`.
fn sum(samples: &[Sample], name: &str, with: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| with.iter().all(|(k, v)| s.labels.iter().any(|(l, w)| l == k && w == v)))
        .map(|s| s.value)
        .sum::<f64>()
        + 0.0
}

/// A series selector for promtool's `input_series`.
fn selector(name: &str, labels: &[(String, String)]) -> String {
    let escape = |v: &str| v.replace('\\', r"\\").replace('"', r#"\""#).replace('\n', r"\n");
    let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
    format!("{name}{{{}}}", labels.join(","))
}

/// What the tests learn from one real controller.
struct Scrapes {
    /// `/metrics` with the three aged SealedSecrets and one that fails to unseal.
    healthy: String,
    /// `/metrics` after its audit log became unwritable.
    audit_failing: String,
    /// The labels Prometheus adds to every series it scrapes from this controller.
    target: Vec<(String, String)>,
    /// The namespace of the SealedSecrets (not the controller's).
    apps: String,
}

/// One controller, shared by the tests that need a scrape (starting it is the slow part): it holds SealedSecrets
/// sealed 95 days ago (overdue), 85 days ago (due within 14 days) and 10 days ago, plus one that cannot be
/// unsealed; it is scraped, then its audit log is broken and it is scraped again. It is stopped before the tests
/// read what it served.
fn scrapes() -> &'static Scrapes {
    static SCRAPES: OnceLock<Scrapes> = OnceLock::new();
    SCRAPES.get_or_init(|| {
        let ns = Namespace::new("monitoring");
        let apps = ns.other("monitoring-apps");
        let audit = ns.dir.path().join("ctl.audit.jsonl");
        let c = Controller::start(&ns, "ctl-0", &[&apps], &["--audit-log", audit.to_str().unwrap()]);
        let admin = cluster::plane().admin();
        let cert = format!("{}/v1/cert.pem", c.api);
        let now = time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let aged = [("overdue", 95), ("due-soon", 85), ("fresh", 10)];
        for (name, days) in aged {
            let mut sealed = seal(&cert, &secret(&apps, name, &[("password", "m0nitored-value")]), &[]);
            // Outside the ciphertext: the controller reads the age from it, and still unseals.
            let at = (now - time::Duration::days(days))
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap();
            sealed["metadata"]["annotations"]["sealant.dev/sealed-at"] = json!(at);
            create(admin, &sealed);
        }
        // Sealed to no key at all: the controller counts an unseal error, labelled with this namespace.
        create(
            admin,
            &json!({"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
                    "metadata": {"name": "garbled", "namespace": apps},
                    "spec": {"encryptedData": {"password": "***not base64***"}}}),
        );
        for (name, _) in aged {
            wait_secret(&apps, name, |s| item(s, "password") == "m0nitored-value");
        }
        wait_for("garbled Synced=False", Duration::from_secs(60), || {
            synced(&apps, "garbled").filter(|c| c["status"] == "False")
        });
        let scrape = || http_get(&format!("{}/metrics", c.metrics)).unwrap().1;
        // The age inventory is the leader's, refreshed from its watch cache: wait until it has all four.
        let healthy = wait_for(
            "the age inventory and the unseal error",
            Duration::from_secs(60),
            || {
                let text = scrape();
                let s = samples(&text);
                (sum(&s, "sealant_sealed_secrets_overdue", &[]) >= 1.0
                    && sum(&s, "sealant_sealed_secrets", &[]) == 4.0
                    && sum(&s, "sealed_secrets_controller_unseal_errors_total", &[]) >= 1.0)
                    .then_some(text)
            },
        );

        // The audit file becomes a directory: no process can append to it. The next unseal is audited, fails to
        // write, and (fail-open, the default) goes on.
        std::fs::remove_file(&audit).unwrap();
        std::fs::create_dir(&audit).unwrap();
        create(
            admin,
            &seal(
                &cert,
                &secret(&apps, "unaudited", &[("password", "unaudited-value")]),
                &[],
            ),
        );
        wait_secret(&apps, "unaudited", |s| item(s, "password") == "unaudited-value");
        let audit_failing = wait_for("sealant_audit_sink_failing 1", Duration::from_secs(30), || {
            let text = scrape();
            (sum(&samples(&text), "sealant_audit_sink_failing", &[]) == 1.0).then_some(text)
        });

        // As Prometheus Operator labels what it scrapes through the chart's ServiceMonitor: job and service are
        // the metrics Service, plus its namespace, the pod, container, port name and address.
        let controller_yaml = repo_file("manifests/controller.yaml");
        let service = yaml_docs(&controller_yaml)
            .into_iter()
            .find(|d| d["kind"] == "Service" && d["metadata"]["labels"]["app.kubernetes.io/component"] == "metrics")
            .expect("no metrics Service in manifests/controller.yaml");
        let service = service["metadata"]["name"].as_str().unwrap().to_string();
        let target = [
            ("container", "controller".to_string()),
            ("endpoint", "metrics".to_string()),
            ("instance", c.metrics.trim_start_matches("http://").to_string()),
            ("job", service.clone()),
            ("namespace", ns.name.clone()),
            ("pod", c.identity.clone()),
            ("service", service),
        ]
        .map(|(k, v)| (k.to_string(), v))
        .to_vec();
        drop(c);
        Scrapes {
            healthy,
            audit_failing,
            target,
            apps,
        }
    })
}

/// The series Prometheus stores from a scrape, labelled with the target's labels; a scraped label that collides
/// with one becomes `exported_<label>` (the ServiceMonitor does not set honorLabels).
fn stored(text: &str, target: &[(String, String)]) -> Vec<Sample> {
    samples(text)
        .into_iter()
        .map(|s| {
            let mut labels: BTreeMap<String, String> = s
                .labels
                .into_iter()
                .map(|(k, v)| {
                    if target.iter().any(|(t, _)| *t == k) {
                        (format!("exported_{k}"), v)
                    } else {
                        (k, v)
                    }
                })
                .collect();
            labels.extend(target.iter().cloned());
            Sample {
                labels: labels.into_iter().collect(),
                ..s
            }
        })
        .collect()
}

/// promtool's `input_series`: each series holding its value for two hours at one sample a minute, or growing
/// by `step` a minute.
fn input_series(series: &[Sample], step: impl Fn(&str) -> f64) -> Vec<Value> {
    series
        .iter()
        .map(
            |s| json!({"series": selector(&s.name, &s.labels), "values": format!("{}+{}x120", s.value, step(&s.name))}),
        )
        .collect()
}

/// An expectation that the alert fires once, with the rule's annotations (`summary` as rendered) and `labels`.
fn fires(groups: &Value, name: &str, labels: &[(&str, &str)], summary: &str) -> Value {
    let rule = alert(groups, name);
    let mut exp_labels: BTreeMap<String, String> = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    exp_labels.insert("severity".into(), rule["labels"]["severity"].as_str().unwrap().into());
    let mut annotations = rule["annotations"].clone();
    annotations["summary"] = json!(summary);
    json!({"eval_time": "90m", "alertname": name,
           "exp_alerts": [{"exp_labels": exp_labels, "exp_annotations": annotations}]})
}

fn silent(name: &str) -> Value {
    json!({"eval_time": "90m", "alertname": name, "exp_alerts": []})
}

#[test]
fn the_alert_rules_pass_promtool_check_and_fire_on_series_scraped_from_a_real_controller() {
    let groups = rule_groups();
    let dir = tempfile::tempdir().unwrap();
    write_rules(dir.path(), "rules.yaml", &groups);
    let (ok, out) = run_promtool(dir.path(), &["check", "rules", "--lint-fatal", "rules.yaml"]);
    assert!(ok, "promtool check rules:\n{out}");
    let count = rules(&groups).count();
    assert!(out.contains(&format!("SUCCESS: {count} rules found")), "{out}");

    let scrapes = scrapes();
    let target = &scrapes.target;
    let healthy = stored(&scrapes.healthy, target);
    // Prometheus's own series for every target: 1 while scrapes succeed.
    let up = |value: f64| Sample {
        name: "up".into(),
        labels: target.clone(),
        value,
    };
    let constant = |_: &str| 0.0;
    let ours = |name: &str| name.starts_with("sealant_") || name.starts_with("sealed_secrets_");
    let alerts: Vec<String> = rules(&groups)
        .filter_map(|r| r["alert"].as_str().map(String::from))
        .collect();
    let scraped = samples(&scrapes.healthy);
    let errors = scraped
        .iter()
        .find(|s| s.name == "sealed_secrets_controller_unseal_errors_total" && s.value > 0.0)
        .unwrap();
    let reason = errors.labels.iter().find(|(k, _)| k == "reason").unwrap().1.clone();
    let apps = scrapes.apps.as_str();

    // 1. As scraped: one SealedSecret overdue, one due within 14 days; nothing else is wrong.
    let firing = [
        fires(
            &groups,
            "SealantSecretsOverdue",
            &[],
            "1 SealedSecret(s) are older than their rotation period",
        ),
        fires(
            &groups,
            "SealantSecretsDueSoon",
            &[],
            "1 SealedSecret(s) fall due for rotation within 14 days",
        ),
    ];
    let mut as_scraped: Vec<Value> = firing.to_vec();
    // Every other alert stays silent on a healthy controller.
    as_scraped.extend(
        alerts
            .iter()
            .filter(|a| !firing.iter().any(|f| f["alertname"] == **a))
            .map(|a| silent(a)),
    );
    let mut series = healthy.clone();
    series.push(up(1.0));

    // 2. Nothing scraped any more (the target down, or gone): only `up` remains.
    let nothing: Vec<_> = healthy
        .iter()
        .filter(|s| !ours(&s.name))
        .cloned()
        .chain([up(0.0)])
        .collect();
    let absent = alert(&groups, "SealantControllerAbsent");

    // 3. The second scrape, after the audit file became unwritable.
    let mut audit_failing = stored(&scrapes.audit_failing, target);
    audit_failing.push(up(1.0));

    // 4. The SealedSecret that cannot be unsealed, retried once a minute: the alert (and the dashboard's series)
    // name its namespace, not the controller's.
    let retried = |name: &str| match name {
        "sealed_secrets_controller_unseal_errors_total" => 1.0,
        _ => 0.0,
    };
    let per_namespace: Vec<Value> = dashboard_queries(&dashboard())
        .into_iter()
        .filter(|(_, _, legend, _)| legend.contains("{{namespace}}"))
        .map(|(_, _, _, expr)| {
            json!({"expr": format!("count by (namespace) ({expr})"), "eval_time": "90m",
                   "exp_samples": [{"labels": format!("{{namespace=\"{apps}\"}}"), "value": 1}]})
        })
        .collect();
    assert!(
        !per_namespace.is_empty(),
        "no dashboard series is labelled by namespace"
    );

    // 5. No replica holds the lease.
    let followers: Vec<_> = healthy
        .iter()
        .map(|s| match s.name.as_str() {
            "sealant_leader" => Sample {
                value: 0.0,
                ..s.clone()
            },
            _ => s.clone(),
        })
        .chain([up(1.0)])
        .collect();

    let tests = json!({
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [
            {"name": "as scraped from a controller with overdue and due-soon SealedSecrets", "interval": "1m",
             "input_series": input_series(&series, constant), "alert_rule_test": as_scraped},
            {"name": "no sealant series at all", "interval": "1m",
             "input_series": input_series(&nothing, constant),
             "alert_rule_test": [
                {"eval_time": "90m", "alertname": "SealantControllerAbsent",
                 "exp_alerts": [{"exp_labels": {"severity": absent["labels"]["severity"]},
                                 "exp_annotations": absent["annotations"]}]},
                silent("SealantNoLeader"),
                silent("SealantSecretsOverdue")]},
            {"name": "the audit sink failing", "interval": "1m",
             "input_series": input_series(&audit_failing, constant),
             "alert_rule_test": [
                fires(&groups, "SealantAuditSinkFailing", &[], "The sealant controller cannot write its audit log"),
                silent("SealantControllerAbsent")]},
            {"name": "unseal errors growing", "interval": "1m",
             "input_series": input_series(&series, retried),
             "alert_rule_test": [fires(
                &groups,
                "SealantUnsealErrors",
                &[("namespace", apps), ("reason", &reason)],
                &format!("SealedSecrets in {apps} fail to unseal ({reason})"))],
             "promql_expr_test": per_namespace},
            {"name": "no leader", "interval": "1m",
             "input_series": input_series(&followers, constant),
             "alert_rule_test": [fires(
                &groups, "SealantNoLeader", &[], "No sealant controller replica holds the leader lease")]},
        ]
    });
    std::fs::write(
        dir.path().join("tests.yaml"),
        serde_json::to_string_pretty(&tests).unwrap(),
    )
    .unwrap();
    let (ok, out) = run_promtool(dir.path(), &["test", "rules", "tests.yaml"]);
    assert!(ok, "promtool test rules:\n{out}");
    assert!(out.contains("SUCCESS"), "{out}");
}

#[test]
fn every_metric_the_rules_and_the_dashboard_use_is_exported_by_the_controller() {
    let groups = rule_groups();
    let mut exprs: Vec<(String, String)> = rules(&groups)
        .map(|r| {
            let name = r["alert"].as_str().or(r["record"].as_str()).unwrap_or_default();
            (format!("rule {name}"), r["expr"].as_str().unwrap().to_string())
        })
        .collect();
    exprs.extend(
        dashboard_queries(&dashboard())
            .into_iter()
            .map(|(id, ref_id, _, expr)| (format!("panel {id} target {ref_id}"), expr)),
    );
    let scraped = samples(&scrapes().audit_failing);
    let exported: BTreeSet<&str> = scraped.iter().map(|s| s.name.as_str()).collect();
    let mut used = 0;
    let mut missing = Vec::new();
    for (whose, expr) in &exprs {
        for (name, matchers) in metrics_in(expr) {
            used += 1;
            if !exported.contains(name.as_str()) {
                missing.push(format!("{whose}: {name} is not exported"));
                continue;
            }
            // A selector on a label value the controller never writes (a renamed bucket, a wrong label) matches
            // nothing, and its alert or panel stays silent for ever.
            let matches = scraped.iter().any(|s| {
                s.name == name
                    && matchers
                        .iter()
                        .all(|(k, v)| s.labels.iter().any(|(l, w)| l == k && w == v))
            });
            if !matches {
                missing.push(format!("{whose}: no {name} series has {matchers:?}"));
            }
        }
    }
    assert!(
        used >= exprs.len(),
        "some expression names no sealant metric: {exprs:#?}"
    );
    assert!(missing.is_empty(), "{}\nexported: {exported:#?}", missing.join("\n"));
}

#[test]
fn every_dashboard_query_parses_and_every_panel_is_complete() {
    let dashboard = dashboard();
    // Panels pick the Prometheus data source through the dashboard's variable, so an import asks for one.
    let variables: Vec<&Value> = dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let datasource_vars: BTreeSet<String> = variables
        .iter()
        .filter(|v| v["type"] == "datasource" && v["query"] == "prometheus")
        .map(|v| format!("${{{}}}", v["name"].as_str().unwrap()))
        .collect();
    assert!(!datasource_vars.is_empty(), "no Prometheus data source variable");
    let panels = panels(&dashboard);
    assert!(!panels.is_empty());
    let mut ids = BTreeSet::new();
    let mut placed: Vec<(i64, i64, i64, i64, i64)> = Vec::new();
    for panel in &panels {
        let id = panel["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("a panel without an id: {panel}"));
        assert!(ids.insert(id), "panel id {id} is used twice");
        let title = panel["title"].as_str().unwrap_or_default();
        assert!(!title.is_empty(), "panel {id} has no title");
        let grid = &panel["gridPos"];
        let [x, y, w, h] = ["x", "y", "w", "h"].map(|k| {
            grid[k]
                .as_i64()
                .unwrap_or_else(|| panic!("panel {id} gridPos has no {k}: {grid}"))
        });
        assert!(
            w > 0 && h > 0 && x >= 0 && y >= 0 && x + w <= 24,
            "panel {id}: gridPos {grid}"
        );
        // Overlapping panels are moved by Grafana, not drawn where the author put them.
        for (other, ox, oy, ow, oh) in &placed {
            let overlap = x < ox + ow && *ox < x + w && y < oy + oh && *oy < y + h;
            assert!(!overlap, "panels {id} and {other} overlap");
        }
        placed.push((id, x, y, w, h));
        let uses_prometheus = |ds: &Value| {
            ds["type"] == "prometheus" && ds["uid"].as_str().is_some_and(|uid| datasource_vars.contains(uid))
        };
        assert!(
            uses_prometheus(&panel["datasource"]),
            "panel {id}: datasource {}",
            panel["datasource"]
        );
        let targets = panel["targets"].as_array().map(Vec::as_slice).unwrap_or_default();
        assert!(!targets.is_empty(), "panel {id} ({title}) has no target");
        let mut ref_ids = BTreeSet::new();
        for target in targets {
            let ref_id = target["refId"].as_str().unwrap_or_default();
            assert!(
                !ref_id.is_empty() && ref_ids.insert(ref_id),
                "panel {id}: refId {ref_id:?}"
            );
            assert!(
                target["datasource"].is_null() || uses_prometheus(&target["datasource"]),
                "panel {id} target {ref_id}: datasource {}",
                target["datasource"]
            );
            assert!(
                !target["expr"].as_str().unwrap_or_default().trim().is_empty(),
                "panel {id} target {ref_id} has no query"
            );
        }
    }

    // Each query as a recording rule: promtool parses its PromQL.
    let queries = dashboard_queries(&dashboard);
    let records: Vec<Value> = queries
        .iter()
        .map(|(id, ref_id, _, expr)| {
            // Any Grafana variable left over would be sent to Prometheus as it is.
            assert!(
                !expr.contains("$__") && !expr.contains("${"),
                "panel {id} {ref_id}: {expr}"
            );
            json!({"record": format!("dashboard:panel_{id}:{ref_id}"), "expr": expr})
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    write_rules(
        dir.path(),
        "dashboard.rules.yaml",
        &json!({"groups": [{"name": "dashboard", "rules": records}]}),
    );
    let (ok, out) = run_promtool(dir.path(), &["check", "rules", "dashboard.rules.yaml"]);
    assert!(ok, "promtool check rules on the dashboard's queries:\n{out}");
    assert!(
        out.contains(&format!("SUCCESS: {} rules found", records.len())),
        "{out}"
    );

    // The copy `make generate` puts beside the rendered rules is the chart's.
    assert_eq!(
        repo_file("manifests/monitoring/dashboard.json"),
        repo_file("charts/sealant/files/dashboard.json"),
        "manifests/monitoring/dashboard.json is stale: run make generate"
    );
}
