//! What an IdP instance is configured with: its issuer URL, whether development-only
//! features are on, token lifetimes, and the directory.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use thiserror::Error;

use crate::directory::Directory;
use crate::rate::RateLimit;

/// The issuer of the default local deployment.
pub const DEFAULT_ISSUER: &str = "http://127.0.0.1:9000";

/// The configuration of one IdP.
#[derive(Debug, Clone)]
pub struct IdpConfig {
    /// The issuer identifier: the `iss` of every token and the base of every endpoint URL.
    pub issuer: Issuer,
    /// Development mode turns on the password grant (RFC 9700 §2.4 forbids it elsewhere).
    pub development_mode: bool,
    /// Default token lifetimes.
    pub lifetimes: Lifetimes,
    /// Users, clients and resources.
    pub directory: Directory,
    /// Requests per client at the token endpoint.
    pub token_rate: RateLimit,
    /// Password-grant attempts per username.
    pub password_rate: RateLimit,
}

impl IdpConfig {
    /// A development-mode configuration with default lifetimes.
    #[must_use]
    pub fn development(issuer: Issuer, directory: Directory) -> Self {
        Self {
            issuer,
            development_mode: true,
            lifetimes: Lifetimes::default(),
            directory,
            token_rate: RateLimit::PER_CLIENT,
            password_rate: RateLimit::PER_USER_PASSWORD,
        }
    }
}

/// Token lifetimes that apply unless a client's own settings say otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// Access tokens from the password and refresh grants (design note: one hour).
    pub user_access_token: Duration,
    /// Access tokens from the client-credentials grant.
    pub service_access_token: Duration,
    /// Each refresh token, counted from its issue (every rotation starts a new period).
    pub refresh_token: Duration,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            user_access_token: Duration::from_secs(3600),
            service_access_token: Duration::from_secs(3600),
            refresh_token: Duration::from_secs(8 * 3600),
        }
    }
}

/// An issuer identifier: an `http` or `https` URL without query, fragment or trailing slash
/// (RFC 8414 §2; plain `http` is accepted because this is a development server).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Issuer(String);

/// A string that cannot be an issuer identifier.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("issuer `{value}` must be an http or https URL without query, fragment or trailing slash")]
pub struct InvalidIssuer {
    /// The rejected value.
    pub value: String,
}

impl Issuer {
    /// The identifier as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The URL of an endpoint at `path` (which starts with `/`).
    #[must_use]
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }
}

impl FromStr for Issuer {
    type Err = InvalidIssuer;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let rest = value
            .strip_prefix("https://")
            .or_else(|| value.strip_prefix("http://"));
        let valid = rest.is_some_and(|rest| {
            !rest.is_empty()
                && !rest.starts_with('/')
                && !rest.ends_with('/')
                && !rest.contains(['?', '#'])
                && !rest.chars().any(|ch| ch.is_whitespace() || ch.is_control())
        });
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err(InvalidIssuer {
                value: value.into(),
            })
        }
    }
}

impl fmt::Display for Issuer {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl fmt::Debug for Issuer {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Issuer({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_accepts_http_and_https_hosts_with_optional_path() {
        assert!("http://127.0.0.1:9000".parse::<Issuer>().is_ok());
        assert!("https://idp.example.com/tenant".parse::<Issuer>().is_ok());
    }

    #[test]
    fn issuer_with_trailing_slash_query_or_other_scheme_is_refused() {
        for value in [
            "http://127.0.0.1:9000/",
            "https://a.test?x=1",
            "ftp://a.test",
            "http://",
        ] {
            let err = value.parse::<Issuer>().unwrap_err();
            assert_eq!(
                err,
                InvalidIssuer {
                    value: value.to_owned()
                }
            );
        }
    }

    #[test]
    fn endpoint_urls_hang_off_the_issuer() {
        let issuer: Issuer = DEFAULT_ISSUER.parse().unwrap();

        assert_eq!(
            issuer.endpoint("/oauth2/v1/token"),
            "http://127.0.0.1:9000/oauth2/v1/token"
        );
    }
}
