//! Overload protection around a role's router: at most `max_in_flight` requests are handled at
//! once, one more is answered 503 at once instead of waiting, and a request that takes longer
//! than `request_timeout` is answered 503 too. Both answers carry `Retry-After: 1` and the
//! OAuth-style error body every role uses.
//!
//! The limits wrap the router as one service, so the bound is shared by every route and every
//! connection of the role (a layer applied with `Router::layer` would be one per route).

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tower::BoxError;
use tower::ServiceBuilder;
use tower::load_shed::error::Overloaded;
use tower::timeout::error::Elapsed;

use super::Role;
use crate::config::ServerLimits;

/// `router` behind the concurrency bound, load shedding and request deadline of `limits`.
pub fn guard(role: Role, router: Router, limits: &ServerLimits) -> Router {
    let limits = *limits;
    let refuse = move |error: BoxError| async move { refusal(role, &limits, &error) };
    let guarded = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(refuse))
        .load_shed()
        .concurrency_limit(limits.max_in_flight.get())
        .timeout(limits.request_timeout())
        .service(router);
    Router::new().fallback_service(guarded)
}

/// Why the limits refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// Every slot was taken.
    Overloaded,
    /// The request outlived its deadline.
    TimedOut,
}

/// The answer to a request the limits refused. Tower's errors are boxed; anything but its
/// overload and timeout errors cannot come out of an infallible router, and is answered as a
/// time-out would be rather than with a 500.
fn refusal(role: Role, limits: &ServerLimits, error: &BoxError) -> Response {
    let refusal = if error.is::<Overloaded>() {
        Refusal::Overloaded
    } else {
        if !error.is::<Elapsed>() {
            tracing::error!(role = role.name(), error = %error, "unexpected middleware error");
        }
        Refusal::TimedOut
    };
    let description = match refusal {
        Refusal::Overloaded => {
            tracing::info!(
                role = role.name(),
                limits.max_in_flight = limits.max_in_flight.get(),
                "request shed: every slot is taken"
            );
            format!(
                "the {} is handling its limit of {} requests; retry shortly",
                role.name(),
                limits.max_in_flight
            )
        }
        Refusal::TimedOut => {
            let seconds = limits.request_timeout().as_secs();
            tracing::warn!(
                role = role.name(),
                limits.timeout_s = seconds,
                "request timed out"
            );
            format!("the request did not complete within {seconds} s")
        }
    };
    unavailable(&description)
}

/// 503 `temporarily_unavailable` with `Retry-After` (RFC 9110 §15.6.4, §10.2.3).
fn unavailable(description: &str) -> Response {
    let body = json!({
        "error": "temporarily_unavailable",
        "error_description": description,
    });
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    response
}

/// How long a refused client is asked to wait: requests are short, so a slot is soon free.
const RETRY_AFTER_SECONDS: u64 = 1;
