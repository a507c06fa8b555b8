//! RFC 7662 introspection.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::{API, Auth, CHAT, INTROSPECT, Idp, MCP_SERVER, claims_of};

#[tokio::test]
async fn active_access_token_shows_its_claims_with_scope_as_a_string() {
    let idp = Idp::start();
    let user_token = idp.user_token("EMP001", true).await;
    let mcp_token = idp.exchange_for_mcp(&user_token).await.access_token();
    let api_token = idp.exchange_for_api(&mcp_token).await.access_token();

    let reply = idp
        .post(INTROSPECT, MCP_SERVER, &[("token", &api_token)])
        .await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("cache-control"), "no-store");
    let claims = claims_of(&api_token);
    let body = &reply.body;
    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "mcp:use");
    assert_eq!(body["act"], json!({ "sub": "mcp-server" }));
    assert_eq!(body["aud"], API);
    for same in [
        "sub",
        "jti",
        "exp",
        "iat",
        "auth_time",
        "amr",
        "acr",
        "original_token_id",
    ] {
        assert_eq!(body[same], claims[same], "`{same}` differs");
    }
}

#[tokio::test]
async fn expired_or_foreign_tokens_are_inactive_and_say_nothing_else() {
    let idp = Idp::start();
    let user_token = idp.user_token("EMP001", false).await;
    idp.advance(3601);

    let expired = idp.post(INTROSPECT, CHAT, &[("token", &user_token)]).await;
    let garbage = idp.post(INTROSPECT, CHAT, &[("token", "a.b.c")]).await;
    let unknown_refresh = idp.post(INTROSPECT, CHAT, &[("token", "opaque")]).await;

    for reply in [expired, garbage, unknown_refresh] {
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.body, json!({ "active": false }));
    }
}

#[tokio::test]
async fn refresh_token_is_active_only_for_its_own_client() {
    let idp = Idp::start();
    let login = idp
        .login_with("EMP001", false, &[("scope", "openid offline_access")])
        .await;
    let refresh = login.body["refresh_token"].as_str().unwrap();

    let owner = idp.post(INTROSPECT, CHAT, &[("token", refresh)]).await;
    let other = idp
        .post(INTROSPECT, MCP_SERVER, &[("token", refresh)])
        .await;

    assert_eq!(owner.body["active"], true);
    assert_eq!(owner.body["token_type"], "refresh_token");
    assert_eq!(owner.body["scope"], "offline_access openid");
    assert_eq!(owner.body["sub"], "EMP001");
    assert_eq!(other.body, json!({ "active": false }));
}

#[tokio::test]
async fn introspection_requires_an_authenticated_client() {
    let idp = Idp::start();

    let anonymous = idp
        .post(INTROSPECT, Auth::None, &[("token", "a.b.c")])
        .await;
    let public = idp
        .post(
            INTROSPECT,
            Auth::None,
            &[("token", "a.b.c"), ("client_id", "scopegate-cli")],
        )
        .await;

    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        anonymous.error(),
        ("invalid_client", "client authentication is required")
    );
    assert_eq!(
        anonymous.header("www-authenticate"),
        "Basic realm=\"scopegate\""
    );
    assert_eq!(public.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        public.error(),
        (
            "invalid_client",
            "client `scopegate-cli` is public; introspection requires an authenticated client"
        )
    );
}

#[tokio::test]
async fn introspection_without_a_token_is_invalid_request() {
    let idp = Idp::start();

    let reply = idp
        .post(INTROSPECT, CHAT, &[("token_type_hint", "access_token")])
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.error(),
        ("invalid_request", "parameter `token` is required")
    );
}
