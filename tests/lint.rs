//! `sealant lint` over a corpus of good and bad manifests (tests/lint/corpus): every finding asserted by rule
//! and line, no false positives on SealedSecrets, ExternalSecrets, SOPS files or base64 ConfigMap data, outputs in
//! text, JSON and SARIF, and never a value in any of them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use sealant_lint::{Config, Severity};
use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lint/corpus")
}

fn fixed_now() -> time::OffsetDateTime {
    time::macros::datetime!(2026-11-23 00:00 UTC)
}

/// Values planted in the corpus: none may appear in any report.
const PLANTED: &[&str] = &[
    "not-a-real-password",
    "hunter2hunter2",
    "hunter2-from-anchor",
    "ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "abcdEFGHijklMNOPqrstUVWXyz0123456789abcd",
    "AGE-SECRET-KEY-1QQQQ",
    "abcdefghijklmnop",
    "local-only",
    "plaintext-in-template",
];

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

/// The official schema's `run.language` / `toolComponent.language` pattern has a stray `]`
/// (`^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$`, a known erratum) that JSON Schema's `regex` format refuses, so
/// the schema does not compile as shipped. That one pattern is dropped in memory (sealant never writes
/// `language`); every other constraint applies as published.
fn sarif_validator(schema: &Value) -> jsonschema::Validator {
    fn drop_broken_pattern(v: &mut Value) {
        match v {
            Value::Object(map) => {
                if map.get("pattern").and_then(Value::as_str) == Some("^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$") {
                    map.remove("pattern");
                }
                map.values_mut().for_each(drop_broken_pattern);
            }
            Value::Array(items) => items.iter_mut().for_each(drop_broken_pattern),
            _ => {}
        }
    }
    let mut schema = schema.clone();
    drop_broken_pattern(&mut schema);
    jsonschema::validator_for(&schema).expect("the SARIF schema compiles")
}

/// Validates a report against the OASIS SARIF 2.1.0 JSON schema shipped in `tests/lint/`.
fn assert_valid_sarif(report: &Value) {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lint/sarif-schema-2.1.0.json"))
            .unwrap(),
    )
    .unwrap();
    let validator = sarif_validator(&schema);
    let errors: Vec<String> = validator
        .iter_errors(report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF output violates the 2.1.0 schema:\n{}",
        errors.join("\n")
    );
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

#[test]
fn a_sealed_secret_without_sealed_at_is_aged_from_git_history() {
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str], date: &str| git_at(dir.path(), args, date);
    git(&["init", "-q"], "2026-01-01T00:00:00Z");
    // As kubeseal writes it: no sealant annotations.
    let bitnami = |name: &str| {
        format!(
            "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {{name: {name}}}\nspec:\n  encryptedData: {{k: AgBy}}\n"
        )
    };
    std::fs::write(dir.path().join("old.yaml"), bitnami("billing-db-credentials-prod")).unwrap();
    git(&["add", "."], "2026-01-01T00:00:00Z");
    git(&["commit", "-qm", "old"], "2026-01-01T00:00:00Z");
    std::fs::write(dir.path().join("new.yaml"), bitnami("billing-api-token-prod")).unwrap();
    git(&["add", "."], "2026-11-20T00:00:00Z");
    git(&["commit", "-qm", "new"], "2026-11-20T00:00:00Z");

    let report = sealant_lint::lint(&[dir.path().to_path_buf()], &Config::default(), fixed_now());
    let overdue: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.rule == "rotation-overdue")
        .collect();
    assert_eq!(overdue.len(), 1, "{:#?}", report.findings);
    assert_eq!(overdue[0].path, "old.yaml");
    assert!(
        overdue[0].message.contains("326 days ago") && overdue[0].message.contains("git history"),
        "{}",
        overdue[0].message
    );
}

