//! GitLab merge requests: `GET/POST /projects/:id/merge_requests`, `PUT /projects/:id/merge_requests/:iid`
//! (REST API v4; `:id` is the URL-encoded project path).

use serde_json::{Value, json};

use super::{Forge, ForgeError, Http, PullRequest, field};

/// GitLab's merge-request API.
pub struct GitLab {
    http: Http,
    project: String,
}

impl GitLab {
    pub(super) fn new(http: Http) -> Self {
        let project = http.repo.replace('/', "%2F");
        Self { http, project }
    }

    fn mr(&self, json: &Value, what: &str) -> Result<PullRequest, ForgeError> {
        let f = |k| field("GitLab", json, k, what);
        Ok(PullRequest {
            number: f("iid")?.as_u64().unwrap_or_default(),
            url: f("web_url")?.as_str().unwrap_or_default().to_string(),
            head: json["source_branch"].as_str().unwrap_or_default().to_string(),
            body: json["description"].as_str().unwrap_or_default().to_string(),
            author: json["author"]["username"].as_str().unwrap_or_default().to_string(),
            same_repository: json["source_project_id"].as_u64().is_some()
                && json["source_project_id"] == json["target_project_id"],
        })
    }
}

impl Forge for GitLab {
    fn name(&self) -> &'static str {
        "GitLab"
    }

    fn token_user(&self) -> Result<String, ForgeError> {
        super::token_user(&self.http, "username")
    }

    fn find_open(&self, prefix: &str, base: &str, author: Option<&str>) -> Result<Option<PullRequest>, ForgeError> {
        let what = "list open merge requests";
        let path = format!(
            "/projects/{}/merge_requests?state=opened&target_branch={base}&per_page=100",
            self.project
        );
        let list = self.http.send("GET", &path, None, what)?;
        for mr in list.as_array().into_iter().flatten() {
            let mr = self.mr(mr, what)?;
            if super::adoptable(&mr, prefix, author) {
                return Ok(Some(mr));
            }
        }
        Ok(None)
    }

    fn create(&self, head: &str, base: &str, title: &str, body: &str) -> Result<PullRequest, ForgeError> {
        let what = "open a merge request";
        let body = json!({
            "source_branch": head,
            "target_branch": base,
            "title": title,
            "description": body,
            "remove_source_branch": true,
        });
        let mr = self.http.send(
            "POST",
            &format!("/projects/{}/merge_requests", self.project),
            Some(&body),
            what,
        )?;
        self.mr(&mr, what)
    }

    fn update(&self, pr: &PullRequest, title: &str, body: &str) -> Result<PullRequest, ForgeError> {
        let what = "update the merge request";
        let path = format!("/projects/{}/merge_requests/{}", self.project, pr.number);
        let mr = self
            .http
            .send("PUT", &path, Some(&json!({"title": title, "description": body})), what)?;
        self.mr(&mr, what)
    }
}
