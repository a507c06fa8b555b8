//! [`RemoteIssuer`]: the keys of an external issuer, fetched over HTTP (cargo feature
//! `remote`, on by default).
//!
//! The JWKS location comes from OpenID Connect discovery
//! (`{issuer}/.well-known/openid-configuration` → `jwks_uri`) or is configured directly. Keys
//! are fetched when the verifier meets an unknown `kid`, at most once per
//! [`MIN_REFETCH_INTERVAL`], so a flood of tokens with invented `kid`s cannot turn into a
//! flood of requests. Lookups between fetches read the cached set and never wait on the
//! network.

use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use reqwest::header::ACCEPT;
use reqwest::{StatusCode, Url};
use serde_json::Value;

use crate::clock::{Clock, NumericDate};
use crate::error::KeySourceError;
use crate::json;
use crate::jwks::Jwks;
use crate::keys::VerificationKey;
use crate::source::{KeySource, RefreshFuture, StaticKeys};

/// The shortest time between two fetches of one issuer's keys.
pub const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(30);

/// The largest discovery or JWKS document accepted.
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// How long one HTTP request may take in total.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// The published keys of an external issuer, fetched over HTTP.
pub struct RemoteIssuer {
    issuer: String,
    discovery: Option<Url>,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    keys: RwLock<Arc<StaticKeys>>,
    /// Held while fetching, so concurrent refreshes wait for one fetch instead of repeating it.
    fetching: tokio::sync::Mutex<FetchState>,
}

#[derive(Default)]
struct FetchState {
    last_attempt: Option<NumericDate>,
    jwks_uri: Option<Url>,
}

impl RemoteIssuer {
    /// An issuer whose JWKS location is found by OpenID Connect discovery. Nothing is fetched
    /// until the first refresh.
    ///
    /// # Errors
    ///
    /// [`KeySourceError`] when `issuer` is not a URL, or is plain http to a non-loopback host.
    pub fn discover(
        issuer: impl Into<String>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, KeySourceError> {
        let issuer = issuer.into();
        // OpenID Connect Discovery §4: the issuer, without a trailing slash, plus the path.
        let location = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let discovery = parse_url(&location)?;
        Self::new(issuer, Some(discovery), None, clock)
    }

    /// An issuer whose JWKS is at `jwks_uri`.
    ///
    /// # Errors
    ///
    /// [`KeySourceError`] when `jwks_uri` is not a URL, or is plain http to a non-loopback host.
    pub fn with_jwks_uri(
        issuer: impl Into<String>,
        jwks_uri: &str,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, KeySourceError> {
        let jwks_uri = parse_url(jwks_uri)?;
        Self::new(issuer.into(), None, Some(jwks_uri), clock)
    }

    fn new(
        issuer: String,
        discovery: Option<Url>,
        jwks_uri: Option<Url>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, KeySourceError> {
        let http = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|source| KeySourceError::Transport {
                url: issuer.clone(),
                source: Box::new(source),
            })?;
        let fetching = tokio::sync::Mutex::new(FetchState {
            last_attempt: None,
            jwks_uri,
        });
        let keys = RwLock::new(Arc::new(StaticKeys::default()));
        Ok(Self {
            issuer,
            discovery,
            http,
            clock,
            keys,
            fetching,
        })
    }

    /// The issuer identifier.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Fetches the keys unless a fetch was attempted less than [`MIN_REFETCH_INTERVAL`] ago.
    async fn refresh_limited(&self) -> Result<(), KeySourceError> {
        let mut state = self.fetching.lock().await;
        let now = self.clock.now();
        let recent = state.last_attempt.is_some_and(|last| {
            now.seconds_since(last) < MIN_REFETCH_INTERVAL.as_secs().cast_signed()
        });
        if recent {
            return Ok(());
        }
        // A failed attempt counts too: an unreachable issuer is not hammered either.
        state.last_attempt = Some(now);

        let jwks_uri = if let Some(uri) = &state.jwks_uri {
            uri.clone()
        } else {
            let uri = self.discover_jwks_uri().await?;
            state.jwks_uri = Some(uri.clone());
            uri
        };
        let document = self.get(&jwks_uri).await?;
        let jwks = Jwks::from_json(&document).map_err(|source| KeySourceError::Jwks {
            url: jwks_uri.to_string(),
            source,
        })?;
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) =
            Arc::new(StaticKeys::new(&jwks));
        Ok(())
    }

    /// Reads `jwks_uri` from the discovery document, checking it describes this issuer.
    async fn discover_jwks_uri(&self) -> Result<Url, KeySourceError> {
        let Some(url) = &self.discovery else {
            return Err(KeySourceError::InvalidUrl {
                url: self.issuer.clone(),
            });
        };
        let document = self.get(url).await?;
        let invalid = |reason: &'static str| KeySourceError::Discovery {
            url: url.to_string(),
            reason: reason.into(),
        };
        let metadata =
            json::parse_object(&document).map_err(|error| KeySourceError::Discovery {
                url: url.to_string(),
                reason: error.to_string().into(),
            })?;

        // OpenID Connect Discovery §4.3: the `issuer` must be identical to the one asked for.
        let Some(Value::String(found)) = metadata.get("issuer") else {
            return Err(invalid("`issuer` is missing or not a string"));
        };
        if *found != self.issuer {
            let (expected, found) = (self.issuer.clone(), found.clone());
            return Err(KeySourceError::IssuerMismatch { expected, found });
        }
        let Some(Value::String(jwks_uri)) = metadata.get("jwks_uri") else {
            return Err(invalid("`jwks_uri` is missing or not a string"));
        };
        parse_url(jwks_uri)
    }

