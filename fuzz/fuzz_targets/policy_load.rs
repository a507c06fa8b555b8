//! Policy file text through `PolicySet::parse` against the default capability names, then
//! every loaded set evaluated for a fixed cast of subjects.
//!
//! Invariants:
//! * parsing, linting, evaluating and explaining never panic;
//! * a refused file names at least one problem;
//! * evaluation is deterministic;
//! * an allow names the allow policies that decided it and gives no reasons;
//! * a step-up is only ever offered to a person, names the policies a new login would
//!   satisfy, and asks for something (`max_age` or `acr_values` from the file);
//! * every named policy is one the file defines;
//! * a capability the set was not loaded with is denied;
//! * `may_allow` agrees with evaluating every target.

#![no_main]

use std::collections::BTreeSet;

use libfuzzer_sys::fuzz_target;
use scopegate_fuzz::policy::{CAPABILITIES, INSTANTS, UNREGISTERED, subjects};
use scopegate_policy::{
    Decision, PolicyName, PolicySet, PrincipalType, Reason, Request, Subject, Target, lint,
};

const ORIGIN: &str = "fuzz.yaml";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let set = match PolicySet::parse(text, ORIGIN, &CAPABILITIES) {
        Ok(set) => set,
        Err(error) => {
            assert!(
                !error.problems().is_empty(),
                "a load error without problems"
            );
            assert_eq!(error.origin(), ORIGIN);
            let _ = error.to_string();
            return;
        }
    };
    let warnings = set.lint();
    assert_eq!(lint(text, ORIGIN, &CAPABILITIES), Ok(warnings.clone()));
    for warning in &warnings {
        let _ = warning.to_string();
    }

    let names: BTreeSet<&PolicyName> = set.policy_names().collect();
    for subject in subjects() {
        for now in INSTANTS {
            check_subject(&set, &names, &subject, now);
        }
    }
});

fn check_subject(set: &PolicySet, names: &BTreeSet<&PolicyName>, subject: &Subject, now: i64) {
    for capability in CAPABILITIES {
        let mut any_target = false;
        for target in Target::ALL {
            let request = Request::new(capability, target);
            let decision = set.evaluate(subject, &request, now);
            assert_eq!(
                decision,
                set.evaluate(subject, &request, now),
                "not deterministic"
            );
            check_decision(set, names, subject, &decision);
            any_target |= !decision.is_deny();
        }
        assert_eq!(set.may_allow(subject, capability, now), any_target);
    }

    let unknown = set.evaluate(subject, &Request::new(UNREGISTERED, Target::Subject), now);
    assert!(unknown.is_deny());
    assert!(
        unknown
            .reasons()
            .iter()
            .any(|reason| matches!(reason, Reason::UnknownCapability { .. }))
    );
}

fn check_decision(
    set: &PolicySet,
    names: &BTreeSet<&PolicyName>,
    subject: &Subject,
    decision: &Decision,
) {
    let _ = decision.to_string();
    let _ = decision.explain().to_string();
    for policy in decision.policies() {
        assert!(
            names.contains(policy),
            "decision names unknown policy `{policy}`"
        );
    }

    match decision {
        Decision::Allow { policies } => {
            assert!(!policies.is_empty(), "an allow without a deciding policy");
            assert!(decision.reasons().is_empty());
        }
        Decision::StepUp {
            max_age,
            acr_values,
            policies,
            reasons,
        } => {
            assert_eq!(
                subject.principal_type,
                PrincipalType::Human,
                "step-up for a workload"
            );
            assert!(!policies.is_empty(), "a step-up that no policy would grant");
            assert!(!reasons.is_empty(), "a step-up without a reason");
            assert!(
                max_age.is_some() || !acr_values.is_empty(),
                "a step-up that asks for nothing: {decision}"
            );
            assert!(acr_values.iter().all(|acr| set.acr_values().contains(acr)));
        }
        Decision::Deny { reasons, .. } => {
            assert!(!reasons.is_empty(), "a denial without a reason");
        }
    }
}
