//! `tools/list`: one tool per capability, only those the caller's token could be allowed.

use serde_json::json;

use crate::support::{Stack, tool_names};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_employee_sees_the_self_service_tools_but_not_the_hr_admin_ones() {
    let stack = Stack::start().await;
    let token = stack.mcp_token_of("EMP001", false).await;
    let client = stack.client(&token).await;

    let names = tool_names(&client).await;

    assert_eq!(
        names,
        [
            "workday_hcm_get_employee",
            "workday_hcm_update_contact_info",
            "workday_payroll_get_compensation",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hr_administrator_also_sees_the_team_listing() {
    let stack = Stack::start().await;
    let token = stack.mcp_token_of("EMP020", false).await;
    let client = stack.client(&token).await;

    let names = tool_names(&client).await;

    assert_eq!(
        names,
        [
            "workday_hcm_get_employee",
            "workday_hcm_list_direct_reports",
            "workday_hcm_update_contact_info",
            "workday_payroll_get_compensation",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_is_private_to_its_caller_and_carries_each_capabilitys_schema() {
    let stack = Stack::start().await;
    let token = stack.mcp_token_of("EMP001", false).await;
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});

    let response = stack
        .post_mcp(
            Some(&token),
            &[("mcp-protocol-version", "2025-11-25")],
            &list,
        )
        .await;

    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let result = &body["result"];
    assert_eq!(result["cacheScope"], "private");
    assert_eq!(result["ttlMs"], 0);
    let employee = &result["tools"][0];
    assert_eq!(employee["name"], "workday_hcm_get_employee");
    assert_eq!(employee["title"], "workday.hcm.get_employee");
    assert_eq!(employee["annotations"], json!({"readOnlyHint": true}));
    assert_eq!(
        employee["_meta"],
        json!({"dev.scopegate/capability": "workday.hcm.get_employee"})
    );
    assert_eq!(
        employee["inputSchema"]["properties"]["employee_id"]["pattern"],
        "^EMP[0-9]{3,6}$"
    );
    assert!(
        employee["description"]
            .as_str()
            .unwrap()
            .starts_with("Look up one employee's Workday profile")
    );
    let update = &result["tools"][2];
    assert_eq!(update["name"], "workday_hcm_update_contact_info");
    assert_eq!(
        update["annotations"],
        json!({"readOnlyHint": false, "destructiveHint": true})
    );
}
