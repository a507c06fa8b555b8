//! Key rotation seen from the verifier: old tokens keep verifying while their key is
//! published, and the key leaves once its last token has expired.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{API, ISSUER, start};
use scopegate_token::testing::sample_claims;
use scopegate_token::{
    Algorithm, AudienceCheck, Clock, KeySource, KeyStore, KeyStoreConfig, ManualClock, Verifier,
};

const LIFETIME: Duration = Duration::from_secs(3600);

struct Idp {
    _dir: tempfile::TempDir,
    store: KeyStore,
    clock: Arc<ManualClock>,
    verifier: Verifier,
}

impl Idp {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(start()));
        let config = KeyStoreConfig {
            algorithm: Algorithm::Es256,
            max_token_lifetime: LIFETIME,
        };
        let store = KeyStore::open(dir.path().join("keys"), config, clock.clone()).unwrap();
        // No cache, so every verification really looks the key up.
        let verifier = Verifier::builder()
            .trust_issuer(ISSUER, store.verification_keys())
            .audience(AudienceCheck::one_of([API]))
            .clock(clock.clone())
            .cache_capacity(0)
            .build()
            .unwrap();
        Self {
            _dir: dir,
            store,
            clock,
            verifier,
        }
    }

    /// A token living the longest allowed lifetime, issued now.
    fn long_token(&self) -> String {
        let mut claims = sample_claims(ISSUER, API, self.clock.now());
        claims.exp = self.clock.now().saturating_add(LIFETIME);
        self.store.signer().sign(&claims).unwrap()
    }

    fn published(&self) -> Vec<String> {
        self.store
            .jwks()
            .keys()
            .iter()
            .map(|key| key.kid().to_owned())
            .collect()
    }
}

#[test]
fn a_token_signed_before_rotation_still_verifies() {
    let idp = Idp::new();
    let old_token = idp.long_token();

    idp.clock.advance(Duration::from_secs(60));
    idp.store.rotate().unwrap();
    let new_token = idp.long_token();

    assert!(idp.verifier.verify(&old_token).is_ok());
    assert!(idp.verifier.verify(&new_token).is_ok());
}

#[test]
fn the_jwks_lists_both_keys_after_rotation() {
    let idp = Idp::new();
    let old = idp.store.active().kid;

    let new = idp.store.rotate().unwrap().kid;

    assert_eq!(idp.published(), [new, old]);
}

#[test]
fn the_old_key_is_dropped_once_its_last_token_has_expired() {
    let idp = Idp::new();
    let old = idp.store.active().kid;
    idp.clock.advance(Duration::from_secs(600));
    let last_old_token = idp.long_token();
    idp.store.rotate().unwrap();

    idp.clock.advance(LIFETIME - Duration::from_secs(1));
    let still_valid = idp.verifier.verify(&last_old_token).is_ok();
    let still_listed = idp.published().contains(&old);
    idp.clock.advance(Duration::from_secs(1));

    assert!(still_valid && still_listed);
    assert!(!idp.published().contains(&old));
    assert!(idp.store.verification_keys().find(&old).is_none());
    assert_eq!(
        idp.verifier
            .verify(&last_old_token)
            .unwrap_err()
            .to_string(),
        format!("issuer `{ISSUER}` has no key `{old}`")
    );
}

#[test]
fn a_restarted_idp_still_publishes_the_retired_key() {
    let idp = Idp::new();
    let old_token = idp.long_token();
    idp.store.rotate().unwrap();
    let config = KeyStoreConfig {
        algorithm: Algorithm::Es256,
        max_token_lifetime: LIFETIME,
    };

    let restarted = KeyStore::open(idp.store.dir(), config, idp.clock.clone()).unwrap();

    assert_eq!(restarted.jwks().keys().len(), 2);
    let verifier = Verifier::builder()
        .trust_issuer(ISSUER, restarted.verification_keys())
        .audience(AudienceCheck::one_of([API]))
        .clock(idp.clock.clone())
        .build()
        .unwrap();
    assert!(verifier.verify(&old_token).is_ok());
}
