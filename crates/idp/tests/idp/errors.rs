//! Malformed and misdirected requests: each gets its own precise 4xx, never a 500; faults of
//! ours get 503 and no token.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use scopegate_audit::Faults;
use serde_json::{Value, json};

use crate::support::{Auth, CHAT, Idp, TOKEN, basic, encode, exchange_form, form_request};

#[tokio::test]
async fn get_on_the_token_endpoint_is_405_naming_post() {
    let idp = Idp::start();

    let reply = idp.get(TOKEN).await;

    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.header("allow"), "POST");
    assert_eq!(
        reply.error(),
        ("invalid_request", "this endpoint accepts only `POST`")
    );
}

#[tokio::test]
async fn post_on_discovery_is_405_naming_get() {
    let idp = Idp::start();

    let reply = idp
        .post("/.well-known/openid-configuration", Auth::None, &[])
        .await;

    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.header("allow"), "GET");
}

#[tokio::test]
async fn repeated_parameter_is_invalid_request_naming_it() {
    let idp = Idp::start();
    let body = "grant_type=client_credentials&scope=hr:read&scope=hr:read";

    let reply = idp
        .send(form_request(TOKEN, ("directory-sync", "x").into(), body))
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.error(),
        ("invalid_request", "parameter `scope` is repeated")
    );
}

#[tokio::test]
async fn two_client_authentication_methods_are_invalid_request() {
    let idp = Idp::start();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_secret", "directory-sync-dev-secret"),
    ];

    let reply = idp
        .post(
            TOKEN,
            ("directory-sync", "directory-sync-dev-secret"),
            &form,
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.error(),
        (
            "invalid_request",
            "more than one client authentication method was used"
        )
    );
}

#[tokio::test]
async fn unknown_grant_type_is_unsupported_grant_type() {
    let idp = Idp::start();

    let reply = idp
        .post(TOKEN, CHAT, &[("grant_type", "authorization_code")])
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.error(),
        (
            "unsupported_grant_type",
            "unsupported grant type `authorization_code`"
        )
    );
}

#[tokio::test]
async fn missing_or_empty_grant_type_is_invalid_request() {
    let idp = Idp::start();

    let missing = idp.post(TOKEN, CHAT, &[]).await;
    let empty = idp.post(TOKEN, CHAT, &[("grant_type", "")]).await;

    for reply in [missing, empty] {
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            reply.error(),
            ("invalid_request", "parameter `grant_type` is required")
        );
    }
}

#[tokio::test]
async fn malformed_escapes_and_invalid_utf8_are_invalid_request() {
    let idp = Idp::start();

    let escape = idp
        .send(form_request(TOKEN, CHAT.into(), "grant_type=pass%zzword"))
        .await;
    let utf8 = idp
        .send(form_request(TOKEN, CHAT.into(), "grant_type=%ff%fe"))
        .await;

    assert_eq!(escape.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        escape.error(),
        (
            "invalid_request",
            "malformed percent escape in the request body"
        )
    );
    assert_eq!(
        utf8.error(),
        (
            "invalid_request",
            "the request body is not valid UTF-8 once decoded"
        )
    );
}

#[tokio::test]
async fn json_body_is_415_invalid_request() {
    let idp = Idp::start();
    let request = Request::post(TOKEN)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, basic(CHAT.0, CHAT.1))
        .body(Body::from(r#"{"grant_type":"password"}"#))
        .unwrap();

    let reply = idp.send(request).await;

    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        reply.error(),
        (
            "invalid_request",
            "content type must be `application/x-www-form-urlencoded`"
        )
    );
}

#[tokio::test]
async fn body_over_the_limit_is_413() {
    let idp = Idp::start();
    let body = format!("grant_type=password&padding={}", "x".repeat(70 * 1024));

    let reply = idp.send(form_request(TOKEN, CHAT.into(), &body)).await;

    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        reply.error(),
        ("invalid_request", "the request body exceeds 65536 bytes")
    );
    // The body was never read, so the client is not authenticated; its record still names the
    // id the Basic header claims, for whoever looks for that client's failures.
    let records = idp.audit_records();
    let [record] = records.as_slice() else {
        panic!("one record expected, got {records:?}");
    };
    assert_eq!(record["client_id"], CHAT.0);
}

#[tokio::test]
async fn a_refusal_before_client_authentication_without_basic_credentials_names_no_client() {
    let idp = Idp::start();
    let body = format!("client_id=chainlit-app&padding={}", "x".repeat(70 * 1024));

    let reply = idp.send(form_request(TOKEN, Auth::None, &body)).await;

    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    let records = idp.audit_records();
    let [record] = records.as_slice() else {
        panic!("one record expected, got {records:?}");
    };
    assert!(record.get("client_id").is_none(), "{record}");
}

