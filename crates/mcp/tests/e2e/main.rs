//! End to end: the development IdP, the actions API and the MCP server on free loopback ports,
//! driven by a real MCP client (rmcp over Streamable HTTP, or raw JSON-RPC as other SDKs send
//! it), with every token really issued, exchanged and verified.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod authorization;
mod calls;
mod hostile;
mod hostile_tokens;
mod listing;
mod protocol;
mod stdio;
mod support;
