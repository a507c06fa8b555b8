//! Token exchanges per second at `POST /oauth2/v1/token`, over a real loopback socket.
//!
//! The IdP runs as it would in `scopegate idp`: keys on disk, the SQLite store, and the
//! audit log as a file, so each exchange includes its durable (fsync'd, group-committed)
//! audit record. The chat app's user token is obtained once by password login; every
//! iteration exchanges it for a five-minute MCP token, as the chat app does per tool call.
//!
//! Run with `cargo bench -p scopegate-idp --bench exchange`. Two measurements:
//! `sequential` (one request in flight: latency) and `concurrent_16` (16 in flight: what
//! group commit and both cores give).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmark setup")]
#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use scopegate_audit::{AuditLog, WriterConfig};
use scopegate_idp::{Directory, IdpConfig, IdpState, SqliteStore, router};
use scopegate_token::{Algorithm, KeyStore, KeyStoreConfig, SystemClock};
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

const CONCURRENCY: u64 = 16;

/// The running server and what a client needs to call it.
struct Target {
    client: reqwest::Client,
    token_url: String,
    exchange_body: String,
    _dir: tempfile::TempDir,
}

fn start(runtime: &Runtime) -> Target {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(SystemClock);
    let key_config = KeyStoreConfig {
        algorithm: Algorithm::Es256,
        max_token_lifetime: Duration::from_secs(8 * 3600),
    };
    let keys = KeyStore::open(dir.path().join("keys"), key_config, clock.clone()).unwrap();
    let store = SqliteStore::open(&dir.path().join("idp.sqlite")).unwrap();
    let audit = AuditLog::open(dir.path().join("audit.jsonl"), WriterConfig::default()).unwrap();

    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let address = listener.local_addr().unwrap();
    let issuer = format!("http://{address}");
    let config = IdpConfig::development(
        issuer.parse().unwrap(),
        Directory::embedded_default().unwrap(),
    );
    let state = IdpState::new(config, &keys, Arc::new(store), audit, clock).unwrap();
    runtime.spawn(async move { axum::serve(listener, router(state)).await });

    let client = reqwest::Client::new();
    let token_url = format!("{issuer}/oauth2/v1/token");
    let login = encode(&[
        ("grant_type", "password"),
        ("username", "EMP001"),
        ("password", "demo-password"),
    ]);
    let user_token = runtime.block_on(async {
        let reply: serde_json::Value = post(&client, &token_url, login).await.json().await.unwrap();
        reply["access_token"].as_str().unwrap().to_owned()
    });
    let exchange_body = encode(&[
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        ),
        ("subject_token", &user_token),
        (
            "subject_token_type",
            "urn:ietf:params:oauth:token-type:access_token",
        ),
        ("scope", "mcp:use"),
    ]);
    Target {
        client,
        token_url,
        exchange_body,
        _dir: dir,
    }
}

async fn post(client: &reqwest::Client, url: &str, body: String) -> reqwest::Response {
    let response = client
        .post(url)
        .basic_auth("chainlit-app", Some("chainlit-dev-secret"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response
}

async fn exchange_once(client: reqwest::Client, url: String, body: String) {
    let response = post(&client, &url, body).await;
    let bytes = response.bytes().await.unwrap();
    assert!(!bytes.is_empty());
}

fn encode(form: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish()
}

fn token_exchange(criterion: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let target = start(&runtime);
    let mut group = criterion.benchmark_group("token_exchange_over_loopback");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(10));

    group.bench_function("sequential", |bencher| {
        bencher.iter(|| {
            let (client, url, body) = (
                target.client.clone(),
                target.token_url.clone(),
                target.exchange_body.clone(),
            );
            runtime.block_on(exchange_once(client, url, body));
        });
    });

    group.bench_function("concurrent_16", |bencher| {
        bencher.iter_custom(|iterations| {
            runtime.block_on(async {
                let started = Instant::now();
                let mut in_flight = JoinSet::new();
                for _ in 0..iterations {
                    if in_flight.len() as u64 >= CONCURRENCY {
                        in_flight.join_next().await.unwrap().unwrap();
                    }
                    let client = target.client.clone();
                    let (url, body) = (target.token_url.clone(), target.exchange_body.clone());
                    in_flight.spawn(exchange_once(client, url, body));
                }
                while let Some(done) = in_flight.join_next().await {
                    done.unwrap();
                }
                started.elapsed()
            })
        });
    });
    group.finish();
}

criterion_group!(benches, token_exchange);
criterion_main!(benches);
