//! The controller client and the shared agent against a small HTTP server on loopback that answers as a
//! controller would (or as a hostile one might).

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use sealant_client::{Controller, Error, fetch_cert};
use sealant_core::SealedSecret;

/// Answers every request with `(status, headers, body)` and records the paths asked for.
struct Server {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
    _runtime: tokio::runtime::Runtime,
}

impl Server {
    fn start(status: u16, headers: Vec<(&'static str, String)>, body: &'static str) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, _body: Bytes| {
            let log = log.clone();
            let headers = headers.clone();
            async move {
                log.lock().unwrap().push(uri.path().to_string());
                let mut response: Response = (StatusCode::from_u16(status).unwrap(), body).into_response();
                for (name, value) in headers {
                    response.headers_mut().insert(name, value.parse().unwrap());
                }
                response
            }
        });
        runtime.spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            url,
            seen,
            _runtime: runtime,
        }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

fn sealed() -> SealedSecret {
    serde_json::from_str(
        r#"{"apiVersion":"bitnami.com/v1alpha1","kind":"SealedSecret","metadata":{"name":"db","namespace":"web"},"spec":{"encryptedData":{"password":"AgBy"}}}"#,
    )
    .unwrap()
}

#[test]
fn the_certificate_is_the_body_of_a_successful_answer() {
    let server = Server::start(200, vec![], "-----BEGIN CERTIFICATE-----\n");
    let pem = Controller::at_url(&format!("{}/", server.url)).cert_pem().unwrap();
    assert_eq!(pem, b"-----BEGIN CERTIFICATE-----\n");
    assert_eq!(server.seen(), ["/v1/cert.pem"]);
}

#[test]
fn a_failed_answer_is_an_error_naming_the_url_and_status() {
    let server = Server::start(503, vec![], "no keys yet");
    let e = Controller::at_url(&server.url).cert_pem().unwrap_err();
    assert!(matches!(e, Error::Status { status: 503, .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("/v1/cert.pem") && text.contains("503") && text.contains("no keys yet"),
        "{text}"
    );
}

#[test]
fn verify_says_no_on_409_and_yes_on_200() {
    let refused = Server::start(409, vec![], "");
    assert!(!Controller::at_url(&refused.url).verify(&sealed()).unwrap());
    let opened = Server::start(200, vec![], "");
    assert!(Controller::at_url(&opened.url).verify(&sealed()).unwrap());
    assert_eq!(opened.seen(), ["/v1/verify"]);
}

#[test]
fn rotate_returns_the_controllers_sealed_secret_or_none_when_it_cannot_open_it() {
    let answer = r#"{"apiVersion":"bitnami.com/v1alpha1","kind":"SealedSecret","metadata":{"name":"db","namespace":"web"},"spec":{"encryptedData":{"password":"AgNEW"}}}"#;
    let server = Server::start(200, vec![], answer);
    let new = Controller::at_url(&server.url).rotate(&sealed()).unwrap().unwrap();
    assert_eq!(new.spec.encrypted_data["password"], "AgNEW");
    let refused = Server::start(409, vec![], "");
    assert!(Controller::at_url(&refused.url).rotate(&sealed()).unwrap().is_none());
    let garbage = Server::start(200, vec![], "<html>");
    let e = Controller::at_url(&garbage.url).rotate(&sealed()).unwrap_err();
    assert!(matches!(e, Error::Answer { .. }), "{e:?}");
}

#[test]
fn a_redirect_is_never_followed_for_a_certificate_or_a_controller() {
    let target = Server::start(200, vec![], "-----BEGIN CERTIFICATE-----\n");
    let redirect = Server::start(302, vec![("location", format!("{}/elsewhere", target.url))], "");
    let e = fetch_cert(&format!("{}/v1/cert.pem", redirect.url)).unwrap_err();
    assert!(e.to_string().contains("redirects are not followed"), "{e}");
    let e = Controller::at_url(&redirect.url).rotate(&sealed()).unwrap_err();
    assert!(matches!(e, Error::Status { status: 302, .. }), "{e:?}");
    assert!(target.seen().is_empty(), "a redirect was followed: {:?}", target.seen());
}

#[test]
fn an_unreachable_controller_is_an_error_naming_where() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let e = Controller::at_url(&url).cert_pem().unwrap_err();
    assert!(matches!(e, Error::Unreachable { .. }), "{e:?}");
    assert!(e.to_string().contains(&url), "{e}");
}
