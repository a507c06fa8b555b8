//! The directory: who may log in (users), who may ask for tokens (clients) and what tokens may
//! be for (resources).
//!
//! A directory is loaded from TOML (see `defaults/directory.toml` for the embedded default and
//! `docs/tokens.md` for the format) and validated completely before use, so every value reached
//! through this module is already known to be well-formed and every reference resolves.
//! Resources carry a logical id (`mcp`, `actions-api`) that clients refer to, so a deployment
//! can move a resource to another URL with [`Directory::with_resource_audience`] without
//! touching the clients that name it.

mod load;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::time::Duration;

use scopegate_token::{PrincipalType, Scopes};

use crate::grant::GrantType;
use crate::secret::{PasswordHashString, SecretDigest};
use crate::totp::TotpSecret;

pub(crate) use load::is_resource_indicator;
pub use load::{DirectoryError, Problem};

/// The directory file shipped in the binary: a small organisation for development and demos.
pub const EMBEDDED_DEFAULT: &str = include_str!("../defaults/directory.toml");

/// The name error messages give the embedded default directory.
const EMBEDDED_ORIGIN: &str = "embedded default directory";

/// Users, clients and resources, all validated and cross-referenced.
#[derive(Debug, Clone)]
pub struct Directory {
    users: BTreeMap<String, User>,
    clients: BTreeMap<String, Client>,
    resources: BTreeMap<String, Resource>,
}

/// A person (or other principal) who can log in with the password grant.
#[derive(Debug, Clone)]
pub struct User {
    /// The subject identifier, e.g. `EMP001`; becomes the token's `sub`.
    pub id: String,
    /// The display name.
    pub name: String,
    /// The job title, informational.
    pub title: Option<String>,
    /// The e-mail address, informational.
    pub email: Option<String>,
    /// The token's `principal_type`, e.g. `HUMAN`.
    pub principal_type: PrincipalType,
    /// Group memberships; become the token's `groups`.
    pub groups: Vec<String>,
    /// The argon2 hash of the password.
    pub password_hash: PasswordHashString,
    /// The TOTP key when the user is enrolled in MFA.
    pub totp_secret: Option<TotpSecret>,
}

/// An OAuth client.
#[derive(Debug, Clone)]
pub struct Client {
    /// The `client_id`.
    pub id: String,
    /// The display name.
    pub name: String,
    /// How the client authenticates.
    pub kind: ClientKind,
    /// The grants the client may use.
    pub grants: BTreeSet<GrantType>,
    /// Every scope the client may ask for in password, refresh or client-credentials grants.
    pub scopes: Scopes,
    /// The scopes granted when such a request names none.
    pub default_scopes: Scopes,
    /// The logical id of the resource its directly issued tokens are for.
    pub default_audience: Option<String>,
    /// The lifetime of its directly issued access tokens, overriding the server default.
    pub access_token_ttl: Option<Duration>,
    /// What the client may obtain by token exchange, when it has that grant.
    pub exchange: Option<ExchangePolicy>,
}

/// How a client proves its identity at the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientKind {
    /// A client holding a secret, stored as its SHA-256 digest.
    Confidential(SecretDigest),
    /// A client that cannot keep a secret and only identifies itself with `client_id`.
    Public,
}

/// A client's token-exchange rules (RFC 8693).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangePolicy {
    /// Per target resource (logical id), the scopes the client may request there.
    pub targets: BTreeMap<String, Scopes>,
    /// The target used when the request names no `audience` or `resource`.
    pub default_target: String,
    /// The lifetime of exchanged tokens, before capping at the subject token's expiry.
    pub ttl: Duration,
    /// A client id put in the issued token's `may_act`, limiting who may exchange it next.
    pub may_act: Option<String>,
}

