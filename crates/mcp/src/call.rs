//! One `tools/call`, from the tool name to the audited result:
//!
//! 1. look the tool up (unknown → JSON-RPC `-32602`) and fill in omitted target arguments with
//!    the caller's own `sub`;
//! 2. ask the policy engine whether the caller could ever be allowed (no → denial result);
//! 3. check that the audit log can take records (no → error result, nothing attempted);
//! 4. obtain a token at the actions API by on-behalf-of exchange (cached per presented token);
//! 5. call the API with it and a fresh request id;
//! 6. append one `mcp.tool_call` audit record, then answer.
//!
//! The record is written after the API call: the API writes its own durable record before it
//! answers, and step 3 makes this server refuse work it probably cannot record. If the append
//! still fails, the result is withheld and the caller gets the audit error instead.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rmcp::ErrorData;
use rmcp::model::{CallToolRequestParams, CallToolResult, JsonObject};
use scopegate_audit::{AuditEvent, EventType, Outcome, TokenFacts, TokenType};
use scopegate_token::{Claims, Scope};
use serde_json::Value;
use tracing::Instrument as _;

use crate::access;
use crate::actions::ApiFailure;
use crate::auth::Caller;
use crate::catalogue::ToolEntry;
use crate::outcome::{self, Failure};
use crate::state::McpState;

/// Runs one tool call for `caller`.
///
/// # Errors
///
/// JSON-RPC `-32602` (invalid params) for a tool this server does not offer; every other
/// ending is a tool result.
pub(crate) async fn call_tool(
    state: &McpState,
    caller: &Caller,
    params: CallToolRequestParams,
) -> Result<CallToolResult, ErrorData> {
    let Some(entry) = state.inner.tools.get(&params.name).cloned() else {
        // MCP 2025-11-25 "Error Handling": an unknown tool is a protocol error, -32602.
        return Err(ErrorData::invalid_params(
            format!("unknown tool `{}`", params.name),
            None,
        ));
    };
    let claims = caller.token.claims();
    let arguments = with_defaults(&entry, params.arguments.unwrap_or_default(), claims);
    let request_id = uuid::Uuid::new_v4().to_string();

    let span = tracing::info_span!(
        "tool_call",
        request_id = %request_id,
        tool = %entry.name,
        capability = %entry.spec.capability,
        subject.sub = %claims.sub,
    );
    async {
        let started = Instant::now();
        let ending = perform(state, caller, &entry, &arguments, &request_id).await;
        log(&ending);

        let record = record(
            state,
            claims,
            &entry,
            &request_id,
            &ending,
            started.elapsed(),
        );
        if let Err(error) = state.inner.audit.append(record).await {
            tracing::error!(error = %error, "audit record not written; result withheld");
            return Ok(Failure::AuditUnavailable.to_result(&entry, &request_id));
        }
        Ok(match ending {
            Ok(value) => outcome::success(value, &request_id),
            Err(failure) => failure.to_result(&entry, &request_id),
        })
    }
    .instrument(span)
    .await
}

/// Steps 2 to 5.
async fn perform(
    state: &McpState,
    caller: &Caller,
    entry: &Arc<ToolEntry>,
    arguments: &JsonObject,
    request_id: &str,
) -> Result<Value, Failure> {
    let inner = &state.inner;
    access::check_call(state, caller.token.claims(), entry, arguments)?;
    if !inner.audit.healthy() {
        return Err(Failure::AuditUnavailable);
    }

    let token = inner
        .exchanger
        .token_for(&caller.bearer, request_id)
        .await
        .map_err(Failure::Exchange)?;
    let answer = inner
        .actions
        .call(entry, arguments, &token, request_id)
        .await;
    if let Err(ApiFailure::TokenRejected { .. }) = &answer {
        // Revoked or otherwise refused: the next call must not present it again.
        inner.exchanger.forget(&caller.bearer);
    }
    answer.map_err(Failure::Api)
}

