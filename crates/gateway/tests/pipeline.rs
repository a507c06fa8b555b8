//! Router-level tests of every step of the enforcement pipeline: exact status, headers, body,
//! and the audit record each decision leaves.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{API, Harness, ISSUER, MCP, NOW, at, audience, minutes, scopes};
use std::sync::Arc;

use scopegate_audit::{AuditLog, Faults, MemoryStorage, WriterConfig};
use scopegate_gateway::{
    CapabilityRegistry, ClientSecret, GatewayConfig, GatewayParts, GatewayState,
    IntrospectionConfig,
};
use scopegate_token::testing::TestIssuer;
use scopegate_token::{Actor, Algorithm, KeySource, ManualClock};
use serde_json::json;

const GET_EMPLOYEE: &str = "/actions/workday.hcm/get_employee";
const GET_PAY: &str = "/actions/workday.payroll/get_compensation";
const UPDATE_CONTACT: &str = "/actions/workday.hcm/update_contact_info";
const LIST_REPORTS: &str = "/actions/workday.hcm/list_direct_reports";

// Step 1: the bearer token.

#[tokio::test]
async fn request_without_credentials_gets_a_bare_bearer_challenge() {
    let harness = Harness::new();
    let request = Request::get(GET_EMPLOYEE).body(Body::empty()).unwrap();

    let answer = harness.send(request).await;

    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
    assert_eq!(answer.body["error"], "unauthorized");
    assert_eq!(
        answer.body["error_description"],
        "this request needs a bearer access token"
    );
    let record = harness.last_record();
    assert_eq!(record["event_type"], "capability.decision");
    assert_eq!(record["capability"], "workday.hcm.get_employee");
    assert_eq!(record["result"], "refused");
    assert_eq!(record["http_status"], 401);
    assert!(record.get("actor").is_none());
}

#[tokio::test]
async fn basic_credentials_are_not_bearer_credentials() {
    let harness = Harness::new();
    let request = Request::get(GET_EMPLOYEE)
        .header("authorization", "Basic dXNlcjpwYXNz")
        .body(Body::empty())
        .unwrap();

    let answer = harness.send(request).await;

    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
}

#[tokio::test]
async fn repeated_authorization_header_is_a_bad_request() {
    let harness = Harness::new();
    let token = harness.mint(&harness.obo_claims("EMP001", &["employees"]));
    let request = Request::get(GET_EMPLOYEE)
        .header("authorization", format!("Bearer {token}"))
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();

    let answer = harness.send(request).await;

    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.header("www-authenticate"),
        Some(
            "Bearer error=\"invalid_request\", error_description=\"the Authorization header is \
             repeated\""
        )
    );
}

#[tokio::test]
async fn malformed_token_is_invalid_token() {
    let harness = Harness::new();

    let answer = harness.get(GET_EMPLOYEE, "not-a-jwt").await;

    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    let description = answer.body["error_description"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(answer.body["error"], "invalid_token");
    assert_eq!(
        answer.header("www-authenticate").unwrap(),
        format!("Bearer error=\"invalid_token\", error_description=\"{description}\"")
    );
}

#[tokio::test]
async fn token_signed_by_another_key_is_invalid_token() {
    let harness = Harness::new();
    let impostor = TestIssuer::new(ISSUER, Algorithm::Es256);
    let token = impostor.mint(&harness.obo_claims("EMP001", &["employees"]));

    let answer = harness.get(GET_EMPLOYEE, &token).await;

    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.body["error"], "invalid_token");
    assert_eq!(
        answer.body["error_description"],
        format!("issuer `{ISSUER}` has no key `{}`", impostor.kid())
    );
}

#[tokio::test]
async fn tampered_payload_fails_the_signature_check() {
    let harness = Harness::new();
    let token = harness.mint(&harness.obo_claims("EMP001", &["employees"]));
    let other = harness.mint(&harness.obo_claims("EMP020", &["employees", "hr-admins"]));
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[1] = other.split('.').nth(1).unwrap();

    let answer = harness.get(GET_EMPLOYEE, &parts.join(".")).await;

    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.body["error_description"],
        format!(
            "signature does not verify with key `{}`",
            harness.issuer.kid()
        )
    );
}

