//! GitHub (and GitHub Enterprise) pull requests: `GET/POST /repos/{repo}/pulls`, `PATCH /repos/{repo}/pulls/{n}`
//! (REST API 2022-11-28).

use serde_json::{Value, json};

use super::{Forge, ForgeError, Http, PullRequest, adoptable, github_style_pr};

/// GitHub's pull-request API.
pub struct GitHub {
    http: Http,
}

impl GitHub {
    pub(super) fn new(http: Http) -> Self {
        Self { http }
    }

    fn pr(&self, json: &Value, what: &str) -> Result<PullRequest, ForgeError> {
        github_style_pr("GitHub", json, what)
    }
}

impl Forge for GitHub {
    fn name(&self) -> &'static str {
        "GitHub"
    }

    fn token_user(&self) -> Result<String, ForgeError> {
        super::token_user(&self.http, "login")
    }

    fn find_open(&self, prefix: &str, base: &str, author: Option<&str>) -> Result<Option<PullRequest>, ForgeError> {
        let what = "list open pull requests";
        let path = format!("/repos/{}/pulls?state=open&base={base}&per_page=100", self.http.repo);
        let list = self.http.send("GET", &path, None, what)?;
        for pr in list.as_array().into_iter().flatten() {
            let pr = self.pr(pr, what)?;
            if adoptable(&pr, prefix, author) {
                return Ok(Some(pr));
            }
        }
        Ok(None)
    }

    fn create(&self, head: &str, base: &str, title: &str, body: &str) -> Result<PullRequest, ForgeError> {
        let what = "open a pull request";
        let body = json!({"title": title, "head": head, "base": base, "body": body, "maintainer_can_modify": false});
        let pr = self
            .http
            .send("POST", &format!("/repos/{}/pulls", self.http.repo), Some(&body), what)?;
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
