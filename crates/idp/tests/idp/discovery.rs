//! Discovery metadata (RFC 8414) and the JWKS.

use axum::http::StatusCode;
use scopegate_token::{AudienceCheck, Jwks, StaticKeys, Verifier};

use crate::support::{API, ISSUER, Idp};

#[tokio::test]
async fn both_well_known_documents_agree_and_name_every_endpoint() {
    let idp = Idp::start();

    let oauth = idp.get("/.well-known/oauth-authorization-server").await;
    let openid = idp.get("/.well-known/openid-configuration").await;

    assert_eq!(oauth.status, StatusCode::OK);
    assert_eq!(oauth.body, openid.body);
    let metadata = &oauth.body;
    assert_eq!(metadata["issuer"], ISSUER);
    assert_eq!(
        metadata["token_endpoint"],
        "http://127.0.0.1:9000/oauth2/v1/token"
    );
    assert_eq!(metadata["jwks_uri"], "http://127.0.0.1:9000/oauth2/v1/keys");
    assert_eq!(
        metadata["introspection_endpoint"],
        "http://127.0.0.1:9000/oauth2/v1/introspect"
    );
    assert_eq!(
        metadata["revocation_endpoint"],
        "http://127.0.0.1:9000/oauth2/v1/revoke"
    );
    assert_eq!(
        metadata["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post", "none"])
    );
    assert_eq!(
        metadata["acr_values_supported"],
        serde_json::json!(["urn:okta:loa:1fa:pwd", "urn:okta:loa:2fa:any"])
    );
    assert_eq!(metadata["response_types_supported"], serde_json::json!([]));
    let scopes = metadata["scopes_supported"].as_array().unwrap();
    assert!(scopes.contains(&"mcp:use".into()), "{scopes:?}");
}

#[tokio::test]
async fn password_grant_is_advertised_only_in_development_mode() {
    let development = Idp::start();
    let production = Idp::start_with(|config| config.development_mode = false);

    let advertised = development
        .get("/.well-known/oauth-authorization-server")
        .await;
    let hidden = production.get("/.well-known/openid-configuration").await;

    assert_eq!(
        advertised.body["grant_types_supported"],
        serde_json::json!([
            "password",
            "client_credentials",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:token-exchange"
        ])
    );
    assert_eq!(
        hidden.body["grant_types_supported"],
        serde_json::json!([
            "client_credentials",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:token-exchange"
        ])
    );
}

#[tokio::test]
async fn jwks_publishes_the_key_that_verifies_issued_tokens() {
    let idp = Idp::start();
    let token = idp.user_token("EMP001", false).await;

    let reply = idp.get("/oauth2/v1/keys").await;
    let jwks = Jwks::from_json(&reply.raw).unwrap();
    let verifier = Verifier::builder()
        .trust_issuer(ISSUER, StaticKeys::new(&jwks))
        .audience(AudienceCheck::one_of([API]))
        .clock(idp.clock.clone())
        .build()
        .unwrap();

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("cache-control"), "public, max-age=300");
    assert_eq!(verifier.verify(&token).unwrap().claims().sub, "EMP001");
}