#[tokio::test]
async fn token_of_another_issuer_is_invalid_token() {
    let harness = Harness::new();
    let stranger = TestIssuer::new("https://idp.example", Algorithm::Es256);
    let mut claims = harness.obo_claims("EMP001", &["employees"]);
    claims.iss = "https://idp.example".to_owned();

    let answer = harness.get(GET_EMPLOYEE, &stranger.mint(&claims)).await;

    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.body["error_description"],
        "issuer `https://idp.example` is not trusted"
    );
}

#[tokio::test]
async fn expired_token_is_invalid_token() {
    let harness = Harness::new();
    let token = harness.mint(&harness.obo_claims("EMP001", &["employees"]));
    harness.clock.advance(minutes(10));

    let answer = harness.get(GET_EMPLOYEE, &token).await;

    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.header("www-authenticate"),
        Some(
            "Bearer error=\"invalid_token\", error_description=\"token expired at \
             2026-01-28T10:33:00Z (now 2026-01-28T10:38:00Z)\""
        )
    );
}

// Step 2: the token-kind gate.

#[tokio::test]
async fn mcp_token_used_directly_is_refused_with_the_design_note_message() {
    let harness = Harness::new();
    let token = harness.mint(&harness.mcp_claims());

    let answer = harness.get(GET_EMPLOYEE, &token).await;

    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        answer.header("www-authenticate"),
        Some(
            "Bearer error=\"insufficient_scope\", error_description=\"Token scope 'mcp:use' not \
             valid for direct API access\""
        )
    );
    assert_eq!(
        answer.body,
        json!({
            "error": "insufficient_scope",
            "error_description": "Token scope 'mcp:use' not valid for direct API access",
            "request_id": answer.header("x-request-id").unwrap(),
        })
    );
    let record = harness.last_record();
    assert_eq!(record["actor"], "EMP001");
    assert_eq!(record["result"], "denied");
    assert_eq!(record["http_status"], 403);
    assert_eq!(
        record["reasons"],
        json!(["Token scope 'mcp:use' not valid for direct API access"])
    );
}

#[tokio::test]
async fn mcp_token_through_an_unregistered_actor_is_refused_at_the_gate() {
    let harness = Harness::new();
    let mut claims = harness.obo_claims("EMP001", &["employees"]);
    claims.act = Some(Actor::new("rogue-agent"));

    let answer = harness.get(GET_EMPLOYEE, &harness.mint(&claims)).await;

    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.body["error"], "insufficient_scope");
}

#[tokio::test]
async fn only_the_outermost_actor_counts_at_the_gate() {
    let harness = Harness::new();
    let mut claims = harness.obo_claims("EMP001", &["employees"]);
    claims.act = Some(Actor::in_front_of(
        "rogue-agent",
        Some(Actor::new("mcp-server")),
    ));

    let answer = harness.get(GET_EMPLOYEE, &harness.mint(&claims)).await;

    assert_eq!(answer.status, StatusCode::FORBIDDEN);
}

// Step 3: the audience.

#[tokio::test]
async fn on_behalf_of_token_for_another_audience_is_invalid_token() {
    let harness = Harness::new();
    let mut claims = harness.obo_claims("EMP001", &["employees"]);
    claims.aud = audience(MCP);

    let answer = harness.get(GET_EMPLOYEE, &harness.mint(&claims)).await;

    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.header("www-authenticate"),
        Some(
            "Bearer error=\"invalid_token\", error_description=\"the token's audience does not \
             include this API (`http://127.0.0.1:8000`)\""
        )
    );
    assert_eq!(harness.last_record()["actor"], "EMP001");
}

// Step 4: capability, arguments, policy.

#[tokio::test]
async fn unknown_capability_is_not_found() {
    let harness = Harness::new();
    let token = harness.mint(&harness.obo_claims("EMP001", &["employees"]));

    let answer = harness
        .get("/actions/workday.hcm/fire_employee", &token)
        .await;

    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.body["error"], "unknown_capability");
    assert_eq!(
        answer.body["error_description"],
        "no capability `workday.hcm.fire_employee`"
    );
}

