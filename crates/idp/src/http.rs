//! The HTTP surface: the router at Okta's org-server paths, reading OAuth form requests, and
//! the shape of every success and error response.
//!
//! Each endpoint runs inside one span with `skip_all` semantics (only ids and names are
//! recorded, never a parameter value), answers every client mistake with its precise OAuth
//! error, and every fault of ours with 503 and a request id the client can quote.

pub(crate) mod discovery;
mod exchange;
mod health;
mod introspect;
mod revoke;
mod token;

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use serde::Serialize;
use tracing::{error, info};

use crate::error::IdpError;
use crate::exchange::TargetError;
use crate::form::Form;
use crate::records::{self, Trail};
use crate::state::IdpState;

/// The largest request body any endpoint reads.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// The header carrying the request id on every response.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The OAuth router: discovery, JWKS, token, introspection and revocation endpoints.
pub fn router(state: IdpState) -> Router {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::metadata).fallback(only_get),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::metadata).fallback(only_get),
        )
        .route("/oauth2/v1/keys", get(discovery::keys).fallback(only_get))
        .route("/healthz", get(health::healthz).fallback(only_get))
        .route("/readyz", get(health::readyz).fallback(only_get))
        .route(
            "/oauth2/v1/token",
            post(token::endpoint).fallback(only_post),
        )
        .route(
            "/oauth2/v1/introspect",
            post(introspect::endpoint).fallback(only_post),
        )
        .route(
            "/oauth2/v1/revoke",
            post(revoke::endpoint).fallback(only_post),
        )
        .with_state(state)
}

/// Per-request facts: the id the client sees and when handling began.
#[derive(Debug)]
pub(crate) struct RequestContext {
    pub(crate) id: String,
    pub(crate) started: Instant,
}

impl RequestContext {
    /// Takes the id from exactly one well-formed incoming `x-request-id` (1 to 128 of
    /// `A-Z a-z 0-9 . _ : -`, as the actions API accepts), so a caller's records and the IdP's
    /// join; otherwise a new random id.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        let mut values = headers.get_all(REQUEST_ID).iter();
        let incoming = match (values.next(), values.next()) {
            (Some(value), None) => value.to_str().ok().filter(|id| is_request_id(id)),
            _ => None,
        };
        let id = incoming.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
        Self {
            id,
            started: Instant::now(),
        }
    }
}

/// The peer's IP address, when the server recorded it on the request (`ConnectInfo`).
pub(crate) fn peer_address(request: &Request) -> Option<IpAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip())
}

/// An OAuth request body and the header client authentication may use.
pub(crate) struct OAuthRequest {
    pub(crate) form: Form,
    authorization: Option<HeaderValue>,
    authorization_count: usize,
}

impl OAuthRequest {
    /// The `Authorization` header's bytes; several headers count as malformed credentials.
    pub(crate) fn authorization(&self) -> Option<&[u8]> {
        match self.authorization_count {
            0 => None,
            1 => self.authorization.as_ref().map(HeaderValue::as_bytes),
            _ => Some(b"Basic"),
        }
    }

    /// A required parameter (RFC 6749 §3.2: empty counts as missing).
    pub(crate) fn required(&self, name: &'static str) -> Result<&str, IdpError> {
        self.form
            .get(name)
            .ok_or(IdpError::MissingParameter { name })
    }

    /// Every `resource` and `audience` value; each `resource` must be an absolute URI
    /// without a fragment (RFC 8707 §2).
    pub(crate) fn targets(&self) -> Result<Vec<String>, TargetError> {
        let mut targets = Vec::new();
        for resource in self.form.all("resource") {
            if !crate::directory::is_resource_indicator(resource) {
                return Err(TargetError::Malformed {
                    value: resource.to_owned(),
                });
            }
            targets.push(resource.to_owned());
        }
        targets.extend(self.form.all("audience").into_iter().map(str::to_owned));
        Ok(targets)
    }
}

/// Reads and parses a form request within [`BODY_LIMIT_BYTES`].
pub(crate) async fn read_form(request: Request) -> Result<OAuthRequest, IdpError> {
    let (parts, body) = request.into_parts();
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    // Refuse a wrong media type before reading the body at all.
    if !content_type.is_some_and(crate::form::is_form_media_type) {
        return Err(crate::form::FormError::UnsupportedMediaType.into());
    }
    let bytes = read_body(body).await?;
    let form = Form::parse_body(&bytes)?;
    let mut authorizations = parts.headers.get_all(header::AUTHORIZATION).iter();
    let authorization = authorizations.next().cloned();
    let authorization_count = usize::from(authorization.is_some()) + authorizations.count();
    Ok(OAuthRequest {
        form,
        authorization,
        authorization_count,
    })
}

