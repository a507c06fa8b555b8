//! What the MCP server is configured with, the defaults of a local deployment, and the checks
//! that turn the configured text into values the server can rely on.
//!
//! The listening address is the command line's business; everything else is here.

use std::time::Duration;

use reqwest::Url;
use scopegate_token::DEFAULT_LEEWAY;

use crate::secret::ClientSecret;

/// The MCP endpoint's URL unless configured otherwise: the `aud` its tokens must carry and the
/// `resource` of its metadata.
pub const DEFAULT_RESOURCE_URL: &str = "http://127.0.0.1:8001/mcp";

/// The identity provider's issuer identifier unless configured otherwise.
pub const DEFAULT_ISSUER: &str = "http://127.0.0.1:9000";

/// The identity provider's token endpoint unless configured otherwise.
pub const DEFAULT_TOKEN_ENDPOINT: &str = "http://127.0.0.1:9000/oauth2/v1/token";

/// The identity provider's introspection endpoint (RFC 7662) when nothing else is configured.
pub const DEFAULT_INTROSPECTION_ENDPOINT: &str = "http://127.0.0.1:9000/oauth2/v1/introspect";

/// How long a cached exchange is trusted before the presented token is checked again at the
/// identity provider: the longest a revocation can go unnoticed. Zero checks on every call
/// that reuses a cached exchange (a cheap introspection: no signature, no audit write), so a
/// revoked login stops its agent at the very next tool call.
pub const DEFAULT_RECHECK_AFTER: Duration = Duration::ZERO;

/// Where the actions API is called, and its audience, unless configured otherwise.
pub const DEFAULT_API_URL: &str = "http://127.0.0.1:8000";

/// The MCP server's client id at the identity provider unless configured otherwise.
pub const DEFAULT_CLIENT_ID: &str = "mcp-server";

/// The development client secret of `mcp-server` in the embedded IdP directory.
pub const DEFAULT_CLIENT_SECRET: &str = "mcp-server-dev-secret";

/// The `Host` values accepted unless configured otherwise: the default listening address by
/// name and number, with and without its port.
pub const DEFAULT_ALLOWED_HOSTS: [&str; 4] =
    ["127.0.0.1:8001", "localhost:8001", "127.0.0.1", "localhost"];

/// The scope every token presented to the MCP server must carry.
pub const REQUIRED_SCOPE: &str = "mcp:use";

/// How long the on-behalf-of exchange may take unless configured otherwise.
pub const DEFAULT_EXCHANGE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one actions API call may take unless configured otherwise.
pub const DEFAULT_API_TIMEOUT: Duration = Duration::from_secs(10);

/// How long before its expiry an exchanged token stops being reused unless configured
/// otherwise.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(30);

/// How many exchanged tokens are remembered unless configured otherwise.
pub const DEFAULT_EXCHANGE_CACHE_CAPACITY: usize = 10_000;

/// The MCP server's configuration. [`Default`] is the local deployment of `scopegate up`.
#[derive(Debug, Clone, PartialEq)]
pub struct McpConfig {
    /// The canonical URL of the MCP endpoint, such as `http://127.0.0.1:8001/mcp`: tokens must
    /// name it in `aud` (RFC 8707 §2, RFC 9068 §4), and it is the `resource` of the protected
    /// resource metadata (RFC 9728 §2). Compared exactly.
    pub resource_url: String,
    /// The identity provider's issuer identifier: the only `iss` accepted, and the
    /// authorization server named in the metadata.
    pub issuer: String,
    /// The identity provider's token endpoint, where on-behalf-of exchanges are made.
    pub token_endpoint: String,
    /// The identity provider's introspection endpoint (RFC 7662), used to notice that a
    /// presented token was revoked while its exchanged token is still cached.
    pub introspection_endpoint: String,
    /// The base URL the actions API is called at, such as `http://127.0.0.1:8000`.
    pub api_url: String,
    /// The actions API's audience, asked for in every exchange.
    pub api_audience: String,
    /// The MCP server's client id at the identity provider; the exchanged tokens name it in
    /// `act`, and the policy engine sees it as the actor.
    pub client_id: String,
    /// The MCP server's client secret, sent with HTTP Basic authentication.
    pub client_secret: ClientSecret,
    /// The `Host` header values accepted on `/mcp` (DNS-rebinding protection): `host` accepts
    /// any port, `host:port` only that port. Must not be empty.
    pub allowed_hosts: Vec<String>,
    /// The browser origins accepted on `/mcp`, such as `https://chat.example.com:443`. A
    /// request without `Origin` (a server-side client) always passes; one with an `Origin`
    /// outside this list gets 403. Empty, the default, refuses every browser origin.
    pub allowed_origins: Vec<String>,
    /// The clock skew tolerated on `exp`, `nbf` and `iat` of presented tokens.
    pub leeway: Duration,
    /// How long one token exchange at the identity provider may take.
    pub exchange_timeout: Duration,
    /// How long one actions API call may take.
    pub api_timeout: Duration,
    /// How the exchanged tokens are reused.
    pub exchange_cache: ExchangeCacheConfig,
}

