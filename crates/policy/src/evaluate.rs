//! Evaluation: one capability lookup, then the combination of deny policies, allow policies and
//! requirements, written as a case analysis a reviewer can check line by line.
//!
//! Checking a condition borrows from the set and allocates nothing; reasons are only built on
//! the step-up and deny paths.

use crate::decision::{Decision, PolicyName, Reason};
use crate::input::{PrincipalType, Request, Subject, Target};
use crate::model::{
    Conditions, Policy, PolicySet, Principals, Requirement, Rules, TargetRule, Via,
};

impl PolicySet {
    /// Decides one request at `now` (Unix seconds).
    ///
    /// Let, for the requested capability, *denies* be the deny policies whose principals match
    /// the subject and whose conditions hold, *eligible* the allow policies whose principals
    /// match, and *requirements* the conditions every allow of the capability must also meet.
    /// A condition unmet only for want of a fresher or multi-factor login is a *login*
    /// shortfall; any other unmet condition is a *hard* one. Then, in this order:
    ///
    /// 1. some deny applies: **deny**, naming those denies;
    /// 2. some eligible allow meets its own conditions and the requirements: **allow**, naming
    ///    every such allow;
    /// 3. the subject is `HUMAN` and some eligible allow has no hard shortfall, in itself or in
    ///    the requirements: **step-up**, naming those allows;
    /// 4. otherwise: **deny** by default, with every reason found.
    ///
    /// A capability the set was not loaded with is denied.
    #[must_use]
    pub fn evaluate(&self, subject: &Subject, request: &Request<'_>, now: i64) -> Decision {
        let Some(rules) = self.index.get(request.capability) else {
            let capability = request.capability.to_owned();
            return deny_by_default(vec![Reason::UnknownCapability { capability }]);
        };
        let ctx = Context {
            subject,
            capability: request.capability,
            target: request.target,
            now,
            acr_values: &self.acr_values,
        };

        // Case 1. An applicable deny wins over any allow, whatever the allows would say: this
        // is what makes "adding a deny policy always denies" hold. Deny conditions are only
        // `acting_through` and `target` (the loader refuses others), so "met" means "holds".
        let denying: Vec<PolicyName> = self
            .policies_at(&rules.denies)
            .filter(|deny| deny.principals.matches(subject))
            .filter(|deny| deny.conditions.shortfall(&ctx).is_met())
            .map(|deny| deny.name.clone())
            .collect();
        if !denying.is_empty() {
            let reasons = denying.iter().map(|policy| Reason::ExplicitDeny {
                policy: policy.clone(),
            });
            return Decision::Deny {
                reasons: reasons.collect(),
                policies: denying,
            };
        }

        // The requirements are the same for every allow of this capability: check them once.
        let required = self.requirements_shortfall(rules, &ctx);
        let eligible = || {
            self.policies_at(&rules.allows)
                .filter(|a| a.principals.matches(subject))
        };

        // Case 2. No deny applies (case 1 returned otherwise). An allow that holds decides,
        // whatever the other allows say: adding an allow can never undo an allow.
        if required.is_met() {
            let allowing: Vec<PolicyName> = eligible()
                .filter(|allow| allow.conditions.shortfall(&ctx).is_met())
                .map(|allow| allow.name.clone())
                .collect();
            if !allowing.is_empty() {
                return Decision::Allow { policies: allowing };
            }
        }

        // Case 3. No allow holds. If a person could satisfy one by logging in again, ask for
        // that login (RFC 9470 §3) instead of refusing: every eligible allow without a hard
        // shortfall is a candidate, and a hard shortfall in the requirements rules all out.
        if subject.principal_type == PrincipalType::Human && !required.hard {
            let candidates: Vec<&Policy> = eligible()
                .filter(|allow| !allow.conditions.shortfall(&ctx).hard)
                .collect();
            if !candidates.is_empty() {
                return self.step_up(rules, &candidates, &ctx);
            }
        }

        // Case 4. Nothing allows the request and no login would change that: deny by default.
        deny_by_default(self.denial_reasons(rules, &ctx))
    }

    /// Whether `subject` could be allowed `capability` for some target, perhaps after a
    /// step-up; the MCP server lists a tool only when this holds.
    #[must_use]
    ///
    /// `token_active` conditions are taken as met here: whoever calls the capability checks
    /// the token online at that moment.
    pub fn may_allow(&self, subject: &Subject, capability: &str, now: i64) -> bool {
        let assumed_active;
        let subject = if subject.token_active.is_none() {
            assumed_active = Subject {
                token_active: Some(true),
                ..subject.clone()
            };
            &assumed_active
        } else {
            subject
        };
        Target::ALL.into_iter().any(|target| {
            let request = Request::new(capability, target);
            !self.evaluate(subject, &request, now).is_deny()
        })
    }

