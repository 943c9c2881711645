//! Gitea (and Forgejo) pull requests: `GET/POST /repos/{repo}/pulls`, `PATCH /repos/{repo}/pulls/{index}`
//! (API v1).

use serde_json::{Value, json};

use super::{Forge, ForgeError, Http, PullRequest, adoptable, github_style_pr};

/// Gitea's pull-request API.
pub struct Gitea {
    http: Http,
}

impl Gitea {
    pub(super) fn new(http: Http) -> Self {
        Self { http }
    }

    fn pr(&self, json: &Value, what: &str) -> Result<PullRequest, ForgeError> {
        github_style_pr("Gitea", json, what)
    }
}

impl Forge for Gitea {
    fn name(&self) -> &'static str {
        "Gitea"
    }

    fn token_user(&self) -> Result<String, ForgeError> {
        super::token_user(&self.http, "login")
    }

    fn find_open(&self, prefix: &str, base: &str, author: Option<&str>) -> Result<Option<PullRequest>, ForgeError> {
        let what = "list open pull requests";
        for page in 1..=20 {
            let path = format!("/repos/{}/pulls?state=open&limit=50&page={page}", self.http.repo);
            let list = match self.http.send("GET", &path, None, what) {
                // Why: Gitea 1.26 answers 404 to the list of a repository that never had a pull request; the
                // repository itself tells that apart from a wrong name or a token that cannot see it.
                Err(ForgeError::NotFound { .. }) => {
                    self.http.send(
                        "GET",
                        &format!("/repos/{}", self.http.repo),
                        None,
                        "read the repository",
                    )?;
                    return Ok(None);
                }
                other => other?,
            };
            let prs = list.as_array().cloned().unwrap_or_default();
            for json in &prs {
                let pr = self.pr(json, what)?;
                if json["base"]["ref"].as_str() == Some(base) && adoptable(&pr, prefix, author) {
                    return Ok(Some(pr));
                }
            }
            if prs.len() < 50 {
                break;
            }
        }
        Ok(None)
    }

    fn create(&self, head: &str, base: &str, title: &str, body: &str) -> Result<PullRequest, ForgeError> {
        let what = "open a pull request";
        let body = json!({"title": title, "head": head, "base": base, "body": body});
        let path = format!("/repos/{}/pulls", self.http.repo);
        // Why retries: Gitea records a pushed branch asynchronously (its post-receive queue), so a pull request
        // opened right after the push can get 404 for a head branch that is there a moment later.
        let mut wait = std::time::Duration::from_millis(200);
        for _ in 0..6 {
            match self.http.send("POST", &path, Some(&body), what) {
                Err(ForgeError::NotFound { .. }) => {
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(std::time::Duration::from_secs(1));
                }
                other => return self.pr(&other?, what),
            }
        }
        let pr = self.http.send("POST", &path, Some(&body), what)?;
        self.pr(&pr, what)
    }

    fn update(&self, pr: &PullRequest, title: &str, body: &str) -> Result<PullRequest, ForgeError> {
        let what = "update the pull request";
        let path = format!("/repos/{}/pulls/{}", self.http.repo, pr.number);
        let pr = self
            .http
            .send("PATCH", &path, Some(&json!({"title": title, "body": body})), what)?;
        self.pr(&pr, what)
    }
}
