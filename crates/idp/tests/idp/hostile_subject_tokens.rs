//! Hostile tokens offered to the chat app's RFC 8693 exchange, as the `subject_token` and as
//! the `actor_token`. Each one is refused with 400 `invalid_request`, which RFC 8693 §2.2.2
//! demands for an invalid subject or actor token. The description names the token and the
//! verifier's exact reason, and a `token.refused` audit record carries the same reason.
//!
//! To forge tokens, the suite reads the IdP's active key from its key directory. The key
//! store's documented layout keeps each private key as `<kid>.pk8` (PKCS#8). With that key the
//! suite signs any header and payload text, so a refusal below comes from the tampering and
//! not from a bad signature. A control case shows that the same signing path makes a token the
//! exchange accepts when nothing is tampered with.

use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use scopegate_idp::BODY_LIMIT_BYTES;
use scopegate_token::testing::TestIssuer;
use scopegate_token::{Algorithm, MAX_JSON_DEPTH, MAX_TOKEN_BYTES};
use serde_json::{Value, json};

use crate::support::{
    ACCESS_TOKEN_TYPE, API, CHAT, EXCHANGE, ISSUER, Idp, Reply, TOKEN, at, claims_of,
    exchange_form, minted_claims,
};

/// How the verifier names the type a date claim must have.
const DATE: &str = "a NumericDate (integer seconds since 1970)";

/// How the verifier names the type `scope` must have.
const SCOPES: &str = "an array of scope strings or a space-separated string";

/// The IdP's active signing key, read from its key directory. It signs any text.
struct IdpKey {
    pair: EcdsaKeyPair,
    kid: String,
}

