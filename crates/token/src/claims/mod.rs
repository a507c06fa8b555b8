//! The access-token claim set: the RFC 9068 claims, the design note's claims, RFC 8693 `act`
//! and `may_act`, and every other claim kept as it came.
//!
//! [`Claims`] can be built freely (it is what an issuer signs) but is only ever *read* from a
//! token by this crate's verifier or by [`dangerous`](crate::dangerous), through the strict
//! parser; it deliberately does not implement `Deserialize`.

mod parse;
mod values;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

pub use values::{Audience, PrincipalType, Scope, Scopes};

pub(crate) use parse::{parse_claims, peek_issuer};

use crate::clock::NumericDate;
use crate::error::ClaimError;

/// The claims of an access token.
///
/// Required on input (RFC 9068 §2.2): `iss`, `sub`, `aud`, `exp`, `iat`, `jti`, `client_id`;
/// a token without one of them is refused. Optional claims that are absent read as `None` or
/// as an empty collection, and empty collections are left out when a token is written.
/// Claims without a field here are kept in [`Claims::extra`].
#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    /// `iss`: the issuer identifier, compared exactly.
    pub iss: String,
    /// `sub`: the person, or the client for a client-credentials token.
    pub sub: String,
    /// `aud`: the resources the token is meant for.
    pub aud: Audience,
    /// `exp`: expiry.
    pub exp: NumericDate,
    /// `iat`: issue time.
    pub iat: NumericDate,
    /// `nbf`: not valid before.
    pub nbf: Option<NumericDate>,
    /// `jti`: this token's unique id.
    pub jti: String,
    /// `client_id`: the client the token was issued to (RFC 8693 §4.3).
    pub client_id: String,
    /// `scope`: granted scopes, written as a JSON array.
    pub scope: Scopes,
    /// `principal_type` (design note): `HUMAN` or `SERVICE`.
    pub principal_type: Option<PrincipalType>,
    /// `groups` (RFC 9068 §2.2.3.1).
    pub groups: Vec<String>,
    /// `amr`: authentication methods (RFC 8176), for example `pwd` and `mfa`.
    pub amr: Vec<String>,
    /// `auth_time`: when the person last actually authenticated (RFC 9068 §2.2.1).
    pub auth_time: Option<NumericDate>,
    /// `acr`: the authentication context class.
    pub acr: Option<String>,
    /// `acting_as` (design note): the actor the token was exchanged for.
    pub acting_as: Option<String>,
    /// `original_token_id` (design note): the `jti` of the root token of an exchange chain.
    pub original_token_id: Option<String>,
    /// `act`: the current actor, with prior actors nested inside (RFC 8693 §4.1).
    pub act: Option<Actor>,
    /// `may_act`: the party allowed to become the actor (RFC 8693 §4.4).
    pub may_act: Option<MayAct>,
    /// Every other claim, kept unchanged.
    pub extra: ExtraClaims,
}

impl Claims {
    /// Whether `amr` lists `method` (for example `mfa`).
    #[must_use]
    pub fn has_amr(&self, method: &str) -> bool {
        self.amr.iter().any(|listed| listed == method)
    }

    /// How many actors the `act` chain holds: 0 without `act`.
    #[must_use]
    pub fn actor_depth(&self) -> usize {
        self.act.as_ref().map_or(0, Actor::depth)
    }
}

impl Serialize for Claims {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("iss", &self.iss)?;
        map.serialize_entry("sub", &self.sub)?;
        map.serialize_entry("aud", &self.aud)?;
        map.serialize_entry("exp", &self.exp)?;
        map.serialize_entry("iat", &self.iat)?;
        optional(&mut map, "nbf", self.nbf.as_ref())?;
        map.serialize_entry("jti", &self.jti)?;
        map.serialize_entry("client_id", &self.client_id)?;
        optional(
            &mut map,
            "scope",
            Some(&self.scope).filter(|s| !s.is_empty()),
        )?;
        optional(&mut map, "principal_type", self.principal_type.as_ref())?;
        optional(
            &mut map,
            "groups",
            Some(&self.groups).filter(|g| !g.is_empty()),
        )?;
        optional(&mut map, "amr", Some(&self.amr).filter(|a| !a.is_empty()))?;
        optional(&mut map, "auth_time", self.auth_time.as_ref())?;
        optional(&mut map, "acr", self.acr.as_ref())?;
        optional(&mut map, "acting_as", self.acting_as.as_ref())?;
        optional(
            &mut map,
            "original_token_id",
            self.original_token_id.as_ref(),
        )?;
        optional(&mut map, "act", self.act.as_ref())?;
        optional(&mut map, "may_act", self.may_act.as_ref())?;
        for (name, value) in &self.extra.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// An actor in the `act` chain (RFC 8693 §4.1).
///
/// The outermost actor is the current one; each nested [`Actor::act`] is the one before it.
/// Only the current actor may be used for decisions; prior actors are informational.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    /// The actor's subject, for example `mcp-server`. Required.
    pub sub: String,
    /// The actor's issuer, when it differs from the token's.
    pub iss: Option<String>,
    /// The actor before this one.
    pub act: Option<Box<Actor>>,
    /// Other members of the actor object, kept unchanged.
    pub extra: ExtraClaims,
}

