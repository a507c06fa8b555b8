//! Every refusal of the verifier, each asserting the exact error message.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{API, ISSUER, Setup, b64, start};
use scopegate_token::testing::TestIssuer;
use scopegate_token::{
    Algorithm, AudienceCheck, BuildError, ManualClock, StaticKeys, Verifier, VerifyError,
};

fn seconds(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn refuses_an_expired_token_with_both_times() {
    let setup = Setup::new(Algorithm::Es256);
    let token = setup.token();
    setup.clock.advance(seconds(300 + 62));

    let message = setup.refusal(&token);

    assert_eq!(
        message,
        "token expired at 2026-01-28T10:33:00Z (now 2026-01-28T10:34:02Z)"
    );
}

#[test]
fn accepts_an_expired_token_within_the_leeway() {
    let setup = Setup::new(Algorithm::Es256);
    let token = setup.token();
    setup.clock.advance(seconds(300 + 60));

    assert!(setup.verifier.verify(&token).is_ok());
}

#[test]
fn the_leeway_is_configurable() {
    let setup = Setup::new(Algorithm::Es256);
    let strict = Verifier::builder()
        .trust_issuer(ISSUER, setup.issuer.keys())
        .audience(AudienceCheck::one_of([API]))
        .clock(setup.clock.clone())
        .leeway(Duration::ZERO)
        .build()
        .unwrap();
    let token = setup.token();
    setup.clock.advance(seconds(301));

    let error = strict.verify(&token).unwrap_err();

    assert_eq!(
        error.to_string(),
        "token expired at 2026-01-28T10:33:00Z (now 2026-01-28T10:33:01Z)"
    );
}

#[test]
fn refuses_a_token_not_yet_valid_beyond_the_leeway() {
    let setup = Setup::new(Algorithm::Es256);
    let mut claims = setup.claims();
    claims.nbf = Some(start().saturating_add(seconds(61)));
    let late_enough = {
        let mut claims = claims.clone();
        claims.nbf = Some(start().saturating_add(seconds(60)));
        setup.issuer.mint(&claims)
    };

    let message = setup.refusal(&setup.issuer.mint(&claims));

    assert_eq!(
        message,
        "token is not valid before 2026-01-28T10:29:01Z (now 2026-01-28T10:28:00Z)"
    );
    assert!(setup.verifier.verify(&late_enough).is_ok());
}

#[test]
fn refuses_a_token_issued_in_the_future_beyond_the_leeway() {
    let setup = Setup::new(Algorithm::Es256);
    let mut claims = setup.claims();
    claims.iat = start().saturating_add(seconds(120));

    let message = setup.refusal(&setup.issuer.mint(&claims));

    assert_eq!(
        message,
        "token was issued in the future at 2026-01-28T10:30:00Z (now 2026-01-28T10:28:00Z)"
    );
}

#[test]
fn refuses_a_token_for_another_audience() {
    let setup = Setup::new(Algorithm::Es256);
    let mut claims = setup.claims();
    claims.aud = scopegate_token::Audience::single("http://127.0.0.1:8001/mcp");

    let message = setup.refusal(&setup.issuer.mint(&claims));

    assert_eq!(
        message,
        "token audience `http://127.0.0.1:8001/mcp` includes none of \
         `http://127.0.0.1:8000/actions`"
    );
}

#[test]
fn refuses_a_token_whose_typ_is_not_an_access_token_type() {
    let setup = Setup::new(Algorithm::Es256);
    let header = setup.header().replace("at+jwt", "JWT");

    let message = setup.refusal(&setup.issuer.sign_with_header(&header, &setup.payload()));

    assert_eq!(message, "header `typ` is `JWT`, expected `at+jwt`");
}

#[test]
fn refuses_a_token_without_typ() {
    let setup = Setup::new(Algorithm::Es256);
    let header = setup.header().replace(r#""typ":"at+jwt","#, "");

    let message = setup.refusal(&setup.issuer.sign_with_header(&header, &setup.payload()));

    assert_eq!(message, "header member `typ` is missing");
}

#[test]
fn accepts_the_long_form_access_token_type() {
    let setup = Setup::new(Algorithm::Es256);
    let header = setup.header().replace("at+jwt", "application/at+jwt");

    let verified = setup
        .verifier
        .verify(&setup.issuer.sign_with_header(&header, &setup.payload()));

    assert!(verified.is_ok(), "{verified:?}");
}

#[test]
fn refuses_alg_none_in_any_capitalisation() {
    let setup = Setup::new(Algorithm::Es256);
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = format!(
            r#"{{"alg":"{alg}","typ":"at+jwt","kid":"{}"}}"#,
            setup.issuer.kid()
        );
        let token = format!(
            "{}.{}.",
            b64(header.as_bytes()),
            b64(setup.payload().as_bytes())
        );

        let message = setup.refusal(&token);

        assert_eq!(
            message,
            format!("algorithm `{alg}` is refused: access tokens must be signed")
        );
    }
}

#[test]
fn refuses_hmac_algorithms() {
    let setup = Setup::new(Algorithm::Es256);
    for alg in ["HS256", "HS384", "HS512"] {
        let header = setup.header().replace("ES256", alg);

        let message = setup.refusal(&setup.issuer.sign_with_header(&header, &setup.payload()));

        assert_eq!(
            message,
            format!("algorithm `{alg}` is refused: HMAC algorithms are never accepted")
        );
    }
}

#[test]
fn refuses_each_key_carrying_or_critical_header_member() {
    let setup = Setup::new(Algorithm::Es256);
    let jwk = serde_json::to_string(setup.issuer.key().verification_key().jwk()).unwrap();
    let members = [
        ("jku", r#""https://attacker.example/jwks""#.to_owned()),
        ("x5u", r#""https://attacker.example/cert.pem""#.to_owned()),
        ("jwk", jwk),
        ("x5c", r#"["MIIB"]"#.to_owned()),
        ("crit", r#"["exp"]"#.to_owned()),
    ];
    for (name, value) in members {
        let header = setup
            .header()
            .replace('}', &format!(r#","{name}":{value}}}"#));

        let message = setup.refusal(&setup.issuer.sign_with_header(&header, &setup.payload()));

        assert_eq!(message, format!("header member `{name}` is refused"));
    }
}

#[test]
fn refuses_an_unsupported_algorithm() {
    let setup = Setup::new(Algorithm::Es256);
    let header = setup.header().replace("ES256", "ES384");

    let message = setup.refusal(&setup.issuer.sign_with_header(&header, &setup.payload()));

    assert_eq!(message, "algorithm `ES384` is not supported");
}

#[test]
fn refuses_a_token_whose_alg_differs_from_the_keys() {
    let setup = Setup::new(Algorithm::EdDsa);
    let header = setup.header().replace("EdDSA", "ES256");
    let kid = setup.issuer.kid().to_owned();

    let message = setup.refusal(&setup.issuer.sign_with_header(&header, &setup.payload()));

    assert_eq!(
        message,
        format!("token algorithm `ES256` does not match the `EdDSA` key `{kid}`")
    );
}

#[test]
fn refuses_a_token_without_kid() {
    let setup = Setup::new(Algorithm::Es256);
    let header = r#"{"alg":"ES256","typ":"at+jwt"}"#;

    let message = setup.refusal(&setup.issuer.sign_with_header(header, &setup.payload()));

    assert_eq!(message, "header member `kid` is missing");
}

#[test]
fn refuses_a_kid_that_is_not_a_string() {
    let setup = Setup::new(Algorithm::Es256);
    let header = r#"{"alg":"ES256","typ":"at+jwt","kid":7}"#;

    let message = setup.refusal(&setup.issuer.sign_with_header(header, &setup.payload()));

    assert_eq!(
        message,
        "header member `kid` must be a string, found a number"
    );
}

#[test]
fn refuses_an_untrusted_issuer() {
    let setup = Setup::new(Algorithm::Es256);
    let mut claims = setup.claims();
    claims.iss = "https://elsewhere.example".to_owned();

    let message = setup.refusal(&setup.issuer.mint(&claims));

    assert_eq!(message, "issuer `https://elsewhere.example` is not trusted");
}

#[test]
fn refuses_an_unknown_kid() {
    let setup = Setup::new(Algorithm::Es256);
    let header = setup
        .header()
        .replace(setup.issuer.kid(), "retired-long-ago");

    let message = setup.refusal(&setup.issuer.sign_with_header(&header, &setup.payload()));

    assert_eq!(
        message,
        "issuer `http://127.0.0.1:9000` has no key `retired-long-ago`"
    );
}

#[test]
fn refuses_a_tampered_payload() {
    let setup = Setup::new(Algorithm::Es256);
    let token = setup.token();
    let (head, rest) = token.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let forged = setup.payload().replace("EMP001", "EMP002");
    let tampered = format!("{head}.{}.{signature}", b64(forged.as_bytes()));

    let message = setup.refusal(&tampered);

    assert_eq!(
        message,
        format!(
            "signature does not verify with key `{}`",
            setup.issuer.kid()
        )
    );
}

#[test]
fn refuses_a_token_missing_a_required_claim() {
    let setup = Setup::new(Algorithm::Es256);
    let payload = setup.payload().replace(r#""client_id":"chat-app","#, "");

    let message = setup.refusal(&setup.issuer.sign_payload(&payload));

    assert_eq!(message, "required claim `client_id` is missing");
}

#[test]
fn refuses_a_token_over_8_kib() {
    let setup = Setup::new(Algorithm::Es256);
    let token = "a".repeat(8 * 1024 + 1);

    let message = setup.refusal(&token);

    assert_eq!(message, "token is 8193 bytes, over the limit of 8192");
}

#[test]
fn refuses_a_token_without_three_parts() {
    let setup = Setup::new(Algorithm::Es256);

    assert_eq!(
        setup.refusal("abc"),
        "token must have 3 dot-separated parts, found 1"
    );
    assert_eq!(
        setup.refusal("a.b.c.d"),
        "token must have 3 dot-separated parts, found 4"
    );
}

#[test]
fn refuses_a_padded_signature() {
    let setup = Setup::new(Algorithm::Es256);

    let message = setup.refusal(&format!("{}=", setup.token()));

    assert_eq!(message, "token signature is not unpadded base64url");
}

#[test]
fn refuses_a_payload_that_is_not_json() {
    let setup = Setup::new(Algorithm::Es256);
    let token = format!("{}.{}.AA", b64(setup.header().as_bytes()), b64(b"not json"));

    let error = setup.verifier.verify(&token).unwrap_err();

    assert!(
        error
            .to_string()
            .starts_with("token payload: invalid JSON: "),
        "{error}"
    );
}

#[test]
fn building_refuses_configurations_that_would_verify_too_much() {
    let issuer = TestIssuer::new(ISSUER, Algorithm::Es256);
    let other = TestIssuer::new("https://idp.example", Algorithm::Es256);
    let clock = Arc::new(ManualClock::new(start()));
    let base = || Verifier::builder().clock(clock.clone());

    let cases = [
        (
            base().audience(AudienceCheck::one_of([API])).build(),
            BuildError::NoIssuer,
        ),
        (
            base().trust_issuer(ISSUER, issuer.keys()).build(),
            BuildError::NoAudienceCheck,
        ),
        (
            base()
                .trust_issuer(ISSUER, issuer.keys())
                .audience(AudienceCheck::one_of(Vec::<String>::new()))
                .build(),
            BuildError::EmptyAudienceList,
        ),
        (
            base()
                .trust_issuer(ISSUER, issuer.keys())
                .trust_issuer("https://idp.example", other.keys())
                .audience(AudienceCheck::any_audience_of_this_issuer())
                .build(),
            BuildError::AnyAudienceNeedsOneIssuer { issuers: 2 },
        ),
        (
            base()
                .trust_issuer(ISSUER, issuer.keys())
                .trust_issuer(ISSUER, StaticKeys::default())
                .audience(AudienceCheck::one_of([API]))
                .build(),
            BuildError::DuplicateIssuer {
                iss: ISSUER.to_owned(),
            },
        ),
    ];
    for (built, expected) in cases {
        assert_eq!(built.unwrap_err(), expected);
    }
}

#[test]
fn errors_are_typed_for_callers_that_map_them() {
    let setup = Setup::new(Algorithm::Es256);
    let token = setup.token();
    setup.clock.advance(seconds(3600));

    let error = setup.verifier.verify(&token).unwrap_err();

    assert!(matches!(error, VerifyError::Expired { exp, now } if exp < now));
}
