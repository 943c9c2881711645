//! The upstream HTTP API (spec 3.11) on every replica: `/healthz`, `/v1/cert.pem`, `/v1/verify`, `/v1/rotate`.
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
use axum::routing::{any, get};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sealant_core::manifest::{self, Object};
use sealant_core::seal::{SealOptions, seal_secret};
use sealant_core::types::{SEALED_SECRET_API_VERSION, SEALED_SECRET_KIND, SealedSecret};
use sealant_core::unseal::{UnsealOptions, unseal};
use time::OffsetDateTime;
use tokio::sync::{Semaphore, watch};
use tower_http::timeout::TimeoutLayer;

use crate::audit::{self, Audit};
use crate::keys::KeyRegistry;
use crate::metrics::{HttpLabels, Metrics, RouteLabels};
use crate::{Config, Error};

#[derive(Clone)]
struct AppState {
    config: Arc<Config>,
    keys: KeyRegistry,
    metrics: Arc<Metrics>,
    audit: Arc<Audit>,
    limiter: Arc<DefaultKeyedRateLimiter<String>>,
    rsa: Arc<Semaphore>,
    escrow: crate::escrow::Bundle,
}

/// What a handler tells the audit middleware about the object it handled.
#[derive(Clone, Default)]
struct Handled {
    namespace: Option<String>,
    name: Option<String>,
    error: Option<String>,
}

/// Starts the API server; the returned task ends after `stop` fires.
pub async fn serve(
    config: Arc<Config>,
    keys: KeyRegistry,
    metrics: Arc<Metrics>,
    audit: Arc<Audit>,
    escrow: crate::escrow::Bundle,
    stop: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, Error> {
    let addr = config.listen_addr;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Listen { addr, source })?;
    let limits = config.http_limits();
    let app = router(config, keys, metrics, audit, escrow);
    Ok(crate::listener::spawn(listener, app, limits, stop))
}

fn router(
    config: Arc<Config>,
    keys: KeyRegistry,
    metrics: Arc<Metrics>,
    audit: Arc<Audit>,
    escrow: crate::escrow::Bundle,
) -> Router {
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
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let state = AppState {
        limiter,
        rsa: Arc::new(Semaphore::new(cores)),
        config: config.clone(),
        keys,
        metrics,
        audit,
        escrow,
    };
    let api = Router::new()
        .route("/v1/cert.pem", any(cert))
        .route("/v1/escrow", any(escrow_bundle))
        .route("/v1/verify", any(verify))
        .route("/v1/rotate", any(rotate))
        .layer(middleware::from_fn_with_state(state.clone(), instrument));
    Router::new()
        .route(
            "/healthz",
            get(|| async { ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "ok\n") }),
        )
        .merge(api)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        .with_state(state)
}

/// Counts, times and audits one API call.
async fn instrument(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_ascii_lowercase();
    let path = request.uri().path().to_string();
    let client = client_key(request.headers(), request.extensions().get::<ConnectInfo<SocketAddr>>());
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
    state.audit.record(
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
            ..audit::Record::default()
        },
    );
    response
}

/// The rate-limit key: the proxy's `X-Forwarded-For` (requests arrive through the API server's service
/// proxy), else the peer address.
fn client_key(headers: &HeaderMap, peer: Option<&ConnectInfo<SocketAddr>>) -> String {
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| peer.map(|p| p.0.ip().to_string()))
        .unwrap_or_default()
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
    let key = format!("{path} {}", client_key(headers, peer));
    let not_until = state.limiter.check_key(&key).err()?;
    let wait = not_until.wait_time_from(DefaultClock::default().now());
    let mut response = (StatusCode::TOO_MANY_REQUESTS, "limit exceeded\n").into_response();
    let headers = response.headers_mut();
    headers.insert(header::RETRY_AFTER, HeaderValue::from(wait.as_secs().max(1)));
    headers.insert("x-ratelimit-limit", HeaderValue::from(state.config.rate_limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(0));
    Some(response)
}

/// One SealedSecret from a JSON or YAML body.
fn parse_body(body: &[u8]) -> Result<SealedSecret, String> {
    let text = std::str::from_utf8(body).map_err(|_| "request body is not UTF-8".to_string())?;
    let (_, mut objects) = manifest::read(text).map_err(|e| e.to_string())?;
    if objects.len() != 1 {
        return Err(
            "Multistream YAML not supported yet (see https://github.com/bitnami-labs/sealed-secrets/issues/114)".into(),
        );
    }
    match objects.pop().map(|o| o.object) {
        Some(Object::SealedSecret(ss)) => Ok(*ss),
        _ => Err("unexpected resource type: want a SealedSecret".into()),
    }
}

