//! The verified-token cache: a repeated token skips the key lookup and signature check, an
//! entry never outlives its token's `exp`, and refusals are never cached.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{API, ISSUER, Setup};
use scopegate_token::{Algorithm, AudienceCheck, KeySource, StaticKeys, VerificationKey, Verifier};

/// A key source that counts lookups, so a test can see whether verification reached it.
#[derive(Debug)]
struct Counting {
    keys: StaticKeys,
    lookups: Arc<AtomicUsize>,
}

impl KeySource for Counting {
    fn find(&self, kid: &str) -> Option<Arc<VerificationKey>> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        self.keys.find(kid)
    }
}

fn counting_verifier(setup: &Setup, capacity: usize) -> (Verifier, Arc<AtomicUsize>) {
    let lookups = Arc::new(AtomicUsize::new(0));
    let source = Counting {
        keys: setup.issuer.keys(),
        lookups: Arc::clone(&lookups),
    };
    let verifier = Verifier::builder()
        .trust_issuer(ISSUER, source)
        .audience(AudienceCheck::one_of([API]))
        .clock(setup.clock.clone())
        .cache_capacity(capacity)
        .build()
        .unwrap();
    (verifier, lookups)
}

#[test]
fn a_repeated_token_is_answered_from_the_cache() {
    let setup = Setup::new(Algorithm::Es256);
    let (verifier, lookups) = counting_verifier(&setup, 16);
    let token = setup.token();

    let first = verifier.verify(&token).unwrap();
    let second = verifier.verify(&token).unwrap();

    assert_eq!(lookups.load(Ordering::SeqCst), 1);
    assert!(Arc::ptr_eq(&first, &second));
    assert_eq!(verifier.cached_tokens(), 1);
}

#[test]
fn without_a_cache_every_presentation_is_verified() {
    let setup = Setup::new(Algorithm::Es256);
    let (verifier, lookups) = counting_verifier(&setup, 0);
    let token = setup.token();

    verifier.verify(&token).unwrap();
    verifier.verify(&token).unwrap();

    assert_eq!(lookups.load(Ordering::SeqCst), 2);
    assert_eq!(verifier.cached_tokens(), 0);
}

#[test]
fn a_cached_entry_is_not_served_past_exp() {
    let setup = Setup::new(Algorithm::Es256);
    let (verifier, lookups) = counting_verifier(&setup, 16);
    let token = setup.token();
    verifier.verify(&token).unwrap();

    // Past `exp` but inside the leeway: verified again in full, and still accepted.
    setup.clock.advance(Duration::from_secs(301));
    let within_leeway = verifier.verify(&token);
    // Past the leeway: refused with the exact reason.
    setup.clock.advance(Duration::from_secs(60));
    let after_leeway = verifier.verify(&token).unwrap_err();

    assert!(within_leeway.is_ok());
    assert_eq!(lookups.load(Ordering::SeqCst), 3);
    assert_eq!(
        after_leeway.to_string(),
        "token expired at 2026-01-28T10:33:00Z (now 2026-01-28T10:34:01Z)"
    );
}

#[test]
fn a_cached_entry_is_rechecked_when_the_clock_goes_back() {
    let setup = Setup::new(Algorithm::Es256);
    let (verifier, _) = counting_verifier(&setup, 16);
    let token = setup.token();
    verifier.verify(&token).unwrap();

    setup
        .clock
        .set(common::start().saturating_sub(Duration::from_secs(120)));
    let error = verifier.verify(&token).unwrap_err();

    assert_eq!(
        error.to_string(),
        "token was issued in the future at 2026-01-28T10:28:00Z (now 2026-01-28T10:26:00Z)"
    );
}

#[test]
fn refused_tokens_are_not_cached() {
    let setup = Setup::new(Algorithm::Es256);
    let (verifier, lookups) = counting_verifier(&setup, 16);
    let mut claims = setup.claims();
    claims.aud = scopegate_token::Audience::single("somewhere-else");
    let token = setup.issuer.mint(&claims);

    let first = verifier.verify(&token).unwrap_err().to_string();
    let second = verifier.verify(&token).unwrap_err().to_string();

    assert_eq!(first, second);
    assert_eq!(lookups.load(Ordering::SeqCst), 2);
    assert_eq!(verifier.cached_tokens(), 0);
}

#[test]
fn the_cache_is_bounded() {
    let setup = Setup::new(Algorithm::EdDsa);
    let (verifier, _) = counting_verifier(&setup, 4);

    for n in 0..50 {
        let mut claims = setup.claims();
        claims.jti = format!("token-{n}");
        verifier.verify(&setup.issuer.mint(&claims)).unwrap();
    }

    assert!(
        verifier.cached_tokens() <= 4,
        "{} cached",
        verifier.cached_tokens()
    );
}

#[test]
fn clones_of_a_verifier_share_one_cache() {
    let setup = Setup::new(Algorithm::Es256);
    let (verifier, lookups) = counting_verifier(&setup, 16);
    let clone = verifier.clone();
    let token = setup.token();

    verifier.verify(&token).unwrap();
    clone.verify(&token).unwrap();

    assert_eq!(lookups.load(Ordering::SeqCst), 1);
}