#[tokio::test]
async fn write_capability_refuses_get() {
    let harness = Harness::new();
    let token = harness.mint(&harness.obo_claims("EMP001", &["employees"]));

    let answer = harness
        .get(&format!("{UPDATE_CONTACT}?work_phone=%2B1"), &token)
        .await;

    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.header("allow"), Some("POST"));
}

#[tokio::test]
async fn argument_violating_the_schema_names_the_field() {
    let harness = Harness::new();
    let token = harness.mint(&harness.obo_claims("EMP001", &["employees"]));

    let answer = harness
        .get(&format!("{GET_EMPLOYEE}?employee_id=bob"), &token)
        .await;

    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.body["error"], "invalid_request");
    assert_eq!(answer.body["field"], "employee_id");
    assert_eq!(
        answer.body["error_description"],
        "argument `employee_id`: the value does not match \"^EMP[0-9]{3,6}$\""
    );
    assert_eq!(harness.last_record()["result"], "refused");
}

#[tokio::test]
async fn unknown_argument_is_refused_before_policy() {
    let harness = Harness::new();
    let token = harness.mint(&harness.obo_claims("EMP001", &["employees"]));

    let answer = harness
        .get(&format!("{GET_EMPLOYEE}?salary=1"), &token)
        .await;

    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.body["field"], "salary");
    assert_eq!(
        answer.body["error_description"],
        "unknown argument `salary`"
    );
}

#[tokio::test]
async fn repeated_query_parameter_is_refused() {
    let harness = Harness::new();
    let token = harness.mint(&harness.obo_claims("EMP001", &["employees"]));

    let answer = harness
        .get(
            &format!("{GET_EMPLOYEE}?employee_id=EMP001&employee_id=EMP002"),
            &token,
        )
        .await;

    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.body["error_description"],
        "query parameter `employee_id` is repeated"
    );
}

#[tokio::test]
async fn access_token_in_the_query_string_is_refused() {
    let harness = Harness::new();
    let token = harness.mint(&harness.obo_claims("EMP001", &["employees"]));

    let answer = harness
        .get(&format!("{GET_EMPLOYEE}?access_token=x"), &token)
        .await;

    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.body["error_description"],
        "access tokens are accepted in the Authorization header only, never in the URL"
    );
}

#[tokio::test]
async fn write_without_any_contact_field_is_refused() {
    let harness = Harness::new();
    let token = harness.mint(&harness.obo_claims("EMP001", &["employees"]));

    let answer = harness.post(UPDATE_CONTACT, &token, &json!({})).await;

    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.body["error_description"],
        "the arguments match none of the accepted combinations"
    );
}

#[tokio::test]
async fn body_that_is_not_an_object_is_refused() {
    let harness = Harness::new();
    let token = harness.mint(&harness.obo_claims("EMP001", &["employees"]));

    let answer = harness
        .post(UPDATE_CONTACT, &token, &json!(["work_phone"]))
        .await;

    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.body["error_description"],
        "the request body must be a JSON object: found an array"
    );
}

#[tokio::test]
async fn oversized_body_is_refused() {
    let harness = Harness::new();
    let token = harness.mint(&harness.obo_claims("EMP001", &["employees"]));
    let huge = json!({ "home_address": "x".repeat(100 * 1024) });

    let answer = harness.post(UPDATE_CONTACT, &token, &huge).await;

    assert_eq!(
        answer.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{:?}",
        answer.body
    );
    assert_eq!(
        answer.body["error_description"],
        "the request body exceeds 65536 bytes"
    );
}

#[tokio::test]
async fn policy_denial_is_403_with_reasons() {
    let harness = Harness::new();
    let token = harness.mint(&harness.obo_claims("EMP001", &["employees"]));

    let answer = harness
        .get(&format!("{GET_EMPLOYEE}?employee_id=EMP005"), &token)
        .await;

    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.header("www-authenticate"), None);
    let reasons = json!([
        "the target is someone other than the caller or their direct reports; \
         `employee-self-service` allows `target: self` only",
        "`manager-team-view` applies to the groups `managers`; the caller is in none of them",
        "`hr-admin-read` applies to the groups `hr-admins`; the caller is in none of them",
        "`hr-console-read` applies to the groups `hr-admins`; the caller is in none of them",
        "`directory-sync-read` applies to SERVICE principals; the caller is HUMAN",
        "`directory-sync-read` applies to listed subjects only, and `EMP001` is not one",
    ]);
    assert_eq!(answer.body["error"], "access_denied");
    assert_eq!(answer.body["reasons"], reasons);
    assert_eq!(answer.body["policies"], json!([]));
    let record = harness.last_record();
    assert_eq!(record["result"], "denied");
    assert_eq!(record["reasons"], reasons);
    assert_eq!(record["http_status"], 403);
}

