//! RFC 8693 token exchange as a pure function: from a verified subject token, the acting
//! client and its request, to the claims of the new token or the precise reason to refuse.
//!
//! Nothing here does I/O, reads a clock or verifies a signature; the HTTP layer has already
//! authenticated the client and verified (and revocation-checked) the subject and actor
//! tokens. Keeping the rules pure lets property tests drive them with arbitrary inputs.
//! `docs/tokens.md` lists the rules with their numbers; the comments below use them.

use scopegate_token::{
    Actor, Audience, Claims, ExtraClaims, MayAct, NumericDate, Scopes, VerifyError,
};
use thiserror::Error;

use crate::directory::{Client, Directory, ExchangePolicy, Resource};
use crate::grant::{first_missing, intersection};

/// The deepest `act` chain an exchanged token may carry (rule 7).
pub const MAX_ACT_DEPTH: usize = 5;

/// One exchange request, after parsing and verification.
#[derive(Debug)]
pub struct ExchangeInput<'a> {
    /// The verified, unrevoked subject token's claims.
    pub subject: &'a Claims,
    /// The verified, unrevoked actor token's claims, when one was sent.
    pub actor: Option<&'a Claims>,
    /// The authenticated client making the request.
    pub client: &'a Client,
    /// The directory, for resources and their actors.
    pub directory: &'a Directory,
    /// Every `audience` and `resource` value of the request, in order.
    pub targets: &'a [String],
    /// The `scope` parameter, when present.
    pub scope: Option<&'a Scopes>,
    /// This server's issuer identifier.
    pub issuer: &'a str,
    /// The time of issue.
    pub now: NumericDate,
    /// The new token's `jti`.
    pub jti: String,
}

/// Why a subject or actor token is unacceptable (RFC 8693 §2.2.2: `invalid_request`).
#[derive(Debug, Error)]
pub enum TokenRefusal {
    /// Its `exp` has passed.
    #[error("is expired: {0}")]
    Expired(#[source] VerifyError),
    /// It failed verification for another reason.
    #[error("failed verification: {0}")]
    Invalid(#[source] VerifyError),
    /// It, or the root token it was exchanged from, was revoked.
    #[error("is revoked")]
    Revoked,
}

impl TokenRefusal {
    /// Sorts a verification failure into expired or otherwise invalid.
    #[must_use]
    pub fn from_verify(error: VerifyError) -> Self {
        if matches!(error, VerifyError::Expired { .. }) {
            Self::Expired(error)
        } else {
            Self::Invalid(error)
        }
    }
}

/// Why the requested target is refused (`invalid_target`, RFC 8693 §2.2.2, RFC 8707 §2).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TargetError {
    /// A `resource` value that is not an absolute URI without a fragment.
    #[error("resource `{value}` is not an absolute URI without a fragment")]
    Malformed {
        /// The value sent.
        value: String,
    },
    /// No registered resource has this audience or id.
    #[error("`{value}` is not a registered resource")]
    Unknown {
        /// The value sent.
        value: String,
    },
    /// More than one distinct target; every token here is for exactly one (RFC 8707 §3).
    #[error("only one audience or resource may be requested per token")]
    Multiple,
    /// Nothing was requested and the client has no default resource.
    #[error("no audience or resource was requested and client `{client_id}` has no default")]
    Missing {
        /// The client.
        client_id: String,
    },
    /// The client may not obtain tokens for this resource.
    #[error("client `{client_id}` may not request tokens for `{audience}`")]
    NotAllowed {
        /// The client.
        client_id: String,
        /// The resource's audience URI.
        audience: String,
    },
}

/// Why an exchange is refused; each variant's OAuth error code is decided in `error.rs`.
#[derive(Debug, Error)]
pub enum ExchangeError {
    /// The client has no exchange policy.
    #[error("client `{client_id}` has no token-exchange policy")]
    NoPolicy {
        /// The client.
        client_id: String,
    },
    /// Rule 3: the client is neither the subject token's client nor in its audience.
    #[error(
        "client `{client_id}` may not exchange a token issued to `{issued_to}`: it is neither \
         that client nor in the token's audience"
    )]
    NotPermitted {
        /// The acting client.
        client_id: String,
        /// The subject token's `client_id`.
        issued_to: String,
    },
    /// Rule 3: the subject token's `may_act` names someone else.
    #[error("the subject token's `may_act` does not name client `{client_id}`")]
    MayActMismatch {
        /// The acting client.
        client_id: String,
    },
    /// The actor token's subject is not the authenticated client.
    #[error("the actor token's subject `{actor}` is not the authenticated client `{client_id}`")]
    ActorIsNotClient {
        /// The actor token's `sub`.
        actor: String,
        /// The authenticated client.
        client_id: String,
    },
    /// Rule 7: the `act` chain would exceed [`MAX_ACT_DEPTH`].
    #[error("the actor chain would be {depth} deep; at most {MAX_ACT_DEPTH} is allowed")]
    ChainTooDeep {
        /// The depth the new token would have.
        depth: usize,
    },
    /// Rule 4.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// Rule 5: a requested scope the subject token does not hold.
    #[error("scope `{scope}` is not held by the subject token")]
    ScopeNotInSubject {
        /// The scope.
        scope: String,
    },
    /// Rule 5: a requested scope the client may not obtain at the target.
    #[error("client `{client_id}` may not request scope `{scope}` for `{audience}`")]
    ScopeNotAllowed {
        /// The client.
        client_id: String,
        /// The scope.
        scope: String,
        /// The target's audience URI.
        audience: String,
    },
    /// Rule 5: no scope is both held by the subject and allowed at the target.
    #[error(
        "the subject token holds no scope that client `{client_id}` may obtain for `{audience}`"
    )]
    NoScope {
        /// The client.
        client_id: String,
        /// The target's audience URI.
        audience: String,
    },
    /// Rule 6: the subject token expires at the very moment of the request.
    #[error("the subject token expires now")]
    SubjectExpiresNow,
}

