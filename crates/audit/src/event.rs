//! The audit event schema: what one record says, and a builder to fill it from token claims.
//!
//! Every event has a `timestamp`, an `event_type` and an `event_id`; every other field is
//! optional and left out of the JSON when it does not apply, never written as `null`. Text
//! fields are [`AuditText`], so they are redacted on the way in; there is no field a raw
//! token, secret or password could be put into.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::chain::Digest;
use crate::clock::{ClaimTime, EventTime, TimeError};
use crate::text::AuditText;

/// Generates a closed set of names with their log spelling, `Display`, `FromStr` and serde.
macro_rules! named {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($what:literal) {
            $($(#[$variant_meta:meta])* $variant:ident = $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$variant_meta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &[Self] = &[$(Self::$variant,)+];

            /// The name as the log spells it.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|value| value.as_str() == text)
                    .ok_or_else(|| UnknownName { kind: $what, text: text.to_owned() })
            }
        }

        serde_as_text!($name);
    };
}

named! {
    /// What happened. Names under `audit.` are reserved for the log's own maintenance records,
    /// which only the writer makes.
    pub enum EventType("event type") {
        /// The identity provider issued a token (password, client credentials or refresh).
        TokenIssued = "token.issued",
        /// The identity provider issued a token by RFC 8693 token exchange.
        TokenExchanged = "token.exchanged",
        /// The identity provider refused to issue or exchange a token.
        TokenRefused = "token.refused",
        /// A token was revoked (RFC 7009), with every token exchanged from it.
        TokenRevoked = "token.revoked",
        /// The actions API decided whether a token may use a capability.
        CapabilityDecision = "capability.decision",
        /// The MCP server handled a tool call.
        McpToolCall = "mcp.tool_call",
        /// The writer found a torn final line at startup and kept it as evidence.
        TornLineRecovered = "audit.torn_line_recovered",
    }
}

impl EventType {
    /// Whether only the writer may record events of this type.
    #[must_use]
    pub fn is_reserved(self) -> bool {
        self.as_str().starts_with("audit.")
    }
}

named! {
    /// How the event ended; written as the `result` field.
    pub enum Outcome("result") {
        /// The request did what it asked for.
        Success = "success",
        /// Policy denied the request.
        Denied = "denied",
        /// The request needs a fresher or stronger login first (RFC 9470).
        StepUp = "step_up",
        /// The identity provider refused the request (an OAuth error response).
        Refused = "refused",
        /// Something failed on scopegate's side or upstream.
        Error = "error",
    }
}

named! {
    /// Whether a token came from a login or from a token exchange.
    pub enum TokenType("token type") {
        /// Issued to a person or client directly (password, client credentials, refresh).
        Original = "original",
        /// Issued by RFC 8693 token exchange from another token.
        Exchanged = "exchanged",
    }
}

/// A name that is not one of the known values of a field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a known {kind}")]
pub struct UnknownName {
    /// Which set of names was expected, such as `event type`.
    pub kind: &'static str,
    /// The rejected text.
    pub text: String,
}

/// A unique identifier for one event: a random (version 4) UUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(Uuid);

impl EventId {
    /// A fresh random identifier.
    #[must_use]
    pub fn random() -> Self {
        Self(Uuid::new_v4())
    }

    /// The identifier as a UUID.
    #[must_use]
    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl FromStr for EventId {
    type Err = EventIdParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(text)
            .map(Self)
            .map_err(|_| EventIdParseError {
                text: text.to_owned(),
            })
    }
}

serde_as_text!(EventId);

/// Text that is not a UUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a UUID")]
pub struct EventIdParseError {
    /// The rejected text.
    pub text: String,
}

/// The line a `audit.torn_line_recovered` record was written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TornLine {
    /// The 1-based line number of the torn line.
    pub line: u64,
    /// The byte offset at which the torn line starts.
    pub offset: u64,
    /// Its length in bytes, without the newline the writer added to end it.
    pub length: u64,
    /// The SHA-256 of those bytes.
    pub sha256: Digest,
}