/// The arguments with the capability's target argument set to the caller when left out, so
/// "my profile" needs no employee id.
fn with_defaults(entry: &ToolEntry, mut arguments: JsonObject, claims: &Claims) -> JsonObject {
    if let Some(name) = &entry.spec.target_argument
        && !arguments.contains_key(name)
    {
        arguments.insert(name.clone(), Value::String(claims.sub.clone()));
    }
    arguments
}

/// The `mcp.tool_call` record: who called which tool with which token, how it ended, and the
/// request id the API's own record carries.
fn record(
    state: &McpState,
    claims: &Claims,
    entry: &ToolEntry,
    request_id: &str,
    ending: &Result<Value, Failure>,
    latency: Duration,
) -> AuditEvent {
    let mut builder = AuditEvent::builder(EventType::McpToolCall)
        .request_id(request_id)
        .tool(&entry.name)
        .capability(&entry.spec.capability)
        .actor(&claims.sub)
        // This server acts for the person here: it is the one calling the API.
        .acting_through(&state.config().client_id)
        .client_id(&claims.client_id);
    let facts = TokenFacts {
        token_type: token_type(claims),
        token_id: Some(&claims.jti),
        original_token_id: claims.original_token_id.as_deref(),
        issued_at: claims.iat.as_unix_seconds(),
        expires_at: claims.exp.as_unix_seconds(),
        auth_time: claims.auth_time.map(|at| at.as_unix_seconds()),
        mfa_verified: mfa_verified(state, claims),
    };
    // A verified token has representable times and `exp` after `iat`; should one not, the
    // record keeps the token's id rather than losing the whole event.
    builder = match builder.clone().token(&facts) {
        Ok(with_facts) => with_facts,
        Err(_) => builder.token_id(&claims.jti),
    };
    builder = builder
        .audience(claims.aud.iter())
        .scope(claims.scope.iter().map(Scope::as_str));

    let builder = match ending {
        Ok(_) => builder.outcome(Outcome::Success),
        Err(failure) => {
            // The audit schema names one deciding policy; any further ones go into `reasons`.
            let mut builder = builder.outcome(failure.class().outcome);
            let mut also = Vec::new();
            if let Some((first, rest)) = failure.policies().split_first() {
                builder = builder.policy_matched(first);
                also = rest
                    .iter()
                    .map(|policy| format!("policy `{policy}` also matched"))
                    .collect();
            }
            builder.reasons(failure.reasons()).reasons(also)
        }
    };
    builder.latency(latency).build()
}

/// A token came from an exchange when it records an actor or the token it descends from.
fn token_type(claims: &Claims) -> TokenType {
    let exchanged =
        claims.act.is_some() || claims.original_token_id.is_some() || claims.acting_as.is_some();
    if exchanged {
        TokenType::Exchanged
    } else {
        TokenType::Original
    }
}

/// MFA as the policy engine judges it: `amr` lists `mfa`, or `acr` is a step-up class.
fn mfa_verified(state: &McpState, claims: &Claims) -> bool {
    let policies = state.policies();
    let by_acr = claims
        .acr
        .as_ref()
        .is_some_and(|acr| policies.acr_values().contains(acr));
    claims.has_amr("mfa") || by_acr
}

/// Successes at DEBUG, refusals at INFO, faults on our side or upstream at WARN with cause.
fn log(ending: &Result<Value, Failure>) {
    let failure = match ending {
        Ok(_) => {
            tracing::debug!(decision = "allow", "tool call performed");
            return;
        }
        Err(failure) => failure,
    };
    let class = failure.class();
    match class.outcome {
        Outcome::Error => tracing::warn!(
            error = class.code,
            reason = %failure,
            cause = ?failure,
            "tool call failed"
        ),
        Outcome::Success | Outcome::Denied | Outcome::StepUp | Outcome::Refused => {
            tracing::info!(
                decision = %class.outcome,
                error = class.code,
                policy = ?failure.policies(),
                reason = %failure,
                "tool call refused"
            );
        }
    }
}
