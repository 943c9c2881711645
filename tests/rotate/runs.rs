//! Plans, pushes and failures against a bare git remote.

use super::*;

#[test]
fn dry_run_plans_regenerate_reseal_and_report_and_skips_the_broken_file_by_path() {
    let repo = GitOps::new();
    let before = repo.remote_refs();
    let out = repo.rotate(&["--dry-run", "-o", "json"], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut rows: Vec<String> = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            format!(
                "{} {} {}",
                a["file"].as_str().unwrap(),
                a["item"].as_str().unwrap(),
                a["kind"].as_str().unwrap()
            )
        })
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        [
            "apps/bitnami/kubeseal.yaml password report",
            "apps/bitnami/kubeseal.yaml password reseal",
            "apps/legacy/old.yaml key reseal",
            "apps/web/api.yaml token regenerate",
            "apps/web/db.yaml password regenerate",
            "apps/web/db.yaml user report",
        ]
    );
    let problems = plan["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0]["file"], "apps/broken.yaml");
    let bitnami = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["file"] == "apps/bitnami/kubeseal.yaml")
        .unwrap();
    assert!(
        bitnami["reason"].as_str().unwrap().contains("age from git history"),
        "{bitnami}"
    );
    assert!(bitnami["age_days"].as_i64().unwrap() > 300, "{bitnami}");
    // A dry run changes nothing anywhere.
    assert_eq!(repo.remote_refs(), before);
    assert_eq!(git(&repo.work(), &["status", "--porcelain"]), "");
}

