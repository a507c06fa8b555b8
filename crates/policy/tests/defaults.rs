//! The embedded default policy file against the design note's scenarios: who may read what,
//! through the MCP server or directly, and when a step-up is asked for instead.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use common::*;
use scopegate_policy::{
    Decision, LintWarning, PolicySet, PrincipalType, Reason, Request, Subject, Target, TargetRule,
};

/// A decision reduced to what the table compares.
#[derive(Debug, PartialEq, Eq)]
enum Outcome<'a> {
    Allow(Vec<&'a str>),
    StepUp {
        max_age: Option<u64>,
        acr_values: Vec<&'a str>,
        policies: Vec<&'a str>,
    },
    Deny(Vec<&'a str>),
}

fn outcome(decision: &Decision) -> Outcome<'_> {
    match decision {
        Decision::Allow { .. } => Outcome::Allow(names(decision)),
        Decision::StepUp {
            max_age,
            acr_values,
            ..
        } => Outcome::StepUp {
            max_age: *max_age,
            acr_values: acr_values.iter().map(String::as_str).collect(),
            policies: names(decision),
        },
        Decision::Deny { .. } => Outcome::Deny(names(decision)),
    }
}

fn step_up<'a>(max_age: u64, policies: &[&'a str]) -> Outcome<'a> {
    Outcome::StepUp {
        max_age: Some(max_age),
        acr_values: vec![TWO_FACTOR],
        policies: policies.to_vec(),
    }
}

fn employee() -> Subject {
    through_mcp("EMP001", &["employees"])
}

fn manager() -> Subject {
    through_mcp("EMP010", &["employees", "managers"])
}

fn hr_admin() -> Subject {
    through_mcp("EMP020", &["employees", "hr-admins"])
}

