//! `scopegate.toml`: optional, every setting defaulted, unknown keys refused.
//!
//! Precedence, highest first: command-line flags, `SCOPEGATE_*` environment variables (both
//! handled by clap in `cli.rs`), this file, the embedded defaults. The file is looked up at
//! `--config PATH` (or `SCOPEGATE_CONFIG`), else `./scopegate.toml` if present.

use std::net::{IpAddr, Ipv4Addr};
use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use scopegate_audit::{Gather, WriterConfig};
use scopegate_token::Algorithm;
use serde::Deserialize;

/// The file name looked for in the working directory when `--config` is not given.
pub const DEFAULT_FILE: &str = "scopegate.toml";

/// The whole configuration after defaults are applied.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the servers listen and keep their state.
    pub server: ServerConfig,
    /// The development identity provider.
    pub idp: IdpSection,
    /// The actions API.
    pub api: ApiSection,
    /// The MCP server.
    pub mcp: McpSection,
    /// Signing keys.
    pub keys: KeysConfig,
    /// The audit log.
    pub audit: AuditConfig,
    /// Token verification.
    pub verify: VerifyConfig,
    /// How much load each server takes on before it refuses.
    pub limits: LimitsConfig,
}

/// `[server]`: the address every role binds and the directory for state.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// The IP address all three roles listen on.
    pub bind: IpAddr,
    /// Where the IdP keeps its database (`idp.sqlite`).
    pub data_dir: PathBuf,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            data_dir: PathBuf::from("data"),
        }
    }
}

/// `[idp]`: the development identity provider.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct IdpSection {
    /// The port it listens on.
    pub port: u16,
    /// The issuer URL put in `iss`; default `http://<bind>:<port>` (loopback when binding to
    /// every address).
    pub issuer: Option<String>,
    /// Whether the password grant is offered (RFC 9700 §2.4: development only).
    pub development_mode: bool,
    /// A directory file of users, clients and resources; default the embedded organisation.
    pub directory: Option<PathBuf>,
}

impl Default for IdpSection {
    fn default() -> Self {
        Self {
            port: 9000,
            issuer: None,
            development_mode: true,
            directory: None,
        }
    }
}

/// `[api]`: the actions API.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ApiSection {
    /// The port it listens on.
    pub port: u16,
    /// The API's URL, which is also its token audience; default `http://<bind>:<port>`.
    pub url: Option<String>,
    /// A capability file; default the embedded Workday capabilities.
    pub capabilities: Option<PathBuf>,
    /// A policy file; default the embedded policies.
    pub policies: Option<PathBuf>,
    /// A Workday fixture data file; default the embedded Northwind Robotics data.
    pub fixture: Option<PathBuf>,
    /// Whether every capability checks at the IdP that the token is still active (RFC 7662),
    /// rather than only those marked `revocation_check: introspect`.
    pub introspect_all: bool,
    /// The API's client id at the IdP, for introspection.
    pub client_id: String,
    /// The environment variable holding that client's secret; unset means the development
    /// secret of the embedded directory.
    pub client_secret_env: String,
}

impl Default for ApiSection {
    fn default() -> Self {
        Self {
            port: 8000,
            url: None,
            capabilities: None,
            policies: None,
            fixture: None,
            introspect_all: false,
            client_id: "actions-api".to_owned(),
            client_secret_env: "SCOPEGATE_API_CLIENT_SECRET".to_owned(),
        }
    }
}

/// `[mcp]`: the MCP server.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct McpSection {
    /// The port it listens on.
    pub port: u16,
    /// The MCP endpoint's URL, which is also its token audience (RFC 8707); default
    /// `http://<bind>:<port>/mcp`.
    pub url: Option<String>,
    /// `Host` header values accepted (DNS-rebinding protection); default the URL's host with
    /// and without the port, plus `localhost` and `127.0.0.1` with the port.
    pub allowed_hosts: Option<Vec<String>>,
    /// Browser origins accepted; requests with any other `Origin` are refused. Server-side
    /// clients (a chat app's backend) send none.
    pub allowed_origins: Vec<String>,
    /// The MCP server's client id at the IdP, for on-behalf-of exchanges.
    pub client_id: String,
    /// The environment variable holding that client's secret; unset means the development
    /// secret of the embedded directory.
    pub client_secret_env: String,
}

