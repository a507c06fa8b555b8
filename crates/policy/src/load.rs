//! Loading a policy file: YAML text to an indexed [`PolicySet`], or a [`LoadError`] listing
//! every problem with its file, line and column.
//!
//! The YAML reader stops at the first syntax or shape error (unknown key, wrong type); the
//! checks of meaning that follow (names, patterns, lists, conditions) report all problems.

use std::collections::HashMap;
use std::fmt;

use serde_saphyr::{Location, MessageFormatter, Spanned, UserMessageFormatter};

use crate::decision::PolicyName;
use crate::input::PrincipalType;
use crate::model::{
    Conditions, DEFAULT_ACR_VALUES, Effect, Policy, PolicySet, Principals, Requirement, Rules, Via,
};
use crate::pattern::{CapabilityPattern, PatternError, PatternIndex, Registry};
use crate::raw::{
    CONDITION_KEYS, RawConditions, RawFile, RawPolicy, RawPrincipals, RawRequirement, RawStepUp,
    Scopes, SpannedList,
};

impl PolicySet {
    /// Parses and checks a policy file against the registered capability names.
    ///
    /// `origin` names the source in error messages (a file path, or
    /// [`DEFAULT_POLICIES_ORIGIN`](crate::DEFAULT_POLICIES_ORIGIN)). To reload, parse the new
    /// text and swap the result in only on success, so a bad file leaves the old set in force.
    ///
    /// # Errors
    ///
    /// [`LoadError`] with every problem found: YAML that does not parse, an unknown key or
    /// condition, a missing or empty list, a capability pattern that is malformed or matches no
    /// registered capability, a duplicate or malformed name, and the like (see
    /// [`ProblemKind`]).
    pub fn parse<S: AsRef<str>>(
        source: &str,
        origin: &str,
        registered: &[S],
    ) -> Result<Self, LoadError> {
        let raw = read_yaml(source).map_err(|problem| LoadError::new(origin, vec![problem]))?;
        let registry = Registry::new(registered);

        let mut loader = Loader::new(&registry);
        let acr_values = loader.step_up(raw.step_up);
        for requirement in raw.requirements.unwrap_or_default() {
            loader.requirement(requirement);
        }
        if raw.policies.is_none() {
            let kind = ProblemKind::MissingKey {
                key: "policies",
                section: "file",
            };
            loader.report(None, kind);
        }
        for policy in raw.policies.unwrap_or_default() {
            loader.policy(policy);
        }
        if !loader.problems.is_empty() {
            return Err(LoadError::new(origin, loader.problems));
        }

        let index = loader.index(&registry);
        Ok(Self {
            origin: origin.into(),
            policies: loader.policies,
            requirements: loader.requirements,
            index,
            acr_values,
        })
    }
}

/// A policy file that cannot be used, with every problem found in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    origin: String,
    problems: Vec<Problem>,
}

impl LoadError {
    fn new(origin: &str, problems: Vec<Problem>) -> Self {
        Self {
            origin: origin.to_owned(),
            problems,
        }
    }

    /// The display name of the file, as passed to [`PolicySet::parse`].
    #[must_use]
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The problems, in the order found; never empty.
    #[must_use]
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }
}

/// One line per problem: `file:line:column: what is wrong`.
impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match problem.position {
                Some(position) => write!(f, "{}:{position}: {}", self.origin, problem.kind)?,
                None => write!(f, "{}: {}", self.origin, problem.kind)?,
            }
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

/// A line and column in the policy file, both counted from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// The line, from 1.
    pub line: u64,
    /// The column, from 1.
    pub column: u64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One thing wrong in a policy file, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Where it is; `None` for the file as a whole.
    pub position: Option<Position>,
    /// What is wrong.
    pub kind: ProblemKind,
}

