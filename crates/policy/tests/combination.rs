//! The combination logic case by case: default deny, deny wins, allow, step-up only for login
//! shortfalls, requirements, and every condition's edge cases; each row asserts the decision's
//! exact one-line form.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use common::*;
use scopegate_policy::{PolicySet, PrincipalType, Request, Subject, Target};

/// A person calling with a password login ten minutes old, scope `mcp:use`, no actor.
fn person() -> Subject {
    Subject {
        groups: strings(&["employees"]),
        scopes: strings(&["mcp:use"]),
        amr: strings(&["pwd"]),
        auth_time: Some(NOW - 600),
        ..Subject::new("EMP001", PrincipalType::Human)
    }
}

fn parse(yaml: &str) -> PolicySet {
    PolicySet::parse(yaml, "policies.yaml", &REGISTERED)
        .unwrap_or_else(|error| panic!("test file does not load:\n{error}"))
}

fn allow(name: &str, capability: &str, rest: &str) -> String {
    format!("  - {{name: {name}, effect: allow, capabilities: [{capability}]{rest}}}\n")
}

fn deny(name: &str, capability: &str, rest: &str) -> String {
    format!("  - {{name: {name}, effect: deny, capabilities: [{capability}]{rest}}}\n")
}

fn policies(items: &[String]) -> String {
    format!("policies:\n{}", items.concat())
}

fn with_requirement(requirement: &str, items: &[String]) -> String {
    format!("requirements:\n  - {requirement}\n{}", policies(items))
}

