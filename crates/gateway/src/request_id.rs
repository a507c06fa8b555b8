//! Request ids: taken from a well-formed incoming `x-request-id` (so the MCP server's records
//! and the API's join), otherwise generated; echoed on every answer and written to the audit
//! record.

use std::fmt;

use axum::http::HeaderMap;

/// The header carrying the request id, both ways.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The longest incoming id accepted.
const MAX_LEN: usize = 128;

/// A request id: 1 to 128 characters of `A-Z a-z 0-9 . _ : -`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RequestId(String);

impl RequestId {
    /// The id from `headers` when there is exactly one well-formed `x-request-id`, else a new
    /// random one.
    #[must_use]
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let mut values = headers.get_all(REQUEST_ID_HEADER).iter();
        let (Some(value), None) = (values.next(), values.next()) else {
            return Self::generate();
        };
        value
            .to_str()
            .ok()
            .and_then(Self::parse)
            .unwrap_or_else(Self::generate)
    }

    /// `text` as a request id, if well-formed.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-');
        let valid = !text.is_empty() && text.len() <= MAX_LEN && text.bytes().all(allowed);
        valid.then(|| Self(text.to_owned()))
    }

    /// A new random id (a version 4 UUID).
    #[must_use]
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn well_formed_incoming_id_is_kept() {
        let mut headers = HeaderMap::new();
        headers.insert(
            REQUEST_ID_HEADER,
            HeaderValue::from_static("mcp:7f3a-1.2_x"),
        );

        assert_eq!(RequestId::from_headers(&headers).as_str(), "mcp:7f3a-1.2_x");
    }

    #[test]
    fn repeated_or_overlong_ids_are_replaced() {
        let mut repeated = HeaderMap::new();
        repeated.append(REQUEST_ID_HEADER, HeaderValue::from_static("a"));
        repeated.append(REQUEST_ID_HEADER, HeaderValue::from_static("b"));

        assert_eq!(RequestId::from_headers(&repeated).as_str().len(), 36);
        assert_eq!(RequestId::parse(&"x".repeat(129)), None);
        assert_eq!(RequestId::parse(""), None);
    }
}
