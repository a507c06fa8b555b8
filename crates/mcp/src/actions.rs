//! Calling the actions API with an exchanged token, and reading its answer: the result, or the
//! refusal it decided, as `docs/actions-api.md` describes the bodies.
//!
//! The API is the enforcement point; this module only carries its verdict back in a form the
//! tool result can explain.

use std::time::Duration;

use reqwest::header::{ACCEPT, WWW_AUTHENTICATE};
use reqwest::{Client, StatusCode};
use rmcp::model::JsonObject;
use serde::Deserialize;
use serde_json::Value;

use crate::catalogue::ToolEntry;
use crate::challenge::BearerChallenge;
use crate::exchange::ApiToken;
use crate::http_body::{ReadError, read_limited};

/// The largest API answer read.
const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// The RFC 9470 §3 error code of a step-up challenge.
pub(crate) const STEP_UP_ERROR: &str = "insufficient_user_authentication";

/// Calls `/actions/{system}/{action}`.
pub(crate) struct ActionsClient {
    http: Client,
    base: String,
    timeout: Duration,
}

/// What a step-up challenge asks for (RFC 9470 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StepUp {
    /// The longest time since the last login that is accepted, in seconds.
    pub(crate) max_age: Option<u64>,
    /// The authentication context classes, one of which is needed, in order of preference.
    pub(crate) acr_values: Vec<String>,
    /// The API's one-line summary, such as `a more recent login is required`.
    pub(crate) description: Option<String>,
    /// What the current login lacks.
    pub(crate) reasons: Vec<String>,
    /// The policies a new login would satisfy.
    pub(crate) policies: Vec<String>,
}

/// Why the API did not return a result.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiFailure {
    /// 401 `insufficient_user_authentication`: a fresher or stronger login is needed.
    #[error("{}", .0.description.as_deref().unwrap_or("a stronger login is required"))]
    StepUp(StepUp),
    /// 403 `access_denied`: policy refuses the call.
    #[error("{description}")]
    Denied {
        /// The API's description.
        description: String,
        /// Every reason.
        reasons: Vec<String>,
        /// The deny policies that apply (none for a default deny).
        policies: Vec<String>,
    },
    /// 400: the arguments are malformed or break the schema.
    #[error("{description}")]
    InvalidArguments {
        /// The API's description.
        description: String,
        /// The argument at fault, when known.
        field: Option<String>,
    },
    /// 401 `invalid_token`: the exchanged token was refused, for example after revocation.
    #[error("{description}")]
    TokenRejected {
        /// The API's description.
        description: String,
    },
    /// 404 `not_found`: the record the call names does not exist.
    #[error("{description}")]
    NotFound {
        /// The API's description.
        description: String,
    },
    /// Any other refusal (4xx).
    #[error("HTTP {status} `{error}`: {description}")]
    Refused {
        /// The status.
        status: u16,
        /// The `error` code.
        error: String,
        /// The API's description.
        description: String,
    },
    /// The API or something behind it failed (5xx).
    #[error("it answered HTTP {status}{}", in_parentheses(.description))]
    Unavailable {
        /// The status.
        status: u16,
        /// The API's description, if it gave one.
        description: Option<String>,
    },
    /// No answer within the configured time.
    #[error("no answer within {} s", .after.as_secs_f32())]
    Timeout {
        /// The limit.
        after: Duration,
    },
    /// The API could not be reached.
    #[error("it could not be reached")]
    Unreachable(#[source] reqwest::Error),
    /// It answered 200 with a body that is not usable.
    #[error("its answer {reason}")]
    Malformed {
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// The error body of the actions API, leniently read.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ErrorBody {
    error: Option<String>,
    error_description: Option<String>,
    reasons: Vec<String>,
    policies: Vec<String>,
    field: Option<String>,
    max_age: Option<u64>,
    acr_values: Vec<String>,
}

impl ActionsClient {
    pub(crate) fn new(http: Client, base: &str, timeout: Duration) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            timeout,
        }
    }

    /// Performs the capability of `entry` with `arguments`, presenting `token`, and passing
    /// `request_id` so the API's audit record joins the MCP server's.
    pub(crate) async fn call(
        &self,
        entry: &ToolEntry,
        arguments: &JsonObject,
        token: &ApiToken,
        request_id: &str,
    ) -> Result<Value, ApiFailure> {
        let url = format!("{}/actions/{}/{}", self.base, entry.system, entry.action);
        let sent = self
            .http
            .post(url)
            .bearer_auth(token.bearer.expose())
            .header(ACCEPT, "application/json")
            .header("x-request-id", request_id)
            .json(arguments)
            .timeout(self.timeout)
            .send()
            .await;
        let response = sent.map_err(|error| self.transport_error(error))?;
        let status = response.status();
        let challenge = response
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|value| value.to_str().ok())
            .and_then(BearerChallenge::parse);
        let body = read_limited(response, MAX_ANSWER_BYTES)
            .await
            .map_err(|error| match error {
                ReadError::Transport(error) => self.transport_error(error),
                ReadError::TooLarge => ApiFailure::Malformed {
                    reason: "is larger than 4 MiB",
                },
            })?;

        if status == StatusCode::OK {
            return serde_json::from_slice(&body).map_err(|_| ApiFailure::Malformed {
                reason: "is not JSON",
            });
        }
        let error_body = serde_json::from_slice(&body).unwrap_or_default();
        Err(failure(status, challenge.as_ref(), error_body))
    }

    fn transport_error(&self, error: reqwest::Error) -> ApiFailure {
        if error.is_timeout() {
            ApiFailure::Timeout {
                after: self.timeout,
            }
        } else {
            ApiFailure::Unreachable(error)
        }
    }
}

