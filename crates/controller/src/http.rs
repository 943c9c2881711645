//! The upstream HTTP API on every replica: `/healthz`, `/v1/cert.pem`, `/v1/verify`, `/v1/rotate`; and the
//! sealing page at `/` (`sealant_web`).
//!
//! Both POST endpoints make the controller do RSA private-key work on input anyone may send, so each is
//! rate-limited per client, bodies are capped, requests time out, and the RSA work itself is bounded by a
//! semaphore. Every call is counted and audited.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sealant_core::manifest::{self, Object};
use sealant_core::seal::reseal;
use sealant_core::types::{SEALED_SECRET_API_VERSION, SEALED_SECRET_KIND, SealedSecret};
use sealant_core::unseal::{UnsealOptions, unseal};
use tokio::sync::watch;
use tower_http::timeout::TimeoutLayer;

use crate::audit::{self, Audit};
use crate::keys::KeyRegistry;
use crate::metrics::{HttpLabels, Metrics, RouteLabels};
use crate::pool::RsaPool;
use crate::{Config, Error};

#[derive(Clone)]
struct AppState {
    client: Option<kube::Client>,
    config: Arc<Config>,
    keys: KeyRegistry,
    metrics: Arc<Metrics>,
    audit: Arc<Audit>,
    limiter: Arc<DefaultKeyedRateLimiter<String>>,
    rsa: RsaPool,
    escrow: crate::escrow::Bundle,
}

/// What a handler tells the audit middleware about the object it handled.
#[derive(Clone, Default)]
struct Handled {
    namespace: Option<String>,
    name: Option<String>,
    error: Option<String>,
    /// The call was admitted to decrypt (`/v1/verify`, `/v1/rotate`).
    decrypting: bool,
}

/// What the API server works with.
pub struct Parts {
    /// A client of the Kubernetes API, for the TokenReview of a caller's bearer token (audit only).
    pub client: Option<kube::Client>,
    /// Configuration.
    pub config: Arc<Config>,
    /// The keys.
    pub keys: KeyRegistry,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Audit log.
    pub audit: Arc<Audit>,
    /// The escrow bundle it publishes.
    pub escrow: crate::escrow::Bundle,
    /// The RSA work pool, shared with the reconciler.
    pub rsa: RsaPool,
}

/// Starts the API server; the returned task ends after `stop` fires.
pub async fn serve(parts: Parts, stop: watch::Receiver<bool>) -> Result<tokio::task::JoinHandle<()>, Error> {
    let config = parts.config.clone();
    let addr = config.listen_addr;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|cause| Error::Listen { addr, cause })?;
    let limits = config.http_limits();
    let app = router(parts);
    Ok(crate::listener::spawn(listener, app, limits, stop))
}

fn router(parts: Parts) -> Router {
    let Parts {
        client,
        config,
        keys,
        metrics,
        audit,
        escrow,
        rsa,
    } = parts;
    let rate = NonZeroU32::new(config.rate_limit).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(config.rate_limit_burst).unwrap_or(NonZeroU32::MIN);
    let limiter = Arc::new(RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)));
    let sweeper = Arc::downgrade(&limiter);
    tokio::spawn(async move {
        // Why sweep: one bucket per client key would otherwise grow without bound.
        while let Some(limiter) = sweeper.upgrade() {
            limiter.retain_recent();
            drop(limiter);
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
    });
    let state = AppState {
        client,
        limiter,
        rsa,
        config: config.clone(),
        keys,
        metrics,
        audit,
        escrow,
    };
    // Fixed methods: anything else is a 405 from the router (and a bounded metric label, see `method_label`).
    let api = Router::new()
        .route("/v1/cert.pem", get(cert))
        .route("/v1/escrow", get(escrow_bundle))
        .route("/v1/verify", post(verify))
        .route("/v1/rotate", post(rotate))
        .layer(middleware::from_fn_with_state(state.clone(), instrument));
    // The sealing page is static and handles no secret: it is neither rate-limited nor audited.
    let page = if config.sealing_page {
        sealant_web::routes()
    } else {
        Router::new()
    };
    Router::new()
        .merge(page)
        .route(
            "/healthz",
            get(|| async { ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "ok\n") }),
        )
        .route("/readyz", get(ready))
        .merge(api)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        .with_state(state)
}

