//! The accept loop of one role, on hyper directly rather than `axum::serve`: axum's server
//! cannot bound how long a client may take to send a request head, nor how large the head may
//! be, and both are what a slow or hostile client abuses first.
//!
//! Every connection is HTTP/1.1 with a header-read deadline (a client that sends half a head
//! and stalls, or leaves a kept-alive connection idle, is disconnected), a head-size limit
//! (hyper answers 431 past it) and the peer address recorded on each request as
//! [`ConnectInfo`], which the IdP's rate limit keys on. On shutdown the listener closes, idle
//! connections close, and requests in flight finish.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt as _;

use super::{Role, limits};
use crate::config::ServerLimits;

/// How long accepting pauses after an error that is not about one connection (for instance
/// the process being out of file descriptors), so the loop does not spin.
const ACCEPT_PAUSE: Duration = Duration::from_secs(1);

/// Serves `router` on `listener` within `limits` until `stopped` turns true, then waits for the
/// connections to finish what they are doing.
pub(super) async fn serve(
    role: Role,
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    mut stopped: watch::Receiver<bool>,
) {
    let service = limits::guard(role, router, &limits);
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout())
        .max_header_size(limits.max_header_bytes.get());
    let graceful = GracefulShutdown::new();

    let stop = async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    pause_after(role, &error).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        // Each request learns the peer address, then goes to the guarded router.
        let router = service.clone();
        let per_request = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request.map(Body::new))
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), per_request));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(
                    role = role.name(),
                    client.ip = %peer.ip(),
                    error = %error,
                    "connection closed with an error"
                );
            }
        });
    }

    drop(listener);
    graceful.shutdown().await;
}

/// Waits before accepting again when the error is not about one connection only.
async fn pause_after(role: Role, error: &std::io::Error) {
    use std::io::ErrorKind;
    let one_connection = matches!(
        error.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::ConnectionRefused
    );
    if one_connection {
        return;
    }
    tracing::error!(role = role.name(), error = %error, "cannot accept connections; pausing");
    tokio::time::sleep(ACCEPT_PAUSE).await;
}
