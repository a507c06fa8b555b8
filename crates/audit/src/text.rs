//! Free text that is safe to store: anything shaped like a credential becomes a marker.
//!
//! The schema has no field that could hold a token or a secret, yet several fields carry text
//! that came from elsewhere: a client's `client_id`, a request id header, the reasons a
//! verifier or the policy engine gave. [`AuditText`] is the only way such text enters an
//! event, and making one runs [`redact`] over it and bounds its length, so a caller that
//! formats a rejected token into an error message cannot put that token into the log.
//!
//! Redaction works on words: maximal runs of the characters a bearer token can be made of
//! (RFC 6750 §2.1 `b64token`, without the `=` padding). A word is replaced when
//!
//! * it contains `eyJ` (the base64url encoding of `{"` that starts every JOSE header) at its
//!   start or after a non-alphanumeric character, followed by at least two dots: a compact
//!   JWS or JWE, marked `[redacted:jwt]`;
//! * it follows the word `Bearer` (any case) and has at least 16 characters, marked
//!   `[redacted:bearer]`;
//! * it has at least 32 characters mixing digits, upper and lower case letters, or at least
//!   40 hexadecimal digits: a random secret or opaque token, marked `[redacted:secret]`;
//!   except a key id: 43 base64url characters (an RFC 7638 SHA-256 thumbprint, the shape of
//!   scopegate's `kid`s) right after the word `key` or `kid`, as the verifier's errors print
//!   them. A `kid` is public, published in the issuer's JWKS, and the operator reading why a
//!   token was refused needs to see which key it named.
//!
//! This is a safety net, not a licence: a short secret has no shape to recognise, so callers
//! still must not pass secrets in. Identifiers scopegate itself uses (UUIDs, capability names,
//! client ids, URLs of lower-case hosts) are left as they are.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Text from outside the audit crate, redacted and at most [`AuditText::MAX_BYTES`] long.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AuditText(String);

impl AuditText {
    /// The longest text kept, in bytes; longer text is cut and ends in `…[truncated]`.
    pub const MAX_BYTES: usize = 1024;

    /// Redacts `text` and bounds its length.
    #[must_use]
    pub fn new(text: &str) -> Self {
        let mut text = redact(text).into_owned();
        truncate(&mut text);
        Self(text)
    }

    /// The stored text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AuditText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for AuditText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for AuditText {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for AuditText {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

impl From<String> for AuditText {
    fn from(text: String) -> Self {
        Self::new(&text)
    }
}

impl PartialEq<str> for AuditText {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for AuditText {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl Serialize for AuditText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AuditText {
    /// Redacts again, so that the invariant holds for text from any source.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <Cow<'de, str>>::deserialize(deserializer)?;
        Ok(Self::new(&text))
    }
}

/// Replaces every credential-shaped word of `text` by a marker (see the module documentation).
///
/// Returns `text` unchanged, without copying, when nothing needed replacing. Applying it
/// twice gives the same result as applying it once.
#[must_use]
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut redacted = String::new();
    let mut copied_up_to = 0;
    let mut previous = "";

    for (start, word) in words(text) {
        let marker = marker_for(word, previous);
        previous = word;
        let Some(marker) = marker else { continue };

        redacted.push_str(&text[copied_up_to..start]);
        redacted.push_str(marker);
        copied_up_to = start + word.len();
    }

