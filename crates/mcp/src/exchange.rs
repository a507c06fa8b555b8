//! The on-behalf-of exchange (RFC 8693): the MCP server trades the token a client presented for
//! a token at the actions API that names the MCP server as the actor.
//!
//! The presented token goes only to the identity provider, as the `subject_token`; it never
//! goes to the API (the MCP authorization specification forbids token passthrough). The result
//! is kept per presented token, keyed by its SHA-256, and reused until
//! [`ExchangeCacheConfig::refresh_margin`](crate::ExchangeCacheConfig) before it expires, so a
//! burst of tool calls costs one exchange. Concurrent calls with the same presented token wait
//! for one exchange instead of each making their own.
//!
//! A cached token outlives a revocation of the token it came from, so a cache hit whose
//! presented token was confirmed longer ago than
//! [`ExchangeCacheConfig::recheck_after`](crate::ExchangeCacheConfig) (by default: any hit)
//! first asks the identity provider (RFC 7662 introspection) whether the presented token is
//! still active: revoking a person's login stops their agent at its next call, not when the
//! cache expires.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use quick_cache::sync::Cache;
use reqwest::header::ACCEPT;
use reqwest::{Client, StatusCode, Url};
use scopegate_token::{Clock, NumericDate, TokenDigest};
use serde::Deserialize;

use crate::config::ExchangeCacheConfig;
use crate::http_body::{ReadError, read_limited};
use crate::secret::{BearerToken, ClientSecret};

/// RFC 8693 §2.1: the grant type of a token exchange.
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// RFC 8693 §3: the type URI of an access token.
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// The largest token endpoint answer read.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// A token at the actions API, obtained by exchange, with the moment it expires.
#[derive(Debug)]
pub(crate) struct ApiToken {
    pub(crate) bearer: BearerToken,
    pub(crate) expires_at: NumericDate,
    /// When the presented token was last known to be active (Unix seconds).
    confirmed_at: AtomicI64,
}

impl ApiToken {
    /// Whether the presented token was confirmed active within `recheck_after` of `now`.
    fn confirmed_recently(&self, now: NumericDate, recheck_after: Duration) -> bool {
        let confirmed = self.confirmed_at.load(Ordering::Relaxed);
        let age = now.as_unix_seconds().saturating_sub(confirmed);
        u64::try_from(age).is_ok_and(|age| age < recheck_after.as_secs())
    }

    /// Whether the token may still be used at `now`, keeping `margin` before its expiry.
    fn usable_at(&self, now: NumericDate, margin: Duration) -> bool {
        now.saturating_add(margin) < self.expires_at
    }
}

