//! Every error this crate returns, one enum per concern, each message saying exactly what failed.
//!
//! Values that came from a token (a `kid`, an `iss`, a `typ`) are printed escaped and
//! shortened, so a hostile token cannot forge or flood log lines through an error message.

use std::borrow::Cow;
use std::fmt;
use std::path::PathBuf;

use crate::claims::Audience;
use crate::clock::NumericDate;
use crate::json::JsonKind;
use crate::keys::Algorithm;

/// Why a token was refused by [`Verifier::verify`](crate::Verifier::verify).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The compact serialisation could not be taken apart.
    #[error(transparent)]
    Decode(#[from] DecodeError),

    /// The header's `alg` is `none` in some capitalisation (RFC 9068 §4: tokens must be signed).
    #[error("algorithm `{}` is refused: access tokens must be signed", shown(.alg))]
    UnsignedAlgorithm {
        /// The `alg` as written in the token.
        alg: String,
    },

    /// The header's `alg` is an HMAC algorithm, which would let a public key act as a secret.
    #[error("algorithm `{}` is refused: HMAC algorithms are never accepted", shown(.alg))]
    HmacAlgorithm {
        /// The `alg` as written in the token.
        alg: String,
    },

    /// The header's `alg` is none of ES256, EdDSA and RS256.
    #[error("algorithm `{}` is not supported", shown(.alg))]
    UnsupportedAlgorithm {
        /// The `alg` as written in the token.
        alg: String,
    },

    /// The header carries a member that points at keys or extensions chosen by the sender.
    #[error("header member `{name}` is refused")]
    RefusedHeaderMember {
        /// One of `jku`, `x5u`, `jwk`, `x5c`, `crit`.
        name: &'static str,
    },

    /// A header member this crate reads is missing.
    #[error("header member `{name}` is missing")]
    MissingHeaderMember {
        /// `alg`, `typ` or `kid`.
        name: &'static str,
    },

    /// A header member this crate reads has the wrong JSON type.
    #[error("header member `{name}` must be a string, found {found}")]
    HeaderMemberType {
        /// `alg`, `typ` or `kid`.
        name: &'static str,
        /// What the token holds instead.
        found: JsonKind,
    },

    /// The header's `typ` is not an access-token type (RFC 9068 §4).
    #[error("header `typ` is `{}`, expected `at+jwt`", shown(.typ))]
    WrongTokenType {
        /// The `typ` as written in the token.
        typ: String,
    },

    /// No trusted issuer has this `iss`.
    #[error("issuer `{}` is not trusted", shown(.iss))]
    UntrustedIssuer {
        /// The token's `iss`.
        iss: String,
    },

    /// The issuer has no key with this `kid` (after a refresh, where its key source allows one).
    #[error("issuer `{}` has no key `{}`", shown(.iss), shown(.kid))]
    UnknownKey {
        /// The token's `iss`.
        iss: String,
        /// The header's `kid`.
        kid: String,
    },

    /// The header's `alg` differs from the algorithm the key is pinned to.
    #[error("token algorithm `{token}` does not match the `{key}` key `{}`", shown(.kid))]
    AlgorithmMismatch {
        /// The header's `alg`.
        token: Algorithm,
        /// The key's algorithm.
        key: Algorithm,
        /// The key's id.
        kid: String,
    },

    /// The signature is not a valid signature of the header and payload by the key.
    #[error("signature does not verify with key `{}`", shown(.kid))]
    BadSignature {
        /// The key's id.
        kid: String,
    },

    /// The claim set is missing a required claim or holds a claim of the wrong shape.
    #[error(transparent)]
    Claims(#[from] ClaimError),

    /// `exp` has passed, beyond the leeway (RFC 7519 §4.1.4).
    #[error("token expired at {exp} (now {now})")]
    Expired {
        /// The token's `exp`.
        exp: NumericDate,
        /// The verifier's clock.
        now: NumericDate,
    },

    /// `nbf` is still ahead, beyond the leeway (RFC 7519 §4.1.5).
    #[error("token is not valid before {nbf} (now {now})")]
    NotYetValid {
        /// The token's `nbf`.
        nbf: NumericDate,
        /// The verifier's clock.
        now: NumericDate,
    },

    /// `iat` lies in the future, beyond the leeway.
    #[error("token was issued in the future at {iat} (now {now})")]
    IssuedInFuture {
        /// The token's `iat`.
        iat: NumericDate,
        /// The verifier's clock.
        now: NumericDate,
    },

    /// None of the token's audiences is one this verifier expects (RFC 9068 §4).
    #[error(
        "token audience {} includes none of {}",
        Listed(.found.iter()),
        Listed(.expected.iter())
    )]
    AudienceMismatch {
        /// The token's `aud`.
        found: Audience,
        /// The audiences the verifier accepts.
        expected: Vec<String>,
    },

    /// The issuer's keys had to be fetched again and the fetch failed.
    #[error("cannot fetch the keys of issuer `{}`: {source}", shown(.iss))]
    KeyFetch {
        /// The token's `iss`.
        iss: String,
        /// What went wrong.
        source: KeySourceError,
    },
}

