//! Every way a policy file is refused, with the exact message: file, line, column, and what is
//! wrong.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use common::REGISTERED;
use scopegate_policy::{PatternError, PolicySet, Position, ProblemKind};

fn load_error(yaml: &str) -> String {
    PolicySet::parse(yaml, "policies.yaml", &REGISTERED)
        .unwrap_err()
        .to_string()
}

#[test]
fn rejects_an_unknown_top_level_key() {
    let yaml = "policies: []\ndefaults: {}\n";

    assert_eq!(
        load_error(yaml),
        "policies.yaml:2:1: unknown key `defaults`; expected one of `step_up`, `requirements`, \
         `policies`"
    );
}

#[test]
fn rejects_an_unknown_policy_key() {
    let yaml = "\
policies:
  - name: read-own
    effect: allow
    capability: [workday.hcm.get_employee]
";

    assert_eq!(
        load_error(yaml),
        "policies.yaml:4:5: unknown key `capability`; expected one of `name`, `effect`, \
         `capabilities`, `principals`, `conditions`"
    );
}

#[test]
fn rejects_an_unknown_principals_key() {
    let yaml = "\
policies:
  - name: read-own
    effect: allow
    capabilities: [workday.hcm.get_employee]
    principals:
      roles: [admin]
";

    assert_eq!(
        load_error(yaml),
        "policies.yaml:6:7: unknown key `roles`; expected one of `types`, `groups`, `subjects`"
    );
}

#[test]
fn rejects_an_unknown_condition() {
    let yaml = "\
policies:
  - name: read-own
    effect: allow
    capabilities: [workday.hcm.get_employee]
    conditions:
      max_token_age: 300
";

    assert_eq!(
        load_error(yaml),
        "policies.yaml:6:7: unknown condition `max_token_age`; expected one of `required_scope`, \
         `max_auth_age_seconds`, `mfa`, `acting_through`, `target`, `token_active`"
    );
}

#[test]
fn rejects_an_unknown_condition_in_a_requirement() {
    let yaml = "\
requirements:
  - name: fresh
    capabilities: [workday.*]
    conditions: {fresh: true}
policies: []
";

    assert_eq!(
        load_error(yaml),
        "policies.yaml:4:18: unknown condition `fresh`; expected one of `required_scope`, \
         `max_auth_age_seconds`, `mfa`, `acting_through`, `target`, `token_active`"
    );
}

#[test]
fn rejects_unknown_values_of_fixed_sets() {
    let effect = "policies:\n  - {name: a, effect: permit, capabilities: [workday.*]}\n";
    let target = "\
policies:
  - name: a
    effect: allow
    capabilities: [workday.*]
    conditions: {target: team}
";
    let principal_type = "\
policies:
  - name: a
    effect: allow
    capabilities: [workday.*]
    principals: {types: [HUMAN, ROBOT]}
";

    assert_eq!(
        load_error(effect),
        "policies.yaml:2:23: unknown value `permit`; expected one of `allow`, `deny`"
    );
    assert_eq!(
        load_error(target),
        "policies.yaml:5:26: unknown value `team`; expected one of `self`, `direct_reports`, \
         `any`"
    );
    assert_eq!(
        load_error(principal_type),
        "policies.yaml:5:33: unknown value `ROBOT`; expected one of `HUMAN`, `SERVICE`"
    );
}

#[test]
fn rejects_a_repeated_key() {
    let yaml = "\
policies:
  - name: a
    effect: allow
    effect: deny
    capabilities: [workday.*]
";

    assert_eq!(
        load_error(yaml),
        "policies.yaml:4:5: duplicate key `effect`"
    );
}

#[test]
fn rejects_values_of_the_wrong_type() {
    let yes = "\
policies:
  - name: a
    effect: allow
    capabilities: [workday.*]
    conditions: {mfa: yes}
";
    let negative = "\
policies:
  - name: a
    effect: allow
    capabilities: [workday.*]
    conditions: {max_auth_age_seconds: -5}
";
    let scalar_list = "policies:\n  - {name: a, effect: allow, capabilities: workday.*}\n";

    assert_eq!(
        load_error(yes),
        "policies.yaml:5:23: invalid boolean (true or false expected)"
    );
    assert_eq!(load_error(negative), "policies.yaml:5:40: invalid u64");
    assert_eq!(
        load_error(scalar_list),
        "policies.yaml:2:44: expected sequence start"
    );
}