/// One audit record, without the chain fields (`seq`, `prev_hash`, `hash`) the writer adds.
///
/// Build one with [`AuditEvent::builder`]. The fields are public for reading; the struct is
/// `#[non_exhaustive]` so that fields can be added without breaking readers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuditEvent {
    /// When the event happened.
    pub timestamp: EventTime,
    /// What happened.
    pub event_type: EventType,
    /// A unique identifier for this record.
    pub event_id: EventId,
    /// The identifier of the HTTP or MCP request that caused the event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<AuditText>,
    /// The person or client acted for: the token's `sub`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<AuditText>,
    /// The authenticated actor in between: the `sub` of the token's `act` claim (RFC 8693
    /// §4.1), such as `mcp-server`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acting_through: Option<AuditText>,
    /// The OAuth client that asked for the token or presented it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<AuditText>,
    /// Whether the token came from a login or from an exchange.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<TokenType>,
    /// The token's `jti`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_id: Option<AuditText>,
    /// The `jti` of the login token an exchanged token descends from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_token_id: Option<AuditText>,
    /// The token's `iat`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_issued_at: Option<ClaimTime>,
    /// The token's `exp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_expires_at: Option<ClaimTime>,
    /// `exp - iat`: how long the token was ever valid for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_ttl_seconds: Option<u64>,
    /// Whether the login behind the token used more than one factor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_verified: Option<bool>,
    /// When the person last really logged in: the token's `auth_time`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<ClaimTime>,
    /// The audiences the token is (or was asked to be) good for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audience: Vec<AuditText>,
    /// The scopes the token carries (or asked for).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scope: Vec<AuditText>,
    /// The capability asked for, such as `workday.payroll.get_compensation`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capability: Option<AuditText>,
    /// The MCP tool called, such as `workday_payroll_get_compensation`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<AuditText>,
    /// The policy that decided a capability request: the allow that granted it, the deny that
    /// refused it, or the allow a step-up would satisfy. Further policies appear in `reasons`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_matched: Option<AuditText>,
    /// How the event ended.
    #[serde(rename = "result", skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// Why it ended that way, one reason per entry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<AuditText>,
    /// The HTTP status the caller got.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// How long handling the request took, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// On an `audit.torn_line_recovered` record: the line recovered from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub torn_line: Option<TornLine>,
}

impl AuditEvent {
    /// Starts an event of type `event_type`, stamped now with a fresh `event_id`.
    pub fn builder(event_type: EventType) -> AuditEventBuilder {
        AuditEventBuilder {
            event: Self {
                timestamp: EventTime::now(),
                event_type,
                event_id: EventId::random(),
                request_id: None,
                actor: None,
                acting_through: None,
                client_id: None,
                token_type: None,
                token_id: None,
                original_token_id: None,
                token_issued_at: None,
                token_expires_at: None,
                token_ttl_seconds: None,
                mfa_verified: None,
                auth_time: None,
                audience: Vec::new(),
                scope: Vec::new(),
                capability: None,
                tool: None,
                policy_matched: None,
                outcome: None,
                reasons: Vec::new(),
                http_status: None,
                latency_ms: None,
                torn_line: None,
            },
        }
    }
}

/// The facts about a token that an audit record keeps, as the claims hold them.
///
/// Times are NumericDate values (seconds since the epoch, RFC 7519 §2); the builder turns
/// them into RFC 3339 text and works out `token_ttl_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenFacts<'a> {
    /// Whether the token came from a login or an exchange.
    pub token_type: TokenType,
    /// The token's `jti`.
    pub token_id: Option<&'a str>,
    /// The `jti` of the login token it descends from, for exchanged tokens.
    pub original_token_id: Option<&'a str>,
    /// The `iat` claim.
    pub issued_at: i64,
    /// The `exp` claim.
    pub expires_at: i64,
    /// The `auth_time` claim.
    pub auth_time: Option<i64>,
    /// Whether the login used more than one factor (as the policy engine judged `amr`).
    pub mfa_verified: bool,
}

/// Why token times cannot be recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenTimeError {
    /// A claim holds a time RFC 3339 cannot write.
    #[error("`{claim}` claim: {source}")]
    OutOfRange {
        /// The claim's name: `iat`, `exp` or `auth_time`.
        claim: &'static str,
        /// The range error.
        source: TimeError,
    },
    /// The token expires before it was issued.
    #[error("token expires at `{expires_at}`, before it was issued at `{issued_at}`")]
    ExpiresBeforeIssued {
        /// The `iat` claim.
        issued_at: i64,
        /// The `exp` claim.
        expires_at: i64,
    },
}

/// Fills an [`AuditEvent`] one field at a time; every text passes through redaction.
#[derive(Debug, Clone)]
#[must_use]
pub struct AuditEventBuilder {
    event: AuditEvent,
}

impl AuditEventBuilder {
    /// Sets when the event happened, instead of the moment the builder was made.
    pub fn timestamp(mut self, at: EventTime) -> Self {
        self.event.timestamp = at;
        self
    }

    /// Sets the request identifier.
    pub fn request_id(mut self, id: &str) -> Self {
        self.event.request_id = Some(AuditText::new(id));
        self
    }

    /// Sets the person or client acted for (the token's `sub`).
    pub fn actor(mut self, sub: &str) -> Self {
        self.event.actor = Some(AuditText::new(sub));
        self
    }

