//! The CI templates users copy (`ci/`, `.pre-commit-hooks.yaml`) work as written: every GitHub workflow passes
//! actionlint (with shellcheck over its scripts); the GitLab template passes GitLab's own CI schema
//! (gitlab-ci-local's validation) and its lint job, run by gitlab-ci-local with the shell executor, builds
//! sealant from `SEALANT_SOURCE`, caches it, passes a clean tree and fails on a plaintext Secret; and the
//! pre-commit hook, run by the real `pre-commit try-repo`, lets a clean commit through and stops a plaintext
//! Secret. The sources are this checkout's HEAD (a clean clone in CI).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sealant_testenv::cached_tool;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.invalid",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", text(&out));
}

fn head() -> String {
    let out = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(root())
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A small GitOps repository: one SealedSecret (the example, sealed to the example cluster), committed.
fn sample_repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    std::fs::create_dir_all(dir.path().join("apps/billing")).unwrap();
    std::fs::copy(
        root().join("examples/sealed/db-credentials-prod.yaml"),
        dir.path().join("apps/billing/db-credentials-prod.yaml"),
    )
    .unwrap();
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-qm", "a sealed secret"]);
    dir
}

const PLAINTEXT: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: web-api-token-prod\n  namespace: web\n\
                         stringData:\n  token: not-a-real-token-but-plaintext\n";

#[test]
fn every_github_workflow_passes_actionlint_and_shellcheck() {
    let actionlint = cached_tool("actionlint.sh").join("actionlint");
    let workflows: Vec<PathBuf> = std::fs::read_dir(root().join("ci/github-actions"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(workflows.len() >= 2, "{workflows:?}");
    let out = Command::new(&actionlint)
        .arg("-shellcheck=shellcheck")
        .args(&workflows)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    // The linter is not a rubber stamp: an unquoted variable in a script and an unknown expression fail.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: rm -rf $DIR/*\n      \
         - run: echo ${{ github.nope.x }}\n",
    )
    .unwrap();
    let out = Command::new(&actionlint)
        .arg("-shellcheck=shellcheck")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let report = text(&out);
    assert!(
        report.contains("shellcheck") && report.contains("github.nope"),
        "{report}"
    );
}

/// A GitLab project using the template as its header says: the file copied to ci/, included.
fn gitlab_project(template: &str) -> tempfile::TempDir {
    let dir = sample_repository();
    std::fs::create_dir_all(dir.path().join("ci")).unwrap();
    std::fs::write(dir.path().join("ci/sealant.yml"), template).unwrap();
    std::fs::write(
        dir.path().join(".gitlab-ci.yml"),
        "stages: [test, deploy]\ninclude: [{local: ci/sealant.yml}]\n",
    )
    .unwrap();
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-qm", "ci"]);
    dir
}

fn gitlab_ci_local(project: &Path, args: &[&str]) -> Output {
    Command::new(cached_tool("gitlab-ci-local.sh"))
        .args(["--json-schema-validation", "--force-shell-executor"])
        .args(args)
        .current_dir(project)
        // The build reuses this checkout's release artifacts (dependencies built once).
        .env("CARGO_TARGET_DIR", root().join("target"))
        .env("GCL_IGNORE_PREDEFINED_VARS", "CI_PIPELINE_SOURCE")
        .output()
        .unwrap()
}

/// The lint job of a merge-request pipeline, sealant built from `source` (`URL@REV`).
fn gitlab_lint_job(project: &Path, source: &str) -> Output {
    let source = format!("SEALANT_SOURCE={source}");
    let job = [
        "--variable",
        &source,
        "--variable",
        "CI_PIPELINE_SOURCE=merge_request_event",
        "sealant-lint",
    ];
    gitlab_ci_local(project, &job)
}

#[test]
fn the_gitlab_template_passes_gitlabs_ci_schema() {
    let template = std::fs::read_to_string(root().join("ci/gitlab-ci/sealant.yml")).unwrap();
    let project = gitlab_project(&template);
    let out = gitlab_ci_local(project.path(), &["--list-all"]);
    let listed = text(&out);
    assert!(out.status.success(), "{listed}");
    assert!(
        listed.contains("json schema validated")
            && listed.contains("sealant-lint")
            && listed.contains("sealant-rotate"),
        "{listed}"
    );
    // A misspelt keyword is refused by the same validation.
    let project = gitlab_project(&template.replace("resource_group:", "resource_groups:"));
    let out = gitlab_ci_local(project.path(), &["--list-all"]);
    assert!(!out.status.success(), "{}", text(&out));
}

#[test]
fn the_gitlab_lint_job_builds_sealant_from_its_source_once_and_stops_a_plaintext_secret() {
    let template = std::fs::read_to_string(root().join("ci/gitlab-ci/sealant.yml")).unwrap();
    let project = gitlab_project(&template);
    let source = format!("file://{}@{}", root().display(), head());
    let out = gitlab_lint_job(project.path(), &source);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("PASS  sealant-lint"), "{}", text(&out));
    let binary = project.path().join(".sealant/bin/sealant");
    let built = std::fs::metadata(&binary).unwrap().modified().unwrap();

    std::fs::write(project.path().join("apps/billing/token.yaml"), PLAINTEXT).unwrap();
    git(project.path(), &["add", "-A"]);
    git(project.path(), &["commit", "-qm", "oops"]);
    let out = gitlab_lint_job(project.path(), &source);
    let log = text(&out);
    assert!(!out.status.success(), "{log}");
    assert!(
        log.contains("plaintext-secret") && log.contains("FAIL  sealant-lint"),
        "{log}"
    );
    assert!(!log.contains("not-a-real-token"), "the value reached the job log");
    // The cached build was used, not rebuilt.
    assert_eq!(std::fs::metadata(&binary).unwrap().modified().unwrap(), built);
}

