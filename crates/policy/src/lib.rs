//! Policy file model and pure evaluation: no I/O, no async, no logging.
//!
//! A policy file (YAML, documented in `docs/policies.md`) names allow and deny policies over
//! capabilities such as `workday.payroll.get_compensation`, plus requirements that add
//! conditions to every allow of a group of capabilities. [`PolicySet::parse`] turns the text
//! into an immutable, indexed [`PolicySet`]; [`PolicySet::evaluate`] answers one request with a
//! [`Decision`]: allow, step-up (RFC 9470) or deny, with the deciding policy names and, for
//! anything short of allow, every [`Reason`].
//!
//! The crate reads nothing itself: callers pass the file's text, its display name and the
//! registered capability names. Reloading is "parse a new set, swap it in only on success";
//! a [`PolicySet`] is `Send + Sync` and never changes after parsing, so a server keeps it
//! behind an `ArcSwap` or `RwLock` and a bad file leaves the old set in force.
//!
//! ```
//! use scopegate_policy::{PolicySet, PrincipalType, Request, Subject, Target};
//!
//! let registered = ["workday.hcm.get_employee"];
//! let yaml = "
//! policies:
//!   - name: read-own-profile
//!     effect: allow
//!     capabilities: [workday.hcm.get_employee]
//!     conditions:
//!       target: self
//! ";
//! let set = PolicySet::parse(yaml, "policies.yaml", &registered)?;
//! let subject = Subject::new("EMP001", PrincipalType::Human);
//! let request = Request::new("workday.hcm.get_employee", Target::Subject);
//!
//! let decision = set.evaluate(&subject, &request, 1_706_445_600);
//!
//! assert!(decision.is_allow());
//! assert_eq!(decision.to_string(), "allow by `read-own-profile`");
//! # Ok::<(), scopegate_policy::LoadError>(())
//! ```

mod decision;
mod evaluate;
mod input;
mod lint;
mod load;
mod model;
mod pattern;
mod raw;

pub use decision::{Decision, Explanation, PolicyName, Reason};
pub use input::{PrincipalType, Request, Subject, Target, UnknownPrincipalType};
pub use lint::{LintWarning, lint};
pub use load::{LoadError, Position, Problem, ProblemKind};
pub use model::{DEFAULT_ACR_VALUES, PolicySet, TargetRule};
pub use pattern::PatternError;

/// The embedded default policy file: the design note's rules for the Workday capabilities.
///
/// Parse it with [`PolicySet::parse`] and [`DEFAULT_POLICIES_ORIGIN`] as its display name; it
/// needs `workday.hcm.get_employee`, `workday.hcm.list_direct_reports`,
/// `workday.hcm.update_contact_info` and `workday.payroll.get_compensation` registered.
pub const DEFAULT_POLICIES: &str = include_str!("../defaults/policies.yaml");

/// The display name used for [`DEFAULT_POLICIES`] in load errors and lint output.
pub const DEFAULT_POLICIES_ORIGIN: &str = "<embedded default policies.yaml>";
