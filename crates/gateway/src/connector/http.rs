//! The HTTP upstream connector: forwards an allowed call to a real back end as
//! `POST {base_url}/{system}/{action}` with the validated arguments as a JSON body, within a
//! timeout, authenticating as the service with a credential named in the capability file.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderName, HeaderValue};
use reqwest::{Client, Url, redirect};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{Answer, ConnectorCall, ConnectorError};
use crate::capability::{CapabilityProblem, SecretLookup};

/// The timeout of an upstream call unless its `timeout_ms` says otherwise.
pub const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest upstream answer accepted.
pub const MAX_UPSTREAM_BODY_BYTES: usize = 1024 * 1024;

/// The longest `timeout_ms` accepted.
const MAX_TIMEOUT_MS: u64 = 60_000;

/// The header naming the person or workload acted for.
const SUBJECT_HEADER: &str = "x-scopegate-subject";

/// The header naming the current actor, such as `mcp-server`.
const ACTOR_HEADER: &str = "x-scopegate-actor";

/// The header carrying the request id.
const REQUEST_ID_HEADER: &str = "x-request-id";

/// An `upstreams:` entry of the capability file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamSpec {
    /// The name capabilities use as their `connector`.
    pub name: String,
    /// The URL the capability paths are appended to.
    pub base_url: String,
    /// The limit for one call, in milliseconds (default 5000).
    pub timeout_ms: Option<u64>,
    /// How the service authenticates to the upstream (default: it does not).
    #[serde(default)]
    pub auth: AuthSpec,
}

/// How the service authenticates to an upstream; credentials are named, never written.
#[derive(Debug, Default, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthSpec {
    /// No credential.
    #[default]
    None,
    /// `Authorization: Bearer <secret>`, the secret read from `token_env`.
    Bearer {
        /// The environment variable holding the token.
        token_env: String,
    },
    /// `<header>: <secret>`, such as an API key header, the secret read from `value_env`.
    Header {
        /// The header name.
        header: String,
        /// The environment variable holding the value.
        value_env: String,
    },
}

/// The credential header sent to an upstream. `Debug` shows the header name only.
#[derive(Clone)]
pub struct UpstreamAuth(Option<(HeaderName, HeaderValue)>);

impl UpstreamAuth {
    /// Reads the credential `spec` names through `secrets`.
    pub(crate) fn resolve(
        spec: &UpstreamSpec,
        secrets: SecretLookup<'_>,
    ) -> Result<Self, CapabilityProblem> {
        let upstream = || spec.name.clone();
        let (name, secret_name, prefix) = match &spec.auth {
            AuthSpec::None => return Ok(Self(None)),
            AuthSpec::Bearer { token_env } => (AUTHORIZATION, token_env, "Bearer "),
            AuthSpec::Header { header, value_env } => {
                let name = HeaderName::try_from(header.as_str()).map_err(|_| {
                    let what = format!("`{header}`");
                    CapabilityProblem::UpstreamHeader {
                        upstream: upstream(),
                        what,
                        part: "name",
                    }
                })?;
                (name, value_env, "")
            }
        };
        let Some(secret) = secrets(secret_name) else {
            let name = secret_name.clone();
            return Err(CapabilityProblem::SecretMissing {
                upstream: upstream(),
                name,
            });
        };
        let mut value = HeaderValue::try_from(format!("{prefix}{secret}")).map_err(|_| {
            let what = format!("the secret in `{secret_name}`");
            CapabilityProblem::UpstreamHeader {
                upstream: upstream(),
                what,
                part: "value",
            }
        })?;
        value.set_sensitive(true);
        Ok(Self(Some((name, value))))
    }
}

impl fmt::Debug for UpstreamAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some((name, _)) => write!(f, "UpstreamAuth({name}: <secret>)"),
            None => f.write_str("UpstreamAuth(none)"),
        }
    }
}

/// One HTTP back end.
#[derive(Debug)]
pub struct HttpUpstream {
    name: String,
    base_url: String,
    timeout: Duration,
    auth: UpstreamAuth,
    client: Client,
}

