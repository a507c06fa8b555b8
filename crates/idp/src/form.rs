//! Strict `application/x-www-form-urlencoded` parsing for the OAuth endpoints.
//!
//! RFC 6749 §3.2 and §2.3 shape what "strict" means here: the body must be form-encoded UTF-8,
//! a parameter other than the repeatable `resource` and `audience` may appear at most once,
//! an empty value counts as absent, and parameters the endpoint does not know are ignored.
//! Malformed percent escapes and invalid UTF-8 are refused rather than repaired.

use std::collections::BTreeMap;

use thiserror::Error;

/// Parameters that RFC 8693 §2.1 and RFC 8707 §2 allow to appear more than once.
const REPEATABLE: [&str; 2] = ["resource", "audience"];

/// Parameters that carry a token and so are bounded by [`MAX_TOKEN_FIELD_BYTES`].
const TOKEN_FIELDS: [&str; 4] = ["subject_token", "actor_token", "token", "refresh_token"];

/// The largest token a form field may carry; longer ones are refused before any decoding.
pub const MAX_TOKEN_FIELD_BYTES: usize = scopegate_token::MAX_TOKEN_BYTES;

/// The media type every OAuth endpoint body must have.
pub const FORM_MEDIA_TYPE: &str = "application/x-www-form-urlencoded";

/// A parsed form body in which every non-repeatable parameter occurs at most once.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Form {
    fields: BTreeMap<String, Vec<String>>,
}

/// Why a request body is not an acceptable form.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FormError {
    /// The `Content-Type` header is missing or names another media type.
    #[error("content type must be `application/x-www-form-urlencoded`")]
    UnsupportedMediaType,
    /// A percent escape is not two hex digits.
    #[error("malformed percent escape in the request body")]
    MalformedEscape,
    /// A decoded name or value is not UTF-8.
    #[error("the request body is not valid UTF-8 once decoded")]
    InvalidUtf8,
    /// A parameter that must appear at most once appeared again.
    #[error("parameter `{name}` is repeated")]
    Repeated {
        /// The parameter name.
        name: String,
    },
    /// A token-carrying parameter is longer than any token this server issues.
    #[error("parameter `{name}` exceeds {limit} bytes")]
    TokenTooLarge {
        /// The parameter name.
        name: &'static str,
        /// The limit in bytes.
        limit: usize,
    },
}

impl Form {
    /// Parses a body after checking its `Content-Type` header value.
    ///
    /// # Errors
    ///
    /// Any [`FormError`]: wrong media type, a malformed escape, invalid UTF-8, a repeated
    /// parameter or an oversized token field.
    pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Self, FormError> {
        if !content_type.is_some_and(is_form_media_type) {
            return Err(FormError::UnsupportedMediaType);
        }
        Self::parse_body(body)
    }

    /// Parses a form-encoded body without looking at any header.
    ///
    /// # Errors
    ///
    /// As [`Form::parse`], except for the media type.
    pub fn parse_body(body: &[u8]) -> Result<Self, FormError> {
        let mut fields: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for pair in body
            .split(|byte| *byte == b'&')
            .filter(|pair| !pair.is_empty())
        {
            let (raw_name, raw_value) = split_pair(pair);
            let name = decode_component(raw_name)?;
            let value = decode_component(raw_value)?;
            // RFC 6749 §3.2: parameters must not be included more than once.
            if fields.contains_key(&name) && !REPEATABLE.contains(&name.as_str()) {
                return Err(FormError::Repeated { name });
            }
            fields.entry(name).or_default().push(value);
        }
        check_token_sizes(&fields)?;
        Ok(Self { fields })
    }

    /// The value of a non-repeatable parameter; an empty value is treated as absent
    /// (RFC 6749 §3.1).
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .get(name)?
            .first()
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    }

    /// Every non-empty value of a repeatable parameter, in request order.
    #[must_use]
    pub fn all(&self, name: &str) -> Vec<&str> {
        let Some(values) = self.fields.get(name) else {
            return Vec::new();
        };
        values
            .iter()
            .map(String::as_str)
            .filter(|value| !value.is_empty())
            .collect()
    }

    /// Whether the parameter is present with a non-empty value.
    #[must_use]
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

impl std::fmt::Debug for Form {
    /// Prints parameter names only: values may be tokens, secrets or passwords.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_set().entries(self.fields.keys()).finish()
    }
}

/// Decodes one `application/x-www-form-urlencoded` component: `+` is a space and `%XX` a
/// byte; the result must be UTF-8.
///
/// # Errors
///
/// [`FormError::MalformedEscape`] or [`FormError::InvalidUtf8`].
pub fn decode_component(raw: &[u8]) -> Result<String, FormError> {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut rest = raw;
    while let Some((&byte, tail)) = rest.split_first() {
        rest = tail;
        match byte {
            b'+' => bytes.push(b' '),
            b'%' => {
                let [high, low, after @ ..] = rest else {
                    return Err(FormError::MalformedEscape);
                };
                bytes.push(hex_value(*high)? << 4 | hex_value(*low)?);
                rest = after;
            }
            other => bytes.push(other),
        }
    }
    String::from_utf8(bytes).map_err(|_| FormError::InvalidUtf8)
}

