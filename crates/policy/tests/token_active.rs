//! `token_active`: a policy that needs the issuer's online word (RFC 7662) that the token was
//! not revoked; unchecked counts as inactive, and it is never a reason for a step-up.
#![allow(
    clippy::unwrap_used,
    reason = "a fixture that does not load fails the test"
)]

mod common;

use common::{GET_EMPLOYEE, LIST_DIRECT_REPORTS, NOW, REGISTERED, through_mcp};
use scopegate_policy::{PolicySet, Request, Subject, Target};

const LIVE_PROFILE_READS: &str = "\
policies:
  - name: live-profile-reads
    effect: allow
    capabilities: [workday.hcm.get_employee]
    principals:
      groups: [employees]
    conditions:
      target: self
      token_active: true
";

fn policies() -> PolicySet {
    PolicySet::parse(LIVE_PROFILE_READS, "policies.yaml", &REGISTERED).unwrap()
}

fn decide(subject: &Subject) -> String {
    let request = Request::new(GET_EMPLOYEE, Target::Subject);
    policies().evaluate(subject, &request, NOW).to_string()
}

#[test]
fn a_token_the_issuer_confirmed_active_is_allowed() {
    let subject = Subject {
        token_active: Some(true),
        ..through_mcp("EMP001", &["employees"])
    };

    assert!(
        decide(&subject).starts_with("allow"),
        "{}",
        decide(&subject)
    );
}

#[test]
fn a_token_the_issuer_reports_inactive_is_denied_with_the_reason() {
    let subject = Subject {
        token_active: Some(false),
        ..through_mcp("EMP001", &["employees"])
    };

    let decision = decide(&subject);

    assert!(decision.starts_with("deny"), "{decision}");
    assert!(
        decision.contains(
            "the issuer says the token is no longer active; `live-profile-reads` requires an \
             active token"
        ),
        "{decision}"
    );
}

#[test]
fn a_token_nobody_checked_is_denied_rather_than_assumed_active() {
    let subject = through_mcp("EMP001", &["employees"]);

    let decision = decide(&subject);

    assert!(decision.starts_with("deny"), "{decision}");
    assert!(
        decision.contains("the token was not checked with its issuer"),
        "{decision}"
    );
}

#[test]
fn the_set_says_which_capabilities_need_the_online_check() {
    let set = policies();

    assert!(set.requires_active_token(GET_EMPLOYEE));
    assert!(!set.requires_active_token(LIST_DIRECT_REPORTS));
    assert!(!set.requires_active_token("workday.unknown.action"));
}

#[test]
fn tool_listing_assumes_the_check_will_be_made_at_call_time() {
    let subject = through_mcp("EMP001", &["employees"]);

    assert!(policies().may_allow(&subject, GET_EMPLOYEE, NOW));
}

#[test]
fn token_active_is_refused_on_a_deny_policy() {
    let text = "\
policies:
  - name: no-dead-tokens
    effect: deny
    capabilities: [workday.hcm.get_employee]
    conditions:
      token_active: false
";

    let error = PolicySet::parse(text, "policies.yaml", &REGISTERED).unwrap_err();

    assert!(
        error
            .to_string()
            .contains("condition `token_active` cannot be used on a deny policy"),
        "{error}"
    );
}