#[test]
fn a_run_pushes_one_branch_changing_only_due_values_and_a_second_run_pushes_nothing() {
    let repo = GitOps::new();
    let out = ok(
        &repo.work(),
        &[
            "rotate",
            "--age-identity",
            "../id.txt",
            "--now",
            &repo.now,
            "--forge",
            "none",
        ],
        &[],
    );
    assert!(out.contains("apps/broken.yaml"), "the broken file is reported: {out}");
    let branch = repo.branch();
    let tip = git(&repo.remote(), &["rev-parse", &branch]);

    // Only the due files, and in them only ciphertexts and sealant annotations.
    let files = git(&repo.remote(), &["diff", "--name-only", "main", &branch]);
    let mut files: Vec<&str> = files.lines().collect();
    files.sort();
    assert_eq!(
        files,
        [
            "apps/bitnami/kubeseal.yaml",
            "apps/legacy/old.yaml",
            "apps/web/api.yaml",
            "apps/web/db.yaml"
        ]
    );
    let diff = git(&repo.remote(), &["diff", "-U0", "main", &branch]);
    for line in diff
        .lines()
        .filter(|l| (l.starts_with('+') || l.starts_with('-')) && !l.starts_with("+++") && !l.starts_with("---"))
    {
        let body = line[1..].trim_start();
        let allowed = [
            "password: ",
            "user: ",
            "token: ",
            "key: ",
            "sealant.dev/key-fingerprint: ",
            "sealant.dev/sealed-at: ",
            "sealant.dev/rotated-at.password: ",
            "annotations:",
        ];
        assert!(allowed.iter().any(|a| body.starts_with(a)), "unexpected change: {line}");
    }
    assert!(!diff.contains("user: "), "the external item is not touched: {diff}");

    // New values: generated with the requested alphabet and length, everything sealed to the newest key (k2).
    let db_old = repo.unseal_at("main", "apps/web/db.yaml", "k2").unwrap();
    let db_new = repo.unseal_at(&branch, "apps/web/db.yaml", "k2").unwrap();
    let password = item(&db_new, "password");
    assert_eq!(password.len(), 40);
    assert!(password.iter().all(u8::is_ascii_alphanumeric));
    assert_ne!(password, item(&db_old, "password"));
    assert_eq!(item(&db_new, "user"), PLAINTEXTS[1].as_bytes(), "external value kept");
    let token = item(&repo.unseal_at(&branch, "apps/web/api.yaml", "k2").unwrap(), "token");
    assert_eq!(token.len(), 64);
    assert!(token.iter().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    for file in ["apps/legacy/old.yaml", "apps/bitnami/kubeseal.yaml"] {
        assert!(repo.unseal_at("main", file, "k1").is_some());
        assert!(
            repo.unseal_at(&branch, file, "k1").is_none(),
            "{file} still opens with the old key"
        );
        assert!(
            repo.unseal_at(&branch, file, "k2").is_some(),
            "{file} does not open with the new key"
        );
    }
    assert_eq!(
        item(&repo.unseal_at(&branch, "apps/legacy/old.yaml", "k2").unwrap(), "key"),
        PLAINTEXTS[3].as_bytes()
    );

    // The work tree and HEAD are untouched; the commit says what it did.
    assert_eq!(git(&repo.work(), &["status", "--porcelain"]), "");
    assert_eq!(git(&repo.work(), &["rev-parse", "--abbrev-ref", "HEAD"]).trim(), "main");
    let message = git(&repo.remote(), &["log", "-1", "--format=%B", &branch]);
    assert!(message.contains("Sealant-Plan: "), "{message}");

    // Same plan again: nothing pushed.
    let out = ok(
        &repo.work(),
        &[
            "rotate",
            "--age-identity",
            "../id.txt",
            "--now",
            &repo.now,
            "--forge",
            "none",
        ],
        &[],
    );
    assert!(out.contains("already carries this plan"), "{out}");
    assert_eq!(git(&repo.remote(), &["rev-parse", &branch]), tip);

    // Merged: the next run finds nothing to change (the external item stays listed) and pushes nothing.
    git(&repo.remote(), &["update-ref", "refs/heads/main", tip.trim()]);
    git(&repo.work(), &["pull", "-q", "--ff-only", "origin", "main"]);
    let before = repo.remote_refs();
    let out = ok(
        &repo.work(),
        &[
            "rotate",
            "--age-identity",
            "../id.txt",
            "--now",
            &repo.now,
            "--forge",
            "none",
        ],
        &[],
    );
    assert!(out.contains("nothing to re-seal or regenerate"), "{out}");
    // Still due and external: `user`, and the Bitnami-made item (its file's age is its last commit's).
    assert!(out.contains("2 for a human to rotate"), "{out}");
    assert_eq!(repo.remote_refs(), before);
}

#[test]
fn an_unreachable_forge_or_controller_fails_clearly_and_pushes_nothing() {
    let repo = GitOps::new();
    let before = repo.remote_refs();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let forge_url = format!("http://127.0.0.1:{closed}");
    let out = repo.rotate(
        &[
            "--forge",
            "github",
            "--forge-url",
            &forge_url,
            "--forge-repo",
            "org/gitops",
        ],
        &[("SEALANT_FORGE_TOKEN", "forge-token-never-printed")],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot reach GitHub"), "{stderr}");
    assert!(!stderr.contains("forge-token-never-printed"));
    assert_eq!(repo.remote_refs(), before);

    // Without private keys, through a controller that is not there.
    let out = run(
        &repo.work(),
        &[
            "rotate",
            "--now",
            &repo.now,
            "--forge",
            "none",
            "--controller-url",
            &forge_url,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot reach the controller of prod"), "{stderr}");
    assert_eq!(repo.remote_refs(), before);

    // Without keys or a controller, re-sealing is refused before anything is committed.
    let out = run(&repo.work(), &["rotate", "--now", &repo.now, "--forge", "none"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("re-sealing needs the old key"));
    assert_eq!(repo.remote_refs(), before);
    assert_eq!(git(&repo.work(), &["branch", "--list", "sealant/*"]), "");
}

#[test]
fn a_value_made_by_seal_generate_is_regenerated_by_the_job_when_due() {
    let repo = GitOps::new();
    let work = repo.work();
    repo.seal_generated("apps/web/session.yaml", "k2", "web-session-prod", "session-key=hex:32");
    let before = std::fs::read_to_string(work.join("apps/web/session.yaml")).unwrap();

    // 100 days on, the generated item is due: the plan regenerates it with the generator seal recorded.
    let out = repo.rotate(&["--dry-run", "-o", "json"], &[]);
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let action = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["file"] == "apps/web/session.yaml")
        .unwrap_or_else(|| panic!("{plan}"));
    assert_eq!(action["kind"], "regenerate");
    assert_eq!(action["generator"], "hex:32");

    let out = repo.rotate(&["--no-push"], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let after = git(&work, &["show", &format!("{}:apps/web/session.yaml", repo.branch())]);
    let open = |text: &str| {
        let file = repo.root().join("session-open.yaml");
        std::fs::write(&file, text).unwrap();
        let out = ok(
            repo.root(),
            &[
                "unseal",
                "--key",
                "k2/tls.key",
                "-f",
                file.to_str().unwrap(),
                "-o",
                "json",
            ],
            &[],
        );
        let value = item(&out, "session-key");
        assert!(value.len() == 64 && value.iter().all(u8::is_ascii_hexdigit));
        value
    };
    assert_ne!(open(&before), open(&after), "the job kept the old value");
}

#[test]
fn only_with_force_rotates_one_item_now_and_nothing_else() {
    let repo = GitOps::new();
    let work = repo.work();
    repo.seal_generated(
        "apps/web/session.yaml",
        "k2",
        "web-session-prod",
        "session-key=hex:32,csrf-key=hex:32",
    );
    let plan = |extra: &[&str]| {
        let mut args = vec!["rotate", "--age-identity", "../id.txt", "--dry-run", "-o", "json"];
        args.extend_from_slice(extra);
        let out = run(&work, &args, &[]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["actions"]
            .as_array()
            .unwrap()
            .clone()
    };
    // Today nothing of the new file is due.
    assert!(plan(&[]).iter().all(|a| a["file"] != "apps/web/session.yaml"));
    // --only alone narrows but forces nothing.
    assert!(plan(&["--only", "apps/web/session.yaml"]).is_empty());
    let forced = plan(&["--only", "./apps/web/session.yaml:csrf-key", "--force"]);
    assert_eq!(forced.len(), 1, "{forced:?}");
    assert_eq!(forced[0]["item"], "csrf-key");
    assert_eq!(forced[0]["kind"], "regenerate");
    assert_eq!(forced[0]["reason"], "rotated now (--only --force)");
    // A directory selects what is under it.
    let dir = plan(&["--only", "apps/web", "--force"]);
    assert!(
        dir.iter().all(|a| a["file"].as_str().unwrap().starts_with("apps/web/")),
        "{dir:?}"
    );
    assert!(
        dir.iter()
            .any(|a| a["file"] == "apps/web/session.yaml" && a["item"] == "session-key")
    );
    // A mistyped --only is an error, not "nothing due".
    let out = run(&work, &["rotate", "--only", "apps/wbe", "--dry-run"], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("--only apps/wbe: no SealedSecret there"),
        "{err}"
    );
    // --force without --only is refused: it would rotate the whole repository.
    let out = run(&work, &["rotate", "--force", "--dry-run"], &[]);
    assert!(!out.status.success());
}

#[test]
fn a_declared_compromise_regenerates_and_reseals_everything_on_that_key_in_one_urgent_commit() {
    let repo = GitOps::new();
    let work = repo.work();
    repo.seal_generated("apps/web/hook.yaml", "k1", "web-hook-prod", "hook-token");
    let k1 = ok(repo.root(), &["keys", "fingerprint", "k1/tls.crt"], &[]);
    let k1 = k1.split_whitespace().next().unwrap().to_string();
    // Today (no pretend time): nothing on k1 is due by age.
    let base = [
        "rotate",
        "--age-identity",
        "../id.txt",
        "--trust-file",
        "../trusted.txt",
    ];
    let mut args = base.to_vec();
    args.extend(["--compromised", &k1, "--dry-run", "-o", "json"]);
    let out = run(&work, &args, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["compromised"], serde_json::json!([k1]));
    let on_k1: Vec<_> = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["old_key"] == k1.as_str())
        .collect();
    let kinds = |file: &str| -> Vec<String> {
        let mut k: Vec<String> = on_k1
            .iter()
            .filter(|a| a["file"] == file)
            .map(|a| a["kind"].as_str().unwrap().to_string())
            .collect();
        k.sort();
        k
    };
    assert_eq!(kinds("apps/web/hook.yaml"), ["regenerate"]);
    assert_eq!(kinds("apps/legacy/old.yaml"), ["report", "reseal"]);

    let mut args = base.to_vec();
    args.extend(["--compromised", &k1, "--no-push"]);
    let out = run(&work, &args, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let branch = repo.branch_at_today();
    let message = git(&work, &["log", "-1", "--format=%B", &branch]);
    assert!(
        message.starts_with("URGENT: rotate sealed secrets after a key compromise"),
        "{message}"
    );
    let state = git(&work, &["show", &format!("{branch}:keys/prod/state.yaml")]);
    assert!(state.contains(&k1) && state.contains("compromised"), "{state}");
    // Nothing on the branch is sealed to k1 any more.
    assert!(
        git(&work, &["show", &format!("{branch}:keys/prod/state.yaml")])
            .contains("declared by sealant rotate --compromised")
    );
    for file in ["apps/web/hook.yaml", "apps/legacy/old.yaml"] {
        let text = git(&work, &["show", &format!("{branch}:{file}")]);
        assert!(!text.contains(&k1), "{file} still names k1");
    }
}