/// A protected resource tokens can be issued for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// The logical id clients use, e.g. `mcp`.
    pub id: String,
    /// The display name.
    pub name: String,
    /// The audience URI tokens carry in `aud`, e.g. `http://127.0.0.1:8001/mcp`.
    pub audience: String,
    /// The client that acts for this resource: it is named in `acting_as` of tokens for this
    /// audience and counts as "in the audience" for on-behalf-of exchange.
    pub actor: Option<String>,
}

impl Directory {
    /// The embedded default organisation.
    ///
    /// # Errors
    ///
    /// Never in a released build (a test loads the embedded file); the error type is kept so
    /// a broken edit of the file surfaces as an error rather than a panic.
    pub fn embedded_default() -> Result<Self, DirectoryError> {
        Self::from_toml_str(EMBEDDED_DEFAULT, EMBEDDED_ORIGIN)
    }

    /// Loads and validates a directory file.
    ///
    /// # Errors
    ///
    /// [`DirectoryError::Read`] when the file cannot be read, [`DirectoryError::Syntax`] for
    /// TOML errors and unknown keys, [`DirectoryError::Invalid`] naming the offending key.
    pub fn from_toml_file(path: &Path) -> Result<Self, DirectoryError> {
        let text = std::fs::read_to_string(path).map_err(|source| DirectoryError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml_str(&text, &path.display().to_string())
    }

    /// Parses and validates directory text; `origin` names it in error messages.
    ///
    /// # Errors
    ///
    /// As [`Directory::from_toml_file`], without the read error.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self, DirectoryError> {
        load::parse(text, origin)
    }

    /// Moves resource `id` to a new audience URI, e.g. when a deployment changes ports.
    ///
    /// # Errors
    ///
    /// [`DirectoryError::Invalid`] when `id` names no resource, the URI is not absolute or has
    /// a fragment, or another resource already has this audience.
    pub fn with_resource_audience(
        mut self,
        id: &str,
        audience: &str,
    ) -> Result<Self, DirectoryError> {
        load::check_audience_override(&self, id, audience)?;
        if let Some(resource) = self.resources.get_mut(id) {
            resource.audience = audience.to_owned();
        }
        Ok(self)
    }

    /// The user with subject `id`.
    #[must_use]
    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.get(id)
    }

    /// Every user, ordered by id.
    pub fn users(&self) -> impl Iterator<Item = &User> {
        self.users.values()
    }

    /// The client with `client_id` `id`.
    #[must_use]
    pub fn client(&self, id: &str) -> Option<&Client> {
        self.clients.get(id)
    }

    /// Every client, ordered by id.
    pub fn clients(&self) -> impl Iterator<Item = &Client> {
        self.clients.values()
    }

    /// The resource with logical id `id`.
    #[must_use]
    pub fn resource(&self, id: &str) -> Option<&Resource> {
        self.resources.get(id)
    }

    /// The resource whose audience URI is exactly `audience`.
    #[must_use]
    pub fn resource_by_audience(&self, audience: &str) -> Option<&Resource> {
        self.resources
            .values()
            .find(|resource| resource.audience == audience)
    }

    /// Every resource, ordered by logical id.
    pub fn resources(&self) -> impl Iterator<Item = &Resource> {
        self.resources.values()
    }

    /// Every scope any client may request, for the discovery documents.
    #[must_use]
    pub fn all_scopes(&self) -> BTreeSet<String> {
        let direct = self
            .clients
            .values()
            .flat_map(|client| client.scopes.iter());
        let exchanged = self
            .clients
            .values()
            .filter_map(|client| client.exchange.as_ref())
            .flat_map(|policy| policy.targets.values().flat_map(Scopes::iter));
        direct
            .chain(exchanged)
            .map(|scope| scope.as_str().to_owned())
            .collect()
    }
}

impl Client {
    /// Whether the client may use `grant`.
    #[must_use]
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grants.contains(&grant)
    }

    /// Whether the client authenticates with a secret.
    #[must_use]
    pub fn is_confidential(&self) -> bool {
        matches!(self.kind, ClientKind::Confidential(_))
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} ({})", self.id, self.audience)
    }
}

#[cfg(test)]
mod tests;