/// What is wrong with a policy file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProblemKind {
    /// The text is not YAML, or a value has the wrong type.
    #[error("{message}")]
    Yaml {
        /// The YAML reader's description.
        message: String,
    },
    /// A mapping has a key this format does not define.
    #[error("unknown key `{key}`; expected one of {}", backticked(expected))]
    UnknownKey {
        /// The key as written.
        key: String,
        /// The keys allowed at that place.
        expected: Vec<&'static str>,
    },
    /// `conditions` names a condition this format does not define.
    #[error(
        "unknown condition `{name}`; expected one of {}",
        backticked(CONDITION_KEYS)
    )]
    UnknownCondition {
        /// The condition as written.
        name: String,
    },
    /// A value is not one of a fixed set (`effect`, `target`, `principals.types`).
    #[error("unknown value `{value}`; expected one of {}", backticked(expected))]
    UnknownValue {
        /// The value as written.
        value: String,
        /// The values allowed at that place.
        expected: Vec<&'static str>,
    },
    /// A mapping repeats a key.
    #[error("duplicate key `{}`", key.as_deref().unwrap_or("?"))]
    DuplicateKey {
        /// The key, when it is a plain scalar.
        key: Option<String>,
    },
    /// A required key is absent.
    #[error("this {section} has no `{key}`")]
    MissingKey {
        /// The missing key.
        key: &'static str,
        /// `file`, `policy` or `requirement`.
        section: &'static str,
    },
    /// A list that must name something is empty.
    #[error("`{key}` is an empty list; it would match nothing")]
    EmptyList {
        /// The list's key.
        key: &'static str,
    },
    /// A list entry is an empty string.
    #[error("`{key}` has an empty entry")]
    EmptyEntry {
        /// The list's key.
        key: &'static str,
    },
    /// A policy or requirement name uses characters outside letters, digits, `-`, `_`, `.`.
    #[error("invalid name `{name}`; names use letters, digits, `-`, `_` and `.`")]
    InvalidName {
        /// The name as written.
        name: String,
    },
    /// Two policies or requirements share a name.
    #[error("duplicate name `{name}`; it is first used on line {first_line}")]
    DuplicateName {
        /// The repeated name.
        name: String,
        /// Where the first use is.
        first_line: u64,
    },
    /// A `capabilities` entry is not a capability pattern.
    #[error("invalid capability pattern `{pattern}`: {error}")]
    InvalidPattern {
        /// The entry as written.
        pattern: String,
        /// Why it is not a pattern.
        error: PatternError,
    },
    /// A `capabilities` entry matches no registered capability (a typo, or a capability
    /// missing from the configuration).
    #[error("capability pattern `{pattern}` matches no registered capability")]
    UnmatchedPattern {
        /// The entry as written.
        pattern: String,
    },
    /// A `required_scope` entry is not an RFC 6749 §3.3 scope token.
    #[error("invalid scope `{scope}`; a scope is one or more printable characters without spaces")]
    InvalidScope {
        /// The entry as written.
        scope: String,
    },
    /// A login condition on a deny policy, where it would forbid fresh or MFA logins.
    #[error(
        "condition `{condition}` cannot be used on a deny policy; \
         deny conditions are `acting_through` and `target`"
    )]
    ConditionNotAllowedOnDeny {
        /// The condition.
        condition: &'static str,
    },
    /// A requirement without conditions, which would change nothing.
    #[error("this requirement has no conditions, so it would change nothing")]
    RequirementWithoutConditions,
}

/// A policy or requirement, by its place among all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Member {
    Policy(usize),
    Requirement(usize),
}

/// The checks of meaning, collecting every problem and the items that passed.
struct Loader<'r> {
    registry: &'r Registry<'r>,
    problems: Vec<Problem>,
    first_use: HashMap<String, u64>,
    patterns: PatternIndex<Member>,
    policies: Vec<Policy>,
    requirements: Vec<Requirement>,
}

impl<'r> Loader<'r> {
    fn new(registry: &'r Registry<'r>) -> Self {
        Self {
            registry,
            problems: Vec::new(),
            first_use: HashMap::new(),
            patterns: PatternIndex::new(),
            policies: Vec::new(),
            requirements: Vec::new(),
        }
    }