#[test]
fn combines_policies_case_by_case() {
    let get = GET_EMPLOYEE;
    let service = Subject::new("directory-sync", PrincipalType::Service);
    let cases: Vec<(&str, String, Subject, Target, &str)> = vec![
        // Default deny.
        (
            "no allow policy covers the capability",
            policies(&[allow("a", GET_COMPENSATION, "")]),
            person(),
            Target::Subject,
            "deny: no allow policy covers `workday.hcm.get_employee`",
        ),
        // Allow.
        (
            "an allow without conditions holds",
            policies(&[allow("a", get, "")]),
            person(),
            Target::Subject,
            "allow by `a`",
        ),
        (
            "every allow that holds is named, in file order",
            policies(&[allow("b", "workday.*", ""), allow("a", get, "")]),
            person(),
            Target::Subject,
            "allow by `b`, `a`",
        ),
        (
            "an allow that holds decides even when another allow fails",
            policies(&[
                allow("a", get, ", principals: {groups: [hr-admins]}"),
                allow("b", get, ""),
            ]),
            person(),
            Target::Subject,
            "allow by `b`",
        ),
        // Deny wins.
        (
            "a deny that applies wins over an allow that holds",
            policies(&[allow("a", get, ""), deny("d", "'*'", "")]),
            person(),
            Target::Subject,
            "deny by `d`: deny policy `d` applies",
        ),
        (
            "a deny whose principals do not match is ignored",
            policies(&[
                allow("a", get, ""),
                deny("d", get, ", principals: {types: [SERVICE]}"),
            ]),
            person(),
            Target::Subject,
            "allow by `a`",
        ),
        (
            "a deny whose condition does not hold is ignored",
            policies(&[
                allow("a", get, ""),
                deny("d", get, ", conditions: {acting_through: [rogue-agent]}"),
            ]),
            person(),
            Target::Subject,
            "allow by `a`",
        ),
        (
            "a deny with a target condition applies to that target",
            policies(&[
                allow("a", get, ""),
                deny(
                    "d",
                    "workday.hcm.*",
                    ", conditions: {target: direct_reports}",
                ),
            ]),
            person(),
            Target::DirectReport,
            "deny by `d`: deny policy `d` applies",
        ),
        // Step-up.
        (
            "a stale login is challenged with max_age alone",
            policies(&[allow("a", get, ", conditions: {max_auth_age_seconds: 300}")]),
            person(),
            Target::Subject,
            "step-up (max_age=300) for `a`: auth_time 2026-01-28T10:20:00Z is 600 s old; `a` \
             requires at most 300 s",
        ),
        (
            "a single-factor login is challenged with acr_values alone",
            policies(&[allow("a", get, ", conditions: {mfa: true}")]),
            person(),
            Target::Subject,
            "step-up (acr_values=\"urn:okta:loa:2fa:any\") for `a`: the login did not use \
             multi-factor authentication; `a` requires it",
        ),
        (
            "a challenge for MFA keeps the freshness limit the new login must also meet",
            policies(&[allow(
                "a",
                get,
                ", conditions: {mfa: true, max_auth_age_seconds: 900}",
            )]),
            person(),
            Target::Subject,
            "step-up (max_age=900 acr_values=\"urn:okta:loa:2fa:any\") for `a`: the login did not \
             use multi-factor authentication; `a` requires it",
        ),
        (
            "a login shortfall next to a hard one is a denial listing both",
            policies(&[allow("a", get, ", conditions: {target: self, mfa: true}")]),
            person(),
            Target::Other,
            "deny: the target is someone other than the caller or their direct reports; `a` \
             allows `target: self` only; the login did not use multi-factor authentication; \
             `a` requires it",
        ),
        (
            "a step-up names only the allows a new login would satisfy",
            policies(&[
                allow("a", get, ", conditions: {target: self}"),
                allow("b", get, ", conditions: {mfa: true}"),
            ]),
            person(),
            Target::Other,
            "step-up (acr_values=\"urn:okta:loa:2fa:any\") for `b`: the login did not use \
             multi-factor authentication; `b` requires it",
        ),
        (
            "a step-up for several allows asks for the tightest freshness",
            policies(&[
                allow("a", get, ", conditions: {max_auth_age_seconds: 500}"),
                allow("b", get, ", conditions: {max_auth_age_seconds: 120}"),
            ]),
            person(),
            Target::Subject,
            "step-up (max_age=120) for `a`, `b`: auth_time 2026-01-28T10:20:00Z is 600 s old; \
             `a` requires at most 500 s; auth_time 2026-01-28T10:20:00Z is 600 s old; `b` \
             requires at most 120 s",
        ),
        (
            "a workload that lacks only a login is denied, not challenged",
            policies(&[allow("a", get, ", conditions: {mfa: true}")]),
            service.clone(),
            Target::Other,
            "deny: the login did not use multi-factor authentication; `a` requires it; a SERVICE \
             principal cannot log in again, so no step-up is offered",
        ),
        // Requirements.
        (
            "a requirement's hard shortfall denies even when the allow holds",
            with_requirement(
                "{name: r, capabilities: [workday.hcm.*], conditions: {required_scope: hr:read}}",
                &[allow("a", get, "")],
            ),
            person(),
            Target::Subject,
            "deny: `r` requires scope `hr:read`, which the token lacks",
        ),
        (
            "a requirement's login shortfall turns the allow into a step-up",
            with_requirement(
                "{name: r, capabilities: ['*'], conditions: {mfa: true}}",
                &[allow("a", get, "")],
            ),
            person(),
            Target::Subject,
            "step-up (acr_values=\"urn:okta:loa:2fa:any\") for `a`: the login did not use \
             multi-factor authentication; `r` requires it",
        ),
        (
            "a requirement binds only its own capabilities",
            with_requirement(
                "{name: r, capabilities: [workday.payroll.*], conditions: {mfa: true}}",
                &[allow("a", "workday.*", "")],
            ),
            person(),
            Target::Subject,
            "allow by `a`",
        ),
        (
            "a requirement does not rescue a failing allow",
            with_requirement(
                "{name: r, capabilities: [workday.*], conditions: {max_auth_age_seconds: 60}}",
                &[allow("a", get, ", principals: {subjects: [EMP002]}")],
            ),
            person(),
            Target::Subject,
            "deny: `a` applies to listed subjects only, and `EMP001` is not one; auth_time \
             2026-01-28T10:20:00Z is 600 s old; `r` requires at most 60 s",
        ),
        // Freshness and MFA.
        (
            "a token without auth_time counts as stale",
            policies(&[allow("a", get, ", conditions: {max_auth_age_seconds: 300}")]),
            Subject {
                auth_time: None,
                ..person()
            },
            Target::Subject,
            "step-up (max_age=300) for `a`: the token has no auth_time; `a` requires a login at \
             most 300 s old",
        ),
        (
            "an auth_time in the future counts as a login just now",
            policies(&[allow("a", get, ", conditions: {max_auth_age_seconds: 0}")]),
            Subject {
                auth_time: Some(NOW + 30),
                ..person()
            },
            Target::Subject,
            "allow by `a`",
        ),
        (
            "a login exactly at the limit is fresh",
            policies(&[allow("a", get, ", conditions: {max_auth_age_seconds: 600}")]),
            person(),
            Target::Subject,
            "allow by `a`",
        ),
        (
            "an acr among the step-up values counts as MFA",
            policies(&[allow("a", get, ", conditions: {mfa: true}")]),
            Subject {
                acr: Some(TWO_FACTOR.to_owned()),
                ..person()
            },
            Target::Subject,
            "allow by `a`",
        ),
        // Targets.
        (
            "`target: self` does not hold for a capability that names no person",
            policies(&[allow("a", get, ", conditions: {target: self}")]),
            person(),
            Target::None,
            "deny: the capability names no person; `a` allows `target: self` only",
        ),
        (
            "`target: any` holds for a capability that names no person",
            policies(&[allow("a", get, ", conditions: {target: any}")]),
            person(),
            Target::None,
            "allow by `a`",
        ),
        (
            "`target: direct_reports` does not cover the caller",
            policies(&[allow("a", get, ", conditions: {target: direct_reports}")]),
            person(),
            Target::Subject,
            "deny: the target is the caller; `a` allows `target: direct_reports` only",
        ),
        // Actors.
        (
            "`direct` admits a call made without an actor",
            policies(&[allow("a", get, ", conditions: {acting_through: [direct]}")]),
            person(),
            Target::Subject,
            "allow by `a`",
        ),
        (
            "`direct` does not admit a call through an actor",
            policies(&[allow("a", get, ", conditions: {acting_through: [direct]}")]),
            Subject {
                actor: Some("mcp-server".to_owned()),
                ..person()
            },
            Target::Subject,
            "deny: the call is made through `mcp-server`; `a` accepts acting through `direct` \
             only",
        ),
        // Principals and scopes.
        (
            "principal lists must all match, any entry of each",
            policies(&[allow(
                "a",
                get,
                ", principals: {types: [HUMAN], groups: [x, employees]}",
            )]),
            person(),
            Target::Subject,
            "allow by `a`",
        ),
        (
            "each principal list that fails is a reason",
            policies(&[allow(
                "a",
                get,
                ", principals: {types: [SERVICE], groups: [x, y]}",
            )]),
            person(),
            Target::Subject,
            "deny: `a` applies to SERVICE principals; the caller is HUMAN; `a` applies to the \
             groups `x`, `y`; the caller is in none of them",
        ),
        (
            "every listed scope is required",
            policies(&[allow(
                "a",
                get,
                ", conditions: {required_scope: [mcp:use, hr:read]}",
            )]),
            person(),
            Target::Subject,
            "deny: `a` requires scope `hr:read`, which the token lacks",
        ),
    ];

    for (case, yaml, subject, target, expected) in cases {
        let set = parse(&yaml);

        let decision = set.evaluate(&subject, &Request::new(GET_EMPLOYEE, target), NOW);

        assert_eq!(decision.to_string(), expected, "{case}\n{yaml}");
    }
}

