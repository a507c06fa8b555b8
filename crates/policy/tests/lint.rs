//! `scopegate policy lint`: files that load but grant everyone, leave a capability uncovered or
//! hold a requirement that changes nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use common::REGISTERED;
use scopegate_policy::{LintWarning, lint};

#[test]
fn warns_about_unrestricted_allows_uncovered_capabilities_and_idle_requirements() {
    let yaml = "\
requirements:
  - name: contact-mfa
    capabilities: [workday.hcm.update_contact_info]
    conditions: {mfa: true}
policies:
  - name: open-door
    effect: allow
    capabilities: [workday.hcm.get_employee]
  - name: pay-for-hr
    effect: allow
    capabilities: [workday.payroll.*]
    principals: {groups: [hr-admins]}
";

    let warnings = lint(yaml, "policies.yaml", &REGISTERED).unwrap();

    let messages: Vec<String> = warnings.iter().map(LintWarning::to_string).collect();
    assert_eq!(
        messages,
        [
            "allow policy `open-door` has no principals and no conditions: it admits every caller",
            "no allow policy covers `workday.hcm.list_direct_reports`: it is always denied",
            "no allow policy covers `workday.hcm.update_contact_info`: it is always denied",
            "requirement `contact-mfa` covers no capability that an allow policy covers: it \
             changes nothing",
        ]
    );
}

#[test]
fn a_deny_without_principals_or_conditions_is_not_an_unrestricted_allow() {
    let yaml = "\
policies:
  - {name: all, effect: allow, capabilities: ['*'], principals: {types: [HUMAN]}}
  - {name: freeze, effect: deny, capabilities: [workday.payroll.*]}
";

    let warnings = lint(yaml, "policies.yaml", &REGISTERED).unwrap();

    assert_eq!(warnings, []);
}

#[test]
fn lint_reports_load_errors_as_errors() {
    let yaml = "policies:\n  - {name: a, effect: allow, capabilities: []}\n";

    let error = lint(yaml, "policies.yaml", &REGISTERED).unwrap_err();

    assert_eq!(
        error.to_string(),
        "policies.yaml:2:44: `capabilities` is an empty list; it would match nothing"
    );
}