impl Default for McpSection {
    fn default() -> Self {
        Self {
            port: 8001,
            url: None,
            allowed_hosts: None,
            allowed_origins: Vec::new(),
            client_id: "mcp-server".to_owned(),
            client_secret_env: "SCOPEGATE_MCP_CLIENT_SECRET".to_owned(),
        }
    }
}

/// `[keys]`: where signing keys live and which algorithm new keys use.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct KeysConfig {
    /// Directory holding the private keys (created with mode 0700); default
    /// `<server.data_dir>/keys`.
    pub dir: Option<PathBuf>,
    /// Algorithm of newly generated keys: `ES256` (default), `EdDSA` or `RS256`.
    pub algorithm: Algorithm,
    /// The longest lifetime of any token the keys sign, in seconds; a retired public key stays
    /// in the JWKS this long after rotation so every token it signed still verifies.
    pub max_token_lifetime_seconds: u64,
}

impl Default for KeysConfig {
    fn default() -> Self {
        Self {
            dir: None,
            algorithm: Algorithm::Es256,
            max_token_lifetime_seconds: 3600,
        }
    }
}

/// `[audit]`: the hash-chained log.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// The JSONL file records are appended to.
    pub path: PathBuf,
    /// `[audit.gather]`: how the writer waits for a fuller batch before a sync.
    pub gather: GatherConfig,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("logs/audit.jsonl"),
            gather: GatherConfig::default(),
        }
    }
}

impl AuditConfig {
    /// How the audit writer groups records.
    #[must_use]
    pub fn writer(&self) -> WriterConfig {
        WriterConfig {
            gather: self.gather.gather(),
            ..WriterConfig::default()
        }
    }
}

/// `[audit.gather]`: when records arrive steadily but slowly, the audit writer waits once for
/// up to `records` of them, at most `max_wait_us` (docs/audit.md). `records` of 0 or 1, or a
/// `max_wait_us` of 0, turns the wait off.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(try_from = "RawGather")]
pub struct GatherConfig(RawGather);

/// The table as written, checked by `TryFrom` before it becomes a [`GatherConfig`].
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
struct RawGather {
    records: usize,
    max_wait_us: u64,
}

impl Default for RawGather {
    fn default() -> Self {
        let gather = Gather::default();
        Self {
            records: gather.target_records,
            // 400 µs fits.
            max_wait_us: u64::try_from(gather.max_wait.as_micros()).unwrap_or(u64::MAX),
        }
    }
}

/// An `[audit.gather]` value out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GatherOutOfRange {
    /// More records than one batch holds.
    #[error("`records` must be at most {max} (one batch of the audit writer), not {value}",
        max = GatherConfig::MAX_RECORDS)]
    Records {
        /// The value given.
        value: usize,
    },
    /// A wait long enough to stall every request.
    #[error("`max_wait_us` must be at most {max} (100 ms), not {value}",
        max = GatherConfig::MAX_WAIT_US)]
    MaxWait {
        /// The value given.
        value: u64,
    },
}

impl GatherConfig {
    /// The writer's batch limit.
    pub const MAX_RECORDS: usize = 512;
    /// 100 ms: the longest wait accepted.
    pub const MAX_WAIT_US: u64 = 100_000;

    /// The writer's setting; `None` when waiting is off.
    #[must_use]
    pub fn gather(self) -> Option<Gather> {
        let RawGather {
            records,
            max_wait_us,
        } = self.0;
        (records > 1 && max_wait_us > 0).then(|| Gather {
            target_records: records,
            max_wait: Duration::from_micros(max_wait_us),
        })
    }
}