#[test]
fn rejects_text_that_is_not_yaml() {
    let yaml = "policies: [\n";

    assert_eq!(load_error(yaml), "policies.yaml:1:11: unclosed bracket '['");
}

#[test]
fn rejects_a_file_without_policies() {
    assert_eq!(load_error(""), "policies.yaml: this file has no `policies`");
    assert_eq!(
        load_error("step_up: {acr_values: [x]}\n"),
        "policies.yaml: this file has no `policies`"
    );
}

#[test]
fn rejects_policies_missing_a_required_key_at_the_policy() {
    let yaml = "\
policies:
  - effect: allow
    capabilities: [workday.*]
  - name: b
    capabilities: [workday.*]
  - name: c
    effect: deny
";

    assert_eq!(
        load_error(yaml),
        "policies.yaml:2:5: this policy has no `name`\n\
         policies.yaml:4:5: this policy has no `effect`\n\
         policies.yaml:6:5: this policy has no `capabilities`"
    );
}

#[test]
fn rejects_an_empty_capability_list() {
    let yaml = "policies:\n  - name: a\n    effect: allow\n    capabilities: []\n";

    assert_eq!(
        load_error(yaml),
        "policies.yaml:4:19: `capabilities` is an empty list; it would match nothing"
    );
}

#[test]
fn rejects_empty_principal_lists_and_entries() {
    let yaml = "\
policies:
  - name: a
    effect: allow
    capabilities: [workday.*]
    principals:
      types: []
      groups: [managers, '']
      subjects: []
";

    assert_eq!(
        load_error(yaml),
        "policies.yaml:6:14: `types` is an empty list; it would match nothing\n\
         policies.yaml:7:26: `groups` has an empty entry\n\
         policies.yaml:8:17: `subjects` is an empty list; it would match nothing"
    );
}

#[test]
fn rejects_capability_patterns_that_are_malformed_or_match_nothing_registered() {
    let yaml = "\
policies:
  - name: a
    effect: allow
    capabilities:
      - workday.pay*
      - workday..get
      - workday.payroll.get_salary
      - sap.*
";

    assert_eq!(
        load_error(yaml),
        "policies.yaml:5:9: invalid capability pattern `workday.pay*`: `*` may only stand as the \
         whole last segment, as in `workday.*`\n\
         policies.yaml:6:9: invalid capability pattern `workday..get`: it has an empty segment \
         between dots\n\
         policies.yaml:7:9: capability pattern `workday.payroll.get_salary` matches no \
         registered capability\n\
         policies.yaml:8:9: capability pattern `sap.*` matches no registered capability"
    );
}

#[test]
fn accepts_a_lone_star_only_when_something_is_registered() {
    let yaml = "policies:\n  - {name: a, effect: deny, capabilities: ['*']}\n";
    let nothing: [&str; 0] = [];

    let with_capabilities = PolicySet::parse(yaml, "policies.yaml", &REGISTERED);
    let without = PolicySet::parse(yaml, "policies.yaml", &nothing).unwrap_err();

    assert!(with_capabilities.is_ok());
    assert_eq!(
        without.to_string(),
        "policies.yaml:2:44: capability pattern `*` matches no registered capability"
    );
}

#[test]
fn rejects_duplicate_names_across_policies_and_requirements() {
    let yaml = "\
requirements:
  - name: payroll
    capabilities: [workday.payroll.*]
    conditions: {mfa: true}
policies:
  - name: self-service
    effect: allow
    capabilities: [workday.*]
  - name: payroll
    effect: allow
    capabilities: [workday.payroll.*]
  - name: self-service
    effect: deny
    capabilities: [workday.*]
";

    assert_eq!(
        load_error(yaml),
        "policies.yaml:9:11: duplicate name `payroll`; it is first used on line 2\n\
         policies.yaml:12:11: duplicate name `self-service`; it is first used on line 6"
    );
}

