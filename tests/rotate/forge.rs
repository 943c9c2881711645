//! One pull request on a real Gitea, opened, then left or updated, never duplicated.

use super::*;

#[test]
fn over_http_on_a_real_gitea_one_pull_request_is_opened_then_left_or_updated_never_duplicated() {
    let repo = GitOps::new();
    let gitea = gitea_with(&repo);

    let clone_url = gitea.clone_url("gitops");
    let api = format!("{}/api/v1", gitea.url);
    let envs = [
        ("SEALANT_GIT_TOKEN", gitea.token.as_str()),
        ("SEALANT_GIT_USER", gitea.user.as_str()),
        ("SEALANT_FORGE_TOKEN", gitea.token.as_str()),
    ];
    let identity = repo.root().join("id.txt");
    let rotate_with = |envs: &[(&str, &str)]| {
        run(
            repo.root(),
            &[
                "rotate",
                "--clone",
                &clone_url,
                "--base",
                "main",
                "--age-identity",
                identity.to_str().unwrap(),
                "--now",
                &repo.now,
                "--forge",
                "gitea",
                "--forge-url",
                &api,
                "--forge-repo",
                "sealant/gitops",
            ],
            envs,
        )
    };
    let rotate = || rotate_with(&envs);
    let open_prs = || {
        let (status, list) = gitea.api("GET", "/repos/sealant/gitops/pulls?state=open", None);
        assert_eq!(status, 200, "{list}");
        list.as_array().unwrap().clone()
    };
    let out = rotate();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("opened Gitea pull request #1"), "{stderr}");
    assert!(!stderr.contains(&gitea.token), "the token was printed");
    let prs = open_prs();
    assert_eq!(prs.len(), 1);
    let pr = &prs[0];
    assert_eq!(pr["head"]["ref"], repo.branch().as_str());
    assert_eq!(pr["base"]["ref"], "main");
    let body = pr["body"].as_str().unwrap();
    for want in [
        "apps/web/db.yaml",
        "regenerate (alnum:40)",
        "re-seal",
        "web/deployment/web",
        "A human must rotate",
        "`user`",
        "apps/broken.yaml",
    ] {
        assert!(body.contains(want), "PR body lacks {want:?}:\n{body}");
    }
    for p in PLAINTEXTS {
        assert!(!body.contains(p));
    }
    let (_, files) = gitea.api("GET", "/repos/sealant/gitops/pulls/1/files", None);
    assert_eq!(files.as_array().unwrap().len(), 4, "{files}");

    // The same plan: the open pull request is left alone.
    let out = rotate();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already carries this plan"));
    assert_eq!(open_prs().len(), 1);

    // Something new is due: the same pull request is updated, its branch replaced; still one.
    let work = repo.work();
    repo.seal(
        "apps/web/new.yaml",
        "k2",
        &secret(
            "web-new-token-prod",
            &[("t", "x")],
            &[("sealant.dev/generate.t", "base64:32")],
        ),
    );
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "new secret"]);
    git(&work, &["push", "-q", &gitea.authed_clone_url("gitops"), "main"]);
    let out = rotate();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("updated Gitea pull request #1"), "{stderr}");
    let prs = open_prs();
    assert_eq!(prs.len(), 1);
    assert!(prs[0]["body"].as_str().unwrap().contains("apps/web/new.yaml"));
    let (_, files) = gitea.api("GET", "/repos/sealant/gitops/pulls/1/files", None);
    assert_eq!(files.as_array().unwrap().len(), 5, "{files}");

    // A wrong token: a clear error from the forge, nothing pushed.
    let (_, branch_before) = gitea.api(
        "GET",
        &format!("/repos/sealant/gitops/branches/{}", repo.branch().replace('/', "%2F")),
        None,
    );
    let bad = [
        ("SEALANT_GIT_TOKEN", gitea.token.as_str()),
        ("SEALANT_GIT_USER", gitea.user.as_str()),
        ("SEALANT_FORGE_TOKEN", "wrong-token"),
    ];
    let out = rotate_with(&bad);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Gitea refused the token (401)"), "{stderr}");
    let (_, branch_after) = gitea.api(
        "GET",
        &format!("/repos/sealant/gitops/branches/{}", repo.branch().replace('/', "%2F")),
        None,
    );
    assert_eq!(branch_before["commit"]["id"], branch_after["commit"]["id"]);
}
