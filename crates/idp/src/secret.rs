//! Stored credential forms: SHA-256 digests of client secrets and argon2 hashes of passwords.
//!
//! Client secrets are high-entropy random strings, so one SHA-256 pass is enough to keep the
//! directory file from holding them, and a constant-time comparison keeps the check cheap on a
//! hot endpoint. Passwords are low-entropy and chosen by people, so they get argon2id.

use std::fmt;
use std::str::FromStr;

use argon2::password_hash::{Output, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;
use thiserror::Error;

/// The prefix of a client secret digest in the directory file.
const DIGEST_PREFIX: &str = "sha256:";

/// Salt length for new password hashes (the PHC string format recommends 16 bytes).
const SALT_BYTES: usize = 16;

/// Room for any salt a PHC string can carry once decoded (at most 64 Base64 characters).
const SALT_DECODE_BYTES: usize = 48;

/// The SHA-256 digest of a confidential client's secret.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretDigest([u8; 32]);

/// A directory value that is not `sha256:` followed by 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("is not `sha256:` followed by 64 hex digits")]
pub struct InvalidSecretDigest;

impl SecretDigest {
    /// A digest compared against when no client matches, so that the work is the same. No
    /// secret is known to hash to all zeros (that would be a SHA-256 preimage).
    pub(crate) const UNMATCHABLE: Self = Self([0; 32]);

    /// The digest of `secret`.
    #[must_use]
    pub fn of(secret: &str) -> Self {
        let hashed = digest::digest(&digest::SHA256, secret.as_bytes());
        let mut bytes = [0_u8; 32];
        bytes.copy_from_slice(hashed.as_ref());
        Self(bytes)
    }

    /// Whether `presented` hashes to this digest, compared in constant time.
    #[must_use]
    pub fn matches(&self, presented: &str) -> bool {
        Self::of(presented).0.ct_eq(&self.0).into()
    }
}

impl FromStr for SecretDigest {
    type Err = InvalidSecretDigest;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let hex_digits = value
            .strip_prefix(DIGEST_PREFIX)
            .ok_or(InvalidSecretDigest)?;
        let mut bytes = [0_u8; 32];
        hex::decode_to_slice(hex_digits, &mut bytes).map_err(|_| InvalidSecretDigest)?;
        Ok(Self(bytes))
    }
}

impl fmt::Display for SecretDigest {
    /// The directory-file form, `sha256:<hex>`; a digest is not itself a secret.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{DIGEST_PREFIX}{}", hex::encode(self.0))
    }
}

impl fmt::Debug for SecretDigest {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("SecretDigest(sha256)")
    }
}

/// An argon2 password hash in PHC string form, checked to parse when loaded.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHashString(String);

/// Working memory for argon2, kept between verifications (see
/// [`PasswordHashString::verify_with`]).
#[derive(Default)]
pub struct HashMemory(Vec<Block>);

impl fmt::Debug for HashMemory {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "HashMemory({} KiB)", self.0.len())
    }
}

/// A directory value that is not an argon2 PHC string.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("is not an argon2 PHC string")]
pub struct InvalidPasswordHash;

/// The password could not be hashed (the random source or argon2 failed).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("cannot hash the password: {reason}")]
pub struct HashingFailed {
    /// What failed, as the underlying library reports it.
    pub reason: String,
}

impl PasswordHashString {
    /// Hashes `password` with argon2id at the library's recommended cost and a random salt.
    ///
    /// # Errors
    ///
    /// [`HashingFailed`] when the system random source or argon2 fails.
    pub fn hash(password: &str) -> Result<Self, HashingFailed> {
        let mut salt_bytes = [0_u8; SALT_BYTES];
        SystemRandom::new()
            .fill(&mut salt_bytes)
            .map_err(|_| HashingFailed {
                reason: "the system random source failed".into(),
            })?;
        let salt = SaltString::encode_b64(&salt_bytes).map_err(|err| HashingFailed {
            reason: err.to_string(),
        })?;
        let hash = Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map_err(|err| HashingFailed {
                reason: err.to_string(),
            })?;
        Ok(Self(hash.to_string()))
    }

    /// Whether `password` matches, at the cost recorded in the hash itself.
    ///
    /// This takes tens of milliseconds by design; call it off the async runtime.
    #[must_use]
    pub fn verify(&self, password: &str) -> bool {
        self.verify_with(password, &mut HashMemory::default())
    }

    /// [`PasswordHashString::verify`] with argon2's working memory taken from `memory`, which
    /// grows to the hash's memory cost once and is then reused. A fresh multi-megabyte buffer
    /// for every login leaves the allocator holding tens of megabytes per thread.
    #[must_use]
    pub fn verify_with(&self, password: &str, memory: &mut HashMemory) -> bool {
        let Ok(parsed) = PasswordHash::new(&self.0) else {
            return false;
        };
        let (Some(expected), Some(salt)) = (parsed.hash, parsed.salt) else {
            return false;
        };
        let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
            return false;
        };
        let version = match parsed.version.map(Version::try_from).transpose() {
            Ok(version) => version.unwrap_or_default(),
            Err(_) => return false,
        };
        let Ok(params) = Params::try_from(&parsed) else {
            return false;
        };
        let mut salt_bytes = [0_u8; SALT_DECODE_BYTES];
        let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
            return false;
        };
        let blocks = params.block_count();
        let mut computed = [0_u8; Output::MAX_LENGTH];
        let Some(computed) = computed.get_mut(..expected.len()) else {
            return false;
        };
        if memory.0.len() < blocks {
            memory.0.resize(blocks, Block::default());
        }
        let Some(working) = memory.0.get_mut(..blocks) else {
            return false;
        };
        let hashed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
            password.as_bytes(),
            salt,
            computed,
            working,
        );
        // `Output`'s equality is constant-time.
        hashed.is_ok() && Output::new(computed).is_ok_and(|computed| computed == expected)
    }

    /// The PHC string, as it belongs in the directory file.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for PasswordHashString {
    type Err = InvalidPasswordHash;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let parsed = PasswordHash::new(value).map_err(|_| InvalidPasswordHash)?;
        let is_argon2 = parsed.algorithm.as_str().starts_with("argon2");
        if is_argon2 && parsed.hash.is_some() {
            Ok(Self(value.to_owned()))
        } else {
            Err(InvalidPasswordHash)
        }
    }
}