    /// Sets the authenticated actor in between (the `sub` of the `act` claim).
    pub fn acting_through(mut self, actor: &str) -> Self {
        self.event.acting_through = Some(AuditText::new(actor));
        self
    }

    /// Sets the OAuth client.
    pub fn client_id(mut self, client_id: &str) -> Self {
        self.event.client_id = Some(AuditText::new(client_id));
        self
    }

    /// Sets the token's `jti`, for events that know no more about the token.
    pub fn token_id(mut self, jti: &str) -> Self {
        self.event.token_id = Some(AuditText::new(jti));
        self
    }

    /// Records what the audit log keeps about a token, from its claims.
    ///
    /// # Errors
    ///
    /// [`TokenTimeError`] if a time is outside the years 0000 to 9999 or `exp` is before
    /// `iat`; the builder is consumed, as such a token should not have passed verification.
    /// [`set_token`](Self::set_token) keeps the builder instead.
    pub fn token(mut self, token: &TokenFacts<'_>) -> Result<Self, TokenTimeError> {
        self.set_token(token)?;
        Ok(self)
    }

    /// Records what the audit log keeps about a token, as [`token`](Self::token) does, in
    /// place.
    ///
    /// # Errors
    ///
    /// As [`token`](Self::token); the builder is then left as it was.
    pub fn set_token(&mut self, token: &TokenFacts<'_>) -> Result<(), TokenTimeError> {
        let claim_time = |claim, value| {
            ClaimTime::from_unix(value)
                .map_err(|source| TokenTimeError::OutOfRange { claim, source })
        };
        let issued_at = claim_time("iat", token.issued_at)?;
        let expires_at = claim_time("exp", token.expires_at)?;
        let auth_time = token
            .auth_time
            .map(|value| claim_time("auth_time", value))
            .transpose()?;
        let ttl = u64::try_from(token.expires_at - token.issued_at).map_err(|_| {
            TokenTimeError::ExpiresBeforeIssued {
                issued_at: token.issued_at,
                expires_at: token.expires_at,
            }
        })?;

        let event = &mut self.event;
        event.token_type = Some(token.token_type);
        if let Some(jti) = token.token_id {
            event.token_id = Some(AuditText::new(jti));
        }
        if let Some(jti) = token.original_token_id {
            event.original_token_id = Some(AuditText::new(jti));
        }
        event.token_issued_at = Some(issued_at);
        event.token_expires_at = Some(expires_at);
        event.token_ttl_seconds = Some(ttl);
        event.auth_time = auth_time;
        event.mfa_verified = Some(token.mfa_verified);
        Ok(())
    }

    /// Sets the audiences.
    pub fn audience<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, audiences: I) -> Self {
        self.event.audience = texts(audiences);
        self
    }

    /// Sets the scopes.
    pub fn scope<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, scopes: I) -> Self {
        self.event.scope = texts(scopes);
        self
    }

    /// Sets the capability.
    pub fn capability(mut self, capability: &str) -> Self {
        self.event.capability = Some(AuditText::new(capability));
        self
    }

    /// Sets the MCP tool name.
    pub fn tool(mut self, tool: &str) -> Self {
        self.event.tool = Some(AuditText::new(tool));
        self
    }

    /// Sets the name of the deciding policy.
    pub fn policy_matched(mut self, name: &str) -> Self {
        self.event.policy_matched = Some(AuditText::new(name));
        self
    }

    /// Sets the `result` field.
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.event.outcome = Some(outcome);
        self
    }

    /// Adds one reason.
    pub fn reason(mut self, reason: &str) -> Self {
        self.event.reasons.push(AuditText::new(reason));
        self
    }

    /// Adds several reasons.
    pub fn reasons<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, reasons: I) -> Self {
        self.event.reasons.extend(texts(reasons));
        self
    }

    /// Sets the HTTP status the caller got.
    pub fn http_status(mut self, status: u16) -> Self {
        self.event.http_status = Some(status);
        self
    }

    /// Sets the handling time, in whole milliseconds (rounded down).
    pub fn latency(mut self, elapsed: Duration) -> Self {
        self.event.latency_ms = Some(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX));
        self
    }

    pub(crate) fn torn_line(mut self, torn: TornLine) -> Self {
        self.event.torn_line = Some(torn);
        self
    }

    /// Finishes the event.
    #[must_use]
    pub fn build(self) -> AuditEvent {
        self.event
    }
}