/// `/readyz`: ready once the keys are loaded, and, with `--audit-fail-closed`, while the audit log can be
/// written (a replica that may not decrypt takes no traffic). `/healthz` stays about the process alone, so a
/// full disk does not make the kubelet restart the pod in a loop.
async fn ready(State(state): State<AppState>) -> Response {
    if state.keys.snapshot().latest().is_none() {
        return text(StatusCode::SERVICE_UNAVAILABLE, "no key loaded yet\n");
    }
    // While the last line failed, this probe writes one of its own: when it goes through, the sink has
    // recovered (a full disk freed) and decrypting may resume.
    let probe_failed = state.audit.fail_closed()
        && state.audit.failing()
        && !state.audit.record(
            audit::Action::Http,
            &audit::Record {
                outcome: "ok",
                method: Some("GET".into()),
                path: Some("/readyz".into()),
                status: Some(200),
                ..audit::Record::default()
            },
        );
    if state.audit.refuses() || probe_failed {
        return text(StatusCode::SERVICE_UNAVAILABLE, AUDIT_UNAVAILABLE);
    }
    text(StatusCode::OK, "ok\n")
}

/// What a replica that may not decrypt answers (`/readyz`, and a decrypting call whose line failed).
const AUDIT_UNAVAILABLE: &str = "the audit log cannot be written (--audit-fail-closed)\n";

/// A plain-text answer.
fn text(status: StatusCode, body: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// The user a bearer token belongs to, from a TokenReview; `unauthenticated` when the API server says it is
/// not valid; `None` without a token or a client, or when the review cannot be made.
///
/// The token goes only into the review request; it is never logged.
async fn token_user(client: Option<&kube::Client>, authorization: Option<&HeaderValue>) -> Option<String> {
    use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
    let token = authorization?.to_str().ok()?.strip_prefix("Bearer ")?.trim();
    if token.is_empty() || token.len() > 16 * 1024 {
        return None;
    }
    let review = TokenReview {
        spec: TokenReviewSpec {
            token: Some(token.to_string()),
            ..TokenReviewSpec::default()
        },
        ..TokenReview::default()
    };
    let api: kube::Api<TokenReview> = kube::Api::all(client?.clone());
    let status = api
        .create(&kube::api::PostParams::default(), &review)
        .await
        .ok()?
        .status?;
    if status.authenticated == Some(true) {
        status.user?.username
    } else {
        Some("unauthenticated".into())
    }
}

/// Counts, times and audits one API call.
async fn instrument(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method()).to_string();
    let path = request.uri().path().to_string();
    let connection = request.extensions().get::<ConnectInfo<SocketAddr>>().cloned();
    let client = client_key(&state.config.trusted_proxies, request.headers(), connection.as_ref());
    let authorization = request.headers().get(header::AUTHORIZATION).cloned();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    state
        .metrics
        .http_requests
        .get_or_create(&HttpLabels {
            path: path.clone(),
            code: status.to_string(),
            method: method.clone(),
        })
        .inc();
    state
        .metrics
        .http_duration
        .get_or_create(&RouteLabels {
            path: path.clone(),
            method: method.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    let handled = response.extensions().get::<Handled>().cloned().unwrap_or_default();
    let ok = response.status().is_success();
    // Why only for the calls that decrypt, and only once admitted: a review costs the API server a request,
    // and the rate limit must bound that too.
    let user = if handled.decrypting && status != 429 {
        // Bounded: a slow API server must not hold the response (or lose the line) for long.
        tokio::time::timeout(
            Duration::from_secs(2),
            token_user(state.client.as_ref(), authorization.as_ref()),
        )
        .await
        .unwrap_or(Some("unknown (TokenReview timed out)".into()))
    } else {
        None
    };
    let recorded = state.audit.record(
        audit::Action::Http,
        &audit::Record {
            namespace: handled.namespace,
            name: handled.name,
            outcome: if ok { "ok" } else { "error" },
            error: handled.error,
            method: Some(method.to_ascii_uppercase()),
            path: Some(path),
            status: Some(status),
            client: Some(client),
            peer: connection.map(|c| c.0.to_string()),
            user,
            ..audit::Record::default()
        },
    );
    // Why: with --audit-fail-closed, the answer of a call that decrypted is not sent when its line could not be
    // written (a full disk lets the file open and fails the write).
    if !recorded && handled.decrypting && state.audit.fail_closed() && ok {
        return text(StatusCode::SERVICE_UNAVAILABLE, AUDIT_UNAVAILABLE);
    }
    response
}

/// The method as a metric label: one of a fixed few, so a client cannot grow `/metrics` with invented methods.
fn method_label(method: &axum::http::Method) -> &'static str {
    match *method {
        axum::http::Method::GET => "get",
        axum::http::Method::POST => "post",
        axum::http::Method::HEAD => "head",
        _ => "other",
    }
}

/// The rate-limit and audit key: the peer address; the last `X-Forwarded-For` entry only when the peer is one
/// of the configured trusted proxies (e.g. the API server, whose service proxy appends the caller's address).
///
/// Why not the header alone: anyone can send it, so a new value per request would be a new bucket per request
/// and the rate limit would hold no one.
fn client_key(trusted: &[std::net::IpAddr], headers: &HeaderMap, peer: Option<&ConnectInfo<SocketAddr>>) -> String {
    let Some(peer) = peer.map(|p| p.0.ip()) else {
        return String::new();
    };
    if !trusted.contains(&peer) {
        return peer.to_string();
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .rfind(|v| !v.is_empty())
        .map_or_else(|| peer.to_string(), |v| v.chars().take(64).collect())
}

async fn cert(State(state): State<AppState>) -> Response {
    match state.keys.snapshot().latest() {
        Some(key) => (
            [(header::CONTENT_TYPE, "application/x-pem-file")],
            key.cert.pem().to_string(),
        )
            .into_response(),
        None => (StatusCode::INTERNAL_SERVER_ERROR, "cannot get certificate\n").into_response(),
    }
}

/// `GET /v1/escrow`: the escrow bundle as JSON (`{"<stem>.crt": PEM, "<stem>.key.age": armored age}`):
/// certificates and age ciphertext only, so it needs no more protection than `/v1/cert.pem`. Served by the
/// leader, which makes it; other replicas answer 503 so a client retries (the Service picks another pod).
async fn escrow_bundle(State(state): State<AppState>) -> Response {
    if state.config.escrow_recipients.is_none() {
        return (
            StatusCode::NOT_FOUND,
            "key escrow is not configured (--escrow-recipients)\n",
        )
            .into_response();
    }
    let bundle = state.escrow.read().map(|b| b.clone()).unwrap_or_default();
    if bundle.is_empty() {
        let mut response = (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "no escrow here yet: the leader publishes it (also in ConfigMap {})\n",
                state.config.escrow_configmap
            ),
        )
            .into_response();
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(5));
        return response;
    }
    (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_string(&bundle).unwrap_or_default(),
    )
        .into_response()
}