impl Actor {
    /// An actor with only a subject.
    #[must_use]
    pub fn new(sub: impl Into<String>) -> Self {
        Self {
            sub: sub.into(),
            iss: None,
            act: None,
            extra: ExtraClaims::new(),
        }
    }

    /// A new current actor `sub` in front of `prior` (the chain grows by one).
    #[must_use]
    pub fn in_front_of(sub: impl Into<String>, prior: Option<Self>) -> Self {
        Self {
            act: prior.map(Box::new),
            ..Self::new(sub)
        }
    }

    /// The number of actors in the chain starting here (1 for an actor with no prior actor).
    #[must_use]
    pub fn depth(&self) -> usize {
        self.chain().count()
    }

    /// This actor, then each prior actor, most recent first.
    pub fn chain(&self) -> impl Iterator<Item = &Self> {
        std::iter::successors(Some(self), |actor| actor.act.as_deref())
    }
}

impl Serialize for Actor {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("sub", &self.sub)?;
        optional(&mut map, "iss", self.iss.as_ref())?;
        optional(&mut map, "act", self.act.as_ref())?;
        for (name, value) in &self.extra.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// The `may_act` claim: who is allowed to become the actor for this token (RFC 8693 §4.4).
#[derive(Debug, Clone, PartialEq)]
pub struct MayAct {
    /// The allowed actor's subject.
    pub sub: Option<String>,
    /// The allowed actor's issuer.
    pub iss: Option<String>,
    /// Other members, kept unchanged.
    pub extra: ExtraClaims,
}

impl MayAct {
    /// Allows the party with subject `sub`.
    #[must_use]
    pub fn subject(sub: impl Into<String>) -> Self {
        Self {
            sub: Some(sub.into()),
            iss: None,
            extra: ExtraClaims::new(),
        }
    }
}

impl Serialize for MayAct {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        optional(&mut map, "sub", self.sub.as_ref())?;
        optional(&mut map, "iss", self.iss.as_ref())?;
        for (name, value) in &self.extra.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// Claims (or actor members) without a typed field, kept with their JSON values.
///
/// Names that have a typed field in [`Claims`] are refused by [`ExtraClaims::insert`], so a
/// written token can never carry a claim twice.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExtraClaims(Map<String, Value>);

impl ExtraClaims {
    /// No extra claims.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets claim `name` to `value`, returning the value it replaces.
    ///
    /// # Errors
    ///
    /// [`ClaimError::ReservedName`] when `name` has a typed field in [`Claims`].
    pub fn insert(
        &mut self,
        name: impl Into<String>,
        value: Value,
    ) -> Result<Option<Value>, ClaimError> {
        let name = name.into();
        if TYPED_CLAIMS.contains(&name.as_str()) {
            return Err(ClaimError::ReservedName { name });
        }
        Ok(self.0.insert(name, value))
    }

    /// The value of claim `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// Removes claim `name`, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        self.0.remove(name)
    }

    /// The claims in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.0.iter()
    }

    /// How many extra claims there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Keeps the members left over after parsing (already free of typed names).
    pub(crate) const fn from_remaining(members: Map<String, Value>) -> Self {
        Self(members)
    }
}

/// Every claim name with a typed field in [`Claims`] (a superset of [`Actor`]'s and
/// [`MayAct`]'s typed members).
const TYPED_CLAIMS: [&str; 18] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "client_id",
    "scope",
    "principal_type",
    "groups",
    "amr",
    "auth_time",
    "acr",
    "acting_as",
    "original_token_id",
    "act",
    "may_act",
];

fn optional<M: SerializeMap, T: Serialize + ?Sized>(
    map: &mut M,
    name: &'static str,
    value: Option<&T>,
) -> Result<(), M::Error> {
    match value {
        Some(value) => map.serialize_entry(name, value),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
