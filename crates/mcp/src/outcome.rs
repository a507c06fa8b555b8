//! How a tool call ends, and the one place that turns each ending into a tool result and an
//! audit outcome.
//!
//! Every ending that the caller or the model can act on is a tool result (`isError: true` for
//! failures), never a broken connection: the text says in plain words what happened and what
//! to do, and `structuredContent` carries the same as fields a client program can act on
//! (`error`, and for a step-up `max_age` and `acr_values`). [`Failure::class`] is an
//! exhaustive `match` without a catch-all arm, so a new ending does not compile until someone
//! decides how it is answered and recorded.

use rmcp::model::{CallToolResult, ContentBlock, MetaObject};
use scopegate_audit::Outcome;
use serde_json::{Map, Value, json};

use crate::actions::{ApiFailure, STEP_UP_ERROR, StepUp};
use crate::catalogue::ToolEntry;
use crate::exchange::ExchangeError;

/// The `_meta` key under which every tool result names its request id, which the actions API's
/// audit record carries too.
pub const REQUEST_ID_META_KEY: &str = "dev.scopegate/request_id";

/// Why a tool call produced no result.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Failure {
    /// The policy engine rules the capability out for this caller whatever the arguments or a
    /// new login; checked before anything is exchanged.
    #[error("`{tool}` is not available to you: {}", joined(.reasons))]
    NotPermitted {
        /// The tool.
        tool: String,
        /// Every reason.
        reasons: Vec<String>,
        /// The deny policies that apply (none for a default deny).
        policies: Vec<String>,
    },
    /// The token lacks a claim the policy engine needs.
    #[error("your token's `{claim}` claim is missing or not understood; sign in again")]
    UnusableToken {
        /// The claim.
        claim: &'static str,
    },
    /// The MCP server's audit log cannot take records, so nothing was attempted.
    #[error("the MCP server cannot write its audit log, so nothing was done; try again shortly")]
    AuditUnavailable,
    /// No token at the actions API could be obtained.
    #[error("{}", exchange_text(.0))]
    Exchange(ExchangeError),
    /// The actions API did not return a result.
    #[error("{}", api_text(.0))]
    Api(ApiFailure),
}

/// How a failure is answered and recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Class {
    /// The `error` field of the structured content.
    pub(crate) code: &'static str,
    /// The audit record's `result`.
    pub(crate) outcome: Outcome,
}

impl Failure {
    /// The single mapping of every ending to its error code and audit outcome.
    pub(crate) fn class(&self) -> Class {
        let class = |code, outcome| Class { code, outcome };
        match self {
            Self::NotPermitted { .. } => class("access_denied", Outcome::Denied),
            Self::UnusableToken { .. } => class("invalid_token", Outcome::Refused),
            Self::AuditUnavailable => class("audit_unavailable", Outcome::Error),
            Self::Exchange(error) => match error {
                ExchangeError::Refused { .. } if error.rejects_subject() => {
                    class("session_invalid", Outcome::Refused)
                }
                ExchangeError::Refused { .. } => class("exchange_refused", Outcome::Error),
                ExchangeError::Timeout { .. }
                | ExchangeError::Unreachable(_)
                | ExchangeError::Status { .. }
                | ExchangeError::Malformed { .. } => {
                    class("identity_provider_unavailable", Outcome::Error)
                }
            },
            Self::Api(failure) => match failure {
                ApiFailure::StepUp(_) => class(STEP_UP_ERROR, Outcome::StepUp),
                ApiFailure::Denied { .. } => class("access_denied", Outcome::Denied),
                ApiFailure::InvalidArguments { .. } => class("invalid_arguments", Outcome::Refused),
                ApiFailure::TokenRejected { .. } => class("session_invalid", Outcome::Refused),
                ApiFailure::NotFound { .. } => class("not_found", Outcome::Error),
                ApiFailure::Refused { .. } => class("api_refused", Outcome::Error),
                ApiFailure::Unavailable { .. }
                | ApiFailure::Timeout { .. }
                | ApiFailure::Unreachable(_)
                | ApiFailure::Malformed { .. } => class("api_unavailable", Outcome::Error),
            },
        }
    }

    /// The reasons the audit record keeps.
    pub(crate) fn reasons(&self) -> Vec<String> {
        match self {
            Self::NotPermitted { reasons, .. }
            | Self::Api(ApiFailure::Denied { reasons, .. })
            | Self::Api(ApiFailure::StepUp(StepUp { reasons, .. })) => reasons.clone(),
            other => vec![other.to_string()],
        }
    }

    /// The policies that decided, when the policy engine was the one to refuse.
    pub(crate) fn policies(&self) -> &[String] {
        match self {
            Self::NotPermitted { policies, .. }
            | Self::Api(ApiFailure::Denied { policies, .. })
            | Self::Api(ApiFailure::StepUp(StepUp { policies, .. })) => policies,
            _ => &[],
        }
    }

