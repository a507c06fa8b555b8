//! Properties of the combination logic over random policy files, subjects and requests: adding
//! an allow never makes a decision stricter, and a deny that applies always wins.
//!
//! Policies are generated as data, written out as YAML and loaded through the real parser, so
//! the properties also cover the loader and the capability index.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::fmt::Write as _;

use common::{NOW, REGISTERED};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use scopegate_policy::{Decision, PolicySet, PrincipalType, Request, Subject, Target};

const PATTERNS: [&str; 8] = [
    "workday.hcm.get_employee",
    "workday.hcm.list_direct_reports",
    "workday.hcm.update_contact_info",
    "workday.payroll.get_compensation",
    "workday.hcm.*",
    "workday.payroll.*",
    "workday.*",
    "'*'",
];
const GROUPS: [&str; 3] = ["employees", "managers", "hr-admins"];
const SUBS: [&str; 3] = ["EMP001", "EMP010", "directory-sync"];
const SCOPES: [&str; 2] = ["mcp:use", "hr:read"];
const ACTORS: [&str; 2] = ["mcp-server", "rogue-agent"];
const VIAS: [&str; 3] = ["direct", "mcp-server", "rogue-agent"];
const TARGET_RULES: [&str; 3] = ["self", "direct_reports", "any"];
const AGES: [u64; 3] = [60, 300, 900];

/// A policy or requirement as data, rendered to YAML by [`Rule::yaml`].
#[derive(Clone, Debug)]
struct Rule {
    patterns: Vec<&'static str>,
    types: Names,
    groups: Names,
    subjects: Names,
    scopes: Names,
    max_age: Option<u64>,
    mfa: bool,
    vias: Names,
    target: Option<&'static str>,
}

impl Rule {
    fn yaml(&self, name: &str, effect: Option<&str>) -> String {
        let mut out = format!("  - name: {name}\n");
        if let Some(effect) = effect {
            writeln!(out, "    effect: {effect}").unwrap();
        }
        writeln!(out, "    capabilities: [{}]", self.patterns.join(", ")).unwrap();

        let principals = [
            ("types", &self.types),
            ("groups", &self.groups),
            ("subjects", &self.subjects),
        ];
        if effect.is_some() && principals.iter().any(|(_, list)| list.is_some()) {
            out.push_str("    principals:\n");
            for (key, list) in principals {
                if let Some(list) = list {
                    writeln!(out, "      {key}: [{}]", list.join(", ")).unwrap();
                }
            }
        }

        out.push_str("    conditions: {");
        let mut conditions = Vec::new();
        if let Some(scopes) = &self.scopes {
            conditions.push(format!("required_scope: [{}]", scopes.join(", ")));
        }
        if let Some(max_age) = self.max_age {
            conditions.push(format!("max_auth_age_seconds: {max_age}"));
        }
        if self.mfa {
            conditions.push("mfa: true".to_owned());
        }
        if let Some(vias) = &self.vias {
            conditions.push(format!("acting_through: [{}]", vias.join(", ")));
        }
        if let Some(target) = self.target {
            conditions.push(format!("target: {target}"));
        }
        out.push_str(&conditions.join(", "));
        out.push_str("}\n");
        out
    }
}

