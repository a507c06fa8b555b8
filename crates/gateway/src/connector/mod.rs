//! Connectors: what performs a capability once policy allowed it. The built-in Workday fixture
//! answers from an in-memory data set; the HTTP connector forwards to a real back end.

pub mod fixture;
pub mod http;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use serde_json::{Map, Value};

use crate::capability::{CapabilityName, WORKDAY_FIXTURE};
use fixture::WorkdayFixture;
use http::HttpUpstream;

/// The connector a capability is bound to, resolved when the capability file is loaded.
#[derive(Clone, Debug)]
pub enum Connector {
    /// The built-in Workday fixture, performing one of its actions.
    WorkdayFixture(fixture::Action),
    /// An HTTP upstream declared in the capability file.
    Http(Arc<HttpUpstream>),
}

impl Connector {
    /// The connector's name as the capability file writes it.
    #[must_use]
    pub fn name(&self) -> &str {
        match self {
            Self::WorkdayFixture(_) => WORKDAY_FIXTURE,
            Self::Http(upstream) => upstream.name(),
        }
    }

    /// Performs `call`; `fixture` is the data set fixture capabilities work on.
    ///
    /// # Errors
    ///
    /// [`ConnectorError`] when the record does not exist or the upstream fails or times out.
    pub async fn perform(
        &self,
        fixture: &WorkdayFixture,
        call: &ConnectorCall<'_>,
    ) -> Result<Answer, ConnectorError> {
        match self {
            Self::WorkdayFixture(action) => fixture.perform(*action, call),
            Self::Http(upstream) => upstream.perform(call).await,
        }
    }
}

/// What a connector answered: one JSON document, already encoded.
///
/// The fixture keeps the answers it gives most often encoded, and an upstream's answer is
/// checked and passed on as it came, so the answer to a call is not decoded and encoded
/// again on its way to the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer(Bytes);

impl Answer {
    /// Encodes `value`.
    #[must_use]
    pub fn from_value(value: &Value) -> Self {
        // A `Value` always encodes: its map keys are strings.
        Self(Bytes::from(value.to_string()))
    }

    /// Takes `bytes` as they are, if they hold exactly one JSON document.
    ///
    /// # Errors
    ///
    /// The parser's error when they do not.
    pub fn from_json(bytes: Bytes) -> Result<Self, serde_json::Error> {
        serde_json::from_slice::<serde::de::IgnoredAny>(&bytes)?;
        Ok(Self(bytes))
    }

    /// The encoded document, for a response body.
    #[must_use]
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// The document decoded, for callers that look inside it.
    ///
    /// # Errors
    ///
    /// None in practice: an `Answer` holds valid JSON by construction.
    pub fn to_value(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_slice(&self.0)
    }
}

/// One allowed call, as a connector sees it.
#[derive(Clone, Copy, Debug)]
pub struct ConnectorCall<'a> {
    /// The capability.
    pub capability: &'a CapabilityName,
    /// The validated arguments, the target argument filled in when it was left out.
    pub arguments: &'a Map<String, Value>,
    /// The person or workload acted for: the token's `sub`.
    pub subject: &'a str,
    /// The current actor (`act.sub`), if the call came through one.
    pub actor: Option<&'a str>,
    /// The request id, passed on so upstream logs join the audit log.
    pub request_id: &'a str,
}

impl ConnectorCall<'_> {
    /// The string argument `name`, if present.
    #[must_use]
    pub fn argument(&self, name: &str) -> Option<&str> {
        self.arguments.get(name).and_then(Value::as_str)
    }
}

/// Why a connector did not perform a call.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The record the call names does not exist.
    #[error("no {what} for employee `{employee_id}`")]
    NotFound {
        /// What was looked for, such as `employee record`.
        what: &'static str,
        /// The employee id asked for.
        employee_id: String,
    },
    /// The upstream did not answer in time.
    #[error("upstream `{upstream}` did not answer within {} ms", .timeout.as_millis())]
    Timeout {
        /// The upstream's name.
        upstream: String,
        /// The limit.
        timeout: Duration,
    },
    /// The upstream answered with a status other than 2xx.
    #[error("upstream `{upstream}` answered HTTP {status}")]
    Status {
        /// The upstream's name.
        upstream: String,
        /// The status it answered.
        status: u16,
    },
    /// The upstream could not be reached.
    #[error("upstream `{upstream}` could not be reached")]
    Transport {
        /// The upstream's name.
        upstream: String,
        /// The HTTP client's error, logged but not shown to the caller.
        source: reqwest::Error,
    },
    /// The upstream's answer is not usable.
    #[error("upstream `{upstream}` answered {reason}")]
    Body {
        /// The upstream's name.
        upstream: String,
        /// What is wrong with the answer.
        reason: &'static str,
    },
}
