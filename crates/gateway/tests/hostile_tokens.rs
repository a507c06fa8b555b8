//! Hostile bearer tokens against the actions API's router: each is refused at step 1 with
//! 401 `invalid_token`, the verifier's precise reason, and a `refused` audit record naming it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use aws_lc_rs::hmac;
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Harness, NOW};
use serde_json::{Value, json};

const GET_EMPLOYEE: &str = "/actions/workday.hcm/get_employee";

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The claims of a valid on-behalf-of token for EMP001, as JSON to tamper with.
fn claims(harness: &Harness) -> Value {
    serde_json::to_value(harness.obo_claims("EMP001", &["employees"])).unwrap()
}

/// The standard header of the harness's key, as JSON to tamper with.
fn header(harness: &Harness) -> Value {
    json!({"alg": "ES256", "typ": "at+jwt", "kid": harness.issuer.kid()})
}

/// The standard header as text.
fn harness_header(harness: &Harness) -> String {
    header(harness).to_string()
}

/// A token whose header and payload are the given JSON texts, signed by the trusted key.
fn signed(harness: &Harness, header: &str, payload: &str) -> String {
    harness.issuer.sign_with_header(header, payload)
}

/// Sends `token` and checks the refusal: 401, `invalid_token`, a description containing
/// `expected`, the same description in the challenge, and one `refused` audit record with it.
async fn assert_refused(harness: &Harness, case: &str, token: &str, expected: &str) {
    let before = harness.records().len();

    let answer = harness.get(GET_EMPLOYEE, token).await;

    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{case}");
    assert_eq!(answer.body["error"], "invalid_token", "{case}");
    let description = answer.body["error_description"]
        .as_str()
        .unwrap_or_default();
    assert!(
        description.contains(expected),
        "{case}: `{description}` lacks `{expected}`"
    );
    let challenge = answer.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\""),
        "{case}: {challenge}"
    );
    let records = harness.records();
    assert_eq!(records.len(), before + 1, "{case}: one record per decision");
    let record = records.last().unwrap();
    assert_eq!(record["result"], "refused", "{case}");
    assert_eq!(record["http_status"], 401, "{case}");
    assert!(
        !record.to_string().contains(token),
        "{case}: the token reached the audit log"
    );
}

#[tokio::test]
async fn alg_none_in_any_capitalisation_is_refused() {
    let harness = Harness::new();
    for alg in ["none", "None", "NONE", "nOnE"] {
        let mut header = header(&harness);
        header["alg"] = json!(alg);
        let token = format!(
            "{}.{}.",
            b64(header.to_string().as_bytes()),
            b64(claims(&harness).to_string().as_bytes())
        );

        let expected = format!("algorithm `{alg}` is refused: access tokens must be signed");
        assert_refused(&harness, alg, &token, &expected).await;
    }
}

#[tokio::test]
async fn hs256_keyed_with_the_public_key_is_refused() {
    let harness = Harness::new();
    let mut header = header(&harness);
    header["alg"] = json!("HS256");
    let public_jwk = serde_json::to_string(&harness.issuer.jwks()).unwrap();
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims(&harness).to_string().as_bytes())
    );
    let key = hmac::Key::new(hmac::HMAC_SHA256, public_jwk.as_bytes());
    let token = format!(
        "{input}.{}",
        b64(hmac::sign(&key, input.as_bytes()).as_ref())
    );

    let expected = "algorithm `HS256` is refused: HMAC algorithms are never accepted";
    assert_refused(&harness, "key confusion", &token, expected).await;
}

#[tokio::test]
async fn es256_signature_of_zeros_is_refused() {
    let harness = Harness::new();
    let valid = harness.mint(&harness.obo_claims("EMP001", &["employees"]));
    let (input, _) = valid.rsplit_once('.').unwrap();
    let token = format!("{input}.{}", b64(&[0_u8; 64]));

    let expected = "signature does not verify with key";
    assert_refused(&harness, "r = s = 0", &token, expected).await;
}