impl TryFrom<RawGather> for GatherConfig {
    type Error = GatherOutOfRange;

    fn try_from(raw: RawGather) -> Result<Self, Self::Error> {
        if raw.records > Self::MAX_RECORDS {
            return Err(GatherOutOfRange::Records { value: raw.records });
        }
        if raw.max_wait_us > Self::MAX_WAIT_US {
            return Err(GatherOutOfRange::MaxWait {
                value: raw.max_wait_us,
            });
        }
        Ok(Self(raw))
    }
}

/// `[verify]`: rules every server applies to incoming tokens.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct VerifyConfig {
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
    pub leeway_seconds: u64,
}

impl Default for VerifyConfig {
    fn default() -> Self {
        Self { leeway_seconds: 60 }
    }
}

/// `[limits]`: overload protection for each role, and the token endpoint's rate limit.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// `[limits.idp]`: the identity provider's server.
    pub idp: ServerLimits,
    /// `[limits.api]`: the actions API's server.
    pub api: ServerLimits,
    /// `[limits.mcp]`: the MCP server's server.
    pub mcp: ServerLimits,
    /// `[limits.token_endpoint]`: requests per client at `/oauth2/v1/token`.
    pub token_endpoint: TokenRateConfig,
    /// `[limits.password_grant]`: password attempts per username.
    pub password_grant: PasswordRateConfig,
}

/// The limits of one server: how many requests it handles at once, how long one may take, and
/// how long and how large a request head may be.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerLimits {
    /// Requests handled at once; one more is answered 503 at once rather than queued.
    pub max_in_flight: NonZeroUsize,
    /// How long a request may take, body included, before it is answered 503.
    pub request_timeout_seconds: NonZeroU64,
    /// How long a client may take to send a request head (and how long an idle kept-alive
    /// connection stays open) before the connection is closed.
    pub header_read_timeout_seconds: NonZeroU64,
    /// The largest request head (request line and headers), in bytes; larger is answered 431.
    pub max_header_bytes: HeaderBytes,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_in_flight: NonZeroUsize::new(1024).unwrap_or(NonZeroUsize::MIN),
            request_timeout_seconds: NonZeroU64::new(30).unwrap_or(NonZeroU64::MIN),
            header_read_timeout_seconds: NonZeroU64::new(10).unwrap_or(NonZeroU64::MIN),
            max_header_bytes: HeaderBytes::DEFAULT,
        }
    }
}

impl ServerLimits {
    /// The request deadline.
    #[must_use]
    pub const fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_seconds.get())
    }

    /// The deadline for a request head.
    #[must_use]
    pub const fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_seconds.get())
    }
}

/// A request-head size limit between [`HeaderBytes::MIN`] and [`HeaderBytes::MAX`] bytes.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(try_from = "usize")]
pub struct HeaderBytes(usize);

/// A request-head size limit out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "`max_header_bytes` must be between {min} and {max}, not {value}",
    min = HeaderBytes::MIN.0,
    max = HeaderBytes::MAX.0
)]
pub struct HeaderBytesOutOfRange {
    /// The value given.
    pub value: usize,
}

impl HeaderBytes {
    /// 1 KiB: below this, ordinary requests with a bearer token would not fit.
    pub const MIN: Self = Self(1024);
    /// 400 KiB: hyper's own read buffer refuses anything larger regardless.
    pub const MAX: Self = Self(400 * 1024);
    /// 16 KiB, the default.
    pub const DEFAULT: Self = Self(16 * 1024);

    /// The limit in bytes.
    #[must_use]
    pub const fn get(self) -> usize {
        self.0
    }
}

impl TryFrom<usize> for HeaderBytes {
    type Error = HeaderBytesOutOfRange;

    fn try_from(value: usize) -> Result<Self, Self::Error> {
        if (Self::MIN.0..=Self::MAX.0).contains(&value) {
            Ok(Self(value))
        } else {
            Err(HeaderBytesOutOfRange { value })
        }
    }
}

