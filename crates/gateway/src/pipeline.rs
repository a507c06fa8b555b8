//! The enforcement pipeline of one capability call, in the order the design fixes:
//!
//! 1. verify the bearer token (signature, issuer, expiry; not yet the audience);
//! 2. the token-kind gate (an `mcp:use`-only token outside the MCP server is refused);
//! 3. the audience must be this API's;
//! 4. capability lookup, argument parsing and schema validation, the optional revocation
//!    check, then policy (deny → 403, step-up → 401 with an RFC 9470 challenge);
//! 5. the connector, after checking that the audit log is writable.
//!
//! Whatever the ending, one `capability.decision` record is appended and the answer is sent
//! only once the record is durable; if it cannot be written the answer is 503.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use scopegate_audit::{AuditError, Outcome};
use scopegate_policy::{Decision, PolicyName, PolicySet, Request, Subject};
use scopegate_token::{VerifiedToken, VerifyError};
use serde_json::{Map, Value};
use tracing::Instrument;

use crate::args::{self, ArgumentError};
use crate::auth;
use crate::capability::{Capability, CapabilityName, RevocationCheck};
use crate::connector::{Answer, ConnectorCall};
use crate::error::ApiError;
use crate::org::resolve_target;
use crate::record::{Ending, Trail};
use crate::request_id::{REQUEST_ID_HEADER, RequestId};
use crate::state::GatewayState;

/// One incoming call to `/actions/{system}/{action}`.
#[derive(Debug)]
pub(crate) struct IncomingCall {
    pub(crate) method: Method,
    pub(crate) system: String,
    pub(crate) action: String,
    pub(crate) query: Option<String>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Body,
}

/// A call the connector performed.
#[derive(Debug)]
struct Performed {
    result: Answer,
    policies: Vec<PolicyName>,
}

/// Runs the pipeline for `call` and answers it once its audit record is durable.
pub(crate) async fn handle(state: GatewayState, call: IncomingCall) -> Response {
    let started = Instant::now();
    let request_id = RequestId::from_headers(&call.headers);
    let capability = format!("{}.{}", call.system, call.action);
    let span = tracing::info_span!(
        "action",
        request_id = %request_id,
        capability = %capability,
    );
    async move {
        let mut trail = Trail::new(request_id, capability);
        let result = run(&state, call, &mut trail).await;
        finish(&state, trail, result, started).await
    }
    .instrument(span)
    .await
}

/// Verifies the token and applies the gate and the audience check (steps 1 to 3).
pub(crate) async fn authenticate(
    state: &GatewayState,
    headers: &HeaderMap,
) -> Result<Arc<VerifiedToken>, ApiError> {
    let verified = verify(state, headers).await?;
    check_kind_and_audience(state, &verified)?;
    Ok(verified)
}

/// Step 1: signature, issuer and expiry, from the verified-token cache when warm.
async fn verify(state: &GatewayState, headers: &HeaderMap) -> Result<Arc<VerifiedToken>, ApiError> {
    let token = auth::bearer_token(headers)?;
    state
        .inner
        .verifier
        .verify_refreshing_keys(token)
        .await
        .map_err(|error| match error {
            VerifyError::KeyFetch { .. } => ApiError::KeysUnavailable(error),
            other => ApiError::InvalidToken(other),
        })
}

/// Steps 2 and 3: the token-kind gate, then the audience.
fn check_kind_and_audience(state: &GatewayState, verified: &VerifiedToken) -> Result<(), ApiError> {
    let config = &state.inner.config;
    let claims = verified.claims();
    if auth::is_mcp_token_used_directly(claims, &config.mcp_actors) {
        return Err(ApiError::McpTokenOutsideMcp);
    }
    // RFC 9068 §4: the audience must name this resource server.
    if !claims.aud.contains(&config.audience) {
        return Err(ApiError::WrongAudience {
            expected: config.audience.clone(),
        });
    }
    Ok(())
}