/// The common start of both POST endpoints: the rate limit, then one SealedSecret from the body.
fn admit(
    state: &AppState,
    peer: &ConnectInfo<SocketAddr>,
    headers: &HeaderMap,
    body: &[u8],
    path: &str,
) -> Result<(SealedSecret, Handled), Box<Response>> {
    if let Some(response) = limited(state, headers, Some(peer), path) {
        return Err(Box::new(response));
    }
    let ss = parse_body(body).map_err(|e| {
        let handled = Handled {
            error: Some(e),
            ..Handled::default()
        };
        Box::new(respond(StatusCode::INTERNAL_SERVER_ERROR, Body::empty(), handled))
    })?;
    let handled = Handled {
        namespace: Some(ss.namespace().to_string()),
        name: Some(ss.name().to_string()),
        error: None,
    };
    Ok((ss, handled))
}

fn respond(status: StatusCode, body: Body, handled: Handled) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.extensions_mut().insert(handled);
    response
}

/// Unseals on the blocking pool, bounded by the RSA semaphore.
async fn unseal_bounded(
    state: &AppState,
    ss: SealedSecret,
) -> Result<Result<sealant_core::unseal::Unsealed, String>, String> {
    let keys = state.keys.snapshot();
    let opts = UnsealOptions {
        accept_legacy_data: state.config.accept_deprecated_v1_data,
    };
    let _permit = state.rsa.acquire().await.map_err(|e| e.to_string())?;
    tokio::task::spawn_blocking(move || unseal(&ss, &keys.keyring, opts).map_err(|e| e.to_string()))
        .await
        .map_err(|e| e.to_string())
}

async fn verify(
    State(state): State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (ss, mut handled) = match admit(&state, &peer, &headers, &body, "/v1/verify") {
        Ok(admitted) => admitted,
        Err(response) => return *response,
    };
    match unseal_bounded(&state, ss).await {
        Ok(Ok(_)) => respond(StatusCode::OK, Body::empty(), handled),
        Ok(Err(e)) => {
            handled.error = Some(e);
            respond(StatusCode::CONFLICT, Body::empty(), handled)
        }
        Err(e) => {
            handled.error = Some(e);
            respond(StatusCode::INTERNAL_SERVER_ERROR, Body::empty(), handled)
        }
    }
}

async fn rotate(
    State(state): State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (ss, mut handled) = match admit(&state, &peer, &headers, &body, "/v1/rotate") {
        Ok(admitted) => admitted,
        Err(response) => return *response,
    };
    let Some(latest) = state.keys.snapshot().latest().map(|k| k.cert.clone()) else {
        handled.error = Some("cannot get certificate".into());
        return respond(StatusCode::INTERNAL_SERVER_ERROR, Body::empty(), handled);
    };
    let outer_annotations = ss.metadata.annotations.clone();
    let unsealed = match unseal_bounded(&state, ss).await {
        Ok(Ok(u)) => u,
        Ok(Err(e)) | Err(e) => {
            handled.error = Some(format!("error decrypting secret. {e}"));
            return respond(StatusCode::INTERNAL_SERVER_ERROR, Body::empty(), handled);
        }
    };
    let mut secret = unsealed.secret;
    secret.metadata.owner_references = None;
    // Why the scope from `unsealed`: it is the scope the ciphertext was made for. Taking it from the request's
    // annotations would let a caller widen a strict secret to cluster-wide by editing one line.
    let opts = SealOptions {
        scope: Some(unsealed.scope),
        namespace: None,
        default_namespace: None,
        name: None,
        replace_namespace: false,
        allow_empty_data: true,
        now: OffsetDateTime::now_utc(),
    };
    match seal_secret(&secret, &latest, &opts) {
        Ok(mut sealed) => {
            sealed.api_version = SEALED_SECRET_API_VERSION.into();
            sealed.kind = SEALED_SECRET_KIND.into();
            // Keep the caller's other outer annotations (sealant's own are refreshed by `seal_secret`).
            if let Some(outer) = outer_annotations {
                let annotations = sealed.metadata.annotations.get_or_insert_with(Default::default);
                for (k, v) in outer {
                    annotations.entry(k).or_insert(v);
                }
                unsealed.scope.apply_to(annotations);
            }
            let body = serde_json::to_vec(&sealed).unwrap_or_default();
            let mut response = respond(StatusCode::OK, Body::from(body), handled);
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        Err(e) => {
            handled.error = Some(e.to_string());
            respond(StatusCode::INTERNAL_SERVER_ERROR, Body::empty(), handled)
        }
    }
}
