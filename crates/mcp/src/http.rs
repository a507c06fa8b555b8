//! The HTTP surface: the MCP endpoint behind the bearer-token gate, the protected resource
//! metadata (RFC 9728) outside it, and health checks.
//!
//! The MCP endpoint is rmcp's Streamable HTTP service in stateless mode (every request stands
//! alone, so replicas need no sticky sessions), answering with plain JSON where it can and
//! checking `Host` and `Origin` against the configured lists (DNS-rebinding protection).

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CACHE_CONTROL;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{Value, json};

use crate::auth;
use crate::config::{REQUIRED_SCOPE, WELL_KNOWN};
use crate::handler::McpHandler;
use crate::request_body::{self, MAX_REQUEST_BODY_BYTES};
use crate::state::McpState;

/// The path the MCP endpoint is served at.
pub const MCP_PATH: &str = "/mcp";

/// The display name in the protected resource metadata.
const RESOURCE_NAME: &str = "scopegate MCP server";

/// The MCP server: `POST /mcp` (bearer token required), the protected resource metadata at
/// `/.well-known/oauth-protected-resource` and its path-inserted form, `GET /healthz` and
/// `GET /readyz`.
///
/// Logs at INFO what it accepts: the resource, the metadata URL and the allowed hosts and
/// origins.
pub fn router(state: McpState) -> Router {
    let config = &state.inner.config;
    tracing::info!(
        resource = %state.inner.resource.as_str(),
        metadata = %state.inner.metadata_url,
        issuer = %config.issuer,
        allowed_hosts = ?config.allowed_hosts,
        allowed_origins = ?config.allowed_origins,
        tools = state.inner.tools.len(),
        "MCP endpoint configured; requests with another Host, or an Origin not listed, get 403"
    );

    let transport = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_allowed_hosts(config.allowed_hosts.clone())
        .with_allowed_origins(config.allowed_origins.clone())
        .with_max_request_body_bytes(MAX_REQUEST_BODY_BYTES)
        .enforce_origin_validation();
    let handler_state = state.clone();
    let mcp = StreamableHttpService::new(
        move || Ok(McpHandler::http(handler_state.clone())),
        Arc::new(NeverSessionManager::default()),
        transport,
    );
    // The token is checked first, so a request without one is refused before its body is read.
    let protected = Router::new()
        .route_service(MCP_PATH, mcp)
        .route_layer(from_fn(request_body::read_whole))
        .route_layer(from_fn_with_state(state.clone(), auth::require_bearer));

    let mut router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    for path in metadata_paths(state.inner.resource.path()) {
        router = router.route(&path, get(protected_resource_metadata));
    }
    router.merge(protected).with_state(state)
}

/// The root form and the path-inserted forms (RFC 9728 §3.1) for the configured resource path
/// and for `/mcp`; a path with characters a route cannot hold is served at the root form only.
fn metadata_paths(resource_path: &str) -> BTreeSet<String> {
    let mut paths = BTreeSet::from([WELL_KNOWN.to_owned(), format!("{WELL_KNOWN}{MCP_PATH}")]);
    let trimmed = resource_path.trim_end_matches('/');
    let routable = trimmed
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._~-".contains(&b));
    if routable && !trimmed.is_empty() && !trimmed.contains("//") {
        paths.insert(format!("{WELL_KNOWN}{trimmed}"));
    }
    paths
}

/// RFC 9728 §2: the protected resource metadata document.
async fn protected_resource_metadata(State(state): State<McpState>) -> Response {
    let document = json!({
        "resource": state.inner.resource.as_str(),
        "authorization_servers": [state.inner.config.issuer],
        "scopes_supported": [REQUIRED_SCOPE],
        "bearer_methods_supported": ["header"],
        "resource_name": RESOURCE_NAME,
    });
    ([(CACHE_CONTROL, "max-age=300")], Json(document)).into_response()
}

/// Liveness: the process answers.
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: the issuer's keys can be had and the audit log is writable.
async fn readyz(State(state): State<McpState>) -> Response {
    let keys = state.inner.keys.refresh().await.is_ok();
    let audit = state.inner.audit.healthy();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_served_at_the_root_and_path_inserted_forms() {
        assert_eq!(
            metadata_paths("/mcp").into_iter().collect::<Vec<_>>(),
            [
                "/.well-known/oauth-protected-resource",
                "/.well-known/oauth-protected-resource/mcp",
            ]
        );
        assert_eq!(
            metadata_paths("/public/mcp/")
                .into_iter()
                .collect::<Vec<_>>(),
            [
                "/.well-known/oauth-protected-resource",
                "/.well-known/oauth-protected-resource/mcp",
                "/.well-known/oauth-protected-resource/public/mcp",
            ]
        );
        assert_eq!(metadata_paths("/{x}").len(), 2);
    }
}
