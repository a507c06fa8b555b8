//! Secret-holding values: the MCP server's client secret at the identity provider and bearer
//! tokens. Their `Debug` output shows only their length, so neither can reach a log line by
//! accident; the text itself is handed out only inside this crate.

use std::fmt;

/// The MCP server's client secret at the identity provider (RFC 6749 §2.3.1).
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// Wraps a secret.
    #[must_use]
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientSecret(<{} bytes>)", self.0.len())
    }
}

/// A bearer access token as it travels (RFC 6750): the text of a JWT, never logged.
///
/// The MCP server holds two kinds: the token a client presented, which it only ever sends to
/// the identity provider as the `subject_token` of an on-behalf-of exchange, and the token that
/// exchange returns, which it only ever sends to the actions API.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken(String);

impl BearerToken {
    /// Wraps the text of a token, for example the value of `SCOPEGATE_TOKEN`.
    #[must_use]
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BearerToken(<{} bytes>)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_shows_only_the_length() {
        let secret = ClientSecret::new("mcp-server-dev-secret");
        let token = BearerToken::new("eyJhbGciOiJFUzI1NiJ9.e30.c2ln");

        assert_eq!(format!("{secret:?}"), "ClientSecret(<21 bytes>)");
        assert_eq!(format!("{token:?}"), "BearerToken(<29 bytes>)");
    }
}
