//! The MCP server as an OAuth resource server: metadata, challenges, audience and scope, and
//! the transport-level checks that run before any MCP message is read.

use std::time::Duration;

use scopegate_token::{Clock as _, Scopes, testing::sample_claims};
use serde_json::{Value, json};

use crate::support::{Stack, call, claims_of};

fn initialize() -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"},
        },
    })
}

fn challenge(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("www-authenticate")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protected_resource_metadata_is_published_at_both_well_known_paths() {
    let stack = Stack::start().await;
    let expected = json!({
        "resource": stack.mcp_url,
        "authorization_servers": [stack.idp],
        "scopes_supported": ["mcp:use"],
        "bearer_methods_supported": ["header"],
        "resource_name": "scopegate MCP server",
    });

    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let response = stack
            .http
            .get(format!("{}{path}", stack.mcp_base))
            .send()
            .await
            .unwrap();

        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.json::<Value>().await.unwrap(), expected, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_without_a_token_is_pointed_at_the_metadata() {
    let stack = Stack::start().await;

    let response = stack.post_mcp(None, &[], &initialize()).await;

    assert_eq!(response.status(), 401);
    assert_eq!(
        challenge(&response),
        format!(
            "Bearer resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\", \
             scope=\"mcp:use\"",
            stack.mcp_base
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_users_one_hour_token_is_refused_for_its_audience() {
    let stack = Stack::start().await;
    let user_token = stack.login("EMP001", false).await;

    let response = stack.post_mcp(Some(&user_token), &[], &initialize()).await;
    let client = stack.try_client(&user_token).await;

    assert_eq!(response.status(), 401);
    assert_eq!(
        challenge(&response),
        format!(
            "Bearer error=\"invalid_token\", error_description=\"token audience `{api}` \
             includes none of `{mcp}`\", resource_metadata=\"{base}/.well-known/\
             oauth-protected-resource/mcp\", scope=\"mcp:use\"",
            api = stack.api,
            mcp = stack.mcp_url,
            base = stack.mcp_base,
        )
    );
    let Err(error) = client else {
        panic!("the handshake with a token for another audience succeeded");
    };
    assert!(error.is_authorization_required(), "{error}");
    assert!(stack.records_of("mcp.tool_call").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_mcp_token_is_refused_with_401() {
    let stack = Stack::start().await;
    let token = stack.mcp_token_of("EMP001", false).await;
    let client = stack.client(&token).await;
    call(&client, "workday_hcm_get_employee", json!({})).await;

    // Five minutes of lifetime and one of leeway, then one second more.
    stack.clock.advance(Duration::from_secs(300 + 60 + 1));
    let params = rmcp::model::CallToolRequestParams::new("workday_hcm_get_employee");
    let refused = client.call_tool(params).await;
    let response = stack.post_mcp(Some(&token), &[], &initialize()).await;

    let error = refused.expect_err("an expired token is refused");
    let header = error.auth_challenge().expect("an authorization challenge");
    assert!(
        header.starts_with("Bearer error=\"invalid_token\", error_description=\"token expired at "),
        "{header}"
    );
    assert_eq!(response.status(), 401);
    assert_eq!(stack.records_of("mcp.tool_call").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_for_this_server_without_mcp_use_gets_403_insufficient_scope() {
    let stack = Stack::start().await;
    let mut claims = sample_claims(&stack.idp, &stack.mcp_url, stack.clock.now());
    claims.scope = Scopes::from_space_separated("openid profile").unwrap();
    let token = stack.mint(&claims);

    let response = stack.post_mcp(Some(&token), &[], &initialize()).await;

    assert_eq!(response.status(), 403);
    assert_eq!(
        challenge(&response),
        format!(
            "Bearer error=\"insufficient_scope\", error_description=\"the token lacks the \
             `mcp:use` scope\", resource_metadata=\"{}/.well-known/oauth-protected-resource/\
             mcp\", scope=\"mcp:use\"",
            stack.mcp_base
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_from_an_untrusted_issuer_is_refused() {
    let stack = Stack::start().await;
    let claims = sample_claims("https://evil.example", &stack.mcp_url, stack.clock.now());
    let token = stack.mint(&claims);

    let response = stack.post_mcp(Some(&token), &[], &initialize()).await;

    assert_eq!(response.status(), 401);
    assert!(
        challenge(&response).contains("issuer `https://evil.example` is not trusted"),
        "{}",
        challenge(&response)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_in_the_query_string_is_refused_even_when_valid() {
    let stack = Stack::start().await;
    let token = stack.mcp_token_of("EMP001", false).await;

    let response = stack
        .http
        .post(format!("{}?access_token={token}", stack.mcp_url))
        .header("accept", "application/json, text/event-stream")
        .json(&initialize())
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 400);
    assert!(
        challenge(&response).starts_with(
            "Bearer error=\"invalid_request\", error_description=\"access tokens are not \
             accepted in the query string"
        ),
        "{}",
        challenge(&response)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_host_or_an_unlisted_origin_is_refused() {
    let stack = Stack::start().await;
    let token = stack.mcp_token_of("EMP001", false).await;

    let rebound = stack
        .post_mcp(Some(&token), &[("host", "attacker.example")], &initialize())
        .await;
    let foreign = stack
        .post_mcp(
            Some(&token),
            &[("origin", "https://attacker.example")],
            &initialize(),
        )
        .await;
    let server_side = stack.post_mcp(Some(&token), &[], &initialize()).await;

    assert_eq!(rebound.status(), 403);
    assert_eq!(
        rebound.text().await.unwrap(),
        "Forbidden: Host header is not allowed"
    );
    assert_eq!(foreign.status(), 403);
    assert_eq!(
        foreign.text().await.unwrap(),
        "Forbidden: Origin header is not allowed"
    );
    assert_eq!(server_side.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_origin_is_admitted() {
    let stack = Stack::start_with(|config| {
        config.allowed_origins = vec!["https://chat.example.com:443".to_owned()];
    })
    .await;
    let token = stack.mcp_token_of("EMP001", false).await;

    let response = stack
        .post_mcp(
            Some(&token),
            &[("origin", "https://chat.example.com")],
            &initialize(),
        )
        .await;

    assert_eq!(response.status(), 200);
    assert_eq!(claims_of(&token)["aud"], stack.mcp_url.as_str());
}