#[test]
fn a_value_merged_from_a_branch_is_aged_from_when_it_landed_as_rotate_does() {
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str], date: &str| git_at(dir.path(), args, date);
    git(&["init", "-q", "-b", "main"], "2026-07-01T00:00:00Z");
    std::fs::write(dir.path().join("README"), "x").unwrap();
    git(&["add", "."], "2026-07-01T00:00:00Z");
    git(&["commit", "-qm", "start"], "2026-07-01T00:00:00Z");
    git(&["checkout", "-qb", "feature"], "2026-07-01T00:00:00Z");
    // Sealed on a branch 100 days before now (the period is 90), merged 80 days before now.
    std::fs::write(
        dir.path().join("db.yaml"),
        "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: billing-db-credentials-prod}\nspec:\n  encryptedData: {k: AgBy}\n",
    )
    .unwrap();
    git(&["add", "."], "2026-08-15T00:00:00Z");
    git(&["commit", "-qm", "db"], "2026-08-15T00:00:00Z");
    git(&["checkout", "-q", "main"], "2026-09-04T00:00:00Z");
    git(
        &["merge", "-q", "--no-ff", "-m", "merge", "feature"],
        "2026-09-04T00:00:00Z",
    );

    // One source of ages (the first-parent history of the branch): not overdue for lint, as for rotate.
    let report = sealant_lint::lint(&[dir.path().to_path_buf()], &Config::default(), fixed_now());
    let aged: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.rule.starts_with("rotation"))
        .collect();
    assert!(aged.iter().all(|f| f.rule != "rotation-overdue"), "{aged:#?}");
    assert!(
        aged.iter()
            .any(|f| f.rule == "rotation-due-soon" && f.message.contains("in 10 day(s)")),
        "{:#?}",
        report.findings
    );
}

/// `git` in `dir` with a fixed identity and date.
fn git_at(dir: &Path, args: &[&str], date: &str) {
    let ok = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .status()
        .unwrap()
        .success();
    assert!(ok, "git {args:?}");
}

const PLAIN_SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata: {name: billing-db-credentials-prod, namespace: billing}\nstringData: {password: lint-bypass-canary}\n";

fn rules_in(dir: &Path) -> Vec<(String, &'static str)> {
    let report = sealant_lint::lint(&[dir.to_path_buf()], &Config::default(), fixed_now());
    report.findings.iter().map(|f| (f.path.clone(), f.rule)).collect()
}

#[test]
fn neither_a_committed_dot_ignore_nor_a_gitignore_hides_a_tracked_plaintext_secret() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git_at(d, &["init", "-q"], "2026-11-01T00:00:00Z");
    std::fs::create_dir_all(d.join("apps/nested")).unwrap();
    std::fs::write(d.join(".ignore"), "*\n").unwrap();
    std::fs::write(d.join("apps/nested/.gitignore"), "secret.yaml\n").unwrap();
    std::fs::write(d.join("apps/nested/secret.yaml"), PLAIN_SECRET).unwrap();
    std::fs::write(d.join("apps/also.yaml"), PLAIN_SECRET).unwrap();
    git_at(d, &["add", "-f", "."], "2026-11-01T00:00:00Z");
    git_at(d, &["commit", "-qm", "x"], "2026-11-01T00:00:00Z");
    let found = rules_in(d);
    for file in ["apps/nested/secret.yaml", "apps/also.yaml"] {
        assert!(
            found.contains(&(file.to_string(), "plaintext-secret")),
            "{file} slipped through: {found:?}"
        );
    }
    // An untracked file that .gitignore excludes is not the repository's: not checked.
    std::fs::write(d.join("apps/nested/local.yaml"), PLAIN_SECRET).unwrap();
    std::fs::write(d.join("apps/nested/.gitignore"), "secret.yaml\nlocal.yaml\n").unwrap();
    assert!(!rules_in(d).iter().any(|(f, _)| f == "apps/nested/local.yaml"));
}

#[test]
fn a_utf16_secret_a_latin1_pem_key_and_an_oversized_file_are_not_let_through() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // What PowerShell's `>` writes: UTF-16LE with a BOM.
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(PLAIN_SECRET.encode_utf16().flat_map(u16::to_le_bytes));
    std::fs::write(d.join("ps.yaml"), utf16).unwrap();
    // A PEM private key with one Latin-1 byte in a comment line before it: not UTF-8.
    let mut pem =
        b"# cl\xe9\n-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"
            .to_vec();
    pem.extend_from_slice(b"\n");
    std::fs::write(d.join("key.pem"), pem).unwrap();
    std::fs::write(d.join("huge.yaml"), "# x\n".repeat(1_300_000)).unwrap();
    let found = rules_in(d);
    assert!(found.contains(&("ps.yaml".into(), "plaintext-secret")), "{found:?}");
    assert!(found.contains(&("key.pem".into(), "committed-credential")), "{found:?}");
    assert!(found.contains(&("huge.yaml".into(), "unreadable-file")), "{found:?}");
    let out = Command::new(env!("CARGO_BIN_EXE_sealant"))
        .arg("lint")
        .arg(d)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("lint-bypass-canary"));
}

