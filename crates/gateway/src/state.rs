//! The API's configuration and shared state: verifier, capabilities, the current policy set
//! (swappable at run time), connectors, organisation data and the audit log.

use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwap;
use scopegate_audit::AuditLog;
use scopegate_policy::{DEFAULT_POLICIES, DEFAULT_POLICIES_ORIGIN, LoadError, PolicySet};
use scopegate_token::{AudienceCheck, BuildError, Clock, KeySource, Verifier};

use crate::capability::{CapabilityLoadError, CapabilityRegistry, RevocationCheck};
use crate::connector::fixture::{FixtureError, WorkdayFixture};
use crate::introspect::{IntrospectionConfig, IntrospectionError, Introspector};
use crate::org::OrgDirectory;

/// The API's resource identifier unless configured otherwise: the audience its tokens carry.
pub const DEFAULT_API_AUDIENCE: &str = "http://127.0.0.1:8000";

/// The token issuer trusted unless configured otherwise: the development IdP.
pub const DEFAULT_ISSUER: &str = "http://127.0.0.1:9000";

/// The registered MCP actor unless configured otherwise.
pub const DEFAULT_MCP_ACTOR: &str = "mcp-server";

/// The largest request body accepted unless configured otherwise.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// What the API is configured with beyond its capability and policy files.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    /// The API's own identifier; tokens must carry it in `aud` (RFC 9068 §4).
    pub audience: String,
    /// The one issuer whose tokens are accepted.
    pub issuer: String,
    /// The `act.sub` values of MCP servers, which may present `mcp:use`-only tokens they
    /// obtained by on-behalf-of exchange.
    pub mcp_actors: Vec<String>,
    /// The largest request body, in bytes.
    pub body_limit: usize,
    /// The online revocation check, if any.
    pub introspection: Option<IntrospectionConfig>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            audience: DEFAULT_API_AUDIENCE.to_owned(),
            issuer: DEFAULT_ISSUER.to_owned(),
            mcp_actors: vec![DEFAULT_MCP_ACTOR.to_owned()],
            body_limit: DEFAULT_BODY_LIMIT,
            introspection: None,
        }
    }
}

/// Everything [`GatewayState::new`] assembles.
pub struct GatewayParts {
    /// The configuration.
    pub config: GatewayConfig,
    /// The issuer's verification keys: the IdP's own store in one process, or its JWKS
    /// fetched over HTTP in a split deployment.
    pub keys: Arc<dyn KeySource>,
    /// The clock used for token times and policy freshness.
    pub clock: Arc<dyn Clock>,
    /// The capabilities offered.
    pub capabilities: CapabilityRegistry,
    /// The policies in force at start.
    pub policies: PolicySet,
    /// The Workday fixture data set.
    pub fixture: Arc<WorkdayFixture>,
    /// Who manages whom, for policy targets.
    pub org: Arc<dyn OrgDirectory>,
    /// The audit log.
    pub audit: AuditLog,
}

impl GatewayParts {
    /// The embedded defaults: the Workday capabilities, the default policies, and the fixture
    /// as connector and organisation directory.
    ///
    /// # Errors
    ///
    /// [`StateError`] only if an embedded file is broken, which tests rule out.
    pub fn with_defaults(
        config: GatewayConfig,
        keys: Arc<dyn KeySource>,
        clock: Arc<dyn Clock>,
        audit: AuditLog,
    ) -> Result<Self, StateError> {
        let capabilities = CapabilityRegistry::embedded()?;
        let policies = PolicySet::parse(
            DEFAULT_POLICIES,
            DEFAULT_POLICIES_ORIGIN,
            &capabilities.names(),
        )?;
        let fixture = Arc::new(WorkdayFixture::embedded()?);
        let org: Arc<dyn OrgDirectory> = fixture.clone();
        Ok(Self {
            config,
            keys,
            clock,
            capabilities,
            policies,
            fixture,
            org,
            audit,
        })
    }
}

impl fmt::Debug for GatewayParts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayParts")
            .field("config", &self.config)
            .field("capabilities", &self.capabilities.len())
            .finish_non_exhaustive()
    }
}

