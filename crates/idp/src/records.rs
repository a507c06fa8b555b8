//! The audit records the IdP writes: `token.issued`, `token.exchanged`, `token.refused` and
//! `token.revoked`.
//!
//! Records identify tokens by `jti` (and refresh tokens by the SHA-256 digest of their text),
//! never by the token itself; every free-text value passes the audit crate's redaction too.

use scopegate_audit::{
    AuditEvent, AuditEventBuilder, AuditText, EventType, Outcome, TokenFacts, TokenType,
};
use scopegate_token::Claims;

use crate::error::IdpError;
use crate::grant::GrantType;
use crate::http::RequestContext;
use crate::state::IdpState;

/// What is known about a request so far, for the record of a refusal.
#[derive(Debug, Default)]
pub(crate) struct Trail {
    /// The client, once it has named itself.
    pub(crate) client_id: Option<String>,
    /// The grant, once parsed.
    pub(crate) grant: Option<GrantType>,
    /// The user or subject the request is about, once known.
    pub(crate) subject: Option<String>,
    /// The `jti` of the token presented (subject token, or the token to revoke).
    pub(crate) token_id: Option<String>,
    /// The root `jti` of the token presented.
    pub(crate) original_token_id: Option<String>,
    /// The first 16 hex digits of a presented refresh token's SHA-256; never the token.
    pub(crate) refresh_fingerprint: Option<String>,
}

/// The record of an issued (or exchanged) token.
pub(crate) fn issued(
    state: &IdpState,
    context: &RequestContext,
    claims: &Claims,
    grant: GrantType,
) -> Result<AuditEvent, IdpError> {
    let exchanged = grant == GrantType::TokenExchange;
    let (event_type, token_type) = if exchanged {
        (EventType::TokenExchanged, TokenType::Exchanged)
    } else {
        (EventType::TokenIssued, TokenType::Original)
    };
    let facts = facts(claims, token_type);
    let mut builder = AuditEvent::builder(event_type)
        .timestamp(state.event_time())
        .request_id(&context.id)
        .actor(&claims.sub)
        .client_id(&claims.client_id)
        .token(&facts)
        .map_err(IdpError::AuditRecord)?
        .audience(claims.aud.iter())
        .scope(claims.scope.iter().map(|scope| scope.as_str()))
        .reason(&format!("grant_type {}", grant.as_str()))
        .outcome(Outcome::Success)
        .http_status(200)
        .latency(context.started.elapsed());
    if let Some(actor) = &claims.act {
        builder = builder.acting_through(&actor.sub);
    }
    Ok(builder.build())
}

/// The record of a refused request.
pub(crate) fn refused(
    state: &IdpState,
    context: &RequestContext,
    trail: &Trail,
    error: &IdpError,
) -> AuditEvent {
    let (status, code) = error.classify();
    let mut builder = AuditEvent::builder(EventType::TokenRefused)
        .timestamp(state.event_time())
        .request_id(&context.id)
        .outcome(Outcome::Refused)
        .reason(&format!("{}: {error}", code.as_str()))
        .http_status(status.as_u16())
        .latency(context.started.elapsed());
    if let Some(detail) = error.operator_detail() {
        builder = builder.reason(detail);
    }
    if let Some(grant) = trail.grant {
        builder = builder.reason(&format!("grant_type {}", grant.as_str()));
    }
    builder = with_trail(builder, trail);
    with_original(builder.build(), trail)
}

/// The record of a revocation: the token (or refresh family) and what went with it.
pub(crate) fn revoked(
    state: &IdpState,
    context: &RequestContext,
    trail: &Trail,
    revoked_ids: &[String],
) -> AuditEvent {
    let mut builder = AuditEvent::builder(EventType::TokenRevoked)
        .timestamp(state.event_time())
        .request_id(&context.id)
        .outcome(Outcome::Success)
        .http_status(200)
        .latency(context.started.elapsed());
    builder = with_trail(builder, trail);
    for jti in revoked_ids {
        builder = builder.reason(&format!("revoked jti {jti}"));
    }
    with_original(builder.build(), trail)
}

fn with_trail(mut builder: AuditEventBuilder, trail: &Trail) -> AuditEventBuilder {
    if let Some(client_id) = &trail.client_id {
        builder = builder.client_id(client_id);
    }
    if let Some(subject) = &trail.subject {
        builder = builder.actor(subject);
    }
    if let Some(token_id) = &trail.token_id {
        builder = builder.token_id(token_id);
    }
    if let Some(fingerprint) = &trail.refresh_fingerprint {
        builder = builder.reason(&format!("refresh token sha256 prefix {fingerprint}"));
    }
    builder
}

/// Sets `original_token_id`, which the builder only fills from full token facts.
fn with_original(mut event: AuditEvent, trail: &Trail) -> AuditEvent {
    event.original_token_id = trail.original_token_id.as_deref().map(AuditText::new);
    event
}

/// A short, stable reference to a refresh token: the first 16 hex digits of its SHA-256
/// (short enough that the audit log's redaction keeps it).
pub(crate) fn fingerprint(digest_hex: &str) -> String {
    digest_hex.chars().take(16).collect()
}

fn facts(claims: &Claims, token_type: TokenType) -> TokenFacts<'_> {
    TokenFacts {
        token_type,
        token_id: Some(&claims.jti),
        original_token_id: claims.original_token_id.as_deref(),
        issued_at: claims.iat.as_unix_seconds(),
        expires_at: claims.exp.as_unix_seconds(),
        auth_time: claims.auth_time.map(|time| time.as_unix_seconds()),
        mfa_verified: claims.has_amr("mfa"),
    }
}
