//! Request bodies a client garbles or inflates: the MCP server answers them as the client's
//! mistake, with a 4xx and a JSON error, never as a fault of its own, and runs no tool.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::support::Stack;

/// Sends `request` as raw bytes and reads the answer until the server closes the connection.
async fn raw_exchange(stack: &Stack, request: &[u8]) -> String {
    let address = stack.mcp_base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer))
        .await
        .expect("the server answers and closes the connection")
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_with_broken_chunked_framing_is_a_400_not_a_500() {
    let stack = Stack::start().await;
    let token = stack.mcp_token_of("EMP001", false).await;
    let host = stack.mcp_base.trim_start_matches("http://");
    let request = format!(
        "POST /mcp HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
         Accept: application/json, text/event-stream\r\nContent-Type: application/json\r\n\
         MCP-Protocol-Version: 2025-06-18\r\nTransfer-Encoding: chunked\r\n\r\n\
         5\r\n{{\"a\":\r\nnot-a-chunk-size\r\n"
    );

    let answer = raw_exchange(&stack, request.as_bytes()).await;

    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{answer}"
    );
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    assert_eq!(
        serde_json::from_str::<Value>(body).unwrap(),
        json!({
            "error": "invalid_request",
            "error_description": "the request body could not be read",
        })
    );
    assert!(stack.records_of("mcp.tool_call").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_is_a_413_and_runs_nothing() {
    let stack = Stack::start().await;
    let token = stack.mcp_token_of("EMP001", false).await;
    let padding = "a".repeat(scopegate_mcp::MAX_REQUEST_BODY_BYTES);
    let call = json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "workday_hcm_get_employee", "arguments": {"padding": padding}},
    });

    let response = stack
        .post_mcp(
            Some(&token),
            &[("mcp-protocol-version", "2025-06-18")],
            &call,
        )
        .await;

    assert_eq!(response.status(), 413);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({
            "error": "invalid_request",
            "error_description": format!(
                "the request body exceeds {} bytes",
                scopegate_mcp::MAX_REQUEST_BODY_BYTES
            ),
        })
    );
    assert!(stack.records_of("mcp.tool_call").is_empty());
    assert!(stack.api_tokens().is_empty());
}