impl IdpKey {
    fn of(idp: &Idp) -> Self {
        let kid = idp.keys.active().kid;
        let der = std::fs::read(idp.keys.dir().join(format!("{kid}.pk8"))).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der).unwrap();
        Self { pair, kid }
    }

    /// The header the IdP writes, as JSON to tamper with.
    fn header(&self) -> Value {
        json!({"alg": "ES256", "typ": "at+jwt", "kid": self.kid})
    }

    /// A compact JWS of `header` and `payload` exactly as given, signed with this key.
    fn sign_text(&self, header: &str, payload: &str) -> String {
        let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
        let signature = self.pair.sign(&SystemRandom::new(), input.as_bytes());
        format!("{input}.{}", b64(signature.unwrap().as_ref()))
    }

    /// As [`IdpKey::sign_text`], for JSON values.
    fn sign(&self, header: &Value, claims: &Value) -> String {
        self.sign_text(&header.to_string(), &claims.to_string())
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The claims of a valid user token of EMP001 at the chat app, as JSON.
fn claims(idp: &Idp) -> Value {
    serde_json::to_value(minted_claims(idp.now(), API)).unwrap()
}

/// The chat app's exchange of `subject` for an MCP token, with an actor token when given;
/// returns the answer and the one audit record it caused.
async fn exchange(idp: &Idp, subject: &str, actor: Option<&str>) -> (Reply, Value) {
    let mut extra = vec![("scope", "mcp:use")];
    if let Some(actor) = actor {
        extra.extend([
            ("actor_token", actor),
            ("actor_token_type", ACCESS_TOKEN_TYPE),
        ]);
    }
    let before = idp.audit_records().len();

    let reply = idp.post(TOKEN, CHAT, &exchange_form(subject, &extra)).await;

    let mut records = idp.audit_records();
    assert_eq!(records.len(), before + 1, "one record per request");
    (reply, records.pop().unwrap())
}

/// Offers `token` as the subject token, then as the actor token beside a valid subject.
async fn assert_refused(idp: &Idp, case: &str, token: &str, reason: &str) {
    assert_refused_as_subject(idp, case, token, reason).await;
    assert_refused_as_actor(idp, case, token, reason).await;
}

/// 400 `invalid_request` naming the subject token and `reason`, and a `token.refused` record
/// of the chat app saying the same, with no subject because none was verified.
async fn assert_refused_as_subject(idp: &Idp, case: &str, token: &str, reason: &str) {
    let (reply, record) = exchange(idp, token, None).await;

    let described = format!("the subject token failed verification: {reason}");
    assert_answer(case, &reply, "invalid_request", &described);
    assert_refusal_record(case, &record, token, 400);
    assert_eq!(record["client_id"], "chainlit-app", "{case}");
    assert!(record.get("actor").is_none(), "{case}");
    assert!(record.get("token_id").is_none(), "{case}");
    let expected = reasons("invalid_request", &described);
    assert_eq!(record["reasons"], expected, "{case}");
}

/// 400 `invalid_request` naming the actor token and `reason`, and a `token.refused` record of
/// the chat app saying the same, naming the valid subject token's user and `jti`.
async fn assert_refused_as_actor(idp: &Idp, case: &str, token: &str, reason: &str) {
    let key = IdpKey::of(idp);
    let subject = key.sign(&key.header(), &claims(idp));

    let (reply, record) = exchange(idp, &subject, Some(token)).await;

    let described = format!("the actor token failed verification: {reason}");
    assert_answer(case, &reply, "invalid_request", &described);
    assert_refusal_record(case, &record, token, 400);
    assert_eq!(record["client_id"], "chainlit-app", "{case}");
    assert_eq!(record["actor"], "EMP001", "{case}");
    assert_eq!(record["token_id"], claims_of(&subject)["jti"], "{case}");
    let expected = reasons("invalid_request", &described);
    assert_eq!(record["reasons"], expected, "{case}");
}

/// A 400 answer with exactly `code` and `described`.
fn assert_answer(case: &str, reply: &Reply, code: &str, described: &str) {
    let status = reply.status;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{case}: {}", reply.body);
    assert_eq!(reply.error(), (code, described), "{case}");
}

/// `record` is a refusal with `status` that holds no trace of `token`.
fn assert_refusal_record(case: &str, record: &Value, token: &str, status: u16) {
    assert_eq!(record["event_type"], "token.refused", "{case}");
    assert_eq!(record["result"], "refused", "{case}");
    assert_eq!(record["http_status"], status, "{case}");
    assert!(
        !record.to_string().contains(token),
        "{case}: the token reached the audit log"
    );
}

/// The `reasons` of a refused exchange: the answer, then the grant type. A `kid` the answer
/// names (an RFC 7638 thumbprint, shaped like a secret) is kept by the audit's redaction, so
/// the record says which key a refused token named.
fn reasons(code: &str, described: &str) -> Value {
    json!([
        format!("{code}: {described}"),
        format!("grant_type {EXCHANGE}")
    ])
}

#[tokio::test]
async fn the_forging_key_makes_tokens_the_exchange_accepts_when_untampered() {
    let idp = Idp::start();
    let key = IdpKey::of(&idp);
    let token = key.sign(&key.header(), &claims(&idp));

    let (reply, record) = exchange(&idp, &token, None).await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(record["event_type"], "token.exchanged");
}

#[tokio::test]
async fn alg_none_in_any_capitalisation_is_refused() {
    let idp = Idp::start();
    let key = IdpKey::of(&idp);
    for alg in ["none", "None", "NONE", "nOnE"] {
        let mut header = key.header();
        header["alg"] = json!(alg);
        let payload = claims(&idp).to_string();
        let token = format!(
            "{}.{}.",
            b64(header.to_string().as_bytes()),
            b64(payload.as_bytes())
        );

        let reason = format!("algorithm `{alg}` is refused: access tokens must be signed");
        assert_refused(&idp, alg, &token, &reason).await;
    }
}

#[tokio::test]
async fn hs256_keyed_with_the_published_jwks_is_refused() {
    let idp = Idp::start();
    let key = IdpKey::of(&idp);
    let mut header = key.header();
    header["alg"] = json!("HS256");
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims(&idp).to_string().as_bytes())
    );
    let published = serde_json::to_string(&idp.keys.jwks()).unwrap();
    let secret = hmac::Key::new(hmac::HMAC_SHA256, published.as_bytes());
    let signature = hmac::sign(&secret, input.as_bytes());
    let token = format!("{input}.{}", b64(signature.as_ref()));

    let reason = "algorithm `HS256` is refused: HMAC algorithms are never accepted";
    assert_refused(&idp, "key confusion", &token, reason).await;
}

