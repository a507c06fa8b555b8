//! Hostile bearer tokens at the MCP endpoint. The bearer-token gate refuses each one with 401
//! `invalid_token`, and the body and the challenge both carry the verifier's exact reason.
//! This happens before any MCP message is read, so no tool runs, the IdP exchanges nothing
//! and the actions API sees no token.
//!
//! The gate writes no audit record for a refused token because the refusal comes before any
//! decision. Each case therefore checks that the shared audit log (IdP, actions API and MCP
//! server) is still empty. The log shows no `mcp.tool_call`, no `token.exchanged` and nothing
//! else.
//!
//! To forge tokens, the suite reads the IdP's active key from the stack's key directory. The
//! key store's documented layout keeps each private key as `<kid>.pk8` (PKCS#8). With that key
//! the suite signs any header and payload text, so a refusal below comes from the tampering and
//! not from a bad signature. The stack itself is unchanged: the MCP server still trusts only
//! the keys the IdP publishes. A control case shows that the same signing path makes a token
//! the server accepts when nothing is tampered with.

use std::time::Duration;

use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use scopegate_token::testing::{TestIssuer, sample_claims};
use scopegate_token::{Algorithm, Clock as _, MAX_JSON_DEPTH, MAX_TOKEN_BYTES};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::support::Stack;

const TOOL: &str = "workday_hcm_get_employee";

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
    fn of(stack: &Stack) -> Self {
        let kid = stack.keys.active().kid;
        let der = std::fs::read(stack.keys.dir().join(format!("{kid}.pk8"))).unwrap();
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

/// The claims of a valid five-minute token at the MCP server with `mcp:use`, as JSON.
fn claims(stack: &Stack) -> Value {
    let claims = sample_claims(&stack.idp, &stack.mcp_url, stack.clock.now());
    serde_json::to_value(claims).unwrap()
}

/// A stateless `tools/call`: the request that would lead to an exchange and an API call.
async fn call_tool(stack: &Stack, token: &str) -> reqwest::Response {
    let call = json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": TOOL, "arguments": {}},
    });
    let version = [("mcp-protocol-version", "2025-06-18")];
    stack.post_mcp(Some(token), &version, &call).await
}

/// Writes `request` on a new connection and returns everything the server answers. A server
/// that refuses a request head stops reading it and resets the connection, so the write may
/// fail half-way; the answer it sent before the reset is still read.
async fn answer_to_raw(stack: &Stack, request: &[u8]) -> String {
    let address = stack.mcp_base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.unwrap();
    let exchange = async {
        let _unread_rest = stream.write_all(request).await;
        let mut answer = Vec::new();
        let mut chunk = [0_u8; 4096];
        while let Ok(read @ 1..) = stream.read(&mut chunk).await {
            answer.extend_from_slice(&chunk[..read]);
        }
        answer
    };
    let answer = tokio::time::timeout(Duration::from_secs(30), exchange)
        .await
        .expect("the server answers and closes the connection");
    String::from_utf8_lossy(&answer).into_owned()
}

