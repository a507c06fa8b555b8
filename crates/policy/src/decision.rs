//! The outcome of one evaluation: allow, step-up or deny, the names of the policies that
//! decided it, and typed reasons whose `Display` is fit for a 403 body or an audit record.

use std::fmt;
use std::sync::Arc;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::input::{PrincipalType, Target};
use crate::model::TargetRule;

/// The name of a policy or requirement, cheap to clone into decisions and audit records.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PolicyName(Arc<str>);

impl PolicyName {
    pub(crate) fn new(name: &str) -> Self {
        Self(name.into())
    }

    /// The name as written in the policy file.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PolicyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for PolicyName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for PolicyName {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for PolicyName {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

/// The answer to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Every listed allow policy holds, with its requirements, and no deny policy applies.
    Allow {
        /// The allow policies that hold, in file order.
        policies: Vec<PolicyName>,
    },
    /// An allow policy would hold after a fresher or multi-factor login (RFC 9470): answer 401
    /// `insufficient_user_authentication` with these parameters.
    StepUp {
        /// `max_age`: the tightest freshness limit among the policies below and their
        /// requirements, in seconds; `None` when none sets one.
        max_age: Option<u64>,
        /// `acr_values`, in order of preference; empty when no policy below needs MFA.
        acr_values: Vec<String>,
        /// The allow policies that a step-up login would satisfy, in file order.
        policies: Vec<PolicyName>,
        /// What the current login lacks.
        reasons: Vec<Reason>,
    },
    /// Nothing allows the request, or a deny policy forbids it.
    Deny {
        /// The deny policies that apply; empty when the request is denied by default.
        policies: Vec<PolicyName>,
        /// Every reason found.
        reasons: Vec<Reason>,
    },
}

impl Decision {
    /// Whether the request may proceed.
    #[must_use]
    pub fn is_allow(&self) -> bool {
        matches!(self, Self::Allow { .. })
    }

    /// Whether the caller should log in again, fresher or with MFA.
    #[must_use]
    pub fn is_step_up(&self) -> bool {
        matches!(self, Self::StepUp { .. })
    }

    /// Whether the request is refused.
    #[must_use]
    pub fn is_deny(&self) -> bool {
        matches!(self, Self::Deny { .. })
    }

    /// The deciding policies: the allows that hold, the allows a step-up would satisfy, or the
    /// deny policies that apply (empty for a default deny).
    #[must_use]
    pub fn policies(&self) -> &[PolicyName] {
        match self {
            Self::Allow { policies }
            | Self::StepUp { policies, .. }
            | Self::Deny { policies, .. } => policies,
        }
    }

    /// Why the request is not simply allowed; empty for an allow.
    #[must_use]
    pub fn reasons(&self) -> &[Reason] {
        match self {
            Self::Allow { .. } => &[],
            Self::StepUp { reasons, .. } | Self::Deny { reasons, .. } => reasons,
        }
    }

    /// A multi-line account of the decision for `scopegate policy check` and `explain`.
    #[must_use]
    pub fn explain(&self) -> Explanation<'_> {
        Explanation(self)
    }
}

/// One line: `allow by `a``, `step-up (…) for `a`: …` or `deny: …`.
impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Allow { policies } => write!(f, "allow by {}", Names(policies)),
            Self::StepUp {
                max_age,
                acr_values,
                policies,
                reasons,
            } => {
                write!(f, "step-up (")?;
                write_challenge(f, *max_age, acr_values)?;
                write!(f, ") for {}: {}", Names(policies), Joined(reasons, "; "))
            }
            Self::Deny { policies, reasons } if policies.is_empty() => {
                write!(f, "deny: {}", Joined(reasons, "; "))
            }
            Self::Deny { policies, reasons } => {
                write!(f, "deny by {}: {}", Names(policies), Joined(reasons, "; "))
            }
        }
    }
}

/// The multi-line form of a [`Decision`], from [`Decision::explain`].
#[derive(Clone, Copy, Debug)]
pub struct Explanation<'a>(&'a Decision);

