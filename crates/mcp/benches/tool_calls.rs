//! Tool calls per second over loopback through the whole chain: MCP server (bearer check,
//! policy pre-check, on-behalf-of exchange, audit) → IdP (exchange, audit) → actions API
//! (verification, policy, Workday fixture, audit), every audit record made durable with
//! `fdatasync` on a real file.
//!
//! * `warm`: one MCP token for every call, so the exchanged token comes from the cache;
//! * `cold`: a fresh MCP token for every call, so every call pays an exchange at the IdP;
//! * `warm_16_in_flight`: as `warm`, with 16 calls outstanding at a time;
//! * `rmcp_client_warm`: as `warm`, through the rmcp client instead of raw JSON-RPC posts.
//!
//! The MCP tokens for `cold` are obtained before the clock starts. Run with
//! `cargo bench -p scopegate-mcp`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "benchmark"
)]
#![allow(missing_docs, reason = "criterion macros generate undocumented items")]

#[path = "../tests/e2e/support.rs"]
mod support;

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use support::Stack;
use tokio::task::JoinSet;

const TOOL: &str = "workday_hcm_get_employee";

fn tool_calls(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let stack = runtime.block_on(Stack::start());
    let user_token = runtime.block_on(stack.login("EMP001", false));
    let token = runtime.block_on(stack.mcp_token(&user_token));
    let client = runtime.block_on(stack.client(&token));

    let mut group = c.benchmark_group("tool_call");
    group.throughput(Throughput::Elements(1));
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(10));

    group.bench_function("warm", |b| {
        b.to_async(&runtime).iter(|| post_call(&stack, &token));
    });
    group.bench_function("cold", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let stack = &stack;
            let user_token = &user_token;
            async move {
                let mut tokens = Vec::new();
                for _ in 0..iters {
                    tokens.push(stack.mcp_token(user_token).await);
                }
                let started = Instant::now();
                for fresh in &tokens {
                    post_call(stack, fresh).await;
                }
                started.elapsed()
            }
        });
    });
    group.bench_function("warm_16_in_flight", |b| {
        b.to_async(&runtime)
            .iter_custom(|iters| in_flight(&stack, &token, iters, 16));
    });
    group.bench_function("rmcp_client_warm", |b| {
        b.to_async(&runtime)
            .iter(|| support::call(&client, TOOL, json!({})));
    });
    group.finish();
}

/// One `tools/call` as a raw JSON-RPC POST, as a 2025-11-25 client sends it after the
/// handshake.
async fn post_call(stack: &Stack, token: &str) {
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": TOOL, "arguments": {}},
    });
    let response = stack
        .post_mcp(
            Some(token),
            &[("mcp-protocol-version", "2025-11-25")],
            &body,
        )
        .await;
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["result"]["isError"], false, "{answer}");
}

/// `iters` calls with `width` outstanding at a time; the elapsed wall-clock time.
async fn in_flight(stack: &Stack, token: &str, iters: u64, width: usize) -> Duration {
    let started = Instant::now();
    let mut calls = JoinSet::new();
    let mut sent = 0;
    while sent < iters || !calls.is_empty() {
        while calls.len() < width && sent < iters {
            let (http, url, token) = (stack.http.clone(), stack.mcp_url.clone(), token.to_owned());
            calls.spawn(async move { raw_post(&http, &url, &token).await });
            sent += 1;
        }
        if let Some(done) = calls.join_next().await {
            done.unwrap();
        }
    }
    started.elapsed()
}

async fn raw_post(http: &reqwest::Client, url: &str, token: &str) {
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": TOOL, "arguments": {}},
    });
    let answer: Value = http
        .post(url)
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["result"]["isError"], false, "{answer}");
}

criterion_group!(benches, tool_calls);
criterion_main!(benches);