#[tokio::test]
async fn stale_login_gets_a_step_up_challenge() {
    let harness = Harness::new();
    let mut claims = harness.obo_claims("EMP001", &["employees"]);
    claims.auth_time = Some(at(NOW - 3600));

    let answer = harness.get(GET_PAY, &harness.mint(&claims)).await;

    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.header("www-authenticate"),
        Some(
            "Bearer error=\"insufficient_user_authentication\", error_description=\"a more \
             recent login is required\", max_age=\"300\", acr_values=\"urn:okta:loa:2fa:any\""
        )
    );
    assert_eq!(answer.body["error"], "insufficient_user_authentication");
    assert_eq!(answer.body["max_age"], 300);
    assert_eq!(answer.body["acr_values"], json!(["urn:okta:loa:2fa:any"]));
    assert_eq!(answer.body["policies"], json!(["employee-self-service"]));
    assert_eq!(
        answer.body["reasons"],
        json!([
            "auth_time 2026-01-28T09:28:00Z is 3600 s old; `payroll-fresh-mfa` requires at \
                most 300 s"
        ])
    );
    let record = harness.last_record();
    assert_eq!(record["result"], "step_up");
    assert_eq!(record["policy_matched"], "employee-self-service");
}

#[tokio::test]
async fn single_factor_login_gets_a_multi_factor_challenge() {
    let harness = Harness::new();
    let mut claims = harness.obo_claims("EMP001", &["employees"]);
    claims.amr = vec!["pwd".to_owned()];
    claims.acr = None;

    let answer = harness.get(GET_PAY, &harness.mint(&claims)).await;

    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.body["error_description"],
        "a multi-factor login is required"
    );
    assert_eq!(harness.last_record()["mfa_verified"], false);
}

// Step 5: the connector, and what is recorded.

#[tokio::test]
async fn own_profile_is_returned_and_recorded_field_by_field() {
    let harness = Harness::new();
    let token = harness.mint(&harness.obo_claims("EMP001", &["employees"]));
    let request = Request::get(GET_EMPLOYEE)
        .header("authorization", format!("Bearer {token}"))
        .header("x-request-id", "chat-42.tool:1")
        .body(Body::empty())
        .unwrap();

    let answer = harness.send(request).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header("x-request-id"), Some("chat-42.tool:1"));
    assert_eq!(answer.body["employee_id"], "EMP001");
    assert_eq!(answer.body["name"], "Alex Chen");
    assert_eq!(answer.body["manager"]["name"], "Maria Santos");
    let record = harness.last_record();
    assert_eq!(record["event_type"], "capability.decision");
    assert_eq!(record["request_id"], "chat-42.tool:1");
    assert_eq!(record["actor"], "EMP001");
    assert_eq!(record["acting_through"], "mcp-server");
    assert_eq!(record["client_id"], "mcp-server");
    assert_eq!(record["token_type"], "exchanged");
    assert_eq!(record["token_id"], "obo-EMP001");
    assert_eq!(record["original_token_id"], "login-EMP001");
    assert_eq!(record["token_issued_at"], "2026-01-28T10:28:00Z");
    assert_eq!(record["token_expires_at"], "2026-01-28T10:33:00Z");
    assert_eq!(record["token_ttl_seconds"], 300);
    assert_eq!(record["mfa_verified"], true);
    assert_eq!(record["auth_time"], "2026-01-28T10:27:00Z");
    assert_eq!(record["audience"], json!([API]));
    assert_eq!(record["scope"], json!(["mcp:use"]));
    assert_eq!(record["capability"], "workday.hcm.get_employee");
    assert_eq!(record["policy_matched"], "employee-self-service");
    assert_eq!(record["result"], "success");
    assert_eq!(record["http_status"], 200);
    assert!(record["latency_ms"].is_u64());
    let log = String::from_utf8(harness.storage.contents()).unwrap();
    assert!(!log.contains(&token));
    assert!(!log.contains(token.split('.').nth(2).unwrap()));
}