impl fmt::Debug for PasswordHashString {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("PasswordHashString(argon2)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_digest_matches_only_its_secret() {
        let digest = SecretDigest::of("chainlit-dev-secret");

        assert!(digest.matches("chainlit-dev-secret"));
        assert!(!digest.matches("chainlit-dev-secreT"));
        assert!(!digest.matches(""));
    }

    #[test]
    fn secret_digest_round_trips_through_its_directory_form() {
        let digest = SecretDigest::of("s3cret");

        let text = digest.to_string();

        assert!(text.starts_with("sha256:"));
        assert_eq!(text.len(), 7 + 64);
        assert_eq!(text.parse::<SecretDigest>(), Ok(digest));
    }

    #[test]
    fn secret_digest_without_prefix_or_of_wrong_length_is_refused() {
        let bare = hex::encode([7_u8; 32]);

        assert_eq!(bare.parse::<SecretDigest>(), Err(InvalidSecretDigest));
        assert_eq!(
            "sha256:abcd".parse::<SecretDigest>(),
            Err(InvalidSecretDigest)
        );
    }

    #[test]
    fn debug_output_never_shows_digest_or_hash_bytes() {
        let digest = SecretDigest::of("x");
        let hash: PasswordHashString = SAMPLE_HASH.parse().unwrap();

        assert_eq!(format!("{digest:?}"), "SecretDigest(sha256)");
        assert_eq!(format!("{hash:?}"), "PasswordHashString(argon2)");
    }

    #[test]
    fn hashed_password_verifies_and_a_wrong_one_does_not() {
        let hash = PasswordHashString::hash("correct horse").unwrap();

        assert!(hash.as_str().starts_with("$argon2id$"));
        assert!(hash.verify("correct horse"));
        assert!(!hash.verify("correct horsE"));
    }

    #[test]
    fn embedded_demo_hash_verifies_the_demo_password() {
        let hash: PasswordHashString = SAMPLE_HASH.parse().unwrap();

        assert!(hash.verify("demo-password"));
        assert!(!hash.verify("demo-passwort"));
    }

    #[test]
    fn one_working_memory_serves_hashes_of_different_costs_and_agrees_with_the_library() {
        use argon2::password_hash::PasswordVerifier;
        let cheap: PasswordHashString = SAMPLE_HASH.parse().unwrap();
        let dear = PasswordHashString::hash("correct horse").unwrap();
        let salt = SaltString::encode_b64(b"scopegate-salt").unwrap();
        let params = Params::new(1024, 2, 2, Some(24)).unwrap();
        let older: Vec<String> = [
            (Algorithm::Argon2i, Version::V0x10),
            (Algorithm::Argon2d, Version::V0x13),
        ]
        .into_iter()
        .map(|(algorithm, version)| {
            Argon2::new(algorithm, version, params.clone())
                .hash_password(b"demo-password", &salt)
                .unwrap()
                .to_string()
        })
        .collect();
        let mut memory = HashMemory::default();

        let answers = [
            dear.verify_with("correct horse", &mut memory),
            cheap.verify_with("demo-password", &mut memory),
            dear.verify_with("correct horsE", &mut memory),
            cheap.verify_with("demo-passwort", &mut memory),
        ];
        let library = |hash: &str, password: &str| {
            Argon2::default()
                .verify_password(password.as_bytes(), &PasswordHash::new(hash).unwrap())
                .is_ok()
        };

        assert_eq!(answers, [true, true, false, false]);
        assert_eq!(memory.0.len(), 19 * 1024, "grown to the dearest cost once");
        for hash in &older {
            let ours: PasswordHashString = hash.parse().unwrap();
            for password in ["demo-password", "demo-passwort"] {
                let expected = library(hash, password);
                assert_eq!(ours.verify_with(password, &mut memory), expected, "{hash}");
                assert_eq!(expected, password == "demo-password");
            }
        }
    }

    #[test]
    fn non_argon2_phc_string_is_refused() {
        let pbkdf2 =
            "$pbkdf2-sha256$i=1000$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

        assert_eq!(
            pbkdf2.parse::<PasswordHashString>(),
            Err(InvalidPasswordHash)
        );
        assert_eq!(
            "plain".parse::<PasswordHashString>(),
            Err(InvalidPasswordHash)
        );
    }

    /// An argon2id hash of `demo-password` at low cost, as the embedded directory uses.
    const SAMPLE_HASH: &str = concat!(
        "$argon2id$v=19$m=4096,t=1,p=1$c2NvcGVnYXRlLUVNUDAwMQ",
        "$nP1lBepOis1vugWiixukS84Dvk7Fkpcm6FdSQwoqfj4"
    );
}
