//! Building each role's router from the configuration.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use scopegate_gateway::{
    CapabilityRegistry, ClientSecret, GatewayConfig, GatewayParts, GatewayState,
    IntrospectionConfig, OrgDirectory, connector::fixture::WorkdayFixture, env_secrets,
};
use scopegate_idp::{Directory, IdpConfig, IdpState, RateLimit, SqliteStore};
use scopegate_mcp::{McpConfig, McpParts, McpState, ToolSpec};
use scopegate_policy::{DEFAULT_POLICIES, DEFAULT_POLICIES_ORIGIN, PolicySet};
use scopegate_token::{KeySource, KeyStore, RemoteIssuer};

use super::{Shared, ensure_dir, idp_database};
use crate::config::Config;

/// The development secret of the embedded directory's `actions-api` client.
const DEV_API_CLIENT_SECRET: &str = "actions-api-dev-secret";
/// The development secret of the embedded directory's `mcp-server` client.
const DEV_MCP_CLIENT_SECRET: &str = "mcp-server-dev-secret";

/// The identity provider's router, signing with `keys`.
///
/// # Errors
///
/// The directory, issuer or database cannot be used.
pub fn idp_router(shared: &Shared, keys: &KeyStore) -> anyhow::Result<Router> {
    let config = &shared.config;
    let issuer = config.issuer();
    let directory = directory(config)?;
    let mut idp_config = IdpConfig::development(
        issuer
            .parse()
            .with_context(|| format!("`idp.issuer`: `{issuer}`"))?,
        directory,
    );
    idp_config.development_mode = config.idp.development_mode;
    idp_config.token_rate = RateLimit::from(config.limits.token_endpoint);
    idp_config.password_rate = RateLimit::from(config.limits.password_grant);

    ensure_dir(&config.server.data_dir)?;
    let database = idp_database(config);
    let store = SqliteStore::open(&database)
        .with_context(|| format!("cannot open the IdP database `{}`", database.display()))?;
    let state = IdpState::new(
        idp_config,
        keys,
        Arc::new(store),
        shared.audit.clone(),
        Arc::clone(&shared.clock),
    )
    .context("cannot start the identity provider")?;
    Ok(scopegate_idp::router(state))
}

/// The directory in force, with its resources moved to the configured URLs.
///
/// # Errors
///
/// The directory file cannot be read or is invalid, or a configured URL cannot be used.
pub fn directory(config: &Config) -> anyhow::Result<Directory> {
    let directory = match &config.idp.directory {
        Some(path) => Directory::from_toml_file(path)?,
        None => Directory::embedded_default()?,
    };
    let directory = directory
        .with_resource_audience("actions-api", &config.api_url())
        .context("the directory's `actions-api` resource")?
        .with_resource_audience("mcp", &config.mcp_url())
        .context("the directory's `mcp` resource")?;
    Ok(directory)
}

/// The actions API's state. `keys` is the IdP's key store when both run in one process;
/// otherwise the IdP's keys are fetched by OpenID Connect discovery.
///
/// # Errors
///
/// A capability, policy or fixture file cannot be used, or discovery cannot be set up.
pub fn api_state(shared: &Shared, keys: Option<&KeyStore>) -> anyhow::Result<GatewayState> {
    let config = &shared.config;
    let keys: Arc<dyn KeySource> = match keys {
        Some(store) => Arc::new(store.verification_keys()),
        None => Arc::new(
            RemoteIssuer::discover(config.issuer(), Arc::clone(&shared.clock))
                .context("cannot set up discovery of the IdP's keys")?,
        ),
    };
    let Catalogue {
        capabilities,
        policies,
        fixture,
        ..
    } = catalogue(config)?;
    let org: Arc<dyn OrgDirectory> = fixture.clone();

    let parts = GatewayParts {
        config: gateway_config(config),
        keys,
        clock: Arc::clone(&shared.clock),
        capabilities,
        policies,
        fixture,
        org,
        audit: shared.audit.clone(),
    };
    GatewayState::new(parts).context("cannot start the actions API")
}