#[tokio::test]
async fn an_es256_signature_of_zeros_is_refused() {
    let idp = Idp::start();
    let key = IdpKey::of(&idp);
    let valid = key.sign(&key.header(), &claims(&idp));
    let (input, _) = valid.rsplit_once('.').unwrap();
    let token = format!("{input}.{}", b64(&[0_u8; 64]));

    let reason = format!("signature does not verify with key `{}`", key.kid);
    assert_refused(&idp, "r = s = 0", &token, &reason).await;
}

#[tokio::test]
async fn unknown_and_hostile_kids_are_only_unknown_keys() {
    let idp = Idp::start();
    let key = IdpKey::of(&idp);
    for kid in ["no-such-key", "../../etc/passwd", "x' OR '1'='1"] {
        let mut header = key.header();
        header["kid"] = json!(kid);
        let token = key.sign(&header, &claims(&idp));

        let reason = format!("issuer `{ISSUER}` has no key `{kid}`");
        assert_refused(&idp, kid, &token, &reason).await;
    }
}

#[tokio::test]
async fn key_pointing_and_critical_header_members_are_refused() {
    let idp = Idp::start();
    let key = IdpKey::of(&idp);
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
        let mut header = key.header();
        header[member] = value;
        let token = key.sign(&header, &claims(&idp));

        let reason = format!("header member `{member}` is refused");
        assert_refused(&idp, member, &token, &reason).await;
    }
}

#[tokio::test]
async fn a_typ_other_than_at_jwt_is_refused() {
    let idp = Idp::start();
    let key = IdpKey::of(&idp);
    let mut header = key.header();
    header["typ"] = json!("JWT");
    let token = key.sign(&header, &claims(&idp));

    let reason = "header `typ` is `JWT`, expected `at+jwt`";
    assert_refused(&idp, "typ JWT", &token, reason).await;
}

