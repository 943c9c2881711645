//! Pull requests on GitHub, GitLab and Gitea behind one trait: find the open rotation pull request, open one,
//! update its title and body. One HTTP client (ureq on rustls + AWS-LC) and one error mapping for all three, so
//! an expired token, a missing repository, a conflict or a rate limit reads the same whichever forge said it.

mod gitea;
mod github;
mod gitlab;

use secrecy::{ExposeSecret as _, SecretString};
use serde_json::Value;

pub use gitea::Gitea;
pub use github::GitHub;
pub use gitlab::GitLab;

/// An open pull (or merge) request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    /// Number (GitLab: `iid`).
    pub number: u64,
    /// Web address.
    pub url: String,
    /// Source branch.
    pub head: String,
    /// Body (description).
    pub body: String,
    /// Who opened it (login or username).
    pub author: String,
    /// Whether its source branch is in the base repository itself (not a fork).
    pub same_repository: bool,
}

/// What went wrong talking to a forge. Never holds the token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ForgeError {
    /// No answer (DNS, connection refused, TLS, timeout).
    #[error("cannot reach {forge} at {url}: {message}")]
    Unreachable {
        /// Forge name.
        forge: &'static str,
        /// The API URL.
        url: String,
        /// Why.
        message: String,
    },
    /// 401, or 403 without a rate limit.
    #[error(
        "{forge} refused the token ({status}): {message}; check that it is valid and may write pull requests to {repo}"
    )]
    Auth {
        /// Forge name.
        forge: &'static str,
        /// HTTP status.
        status: u16,
        /// The repository.
        repo: String,
        /// The forge's message.
        message: String,
    },
    /// 404.
    #[error("{forge}: {what} not found (404): check the repository name {repo:?} and that the token can see it")]
    NotFound {
        /// Forge name.
        forge: &'static str,
        /// The repository.
        repo: String,
        /// What was asked for.
        what: String,
    },
    /// 409 or 422: the forge refused the request as it stands.
    #[error("{forge} refused to {what} ({status}): {message}")]
    Refused {
        /// Forge name.
        forge: &'static str,
        /// What was being done.
        what: String,
        /// HTTP status.
        status: u16,
        /// The forge's message.
        message: String,
    },
    /// 429, or 403 with the rate limit spent.
    #[error("{forge} rate limit reached{}; try again later", .retry_after.map(|s| format!(" (retry after {s} s)")).unwrap_or_default())]
    RateLimited {
        /// Forge name.
        forge: &'static str,
        /// Seconds to wait, when the forge says.
        retry_after: Option<u64>,
    },
    /// The settings name no usable forge (kind, repository, URL): nothing was sent.
    #[error("{0}")]
    Settings(String),
    /// Any other status, or an answer that is not what the API documents.
    #[error("{forge}: {what}: {message}")]
    Unexpected {
        /// Forge name.
        forge: &'static str,
        /// What was being done.
        what: String,
        /// What came back.
        message: String,
    },
}

/// One forge's pull-request API.
pub trait Forge {
    /// `GitHub`, `GitLab` or `Gitea`.
    fn name(&self) -> &'static str;
    /// The login of the token's user.
    fn token_user(&self) -> Result<String, ForgeError>;
    /// The open pull request into `base` whose source branch starts with `prefix`, from a branch of the base
    /// repository itself and, when `author` is given, opened by that user; if any.
    ///
    /// Why both filters: anyone can open a pull request from a fork with a branch named `sealant/rotate-…`;
    /// adopting it would let them steer (or silence, through a plan digest in its body) the rotation job.
    fn find_open(&self, prefix: &str, base: &str, author: Option<&str>) -> Result<Option<PullRequest>, ForgeError>;
    /// Opens a pull request from `head` into `base`.
    fn create(&self, head: &str, base: &str, title: &str, body: &str) -> Result<PullRequest, ForgeError>;
    /// Replaces the title and body of `pr`.
    fn update(&self, pr: &PullRequest, title: &str, body: &str) -> Result<PullRequest, ForgeError>;
}

/// Which forge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// github.com or GitHub Enterprise.
    GitHub,
    /// gitlab.com or self-managed GitLab.
    GitLab,
    /// Gitea or Forgejo.
    Gitea,
}

impl std::str::FromStr for Kind {
    type Err = ForgeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "github" => Ok(Kind::GitHub),
            "gitlab" => Ok(Kind::GitLab),
            "gitea" | "forgejo" => Ok(Kind::Gitea),
            other => Err(ForgeError::Settings(format!(
                "unknown forge {other:?}: want github, gitlab or gitea"
            ))),
        }
    }
}

