//! The MCP request handler: `initialize` (or `server/discover`), `tools/list` and `tools/call`,
//! for the caller the transport authenticated.
//!
//! Over HTTP the caller comes from the bearer-token gate, through the request parts rmcp puts
//! into each request's extensions (its own `Extension` extractor does not see axum's
//! extensions, so the parts are read directly). Over stdio the caller is the token from the
//! environment, verified again on every request so that its expiry is honoured.

use std::borrow::Cow;
use std::sync::Arc;

use axum::http::request::Parts;
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, Implementation, ListToolsResult,
    PaginatedRequestParams, ProtocolVersion, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};

use crate::access;
use crate::auth::{self, Caller};
use crate::call;
use crate::state::McpState;

/// The protocol versions served: the revisions in which an MCP server is an OAuth resource
/// server, as this one is (2025-06-18 onward), up to the newest the pinned rmcp implements.
static SUPPORTED_VERSIONS: [ProtocolVersion; 3] = [
    ProtocolVersion::V_2025_06_18,
    ProtocolVersion::V_2025_11_25,
    ProtocolVersion::V_2026_07_28,
];

/// What the server tells clients at `initialize`.
const INSTRUCTIONS: &str = "Each tool performs one enterprise action for the signed-in person \
    through the actions API, with that person's permissions. Leave out the argument that names \
    a person (such as `employee_id`) to act on the person's own records. When a result says a \
    sign-in is needed, ask the person to sign in again as it describes, then retry.";

/// Handles one request (HTTP) or one connection (stdio).
#[derive(Clone)]
pub(crate) struct McpHandler {
    state: McpState,
    /// The stdio caller; `None` over HTTP, where each request brings its own.
    fixed: Option<Arc<Caller>>,
}

impl McpHandler {
    /// A handler for HTTP requests that passed the bearer-token gate.
    pub(crate) fn http(state: McpState) -> Self {
        Self { state, fixed: None }
    }

    /// A handler for one stdio connection acting for `caller`.
    pub(crate) fn stdio(state: McpState, caller: Caller) -> Self {
        Self {
            state,
            fixed: Some(Arc::new(caller)),
        }
    }

    async fn caller(&self, context: &RequestContext<RoleServer>) -> Result<Arc<Caller>, ErrorData> {
        if let Some(fixed) = &self.fixed {
            return match auth::authenticate(&self.state, &fixed.bearer).await {
                Ok(_) => Ok(Arc::clone(fixed)),
                Err(error) => {
                    tracing::warn!(reason = %error, "SCOPEGATE_TOKEN is no longer accepted");
                    Err(ErrorData::invalid_request(
                        format!(
                            "the token in SCOPEGATE_TOKEN is no longer accepted ({error}); \
                             obtain a new one and restart the server"
                        ),
                        None,
                    ))
                }
            };
        }
        context
            .extensions
            .get::<Parts>()
            .and_then(|parts| parts.extensions.get::<Arc<Caller>>())
            .cloned()
            .ok_or_else(|| {
                // The gate runs before every request; reaching here means a wiring mistake.
                tracing::error!("an MCP request arrived without an authenticated caller");
                ErrorData::internal_error("request is not authenticated", None)
            })
    }
}

impl ServerHandler for McpHandler {
    fn get_info(&self) -> ServerConfig {
        let implementation =
            Implementation::new("scopegate-mcp", env!("CARGO_PKG_VERSION")).with_title("scopegate");
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(implementation)
            .with_instructions(INSTRUCTIONS)
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(&SUPPORTED_VERSIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let caller = self.caller(&context).await?;
        let tools = access::visible_tools(&self.state, caller.token.claims());
        tracing::debug!(
            subject.sub = %caller.token.claims().sub,
            tools = tools.len(),
            "tools listed"
        );
        // The list depends on who asks: no shared cache may keep it (SEP-2549).
        Ok(ListToolsResult::with_all_items(tools)
            .with_cache_scope(CacheScope::Private)
            .with_ttl_ms(0))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let caller = self.caller(&context).await?;
        call::call_tool(&self.state, &caller, request)
            .await
            .map(CallToolResponse::from)
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.state
            .inner
            .tools
            .get(name)
            .map(|entry| entry.tool.clone())
    }
}
