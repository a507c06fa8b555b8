//! The development password grant, with and without a TOTP second factor.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::{API, Auth, CHAT, ISSUER, Idp, MCP, TOKEN, claims_of, header_of};

#[tokio::test]
async fn mfa_login_yields_the_design_note_user_token() {
    let idp = Idp::start();

    let reply = idp.login("EMP001", true).await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.header("cache-control"), "no-store");
    assert_eq!(reply.header("pragma"), "no-cache");
    assert_eq!(reply.body["token_type"], "Bearer");
    assert_eq!(reply.body["expires_in"], 3600);
    assert_eq!(
        reply.body["scope"],
        "email hr:read mcp:use openid payroll:read profile"
    );
    assert!(reply.body.get("refresh_token").is_none());
    let token = reply.access_token();
    assert_eq!(header_of(&token)["typ"], "at+jwt");
    assert!(header_of(&token)["kid"].is_string());
    let claims = claims_of(&token);
    let now = idp.now();
    assert_eq!(claims["sub"], "EMP001");
    assert_eq!(claims["principal_type"], "HUMAN");
    assert_eq!(claims["groups"], json!(["employees"]));
    assert_eq!(claims["amr"], json!(["mfa", "otp", "pwd"]));
    assert_eq!(claims["acr"], "urn:okta:loa:2fa:any");
    assert_eq!(claims["auth_time"], now);
    assert_eq!(claims["iat"], now);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], API);
    assert_eq!(claims["client_id"], "chainlit-app");
    assert_eq!(
        claims["scope"],
        json!([
            "email",
            "hr:read",
            "mcp:use",
            "openid",
            "payroll:read",
            "profile"
        ])
    );
    assert_eq!(claims["jti"].as_str().unwrap().len(), 36);
    assert!(claims.get("original_token_id").is_none());
    assert!(claims.get("act").is_none());
}

#[tokio::test]
async fn password_only_login_has_pwd_amr_and_the_one_factor_acr() {
    let idp = Idp::start();

    let claims = claims_of(&idp.user_token("EMP010", false).await);

    assert_eq!(claims["amr"], json!(["pwd"]));
    assert_eq!(claims["acr"], "urn:okta:loa:1fa:pwd");
    assert_eq!(claims["groups"], json!(["employees", "managers"]));
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_invalid_grant() {
    let idp = Idp::start();
    let form = |user| {
        [
            ("grant_type", "password"),
            ("username", user),
            ("password", "nope"),
        ]
    };

    let wrong = idp.post(TOKEN, CHAT, &form("EMP001")).await;
    let unknown = idp.post(TOKEN, CHAT, &form("EMP404")).await;

    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        wrong.error(),
        ("invalid_grant", "the username or password is wrong")
    );
    assert_eq!(unknown.error(), wrong.error());
}

#[tokio::test]
async fn wrong_totp_code_is_invalid_grant() {
    let idp = Idp::start();

    let reply = idp.login_with("EMP001", false, &[("totp", "000000")]).await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.error(),
        (
            "invalid_grant",
            "the one-time code is wrong or outside the accepted time window"
        )
    );
}

#[tokio::test]
async fn malformed_totp_code_is_invalid_grant() {
    let idp = Idp::start();

    let reply = idp.login_with("EMP001", false, &[("totp", "12ab56")]).await;

    assert_eq!(
        reply.error(),
        ("invalid_grant", "the one-time code is not six digits")
    );
}

#[tokio::test]
async fn totp_code_used_twice_is_refused_the_second_time() {
    let idp = Idp::start();
    let code = idp.fresh_totp("EMP020");

    let first = idp.login_with("EMP020", false, &[("totp", &code)]).await;
    let second = idp.login_with("EMP020", false, &[("totp", &code)]).await;

    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(
        second.error(),
        ("invalid_grant", "the one-time code was already used")
    );
}

#[tokio::test]
async fn totp_code_for_a_user_without_mfa_is_invalid_grant() {
    let idp = Idp::start();

    let reply = idp.login_with("EMP002", false, &[("totp", "123456")]).await;

    assert_eq!(
        reply.error(),
        (
            "invalid_grant",
            "user `EMP002` is not enrolled in multi-factor authentication"
        )
    );
}

#[tokio::test]
async fn password_grant_outside_development_mode_is_unsupported_grant_type() {
    let idp = Idp::start_with(|config| config.development_mode = false);

    let reply = idp.login("EMP001", false).await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.error(),
        (
            "unsupported_grant_type",
            "grant type `password` is available only in development mode"
        )
    );
}

#[tokio::test]
async fn scope_the_client_may_not_request_is_invalid_scope() {
    let idp = Idp::start();

    let reply = idp
        .login_with("EMP001", false, &[("scope", "openid payroll:write")])
        .await;

    assert_eq!(
        reply.error(),
        (
            "invalid_scope",
            "client `chainlit-app` may not request scope `payroll:write`"
        )
    );
}

#[tokio::test]
async fn malformed_scope_parameter_is_invalid_scope() {
    let idp = Idp::start();

    let reply = idp
        .login_with("EMP001", false, &[("scope", "openid  profile")])
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error().0, "invalid_scope");
    assert!(
        reply
            .error()
            .1
            .starts_with("parameter `scope` is malformed"),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn requested_scope_replaces_the_defaults() {
    let idp = Idp::start();

    let reply = idp
        .login_with("EMP001", false, &[("scope", "mcp:use openid")])
        .await;

    assert_eq!(reply.body["scope"], "mcp:use openid");
    assert_eq!(
        claims_of(&reply.access_token())["scope"],
        json!(["mcp:use", "openid"])
    );
}

#[tokio::test]
async fn offline_access_yields_an_opaque_refresh_token() {
    let idp = Idp::start();

    let reply = idp
        .login_with("EMP001", false, &[("scope", "openid offline_access")])
        .await;

    let refresh = reply.body["refresh_token"].as_str().unwrap();
    assert_eq!(refresh.len(), 43);
    assert!(!refresh.contains('.'));
}

#[tokio::test]
async fn resource_other_than_the_clients_default_is_invalid_target() {
    let idp = Idp::start();

    let other = idp.login_with("EMP001", false, &[("resource", MCP)]).await;
    let same = idp.login_with("EMP001", false, &[("resource", API)]).await;
    let unknown = idp
        .login_with("EMP001", false, &[("audience", "https://evil.test")])
        .await;

    assert_eq!(
        other.error(),
        (
            "invalid_target",
            "client `chainlit-app` may not request tokens for `http://127.0.0.1:8001/mcp`"
        )
    );
    assert_eq!(same.status, StatusCode::OK);
    assert_eq!(
        unknown.error(),
        (
            "invalid_target",
            "`https://evil.test` is not a registered resource"
        )
    );
}

#[tokio::test]
async fn public_client_logs_in_with_its_client_id_alone() {
    let idp = Idp::start();
    let form = [
        ("grant_type", "password"),
        ("client_id", "scopegate-cli"),
        ("username", "EMP001"),
        ("password", "demo-password"),
    ];

    let reply = idp.post(TOKEN, Auth::None, &form).await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        claims_of(&reply.access_token())["client_id"],
        "scopegate-cli"
    );
}

#[tokio::test]
async fn missing_username_is_invalid_request_naming_it() {
    let idp = Idp::start();

    let reply = idp
        .post(
            TOKEN,
            CHAT,
            &[("grant_type", "password"), ("password", "x")],
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.error(),
        ("invalid_request", "parameter `username` is required")
    );
}
