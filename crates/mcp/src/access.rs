//! What the policy engine is asked at the MCP server: which tools a caller could ever be
//! allowed (for `tools/list`), and why not (for a `tools/call` it rules out).
//!
//! The engine judges the caller as the actions API will see them after the on-behalf-of
//! exchange: the same person, groups, login facts and scopes, with this server as the current
//! actor (the exchange adds `act.sub` = this server's client id). Freshness is ignored here,
//! since a new login fixes it; the API remains the enforcement point for every call.

use rmcp::model::{JsonObject, Tool};
use scopegate_policy::{Decision, PrincipalType, Request, Subject, Target};
use scopegate_token::{Claims, Scope};

use crate::catalogue::ToolEntry;
use crate::outcome::Failure;
use crate::state::McpState;

/// The policy subject of a caller's claims, acting through this server.
pub(crate) fn subject(state: &McpState, claims: &Claims) -> Result<Subject, Failure> {
    let principal_type = claims
        .principal_type
        .and_then(|kind| kind.as_str().parse::<PrincipalType>().ok())
        .ok_or(Failure::UnusableToken {
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
        actor: Some(state.inner.config.client_id.clone()),
        // `may_allow` takes `token_active` as met; the API checks it when the call is made.
        token_active: None,
    })
}

/// The tools `claims` could be allowed, perhaps after a step-up, in catalogue order.
pub(crate) fn visible_tools(state: &McpState, claims: &Claims) -> Vec<Tool> {
    let Ok(subject) = subject(state, claims) else {
        return Vec::new();
    };
    let policies = state.policies();
    let now = state.inner.clock.now().as_unix_seconds();
    state
        .inner
        .tools
        .iter()
        .filter(|entry| policies.may_allow(&subject, &entry.spec.capability, now))
        .map(|entry| entry.tool.clone())
        .collect()
}

/// Refuses a call the policy engine rules out for every target and any login, with the
/// reasons it gives for the call's own target.
pub(crate) fn check_call(
    state: &McpState,
    claims: &Claims,
    entry: &ToolEntry,
    arguments: &JsonObject,
) -> Result<(), Failure> {
    let subject = subject(state, claims)?;
    let policies = state.policies();
    let now = state.inner.clock.now().as_unix_seconds();
    let capability = entry.spec.capability.as_str();
    if policies.may_allow(&subject, capability, now) {
        return Ok(());
    }

    let request = Request::new(capability, target(entry, arguments, &subject.sub));
    let decision = policies.evaluate(&subject, &request, now);
    let (reasons, names) = match &decision {
        Decision::Deny { reasons, policies } => (reasons.as_slice(), policies.as_slice()),
        // may_allow said no target could be allowed; a non-deny here cannot happen, and the
        // call is refused all the same.
        Decision::Allow { .. } | Decision::StepUp { .. } => (&[][..], &[][..]),
    };
    Err(Failure::NotPermitted {
        tool: entry.name.clone(),
        reasons: reasons.iter().map(ToString::to_string).collect(),
        policies: names.iter().map(ToString::to_string).collect(),
    })
}

/// Whom the arguments name, as far as this server can tell without the organisation data
/// (only for the reasons of a refusal: direct reports look like anyone else here).
fn target(entry: &ToolEntry, arguments: &JsonObject, sub: &str) -> Target {
    let Some(name) = &entry.spec.target_argument else {
        return Target::None;
    };
    match arguments.get(name).and_then(|value| value.as_str()) {
        None => Target::Subject,
        Some(named) if named == sub => Target::Subject,
        Some(_) => Target::Other,
    }
}