    fn report(&mut self, at: Option<Location>, kind: ProblemKind) {
        let position = at.and_then(position);
        self.problems.push(Problem { position, kind });
    }

    fn step_up(&mut self, raw: Option<Spanned<RawStepUp>>) -> Vec<String> {
        let configured = raw.and_then(|step_up| step_up.value.acr_values);
        match configured {
            Some(list) => self.strings(list, "acr_values"),
            None => DEFAULT_ACR_VALUES
                .iter()
                .map(|&acr| acr.to_owned())
                .collect(),
        }
    }

    fn requirement(&mut self, raw: Spanned<RawRequirement>) {
        let at = raw.referenced;
        let RawRequirement {
            name,
            capabilities,
            conditions,
        } = raw.value;
        let section = "requirement";

        let name = self.name(name, at, section);
        let patterns = self.capabilities(capabilities, at, section);
        let conditions = self.conditions(conditions, Effect::Allow);
        if conditions.as_ref().is_some_and(Conditions::is_empty) {
            self.report(Some(at), ProblemKind::RequirementWithoutConditions);
        }

        let (Some(name), Some(patterns), Some(conditions)) = (name, patterns, conditions) else {
            return;
        };
        let member = Member::Requirement(self.requirements.len());
        patterns
            .iter()
            .for_each(|pattern| self.patterns.insert(pattern, member));
        self.requirements.push(Requirement { name, conditions });
    }

    fn policy(&mut self, raw: Spanned<RawPolicy>) {
        let at = raw.referenced;
        let RawPolicy {
            name,
            effect,
            capabilities,
            principals,
            conditions,
        } = raw.value;
        let section = "policy";

        let name = self.name(name, at, section);
        if effect.is_none() {
            self.report(
                Some(at),
                ProblemKind::MissingKey {
                    key: "effect",
                    section,
                },
            );
        }
        let effect = effect.map(|effect| effect.value);
        let patterns = self.capabilities(capabilities, at, section);
        let principals = self.principals(principals);
        let conditions = self.conditions(conditions, effect.unwrap_or(Effect::Allow));

        let (Some(name), Some(effect), Some(patterns), Some(principals), Some(conditions)) =
            (name, effect, patterns, principals, conditions)
        else {
            return;
        };
        let member = Member::Policy(self.policies.len());
        patterns
            .iter()
            .for_each(|pattern| self.patterns.insert(pattern, member));
        self.policies.push(Policy {
            name,
            effect,
            principals,
            conditions,
        });
    }

    fn name(
        &mut self,
        raw: Option<Spanned<String>>,
        item_at: Location,
        section: &'static str,
    ) -> Option<PolicyName> {
        let Some(Spanned {
            value: name,
            referenced: at,
            ..
        }) = raw
        else {
            self.report(
                Some(item_at),
                ProblemKind::MissingKey {
                    key: "name",
                    section,
                },
            );
            return None;
        };

        let valid = |c: char| c.is_ascii_alphanumeric() || "-_.".contains(c);
        if name.is_empty() || !name.chars().all(valid) {
            self.report(Some(at), ProblemKind::InvalidName { name });
            return None;
        }
        if let Some(&first_line) = self.first_use.get(&name) {
            self.report(Some(at), ProblemKind::DuplicateName { name, first_line });
            return None;
        }
        self.first_use.insert(name.clone(), at.line());
        Some(PolicyName::new(&name))
    }

    fn capabilities(
        &mut self,
        raw: Option<SpannedList>,
        item_at: Location,
        section: &'static str,
    ) -> Option<Vec<CapabilityPattern>> {
        let Some(list) = raw else {
            self.report(
                Some(item_at),
                ProblemKind::MissingKey {
                    key: "capabilities",
                    section,
                },
            );
            return None;
        };
        if list.value.is_empty() {
            self.report(
                Some(list.referenced),
                ProblemKind::EmptyList {
                    key: "capabilities",
                },
            );
            return None;
        }

        let count = list.value.len();
        let patterns: Vec<CapabilityPattern> = list
            .value
            .into_iter()
            .filter_map(|entry| self.pattern(entry))
            .collect();
        (patterns.len() == count).then_some(patterns)
    }

