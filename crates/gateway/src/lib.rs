//! The actions API: the enforcement point where people's tools and the MCP server perform
//! enterprise actions such as `workday.hcm.get_employee`.
//!
//! Every call to `/actions/{system}/{action}` is verified, decided by policy, performed by a
//! connector and audited, in this order:
//!
//! 1. bearer token verified (signature, issuer, expiry) → 401 `invalid_token`;
//! 2. token-kind gate: an `mcp:use`-only token outside the MCP server → 403
//!    `insufficient_scope`;
//! 3. audience must be this API → 401 `invalid_token`;
//! 4. arguments validated against the capability's JSON Schema → 400; policy: deny → 403,
//!    step-up → 401 `insufficient_user_authentication` (RFC 9470);
//! 5. connector call: upstream failure → 502, timeout → 504.
//!
//! One `capability.decision` audit record is written per decision, and the answer leaves only
//! after the record is durable; an unwritable log answers 503 without calling the connector.
//! The full reference is `docs/actions-api.md`.
//!
//! A server assembles [`GatewayParts`] (often with [`GatewayParts::with_defaults`]), builds a
//! [`GatewayState`] and serves [`router`].

mod args;
mod auth;
mod capability;
pub mod connector;
mod error;
mod introspect;
mod org;
mod pipeline;
mod record;
mod request_id;
mod routes;
mod state;

pub use args::ArgumentError;
pub use auth::MCP_SCOPE;
pub use capability::{
    Capability, CapabilityLoadError, CapabilityName, CapabilityProblem, CapabilityRegistry,
    DEFAULT_CAPABILITIES, DEFAULT_CAPABILITIES_ORIGIN, InvalidCapabilityName, RevocationCheck,
    SecretLookup, WORKDAY_FIXTURE, env_secrets,
};
pub use error::{ApiError, MCP_TOKEN_MESSAGE};
pub use introspect::{
    ClientSecret, DEFAULT_INTROSPECTION_CACHE_TTL, DEFAULT_INTROSPECTION_TIMEOUT,
    IntrospectionConfig, IntrospectionError, Introspector,
};
pub use org::{OrgDirectory, resolve_target};
pub use request_id::{REQUEST_ID_HEADER, RequestId};
pub use routes::router;
pub use state::{
    DEFAULT_API_AUDIENCE, DEFAULT_BODY_LIMIT, DEFAULT_ISSUER, DEFAULT_MCP_ACTOR, GatewayConfig,
    GatewayParts, GatewayState, StateError,
};
