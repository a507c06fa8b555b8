//! Header and payload JSON, signed by the fixture's issuer, through the verifier: the
//! signature always checks, so every input reaches the header rules and the claim parser.
//!
//! Input: the header JSON on the first line and the payload JSON after it. `$kid` in the
//! header stands for the issuer's key id. Without a newline, or with an empty first line, the
//! whole input (or the rest) is the payload under the issuer's own header.
//!
//! Invariants:
//! * the verifier never panics;
//! * an accepted token names the trusted issuer and the expected audience, is within its
//!   validity window, and carries a non-empty `sub`, `jti` and `client_id`;
//! * `decode_unverified` shows the same `iss`, `sub`, `jti` and `client_id`;
//! * writing the accepted claims as a new token and verifying that gives the same claims;
//! * presenting the token again (the cache path) gives the same claims.

#![no_main]

use libfuzzer_sys::fuzz_target;
use scopegate_fuzz::token::{AUDIENCE, ISSUER, KID_PLACEHOLDER, fixture};
use scopegate_token::dangerous::decode_unverified;
use scopegate_token::{DEFAULT_LEEWAY, MAX_TOKEN_BYTES, TokenDigest, VerifyError};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let fixture = fixture();
    let issuer = &fixture.issuer;
    let token = match text.split_once('\n') {
        Some((header, payload)) if !header.is_empty() => {
            let header = header.replace(KID_PLACEHOLDER, issuer.kid());
            issuer.sign_with_header(&header, payload)
        }
        Some((_, payload)) => issuer.sign_payload(payload),
        None => issuer.sign_payload(text),
    };

    let verified = match fixture.verifier.verify(&token) {
        Ok(verified) => verified,
        Err(error) => {
            let _ = error.to_string();
            // A signature by the trusted key always verifies once the header is acceptable.
            assert!(
                !matches!(error, VerifyError::BadSignature { .. }),
                "a token signed by the trusted key failed its signature check"
            );
            return;
        }
    };
    let claims = verified.claims();

    // What verification promises about every accepted token.
    let now = fixture.now;
    assert_eq!(claims.iss, ISSUER);
    assert!(claims.aud.contains(AUDIENCE), "audience {:?}", claims.aud);
    assert!(claims.exp >= now.saturating_sub(DEFAULT_LEEWAY));
    assert!(claims.iat <= now.saturating_add(DEFAULT_LEEWAY));
    assert!(
        claims
            .nbf
            .is_none_or(|nbf| nbf <= now.saturating_add(DEFAULT_LEEWAY))
    );
    assert!(!claims.sub.is_empty() && !claims.jti.is_empty() && !claims.client_id.is_empty());
    assert_eq!(verified.kid(), issuer.kid());
    assert_eq!(verified.digest(), TokenDigest::of(&token));

    // The display decoder reads the same identity out of the same bytes.
    let shown = decode_unverified(&token).expect("a verified token decodes for display");
    for (name, value) in [
        ("iss", &claims.iss),
        ("sub", &claims.sub),
        ("jti", &claims.jti),
        ("client_id", &claims.client_id),
    ] {
        assert_eq!(
            shown.claims[name].as_str(),
            Some(value.as_str()),
            "claim `{name}`"
        );
    }

    // Writing the claims and reading them back is the identity: what an exchange copies
    // from a subject token survives unchanged.
    let rewritten = issuer.mint(claims);
    if rewritten.len() <= MAX_TOKEN_BYTES {
        let again = fixture
            .verifier
            .verify(&rewritten)
            .unwrap_or_else(|error| panic!("re-signed claims were refused: {error}"));
        assert_eq!(
            again.claims(),
            claims,
            "claims changed when written and read back"
        );
    }

    // The second presentation comes from the cache and must agree with the first.
    let cached = fixture
        .verifier
        .verify(&token)
        .expect("a verified token verifies again");
    assert_eq!(
        cached.claims(),
        claims,
        "the cache answered with other claims"
    );
});