#[test]
fn the_gitlab_template_refuses_an_unpinned_source_and_a_committed_build() {
    let template = std::fs::read_to_string(root().join("ci/gitlab-ci/sealant.yml")).unwrap();
    let project = gitlab_project(&template);
    let url = format!("file://{}", root().display());
    // A branch, no revision at all, a revision that is not a tag or a full commit: nothing is built.
    for source in [format!("{url}@main"), url.clone(), format!("{url}@{}", &head()[..12])] {
        let out = gitlab_lint_job(project.path(), &source);
        let log = text(&out);
        assert!(!out.status.success(), "{source}: {log}");
        assert!(log.contains("SEALANT_SOURCE must be"), "{source}: {log}");
        assert!(!project.path().join(".sealant").exists(), "{source}: built anyway");
    }
    // A committed .sealant/ (a binary a writer chose) is refused even with a matching source file.
    let source = format!("{url}@{}", head());
    let planted = project.path().join(".sealant/bin");
    std::fs::create_dir_all(&planted).unwrap();
    std::fs::write(planted.join("sealant"), "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::write(project.path().join(".sealant/source"), format!("{source}\n")).unwrap();
    git(project.path(), &["add", "-f", ".sealant"]);
    git(project.path(), &["commit", "-qm", "plant"]);
    let out = gitlab_lint_job(project.path(), &source);
    let log = text(&out);
    assert!(!out.status.success(), "{log}");
    assert!(log.contains(".sealant/ is committed"), "{log}");
}

#[test]
fn the_pre_commit_hook_lets_a_clean_commit_through_and_stops_a_plaintext_secret() {
    let pre_commit = cached_tool("pre-commit.sh");
    let repo = sample_repository();
    let home = tempfile::tempdir().unwrap();
    let try_repo = |extra: &[&str]| {
        Command::new("python3")
            .args(["-m", "pre_commit", "try-repo"])
            .arg(root())
            .arg("sealant-lint")
            .args(["--ref", &head()])
            .args(extra)
            .current_dir(repo.path())
            .env("PYTHONPATH", &pre_commit)
            .env("PRE_COMMIT_HOME", home.path())
            .env("CARGO_TARGET_DIR", root().join("target"))
            .output()
            .unwrap()
    };
    let out = try_repo(&["--all-files"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("Passed"), "{}", text(&out));

    std::fs::write(repo.path().join("apps/billing/token.yaml"), PLAINTEXT).unwrap();
    git(repo.path(), &["add", "apps/billing/token.yaml"]);
    let out = try_repo(&[]);
    let log = text(&out);
    assert!(!out.status.success(), "{log}");
    assert!(log.contains("Failed") && log.contains("plaintext-secret"), "{log}");
    assert!(!log.contains("not-a-real-token"), "the value reached the hook's output");
}

#[test]
fn nothing_a_user_copies_or_installs_points_at_a_placeholder_host() {
    // What users copy or read: the templates, the hooks, the deploy files, the docs and the package metadata
    // (which the SBOM and the SARIF report carry). Tests and benches may use example.invalid on purpose.
    let out = Command::new("git")
        .args([
            "ls-files",
            "ci",
            ".pre-commit-hooks.yaml",
            "manifests",
            "charts",
            "deploy",
            "docs",
            "keys",
        ])
        .args([
            "README.md",
            "SECURITY.md",
            "Cargo.toml",
            "crates/*/Cargo.toml",
            "src",
            "crates/*/src",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let files = String::from_utf8(out.stdout).unwrap();
    assert!(files.lines().count() > 20, "git ls-files listed too little: {files}");
    let offenders: Vec<&str> = files
        .lines()
        .filter(|f| {
            let body = std::fs::read(root().join(f)).unwrap();
            String::from_utf8_lossy(&body).contains("example.invalid/sealant")
        })
        .collect();
    assert!(offenders.is_empty(), "placeholder URL in {offenders:?}");
}