fn limited(
    state: &AppState,
    headers: &HeaderMap,
    peer: Option<&ConnectInfo<SocketAddr>>,
    path: &str,
) -> Option<Response> {
    let key = format!("{path} {}", client_key(&state.config.trusted_proxies, headers, peer));
    let not_until = state.limiter.check_key(&key).err()?;
    let wait = not_until.wait_time_from(DefaultClock::default().now());
    let mut response = (StatusCode::TOO_MANY_REQUESTS, "limit exceeded\n").into_response();
    let headers = response.headers_mut();
    headers.insert(header::RETRY_AFTER, HeaderValue::from(wait.as_secs().max(1)));
    headers.insert("x-ratelimit-limit", HeaderValue::from(state.config.rate_limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(0));
    Some(response)
}

const MULTISTREAM: &str =
    "Multistream YAML not supported yet (see https://github.com/bitnami-labs/sealed-secrets/issues/114)";

/// One SealedSecret from a JSON or YAML body. More than one document is refused before anything is parsed.
fn parse_body(body: &[u8]) -> Result<SealedSecret, String> {
    let text = std::str::from_utf8(body).map_err(|_| "request body is not UTF-8".to_string())?;
    if manifest::more_than_one_document(text) {
        return Err(MULTISTREAM.into());
    }
    let (_, mut objects) = manifest::read(text).map_err(|e| e.to_string())?;
    if objects.len() != 1 {
        return Err(MULTISTREAM.into());
    }
    match objects.pop().map(|o| o.object) {
        Some(Object::SealedSecret(ss)) => Ok(*ss),
        _ => Err("unexpected resource type: want a SealedSecret".into()),
    }
}

/// The outcome of the work one POST does on the blocking pool.
enum Work<T> {
    /// The body is not one SealedSecret.
    BadBody(String),
    /// Parsed; the work's result.
    Done(Handled, Result<T, String>),
}

/// Rate limit, then parsing and the RSA work on the blocking pool, holding one permit of the RSA pool for all
/// of it.
///
/// Why parse there too: a large JSON or YAML body takes CPU time; on the async runtime it would stall
/// `/healthz` and the leader's Lease renewal. Why the permit moves into the task: a request that times out
/// returns early, but its blocking work runs on, and must keep counting against the bound until it ends.
async fn admit_and_run<T: Send + 'static>(
    state: &AppState,
    peer: &ConnectInfo<SocketAddr>,
    headers: &HeaderMap,
    body: Bytes,
    path: &str,
    work: impl FnOnce(SealedSecret) -> Result<T, String> + Send + 'static,
) -> Result<(Handled, Result<T, String>), Box<Response>> {
    if let Some(response) = limited(state, headers, Some(peer), path) {
        return Err(Box::new(response));
    }
    // Why before the work: with --audit-fail-closed, a decryption that cannot be logged does not happen.
    if state.audit.refuses() {
        let handled = Handled {
            error: Some("the audit log cannot be written (--audit-fail-closed)".into()),
            decrypting: true,
            ..Handled::default()
        };
        return Err(Box::new(respond(
            StatusCode::SERVICE_UNAVAILABLE,
            Body::empty(),
            handled,
        )));
    }
    let outcome = state
        .rsa
        .run(move || match parse_body(&body) {
            Err(e) => Work::BadBody(e),
            Ok(ss) => Work::Done(
                Handled {
                    namespace: Some(ss.namespace().to_string()),
                    name: Some(ss.name().to_string()),
                    error: None,
                    decrypting: true,
                },
                work(ss),
            ),
        })
        .await;
    match outcome {
        Ok(Work::Done(handled, result)) => Ok((handled, result)),
        Ok(Work::BadBody(e)) => {
            let handled = Handled {
                error: Some(e),
                decrypting: true,
                ..Handled::default()
            };
            Err(Box::new(respond(
                StatusCode::INTERNAL_SERVER_ERROR,
                Body::empty(),
                handled,
            )))
        }
        Err(e) => {
            let handled = Handled {
                error: Some(e.to_string()),
                ..Handled::default()
            };
            Err(Box::new(respond(
                StatusCode::INTERNAL_SERVER_ERROR,
                Body::empty(),
                handled,
            )))
        }
    }
}