/// Connects to a forge. `api` is the API base URL (`None`: the public service; Gitea needs it).
pub fn connect(kind: Kind, api: Option<&str>, repo: &str, token: SecretString) -> Result<Box<dyn Forge>, ForgeError> {
    if !repo.contains('/') {
        return Err(ForgeError::Settings(format!(
            "forge repository {repo:?}: want owner/name"
        )));
    }
    if let Some(api) = api {
        check_token_url(api)?;
    }
    Ok(match kind {
        Kind::GitHub => Box::new(GitHub::new(Http::new(
            "GitHub",
            api.unwrap_or("https://api.github.com"),
            repo,
            ("Authorization", "Bearer"),
            token,
        ))),
        Kind::GitLab => Box::new(GitLab::new(Http::new(
            "GitLab",
            api.unwrap_or("https://gitlab.com/api/v4"),
            repo,
            ("PRIVATE-TOKEN", ""),
            token,
        ))),
        Kind::Gitea => {
            let api = api.ok_or_else(|| {
                ForgeError::Settings(
                    "Gitea has no public service: give --forge-url (e.g. https://gitea.example/api/v1)".into(),
                )
            })?;
            Box::new(Gitea::new(Http::new(
                "Gitea",
                api,
                repo,
                ("Authorization", "token"),
                token,
            )))
        }
    })
}

/// Refuses to send a token over plain `http://` except to this machine (loopback: a forge in a test, or
/// reached through a local tunnel): anyone on the path would read it.
pub fn check_token_url(url: &str) -> Result<(), ForgeError> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(ForgeError::Settings(format!("{url:?} is not a URL (want https://…)")));
    };
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(()),
        "http" => {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            let host = match host.strip_prefix('[') {
                Some(v6) => v6.split(']').next().unwrap_or_default(),
                None => host.rsplit_once(':').map_or(host, |(h, _)| h),
            };
            let loopback = host.eq_ignore_ascii_case("localhost")
                || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
            if loopback {
                Ok(())
            } else {
                Err(ForgeError::Settings(format!(
                    "refusing to send a token over plain http to {host}: use https:// (http is accepted for loopback only)"
                )))
            }
        }
        other => Err(ForgeError::Settings(format!(
            "{url:?}: unsupported scheme {other:?} for a token (want https)"
        ))),
    }
}

/// The shared HTTP side: JSON in and out, the token in one header, statuses mapped to [`ForgeError`].
pub struct Http {
    forge: &'static str,
    base: String,
    repo: String,
    auth: (&'static str, &'static str),
    token: SecretString,
    agent: ureq::Agent,
}

impl Http {
    fn new(
        forge: &'static str,
        base: &str,
        repo: &str,
        auth: (&'static str, &'static str),
        token: SecretString,
    ) -> Self {
        // The shared agent: no redirects, because the token travels in a header (GitLab's `PRIVATE-TOKEN` is not
        // stripped on a redirect to another host as `Authorization` is), so a 3xx could hand it to whoever it names.
        let agent = sealant_client::agent("sealant-rotate");
        Self {
            forge,
            base: base.trim_end_matches('/').to_string(),
            repo: repo.to_string(),
            auth,
            token,
            agent,
        }
    }

