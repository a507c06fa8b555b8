//! Organisation data for policy: whom a call is about, relative to the caller.
//!
//! The policy engine's `target` condition needs to know whether a call names the caller, one of
//! the caller's direct reports, or someone else. The gateway works that out before evaluation
//! from the capability's `target_argument` and an [`OrgDirectory`].
//!
//! The Workday fixture is the default directory. A deployment whose records live behind an
//! HTTP upstream supplies its own implementation, typically an in-memory copy of the reporting
//! lines refreshed in the background from the HR system's export, since the lookup runs on
//! every request and must not wait on the network.

use std::fmt;

use scopegate_policy::Target;

/// Who manages whom.
pub trait OrgDirectory: Send + Sync + fmt::Debug {
    /// The id of `employee_id`'s direct manager, if the employee exists and has one.
    fn manager_of(&self, employee_id: &str) -> Option<String>;
}

/// The policy target of a call whose target argument is `named` (already defaulted to the
/// caller when the call left it out), or of a capability that names no person (`None`).
#[must_use]
pub fn resolve_target(org: &dyn OrgDirectory, caller: &str, named: Option<&str>) -> Target {
    let Some(named) = named else {
        return Target::None;
    };
    if named == caller {
        return Target::Subject;
    }
    if org.manager_of(named).as_deref() == Some(caller) {
        return Target::DirectReport;
    }
    Target::Other
}