/// The MCP server's state: one tool per capability of the configured catalogue, the same
/// policies as the API (to filter `tools/list`), and the IdP and API reached over HTTP.
///
/// # Errors
///
/// The catalogue cannot be loaded, or the MCP configuration is unusable.
pub fn mcp_state(shared: &Shared, keys: Option<&KeyStore>) -> anyhow::Result<McpState> {
    let config = &shared.config;
    let keys: Arc<dyn KeySource> = match keys {
        Some(store) => Arc::new(store.verification_keys()),
        None => Arc::new(
            RemoteIssuer::discover(config.issuer(), Arc::clone(&shared.clock))
                .context("cannot set up discovery of the IdP's keys")?,
        ),
    };
    let Catalogue {
        capabilities,
        policies,
        ..
    } = catalogue(config)?;
    let tools = capabilities
        .iter()
        .map(|capability| ToolSpec {
            capability: capability.name().to_string(),
            description: capability.description().to_owned(),
            input_schema: capability.input_schema().clone(),
            read_only: capability.read_only(),
            destructive: capability.destructive(),
            target_argument: capability.target_argument().map(str::to_owned),
        })
        .collect();
    let secret = std::env::var(&config.mcp.client_secret_env)
        .unwrap_or_else(|_| DEV_MCP_CLIENT_SECRET.to_owned());
    let issuer = config.issuer();
    let mcp_config = McpConfig {
        resource_url: config.mcp_url(),
        issuer: issuer.clone(),
        token_endpoint: format!("{issuer}/oauth2/v1/token"),
        introspection_endpoint: format!("{issuer}/oauth2/v1/introspect"),
        api_url: config.api_url(),
        api_audience: config.api_url(),
        client_id: config.mcp.client_id.clone(),
        client_secret: scopegate_mcp::ClientSecret::new(secret),
        allowed_hosts: config.mcp_allowed_hosts(),
        allowed_origins: config.mcp.allowed_origins.clone(),
        leeway: Duration::from_secs(config.verify.leeway_seconds),
        ..McpConfig::default()
    };
    let parts = McpParts {
        config: mcp_config,
        keys,
        clock: Arc::clone(&shared.clock),
        tools,
        policies,
        audit: shared.audit.clone(),
    };
    McpState::new(parts).context("cannot start the MCP server")
}

/// Something whose policies can be replaced while it serves.
pub enum PolicyHolder {
    /// The actions API.
    Api(GatewayState),
    /// The MCP server (it filters `tools/list` with the same policies).
    Mcp(McpState),
}

impl PolicyHolder {
    fn reload(&self, text: &str, origin: &str) -> anyhow::Result<()> {
        match self {
            Self::Api(state) => state.reload_policies(text, origin)?,
            Self::Mcp(state) => {
                let names: Vec<String> = state.tool_capabilities();
                state.replace_policies(PolicySet::parse(text, origin, &names)?);
            }
        }
        Ok(())
    }
}

/// Re-reads the configured policy file on every SIGHUP and puts it in force in every holder;
/// a file that does not load is reported and the policies in force stay. Without a policy file
/// (the embedded defaults) there is nothing to re-read.
pub fn reload_policies_on_hangup(config: &Config, holders: Vec<PolicyHolder>) {
    let Some(path) = config.api.policies.clone() else {
        return;
    };
    if holders.is_empty() {
        return;
    }
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(hangups) => hangups,
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch SIGHUP; policies reload on restart only");
                return;
            }
        };
        while hangups.recv().await.is_some() {
            let origin = path.display().to_string();
            let loaded = read(&path).and_then(|text| {
                holders
                    .iter()
                    .try_for_each(|holder| holder.reload(&text, &origin))
            });
            match loaded {
                Ok(()) => tracing::info!(policy.file = %origin, "policies reloaded"),
                Err(e) => tracing::error!(
                    policy.file = %origin,
                    "policy reload refused; the policies in force stay: {e:#}"
                ),
            }
        }
    });
}

