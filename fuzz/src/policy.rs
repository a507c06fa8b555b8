//! The registered capabilities and a fixed cast of subjects to evaluate every loaded policy
//! set against.

use scopegate_policy::{PrincipalType, Subject};

use crate::token::NOW;

/// The default capability names, as the gateway registers them.
pub const CAPABILITIES: [&str; 4] = [
    "workday.hcm.get_employee",
    "workday.hcm.list_direct_reports",
    "workday.hcm.update_contact_info",
    "workday.payroll.get_compensation",
];

/// A capability no policy set is loaded with: always denied.
pub const UNREGISTERED: &str = "workday.payroll.update_compensation";

/// Instants to evaluate at: the seeds' "now", and the extremes of the clock.
pub const INSTANTS: [i64; 4] = [NOW, 0, i64::MIN, i64::MAX];

/// People and workloads in the situations the default policies distinguish, plus a few
/// that no sensible file should admit.
pub fn subjects() -> Vec<Subject> {
    vec![
        // An employee through the MCP server, fresh multi-factor login.
        person("EMP001", &["employees"], &["mcp:use"], Some("mcp-server")).with_login(
            &["pwd", "mfa"],
            None,
            Some(NOW - 60),
        ),
        // A manager through the MCP server, password only, an hour ago.
        person(
            "EMP010",
            &["employees", "managers"],
            &["mcp:use"],
            Some("mcp-server"),
        )
        .with_login(&["pwd"], None, Some(NOW - 3600)),
        // An HR administrator calling the API directly, MFA shown by `acr` only.
        person("EMP020", &["employees", "hr-admins"], &["hr:read"], None).with_login(
            &["pwd"],
            Some("urn:okta:loa:2fa:any"),
            Some(NOW),
        ),
        // The directory synchronisation workload.
        Subject {
            groups: Vec::new(),
            scopes: vec!["hr:read".to_owned()],
            ..Subject::new("directory-sync", PrincipalType::Service)
        },
        // A person with every group, through an actor nobody registered, logged in "later".
        person(
            "EMP999",
            &["employees", "managers", "hr-admins"],
            &["mcp:use", "hr:read", "payroll:read"],
            Some("rogue-agent"),
        )
        .with_login(&["mfa"], None, Some(i64::MAX)),
        // Nobody in particular: no groups, scopes, login facts or actor.
        Subject::new("", PrincipalType::Human),
        Subject::new("svc", PrincipalType::Service),
    ]
}

/// A person with groups, scopes and an actor, and no login facts yet.
fn person(sub: &str, groups: &[&str], scopes: &[&str], actor: Option<&str>) -> Subject {
    Subject {
        groups: owned(groups),
        scopes: owned(scopes),
        actor: actor.map(str::to_owned),
        ..Subject::new(sub, PrincipalType::Human)
    }
}

trait WithLogin {
    fn with_login(self, amr: &[&str], acr: Option<&str>, auth_time: Option<i64>) -> Self;
}

impl WithLogin for Subject {
    fn with_login(self, amr: &[&str], acr: Option<&str>, auth_time: Option<i64>) -> Self {
        Self {
            amr: owned(amr),
            acr: acr.map(str::to_owned),
            auth_time,
            ..self
        }
    }
}

fn owned(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}
