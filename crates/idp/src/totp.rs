//! RFC 6238 time-based one-time passwords: HMAC-SHA-1, six digits, 30-second steps.
//!
//! These are the parameters every authenticator app assumes. A code is accepted for the
//! current step and one step either side (RFC 6238 §5.2 allows a small window for clock
//! drift), and a code is refused if it, or a later one, was already accepted for the same user
//! (RFC 6238 §5.2: the verifier must not accept the second attempt of the same OTP).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};

use aws_lc_rs::hmac;
use subtle::ConstantTimeEq;
use thiserror::Error;

/// The length of a step (RFC 6238 §4.1 `X`, the recommended default).
pub const STEP_SECONDS: u64 = 30;

/// The number of digits in a code.
pub const DIGITS: u32 = 6;

/// The shortest secret accepted: RFC 4226 §4 requires at least 128 bits.
const MIN_SECRET_BYTES: usize = 16;

/// A user's shared TOTP key.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

/// A directory value that is not a usable base32 TOTP secret.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("is not a base32 secret of at least 16 bytes")]
pub struct InvalidTotpSecret;

/// Why a presented code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TotpRejection {
    /// The code is not six ASCII digits.
    #[error("the one-time code is not six digits")]
    Malformed,
    /// No step within the accepted window produces this code.
    #[error("the one-time code is wrong or outside the accepted time window")]
    Mismatch,
    /// The code belongs to a step at or before one already used for this user.
    #[error("the one-time code was already used")]
    Replayed,
}

impl TotpSecret {
    /// The code for the step containing `unix_seconds`.
    #[must_use]
    pub fn code_at(&self, unix_seconds: u64) -> String {
        self.code_for_step(unix_seconds / STEP_SECONDS)
    }

    /// The step (within one of the current) whose code is `code`, compared in constant time.
    ///
    /// # Errors
    ///
    /// [`TotpRejection::Malformed`] or [`TotpRejection::Mismatch`].
    pub fn matching_step(&self, code: &str, unix_seconds: u64) -> Result<u64, TotpRejection> {
        if code.len() != DIGITS as usize || !code.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(TotpRejection::Malformed);
        }
        let current = unix_seconds / STEP_SECONDS;
        let candidates = [
            current.saturating_sub(1),
            current,
            current.saturating_add(1),
        ];
        candidates
            .into_iter()
            .find(|step| bool::from(self.code_for_step(*step).as_bytes().ct_eq(code.as_bytes())))
            .ok_or(TotpRejection::Mismatch)
    }

    /// RFC 6238 §4.2 with RFC 4226 §5.3 dynamic truncation.
    fn code_for_step(&self, step: u64) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &self.0);
        let tag = hmac::sign(&key, &step.to_be_bytes());
        let mac = tag.as_ref();
        let offset = usize::from(mac[mac.len() - 1] & 0x0f);
        let word = [
            mac[offset] & 0x7f,
            mac[offset + 1],
            mac[offset + 2],
            mac[offset + 3],
        ];
        let value = u32::from_be_bytes(word) % 10_u32.pow(DIGITS);
        format!("{value:0width$}", width = DIGITS as usize)
    }
}

impl FromStr for TotpSecret {
    type Err = InvalidTotpSecret;

    /// Accepts the base32 text authenticator apps show: letter case, spaces and `=` padding
    /// are ignored.
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let normalized: String = value
            .chars()
            .filter(|ch| !ch.is_whitespace() && *ch != '=')
            .map(|ch| ch.to_ascii_uppercase())
            .collect();
        let bytes = data_encoding::BASE32_NOPAD
            .decode(normalized.as_bytes())
            .map_err(|_| InvalidTotpSecret)?;
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(InvalidTotpSecret);
        }
        Ok(Self(bytes))
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "TotpSecret({} bytes)", self.0.len())
    }
}

/// Remembers the last accepted step per user so a code cannot be used twice.
///
/// Kept in memory only: after a restart a code from the last 90 seconds could be replayed
/// once, an acceptable gap for a development server.
#[derive(Debug, Default)]
pub struct ReplayGuard {
    last_step: Mutex<HashMap<String, u64>>,
}

