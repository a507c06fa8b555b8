//! Helpers behind the `scopegate directory` commands: the current TOTP code of a user, and
//! turning passwords and client secrets into the forms the directory file stores.

use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use scopegate_token::NumericDate;
use thiserror::Error;

use crate::directory::Directory;
use crate::secret::{HashingFailed, PasswordHashString, SecretDigest};
use crate::totp::STEP_SECONDS;

/// A user's current one-time code and how long it stays current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentCode {
    /// The six-digit code.
    pub code: String,
    /// Seconds until the next step begins (the code is still accepted one step longer).
    pub valid_for_seconds: u64,
}

/// Why a TOTP code cannot be produced.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TotpLookupError {
    /// No user has this id.
    #[error("no user `{user}` in the directory")]
    UnknownUser {
        /// The id asked for.
        user: String,
    },
    /// The user has no TOTP secret.
    #[error("user `{user}` is not enrolled in multi-factor authentication")]
    NotEnrolled {
        /// The user.
        user: String,
    },
}

/// Why a random secret could not be generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("the system random source failed")]
pub struct RandomFailed;

/// The RFC 6238 code of `user` at `now`, as `scopegate directory totp <user>` prints it.
///
/// # Errors
///
/// [`TotpLookupError`] when the user is unknown or not enrolled.
pub fn totp_code(
    directory: &Directory,
    user: &str,
    now: NumericDate,
) -> Result<CurrentCode, TotpLookupError> {
    let Some(entry) = directory.user(user) else {
        return Err(TotpLookupError::UnknownUser {
            user: user.to_owned(),
        });
    };
    let Some(secret) = &entry.totp_secret else {
        return Err(TotpLookupError::NotEnrolled {
            user: user.to_owned(),
        });
    };
    let seconds = u64::try_from(now.as_unix_seconds()).unwrap_or_default();
    let code = secret.code_at(seconds);
    Ok(CurrentCode {
        code,
        valid_for_seconds: STEP_SECONDS - seconds % STEP_SECONDS,
    })
}

/// The directory line for a user's password: `password_hash = "<argon2id PHC string>"`.
///
/// # Errors
///
/// [`HashingFailed`] when the random source or argon2 fails.
pub fn password_hash_entry(password: &str) -> Result<String, HashingFailed> {
    let hash = PasswordHashString::hash(password)?;
    Ok(format!("password_hash = \"{}\"", hash.as_str()))
}

/// The directory line for a client secret: `secret_digest = "sha256:<hex>"`.
#[must_use]
pub fn secret_digest_entry(secret: &str) -> String {
    format!("secret_digest = \"{}\"", SecretDigest::of(secret))
}

/// A new high-entropy client secret: 32 random bytes, base64url (43 characters).
///
/// # Errors
///
/// [`RandomFailed`] when the system random source fails.
pub fn generate_client_secret() -> Result<String, RandomFailed> {
    let mut bytes = [0_u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| RandomFailed)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// A new TOTP secret for enrolling a user: 20 random bytes (RFC 4226 §4 recommends 160
/// bits), base32 as authenticator apps expect.
///
/// # Errors
///
/// [`RandomFailed`] when the system random source fails.
pub fn generate_totp_secret() -> Result<String, RandomFailed> {
    let mut bytes = [0_u8; 20];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| RandomFailed)?;
    Ok(data_encoding::BASE32_NOPAD.encode(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::totp::TotpSecret;

    fn at(seconds: i64) -> NumericDate {
        NumericDate::from_unix_seconds(seconds).unwrap()
    }

    #[test]
    fn totp_code_is_the_users_rfc_6238_code_with_its_remaining_time() {
        let directory = Directory::embedded_default().unwrap();
        let secret: TotpSecret = "NCEANK6ZMK2GMNOB367DNEXOMC3ZPL3A".parse().unwrap();

        let current = totp_code(&directory, "EMP001", at(1_769_596_087)).unwrap();

        assert_eq!(current.code, secret.code_at(1_769_596_087));
        assert_eq!(current.valid_for_seconds, 23);
    }

    #[test]
    fn totp_code_names_unknown_and_unenrolled_users() {
        let directory = Directory::embedded_default().unwrap();

        let unknown = totp_code(&directory, "EMP999", at(0)).unwrap_err();
        let unenrolled = totp_code(&directory, "EMP002", at(0)).unwrap_err();

        assert_eq!(unknown.to_string(), "no user `EMP999` in the directory");
        assert_eq!(
            unenrolled.to_string(),
            "user `EMP002` is not enrolled in multi-factor authentication"
        );
    }

    #[test]
    fn password_entry_holds_a_hash_that_loads_and_verifies() {
        let line = password_hash_entry("s3cret pass").unwrap();

        let value = line
            .strip_prefix("password_hash = \"")
            .unwrap()
            .strip_suffix('"')
            .unwrap();
        let hash: PasswordHashString = value.parse().unwrap();

        assert!(hash.verify("s3cret pass"));
    }

    #[test]
    fn secret_entry_is_the_sha256_digest_line() {
        assert_eq!(
            secret_digest_entry("chainlit-dev-secret"),
            concat!(
                "secret_digest = \"sha256:",
                "b9da1617ac8774ae22d74b44b9d17d305a6fd8c275b315a69d3569635ebcea0f\""
            )
        );
    }

    #[test]
    fn generated_secrets_are_fresh_and_usable() {
        let first = generate_client_secret().unwrap();
        let second = generate_client_secret().unwrap();
        let totp: TotpSecret = generate_totp_secret().unwrap().parse().unwrap();

        assert_eq!(first.len(), 43);
        assert_ne!(first, second);
        assert_eq!(totp.code_at(0).len(), 6);
    }
}
