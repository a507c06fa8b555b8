//! The token endpoint's input as one byte string: optional header lines, a blank line, then
//! the body, as on the wire. Without a blank line the whole input is the body and the
//! request carries the form media type and no `Authorization` header.
//!
//! ```text
//! Authorization: Basic bWNwLXNlcnZlcjptY3Atc2VydmVyLWRldi1zZWNyZXQ=
//!
//! grant_type=client_credentials&scope=hr%3Aread
//! ```

use scopegate_idp::form::FORM_MEDIA_TYPE;

/// A token-endpoint request as the form parser and client authentication see it.
#[derive(Debug)]
pub struct RawRequest<'a> {
    /// The `Content-Type` value; `None` when the header lines leave it out.
    pub content_type: Option<&'a str>,
    /// The `Authorization` value, as bytes.
    pub authorization: Option<&'a [u8]>,
    /// The request body.
    pub body: &'a [u8],
}

impl<'a> RawRequest<'a> {
    /// Splits `data` into header lines and body.
    pub fn split(data: &'a [u8]) -> Self {
        let Some(blank) = data.windows(2).position(|pair| pair == b"\n\n") else {
            return Self {
                content_type: Some(FORM_MEDIA_TYPE),
                authorization: None,
                body: data,
            };
        };
        let (head, body) = (&data[..blank], &data[blank + 2..]);

        let mut request = Self {
            content_type: None,
            authorization: None,
            body,
        };
        for line in head.split(|byte| *byte == b'\n') {
            let Some(colon) = line.iter().position(|byte| *byte == b':') else {
                continue;
            };
            let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
            if name.eq_ignore_ascii_case(b"authorization") {
                request.authorization = Some(value);
            } else if name.eq_ignore_ascii_case(b"content-type") {
                // A header value that is not UTF-8 reaches the parser as no value at all.
                request.content_type = std::str::from_utf8(value).ok();
            }
        }
        request
    }
}
