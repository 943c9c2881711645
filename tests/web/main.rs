//! The sealing page in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`) driven
//! over WebDriver. The page seals text, binary and generated items in every scope; `sealant unseal` and
//! upstream's `kubeseal --recovery-unseal` give back exactly those bytes; the merge flow keeps the other items;
//! the controller serves the page and turns its output into the right Secret on the real API server. Chromium
//! records every request it makes (its NetLog, with the bytes sent): all of them go to the page's origin, all
//! are GETs, and none carries a value.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use fantoccini::{Client, ClientBuilder, Locator};
use sealant_testenv::cluster::{self, Namespace, free_port, plane, sealant_bin, wait_for, yaml_docs};
use sealant_testenv::controller::Controller;
use sealant_testenv::upstream;
use serde_json::{Value, json};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn which(tool: &str) -> PathBuf {
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        if dir.join(tool).is_file() {
            return dir.join(tool);
        }
    }
    panic!("{tool} is not installed: apt-get install chromium chromium-driver (.ci/run does)");
}

fn sealant(args: &[&str], stdin: &str) -> String {
    let (code, out, err) = upstream::run(Command::new(sealant_bin()).args(args), stdin);
    assert_eq!(code, 0, "sealant {args:?}: {err}");
    out
}

/// The items of the first Secret in `text` (JSON or YAML), decoded to bytes.
fn secret_data(text: &str) -> BTreeMap<String, Vec<u8>> {
    let doc = yaml_docs(text).remove(0);
    assert_eq!(doc["kind"], "Secret", "{doc}");
    doc["data"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), B64.decode(v.as_str().unwrap()).unwrap()))
        .collect()
}

/// A throwaway key pair: (directory, certificate path, key Secret path, fingerprint).
fn keys(dir: &Path) -> (PathBuf, PathBuf, String) {
    let out = dir.join("keys");
    let fingerprint = sealant(&["keys", "new", "--bits", "2048", "--out", out.to_str().unwrap()], "");
    (
        out.join("tls.crt"),
        out.join("key-secret.yaml"),
        fingerprint.trim().to_string(),
    )
}

