//! The audit record of one capability decision, filled from the verified token as the pipeline
//! learns about the call. Nothing from an unverified token, and never the token itself, enters it.

use std::sync::Arc;
use std::time::Duration;

use scopegate_audit::{AuditEvent, AuditEventBuilder, EventType, Outcome, TokenFacts, TokenType};
use scopegate_policy::PolicyName;
use scopegate_token::{Claims, Scope, VerifiedToken};

use crate::request_id::RequestId;

/// What the pipeline has learnt about a call so far.
#[derive(Debug)]
pub(crate) struct Trail {
    pub(crate) request_id: RequestId,
    /// The capability as asked for (the path's `{system}.{action}`).
    pub(crate) capability: String,
    /// The token, once verified.
    pub(crate) token: Option<Arc<VerifiedToken>>,
    /// Whether the login behind the token used several factors, once known.
    pub(crate) mfa_verified: Option<bool>,
}

/// How the call ended, for the record.
#[derive(Debug)]
pub(crate) struct Ending<'a> {
    pub(crate) outcome: Outcome,
    pub(crate) http_status: u16,
    pub(crate) policies: &'a [PolicyName],
    pub(crate) reasons: &'a [String],
    pub(crate) latency: Duration,
}

impl Trail {
    pub(crate) fn new(request_id: RequestId, capability: String) -> Self {
        Self {
            request_id,
            capability,
            token: None,
            mfa_verified: None,
        }
    }

    /// The `capability.decision` event for this call.
    pub(crate) fn event(&self, ending: &Ending<'_>) -> AuditEvent {
        let mut builder = AuditEvent::builder(EventType::CapabilityDecision)
            .request_id(self.request_id.as_str())
            .capability(&self.capability);
        if let Some(token) = &self.token {
            builder = with_token(builder, token.claims(), self.mfa_verified);
        }
        // The audit schema names one deciding policy; any further ones go into `reasons`.
        let mut also = Vec::new();
        if let Some((first, rest)) = ending.policies.split_first() {
            builder = builder.policy_matched(first.as_str());
            also = rest
                .iter()
                .map(|policy| format!("policy `{policy}` also matched"))
                .collect();
        }
        builder
            .outcome(ending.outcome)
            .reasons(ending.reasons)
            .reasons(also)
            .http_status(ending.http_status)
            .latency(ending.latency)
            .build()
    }
}

/// Adds the design note's token fields: who, through whom, which token, how old the login.
fn with_token(
    builder: AuditEventBuilder,
    claims: &Claims,
    mfa_verified: Option<bool>,
) -> AuditEventBuilder {
    let mut builder = builder.actor(&claims.sub).client_id(&claims.client_id);
    if let Some(actor) = &claims.act {
        builder = builder.acting_through(&actor.sub);
    }
    let facts = TokenFacts {
        token_type: token_type(claims),
        token_id: Some(&claims.jti),
        original_token_id: claims.original_token_id.as_deref(),
        issued_at: claims.iat.as_unix_seconds(),
        expires_at: claims.exp.as_unix_seconds(),
        auth_time: claims.auth_time.map(|at| at.as_unix_seconds()),
        mfa_verified: mfa_verified.unwrap_or_else(|| claims.has_amr("mfa")),
    };
    // A verified token has representable times and `exp` after `iat`; should one not, the
    // record keeps its id rather than losing the whole event.
    if builder.set_token(&facts).is_err() {
        builder = builder.token_id(&claims.jti);
    }
    builder
        .audience(claims.aud.iter())
        .scope(claims.scope.iter().map(Scope::as_str))
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
