//! `tools/call`: the on-behalf-of exchange, the API call, the joined audit records, and every
//! way a call can end short of a result.

use std::time::Duration;

use rmcp::model::ErrorCode;
use scopegate_audit::{Faults, MemoryStorage};
use serde_json::{Value, json};

use crate::support::{Stack, call, claims_of, text_of, try_call};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_employee_runs_with_an_exchanged_token_and_the_two_records_join() {
    let stack = Stack::start().await;
    let token = stack.mcp_token_of("EMP001", false).await;
    let client = stack.client(&token).await;

    let result = call(&client, "workday_hcm_get_employee", json!({})).await;

    assert_eq!(result.is_error, Some(false), "{}", text_of(&result));
    let profile = result.structured_content.clone().unwrap();
    assert_eq!(profile["name"], "Alex Chen");
    assert_eq!(
        serde_json::from_str::<Value>(&text_of(&result)).unwrap(),
        profile
    );

    let mcp_record = stack.records_of("mcp.tool_call").pop().unwrap();
    let request_id = mcp_record["request_id"].as_str().unwrap();
    assert_eq!(
        result.meta.unwrap().0["dev.scopegate/request_id"],
        request_id
    );
    assert_eq!(mcp_record["tool"], "workday_hcm_get_employee");
    assert_eq!(mcp_record["capability"], "workday.hcm.get_employee");
    assert_eq!(mcp_record["result"], "success");
    assert_eq!(mcp_record["actor"], "EMP001");
    assert_eq!(mcp_record["client_id"], "chainlit-app");
    assert_eq!(mcp_record["token_type"], "exchanged");
    assert_eq!(mcp_record["token_id"], claims_of(&token)["jti"]);
    assert_eq!(mcp_record["scope"], json!(["mcp:use"]));
    assert_eq!(mcp_record["acting_through"], "mcp-server");
    assert!(mcp_record["latency_ms"].is_u64());

    let api_record = stack
        .records_of("capability.decision")
        .into_iter()
        .find(|record| record["request_id"] == request_id)
        .expect("the API's record carries the MCP server's request id");
    assert_eq!(api_record["result"], "success");
    assert_eq!(api_record["actor"], "EMP001");
    assert_eq!(api_record["acting_through"], "mcp-server");
    assert_eq!(api_record["client_id"], "mcp-server");
    assert_eq!(api_record["token_type"], "exchanged");
    assert!(api_record["token_ttl_seconds"].as_u64().unwrap() <= 300);
    assert_eq!(
        api_record["original_token_id"],
        mcp_record["original_token_id"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_the_client_sent_never_reaches_the_api() {
    let stack = Stack::start().await;
    let token = stack.mcp_token_of("EMP001", true).await;
    let client = stack.client(&token).await;

    call(&client, "workday_hcm_get_employee", json!({})).await;
    call(&client, "workday_payroll_get_compensation", json!({})).await;
    call(
        &client,
        "workday_hcm_get_employee",
        json!({"employee_id": "EMP020"}),
    )
    .await;

    let seen = stack.api_tokens();
    assert_eq!(seen.len(), 3);
    assert!(!seen.contains(&token), "the client's token reached the API");
    for api_token in &seen {
        let claims = claims_of(api_token);
        assert_eq!(claims["act"], json!({"sub": "mcp-server"}));
        assert_eq!(claims["aud"], stack.api.as_str());
        assert_eq!(claims["client_id"], "mcp-server");
        assert_eq!(claims["sub"], "EMP001");
    }
    let log = std::fs::read_to_string(&stack.audit_path).unwrap();
    assert!(!log.contains(&token), "a raw token reached the audit log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pay_needs_a_fresh_multi_factor_login_and_is_served_after_one() {
    let stack = Stack::start().await;
    let stale_login = stack.login("EMP001", true).await;
    stack.advance(600);
    let stale = stack.mcp_token(&stale_login).await;
    let stale_client = stack.client(&stale).await;

    let refused = call(&stale_client, "workday_payroll_get_compensation", json!({})).await;

    let text = "payroll needs a multi-factor sign-in within the last 5 minutes; sign in again \
                with your authenticator code";
    assert_eq!(refused.is_error, Some(true));
    assert_eq!(text_of(&refused), text);
    let detail = refused.structured_content.unwrap();
    assert_eq!(detail["error"], "insufficient_user_authentication");
    assert_eq!(detail["max_age"], 300);
    assert_eq!(detail["acr_values"], json!(["urn:okta:loa:2fa:any"]));
    assert_eq!(detail["error_description"], text);
    let record = stack.records_of("mcp.tool_call").pop().unwrap();
    assert_eq!(record["result"], "step_up");
    assert_eq!(record["policy_matched"], "employee-self-service");

    let fresh = stack.mcp_token_of("EMP001", true).await;
    let fresh_client = stack.client(&fresh).await;
    let served = call(&fresh_client, "workday_payroll_get_compensation", json!({})).await;

    assert_eq!(served.is_error, Some(false), "{}", text_of(&served));
    assert_eq!(served.structured_content.unwrap()["currency"], "USD");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchanged_tokens_are_reused_until_shortly_before_they_expire() {
    let stack = Stack::start().await;
    let token = stack.mcp_token_of("EMP001", false).await;
    let client = stack.client(&token).await;
    let exchanges = || {
        stack
            .records_of("token.exchanged")
            .into_iter()
            .filter(|record| record["client_id"] == "mcp-server")
            .count()
    };

    call(&client, "workday_hcm_get_employee", json!({})).await;
    call(&client, "workday_payroll_get_compensation", json!({})).await;
    let after_two_calls = exchanges();
    let cached = stack.mcp.cached_exchanges();
    stack.advance(280);
    call(&client, "workday_hcm_get_employee", json!({})).await;

    assert_eq!(after_two_calls, 1);
    assert_eq!(cached, 1);
    assert_eq!(exchanges(), 2);
    assert_eq!(stack.api_tokens().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_elses_profile_is_a_denial_with_the_apis_reasons() {
    let stack = Stack::start().await;
    let token = stack.mcp_token_of("EMP001", false).await;
    let client = stack.client(&token).await;

    let result = call(
        &client,
        "workday_hcm_get_employee",
        json!({"employee_id": "EMP020"}),
    )
    .await;

    assert_eq!(result.is_error, Some(true));
    let detail = result.structured_content.clone().unwrap();
    assert_eq!(detail["error"], "access_denied");
    assert!(!detail["reasons"].as_array().unwrap().is_empty());
    assert!(
        text_of(&result).starts_with("access to `workday.hcm.get_employee` is denied: "),
        "{}",
        text_of(&result)
    );
    assert_eq!(
        stack.records_of("mcp.tool_call").pop().unwrap()["result"],
        "denied"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_the_policy_rules_out_is_refused_before_any_exchange() {
    let stack = Stack::start().await;
    let token = stack.mcp_token_of("EMP001", false).await;
    let client = stack.client(&token).await;

    let result = call(&client, "workday_hcm_list_direct_reports", json!({})).await;

    assert_eq!(result.is_error, Some(true));
    assert!(
        text_of(&result).starts_with("`workday_hcm_list_direct_reports` is not available to you: "),
        "{}",
        text_of(&result)
    );
    assert_eq!(result.structured_content.unwrap()["error"], "access_denied");
    assert!(stack.api_tokens().is_empty());
    assert!(
        stack
            .records_of("token.exchanged")
            .iter()
            .all(|r| r["client_id"] != "mcp-server")
    );
    assert_eq!(
        stack.records_of("mcp.tool_call").pop().unwrap()["result"],
        "denied"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_tool_is_a_json_rpc_invalid_params_error() {
    let stack = Stack::start().await;
    let token = stack.mcp_token_of("EMP001", false).await;
    let client = stack.client(&token).await;

    let error = try_call(&client, "workday_hcm_fire_everyone", json!({}))
        .await
        .unwrap_err();

    let rmcp::ServiceError::McpError(error) = error else {
        panic!("not a JSON-RPC error: {error}");
    };
    assert_eq!(error.code, ErrorCode::INVALID_PARAMS);
    assert_eq!(error.message, "unknown tool `workday_hcm_fire_everyone`");
    assert!(stack.records_of("mcp.tool_call").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arguments_that_break_the_schema_are_a_tool_error_naming_the_field() {
    let stack = Stack::start().await;
    let token = stack.mcp_token_of("EMP001", false).await;
    let client = stack.client(&token).await;

    let result = call(
        &client,
        "workday_hcm_get_employee",
        json!({"employee_id": "alex"}),
    )
    .await;

    assert_eq!(result.is_error, Some(true));
    let detail = result.structured_content.clone().unwrap();
    assert_eq!(detail["error"], "invalid_arguments");
    assert_eq!(detail["field"], "employee_id");
    assert!(
        text_of(&result).starts_with("invalid arguments: "),
        "{}",
        text_of(&result)
    );
    assert_eq!(
        stack.records_of("mcp.tool_call").pop().unwrap()["result"],
        "refused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_login_ends_the_session_at_the_next_exchange() {
    let stack = Stack::start().await;
    let user_token = stack.login("EMP001", false).await;
    let token = stack.mcp_token(&user_token).await;
    let client = stack.client(&token).await;
    let revoked = stack
        .http
        .post(format!("{}/oauth2/v1/revoke", stack.idp))
        .basic_auth("chainlit-app", Some("chainlit-dev-secret"))
        .form(&[("token", user_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);

    let result = call(&client, "workday_hcm_get_employee", json!({})).await;

    assert_eq!(result.is_error, Some(true));
    assert_eq!(
        result.structured_content.clone().unwrap()["error"],
        "session_invalid"
    );
    assert!(
        text_of(&result).starts_with("your session is no longer valid ("),
        "{}",
        text_of(&result)
    );
    assert!(stack.api_tokens().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_login_stops_a_session_whose_exchange_is_cached_at_its_next_call() {
    let stack = Stack::start().await;
    let user_token = stack.login("EMP001", false).await;
    let token = stack.mcp_token(&user_token).await;
    let client = stack.client(&token).await;
    let before = call(&client, "workday_hcm_get_employee", json!({})).await;
    let revoked = stack
        .http
        .post(format!("{}/oauth2/v1/revoke", stack.idp))
        .basic_auth("chainlit-app", Some("chainlit-dev-secret"))
        .form(&[("token", user_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);

    let after = call(&client, "workday_hcm_get_employee", json!({})).await;

    assert_eq!(before.is_error, Some(false), "{}", text_of(&before));
    assert_eq!(after.is_error, Some(true));
    assert_eq!(
        after.structured_content.clone().unwrap()["error"],
        "session_invalid"
    );
    assert_eq!(
        stack.api_tokens().len(),
        1,
        "the API saw only the first call"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_identity_provider_is_named_in_the_tool_error() {
    let closed = closed_port().await;
    let stack = Stack::start_with(|config| {
        config.token_endpoint = format!("http://{closed}/oauth2/v1/token");
    })
    .await;
    let token = stack.mcp_token_of("EMP001", false).await;
    let client = stack.client(&token).await;

    let result = call(&client, "workday_hcm_get_employee", json!({})).await;

    assert_eq!(result.is_error, Some(true));
    assert_eq!(
        text_of(&result),
        "identity provider unavailable: it could not be reached; try again shortly"
    );
    assert_eq!(
        result.structured_content.unwrap()["error"],
        "identity_provider_unavailable"
    );
    assert_eq!(
        stack.records_of("mcp.tool_call").pop().unwrap()["result"],
        "error"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_api_is_named_in_the_tool_error_after_the_timeout() {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let stack = Stack::start_with(|config| {
        config.api_url = format!("http://{address}");
        config.api_timeout = Duration::from_millis(300);
    })
    .await;
    let token = stack.mcp_token_of("EMP001", false).await;
    let client = stack.client(&token).await;

    let result = call(&client, "workday_hcm_get_employee", json!({})).await;

    assert_eq!(result.is_error, Some(true));
    assert_eq!(
        text_of(&result),
        "actions API unavailable: no answer within 0.3 s; try again shortly"
    );
    assert_eq!(
        result.structured_content.unwrap()["error"],
        "api_unavailable"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_audit_log_withholds_results_and_then_stops_calls_reaching_the_api() {
    let storage = MemoryStorage::new();
    let stack = Stack::start_with_mcp_audit(storage.clone()).await;
    let token = stack.mcp_token_of("EMP001", false).await;
    let client = stack.client(&token).await;
    storage.set_faults(Faults {
        sync: true,
        ..Faults::default()
    });

    let withheld = call(&client, "workday_hcm_get_employee", json!({})).await;
    let refused = call(&client, "workday_hcm_get_employee", json!({})).await;

    let text = "the MCP server cannot write its audit log, so nothing was done; try again shortly";
    for result in [&withheld, &refused] {
        assert_eq!(result.is_error, Some(true));
        assert_eq!(text_of(result), text);
        assert_eq!(
            result.structured_content.as_ref().unwrap()["error"],
            "audit_unavailable"
        );
    }
    assert_eq!(
        stack.api_tokens().len(),
        1,
        "the second call reached the API"
    );
    assert!(storage.contents().is_empty());
}

/// A loopback address nothing listens on.
async fn closed_port() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}