#[tokio::test]
async fn malformed_request_id_is_replaced() {
    let harness = Harness::new();
    let token = harness.mint(&harness.obo_claims("EMP001", &["employees"]));
    let request = Request::get(GET_EMPLOYEE)
        .header("authorization", format!("Bearer {token}"))
        .header("x-request-id", "spaces are not allowed")
        .body(Body::empty())
        .unwrap();

    let answer = harness.send(request).await;

    let id = answer.header("x-request-id").unwrap();
    assert_ne!(id, "spaces are not allowed");
    assert_eq!(id.len(), 36);
    assert_eq!(harness.last_record()["request_id"], id);
}

#[tokio::test]
async fn manager_reads_a_direct_reports_profile() {
    let harness = Harness::new();
    let token = harness.mint(&harness.obo_claims("EMP010", &["employees", "managers"]));

    let answer = harness
        .get(&format!("{GET_EMPLOYEE}?employee_id=EMP002"), &token)
        .await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["name"], "Priya Natarajan");
    assert_eq!(harness.last_record()["policy_matched"], "manager-team-view");
}

#[tokio::test]
async fn manager_lists_own_reports_without_naming_themselves() {
    let harness = Harness::new();
    let token = harness.mint(&harness.obo_claims("EMP010", &["employees", "managers"]));

    let answer = harness.get(LIST_REPORTS, &token).await;

    assert_eq!(answer.status, StatusCode::OK);
    let ids: Vec<&str> = answer.body["direct_reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["employee_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["EMP001", "EMP002", "EMP003", "EMP004"]);
}

#[tokio::test]
async fn fresh_mfa_login_reads_own_pay() {
    let harness = Harness::new();
    let token = harness.mint(&harness.obo_claims("EMP001", &["employees"]));

    let answer = harness.get(GET_PAY, &token).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["currency"], "USD");
    assert_eq!(answer.body["base_salary"], 148_000);
    assert_eq!(
        harness.last_record()["policy_matched"],
        "employee-self-service"
    );
}

#[tokio::test]
async fn hr_administrator_gets_not_found_for_an_unknown_employee() {
    let harness = Harness::new();
    let token = harness.mint(&harness.obo_claims("EMP020", &["employees", "hr-admins"]));

    let answer = harness
        .get(&format!("{GET_EMPLOYEE}?employee_id=EMP999"), &token)
        .await;

    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.body["error"], "not_found");
    assert_eq!(
        answer.body["error_description"],
        "no employee record for employee `EMP999`"
    );
    assert_eq!(harness.last_record()["result"], "error");
}

#[tokio::test]
async fn contact_change_persists_and_is_recorded() {
    let harness = Harness::new();
    let token = harness.mint(&harness.obo_claims("EMP001", &["employees"]));
    let change = json!({ "work_phone": "+1 415 555 0199", "personal_email": "alex@example.org" });

    let answer = harness.post(UPDATE_CONTACT, &token, &change).await;
    let profile = harness.get(GET_EMPLOYEE, &token).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.body["updated"],
        json!(["work_phone", "personal_email"])
    );
    assert_eq!(profile.body["work_phone"], "+1 415 555 0199");
    assert_eq!(profile.body["personal_email"], "alex@example.org");
    let records = harness.records();
    let write = &records[records.len() - 2];
    assert_eq!(write["capability"], "workday.hcm.update_contact_info");
    assert_eq!(write["result"], "success");
    assert_eq!(write["policy_matched"], "employee-contact-update");
}

