//! A repository writer or a fork against the job: forged trailers, look-alike branches, ignored files, widened scopes.

use super::*;

#[test]
fn a_forged_plan_trailer_on_the_rotation_branch_does_not_silence_rotation() {
    let repo = GitOps::new();
    let work = repo.work();
    // A repository writer pushes an empty commit carrying the public digest to the branch the job would use.
    repo.forge_plan_commit();
    git(&work, &["push", "-q", "origin", &repo.branch()]);
    git(&work, &["checkout", "-q", "main"]);
    let forged = git(&repo.remote(), &["rev-parse", &repo.branch()]);

    let out = repo.rotate(&["--forge", "none"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("already carries this plan"), "{stderr}");
    let tip = git(&repo.remote(), &["rev-parse", &repo.branch()]);
    assert_ne!(tip, forged, "the forged branch was taken for the job's own");
    let files = git(&repo.remote(), &["diff", "--name-only", "main", &repo.branch()]);
    assert!(files.contains("apps/web/db.yaml"), "{files}");
    // And now that the branch is the job's own, a second run recognises it and pushes nothing.
    let out = repo.rotate(&["--forge", "none"], &[]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("already carries this plan"));
    assert_eq!(git(&repo.remote(), &["rev-parse", &repo.branch()]), tip);
}

#[test]
fn a_pull_request_from_a_fork_named_like_the_rotation_branch_is_never_adopted() {
    let repo = GitOps::new();
    let gitea = gitea_with(&repo);

    // Mallory forks, pushes a branch named like the job's, and opens a pull request whose body carries the plan's
    // (public) digest.
    let mallory = gitea.add_user("mallory");
    let (status, fork) = gitea.api_as(&mallory, "POST", "/repos/sealant/gitops/forks", Some(&json!({})));
    assert_eq!(status, 202, "{fork}");
    let work = repo.work();
    let digest = repo.forge_plan_commit();
    let fork_url =
        format!("{}/mallory/gitops.git", gitea.url).replace("http://", &format!("http://mallory:{mallory}@"));
    git(&work, &["push", "-q", &fork_url, &repo.branch()]);
    git(&work, &["checkout", "-q", "main"]);
    // Gitea records a pushed branch from a queue, after the push returns: until then the head is "not found".
    let open_pr = || {
        gitea.api_as(
            &mallory,
            "POST",
            "/repos/sealant/gitops/pulls",
            Some(
                &json!({"title": "Rotate secrets", "head": format!("mallory:{}", repo.branch()), "base": "main",
                         "body": format!("<!-- Sealant-Plan: {digest} -->")}),
            ),
        )
    };
    let mut attempt = open_pr();
    for _ in 0..60 {
        if attempt.0 != 404 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
        attempt = open_pr();
    }
    let (status, pr) = attempt;
    assert_eq!(status, 201, "{pr}");

    let api = format!("{}/api/v1", gitea.url);
    let out = run(
        repo.root(),
        &[
            "rotate",
            "--clone",
            &gitea.clone_url("gitops"),
            "--base",
            "main",
            "--age-identity",
            repo.root().join("id.txt").to_str().unwrap(),
            "--now",
            &repo.now,
            "--forge",
            "gitea",
            "--forge-url",
            &api,
            "--forge-repo",
            "sealant/gitops",
        ],
        &[
            ("SEALANT_GIT_TOKEN", gitea.token.as_str()),
            ("SEALANT_GIT_USER", gitea.user.as_str()),
            ("SEALANT_FORGE_TOKEN", gitea.token.as_str()),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("opened Gitea pull request #2"),
        "the fork's pull request was adopted: {stderr}"
    );
    let (_, fork_pr) = gitea.api("GET", "/repos/sealant/gitops/pulls/1", None);
    assert_eq!(
        fork_pr["body"],
        format!("<!-- Sealant-Plan: {digest} -->"),
        "the fork's pull request was rewritten"
    );
}

#[test]
fn a_tracked_sealed_secret_under_a_nested_gitignore_is_rotated_and_crlf_checkouts_are_named() {
    let repo = GitOps::new();
    let work = repo.work();
    // A nested .gitignore that matches a file git tracks anyway (added with -f).
    repo.seal(
        "apps/hidden/token.yaml",
        "k2",
        &secret(
            "hidden-api-token-prod",
            &[("token", PLAINTEXTS[4])],
            &[("sealant.dev/generate.token", "hex:16")],
        ),
    );
    std::fs::write(work.join("apps/hidden/.gitignore"), "token.yaml\n").unwrap();
    git(&work, &["add", "-f", "apps/hidden"]);
    git(&work, &["commit", "-q", "-m", "hidden"]);
    let out = repo.rotate(&["--dry-run", "-o", "json"], &[]);
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let files: Vec<&str> = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["file"].as_str())
        .collect();
    assert!(files.contains(&"apps/hidden/token.yaml"), "{files:?}");

    // A checkout that turned LF into CRLF (.gitattributes eol=crlf): the error says so.
    std::fs::write(work.join(".gitattributes"), "apps/** text eol=crlf\n").unwrap();
    git(&work, &["add", ".gitattributes"]);
    git(&work, &["commit", "-q", "-m", "crlf"]);
    git(&work, &["rm", "-q", "-r", "--cached", "apps"]);
    git(&work, &["reset", "-q", "--hard"]);
    let out = repo.rotate(&["--forge", "none"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("CRLF line endings"), "{stderr}");
}

#[test]
fn a_widened_scope_annotation_does_not_widen_a_regenerated_value_when_the_keys_can_tell() {
    let repo = GitOps::new();
    let work = repo.work();
    // A repository writer marks a strict SealedSecret cluster-wide (a one-line, routine-looking change).
    let path = work.join("apps/web/api.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let widened = text.replacen(
        "  annotations:\n",
        "  annotations:\n    sealedsecrets.bitnami.com/cluster-wide: \"true\"\n",
        1,
    );
    assert_ne!(widened, text);
    std::fs::write(&path, widened).unwrap();
    git(&work, &["commit", "-q", "-am", "widen"]);
    let out = repo.rotate(&["--forge", "none"], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The regenerated token, moved to another name: it must not open (it is still strict).
    let rotated = git(
        &repo.remote(),
        &["show", &format!("{}:apps/web/api.yaml", repo.branch())],
    );
    let moved = rotated.replace("name: web-api-token-prod", "name: somewhere-else");
    assert_ne!(moved, rotated);
    let input = repo.root().join("moved.yaml");
    std::fs::write(&input, moved).unwrap();
    let out = run(
        repo.root(),
        &[
            "unseal",
            "--key",
            "k2/tls.key",
            "-f",
            input.to_str().unwrap(),
            "-o",
            "json",
        ],
        &[],
    );
    assert!(!out.status.success(), "the regenerated value opens under another name");
    assert!(repo.unseal_at(&repo.branch(), "apps/web/api.yaml", "k2").is_some());
}