impl fmt::Display for Explanation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let decision = self.0;
        match decision {
            Decision::Allow { .. } => writeln!(f, "decision: allow")?,
            Decision::StepUp {
                max_age,
                acr_values,
                ..
            } => {
                write!(f, "decision: step-up\nchallenge: ")?;
                write_challenge(f, *max_age, acr_values)?;
                writeln!(f)?;
            }
            Decision::Deny { .. } => writeln!(f, "decision: deny")?,
        }

        let policies = decision.policies();
        if policies.is_empty() {
            writeln!(f, "deciding policies: none (default deny)")?;
        } else {
            writeln!(f, "deciding policies: {}", Names(policies))?;
        }

        let reasons = decision.reasons();
        if !reasons.is_empty() {
            writeln!(f, "reasons:")?;
        }
        for reason in reasons {
            writeln!(f, "  - {reason}")?;
        }
        Ok(())
    }
}

/// Why a request was not simply allowed. `Display` gives one sentence naming the policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The capability is not one of those the set was loaded with.
    UnknownCapability {
        /// The requested capability.
        capability: String,
    },
    /// No allow policy covers the capability, so it is denied by default.
    NoAllowPolicy {
        /// The requested capability.
        capability: String,
    },
    /// A deny policy applies; a deny always wins.
    ExplicitDeny {
        /// The deny policy.
        policy: PolicyName,
    },
    /// The policy's `principals.types` excludes the caller's type.
    PrincipalTypeNotAllowed {
        /// The policy.
        policy: PolicyName,
        /// The types the policy admits.
        allowed: Vec<PrincipalType>,
        /// The caller's type.
        actual: PrincipalType,
    },
    /// The caller is in none of the policy's `principals.groups`.
    NotInGroup {
        /// The policy.
        policy: PolicyName,
        /// The groups the policy admits.
        allowed: Vec<String>,
    },
    /// The caller's `sub` is not among the policy's `principals.subjects`.
    SubjectNotListed {
        /// The policy.
        policy: PolicyName,
        /// The caller's `sub`.
        sub: String,
    },
    /// The token lacks a scope in the policy's `required_scope`.
    MissingScope {
        /// The policy or requirement.
        policy: PolicyName,
        /// The missing scope.
        scope: String,
    },
    /// The current actor (or its absence) is not in `acting_through`.
    ActorNotAllowed {
        /// The policy or requirement.
        policy: PolicyName,
        /// The current actor's `act.sub`, or `None` for a direct call.
        actor: Option<String>,
        /// The `acting_through` entries, `direct` included as written.
        allowed: Vec<String>,
    },
    /// The call's target is not the one the `target` condition admits.
    TargetNotAllowed {
        /// The policy or requirement.
        policy: PolicyName,
        /// The condition.
        rule: TargetRule,
        /// The call's target.
        target: Target,
    },
    /// The last login is older than `max_auth_age_seconds`.
    AuthenticationTooOld {
        /// The policy or requirement.
        policy: PolicyName,
        /// The token's `auth_time`, Unix seconds.
        auth_time: i64,
        /// Its age at evaluation, in seconds.
        age: u64,
        /// The limit, in seconds.
        max_age: u64,
    },
    /// `max_auth_age_seconds` applies but the token has no `auth_time`, so it counts as stale.
    AuthTimeMissing {
        /// The policy or requirement.
        policy: PolicyName,
        /// The limit, in seconds.
        max_age: u64,
    },
    /// `mfa: true` applies but the login used a single factor.
    MfaMissing {
        /// The policy or requirement.
        policy: PolicyName,
    },
    /// `token_active: true` applies but the issuer did not confirm the token is active.
    TokenNotActive {
        /// The policy or requirement.
        policy: PolicyName,
        /// Whether the issuer was asked (and said inactive) rather than not asked at all.
        checked: bool,
    },
    /// Only a fresher or multi-factor login is missing, but the caller is a workload that
    /// cannot log in interactively, so the request is denied rather than challenged.
    StepUpUnavailable {
        /// The caller's type.
        principal_type: PrincipalType,
    },
}