/// Why the compact serialisation of a token could not be taken apart (RFC 7515 §7.1).
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The token is longer than [`MAX_TOKEN_BYTES`](crate::MAX_TOKEN_BYTES).
    #[error("token is {len} bytes, over the limit of {limit}")]
    TooLarge {
        /// The token's length.
        len: usize,
        /// The limit.
        limit: usize,
    },

    /// The token does not have exactly three dot-separated parts.
    #[error("token must have 3 dot-separated parts, found {found}")]
    PartCount {
        /// How many parts it has.
        found: usize,
    },

    /// A part is not unpadded base64url (RFC 7515 §2).
    #[error("token {part} is not unpadded base64url")]
    Base64 {
        /// The part.
        part: Part,
    },

    /// The header or the payload is not an acceptable JSON object.
    #[error("token {part}: {source}")]
    Json {
        /// The part.
        part: Part,
        /// What is wrong with it.
        source: JsonError,
    },
}

/// One of the three parts of a compact JWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The protected header.
    Header,
    /// The payload (the claim set).
    Payload,
    /// The signature.
    Signature,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Header => "header",
            Self::Payload => "payload",
            Self::Signature => "signature",
        })
    }
}

/// Why a JSON document was refused by the strict parser.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// Not JSON at all, or trailing data after it.
    #[error("invalid JSON: {0}")]
    Syntax(serde_json::Error),

    /// An object repeats a member name (RFC 7519 §7.2 allows refusing this; we always do).
    #[error("duplicate member `{}`", shown(.name))]
    DuplicateMember {
        /// The repeated name.
        name: String,
    },

    /// Arrays and objects are nested deeper than the limit.
    #[error("nested deeper than {limit} levels")]
    TooDeep {
        /// The limit, [`MAX_JSON_DEPTH`](crate::MAX_JSON_DEPTH).
        limit: usize,
    },

    /// The document is JSON but not an object.
    #[error("not a JSON object")]
    NotAnObject,
}

/// A claim that is missing, of the wrong type, or holds a value outside its syntax.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    /// A required claim is absent.
    #[error("required claim `{claim}` is missing")]
    Missing {
        /// The claim's name; nested claims are dotted, as in `act.sub`.
        claim: Cow<'static, str>,
    },

    /// A claim has the wrong JSON type.
    #[error("claim `{claim}` must be {expected}, found {found}")]
    WrongType {
        /// The claim's name.
        claim: Cow<'static, str>,
        /// What it must be.
        expected: &'static str,
        /// What it is.
        found: JsonKind,
    },

    /// A NumericDate claim is fractional, negative or past the year 9999.
    #[error("claim `{claim}` must be whole seconds between 1970 and 9999, found `{value}`")]
    DateOutOfRange {
        /// The claim's name.
        claim: Cow<'static, str>,
        /// The number as written.
        value: String,
    },

    /// A string claim that must name something is empty.
    #[error("claim `{claim}` must not be empty")]
    Empty {
        /// The claim's name.
        claim: Cow<'static, str>,
    },

    /// `aud` is an empty array.
    #[error("claim `aud` must name at least one audience")]
    NoAudience,

    /// A scope is not an RFC 6749 §3.3 scope-token.
    #[error(transparent)]
    Scope(#[from] ScopeError),

    /// `principal_type` is neither `HUMAN` nor `SERVICE`.
    #[error("claim `principal_type` must be `HUMAN` or `SERVICE`, found `{}`", shown(.value))]
    UnknownPrincipalType {
        /// The value as written.
        value: String,
    },

    /// An extra claim was given a name that has its own typed field in [`Claims`](crate::Claims).
    #[error("claim `{name}` has its own field and cannot be set as an extra claim")]
    ReservedName {
        /// The name.
        name: String,
    },
}

