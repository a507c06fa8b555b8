//! RFC 7009 revocation.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::{CHAT, DIRECTORY_SYNC, INTROSPECT, Idp, MCP_SERVER, REVOKE, TOKEN};

#[tokio::test]
async fn unknown_or_invalid_tokens_are_revoked_with_200_and_nothing_happens() {
    let idp = Idp::start();
    let before = idp.audit_records().len();

    for token in ["opaque-unknown", "a.b.c"] {
        let reply = idp.post(REVOKE, CHAT, &[("token", token)]).await;

        assert_eq!(reply.status, StatusCode::OK);
        assert!(reply.raw.is_empty());
        assert_eq!(reply.header("cache-control"), "no-store");
    }
    assert_eq!(idp.audit_records().len(), before);
}

#[tokio::test]
async fn revoking_an_access_token_makes_it_inactive_and_is_repeatable() {
    let idp = Idp::start();
    let token = idp.user_token("EMP001", false).await;

    let first = idp
        .post(
            REVOKE,
            CHAT,
            &[("token", &token), ("token_type_hint", "access_token")],
        )
        .await;
    let second = idp.post(REVOKE, CHAT, &[("token", &token)]).await;
    let introspection = idp.post(INTROSPECT, CHAT, &[("token", &token)]).await;

    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(introspection.body, json!({ "active": false }));
}

#[tokio::test]
async fn revoking_an_exchanged_token_spares_its_subject() {
    let idp = Idp::start();
    let user_token = idp.user_token("EMP001", false).await;
    let mcp_token = idp.exchange_for_mcp(&user_token).await.access_token();

    idp.post(REVOKE, MCP_SERVER, &[("token", &mcp_token)]).await;

    let mcp = idp.post(INTROSPECT, CHAT, &[("token", &mcp_token)]).await;
    let user = idp.post(INTROSPECT, CHAT, &[("token", &user_token)]).await;
    assert_eq!(mcp.body, json!({ "active": false }));
    assert_eq!(user.body["active"], true);
}

#[tokio::test]
async fn revoking_a_refresh_token_revokes_its_family_and_access_tokens() {
    let idp = Idp::start();
    let login = idp
        .login_with(
            "EMP001",
            false,
            &[("scope", "openid offline_access mcp:use")],
        )
        .await;
    let access = login.access_token();
    let refresh = login.body["refresh_token"].as_str().unwrap();
    let mcp_token = idp.exchange_for_mcp(&access).await.access_token();

    let reply = idp
        .post(
            REVOKE,
            CHAT,
            &[("token", refresh), ("token_type_hint", "refresh_token")],
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK);
    let again = idp
        .post(
            TOKEN,
            CHAT,
            &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        )
        .await;
    assert_eq!(
        again.error(),
        ("invalid_grant", "the refresh token has been revoked")
    );
    for token in [&access, &mcp_token] {
        let introspection = idp.post(INTROSPECT, CHAT, &[("token", token)]).await;
        assert_eq!(introspection.body, json!({ "active": false }));
    }
}

#[tokio::test]
async fn client_may_not_revoke_another_clients_token() {
    let idp = Idp::start();
    let token = idp.user_token("EMP001", false).await;
    let login = idp
        .login_with("EMP001", false, &[("scope", "openid offline_access")])
        .await;
    let refresh = login.body["refresh_token"].as_str().unwrap();

    let access = idp.post(REVOKE, DIRECTORY_SYNC, &[("token", &token)]).await;
    let family = idp.post(REVOKE, MCP_SERVER, &[("token", refresh)]).await;

    assert_eq!(access.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        access.error(),
        (
            "unauthorized_client",
            "client `directory-sync` may not revoke a token issued to `chainlit-app`"
        )
    );
    assert_eq!(family.error().0, "unauthorized_client");
    let still = idp.post(INTROSPECT, CHAT, &[("token", &token)]).await;
    assert_eq!(still.body["active"], true);
}

#[tokio::test]
async fn revocation_requires_client_authentication() {
    let idp = Idp::start();

    let reply = idp
        .post(REVOKE, ("chainlit-app", "wrong"), &[("token", "x")])
        .await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error().0, "invalid_client");
}

#[tokio::test]
async fn pruning_forgets_revocations_only_once_their_tokens_expired() {
    let idp = Idp::start();
    let token = idp.user_token("EMP001", false).await;
    idp.post(REVOKE, CHAT, &[("token", &token)]).await;

    let early = idp.state.prune_expired().await.unwrap();
    idp.advance(3600);
    let late = idp.state.prune_expired().await.unwrap();

    assert_eq!(early, 0);
    assert_eq!(late, 1);
}
