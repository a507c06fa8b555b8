//! The MCP server's shared state: checked configuration, token verifier, tool catalogue, the
//! policy set in force (swappable at run time), the exchange and API clients, and the audit
//! log.

use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwap;
use reqwest::{Client, redirect};
use scopegate_audit::AuditLog;
use scopegate_policy::PolicySet;
use scopegate_token::{AudienceCheck, BuildError, Clock, KeySource, Verifier};

use crate::actions::ActionsClient;
use crate::catalogue::{CatalogueError, ToolCatalogue, ToolSpec};
use crate::config::{self, ConfigError, McpConfig, ResourceUrl};
use crate::exchange::{Exchanger, ExchangerParts};

/// Everything [`McpState::new`] assembles.
pub struct McpParts {
    /// The configuration.
    pub config: McpConfig,
    /// The identity provider's verification keys: its key store in one process, or its JWKS
    /// fetched over HTTP (`RemoteIssuer`) in a split deployment.
    pub keys: Arc<dyn KeySource>,
    /// The clock for token times, policy freshness and the exchange cache.
    pub clock: Arc<dyn Clock>,
    /// The capabilities to offer as tools, in the order `tools/list` shows them.
    pub tools: Vec<ToolSpec>,
    /// The policies in force at start (the actions API's policy file).
    pub policies: PolicySet,
    /// The audit log.
    pub audit: AuditLog,
}

impl fmt::Debug for McpParts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpParts")
            .field("config", &self.config)
            .field("tools", &self.tools.len())
            .field("policies", &self.policies.origin())
            .finish_non_exhaustive()
    }
}

/// Why the MCP server's state could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A configuration value cannot be used.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The tool catalogue cannot be built.
    #[error(transparent)]
    Tools(#[from] CatalogueError),
    /// The token verifier could not be built.
    #[error("token verifier: {0}")]
    Verifier(#[from] BuildError),
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
}

/// The shared state of the MCP server; cheap to clone.
#[derive(Clone)]
pub struct McpState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: McpConfig,
    pub(crate) resource: ResourceUrl,
    pub(crate) metadata_url: String,
    pub(crate) keys: Arc<dyn KeySource>,
    pub(crate) verifier: Verifier,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) tools: ToolCatalogue,
    pub(crate) policies: ArcSwap<PolicySet>,
    pub(crate) exchanger: Exchanger,
    pub(crate) actions: ActionsClient,
    pub(crate) audit: AuditLog,
}

impl McpState {
    /// Checks the configuration and the tools and assembles the state.
    ///
    /// The verifier trusts only the configured issuer and accepts only tokens whose `aud`
    /// names the resource URL (RFC 8707 §2: "issued specifically for them").
    ///
    /// # Errors
    ///
    /// [`StateError`] naming the setting or tool at fault, or when the verifier or the HTTP
    /// client cannot be built.
    pub fn new(parts: McpParts) -> Result<Self, StateError> {
        let McpParts {
            config,
            keys,
            clock,
            tools,
            policies,
            audit,
        } = parts;
        let resource = ResourceUrl::parse(&config.resource_url)?;
        let token_endpoint = config::http_url("token_endpoint", &config.token_endpoint)?;
        let introspection_endpoint =
            config::http_url("introspection_endpoint", &config.introspection_endpoint)?;
        config::http_url("issuer", &config.issuer)?;
        config::http_url("api_url", &config.api_url)?;
        config::check_other_settings(&config)?;
        let tools = ToolCatalogue::new(tools)?;

        let verifier = Verifier::builder()
            .trust_issuer(config.issuer.clone(), Arc::clone(&keys))
            .audience(AudienceCheck::one_of([resource.as_str()]))
            .leeway(config.leeway)
            .clock(Arc::clone(&clock))
            .build()?;
        // Redirects are not followed: a token must never be re-sent somewhere unconfigured.
        let http = Client::builder()
            .redirect(redirect::Policy::none())
            .build()
            .map_err(StateError::HttpClient)?;
        let exchanger = Exchanger::new(ExchangerParts {
            http: http.clone(),
            endpoint: token_endpoint,
            introspection_endpoint,
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            audience: config.api_audience.clone(),
            timeout: config.exchange_timeout,
            cache: config.exchange_cache,
            clock: Arc::clone(&clock),
        });
        let actions = ActionsClient::new(http, &config.api_url, config.api_timeout);

        let inner = Inner {
            metadata_url: resource.metadata_url(),
            resource,
            keys,
            verifier,
            clock,
            tools,
            policies: ArcSwap::from_pointee(policies),
            exchanger,
            actions,
            audit,
            config,
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Puts `policies` in force for every later `tools/list` and `tools/call`.
    pub fn replace_policies(&self, policies: PolicySet) {
        self.inner.policies.store(Arc::new(policies));
    }

    /// The policy set in force.
    #[must_use]
    pub fn policies(&self) -> Arc<PolicySet> {
        self.inner.policies.load_full()
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &McpConfig {
        &self.inner.config
    }

    /// The wire names of the offered tools, in catalogue order.
    pub fn tool_names(&self) -> impl Iterator<Item = &str> {
        self.inner.tools.iter().map(|entry| entry.name.as_str())
    }

    /// The capability names behind the offered tools, for parsing a replacement policy set.
    #[must_use]
    pub fn tool_capabilities(&self) -> Vec<String> {
        self.inner
            .tools
            .iter()
            .map(|entry| entry.spec.capability.clone())
            .collect()
    }

    /// Where the protected resource metadata is published (RFC 9728 §3.1).
    #[must_use]
    pub fn metadata_url(&self) -> &str {
        &self.inner.metadata_url
    }

    /// How many exchanged tokens are cached now.
    #[must_use]
    pub fn cached_exchanges(&self) -> usize {
        self.inner.exchanger.cached()
    }

    /// The audit log.
    #[must_use]
    pub fn audit(&self) -> &AuditLog {
        &self.inner.audit
    }
}

impl fmt::Debug for McpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpState")
            .field("resource", &self.inner.resource.as_str())
            .field("issuer", &self.inner.config.issuer)
            .field("tools", &self.inner.tools.len())
            .field("policies", &self.inner.policies.load().origin())
            .finish_non_exhaustive()
    }
}
