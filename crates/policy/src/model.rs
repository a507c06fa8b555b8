//! The loaded, immutable policy set: policies and requirements in file order, and an index from
//! every registered capability to the policies and requirements that cover it.

use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;

use crate::decision::PolicyName;
use crate::input::{PrincipalType, Subject, Target};

/// The ACR values a step-up challenge asks for when the file names none: the class Okta puts
/// in `acr` after a login with a second factor.
pub const DEFAULT_ACR_VALUES: &[&str] = &["urn:okta:loa:2fa:any"];

/// A parsed, validated policy file, indexed by capability; immutable and `Send + Sync`.
///
/// Build one with [`PolicySet::parse`]; decide requests with [`PolicySet::evaluate`].
#[derive(Debug)]
pub struct PolicySet {
    pub(crate) origin: Box<str>,
    pub(crate) policies: Vec<Policy>,
    pub(crate) requirements: Vec<Requirement>,
    pub(crate) index: HashMap<Box<str>, Rules>,
    pub(crate) acr_values: Vec<String>,
}

impl PolicySet {
    /// The display name the set was parsed under, such as `policies.yaml`.
    #[must_use]
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The names of the policies, in file order.
    pub fn policy_names(&self) -> impl Iterator<Item = &PolicyName> {
        self.policies.iter().map(|p| &p.name)
    }

    /// The names of the requirements, in file order.
    pub fn requirement_names(&self) -> impl Iterator<Item = &PolicyName> {
        self.requirements.iter().map(|r| &r.name)
    }

    /// The registered capabilities this set was checked against, in no particular order.
    pub fn capabilities(&self) -> impl Iterator<Item = &str> {
        self.index.keys().map(|name| &**name)
    }

    /// The ACR values a step-up challenge asks for (`step_up.acr_values`).
    #[must_use]
    pub fn acr_values(&self) -> &[String] {
        &self.acr_values
    }
}

/// Whether a policy grants or forbids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Effect {
    Allow,
    Deny,
}

/// The `target` condition: whom a call's arguments may point at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
pub enum TargetRule {
    /// `self`: only the caller.
    #[serde(rename = "self")]
    Subject,
    /// `direct_reports`: only people who report directly to the caller.
    #[serde(rename = "direct_reports")]
    DirectReports,
    /// `any`: anyone, and capabilities that name no person; the same as no `target` condition.
    #[serde(rename = "any")]
    Any,
}

impl TargetRule {
    /// The policy-file spelling: `self`, `direct_reports` or `any`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Subject => "self",
            Self::DirectReports => "direct_reports",
            Self::Any => "any",
        }
    }

    pub(crate) fn allows(self, target: Target) -> bool {
        match self {
            Self::Subject => target == Target::Subject,
            Self::DirectReports => target == Target::DirectReport,
            Self::Any => true,
        }
    }
}

impl fmt::Display for TargetRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One named allow or deny policy.
#[derive(Debug)]
pub(crate) struct Policy {
    pub(crate) name: PolicyName,
    pub(crate) effect: Effect,
    pub(crate) principals: Principals,
    pub(crate) conditions: Conditions,
}

/// Conditions added to every allow policy of some capabilities.
#[derive(Debug)]
pub(crate) struct Requirement {
    pub(crate) name: PolicyName,
    pub(crate) conditions: Conditions,
}

/// Who a policy applies to: each list that is present must match (any entry of it).
#[derive(Debug, Default)]
pub(crate) struct Principals {
    pub(crate) types: Option<Box<[PrincipalType]>>,
    pub(crate) groups: Option<Box<[Box<str>]>>,
    pub(crate) subjects: Option<Box<[Box<str>]>>,
}

impl Principals {
    pub(crate) fn type_matches(&self, subject: &Subject) -> bool {
        self.types
            .as_ref()
            .is_none_or(|types| types.contains(&subject.principal_type))
    }

    pub(crate) fn group_matches(&self, subject: &Subject) -> bool {
        self.groups
            .as_ref()
            .is_none_or(|groups| groups.iter().any(|g| subject.in_group(g)))
    }

    pub(crate) fn subject_matches(&self, subject: &Subject) -> bool {
        self.subjects
            .as_ref()
            .is_none_or(|subs| subs.iter().any(|s| **s == *subject.sub))
    }

    pub(crate) fn matches(&self, subject: &Subject) -> bool {
        self.type_matches(subject) && self.group_matches(subject) && self.subject_matches(subject)
    }
}

/// A policy's or requirement's conditions; absent ones impose nothing.
#[derive(Debug, Default)]
pub(crate) struct Conditions {
    pub(crate) required_scopes: Box<[Box<str>]>,
    pub(crate) max_auth_age: Option<u64>,
    pub(crate) mfa: bool,
    pub(crate) acting_through: Option<Box<[Via]>>,
    pub(crate) target: Option<TargetRule>,
    /// `token_active`: the issuer must confirm, online, that the token is still active.
    pub(crate) token_active: bool,
}

impl Conditions {
    /// Whether no condition is set, so the conditions hold for every request.
    pub(crate) fn is_empty(&self) -> bool {
        self.required_scopes.is_empty()
            && self.max_auth_age.is_none()
            && !self.mfa
            && self.acting_through.is_none()
            && self.target.is_none()
            && !self.token_active
    }
}

/// One entry of `acting_through`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Via {
    /// `direct`: the subject calls with its own token, no actor.
    Direct,
    /// The current actor's `act.sub`, such as `mcp-server`.
    Actor(Box<str>),
}

impl Via {
    /// The reserved `acting_through` entry for calls without an actor.
    pub(crate) const DIRECT: &'static str = "direct";

    pub(crate) fn admits(&self, actor: Option<&str>) -> bool {
        match (self, actor) {
            (Self::Direct, None) => true,
            (Self::Actor(allowed), Some(actor)) => **allowed == *actor,
            _ => false,
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            Self::Direct => Self::DIRECT,
            Self::Actor(actor) => actor,
        }
    }
}

/// The policies and requirements covering one capability, as indexes in file order.
#[derive(Debug, Default)]
pub(crate) struct Rules {
    pub(crate) denies: Box<[usize]>,
    pub(crate) allows: Box<[usize]>,
    pub(crate) requirements: Box<[usize]>,
}