/// Sends `token` in a tool call and checks the refusal: 401, the challenge and the body with
/// `invalid_token` and exactly `description`, an audit log still empty and no API call.
async fn assert_refused(stack: &Stack, case: &str, token: &str, description: &str) {
    let response = call_tool(stack, token).await;

    assert_eq!(response.status(), 401, "{case}");
    let challenge = response.headers().get("www-authenticate").cloned();
    assert_eq!(
        challenge.unwrap().to_str().unwrap(),
        format!(
            "Bearer error=\"invalid_token\", error_description=\"{description}\", \
             resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\", \
             scope=\"mcp:use\"",
            stack.mcp_base
        ),
        "{case}"
    );
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"error": "invalid_token", "error_description": description}),
        "{case}"
    );
    assert_eq!(stack.audit_records(), Vec::<Value>::new(), "{case}");
    assert!(stack.api_tokens().is_empty(), "{case}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_forging_key_makes_tokens_the_server_accepts_when_untampered() {
    let stack = Stack::start().await;
    let key = IdpKey::of(&stack);
    let token = key.sign(&key.header(), &claims(&stack));

    let response = call_tool(&stack, &token).await;

    assert_eq!(response.status(), 200);
    let records = stack.records_of("mcp.tool_call");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["actor"], "EMP001");
    assert_eq!(stack.records_of("token.exchanged").len(), 1);
    assert_eq!(stack.api_tokens().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alg_none_in_any_capitalisation_is_refused() {
    let stack = Stack::start().await;
    let key = IdpKey::of(&stack);
    for alg in ["none", "None", "NONE", "nOnE"] {
        let mut header = key.header();
        header["alg"] = json!(alg);
        let payload = claims(&stack).to_string();
        let token = format!(
            "{}.{}.",
            b64(header.to_string().as_bytes()),
            b64(payload.as_bytes())
        );

        let expected = format!("algorithm `{alg}` is refused: access tokens must be signed");
        assert_refused(&stack, alg, &token, &expected).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hs256_keyed_with_the_published_jwks_is_refused() {
    let stack = Stack::start().await;
    let key = IdpKey::of(&stack);
    let mut header = key.header();
    header["alg"] = json!("HS256");
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims(&stack).to_string().as_bytes())
    );
    let published = serde_json::to_string(&stack.keys.jwks()).unwrap();
    let secret = hmac::Key::new(hmac::HMAC_SHA256, published.as_bytes());
    let signature = hmac::sign(&secret, input.as_bytes());
    let token = format!("{input}.{}", b64(signature.as_ref()));

    let expected = "algorithm `HS256` is refused: HMAC algorithms are never accepted";
    assert_refused(&stack, "key confusion", &token, expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_es256_signature_of_zeros_is_refused() {
    let stack = Stack::start().await;
    let key = IdpKey::of(&stack);
    let valid = key.sign(&key.header(), &claims(&stack));
    let (input, _) = valid.rsplit_once('.').unwrap();
    let token = format!("{input}.{}", b64(&[0_u8; 64]));

    let expected = format!("signature does not verify with key `{}`", key.kid);
    assert_refused(&stack, "r = s = 0", &token, &expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_hostile_kids_are_only_unknown_keys() {
    let stack = Stack::start().await;
    let key = IdpKey::of(&stack);
    for kid in ["no-such-key", "../../etc/passwd", "x' OR '1'='1"] {
        let mut header = key.header();
        header["kid"] = json!(kid);
        let token = key.sign(&header, &claims(&stack));

        let expected = format!("issuer `{}` has no key `{kid}`", stack.idp);
        assert_refused(&stack, kid, &token, &expected).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_pointing_and_critical_header_members_are_refused() {
    let stack = Stack::start().await;
    let key = IdpKey::of(&stack);
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
        let token = key.sign(&header, &claims(&stack));

        let expected = format!("header member `{member}` is refused");
        assert_refused(&stack, member, &token, &expected).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typ_other_than_at_jwt_is_refused() {
    let stack = Stack::start().await;
    let key = IdpKey::of(&stack);
    let mut header = key.header();
    header["typ"] = json!("JWT");
    let token = key.sign(&header, &claims(&stack));

    let expected = "header `typ` is `JWT`, expected `at+jwt`";
    assert_refused(&stack, "typ JWT", &token, expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_members_in_header_or_claims_are_refused() {
    let stack = Stack::start().await;
    let key = IdpKey::of(&stack);
    let kid = &key.kid;
    let header = format!(r#"{{"alg":"ES256","alg":"ES256","typ":"at+jwt","kid":"{kid}"}}"#);
    let payload = claims(&stack).to_string();
    let twice_sub = format!(r#"{},"sub":"EMP020"}}"#, payload.trim_end_matches('}'));

    let in_header = key.sign_text(&header, &payload);
    let in_claims = key.sign_text(&key.header().to_string(), &twice_sub);

    let in_header_expected = "token header: duplicate member `alg`";
    assert_refused(&stack, "header", &in_header, in_header_expected).await;
    let in_claims_expected = "token payload: duplicate member `sub`";
    assert_refused(&stack, "claims", &in_claims, in_claims_expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_of_the_wrong_type_are_refused() {
    let stack = Stack::start().await;
    let key = IdpKey::of(&stack);
    let cases = [
        (
            "exp",
            json!("1769596380"),
            format!("claim `exp` must be {DATE}, found a string"),
        ),
        (
            "scope",
            json!(42),
            format!("claim `scope` must be {SCOPES}, found a number"),
        ),
        (
            "aud",
            json!({"uri": stack.mcp_url}),
            "claim `aud` must be a string or an array of strings, found an object".to_owned(),
        ),
    ];
    for (claim, value, expected) in cases {
        let mut payload = claims(&stack);
        payload[claim] = value;
        let token = key.sign(&key.header(), &payload);

        assert_refused(&stack, claim, &token, &expected).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_over_the_size_limit_is_refused_by_its_size() {
    let stack = Stack::start().await;
    let token = format!(
        "{}.{}.x",
        "a".repeat(MAX_TOKEN_BYTES),
        "b".repeat(MAX_TOKEN_BYTES)
    );

    let expected = format!(
        "token is {} bytes, over the limit of {MAX_TOKEN_BYTES}",
        token.len()
    );
    assert_refused(&stack, "16 KiB", &token, &expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_megabyte_token_is_refused_by_the_header_limit() {
    let stack = Stack::start().await;
    let token = format!("{}.{}.x", "a".repeat(512 * 1024), "b".repeat(512 * 1024));
    let host = stack.mcp_base.trim_start_matches("http://");
    let request = format!(
        "POST /mcp HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
         Accept: application/json, text/event-stream\r\nContent-Type: application/json\r\n\
         Content-Length: 2\r\n\r\n{{}}"
    );

    let answer = answer_to_raw(&stack, request.as_bytes()).await;

    // The HTTP server's limit on the request head (hyper's default in this harness; the binary
    // sets its own, answered the same way) stops it before the bearer-token gate: 431 with an
    // empty body and no challenge, so nothing is decided and nothing is recorded.
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
        "{head}"
    );
    assert!(
        !head.to_ascii_lowercase().contains("www-authenticate"),
        "{head}"
    );
    assert_eq!(body, "");
    assert_eq!(stack.audit_records(), Vec::<Value>::new());
    assert!(stack.api_tokens().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deeply_nested_claims_are_refused() {
    let stack = Stack::start().await;
    let key = IdpKey::of(&stack);
    let mut payload = claims(&stack);
    let depth = MAX_JSON_DEPTH + 8;
    payload["deep"] =
        serde_json::from_str(&format!("{}{}", "[".repeat(depth), "]".repeat(depth))).unwrap();
    let token = key.sign(&key.header(), &payload);

    let expected = format!("token payload: nested deeper than {MAX_JSON_DEPTH} levels");
    assert_refused(&stack, "nesting", &token, &expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_signed_by_another_key_is_refused_whatever_kid_it_names() {
    let stack = Stack::start().await;
    let key = IdpKey::of(&stack);
    let foreign = TestIssuer::new(stack.idp.clone(), Algorithm::Es256);
    let payload = claims(&stack).to_string();

    let own_kid = foreign.sign_payload(&payload);
    let borrowed_kid = foreign.sign_with_header(&key.header().to_string(), &payload);

    let expected = format!("issuer `{}` has no key `{}`", stack.idp, foreign.kid());
    assert_refused(&stack, "foreign kid", &own_kid, &expected).await;
    let expected = format!("signature does not verify with key `{}`", key.kid);
    assert_refused(&stack, "the IdP's kid", &borrowed_kid, &expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_of_the_right_issuer_for_another_audience_is_refused() {
    let stack = Stack::start().await;
    let key = IdpKey::of(&stack);
    let mut payload = claims(&stack);
    payload["aud"] = json!(stack.api);
    let token = key.sign(&key.header(), &payload);

    let expected = format!(
        "token audience `{}` includes none of `{}`",
        stack.api, stack.mcp_url
    );
    assert_refused(&stack, "audience", &token, &expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_not_yet_valid_beyond_the_leeway_is_refused() {
    let stack = Stack::start().await;
    let key = IdpKey::of(&stack);
    let now = stack.clock.now();
    let nbf = now.as_unix_seconds() + 3_600;
    let mut payload = claims(&stack);
    payload["nbf"] = json!(nbf);
    let token = key.sign(&key.header(), &payload);

    let nbf = scopegate_token::NumericDate::from_unix_seconds(nbf).unwrap();
    let expected = format!("token is not valid before {nbf} (now {now})");
    assert_refused(&stack, "nbf", &token, &expected).await;
}