/// Applies the exchange rules and returns the claims of the token to issue.
///
/// # Errors
///
/// [`ExchangeError`] for the first rule the request breaks, in rule order.
pub fn exchange(input: &ExchangeInput<'_>) -> Result<Claims, ExchangeError> {
    let ExchangeInput {
        subject,
        client,
        directory,
        ..
    } = *input;
    let Some(policy) = client.exchange.as_ref() else {
        return Err(ExchangeError::NoPolicy {
            client_id: client.id.clone(),
        });
    };

    // Rule 3: who may exchange, and as whom.
    let on_behalf_of = check_permitted(subject, client, directory)?;
    check_actor_token(input.actor, client)?;
    let act = next_actor(subject, client, on_behalf_of)?;

    // Rules 4 and 5: one registered target the client may ask for, and only narrower scope.
    let target = resolve_target(input.targets, client, policy, directory)?;
    let scope = granted_scope(input.scope, subject, client, policy, target)?;

    // Rule 6: never outlive the subject token.
    if subject.exp <= input.now {
        return Err(ExchangeError::SubjectExpiresNow);
    }
    let exp = input.now.saturating_add(policy.ttl).min(subject.exp);

    // Rule 7: identity and authentication facts carry over unchanged; provenance is new.
    Ok(Claims {
        iss: input.issuer.to_owned(),
        sub: subject.sub.clone(),
        aud: Audience::single(target.audience.clone()),
        exp,
        iat: input.now,
        nbf: None,
        jti: input.jti.clone(),
        client_id: client.id.clone(),
        scope,
        principal_type: subject.principal_type,
        groups: subject.groups.clone(),
        amr: subject.amr.clone(),
        auth_time: subject.auth_time,
        acr: subject.acr.clone(),
        acting_as: target.actor.clone(),
        original_token_id: Some(root_token_id(subject).to_owned()),
        act,
        may_act: policy.may_act.as_ref().map(MayAct::subject),
        extra: ExtraClaims::new(),
    })
}

/// The `jti` of the token an exchange chain started from.
#[must_use]
pub fn root_token_id(claims: &Claims) -> &str {
    claims.original_token_id.as_deref().unwrap_or(&claims.jti)
}

/// Whether `client_id` counts as "in the audience" of a token with `aud`: some audience is a
/// registered resource whose actor is the client, or is the client id itself.
#[must_use]
pub fn in_audience(aud: &Audience, client_id: &str, directory: &Directory) -> bool {
    aud.iter().any(|audience| {
        audience == client_id
            || directory
                .resource_by_audience(audience)
                .is_some_and(|resource| resource.actor.as_deref() == Some(client_id))
    })
}

