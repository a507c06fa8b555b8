//! Cost of one durable audit record under group commit.
//!
//! N producer tasks append to a real file in a temporary directory and each append waits for
//! its record to be synced, as the actions API does before it answers. The reported time is
//! per record: one `fdatasync` shared by the batch, divided by how many records share it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "benchmark"
)]
#![allow(missing_docs, reason = "criterion generates the entry points")]

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use scopegate_audit::{
    AuditEvent, AuditLog, EventType, Outcome, TokenFacts, TokenType, WriterConfig,
};

fn decision() -> AuditEvent {
    let token = TokenFacts {
        token_type: TokenType::Exchanged,
        token_id: Some("0b9c6a5e-2f1d-4c3b-9a8e-7d6c5b4a3f21"),
        original_token_id: Some("7e3d2c1b-0a9f-4e8d-b7c6-5a4b3c2d1e0f"),
        issued_at: 1_769_596_080,
        expires_at: 1_769_596_380,
        auth_time: Some(1_769_596_020),
        mfa_verified: true,
    };
    AuditEvent::builder(EventType::CapabilityDecision)
        .request_id("3f2a9c1e-6b7d-4e0f-8a1b-2c3d4e5f6a7b")
        .actor("EMP001")
        .acting_through("mcp-server")
        .client_id("chat-app")
        .token(&token)
        .unwrap()
        .capability("workday.payroll.get_compensation")
        .policy_matched("employee-self-service")
        .outcome(Outcome::Success)
        .http_status(200)
        .latency(Duration::from_millis(145))
        .build()
}

/// Appends `records` records from `producers` concurrent tasks and returns the elapsed time.
async fn append_concurrently(log: &AuditLog, producers: u64, records: u64) -> Duration {
    let started = Instant::now();
    let tasks: Vec<_> = (0..producers)
        .map(|producer| {
            let log = log.clone();
            let share = records / producers + u64::from(producer < records % producers);
            tokio::spawn(async move {
                for _ in 0..share {
                    log.append(decision()).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    started.elapsed()
}

fn group_commit(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("audit_append");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));

    for producers in [1_u64, 8, 64] {
        let directory = tempfile::tempdir().unwrap();
        let log = AuditLog::open(
            directory.path().join("audit.jsonl"),
            WriterConfig::default(),
        )
        .unwrap();
        group.bench_with_input(
            BenchmarkId::new("producers", producers),
            &producers,
            |b, &n| {
                b.iter_custom(|records| runtime.block_on(append_concurrently(&log, n, records)));
            },
        );
        runtime.block_on(log.close()).unwrap();
    }
    group.finish();
}

criterion_group!(benches, group_commit);
criterion_main!(benches);