/// How exchanged tokens are reused: one per presented token, until shortly before it expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExchangeCacheConfig {
    /// How many exchanged tokens are remembered; 0 exchanges afresh for every call.
    pub capacity: usize,
    /// A cached token is not reused within this long of its expiry.
    pub refresh_margin: Duration,
    /// A cached token is reused without asking the identity provider for this long after the
    /// presented token was last found active; after that, one introspection confirms it.
    pub recheck_after: Duration,
}

impl Default for ExchangeCacheConfig {
    fn default() -> Self {
        Self {
            capacity: DEFAULT_EXCHANGE_CACHE_CAPACITY,
            refresh_margin: DEFAULT_REFRESH_MARGIN,
            recheck_after: DEFAULT_RECHECK_AFTER,
        }
    }
}

impl Default for McpConfig {
    fn default() -> Self {
        Self {
            resource_url: DEFAULT_RESOURCE_URL.to_owned(),
            issuer: DEFAULT_ISSUER.to_owned(),
            token_endpoint: DEFAULT_TOKEN_ENDPOINT.to_owned(),
            introspection_endpoint: DEFAULT_INTROSPECTION_ENDPOINT.to_owned(),
            api_url: DEFAULT_API_URL.to_owned(),
            api_audience: DEFAULT_API_URL.to_owned(),
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            client_secret: ClientSecret::new(DEFAULT_CLIENT_SECRET),
            allowed_hosts: DEFAULT_ALLOWED_HOSTS.map(str::to_owned).to_vec(),
            allowed_origins: Vec::new(),
            leeway: DEFAULT_LEEWAY,
            exchange_timeout: DEFAULT_EXCHANGE_TIMEOUT,
            api_timeout: DEFAULT_API_TIMEOUT,
            exchange_cache: ExchangeCacheConfig::default(),
        }
    }
}

/// A configuration value the server cannot work with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A URL setting is not an absolute `http` or `https` URL of the required shape.
    #[error("`{setting}` is `{value}`: {problem}")]
    InvalidUrl {
        /// The setting, such as `resource_url`.
        setting: &'static str,
        /// The configured value.
        value: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// `allowed_hosts` is empty, which would accept any `Host` and disable DNS-rebinding
    /// protection.
    #[error("`allowed_hosts` is empty; list every host name clients use to reach the server")]
    NoAllowedHosts,
    /// An `allowed_origins` entry is not `null` or a `scheme://host[:port]` origin.
    #[error(
        "allowed origin `{value}` is not `null` or an http(s) origin such as \
         `https://app.example.com:443`"
    )]
    InvalidOrigin {
        /// The configured value.
        value: String,
    },
    /// `client_id` is empty.
    #[error("`client_id` is empty")]
    EmptyClientId,
    /// A timeout is zero, which would fail every call.
    #[error("`{setting}` is zero")]
    ZeroTimeout {
        /// The setting.
        setting: &'static str,
    },
}

/// The MCP endpoint's canonical URL, checked: absolute `http(s)` without query or fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResourceUrl {
    text: String,
    url: Url,
}

impl ResourceUrl {
    /// Checks the configured resource URL (RFC 8707 §2: absolute, no fragment; RFC 9728 §1.2:
    /// no query either).
    pub(crate) fn parse(text: &str) -> Result<Self, ConfigError> {
        let url = http_url("resource_url", text)?;
        if url.query().is_some() {
            return Err(invalid("resource_url", text, "it must not have a query"));
        }
        Ok(Self {
            text: text.to_owned(),
            url,
        })
    }

    /// The URL exactly as configured.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// The path of the endpoint, such as `/mcp`.
    pub(crate) fn path(&self) -> &str {
        self.url.path()
    }

