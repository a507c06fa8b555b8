//! The bearer-token gate in front of `/mcp`: the MCP server is an OAuth resource server, and no
//! MCP message is dispatched before the token passed it.
//!
//! A token is accepted when it comes in the `Authorization` header (RFC 6750 §2.1; never in
//! the query string, RFC 6750 §2.3 and the MCP authorization specification), verifies against
//! the identity provider's keys, names this server's resource URL in `aud` (RFC 8707 §2) and
//! carries the `mcp:use` scope. Every refusal carries a `WWW-Authenticate` challenge pointing
//! at the protected resource metadata (RFC 9728 §5.1), so a client can find where to get a
//! token. The accepted token travels on only inside this crate, as the [`Caller`]; the header
//! itself is removed before the MCP transport sees the request.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use scopegate_token::{VerifiedToken, VerifyError};
use serde_json::json;

use crate::challenge;
use crate::config::REQUIRED_SCOPE;
use crate::secret::BearerToken;
use crate::state::McpState;

/// Who is calling: the verified token and its text, which is needed only as the subject of
/// the on-behalf-of exchange.
#[derive(Debug)]
pub(crate) struct Caller {
    pub(crate) token: Arc<VerifiedToken>,
    pub(crate) bearer: BearerToken,
}

/// Why a presented token is not accepted.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No bearer credentials (RFC 6750 §3.1: answered without an error code).
    #[error("this endpoint needs a bearer access token")]
    MissingToken,
    /// An `access_token` query parameter (RFC 6750 §2.3 is not supported, by design).
    #[error(
        "access tokens are not accepted in the query string; send them in the Authorization \
         header"
    )]
    TokenInQuery,
    /// The `Authorization` header is repeated or not text.
    #[error("the Authorization header {reason}")]
    MalformedAuthorization {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The token failed verification: malformed, bad signature, untrusted issuer, expired, or
    /// issued for another resource.
    #[error("{0}")]
    InvalidToken(#[source] VerifyError),
    /// The issuer's keys could not be fetched to verify the token.
    #[error("the token issuer's keys are unavailable; try again shortly")]
    KeysUnavailable(#[source] VerifyError),
    /// The token is valid but lacks the scope this server requires.
    #[error("the token lacks the `{required}` scope")]
    InsufficientScope {
        /// The scope required.
        required: &'static str,
    },
}

impl AuthError {
    /// The single mapping of each refusal to its status and RFC 6750 §3.1 error code.
    fn class(&self) -> (StatusCode, Option<&'static str>) {
        match self {
            Self::MissingToken => (StatusCode::UNAUTHORIZED, None),
            Self::TokenInQuery | Self::MalformedAuthorization { .. } => {
                (StatusCode::BAD_REQUEST, Some("invalid_request"))
            }
            Self::InvalidToken(_) => (StatusCode::UNAUTHORIZED, Some("invalid_token")),
            Self::KeysUnavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                Some("temporarily_unavailable"),
            ),
            Self::InsufficientScope { .. } => (StatusCode::FORBIDDEN, Some("insufficient_scope")),
        }
    }

    /// The answer: status, challenge and a small JSON body saying the same.
    pub(crate) fn to_response(&self, metadata_url: &str) -> Response {
        let (status, code) = self.class();
        let description = self.to_string();
        let body = json!({
            "error": code.unwrap_or("unauthorized"),
            "error_description": description,
        });
        let mut response = (status, Json(body)).into_response();

        let headers = response.headers_mut();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
        } else if let Ok(value) = HeaderValue::from_str(&self.challenge(code, metadata_url)) {
            headers.insert(WWW_AUTHENTICATE, value);
        }
        response
    }

    /// RFC 6750 §3 with RFC 9728 §5.1: the error (none when no token was sent), the scope
    /// needed, and where the metadata is.
    fn challenge(&self, code: Option<&str>, metadata_url: &str) -> String {
        let description = self.to_string();
        let mut params = Vec::with_capacity(4);
        if let Some(code) = code {
            params.push(("error", code));
            params.push(("error_description", description.as_str()));
        }
        params.push(("resource_metadata", metadata_url));
        params.push(("scope", REQUIRED_SCOPE));
        challenge::bearer(&params)
    }
}

/// Axum middleware: admits a request with an acceptable token, answers any other at once.
pub(crate) async fn require_bearer(
    State(state): State<McpState>,
    mut request: Request,
    next: Next,
) -> Response {
    match admit(&state, &mut request).await {
        Ok(()) => next.run(request).await,
        Err(error) => {
            match &error {
                AuthError::MissingToken => tracing::debug!("request without a bearer token"),
                AuthError::KeysUnavailable(cause) => {
                    tracing::warn!(error = %cause, "issuer keys unavailable; token not checked");
                }
                refused => tracing::info!(reason = %refused, "bearer token refused"),
            }
            error.to_response(&state.inner.metadata_url)
        }
    }
}

