//! The online revocation check: asks the identity provider's introspection endpoint (RFC 7662)
//! whether a token is still active, remembering each answer for a few seconds.
//!
//! A signed token stays valid until `exp` whatever happens at the IdP; capabilities marked
//! `revocation_check: introspect` (or every capability, by configuration) also require that the
//! IdP has not revoked it. The cache bounds the extra round trip to one per token per
//! [`IntrospectionConfig::cache_ttl`], which is also how long a revocation can go unnoticed.

use std::fmt;
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;
use reqwest::header::ACCEPT;
use reqwest::{Client, redirect};
use scopegate_token::TokenDigest;
use serde::Deserialize;

/// How long an introspection answer is reused unless configured otherwise.
pub const DEFAULT_INTROSPECTION_CACHE_TTL: Duration = Duration::from_secs(5);

/// How long one introspection request may take unless configured otherwise.
pub const DEFAULT_INTROSPECTION_TIMEOUT: Duration = Duration::from_secs(2);

/// How many answers are remembered.
const CACHE_CAPACITY: usize = 16_384;

/// The largest introspection answer read.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Where and as whom the API introspects tokens.
#[derive(Clone, Debug)]
pub struct IntrospectionConfig {
    /// The introspection endpoint, such as `http://127.0.0.1:9000/oauth2/v1/introspect`.
    pub endpoint: String,
    /// The API's client id at the IdP (RFC 7662 §2.1: the caller must authenticate).
    pub client_id: String,
    /// The API's client secret.
    pub client_secret: ClientSecret,
    /// How long one request may take.
    pub timeout: Duration,
    /// How long an answer is reused.
    pub cache_ttl: Duration,
    /// Whether every capability is checked, or only those marked `revocation_check: introspect`.
    pub all_capabilities: bool,
}

/// A client secret; `Debug` shows only its length.
#[derive(Clone)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// Wraps a secret.
    #[must_use]
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientSecret(<{} bytes>)", self.0.len())
    }
}

/// Why the revocation status could not be learnt.
#[derive(Debug, thiserror::Error)]
pub enum IntrospectionError {
    /// The endpoint could not be reached or did not answer in time.
    #[error("introspection request failed")]
    Transport(#[source] reqwest::Error),
    /// The endpoint answered with a status other than 200.
    #[error("introspection endpoint answered HTTP {status}")]
    Status {
        /// The status.
        status: u16,
    },
    /// The answer is not an RFC 7662 response.
    #[error("introspection answer is not a JSON object with a boolean `active`")]
    Answer,
}

/// Asks the IdP whether tokens are active, through a short cache.
pub struct Introspector {
    config: IntrospectionConfig,
    client: Client,
    cache: Cache<[u8; 32], Remembered>,
}

#[derive(Clone, Copy)]
struct Remembered {
    active: bool,
    until: Instant,
}

#[derive(Deserialize)]
struct Answer {
    active: bool,
}

impl Introspector {
    /// An introspector for `config`.
    ///
    /// # Errors
    ///
    /// [`IntrospectionError::Transport`] when the HTTP client cannot be built.
    pub fn new(config: IntrospectionConfig) -> Result<Self, IntrospectionError> {
        let client = Client::builder()
            .timeout(config.timeout)
            .redirect(redirect::Policy::none())
            .build()
            .map_err(IntrospectionError::Transport)?;
        Ok(Self {
            config,
            client,
            cache: Cache::new(CACHE_CAPACITY),
        })
    }

    /// Whether every capability is checked.
    #[must_use]
    pub fn checks_all_capabilities(&self) -> bool {
        self.config.all_capabilities
    }

    /// Whether the IdP considers `token` active, from the cache when answered recently.
    ///
    /// # Errors
    ///
    /// [`IntrospectionError`] when the IdP cannot be asked; callers fail closed.
    pub async fn is_active(&self, token: &str) -> Result<bool, IntrospectionError> {
        let key = *TokenDigest::of(token).as_bytes();
        let now = Instant::now();
        if let Some(remembered) = self.cache.get(&key).filter(|r| r.until > now) {
            return Ok(remembered.active);
        }
        let active = self.ask(token).await?;
        let until = now + self.config.cache_ttl;
        self.cache.insert(key, Remembered { active, until });
        Ok(active)
    }

    async fn ask(&self, token: &str) -> Result<bool, IntrospectionError> {
        // RFC 6749 §2.3.1: the id and secret are form-encoded before Basic encoding.
        let id = form_encoded(&self.config.client_id);
        let secret = form_encoded(&self.config.client_secret.0);
        // RFC 7662 §2.1: POST, form-encoded `token` with an optional type hint.
        let mut response = self
            .client
            .post(&self.config.endpoint)
            .basic_auth(id, Some(secret))
            .header(ACCEPT, "application/json")
            .form(&[("token", token), ("token_type_hint", "access_token")])
            .send()
            .await
            .map_err(IntrospectionError::Transport)?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(IntrospectionError::Status {
                status: response.status().as_u16(),
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(IntrospectionError::Transport)?
        {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(IntrospectionError::Answer);
            }
            body.extend_from_slice(&chunk);
        }
        let answer: Answer =
            serde_json::from_slice(&body).map_err(|_| IntrospectionError::Answer)?;
        Ok(answer.active)
    }
}

impl fmt::Debug for Introspector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Introspector")
            .field("endpoint", &self.config.endpoint)
            .field("client_id", &self.config.client_id)
            .field("cache_ttl", &self.config.cache_ttl)
            .finish_non_exhaustive()
    }
}

fn form_encoded(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
