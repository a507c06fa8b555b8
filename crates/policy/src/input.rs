//! What one evaluation looks at: the caller, built from verified token claims, and the request,
//! a capability plus the target its arguments point at, already resolved by the caller.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

/// Whether a token speaks for a person or a workload: the `principal_type` claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
pub enum PrincipalType {
    /// A person who signs in and can answer a step-up challenge (`HUMAN`).
    #[serde(rename = "HUMAN")]
    Human,
    /// A workload using client credentials; it cannot answer a step-up challenge (`SERVICE`).
    #[serde(rename = "SERVICE")]
    Service,
}

impl PrincipalType {
    /// The spelling used in the claim and in policy files: `HUMAN` or `SERVICE`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Human => "HUMAN",
            Self::Service => "SERVICE",
        }
    }
}

impl fmt::Display for PrincipalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PrincipalType {
    type Err = UnknownPrincipalType;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "HUMAN" => Ok(Self::Human),
            "SERVICE" => Ok(Self::Service),
            _ => Err(UnknownPrincipalType {
                value: text.to_owned(),
            }),
        }
    }
}

/// A `principal_type` claim that is neither `HUMAN` nor `SERVICE`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown principal type `{value}`; expected `HUMAN` or `SERVICE`")]
pub struct UnknownPrincipalType {
    /// The claim's value as received.
    pub value: String,
}

/// The authenticated caller of one request, built by the caller from verified token claims.
///
/// The engine trusts every field: it never sees the token, so verifying the signature,
/// audience and expiry comes first, elsewhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    /// `sub`: the person or service the token speaks for, such as `EMP001`.
    pub sub: String,
    /// `principal_type`: person or workload.
    pub principal_type: PrincipalType,
    /// `groups`: directory groups such as `employees` or `managers`.
    pub groups: Vec<String>,
    /// `scope`, split into its scope tokens.
    pub scopes: Vec<String>,
    /// `amr`: authentication methods of the person's last login (RFC 8176 values).
    pub amr: Vec<String>,
    /// `acr`: the authentication context class of that login, if the token carries one.
    pub acr: Option<String>,
    /// `auth_time`: Unix seconds of that login; `None` counts as too old for any freshness
    /// condition.
    pub auth_time: Option<i64>,
    /// `act.sub` of the outermost `act` claim: the current actor, such as `mcp-server`, or
    /// `None` when the subject calls with its own token. RFC 8693 §4.1: only the current
    /// actor counts for access decisions; nested prior actors are informational.
    pub actor: Option<String>,
    /// Whether the issuer confirmed online (RFC 7662) that the token is still active: `None`
    /// when nobody asked, which a `token_active` condition treats as not active.
    pub token_active: Option<bool>,
}

impl Subject {
    /// A subject with the given `sub` and type and no groups, scopes, login facts or actor.
    #[must_use]
    pub fn new(sub: impl Into<String>, principal_type: PrincipalType) -> Self {
        Self {
            sub: sub.into(),
            principal_type,
            groups: Vec::new(),
            scopes: Vec::new(),
            amr: Vec::new(),
            acr: None,
            auth_time: None,
            actor: None,
            token_active: None,
        }
    }

    pub(crate) fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }

    pub(crate) fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// Whether the login used several factors: RFC 8176 `amr` value `mfa`, or an `acr` that
    /// is one of the step-up ACR values (the class the identity provider grants after MFA).
    pub(crate) fn has_mfa(&self, acr_values: &[String]) -> bool {
        let by_amr = self.amr.iter().any(|m| m == "mfa");
        let by_acr = self
            .acr
            .as_ref()
            .is_some_and(|acr| acr_values.contains(acr));
        by_amr || by_acr
    }

    /// Seconds since the last login; a login stamped in the future counts as just now.
    pub(crate) fn auth_age(&self, now: i64) -> Option<u64> {
        let auth_time = self.auth_time?;
        Some(u64::try_from(now.saturating_sub(auth_time)).unwrap_or(0))
    }
}

/// Whom a call's arguments point at, resolved by the caller before evaluation.
///
/// The gateway computes it from the arguments that name a person (such as `employee_id`) and
/// its organisation data, so the engine needs no I/O. When such an argument is absent the call
/// is about the caller, and the target is [`Target::Subject`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// The capability takes no argument naming a person; only `target: any` holds.
    None,
    /// The argument names the caller (`sub`).
    Subject,
    /// The argument names someone who reports directly to the caller.
    DirectReport,
    /// The argument names anyone else.
    Other,
}

impl Target {
    /// Every target, for callers that ask "could any target be allowed?".
    pub const ALL: [Self; 4] = [Self::None, Self::Subject, Self::DirectReport, Self::Other];
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::None => "the capability names no person",
            Self::Subject => "the target is the caller",
            Self::DirectReport => "the target is a direct report of the caller",
            Self::Other => "the target is someone other than the caller or their direct reports",
        })
    }
}

/// One capability call to decide on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// The capability name, `{system}.{action}`, such as `workday.payroll.get_compensation`.
    pub capability: &'a str,
    /// Whom the call's arguments point at.
    pub target: Target,
}

impl<'a> Request<'a> {
    /// A request for `capability` about `target`.
    #[must_use]
    pub const fn new(capability: &'a str, target: Target) -> Self {
        Self { capability, target }
    }
}