/// Verifies `bearer` as a token for this server: signature, issuer, times, audience, scope.
pub(crate) async fn authenticate(
    state: &McpState,
    bearer: &BearerToken,
) -> Result<Arc<VerifiedToken>, AuthError> {
    let verified = state
        .inner
        .verifier
        .verify_refreshing_keys(bearer.expose())
        .await
        .map_err(|error| match error {
            VerifyError::KeyFetch { .. } => AuthError::KeysUnavailable(error),
            other => AuthError::InvalidToken(other),
        })?;
    if !verified.claims().scope.contains(REQUIRED_SCOPE) {
        return Err(AuthError::InsufficientScope {
            required: REQUIRED_SCOPE,
        });
    }
    Ok(verified)
}

async fn admit(state: &McpState, request: &mut Request) -> Result<(), AuthError> {
    if has_query_token(request.uri().query()) {
        return Err(AuthError::TokenInQuery);
    }
    let bearer = bearer_token(request.headers())?;
    let token = authenticate(state, &bearer).await?;

    // From here on the token exists only as the Caller: the transport never sees the header.
    request.headers_mut().remove(AUTHORIZATION);
    request
        .extensions_mut()
        .insert(Arc::new(Caller { token, bearer }));
    Ok(())
}

/// Whether the query string carries an `access_token` parameter (RFC 6750 §2.3).
fn has_query_token(query: Option<&str>) -> bool {
    query.is_some_and(|query| {
        form_urlencoded::parse(query.as_bytes()).any(|(name, _)| name == "access_token")
    })
}

/// The bearer token of the `Authorization` header (RFC 6750 §2.1).
fn bearer_token(headers: &HeaderMap) -> Result<BearerToken, AuthError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(AuthError::MissingToken);
    };
    if values.next().is_some() {
        return Err(AuthError::MalformedAuthorization {
            reason: "is repeated",
        });
    }
    let Ok(text) = value.to_str() else {
        return Err(AuthError::MalformedAuthorization {
            reason: "is not visible ASCII text",
        });
    };
    // RFC 9110 §11.1: the scheme name is case-insensitive; another scheme is no bearer token.
    let Some((scheme, token)) = text.split_once(' ') else {
        return Err(AuthError::MissingToken);
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::MissingToken);
    }
    Ok(BearerToken::new(token.trim_matches(' ')))
}

#[cfg(test)]
mod tests {
    use super::*;

    const METADATA: &str = "http://127.0.0.1:8001/.well-known/oauth-protected-resource/mcp";

    fn challenge_of(error: &AuthError) -> (StatusCode, String) {
        let response = error.to_response(METADATA);
        let header = response
            .headers()
            .get(WWW_AUTHENTICATE)
            .map(|value| value.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (response.status(), header)
    }

    #[test]
    fn a_missing_token_is_challenged_without_an_error_code() {
        assert_eq!(
            challenge_of(&AuthError::MissingToken),
            (
                StatusCode::UNAUTHORIZED,
                format!("Bearer resource_metadata=\"{METADATA}\", scope=\"mcp:use\"")
            )
        );
    }

    #[test]
    fn a_token_without_the_scope_gets_403_insufficient_scope() {
        let error = AuthError::InsufficientScope {
            required: REQUIRED_SCOPE,
        };

        assert_eq!(
            challenge_of(&error),
            (
                StatusCode::FORBIDDEN,
                format!(
                    "Bearer error=\"insufficient_scope\", error_description=\"the token lacks \
                     the `mcp:use` scope\", resource_metadata=\"{METADATA}\", scope=\"mcp:use\""
                )
            )
        );
    }

    #[test]
    fn query_tokens_are_found_whatever_else_the_query_holds() {
        assert!(has_query_token(Some("a=1&access_token=x")));
        assert!(!has_query_token(Some("token=x")));
        assert!(!has_query_token(None));
    }

    #[test]
    fn the_authorization_header_must_be_one_bearer_credential() {
        let headers = |values: &[&str]| {
            let mut map = HeaderMap::new();
            for value in values {
                map.append(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
            }
            map
        };

        let token = bearer_token(&headers(&["bearer abc"])).unwrap();

        assert_eq!(token.expose(), "abc");
        assert!(matches!(
            bearer_token(&headers(&["Basic abc"])),
            Err(AuthError::MissingToken)
        ));
        assert!(matches!(
            bearer_token(&headers(&["Bearer a", "Bearer b"])),
            Err(AuthError::MalformedAuthorization { .. })
        ));
    }
}