fn texts<I: IntoIterator<Item = S>, S: AsRef<str>>(values: I) -> Vec<AuditText> {
    values
        .into_iter()
        .map(|value| AuditText::new(value.as_ref()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchanged_token() -> TokenFacts<'static> {
        TokenFacts {
            token_type: TokenType::Exchanged,
            token_id: Some("6f1c2a4e-0b7d-4e59-8c3a-2d1f0e9b8a7c"),
            original_token_id: Some("uuid-of-user-token"),
            issued_at: 1_769_596_080,
            expires_at: 1_769_596_380,
            auth_time: Some(1_769_596_020),
            mfa_verified: true,
        }
    }

    #[test]
    fn capability_decision_serialises_the_design_note_fields_and_omits_the_rest() {
        let event = AuditEvent::builder(EventType::CapabilityDecision)
            .timestamp(EventTime::from_unix_millis(1_769_596_200_000).unwrap())
            .actor("EMP001")
            .acting_through("mcp-server")
            .token(&exchanged_token())
            .unwrap()
            .capability("workday.payroll.get_compensation")
            .policy_matched("employee-self-service")
            .outcome(Outcome::Success)
            .latency(Duration::from_micros(145_900))
            .build();

        let json = serde_json::to_value(&event).unwrap();

        assert_eq!(
            json,
            serde_json::json!({
                "timestamp": "2026-01-28T10:30:00.000Z",
                "event_type": "capability.decision",
                "event_id": event.event_id.to_string(),
                "actor": "EMP001",
                "acting_through": "mcp-server",
                "token_type": "exchanged",
                "token_id": "6f1c2a4e-0b7d-4e59-8c3a-2d1f0e9b8a7c",
                "original_token_id": "uuid-of-user-token",
                "token_issued_at": "2026-01-28T10:28:00Z",
                "token_expires_at": "2026-01-28T10:33:00Z",
                "token_ttl_seconds": 300,
                "mfa_verified": true,
                "auth_time": "2026-01-28T10:27:00Z",
                "capability": "workday.payroll.get_compensation",
                "policy_matched": "employee-self-service",
                "result": "success",
                "latency_ms": 145,
            })
        );
    }

    #[test]
    fn an_event_round_trips_through_json() {
        let event = AuditEvent::builder(EventType::TokenRefused)
            .client_id("chat-app")
            .scope(["mcp:use"])
            .outcome(Outcome::Refused)
            .reason("invalid_target: audience `https://evil.test` is not registered")
            .http_status(400)
            .build();

        let json = serde_json::to_string(&event).unwrap();

        assert_eq!(serde_json::from_str::<AuditEvent>(&json).unwrap(), event);
    }

    #[test]
    fn free_text_is_redacted_by_the_builder() {
        let event = AuditEvent::builder(EventType::TokenRefused)
            .reason("bad subject_token eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln")
            .build();

        assert_eq!(
            event.reasons,
            [AuditText::new("bad subject_token [redacted:jwt]")]
        );
    }

    #[test]
    fn rejects_a_token_that_expires_before_it_was_issued() {
        let token = TokenFacts {
            expires_at: 1_769_596_000,
            ..exchanged_token()
        };

        let error = AuditEvent::builder(EventType::CapabilityDecision)
            .token(&token)
            .unwrap_err();

        assert_eq!(
            error,
            TokenTimeError::ExpiresBeforeIssued {
                issued_at: 1_769_596_080,
                expires_at: 1_769_596_000
            }
        );
    }

    #[test]
    fn rejects_an_auth_time_rfc3339_cannot_write() {
        let token = TokenFacts {
            auth_time: Some(i64::MAX),
            ..exchanged_token()
        };

        let error = AuditEvent::builder(EventType::CapabilityDecision)
            .token(&token)
            .unwrap_err();

        assert_eq!(
            error,
            TokenTimeError::OutOfRange {
                claim: "auth_time",
                source: TimeError::OutOfRange { value: i64::MAX }
            }
        );
    }

    #[test]
    fn names_parse_back_from_their_log_spelling() {
        for event_type in EventType::ALL {
            assert_eq!(
                event_type.as_str().parse::<EventType>().unwrap(),
                *event_type
            );
        }
        assert_eq!("step_up".parse::<Outcome>().unwrap(), Outcome::StepUp);
    }

    #[test]
    fn rejects_an_unknown_result_name() {
        let error = "maybe".parse::<Outcome>().unwrap_err();

        assert_eq!(
            error,
            UnknownName {
                kind: "result",
                text: "maybe".to_owned()
            }
        );
    }

    #[test]
    fn only_audit_maintenance_types_are_reserved() {
        let reserved: Vec<_> = EventType::ALL.iter().filter(|t| t.is_reserved()).collect();

        assert_eq!(reserved, [&EventType::TornLineRecovered]);
    }
}