#[tokio::test]
async fn unknown_and_hostile_kids_are_only_unknown_keys() {
    let harness = Harness::new();
    for kid in ["no-such-key", "../../etc/passwd", "x' OR '1'='1"] {
        let mut header = header(&harness);
        header["kid"] = json!(kid);
        let token = signed(&harness, &header.to_string(), &claims(&harness).to_string());

        assert_refused(&harness, kid, &token, "has no key").await;
    }
}

#[tokio::test]
async fn key_pointing_and_critical_header_members_are_refused() {
    let harness = Harness::new();
    let cases = [
        ("jku", json!("https://attacker.example/jwks.json")),
        ("x5u", json!("https://attacker.example/cert.pem")),
        (
            "jwk",
            json!({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}),
        ),
        ("x5c", json!(["MIIB"])),
        ("crit", json!(["exp"])),
    ];
    for (member, value) in cases {
        let mut header = header(&harness);
        header[member] = value;
        let token = signed(&harness, &header.to_string(), &claims(&harness).to_string());

        let expected = format!("header member `{member}` is refused");
        assert_refused(&harness, member, &token, &expected).await;
    }
}

#[tokio::test]
async fn an_id_token_type_is_not_an_access_token() {
    let harness = Harness::new();
    let mut header = header(&harness);
    header["typ"] = json!("JWT");
    let token = signed(&harness, &header.to_string(), &claims(&harness).to_string());

    let expected = "header `typ` is `JWT`, expected `at+jwt`";
    assert_refused(&harness, "typ JWT", &token, expected).await;
}

#[tokio::test]
async fn duplicate_members_in_header_or_claims_are_refused() {
    let harness = Harness::new();
    let kid = harness.issuer.kid().to_owned();
    let header = format!(r#"{{"alg":"ES256","alg":"ES256","typ":"at+jwt","kid":"{kid}"}}"#);
    let claims_text = claims(&harness).to_string();
    let twice_sub = format!(r#"{},"sub":"EMP020"}}"#, claims_text.trim_end_matches('}'));

    let in_header = signed(&harness, &header, &claims_text);
    let in_claims = signed(&harness, &harness_header(&harness), &twice_sub);

    assert_refused(&harness, "header", &in_header, "duplicate member `alg`").await;
    assert_refused(&harness, "claims", &in_claims, "duplicate member `sub`").await;
}

#[tokio::test]
async fn claims_of_the_wrong_type_are_refused() {
    let harness = Harness::new();
    let cases = [
        ("exp", json!("1769596380"), "claim `exp`"),
        ("scope", json!(42), "claim `scope`"),
        (
            "aud",
            json!({"uri": "http://127.0.0.1:8000"}),
            "claim `aud`",
        ),
    ];
    for (claim, value, expected) in cases {
        let mut payload = claims(&harness);
        payload[claim] = value;
        let token = signed(&harness, &harness_header(&harness), &payload.to_string());

        assert_refused(&harness, claim, &token, expected).await;
    }
}

#[tokio::test]
async fn a_megabyte_token_is_refused_by_its_size() {
    let harness = Harness::new();
    let token = format!("{}.{}.x", "a".repeat(512 * 1024), "b".repeat(512 * 1024));

    assert_refused(&harness, "1 MB", &token, "over the limit of 8192").await;
}

#[tokio::test]
async fn deeply_nested_claims_are_refused() {
    let harness = Harness::new();
    let mut payload = claims(&harness);
    payload["deep"] =
        serde_json::from_str(&format!("{}{}", "[".repeat(40), "]".repeat(40))).unwrap();
    let token = signed(&harness, &harness_header(&harness), &payload.to_string());

    assert_refused(&harness, "nesting", &token, "nested deeper than").await;
}

#[tokio::test]
async fn a_token_not_yet_valid_beyond_the_leeway_is_refused() {
    let harness = Harness::new();
    let mut payload = claims(&harness);
    payload["nbf"] = json!(NOW + 3_600);
    let token = signed(&harness, &harness_header(&harness), &payload.to_string());

    assert_refused(&harness, "nbf", &token, "token is not valid before").await;
}