impl ReplayGuard {
    /// Verifies `code` for `user` and records its step.
    ///
    /// # Errors
    ///
    /// Any [`TotpRejection`].
    pub fn verify(
        &self,
        user: &str,
        secret: &TotpSecret,
        code: &str,
        unix_seconds: u64,
    ) -> Result<(), TotpRejection> {
        let step = secret.matching_step(code, unix_seconds)?;
        let mut last_step = self
            .last_step
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if last_step.get(user).is_some_and(|used| step <= *used) {
            return Err(TotpRejection::Replayed);
        }
        last_step.insert(user.to_owned(), step);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RFC 6238 Appendix B SHA-1 key, `12345678901234567890`, in base32.
    const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    #[test]
    fn codes_match_the_rfc_6238_sha1_test_vectors_truncated_to_six_digits() {
        let secret: TotpSecret = RFC_SECRET.parse().unwrap();

        // Appendix B lists eight-digit values; six digits are their last six.
        assert_eq!(secret.code_at(59), "287082");
        assert_eq!(secret.code_at(1_111_111_109), "081804");
        assert_eq!(secret.code_at(1_111_111_111), "050471");
        assert_eq!(secret.code_at(1_234_567_890), "005924");
        assert_eq!(secret.code_at(2_000_000_000), "279037");
    }

    #[test]
    fn secret_text_ignores_case_spaces_and_padding() {
        let spaced: TotpSecret = "gezd gnbv gy3t qojq gezd gnbv gy3t qojq===="
            .parse()
            .unwrap();

        assert_eq!(spaced, RFC_SECRET.parse().unwrap());
    }

    #[test]
    fn short_or_non_base32_secret_is_refused() {
        assert_eq!("GEZDGNBV".parse::<TotpSecret>(), Err(InvalidTotpSecret));
        assert_eq!("not base32!".parse::<TotpSecret>(), Err(InvalidTotpSecret));
    }

    #[test]
    fn code_from_previous_or_next_step_is_accepted_but_not_two_steps_away() {
        let secret: TotpSecret = RFC_SECRET.parse().unwrap();
        let now = 1_111_111_111;

        let previous = secret.code_at(now - STEP_SECONDS);
        let next = secret.code_at(now + STEP_SECONDS);
        let stale = secret.code_at(now - 2 * STEP_SECONDS);

        assert_eq!(
            secret.matching_step(&previous, now),
            Ok(now / STEP_SECONDS - 1)
        );
        assert_eq!(secret.matching_step(&next, now), Ok(now / STEP_SECONDS + 1));
        assert_eq!(
            secret.matching_step(&stale, now),
            Err(TotpRejection::Mismatch)
        );
    }

    #[test]
    fn code_that_is_not_six_digits_is_malformed() {
        let secret: TotpSecret = RFC_SECRET.parse().unwrap();

        assert_eq!(
            secret.matching_step("12345", 59),
            Err(TotpRejection::Malformed)
        );
        assert_eq!(
            secret.matching_step("12345a", 59),
            Err(TotpRejection::Malformed)
        );
    }

    #[test]
    fn replay_guard_refuses_a_code_used_twice_and_an_older_one_after_it() {
        let secret: TotpSecret = RFC_SECRET.parse().unwrap();
        let guard = ReplayGuard::default();
        let now = 1_111_111_111;

        let first = guard.verify("EMP001", &secret, &secret.code_at(now), now);
        let again = guard.verify("EMP001", &secret, &secret.code_at(now), now);
        let older = guard.verify("EMP001", &secret, &secret.code_at(now - 30), now);
        let other_user = guard.verify("EMP010", &secret, &secret.code_at(now), now);

        assert_eq!(first, Ok(()));
        assert_eq!(again, Err(TotpRejection::Replayed));
        assert_eq!(older, Err(TotpRejection::Replayed));
        assert_eq!(other_user, Ok(()));
    }
}