/// The one resource named by `requested` (audience URIs or logical ids), or `None` when
/// nothing was requested.
///
/// # Errors
///
/// [`TargetError::Unknown`] for a value naming no resource, [`TargetError::Multiple`] when
/// the values name more than one.
pub fn resolve_requested<'d>(
    requested: &[String],
    directory: &'d Directory,
) -> Result<Option<&'d Resource>, TargetError> {
    let mut resolved: Option<&Resource> = None;
    for value in requested {
        let resource = directory
            .resource_by_audience(value)
            .or_else(|| directory.resource(value))
            .ok_or_else(|| TargetError::Unknown {
                value: value.clone(),
            })?;
        if resolved.is_some_and(|earlier| earlier.id != resource.id) {
            return Err(TargetError::Multiple);
        }
        resolved = Some(resource);
    }
    Ok(resolved)
}

/// Rule 3. Returns whether the exchange is on behalf of another client's token.
fn check_permitted(
    subject: &Claims,
    client: &Client,
    directory: &Directory,
) -> Result<bool, ExchangeError> {
    let on_behalf_of = subject.client_id != client.id;
    if on_behalf_of && !in_audience(&subject.aud, &client.id, directory) {
        return Err(ExchangeError::NotPermitted {
            client_id: client.id.clone(),
            issued_to: subject.client_id.clone(),
        });
    }
    // RFC 8693 §4.4: `may_act` names the only party that may act for this token.
    let named = |may_act: &MayAct| may_act.sub.as_deref() == Some(client.id.as_str());
    if subject
        .may_act
        .as_ref()
        .is_some_and(|may_act| !named(may_act))
    {
        return Err(ExchangeError::MayActMismatch {
            client_id: client.id.clone(),
        });
    }
    Ok(on_behalf_of)
}

/// An actor token, when sent, must be the authenticated client's own token.
fn check_actor_token(actor: Option<&Claims>, client: &Client) -> Result<(), ExchangeError> {
    match actor {
        Some(actor) if actor.sub != client.id => Err(ExchangeError::ActorIsNotClient {
            actor: actor.sub.clone(),
            client_id: client.id.clone(),
        }),
        _ => Ok(()),
    }
}

/// Rule 7: on behalf of another client, the acting client becomes the current actor in front
/// of the subject's chain; the client's own token keeps its chain as it is.
fn next_actor(
    subject: &Claims,
    client: &Client,
    on_behalf_of: bool,
) -> Result<Option<Actor>, ExchangeError> {
    if !on_behalf_of {
        return Ok(subject.act.clone());
    }
    let actor = Actor::in_front_of(client.id.clone(), subject.act.clone());
    let depth = actor.depth();
    if depth > MAX_ACT_DEPTH {
        return Err(ExchangeError::ChainTooDeep { depth });
    }
    Ok(Some(actor))
}

/// Rule 4: the requested target, or the policy's default.
fn resolve_target<'d>(
    requested: &[String],
    client: &Client,
    policy: &ExchangePolicy,
    directory: &'d Directory,
) -> Result<&'d Resource, ExchangeError> {
    let target = match resolve_requested(requested, directory)? {
        Some(resource) => resource,
        None => directory
            .resource(&policy.default_target)
            .ok_or_else(|| TargetError::Unknown {
                value: policy.default_target.clone(),
            })?,
    };
    if !policy.targets.contains_key(&target.id) {
        let audience = target.audience.clone();
        return Err(TargetError::NotAllowed {
            client_id: client.id.clone(),
            audience,
        }
        .into());
    }
    Ok(target)
}

/// Rule 5: requested scopes must be held by the subject and allowed at the target; without a
/// request, the grant is what is both held and allowed.
fn granted_scope(
    requested: Option<&Scopes>,
    subject: &Claims,
    client: &Client,
    policy: &ExchangePolicy,
    target: &Resource,
) -> Result<Scopes, ExchangeError> {
    let empty = Scopes::new();
    let allowed = policy.targets.get(&target.id).unwrap_or(&empty);
    let Some(requested) = requested else {
        let granted = intersection(&subject.scope, allowed);
        if granted.is_empty() {
            return Err(ExchangeError::NoScope {
                client_id: client.id.clone(),
                audience: target.audience.clone(),
            });
        }
        return Ok(granted);
    };
    if let Some(scope) = first_missing(requested, &subject.scope) {
        return Err(ExchangeError::ScopeNotInSubject {
            scope: scope.to_string(),
        });
    }
    if let Some(scope) = first_missing(requested, allowed) {
        return Err(ExchangeError::ScopeNotAllowed {
            client_id: client.id.clone(),
            scope: scope.to_string(),
            audience: target.audience.clone(),
        });
    }
    Ok(requested.clone())
}