async fn run(
    state: &GatewayState,
    mut call: IncomingCall,
    trail: &mut Trail,
) -> Result<Performed, ApiError> {
    let inner = &state.inner;
    let verified = verify(state, &call.headers).await?;
    trail.token = Some(Arc::clone(&verified));
    let claims = verified.claims();
    // One policy set for the whole call, even if a reload lands meanwhile.
    let policy_set = inner.policies.load_full();
    let has_acr = claims
        .acr
        .as_ref()
        .is_some_and(|acr| policy_set.acr_values().contains(acr));
    trail.mfa_verified = Some(claims.has_amr("mfa") || has_acr);
    check_kind_and_audience(state, &verified)?;

    // Step 4: what is asked for, with which arguments, by a token still active.
    let capability = find_capability(state, &call)?;
    let headers = std::mem::take(&mut call.headers);
    let mut arguments = read_arguments(state, &capability, call).await?;
    capability.validate(&arguments)?;
    let token_active = check_revocation(state, &policy_set, &capability, &headers).await?;

    // Step 4: policy, on whom the call is about.
    let mut subject = auth::subject(claims)?;
    subject.token_active = token_active;
    let policies = decide(state, &policy_set, &capability, &subject, &mut arguments)?;

    // Step 5: only with a writable audit log, so nothing is done that cannot be recorded.
    if !inner.audit.healthy() {
        return Err(ApiError::AuditUnavailable(None));
    }
    let connector_call = ConnectorCall {
        capability: capability.name(),
        arguments: &arguments,
        subject: &subject.sub,
        actor: subject.actor.as_deref(),
        request_id: trail.request_id.as_str(),
    };
    let result = capability
        .connector()
        .perform(&inner.fixture, &connector_call)
        .await?;
    Ok(Performed { result, policies })
}

/// The online revocation check (RFC 7662), for the capabilities whose declaration or policies
/// need it: `Some(true)` when the issuer confirmed the token, `None` when nobody asked (a
/// policy with `token_active` then refuses, failing closed).
async fn check_revocation(
    state: &GatewayState,
    policy_set: &PolicySet,
    capability: &Capability,
    headers: &HeaderMap,
) -> Result<Option<bool>, ApiError> {
    let Some(introspector) = &state.inner.introspector else {
        return Ok(None);
    };
    let flagged = capability.revocation_check() == RevocationCheck::Introspect
        || policy_set.requires_active_token(capability.name().as_str());
    if !flagged && !introspector.checks_all_capabilities() {
        return Ok(None);
    }
    let token = auth::bearer_token(headers)?;
    let active = introspector
        .is_active(token)
        .await
        .map_err(ApiError::IntrospectionUnavailable)?;
    if active {
        Ok(Some(true))
    } else {
        Err(ApiError::TokenInactive)
    }
}

/// Fills in the target argument, resolves the target and asks policy; the allowing policies,
/// or the step-up or denial as an error.
fn decide(
    state: &GatewayState,
    policy_set: &PolicySet,
    capability: &Capability,
    subject: &Subject,
    arguments: &mut Map<String, Value>,
) -> Result<Vec<PolicyName>, ApiError> {
    let named = capability.target_argument().map(|name| {
        let value = arguments
            .entry(name)
            .or_insert_with(|| subject.sub.clone().into());
        value.as_str().unwrap_or_default().to_owned()
    });
    let target = resolve_target(state.inner.org.as_ref(), &subject.sub, named.as_deref());
    let now = state.inner.clock.now().as_unix_seconds();
    let request = Request::new(capability.name().as_str(), target);
    match policy_set.evaluate(subject, &request, now) {
        Decision::Allow { policies } => Ok(policies),
        Decision::StepUp {
            max_age,
            acr_values,
            policies,
            reasons,
        } => Err(ApiError::StepUp {
            max_age,
            acr_values,
            policies,
            reasons,
        }),
        Decision::Deny { policies, reasons } => {
            let capability = capability.name().to_string();
            Err(ApiError::Denied {
                capability,
                policies,
                reasons,
            })
        }
    }
}

fn find_capability(state: &GatewayState, call: &IncomingCall) -> Result<Arc<Capability>, ApiError> {
    let unknown = || ApiError::UnknownCapability {
        name: format!("{}.{}", call.system, call.action),
    };
    let name = CapabilityName::from_path(&call.system, &call.action).map_err(|_| unknown())?;
    let capability = state.inner.capabilities.get(&name).ok_or_else(unknown)?;
    if call.method == Method::GET && !capability.read_only() {
        return Err(ApiError::MethodNotAllowed {
            capability: name.to_string(),
        });
    }
    Ok(Arc::clone(capability))
}

