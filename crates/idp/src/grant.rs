//! Grant types, token type URNs and scope-set arithmetic: the small vocabularies the token
//! endpoint parses.

use std::fmt;
use std::str::FromStr;

use scopegate_token::{Scope, Scopes};
use thiserror::Error;

/// The `grant_type` URN of RFC 8693 token exchange.
pub const TOKEN_EXCHANGE_URN: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// The RFC 8693 §3 token type URN of an access token, the only type this server exchanges.
pub const ACCESS_TOKEN_TYPE_URN: &str = "urn:ietf:params:oauth:token-type:access_token";

/// The `acr` of a password-only login (Okta's value).
pub const ACR_PASSWORD: &str = "urn:okta:loa:1fa:pwd";

/// The `acr` of a login with password and a one-time code (Okta's value).
pub const ACR_MFA: &str = "urn:okta:loa:2fa:any";

/// A grant type this server implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GrantType {
    /// Resource owner password credentials (RFC 6749 §4.3), development mode only.
    Password,
    /// Client credentials (RFC 6749 §4.4).
    ClientCredentials,
    /// Refresh token (RFC 6749 §6), rotating.
    RefreshToken,
    /// Token exchange (RFC 8693).
    TokenExchange,
}

/// A `grant_type` value this server does not implement.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unsupported grant type `{grant}`")]
pub struct UnknownGrantType {
    /// The value as sent.
    pub grant: String,
}

impl GrantType {
    /// Every grant, in the order discovery documents list them.
    pub const ALL: [Self; 4] = [
        Self::Password,
        Self::ClientCredentials,
        Self::RefreshToken,
        Self::TokenExchange,
    ];

    /// The wire name of the grant.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::ClientCredentials => "client_credentials",
            Self::RefreshToken => "refresh_token",
            Self::TokenExchange => TOKEN_EXCHANGE_URN,
        }
    }
}

impl FromStr for GrantType {
    type Err = UnknownGrantType;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|grant| grant.as_str() == value)
            .ok_or_else(|| UnknownGrantType {
                grant: value.to_owned(),
            })
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// The first scope of `requested` that `allowed` lacks, if any.
#[must_use]
pub fn first_missing<'a>(requested: &'a Scopes, allowed: &Scopes) -> Option<&'a Scope> {
    requested
        .iter()
        .find(|scope| !allowed.contains(scope.as_str()))
}

/// The scopes present in both sets.
#[must_use]
pub fn intersection(left: &Scopes, right: &Scopes) -> Scopes {
    left.iter()
        .filter(|scope| right.contains(scope.as_str()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_types_round_trip_through_their_wire_names() {
        for grant in GrantType::ALL {
            assert_eq!(grant.as_str().parse::<GrantType>(), Ok(grant));
        }
    }

    #[test]
    fn unknown_grant_type_is_named_in_the_error() {
        let err = "authorization_code".parse::<GrantType>().unwrap_err();

        assert_eq!(
            err.to_string(),
            "unsupported grant type `authorization_code`"
        );
    }

    #[test]
    fn first_missing_names_the_widening_scope() {
        let asked = Scopes::from_space_separated("mcp:use payroll:write").unwrap();
        let held = Scopes::from_space_separated("mcp:use openid").unwrap();

        assert_eq!(
            first_missing(&asked, &held).map(Scope::as_str),
            Some("payroll:write")
        );
        assert_eq!(intersection(&asked, &held).to_string(), "mcp:use");
    }
}