#[test]
fn rejects_names_with_spaces_or_other_punctuation() {
    let yaml = "policies:\n  - {name: 'self service!', effect: allow, capabilities: [workday.*]}\n";

    assert_eq!(
        load_error(yaml),
        "policies.yaml:2:12: invalid name `self service!`; names use letters, digits, `-`, `_` \
         and `.`"
    );
}

#[test]
fn rejects_scopes_that_are_not_scope_tokens() {
    let yaml = "\
policies:
  - name: a
    effect: allow
    capabilities: [workday.*]
    conditions:
      required_scope: 'hr:read payroll:read'
";

    assert_eq!(
        load_error(yaml),
        "policies.yaml:6:23: invalid scope `hr:read payroll:read`; a scope is one or more \
         printable characters without spaces"
    );
}

#[test]
fn rejects_a_required_scope_that_is_neither_a_string_nor_a_list() {
    let yaml = "\
policies:
  - name: a
    effect: allow
    capabilities: [workday.*]
    conditions:
      required_scope: {hr: read}
";

    assert_eq!(
        load_error(yaml),
        "policies.yaml:6:23: invalid type: map, expected a scope or a list of scopes"
    );
}

#[test]
fn rejects_login_and_scope_conditions_on_a_deny_policy() {
    let yaml = "\
policies:
  - name: no-stale-payroll
    effect: deny
    capabilities: [workday.payroll.*]
    conditions:
      required_scope: mcp:use
      max_auth_age_seconds: 300
      mfa: false
      acting_through: [mcp-server]
";

    assert_eq!(
        load_error(yaml),
        "policies.yaml:6:23: condition `required_scope` cannot be used on a deny policy; deny \
         conditions are `acting_through` and `target`\n\
         policies.yaml:7:29: condition `max_auth_age_seconds` cannot be used on a deny policy; \
         deny conditions are `acting_through` and `target`\n\
         policies.yaml:8:12: condition `mfa` cannot be used on a deny policy; deny conditions \
         are `acting_through` and `target`"
    );
}

#[test]
fn rejects_a_requirement_without_conditions() {
    let yaml = "\
requirements:
  - name: nothing
    capabilities: [workday.*]
    conditions: {mfa: false}
policies: []
";

    assert_eq!(
        load_error(yaml),
        "policies.yaml:2:5: this requirement has no conditions, so it would change nothing"
    );
}

#[test]
fn rejects_an_empty_step_up_acr_list() {
    let yaml = "step_up: {acr_values: []}\npolicies: []\n";

    assert_eq!(
        load_error(yaml),
        "policies.yaml:1:23: `acr_values` is an empty list; it would match nothing"
    );
}

#[test]
fn reports_every_problem_of_meaning_in_one_pass() {
    let yaml = "\
policies:
  - name: a
    effect: allow
    capabilities: [workday.nothing]
  - name: a
    effect: allow
    capabilities: []
";

    let error = PolicySet::parse(yaml, "policies.yaml", &REGISTERED).unwrap_err();

    assert_eq!(error.origin(), "policies.yaml");
    let problems: Vec<(Option<Position>, &ProblemKind)> = error
        .problems()
        .iter()
        .map(|p| (p.position, &p.kind))
        .collect();
    assert_eq!(
        problems,
        [
            (
                Some(Position {
                    line: 4,
                    column: 20
                }),
                &ProblemKind::UnmatchedPattern {
                    pattern: "workday.nothing".to_owned()
                }
            ),
            (
                Some(Position {
                    line: 5,
                    column: 11
                }),
                &ProblemKind::DuplicateName {
                    name: "a".to_owned(),
                    first_line: 2
                }
            ),
            (
                Some(Position {
                    line: 7,
                    column: 19
                }),
                &ProblemKind::EmptyList {
                    key: "capabilities"
                }
            ),
        ]
    );
}

#[test]
fn pattern_errors_are_typed() {
    let yaml = "policies:\n  - {name: a, effect: allow, capabilities: ['']}\n";

    let error = PolicySet::parse(yaml, "policies.yaml", &REGISTERED).unwrap_err();

    assert_eq!(
        error.problems()[0].kind,
        ProblemKind::InvalidPattern {
            pattern: String::new(),
            error: PatternError::Empty
        }
    );
}