#[test]
fn an_unregistered_capability_is_denied() {
    let set = parse(&policies(&[allow("a", "'*'", "")]));

    let decision = set.evaluate(
        &person(),
        &Request::new("workday.hcm.fire_employee", Target::Other),
        NOW,
    );

    assert_eq!(
        decision.to_string(),
        "deny: `workday.hcm.fire_employee` is not a registered capability"
    );
}

#[test]
fn explain_lays_out_a_step_up_with_its_challenge() {
    let set = parse(&policies(&[allow(
        "a",
        get(),
        ", conditions: {mfa: true, max_auth_age_seconds: 60}",
    )]));

    let decision = set.evaluate(&person(), &Request::new(GET_EMPLOYEE, Target::Subject), NOW);

    assert_eq!(
        decision.explain().to_string(),
        "decision: step-up\n\
         challenge: max_age=60 acr_values=\"urn:okta:loa:2fa:any\"\n\
         deciding policies: `a`\n\
         reasons:\n  \
         - auth_time 2026-01-28T10:20:00Z is 600 s old; `a` requires at most 60 s\n  \
         - the login did not use multi-factor authentication; `a` requires it\n"
    );
}

#[test]
fn explain_lays_out_a_default_deny() {
    let set = parse(&policies(&[allow(
        "a",
        get(),
        ", conditions: {required_scope: hr:read}",
    )]));

    let decision = set.evaluate(&person(), &Request::new(GET_EMPLOYEE, Target::Subject), NOW);

    assert_eq!(
        decision.explain().to_string(),
        "decision: deny\n\
         deciding policies: none (default deny)\n\
         reasons:\n  \
         - `a` requires scope `hr:read`, which the token lacks\n"
    );
}

