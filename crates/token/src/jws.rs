//! The JWS compact serialisation (RFC 7515 §7.1): base64url helpers, the protected header this
//! crate writes, taking a token apart, and the header rules every token must pass.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{DecodeError, Part, VerifyError};
use crate::json::{self, JsonKind};
use crate::keys::Algorithm;

/// The longest token accepted, in bytes; longer ones are refused before any decoding.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The `typ` this crate writes (RFC 9068 §2.1).
pub(crate) const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// Header members that let the sender choose keys or demand extensions; always refused.
const REFUSED_MEMBERS: [&str; 5] = ["jku", "x5u", "jwk", "x5c", "crit"];

/// Base64url without padding (RFC 7515 §2).
pub(crate) fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Appends the base64url form of `bytes` to `out`.
pub(crate) fn encode_into(bytes: &[u8], out: &mut String) {
    URL_SAFE_NO_PAD.encode_string(bytes, out);
}

/// Decodes unpadded base64url; padding, `+`, `/` and non-canonical trailing bits are refused.
fn decode(part: Part, text: &str) -> Result<Vec<u8>, DecodeError> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| DecodeError::Base64 { part })
}

/// Decodes a base64url JWK member (RFC 7518 §6), with the same strictness as token parts.
pub(crate) fn decode_member(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// The encoded protected header for tokens signed by key `kid`.
pub(crate) fn encode_header(alg: Algorithm, kid: &str) -> String {
    #[derive(Serialize)]
    struct Header<'a> {
        alg: &'static str,
        typ: &'static str,
        kid: &'a str,
    }
    let header = Header {
        alg: alg.as_str(),
        typ: ACCESS_TOKEN_TYPE,
        kid,
    };
    // Serialising three strings into a Vec cannot fail.
    encode(&serde_json::to_vec(&header).unwrap_or_default())
}

/// A compact JWS taken apart, with header and payload parsed by the strict JSON parser.
#[derive(Debug)]
pub(crate) struct Compact<'t> {
    /// `BASE64URL(header) '.' BASE64URL(payload)`, the bytes the signature covers.
    pub(crate) signing_input: &'t str,
    pub(crate) header: Map<String, Value>,
    pub(crate) payload: Map<String, Value>,
    pub(crate) signature: Vec<u8>,
}

/// Splits and decodes `token` after refusing anything over [`MAX_TOKEN_BYTES`].
pub(crate) fn decode_compact(token: &str) -> Result<Compact<'_>, DecodeError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(DecodeError::TooLarge {
            len: token.len(),
            limit: MAX_TOKEN_BYTES,
        });
    }

    let mut parts = token.splitn(4, '.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        // Counting every dot is cheap: the size limit was checked above.
        let found = token.matches('.').count() + 1;
        return Err(DecodeError::PartCount { found });
    };
    let signing_input = token
        .get(..header.len() + 1 + payload.len())
        .unwrap_or_default();

    let header_bytes = decode(Part::Header, header)?;
    let header = json::parse_object(&header_bytes).map_err(|source| DecodeError::Json {
        part: Part::Header,
        source,
    })?;
    let payload_bytes = decode(Part::Payload, payload)?;
    let payload = json::parse_object(&payload_bytes).map_err(|source| DecodeError::Json {
        part: Part::Payload,
        source,
    })?;
    let signature = decode(Part::Signature, signature)?;

    Ok(Compact {
        signing_input,
        header,
        payload,
        signature,
    })
}

/// What the verifier takes from a header that passed every rule.
#[derive(Debug)]
pub(crate) struct Header {
    pub(crate) alg: Algorithm,
    pub(crate) kid: String,
}

/// Applies the header rules: no key-carrying or critical members, a signature algorithm this
/// crate supports, the access-token `typ`, and a `kid`.
pub(crate) fn check_header(header: &Map<String, Value>) -> Result<Header, VerifyError> {
    // RFC 7515 §4.1.11: `crit` names extensions we do not implement, so it must be refused;
    // the key-carrying members would let the sender choose the verification key.
    if let Some(name) = REFUSED_MEMBERS
        .into_iter()
        .find(|name| header.contains_key(*name))
    {
        return Err(VerifyError::RefusedHeaderMember { name });
    }

    let alg = header_string(header, "alg")?;
    let alg = Algorithm::from_jose_name(alg).ok_or_else(|| refuse_algorithm(alg))?;

    // RFC 9068 §4: `at+jwt` or `application/at+jwt`; media types compare case-insensitively
    // (RFC 7515 §4.1.9).
    let typ = header_string(header, "typ")?;
    let typ_ok = typ.eq_ignore_ascii_case(ACCESS_TOKEN_TYPE)
        || typ.eq_ignore_ascii_case("application/at+jwt");
    if !typ_ok {
        return Err(VerifyError::WrongTokenType {
            typ: typ.to_owned(),
        });
    }

    let kid = header_string(header, "kid")?.to_owned();
    Ok(Header { alg, kid })
}