#[test]
fn default_policies_decide_the_design_note_scenarios() {
    use Target::{DirectReport, Other, Subject as Caller};

    let set = default_policies();
    let own_token = direct(
        "EMP001",
        &["employees"],
        &["openid", "profile", "mcp:use", "hr:read"],
    );
    let hr_console = direct(
        "EMP020",
        &["employees", "hr-admins"],
        &["openid", "hr:read"],
    );
    let sync = service("directory-sync", &[], &["hr:read"]);
    let hr_service = service("hr-integration", &["hr-admins"], &["hr:read"]);
    let rogue_agent = Subject {
        actor: Some("rogue-agent".to_owned()),
        ..employee()
    };
    let missing_scope = Subject {
        scopes: Vec::new(),
        ..employee()
    };
    let no_auth_time = Subject {
        auth_time: None,
        ..with_mfa(employee(), 0)
    };
    let cases = [
        // Employees, through the MCP server.
        (
            "own profile, login of any age",
            employee(),
            GET_EMPLOYEE,
            Caller,
            Outcome::Allow(vec!["employee-self-service"]),
        ),
        (
            "own pay, password login 50 min old",
            employee(),
            GET_COMPENSATION,
            Caller,
            step_up(300, &["employee-self-service"]),
        ),
        (
            "own pay, MFA 100 s ago",
            with_mfa(employee(), 100),
            GET_COMPENSATION,
            Caller,
            Outcome::Allow(vec!["employee-self-service"]),
        ),
        (
            "own pay, MFA 412 s ago",
            with_mfa(employee(), 412),
            GET_COMPENSATION,
            Caller,
            step_up(300, &["employee-self-service"]),
        ),
        (
            "own pay, MFA but no auth_time",
            no_auth_time,
            GET_COMPENSATION,
            Caller,
            step_up(300, &["employee-self-service"]),
        ),
        (
            "someone else's profile",
            employee(),
            GET_EMPLOYEE,
            Other,
            Outcome::Deny(vec![]),
        ),
        (
            "someone else's pay, even with MFA",
            with_mfa(employee(), 10),
            GET_COMPENSATION,
            Other,
            Outcome::Deny(vec![]),
        ),
        (
            "list direct reports without being a manager",
            employee(),
            LIST_DIRECT_REPORTS,
            Caller,
            Outcome::Deny(vec![]),
        ),
        (
            "own contact details, stale login",
            employee(),
            UPDATE_CONTACT_INFO,
            Caller,
            step_up(900, &["employee-contact-update"]),
        ),
        (
            "own contact details, MFA 600 s ago",
            with_mfa(employee(), 600),
            UPDATE_CONTACT_INFO,
            Caller,
            Outcome::Allow(vec!["employee-contact-update"]),
        ),
        (
            "someone else's contact details",
            with_mfa(employee(), 10),
            UPDATE_CONTACT_INFO,
            Other,
            Outcome::Deny(vec![]),
        ),
        (
            "own profile through another agent",
            rogue_agent,
            GET_EMPLOYEE,
            Caller,
            Outcome::Deny(vec![]),
        ),
        (
            "own profile with a token lacking mcp:use",
            missing_scope,
            GET_EMPLOYEE,
            Caller,
            Outcome::Deny(vec![]),
        ),
        // Employees with their own token, not through the MCP server.
        (
            "own profile directly",
            own_token,
            GET_EMPLOYEE,
            Caller,
            Outcome::Deny(vec![]),
        ),
        // Managers.
        (
            "a direct report's profile",
            manager(),
            GET_EMPLOYEE,
            DirectReport,
            Outcome::Allow(vec!["manager-team-view"]),
        ),
        (
            "a direct report's pay, stale login",
            manager(),
            GET_COMPENSATION,
            DirectReport,
            step_up(300, &["manager-team-view"]),
        ),
        (
            "a direct report's pay, MFA 60 s ago",
            with_mfa(manager(), 60),
            GET_COMPENSATION,
            DirectReport,
            Outcome::Allow(vec!["manager-team-view"]),
        ),
        (
            "someone else's profile as a manager",
            manager(),
            GET_EMPLOYEE,
            Other,
            Outcome::Deny(vec![]),
        ),
        (
            "own list of direct reports",
            manager(),
            LIST_DIRECT_REPORTS,
            Caller,
            Outcome::Allow(vec!["manager-list-reports"]),
        ),
        (
            "own profile as a manager",
            manager(),
            GET_EMPLOYEE,
            Caller,
            Outcome::Allow(vec!["employee-self-service"]),
        ),
        // HR administrators.
        (
            "anyone's profile as HR",
            hr_admin(),
            GET_EMPLOYEE,
            Other,
            Outcome::Allow(vec!["hr-admin-read"]),
        ),
        (
            "anyone's pay as HR, stale login",
            hr_admin(),
            GET_COMPENSATION,
            Other,
            step_up(300, &["hr-admin-read"]),
        ),
        (
            "anyone's pay as HR, MFA 200 s ago",
            with_mfa(hr_admin(), 200),
            GET_COMPENSATION,
            Other,
            Outcome::Allow(vec!["hr-admin-read"]),
        ),
        (
            "own profile as HR",
            hr_admin(),
            GET_EMPLOYEE,
            Caller,
            Outcome::Allow(vec!["employee-self-service", "hr-admin-read"]),
        ),
        (
            "anyone's profile from the HR console",
            hr_console,
            GET_EMPLOYEE,
            Other,
            Outcome::Allow(vec!["hr-console-read"]),
        ),
        // Service principals.
        (
            "a profile for directory sync",
            sync.clone(),
            GET_EMPLOYEE,
            Other,
            Outcome::Allow(vec!["directory-sync-read"]),
        ),
        (
            "pay for directory sync",
            sync,
            GET_COMPENSATION,
            Other,
            Outcome::Deny(vec!["services-never-read-payroll"]),
        ),
        (
            "pay for a service that sits in hr-admins",
            hr_service.clone(),
            GET_COMPENSATION,
            Other,
            Outcome::Deny(vec!["services-never-read-payroll"]),
        ),
        (
            "a profile for a service that sits in hr-admins",
            hr_service,
            GET_EMPLOYEE,
            Other,
            Outcome::Allow(vec!["hr-console-read"]),
        ),
    ];

    for (scenario, subject, capability, target, expected) in cases {
        let decision = set.evaluate(&subject, &Request::new(capability, target), NOW);

        assert_eq!(outcome(&decision), expected, "{scenario}: {decision}");
    }
}

#[test]
fn own_pay_after_a_password_login_asks_for_a_fresh_mfa_login() {
    let set = default_policies();
    let request = Request::new(GET_COMPENSATION, Target::Subject);

    let decision = set.evaluate(&employee(), &request, NOW);

    assert_eq!(
        decision.to_string(),
        "step-up (max_age=300 acr_values=\"urn:okta:loa:2fa:any\") for `employee-self-service`: \
         auth_time 2026-01-28T09:40:00Z is 3000 s old; `payroll-fresh-mfa` requires at most \
         300 s; the login did not use multi-factor authentication; `payroll-fresh-mfa` \
         requires it"
    );
}

#[test]
fn reading_someone_elses_profile_is_denied_with_every_reason() {
    let set = default_policies();
    let request = Request::new(GET_EMPLOYEE, Target::Other);

    let decision = set.evaluate(&employee(), &request, NOW);

    let Decision::Deny { policies, reasons } = &decision else {
        panic!("expected a denial, got {decision}");
    };
    assert!(policies.is_empty());
    let reasons: Vec<String> = reasons.iter().map(Reason::to_string).collect();
    assert_eq!(
        reasons,
        [
            "the target is someone other than the caller or their direct reports; \
             `employee-self-service` allows `target: self` only",
            "`manager-team-view` applies to the groups `managers`; the caller is in none of them",
            "`hr-admin-read` applies to the groups `hr-admins`; the caller is in none of them",
            "`hr-console-read` applies to the groups `hr-admins`; the caller is in none of them",
            "`directory-sync-read` applies to SERVICE principals; the caller is HUMAN",
            "`directory-sync-read` applies to listed subjects only, and `EMP001` is not one",
        ]
    );
}