/// A 200 JSON response that no cache may keep (RFC 6749 §5.1).
pub(crate) fn json_no_store(context: &RequestContext, body: &impl Serialize) -> Response {
    let mut response = match serde_json::to_vec(body) {
        Ok(bytes) => (StatusCode::OK, bytes).into_response(),
        // Bodies are our own plain data and always serialise; were one not to, this is a fault
        // of ours, which the IdP answers with 503 rather than 500.
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    no_store(headers, context);
    response
}

/// An empty 200 response that no cache may keep, as revocation answers.
pub(crate) fn empty_no_store(context: &RequestContext) -> Response {
    let mut response = StatusCode::OK.into_response();
    no_store(response.headers_mut(), context);
    response
}

/// The error response for `error`, logged once: client mistakes at INFO, our faults at
/// ERROR with their cause chain (which the client never sees).
pub(crate) fn error_response(context: &RequestContext, error: &IdpError) -> Response {
    let (status, code) = error.classify();
    let description = if status.is_server_error() {
        error!(error = %chain(error), "request failed on the server side");
        format!(
            "the server cannot handle the request now; request id `{}`",
            context.id
        )
    } else {
        info!(
            error = code.as_str(),
            description = %error,
            detail = error.operator_detail(),
            "request refused"
        );
        error.to_string()
    };
    let body = ErrorBody {
        error: code.as_str(),
        error_description: &description,
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let mut response = (status, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    no_store(headers, context);
    add_error_headers(headers, error, status);
    response
}

/// Answers a refused request: client mistakes are recorded as `token.refused` (a record
/// that cannot be written is logged, and the client still gets its precise error); faults of
/// ours are only logged, since the audit log may be what failed. Throttled requests are only
/// logged too, so that a flood cannot grow the audit log or queue fsyncs.
pub(crate) async fn refuse(
    state: &IdpState,
    context: &RequestContext,
    trail: &Trail,
    error: IdpError,
) -> Response {
    let throttled = matches!(error, IdpError::RateLimited { .. });
    if !error.is_internal() && !throttled {
        let event = records::refused(state, context, trail, &error);
        if let Err(audit_error) = state.record(event).await {
            error!(error = %chain(&audit_error), "cannot record a refusal in the audit log");
        }
    }
    error_response(context, &error)
}

/// Every cause of `error`, joined with colons.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
}

fn add_error_headers(headers: &mut HeaderMap, error: &IdpError, status: StatusCode) {
    if let IdpError::MethodNotAllowed { allow } = error {
        headers.insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    // RFC 6749 §5.2: a 401 names the authentication scheme the client should use.
    if status == StatusCode::UNAUTHORIZED {
        let challenge = HeaderValue::from_static("Basic realm=\"scopegate\"");
        headers.insert(header::WWW_AUTHENTICATE, challenge);
    }
    // RFC 7009 §2.2.1 and RFC 9110 §10.2.3: tell the client when to try again.
    if status == StatusCode::SERVICE_UNAVAILABLE {
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    // RFC 6585 §4: a throttled client is told how long to wait.
    if let IdpError::RateLimited {
        retry_after_seconds,
        ..
    } = error
    {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_seconds));
    }
}

fn no_store(headers: &mut HeaderMap, context: &RequestContext) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    if let Ok(id) = HeaderValue::from_str(&context.id) {
        headers.insert(REQUEST_ID, id);
    }
}

async fn read_body(body: Body) -> Result<axum::body::Bytes, IdpError> {
    match Limited::new(body, BODY_LIMIT_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<LengthLimitError>() => Err(IdpError::BodyTooLarge {
            limit: BODY_LIMIT_BYTES,
        }),
        Err(_) => Err(IdpError::BodyUnreadable),
    }
}

fn is_request_id(text: &str) -> bool {
    let allowed =
        |byte: u8| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b':' | b'-');
    (1..=128).contains(&text.len()) && text.bytes().all(allowed)
}

async fn only_post(headers: HeaderMap) -> Response {
    let context = RequestContext::from_headers(&headers);
    error_response(&context, &IdpError::MethodNotAllowed { allow: "POST" })
}

async fn only_get(headers: HeaderMap) -> Response {
    let context = RequestContext::from_headers(&headers);
    error_response(&context, &IdpError::MethodNotAllowed { allow: "GET" })
}
