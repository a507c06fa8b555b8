//! Protocol versions and transports: a 2025-06-18 client as the official Python SDK 1.x speaks
//! it, the rmcp client's default, and a 2026-07-28 client without a handshake.

use rmcp::model::{ClientConfig, ProtocolVersion};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt as _};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

use crate::support::{Stack, call, tool_names};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2025_06_18_client_initializes_lists_and_calls_with_plain_json_answers() {
    let stack = Stack::start().await;
    let token = stack.mcp_token_of("EMP001", false).await;
    let version = [("mcp-protocol-version", "2025-06-18")];

    let initialize = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "mcp", "version": "0.1.0"},
        },
    });
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let call = json!({
        "jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "workday_hcm_get_employee", "arguments": {}},
    });

    let answer = stack.post_mcp(Some(&token), &[], &initialize).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-type"], "application/json");
    assert!(
        answer.headers().get("mcp-session-id").is_none(),
        "stateless: no session"
    );
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["result"]["protocolVersion"], "2025-06-18");
    assert_eq!(body["result"]["serverInfo"]["name"], "scopegate-mcp");
    assert!(body["result"]["capabilities"]["tools"].is_object());

    let answer = stack.post_mcp(Some(&token), &version, &initialized).await;
    assert_eq!(answer.status(), 202);

    let answer = stack.post_mcp(Some(&token), &version, &list).await;
    assert_eq!(answer.headers()["content-type"], "application/json");
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["id"], 2);
    assert_eq!(body["result"]["tools"].as_array().unwrap().len(), 3);

    let answer = stack.post_mcp(Some(&token), &version, &call).await;
    assert_eq!(answer.headers()["content-type"], "application/json");
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["result"]["isError"], false);
    assert_eq!(body["result"]["structuredContent"]["name"], "Alex Chen");
    assert!(
        body["result"].get("resultType").is_none(),
        "no 2026 fields for a 2025 client"
    );

    let stream = stack
        .http
        .get(&stack.mcp_url)
        .bearer_auth(&token)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(
        stream.status(),
        405,
        "no server-to-client stream when stateless"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rmcp_client_negotiates_2025_11_25_over_the_handshake() {
    let stack = Stack::start().await;
    let token = stack.mcp_token_of("EMP001", false).await;

    let client = stack.client(&token).await;

    let server = client.peer_info().expect("server info");
    assert_eq!(server.protocol_version, ProtocolVersion::V_2025_11_25);
    assert_eq!(server.server_info.as_ref().unwrap().name, "scopegate-mcp");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2026_07_28_client_discovers_and_calls_without_a_handshake() {
    let stack = Stack::start().await;
    let token = stack.mcp_token_of("EMP001", false).await;
    let config =
        StreamableHttpClientTransportConfig::with_uri(stack.mcp_url.clone()).auth_header(token);
    let transport = StreamableHttpClientTransport::from_config(config);
    let lifecycle = ClientLifecycleMode::Discover {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
    };

    let client = ClientConfig::default()
        .serve_with_lifecycle(transport, lifecycle)
        .await
        .unwrap();
    let names = tool_names(&client).await;
    let result = call(&client, "workday_hcm_get_employee", json!({})).await;

    assert_eq!(
        client.peer_info().unwrap().protocol_version,
        ProtocolVersion::V_2026_07_28
    );
    assert_eq!(names.len(), 3);
    assert_eq!(result.structured_content.unwrap()["name"], "Alex Chen");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness_answer_without_a_token() {
    let stack = Stack::start().await;

    let health = stack
        .http
        .get(format!("{}/healthz", stack.mcp_base))
        .send()
        .await
        .unwrap();
    let ready = stack
        .http
        .get(format!("{}/readyz", stack.mcp_base))
        .send()
        .await
        .unwrap();

    assert_eq!(health.status(), 200);
    assert_eq!(ready.status(), 200);
    assert_eq!(
        ready.json::<Value>().await.unwrap(),
        json!({"status": "ready", "checks": {"keys": "ok", "audit": "ok"}})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_call_or_an_unknown_protocol_version_is_refused_before_any_tool_runs() {
    let stack = Stack::start().await;
    let token = stack.mcp_token_of("EMP001", false).await;
    let call = json!({
        "jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "workday_hcm_get_employee", "arguments": "EMP001"},
    });

    let malformed = stack
        .post_mcp(
            Some(&token),
            &[("mcp-protocol-version", "2025-06-18")],
            &call,
        )
        .await;
    let unknown_version = stack
        .post_mcp(
            Some(&token),
            &[("mcp-protocol-version", "1999-01-01")],
            &call,
        )
        .await;

    // rmcp 3.11 reads a `tools/call` whose params do not fit the schema as a custom request.
    let body: Value = malformed.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32601);
    assert_eq!(unknown_version.status(), 400);
    assert_eq!(
        unknown_version.text().await.unwrap(),
        "Bad Request: Unsupported MCP-Protocol-Version: 1999-01-01"
    );
    assert!(stack.records_of("mcp.tool_call").is_empty());
    assert!(stack.api_tokens().is_empty());
}