#[test]
fn the_step_up_acr_values_come_from_the_file() {
    let yaml = format!(
        "step_up: {{acr_values: [urn:example:gold, urn:example:silver]}}\n{}",
        policies(&[allow("a", get(), ", conditions: {mfa: true}")])
    );
    let set = parse(&yaml);
    let second_choice = Subject {
        acr: Some("urn:example:silver".to_owned()),
        ..person()
    };

    let challenged = set.evaluate(&person(), &Request::new(GET_EMPLOYEE, Target::Subject), NOW);
    let allowed = set.evaluate(
        &second_choice,
        &Request::new(GET_EMPLOYEE, Target::Subject),
        NOW,
    );

    assert_eq!(set.acr_values(), ["urn:example:gold", "urn:example:silver"]);
    assert!(
        challenged
            .to_string()
            .starts_with("step-up (acr_values=\"urn:example:gold urn:example:silver\") for `a`")
    );
    assert!(allowed.is_allow());
}

#[test]
fn may_allow_looks_past_targets_and_step_ups_but_not_denials() {
    let set = parse(&policies(&[
        allow(
            "reports",
            GET_EMPLOYEE,
            ", conditions: {target: direct_reports, mfa: true}",
        ),
        allow(
            "scoped",
            GET_COMPENSATION,
            ", conditions: {required_scope: hr:read}",
        ),
    ]));

    assert!(set.may_allow(&person(), GET_EMPLOYEE, NOW));
    assert!(!set.may_allow(&person(), GET_COMPENSATION, NOW));
    assert!(!set.may_allow(&person(), UPDATE_CONTACT_INFO, NOW));
    assert!(!set.may_allow(&person(), "workday.hcm.fire_employee", NOW));
}

#[test]
fn a_policy_set_is_send_and_sync_for_sharing_across_requests() {
    fn shareable<T: Send + Sync + 'static>() {}

    shareable::<PolicySet>();
    shareable::<scopegate_policy::Decision>();
}

#[test]
fn a_policy_set_reports_what_it_holds() {
    let yaml = with_requirement(
        "{name: r, capabilities: ['*'], conditions: {mfa: true}}",
        &[allow("a", get(), ""), deny("d", GET_COMPENSATION, "")],
    );

    let set = parse(&yaml);

    let policies: Vec<&str> = set.policy_names().map(|name| name.as_str()).collect();
    let requirements: Vec<&str> = set.requirement_names().map(|name| name.as_str()).collect();
    let mut capabilities: Vec<&str> = set.capabilities().collect();
    capabilities.sort_unstable();
    assert_eq!(set.origin(), "policies.yaml");
    assert_eq!(policies, ["a", "d"]);
    assert_eq!(requirements, ["r"]);
    assert_eq!(
        capabilities,
        [
            GET_EMPLOYEE,
            LIST_DIRECT_REPORTS,
            UPDATE_CONTACT_INFO,
            GET_COMPENSATION
        ]
    );
}

fn get() -> &'static str {
    GET_EMPLOYEE
}