/// Why no token at the actions API could be obtained.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExchangeError {
    /// The identity provider answered with an OAuth error (RFC 6749 §5.2).
    #[error("the identity provider refused the exchange with `{error}`{}", described(.description))]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The `error` code.
        error: String,
        /// The `error_description`, if any.
        description: Option<String>,
    },
    /// No answer within the configured time.
    #[error("no answer within {} s", .after.as_secs_f32())]
    Timeout {
        /// The limit.
        after: Duration,
    },
    /// The identity provider could not be reached.
    #[error("it could not be reached")]
    Unreachable(#[source] reqwest::Error),
    /// It answered with a status that carries no OAuth error.
    #[error("it answered HTTP {status}")]
    Status {
        /// The status.
        status: u16,
    },
    /// It answered 200 with something that is not a token response.
    #[error("its answer is not a token response: {reason}")]
    Malformed {
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl ExchangeError {
    /// Whether the refusal is about the presented token (RFC 8693 §2.2.2: a subject token that
    /// is invalid for any reason is `invalid_request`), rather than about the MCP server.
    pub(crate) fn rejects_subject(&self) -> bool {
        let Self::Refused { error, .. } = self else {
            return false;
        };
        error == "invalid_request" || error == "invalid_grant"
    }
}

/// An RFC 7662 §2.2 answer; only `active` matters here.
#[derive(Deserialize)]
struct Introspection {
    active: bool,
}

/// Exchanges presented tokens for tokens at the actions API, through a cache.
pub(crate) struct Exchanger {
    http: Client,
    endpoint: Url,
    introspection_endpoint: Url,
    client_id: String,
    client_secret: ClientSecret,
    audience: String,
    timeout: Duration,
    margin: Duration,
    recheck_after: Duration,
    cache: Option<Cache<TokenDigest, Arc<ApiToken>>>,
    clock: Arc<dyn Clock>,
}

/// What the exchanger is built from.
pub(crate) struct ExchangerParts {
    pub(crate) http: Client,
    pub(crate) endpoint: Url,
    pub(crate) introspection_endpoint: Url,
    pub(crate) client_id: String,
    pub(crate) client_secret: ClientSecret,
    pub(crate) audience: String,
    pub(crate) timeout: Duration,
    pub(crate) cache: ExchangeCacheConfig,
    pub(crate) clock: Arc<dyn Clock>,
}

/// RFC 8693 §2.2.1 (success) and RFC 6749 §5.2 (error) answers, leniently read.
#[derive(Deserialize)]
struct Answer {
    access_token: Option<String>,
    token_type: Option<String>,
    expires_in: Option<u64>,
    error: Option<String>,
    error_description: Option<String>,
}

impl Exchanger {
    pub(crate) fn new(parts: ExchangerParts) -> Self {
        let cache = (parts.cache.capacity > 0).then(|| Cache::new(parts.cache.capacity));
        Self {
            http: parts.http,
            endpoint: parts.endpoint,
            introspection_endpoint: parts.introspection_endpoint,
            client_id: parts.client_id,
            client_secret: parts.client_secret,
            audience: parts.audience,
            timeout: parts.timeout,
            margin: parts.cache.refresh_margin,
            recheck_after: parts.cache.recheck_after,
            cache,
            clock: parts.clock,
        }
    }

    /// A token at the actions API on behalf of the holder of `subject`, from the cache while
    /// one is usable.
    pub(crate) async fn token_for(
        &self,
        subject: &BearerToken,
        request_id: &str,
    ) -> Result<Arc<ApiToken>, ExchangeError> {
        let Some(cache) = &self.cache else {
            return self.exchange(subject, request_id).await;
        };
        let key = TokenDigest::of(subject.expose());
        let now = self.clock.now();
        if let Some(hit) = cache.get(&key) {
            if hit.usable_at(now, self.margin) {
                return self.confirmed(cache, &key, hit, subject, request_id).await;
            }
            cache.remove_if(&key, |stale| !stale.usable_at(now, self.margin));
        }

        // One exchange per presented token: later callers wait on the placeholder.
        match cache.get_value_or_guard_async(&key).await {
            Ok(hit) if hit.usable_at(self.clock.now(), self.margin) => {
                self.confirmed(cache, &key, hit, subject, request_id).await
            }
            Ok(_) => self.exchange(subject, request_id).await,
            Err(placeholder) => {
                let fresh = self.exchange(subject, request_id).await?;
                if fresh.usable_at(self.clock.now(), self.margin) {
                    let _ = placeholder.insert(Arc::clone(&fresh));
                }
                Ok(fresh)
            }
        }
    }

    /// `hit`, once the presented token is known to be still active: recently confirmed, or
    /// confirmed now by introspection. A revoked presented token drops the cached token.
    async fn confirmed(
        &self,
        cache: &Cache<TokenDigest, Arc<ApiToken>>,
        key: &TokenDigest,
        hit: Arc<ApiToken>,
        subject: &BearerToken,
        request_id: &str,
    ) -> Result<Arc<ApiToken>, ExchangeError> {
        let now = self.clock.now();
        if hit.confirmed_recently(now, self.recheck_after) {
            return Ok(hit);
        }
        if self.is_active(subject, request_id).await? {
            hit.confirmed_at
                .store(now.as_unix_seconds(), Ordering::Relaxed);
            return Ok(hit);
        }
        cache.remove(key);
        // RFC 8693 §2.2.2 would call an exchange of this token `invalid_request`; say the same.
        Err(ExchangeError::Refused {
            status: 400,
            error: "invalid_request".to_owned(),
            description: Some("the presented token is no longer active".to_owned()),
        })
    }

    /// RFC 7662 §2.1: asks the identity provider whether `subject` is active, authenticating
    /// as this server's client. Any answer but `"active": true` is inactive (fail closed).
    async fn is_active(
        &self,
        subject: &BearerToken,
        request_id: &str,
    ) -> Result<bool, ExchangeError> {
        let form = [
            ("token", subject.expose()),
            ("token_type_hint", "access_token"),
        ];
        let (status, body) = self
            .post(&self.introspection_endpoint, &form, request_id)
            .await?;
        if status != StatusCode::OK {
            return Err(ExchangeError::Status {
                status: status.as_u16(),
            });
        }
        let answer: Option<Introspection> = serde_json::from_slice(&body).ok();
        Ok(answer.is_some_and(|answer| answer.active))
    }

    /// Drops the token kept for `subject`, after the API refused it.
    pub(crate) fn forget(&self, subject: &BearerToken) {
        if let Some(cache) = &self.cache {
            cache.remove(&TokenDigest::of(subject.expose()));
        }
    }

    /// How many exchanged tokens are kept.
    pub(crate) fn cached(&self) -> usize {
        self.cache.as_ref().map_or(0, Cache::len)
    }

    async fn exchange(
        &self,
        subject: &BearerToken,
        request_id: &str,
    ) -> Result<Arc<ApiToken>, ExchangeError> {
        // RFC 8693 §2.1: the presented token is the subject; the audience is the API.
        let form = [
            ("grant_type", GRANT_TYPE),
            ("subject_token", subject.expose()),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
            ("requested_token_type", ACCESS_TOKEN_TYPE),
            ("audience", self.audience.as_str()),
        ];
        let (status, body) = self.post(&self.endpoint, &form, request_id).await?;
        let answer: Option<Answer> = serde_json::from_slice(&body).ok();

        if status != StatusCode::OK {
            return Err(refusal(status, answer));
        }
        let answer = answer.ok_or(ExchangeError::Malformed {
            reason: "it is not JSON",
        })?;
        self.accept(answer)
    }

    /// Posts `form` to one of the identity provider's endpoints as this server's client, and
    /// reads the answer within [`MAX_ANSWER_BYTES`] and the configured timeout.
    async fn post(
        &self,
        url: &Url,
        form: &[(&str, &str)],
        request_id: &str,
    ) -> Result<(StatusCode, Vec<u8>), ExchangeError> {
        // RFC 6749 §2.3.1: the id and secret are form-encoded before the Basic encoding.
        let id = form_encoded(&self.client_id);
        let secret = form_encoded(self.client_secret.expose());
        let sent = self
            .http
            .post(url.clone())
            .basic_auth(id, Some(secret))
            .header(ACCEPT, "application/json")
            .header("x-request-id", request_id)
            .form(form)
            .timeout(self.timeout)
            .send()
            .await;
        let response = sent.map_err(|error| self.transport_error(error))?;
        let status = response.status();
        let body = read_limited(response, MAX_ANSWER_BYTES)
            .await
            .map_err(|error| match error {
                ReadError::Transport(error) => self.transport_error(error),
                ReadError::TooLarge => ExchangeError::Malformed {
                    reason: "it is too large",
                },
            })?;
        Ok((status, body))
    }

    /// RFC 8693 §2.2.1: `access_token` and `token_type` are required; a token this server
    /// cannot present as a bearer token is no use to it.
    fn accept(&self, answer: Answer) -> Result<Arc<ApiToken>, ExchangeError> {
        let Some(token) = answer.access_token.filter(|token| !token.is_empty()) else {
            return Err(ExchangeError::Malformed {
                reason: "it has no `access_token`",
            });
        };
        let bearer = answer
            .token_type
            .is_some_and(|kind| kind.eq_ignore_ascii_case("bearer"));
        if !bearer {
            return Err(ExchangeError::Malformed {
                reason: "its `token_type` is not `Bearer`",
            });
        }
        // Without `expires_in` the lifetime is unknown: use the token once, never cache it.
        let now = self.clock.now();
        let expires_at = answer.expires_in.map_or(now, |seconds| {
            now.saturating_add(Duration::from_secs(seconds))
        });
        Ok(Arc::new(ApiToken {
            bearer: BearerToken::new(token),
            expires_at,
            // The IdP just accepted the presented token as the subject of an exchange.
            confirmed_at: AtomicI64::new(now.as_unix_seconds()),
        }))
    }

    fn transport_error(&self, error: reqwest::Error) -> ExchangeError {
        if error.is_timeout() {
            ExchangeError::Timeout {
                after: self.timeout,
            }
        } else {
            ExchangeError::Unreachable(error)
        }
    }
}

/// A non-200 answer: an OAuth error when the body says so, otherwise a bare status.
fn refusal(status: StatusCode, answer: Option<Answer>) -> ExchangeError {
    let oauth_error = answer.and_then(|answer| {
        let error = answer.error?;
        Some((error, answer.error_description))
    });
    match oauth_error {
        Some((error, description)) if status.is_client_error() => ExchangeError::Refused {
            status: status.as_u16(),
            error,
            description,
        },
        _ => ExchangeError::Status {
            status: status.as_u16(),
        },
    }
}

fn form_encoded(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn described(description: &Option<String>) -> String {
    description
        .as_ref()
        .map(|text| format!(": {text}"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(json: &str) -> Option<Answer> {
        serde_json::from_str(json).ok()
    }

    #[test]
    fn an_oauth_error_answer_is_a_refusal_naming_its_code() {
        let error = refusal(
            StatusCode::BAD_REQUEST,
            answer(
                r#"{"error":"invalid_request","error_description":"the subject token is revoked"}"#,
            ),
        );

        assert!(error.rejects_subject());
        assert_eq!(
            error.to_string(),
            "the identity provider refused the exchange with `invalid_request`: the subject \
             token is revoked"
        );
    }

    #[test]
    fn a_client_authentication_failure_is_not_blamed_on_the_subject() {
        let error = refusal(
            StatusCode::UNAUTHORIZED,
            answer(r#"{"error":"invalid_client"}"#),
        );

        assert!(!error.rejects_subject());
        assert_eq!(
            error.to_string(),
            "the identity provider refused the exchange with `invalid_client`"
        );
    }

    #[test]
    fn a_server_error_is_a_bare_status_even_with_an_error_body() {
        let error = refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            answer(r#"{"error":"temporarily_unavailable"}"#),
        );

        assert_eq!(error.to_string(), "it answered HTTP 503");
    }

    #[test]
    fn a_token_is_reusable_only_until_the_margin_before_expiry() {
        let at = |s| NumericDate::from_unix_seconds(s).unwrap();
        let token = ApiToken {
            bearer: BearerToken::new("t"),
            expires_at: at(1_300),
            confirmed_at: AtomicI64::new(1_000),
        };
        let margin = Duration::from_secs(30);

        assert!(token.usable_at(at(1_269), margin));
        assert!(!token.usable_at(at(1_270), margin));
    }

    #[test]
    fn a_confirmation_is_trusted_only_for_the_recheck_interval() {
        let at = |s| NumericDate::from_unix_seconds(s).unwrap();
        let token = ApiToken {
            bearer: BearerToken::new("t"),
            expires_at: at(1_300),
            confirmed_at: AtomicI64::new(1_000),
        };
        let recheck = Duration::from_secs(5);

        assert!(token.confirmed_recently(at(1_004), recheck));
        assert!(!token.confirmed_recently(at(1_005), recheck));
    }
}
