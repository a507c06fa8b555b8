//! Test support (cargo feature `test-support`): an in-memory issuer that mints real signed
//! tokens, so tests in any crate exercise the real verifier instead of a mock.
//!
//! Enable it only for tests, from the consuming crate's `[dev-dependencies]`:
//!
//! ```toml
//! scopegate-token = { workspace = true, features = ["test-support"] }
//! ```
//!
//! The helpers panic on failure, as test code does; nothing here belongs in production.

use std::sync::Arc;
use std::time::Duration;

use crate::claims::{Audience, Claims, ExtraClaims, PrincipalType, Scope, Scopes};
use crate::clock::{Clock, NumericDate};
use crate::jwks::Jwks;
use crate::jws;
use crate::keys::{Algorithm, SigningKey};
use crate::source::StaticKeys;
use crate::verify::{AudienceCheck, Verifier};

/// An issuer with one freshly generated key, held in memory.
#[derive(Debug, Clone)]
pub struct TestIssuer {
    issuer: String,
    key: Arc<SigningKey>,
}

impl TestIssuer {
    /// An issuer named `issuer` with a new key of `alg`.
    ///
    /// # Panics
    ///
    /// When the crypto library cannot generate a key.
    #[must_use]
    #[expect(
        clippy::expect_used,
        reason = "test support: no key means a broken test machine"
    )]
    pub fn new(issuer: impl Into<String>, alg: Algorithm) -> Self {
        let key = SigningKey::generate(alg).expect("generate a test signing key");
        Self {
            issuer: issuer.into(),
            key: Arc::new(key),
        }
    }

    /// The `iss` this issuer writes.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The signing key.
    #[must_use]
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// The `kid` of the signing key.
    #[must_use]
    pub fn kid(&self) -> &str {
        self.key.kid()
    }

    /// The public key as a key source for a [`Verifier`].
    #[must_use]
    pub fn keys(&self) -> StaticKeys {
        StaticKeys::from_keys([Arc::clone(self.key.verification_key())])
    }

    /// The public key as a JWKS.
    #[must_use]
    pub fn jwks(&self) -> Jwks {
        Jwks::new(vec![Arc::clone(self.key.verification_key())])
    }

    /// A verifier that trusts only this issuer and expects `audience`.
    ///
    /// # Panics
    ///
    /// Never for a non-empty audience; the configuration is always valid.
    #[must_use]
    #[expect(
        clippy::expect_used,
        reason = "test support: the configuration is always valid"
    )]
    pub fn verifier(&self, audience: &str, clock: Arc<dyn Clock>) -> Verifier {
        Verifier::builder()
            .trust_issuer(self.issuer.clone(), self.keys())
            .audience(AudienceCheck::one_of([audience]))
            .clock(clock)
            .build()
            .expect("a one-issuer verifier builds")
    }

    /// A complete claim set from this issuer: see [`sample_claims`].
    #[must_use]
    pub fn claims(&self, audience: &str, now: NumericDate) -> Claims {
        sample_claims(&self.issuer, audience, now)
    }

    /// Signs `claims` as the IdP would.
    ///
    /// # Panics
    ///
    /// When the crypto library fails to sign.
    #[must_use]
    #[expect(
        clippy::expect_used,
        reason = "test support: signing failure is a broken test"
    )]
    pub fn mint(&self, claims: &Claims) -> String {
        self.key.sign(claims).expect("sign test claims")
    }

    /// Signs arbitrary payload text under the normal header, for hostile-claims tests
    /// (repeated members, wrong types).
    #[must_use]
    pub fn sign_payload(&self, payload_json: &str) -> String {
        let header = format!(
            r#"{{"alg":"{}","typ":"at+jwt","kid":"{}"}}"#,
            self.key.algorithm(),
            self.key.kid()
        );
        self.sign_with_header(&header, payload_json)
    }

    /// Signs arbitrary header and payload text, for hostile-header tests.
    ///
    /// # Panics
    ///
    /// When the crypto library fails to sign.
    #[must_use]
    #[expect(
        clippy::expect_used,
        reason = "test support: signing failure is a broken test"
    )]
    pub fn sign_with_header(&self, header_json: &str, payload_json: &str) -> String {
        let header = jws::encode(header_json.as_bytes());
        self.key
            .sign_encoded(&header, payload_json.as_bytes())
            .expect("sign test token")
    }
}

/// A complete, valid claim set shaped like the design note's user token, issued at `now` for
/// five minutes: subject `EMP001`, a human in `employees`, password + MFA login a minute
/// before, client `chat-app`, scope `mcp:use`.
///
/// # Panics
///
/// Never: the scope literal is valid.
#[must_use]
#[expect(
    clippy::expect_used,
    reason = "test support: the scope literal is valid"
)]
pub fn sample_claims(issuer: &str, audience: &str, now: NumericDate) -> Claims {
    Claims {
        iss: issuer.to_owned(),
        sub: "EMP001".to_owned(),
        aud: Audience::single(audience),
        exp: now.saturating_add(Duration::from_secs(300)),
        iat: now,
        nbf: None,
        jti: format!("jti-{}", now.as_unix_seconds()),
        client_id: "chat-app".to_owned(),
        scope: [Scope::new("mcp:use").expect("valid scope")]
            .into_iter()
            .collect::<Scopes>(),
        principal_type: Some(PrincipalType::Human),
        groups: vec!["employees".to_owned()],
        amr: vec!["mfa".to_owned(), "pwd".to_owned()],
        auth_time: Some(now.saturating_sub(Duration::from_secs(60))),
        acr: None,
        acting_as: None,
        original_token_id: None,
        act: None,
        may_act: None,
        extra: ExtraClaims::new(),
    }
}
