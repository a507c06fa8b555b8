//! `scopegate up|idp|api`: run the servers until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;

use super::print_line;
use crate::cli::ServeArgs;
use crate::config::Config;
use crate::serve::{self, Bound, PolicyHolder, Role, Shared};

/// Which roles a command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Roles {
    /// Everything, in one process.
    All,
    /// One role alone.
    Only(Role),
}

pub(super) fn run(roles: Roles, args: &ServeArgs, mut config: Config) -> anyhow::Result<ExitCode> {
    apply(args, &mut config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve_roles(roles, config))?;
    Ok(ExitCode::SUCCESS)
}

/// Flags and `SCOPEGATE_*` variables win over the file.
pub(super) fn apply(args: &ServeArgs, config: &mut Config) {
    if let Some(bind) = args.bind {
        config.server.bind = bind;
    }
    if let Some(port) = args.idp_port {
        config.idp.port = port;
    }
    if let Some(port) = args.api_port {
        config.api.port = port;
    }
    if let Some(port) = args.mcp_port {
        config.mcp.port = port;
    }
    if let Some(path) = &args.audit_log {
        config.audit.path.clone_from(path);
    }
    if let Some(dir) = &args.data_dir {
        config.server.data_dir.clone_from(dir);
    }
}

async fn serve_roles(roles: Roles, config: Config) -> anyhow::Result<()> {
    let started = Instant::now();
    let shared = Shared::open(config)?;
    let bound = bind_roles(roles, &shared).await?;

    tracing::info!(elapsed_ms = started.elapsed().as_millis(), "ready");
    if roles == Roles::All {
        banner(&shared.config)?;
    }
    serve::serve_until(bound, &shared.audit, serve::shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

pub(super) async fn bind_roles(roles: Roles, shared: &Shared) -> anyhow::Result<Vec<Bound>> {
    let config = &shared.config;
    let addr = |port| SocketAddr::new(config.server.bind, port);
    let limits = config.limits;
    let mut bound = Vec::new();
    match roles {
        Roles::All => {
            let keys = shared.keys()?;
            let idp = serve::idp_router(shared, &keys)?;
            let api = serve::api_state(shared, Some(&keys))?;
            let mcp = serve::mcp_state(shared, Some(&keys))?;
            let holders = vec![
                PolicyHolder::Api(api.clone()),
                PolicyHolder::Mcp(mcp.clone()),
            ];
            serve::reload_policies_on_hangup(config, holders);
            serve::reload_keys_on_hangup(keys)?;
            bound.push(serve::bind(Role::Idp, addr(config.idp.port), idp, limits.idp).await?);
            let api = scopegate_gateway::router(api);
            bound.push(serve::bind(Role::Api, addr(config.api.port), api, limits.api).await?);
            let mcp = mcp_router(&mcp);
            bound.push(serve::bind(Role::Mcp, addr(config.mcp.port), mcp, limits.mcp).await?);
        }
        Roles::Only(Role::Idp) => {
            let keys = shared.keys()?;
            let idp = serve::idp_router(shared, &keys)?;
            serve::reload_keys_on_hangup(keys)?;
            bound.push(serve::bind(Role::Idp, addr(config.idp.port), idp, limits.idp).await?);
        }
        Roles::Only(Role::Api) => {
            let api = serve::api_state(shared, None)?;
            serve::reload_policies_on_hangup(config, vec![PolicyHolder::Api(api.clone())]);
            let api = scopegate_gateway::router(api);
            bound.push(serve::bind(Role::Api, addr(config.api.port), api, limits.api).await?);
        }
        Roles::Only(Role::Mcp) => {
            let mcp = serve::mcp_state(shared, None)?;
            serve::reload_policies_on_hangup(config, vec![PolicyHolder::Mcp(mcp.clone())]);
            let mcp = mcp_router(&mcp);
            bound.push(serve::bind(Role::Mcp, addr(config.mcp.port), mcp, limits.mcp).await?);
        }
    }
    for server in &bound {
        tracing::info!(role = server.role().name(), addr = %server.local_addr()?, "listening");
    }
    Ok(bound)
}

/// The MCP server's router, after logging what Host and Origin values it accepts.
fn mcp_router(state: &scopegate_mcp::McpState) -> axum::Router {
    let config = state.config();
    tracing::info!(
        mcp.url = %config.resource_url,
        mcp.allowed_hosts = ?config.allowed_hosts,
        mcp.allowed_origins = ?config.allowed_origins,
        "MCP server accepts these Host values and browser origins (DNS-rebinding protection)"
    );
    scopegate_mcp::router(state.clone())
}

/// `scopegate mcp --stdio`: one local client over standard input and output.
pub(super) fn run_stdio(args: &ServeArgs, mut config: Config) -> anyhow::Result<ExitCode> {
    apply(args, &mut config);
    let token = std::env::var(scopegate_mcp::TOKEN_ENV_VAR).with_context(|| {
        format!(
            "`{}` must hold the MCP token (from `scopegate token exchange`)",
            scopegate_mcp::TOKEN_ENV_VAR
        )
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let shared = Shared::open(config)?;
        let state = serve::mcp_state(&shared, None)?;
        let served = scopegate_mcp::serve_stdio(state, scopegate_mcp::BearerToken::new(token))
            .await
            .context("the stdio session ended with an error");
        shared
            .audit
            .close()
            .await
            .context("cannot flush the audit log")?;
        served
    })?;
    Ok(ExitCode::SUCCESS)
}

/// What a newcomer needs on one screen: where things are, who can log in, what to try.
fn banner(config: &Config) -> anyhow::Result<()> {
    let text = format!(
        "\nscopegate is up\n\
         \n  identity provider  {idp}\
         \n  actions API        {api}/actions\
         \n  MCP server         {mcp}\
         \n  audit log          {audit}\
         \n\n  demo users (password `demo-password`; add `--totp-auto` for MFA):\
         \n    EMP001 Alex Chen, employee        EMP010 Maria Santos, manager\
         \n    EMP020 Sam Okafor, HR admin       EMP002 Priya Natarajan, no MFA\
         \n\n  next: scopegate demo      (or: scopegate token login --user EMP001 --totp-auto)\
         \n  stop: Ctrl-C\n",
        idp = config.issuer(),
        api = config.api_url(),
        mcp = config.mcp_url(),
        audit = config.audit.path.display(),
    );
    print_line(&text)
}
