//! The token steps of the pipeline: reading the bearer token, the token-kind gate, the audience
//! check, and the policy subject built from verified claims.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use scopegate_policy::{PrincipalType, Subject};
use scopegate_token::{Claims, Scope};

use crate::error::ApiError;

/// The scope of a token meant only for the MCP server.
pub const MCP_SCOPE: &str = "mcp:use";

/// The bearer token of the `Authorization` header (RFC 6750 §2.1).
///
/// # Errors
///
/// [`ApiError::MissingToken`] without a header or with another scheme (no bearer credentials),
/// and [`ApiError::MalformedAuthorization`] for a repeated header or one that is not text.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(ApiError::MissingToken);
    };
    if values.next().is_some() {
        return Err(ApiError::MalformedAuthorization {
            reason: "is repeated",
        });
    }
    let Ok(text) = value.to_str() else {
        return Err(ApiError::MalformedAuthorization {
            reason: "is not visible ASCII text",
        });
    };
    // RFC 6750 §2.1: `Bearer` 1*SP b64token; the scheme name is case-insensitive (RFC 9110
    // §11.1). A malformed b64token is left to the verifier, which answers invalid_token.
    let Some((scheme, token)) = text.split_once(' ') else {
        return Err(ApiError::MissingToken);
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::MissingToken);
    }
    Ok(token.trim_matches(' '))
}

/// The design note's token-kind gate: a token whose only scope is `mcp:use` is good at the
/// MCP server only, unless its current actor (RFC 8693 §4.1: the outermost `act`) is a
/// registered MCP server, which obtained it by on-behalf-of exchange.
pub(crate) fn is_mcp_token_used_directly(claims: &Claims, mcp_actors: &[String]) -> bool {
    let only_mcp_scope = claims.scope.len() == 1 && claims.scope.contains(MCP_SCOPE);
    let through_mcp = claims
        .act
        .as_ref()
        .is_some_and(|actor| mcp_actors.contains(&actor.sub));
    only_mcp_scope && !through_mcp
}

/// The policy subject of verified claims.
///
/// # Errors
///
/// [`ApiError::UnusableClaim`] when `principal_type` is missing or unknown.
pub(crate) fn subject(claims: &Claims) -> Result<Subject, ApiError> {
    let principal_type = claims
        .principal_type
        .and_then(|kind| kind.as_str().parse::<PrincipalType>().ok())
        .ok_or(ApiError::UnusableClaim {
            claim: "principal_type",
        })?;
    Ok(Subject {
        sub: claims.sub.clone(),
        principal_type,
        groups: claims.groups.clone(),
        scopes: claims
            .scope
            .iter()
            .map(Scope::as_str)
            .map(str::to_owned)
            .collect(),
        amr: claims.amr.clone(),
        acr: claims.acr.clone(),
        auth_time: claims.auth_time.map(|at| at.as_unix_seconds()),
        // RFC 8693 §4.1: only the current actor counts; nested actors are informational.
        actor: claims.act.as_ref().map(|actor| actor.sub.clone()),
        // Filled in by the pipeline when the issuer was asked (RFC 7662).
        token_active: None,
    })
}