#[tokio::test]
async fn duplicate_members_in_header_or_claims_are_refused() {
    let idp = Idp::start();
    let key = IdpKey::of(&idp);
    let kid = &key.kid;
    let header = format!(r#"{{"alg":"ES256","alg":"ES256","typ":"at+jwt","kid":"{kid}"}}"#);
    let payload = claims(&idp).to_string();
    let twice_sub = format!(r#"{},"sub":"EMP020"}}"#, payload.trim_end_matches('}'));

    let in_header = key.sign_text(&header, &payload);
    let in_claims = key.sign_text(&key.header().to_string(), &twice_sub);

    let in_header_reason = "token header: duplicate member `alg`";
    assert_refused(&idp, "header", &in_header, in_header_reason).await;
    let in_claims_reason = "token payload: duplicate member `sub`";
    assert_refused(&idp, "claims", &in_claims, in_claims_reason).await;
}

#[tokio::test]
async fn claims_of_the_wrong_type_are_refused() {
    let idp = Idp::start();
    let key = IdpKey::of(&idp);
    let cases = [
        (
            "exp",
            json!("1769599620"),
            format!("claim `exp` must be {DATE}, found a string"),
        ),
        (
            "scope",
            json!(42),
            format!("claim `scope` must be {SCOPES}, found a number"),
        ),
        (
            "aud",
            json!({"uri": API}),
            "claim `aud` must be a string or an array of strings, found an object".to_owned(),
        ),
    ];
    for (claim, value, reason) in cases {
        let mut payload = claims(&idp);
        payload[claim] = value;
        let token = key.sign(&key.header(), &payload);

        assert_refused(&idp, claim, &token, &reason).await;
    }
}

#[tokio::test]
async fn a_token_over_the_size_limit_is_refused_before_it_is_decoded() {
    let idp = Idp::start();
    let key = IdpKey::of(&idp);
    let subject = key.sign(&key.header(), &claims(&idp));
    let token = format!(
        "{}.{}.x",
        "a".repeat(MAX_TOKEN_BYTES),
        "b".repeat(MAX_TOKEN_BYTES)
    );

    // The form reader bounds every token parameter, so the verifier never sees this one.
    // The form is refused before the client is authenticated or the grant read: the record
    // names the client only as its Basic header claims it, and its reasons no grant type.
    for (parameter, subject, actor) in [
        ("subject_token", token.as_str(), None),
        ("actor_token", subject.as_str(), Some(token.as_str())),
    ] {
        let (reply, record) = exchange(&idp, subject, actor).await;

        let described = format!("parameter `{parameter}` exceeds {MAX_TOKEN_BYTES} bytes");
        assert_answer(parameter, &reply, "invalid_request", &described);
        assert_refusal_record(parameter, &record, &token, 400);
        assert_eq!(record["client_id"], CHAT.0, "{parameter}");
        let expected = json!([format!("invalid_request: {described}")]);
        assert_eq!(record["reasons"], expected, "{parameter}");
    }
}

#[tokio::test]
async fn a_megabyte_token_is_refused_by_the_body_limit() {
    let idp = Idp::start();
    let token = format!("{}.{}.x", "a".repeat(512 * 1024), "b".repeat(512 * 1024));

    let (reply, record) = exchange(&idp, &token, None).await;

    // The body limit stops the request before the form is read: 413, and the record names
    // the client its Basic header claims, and its reasons no grant type: the form was never read.
    let described = format!("the request body exceeds {BODY_LIMIT_BYTES} bytes");
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.error(), ("invalid_request", described.as_str()));
    assert_refusal_record("1 MB", &record, &token, 413);
    assert_eq!(record["client_id"], CHAT.0);
    assert_eq!(
        record["reasons"],
        json!([format!("invalid_request: {described}")])
    );
}

#[tokio::test]
async fn deeply_nested_claims_are_refused() {
    let idp = Idp::start();
    let key = IdpKey::of(&idp);
    let mut payload = claims(&idp);
    let depth = MAX_JSON_DEPTH + 8;
    payload["deep"] =
        serde_json::from_str(&format!("{}{}", "[".repeat(depth), "]".repeat(depth))).unwrap();
    let token = key.sign(&key.header(), &payload);

    let reason = format!("token payload: nested deeper than {MAX_JSON_DEPTH} levels");
    assert_refused(&idp, "nesting", &token, &reason).await;
}

#[tokio::test]
async fn a_token_signed_by_another_key_is_refused_whatever_kid_it_names() {
    let idp = Idp::start();
    let key = IdpKey::of(&idp);
    let foreign = TestIssuer::new(ISSUER, Algorithm::Es256);
    let payload = claims(&idp).to_string();

    let own_kid = foreign.sign_payload(&payload);
    let borrowed_kid = foreign.sign_with_header(&key.header().to_string(), &payload);

    let reason = format!("issuer `{ISSUER}` has no key `{}`", foreign.kid());
    assert_refused(&idp, "foreign kid", &own_kid, &reason).await;
    let reason = format!("signature does not verify with key `{}`", key.kid);
    assert_refused(&idp, "the IdP's kid", &borrowed_kid, &reason).await;
}

#[tokio::test]
async fn a_token_of_this_issuer_for_another_audience_and_client_is_unauthorized_client() {
    let idp = Idp::start();
    let key = IdpKey::of(&idp);
    let mut payload = claims(&idp);
    payload["aud"] = json!("https://elsewhere.example");
    payload["client_id"] = json!("directory-sync");
    let token = key.sign(&key.header(), &payload);

    let (reply, record) = exchange(&idp, &token, None).await;

    // The IdP accepts subject tokens of any of its audiences (rule 3 asks who may exchange),
    // so this one verifies and is refused by that rule, after a decision about a known token.
    let described = "client `chainlit-app` may not exchange a token issued to `directory-sync`: \
                     it is neither that client nor in the token's audience";
    assert_answer("audience", &reply, "unauthorized_client", described);
    assert_refusal_record("audience", &record, &token, 400);
    assert_eq!(record["client_id"], "chainlit-app");
    assert_eq!(record["actor"], "EMP001");
    assert_eq!(record["token_id"], payload["jti"]);
    assert_eq!(record["reasons"], reasons("unauthorized_client", described));
}

#[tokio::test]
async fn a_token_not_yet_valid_beyond_the_leeway_is_refused() {
    let idp = Idp::start();
    let key = IdpKey::of(&idp);
    let nbf = idp.now() + 3_600;
    let mut payload = claims(&idp);
    payload["nbf"] = json!(nbf);
    let token = key.sign(&key.header(), &payload);

    let reason = format!(
        "token is not valid before {} (now {})",
        at(nbf),
        at(idp.now())
    );
    assert_refused(&idp, "nbf", &token, &reason).await;
}
