//! Capability decisions per second over loopback, with the durable audit log on.
//!
//! The router is served on `127.0.0.1:0`; a client keeps `CONCURRENCY` requests in flight, each
//! an allowed `workday.hcm.get_employee` that runs the whole pipeline (verify, gate, audience,
//! schema, policy, fixture connector) and waits for its audit record's `fdatasync` before the
//! answer. Two cases: the same token every time (the verified-token cache answers) and a fresh
//! token every time (full signature verification). Tokens are minted before the timed part.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "benchmark"
)]
#![allow(missing_docs, reason = "criterion generates the entry points")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use scopegate_audit::{AuditLog, WriterConfig};
use scopegate_gateway::{GatewayConfig, GatewayParts, GatewayState, router};
use scopegate_token::testing::TestIssuer;
use scopegate_token::{Actor, Algorithm, KeySource, NumericDate, SystemClock};
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

const ISSUER: &str = "http://127.0.0.1:9000";
const API: &str = "http://127.0.0.1:8000";
const CONCURRENCY: usize = 16;

struct Target {
    url: String,
    issuer: TestIssuer,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Target {
    fn token(&self, serial: u64) -> String {
        let now = NumericDate::from_unix_seconds(time_now()).unwrap();
        let mut claims = self.issuer.claims(API, now);
        claims.jti = format!("bench-{serial}");
        claims.client_id = "mcp-server".to_owned();
        claims.act = Some(Actor::new("mcp-server"));
        claims.original_token_id = Some("bench-login".to_owned());
        self.issuer.mint(&claims)
    }
}

fn time_now() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since_epoch.as_secs()).unwrap()
}

async fn start() -> Target {
    let dir = tempfile::tempdir().unwrap();
    let issuer = TestIssuer::new(ISSUER, Algorithm::Es256);
    let audit = AuditLog::open(dir.path().join("audit.jsonl"), WriterConfig::default()).unwrap();
    let keys: Arc<dyn KeySource> = Arc::new(issuer.keys());
    let parts =
        GatewayParts::with_defaults(GatewayConfig::default(), keys, Arc::new(SystemClock), audit)
            .unwrap();
    let app = router(GatewayState::new(parts).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/actions/workday.hcm/get_employee",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()
        .unwrap();
    Target {
        url,
        issuer,
        client,
        _dir: dir,
    }
}

/// Sends one request per token, `CONCURRENCY` at a time, and returns the elapsed time.
async fn send_all(target: &Target, tokens: Vec<String>) -> Duration {
    let started = Instant::now();
    let mut pending = JoinSet::new();
    for token in tokens {
        if pending.len() == CONCURRENCY {
            pending.join_next().await.unwrap().unwrap();
        }
        let request = target.client.get(&target.url).bearer_auth(token);
        pending.spawn(async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.bytes().await.unwrap();
        });
    }
    while let Some(done) = pending.join_next().await {
        done.unwrap();
    }
    started.elapsed()
}

fn decisions(c: &mut Criterion) {
    let runtime = Runtime::new().unwrap();
    let target = runtime.block_on(start());
    let mut group = c.benchmark_group("decisions_over_loopback");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));

    let same = target.token(0);
    group.bench_function("same_token", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let tokens = vec![same.clone(); usize::try_from(iters).unwrap()];
            send_all(&target, tokens)
        });
    });

    let mut serial = 1;
    group.bench_function("fresh_token", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let tokens: Vec<String> = (0..iters).map(|i| target.token(serial + i)).collect();
            serial += iters;
            send_all(&target, tokens)
        });
    });
    group.finish();
}

criterion_group!(benches, decisions);
criterion_main!(benches);