fn header_string<'h>(
    header: &'h Map<String, Value>,
    name: &'static str,
) -> Result<&'h str, VerifyError> {
    match header.get(name) {
        None => Err(VerifyError::MissingHeaderMember { name }),
        Some(Value::String(value)) => Ok(value),
        Some(other) => Err(VerifyError::HeaderMemberType {
            name,
            found: JsonKind::of(other),
        }),
    }
}

/// The error for an `alg` that is not one of ours, singling out the dangerous ones.
fn refuse_algorithm(alg: &str) -> VerifyError {
    let alg = alg.to_owned();
    // RFC 9068 §4 forbids `none`; matching it in any capitalisation closes the old bypass.
    if alg.eq_ignore_ascii_case("none") {
        return VerifyError::UnsignedAlgorithm { alg };
    }
    // HS256/384/512 would verify with the public key as an HMAC secret (key confusion).
    if alg
        .get(..2)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("HS"))
    {
        return VerifyError::HmacAlgorithm { alg };
    }
    VerifyError::UnsupportedAlgorithm { alg }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(json: &str) -> Map<String, Value> {
        json::parse_object(json.as_bytes()).unwrap()
    }

    fn token(header: &str, payload: &str) -> String {
        format!(
            "{}.{}.{}",
            encode(header.as_bytes()),
            encode(payload.as_bytes()),
            encode(b"sig")
        )
    }

    #[test]
    fn writes_the_access_token_header() {
        let encoded = encode_header(Algorithm::Es256, "k1");

        let decoded = URL_SAFE_NO_PAD.decode(encoded).unwrap();
        assert_eq!(decoded, br#"{"alg":"ES256","typ":"at+jwt","kid":"k1"}"#);
    }

    #[test]
    fn takes_a_token_apart() {
        let text = token(r#"{"alg":"ES256"}"#, r#"{"sub":"a"}"#);

        let compact = decode_compact(&text).unwrap();

        assert_eq!(compact.header["alg"], "ES256");
        assert_eq!(compact.payload["sub"], "a");
        assert_eq!(compact.signature, b"sig");
        assert_eq!(compact.signing_input, text.rsplit_once('.').unwrap().0);
    }

    #[test]
    fn refuses_the_wrong_number_of_parts() {
        for (text, found) in [("a.b", 2), ("a", 1), ("a.b.c.d", 4), ("a.b.c.d.e.f", 6)] {
            let error = decode_compact(text).unwrap_err();

            assert_eq!(
                error.to_string(),
                format!("token must have 3 dot-separated parts, found {found}")
            );
        }
    }

    #[test]
    fn refuses_padded_or_standard_alphabet_base64() {
        let good = token(r#"{"a":1}"#, r#"{"b":2}"#);
        let (head, rest) = good.split_once('.').unwrap();
        let padded = format!("{head}=.{rest}");
        let standard = format!("{}.{rest}", head.replace('-', "+").replace('_', "/") + "+");

        for text in [padded, standard] {
            let error = decode_compact(&text).unwrap_err();

            assert_eq!(error.to_string(), "token header is not unpadded base64url");
        }
    }

    #[test]
    fn refuses_a_header_that_is_not_an_object() {
        let text = token("[1]", "{}");

        let error = decode_compact(&text).unwrap_err();

        assert_eq!(error.to_string(), "token header: not a JSON object");
    }

    #[test]
    fn accepts_both_access_token_types_in_any_case() {
        for typ in [
            "at+jwt",
            "application/at+jwt",
            "AT+JWT",
            "Application/AT+JWT",
        ] {
            let json = format!(r#"{{"alg":"ES256","typ":"{typ}","kid":"k"}}"#);

            let checked = check_header(&header(&json)).unwrap();

            assert_eq!(
                (checked.alg, checked.kid.as_str()),
                (Algorithm::Es256, "k"),
                "{typ}"
            );
        }
    }

    #[test]
    fn classifies_refused_algorithms() {
        let cases = [
            (
                "none",
                "algorithm `none` is refused: access tokens must be signed",
            ),
            (
                "NoNe",
                "algorithm `NoNe` is refused: access tokens must be signed",
            ),
            (
                "HS256",
                "algorithm `HS256` is refused: HMAC algorithms are never accepted",
            ),
            (
                "hs512",
                "algorithm `hs512` is refused: HMAC algorithms are never accepted",
            ),
            ("PS256", "algorithm `PS256` is not supported"),
            ("es256", "algorithm `es256` is not supported"),
        ];
        for (alg, message) in cases {
            let json = format!(r#"{{"alg":"{alg}","typ":"at+jwt","kid":"k"}}"#);

            let error = check_header(&header(&json)).unwrap_err();

            assert_eq!(error.to_string(), message);
        }
    }
}