#[tokio::test]
async fn broken_audit_log_fails_closed_without_calling_the_connector() {
    let harness = Harness::new();
    let token = harness.mint(&harness.obo_claims("EMP001", &["employees"]));
    harness.storage.set_faults(Faults {
        sync: true,
        ..Faults::default()
    });

    let first = harness.get(GET_EMPLOYEE, &token).await;
    let write = harness
        .post(
            UPDATE_CONTACT,
            &token,
            &json!({ "work_phone": "+1 415 555 0111" }),
        )
        .await;
    harness.storage.set_faults(Faults::default());
    let after = harness.get(GET_EMPLOYEE, &token).await;
    let recovered = harness.get(GET_EMPLOYEE, &token).await;

    assert_eq!(first.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(first.header("retry-after"), Some("1"));
    assert_eq!(first.body["error"], "temporarily_unavailable");
    assert_eq!(
        first.body["error_description"],
        "the audit log is unavailable; try again shortly"
    );
    assert!(first.body.get("employee_id").is_none());
    assert_eq!(write.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(after.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(recovered.status, StatusCode::OK);
    assert_eq!(recovered.body["work_phone"], "+1 415 555 0103");
}

// Listing, health and reload.

#[tokio::test]
async fn listing_shows_only_what_the_caller_could_be_allowed() {
    let harness = Harness::new();
    let token = harness.mint(&harness.obo_claims("EMP001", &["employees"]));

    let answer = harness.get("/actions", &token).await;

    assert_eq!(answer.status, StatusCode::OK);
    let names: Vec<&str> = answer.body["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "workday.hcm.get_employee",
            "workday.payroll.get_compensation",
            "workday.hcm.update_contact_info"
        ]
    );
    let first = &answer.body["capabilities"][0];
    assert_eq!(first["path"], "/actions/workday.hcm/get_employee");
    assert_eq!(first["method"], "GET");
    assert_eq!(first["input_schema"]["additionalProperties"], false);
}

#[tokio::test]
async fn listing_applies_the_token_kind_gate() {
    let harness = Harness::new();
    let token = harness.mint(&harness.mcp_claims());

    let answer = harness.get("/actions", &token).await;

    assert_eq!(answer.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn health_and_readiness_answer_ok() {
    let harness = Harness::new();

    let live = harness
        .send(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    let ready = harness
        .send(Request::get("/readyz").body(Body::empty()).unwrap())
        .await;

    assert_eq!(live.status, StatusCode::OK);
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(
        ready.body,
        json!({"status": "ready", "checks": {"keys": "ok", "policies": "ok", "audit": "ok"}})
    );
}

#[tokio::test]
async fn readiness_fails_while_the_audit_log_is_broken() {
    let harness = Harness::new();
    let token = harness.mint(&harness.obo_claims("EMP001", &["employees"]));
    harness.storage.set_faults(Faults {
        sync: true,
        ..Faults::default()
    });
    let _ = harness.get(GET_EMPLOYEE, &token).await;

    let ready = harness
        .send(Request::get("/readyz").body(Body::empty()).unwrap())
        .await;

    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.body["checks"]["audit"], "failing");
}

#[tokio::test]
async fn bad_policy_reload_keeps_the_old_set() {
    let harness = Harness::new();
    let token = harness.mint(&harness.obo_claims("EMP001", &["employees"]));

    let error = harness
        .state
        .reload_policies("policies: [{ name: x }]", "new.yaml")
        .unwrap_err();
    let answer = harness.get(GET_EMPLOYEE, &token).await;

    assert_eq!(error.origin(), "new.yaml");
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn policy_reload_takes_effect_for_the_next_call() {
    let harness = Harness::new();
    let token = harness.mint(&harness.obo_claims("EMP001", &["employees"]));
    let deny_all = "
policies:
  - name: maintenance-freeze
    effect: deny
    capabilities: [workday.*]
";

    harness
        .state
        .reload_policies(deny_all, "freeze.yaml")
        .unwrap();
    let answer = harness.get(GET_EMPLOYEE, &token).await;

    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.body["policies"], json!(["maintenance-freeze"]));
}

#[tokio::test]
async fn direct_hr_console_token_reads_anyone() {
    let harness = Harness::new();
    let mut claims = harness.obo_claims("EMP020", &["employees", "hr-admins"]);
    claims.act = None;
    claims.original_token_id = None;
    claims.client_id = "hr-console".to_owned();
    claims.scope = scopes("hr:read");

    let answer = harness
        .get(
            &format!("{GET_EMPLOYEE}?employee_id=EMP005"),
            &harness.mint(&claims),
        )
        .await;

    assert_eq!(answer.status, StatusCode::OK);
    let record = harness.last_record();
    assert_eq!(record["token_type"], "original");
    assert!(record.get("acting_through").is_none());
    assert_eq!(record["policy_matched"], "hr-console-read");
}

#[tokio::test]
async fn post_with_a_query_string_is_refused() {
    let harness = Harness::new();
    let token = harness.mint(&harness.obo_claims("EMP001", &["employees"]));

    let answer = harness
        .post(
            &format!("{UPDATE_CONTACT}?work_phone=x"),
            &token,
            &json!({ "work_phone": "+1 415 555 0100" }),
        )
        .await;

    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.body["error_description"],
        "arguments of a POST go in the JSON body, not the query string"
    );
}

#[tokio::test]
async fn unreachable_introspection_endpoint_fails_closed() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!(
        "http://{}/oauth2/v1/introspect",
        closed.local_addr().unwrap()
    );
    drop(closed);
    let config = GatewayConfig {
        introspection: Some(IntrospectionConfig {
            endpoint,
            client_id: "actions-api".to_owned(),
            client_secret: ClientSecret::new("secret"),
            timeout: std::time::Duration::from_secs(1),
            cache_ttl: std::time::Duration::from_secs(5),
            all_capabilities: true,
        }),
        ..GatewayConfig::default()
    };
    let harness = Harness::with_config(config);
    let token = harness.mint(&harness.obo_claims("EMP001", &["employees"]));

    let answer = harness.get(GET_EMPLOYEE, &token).await;

    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.header("retry-after"), Some("1"));
    assert_eq!(
        answer.body["error_description"],
        "the token's revocation status cannot be checked; try again shortly"
    );
}

#[tokio::test]
async fn capability_needing_introspection_without_an_endpoint_is_refused_at_startup() {
    let text = scopegate_gateway::DEFAULT_CAPABILITIES.replace(
        "    target_argument: employee_id\n    input_schema:",
        "    target_argument: employee_id\n    revocation_check: introspect\n    input_schema:",
    );
    let capabilities = CapabilityRegistry::parse(&text, "caps.yaml", &|_| None).unwrap();
    let issuer = TestIssuer::new(ISSUER, Algorithm::Es256);
    let audit = AuditLog::with_storage(MemoryStorage::new(), WriterConfig::default()).unwrap();
    let clock = Arc::new(ManualClock::new(at(NOW)));
    let keys: Arc<dyn KeySource> = Arc::new(issuer.keys());
    let mut parts =
        GatewayParts::with_defaults(GatewayConfig::default(), keys, clock, audit).unwrap();
    parts.capabilities = capabilities;

    let error = GatewayState::new(parts).unwrap_err();

    assert_eq!(
        error.to_string(),
        "capability `workday.hcm.get_employee` needs an online revocation check \
         (`revocation_check: introspect` or a policy with `token_active`), but no introspection \
         endpoint is configured"
    );
}

#[tokio::test]
async fn a_policy_requiring_an_active_token_without_an_endpoint_is_refused_at_startup() {
    let text = format!(
        "{}\n  - name: live-tokens-only\n    effect: allow\n    capabilities: \
         [workday.hcm.list_direct_reports]\n    conditions:\n      token_active: true\n",
        scopegate_policy::DEFAULT_POLICIES.trim_end()
    );
    let issuer = TestIssuer::new(ISSUER, Algorithm::Es256);
    let audit = AuditLog::with_storage(MemoryStorage::new(), WriterConfig::default()).unwrap();
    let clock = Arc::new(ManualClock::new(at(NOW)));
    let keys: Arc<dyn KeySource> = Arc::new(issuer.keys());
    let mut parts =
        GatewayParts::with_defaults(GatewayConfig::default(), keys, clock, audit).unwrap();
    parts.policies =
        scopegate_policy::PolicySet::parse(&text, "p.yaml", &parts.capabilities.names()).unwrap();

    let error = GatewayState::new(parts).unwrap_err();

    assert!(
        error
            .to_string()
            .starts_with("capability `workday.hcm.list_direct_reports` needs an online"),
        "{error}"
    );
}