/// Why the API state could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The token verifier could not be built.
    #[error("token verifier: {0}")]
    Verifier(#[from] BuildError),
    /// The capability file cannot be used.
    #[error(transparent)]
    Capabilities(#[from] CapabilityLoadError),
    /// The policy file cannot be used.
    #[error(transparent)]
    Policies(#[from] LoadError),
    /// The fixture data set cannot be used.
    #[error(transparent)]
    Fixture(#[from] FixtureError),
    /// A capability asks for a revocation check (`revocation_check: introspect`, or a policy
    /// with `token_active: true`) but no introspection endpoint is configured.
    #[error(
        "capability `{capability}` needs an online revocation check (`revocation_check: \
         introspect` or a policy with `token_active`), but no introspection endpoint is \
         configured"
    )]
    IntrospectionNotConfigured {
        /// The capability.
        capability: String,
    },
    /// The introspection client could not be built.
    #[error("introspection client: {0}")]
    Introspector(#[from] IntrospectionError),
}

/// The shared state of the actions API; cheap to clone.
#[derive(Clone)]
pub struct GatewayState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: GatewayConfig,
    pub(crate) keys: Arc<dyn KeySource>,
    pub(crate) verifier: Verifier,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) capabilities: CapabilityRegistry,
    pub(crate) policies: ArcSwap<PolicySet>,
    pub(crate) fixture: Arc<WorkdayFixture>,
    pub(crate) org: Arc<dyn OrgDirectory>,
    pub(crate) audit: AuditLog,
    pub(crate) introspector: Option<Introspector>,
}

impl GatewayState {
    /// Assembles the state.
    ///
    /// The verifier trusts only the configured issuer and does not check the audience itself:
    /// the pipeline checks it as step 3, after the token-kind gate, so that an MCP token used
    /// directly gets the design note's 403 rather than a 401 (see `docs/actions-api.md`).
    ///
    /// # Errors
    ///
    /// [`StateError`] when the verifier or introspection client cannot be built, or a
    /// capability needs introspection that is not configured.
    pub fn new(parts: GatewayParts) -> Result<Self, StateError> {
        let GatewayParts {
            config,
            keys,
            clock,
            capabilities,
            policies,
            fixture,
            org,
            audit,
        } = parts;
        let verifier = Verifier::builder()
            .trust_issuer(config.issuer.clone(), Arc::clone(&keys))
            .audience(AudienceCheck::any_audience_of_this_issuer())
            .clock(Arc::clone(&clock))
            .build()?;

        let introspector = config
            .introspection
            .clone()
            .map(Introspector::new)
            .transpose()?;
        if introspector.is_none() {
            let flagged = capabilities.iter().find(|c| {
                c.revocation_check() == RevocationCheck::Introspect
                    || policies.requires_active_token(c.name().as_str())
            });
            if let Some(capability) = flagged {
                let capability = capability.name().to_string();
                return Err(StateError::IntrospectionNotConfigured { capability });
            }
        }

        let inner = Inner {
            config,
            keys,
            verifier,
            clock,
            capabilities,
            policies: ArcSwap::from_pointee(policies),
            fixture,
            org,
            audit,
            introspector,
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Parses `text` as the new policy file and puts it in force; on error the old set stays.
    ///
    /// # Errors
    ///
    /// [`LoadError`] listing every problem of the new file.
    pub fn reload_policies(&self, text: &str, origin: &str) -> Result<(), LoadError> {
        let names = self.inner.capabilities.names();
        let set = PolicySet::parse(text, origin, &names)?;
        self.inner.policies.store(Arc::new(set));
        Ok(())
    }

    /// The policy set in force.
    #[must_use]
    pub fn policies(&self) -> Arc<PolicySet> {
        self.inner.policies.load_full()
    }

    /// The capabilities offered.
    #[must_use]
    pub fn capabilities(&self) -> &CapabilityRegistry {
        &self.inner.capabilities
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &GatewayConfig {
        &self.inner.config
    }

    /// The Workday fixture data set.
    #[must_use]
    pub fn fixture(&self) -> &Arc<WorkdayFixture> {
        &self.inner.fixture
    }

    /// The audit log.
    #[must_use]
    pub fn audit(&self) -> &AuditLog {
        &self.inner.audit
    }
}

impl fmt::Debug for GatewayState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayState")
            .field("config", &self.inner.config)
            .field("capabilities", &self.inner.capabilities.len())
            .field("policies", &self.inner.policies.load().origin())
            .finish_non_exhaustive()
    }
}
