//! Ages from git history, and files git hides or that are not what they seem.

use super::*;

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