impl Reason {
    /// The policy or requirement the reason comes from, if it comes from one.
    #[must_use]
    pub fn policy(&self) -> Option<&PolicyName> {
        match self {
            Self::UnknownCapability { .. }
            | Self::NoAllowPolicy { .. }
            | Self::StepUpUnavailable { .. } => None,
            Self::ExplicitDeny { policy }
            | Self::PrincipalTypeNotAllowed { policy, .. }
            | Self::NotInGroup { policy, .. }
            | Self::SubjectNotListed { policy, .. }
            | Self::MissingScope { policy, .. }
            | Self::ActorNotAllowed { policy, .. }
            | Self::TargetNotAllowed { policy, .. }
            | Self::AuthenticationTooOld { policy, .. }
            | Self::AuthTimeMissing { policy, .. }
            | Self::MfaMissing { policy }
            | Self::TokenNotActive { policy, .. } => Some(policy),
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownCapability { capability } => {
                write!(f, "`{capability}` is not a registered capability")
            }
            Self::NoAllowPolicy { capability } => {
                write!(f, "no allow policy covers `{capability}`")
            }
            Self::ExplicitDeny { policy } => write!(f, "deny policy `{policy}` applies"),
            Self::PrincipalTypeNotAllowed {
                policy,
                allowed,
                actual,
            } => write!(
                f,
                "`{policy}` applies to {} principals; the caller is {actual}",
                Joined(allowed, " and ")
            ),
            Self::NotInGroup { policy, allowed } => write!(
                f,
                "`{policy}` applies to the groups {}; the caller is in none of them",
                Names(allowed)
            ),
            Self::SubjectNotListed { policy, sub } => {
                write!(
                    f,
                    "`{policy}` applies to listed subjects only, and `{sub}` is not one"
                )
            }
            Self::MissingScope { policy, scope } => {
                write!(
                    f,
                    "`{policy}` requires scope `{scope}`, which the token lacks"
                )
            }
            Self::ActorNotAllowed {
                policy,
                actor,
                allowed,
            } => {
                match actor {
                    Some(actor) => write!(f, "the call is made through `{actor}`")?,
                    None => write!(f, "the call is made directly, with no actor")?,
                }
                write!(
                    f,
                    "; `{policy}` accepts acting through {} only",
                    Names(allowed)
                )
            }
            Self::TargetNotAllowed {
                policy,
                rule,
                target,
            } => write!(f, "{target}; `{policy}` allows `target: {rule}` only"),
            Self::AuthenticationTooOld {
                policy,
                auth_time,
                age,
                max_age,
            } => write!(
                f,
                "auth_time {} is {age} s old; `{policy}` requires at most {max_age} s",
                UnixTime(*auth_time)
            ),
            Self::AuthTimeMissing { policy, max_age } => write!(
                f,
                "the token has no auth_time; `{policy}` requires a login at most {max_age} s old"
            ),
            Self::MfaMissing { policy } => write!(
                f,
                "the login did not use multi-factor authentication; `{policy}` requires it"
            ),
            Self::TokenNotActive {
                policy,
                checked: true,
            } => write!(
                f,
                "the issuer says the token is no longer active; `{policy}` requires an active token"
            ),
            Self::TokenNotActive {
                policy,
                checked: false,
            } => write!(
                f,
                "the token was not checked with its issuer; `{policy}` requires an active token"
            ),
            Self::StepUpUnavailable { principal_type } => write!(
                f,
                "a {principal_type} principal cannot log in again, so no step-up is offered"
            ),
        }
    }
}

/// `max_age=300 acr_values="a b"`, as RFC 9470 §3 names the challenge parameters.
fn write_challenge(
    f: &mut fmt::Formatter<'_>,
    max_age: Option<u64>,
    acr_values: &[String],
) -> fmt::Result {
    let mut separator = "";
    if let Some(max_age) = max_age {
        write!(f, "max_age={max_age}")?;
        separator = " ";
    }
    if !acr_values.is_empty() {
        write!(f, "{separator}acr_values=\"{}\"", Joined(acr_values, " "))?;
    }
    Ok(())
}

/// Items in backticks, separated by commas.
struct Names<'a, T>(&'a [T]);

impl<T: fmt::Display> fmt::Display for Names<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, item) in self.0.iter().enumerate() {
            let separator = if i == 0 { "" } else { ", " };
            write!(f, "{separator}`{item}`")?;
        }
        Ok(())
    }
}

/// Items separated by a fixed string.
struct Joined<'a, T>(&'a [T], &'a str);

impl<T: fmt::Display> fmt::Display for Joined<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, item) in self.0.iter().enumerate() {
            let separator = if i == 0 { "" } else { self.1 };
            write!(f, "{separator}{item}")?;
        }
        Ok(())
    }
}

/// Unix seconds as RFC 3339 UTC, or the bare number if out of range.
struct UnixTime(i64);

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let formatted = OffsetDateTime::from_unix_timestamp(self.0)
            .ok()
            .and_then(|at| at.format(&Rfc3339).ok());
        match formatted {
            Some(text) => f.write_str(&text),
            None => write!(f, "{}", self.0),
        }
    }
}