    fn pattern(&mut self, entry: Spanned<String>) -> Option<CapabilityPattern> {
        let Spanned {
            value: text,
            referenced: at,
            ..
        } = entry;
        let pattern = match CapabilityPattern::parse(&text) {
            Ok(pattern) => pattern,
            Err(error) => {
                let kind = ProblemKind::InvalidPattern {
                    pattern: text,
                    error,
                };
                self.report(Some(at), kind);
                return None;
            }
        };
        if !pattern.matches_any(self.registry) {
            self.report(Some(at), ProblemKind::UnmatchedPattern { pattern: text });
            return None;
        }
        Some(pattern)
    }

    fn principals(&mut self, raw: Option<Spanned<RawPrincipals>>) -> Option<Principals> {
        let Some(raw) = raw else {
            return Some(Principals::default());
        };
        let RawPrincipals {
            types,
            groups,
            subjects,
        } = raw.value;
        let problems = self.problems.len();

        let types = types.and_then(|types| self.types(types));
        let groups = groups.map(|list| boxed(self.strings(list, "groups")));
        let subjects = subjects.map(|list| boxed(self.strings(list, "subjects")));
        (self.problems.len() == problems).then_some(Principals {
            types,
            groups,
            subjects,
        })
    }

    fn types(&mut self, list: Spanned<Vec<PrincipalType>>) -> Option<Box<[PrincipalType]>> {
        if list.value.is_empty() {
            self.report(
                Some(list.referenced),
                ProblemKind::EmptyList { key: "types" },
            );
            return None;
        }
        Some(list.value.into_boxed_slice())
    }

    fn conditions(
        &mut self,
        raw: Option<Spanned<RawConditions>>,
        effect: Effect,
    ) -> Option<Conditions> {
        let raw = raw.map(|conditions| conditions.value).unwrap_or_default();
        let problems = self.problems.len();
        if effect == Effect::Deny {
            self.refuse_deny_conditions(&raw);
        }

        let required_scopes = raw.required_scope.map(|scopes| self.scopes(scopes));
        let acting_through = raw.acting_through.map(|list| {
            let entries = self.strings(list, "acting_through").into_iter();
            entries.map(|entry| via(&entry)).collect()
        });
        let conditions = Conditions {
            required_scopes: required_scopes.unwrap_or_default(),
            max_auth_age: raw.max_auth_age_seconds.map(|seconds| seconds.value),
            mfa: raw.mfa.is_some_and(|mfa| mfa.value),
            acting_through,
            target: raw.target.map(|target| target.value),
            token_active: raw.token_active.is_some_and(|active| active.value),
        };
        (self.problems.len() == problems).then_some(conditions)
    }

    /// A deny applies when its conditions hold, so on a deny `mfa` or `max_auth_age_seconds`
    /// would punish the stronger login and `required_scope` the broader token: refused.
    fn refuse_deny_conditions(&mut self, raw: &RawConditions) {
        let refused = [
            (
                "required_scope",
                raw.required_scope.as_ref().map(|c| c.referenced),
            ),
            (
                "max_auth_age_seconds",
                raw.max_auth_age_seconds.as_ref().map(|c| c.referenced),
            ),
            ("mfa", raw.mfa.as_ref().map(|c| c.referenced)),
            (
                "token_active",
                raw.token_active.as_ref().map(|c| c.referenced),
            ),
        ];
        for (condition, at) in refused {
            if let Some(at) = at {
                self.report(
                    Some(at),
                    ProblemKind::ConditionNotAllowedOnDeny { condition },
                );
            }
        }
    }