fn respond(status: StatusCode, body: Body, handled: Handled) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.extensions_mut().insert(handled);
    response
}

/// How the HTTP API unseals: stop at the first item no key opens, so a caller's bogus items cost one item's
/// worth of RSA work, not every item's.
fn api_unseal_options(state: &AppState) -> UnsealOptions {
    UnsealOptions {
        accept_legacy_data: state.config.accept_deprecated_v1_data,
        stop_at_first_error: true,
    }
}

async fn verify(
    State(state): State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let keys = state.keys.snapshot();
    let opts = api_unseal_options(&state);
    let work = move |ss: SealedSecret| unseal(&ss, &keys.keyring, opts).map(drop).map_err(|e| e.to_string());
    match admit_and_run(&state, &peer, &headers, body, "/v1/verify", work).await {
        Err(response) => *response,
        Ok((handled, Ok(()))) => respond(StatusCode::OK, Body::empty(), handled),
        Ok((mut handled, Err(e))) => {
            handled.error = Some(e);
            respond(StatusCode::CONFLICT, Body::empty(), handled)
        }
    }
}

async fn rotate(
    State(state): State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let keys = state.keys.snapshot();
    let opts = api_unseal_options(&state);
    // Why the one core re-seal: each item keeps the scope its ciphertext opened under; no annotation the
    // caller writes (outer or in the template) can widen it.
    let work = move |ss: SealedSecret| {
        let latest = keys.latest().map(|k| k.cert.clone()).ok_or("cannot get certificate")?;
        reseal(&ss, &keys.keyring, &latest, None, opts).map_err(|e| format!("error decrypting secret. {e}"))
    };
    match admit_and_run(&state, &peer, &headers, body, "/v1/rotate", work).await {
        Err(response) => *response,
        Ok((mut handled, Err(e))) => {
            handled.error = Some(e);
            respond(StatusCode::INTERNAL_SERVER_ERROR, Body::empty(), handled)
        }
        Ok((handled, Ok(resealed))) => {
            for warning in &resealed.warnings {
                tracing::warn!(namespace = ?handled.namespace, name = ?handled.name, "/v1/rotate: {warning}");
            }
            let mut sealed = resealed.sealed;
            sealed.api_version = SEALED_SECRET_API_VERSION.into();
            sealed.kind = SEALED_SECRET_KIND.into();
            let body = serde_json::to_vec(&sealed).unwrap_or_default();
            let mut response = respond(StatusCode::OK, Body::from(body), handled);
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
    }
}
