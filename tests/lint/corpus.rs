//! The corpus and the report formats: every finding, no false positives, text, JSON and SARIF without values, suppressions.

use super::*;

#[test]
fn the_corpus_gives_exactly_the_expected_findings() {
    let config = Config::load(&corpus()).unwrap();
    let report = sealant_lint::lint(&[corpus()], &config, fixed_now());
    let got: BTreeSet<String> = report
        .findings
        .iter()
        .map(|f| format!("{}:{} {}", f.path, f.line, f.rule))
        .collect();
    let expected_text = std::fs::read_to_string(corpus().join("../expected.txt")).unwrap();
    let expected: BTreeSet<String> = expected_text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    let missing: Vec<_> = expected.difference(&got).collect();
    let extra: Vec<_> = got.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:#?}\nunexpected {extra:#?}"
    );
    // At least two cases per rule.
    for rule in sealant_lint::RULES {
        let n = report.findings.iter().filter(|f| f.rule == rule.id).count();
        assert!(n >= 2, "rule {} has {n} case(s) in the corpus", rule.id);
    }
    assert!(report.notices.iter().any(|n| n.contains("Helm template")));
}

#[test]
fn safe_objects_and_dev_paths_are_not_flagged() {
    let config = Config::load(&corpus()).unwrap();
    let report = sealant_lint::lint(&[corpus()], &config, fixed_now());
    for clean in ["apps/safe.yaml", "dev/local.yaml", "platform/controller.yaml:20"] {
        let (file, after) = clean
            .split_once(':')
            .map_or((clean, 0), |(f, l)| (f, l.parse().unwrap()));
        let hits: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.path == file && f.line > after)
            .collect();
        assert!(hits.is_empty(), "{clean}: {hits:#?}");
    }
}

#[test]
fn the_cli_reports_text_json_and_sarif_without_values_and_fails_on_errors() {
    for format in ["text", "json", "sarif"] {
        let out = Command::new(env!("CARGO_BIN_EXE_sealant"))
            .args(["lint", "-o", format])
            .arg(corpus())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{format}: errors must fail the run");
        let stdout = String::from_utf8(out.stdout).unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        for value in PLANTED {
            assert!(
                !stdout.contains(value) && !stderr.contains(value),
                "{format} output contains {value}"
            );
        }
        match format {
            "text" => assert!(
                stdout.contains("apps/plaintext.yaml:8:3: error[plaintext-secret]: document 1: Secret billing/billing-db-credentials-prod"),
                "{stdout}"
            ),
            "json" => {
                let v: Value = serde_json::from_str(&stdout).unwrap();
                assert!(v["findings"].as_array().unwrap().len() >= 20);
            }
            _ => {
                let v: Value = serde_json::from_str(&stdout).unwrap();
                assert_valid_sarif(&v);
                assert_eq!(v["version"], "2.1.0");
                let run = &v["runs"][0];
                assert_eq!(run["tool"]["driver"]["informationUri"], "https://github.com/sealant-dev/sealant");
                let rules: Vec<&str> = run["tool"]["driver"]["rules"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["id"].as_str().unwrap())
                    .collect();
                for result in run["results"].as_array().unwrap() {
                    let id = result["ruleId"].as_str().unwrap();
                    assert_eq!(rules[result["ruleIndex"].as_u64().unwrap() as usize], id);
                    assert!(["error", "warning"].contains(&result["level"].as_str().unwrap()));
                    let region = &result["locations"][0]["physicalLocation"]["region"];
                    assert!(region["startLine"].as_u64().unwrap() >= 1 && region["startColumn"].as_u64().unwrap() >= 1);
                }
            }
        }
    }
}

#[test]
fn the_sarif_validator_rejects_a_report_that_breaks_the_schema() {
    // Proves the schema check can fail: a result without its required `message` is refused.
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(corpus().join("../sarif-schema-2.1.0.json")).unwrap()).unwrap();
    let validator = sarif_validator(&schema);
    let bad = serde_json::json!({
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"ruleId": "r"}]}]
    });
    assert!(!validator.is_valid(&bad));
}

#[test]
fn a_suppression_needs_a_reason_and_config_can_disable_or_downgrade_rules() {
    let dir = tempfile::tempdir().unwrap();
    let secret =
        |name: &str| format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}}}\nstringData: {{a: b}}\n");
    std::fs::write(
        dir.path().join("a.yaml"),
        format!("# sealant-lint: disable=plaintext-secret\n{}", secret("app-token-dev")),
    )
    .unwrap();
    let report = sealant_lint::lint(&[dir.path().to_path_buf()], &Config::default(), fixed_now());
    assert!(
        report.findings.iter().any(|f| f.rule == "plaintext-secret"),
        "a reasonless suppression applied"
    );

    std::fs::write(
        dir.path().join(".sealant.yaml"),
        "lint:\n  disable: [plaintext-secret]\n  severity: {secret-naming: error}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("b.yaml"), secret("badname")).unwrap();
    let config = Config::load(dir.path()).unwrap();
    let report = sealant_lint::lint(&[dir.path().to_path_buf()], &config, fixed_now());
    assert!(report.findings.iter().all(|f| f.rule != "plaintext-secret"));
    let naming = report.findings.iter().find(|f| f.rule == "secret-naming").unwrap();
    assert_eq!(naming.severity, Severity::Error);

    std::fs::write(dir.path().join(".sealant.yaml"), "lint:\n  disable: [no-such-rule]\n").unwrap();
    let err = Config::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains(".sealant.yaml") && err.contains("no-such-rule"), "{err}");
}
