//! A real Gitea on loopback for the rotation tests: built from Go modules by tests/tools/gitea.sh (cached in
//! ~/.cache/sealant), one instance per test with its own SQLite database, an admin user and an API token.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The directory holding `gitea` and its `options/`, `templates/`, `public/`.
fn gitea_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| crate::cached_tool("gitea.sh"))
}

/// A running Gitea.
pub struct Gitea {
    child: Child,
    _dir: tempfile::TempDir,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// The admin user.
    pub user: String,
    /// An API token with every scope.
    pub token: String,
}

impl Drop for Gitea {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Gitea {
    /// Starts one and waits until its API answers.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let work = dir.path();
        let url = format!("http://127.0.0.1:{port}");
        // Why the root override: test machines run as root, which Gitea refuses unless told.
        let ini = format!(
            "I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = true\nAPP_NAME = sealant-test\nRUN_MODE = prod\nWORK_PATH = {w}\n\
             [server]\nSTATIC_ROOT_PATH = {s}\nHTTP_ADDR = 127.0.0.1\nHTTP_PORT = {port}\nROOT_URL = {url}/\n\
             DISABLE_SSH = true\nOFFLINE_MODE = true\nLFS_START_SERVER = false\n\
             [database]\nDB_TYPE = sqlite3\nPATH = {w}/gitea.db\n\
             [security]\nINSTALL_LOCK = true\nSECRET_KEY = sealant-test-secret-key-0123456789\n\
             [repository]\nROOT = {w}/repos\nDEFAULT_BRANCH = main\n\
             [log]\nMODE = file\nLEVEL = warn\nROOT_PATH = {w}/log\n\
             [service]\nDISABLE_REGISTRATION = true\n[indexer]\nREPO_INDEXER_ENABLED = false\n\
             [cron]\nENABLED = false\n[mailer]\nENABLED = false\n",
            w = work.display(),
            s = gitea_dir().display(),
        );
        let config = work.join("app.ini");
        std::fs::write(&config, ini).unwrap();
        let gitea = |args: &[&str]| {
            let out = Command::new(gitea_dir().join("gitea"))
                .arg("--config")
                .arg(&config)
                .arg("--work-path")
                .arg(work)
                .args(args)
                .env("HOME", work)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "gitea {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        };
        gitea(&["migrate"]);
        let user = "sealant";
        gitea(&[
            "admin",
            "user",
            "create",
            "--username",
            user,
            "--password",
            "Sealant-test-passw0rd",
            "--email",
            "sealant@example.invalid",
            "--admin",
            "--must-change-password=false",
        ]);
        // The root warning goes to stdout too: the token is the last line.
        let token = gitea(&[
            "admin",
            "user",
            "generate-access-token",
            "--username",
            user,
            "--scopes",
            "all",
            "--raw",
        ])
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_string();
        let child = Command::new(gitea_dir().join("gitea"))
            .arg("--config")
            .arg(&config)
            .arg("--work-path")
            .arg(work)
            .arg("web")
            .env("HOME", work)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let gitea = Gitea {
            child,
            _dir: dir,
            url,
            user: user.into(),
            token,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while gitea.api("GET", "/user", None).0 != 200 {
            assert!(Instant::now() < deadline, "gitea did not start on {}", gitea.url);
            std::thread::sleep(Duration::from_millis(200));
        }
        gitea
    }

    /// Calls the API (`/api/v1` + path) with the token: (status, JSON).
    pub fn api(&self, method: &str, path: &str, body: Option<&serde_json::Value>) -> (u16, serde_json::Value) {
        self.api_with(&format!("token {}", self.token), method, path, body)
    }

    /// Creates repository `name` of the test user (default branch `main`) and pushes `main` of the git work tree
    /// `work` to it.
    pub fn push_new_repo(&self, name: &str, work: &std::path::Path) {
        let (status, created) = self.api(
            "POST",
            "/user/repos",
            Some(&serde_json::json!({"name": name, "default_branch": "main"})),
        );
        assert_eq!(status, 201, "{created}");
        let pushed = std::process::Command::new("git")
            .current_dir(work)
            .args(["push", "-q", &self.authed_clone_url(name), "main"])
            .status()
            .unwrap();
        assert!(pushed.success(), "git push to {name}");
    }

    /// Creates another (non-admin) user and returns an API token of theirs.
    pub fn add_user(&self, name: &str) -> String {
        let password = "Other-test-passw0rd";
        let (status, body) = self.api(
            "POST",
            "/admin/users",
            Some(
                &serde_json::json!({"username": name, "email": format!("{name}@example.invalid"),
                                     "password": password, "must_change_password": false}),
            ),
        );
        assert_eq!(status, 201, "{body}");
        use base64::Engine as _;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{name}:{password}"));
        let (status, token) = self.api_with(
            &format!("Basic {basic}"),
            "POST",
            &format!("/users/{name}/tokens"),
            Some(&serde_json::json!({"name": "t", "scopes": ["all"]})),
        );
        assert_eq!(status, 201, "{token}");
        token["sha1"].as_str().unwrap().to_string()
    }

    /// Calls the API with another user's token.
    pub fn api_as(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        self.api_with(&format!("token {token}"), method, path, body)
    }

    fn api_with(
        &self,
        authorization: &str,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}/api/v1{path}", self.url))
            .header("Authorization", authorization)
            .header("Content-Type", "application/json")
            .body(body.map(|b| b.to_string()).unwrap_or_default())
            .unwrap();
        match agent.run(request) {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let text = response.body_mut().read_to_string().unwrap_or_default();
                (status, serde_json::from_str(&text).unwrap_or_default())
            }
            Err(_) => (0, serde_json::Value::Null),
        }
    }

    /// The HTTP clone URL of `repo` with the admin's token in it, for the test's own pushes.
    pub fn authed_clone_url(&self, repo: &str) -> String {
        self.clone_url(repo)
            .replace("http://", &format!("http://{}:{}@", self.user, self.token))
    }

    /// The HTTP clone URL of `repo` (no credentials in it).
    pub fn clone_url(&self, repo: &str) -> String {
        format!("{}/{}/{repo}.git", self.url, self.user)
    }
}
