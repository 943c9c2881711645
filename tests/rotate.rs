//! The rotation job against real git remotes (a bare repository over `file://`, and a real Gitea over HTTP built
//! from Go modules) and a real forge: one branch and one pull request per run, only due files and only values
//! changed, idempotent, nothing pushed when the forge or the controller cannot be reached.

use sealant_testenv::age;
use sealant_testenv::gitea;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// Made-up values sealed in these tests: none may appear in any output of rotate.
const PLAINTEXTS: [&str; 5] = [
    "hunter2-rotate-db",
    "admin-rotate-user",
    "tok3n-rotate-api",
    "legacy-rotate-value",
    "hidden-rotate-token",
];

fn run(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sealant"));
    cmd.current_dir(dir).args(args);
    for var in [
        "SEALANT_CERT",
        "SEALANT_FORGE_TOKEN",
        "SEALANT_GIT_TOKEN",
        "SEALANT_GIT_USER",
        "SEALANT_KEY",
        "SEALANT_TRUST_CERT",
        "SEALANT_TRUST_FILE",
        "SEALANT_FORGE_URL",
        "SEALANT_FORGE_REPO",
        "SEALANT_CONTROLLER_URL",
        "SEALANT_FORGE_USER",
    ] {
        cmd.env_remove(var);
    }
    // The repository's pinned certificate, as a CronJob mounts it from a Secret: `trusted.txt` beside the work
    // tree, when the test made one (a test that sets SEALANT_TRUST_FILE itself wins).
    for pins in [dir.join("trusted.txt"), dir.join("../trusted.txt")] {
        if pins.is_file() {
            cmd.env("SEALANT_TRUST_FILE", pins);
            break;
        }
    }
    cmd.envs(envs.iter().copied());
    let out = cmd.output().unwrap();
    if args[0] != "unseal" {
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        for p in PLAINTEXTS {
            assert!(!all.contains(p), "{args:?} printed a plaintext");
        }
    }
    out
}

