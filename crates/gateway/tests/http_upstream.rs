//! The HTTP upstream connector against a small local back end started by each test: what it
//! sends, and how upstream failures and timeouts are answered.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::Harness;
use scopegate_gateway::{CapabilityRegistry, GatewayConfig};
use scopegate_policy::PolicySet;
use serde_json::{Value, json};

const CAPABILITIES: &str = "
upstreams:
  - name: hr-core
    base_url: BASE
    timeout_ms: 300
    auth: { type: header, header: x-api-key, value_env: HR_CORE_KEY }
capabilities:
  - name: hr.people.lookup
    description: Look a person up in the HR core system.
    connector: hr-core
    read_only: true
    target_argument: employee_id
    input_schema:
      type: object
      additionalProperties: false
      properties:
        employee_id: { type: string, description: The employee id. }
  - name: hr.people.broken
    description: Always fails upstream.
    connector: hr-core
    read_only: true
    input_schema: { type: object, additionalProperties: false }
  - name: hr.people.slow
    description: Answers after the timeout.
    connector: hr-core
    read_only: true
    input_schema: { type: object, additionalProperties: false }
  - name: hr.people.verbatim
    description: Answers JSON laid out its own way.
    connector: hr-core
    read_only: true
    input_schema: { type: object, additionalProperties: false }
  - name: hr.people.garbled
    description: Answers 200 with a body that is not JSON.
    connector: hr-core
    read_only: true
    input_schema: { type: object, additionalProperties: false }
  - name: hr.people.silent
    description: Answers 200 with an empty body.
    connector: hr-core
    read_only: true
    input_schema: { type: object, additionalProperties: false }
";

const POLICIES: &str = "
policies:
  - name: employees-use-hr-core
    effect: allow
    capabilities: [hr.people.*]
    principals: { groups: [employees] }
    conditions: { acting_through: [mcp-server], required_scope: mcp:use }
";

/// An upstream answer whose key order and spacing a decode and re-encode would change.
const VERBATIM: &str = "{\"zeta\": 1, \"alpha\": [true, null]}";

/// Serves the back end on a free loopback port and returns its base URL.
async fn start_upstream() -> String {
    let app = Router::new()
        .route("/api/hr.people/lookup", post(echo))
        .route(
            "/api/hr.people/broken",
            post(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
        )
        .route("/api/hr.people/verbatim", post(|| async { VERBATIM }))
        .route(
            "/api/hr.people/garbled",
            post(|| async { "{\"name\": \"Sam\"} trailing" }),
        )
        .route("/api/hr.people/silent", post(|| async { StatusCode::OK }))
        .route(
            "/api/hr.people/slow",
            post(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                Json(json!({}))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}/api")
}

async fn echo(headers: HeaderMap, Json(body): Json<Value>) -> Json<Value> {
    let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    Json(json!({
        "api_key": header("x-api-key"),
        "subject": header("x-scopegate-subject"),
        "actor": header("x-scopegate-actor"),
        "request_id": header("x-request-id"),
        "authorization": header("authorization"),
        "arguments": body,
    }))
}

fn harness(base: &str) -> Harness {
    let text = CAPABILITIES.replace("BASE", base);
    let secrets = |name: &str| (name == "HR_CORE_KEY").then(|| "k-123".to_owned());
    Harness::build(GatewayConfig::default(), |mut parts| {
        parts.capabilities = CapabilityRegistry::parse(&text, "caps.yaml", &secrets).unwrap();
        parts.policies =
            PolicySet::parse(POLICIES, "policies.yaml", &parts.capabilities.names()).unwrap();
        parts
    })
}

#[tokio::test]
async fn allowed_call_is_forwarded_with_the_service_credential_and_the_callers_identity() {
    let harness = harness(&start_upstream().await);
    let token = harness.mint(&harness.obo_claims("EMP001", &["employees"]));

    let answer = harness.get("/actions/hr.people/lookup", &token).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.body,
        json!({
            "api_key": "k-123",
            "subject": "EMP001",
            "actor": "mcp-server",
            "request_id": answer.header("x-request-id").unwrap(),
            "authorization": null,
            "arguments": { "employee_id": "EMP001" },
        })
    );
    assert_eq!(harness.last_record()["result"], "success");
}

#[tokio::test]
async fn upstream_failure_is_a_502_naming_the_connector() {
    let harness = harness(&start_upstream().await);
    let token = harness.mint(&harness.obo_claims("EMP001", &["employees"]));

    let answer = harness.get("/actions/hr.people/broken", &token).await;

    assert_eq!(answer.status, StatusCode::BAD_GATEWAY);
    assert_eq!(answer.body["error"], "upstream_error");
    assert_eq!(
        answer.body["error_description"],
        "upstream `hr-core` answered HTTP 500"
    );
    let record = harness.last_record();
    assert_eq!(record["result"], "error");
    assert_eq!(record["http_status"], 502);
}

#[tokio::test]
async fn an_upstream_answer_is_passed_on_byte_for_byte() {
    let harness = harness(&start_upstream().await);
    let token = harness.mint(&harness.obo_claims("EMP001", &["employees"]));

    let answer = harness.get("/actions/hr.people/verbatim", &token).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.raw, VERBATIM.as_bytes());
    assert_eq!(answer.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn an_upstream_body_that_is_not_json_is_a_502_and_an_empty_one_an_empty_object() {
    let harness = harness(&start_upstream().await);
    let token = harness.mint(&harness.obo_claims("EMP001", &["employees"]));

    let garbled = harness.get("/actions/hr.people/garbled", &token).await;
    let silent = harness.get("/actions/hr.people/silent", &token).await;

    assert_eq!(garbled.status, StatusCode::BAD_GATEWAY);
    assert_eq!(garbled.body["error"], "upstream_error");
    let description = garbled.body["error_description"].as_str().unwrap();
    assert!(description.contains("not JSON"), "{description}");
    assert_eq!(
        (silent.status, silent.raw.as_slice()),
        (StatusCode::OK, &b"{}"[..])
    );
}

#[tokio::test]
async fn slow_upstream_is_a_504_after_the_timeout() {
    let harness = harness(&start_upstream().await);
    let token = harness.mint(&harness.obo_claims("EMP001", &["employees"]));
    let started = std::time::Instant::now();

    let answer = harness.get("/actions/hr.people/slow", &token).await;

    assert_eq!(answer.status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(answer.body["error"], "upstream_timeout");
    assert_eq!(
        answer.body["error_description"],
        "upstream `hr-core` did not answer within 300 ms"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn unreachable_upstream_is_a_502() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/api", listener.local_addr().unwrap());
    drop(listener);
    let harness = harness(&base);
    let token = harness.mint(&harness.obo_claims("EMP001", &["employees"]));

    let answer = harness.get("/actions/hr.people/lookup", &token).await;

    assert_eq!(answer.status, StatusCode::BAD_GATEWAY);
    assert_eq!(
        answer.body["error_description"],
        "upstream `hr-core` could not be reached"
    );
}
