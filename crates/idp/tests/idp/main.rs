//! HTTP-level tests of the IdP: every endpoint, rule and error code, driven in-process
//! through the router against a real key store, SQLite store and audit log.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod audit;
mod client_credentials;
mod discovery;
mod errors;
mod exchange;
mod health;
mod hostile_subject_tokens;
mod introspection;
mod password;
mod properties;
mod rate_limit;
mod refresh;
mod revocation;
mod support;
