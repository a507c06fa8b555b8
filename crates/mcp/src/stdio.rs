//! `scopegate mcp --stdio`: the same tools, policy and audit over standard input and output,
//! for local clients that start the server as a child process.
//!
//! The MCP authorization specification leaves stdio out of OAuth: the credential comes from
//! the environment. Here it is the caller's MCP token (`SCOPEGATE_TOKEN`, which the command
//! line reads), checked at start by the same rules as a bearer token over HTTP and again on
//! every request, so an expired token stops working rather than being trusted forever. Standard
//! output carries only protocol messages: the process must log to standard error.

use rmcp::ServiceExt as _;
use rmcp::service::ServerInitializeError;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::auth::{self, AuthError, Caller};
use crate::handler::McpHandler;
use crate::secret::BearerToken;
use crate::state::McpState;

/// The environment variable the command line reads the stdio caller's token from.
pub const TOKEN_ENV_VAR: &str = "SCOPEGATE_TOKEN";

/// Why the stdio server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StdioError {
    /// The token from the environment is not accepted.
    #[error("the token in SCOPEGATE_TOKEN is not accepted: {0}")]
    Token(#[source] AuthError),
    /// The client did not complete the MCP handshake.
    #[error("MCP session could not start: {0}")]
    Start(#[source] Box<ServerInitializeError>),
    /// The session task failed.
    #[error("MCP session ended abnormally: {0}")]
    Session(#[source] tokio::task::JoinError),
}

/// Serves one MCP session on standard input and output for the holder of `token`, until the
/// client closes it.
///
/// # Errors
///
/// [`StdioError::Token`] at once when `token` is not an acceptable MCP token (wrong audience,
/// expired, no `mcp:use` scope, …); the other variants when the session cannot start or fails.
pub async fn serve_stdio(state: McpState, token: BearerToken) -> Result<(), StdioError> {
    let (input, output) = rmcp::transport::stdio();
    serve_io(state, token, input, output).await
}

/// As [`serve_stdio`], on any pair of byte streams carrying newline-delimited JSON-RPC (a
/// pipe, a socket, an in-memory duplex in tests).
///
/// # Errors
///
/// As [`serve_stdio`].
pub async fn serve_io<R, W>(
    state: McpState,
    token: BearerToken,
    input: R,
    output: W,
) -> Result<(), StdioError>
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    let verified = auth::authenticate(&state, &token)
        .await
        .map_err(StdioError::Token)?;
    tracing::info!(
        subject.sub = %verified.claims().sub,
        token.expires_at = %verified.claims().exp,
        tools = state.inner.tools.len(),
        "serving MCP on a byte stream"
    );

    let caller = Caller {
        token: verified,
        bearer: token,
    };
    let session = McpHandler::stdio(state, caller)
        .serve((input, output))
        .await
        .map_err(|error| StdioError::Start(Box::new(error)))?;
    let reason = session.waiting().await.map_err(StdioError::Session)?;
    tracing::info!(reason = ?reason, "MCP session ended");
    Ok(())
}