/// Whether a `Content-Type` value names the form media type, ignoring parameters such as
/// `charset=UTF-8` and letter case.
pub(crate) fn is_form_media_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case(FORM_MEDIA_TYPE)
}

fn split_pair(pair: &[u8]) -> (&[u8], &[u8]) {
    match pair.iter().position(|byte| *byte == b'=') {
        Some(index) => (&pair[..index], &pair[index + 1..]),
        None => (pair, &[]),
    }
}

fn check_token_sizes(fields: &BTreeMap<String, Vec<String>>) -> Result<(), FormError> {
    for name in TOKEN_FIELDS {
        let too_large = fields.get(name).is_some_and(|values| {
            values
                .iter()
                .any(|value| value.len() > MAX_TOKEN_FIELD_BYTES)
        });
        if too_large {
            return Err(FormError::TokenTooLarge {
                name,
                limit: MAX_TOKEN_FIELD_BYTES,
            });
        }
    }
    Ok(())
}

fn hex_value(digit: u8) -> Result<u8, FormError> {
    match digit {
        b'0'..=b'9' => Ok(digit - b'0'),
        b'a'..=b'f' => Ok(digit - b'a' + 10),
        b'A'..=b'F' => Ok(digit - b'A' + 10),
        _ => Err(FormError::MalformedEscape),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_and_percent_escapes_decode_to_utf8() {
        let form =
            Form::parse_body(b"username=Alex+Chen&scope=mcp%3Ause%20openid&name=%C3%A9").unwrap();

        assert_eq!(form.get("username"), Some("Alex Chen"));
        assert_eq!(form.get("scope"), Some("mcp:use openid"));
        assert_eq!(form.get("name"), Some("é"));
    }

    #[test]
    fn empty_values_and_bare_names_count_as_absent() {
        let form = Form::parse_body(b"scope=&totp&&grant_type=password").unwrap();

        assert_eq!(form.get("scope"), None);
        assert_eq!(form.get("totp"), None);
        assert!(!form.has("scope"));
        assert!(form.has("grant_type"));
    }

    #[test]
    fn repeated_parameter_is_refused_even_when_empty() {
        let err = Form::parse_body(b"grant_type=password&grant_type=").unwrap_err();

        assert_eq!(
            err,
            FormError::Repeated {
                name: "grant_type".to_owned()
            }
        );
        assert_eq!(err.to_string(), "parameter `grant_type` is repeated");
    }

    #[test]
    fn resource_and_audience_may_repeat() {
        let form = Form::parse_body(b"resource=a&audience=b&resource=c&resource=").unwrap();

        assert_eq!(form.all("resource"), ["a", "c"]);
        assert_eq!(form.all("audience"), ["b"]);
        assert!(form.all("scope").is_empty());
    }

    #[test]
    fn broken_escapes_and_invalid_utf8_are_refused() {
        assert_eq!(Form::parse_body(b"a=%4"), Err(FormError::MalformedEscape));
        assert_eq!(Form::parse_body(b"a=%g1"), Err(FormError::MalformedEscape));
        assert_eq!(Form::parse_body(b"a=%ff"), Err(FormError::InvalidUtf8));
        assert_eq!(
            Form::parse_body(&[b'a', b'=', 0xc3]),
            Err(FormError::InvalidUtf8)
        );
    }

    #[test]
    fn oversized_token_field_is_refused() {
        let body = format!("subject_token={}", "a".repeat(MAX_TOKEN_FIELD_BYTES + 1));

        let err = Form::parse_body(body.as_bytes()).unwrap_err();

        assert_eq!(
            err,
            FormError::TokenTooLarge {
                name: "subject_token",
                limit: MAX_TOKEN_FIELD_BYTES
            }
        );
    }

    #[test]
    fn media_type_is_matched_without_parameters_or_case() {
        let body = b"a=b";

        assert!(Form::parse(Some("application/x-www-form-urlencoded"), body).is_ok());
        assert!(
            Form::parse(
                Some("Application/X-WWW-Form-URLEncoded; charset=UTF-8"),
                body
            )
            .is_ok()
        );
        assert_eq!(
            Form::parse(Some("application/json"), body),
            Err(FormError::UnsupportedMediaType)
        );
        assert_eq!(
            Form::parse(None, body),
            Err(FormError::UnsupportedMediaType)
        );
    }

    #[test]
    fn debug_output_lists_names_but_never_values() {
        let form = Form::parse_body(b"password=hunter2&username=EMP001").unwrap();

        assert_eq!(format!("{form:?}"), "{\"password\", \"username\"}");
    }
}
