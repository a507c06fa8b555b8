//! Shared fixtures for the integration tests: a fixed clock, a test issuer and its verifier.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::sync::Arc;

use scopegate_token::testing::TestIssuer;
use scopegate_token::{Algorithm, Claims, ManualClock, NumericDate, Verifier};

/// The issuer every fixture token names.
pub(crate) const ISSUER: &str = "http://127.0.0.1:9000";

/// The audience every fixture verifier expects.
pub(crate) const API: &str = "http://127.0.0.1:8000/actions";

/// 2026-01-28T10:28:00Z: fixture tokens are issued here and expire five minutes later.
pub(crate) fn start() -> NumericDate {
    NumericDate::from_unix_seconds(1_769_596_080).unwrap()
}

/// An issuer, a clock standing at [`start`], and a verifier for [`API`] on that clock.
pub(crate) struct Setup {
    pub(crate) issuer: TestIssuer,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) verifier: Verifier,
}

impl Setup {
    pub(crate) fn new(alg: Algorithm) -> Self {
        let issuer = TestIssuer::new(ISSUER, alg);
        let clock = Arc::new(ManualClock::new(start()));
        let verifier = issuer.verifier(API, clock.clone());
        Self {
            issuer,
            clock,
            verifier,
        }
    }

    /// Valid claims for [`API`], issued at [`start`].
    pub(crate) fn claims(&self) -> Claims {
        self.issuer.claims(API, start())
    }

    /// A valid token for [`API`].
    pub(crate) fn token(&self) -> String {
        self.issuer.mint(&self.claims())
    }

    /// The error message for `token`.
    pub(crate) fn refusal(&self, token: &str) -> String {
        self.verifier.verify(token).unwrap_err().to_string()
    }

    /// The standard header of this issuer's key, for hand-made tokens.
    pub(crate) fn header(&self) -> String {
        let alg = self.issuer.key().algorithm();
        format!(
            r#"{{"alg":"{alg}","typ":"at+jwt","kid":"{}"}}"#,
            self.issuer.kid()
        )
    }

    /// The JSON text of valid claims, for hand-made tokens.
    pub(crate) fn payload(&self) -> String {
        serde_json::to_string(&self.claims()).unwrap()
    }
}

/// Base64url without padding.
pub(crate) fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