    /// Whether deciding `capability` needs to know if the token is still active: some allow
    /// policy or requirement of it sets `token_active`. The caller then asks the issuer
    /// (RFC 7662) and fills in [`Subject::token_active`] before [`PolicySet::evaluate`].
    #[must_use]
    pub fn requires_active_token(&self, capability: &str) -> bool {
        let Some(rules) = self.index.get(capability) else {
            return false;
        };
        let allows = self
            .policies_at(&rules.allows)
            .map(|allow| &allow.conditions);
        let requirements = self.requirements_at(rules).map(|r| &r.conditions);
        allows
            .chain(requirements)
            .any(|conditions| conditions.token_active)
    }

    /// The challenge that lets every candidate hold after one new login.
    ///
    /// `max_age` is the tightest freshness limit among the candidates and requirements, met or
    /// not: a login that only adds MFA (an identity provider may reuse its session) must still
    /// be recent enough, or the client would be challenged a second time.
    fn step_up(&self, rules: &Rules, candidates: &[&Policy], ctx: &Context<'_>) -> Decision {
        let own = candidates.iter().map(|allow| &allow.conditions);
        let all = own.chain(self.requirements_at(rules).map(|r| &r.conditions));
        let max_age = all.clone().filter_map(|c| c.max_auth_age).min();
        let needs_mfa = all.into_iter().any(|c| c.mfa);
        let acr_values = if needs_mfa {
            self.acr_values.clone()
        } else {
            Vec::new()
        };

        let mut reasons = Vec::new();
        for allow in candidates {
            push_unmet(&allow.name, &allow.conditions, ctx, &mut reasons);
        }
        for requirement in self.requirements_at(rules) {
            push_unmet(
                &requirement.name,
                &requirement.conditions,
                ctx,
                &mut reasons,
            );
        }

        Decision::StepUp {
            max_age,
            acr_values,
            policies: candidates.iter().map(|allow| allow.name.clone()).collect(),
            reasons,
        }
    }

    /// Every reason nothing allows the request: per allow policy, the principal mismatches or,
    /// if it applies to the subject, every unmet condition; then the requirements' ones.
    fn denial_reasons(&self, rules: &Rules, ctx: &Context<'_>) -> Vec<Reason> {
        if rules.allows.is_empty() {
            let capability = ctx.capability.to_owned();
            return vec![Reason::NoAllowPolicy { capability }];
        }

        let mut reasons = Vec::new();
        let mut only_login_missing = false;
        for allow in self.policies_at(&rules.allows) {
            let mismatches = reasons.len();
            push_mismatches(&allow.name, &allow.principals, ctx.subject, &mut reasons);
            if reasons.len() > mismatches {
                continue;
            }
            only_login_missing |= !allow.conditions.shortfall(ctx).hard;
            push_unmet(&allow.name, &allow.conditions, ctx, &mut reasons);
        }
        for requirement in self.requirements_at(rules) {
            push_unmet(
                &requirement.name,
                &requirement.conditions,
                ctx,
                &mut reasons,
            );
        }

        // A workload that only lacks a login reaches here instead of case 3: say why.
        let workload = ctx.subject.principal_type == PrincipalType::Service;
        if workload && only_login_missing && !self.requirements_shortfall(rules, ctx).hard {
            let principal_type = ctx.subject.principal_type;
            reasons.push(Reason::StepUpUnavailable { principal_type });
        }
        reasons
    }

    fn requirements_shortfall(&self, rules: &Rules, ctx: &Context<'_>) -> Shortfall {
        self.requirements_at(rules)
            .map(|requirement| requirement.conditions.shortfall(ctx))
            .fold(Shortfall::default(), Shortfall::and)
    }

    /// The policies at `indexes`; every index was taken from `self.policies` at load.
    fn policies_at<'s>(&'s self, indexes: &'s [usize]) -> impl Iterator<Item = &'s Policy> {
        indexes.iter().map(|&i| &self.policies[i])
    }

    /// The requirements of `rules`; every index was taken from `self.requirements` at load.
    fn requirements_at<'s>(
        &'s self,
        rules: &'s Rules,
    ) -> impl Iterator<Item = &'s Requirement> + Clone {
        rules.requirements.iter().map(|&i| &self.requirements[i])
    }
}

/// What one evaluation checks conditions against.
struct Context<'a> {
    subject: &'a Subject,
    capability: &'a str,
    target: Target,
    now: i64,
    acr_values: &'a [String],
}

/// One unmet condition, borrowed from the set.
#[derive(Clone, Copy)]
enum Unmet<'p> {
    Scope(&'p str),
    Actor(&'p [Via]),
    Target(TargetRule),
    /// `max_auth_age_seconds` with this limit.
    Stale(u64),
    Mfa,
    /// `token_active`, and the issuer did not confirm the token (or was not asked).
    Inactive,
}

impl Unmet<'_> {
    /// Whether a new login (fresher, or with MFA) would meet the condition.
    fn needs_login(self) -> bool {
        matches!(self, Self::Stale(_) | Self::Mfa)
    }
}

