//! The limits every role is served with: a bound on requests in flight that sheds the excess
//! with 503 at once, a request deadline, and, on real sockets, the header-read deadline and
//! the head-size limit of the connection.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::num::{NonZeroU64, NonZeroUsize};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::response::Response;
use axum::routing::get;
use http_body_util::BodyExt as _;
use scopegate::config::{HeaderBytes, ServerLimits};
use scopegate::serve::{self, Role};
use scopegate_audit::{AuditLog, MemoryStorage, WriterConfig};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tower::ServiceExt as _;

fn limits(max_in_flight: usize, timeout_seconds: u64) -> ServerLimits {
    ServerLimits {
        max_in_flight: NonZeroUsize::new(max_in_flight).unwrap(),
        request_timeout_seconds: NonZeroU64::new(timeout_seconds).unwrap(),
        ..ServerLimits::default()
    }
}

/// A router whose `/held` requests report that they started, then wait until the gate lets
/// them through; `/quick` answers at once.
fn gated(gate: Arc<Semaphore>, started: mpsc::UnboundedSender<()>) -> Router {
    let held = move || {
        let (gate, started) = (Arc::clone(&gate), started.clone());
        async move {
            let _ = started.send(());
            let _permit = gate.acquire().await.unwrap();
            "released"
        }
    };
    Router::new()
        .route("/held", get(held))
        .route("/quick", get(|| async { "quick" }))
}

