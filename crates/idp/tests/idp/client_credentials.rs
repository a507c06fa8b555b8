//! The client-credentials grant: tokens about services, never about people.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::{API, Auth, CHAT, DIRECTORY_SYNC, Idp, TOKEN, claims_of};

#[tokio::test]
async fn service_token_names_the_client_and_carries_no_login() {
    let idp = Idp::start();

    let reply = idp
        .post(
            TOKEN,
            DIRECTORY_SYNC,
            &[("grant_type", "client_credentials")],
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.body.get("refresh_token").is_none());
    assert_eq!(reply.body["scope"], "hr:read");
    let claims = claims_of(&reply.access_token());
    assert_eq!(claims["sub"], "directory-sync");
    assert_eq!(claims["client_id"], "directory-sync");
    assert_eq!(claims["principal_type"], "SERVICE");
    assert_eq!(claims["aud"], API);
    assert_eq!(claims["scope"], json!(["hr:read"]));
    for absent in ["auth_time", "amr", "acr", "groups", "act"] {
        assert!(
            claims.get(absent).is_none(),
            "unexpected `{absent}` in {claims}"
        );
    }
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
}

#[tokio::test]
async fn client_without_the_grant_is_unauthorized_client() {
    let idp = Idp::start();

    let reply = idp
        .post(TOKEN, CHAT, &[("grant_type", "client_credentials")])
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.error(),
        (
            "unauthorized_client",
            "client `chainlit-app` may not use grant type `client_credentials`"
        )
    );
}

#[tokio::test]
async fn public_client_cannot_use_client_credentials() {
    let idp = Idp::start();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "scopegate-cli"),
    ];

    let reply = idp.post(TOKEN, Auth::None, &form).await;

    assert_eq!(
        reply.error(),
        (
            "unauthorized_client",
            "client `scopegate-cli` may not use grant type `client_credentials`"
        )
    );
}

#[tokio::test]
async fn client_secret_post_authenticates_as_well_as_basic() {
    let idp = Idp::start();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "directory-sync"),
        ("client_secret", "directory-sync-dev-secret"),
    ];

    let reply = idp.post(TOKEN, Auth::None, &form).await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}