    /// GETs `url`, expecting 200 and at most [`MAX_DOCUMENT_BYTES`].
    async fn get(&self, url: &Url) -> Result<Vec<u8>, KeySourceError> {
        let transport = |source: reqwest::Error| KeySourceError::Transport {
            url: url.to_string(),
            source: Box::new(source),
        };
        let too_large = || KeySourceError::TooLarge {
            url: url.to_string(),
            limit: MAX_DOCUMENT_BYTES,
        };

        let request = self
            .http
            .get(url.clone())
            .header(ACCEPT, "application/json");
        let mut response = request.send().await.map_err(transport)?;
        if response.status() != StatusCode::OK {
            let status = response.status().as_u16();
            return Err(KeySourceError::Status {
                url: url.to_string(),
                status,
            });
        }
        if response
            .content_length()
            .is_some_and(|length| length > MAX_DOCUMENT_BYTES as u64)
        {
            return Err(too_large());
        }

        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

impl KeySource for RemoteIssuer {
    fn find(&self, kid: &str) -> Option<Arc<VerificationKey>> {
        let keys = Arc::clone(&self.keys.read().unwrap_or_else(PoisonError::into_inner));
        keys.find(kid)
    }

    fn refresh(&self) -> RefreshFuture<'_> {
        Box::pin(self.refresh_limited())
    }
}

impl fmt::Debug for RemoteIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteIssuer")
            .field("issuer", &self.issuer)
            .field("discovery", &self.discovery.as_ref().map(Url::as_str))
            .finish_non_exhaustive()
    }
}

/// Parses `text` as an https URL, or an http URL to a loopback host (local development).
fn parse_url(text: &str) -> Result<Url, KeySourceError> {
    let url = Url::parse(text).map_err(|_| KeySourceError::InvalidUrl {
        url: text.to_owned(),
    })?;
    let host = url.host_str().unwrap_or_default();
    let address = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>();
    let loopback =
        host.eq_ignore_ascii_case("localhost") || address.is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(KeySourceError::InsecureUrl {
            url: text.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_https_and_loopback_http_only() {
        for good in [
            "https://idp.example/",
            "http://127.0.0.1:9000",
            "http://localhost/x",
            "http://[::1]:1/",
        ] {
            assert!(parse_url(good).is_ok(), "{good}");
        }
        let error = parse_url("http://idp.example/").unwrap_err();

        assert_eq!(
            error.to_string(),
            "`http://idp.example/` must use https (plain http only for loopback hosts)"
        );
        assert!(matches!(
            parse_url("not a url"),
            Err(KeySourceError::InvalidUrl { .. })
        ));
        assert!(matches!(
            parse_url("ftp://x/"),
            Err(KeySourceError::InsecureUrl { .. })
        ));
    }
}
