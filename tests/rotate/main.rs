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

    /// The branch of a run without a pretend time.
    fn branch_at_today(&self) -> String {
        format!("sealant/rotate-{}", OffsetDateTime::now_utc().date())
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

    /// `sealant seal --generate items` for Secret `web/<name>` to `key`, into `file`, committed.
    fn seal_generated(&self, file: &str, key: &str, name: &str, items: &str) {
        let cert = format!("../{key}/tls.crt");
        let args = [
            "seal",
            "--cert",
            &cert,
            "-n",
            "web",
            "--name",
            name,
            "--generate",
            items,
            "-w",
            file,
        ];
        ok(&self.work(), &args, &[]);
        git(&self.work(), &["add", "-A"]);
        git(&self.work(), &["commit", "-q", "-m", name]);
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

/// A real Gitea holding `sealant/gitops` with the repository's `main` pushed.
fn gitea_with(repo: &GitOps) -> gitea::Gitea {
    let gitea = gitea::Gitea::start();
    gitea.push_new_repo("gitops", &repo.work());
    gitea
}

mod forge;
mod hostile;
mod runs;
mod trust;