/// `[limits.token_endpoint]`: a token bucket per client at the token endpoint.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct TokenRateConfig {
    /// Requests per second each client may sustain.
    pub per_second: NonZeroU32,
    /// Requests a client may make at once after being idle.
    pub burst: NonZeroU32,
}

impl Default for TokenRateConfig {
    fn default() -> Self {
        let defaults = scopegate_idp::RateLimit::PER_CLIENT;
        Self {
            per_second: defaults.per_second,
            burst: defaults.burst,
        }
    }
}

impl From<TokenRateConfig> for scopegate_idp::RateLimit {
    fn from(config: TokenRateConfig) -> Self {
        Self {
            per_second: config.per_second,
            burst: config.burst,
        }
    }
}

/// `[limits.password_grant]`: a token bucket per username for password attempts.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordRateConfig {
    /// Attempts per second each username may sustain.
    pub per_second: NonZeroU32,
    /// Attempts a username may take at once after being idle.
    pub burst: NonZeroU32,
}

impl Default for PasswordRateConfig {
    fn default() -> Self {
        let defaults = scopegate_idp::RateLimit::PER_USER_PASSWORD;
        Self {
            per_second: defaults.per_second,
            burst: defaults.burst,
        }
    }
}

impl From<PasswordRateConfig> for scopegate_idp::RateLimit {
    fn from(config: PasswordRateConfig) -> Self {
        Self {
            per_second: config.per_second,
            burst: config.burst,
        }
    }
}

/// Where the configuration came from, for the startup log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// No file: the embedded defaults.
    Defaults,
    /// This file, over the defaults.
    File(PathBuf),
}

impl Config {
    /// Makes the file's relative paths relative to `base`, the file's own directory, so a
    /// configuration works from wherever scopegate is started.
    fn rebase(&mut self, base: &Path) {
        let rebase = |path: &mut PathBuf| {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        };
        rebase(&mut self.server.data_dir);
        rebase(&mut self.audit.path);
        for path in [
            &mut self.idp.directory,
            &mut self.api.capabilities,
            &mut self.api.policies,
            &mut self.api.fixture,
            &mut self.keys.dir,
        ]
        .into_iter()
        .flatten()
        {
            rebase(path);
        }
    }

    /// The issuer URL: configured, or derived from the bind address and port.
    #[must_use]
    pub fn issuer(&self) -> String {
        self.idp
            .issuer
            .clone()
            .unwrap_or_else(|| self.local_url(self.idp.port, ""))
    }

    /// The signing-key directory.
    #[must_use]
    pub fn keys_dir(&self) -> PathBuf {
        self.keys
            .dir
            .clone()
            .unwrap_or_else(|| self.server.data_dir.join("keys"))
    }

    /// The MCP endpoint's URL and audience.
    #[must_use]
    pub fn mcp_url(&self) -> String {
        self.mcp
            .url
            .clone()
            .unwrap_or_else(|| self.local_url(self.mcp.port, "/mcp"))
    }

    /// The `Host` values the MCP server accepts.
    #[must_use]
    pub fn mcp_allowed_hosts(&self) -> Vec<String> {
        if let Some(hosts) = &self.mcp.allowed_hosts {
            return hosts.clone();
        }
        let url = self.mcp_url();
        let authority = url
            .split_once("://")
            .map_or(url.as_str(), |(_, rest)| rest)
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let host = authority
            .rsplit_once(':')
            .map_or(authority.as_str(), |(host, _)| host);
        let port = self.mcp.port;
        let mut hosts = vec![
            authority.clone(),
            host.to_owned(),
            format!("localhost:{port}"),
            "localhost".to_owned(),
            format!("127.0.0.1:{port}"),
            "127.0.0.1".to_owned(),
        ];
        hosts.dedup();
        hosts.sort();
        hosts.dedup();
        hosts
    }