#[test]
fn a_kubeseal_made_sealed_secret_under_a_non_ascii_path_is_aged_from_git_history() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git_at(d, &["init", "-q"], "2026-01-01T00:00:00Z");
    std::fs::create_dir_all(d.join("apps/café")).unwrap();
    std::fs::write(
        d.join("apps/café/db.yaml"),
        "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: cafe-db-credentials-prod}\nspec:\n  encryptedData: {k: AgBy}\n",
    )
    .unwrap();
    git_at(d, &["add", "."], "2026-01-01T00:00:00Z");
    git_at(d, &["commit", "-qm", "old"], "2026-01-01T00:00:00Z");
    assert!(
        rules_in(d).contains(&("apps/café/db.yaml".into(), "rotation-overdue")),
        "{:?}",
        rules_in(d)
    );
}

#[test]
fn a_configuration_linked_out_of_the_repository_is_refused_without_printing_it() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, outside) = (dir.path().join("repo"), dir.path().join("token.txt"));
    std::fs::create_dir_all(repo.join("keys/prod")).unwrap();
    std::fs::write(&outside, "forge-token-outside-the-repo\n").unwrap();
    std::os::unix::fs::symlink(&outside, repo.join(".sealant.yaml")).unwrap();
    std::os::unix::fs::symlink(&outside, repo.join("keys/prod/state.yaml")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", repo.join("keys/prod/z.crt")).unwrap();
    for args in [vec!["lint", "."], vec!["keys", "list"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_sealant"))
            .current_dir(&repo)
            .args(&args)
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
        assert!(!text.contains("forge-token-outside-the-repo"), "{args:?}: {text}");
        assert!(
            !out.status.success() || text.contains("symbolic link"),
            "{args:?}: {text}"
        );
    }
}

#[test]
fn a_tracked_file_is_checked_whatever_its_name_and_inside_submodules() {
    use std::os::unix::ffi::OsStrExt as _;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git_at(d, &["init", "-q"], "2026-11-01T00:00:00Z");
    std::fs::create_dir_all(d.join("apps")).unwrap();
    let odd = d.join("apps").join(std::ffi::OsStr::from_bytes(b"db\xff.yaml"));
    std::fs::write(&odd, PLAIN_SECRET).unwrap();
    // A submodule: a git repository of its own, tracked as a gitlink.
    let sub = d.join("vendor/shared");
    std::fs::create_dir_all(&sub).unwrap();
    git_at(&sub, &["init", "-q"], "2026-11-01T00:00:00Z");
    std::fs::write(sub.join("secret.yaml"), PLAIN_SECRET).unwrap();
    git_at(&sub, &["add", "."], "2026-11-01T00:00:00Z");
    git_at(&sub, &["commit", "-qm", "s"], "2026-11-01T00:00:00Z");
    git_at(d, &["add", "."], "2026-11-01T00:00:00Z");
    git_at(d, &["commit", "-qm", "x"], "2026-11-01T00:00:00Z");
    let found = rules_in(d);
    let plaintext: Vec<&String> = found
        .iter()
        .filter(|(_, r)| *r == "plaintext-secret")
        .map(|(f, _)| f)
        .collect();
    assert!(plaintext.iter().any(|f| f.starts_with("apps/db")), "{found:?}");
    assert!(
        plaintext.iter().any(|f| f.as_str() == "vendor/shared/secret.yaml"),
        "{found:?}"
    );
}

#[test]
fn when_git_cannot_list_the_tracked_files_every_file_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git_at(d, &["init", "-q"], "2026-11-01T00:00:00Z");
    std::fs::write(d.join(".gitignore"), "ignored.yaml\n").unwrap();
    std::fs::write(d.join("ignored.yaml"), PLAIN_SECRET).unwrap();
    git_at(d, &["add", "-f", "."], "2026-11-01T00:00:00Z");
    git_at(d, &["commit", "-qm", "x"], "2026-11-01T00:00:00Z");
    // A repository git refuses to read (a broken HEAD and index stand for "dubious ownership" or worse).
    std::fs::write(d.join(".git/HEAD"), "garbage\n").unwrap();
    std::fs::write(d.join(".git/index"), "garbage\n").unwrap();
    let report = sealant_lint::lint(&[d.to_path_buf()], &Config::default(), fixed_now());
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.path == "ignored.yaml" && f.rule == "plaintext-secret"),
        "{:#?}",
        report.findings
    );
    assert!(
        report.notices.iter().any(|n| n.contains("checking every file")),
        "{:?}",
        report.notices
    );
}

