//! Access tokens for scopegate: the claims model, signing keys on disk with rotation, JWKS
//! publication, and verification with a cache of verified tokens.
//!
//! Every other scopegate crate reads tokens only through this one, so the rules below hold
//! everywhere.
//!
//! # Issuing
//!
//! A [`KeyStore`] keeps the IdP's keys in a directory (ES256 by default; EdDSA and RS256
//! selectable), generates the first key on first use, and [`rotates`](KeyStore::rotate) them;
//! a retired key stays in the [`Jwks`] until its last token has expired. Its [`Signer`] turns
//! [`Claims`] into a compact JWS with header `{"alg","typ":"at+jwt","kid"}` (RFC 9068 §2.1);
//! the `kid` is the key's RFC 7638 thumbprint.
//!
//! # Verifying
//!
//! A [`Verifier`] trusts a set of issuers, each with a [`KeySource`]: the IdP's own
//! [`LocalKeys`], a fixed [`StaticKeys`], or (feature `remote`) a `RemoteIssuer` fetched by
//! OpenID Connect discovery. It refuses, each with its own [`VerifyError`]:
//!
//! * tokens over [`MAX_TOKEN_BYTES`], before any decoding;
//! * anything but three unpadded base64url parts; JSON with repeated members, or nested
//!   deeper than [`MAX_JSON_DEPTH`];
//! * `alg` `none` (any case), HMAC algorithms, anything but ES256/EdDSA/RS256, and an `alg`
//!   other than the key's own (the key pins the algorithm, never the token);
//! * the header members `jku`, `x5u`, `jwk`, `x5c` and `crit`; a `typ` other than `at+jwt`
//!   or `application/at+jwt`;
//! * untrusted issuers, unknown `kid`s, bad signatures;
//! * missing or mistyped claims, `exp` passed, `nbf` or `iat` ahead (with a leeway, default
//!   [`DEFAULT_LEEWAY`]), and an audience outside the [`AudienceCheck`].
//!
//! The result is a [`VerifiedToken`], which only the verifier can make. A token presented
//! again is answered from a bounded cache keyed by its SHA-256 ([`TokenDigest`]) until its
//! `exp`.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use scopegate_token::{
//!     Algorithm, Audience, AudienceCheck, Claims, ExtraClaims, KeyStore, KeyStoreConfig,
//!     ManualClock, NumericDate, PrincipalType, Scopes, Verifier,
//! };
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let now = NumericDate::from_unix_seconds(1_769_596_080).ok_or("date")?;
//! let clock = Arc::new(ManualClock::new(now));
//! let config = KeyStoreConfig {
//!     algorithm: Algorithm::Es256,
//!     max_token_lifetime: Duration::from_secs(3600),
//! };
//! let store = KeyStore::open(dir.path().join("keys"), config, clock.clone())?;
//!
//! let issuer = "http://127.0.0.1:9000";
//! let claims = Claims {
//!     iss: issuer.to_owned(),
//!     sub: "EMP001".to_owned(),
//!     aud: Audience::single("http://127.0.0.1:8001/mcp"),
//!     exp: now.saturating_add(Duration::from_secs(300)),
//!     iat: now,
//!     nbf: None,
//!     jti: "9f1c6d2e".to_owned(),
//!     client_id: "chat-app".to_owned(),
//!     scope: Scopes::from_space_separated("mcp:use")?,
//!     principal_type: Some(PrincipalType::Human),
//!     groups: vec!["employees".to_owned()],
//!     amr: vec!["mfa".to_owned(), "pwd".to_owned()],
//!     auth_time: Some(now),
//!     acr: None,
//!     acting_as: None,
//!     original_token_id: None,
//!     act: None,
//!     may_act: None,
//!     extra: ExtraClaims::new(),
//! };
//! let token = store.signer().sign(&claims)?;
//!
//! let verifier = Verifier::builder()
//!     .trust_issuer(issuer, store.verification_keys())
//!     .audience(AudienceCheck::one_of(["http://127.0.0.1:8001/mcp"]))
//!     .clock(clock.clone())
//!     .build()?;
//! let verified = verifier.verify(&token)?;
//! assert_eq!(verified.claims().sub, "EMP001");
//!
//! clock.advance(Duration::from_secs(600));
//! let expired = verifier.verify(&token).unwrap_err();
//! assert_eq!(
//!     expired.to_string(),
//!     "token expired at 2026-01-28T10:33:00Z (now 2026-01-28T10:38:00Z)"
//! );
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! * `remote` (default): `RemoteIssuer`, which needs `reqwest` and `tokio`.
//! * `test-support`: the `testing` module, an in-memory issuer minting real tokens for other
//!   crates' tests. Enable it only under `[dev-dependencies]`.
//!
//! Reading a token without verifying it is possible only through [`dangerous`].

mod cache;
mod claims;
mod clock;
pub mod dangerous;
mod digest;
mod error;
mod json;
mod jwks;
mod jws;
mod keys;
#[cfg(feature = "remote")]
mod remote;
mod source;
mod store;
#[cfg(feature = "test-support")]
pub mod testing;
mod verify;

pub use claims::{Actor, Audience, Claims, ExtraClaims, MayAct, PrincipalType, Scope, Scopes};
pub use clock::{Clock, ManualClock, NumericDate, SystemClock};
pub use digest::TokenDigest;
pub use error::{
    BuildError, ClaimError, DecodeError, JsonError, JwksError, KeyError, KeySourceError,
    KeyStoreError, Part, ScopeError, SignError, VerifyError,
};
pub use json::{JsonKind, MAX_JSON_DEPTH};
pub use jwks::Jwks;
pub use jws::MAX_TOKEN_BYTES;
pub use keys::{Algorithm, Jwk, SigningKey, UnknownAlgorithm, VerificationKey};
#[cfg(feature = "remote")]
pub use remote::{MIN_REFETCH_INTERVAL, RemoteIssuer};
pub use source::{KeySource, RefreshFuture, StaticKeys};
pub use store::{KeyInfo, KeyStore, KeyStoreConfig, LocalKeys, Signer};
pub use verify::{
    AudienceCheck, DEFAULT_CACHE_CAPACITY, DEFAULT_LEEWAY, VerifiedToken, Verifier, VerifierBuilder,
};
