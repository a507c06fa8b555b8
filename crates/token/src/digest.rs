//! [`TokenDigest`]: the SHA-256 of a raw token, to key caches and correlate records without
//! ever storing the token itself.

use std::fmt;

use aws_lc_rs::digest::{SHA256, digest};

use crate::jws;

/// The SHA-256 of a token's exact text.
///
/// `Display` and [`to_hex`](TokenDigest::to_hex) give lowercase hex;
/// [`to_base64url`](TokenDigest::to_base64url) the shorter unpadded base64url.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenDigest([u8; 32]);

impl TokenDigest {
    /// The digest of `token`.
    #[must_use]
    pub fn of(token: &str) -> Self {
        let mut bytes = [0; 32];
        bytes.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
        Self(bytes)
    }

    /// The 32 digest bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex, 64 characters.
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Unpadded base64url, 43 characters.
    #[must_use]
    pub fn to_base64url(&self) -> String {
        jws::encode(&self.0)
    }
}

impl fmt::Display for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenDigest({})", self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_the_sha256_of_the_token_text() {
        let digest = TokenDigest::of("abc");

        // FIPS 180-2 example: SHA-256("abc").
        assert_eq!(
            digest.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            digest.to_base64url(),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
        assert_eq!(digest.to_string(), digest.to_hex());
    }
}
