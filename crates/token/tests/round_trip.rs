//! Sign-then-verify round trips for every algorithm, through the key store and through a
//! published JWKS.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{API, ISSUER, Setup, start};
use scopegate_token::dangerous::decode_unverified;
use scopegate_token::{
    Actor, Algorithm, AudienceCheck, KeyStore, KeyStoreConfig, ManualClock, StaticKeys,
    TokenDigest, Verifier,
};

const ALL: [Algorithm; 3] = [Algorithm::Es256, Algorithm::EdDsa, Algorithm::Rs256];

#[test]
fn tokens_of_every_algorithm_verify_with_their_claims_intact() {
    for alg in ALL {
        let setup = Setup::new(alg);
        let mut claims = setup.claims();
        claims.act = Some(Actor::new("mcp-server"));
        claims.original_token_id = Some("root-jti".to_owned());
        claims
            .extra
            .insert("cid", serde_json::json!("chat-app"))
            .unwrap();
        let token = setup.issuer.mint(&claims);

        let verified = setup.verifier.verify(&token).unwrap();

        assert_eq!(verified.claims(), &claims, "{alg}");
        assert_eq!(verified.algorithm(), alg);
        assert_eq!(verified.kid(), setup.issuer.kid());
        assert_eq!(verified.digest(), TokenDigest::of(&token));
    }
}

#[test]
fn key_store_tokens_verify_through_its_own_keys_for_every_algorithm() {
    for alg in ALL {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(start()));
        let config = KeyStoreConfig {
            algorithm: alg,
            max_token_lifetime: Duration::from_secs(3600),
        };
        let store = KeyStore::open(dir.path(), config, clock.clone()).unwrap();
        let verifier = Verifier::builder()
            .trust_issuer(ISSUER, store.verification_keys())
            .audience(AudienceCheck::one_of([API]))
            .clock(clock)
            .build()
            .unwrap();
        let claims = scopegate_token::testing::sample_claims(ISSUER, API, start());

        let token = store.signer().sign(&claims).unwrap();

        let verified = verifier.verify(&token).unwrap();
        assert_eq!(verified.claims(), &claims, "{alg}");
        assert_eq!(verified.kid(), store.active().kid);
    }
}

#[test]
fn tokens_verify_through_the_published_jwks_document() {
    for alg in ALL {
        let setup = Setup::new(alg);
        let document = serde_json::to_vec(&setup.issuer.jwks()).unwrap();
        let verifier = Verifier::builder()
            .trust_issuer(ISSUER, StaticKeys::from_jwks_json(&document).unwrap())
            .audience(AudienceCheck::one_of([API]))
            .clock(setup.clock.clone())
            .build()
            .unwrap();

        let verified = verifier.verify(&setup.token());

        assert!(verified.is_ok(), "{alg}: {verified:?}");
    }
}

#[test]
fn the_header_is_alg_typ_kid() {
    let setup = Setup::new(Algorithm::Es256);

    let unverified = decode_unverified(&setup.token()).unwrap();

    let expected = serde_json::json!({"alg": "ES256", "typ": "at+jwt", "kid": setup.issuer.kid()});
    assert_eq!(unverified.header, expected);
    assert_eq!(unverified.claims["scope"], serde_json::json!(["mcp:use"]));
}

#[test]
fn an_audience_array_passes_when_it_contains_an_expected_audience() {
    let setup = Setup::new(Algorithm::Es256);
    let mut claims = setup.claims();
    claims.aud = scopegate_token::Audience::several(["http://127.0.0.1:8001/mcp", API]).unwrap();

    let verified = setup.verifier.verify(&setup.issuer.mint(&claims));

    assert!(verified.is_ok(), "{verified:?}");
}

#[test]
fn the_issuer_verifies_its_own_tokens_for_any_audience_when_asked_to() {
    let setup = Setup::new(Algorithm::Es256);
    let mut claims = setup.claims();
    claims.aud = scopegate_token::Audience::single("http://127.0.0.1:8001/mcp");
    let verifier = Verifier::builder()
        .trust_issuer(ISSUER, setup.issuer.keys())
        .audience(AudienceCheck::any_audience_of_this_issuer())
        .clock(setup.clock.clone())
        .build()
        .unwrap();

    let verified = verifier.verify(&setup.issuer.mint(&claims));

    assert!(verified.is_ok(), "{verified:?}");
}

#[test]
fn external_tokens_with_a_space_separated_scope_verify() {
    let setup = Setup::new(Algorithm::Rs256);
    let payload = setup
        .payload()
        .replace(r#""scope":["mcp:use"]"#, r#""scope":"openid mcp:use""#);
    let token = setup.issuer.sign_payload(&payload);

    let verified = setup.verifier.verify(&token).unwrap();

    assert!(verified.claims().scope.contains("openid"));
    assert!(verified.claims().scope.contains("mcp:use"));
}

#[test]
fn a_verifier_with_several_issuers_picks_keys_by_iss() {
    let ours = Setup::new(Algorithm::Es256);
    let theirs = scopegate_token::testing::TestIssuer::new("https://idp.example", Algorithm::EdDsa);
    let verifier = Verifier::builder()
        .trust_issuer(ISSUER, ours.issuer.keys())
        .trust_issuer("https://idp.example", theirs.keys())
        .audience(AudienceCheck::one_of([API]))
        .clock(ours.clock.clone())
        .build()
        .unwrap();

    let mine = verifier.verify(&ours.token()).unwrap();
    let other = verifier
        .verify(&theirs.mint(&theirs.claims(API, start())))
        .unwrap();

    assert_eq!(mine.claims().iss, ISSUER);
    assert_eq!(other.claims().iss, "https://idp.example");
}

#[test]
fn claims_with_an_integer_beyond_u64_survive_rewriting() {
    // Found by the `jwt_claims` fuzz target: a number too large for u64 is read as a float,
    // and without exactly rounded parsing, reading, writing and reading again changed it, so
    // an exchange that copies unknown claims could alter them.
    let setup = Setup::new(Algorithm::Es256);
    let claims = setup.payload();
    let payload = format!(
        r#"{},"n":184440737095773957467}}"#,
        claims.trim_end_matches('}')
    );
    let token = setup.issuer.sign_payload(&payload);
    let first = setup.verifier.verify(&token).unwrap();

    let rewritten = setup.issuer.mint(first.claims());
    let second = setup.verifier.verify(&rewritten).unwrap();

    assert_eq!(second.claims(), first.claims());
}
