//! Discovery: RFC 8414 authorization server metadata (served identically at the OpenID
//! Connect path too, as Okta does) and the JWKS.

use axum::Json;
use axum::extract::State;
use axum::http::header::{self, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::grant::{ACR_MFA, ACR_PASSWORD, GrantType};
use crate::state::IdpState;

/// The metadata document; both well-known paths serve exactly this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Metadata {
    /// The issuer identifier.
    pub issuer: String,
    /// The token endpoint.
    pub token_endpoint: String,
    /// The JWKS endpoint.
    pub jwks_uri: String,
    /// The RFC 7662 introspection endpoint.
    pub introspection_endpoint: String,
    /// The RFC 7009 revocation endpoint.
    pub revocation_endpoint: String,
    /// The grants: `password` only in development mode.
    pub grant_types_supported: Vec<&'static str>,
    /// Client authentication at the token endpoint.
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    /// Client authentication at the introspection endpoint (confidential clients only).
    pub introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    /// Client authentication at the revocation endpoint.
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    /// Every scope some client may obtain.
    pub scopes_supported: Vec<String>,
    /// The `acr` values tokens carry (RFC 9470 §7).
    pub acr_values_supported: Vec<&'static str>,
    /// Response types of the authorization endpoint: none, as this server has no such endpoint.
    pub response_types_supported: Vec<&'static str>,
}

impl Metadata {
    /// The metadata of the IdP behind `state`.
    #[must_use]
    pub fn of(state: &IdpState) -> Self {
        let config = state.config();
        let issuer = &config.issuer;
        let grant_types_supported = GrantType::ALL
            .into_iter()
            .filter(|grant| *grant != GrantType::Password || config.development_mode)
            .map(GrantType::as_str)
            .collect();
        Self {
            issuer: issuer.as_str().to_owned(),
            token_endpoint: issuer.endpoint("/oauth2/v1/token"),
            jwks_uri: issuer.endpoint("/oauth2/v1/keys"),
            introspection_endpoint: issuer.endpoint("/oauth2/v1/introspect"),
            revocation_endpoint: issuer.endpoint("/oauth2/v1/revoke"),
            grant_types_supported,
            token_endpoint_auth_methods_supported: vec![
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            introspection_endpoint_auth_methods_supported: vec![
                "client_secret_basic",
                "client_secret_post",
            ],
            revocation_endpoint_auth_methods_supported: vec![
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            scopes_supported: state.directory().all_scopes().into_iter().collect(),
            acr_values_supported: vec![ACR_PASSWORD, ACR_MFA],
            response_types_supported: Vec::new(),
        }
    }
}

/// `GET /.well-known/oauth-authorization-server` and `/.well-known/openid-configuration`.
pub(super) async fn metadata(State(state): State<IdpState>) -> Json<Metadata> {
    Json(Metadata::of(&state))
}

/// `GET /oauth2/v1/keys`: the active key and every retired key still within its grace period.
pub(super) async fn keys(State(state): State<IdpState>) -> Response {
    let mut response = Json(state.keys().jwks()).into_response();
    // Verifiers re-fetch on an unknown `kid`, so a short cache lifetime is enough.
    let cache = HeaderValue::from_static("public, max-age=300");
    response.headers_mut().insert(header::CACHE_CONTROL, cache);
    response
}