    /// Where the protected resource metadata lives: RFC 9728 §3.1 inserts the well-known
    /// segment between the origin and the resource's path.
    pub(crate) fn metadata_url(&self) -> String {
        let origin = self.url.origin().ascii_serialization();
        let path = self.url.path().trim_end_matches('/');
        format!("{origin}{WELL_KNOWN}{path}")
    }
}

/// RFC 9728 §3: the well-known URI suffix of protected resource metadata.
pub(crate) const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// Checks a URL setting: absolute, `http` or `https`, with a host and without a fragment.
pub(crate) fn http_url(setting: &'static str, text: &str) -> Result<Url, ConfigError> {
    let Ok(url) = Url::parse(text) else {
        return Err(invalid(setting, text, "it is not an absolute URL"));
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(setting, text, "its scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid(setting, text, "it has no host"));
    }
    if url.fragment().is_some() {
        return Err(invalid(setting, text, "it must not have a fragment"));
    }
    Ok(url)
}

/// Checks the settings that are not URLs.
pub(crate) fn check_other_settings(config: &McpConfig) -> Result<(), ConfigError> {
    if config
        .allowed_hosts
        .iter()
        .all(|host| host.trim().is_empty())
    {
        return Err(ConfigError::NoAllowedHosts);
    }
    if let Some(origin) = config.allowed_origins.iter().find(|o| !is_origin(o)) {
        return Err(ConfigError::InvalidOrigin {
            value: origin.clone(),
        });
    }
    if config.client_id.is_empty() {
        return Err(ConfigError::EmptyClientId);
    }
    for (setting, timeout) in [
        ("exchange_timeout", config.exchange_timeout),
        ("api_timeout", config.api_timeout),
    ] {
        if timeout.is_zero() {
            return Err(ConfigError::ZeroTimeout { setting });
        }
    }
    Ok(())
}

/// RFC 6454 §6.2: `null`, or `scheme "://" host [ ":" port ]`; `:*` stands for any port.
fn is_origin(text: &str) -> bool {
    if text == "null" {
        return true;
    }
    let base = text.strip_suffix(":*").unwrap_or(text);
    let Ok(url) = Url::parse(base) else {
        return false;
    };
    matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some()
        && url.path() == "/"
        && !base.ends_with('/')
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
}

fn invalid(setting: &'static str, value: &str, problem: &'static str) -> ConfigError {
    ConfigError::InvalidUrl {
        setting,
        value: value.to_owned(),
        problem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_url_inserts_the_well_known_segment_before_the_path() {
        let resource = ResourceUrl::parse("http://127.0.0.1:8001/mcp").unwrap();
        let nested = ResourceUrl::parse("https://mcp.example.com/public/mcp/").unwrap();

        assert_eq!(
            resource.metadata_url(),
            "http://127.0.0.1:8001/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            nested.metadata_url(),
            "https://mcp.example.com/.well-known/oauth-protected-resource/public/mcp"
        );
    }

    #[test]
    fn resource_url_with_query_fragment_or_other_scheme_is_refused() {
        let cases = [
            ("http://127.0.0.1:8001/mcp?x=1", "it must not have a query"),
            (
                "http://127.0.0.1:8001/mcp#top",
                "it must not have a fragment",
            ),
            ("ftp://127.0.0.1/mcp", "its scheme must be http or https"),
            ("/mcp", "it is not an absolute URL"),
        ];

        for (value, problem) in cases {
            let error = ResourceUrl::parse(value).unwrap_err();

            assert_eq!(
                error,
                ConfigError::InvalidUrl {
                    setting: "resource_url",
                    value: value.to_owned(),
                    problem,
                }
            );
        }
    }

    #[test]
    fn origins_must_be_null_or_scheme_host_and_port() {
        for good in ["null", "https://chat.example.com", "http://localhost:*"] {
            assert!(is_origin(good), "{good}");
        }
        for bad in [
            "chat.example.com",
            "https://chat.example.com/app",
            "*",
            "file://x",
        ] {
            assert!(!is_origin(bad), "{bad}");
        }
    }

    #[test]
    fn empty_allowed_hosts_are_refused() {
        let config = McpConfig {
            allowed_hosts: vec![String::new()],
            ..McpConfig::default()
        };

        assert_eq!(
            check_other_settings(&config),
            Err(ConfigError::NoAllowedHosts)
        );
    }

    #[test]
    fn default_configuration_passes_every_check() {
        let config = McpConfig::default();

        assert_eq!(check_other_settings(&config), Ok(()));
        assert!(ResourceUrl::parse(&config.resource_url).is_ok());
    }
}