/// Re-reads the key directory on every SIGHUP, so that a rotation made by another process
/// (`scopegate keys rotate`) takes effect without a restart: new tokens are signed with the new
/// key, and the retired one stays published. A directory that does not load is reported and
/// the keys in force stay.
///
/// # Errors
///
/// SIGHUP cannot be watched.
pub fn reload_keys_on_hangup(keys: KeyStore) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        // Watched before the servers start, so a SIGHUP sent once they answer never meets
        // the default action (which would end the process).
        let mut hangups = signal(SignalKind::hangup()).context("cannot watch SIGHUP")?;
        let keys = Arc::new(keys);
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                let store = Arc::clone(&keys);
                let reloaded =
                    tokio::task::spawn_blocking(move || store.reload().map(|()| store.active()))
                        .await;
                match reloaded {
                    Ok(Ok(active)) => {
                        tracing::info!(key.kid = %active.kid, "signing keys reloaded");
                    }
                    Ok(Err(e)) => tracing::error!(
                        keys.dir = %keys.dir().display(),
                        "key reload refused; the keys in force stay: {e}"
                    ),
                    Err(e) => tracing::error!("key reload did not complete: {e}"),
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = keys;
    Ok(())
}

/// What the actions API offers and decides with: capabilities, policies and the fixture.
pub struct Catalogue {
    /// The capabilities offered.
    pub capabilities: CapabilityRegistry,
    /// The policies in force.
    pub policies: PolicySet,
    /// The Workday data set (also the org chart for `target` conditions).
    pub fixture: Arc<WorkdayFixture>,
    /// The policy file's text, for linting.
    pub policies_text: String,
    /// Where the policy text came from.
    pub policies_origin: String,
}

/// Loads the configured (or embedded) capability, policy and fixture files.
///
/// # Errors
///
/// A file cannot be read or is invalid; the error names the file and the line.
pub fn catalogue(config: &Config) -> anyhow::Result<Catalogue> {
    let capabilities = match &config.api.capabilities {
        Some(path) => {
            CapabilityRegistry::parse(&read(path)?, &path.display().to_string(), &env_secrets)?
        }
        None => CapabilityRegistry::embedded()?,
    };
    let (policies_text, policies_origin) = match &config.api.policies {
        Some(path) => (read(path)?, path.display().to_string()),
        None => (
            DEFAULT_POLICIES.to_owned(),
            DEFAULT_POLICIES_ORIGIN.to_owned(),
        ),
    };
    let policies = PolicySet::parse(&policies_text, &policies_origin, &capabilities.names())?;
    let fixture = Arc::new(match &config.api.fixture {
        Some(path) => WorkdayFixture::from_json(&read(path)?)
            .with_context(|| format!("`{}`", path.display()))?,
        None => WorkdayFixture::embedded()?,
    });
    Ok(Catalogue {
        capabilities,
        policies,
        fixture,
        policies_text,
        policies_origin,
    })
}

fn gateway_config(config: &Config) -> GatewayConfig {
    let secret = std::env::var(&config.api.client_secret_env)
        .unwrap_or_else(|_| DEV_API_CLIENT_SECRET.to_owned());
    GatewayConfig {
        audience: config.api_url(),
        issuer: config.issuer(),
        introspection: Some(IntrospectionConfig {
            endpoint: format!("{}/oauth2/v1/introspect", config.issuer()),
            client_id: config.api.client_id.clone(),
            client_secret: ClientSecret::new(secret),
            timeout: Duration::from_secs(2),
            cache_ttl: Duration::from_secs(5),
            all_capabilities: config.api.introspect_all,
        }),
        ..GatewayConfig::default()
    }
}

fn read(path: &std::path::Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read `{}`", path.display()))
}
