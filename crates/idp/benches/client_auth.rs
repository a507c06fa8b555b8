//! The cost of a failed client authentication, for a client id that exists (wrong secret) and
//! for one that does not. Both hash the presented secret and compare it in constant time, so
//! the two figures should agree within noise: a caller timing the token endpoint cannot learn
//! which client ids exist. A correct secret is measured beside them for reference.
//!
//! Run with `cargo bench -p scopegate-idp --bench client_auth`.

#![allow(clippy::unwrap_used, reason = "benchmark setup")]
#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::hint::black_box;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use criterion::{Criterion, criterion_group, criterion_main};
use scopegate_idp::Directory;
use scopegate_idp::client_auth::authenticate;
use scopegate_idp::form::Form;

fn basic(id: &str, secret: &str) -> Vec<u8> {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))).into_bytes()
}

fn client_auth(c: &mut Criterion) {
    let directory = Directory::embedded_default().unwrap();
    let form = Form::parse_body(b"grant_type=client_credentials").unwrap();
    let cases = [
        (
            "wrong_secret",
            basic("directory-sync", "directory-sync-dev-secreT"),
        ),
        (
            "unknown_client",
            basic("directory-sinc", "directory-sync-dev-secret"),
        ),
        (
            "right_secret",
            basic("directory-sync", "directory-sync-dev-secret"),
        ),
    ];

    let mut group = c.benchmark_group("client_auth");
    for (name, header) in &cases {
        group.bench_function(*name, |b| {
            b.iter(|| {
                let answer = authenticate(&directory, Some(black_box(header)), &form);
                black_box(answer.is_ok())
            });
        });
    }
    group.finish();
}

criterion_group!(benches, client_auth);
criterion_main!(benches);
