//! Hostile input: tokens built to confuse parsers, exhaust resources or trick key selection.
//! Every one of them is signed with a real key unless the attack is about the signature, so the
//! refusal comes from the rule under test and not from a bad signature.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use aws_lc_rs::hmac;
use common::{API, ISSUER, Setup, b64, start};
use scopegate_token::testing::TestIssuer;
use scopegate_token::{Algorithm, DecodeError, JsonError, Part, VerifyError};

#[test]
fn refuses_a_repeated_header_member() {
    let setup = Setup::new(Algorithm::Es256);
    let header = setup.header().replace('}', r#","alg":"none"}"#);

    let message = setup.refusal(&setup.issuer.sign_with_header(&header, &setup.payload()));

    assert_eq!(message, "token header: duplicate member `alg`");
}

#[test]
fn refuses_a_repeated_claim() {
    let setup = Setup::new(Algorithm::Es256);
    let payload = setup.payload().replace('}', r#","sub":"admin"}"#);

    let message = setup.refusal(&setup.issuer.sign_payload(&payload));

    assert_eq!(message, "token payload: duplicate member `sub`");
}

#[test]
fn refuses_a_repeated_member_deep_inside_a_claim() {
    let setup = Setup::new(Algorithm::Es256);
    let payload = setup.payload().replace(
        '}',
        r#","act":{"sub":"mcp-server","act":{"sub":"a","sub":"b"}}}"#,
    );

    let message = setup.refusal(&setup.issuer.sign_payload(&payload));

    assert_eq!(message, "token payload: duplicate member `sub`");
}

#[test]
fn refuses_claims_of_the_wrong_type_with_the_claim_named() {
    let setup = Setup::new(Algorithm::Es256);
    let exp = setup.claims().exp.as_unix_seconds();
    let cases = [
        (
            (format!(r#""exp":{exp}"#), format!(r#""exp":"{exp}""#)),
            "claim `exp` must be a NumericDate (integer seconds since 1970), found a string",
        ),
        (
            (
                r#""scope":["mcp:use"]"#.to_owned(),
                r#""scope":42"#.to_owned(),
            ),
            "claim `scope` must be an array of scope strings or a space-separated string, \
             found a number",
        ),
        (
            (format!(r#""aud":"{API}""#), r#""aud":{"0":"x"}"#.to_owned()),
            "claim `aud` must be a string or an array of strings, found an object",
        ),
    ];
    for ((from, to), message) in cases {
        let payload = setup.payload().replace(&from, &to);
        assert_ne!(payload, setup.payload(), "the replacement must apply");

        assert_eq!(setup.refusal(&setup.issuer.sign_payload(&payload)), message);
    }
}

#[test]
fn refuses_deeply_nested_json_without_overflowing() {
    let setup = Setup::new(Algorithm::Es256);
    let deep = format!("{}{}", "[".repeat(2000), "]".repeat(2000));
    let payload = setup.payload().replace('}', &format!(r#","x":{deep}}}"#));

    let error = setup
        .verifier
        .verify(&setup.issuer.sign_payload(&payload))
        .unwrap_err();

    assert!(matches!(
        error,
        VerifyError::Decode(DecodeError::Json {
            part: Part::Payload,
            source: JsonError::TooDeep { limit: 32 }
        })
    ));
    assert_eq!(
        error.to_string(),
        "token payload: nested deeper than 32 levels"
    );
}

#[test]
fn refuses_a_one_megabyte_token_by_its_size_alone() {
    let setup = Setup::new(Algorithm::Es256);
    let payload = format!(r#"{{"pad":"{}"}}"#, "x".repeat(1024 * 1024));
    let token = setup.issuer.sign_payload(&payload);

    let error = setup.verifier.verify(&token).unwrap_err();

    // The size error (rather than a parse or signature error) shows nothing was decoded.
    assert_eq!(
        error.to_string(),
        format!("token is {} bytes, over the limit of 8192", token.len())
    );
}

#[test]
fn a_kid_with_path_traversal_or_sql_is_only_an_unknown_kid() {
    let setup = Setup::new(Algorithm::Es256);
    for kid in [
        "../../../../etc/passwd",
        "x' OR '1'='1",
        "/dev/zero",
        "%2e%2e%2f",
    ] {
        let header = format!(r#"{{"alg":"ES256","typ":"at+jwt","kid":"{kid}"}}"#);

        let message = setup.refusal(&setup.issuer.sign_with_header(&header, &setup.payload()));

        assert_eq!(message, format!("issuer `{ISSUER}` has no key `{kid}`"));
    }
}

#[test]
fn control_characters_from_a_token_are_escaped_in_messages() {
    let setup = Setup::new(Algorithm::Es256);
    let header = r#"{"alg":"ES256","typ":"at+jwt","kid":"a\nlevel=ERROR forged"}"#;

    let message = setup.refusal(&setup.issuer.sign_with_header(header, &setup.payload()));

    assert_eq!(
        message,
        format!("issuer `{ISSUER}` has no key `a\\nlevel=ERROR forged`")
    );
}

#[test]
fn refuses_an_es256_signature_with_r_and_s_zero() {
    let setup = Setup::new(Algorithm::Es256);
    let token = setup.token();
    let (signed, _) = token.rsplit_once('.').unwrap();

    let zero = format!("{signed}.{}", b64(&[0; 64]));

    assert_eq!(
        setup.refusal(&zero),
        format!(
            "signature does not verify with key `{}`",
            setup.issuer.kid()
        )
    );
}

#[test]
fn refuses_an_hs256_token_keyed_with_the_public_key() {
    let setup = Setup::new(Algorithm::Rs256);
    let public_jwk = serde_json::to_vec(setup.issuer.key().verification_key().jwk()).unwrap();
    let header = setup.header().replace("RS256", "HS256");
    let signing_input = format!(
        "{}.{}",
        b64(header.as_bytes()),
        b64(setup.payload().as_bytes())
    );
    let key = hmac::Key::new(hmac::HMAC_SHA256, &public_jwk);
    let tag = hmac::sign(&key, signing_input.as_bytes());

    let token = format!("{signing_input}.{}", b64(tag.as_ref()));

    assert_eq!(
        setup.refusal(&token),
        "algorithm `HS256` is refused: HMAC algorithms are never accepted"
    );
}

#[test]
fn refuses_a_token_signed_by_another_issuers_key() {
    let setup = Setup::new(Algorithm::Es256);
    let intruder = TestIssuer::new(ISSUER, Algorithm::Es256);
    let claims = setup.claims();

    // Under its own kid, the intruder's key is simply unknown.
    let own_kid = setup.refusal(&intruder.mint(&claims));
    // Claiming our kid, its signature fails.
    let our_header = setup.header();
    let stolen_kid = intruder.sign_with_header(&our_header, &setup.payload());

    assert_eq!(
        own_kid,
        format!("issuer `{ISSUER}` has no key `{}`", intruder.kid())
    );
    assert_eq!(
        setup.refusal(&stolen_kid),
        format!(
            "signature does not verify with key `{}`",
            setup.issuer.kid()
        )
    );
}

#[test]
fn refuses_a_token_not_yet_valid_beyond_the_leeway() {
    let setup = Setup::new(Algorithm::EdDsa);
    let mut claims = setup.claims();
    claims.nbf = Some(start().saturating_add(std::time::Duration::from_secs(3600)));

    let message = setup.refusal(&setup.issuer.mint(&claims));

    assert_eq!(
        message,
        "token is not valid before 2026-01-28T11:28:00Z (now 2026-01-28T10:28:00Z)"
    );
}

#[test]
fn refuses_a_signature_over_a_different_encoding_of_the_same_header() {
    let setup = Setup::new(Algorithm::Es256);
    let token = setup.token();
    let (_, rest) = token.split_once('.').unwrap();
    let spaced = setup.header().replace(',', ", ");

    let reencoded = format!("{}.{rest}", b64(spaced.as_bytes()));

    assert_eq!(
        setup.refusal(&reencoded),
        format!(
            "signature does not verify with key `{}`",
            setup.issuer.kid()
        )
    );
}
