//! Assembling and running the servers: the identity provider, the actions API and the MCP
//! server, one per listener, sharing one audit log and one key store when run together.
//!
//! `main` stays small: it parses flags and calls [`run`]; everything a role needs is built
//! here from [`Config`], every role is served within its `[limits]` (`limits`, `listen`), and
//! every role stops gracefully on Ctrl-C or SIGTERM.

mod limits;
mod listen;
mod roles;

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use scopegate_audit::AuditLog;
use scopegate_token::{Clock, KeyStore, KeyStoreConfig, SystemClock};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::{Config, ServerLimits};

pub use limits::guard;
pub use roles::{
    Catalogue, PolicyHolder, api_state, catalogue, directory, idp_router, mcp_state,
    reload_keys_on_hangup, reload_policies_on_hangup,
};

/// Which roles a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The development identity provider.
    Idp,
    /// The actions API.
    Api,
    /// The MCP server.
    Mcp,
}

impl Role {
    /// How logs and errors name the role.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Idp => "identity provider",
            Self::Api => "actions API",
            Self::Mcp => "MCP server",
        }
    }
}

/// What every role of one process shares.
pub struct Shared {
    /// The config everything is built from.
    pub config: Config,
    /// Wall-clock time.
    pub clock: Arc<dyn Clock>,
    /// The one audit writer; the file is locked, so two writers cannot share it.
    pub audit: AuditLog,
}

impl Shared {
    /// Opens the audit log (creating its directory) for the roles of this process.
    ///
    /// # Errors
    ///
    /// The log cannot be opened, for instance because another process holds it.
    pub fn open(config: Config) -> anyhow::Result<Self> {
        let audit =
            AuditLog::open(&config.audit.path, config.audit.writer()).with_context(|| {
                format!(
                    "cannot open the audit log `{}`",
                    config.audit.path.display()
                )
            })?;
        Ok(Self {
            config,
            clock: Arc::new(SystemClock),
            audit,
        })
    }

    /// Opens the signing keys, creating the first one when the directory is empty.
    ///
    /// # Errors
    ///
    /// See [`open_keys`].
    pub fn keys(&self) -> anyhow::Result<KeyStore> {
        open_keys(&self.config, Arc::clone(&self.clock))
    }
}

/// Opens the configured key directory, creating it and a first key when needed.
///
/// # Errors
///
/// The key directory cannot be read or written, or holds a key file others can read.
pub fn open_keys(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<KeyStore> {
    let store_config = KeyStoreConfig {
        algorithm: config.keys.algorithm,
        max_token_lifetime: Duration::from_secs(config.keys.max_token_lifetime_seconds),
    };
    let dir = config.keys_dir();
    KeyStore::open(&dir, store_config, clock)
        .with_context(|| format!("cannot open the key directory `{}`", dir.display()))
}

/// One role bound to its listener, ready to serve within its limits.
pub struct Bound {
    role: Role,
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
}

impl Bound {
    /// The role this listener serves.
    #[must_use]
    pub const fn role(&self) -> Role {
        self.role
    }

    /// The address actually bound (useful with port 0).
    ///
    /// # Errors
    ///
    /// The socket cannot report its address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

/// Binds `role` to `addr`, to serve `router` within `limits`; says which role and port when
/// the address is taken.
///
/// # Errors
///
/// The address is in use, not local, or not permitted.
pub async fn bind(
    role: Role,
    addr: SocketAddr,
    router: Router,
    limits: ServerLimits,
) -> anyhow::Result<Bound> {
    let listener = TcpListener::bind(addr).await.map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::AddrInUse => {
                format!(
                    " (port {} is taken; stop what uses it or choose another port)",
                    addr.port()
                )
            }
            _ => String::new(),
        };
        anyhow::anyhow!("cannot listen on {addr} for the {}: {e}{hint}", role.name())
    })?;
    Ok(Bound {
        role,
        listener,
        router,
        limits,
    })
}

/// Serves every bound role until `shutdown` resolves, then lets requests in flight finish,
/// and finally flushes and syncs the audit log.
///
/// # Errors
///
/// A server failed, or the audit log could not be flushed.
pub async fn serve_until(
    bound: Vec<Bound>,
    audit: &AuditLog,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let (stop, stopped) = watch::channel(false);
    let mut servers = tokio::task::JoinSet::new();
    for Bound {
        role,
        listener,
        router,
        limits,
    } in bound
    {
        servers.spawn(listen::serve(
            role,
            listener,
            router,
            limits,
            stopped.clone(),
        ));
    }

    shutdown.await;
    tracing::info!("shutting down: no new connections; finishing requests in flight");
    let _ = stop.send(true);
    let mut result = Ok(());
    while let Some(joined) = servers.join_next().await {
        if let Err(e) = joined {
            result = Err(anyhow::Error::new(e).context("a server task failed"));
        }
    }

    let head = audit.close().await.context("cannot flush the audit log")?;
    tracing::info!(audit.head = %head, "audit log flushed and synced");
    result
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch SIGTERM; stop with Ctrl-C");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

/// The IdP's database file under the data directory.
#[must_use]
pub fn idp_database(config: &Config) -> std::path::PathBuf {
    config.server.data_dir.join("idp.sqlite")
}

/// Creates `dir` and its parents.
fn ensure_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))
}