/// A scope value outside the RFC 6749 §3.3 syntax.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// The scope is empty (in a space-separated list: two spaces in a row, or a space at an end).
    #[error("scope must not be empty")]
    Empty,

    /// The scope holds a space, a double quote, a backslash or a character outside printable
    /// ASCII.
    #[error("scope `{}` holds a character not allowed in a scope", shown(.value))]
    InvalidCharacter {
        /// The scope as given.
        value: String,
    },
}

/// A key that cannot be generated, parsed or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The crypto library could not generate a key.
    #[error("cannot generate an `{alg}` key")]
    Generate {
        /// The algorithm.
        alg: Algorithm,
    },

    /// The crypto library refused the key material.
    #[error("`{alg}` key rejected: {reason}")]
    Rejected {
        /// The algorithm the key was read for.
        alg: Algorithm,
        /// The library's reason.
        reason: &'static str,
    },

    /// An RSA modulus is shorter than 2048 bits (RFC 7518 §3.3).
    #[error("RSA key has {bits} bits; at least 2048 are required")]
    RsaTooSmall {
        /// The modulus length.
        bits: usize,
    },
}

/// Why a token could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The crypto library failed to sign.
    #[error("cannot sign with key `{kid}`")]
    Crypto {
        /// The key's id.
        kid: String,
    },

    /// The claim set could not be serialised.
    #[error("cannot serialise the claims: {0}")]
    Encode(#[from] serde_json::Error),
}

/// Why a JWKS document (RFC 7517 §5) was refused.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    /// The document is not an acceptable JSON object.
    #[error("JWKS: {0}")]
    Json(#[from] JsonError),

    /// The document has no `keys` array.
    #[error("JWKS has no `keys` array")]
    MissingKeys,

    /// An entry of `keys` is not an object, or one of its members has the wrong type.
    #[error("JWKS key {index}: member `{member}` must be {expected}")]
    Malformed {
        /// The entry's position in `keys`.
        index: usize,
        /// The member, or `keys` for the entry itself.
        member: &'static str,
        /// What it must be.
        expected: &'static str,
    },

    /// A key carries private key material; the document must never be trusted.
    #[error("JWKS key {index} publishes the private member `{member}`")]
    PrivateMember {
        /// The entry's position in `keys`.
        index: usize,
        /// The private member (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth` or `k`).
        member: &'static str,
    },

    /// Two usable keys share one `kid`, so a token could not say which it means.
    #[error("JWKS has two keys with `kid` `{}`", shown(.kid))]
    DuplicateKid {
        /// The `kid`.
        kid: String,
    },

    /// A key of a supported type holds unusable material.
    #[error("JWKS key `{}`: {source}", shown(.kid))]
    InvalidKey {
        /// The key's `kid`.
        kid: String,
        /// What is wrong.
        source: KeyError,
    },

    /// The `alg` of a key does not fit its key type.
    #[error(
        "JWKS key `{}` declares `alg` `{}` for a key of type `{kty}`",
        shown(.kid),
        shown(.alg)
    )]
    AlgorithmMismatch {
        /// The key's `kid`.
        kid: String,
        /// The declared `alg`.
        alg: String,
        /// The key type.
        kty: &'static str,
    },
}

/// Why a [`KeyStore`](crate::KeyStore) could not open, load, rotate or save keys.
#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    /// A file-system operation failed.
    #[error("cannot {action} `{}`: {source}", .path.display())]
    Io {
        /// What was being done: `create`, `read`, `write`, `rename`, `remove`, `list`, `sync`.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },

    /// A private key file can be read by other users.
    #[error("private key `{}` has mode {mode:o}; it must be 600", .path.display())]
    InsecurePermissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },

    /// A metadata file is not what this crate writes.
    #[error("key metadata `{}` is invalid: {source}", .path.display())]
    Metadata {
        /// The file.
        path: PathBuf,
        /// The parse error.
        source: serde_json::Error,
    },

    /// A metadata file's `kid` is not the thumbprint of the key it describes.
    #[error("key metadata `{}` names `kid` `{kid}` but the key's thumbprint is `{thumbprint}`",
        .path.display())]
    KidMismatch {
        /// The file.
        path: PathBuf,
        /// The `kid` it names.
        kid: String,
        /// The key's RFC 7638 thumbprint.
        thumbprint: String,
    },

    /// A key's metadata exists but its private key file does not.
    #[error("key `{kid}` has no private key file `{}`", .path.display())]
    MissingPrivateKey {
        /// The key's id.
        kid: String,
        /// The expected file.
        path: PathBuf,
    },

    /// A key could not be generated or parsed.
    #[error("key `{kid}`: {source}")]
    Key {
        /// The key's id, or `new` for a key being generated.
        kid: String,
        /// What went wrong.
        source: KeyError,
    },
}

