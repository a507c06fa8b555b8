//! The token fixture: one in-memory issuer, a verifier that trusts it, and a clock stopped at
//! the moment the seed tokens were minted for.

use std::sync::{Arc, LazyLock};

use scopegate_token::testing::TestIssuer;
use scopegate_token::{Algorithm, ManualClock, NumericDate, Verifier};

/// The issuer every seed names in `iss` (the development IdP's default).
pub const ISSUER: &str = "http://127.0.0.1:9000";

/// The audience the verifier expects (the MCP server's resource).
pub const AUDIENCE: &str = "http://127.0.0.1:8001/mcp";

/// The verifier's "now", in Unix seconds: 2026-01-28T10:28:00Z. Seed tokens are issued at
/// this instant, so they are neither expired nor ahead of the clock.
pub const NOW: i64 = 1_769_596_080;

/// What a signed-token input writes in its header where the issuer's `kid` belongs. The key
/// is generated afresh in every process, so a seed cannot spell its real `kid`.
pub const KID_PLACEHOLDER: &str = "$kid";

/// The issuer, its verifier and the clock both share.
pub struct Fixture {
    /// Signs whatever header and payload a target builds.
    pub issuer: TestIssuer,
    /// Trusts only [`Fixture::issuer`] and expects [`AUDIENCE`].
    pub verifier: Verifier,
    /// Stopped at [`NOW`].
    pub now: NumericDate,
}

/// The process-wide fixture, made on first use.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
        let now = NumericDate::from_unix_seconds(NOW).expect("NOW is a valid NumericDate");
        let clock = Arc::new(ManualClock::new(now));
        let issuer = TestIssuer::new(ISSUER, Algorithm::Es256);
        let verifier = issuer.verifier(AUDIENCE, clock);
        Fixture {
            issuer,
            verifier,
            now,
        }
    });
    &FIXTURE
}