    /// Sends `method path` with an optional JSON body; `what` names the operation in errors.
    fn send(&self, method: &str, path: &str, body: Option<&Value>, what: &str) -> Result<Value, ForgeError> {
        let url = format!("{}{path}", self.base);
        let (header, scheme) = self.auth;
        let credential = if scheme.is_empty() {
            self.token.expose_secret().to_string()
        } else {
            format!("{scheme} {}", self.token.expose_secret())
        };
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(&url)
            .header("Accept", "application/json")
            .header(header, credential);
        let request = if self.forge == "GitHub" {
            request
                .header("Accept", "application/vnd.github+json")
                .header("X-GitHub-Api-Version", "2022-11-28")
        } else {
            request
        };
        let sent = match body {
            Some(body) => {
                let request = request
                    .header("Content-Type", "application/json")
                    .body(body.to_string())
                    .map_err(|e| self.unexpected(what, e.to_string()))?;
                self.agent.run(request)
            }
            None => {
                let request = request.body(()).map_err(|e| self.unexpected(what, e.to_string()))?;
                self.agent.run(request)
            }
        };
        let mut response = sent.map_err(|e| ForgeError::Unreachable {
            forge: self.forge,
            url: self.base.clone(),
            message: e.to_string(),
        })?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let retry_after = header("retry-after").and_then(|v| v.parse().ok());
        let spent = header("x-ratelimit-remaining").as_deref() == Some("0");
        let text = response
            .body_mut()
            .with_config()
            .limit(16 * 1024 * 1024)
            .read_to_string()
            .unwrap_or_default();
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let message = message_of(&json, &text);
        match status {
            200..=299 => Ok(json),
            429 => Err(ForgeError::RateLimited {
                forge: self.forge,
                retry_after,
            }),
            403 if spent || retry_after.is_some() => Err(ForgeError::RateLimited {
                forge: self.forge,
                retry_after,
            }),
            401 | 403 => Err(ForgeError::Auth {
                forge: self.forge,
                status,
                repo: self.repo.clone(),
                message,
            }),
            404 => Err(ForgeError::NotFound {
                forge: self.forge,
                repo: self.repo.clone(),
                what: what.to_string(),
            }),
            409 | 422 => Err(ForgeError::Refused {
                forge: self.forge,
                what: what.to_string(),
                status,
                message,
            }),
            _ => Err(self.unexpected(what, format!("HTTP {status}: {message}"))),
        }
    }

    fn unexpected(&self, what: &str, message: String) -> ForgeError {
        ForgeError::Unexpected {
            forge: self.forge,
            what: what.to_string(),
            message,
        }
    }
}

/// The human part of an error answer: GitHub `message` (+ `errors[].message`), GitLab `message`/`error`, Gitea
/// `message`. Cut short, so an HTML error page does not flood the terminal.
fn message_of(json: &Value, text: &str) -> String {
    let mut parts = Vec::new();
    for key in ["message", "error"] {
        match &json[key] {
            Value::String(s) => parts.push(s.clone()),
            Value::Array(a) => parts.extend(a.iter().filter_map(|v| v.as_str().map(str::to_string))),
            Value::Object(_) => parts.push(json[key].to_string()),
            _ => {}
        }
    }
    if let Some(errors) = json["errors"].as_array() {
        parts.extend(errors.iter().filter_map(|e| e["message"].as_str().map(str::to_string)));
    }
    let joined = if parts.is_empty() {
        text.trim().to_string()
    } else {
        parts.join("; ")
    };
    joined.chars().take(300).collect()
}

/// Reads a field the API documents, or says which one is missing.
/// A pull request as GitHub and Gitea (which mirrors GitHub's API) describe it.
fn github_style_pr(forge: &'static str, json: &Value, what: &str) -> Result<PullRequest, ForgeError> {
    let f = |k| field(forge, json, k, what);
    let repo = |side: &str| json[side]["repo"]["full_name"].as_str().map(str::to_ascii_lowercase);
    Ok(PullRequest {
        number: f("number")?.as_u64().unwrap_or_default(),
        url: f("html_url")?.as_str().unwrap_or_default().to_string(),
        head: json["head"]["ref"].as_str().unwrap_or_default().to_string(),
        body: json["body"].as_str().unwrap_or_default().to_string(),
        author: json["user"]["login"].as_str().unwrap_or_default().to_string(),
        same_repository: repo("head").is_some() && repo("head") == repo("base"),
    })
}

/// Whether a listed pull request may be adopted as the rotation pull request (see [`Forge::find_open`]).
fn adoptable(pr: &PullRequest, prefix: &str, author: Option<&str>) -> bool {
    pr.head.starts_with(prefix) && pr.same_repository && author.is_none_or(|a| a.eq_ignore_ascii_case(&pr.author))
}

/// `GET /user`: the token's own account, its `key` field (`login`, GitLab `username`).
fn token_user(http: &Http, key: &str) -> Result<String, ForgeError> {
    let what = "read the token's user";
    let me = http.send("GET", "/user", None, what)?;
    Ok(field(http.forge, &me, key, what)?
        .as_str()
        .unwrap_or_default()
        .to_string())
}

fn field<'v>(forge: &'static str, json: &'v Value, key: &str, what: &str) -> Result<&'v Value, ForgeError> {
    json.get(key)
        .filter(|v| !v.is_null())
        .ok_or_else(|| ForgeError::Unexpected {
            forge,
            what: what.to_string(),
            message: format!("the answer has no {key:?}"),
        })
}
