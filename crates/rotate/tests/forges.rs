//! Contract tests of the GitHub and GitLab pull-request APIs as documented (GitHub REST 2022-11-28: pulls;
//! GitLab REST v4: merge_requests), against a scripted server on loopback: every request's method, path, query,
//! auth header and JSON is checked, and every documented failure (401, 403, 404, 409/422, 429 and the
//! rate-limit headers) must come back as a clear error that never holds the token. Gitea is tested against a
//! real Gitea in the workspace's tests/rotate/.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use sealant_rotate::forge::{self, ForgeError, Kind, PullRequest};
use secrecy::SecretString;
use serde_json::{Value, json};

const TOKEN: &str = "forge-token-must-not-leak";

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    uri: String,
    headers: HeaderMap,
    body: Value,
}

/// One scripted answer: status, extra headers, JSON body.
type Answer = (u16, Vec<(&'static str, String)>, Value);

#[derive(Default)]
struct Script {
    answers: VecDeque<Answer>,
    seen: Vec<Seen>,
}

/// A server that answers requests with the scripted answers, in order, and records them.
struct Server {
    url: String,
    script: Arc<Mutex<Script>>,
    _runtime: tokio::runtime::Runtime,
}

impl Server {
    fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let script = Arc::new(Mutex::new(Script::default()));
        let shared = script.clone();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let script = shared.clone();
            async move {
                let mut s = script.lock().unwrap();
                s.seen.push(Seen {
                    method: method.to_string(),
                    uri: uri.to_string(),
                    headers,
                    body: serde_json::from_slice(&body).unwrap_or(Value::Null),
                });
                let Some((status, headers, body)) = s.answers.pop_front() else {
                    return (StatusCode::INTERNAL_SERVER_ERROR, "unscripted request").into_response();
                };
                let mut response: Response = (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response();
                for (k, v) in headers {
                    response.headers_mut().insert(k, v.parse().unwrap());
                }
                response
            }
        });
        runtime.spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            url,
            script,
            _runtime: runtime,
        }
    }

    fn answer(&self, status: u16, body: Value) -> &Self {
        self.script
            .lock()
            .unwrap()
            .answers
            .push_back((status, Vec::new(), body));
        self
    }

    fn answer_with(&self, status: u16, headers: &[(&'static str, &str)], body: Value) -> &Self {
        let headers = headers.iter().map(|(k, v)| (*k, v.to_string())).collect();
        self.script.lock().unwrap().answers.push_back((status, headers, body));
        self
    }

    fn seen(&self) -> Vec<Seen> {
        std::mem::take(&mut self.script.lock().unwrap().seen)
    }
}

fn connect(kind: Kind, server: &Server, repo: &str) -> Box<dyn forge::Forge> {
    forge::connect(kind, Some(&server.url), repo, SecretString::from(TOKEN.to_string())).unwrap()
}

fn github_pr(number: u64, head: &str, body: &str) -> Value {
    json!({"number": number, "html_url": format!("https://github.example/org/gitops/pull/{number}"),
           "state": "open", "user": {"login": "rotation-bot"},
           "head": {"ref": head, "sha": "abc", "repo": {"full_name": "org/gitops"}},
           "base": {"ref": "main", "repo": {"full_name": "org/gitops"}}, "body": body})
}

fn gitlab_mr(iid: u64, source: &str, description: &str) -> Value {
    json!({"id": 1000 + iid, "iid": iid, "web_url": format!("https://gitlab.example/org/gitops/-/merge_requests/{iid}"),
           "state": "opened", "source_branch": source, "target_branch": "main", "description": description,
           "author": {"username": "rotation-bot"}, "source_project_id": 5, "target_project_id": 5})
}

#[test]
fn github_finds_opens_and_updates_pull_requests_as_documented() {
    let server = Server::start();
    let gh = connect(Kind::GitHub, &server, "org/gitops");
    server.answer(200, json!([github_pr(7, "feature/x", "")]));
    assert_eq!(gh.find_open("sealant/rotate-", "main", None).unwrap(), None);
    server.answer(201, github_pr(8, "sealant/rotate-2026-11-23", "table"));
    let pr = gh
        .create("sealant/rotate-2026-11-23", "main", "Rotate", "table")
        .unwrap();
    assert_eq!((pr.number, pr.head.as_str()), (8, "sealant/rotate-2026-11-23"));
    server.answer(
        200,
        json!([
            github_pr(7, "feature/x", ""),
            github_pr(8, "sealant/rotate-2026-11-23", "table")
        ]),
    );
    let found = gh.find_open("sealant/rotate-", "main", None).unwrap().unwrap();
    assert_eq!(found.number, 8);
    server.answer(200, github_pr(8, "sealant/rotate-2026-11-23", "new table"));
    assert_eq!(gh.update(&found, "Rotate", "new table").unwrap().body, "new table");

    let seen = server.seen();
    let calls: Vec<String> = seen.iter().map(|s| format!("{} {}", s.method, s.uri)).collect();
    assert_eq!(
        calls,
        [
            "GET /repos/org/gitops/pulls?state=open&base=main&per_page=100",
            "POST /repos/org/gitops/pulls",
            "GET /repos/org/gitops/pulls?state=open&base=main&per_page=100",
            "PATCH /repos/org/gitops/pulls/8",
        ]
    );
    for s in &seen {
        assert_eq!(s.headers["authorization"], format!("Bearer {TOKEN}"));
        assert_eq!(s.headers["x-github-api-version"], "2022-11-28");
        assert!(
            s.headers.contains_key("user-agent"),
            "GitHub refuses requests without a User-Agent"
        );
    }
    assert_eq!(seen[1].body["head"], "sealant/rotate-2026-11-23");
    assert_eq!(seen[1].body["base"], "main");
    assert_eq!(seen[1].body["title"], "Rotate");
    assert_eq!(seen[1].body["body"], "table");
    assert_eq!(seen[3].body, json!({"title": "Rotate", "body": "new table"}));
}

#[test]
fn gitlab_finds_opens_and_updates_merge_requests_as_documented() {
    let server = Server::start();
    let gl = connect(Kind::GitLab, &server, "platform/infra/gitops");
    server.answer(200, json!([]));
    assert_eq!(gl.find_open("sealant/rotate-", "main", None).unwrap(), None);
    server.answer(201, gitlab_mr(3, "sealant/rotate-2026-11-23", "table"));
    let mr = gl
        .create("sealant/rotate-2026-11-23", "main", "Rotate", "table")
        .unwrap();
    assert_eq!(mr.number, 3, "the iid, not the global id");
    server.answer(200, json!([gitlab_mr(3, "sealant/rotate-2026-11-23", "table")]));
    let found = gl.find_open("sealant/rotate-", "main", None).unwrap().unwrap();
    server.answer(200, gitlab_mr(3, "sealant/rotate-2026-11-23", "new"));
    assert_eq!(gl.update(&found, "Rotate", "new").unwrap().body, "new");

    let seen = server.seen();
    let calls: Vec<String> = seen.iter().map(|s| format!("{} {}", s.method, s.uri)).collect();
    assert_eq!(
        calls,
        [
            "GET /projects/platform%2Finfra%2Fgitops/merge_requests?state=opened&target_branch=main&per_page=100",
            "POST /projects/platform%2Finfra%2Fgitops/merge_requests",
            "GET /projects/platform%2Finfra%2Fgitops/merge_requests?state=opened&target_branch=main&per_page=100",
            "PUT /projects/platform%2Finfra%2Fgitops/merge_requests/3",
        ]
    );
    for s in &seen {
        assert_eq!(s.headers["private-token"], TOKEN);
    }
    assert_eq!(seen[1].body["source_branch"], "sealant/rotate-2026-11-23");
    assert_eq!(seen[1].body["target_branch"], "main");
    assert_eq!(seen[1].body["description"], "table");
    assert_eq!(seen[3].body, json!({"title": "Rotate", "description": "new"}));
}

fn no_token(e: &ForgeError) -> String {
    let text = e.to_string();
    assert!(!text.contains(TOKEN), "the token leaked into {text}");
    assert!(!format!("{e:?}").contains(TOKEN));
    text
}

#[test]
fn auth_not_found_conflict_and_rate_limit_answers_become_clear_errors_on_every_forge() {
    let server = Server::start();
    for kind in [Kind::GitHub, Kind::GitLab, Kind::Gitea] {
        let f = connect(kind, &server, "org/gitops");
        let name = f.name();
        server.answer(401, json!({"message": "Bad credentials"}));
        let e = f.find_open("sealant/rotate-", "main", None).unwrap_err();
        let text = no_token(&e);
        assert!(matches!(e, ForgeError::Auth { status: 401, .. }), "{name}: {e:?}");
        assert!(text.contains("refused the token (401): Bad credentials"), "{text}");

        server.answer(403, json!({"message": "Resource not accessible by integration"}));
        let e = f.create("h", "main", "t", "b").unwrap_err();
        assert!(matches!(e, ForgeError::Auth { status: 403, .. }), "{name}: {e:?}");

        // Gitea retries a 404 on create (its branch sync lags a push); GitHub and GitLab do not.
        let tries = if kind == Kind::Gitea { 7 } else { 1 };
        for _ in 0..tries {
            server.answer(404, json!({"message": "Not Found"}));
        }
        let e = f.create("h", "main", "t", "b").unwrap_err();
        let text = no_token(&e);
        assert!(matches!(e, ForgeError::NotFound { .. }), "{name}: {e:?}");
        assert!(text.contains("\"org/gitops\""), "{text}");

        server.answer(422, json!({"message": "Validation Failed", "errors": [{"message": "A pull request already exists for org:h."}]}));
        let e = f.create("h", "main", "t", "b").unwrap_err();
        let text = no_token(&e);
        assert!(matches!(e, ForgeError::Refused { status: 422, .. }), "{name}: {e:?}");
        assert!(text.contains("A pull request already exists"), "{text}");

        server.answer(
            409,
            json!({"message": ["Another open merge request already exists for this source branch: !3"]}),
        );
        let e = f.create("h", "main", "t", "b").unwrap_err();
        assert!(no_token(&e).contains("Another open merge request"), "{name}: {e}");

        server.answer_with(429, &[("retry-after", "30")], json!({"message": "Too Many Requests"}));
        let e = f.find_open("sealant/rotate-", "main", None).unwrap_err();
        assert!(
            matches!(
                e,
                ForgeError::RateLimited {
                    retry_after: Some(30),
                    ..
                }
            ),
            "{name}: {e:?}"
        );
        assert!(no_token(&e).contains("retry after 30 s"));

        // GitHub's primary rate limit is a 403 with the remaining count at 0.
        server.answer_with(
            403,
            &[("x-ratelimit-remaining", "0")],
            json!({"message": "API rate limit exceeded"}),
        );
        let e = f.find_open("sealant/rotate-", "main", None).unwrap_err();
        assert!(matches!(e, ForgeError::RateLimited { .. }), "{name}: {e:?}");

        server.answer(500, json!({"message": "boom"}));
        let e = f
            .update(
                &PullRequest {
                    number: 1,
                    url: String::new(),
                    head: "h".into(),
                    body: String::new(),
                    author: String::new(),
                    same_repository: true,
                },
                "t",
                "b",
            )
            .unwrap_err();
        assert!(no_token(&e).contains("HTTP 500: boom"), "{name}: {e}");

        // A 200 without the documented fields is an error, not a pull request numbered 0.
        server.answer(201, json!({"unexpected": true}));
        let e = f.create("h", "main", "t", "b").unwrap_err();
        assert!(matches!(e, ForgeError::Unexpected { .. }), "{name}: {e:?}");
        server.seen();
    }
}

#[test]
fn an_unreachable_forge_says_so_and_a_public_forge_needs_no_url_but_gitea_does() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let f = forge::connect(
        Kind::GitLab,
        Some(&format!("http://127.0.0.1:{port}")),
        "o/r",
        SecretString::from(TOKEN.to_string()),
    )
    .unwrap();
    let e = f.find_open("sealant/rotate-", "main", None).unwrap_err();
    assert!(matches!(e, ForgeError::Unreachable { .. }), "{e:?}");
    assert!(no_token(&e).starts_with("cannot reach GitLab at http://127.0.0.1:"));
    assert!(forge::connect(Kind::Gitea, None, "o/r", SecretString::from(String::new())).is_err());
    assert!(forge::connect(Kind::GitHub, None, "no-slash", SecretString::from(String::new())).is_err());
}