    /// The tool result: readable text first, the same as fields in `structuredContent`.
    pub(crate) fn to_result(&self, entry: &ToolEntry, request_id: &str) -> CallToolResult {
        let class = self.class();
        let text = match self {
            Self::Api(ApiFailure::StepUp(step_up)) => step_up_text(entry.area(), step_up),
            other => other.to_string(),
        };

        let mut detail = Map::new();
        detail.insert("error".to_owned(), class.code.into());
        detail.insert("error_description".to_owned(), text.clone().into());
        detail.insert("tool".to_owned(), entry.name.clone().into());
        detail.insert(
            "capability".to_owned(),
            entry.spec.capability.clone().into(),
        );
        self.add_details(&mut detail);
        detail.insert("request_id".to_owned(), request_id.into());

        let mut result = CallToolResult::error(vec![ContentBlock::text(text)]);
        result.structured_content = Some(Value::Object(detail));
        result.meta = Some(request_meta(request_id));
        result
    }

    fn add_details(&self, detail: &mut Map<String, Value>) {
        match self {
            Self::Api(ApiFailure::StepUp(step_up)) => {
                detail.insert("max_age".to_owned(), json!(step_up.max_age));
                detail.insert("acr_values".to_owned(), json!(step_up.acr_values));
                detail.insert("reasons".to_owned(), json!(step_up.reasons));
            }
            Self::NotPermitted { reasons, .. } | Self::Api(ApiFailure::Denied { reasons, .. }) => {
                detail.insert("reasons".to_owned(), json!(reasons));
            }
            Self::Api(ApiFailure::InvalidArguments {
                field: Some(field), ..
            }) => {
                detail.insert("field".to_owned(), json!(field));
            }
            _ => {}
        }
    }
}

/// A successful result: the API's JSON as structured content and, for people and models that
/// read only text, the same JSON indented.
pub(crate) fn success(value: Value, request_id: &str) -> CallToolResult {
    let text = serde_json::to_string_pretty(&value).unwrap_or_else(|_| value.to_string());
    // Protocol versions before 2026-07-28 only allow an object as structured content.
    let structured = match value {
        Value::Object(_) => value,
        other => json!({ "result": other }),
    };
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = Some(structured);
    result.meta = Some(request_meta(request_id));
    result
}

fn request_meta(request_id: &str) -> MetaObject {
    let mut meta = MetaObject::new();
    meta.0
        .insert(REQUEST_ID_META_KEY.to_owned(), request_id.into());
    meta
}

/// What a person should do, such as `payroll needs a multi-factor sign-in within the last
/// 5 minutes; sign in again with your authenticator code`.
fn step_up_text(area: &str, step_up: &StepUp) -> String {
    let mfa = !step_up.acr_values.is_empty();
    let kind = match (mfa, step_up.max_age) {
        (true, _) => "a multi-factor sign-in",
        (false, Some(_)) => "a sign-in",
        (false, None) => "a stronger sign-in",
    };
    let within = step_up
        .max_age
        .map(|seconds| format!(" within the last {}", in_words(seconds)))
        .unwrap_or_default();
    let how = if mfa {
        "sign in again with your authenticator code"
    } else {
        "sign in again"
    };
    format!("{area} needs {kind}{within}; {how}")
}

/// `300` → `5 minutes`, `60` → `minute`, `90` → `90 seconds`.
fn in_words(seconds: u64) -> String {
    match seconds {
        60 => "minute".to_owned(),
        1 => "second".to_owned(),
        s if s % 60 == 0 => format!("{} minutes", s / 60),
        s => format!("{s} seconds"),
    }
}

/// The reasons as one clause; a denial always has reasons, but the text must not end in a colon
/// should one come without.
fn joined(reasons: &[String]) -> String {
    if reasons.is_empty() {
        return "no policy allows it".to_owned();
    }
    reasons.join("; ")
}

fn exchange_text(error: &ExchangeError) -> String {
    match error {
        ExchangeError::Refused { description, .. } if error.rejects_subject() => {
            let why = description
                .as_deref()
                .unwrap_or("the identity provider refused it");
            format!("your session is no longer valid ({why}); sign in again")
        }
        ExchangeError::Refused { error: code, .. } => format!(
            "the identity provider refused the MCP server's on-behalf-of exchange (`{code}`); \
             the MCP server's client registration needs fixing"
        ),
        other => format!("identity provider unavailable: {other}; try again shortly"),
    }
}