#[tokio::test]
async fn token_field_larger_than_any_token_is_refused_before_decoding() {
    let idp = Idp::start();
    let huge = "a".repeat(scopegate_token::MAX_TOKEN_BYTES + 1);

    let reply = idp.post(TOKEN, CHAT, &exchange_form(&huge, &[])).await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.error(),
        (
            "invalid_request",
            format!(
                "parameter `subject_token` exceeds {} bytes",
                scopegate_token::MAX_TOKEN_BYTES
            )
            .as_str()
        )
    );
}

#[tokio::test]
async fn unknown_or_missing_client_is_401_with_a_challenge() {
    let idp = Idp::start();

    let unknown = idp
        .post(
            TOKEN,
            ("ghost", "x"),
            &[("grant_type", "client_credentials")],
        )
        .await;
    let missing = idp
        .post(TOKEN, Auth::None, &[("grant_type", "client_credentials")])
        .await;
    let malformed = idp
        .send(
            Request::post(TOKEN)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::AUTHORIZATION, "Basic %%%")
                .body(Body::from(encode(&[("grant_type", "client_credentials")])))
                .unwrap(),
        )
        .await;

    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        unknown.error(),
        (
            "invalid_client",
            "client `ghost` is unknown or its secret does not match"
        )
    );
    assert_eq!(
        unknown.header("www-authenticate"),
        "Basic realm=\"scopegate\""
    );
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        missing.error(),
        ("invalid_client", "client authentication is required")
    );
    assert_eq!(malformed.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        malformed.error(),
        (
            "invalid_client",
            "the `Authorization` header is not well-formed `Basic` credentials"
        )
    );
}

#[tokio::test]
async fn an_unknown_client_and_a_wrong_secret_get_the_same_answer_and_distinct_records() {
    let idp = Idp::start();
    let attempt = |id: &'static str| {
        let form = encode(&[("grant_type", "client_credentials")]);
        let mut request = form_request(TOKEN, Auth::Basic(id, "guess"), &form);
        request
            .headers_mut()
            .insert("x-request-id", "same-request-id".parse().unwrap());
        request
    };

    let unknown = idp.send(attempt("directory-sinc")).await;
    let wrong = idp.send(attempt("directory-sync")).await;

    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, wrong.status);
    assert_eq!(unknown.headers, wrong.headers, "headers tell nothing");
    // The bodies differ only in the client id each request itself sent.
    assert_eq!(
        String::from_utf8_lossy(&unknown.raw).replace("directory-sinc", "directory-sync"),
        String::from_utf8_lossy(&wrong.raw)
    );
    let reasons: Vec<Value> = idp
        .audit_records()
        .iter()
        .map(|record| record["reasons"].clone())
        .collect();
    assert_eq!(
        reasons,
        [
            json!([
                "invalid_client: client `directory-sinc` is unknown or its secret does not match",
                "no client has this id",
                "grant_type client_credentials"
            ]),
            json!([
                "invalid_client: client `directory-sync` is unknown or its secret does not match",
                "the client exists; the secret is wrong",
                "grant_type client_credentials"
            ]),
        ]
    );
}

#[tokio::test]
async fn audit_failure_fails_closed_with_503_and_no_token() {
    let idp = Idp::start();
    idp.audit.set_faults(Faults {
        sync: true,
        ..Faults::default()
    });

    let reply = idp.login("EMP001", false).await;

    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.header("retry-after"), "1");
    assert!(reply.body.get("access_token").is_none());
    let request_id = reply.header("x-request-id");
    assert_eq!(
        reply.error(),
        (
            "temporarily_unavailable",
            format!("the server cannot handle the request now; request id `{request_id}`").as_str()
        )
    );
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let idp = Idp::start();

    let ok = idp.login("EMP001", false).await;
    let refused = idp.post(TOKEN, CHAT, &[("grant_type", "nope")]).await;

    assert_eq!(ok.header("x-request-id").len(), 36);
    assert_eq!(refused.header("x-request-id").len(), 36);
    assert_ne!(ok.header("x-request-id"), refused.header("x-request-id"));
}

#[tokio::test]
async fn well_formed_incoming_request_id_is_kept_and_a_malformed_one_replaced() {
    let idp = Idp::start();
    let with_id = |id: &str| {
        let mut request = form_request(TOKEN, CHAT.into(), "grant_type=nope");
        request
            .headers_mut()
            .insert("x-request-id", id.parse().unwrap());
        request
    };

    let kept = idp.send(with_id("mcp-7c1e:42")).await;
    let recorded = idp.last_audit_record();
    let replaced = idp.send(with_id("bad id with spaces")).await;

    assert_eq!(kept.header("x-request-id"), "mcp-7c1e:42");
    assert_eq!(recorded["request_id"], "mcp-7c1e:42");
    assert_eq!(replaced.header("x-request-id").len(), 36);
}
