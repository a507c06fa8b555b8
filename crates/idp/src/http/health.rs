//! `/healthz` (the process answers) and `/readyz` (it can issue: a key is published and the
//! audit log is writable), for load balancers and `scopegate up`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::state::IdpState;

/// Liveness: the process answers.
pub(super) async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: a signing key is published and the audit log is writable. Tokens are never
/// issued without their audit record, so an unwritable log means not ready.
pub(super) async fn readyz(State(state): State<IdpState>) -> Response {
    let keys = !state.keys().jwks().keys().is_empty();
    let audit = state.audit_healthy();
    let ready = keys && audit;
    let check = |ok: bool| if ok { "ok" } else { "failing" };
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "checks": { "keys": check(keys), "audit": check(audit) },
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}