/// Which kinds of unmet condition a set of conditions has.
#[derive(Clone, Copy, Debug, Default)]
struct Shortfall {
    /// Something no login can fix: scope, actor or target.
    hard: bool,
    /// Freshness or MFA.
    login: bool,
}

impl Shortfall {
    fn is_met(self) -> bool {
        !self.hard && !self.login
    }

    fn and(self, other: Self) -> Self {
        Self {
            hard: self.hard || other.hard,
            login: self.login || other.login,
        }
    }
}

impl Conditions {
    /// Calls `unmet` for every condition the request does not meet, in a fixed order.
    fn each_unmet<'p>(&'p self, ctx: &Context<'_>, mut unmet: impl FnMut(Unmet<'p>)) {
        let subject = ctx.subject;
        for scope in &self.required_scopes {
            if !subject.has_scope(scope) {
                unmet(Unmet::Scope(scope));
            }
        }
        if let Some(vias) = &self.acting_through {
            // RFC 8693 §4.1: only the current (outermost) actor is considered.
            let actor = subject.actor.as_deref();
            if !vias.iter().any(|via| via.admits(actor)) {
                unmet(Unmet::Actor(vias));
            }
        }
        if let Some(rule) = self.target.filter(|rule| !rule.allows(ctx.target)) {
            unmet(Unmet::Target(rule));
        }
        if let Some(max_age) = self.max_auth_age {
            // A token without auth_time proves no recent login: it counts as stale.
            if subject.auth_age(ctx.now).is_none_or(|age| age > max_age) {
                unmet(Unmet::Stale(max_age));
            }
        }
        if self.mfa && !subject.has_mfa(ctx.acr_values) {
            unmet(Unmet::Mfa);
        }
        // Fail closed: a token nobody asked the issuer about is not known to be active.
        if self.token_active && subject.token_active != Some(true) {
            unmet(Unmet::Inactive);
        }
    }

    fn shortfall(&self, ctx: &Context<'_>) -> Shortfall {
        let mut shortfall = Shortfall::default();
        self.each_unmet(ctx, |unmet| {
            if unmet.needs_login() {
                shortfall.login = true;
            } else {
                shortfall.hard = true;
            }
        });
        shortfall
    }
}

fn deny_by_default(reasons: Vec<Reason>) -> Decision {
    Decision::Deny {
        policies: Vec::new(),
        reasons,
    }
}

fn push_unmet(
    name: &PolicyName,
    conditions: &Conditions,
    ctx: &Context<'_>,
    out: &mut Vec<Reason>,
) {
    conditions.each_unmet(ctx, |unmet| out.push(unmet_reason(name, unmet, ctx)));
}

fn unmet_reason(name: &PolicyName, unmet: Unmet<'_>, ctx: &Context<'_>) -> Reason {
    let policy = name.clone();
    let subject = ctx.subject;
    match unmet {
        Unmet::Scope(scope) => Reason::MissingScope {
            policy,
            scope: scope.to_owned(),
        },
        Unmet::Actor(vias) => Reason::ActorNotAllowed {
            policy,
            actor: subject.actor.clone(),
            allowed: vias.iter().map(|via| via.as_str().to_owned()).collect(),
        },
        Unmet::Target(rule) => Reason::TargetNotAllowed {
            policy,
            rule,
            target: ctx.target,
        },
        Unmet::Stale(max_age) => match (subject.auth_time, subject.auth_age(ctx.now)) {
            (Some(auth_time), Some(age)) => Reason::AuthenticationTooOld {
                policy,
                auth_time,
                age,
                max_age,
            },
            _ => Reason::AuthTimeMissing { policy, max_age },
        },
        Unmet::Mfa => Reason::MfaMissing { policy },
        Unmet::Inactive => Reason::TokenNotActive {
            policy,
            checked: subject.token_active.is_some(),
        },
    }
}

fn push_mismatches(
    name: &PolicyName,
    principals: &Principals,
    subject: &Subject,
    out: &mut Vec<Reason>,
) {
    if let Some(types) = principals
        .types
        .as_ref()
        .filter(|_| !principals.type_matches(subject))
    {
        out.push(Reason::PrincipalTypeNotAllowed {
            policy: name.clone(),
            allowed: types.to_vec(),
            actual: subject.principal_type,
        });
    }
    if let Some(groups) = principals
        .groups
        .as_ref()
        .filter(|_| !principals.group_matches(subject))
    {
        out.push(Reason::NotInGroup {
            policy: name.clone(),
            allowed: groups.iter().map(|group| group.to_string()).collect(),
        });
    }
    if !principals.subject_matches(subject) {
        out.push(Reason::SubjectNotListed {
            policy: name.clone(),
            sub: subject.sub.clone(),
        });
    }
}
