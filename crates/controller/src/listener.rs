//! The HTTP/1 accept loop both servers (API and metrics) run: a header deadline and a connection cap.
//!
//! Why not `axum::serve`: it installs no hyper timer, so hyper's header-read timeout never fires and a client
//! that sends its headers one byte at a time (slowloris) holds a connection, and a task, for as long as it likes
//! (tokio-rs/axum#2741). Here every connection gets a deadline for its request headers, and at most
//! `max_connections` are open at once: the rest wait in the kernel's accept queue, never in our memory.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

/// How long a stopping server waits for requests already in flight.
const DRAIN: Duration = Duration::from_secs(5);

/// Per-connection limits.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Time a client has to send a request's complete headers, counted from the first read of the request
    /// (an idle keep-alive connection is closed after the same time).
    pub header_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

/// Serves `app` on `listener` until `stop` fires, then drains for up to five seconds.
pub fn spawn(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
        let graceful = GracefulShutdown::new();
        let stopped = async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        };
        tokio::pin!(stopped);
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout);
        loop {
            let permit = tokio::select! {
                permit = permits.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
                () = &mut stopped => break,
            };
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Why sleep: accept fails on fd exhaustion, and retrying at once would spin a core.
                        tracing::warn!(%error, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
                () = &mut stopped => break,
            };
            let app = app.clone();
            // The peer address goes into each request, for handlers that extract `ConnectInfo<SocketAddr>`.
            let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                tower::Service::call(&mut app.clone(), request)
            });
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                // A client that breaks the protocol or misses its deadline simply loses its connection.
                let _ = connection.await;
                drop(permit);
            });
        }
        drop(listener);
        let _ = tokio::time::timeout(DRAIN, graceful.shutdown()).await;
    })
}
