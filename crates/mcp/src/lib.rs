//! The MCP server: the actions API's capabilities as MCP tools, each call made on the caller's
//! behalf with a narrower, shorter-lived token at every hop.
//!
//! An AI assistant (a Chainlit app, Claude Desktop, the MCP Inspector) connects to
//! `POST /mcp` over Streamable HTTP with a bearer token issued for this server (audience = the
//! MCP URL, scope `mcp:use`), or starts the server on stdio with the token in the environment.
//! For every tool call the server:
//!
//! 1. checks, with the policy engine, that the caller could be allowed the capability;
//! 2. exchanges the caller's token at the identity provider (RFC 8693, on behalf of the caller,
//!    authenticated as client `mcp-server`) for a token at the actions API that names this
//!    server in `act`; the caller's own token is never sent to the API;
//! 3. calls `/actions/{system}/{action}` with it and a request id;
//! 4. writes an `mcp.tool_call` audit record joined to the API's own by that request id;
//! 5. answers with the result, or with a tool error that says what happened: denied, a step-up
//!    login needed (with `max_age` and `acr_values`), or which upstream is unavailable.
//!
//! The server is an OAuth resource server: it publishes RFC 9728 protected resource metadata
//! and challenges every unacceptable request with `WWW-Authenticate` before any MCP message is
//! read. `docs/mcp.md` describes connecting clients, the tools, errors and transports.
//!
//! ```no_run
//! # async fn example(
//! #     keys: std::sync::Arc<dyn scopegate_token::KeySource>,
//! #     tools: Vec<scopegate_mcp::ToolSpec>,
//! #     policies: scopegate_policy::PolicySet,
//! # ) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//!
//! use scopegate_audit::AuditLog;
//! use scopegate_mcp::{McpConfig, McpParts, McpState, router};
//! use scopegate_token::SystemClock;
//!
//! let audit = AuditLog::open("logs/audit.jsonl", Default::default())?;
//! let parts = McpParts {
//!     config: McpConfig::default(),
//!     keys,
//!     clock: Arc::new(SystemClock),
//!     tools,
//!     policies,
//!     audit,
//! };
//! let app = router(McpState::new(parts)?);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8001").await?;
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```

mod access;
mod actions;
mod auth;
mod call;
mod catalogue;
mod challenge;
mod config;
mod exchange;
mod handler;
mod http;
mod http_body;
mod outcome;
mod request_body;
mod secret;
mod state;
mod stdio;

pub use auth::AuthError;
pub use catalogue::{CAPABILITY_META_KEY, CatalogueError, MAX_TOOL_NAME_LEN, ToolSpec, tool_name};
pub use config::{
    ConfigError, DEFAULT_ALLOWED_HOSTS, DEFAULT_API_TIMEOUT, DEFAULT_API_URL, DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET, DEFAULT_EXCHANGE_CACHE_CAPACITY, DEFAULT_EXCHANGE_TIMEOUT,
    DEFAULT_INTROSPECTION_ENDPOINT, DEFAULT_ISSUER, DEFAULT_RECHECK_AFTER, DEFAULT_REFRESH_MARGIN,
    DEFAULT_RESOURCE_URL, DEFAULT_TOKEN_ENDPOINT, ExchangeCacheConfig, McpConfig, REQUIRED_SCOPE,
};
pub use http::{MCP_PATH, router};
pub use outcome::REQUEST_ID_META_KEY;
pub use request_body::MAX_REQUEST_BODY_BYTES;
pub use secret::{BearerToken, ClientSecret};
pub use state::{McpParts, McpState, StateError};
pub use stdio::{StdioError, TOKEN_ENV_VAR, serve_io, serve_stdio};

/// The address `scopegate mcp` listens on by default.
pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:8001";