#[test]
fn a_direct_call_with_the_users_own_token_is_told_to_go_through_the_mcp_server() {
    let set = default_policies();
    let subject = direct("EMP001", &["employees"], &["openid", "hr:read"]);
    let request = Request::new(GET_EMPLOYEE, Target::Subject);

    let decision = set.evaluate(&subject, &request, NOW);

    let reasons: Vec<String> = decision.reasons().iter().map(Reason::to_string).collect();
    assert_eq!(
        reasons[..2],
        [
            "`employee-self-service` requires scope `mcp:use`, which the token lacks",
            "the call is made directly, with no actor; `employee-self-service` accepts acting \
             through `mcp-server` only",
        ]
    );
}

#[test]
fn a_service_reading_pay_is_denied_by_the_deny_policy_alone() {
    let set = default_policies();
    let subject = service("hr-integration", &["hr-admins"], &["hr:read"]);
    let request = Request::new(GET_COMPENSATION, Target::Other);

    let decision = set.evaluate(&subject, &request, NOW);

    assert_eq!(
        decision.to_string(),
        "deny by `services-never-read-payroll`: deny policy \
        `services-never-read-payroll` applies"
    );
}

#[test]
fn a_managers_view_of_a_report_names_the_target_rule_it_failed_for_others() {
    let set = default_policies();
    let request = Request::new(GET_EMPLOYEE, Target::Other);

    let decision = set.evaluate(&manager(), &request, NOW);

    let target_reasons: Vec<&Reason> = decision
        .reasons()
        .iter()
        .filter(|reason| matches!(reason, Reason::TargetNotAllowed { .. }))
        .collect();
    assert_eq!(target_reasons.len(), 2);
    assert!(matches!(
        target_reasons[1],
        Reason::TargetNotAllowed {
            rule: TargetRule::DirectReports,
            target: Target::Other,
            ..
        }
    ));
}

#[test]
fn explain_lays_out_an_allow_on_separate_lines() {
    let set = default_policies();
    let request = Request::new(GET_EMPLOYEE, Target::Subject);

    let decision = set.evaluate(&employee(), &request, NOW);

    assert_eq!(
        decision.explain().to_string(),
        "decision: allow\ndeciding policies: `employee-self-service`\n"
    );
}

#[test]
fn the_mcp_tool_list_shows_pay_to_employees_but_not_to_services() {
    let set = default_policies();
    let sync = service("directory-sync", &[], &["hr:read"]);

    let employee_sees_pay = set.may_allow(&employee(), GET_COMPENSATION, NOW);
    let employee_sees_reports = set.may_allow(&employee(), LIST_DIRECT_REPORTS, NOW);
    let service_sees_pay = set.may_allow(&sync, GET_COMPENSATION, NOW);
    let service_sees_profiles = set.may_allow(&sync, GET_EMPLOYEE, NOW);

    assert!(employee_sees_pay);
    assert!(!employee_sees_reports);
    assert!(!service_sees_pay);
    assert!(service_sees_profiles);
}

#[test]
fn default_policies_lint_clean() {
    let warnings: Vec<LintWarning> = scopegate_policy::lint(
        scopegate_policy::DEFAULT_POLICIES,
        "policies.yaml",
        &REGISTERED,
    )
    .unwrap();

    assert_eq!(warnings, []);
}

#[test]
fn default_policies_refuse_to_load_without_a_capability_they_name() {
    let registered = [GET_EMPLOYEE, LIST_DIRECT_REPORTS, GET_COMPENSATION];

    let error = PolicySet::parse(
        scopegate_policy::DEFAULT_POLICIES,
        "policies.yaml",
        &registered,
    )
    .unwrap_err();

    assert_eq!(
        error.to_string(),
        "policies.yaml:29:20: capability pattern `workday.hcm.update_contact_info` matches no \
         registered capability\n\
         policies.yaml:60:20: capability pattern `workday.hcm.update_contact_info` matches no \
         registered capability"
    );
}

#[test]
fn principal_types_read_from_claims_match_the_file_spelling() {
    assert_eq!("HUMAN".parse::<PrincipalType>(), Ok(PrincipalType::Human));
    assert_eq!(
        "SERVICE".parse::<PrincipalType>(),
        Ok(PrincipalType::Service)
    );
    assert_eq!(
        "ROBOT".parse::<PrincipalType>().unwrap_err().to_string(),
        "unknown principal type `ROBOT`; expected `HUMAN` or `SERVICE`"
    );
}