fn api_text(failure: &ApiFailure) -> String {
    match failure {
        ApiFailure::StepUp(_) | ApiFailure::Denied { .. } | ApiFailure::NotFound { .. } => {
            failure.to_string()
        }
        ApiFailure::InvalidArguments { description, .. } => {
            format!("invalid arguments: {description}")
        }
        ApiFailure::TokenRejected { description } => {
            format!("your session is no longer valid ({description}); sign in again")
        }
        ApiFailure::Refused { .. } => format!("the actions API refused the call: {failure}"),
        ApiFailure::Unavailable { .. }
        | ApiFailure::Timeout { .. }
        | ApiFailure::Unreachable(_)
        | ApiFailure::Malformed { .. } => {
            format!("actions API unavailable: {failure}; try again shortly")
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::catalogue::{ToolCatalogue, ToolSpec};

    fn payroll() -> std::sync::Arc<ToolEntry> {
        let spec = ToolSpec {
            capability: "workday.payroll.get_compensation".to_owned(),
            description: "Read pay.".to_owned(),
            input_schema: json!({"type": "object"}),
            read_only: true,
            destructive: false,
            target_argument: Some("employee_id".to_owned()),
        };
        let catalogue = ToolCatalogue::new(vec![spec]).unwrap();
        std::sync::Arc::clone(catalogue.get("workday_payroll_get_compensation").unwrap())
    }

    fn step_up(max_age: Option<u64>, acr: &[&str]) -> Failure {
        Failure::Api(ApiFailure::StepUp(StepUp {
            max_age,
            acr_values: acr.iter().map(|v| (*v).to_owned()).collect(),
            description: Some("a recent multi-factor login is required".to_owned()),
            reasons: vec!["the login is 600 s old".to_owned()],
            policies: vec!["employee-self-service".to_owned()],
        }))
    }

    #[test]
    fn a_step_up_tells_the_person_what_to_do_and_the_program_what_to_ask_for() {
        let failure = step_up(Some(300), &["urn:okta:loa:2fa:any"]);

        let result = failure.to_result(&payroll(), "req-1");

        let text = "payroll needs a multi-factor sign-in within the last 5 minutes; sign in \
                    again with your authenticator code";
        assert_eq!(result.is_error, Some(true));
        assert_eq!(result.content[0].as_text().unwrap().text, text);
        assert_eq!(
            result.structured_content,
            Some(json!({
                "error": "insufficient_user_authentication",
                "error_description": text,
                "tool": "workday_payroll_get_compensation",
                "capability": "workday.payroll.get_compensation",
                "max_age": 300,
                "acr_values": ["urn:okta:loa:2fa:any"],
                "reasons": ["the login is 600 s old"],
                "request_id": "req-1",
            }))
        );
        assert_eq!(failure.class().outcome, Outcome::StepUp);
        assert_eq!(failure.policies(), ["employee-self-service"]);
    }

    #[test]
    fn step_up_text_follows_what_the_challenge_asks_for() {
        let entry = payroll();
        let text = |failure: Failure| {
            let result = failure.to_result(&entry, "r");
            result.content[0].as_text().unwrap().text.clone()
        };

        assert_eq!(
            text(step_up(Some(90), &[])),
            "payroll needs a sign-in within the last 90 seconds; sign in again"
        );
        assert_eq!(
            text(step_up(None, &["urn:okta:loa:2fa:any"])),
            "payroll needs a multi-factor sign-in; sign in again with your authenticator code"
        );
        assert_eq!(
            text(step_up(Some(60), &[])),
            "payroll needs a sign-in within the last minute; sign in again"
        );
    }

    #[test]
    fn unavailable_upstreams_are_named() {
        let idp = Failure::Exchange(ExchangeError::Timeout {
            after: Duration::from_secs(5),
        });
        let api = Failure::Api(ApiFailure::Unavailable {
            status: 503,
            description: Some("the audit log is unavailable; try again shortly".to_owned()),
        });

        assert_eq!(
            idp.to_string(),
            "identity provider unavailable: no answer within 5 s; try again shortly"
        );
        assert_eq!(
            api.to_string(),
            "actions API unavailable: it answered HTTP 503 (the audit log is unavailable; try \
             again shortly); try again shortly"
        );
        assert_eq!(idp.class().code, "identity_provider_unavailable");
        assert_eq!(api.class().outcome, Outcome::Error);
    }

    #[test]
    fn a_revoked_session_asks_the_person_to_sign_in_again() {
        let failure = Failure::Exchange(ExchangeError::Refused {
            status: 400,
            error: "invalid_request".to_owned(),
            description: Some("the subject token is revoked".to_owned()),
        });

        assert_eq!(
            failure.to_string(),
            "your session is no longer valid (the subject token is revoked); sign in again"
        );
        assert_eq!(failure.class().outcome, Outcome::Refused);
    }

    #[test]
    fn a_success_keeps_the_json_as_structured_content_and_as_text() {
        let result = success(json!({"name": "Alex Chen"}), "req-2");
        let listed = success(json!(["EMP002"]), "req-3");

        assert_eq!(result.is_error, Some(false));
        assert_eq!(
            result.structured_content,
            Some(json!({"name": "Alex Chen"}))
        );
        assert_eq!(
            result.content[0].as_text().unwrap().text,
            "{\n  \"name\": \"Alex Chen\"\n}"
        );
        assert_eq!(result.meta.unwrap().0[REQUEST_ID_META_KEY], json!("req-2"));
        assert_eq!(
            listed.structured_content,
            Some(json!({"result": ["EMP002"]}))
        );
    }
}
