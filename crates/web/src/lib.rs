//! The sealing page: one HTML page, one script and one stylesheet, embedded in the binary and served, with a
//! strict Content-Security-Policy, by the controller on its API port and by `sealant serve`.
//!
//! The page seals in the browser (WebCrypto) to the certificate at `v1/cert.pem` of its own origin, or to one
//! the user pastes; no value it handles is ever sent. Every path is relative, so the page also works
//! under a path prefix (an ingress route).

use std::sync::LazyLock;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sealant_repo::config::Naming;

/// The page's policy. Why each part: `default-src 'none'` refuses everything not listed; the script and the
/// stylesheet come from this origin only and no inline script runs (an injected `<script>` would be inert);
/// `connect-src 'self'` means the only place a script could send anything is the server that served it, which
/// the page only asks for the certificate; no form posts anywhere, no other site may frame the page
/// (clickjacking), no `<base>` may redirect relative URLs, and DOM sinks take no strings (Trusted Types).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'; \
     require-trusted-types-for 'script'";

const INDEX: &str = include_str!("../assets/index.html");
const SCRIPT: &str = include_str!("../assets/seal.js");
const STYLE: &str = include_str!("../assets/style.css");

/// The page, with the naming convention's defaults (the same lists `sealant lint` checks by) filled in.
static PAGE: LazyLock<String> = LazyLock::new(|| {
    let naming = Naming::default();
    let list = |words: &[String]| html_attribute(&words.join(","));
    INDEX
        .replace("{{ENVIRONMENTS}}", &list(&naming.environments))
        .replace("{{TYPES}}", &list(&naming.types))
});

fn html_attribute(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The headers every response of the page carries.
pub fn security_headers() -> [(HeaderName, HeaderValue); 7] {
    [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        // Why no referrer: the page's URL can name internal hosts and paths; nothing else needs it.
        (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ),
        (
            HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("same-origin"),
        ),
        // Why no caching: an old script must not keep sealing after an upgrade fixed it.
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ]
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        security_headers(),
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response()
}

/// The page's routes: `/` (and `/index.html`), `/seal.js`, `/style.css`; GET and HEAD only.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let page = || async { asset("text/html; charset=utf-8", PAGE.as_str()) };
    Router::new()
        .route("/", get(page))
        .route("/index.html", get(page))
        .route(
            "/seal.js",
            get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }),
        )
        .route("/style.css", get(|| async { asset("text/css; charset=utf-8", STYLE) }))
}

/// The page on its own, as `sealant serve` runs it: the page, `/v1/cert.pem` (the certificate it was given, or a
/// 404 that makes the page ask for one) and `/healthz`.
pub fn standalone(cert_pem: Option<String>) -> Router {
    let cert = move || {
        let cert = cert_pem.clone();
        async move {
            match cert {
                Some(pem) => (
                    security_headers(),
                    [(header::CONTENT_TYPE, HeaderValue::from_static("application/x-pem-file"))],
                    pem,
                )
                    .into_response(),
                None => (
                    StatusCode::NOT_FOUND,
                    "no certificate: start sealant serve with --cert\n",
                )
                    .into_response(),
            }
        }
    };
    routes()
        .route("/v1/cert.pem", get(cert))
        .route("/healthz", get(|| async { "ok\n" }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt as _;

    async fn get(path: &str) -> Response {
        routes::<()>()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn every_asset_is_served_with_the_policy_and_its_type() {
        for (path, kind) in [
            ("/", "text/html"),
            ("/index.html", "text/html"),
            ("/seal.js", "text/javascript"),
            ("/style.css", "text/css"),
        ] {
            let response = get(path).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            let headers = response.headers();
            assert_eq!(
                headers[header::CONTENT_SECURITY_POLICY],
                CONTENT_SECURITY_POLICY,
                "{path}"
            );
            assert_eq!(headers[header::REFERRER_POLICY], "no-referrer", "{path}");
            assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
            assert!(
                headers[header::CONTENT_TYPE].to_str().unwrap().starts_with(kind),
                "{path}"
            );
        }
    }

    #[tokio::test]
    async fn standalone_offers_its_certificate_or_a_not_found_that_makes_the_page_ask() {
        let with = standalone(Some("-----BEGIN CERTIFICATE-----\n".into()))
            .oneshot(Request::get("/v1/cert.pem").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(with.status(), StatusCode::OK);
        assert_eq!(with.headers()[header::CONTENT_SECURITY_POLICY], CONTENT_SECURITY_POLICY);
        let without = standalone(None)
            .oneshot(Request::get("/v1/cert.pem").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(without.status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn anything_else_is_not_found_and_nothing_but_get_is_allowed() {
        assert_eq!(get("/seal.js.map").await.status(), StatusCode::NOT_FOUND);
        let post = routes::<()>()
            .oneshot(Request::post("/").body(Body::from("x")).unwrap())
            .await
            .unwrap();
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere_and_runs_no_inline_script() {
        let page = PAGE.as_str();
        assert!(!page.contains("{{"), "a placeholder was left in the page");
        for needle in [
            "http://", "https://", "//cdn", "<script>", "onclick=", "onload=", "style=\"",
        ] {
            assert!(!page.contains(needle), "the page contains {needle:?}");
        }
        assert!(page.contains(r#"data-environments="dev,"#));
        assert!(
            !SCRIPT.contains("localStorage")
                && !SCRIPT.contains("sessionStorage")
                && !SCRIPT.contains("document.cookie")
        );
        assert!(!SCRIPT.contains("innerHTML") && !SCRIPT.contains("eval("));
    }

    #[test]
    fn the_policy_refuses_what_the_page_does_not_need() {
        for part in [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "connect-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(CONTENT_SECURITY_POLICY.contains(part), "{part}");
        }
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
    }
}