fn random_marker(what: &str) -> String {
    let mut bytes = [0u8; 9];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut bytes)
        .unwrap();
    format!(
        "canary-{what}-{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// `sealant serve` on a free loopback port.
struct Serve {
    child: Child,
    base: String,
}

impl Serve {
    fn start(cert: Option<&Path>) -> Self {
        let port = free_port();
        let mut cmd = Command::new(sealant_bin());
        cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}")]);
        if let Some(cert) = cert {
            cmd.arg("--cert").arg(cert);
        }
        let child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let base = format!("http://127.0.0.1:{port}/");
        wait_for("sealant serve to answer", Duration::from_secs(30), || {
            cluster::http_get(&format!("{base}healthz"))
                .ok()
                .filter(|(code, _)| *code == 200)
        });
        Self { child, base }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Headless Chromium under chromedriver, recording its network activity in a NetLog.
struct Browser {
    driver: Child,
    client: Option<Client>,
    netlog: PathBuf,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start() -> Self {
        let chromium = which("chromium");
        let chromedriver = which("chromedriver");
        let profile = tempfile::tempdir().unwrap();
        let netlog = profile.path().join("netlog.json");
        let port = free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        wait_for("chromedriver to answer", Duration::from_secs(30), || {
            cluster::http_get(&format!("{url}/status"))
                .ok()
                .filter(|(code, _)| *code == 200)
        });
        let args = [
            "--headless=new".to_string(),
            // Why: the tests run as root in CI, where Chromium's sandbox refuses to start.
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            format!("--user-data-dir={}", profile.path().join("profile").display()),
            "--no-first-run".into(),
            "--no-default-browser-check".into(),
            // Nothing but the page's origin: no background services, and no name resolves but loopback.
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-default-apps".into(),
            "--disable-extensions".into(),
            "--disable-domain-reliability".into(),
            "--disable-client-side-phishing-detection".into(),
            "--no-pings".into(),
            "--disable-features=AutofillServerCommunication,NetworkTimeServiceQuerying,MediaRouter,OptimizationHints"
                .into(),
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1".into(),
            format!("--log-net-log={}", netlog.display()),
            "--net-log-capture-mode=Everything".into(),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("goog:chromeOptions".into(), json!({ "binary": chromium, "args": args }));
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&url)
            .await
            .expect("a Chromium session");
        // Tall enough that a screenshot holds the whole form.
        client.set_window_size(1280, 2400).await.unwrap();
        Self {
            driver,
            client: Some(client),
            netlog,
            _profile: profile,
        }
    }

    fn c(&self) -> &Client {
        self.client.as_ref().unwrap()
    }

    async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.c().execute(script, args).await.unwrap()
    }

    async fn wait_js(&self, what: &str, script: &str) -> Value {
        for _ in 0..300 {
            let v = self.js(script, vec![]).await;
            if !v.is_null() && v != json!(false) && v != json!("") {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("timed out waiting for {what}");
    }

    /// Opens the page and waits until it has a certificate; returns the fingerprint it shows.
    async fn open(&self, base: &str) -> String {
        self.c().goto(base).await.unwrap();
        self.wait_js(
            "the page to load its certificate",
            "return document.getElementById('cert-info').hidden ? null : document.getElementById('cert-fingerprint').textContent",
        )
        .await
        .as_str()
        .unwrap()
        .to_string()
    }

    async fn typ(&self, id: &str, text: &str) {
        let el = self.c().find(Locator::Id(id)).await.unwrap();
        el.clear().await.unwrap();
        el.send_keys(text).await.unwrap();
    }

    async fn select(&self, id: &str, value: &str) {
        self.js(
            "const el = document.getElementById(arguments[0]); el.value = arguments[1]; \
             el.dispatchEvent(new Event('change')); return el.value",
            vec![json!(id), json!(value)],
        )
        .await;
    }

    async fn click(&self, id: &str) {
        self.c().find(Locator::Id(id)).await.unwrap().click().await.unwrap();
    }

    /// A string `script` returns for the element id `id` (its `arguments[0]`).
    async fn string_for(&self, script: &str, id: &str) -> String {
        self.js(script, vec![json!(id)]).await.as_str().unwrap().to_string()
    }

    async fn value(&self, id: &str) -> String {
        self.string_for("return document.getElementById(arguments[0]).value", id)
            .await
    }

    async fn text(&self, id: &str) -> String {
        self.string_for("return document.getElementById(arguments[0]).textContent", id)
            .await
    }

    /// Runs axe-core (from the npm registry, tests/tools/axe-core.sh) on the page as it is; returns its violations.
    async fn axe(&self) -> Value {
        let source = std::fs::read_to_string(sealant_testenv::cached_tool("axe-core.sh")).unwrap();
        self.js(&format!("{source}\nreturn typeof axe"), vec![]).await;
        let found = self
            .c()
            .execute_async(
                "const done = arguments[arguments.length - 1]; \
                 axe.run(document, { resultTypes: ['violations'] }) \
                   .then((r) => done(r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, \
                      nodes: v.nodes.map((n) => n.target.join(' ')) })))) \
                   .catch((e) => done('axe failed: ' + e));",
                vec![],
            )
            .await
            .unwrap();
        assert!(found.is_array(), "{found}");
        found
    }

    /// A PNG of the page, kept under target/web-screenshots/ as a test artifact.
    async fn screenshot(&self, name: &str) {
        let png = self.c().screenshot().await.unwrap();
        let dir = sealant_testenv::repo_root().join("target/web-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// The message shown next to a field, if any.
    async fn field_error(&self, id: &str) -> String {
        self.string_for(
            "const e = document.getElementById(arguments[0] + '-error'); return e ? e.textContent : ''",
            id,
        )
        .await
    }

    /// Clicks Seal and returns the output, or panics with the page's error.
    async fn seal(&self) -> String {
        self.js("document.getElementById('output').value = ''", vec![]).await;
        self.click("seal").await;
        let out = self
            .wait_js(
                "the page to seal",
                "const e = document.getElementById('error').textContent; \
                 return e ? 'ERROR: ' + e : document.getElementById('output').value",
            )
            .await;
        let out = out.as_str().unwrap().to_string();
        assert!(!out.starts_with("ERROR: "), "{out}");
        out
    }

    /// Ends the session and returns what Chromium's NetLog recorded.
    async fn finish(mut self) -> NetLog {
        self.client.take().unwrap().close().await.unwrap();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let mut text = String::new();
        for _ in 0..100 {
            text = std::fs::read_to_string(&self.netlog).unwrap_or_default();
            if text.trim_end().ends_with('}') {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // A log cut short by the browser's exit lacks its closing brackets.
        let log: Value = serde_json::from_str(&text)
            .or_else(|_| serde_json::from_str(&format!("{}]}}", text.trim_end().trim_end_matches(','))))
            .expect("Chromium's NetLog parses");
        let types = &log["constants"]["logEventTypes"];
        let id = |name: &str| types[name].as_u64().unwrap_or_else(|| panic!("NetLog has no {name}"));
        let (start_job, bytes_sent) = (id("URL_REQUEST_START_JOB"), id("SOCKET_BYTES_SENT"));
        let connect = id("TCP_CONNECT_ATTEMPT");
        let mut connects = Vec::new();
        let mut requests = Vec::new();
        let mut sockets: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
        for event in log["events"].as_array().unwrap() {
            let kind = event["type"].as_u64().unwrap_or_default();
            if kind == start_job && event["phase"] != 2 {
                let p = &event["params"];
                requests.push((
                    p["method"].as_str().unwrap_or_default().to_string(),
                    p["url"].as_str().unwrap_or_default().to_string(),
                ));
            } else if kind == connect {
                if let Some(address) = event["params"]["address"].as_str() {
                    connects.push(address.to_string());
                }
            } else if kind == bytes_sent
                && let Some(bytes) = event["params"]["bytes"].as_str()
            {
                let source = event["source"]["id"].as_u64().unwrap();
                sockets.entry(source).or_default().extend(B64.decode(bytes).unwrap());
            }
        }
        NetLog {
            requests,
            connects,
            sent: sockets.into_values().collect(),
        }
    }
}

/// What Chromium's NetLog recorded.
struct NetLog {
    /// Every request: method and URL.
    requests: Vec<(String, String)>,
    /// Every address a TCP connection was attempted to.
    connects: Vec<String>,
    /// The bytes sent on each socket.
    sent: Vec<Vec<u8>>,
}

/// The page's own requests (those to `origins`) are GETs; the browser's background requests (update checks and
/// the like) never connected anywhere, since no name resolves but loopback; every connection went to loopback; and
/// no canary left the browser in any form (raw, base64, percent-encoded) in a URL or in the bytes sent.
fn assert_nothing_secret_left(log: &NetLog, origins: &[&str], canaries: &[Vec<u8>], probe: &str) {
    eprintln!("every request the browser made:");
    for (method, url) in &log.requests {
        let whose = if origins.iter().any(|o| url.starts_with(o)) {
            "page"
        } else {
            "browser, not resolved"
        };
        eprintln!("  {method} {url}  ({whose})");
    }
    assert!(
        log.requests.iter().any(|(_, url)| url.ends_with("/v1/cert.pem")),
        "the NetLog did not record the page's own requests: {:?}",
        log.requests
    );
    for (method, url) in &log.requests {
        if origins.iter().any(|o| url.starts_with(o)) {
            assert_eq!(method, "GET", "the page sent a {method} to {url}");
        }
    }
    assert!(!log.connects.is_empty(), "the NetLog recorded no connection");
    for address in &log.connects {
        assert!(address.starts_with("127.0.0.1:"), "the browser connected to {address}");
    }
    let mut haystack: Vec<u8> = log.sent.concat();
    for (_, url) in &log.requests {
        haystack.extend(url.as_bytes());
    }
    // The detector itself works: the probe the test put into a URL is found in the bytes sent.
    let sent: Vec<u8> = log.sent.concat();
    assert!(
        sent.windows(probe.len()).any(|w| w == probe.as_bytes()),
        "the recorded bytes do not hold the probe: the NetLog captured no request bytes"
    );
    for canary in canaries {
        let forms = [
            canary.clone(),
            B64.encode(canary).into_bytes(),
            url_encode(canary).into_bytes(),
        ];
        for form in forms {
            let needle = &form[..form.len().min(24)];
            assert!(
                !haystack.windows(needle.len()).any(|w| w == needle),
                "a value was sent by the browser"
            );
        }
    }
}

fn url_encode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (*b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn kubeseal_recover(key_secret: &Path, sealed: &str) -> String {
    let (code, out, err) = upstream::run(
        Command::new(upstream::upstream().join("kubeseal"))
            .args(["--recovery-unseal", "--recovery-private-key"])
            .arg(key_secret)
            .args(["-o", "json"])
            .env("KUBECONFIG", "/nonexistent"),
        sealed,
    );
    assert_eq!(code, 0, "kubeseal --recovery-unseal: {err}");
    out
}

mod report;
mod sealing;
mod served;