    fn scopes(&mut self, raw: Spanned<Scopes>) -> Box<[Box<str>]> {
        let at = raw.referenced;
        let scopes = raw.value.0;
        if scopes.is_empty() {
            self.report(
                Some(at),
                ProblemKind::EmptyList {
                    key: "required_scope",
                },
            );
        }
        for scope in scopes.iter().filter(|scope| !is_scope_token(scope)) {
            let scope = scope.clone();
            self.report(Some(at), ProblemKind::InvalidScope { scope });
        }
        scopes.into_iter().map(String::into_boxed_str).collect()
    }

    /// A list of plain strings: not empty, and no empty entry.
    fn strings(&mut self, list: SpannedList, key: &'static str) -> Vec<String> {
        if list.value.is_empty() {
            self.report(Some(list.referenced), ProblemKind::EmptyList { key });
        }
        let mut strings = Vec::with_capacity(list.value.len());
        for entry in list.value {
            if entry.value.trim().is_empty() {
                self.report(Some(entry.referenced), ProblemKind::EmptyEntry { key });
            }
            strings.push(entry.value);
        }
        strings
    }

    /// Files every registered capability under the policies and requirements covering it.
    fn index(&self, registry: &Registry<'_>) -> HashMap<Box<str>, Rules> {
        let mut index = HashMap::with_capacity(registry.names().len());
        for &capability in registry.names() {
            let (mut denies, mut allows, mut requirements) = (Vec::new(), Vec::new(), Vec::new());
            for member in self.patterns.lookup(capability) {
                match member {
                    Member::Policy(i) if self.policies[i].effect == Effect::Deny => denies.push(i),
                    Member::Policy(i) => allows.push(i),
                    Member::Requirement(i) => requirements.push(i),
                }
            }
            let rules = Rules {
                denies: denies.into(),
                allows: allows.into(),
                requirements: requirements.into(),
            };
            index.insert(capability.into(), rules);
        }
        index
    }
}

/// Reads the YAML into the raw model, turning the reader's error into a [`Problem`].
fn read_yaml(source: &str) -> Result<RawFile, Problem> {
    // Only `true`/`false` are booleans: `mfa: yes` is refused rather than guessed at.
    let options = serde_saphyr::options! {
        strict_booleans: true,
        with_snippet: false,
    };
    serde_saphyr::from_str_with_options(source, options).map_err(|error| yaml_problem(&error))
}

fn yaml_problem(error: &serde_saphyr::Error) -> Problem {
    use serde_saphyr::Error;

    let error = error.without_snippet();
    let kind = match error {
        Error::SerdeUnknownField {
            field, expected, ..
        } if expected.as_slice() == CONDITION_KEYS => ProblemKind::UnknownCondition {
            name: field.clone(),
        },
        Error::SerdeUnknownField {
            field, expected, ..
        } => ProblemKind::UnknownKey {
            key: field.clone(),
            expected: expected.clone(),
        },
        Error::SerdeUnknownVariant {
            variant, expected, ..
        } => ProblemKind::UnknownValue {
            value: variant.clone(),
            expected: expected.clone(),
        },
        Error::DuplicateMappingKey { key, .. } => ProblemKind::DuplicateKey { key: key.clone() },
        other => {
            let message = UserMessageFormatter.format_message(other);
            // The formatter leaves control characters to the renderer; keep lines whole.
            let message = message
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c });
            ProblemKind::Yaml {
                message: message.collect(),
            }
        }
    };
    Problem {
        position: error.location().and_then(position),
        kind,
    }
}

fn position(location: Location) -> Option<Position> {
    (location != Location::UNKNOWN).then(|| Position {
        line: location.line(),
        column: location.column(),
    })
}

fn via(entry: &str) -> Via {
    match entry {
        Via::DIRECT => Via::Direct,
        actor => Via::Actor(actor.into()),
    }
}

fn boxed(strings: Vec<String>) -> Box<[Box<str>]> {
    strings.into_iter().map(String::into_boxed_str).collect()
}

/// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
fn is_scope_token(scope: &str) -> bool {
    let allowed = |b: u8| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b);
    !scope.is_empty() && scope.bytes().all(allowed)
}

fn backticked(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| format!("`{item}`")).collect();
    quoted.join(", ")
}
