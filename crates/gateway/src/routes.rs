//! The HTTP routes of the actions API.

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tower_http::limit::RequestBodyLimitLayer;

use crate::auth;
use crate::capability::Capability;
use crate::pipeline::{self, IncomingCall};
use crate::request_id::{REQUEST_ID_HEADER, RequestId};
use crate::state::GatewayState;

/// The actions API: `GET /actions`, `GET|POST /actions/{system}/{action}`, `GET /healthz` and
/// `GET /readyz`.
pub fn router(state: GatewayState) -> Router {
    let limit = state.config().body_limit;
    Router::new()
        .route("/actions", get(list_capabilities))
        .route(
            "/actions/{system}/{action}",
            get(call_capability).post(call_capability),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        // tower-http refuses a declared oversized body at once; the pipeline enforces the
        // same limit on streamed bodies and answers those itself.
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(limit))
        .with_state(state)
}

async fn call_capability(
    State(state): State<GatewayState>,
    method: Method,
    Path((system, action)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let call = IncomingCall {
        method,
        system,
        action,
        query,
        headers,
        body,
    };
    pipeline::handle(state, call).await
}

/// The capabilities the caller's token could be allowed, with their schemas.
async fn list_capabilities(State(state): State<GatewayState>, headers: HeaderMap) -> Response {
    let request_id = RequestId::from_headers(&headers);
    let verified = match pipeline::authenticate(&state, &headers).await {
        Ok(verified) => verified,
        Err(error) => return error.to_response(&request_id),
    };
    let subject = match auth::subject(verified.claims()) {
        Ok(subject) => subject,
        Err(error) => return error.to_response(&request_id),
    };

    let policies = state.policies();
    let now = state.inner.clock.now().as_unix_seconds();
    let listed: Vec<Value> = state
        .capabilities()
        .iter()
        .filter(|c| policies.may_allow(&subject, c.name().as_str(), now))
        .map(|c| describe(c))
        .collect();
    let mut response = Json(json!({ "capabilities": listed })).into_response();
    if let Ok(value) = HeaderValue::from_str(request_id.as_str()) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

fn describe(capability: &Capability) -> Value {
    let name = capability.name();
    json!({
        "name": name.as_str(),
        "description": capability.description(),
        "input_schema": capability.input_schema(),
        "read_only": capability.read_only(),
        "destructive": capability.destructive(),
        "method": if capability.read_only() { "GET" } else { "POST" },
        "path": format!("/actions/{}/{}", name.system(), name.action()),
    })
}

/// Liveness: the process answers.
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: the issuer's keys can be had, a policy set is in force (always, since a reload
/// only swaps in a set that parsed) and the audit log is writable.
async fn readyz(State(state): State<GatewayState>) -> Response {
    let keys = state.inner.keys.refresh().await.is_ok();
    let audit = state.audit().healthy();
    let ready = keys && audit;
    let check = |ok: bool| if ok { "ok" } else { "failing" };
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "checks": { "keys": check(keys), "policies": "ok", "audit": check(audit) },
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}