async fn read_arguments(
    state: &GatewayState,
    capability: &Capability,
    call: IncomingCall,
) -> Result<Map<String, Value>, ApiError> {
    if call.method == Method::GET {
        return Ok(args::from_query(capability, call.query.as_deref())?);
    }
    if call.query.as_deref().is_some_and(|query| !query.is_empty()) {
        return Err(ArgumentError::QueryOnPost.into());
    }
    let limit = state.inner.config.body_limit;
    let body = axum::body::to_bytes(call.body, limit)
        .await
        .map_err(|error| {
            if is_length_limit(&error) {
                ApiError::BodyTooLarge { limit }
            } else {
                ApiError::UnreadableBody
            }
        })?;
    Ok(args::from_body(&body)?)
}

/// Whether reading a body failed on the size limit, at any depth of the error's causes.
fn is_length_limit(error: &axum::Error) -> bool {
    let mut causes = std::iter::successors(std::error::Error::source(error), |e| e.source());
    causes.any(|cause| cause.is::<http_body_util::LengthLimitError>())
}

/// Records the decision and answers; the answer waits for the record to be durable.
async fn finish(
    state: &GatewayState,
    trail: Trail,
    result: Result<Performed, ApiError>,
    started: Instant,
) -> Response {
    let (outcome, status, policies, reasons) = match &result {
        Ok(performed) => (
            Outcome::Success,
            200,
            performed.policies.as_slice(),
            Vec::new(),
        ),
        Err(error) => {
            let class = error.classify();
            (
                class.outcome,
                class.status.as_u16(),
                error.policies(),
                error.reasons(),
            )
        }
    };
    log_decision(&trail, &result, outcome);
    let ending = Ending {
        outcome,
        http_status: status,
        policies,
        reasons: &reasons,
        latency: started.elapsed(),
    };
    let event = trail.event(&ending);

    if let Err(error) = state.inner.audit.append(event).await {
        tracing::error!(error = %error, "audit record not written; failing closed");
        return audit_failure(error).to_response(&trail.request_id);
    }
    match result {
        Ok(performed) => success(performed.result, &trail.request_id),
        Err(error) => error.to_response(&trail.request_id),
    }
}

/// Our own encoding faults are internal errors; storage faults make the log unavailable.
fn audit_failure(error: AuditError) -> ApiError {
    match error {
        AuditError::Storage { .. }
        | AuditError::Shrank { .. }
        | AuditError::QueueFull
        | AuditError::Closed => ApiError::AuditUnavailable(Some(error)),
        AuditError::Reserved { .. } | AuditError::TooLarge { .. } | AuditError::Encode(_) => {
            ApiError::Internal(error)
        }
    }
}

fn success(result: Answer, request_id: &RequestId) -> Response {
    let json = HeaderValue::from_static("application/json");
    let mut response = ([(CONTENT_TYPE, json)], result.into_bytes()).into_response();
    if let Ok(value) = HeaderValue::from_str(request_id.as_str()) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// Denials at INFO, allows at DEBUG, our own faults at ERROR with their cause, once.
fn log_decision(trail: &Trail, result: &Result<Performed, ApiError>, outcome: Outcome) {
    let sub = trail
        .token
        .as_ref()
        .map(|token| token.claims().sub.as_str())
        .unwrap_or_default();
    match result {
        Ok(performed) => tracing::debug!(
            subject.sub = sub,
            decision = "allow",
            policy = ?names(&performed.policies),
            "capability call performed"
        ),
        Err(error @ (ApiError::Internal(_) | ApiError::AuditUnavailable(_))) => {
            tracing::error!(subject.sub = sub, error = %error, cause = ?error, "call failed")
        }
        Err(error @ ApiError::Connector(_)) => tracing::warn!(
            subject.sub = sub,
            decision = "allow",
            error = %error,
            cause = ?error,
            "connector failed"
        ),
        Err(error) => tracing::info!(
            subject.sub = sub,
            decision = %outcome,
            policy = ?names(error.policies()),
            reason = %error,
            "capability call refused"
        ),
    }
}

fn names(policies: &[PolicyName]) -> Vec<&str> {
    policies.iter().map(PolicyName::as_str).collect()
}
