//! Development OAuth 2.0 authorization server at Okta's org-server paths.
//!
//! The IdP issues RFC 9068 JWT access tokens to the users and clients of a [`Directory`]:
//! password logins (development mode only, with an optional TOTP second factor), client
//! credentials, rotating refresh tokens, and RFC 8693 token exchange with on-behalf-of
//! delegation. It serves discovery metadata, a JWKS, RFC 7662 introspection and RFC 7009
//! revocation, and writes an audit record for every issuance, exchange, refusal and
//! revocation before answering. `docs/tokens.md` describes every claim and rule.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use scopegate_audit::AuditLog;
//! use scopegate_idp::{Directory, IdpConfig, IdpState, SqliteStore, router};
//! use scopegate_token::{Algorithm, KeyStore, KeyStoreConfig, SystemClock};
//!
//! let clock = Arc::new(SystemClock);
//! let lifetime = Duration::from_secs(8 * 3600);
//! let key_config = KeyStoreConfig { algorithm: Algorithm::Es256, max_token_lifetime: lifetime };
//! let keys = KeyStore::open("data/keys", key_config, clock.clone())?;
//! let directory = Directory::embedded_default()?;
//! let config = IdpConfig::development("http://127.0.0.1:9000".parse()?, directory);
//! let store = Arc::new(SqliteStore::open("data/idp.sqlite".as_ref())?);
//! let audit = AuditLog::open("logs/audit.jsonl", Default::default())?;
//! let state = IdpState::new(config, &keys, store, audit, clock)?;
//! let app = router(state); // serve with axum::serve on 127.0.0.1:9000
//! # let _ = app;
//! # Ok(())
//! # }
//! ```

pub mod admin;
pub mod client_auth;
pub mod config;
pub mod directory;
pub mod error;
pub mod exchange;
pub mod form;
pub mod grant;
mod http;
pub mod rate;
mod records;
pub mod revocation;
pub mod secret;
pub mod state;
pub mod store;
pub mod totp;

pub use config::{DEFAULT_ISSUER, IdpConfig, Issuer, Lifetimes};
pub use directory::{Directory, DirectoryError};
pub use error::{ErrorCode, IdpError};
pub use http::discovery::Metadata;
pub use http::{BODY_LIMIT_BYTES, router};
pub use rate::{RateKey, RateLimit, RateLimiter, Throttled};
pub use state::{IdpState, StateError};
pub use store::{SqliteStore, Store, StoreError};

/// The address `scopegate idp` listens on by default.
pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:9000";
