//! The policy file exactly as written: serde types with source locations, checked for
//! unknown keys and value types by the YAML reader and for meaning by `load`.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::input::PrincipalType;
use crate::model::{Effect, TargetRule};

/// Condition names, the keys of `conditions`, in the order the YAML reader lists them.
pub(crate) const CONDITION_KEYS: &[&str] = &[
    "required_scope",
    "max_auth_age_seconds",
    "mfa",
    "acting_through",
    "target",
    "token_active",
];

/// A list of strings with the location of the list and of each entry.
pub(crate) type SpannedList = Spanned<Vec<Spanned<String>>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    pub(crate) step_up: Option<Spanned<RawStepUp>>,
    pub(crate) requirements: Option<Vec<Spanned<RawRequirement>>>,
    pub(crate) policies: Option<Vec<Spanned<RawPolicy>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStepUp {
    pub(crate) acr_values: Option<SpannedList>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRequirement {
    pub(crate) name: Option<Spanned<String>>,
    pub(crate) capabilities: Option<SpannedList>,
    pub(crate) conditions: Option<Spanned<RawConditions>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPolicy {
    pub(crate) name: Option<Spanned<String>>,
    pub(crate) effect: Option<Spanned<Effect>>,
    pub(crate) capabilities: Option<SpannedList>,
    pub(crate) principals: Option<Spanned<RawPrincipals>>,
    pub(crate) conditions: Option<Spanned<RawConditions>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPrincipals {
    pub(crate) types: Option<Spanned<Vec<PrincipalType>>>,
    pub(crate) groups: Option<SpannedList>,
    pub(crate) subjects: Option<SpannedList>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConditions {
    pub(crate) required_scope: Option<Spanned<Scopes>>,
    pub(crate) max_auth_age_seconds: Option<Spanned<u64>>,
    pub(crate) mfa: Option<Spanned<bool>>,
    pub(crate) acting_through: Option<SpannedList>,
    pub(crate) target: Option<Spanned<TargetRule>>,
    pub(crate) token_active: Option<Spanned<bool>>,
}

/// `required_scope`: one scope, or a list of scopes that must all be present.
#[derive(Debug)]
pub(crate) struct Scopes(pub(crate) Vec<String>);

impl<'de> Deserialize<'de> for Scopes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScopesVisitor)
    }
}

struct ScopesVisitor;

impl<'de> Visitor<'de> for ScopesVisitor {
    type Value = Scopes;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a scope or a list of scopes")
    }

    fn visit_str<E: de::Error>(self, scope: &str) -> Result<Scopes, E> {
        Ok(Scopes(vec![scope.to_owned()]))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scopes, A::Error> {
        let mut scopes = Vec::new();
        while let Some(scope) = seq.next_element::<String>()? {
            scopes.push(scope);
        }
        Ok(Scopes(scopes))
    }
}