#[test]
fn pull_requests_from_forks_or_other_authors_are_never_adopted() {
    let server = Server::start();
    let gh = connect(Kind::GitHub, &server, "org/gitops");
    let mut fork = github_pr(9, "sealant/rotate-2026-11-23", "Sealant-Plan: x");
    fork["head"]["repo"]["full_name"] = json!("mallory/gitops");
    let mut stranger = github_pr(10, "sealant/rotate-2026-11-24", "Sealant-Plan: x");
    stranger["user"]["login"] = json!("mallory");
    let ours = github_pr(11, "sealant/rotate-2026-11-25", "");
    server.answer(200, json!({"login": "rotation-bot"}));
    assert_eq!(gh.token_user().unwrap(), "rotation-bot");
    server.answer(200, json!([fork.clone(), stranger.clone()]));
    assert_eq!(
        gh.find_open("sealant/rotate-", "main", Some("rotation-bot")).unwrap(),
        None
    );
    server.answer(200, json!([fork, stranger, ours]));
    let found = gh
        .find_open("sealant/rotate-", "main", Some("rotation-bot"))
        .unwrap()
        .unwrap();
    assert_eq!(found.number, 11);
    assert_eq!(server.seen()[0].uri, "/user");

    let gl = connect(Kind::GitLab, &server, "org/gitops");
    let mut forked = gitlab_mr(4, "sealant/rotate-2026-11-23", "");
    forked["source_project_id"] = json!(99);
    server.answer(200, json!({"username": "rotation-bot"}));
    assert_eq!(gl.token_user().unwrap(), "rotation-bot");
    server.answer(200, json!([forked]));
    assert_eq!(
        gl.find_open("sealant/rotate-", "main", Some("rotation-bot")).unwrap(),
        None
    );
}

#[test]
fn a_token_is_never_sent_over_plain_http_to_another_host_nor_after_a_redirect() {
    for url in [
        "http://gitea.example/api/v1",
        "http://10.1.2.3:3000/api/v1",
        "ftp://x/y",
    ] {
        let e = forge::connect(
            Kind::Gitea,
            Some(url),
            "org/gitops",
            SecretString::from(TOKEN.to_string()),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("token"), "{e}");
    }
    for url in [
        "http://127.0.0.1:3000/api/v1",
        "http://localhost/api/v1",
        "http://[::1]:8/x",
        "https://gitea.example",
    ] {
        assert!(forge::check_token_url(url).is_ok(), "{url}");
    }
    // A 302 to elsewhere: the request is not repeated there (GitLab's PRIVATE-TOKEN would go with it).
    let target = Server::start();
    let server = Server::start();
    let gl = connect(Kind::GitLab, &server, "org/gitops");
    server.answer_with(302, &[("location", &format!("{}/stolen", target.url))], json!({}));
    assert!(gl.find_open("sealant/rotate-", "main", None).is_err());
    assert!(target.seen().is_empty(), "the token followed the redirect");
}