    /// The actions API's URL and audience.
    #[must_use]
    pub fn api_url(&self) -> String {
        self.api
            .url
            .clone()
            .unwrap_or_else(|| self.local_url(self.api.port, ""))
    }

    /// `http://<host>:<port><path>` where host is the bind address, or loopback when binding
    /// to every address (a URL naming 0.0.0.0 would not reach anything).
    fn local_url(&self, port: u16, path: &str) -> String {
        let host = match self.server.bind {
            IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            other => other,
        };
        match host {
            IpAddr::V4(v4) => format!("http://{v4}:{port}{path}"),
            IpAddr::V6(v6) => format!("http://[{v6}]:{port}{path}"),
        }
    }

    /// Loads the file named by `explicit`, or `./scopegate.toml` when it exists, or nothing.
    ///
    /// An explicit path that does not exist is an error; a missing default file is not.
    pub fn load(explicit: Option<&Path>) -> anyhow::Result<(Self, Source)> {
        let path = match explicit {
            Some(path) => path.to_path_buf(),
            None if Path::new(DEFAULT_FILE).is_file() => PathBuf::from(DEFAULT_FILE),
            None => return Ok((Self::default(), Source::Defaults)),
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read configuration file `{}`", path.display()))?;
        let mut config = Self::parse(&text, &path)?;
        if let Some(base) = path.parent() {
            config.rebase(base);
        }
        Ok((config, Source::File(path)))
    }

    /// Parses configuration text; `origin` names the file in error messages.
    pub fn parse(text: &str, origin: &Path) -> anyhow::Result<Self> {
        toml::from_str(text).map_err(|e| anyhow::anyhow!("`{}`: {e}", origin.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_yields_the_defaults() {
        let config = Config::parse("", Path::new("scopegate.toml")).unwrap();

        assert_eq!(config, Config::default());
        assert_eq!(config.audit.path, PathBuf::from("logs/audit.jsonl"));
        assert_eq!(config.verify.leeway_seconds, 60);
    }

    #[test]
    fn a_set_value_overrides_only_its_own_default() {
        let config = Config::parse(
            "[audit]\npath = \"/var/log/sg.jsonl\"\n",
            Path::new("a.toml"),
        )
        .unwrap();

        assert_eq!(config.audit.path, PathBuf::from("/var/log/sg.jsonl"));
        assert_eq!(config.keys, KeysConfig::default());
    }

    #[test]
    fn unknown_key_is_refused_naming_the_key_and_the_file() {
        let err = Config::parse("[audit]\npth = \"x\"\n", Path::new("conf/sg.toml")).unwrap_err();

        let message = format!("{err:#}");
        assert!(message.starts_with("`conf/sg.toml`: "), "{message}");
        assert!(message.contains("unknown field `pth`"), "{message}");
    }

    #[test]
    fn unknown_section_is_refused() {
        let err = Config::parse("[audti]\n", Path::new("sg.toml")).unwrap_err();

        assert!(
            format!("{err:#}").contains("unknown field `audti`"),
            "{err:#}"
        );
    }

    #[test]
    fn unknown_algorithm_is_refused() {
        let err =
            Config::parse("[keys]\nalgorithm = \"HS256\"\n", Path::new("sg.toml")).unwrap_err();

        let message = format!("{err:#}");
        assert!(message.starts_with("`sg.toml`: "), "{message}");
        assert!(message.contains("unknown variant `HS256`"), "{message}");
    }

    #[test]
    fn relative_paths_in_a_file_are_taken_from_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("scopegate.toml");
        std::fs::write(
            &file,
            "[api]\npolicies = \"p.yaml\"\n[audit]\npath = \"/abs/a.jsonl\"\n",
        )
        .unwrap();

        let (config, _) = Config::load(Some(&file)).unwrap();

        assert_eq!(config.api.policies, Some(dir.path().join("p.yaml")));
        assert_eq!(config.audit.path, PathBuf::from("/abs/a.jsonl"));
        assert_eq!(config.server.data_dir, dir.path().join("data"));
        assert_eq!(config.keys_dir(), dir.path().join("data/keys"));
    }

    #[test]
    fn urls_default_to_the_bind_address_and_loopback_for_any_address() {
        let mut config = Config::default();

        let local = (config.issuer(), config.api_url());
        config.server.bind = "0.0.0.0".parse().unwrap();
        config.idp.port = 9100;

        assert_eq!(
            local,
            (
                "http://127.0.0.1:9000".to_owned(),
                "http://127.0.0.1:8000".to_owned()
            )
        );
        assert_eq!(config.issuer(), "http://127.0.0.1:9100");
    }

    #[test]
    fn a_limits_section_overrides_only_its_own_role_and_keys() {
        let config = Config::parse(
            "[limits.api]\nmax_in_flight = 8\n[limits.token_endpoint]\nburst = 5\n",
            Path::new("sg.toml"),
        )
        .unwrap();

        assert_eq!(config.limits.api.max_in_flight.get(), 8);
        assert_eq!(config.limits.api.request_timeout(), Duration::from_secs(30));
        assert_eq!(config.limits.idp, ServerLimits::default());
        assert_eq!(config.limits.mcp.max_in_flight.get(), 1024);
        assert_eq!(config.limits.token_endpoint.burst.get(), 5);
        assert_eq!(config.limits.token_endpoint.per_second.get(), 1000);
        assert_eq!(config.limits.password_grant.burst.get(), 10);
    }

    #[test]
    fn the_audit_writer_waits_for_a_fuller_batch_as_configured_or_not_at_all() {
        let default = Config::parse("", Path::new("sg.toml")).unwrap();
        assert_eq!(default.audit.writer().gather, Some(Gather::default()));

        let text = "[audit.gather]\nrecords = 16\nmax_wait_us = 1000\n";
        let tuned = Config::parse(text, Path::new("sg.toml")).unwrap();
        let expected = Gather {
            target_records: 16,
            max_wait: Duration::from_millis(1),
        };
        assert_eq!(tuned.audit.writer().gather, Some(expected));

        for off in ["records = 1", "records = 0", "max_wait_us = 0"] {
            let text = format!("[audit.gather]\n{off}\n");
            let config = Config::parse(&text, Path::new("sg.toml")).unwrap();
            assert_eq!(config.audit.writer().gather, None, "{off}");
        }
    }

    #[test]
    fn an_audit_gather_out_of_range_is_refused_naming_the_limit() {
        let cases = [
            ("records = 513", "`records` must be at most 512"),
            (
                "max_wait_us = 100001",
                "`max_wait_us` must be at most 100000 (100 ms)",
            ),
            ("wait = 3", "unknown field `wait`"),
        ];
        for (line, message) in cases {
            let text = format!("[audit.gather]\n{line}\n");
            let err = Config::parse(&text, Path::new("sg.toml")).unwrap_err();
            assert!(format!("{err:#}").contains(message), "{line}: {err:#}");
        }
    }

    #[test]
    fn a_zero_limit_is_refused() {
        let err =
            Config::parse("[limits.mcp]\nmax_in_flight = 0\n", Path::new("sg.toml")).unwrap_err();

        assert!(format!("{err:#}").contains("nonzero"), "{err:#}");
    }

    #[test]
    fn a_header_limit_out_of_range_is_refused_naming_the_range() {
        let err = Config::parse(
            "[limits.idp]\nmax_header_bytes = 100\n",
            Path::new("sg.toml"),
        )
        .unwrap_err();

        assert!(
            format!("{err:#}")
                .contains("`max_header_bytes` must be between 1024 and 409600, not 100"),
            "{err:#}"
        );
    }

    #[test]
    fn explicit_missing_file_is_an_error() {
        let err = Config::load(Some(Path::new("does/not/exist.toml"))).unwrap_err();

        assert!(
            format!("{err:#}").contains("cannot read configuration file"),
            "{err:#}"
        );
    }
}
