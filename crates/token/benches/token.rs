//! Signing and verification costs: `cargo bench -p scopegate-token`.
//!
//! `verify` runs the full path with the cache off (decode, key lookup, signature, claims);
//! `verify_cached` is a token presented again; `digest` is the SHA-256 every lookup starts with.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmarks")]
#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use scopegate_token::testing::TestIssuer;
use scopegate_token::{Algorithm, AudienceCheck, Clock, SystemClock, TokenDigest, Verifier};

const ISSUER: &str = "http://127.0.0.1:9000";
const AUDIENCE: &str = "http://127.0.0.1:8000/actions";
const ALGORITHMS: [Algorithm; 3] = [Algorithm::Es256, Algorithm::EdDsa, Algorithm::Rs256];

fn verifier(issuer: &TestIssuer, cache_capacity: usize) -> Verifier {
    Verifier::builder()
        .trust_issuer(ISSUER, issuer.keys())
        .audience(AudienceCheck::one_of([AUDIENCE]))
        .clock(Arc::new(SystemClock))
        .cache_capacity(cache_capacity)
        .build()
        .unwrap()
}

fn benches(c: &mut Criterion) {
    for alg in ALGORITHMS {
        let issuer = TestIssuer::new(ISSUER, alg);
        let claims = issuer.claims(AUDIENCE, SystemClock.now());
        let token = issuer.mint(&claims);

        c.bench_function(&format!("sign/{alg}"), |b| {
            b.iter(|| issuer.mint(black_box(&claims)))
        });

        let uncached = verifier(&issuer, 0);
        c.bench_function(&format!("verify/{alg}"), |b| {
            b.iter(|| uncached.verify(black_box(&token)).unwrap());
        });

        if alg == Algorithm::Es256 {
            let cached = verifier(&issuer, 1024);
            cached.verify(&token).unwrap();
            c.bench_function("verify_cached/ES256", |b| {
                b.iter(|| cached.verify(black_box(&token)).unwrap());
            });
            c.bench_function("digest", |b| b.iter(|| TokenDigest::of(black_box(&token))));
        }
    }
}

criterion_group!(token, benches);
criterion_main!(token);