    if copied_up_to == 0 {
        return Cow::Borrowed(text);
    }
    redacted.push_str(&text[copied_up_to..]);
    Cow::Owned(redacted)
}

/// Splits `text` into maximal runs of token characters, with their byte offsets.
fn words(text: &str) -> impl Iterator<Item = (usize, &str)> {
    // Token characters are ASCII, so every boundary found here is a char boundary.
    let bytes = text.as_bytes();
    let mut position = 0;
    std::iter::from_fn(move || {
        let start = position + bytes[position..].iter().position(|&b| is_token_byte(b))?;
        let length = bytes[start..]
            .iter()
            .take_while(|&&b| is_token_byte(b))
            .count();
        position = start + length;
        Some((start, &text[start..position]))
    })
}

/// The marker replacing `word`, given the word before it, or `None` to keep it.
fn marker_for(word: &str, previous: &str) -> Option<&'static str> {
    if looks_like_jwt(word) {
        Some(JWT_MARKER)
    } else if previous.eq_ignore_ascii_case("bearer") && word.len() >= BEARER_MIN_LEN {
        Some(BEARER_MARKER)
    } else if is_named_key_id(word, previous) {
        None
    } else if looks_like_secret(word) {
        Some(SECRET_MARKER)
    } else {
        None
    }
}

fn looks_like_jwt(word: &str) -> bool {
    // Most words have no two dots: skip the substring search for them.
    if word.bytes().filter(|&b| b == b'.').nth(1).is_none() {
        return false;
    }
    word.match_indices(JOSE_HEADER_START).any(|(index, _)| {
        let starts_segment = word[..index]
            .bytes()
            .next_back()
            .is_none_or(|before| !before.is_ascii_alphanumeric());
        starts_segment && word[index..].bytes().filter(|&b| b == b'.').count() >= 2
    })
}

fn looks_like_secret(word: &str) -> bool {
    let bytes = word.as_bytes();
    let mixed = bytes.len() >= SECRET_MIN_LEN
        && bytes.iter().any(u8::is_ascii_digit)
        && bytes.iter().any(u8::is_ascii_uppercase)
        && bytes.iter().any(u8::is_ascii_lowercase);
    let hex = bytes.len() >= HEX_SECRET_MIN_LEN && bytes.iter().all(u8::is_ascii_hexdigit);
    mixed || hex
}

/// A key id as the verifier prints one: `key <thumbprint>` or `kid <thumbprint>`, where an
/// RFC 7638 §3 SHA-256 thumbprint is 43 base64url characters.
fn is_named_key_id(word: &str, previous: &str) -> bool {
    let named = previous.eq_ignore_ascii_case("key") || previous.eq_ignore_ascii_case("kid");
    let thumbprint = word.len() == KEY_ID_LEN
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    named && thumbprint
}

fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
}

fn truncate(text: &mut String) {
    if text.len() <= AuditText::MAX_BYTES {
        return;
    }
    let mut cut = AuditText::MAX_BYTES - TRUNCATED_MARKER.len();
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    text.push_str(TRUNCATED_MARKER);
}

/// The length of a base64url SHA-256 digest without padding: an RFC 7638 thumbprint.
const KEY_ID_LEN: usize = 43;

/// `{"` in base64url: the first three characters of every JOSE header.
const JOSE_HEADER_START: &str = "eyJ";
const BEARER_MIN_LEN: usize = 16;
const SECRET_MIN_LEN: usize = 32;
const HEX_SECRET_MIN_LEN: usize = 40;
const JWT_MARKER: &str = "[redacted:jwt]";
const BEARER_MARKER: &str = "[redacted:bearer]";
const SECRET_MARKER: &str = "[redacted:secret]";
const TRUNCATED_MARKER: &str = "…[truncated]";

#[cfg(test)]
mod tests {
    use super::*;

    const JWT: &str = "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.\
        eyJzdWIiOiJFTVAwMDEiLCJzY29wZSI6WyJtY3A6dXNlIl19.\
        MEUCIQDd3Qk1v9n8kE1M3Zx3g2p_r0y-9Yh7n8bq1w5VQ2rGZwIgcF0";

    #[test]
    fn replaces_a_jwt_inside_a_sentence() {
        let text = format!("signature check failed for token {JWT} at the gateway");

        assert_eq!(
            redact(&text),
            "signature check failed for token [redacted:jwt] at the gateway"
        );
    }