impl HttpUpstream {
    /// An upstream from its file entry and resolved credential.
    pub(crate) fn new(spec: &UpstreamSpec, auth: UpstreamAuth) -> Result<Self, CapabilityProblem> {
        let base_url = check_base_url(&spec.base_url).map_err(|reason| {
            let (upstream, url) = (spec.name.clone(), spec.base_url.clone());
            CapabilityProblem::UpstreamUrl {
                upstream,
                url,
                reason,
            }
        })?;
        let timeout_ms = spec.timeout_ms.unwrap_or(5_000);
        if timeout_ms == 0 || timeout_ms > MAX_TIMEOUT_MS {
            return Err(CapabilityProblem::UpstreamTimeout {
                upstream: spec.name.clone(),
            });
        }
        let timeout = Duration::from_millis(timeout_ms);
        // Redirects are not followed: the credential must not travel to another host.
        let client = Client::builder()
            .timeout(timeout)
            .redirect(redirect::Policy::none())
            .build()
            .map_err(|error| CapabilityProblem::UpstreamClient {
                upstream: spec.name.clone(),
                message: error.to_string(),
            })?;
        Ok(Self {
            name: spec.name.clone(),
            base_url,
            timeout,
            auth,
            client,
        })
    }

    /// The upstream's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The limit for one call.
    #[must_use]
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Forwards `call` and returns the upstream's JSON answer (`{}` for an empty one).
    ///
    /// # Errors
    ///
    /// [`ConnectorError::Timeout`] past the timeout, [`ConnectorError::Status`] for a status
    /// other than 2xx, [`ConnectorError::Transport`] when unreachable, and
    /// [`ConnectorError::Body`] for an answer that is too large or not JSON.
    pub async fn perform(&self, call: &ConnectorCall<'_>) -> Result<Answer, ConnectorError> {
        // The client's own timeout covers connecting, sending and reading the body; the outer
        // one also bounds anything the client does not time, so no call can hang.
        let exchange = self.exchange(call);
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(answer) => answer,
            Err(_) => Err(self.timed_out()),
        }
    }

    async fn exchange(&self, call: &ConnectorCall<'_>) -> Result<Answer, ConnectorError> {
        let capability = call.capability;
        let url = format!(
            "{}/{}/{}",
            self.base_url,
            capability.system(),
            capability.action()
        );
        let mut request = self
            .client
            .post(url)
            .header(ACCEPT, "application/json")
            .header(REQUEST_ID_HEADER, call.request_id)
            .header(SUBJECT_HEADER, call.subject)
            .json(&Value::Object(call.arguments.clone()));
        if let Some(actor) = call.actor {
            request = request.header(ACTOR_HEADER, actor);
        }
        if let Some((name, value)) = &self.auth.0 {
            request = request.header(name.clone(), value.clone());
        }

        let mut response = request.send().await.map_err(|e| self.failed(e))?;
        let status = response.status();
        if !status.is_success() {
            let upstream = self.name.clone();
            return Err(ConnectorError::Status {
                upstream,
                status: status.as_u16(),
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.failed(e))? {
            if body.len() + chunk.len() > MAX_UPSTREAM_BODY_BYTES {
                return Err(self.bad_body("more than 1 MiB"));
            }
            body.extend_from_slice(&chunk);
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Answer::from_value(&Value::Object(Map::new())));
        }
        // Passed on as it came, once it is known to be one JSON document.
        Answer::from_json(body.into()).map_err(|_| self.bad_body("a body that is not JSON"))
    }

    fn failed(&self, error: reqwest::Error) -> ConnectorError {
        if error.is_timeout() {
            return self.timed_out();
        }
        ConnectorError::Transport {
            upstream: self.name.clone(),
            source: error,
        }
    }

    fn timed_out(&self) -> ConnectorError {
        ConnectorError::Timeout {
            upstream: self.name.clone(),
            timeout: self.timeout,
        }
    }

    fn bad_body(&self, reason: &'static str) -> ConnectorError {
        ConnectorError::Body {
            upstream: self.name.clone(),
            reason,
        }
    }
}

/// An absolute http(s) URL without query or fragment; plain http only to a loopback host, as
/// the upstream credential and the people's data must not cross a network in clear text.
fn check_base_url(text: &str) -> Result<String, &'static str> {
    let url = Url::parse(text).map_err(|_| "is not an absolute URL")?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query or fragment");
    }
    let Some(host) = url.host_str() else {
        return Err("has no host");
    };
    let ip = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>();
    let loopback = host == "localhost" || ip.is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => return Err("must use https (plain http only for loopback hosts)"),
        _ => return Err("must be an http or https URL"),
    }
    Ok(text.trim_end_matches('/').to_owned())
}
