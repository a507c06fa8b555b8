//! Reading a token **without verifying it**.
//!
//! Nothing returned here is authenticated: the signature is not checked, the issuer may be
//! anyone and the token may have expired. Use it only to show a token to a person (as
//! `scopegate token decode` does, with a warning) and never to decide anything.
//!
//! The same structural rules as verification still apply (size limit, compact form, strict
//! base64url, strict JSON without repeated members), so what is shown is what a verifier
//! would have parsed.

use serde_json::Value;

use crate::error::DecodeError;
use crate::jws;

/// The header and claims of a token that has **not** been verified.
#[derive(Debug, Clone, PartialEq)]
pub struct UnverifiedToken {
    /// The protected header, as sent.
    pub header: Value,
    /// The claim set, as sent.
    pub claims: Value,
}

/// Decodes `token` without checking its signature or any claim.
///
/// # Errors
///
/// [`DecodeError`] when the token is too large, is not three base64url parts, or its header or
/// payload is not a JSON object without repeated members.
///
/// # Example
///
/// ```
/// use scopegate_token::dangerous::decode_unverified;
///
/// // {"alg":"none"} . {"sub":"EMP001"} . (no signature)
/// let token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJFTVAwMDEifQ.";
/// let unverified = decode_unverified(token)?;
/// assert_eq!(unverified.claims["sub"], "EMP001");
/// # Ok::<(), scopegate_token::DecodeError>(())
/// ```
pub fn decode_unverified(token: &str) -> Result<UnverifiedToken, DecodeError> {
    let compact = jws::decode_compact(token)?;
    Ok(UnverifiedToken {
        header: Value::Object(compact.header),
        claims: Value::Object(compact.payload),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_an_unsigned_token_for_display() {
        let unverified = decode_unverified("eyJhbGciOiJub25lIn0.eyJzdWIiOiJFTVAwMDEifQ.").unwrap();

        assert_eq!(unverified.header, serde_json::json!({"alg": "none"}));
        assert_eq!(unverified.claims, serde_json::json!({"sub": "EMP001"}));
    }

    #[test]
    fn still_refuses_repeated_claims() {
        // {"sub":"a","sub":"b"}
        let token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIiwic3ViIjoiYiJ9.";

        let error = decode_unverified(token).unwrap_err();

        assert_eq!(error.to_string(), "token payload: duplicate member `sub`");
    }
}