    #[test]
    fn replaces_a_jwt_after_a_form_field_name() {
        let text = format!("subject_token={JWT}&scope=mcp:use");

        assert_eq!(redact(&text), "subject_token=[redacted:jwt]&scope=mcp:use");
    }

    #[test]
    fn replaces_a_jwt_at_the_end_of_a_path() {
        let text = format!("GET /debug/{JWT}");

        assert_eq!(redact(&text), "GET [redacted:jwt]");
    }

    #[test]
    fn replaces_a_long_random_opaque_token() {
        let text = "refresh token 9fQ2xL7vTz0bK4mWc8RjYh1NsAeU3gPd was reused";

        assert_eq!(redact(text), "refresh token [redacted:secret] was reused");
    }

    #[test]
    fn replaces_a_long_standard_base64_secret() {
        let text = "client_secret: q8Zr/0Fh+2kLmN9pX4tVbW7yC1dE3gH5jK6sU8wA0zQ=";

        assert_eq!(redact(text), "client_secret: [redacted:secret]=");
    }

    #[test]
    fn replaces_a_long_hexadecimal_secret() {
        let text = "key 3f9a2b7c4d1e8f6a0b5c9d2e7f4a1b8c3d6e9f0a2b5c8d1e";

        assert_eq!(redact(text), "key [redacted:secret]");
    }

    #[test]
    fn replaces_what_follows_bearer_even_when_short_of_the_secret_length() {
        let text = "Authorization: Bearer abcdefghijklmnop";

        assert_eq!(redact(text), "Authorization: Bearer [redacted:bearer]");
    }

    #[test]
    fn keeps_a_plain_word_after_bearer() {
        let text = "bearer token expired";

        assert_eq!(redact(text), "bearer token expired");
    }

    #[test]
    fn keeps_the_identifiers_scopegate_uses() {
        let text = "jti 0b9c6a5e-2f1d-4c3b-9a8e-7d6c5b4a3f21 for EMP001 via mcp-server on \
                    workday.payroll.get_compensation at https://api.example.test/actions \
                    and eyJhbGciOiJFUzI1NiJ9";

        assert!(matches!(redact(text), Cow::Borrowed(_)));
    }

    #[test]
    fn a_thumbprint_named_as_a_key_is_kept_and_anywhere_else_redacted() {
        let kid = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
        let text = format!(
            "issuer `https://idp` has no key `{kid}`; JWKS has two keys with `kid` `{kid}`; \
             secret {kid}; key {kid}x"
        );

        let redacted = redact(&text);

        assert_eq!(
            redacted,
            format!(
                "issuer `https://idp` has no key `{kid}`; JWKS has two keys with `kid` `{kid}`; \
                 secret [redacted:secret]; key [redacted:secret]"
            )
        );
    }

    #[test]
    fn a_token_named_as_a_key_is_still_redacted() {
        let text = format!("key {JWT} and kid Bearer abcdefghijklmnopqrstu");

        assert_eq!(
            redact(&text),
            "key [redacted:jwt] and kid Bearer [redacted:bearer]"
        );
    }

    #[test]
    fn redacting_twice_changes_nothing_more() {
        let text = format!("Bearer {JWT} and Bearer abcdefghijklmnopqrstu");
        let once = redact(&text).into_owned();

        assert_eq!(redact(&once), once.as_str());
        assert_eq!(once, "Bearer [redacted:jwt] and Bearer [redacted:bearer]");
    }

    #[test]
    fn audit_text_cuts_long_text_at_a_char_boundary() {
        let text = "é".repeat(AuditText::MAX_BYTES);

        let stored = AuditText::new(&text);

        assert!(stored.as_str().len() <= AuditText::MAX_BYTES);
        assert!(stored.as_str().ends_with("é…[truncated]"));
    }

    #[test]
    fn deserialising_redacts_too() {
        let json = format!("\"{JWT}\"");

        let text: AuditText = serde_json::from_str(&json).unwrap();

        assert_eq!(text, "[redacted:jwt]");
    }
}