fn ok(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> String {
    let out = run(dir, args, envs);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{args:?} failed: {stderr}");
    format!("{}{stderr}", String::from_utf8_lossy(&out.stdout))
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "test")
        .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
        .env("GIT_COMMITTER_NAME", "test")
        .env("GIT_COMMITTER_EMAIL", "test@example.invalid")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn secret(name: &str, items: &[(&str, &str)], annotations: &[(&str, &str)]) -> String {
    let mut out = format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: web\n");
    if !annotations.is_empty() {
        out.push_str("  annotations:\n");
        for (k, v) in annotations {
            out.push_str(&format!("    {k}: \"{v}\"\n"));
        }
    }
    out.push_str("stringData:\n");
    for (k, v) in items {
        out.push_str(&format!("  {k}: {v}\n"));
    }
    out
}

/// A GitOps repository `work/` with cluster `prod` (old key k1, current key k2, both escrowed to `id.txt`), its
/// bare remote `remote.git`, and the run's pretend time, 100 days from now.
struct GitOps {
    dir: tempfile::TempDir,
    now: String,
    date: String,
}

impl GitOps {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let root = root.as_path();
        let work = root.join("work");
        std::fs::create_dir(&work).unwrap();
        git(&work, &["init", "-q", "-b", "main"]);
        let (_, public) = age::age_identity(root, "id.txt");
        for key in ["k1", "k2"] {
            ok(
                &work,
                &["keys", "new", "--bits", "2048", "--out", &format!("../{key}")],
                &[],
            );
            ok(
                &work,
                &[
                    "keys",
                    "backup",
                    "--cluster",
                    "prod",
                    "--recipient",
                    &public,
                    "--key-secrets",
                    &format!("../{key}/key-secret.yaml"),
                ],
                &[],
            );
        }
        ok(
            &work,
            &["keys", "fetch", "--cluster", "prod", "--cert", "../k2/tls.crt"],
            &[],
        );
        let k2 = ok(root, &["keys", "fingerprint", "k2/tls.crt"], &[]);
        let k2 = k2.split_whitespace().next().unwrap().to_string();
        std::fs::write(
            root.join("trusted.txt"),
            format!("# prod, checked against the controller\n{k2}\n"),
        )
        .unwrap();
        let now = OffsetDateTime::now_utc() + Duration::days(100);
        let repo = Self {
            dir,
            now: now.replace_nanosecond(0).unwrap().format(&Rfc3339).unwrap(),
            date: now.date().to_string(),
        };
        // Due (100 days): one generated item, one external item.
        repo.seal(
            "apps/web/db.yaml",
            "k2",
            &secret(
                "web-db-prod",
                &[("password", PLAINTEXTS[0]), ("user", PLAINTEXTS[1])],
                &[
                    ("sealant.dev/generate.password", "alnum:40"),
                    ("sealant.dev/rollout-restart", "deployment/web"),
                ],
            ),
        );
        // Due: every item generated.
        repo.seal(
            "apps/web/api.yaml",
            "k2",
            &secret(
                "web-api-token-prod",
                &[("token", PLAINTEXTS[2])],
                &[("sealant.dev/generate.token", "hex:32")],
            ),
        );
        // Not due, current key: untouched.
        repo.seal(
            "apps/web/cache.yaml",
            "k2",
            &secret(
                "web-cache-prod",
                &[("url", "redis-url-not-secret")],
                &[("sealant.dev/rotate-every", "365d")],
            ),
        );
        // Not due, old key: re-sealed.
        repo.seal(
            "apps/legacy/old.yaml",
            "k1",
            &secret(
                "legacy-api-key-prod",
                &[("key", PLAINTEXTS[3])],
                &[("sealant.dev/rotate-every", "365d")],
            ),
        );
        std::fs::write(
            repo.work().join("apps/broken.yaml"),
            "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: [broken\n",
        )
        .unwrap();
        std::fs::write(repo.work().join(".gitignore"), "local/\n").unwrap();
        git(&repo.work(), &["add", "-A"]);
        git(&repo.work(), &["commit", "-q", "-m", "gitops"]);
        // A Bitnami-made SealedSecret (no sealant annotations) to the old key, committed long ago: its age comes
        // from git history, its key from trying the escrowed keys.
        repo.seal(
            "apps/bitnami/kubeseal.yaml",
            "k1",
            &secret("bitnami-db-prod", &[("password", "bitnami-made")], &[]),
        );
        let path = repo.work().join("apps/bitnami/kubeseal.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        let stripped: String = text
            .lines()
            .filter(|l| !l.contains("sealant.dev/") && l.trim() != "annotations:")
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&path, stripped).unwrap();
        git(&repo.work(), &["add", "-A"]);
        let out = Command::new("git")
            .current_dir(repo.work())
            .args(["commit", "-q", "-m", "kubeseal-made"])
            .env("GIT_AUTHOR_NAME", "test")
            .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
            .env("GIT_COMMITTER_NAME", "test")
            .env("GIT_COMMITTER_EMAIL", "test@example.invalid")
            .env("GIT_COMMITTER_DATE", "2025-01-01T00:00:00Z")
            .env("GIT_AUTHOR_DATE", "2025-01-01T00:00:00Z")
            .status()
            .unwrap();
        assert!(out.success());
        git(root, &["clone", "-q", "--bare", "work", "remote.git"]);
        git(
            &repo.work(),
            &[
                "remote",
                "add",
                "origin",
                &format!("file://{}", root.join("remote.git").display()),
            ],
        );
        git(&repo.work(), &["fetch", "-q", "origin"]);
        repo
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn work(&self) -> PathBuf {
        self.root().join("work")
    }

    fn remote(&self) -> PathBuf {
        self.root().join("remote.git")
    }

    fn branch(&self) -> String {
        format!("sealant/rotate-{}", self.date)
    }

    fn seal(&self, file: &str, key: &str, secret: &str) {
        let work = self.work();
        let path = work.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let input = self.root().join("input.yaml");
        std::fs::write(&input, secret).unwrap();
        let cert = format!("../{key}/tls.crt");
        ok(
            &work,
            &["seal", "--cert", &cert, "-f", input.to_str().unwrap(), "-w", file],
            &[],
        );
        std::fs::remove_file(input).unwrap();
    }

    /// `sealant rotate` in the work tree with the escrowed keys and the pretend time.
    fn rotate(&self, extra: &[&str], envs: &[(&str, &str)]) -> Output {
        let mut args = vec!["rotate", "--age-identity", "../id.txt", "--now", &self.now];
        args.extend_from_slice(extra);
        run(&self.work(), &args, envs)
    }

    /// What an attacker can make from public data: an empty commit on the job's branch name (checked out, then
    /// left) whose message ends with the dry run's plan digest. Returns the digest.
    fn forge_plan_commit(&self) -> String {
        let out = self.rotate(&["--dry-run", "-o", "json"], &[]);
        let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let digest = plan["digest"].as_str().unwrap().to_string();
        let work = self.work();
        git(&work, &["checkout", "-q", "-b", &self.branch()]);
        let message = format!("chore\n\nSealant-Plan: {digest}\n");
        git(&work, &["commit", "-q", "--allow-empty", "-m", &message]);
        digest
    }

    fn remote_refs(&self) -> String {
        git(&self.remote(), &["for-each-ref", "--format=%(refname) %(objectname)"])
    }

    /// Unseals `file` as it is on `rev` of the remote with one key's private half; None when that key cannot.
    fn unseal_at(&self, rev: &str, file: &str, key: &str) -> Option<String> {
        let text = git(&self.remote(), &["show", &format!("{rev}:{file}")]);
        let input = self.root().join("to-unseal.yaml");
        std::fs::write(&input, text).unwrap();
        let out = run(
            self.root(),
            &[
                "unseal",
                "--key",
                &format!("{key}/tls.key"),
                "-f",
                input.to_str().unwrap(),
                "-o",
                "json",
            ],
            &[],
        );
        out.status.success().then(|| String::from_utf8(out.stdout).unwrap())
    }
}

fn item(unsealed: &str, item: &str) -> Vec<u8> {
    use base64::Engine as _;
    let v: serde_json::Value = serde_json::from_str(unsealed).unwrap();
    let b64 = v["data"][item]
        .as_str()
        .unwrap_or_else(|| panic!("no {item} in {unsealed}"));
    base64::engine::general_purpose::STANDARD.decode(b64).unwrap()
}

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

/// A real Gitea holding `sealant/gitops` with the repository's `main` pushed.
fn gitea_with(repo: &GitOps) -> gitea::Gitea {
    let gitea = gitea::Gitea::start();
    let (status, created) = gitea.api(
        "POST",
        "/user/repos",
        Some(&json!({"name": "gitops", "default_branch": "main"})),
    );
    assert_eq!(status, 201, "{created}");
    git(&repo.work(), &["push", "-q", &gitea.authed_clone_url("gitops"), "main"]);
    gitea
}

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

#[test]
fn seal_without_a_certificate_follows_the_path_rules_of_sealant_yaml() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir_all(work.join("apps/web")).unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    let mut fingerprints = Vec::new();
    for (key, cluster) in [("a", "prod"), ("b", "staging")] {
        ok(dir.path(), &["keys", "new", "--bits", "2048", "--out", key], &[]);
        let cert = format!("../{key}/tls.crt");
        ok(&work, &["keys", "fetch", "--cluster", cluster, "--cert", &cert], &[]);
        let printed = ok(dir.path(), &["keys", "fingerprint", &format!("{key}/tls.crt")], &[]);
        fingerprints.push(printed.split_whitespace().next().unwrap().to_string());
    }
    std::fs::write(
        work.join(".sealant.yaml"),
        "clusters: [{name: prod}, {name: staging}]\npaths:\n  - {glob: 'apps/*/prod/**', clusters: [prod]}\n  - {glob: 'apps/**', clusters: [staging], scope: namespace-wide}\n",
    )
    .unwrap();
    let input = dir.path().join("input.yaml");
    std::fs::write(&input, secret("web-db-prod", &[("password", PLAINTEXTS[0])], &[])).unwrap();
    let input = input.to_str().unwrap();
    // Run from a subdirectory: the repository is found upwards, the rule matched on the path from its root.
    let cwd = work.join("apps/web");
    for sub in ["prod", "dev"] {
        std::fs::create_dir_all(cwd.join(sub)).unwrap();
    }
    ok(&cwd, &["seal", "-f", input, "-w", "prod/db.yaml"], &[]);
    ok(&cwd, &["seal", "-f", input, "-w", "dev/db.yaml"], &[]);
    let prod = std::fs::read_to_string(cwd.join("prod/db.yaml")).unwrap();
    let dev = std::fs::read_to_string(cwd.join("dev/db.yaml")).unwrap();
    assert!(prod.contains(&fingerprints[0]), "sealed to prod's key: {prod}");
    assert!(!prod.contains("namespace-wide"), "{prod}");
    assert!(dev.contains(&fingerprints[1]), "sealed to staging's key: {dev}");
    assert!(
        dev.contains("sealedsecrets.bitnami.com/namespace-wide: \"true\""),
        "the rule's scope: {dev}"
    );
    // No rule and two clusters: a clear error, nothing written.
    let out = run(&work, &["seal", "-f", input, "-w", "elsewhere.yaml"], &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(".sealant.yaml"));
    assert!(!work.join("elsewhere.yaml").exists());
}