fn get_request(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

/// The response of a request that must be answered, not queued: waiting is bounded so that a
/// server that queues fails the test instead of hanging it.
async fn within_deadline(
    response: impl Future<Output = Result<Response, std::convert::Infallible>>,
) -> Response {
    tokio::time::timeout(Duration::from_secs(30), response)
        .await
        .expect("answered rather than queued")
        .unwrap()
}

async fn json_body(response: Response) -> Value {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn a_request_past_the_in_flight_limit_is_shed_with_503_and_retry_after() {
    let gate = Arc::new(Semaphore::new(0));
    let (started, mut entered) = mpsc::unbounded_channel();
    let app = serve::guard(Role::Api, gated(Arc::clone(&gate), started), &limits(2, 30));
    let held: Vec<_> = (0..2)
        .map(|_| tokio::spawn(app.clone().oneshot(get_request("/held"))))
        .collect();
    for _ in 0..2 {
        entered.recv().await.unwrap();
    }

    let shed = within_deadline(app.clone().oneshot(get_request("/quick"))).await;

    assert_eq!(shed.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(shed.headers()["retry-after"], "1");
    assert_eq!(shed.headers()["content-type"], "application/json");
    assert_eq!(shed.headers()["cache-control"], "no-store");
    assert_eq!(
        json_body(shed).await,
        json!({
            "error": "temporarily_unavailable",
            "error_description":
                "the actions API is handling its limit of 2 requests; retry shortly",
        })
    );
    gate.add_permits(2);
    for request in held {
        assert_eq!(request.await.unwrap().unwrap().status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn the_server_takes_requests_again_once_a_slot_frees() {
    let gate = Arc::new(Semaphore::new(0));
    let (started, mut entered) = mpsc::unbounded_channel();
    let app = serve::guard(Role::Idp, gated(Arc::clone(&gate), started), &limits(1, 30));
    let held = tokio::spawn(app.clone().oneshot(get_request("/held")));
    entered.recv().await.unwrap();
    let while_full = within_deadline(app.clone().oneshot(get_request("/quick"))).await;

    gate.add_permits(1);
    let released = held.await.unwrap().unwrap();
    let after = app.clone().oneshot(get_request("/quick")).await.unwrap();

    assert_eq!(while_full.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(released.status(), StatusCode::OK);
    assert_eq!(after.status(), StatusCode::OK);
}

#[tokio::test(start_paused = true)]
async fn a_request_past_its_deadline_is_answered_503() {
    let never = Router::new().route("/stuck", get(std::future::pending::<&'static str>));
    let app = serve::guard(Role::Mcp, never, &limits(8, 5));

    let response = app.oneshot(get_request("/stuck")).await.unwrap();

    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(
        json_body(response).await,
        json!({
            "error": "temporarily_unavailable",
            "error_description": "the request did not complete within 5 s",
        })
    );
}

/// A router served on a real socket with `limits`, and what stops it.
struct Served {
    addr: std::net::SocketAddr,
    stop: oneshot::Sender<()>,
    done: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Served {
    async fn start(router: Router, limits: ServerLimits) -> Self {
        let addr = "127.0.0.1:0".parse().unwrap();
        let bound = serve::bind(Role::Api, addr, router, limits).await.unwrap();
        let addr = bound.local_addr().unwrap();
        let audit = AuditLog::with_storage(MemoryStorage::new(), WriterConfig::default()).unwrap();
        let (stop, stopped) = oneshot::channel();
        let done = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            serve::serve_until(vec![bound], &audit, shutdown).await
        });
        Self { addr, stop, done }
    }

    async fn stop(self) {
        self.stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(30), self.done)
            .await
            .expect("the server stops")
            .unwrap()
            .unwrap();
    }
}

/// Reads until the peer closes the connection or `deadline` passes; returns what was read and
/// whether the connection was closed.
async fn read_until_closed(stream: &mut TcpStream, deadline: Duration) -> (String, bool) {
    let mut received = Vec::new();
    let closed = tokio::time::timeout(deadline, stream.read_to_end(&mut received))
        .await
        .is_ok();
    (String::from_utf8_lossy(&received).into_owned(), closed)
}

#[tokio::test]
async fn a_client_that_stalls_inside_its_request_head_is_disconnected() {
    let limits = ServerLimits {
        header_read_timeout_seconds: NonZeroU64::new(1).unwrap(),
        ..ServerLimits::default()
    };
    let served = Served::start(Router::new().route("/", get(|| async { "ok" })), limits).await;
    let mut stream = TcpStream::connect(served.addr).await.unwrap();

    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Half: ")
        .await
        .unwrap();
    // Well under hyper's own 30 s default, so only the configured deadline can close it.
    let (received, closed) = read_until_closed(&mut stream, Duration::from_secs(20)).await;

    assert!(closed, "the stalled connection is still open");
    assert_eq!(received, "", "no response is owed to a half-sent head");
    served.stop().await;
}

#[tokio::test]
async fn a_request_head_over_the_limit_is_answered_431() {
    let limits = ServerLimits {
        max_header_bytes: HeaderBytes::try_from(4096).unwrap(),
        ..ServerLimits::default()
    };
    let served = Served::start(Router::new().route("/", get(|| async { "ok" })), limits).await;
    let client = reqwest::Client::new();
    let url = format!("http://{}/", served.addr);

    let small = client
        .get(&url)
        .header("x-pad", "a".repeat(2048))
        .send()
        .await
        .unwrap();
    let large = client
        .get(&url)
        .header("x-pad", "a".repeat(8192))
        .send()
        .await
        .unwrap();

    assert_eq!(small.status(), StatusCode::OK);
    assert_eq!(large.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    served.stop().await;
}

#[tokio::test]
async fn each_request_carries_the_peer_address() {
    let echo =
        |ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>| async move { peer.ip().to_string() };
    let served = Served::start(Router::new().route("/", get(echo)), ServerLimits::default()).await;

    let body = reqwest::get(format!("http://{}/", served.addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    assert_eq!(body, "127.0.0.1");
    served.stop().await;
}

#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish() {
    let gate = Arc::new(Semaphore::new(0));
    let (started, mut entered) = mpsc::unbounded_channel();
    let served = Served::start(gated(Arc::clone(&gate), started), ServerLimits::default()).await;
    let url = format!("http://{}/held", served.addr);
    let in_flight = tokio::spawn(async move { reqwest::get(url).await?.text().await });
    entered.recv().await.unwrap();

    let stopping = tokio::spawn(served.stop());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stopped_early = stopping.is_finished();
    gate.add_permits(1);
    let body = in_flight.await.unwrap().unwrap();
    tokio::time::timeout(Duration::from_secs(30), stopping)
        .await
        .unwrap()
        .unwrap();

    assert!(
        !stopped_early,
        "the server stopped with a request in flight"
    );
    assert_eq!(body, "released");
}
