//! `WWW-Authenticate` challenges of the Bearer scheme (RFC 6750 §3): reading the actions API's
//! step-up challenge (RFC 9470 §3) and writing the MCP server's own.

use std::fmt::Write as _;

/// The auth-params of one `Bearer` challenge, in the order sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BearerChallenge {
    params: Vec<(String, String)>,
}

impl BearerChallenge {
    /// Reads a header holding one `Bearer` challenge; `None` for another scheme or for text
    /// that is not `name=value` pairs (RFC 9110 §11.2: a value is a token or quoted-string).
    pub(crate) fn parse(header: &str) -> Option<Self> {
        let header = header.trim_start();
        let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
        // RFC 9110 §11.1: the scheme name is case-insensitive.
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let mut params = Vec::new();
        let mut input = rest.chars().peekable();
        loop {
            while input.next_if(|c| *c == ',' || c.is_whitespace()).is_some() {}
            if input.peek().is_none() {
                return Some(Self { params });
            }
            let name: String = std::iter::from_fn(|| input.next_if(|c| is_tchar(*c))).collect();
            while input.next_if(|c| c.is_whitespace()).is_some() {}
            if name.is_empty() || input.next() != Some('=') {
                return None;
            }
            while input.next_if(|c| c.is_whitespace()).is_some() {}
            let value = if input.next_if_eq(&'"').is_some() {
                read_quoted(&mut input)?
            } else {
                std::iter::from_fn(|| input.next_if(|c| is_tchar(*c))).collect()
            };
            params.push((name.to_ascii_lowercase(), value));
        }
    }

    /// The value of parameter `name` (names are case-insensitive).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(own, _)| own.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Writes `Bearer name="value", …` with every value as a quoted-string.
pub(crate) fn bearer(params: &[(&str, &str)]) -> String {
    let mut text = String::from("Bearer");
    for (index, (name, value)) in params.iter().enumerate() {
        let separator = if index == 0 { " " } else { ", " };
        let _ = write!(text, "{separator}{name}=\"{}\"", quoted(value));
    }
    text
}

/// Text fit for a quoted-string (RFC 9110 §5.6.4): printable ASCII, `"` and `\` escaped, any
/// other character replaced by `?` so a header can always be built.
pub(crate) fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    out
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~/:".contains(c)
}

/// The rest of a quoted-string after its opening quote, with quoted-pairs undone.
fn read_quoted(input: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<String> {
    let mut value = String::new();
    loop {
        match input.next()? {
            '"' => return Some(value),
            '\\' => value.push(input.next()?),
            c => value.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_actions_api_step_up_challenge() {
        let header = "Bearer error=\"insufficient_user_authentication\", \
                      error_description=\"a more recent login is required\", max_age=\"300\", \
                      acr_values=\"urn:okta:loa:2fa:any\"";

        let challenge = BearerChallenge::parse(header).unwrap();

        assert_eq!(
            challenge.get("error"),
            Some("insufficient_user_authentication")
        );
        assert_eq!(
            challenge.get("error_description"),
            Some("a more recent login is required")
        );
        assert_eq!(challenge.get("max_age"), Some("300"));
        assert_eq!(challenge.get("acr_values"), Some("urn:okta:loa:2fa:any"));
    }

    #[test]
    fn reads_token_values_escapes_and_any_case() {
        let challenge =
            BearerChallenge::parse(r#"bearer MAX_AGE=5 , error_description="say \"hi\"""#).unwrap();

        assert_eq!(challenge.get("max_age"), Some("5"));
        assert_eq!(challenge.get("error_description"), Some(r#"say "hi""#));
    }

    #[test]
    fn other_schemes_and_broken_parameters_are_not_challenges() {
        assert_eq!(BearerChallenge::parse("Basic realm=\"x\""), None);
        assert_eq!(BearerChallenge::parse("Bearer error"), None);
        assert_eq!(BearerChallenge::parse("Bearer error=\"open"), None);
        assert_eq!(
            BearerChallenge::parse("Bearer"),
            Some(BearerChallenge { params: vec![] })
        );
    }

    #[test]
    fn writes_quoted_parameters_that_read_back() {
        let header = bearer(&[
            ("error", "invalid_token"),
            ("error_description", "bad \"x\"\n"),
        ]);

        let challenge = BearerChallenge::parse(&header).unwrap();

        assert_eq!(
            header,
            r#"Bearer error="invalid_token", error_description="bad \"x\"?""#
        );
        assert_eq!(challenge.get("error_description"), Some(r#"bad "x"?"#));
    }
}