#[test]
fn a_certificate_only_the_repository_vouches_for_is_never_a_rotation_target() {
    let repo = GitOps::new();
    let work = repo.work();
    // A repository writer adds their own key pair's certificate and makes it current: a routine-looking commit.
    ok(repo.root(), &["keys", "new", "--bits", "2048", "--out", "mallory"], &[]);
    ok(
        &work,
        &["keys", "fetch", "--cluster", "prod", "--cert", "../mallory/tls.crt"],
        &[],
    );
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "keys: renew prod"]);
    let before = repo.remote_refs();

    let out = run(
        &work,
        &["rotate", "--dry-run", "--now", &repo.now, "--age-identity", "../id.txt"],
        &[],
    );
    let table = String::from_utf8_lossy(&out.stderr);
    assert!(table.contains("is not confirmed"), "{table}");

    let out = repo.rotate(&["--forge", "none"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the repository alone vouches for"), "{stderr}");
    assert_eq!(repo.remote_refs(), before, "something was pushed");
    assert_eq!(git(&work, &["branch", "--list", "sealant/*"]), "");

    // Pinning the writer's certificate (a person checked it) is what lets it through.
    let fp = ok(repo.root(), &["keys", "fingerprint", "mallory/tls.crt"], &[]);
    let fp = fp.split_whitespace().next().unwrap();
    let out = repo.rotate(&["--forge", "none"], &[("SEALANT_TRUST_CERT", fp)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn seal_never_takes_a_sealant_yaml_from_above_the_repository() {
    // Whoever can write a shared parent directory (a CI workspace, /tmp) plants a configuration and a key.
    let dir = tempfile::tempdir().unwrap();
    let parent = dir.path();
    ok(parent, &["keys", "new", "--bits", "2048", "--out", "planted"], &[]);
    ok(
        parent,
        &["keys", "fetch", "--cluster", "prod", "--cert", "planted/tls.crt"],
        &[],
    );
    std::fs::write(parent.join(".sealant.yaml"), "clusters: [{name: prod}]\n").unwrap();
    let work = parent.join("work");
    std::fs::create_dir_all(&work).unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    let input = parent.join("input.yaml");
    std::fs::write(&input, secret("web-db-prod", &[("password", PLAINTEXTS[0])], &[])).unwrap();
    let out = run(&work, &["seal", "-f", input.to_str().unwrap(), "-w", "db.yaml"], &[]);
    assert!(!out.status.success(), "sealed to a key planted above the repository");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no certificate to seal to"));
    assert!(!work.join("db.yaml").exists());

    // Inside the repository, the configuration is used and said: which file chose which key, and that the
    // key is not pinned.
    ok(
        &work,
        &["keys", "fetch", "--cluster", "prod", "--cert", "../planted/tls.crt"],
        &[],
    );
    std::fs::write(work.join(".sealant.yaml"), "clusters: [{name: prod}]\n").unwrap();
    let said = ok(&work, &["seal", "-f", input.to_str().unwrap(), "-w", "db.yaml"], &[]);
    assert!(said.contains("chosen by") && said.contains(".sealant.yaml"), "{said}");
    assert!(said.contains("is not pinned"), "{said}");
}

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
