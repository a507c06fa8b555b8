//! Reading a directory file: the TOML shape, then validation into [`Directory`] values.
//!
//! Every error names the origin (file path) and the key, e.g.
//! `` `dir.toml`: `clients[1].exchange.default_target` names unknown resource `mpc` ``.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

use super::{Client, ClientKind, Directory, ExchangePolicy, Resource, User};
use scopegate_token::{Scope, ScopeError, Scopes};

use crate::grant::GrantType;
use crate::secret::{InvalidPasswordHash, InvalidSecretDigest};
use crate::totp::InvalidTotpSecret;

/// Why a directory could not be loaded.
#[derive(Debug, Error)]
pub enum DirectoryError {
    /// The file could not be read.
    #[error("cannot read directory file `{}`", path.display())]
    Read {
        /// The path given.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The text is not TOML of the directory's shape (unknown keys included).
    #[error("`{origin}`: {error}")]
    Syntax {
        /// The file the text came from.
        origin: String,
        /// The parser's error, which names the key and line.
        error: Box<toml::de::Error>,
    },
    /// A value is well-formed TOML but not acceptable.
    #[error("`{origin}`: `{key}` {problem}")]
    Invalid {
        /// The file the text came from.
        origin: String,
        /// The full key, e.g. `users[0].totp_secret`.
        key: String,
        /// What is wrong with it.
        problem: Problem,
    },
}

/// What is wrong with one directory value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Problem {
    /// The value is empty or contains whitespace.
    #[error("must be a non-empty value without whitespace")]
    BadIdentifier,
    /// Another entry of the same section already has this id.
    #[error("repeats id `{id}`")]
    Duplicate {
        /// The repeated id.
        id: String,
    },
    /// Not a principal type the token claims know.
    #[error("must be `HUMAN` or `SERVICE`")]
    PrincipalType,
    /// See [`InvalidPasswordHash`].
    #[error(transparent)]
    PasswordHash(#[from] InvalidPasswordHash),
    /// See [`InvalidTotpSecret`].
    #[error(transparent)]
    TotpSecret(#[from] InvalidTotpSecret),
    /// See [`InvalidSecretDigest`].
    #[error(transparent)]
    SecretDigest(#[from] InvalidSecretDigest),
    /// A value that is not an RFC 6749 §3.3 scope token.
    #[error("holds an invalid scope: {0}")]
    Scope(#[from] ScopeError),
    /// A grant type this server does not implement.
    #[error("names unknown grant type `{grant}`")]
    UnknownGrant {
        /// The value found.
        grant: String,
    },
    /// Public clients cannot authenticate, so they may not use grants that rely on it.
    #[error("gives public client grant `{grant}`, which needs a client secret")]
    PublicClientGrant {
        /// The grant.
        grant: GrantType,
    },
    /// A default scope that is not among the client's scopes.
    #[error("holds `{scope}`, which is not in the client's `scopes`")]
    DefaultScopeNotAllowed {
        /// The scope.
        scope: String,
    },
    /// A reference to a resource id that does not exist.
    #[error("names unknown resource `{id}`")]
    UnknownResource {
        /// The id referenced.
        id: String,
    },
    /// A reference to a client id that does not exist.
    #[error("names unknown client `{id}`")]
    UnknownClient {
        /// The id referenced.
        id: String,
    },
    /// The default exchange target is not one of the targets.
    #[error("names `{id}`, which is not among `targets`")]
    DefaultTargetNotListed {
        /// The id found.
        id: String,
    },
    /// The token-exchange grant without an `exchange` table, or the reverse.
    #[error("must be present exactly when the client has the token-exchange grant")]
    ExchangePolicyMismatch,
    /// A client that obtains tokens directly must say which resource they are for.
    #[error("is required for clients with the `password` or `client_credentials` grant")]
    MissingDefaultAudience,
    /// A lifetime of zero seconds.
    #[error("must be at least one second")]
    ZeroLifetime,
    /// RFC 8707 §2: a resource indicator is an absolute URI without a fragment.
    #[error("`{audience}` is not an absolute URI without a fragment")]
    Audience {
        /// The value found.
        audience: String,
    },
    /// Two resources with one audience would make `aud` ambiguous (RFC 9068 §5).
    #[error("repeats audience `{audience}`")]
    DuplicateAudience {
        /// The audience.
        audience: String,
    },
}

/// Parses directory text and validates it.
pub(super) fn parse(text: &str, origin: &str) -> Result<Directory, DirectoryError> {
    let file: FileShape = toml::from_str(text).map_err(|error| DirectoryError::Syntax {
        origin: origin.to_owned(),
        error: Box::new(error),
    })?;
    Loader { origin }.directory(file)
}

/// Checks an audience override for [`Directory::with_resource_audience`].
pub(super) fn check_audience_override(
    directory: &Directory,
    id: &str,
    audience: &str,
) -> Result<(), DirectoryError> {
    let loader = Loader {
        origin: "resource audience override",
    };
    let key = format!("resources.{id}.audience");
    if directory.resource(id).is_none() {
        return Err(loader.invalid(key, Problem::UnknownResource { id: id.to_owned() }));
    }
    if !is_resource_indicator(audience) {
        return Err(loader.invalid(
            key,
            Problem::Audience {
                audience: audience.to_owned(),
            },
        ));
    }
    let taken = directory
        .resources()
        .any(|other| other.id != id && other.audience == audience);
    if taken {
        return Err(loader.invalid(
            key,
            Problem::DuplicateAudience {
                audience: audience.into(),
            },
        ));
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileShape {
    #[serde(default)]
    users: Vec<UserShape>,
    #[serde(default)]
    clients: Vec<ClientShape>,
    #[serde(default)]
    resources: Vec<ResourceShape>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserShape {
    id: String,
    name: String,
    title: Option<String>,
    email: Option<String>,
    principal_type: String,
    #[serde(default)]
    groups: Vec<String>,
    password_hash: String,
    totp_secret: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientShape {
    id: String,
    name: String,
    secret_digest: Option<String>,
    grants: Vec<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    default_scopes: Vec<String>,
    default_audience: Option<String>,
    access_token_ttl_seconds: Option<u64>,
    exchange: Option<ExchangeShape>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExchangeShape {
    targets: Vec<TargetShape>,
    default_target: String,
    ttl_seconds: u64,
    may_act: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetShape {
    resource: String,
    scopes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceShape {
    id: String,
    name: String,
    audience: String,
    actor: Option<String>,
}

/// Validation with the origin at hand for error messages.
struct Loader<'a> {
    origin: &'a str,
}

impl Loader<'_> {
    fn directory(&self, file: FileShape) -> Result<Directory, DirectoryError> {
        // Resources first: clients refer to them. Client ids are collected before any client
        // is validated because resources and `may_act` refer to clients.
        let client_ids = self.unique_ids("clients", file.clients.iter().map(|c| c.id.as_str()))?;
        let resources = self.resources(file.resources, &client_ids)?;
        let mut users = BTreeMap::new();
        self.unique_ids("users", file.users.iter().map(|user| user.id.as_str()))?;
        for (index, shape) in file.users.into_iter().enumerate() {
            let user = self.user(index, shape)?;
            users.insert(user.id.clone(), user);
        }
        let mut clients = BTreeMap::new();
        for (index, shape) in file.clients.into_iter().enumerate() {
            let client = self.client(index, shape, &resources, &client_ids)?;
            clients.insert(client.id.clone(), client);
        }
        Ok(Directory {
            users,
            clients,
            resources,
        })
    }

    fn unique_ids<'s>(
        &self,
        section: &str,
        ids: impl Iterator<Item = &'s str>,
    ) -> Result<BTreeSet<String>, DirectoryError> {
        let mut seen = BTreeSet::new();
        for (index, id) in ids.enumerate() {
            let key = format!("{section}[{index}].id");
            if !is_identifier(id) {
                return Err(self.invalid(key, Problem::BadIdentifier));
            }
            if !seen.insert(id.to_owned()) {
                return Err(self.invalid(key, Problem::Duplicate { id: id.to_owned() }));
            }
        }
        Ok(seen)
    }

    fn resources(
        &self,
        shapes: Vec<ResourceShape>,
        client_ids: &BTreeSet<String>,
    ) -> Result<BTreeMap<String, Resource>, DirectoryError> {
        self.unique_ids(
            "resources",
            shapes.iter().map(|resource| resource.id.as_str()),
        )?;
        let mut resources = BTreeMap::new();
        let mut audiences = BTreeSet::new();
        for (index, shape) in shapes.into_iter().enumerate() {
            let key = |field: &str| format!("resources[{index}].{field}");
            if !is_resource_indicator(&shape.audience) {
                let problem = Problem::Audience {
                    audience: shape.audience,
                };
                return Err(self.invalid(key("audience"), problem));
            }
            if !audiences.insert(shape.audience.clone()) {
                let problem = Problem::DuplicateAudience {
                    audience: shape.audience,
                };
                return Err(self.invalid(key("audience"), problem));
            }
            if let Some(actor) = shape.actor.as_ref().filter(|id| !client_ids.contains(*id)) {
                let problem = Problem::UnknownClient { id: actor.clone() };
                return Err(self.invalid(key("actor"), problem));
            }
            let resource = Resource {
                id: shape.id,
                name: shape.name,
                audience: shape.audience,
                actor: shape.actor,
            };
            resources.insert(resource.id.clone(), resource);
        }
        Ok(resources)
    }

    fn user(&self, index: usize, shape: UserShape) -> Result<User, DirectoryError> {
        let key = |field: &str| format!("users[{index}].{field}");
        let Ok(principal_type) = shape.principal_type.parse() else {
            return Err(self.invalid(key("principal_type"), Problem::PrincipalType));
        };
        if let Some(position) = shape.groups.iter().position(|group| !is_identifier(group)) {
            return Err(self.invalid(key(&format!("groups[{position}]")), Problem::BadIdentifier));
        }
        let password_hash = shape
            .password_hash
            .parse()
            .map_err(|err| self.invalid(key("password_hash"), err))?;
        let totp_secret = shape
            .totp_secret
            .map(|secret| secret.parse())
            .transpose()
            .map_err(|err| self.invalid(key("totp_secret"), err))?;
        Ok(User {
            id: shape.id,
            name: shape.name,
            title: shape.title,
            email: shape.email,
            principal_type,
            groups: shape.groups,
            password_hash,
            totp_secret,
        })
    }

    fn client(
        &self,
        index: usize,
        shape: ClientShape,
        resources: &BTreeMap<String, Resource>,
        client_ids: &BTreeSet<String>,
    ) -> Result<Client, DirectoryError> {
        let key = |field: &str| format!("clients[{index}].{field}");
        let kind = match shape.secret_digest {
            Some(digest) => ClientKind::Confidential(
                digest
                    .parse()
                    .map_err(|err| self.invalid(key("secret_digest"), err))?,
            ),
            None => ClientKind::Public,
        };
        let grants = self.grants(&key("grants"), &shape.grants, &kind)?;
        let scopes = self.scopes(&key("scopes"), &shape.scopes)?;
        let default_scopes = self.scopes(&key("default_scopes"), &shape.default_scopes)?;
        if let Some(scope) = crate::grant::first_missing(&default_scopes, &scopes) {
            let problem = Problem::DefaultScopeNotAllowed {
                scope: scope.to_string(),
            };
            return Err(self.invalid(key("default_scopes"), problem));
        }
        if let Some(id) = shape
            .default_audience
            .as_ref()
            .filter(|id| !resources.contains_key(*id))
        {
            let problem = Problem::UnknownResource { id: id.clone() };
            return Err(self.invalid(key("default_audience"), problem));
        }
        let issues_directly =
            grants.contains(&GrantType::Password) || grants.contains(&GrantType::ClientCredentials);
        if issues_directly && shape.default_audience.is_none() {
            return Err(self.invalid(key("default_audience"), Problem::MissingDefaultAudience));
        }
        let access_token_ttl = shape
            .access_token_ttl_seconds
            .map(|seconds| self.lifetime(&key("access_token_ttl_seconds"), seconds))
            .transpose()?;
        if grants.contains(&GrantType::TokenExchange) != shape.exchange.is_some() {
            return Err(self.invalid(key("exchange"), Problem::ExchangePolicyMismatch));
        }
        let exchange = shape
            .exchange
            .map(|policy| self.exchange(&key("exchange"), policy, resources, client_ids))
            .transpose()?;
        Ok(Client {
            id: shape.id,
            name: shape.name,
            kind,
            grants,
            scopes,
            default_scopes,
            default_audience: shape.default_audience,
            access_token_ttl,
            exchange,
        })
    }

    fn grants(
        &self,
        key: &str,
        names: &[String],
        kind: &ClientKind,
    ) -> Result<BTreeSet<GrantType>, DirectoryError> {
        let mut grants = BTreeSet::new();
        for (position, name) in names.iter().enumerate() {
            let key = format!("{key}[{position}]");
            let grant: GrantType = name.parse().map_err(|_| {
                self.invalid(key.clone(), Problem::UnknownGrant { grant: name.into() })
            })?;
            let needs_secret = matches!(
                grant,
                GrantType::ClientCredentials | GrantType::TokenExchange
            );
            if needs_secret && *kind == ClientKind::Public {
                return Err(self.invalid(key, Problem::PublicClientGrant { grant }));
            }
            grants.insert(grant);
        }
        Ok(grants)
    }

    fn exchange(
        &self,
        key: &str,
        shape: ExchangeShape,
        resources: &BTreeMap<String, Resource>,
        client_ids: &BTreeSet<String>,
    ) -> Result<ExchangePolicy, DirectoryError> {
        let mut targets = BTreeMap::new();
        for (position, target) in shape.targets.into_iter().enumerate() {
            let target_key = format!("{key}.targets[{position}]");
            if !resources.contains_key(&target.resource) {
                let problem = Problem::UnknownResource {
                    id: target.resource,
                };
                return Err(self.invalid(format!("{target_key}.resource"), problem));
            }
            let scopes = self.scopes(&format!("{target_key}.scopes"), &target.scopes)?;
            targets.insert(target.resource, scopes);
        }
        if !targets.contains_key(&shape.default_target) {
            let problem = Problem::DefaultTargetNotListed {
                id: shape.default_target,
            };
            return Err(self.invalid(format!("{key}.default_target"), problem));
        }
        if let Some(id) = shape
            .may_act
            .as_ref()
            .filter(|id| !client_ids.contains(*id))
        {
            let problem = Problem::UnknownClient { id: id.clone() };
            return Err(self.invalid(format!("{key}.may_act"), problem));
        }
        Ok(ExchangePolicy {
            targets,
            default_target: shape.default_target,
            ttl: self.lifetime(&format!("{key}.ttl_seconds"), shape.ttl_seconds)?,
            may_act: shape.may_act,
        })
    }

    fn scopes(&self, key: &str, values: &[String]) -> Result<Scopes, DirectoryError> {
        values
            .iter()
            .map(|value| Scope::new(value.as_str()))
            .collect::<Result<Scopes, _>>()
            .map_err(|err| self.invalid(key.to_owned(), err))
    }

    fn lifetime(&self, key: &str, seconds: u64) -> Result<Duration, DirectoryError> {
        if seconds == 0 {
            return Err(self.invalid(key.to_owned(), Problem::ZeroLifetime));
        }
        Ok(Duration::from_secs(seconds))
    }

    fn invalid(&self, key: String, problem: impl Into<Problem>) -> DirectoryError {
        DirectoryError::Invalid {
            origin: self.origin.to_owned(),
            key,
            problem: problem.into(),
        }
    }
}

fn is_identifier(value: &str) -> bool {
    !value.is_empty()
        && !value
            .chars()
            .any(|ch| ch.is_whitespace() || ch.is_control())
}

/// RFC 3986 §4.3 absolute URI (a scheme, then `:` and a non-empty rest) with no fragment and
/// no whitespace, as RFC 8707 §2 requires of resource indicators.
pub(crate) fn is_resource_indicator(value: &str) -> bool {
    let Some((scheme, rest)) = value.split_once(':') else {
        return false;
    };
    let scheme_ok = scheme.starts_with(|ch: char| ch.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '+' | '-' | '.'));
    let rest_ok = !rest.is_empty() && !rest.contains('#');
    scheme_ok
        && rest_ok
        && !value
            .chars()
            .any(|ch| ch.is_whitespace() || ch.is_control())
}
