//! Every way an actions API request can fail, and the one place that turns each into a status,
//! a `WWW-Authenticate` challenge, a JSON body and an audit result.
//!
//! [`ApiError::classify`] is an exhaustive `match` without a catch-all arm: a new variant does
//! not compile until someone decides its answer.

use axum::Json;
use axum::http::header::{ALLOW, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use scopegate_audit::{AuditError, Outcome};
use scopegate_policy::{PolicyName, Reason};
use scopegate_token::VerifyError;
use serde_json::{Map, Value, json};

use crate::args::ArgumentError;
use crate::connector::ConnectorError;
use crate::introspect::IntrospectionError;
use crate::request_id::{REQUEST_ID_HEADER, RequestId};

/// The body message of the token-kind gate, exactly as the design note's demo shows it.
pub const MCP_TOKEN_MESSAGE: &str = "Token scope 'mcp:use' not valid for direct API access";

/// How long a client should wait before retrying a 503.
const RETRY_AFTER_SECONDS: &str = "1";

/// Why a request was not performed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No `Authorization: Bearer` credentials (RFC 6750 §3.1: answered without an error code).
    #[error("this request needs a bearer access token")]
    MissingToken,
    /// The `Authorization` header is repeated or is not valid text.
    #[error("the Authorization header {reason}")]
    MalformedAuthorization {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The token failed verification: malformed, bad signature, untrusted issuer, expired.
    #[error("{0}")]
    InvalidToken(#[source] VerifyError),
    /// The issuer's keys could not be fetched to verify the token.
    #[error("the token issuer's keys are unavailable; try again shortly")]
    KeysUnavailable(#[source] VerifyError),
    /// A claim the API needs is missing or holds an unknown value.
    #[error("the token's `{claim}` claim is missing or not understood")]
    UnusableClaim {
        /// The claim.
        claim: &'static str,
    },
    /// An MCP-only token presented outside the MCP server (design note, demo step 3).
    #[error("{MCP_TOKEN_MESSAGE}")]
    McpTokenOutsideMcp,
    /// The token is meant for another resource (RFC 9068 §4).
    #[error("the token's audience does not include this API (`{expected}`)")]
    WrongAudience {
        /// The API's own identifier.
        expected: String,
    },
    /// The identity provider says the token is no longer active (RFC 7662).
    #[error("the token is no longer active")]
    TokenInactive,
    /// The revocation check could not be completed; the call fails closed.
    #[error("the token's revocation status cannot be checked; try again shortly")]
    IntrospectionUnavailable(#[source] IntrospectionError),
    /// No capability has this name.
    #[error("no capability `{name}`")]
    UnknownCapability {
        /// The name asked for, as received.
        name: String,
    },
    /// GET was used for a capability that changes data.
    #[error("`{capability}` changes data; call it with POST")]
    MethodNotAllowed {
        /// The capability.
        capability: String,
    },
    /// The arguments are malformed or violate the schema.
    #[error("{0}")]
    InvalidArguments(#[from] ArgumentError),
    /// The body is larger than the limit.
    #[error("the request body exceeds {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body could not be read.
    #[error("the request body could not be read")]
    UnreadableBody,
    /// Policy denies the call.
    #[error("access to `{capability}` is denied: {}", joined(.reasons))]
    Denied {
        /// The capability.
        capability: String,
        /// The deny policies that apply (empty for a default deny).
        policies: Vec<PolicyName>,
        /// Every reason.
        reasons: Vec<Reason>,
    },
    /// Policy would allow the call after a fresher or multi-factor login (RFC 9470).
    #[error("{}", step_up_summary(.reasons))]
    StepUp {
        /// The `max_age` challenge parameter.
        max_age: Option<u64>,
        /// The `acr_values` challenge parameter.
        acr_values: Vec<String>,
        /// The allow policies a step-up would satisfy.
        policies: Vec<PolicyName>,
        /// What the current login lacks.
        reasons: Vec<Reason>,
    },
    /// The connector did not perform the call.
    #[error("{0}")]
    Connector(#[from] ConnectorError),
    /// The audit log cannot take the record, so nothing is performed or answered (fail closed).
    #[error("the audit log is unavailable; try again shortly")]
    AuditUnavailable(#[source] Option<AuditError>),
    /// A fault on the API's side; the client sees a generic message and the request id.
    #[error("internal error")]
    Internal(#[source] AuditError),
}

/// How an error is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Class {
    pub(crate) status: StatusCode,
    /// The `error` member of the body (an RFC 6750 code where one applies).
    pub(crate) code: &'static str,
    /// The `WWW-Authenticate` challenge, if any.
    pub(crate) challenge: Challenge,
    /// The audit record's `result`.
    pub(crate) outcome: Outcome,
}

/// Which `WWW-Authenticate` challenge an answer carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Challenge {
    None,
    /// `Bearer` alone (RFC 6750 §3: no credentials, no error code).
    Bare,
    /// `Bearer error="<code>", error_description="…"`.
    Error,
    /// RFC 9470 §3: the error plus `max_age` and `acr_values`.
    StepUp,
}

impl ApiError {
    /// The single mapping of every error to its answer.
    pub(crate) fn classify(&self) -> Class {
        use Challenge as C;
        use Outcome as O;
        let class = |status, code, challenge, outcome| Class {
            status,
            code,
            challenge,
            outcome,
        };
        match self {
            Self::MissingToken => class(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                C::Bare,
                O::Refused,
            ),
            Self::MalformedAuthorization { .. } => class(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                C::Error,
                O::Refused,
            ),
            Self::InvalidToken(_)
            | Self::UnusableClaim { .. }
            | Self::WrongAudience { .. }
            | Self::TokenInactive => class(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                C::Error,
                O::Refused,
            ),
            Self::KeysUnavailable(_)
            | Self::IntrospectionUnavailable(_)
            | Self::AuditUnavailable(_) => class(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                C::None,
                O::Error,
            ),
            // RFC 6750 §3.1 reserves 403 for insufficient_scope; see docs/actions-api.md on why
            // a wrong-kind token is answered here before its audience is checked.
            Self::McpTokenOutsideMcp => class(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                C::Error,
                O::Denied,
            ),
            Self::UnknownCapability { .. } => class(
                StatusCode::NOT_FOUND,
                "unknown_capability",
                C::None,
                O::Refused,
            ),
            Self::MethodNotAllowed { .. } => class(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                C::None,
                O::Refused,
            ),
            Self::InvalidArguments(_) | Self::UnreadableBody => class(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                C::None,
                O::Refused,
            ),
            Self::BodyTooLarge { .. } => class(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                C::None,
                O::Refused,
            ),
            Self::Denied { .. } => {
                class(StatusCode::FORBIDDEN, "access_denied", C::None, O::Denied)
            }
            Self::StepUp { .. } => class(
                StatusCode::UNAUTHORIZED,
                "insufficient_user_authentication",
                C::StepUp,
                O::StepUp,
            ),
            Self::Connector(error) => match error {
                ConnectorError::NotFound { .. } => {
                    class(StatusCode::NOT_FOUND, "not_found", C::None, O::Error)
                }
                ConnectorError::Timeout { .. } => class(
                    StatusCode::GATEWAY_TIMEOUT,
                    "upstream_timeout",
                    C::None,
                    O::Error,
                ),
                ConnectorError::Status { .. }
                | ConnectorError::Transport { .. }
                | ConnectorError::Body { .. } => {
                    class(StatusCode::BAD_GATEWAY, "upstream_error", C::None, O::Error)
                }
            },
            Self::Internal(_) => class(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                C::None,
                O::Error,
            ),
        }
    }

    /// The client-visible description: the message, or a generic one for our own faults.
    pub(crate) fn description(&self, request_id: &RequestId) -> String {
        match self {
            Self::Internal(_) => {
                format!("internal error; quote request id `{request_id}` when reporting it")
            }
            other => other.to_string(),
        }
    }

    /// The answer sent to the client.
    pub(crate) fn to_response(&self, request_id: &RequestId) -> Response {
        let class = self.classify();
        let description = self.description(request_id);

        let mut body = Map::new();
        body.insert("error".to_owned(), class.code.into());
        body.insert("error_description".to_owned(), description.clone().into());
        self.add_details(&mut body);
        body.insert("request_id".to_owned(), request_id.as_str().into());

        let mut response = (class.status, Json(Value::Object(body))).into_response();
        let headers = response.headers_mut();
        if let Some(challenge) = self.challenge(class, &description) {
            headers.insert(WWW_AUTHENTICATE, challenge);
        }
        if class.status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECONDS));
        }
        if let Self::MethodNotAllowed { .. } = self {
            headers.insert(ALLOW, HeaderValue::from_static("POST"));
        }
        if let Ok(value) = HeaderValue::from_str(request_id.as_str()) {
            headers.insert(REQUEST_ID_HEADER, value);
        }
        response
    }

    /// The reasons given to the client and the audit record.
    pub(crate) fn reasons(&self) -> Vec<String> {
        match self {
            Self::Denied { reasons, .. } | Self::StepUp { reasons, .. } => {
                reasons.iter().map(ToString::to_string).collect()
            }
            Self::Internal(_) => vec!["internal error".to_owned()],
            other => vec![other.to_string()],
        }
    }

    /// The policies named in the answer and the audit record.
    pub(crate) fn policies(&self) -> &[PolicyName] {
        match self {
            Self::Denied { policies, .. } | Self::StepUp { policies, .. } => policies,
            _ => &[],
        }
    }

    fn add_details(&self, body: &mut Map<String, Value>) {
        match self {
            Self::InvalidArguments(error) => {
                if let Some(field) = error.field() {
                    body.insert("field".to_owned(), field.into());
                }
            }
            Self::Denied { .. } => {
                body.insert("reasons".to_owned(), json!(self.reasons()));
                body.insert("policies".to_owned(), json!(names(self.policies())));
            }
            Self::StepUp {
                max_age,
                acr_values,
                ..
            } => {
                body.insert("max_age".to_owned(), json!(max_age));
                body.insert("acr_values".to_owned(), json!(acr_values));
                body.insert("reasons".to_owned(), json!(self.reasons()));
                body.insert("policies".to_owned(), json!(names(self.policies())));
            }
            _ => {}
        }
    }

    fn challenge(&self, class: Class, description: &str) -> Option<HeaderValue> {
        let mut text = String::from("Bearer");
        match class.challenge {
            Challenge::None => return None,
            Challenge::Bare => {}
            Challenge::Error | Challenge::StepUp => {
                text.push_str(&format!(" error=\"{}\"", class.code));
                text.push_str(&format!(", error_description=\"{}\"", quoted(description)));
            }
        }
        if let Self::StepUp {
            max_age,
            acr_values,
            ..
        } = self
        {
            // RFC 9470 §3: max_age as a quoted non-negative integer, acr_values space-separated.
            if let Some(max_age) = max_age {
                text.push_str(&format!(", max_age=\"{max_age}\""));
            }
            if !acr_values.is_empty() {
                text.push_str(&format!(
                    ", acr_values=\"{}\"",
                    quoted(&acr_values.join(" "))
                ));
            }
        }
        HeaderValue::from_str(&text).ok()
    }
}

/// Text fit for an RFC 9110 quoted-string: printable ASCII, with `"` and `\` escaped.
fn quoted(text: &str) -> String {
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

fn names(policies: &[PolicyName]) -> Vec<&str> {
    policies.iter().map(PolicyName::as_str).collect()
}

fn joined(reasons: &[Reason]) -> String {
    let texts: Vec<String> = reasons.iter().map(ToString::to_string).collect();
    texts.join("; ")
}

/// One sentence saying what kind of login the challenge asks for.
fn step_up_summary(reasons: &[Reason]) -> &'static str {
    let stale = reasons.iter().any(|r| {
        matches!(
            r,
            Reason::AuthenticationTooOld { .. } | Reason::AuthTimeMissing { .. }
        )
    });
    let single_factor = reasons
        .iter()
        .any(|r| matches!(r, Reason::MfaMissing { .. }));
    match (stale, single_factor) {
        (true, true) => "a recent multi-factor login is required",
        (true, false) => "a more recent login is required",
        (false, true) => "a multi-factor login is required",
        (false, false) => "a stronger login is required",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_string_escapes_quotes_and_replaces_non_ascii() {
        assert_eq!(quoted("say \"hi\" \\ now…\n"), "say \\\"hi\\\" \\\\ now??");
    }

    #[test]
    fn every_503_carries_retry_after() {
        let request_id = RequestId::parse("r-1").unwrap();

        let response = ApiError::AuditUnavailable(None).to_response(&request_id);

        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[RETRY_AFTER], "1");
        assert_eq!(response.headers()[REQUEST_ID_HEADER], "r-1");
    }

    #[test]
    fn internal_error_hides_its_cause() {
        let request_id = RequestId::parse("r-2").unwrap();
        let error = ApiError::Internal(AuditError::TooLarge {
            bytes: 70_000,
            limit: 65_536,
        });

        assert_eq!(
            error.description(&request_id),
            "internal error; quote request id `r-2` when reporting it"
        );
        assert_eq!(error.reasons(), ["internal error"]);
    }
}