#[test]
fn a_misspelt_section_or_key_of_sealant_yaml_is_an_error_not_a_silent_default() {
    for (text, key) in [
        ("polcy: {rotation: 30d}\n", "polcy"),
        ("lint:\n  dissable: [secret-naming]\n", "dissable"),
        ("policy: {rotation: 30d, warnBefor: 3d}\n", "warnBefor"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".sealant.yaml"), text).unwrap();
        let err = Config::load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains(".sealant.yaml") && err.contains(key) && err.contains("line"),
            "{err}"
        );
    }
    // The rotation job's sections are the rotation job's: lint accepts them.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".sealant.yaml"),
        "clusters: [{name: prod}]\npaths: [{glob: 'a/**', clusters: [prod]}]\nforge: {kind: github}\n",
    )
    .unwrap();
    assert!(Config::load(dir.path()).is_ok());
}

#[test]
fn paths_under_the_config_dir_are_checked_with_its_keys_and_globs() {
    let top = tempfile::tempdir().unwrap();
    let t = top.path();
    std::fs::create_dir_all(t.join("keys/prod")).unwrap();
    std::fs::copy(
        root().join("keys/example").join(
            std::fs::read_to_string(root().join("keys/example/current"))
                .unwrap()
                .trim()
                .trim_start_matches("SHA256:")
                .to_string()
                + ".crt",
        ),
        t.join("keys/prod/known.crt"),
    )
    .unwrap();
    std::fs::write(t.join(".sealant.yaml"), "lint: {devPaths: [\"dev/**\"]}\n").unwrap();
    std::fs::create_dir_all(t.join("apps")).unwrap();
    std::fs::copy(
        corpus().join("apps/keys.yaml"),
        t.join("apps/sealed-db-credentials-prod.yaml"),
    )
    .unwrap();
    std::fs::create_dir_all(t.join("dev")).unwrap();
    std::fs::write(
        t.join("dev/db.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata: {name: web-db-credentials-dev, namespace: dev}\nstringData: {password: dev-only}\n",
    )
    .unwrap();
    // Only two directories of the tree, seen from its top: keys/ is the top's, `dev/**` matches dev/db.yaml.
    let out = Command::new(env!("CARGO_BIN_EXE_sealant"))
        .args(["lint", "--format", "json", "--config-dir"])
        .arg(t)
        .arg(t.join("apps"))
        .arg(t.join("dev"))
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules: Vec<(&str, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap(), f["rule"].as_str().unwrap()))
        .collect();
    assert!(
        rules.contains(&("apps/sealed-db-credentials-prod.yaml", "unknown-sealing-key")),
        "{rules:?}"
    );
    assert!(!rules.iter().any(|(_, r)| *r == "plaintext-secret"), "{rules:?}");
}

#[test]
fn this_repository_is_a_gitops_tree_that_passes_its_own_lint() {
    // keys/example/ and examples/sealed/ (sealed to it), with the repository's .sealant.yaml, as `make
    // lint-gitops` runs it in CI.
    let out = Command::new(env!("CARGO_BIN_EXE_sealant"))
        .args([
            "lint",
            "--format",
            "json",
            "--config-dir",
            ".",
            "keys",
            "examples",
            "manifests",
            "charts",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(out.status.success(), "{report:#}");
    assert!(report["findings"].as_array().unwrap().is_empty(), "{report:#}");
    // The sealed copy is really sealed to the example cluster, and its test-only key opens it.
    for file in [
        "db-credentials-prod.yaml",
        "platform-staging.yaml",
        "api-keys-prod.json",
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_sealant"))
            .args(["verify", "--key", "tests/fixtures/test-only-example-cluster.key", "-f"])
            .arg(format!("examples/sealed/{file}"))
            .current_dir(root())
            .output()
            .unwrap();
        assert!(out.status.success(), "{file}: {}", String::from_utf8_lossy(&out.stderr));
    }
}