fn some_of(items: &[&'static str]) -> impl Strategy<Value = Vec<&'static str>> {
    subsequence(items.to_vec(), 1..=items.len())
}

/// An optional list of names, as `principals` and some conditions hold them.
type Names = Option<Vec<&'static str>>;

fn principals() -> impl Strategy<Value = (Names, Names, Names)> {
    (
        option::of(some_of(&["HUMAN", "SERVICE"])),
        option::of(some_of(&GROUPS)),
        option::weighted(0.2, some_of(&SUBS)),
    )
}

fn allow_rule() -> impl Strategy<Value = Rule> {
    (
        some_of(&PATTERNS),
        principals(),
        option::weighted(0.3, some_of(&SCOPES)),
        option::of(select(AGES.to_vec())),
        any::<bool>(),
        option::weighted(0.4, some_of(&VIAS)),
        option::weighted(0.4, select(TARGET_RULES.to_vec())),
    )
        .prop_map(
            |(patterns, (types, groups, subjects), scopes, max_age, mfa, vias, target)| Rule {
                patterns,
                types,
                groups,
                subjects,
                scopes,
                max_age,
                mfa,
                vias,
                target,
            },
        )
}

fn deny_rule() -> impl Strategy<Value = Rule> {
    (
        some_of(&PATTERNS),
        principals(),
        option::weighted(0.3, some_of(&VIAS)),
        option::weighted(0.3, select(TARGET_RULES.to_vec())),
    )
        .prop_map(|(patterns, (types, groups, subjects), vias, target)| Rule {
            patterns,
            types,
            groups,
            subjects,
            scopes: None,
            max_age: None,
            mfa: false,
            vias,
            target,
        })
}

/// A requirement has at least one condition, as the loader insists.
fn requirement_rule() -> impl Strategy<Value = Rule> {
    allow_rule().prop_map(|rule| Rule {
        types: None,
        groups: None,
        subjects: None,
        mfa: true,
        ..rule
    })
}

/// A policy file as data: requirements, then policies with their effect.
#[derive(Clone, Debug)]
struct File {
    requirements: Vec<Rule>,
    policies: Vec<(Rule, &'static str)>,
}

impl File {
    fn yaml(&self) -> String {
        let mut out = String::from("requirements: []\n");
        if !self.requirements.is_empty() {
            out = String::from("requirements:\n");
        }
        for (i, rule) in self.requirements.iter().enumerate() {
            out.push_str(&rule.yaml(&format!("r{i}"), None));
        }
        let empty = self.policies.is_empty();
        out.push_str(if empty {
            "policies: []\n"
        } else {
            "policies:\n"
        });
        for (i, (rule, effect)) in self.policies.iter().enumerate() {
            out.push_str(&rule.yaml(&format!("p{i}"), Some(effect)));
        }
        out
    }

    fn with(&self, rule: Rule, effect: &'static str) -> Self {
        let mut file = self.clone();
        file.policies.push((rule, effect));
        file
    }

    fn load(&self) -> PolicySet {
        let yaml = self.yaml();
        PolicySet::parse(&yaml, "generated.yaml", &REGISTERED)
            .unwrap_or_else(|error| panic!("generated file does not load:\n{error}\n{yaml}"))
    }
}

fn file() -> impl Strategy<Value = File> {
    let policy = prop_oneof![
        3 => allow_rule().prop_map(|rule| (rule, "allow")),
        1 => deny_rule().prop_map(|rule| (rule, "deny")),
    ];
    (vec(requirement_rule(), 0..3), vec(policy, 0..8)).prop_map(|(requirements, policies)| File {
        requirements,
        policies,
    })
}

fn subject() -> impl Strategy<Value = Subject> {
    (
        select(SUBS.to_vec()),
        prop_oneof![Just(PrincipalType::Human), Just(PrincipalType::Service)],
        subsequence(GROUPS.to_vec(), 0..=GROUPS.len()),
        subsequence(SCOPES.to_vec(), 0..=SCOPES.len()),
        any::<bool>(),
        option::of(0..2_000_i64),
        option::of(select(ACTORS.to_vec())),
    )
        .prop_map(
            |(sub, principal_type, groups, scopes, mfa, age, actor)| Subject {
                groups: groups.iter().map(|&g| g.to_owned()).collect(),
                scopes: scopes.iter().map(|&s| s.to_owned()).collect(),
                amr: if mfa {
                    vec!["mfa".to_owned()]
                } else {
                    vec!["pwd".to_owned()]
                },
                auth_time: age.map(|age| NOW - age),
                actor: actor.map(str::to_owned),
                ..Subject::new(sub, principal_type)
            },
        )
}

fn request() -> impl Strategy<Value = (&'static str, Target)> {
    (select(REGISTERED.to_vec()), select(&Target::ALL[..]))
}

/// Deny < step-up < allow.
fn leniency(decision: &Decision) -> u8 {
    match decision {
        Decision::Deny { .. } => 0,
        Decision::StepUp { .. } => 1,
        Decision::Allow { .. } => 2,
    }
}

/// A deny policy that certainly applies to `subject` asking for `capability` about `target`:
/// a pattern that covers the capability, and any principals or conditions it has hold.
fn applying_deny(
    subject: &Subject,
    capability: &'static str,
    target: Target,
    pattern: usize,
    narrow: bool,
) -> Rule {
    let covering = ["'*'", "workday.*", capability];
    let is_human = subject.principal_type == PrincipalType::Human;
    let sub: &'static str = SUBS.into_iter().find(|&s| s == subject.sub).unwrap();
    let via = match subject.actor.as_deref() {
        Some(actor) => ACTORS.into_iter().find(|&a| a == actor).unwrap(),
        None => "direct",
    };
    let target_rule = match target {
        Target::Subject => "self",
        Target::DirectReport => "direct_reports",
        Target::None | Target::Other => "any",
    };
    Rule {
        patterns: vec![covering[pattern % covering.len()]],
        types: narrow.then(|| vec![if is_human { "HUMAN" } else { "SERVICE" }]),
        groups: None,
        subjects: narrow.then(|| vec![sub]),
        scopes: None,
        max_age: None,
        mfa: false,
        vias: narrow.then(|| vec![via]),
        target: narrow.then_some(target_rule),
    }
}

proptest! {
    // Integration tests have no lib.rs for proptest to file regressions beside; a failure
    // prints the generated file instead, which is what a regression test would be built from.
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn adding_an_allow_never_makes_a_decision_stricter(
        base in file(),
        extra in allow_rule(),
        subject in subject(),
        (capability, target) in request(),
    ) {
        let request = Request::new(capability, target);

        let before = base.load().evaluate(&subject, &request, NOW);
        let after = base.with(extra, "allow").load().evaluate(&subject, &request, NOW);

        prop_assert!(leniency(&after) >= leniency(&before), "before: {before}\nafter: {after}");
        if before.is_allow() {
            prop_assert!(after.is_allow(), "an allow became {after}");
        }
    }

    #[test]
    fn a_deny_that_applies_always_wins(
        base in file(),
        subject in subject(),
        (capability, target) in request(),
        pattern in 0..3_usize,
        narrow in any::<bool>(),
    ) {
        let deny = applying_deny(&subject, capability, target, pattern, narrow);
        let name = format!("p{}", base.policies.len());
        let request = Request::new(capability, target);

        let decision = base.with(deny, "deny").load().evaluate(&subject, &request, NOW);

        prop_assert!(decision.is_deny(), "expected a denial, got {decision}");
        prop_assert!(decision.policies().iter().any(|p| p.as_str() == name), "{decision}");
    }

    #[test]
    fn only_people_are_offered_a_step_up(
        base in file(),
        subject in subject(),
        (capability, target) in request(),
    ) {
        let decision = base.load().evaluate(&subject, &Request::new(capability, target), NOW);

        if decision.is_step_up() {
            prop_assert_eq!(subject.principal_type, PrincipalType::Human);
        }
    }
}
