//! The stdio transport: the same tools, policy and audit for a token from the environment.

use rmcp::ServiceExt as _;
use rmcp::model::ClientConfig;
use scopegate_mcp::{BearerToken, serve_io};
use serde_json::json;

use crate::support::{Stack, call, tool_names};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_serves_the_same_tools_for_the_token_from_the_environment() {
    let stack = Stack::start().await;
    let token = stack.mcp_token_of("EMP001", false).await;
    let (client_end, server_end) = tokio::io::duplex(64 * 1024);
    let (server_read, server_write) = tokio::io::split(server_end);
    let server = tokio::spawn(serve_io(
        stack.mcp.clone(),
        BearerToken::new(token.clone()),
        server_read,
        server_write,
    ));

    let client = ClientConfig::default().serve(client_end).await.unwrap();
    let names = tool_names(&client).await;
    let result = call(&client, "workday_hcm_get_employee", json!({})).await;
    client.cancel().await.unwrap();

    assert_eq!(names.len(), 3);
    assert_eq!(result.structured_content.unwrap()["name"], "Alex Chen");
    let record = stack.records_of("mcp.tool_call").pop().unwrap();
    assert_eq!(record["result"], "success");
    assert!(!stack.api_tokens().contains(&token));
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_refuses_a_token_meant_for_another_audience_before_serving() {
    let stack = Stack::start().await;
    let user_token = stack.login("EMP001", false).await;
    let (_client_end, server_end) = tokio::io::duplex(1024);
    let (server_read, server_write) = tokio::io::split(server_end);

    let error = serve_io(
        stack.mcp.clone(),
        BearerToken::new(user_token),
        server_read,
        server_write,
    )
    .await
    .unwrap_err();

    assert_eq!(
        error.to_string(),
        format!(
            "the token in SCOPEGATE_TOKEN is not accepted: token audience `{}` includes none \
             of `{}`",
            stack.api, stack.mcp_url
        )
    );
}