/// Why a key source could not produce keys (for example a failed JWKS fetch).
#[derive(Debug, thiserror::Error)]
pub enum KeySourceError {
    /// A URL is neither https nor plain http to a loopback host.
    #[error("`{}` must use https (plain http only for loopback hosts)", shown(.url))]
    InsecureUrl {
        /// The URL.
        url: String,
    },

    /// A URL cannot be parsed.
    #[error("`{}` is not a valid URL", shown(.url))]
    InvalidUrl {
        /// The URL.
        url: String,
    },

    /// The HTTP request failed before a response arrived.
    #[error("GET `{}` failed: {source}", shown(.url))]
    Transport {
        /// The URL.
        url: String,
        /// The client's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The server answered with a status other than 200.
    #[error("GET `{}` answered HTTP {status}", shown(.url))]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },

    /// The response body was larger than the limit.
    #[error("GET `{}` answered more than {limit} bytes", shown(.url))]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit.
        limit: usize,
    },

    /// The discovery document is not acceptable.
    #[error("discovery document at `{}`: {reason}", shown(.url))]
    Discovery {
        /// The document's URL.
        url: String,
        /// What is wrong with it.
        reason: Cow<'static, str>,
    },

    /// The discovery document names another issuer (OpenID Connect Discovery §4.3).
    #[error("discovery for issuer `{}` describes issuer `{}`", shown(.expected), shown(.found))]
    IssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// The issuer the document names.
        found: String,
    },

    /// The JWKS could not be used.
    #[error("JWKS at `{}`: {source}", shown(.url))]
    Jwks {
        /// The JWKS URL.
        url: String,
        /// What is wrong with it.
        source: JwksError,
    },
}

/// Why a [`VerifierBuilder`](crate::VerifierBuilder) could not build a verifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// No issuer was trusted.
    #[error("a verifier needs at least one trusted issuer")]
    NoIssuer,

    /// The same issuer was trusted twice.
    #[error("issuer `{iss}` is trusted twice")]
    DuplicateIssuer {
        /// The issuer.
        iss: String,
    },

    /// No audience check was chosen; there is deliberately no default.
    #[error("a verifier needs an audience check: expected audiences, or explicitly any audience")]
    NoAudienceCheck,

    /// The expected-audience list is empty.
    #[error("the expected-audience list is empty")]
    EmptyAudienceList,

    /// "Any audience of this issuer" was chosen for a verifier trusting several issuers.
    #[error("any-audience verification needs exactly one trusted issuer, found {issuers}")]
    AnyAudienceNeedsOneIssuer {
        /// How many issuers were trusted.
        issuers: usize,
    },
}

/// The longest prefix of a token-supplied value that error messages print.
const SHOWN_CHARS: usize = 80;

/// Prints a value from a token escaped (no control characters reach a log line) and shortened.
pub(crate) fn shown(value: &str) -> Shown<'_> {
    Shown(value)
}

/// See [`shown`].
pub(crate) struct Shown<'a>(&'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (count, c) in self.0.chars().enumerate() {
            if count == SHOWN_CHARS {
                return f.write_str("…");
            }
            match c {
                '`' => f.write_str("\\`")?,
                c if c.is_control() => write!(f, "{}", c.escape_default())?,
                c => write!(f, "{c}")?,
            }
        }
        Ok(())
    }
}

/// Prints a list of values as `` `a`, `b` ``.
struct Listed<I>(I);

impl<'a, I: Iterator<Item = &'a String> + Clone> fmt::Display for Listed<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, value) in self.0.clone().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            write!(f, "`{}`", shown(value))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_escapes_control_characters_and_backticks() {
        assert_eq!(
            shown("a\nb\u{1b}[31m`c").to_string(),
            "a\\nb\\u{1b}[31m\\`c"
        );
    }

    #[test]
    fn shown_shortens_long_values() {
        let long = "x".repeat(200);

        assert_eq!(
            shown(&long).to_string(),
            format!("{}…", "x".repeat(SHOWN_CHARS))
        );
    }

    #[test]
    fn audience_mismatch_lists_both_sides() {
        let error = VerifyError::AudienceMismatch {
            found: Audience::single("https://mcp.example"),
            expected: vec!["https://api.example".into(), "api".into()],
        };

        assert_eq!(
            error.to_string(),
            "token audience `https://mcp.example` includes none of `https://api.example`, `api`"
        );
    }
}
