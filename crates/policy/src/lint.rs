//! `scopegate policy lint`: a file that loads can still be suspicious. These checks find
//! policies that grant everyone, capabilities nothing allows and requirements with no effect.

use std::fmt;

use crate::decision::PolicyName;
use crate::load::LoadError;
use crate::model::{Effect, PolicySet};

/// Parses a policy file and lints it: the entry point of `scopegate policy lint`.
///
/// # Errors
///
/// The [`LoadError`] of [`PolicySet::parse`] when the file cannot be used at all.
pub fn lint<S: AsRef<str>>(
    source: &str,
    origin: &str,
    registered: &[S],
) -> Result<Vec<LintWarning>, LoadError> {
    PolicySet::parse(source, origin, registered).map(|set| set.lint())
}

/// Something legal but probably unintended in a policy file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LintWarning {
    /// An allow policy with no principals and no conditions admits every caller.
    UnrestrictedAllow {
        /// The policy.
        policy: PolicyName,
    },
    /// A registered capability that no allow policy covers is always denied.
    UncoveredCapability {
        /// The capability.
        capability: String,
    },
    /// A requirement whose capabilities no allow policy covers changes nothing.
    IdleRequirement {
        /// The requirement.
        requirement: PolicyName,
    },
}

impl fmt::Display for LintWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnrestrictedAllow { policy } => write!(
                f,
                "allow policy `{policy}` has no principals and no conditions: \
                 it admits every caller"
            ),
            Self::UncoveredCapability { capability } => {
                write!(
                    f,
                    "no allow policy covers `{capability}`: it is always denied"
                )
            }
            Self::IdleRequirement { requirement } => write!(
                f,
                "requirement `{requirement}` covers no capability that an allow policy covers: \
                 it changes nothing"
            ),
        }
    }
}

impl PolicySet {
    /// The lint warnings for this set: unrestricted allows in file order, then uncovered
    /// capabilities by name, then idle requirements in file order.
    #[must_use]
    pub fn lint(&self) -> Vec<LintWarning> {
        let unrestricted = self.policies.iter().filter(|policy| {
            let principals = &policy.principals;
            let anyone = principals.types.is_none()
                && principals.groups.is_none()
                && principals.subjects.is_none();
            policy.effect == Effect::Allow && anyone && policy.conditions.is_empty()
        });
        let mut warnings: Vec<LintWarning> = unrestricted
            .map(|policy| LintWarning::UnrestrictedAllow {
                policy: policy.name.clone(),
            })
            .collect();

        let mut uncovered: Vec<&str> = self
            .index
            .iter()
            .filter(|(_, rules)| rules.allows.is_empty())
            .map(|(capability, _)| &**capability)
            .collect();
        uncovered.sort_unstable();
        warnings.extend(
            uncovered
                .into_iter()
                .map(|capability| LintWarning::UncoveredCapability {
                    capability: capability.to_owned(),
                }),
        );

        let idle = self.requirements.iter().enumerate().filter(|&(i, _)| {
            let covers = |rules: &crate::model::Rules| rules.requirements.contains(&i);
            !self
                .index
                .values()
                .any(|rules| covers(rules) && !rules.allows.is_empty())
        });
        warnings.extend(idle.map(|(_, requirement)| LintWarning::IdleRequirement {
            requirement: requirement.name.clone(),
        }));
        warnings
    }
}
