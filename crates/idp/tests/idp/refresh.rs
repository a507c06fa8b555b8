//! The rotating refresh-token grant.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::{API, CHAT, INTROSPECT, Idp, MCP, MCP_SERVER, TOKEN, claims_of};

/// A login of EMP001 with MFA and `offline_access`; returns (access token, refresh token).
async fn offline_login(idp: &Idp) -> (String, String) {
    let scope = [("scope", "openid offline_access mcp:use hr:read")];
    let reply = idp.login_with("EMP001", true, &scope).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let refresh = reply.body["refresh_token"].as_str().unwrap().to_owned();
    (reply.access_token(), refresh)
}

async fn refresh(idp: &Idp, token: &str, extra: &[(&str, &str)]) -> crate::support::Reply {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    form.extend_from_slice(extra);
    idp.post(TOKEN, CHAT, &form).await
}

#[tokio::test]
async fn refresh_rotates_and_keeps_the_login_facts_unchanged() {
    let idp = Idp::start();
    let (first_access, first_refresh) = offline_login(&idp).await;
    idp.advance(600);

    let reply = refresh(&idp, &first_refresh, &[]).await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let second_refresh = reply.body["refresh_token"].as_str().unwrap();
    assert_ne!(second_refresh, first_refresh);
    let before = claims_of(&first_access);
    let after = claims_of(&reply.access_token());
    for unchanged in ["sub", "auth_time", "amr", "acr", "aud", "scope", "groups"] {
        assert_eq!(after[unchanged], before[unchanged], "`{unchanged}` changed");
    }
    assert_eq!(after["iat"], idp.now());
    assert_ne!(after["jti"], before["jti"]);
}

#[tokio::test]
async fn refresh_may_narrow_the_scope() {
    let idp = Idp::start();
    let (_, token) = offline_login(&idp).await;

    let reply = refresh(&idp, &token, &[("scope", "mcp:use")]).await;

    assert_eq!(reply.body["scope"], "mcp:use");
    assert_eq!(
        claims_of(&reply.access_token())["scope"],
        json!(["mcp:use"])
    );
}

#[tokio::test]
async fn refresh_may_not_widen_the_scope() {
    let idp = Idp::start();
    let (_, token) = offline_login(&idp).await;

    let reply = refresh(&idp, &token, &[("scope", "mcp:use payroll:read")]).await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.error(),
        (
            "invalid_scope",
            "scope `payroll:read` was not granted to this refresh token"
        )
    );
    let retry = refresh(&idp, &token, &[]).await;
    assert_eq!(
        retry.status,
        StatusCode::OK,
        "a refused refresh must not use the token up"
    );
}

#[tokio::test]
async fn reused_refresh_token_is_refused_and_revokes_its_family() {
    let idp = Idp::start();
    let (first_access, first) = offline_login(&idp).await;
    let second = refresh(&idp, &first, &[]).await;
    let second_refresh = second.body["refresh_token"].as_str().unwrap().to_owned();
    let second_access = second.access_token();

    let replay = refresh(&idp, &first, &[]).await;
    let successor = refresh(&idp, &second_refresh, &[]).await;

    assert_eq!(replay.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        replay.error(),
        (
            "invalid_grant",
            "the refresh token was already used; every token of its family is now revoked"
        )
    );
    assert_eq!(
        successor.error(),
        ("invalid_grant", "the refresh token has been revoked")
    );
    for access in [first_access, second_access] {
        let introspection = idp
            .post(INTROSPECT, MCP_SERVER, &[("token", &access)])
            .await;
        assert_eq!(introspection.body, json!({ "active": false }));
    }
}

#[tokio::test]
async fn client_without_the_refresh_grant_is_unauthorized_client() {
    let idp = Idp::start();
    let (_, token) = offline_login(&idp).await;
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", token.as_str()),
    ];

    let reply = idp.post(TOKEN, MCP_SERVER, &form).await;

    assert_eq!(
        reply.error(),
        (
            "unauthorized_client",
            "client `mcp-server` may not use grant type `refresh_token`"
        )
    );
}

#[tokio::test]
async fn refresh_token_of_another_client_is_invalid_grant_and_stays_usable() {
    let idp =
        Idp::start_with(|config| config.directory = crate::support::directory_with_second_app());
    let (_, token) = offline_login(&idp).await;
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", token.as_str()),
    ];

    let stolen = idp.post(TOKEN, crate::support::SECOND_APP, &form).await;
    let owner = refresh(&idp, &token, &[]).await;

    assert_eq!(
        stolen.error(),
        (
            "invalid_grant",
            "the refresh token was issued to another client"
        )
    );
    assert_eq!(owner.status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_and_expired_refresh_tokens_are_invalid_grant() {
    let idp = Idp::start();
    let (_, token) = offline_login(&idp).await;

    let unknown = refresh(&idp, "bm90LWEtcmVhbC1yZWZyZXNoLXRva2Vu", &[]).await;
    idp.advance(8 * 3600);
    let expired = refresh(&idp, &token, &[]).await;

    assert_eq!(
        unknown.error(),
        ("invalid_grant", "the refresh token is unknown")
    );
    assert_eq!(
        expired.error(),
        ("invalid_grant", "the refresh token has expired")
    );
}

#[tokio::test]
async fn refresh_for_another_audience_is_invalid_target() {
    let idp = Idp::start();
    let (_, token) = offline_login(&idp).await;

    let other = refresh(&idp, &token, &[("resource", MCP)]).await;
    let same = refresh(&idp, &token, &[("resource", API)]).await;

    assert_eq!(other.error().0, "invalid_target");
    assert_eq!(same.status, StatusCode::OK);
}

#[tokio::test]
async fn refresh_tokens_and_revocations_survive_a_restart() {
    let idp = Idp::start();
    let (access, token) = offline_login(&idp).await;
    let revoked = idp
        .post(crate::support::REVOKE, CHAT, &[("token", &access)])
        .await;
    assert_eq!(revoked.status, StatusCode::OK);

    let idp = idp.restart();
    let refreshed = refresh(&idp, &token, &[]).await;
    let introspection = idp
        .post(INTROSPECT, MCP_SERVER, &[("token", &access)])
        .await;

    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    assert_eq!(introspection.body, json!({ "active": false }));
}
