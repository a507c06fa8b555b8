//! Evaluation cost with the default policies, and with generated sets of 10, 100 and 1,000
//! policies over 1,000 registered capabilities. The generated timings stay flat: each
//! capability's policies are resolved at load, so a request touches only the policies that
//! cover its capability, however many the file holds.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "benchmark"
)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use scopegate_policy::{
    DEFAULT_POLICIES, DEFAULT_POLICIES_ORIGIN, PolicySet, PrincipalType, Request, Subject, Target,
};

/// 2026-01-28T10:30:00Z.
const NOW: i64 = 1_769_596_200;

const SYSTEMS: usize = 100;
const ACTIONS: usize = 10;

fn default_policies(c: &mut Criterion) {
    let registered = [
        "workday.hcm.get_employee",
        "workday.hcm.list_direct_reports",
        "workday.hcm.update_contact_info",
        "workday.payroll.get_compensation",
    ];
    let set = PolicySet::parse(DEFAULT_POLICIES, DEFAULT_POLICIES_ORIGIN, &registered).unwrap();
    let employee = Subject {
        groups: vec!["employees".to_owned()],
        scopes: vec!["mcp:use".to_owned()],
        amr: vec!["pwd".to_owned()],
        auth_time: Some(NOW - 3_000),
        actor: Some("mcp-server".to_owned()),
        ..Subject::new("EMP001", PrincipalType::Human)
    };
    let cases = [
        (
            "allow/own-profile",
            "workday.hcm.get_employee",
            Target::Subject,
        ),
        (
            "step-up/own-pay",
            "workday.payroll.get_compensation",
            Target::Subject,
        ),
        (
            "deny/other-profile",
            "workday.hcm.get_employee",
            Target::Other,
        ),
    ];

    let mut group = c.benchmark_group("evaluate/default-policies");
    for (name, capability, target) in cases {
        let request = Request::new(capability, target);
        group.bench_function(name, |b| {
            b.iter(|| set.evaluate(black_box(&employee), black_box(&request), NOW));
        });
    }
    group.finish();
}

fn generated_policies(c: &mut Criterion) {
    let registered: Vec<String> = (0..SYSTEMS)
        .flat_map(|s| (0..ACTIONS).map(move |a| format!("sys{s}.act{a}")))
        .collect();
    let subject = Subject {
        groups: vec!["g0".to_owned()],
        auth_time: Some(NOW - 60),
        ..Subject::new("user-0", PrincipalType::Human)
    };
    let request = Request::new("sys0.act0", Target::Subject);

    let mut group = c.benchmark_group("evaluate/generated-policies");
    for count in [10, 100, 1_000] {
        let set = PolicySet::parse(&generated_file(count), "generated.yaml", &registered).unwrap();
        assert!(set.evaluate(&subject, &request, NOW).is_allow());

        group.bench_with_input(BenchmarkId::from_parameter(count), &set, |b, set| {
            b.iter(|| set.evaluate(black_box(&subject), black_box(&request), NOW));
        });
    }
    group.finish();
}

/// `count` allow policies, each on one capability and one of seven groups, plus a requirement
/// on `sys0.*` and a deny on `*` for workloads; `sys0.act0` is covered by `p0` alone.
fn generated_file(count: usize) -> String {
    let mut yaml = String::from(
        "requirements:\n\
         \x20 - {name: r, capabilities: [sys0.*], conditions: {max_auth_age_seconds: 3600}}\n\
         policies:\n\
         \x20 - {name: no-workloads, effect: deny, capabilities: ['*'], \
         principals: {types: [SERVICE]}}\n",
    );
    for i in 0..count {
        let capability = format!("sys{}.act{}", i % SYSTEMS, (i / SYSTEMS) % ACTIONS);
        writeln!(
            yaml,
            "  - {{name: p{i}, effect: allow, capabilities: [{capability}], \
             principals: {{groups: [g{}]}}, conditions: {{target: self}}}}",
            i % 7
        )
        .unwrap();
    }
    yaml
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    targets = default_policies, generated_policies
}
criterion_main!(benches);
