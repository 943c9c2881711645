//! The repository around the lint: its configuration, tracked files, submodules, and this repository itself.

use super::*;

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
