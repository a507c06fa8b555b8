//! Shared test fixtures: the registered Workday capabilities, a fixed clock, and subjects shaped
//! like the design note's tokens.

#![allow(
    dead_code,
    reason = "each test file uses a different part of the fixtures"
)]

use scopegate_policy::{DEFAULT_POLICIES, DEFAULT_POLICIES_ORIGIN, PolicySet, PrincipalType};
use scopegate_policy::{Decision, PolicyName, Subject};

pub(crate) const GET_EMPLOYEE: &str = "workday.hcm.get_employee";
pub(crate) const LIST_DIRECT_REPORTS: &str = "workday.hcm.list_direct_reports";
pub(crate) const UPDATE_CONTACT_INFO: &str = "workday.hcm.update_contact_info";
pub(crate) const GET_COMPENSATION: &str = "workday.payroll.get_compensation";

/// The capabilities the gateway registers by default.
pub(crate) const REGISTERED: [&str; 4] = [
    GET_EMPLOYEE,
    LIST_DIRECT_REPORTS,
    UPDATE_CONTACT_INFO,
    GET_COMPENSATION,
];

/// 2026-01-28T10:30:00Z, the design note's audit example.
pub(crate) const NOW: i64 = 1_769_596_200;

/// The step-up ACR value of the default file.
pub(crate) const TWO_FACTOR: &str = "urn:okta:loa:2fa:any";

pub(crate) fn default_policies() -> PolicySet {
    PolicySet::parse(DEFAULT_POLICIES, DEFAULT_POLICIES_ORIGIN, &REGISTERED).unwrap()
}

/// A person calling through the MCP server with its on-behalf-of token (scope `mcp:use`,
/// `act.sub` = `mcp-server`), after a password-only login 50 minutes ago.
pub(crate) fn through_mcp(sub: &str, groups: &[&str]) -> Subject {
    Subject {
        groups: strings(groups),
        scopes: strings(&["mcp:use"]),
        amr: strings(&["pwd"]),
        auth_time: Some(NOW - 3_000),
        actor: Some("mcp-server".to_owned()),
        ..Subject::new(sub, PrincipalType::Human)
    }
}

/// A person calling the API with their own one-hour token.
pub(crate) fn direct(sub: &str, groups: &[&str], scopes: &[&str]) -> Subject {
    Subject {
        groups: strings(groups),
        scopes: strings(scopes),
        amr: strings(&["pwd"]),
        auth_time: Some(NOW - 600),
        ..Subject::new(sub, PrincipalType::Human)
    }
}

/// A workload with a client-credentials token: no login, no actor.
pub(crate) fn service(sub: &str, groups: &[&str], scopes: &[&str]) -> Subject {
    Subject {
        groups: strings(groups),
        scopes: strings(scopes),
        ..Subject::new(sub, PrincipalType::Service)
    }
}

/// The same subject after a password + TOTP login `age` seconds ago.
pub(crate) fn with_mfa(subject: Subject, age: i64) -> Subject {
    Subject {
        amr: strings(&["mfa", "otp", "pwd"]),
        acr: Some(TWO_FACTOR.to_owned()),
        auth_time: Some(NOW - age),
        ..subject
    }
}

pub(crate) fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|&item| item.to_owned()).collect()
}

pub(crate) fn names(decision: &Decision) -> Vec<&str> {
    decision.policies().iter().map(PolicyName::as_str).collect()
}