/// Sorts a refusal by status and `error` code.
fn failure(status: StatusCode, challenge: Option<&BearerChallenge>, body: ErrorBody) -> ApiFailure {
    let code = body.error.clone().unwrap_or_default();
    let description = body
        .error_description
        .clone()
        .unwrap_or_else(|| status.to_string());
    match status.as_u16() {
        // RFC 9470 §3: the challenge header is authoritative; the body repeats it.
        401 if is_step_up(challenge, &code) => ApiFailure::StepUp(step_up(challenge, body)),
        401 => ApiFailure::TokenRejected { description },
        403 if code == "access_denied" => ApiFailure::Denied {
            description,
            reasons: body.reasons,
            policies: body.policies,
        },
        400 => ApiFailure::InvalidArguments {
            description,
            field: body.field,
        },
        404 if code == "not_found" => ApiFailure::NotFound { description },
        _ if status.is_client_error() => ApiFailure::Refused {
            status: status.as_u16(),
            error: code,
            description,
        },
        _ => ApiFailure::Unavailable {
            status: status.as_u16(),
            description: body.error_description,
        },
    }
}

fn in_parentheses(text: &Option<String>) -> String {
    text.as_ref()
        .map(|text| format!(" ({text})"))
        .unwrap_or_default()
}

fn is_step_up(challenge: Option<&BearerChallenge>, code: &str) -> bool {
    let by_header = challenge.and_then(|c| c.get("error")) == Some(STEP_UP_ERROR);
    by_header || code == STEP_UP_ERROR
}

fn step_up(challenge: Option<&BearerChallenge>, body: ErrorBody) -> StepUp {
    let param = |name| challenge.and_then(|c| c.get(name));
    // RFC 9470 §3: max_age is a non-negative integer; acr_values is space-separated.
    let max_age = param("max_age")
        .and_then(|text| text.parse().ok())
        .or(body.max_age);
    let acr_values = param("acr_values").map_or(body.acr_values, |text| {
        text.split_whitespace().map(str::to_owned).collect()
    });
    let description = param("error_description")
        .map(str::to_owned)
        .or(body.error_description);
    StepUp {
        max_age,
        acr_values,
        description,
        reasons: body.reasons,
        policies: body.policies,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: &str) -> ErrorBody {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_step_up_takes_its_parameters_from_the_challenge() {
        let challenge = BearerChallenge::parse(
            "Bearer error=\"insufficient_user_authentication\", error_description=\"a more \
             recent login is required\", max_age=\"300\", acr_values=\"urn:okta:loa:2fa:any\"",
        );
        let answer = body(
            r#"{"error":"insufficient_user_authentication","max_age":300,
                "acr_values":["urn:okta:loa:2fa:any"],"reasons":["login too old"],
                "policies":["employee-self-service"]}"#,
        );

        let failure = failure(StatusCode::UNAUTHORIZED, challenge.as_ref(), answer);

        let ApiFailure::StepUp(step_up) = failure else {
            panic!("not a step-up: {failure:?}");
        };
        assert_eq!(
            step_up,
            StepUp {
                max_age: Some(300),
                acr_values: vec!["urn:okta:loa:2fa:any".to_owned()],
                description: Some("a more recent login is required".to_owned()),
                reasons: vec!["login too old".to_owned()],
                policies: vec!["employee-self-service".to_owned()],
            }
        );
    }

    #[test]
    fn refusals_are_sorted_by_status_and_code() {
        let denied = failure(
            StatusCode::FORBIDDEN,
            None,
            body(r#"{"error":"access_denied","error_description":"no","reasons":["r"]}"#),
        );
        let kind_gate = failure(
            StatusCode::FORBIDDEN,
            None,
            body(r#"{"error":"insufficient_scope","error_description":"wrong kind"}"#),
        );
        let invalid = failure(
            StatusCode::BAD_REQUEST,
            None,
            body(r#"{"error":"invalid_request","error_description":"bad","field":"employee_id"}"#),
        );
        let revoked = failure(
            StatusCode::UNAUTHORIZED,
            None,
            body(
                r#"{"error":"invalid_token","error_description":"the token is no longer active"}"#,
            ),
        );
        let missing = failure(
            StatusCode::NOT_FOUND,
            None,
            body(r#"{"error":"not_found"}"#),
        );
        let down = failure(StatusCode::BAD_GATEWAY, None, ErrorBody::default());

        assert!(matches!(denied, ApiFailure::Denied { reasons, .. } if reasons == ["r"]));
        assert_eq!(
            kind_gate.to_string(),
            "HTTP 403 `insufficient_scope`: wrong kind"
        );
        let ApiFailure::InvalidArguments { field, .. } = invalid else {
            panic!("not invalid arguments: {invalid:?}");
        };
        assert_eq!(field.as_deref(), Some("employee_id"));
        assert_eq!(revoked.to_string(), "the token is no longer active");
        assert_eq!(missing.to_string(), "404 Not Found");
        assert_eq!(down.to_string(), "it answered HTTP 502");
    }
}
