//! Audit records of issuance, exchange, refusal and revocation; and what they never contain.

use serde_json::json;

use crate::support::{API, CHAT, Idp, MCP, REVOKE};

#[tokio::test]
async fn login_is_recorded_as_token_issued_with_the_token_facts() {
    let idp = Idp::start();
    let token = idp.user_token("EMP001", true).await;
    let claims = crate::support::claims_of(&token);

    let record = idp.last_audit_record();

    assert_eq!(record["event_type"], "token.issued");
    assert_eq!(record["actor"], "EMP001");
    assert_eq!(record["client_id"], "chainlit-app");
    assert_eq!(record["token_type"], "original");
    assert_eq!(record["token_id"], claims["jti"]);
    assert_eq!(record["token_ttl_seconds"], 3600);
    assert_eq!(record["mfa_verified"], true);
    assert_eq!(record["audience"], json!([API]));
    assert_eq!(record["result"], "success");
    assert_eq!(record["http_status"], 200);
    assert_eq!(record["reasons"], json!(["grant_type password"]));
    assert!(record["auth_time"].is_string());
    assert!(record["request_id"].is_string());
}

#[tokio::test]
async fn exchanges_are_recorded_with_their_provenance() {
    let idp = Idp::start();
    let user_token = idp.user_token("EMP001", false).await;
    let user_jti = crate::support::claims_of(&user_token)["jti"].clone();
    let mcp_token = idp.exchange_for_mcp(&user_token).await.access_token();
    let mcp_record = idp.last_audit_record();
    idp.exchange_for_api(&mcp_token).await;

    let api_record = idp.last_audit_record();

    assert_eq!(mcp_record["event_type"], "token.exchanged");
    assert_eq!(mcp_record["token_type"], "exchanged");
    assert_eq!(mcp_record["token_ttl_seconds"], 300);
    assert_eq!(mcp_record["original_token_id"], user_jti);
    assert_eq!(mcp_record["audience"], json!([MCP]));
    assert_eq!(mcp_record["scope"], json!(["mcp:use"]));
    assert!(mcp_record.get("acting_through").is_none());
    assert_eq!(api_record["acting_through"], "mcp-server");
    assert_eq!(api_record["client_id"], "mcp-server");
    assert_eq!(api_record["original_token_id"], user_jti);
}

#[tokio::test]
async fn refusals_are_recorded_with_code_reason_and_status() {
    let idp = Idp::start();
    let user_token = idp.user_token("EMP001", false).await;
    let subject_jti = crate::support::claims_of(&user_token)["jti"].clone();
    idp.exchange_for_api(&user_token).await;

    let record = idp.last_audit_record();

    assert_eq!(record["event_type"], "token.refused");
    assert_eq!(record["result"], "refused");
    assert_eq!(record["http_status"], 400);
    assert_eq!(record["client_id"], "mcp-server");
    assert_eq!(record["actor"], "EMP001");
    assert_eq!(record["token_id"], subject_jti);
    let reasons = record["reasons"].as_array().unwrap();
    assert!(
        reasons[0]
            .as_str()
            .unwrap()
            .starts_with("unauthorized_client: client `mcp-server`")
    );
    assert_eq!(
        reasons[1],
        "grant_type urn:ietf:params:oauth:grant-type:token-exchange"
    );
}

#[tokio::test]
async fn failed_client_authentication_is_recorded_with_the_claimed_client() {
    let idp = Idp::start();

    idp.post(
        crate::support::TOKEN,
        ("chainlit-app", "wrong"),
        &[("grant_type", "password")],
    )
    .await;

    let record = idp.last_audit_record();
    assert_eq!(record["event_type"], "token.refused");
    assert_eq!(record["client_id"], "chainlit-app");
    assert_eq!(record["http_status"], 401);
}

#[tokio::test]
async fn revocations_are_recorded_with_the_revoked_ids() {
    let idp = Idp::start();
    let token = idp.user_token("EMP001", false).await;
    let jti = crate::support::claims_of(&token)["jti"]
        .as_str()
        .unwrap()
        .to_owned();

    idp.post(REVOKE, CHAT, &[("token", &token)]).await;

    let record = idp.last_audit_record();
    assert_eq!(record["event_type"], "token.revoked");
    assert_eq!(record["token_id"], jti.as_str());
    assert_eq!(record["reasons"], json!([format!("revoked jti {jti}")]));
}

#[tokio::test]
async fn no_record_holds_a_token_secret_password_or_code() {
    let idp = Idp::start();
    let code = idp.fresh_totp("EMP001");
    let login = idp
        .login_with(
            "EMP001",
            false,
            &[("totp", &code), ("scope", "openid offline_access mcp:use")],
        )
        .await;
    let refresh = login.body["refresh_token"].as_str().unwrap().to_owned();
    let access = login.access_token();
    let mcp = idp.exchange_for_mcp(&access).await.access_token();
    idp.exchange_for_mcp(&format!("{access}x")).await;
    idp.post(REVOKE, CHAT, &[("token", &refresh)]).await;

    let log = String::from_utf8(idp.audit.contents()).unwrap();

    assert!(log.lines().count() >= 4, "{log}");
    for secret in [&access, &mcp, &refresh, &code] {
        assert!(
            !log.contains(secret.as_str()),
            "the audit log holds `{secret}`"
        );
    }
    for secret in ["demo-password", "chainlit-dev-secret", "eyJ"] {
        assert!(!log.contains(secret), "the audit log holds `{secret}`");
    }
}
