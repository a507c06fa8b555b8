//! Capability patterns (`workday.hcm.get_employee`, `workday.payroll.*`, `*`) and the index
//! that resolves them against the registered capabilities once, at load time.

use std::collections::{HashMap, HashSet};

/// One entry of a `capabilities` list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CapabilityPattern {
    /// `*`: every registered capability.
    All,
    /// `system.*`: every capability under the dotted prefix (stored without `.*`).
    Prefix(Box<str>),
    /// One capability by its full name.
    Exact(Box<str>),
}

/// Why a `capabilities` entry is not a pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// The entry is an empty string.
    #[error("it is empty")]
    Empty,
    /// Two dots in a row, or a dot at either end.
    #[error("it has an empty segment between dots")]
    EmptySegment,
    /// `*` used other than as the whole last segment.
    #[error("`*` may only stand as the whole last segment, as in `workday.*`")]
    MisplacedWildcard,
    /// A character outside letters, digits, `_` and `-` in a segment.
    #[error("`{0}` is not allowed; segments use letters, digits, `_` and `-`")]
    InvalidCharacter(char),
}

impl CapabilityPattern {
    /// Parses one `capabilities` entry.
    pub(crate) fn parse(text: &str) -> Result<Self, PatternError> {
        if text.is_empty() {
            return Err(PatternError::Empty);
        }
        if text == "*" {
            return Ok(Self::All);
        }
        match text.strip_suffix(".*") {
            Some(prefix) => check_name(prefix).map(|()| Self::Prefix(prefix.into())),
            None => check_name(text).map(|()| Self::Exact(text.into())),
        }
    }

    /// Whether any registered capability falls under this pattern.
    pub(crate) fn matches_any(&self, registry: &Registry<'_>) -> bool {
        match self {
            Self::All => !registry.names.is_empty(),
            Self::Prefix(prefix) => registry.prefixes.contains(&**prefix),
            Self::Exact(name) => registry.known.contains(&**name),
        }
    }
}

/// The registered capability names, with every dotted prefix of each for pattern checks.
pub(crate) struct Registry<'r> {
    names: Vec<&'r str>,
    known: HashSet<&'r str>,
    prefixes: HashSet<&'r str>,
}

impl<'r> Registry<'r> {
    pub(crate) fn new<S: AsRef<str>>(registered: &'r [S]) -> Self {
        let names: Vec<&str> = registered.iter().map(AsRef::as_ref).collect();
        let known = names.iter().copied().collect();
        let prefixes = names
            .iter()
            .flat_map(|name| dotted_prefixes(name))
            .collect();
        Self {
            names,
            known,
            prefixes,
        }
    }

    pub(crate) fn names(&self) -> &[&'r str] {
        &self.names
    }
}

/// Patterns filed by kind, so resolving one capability costs a lookup per dot, not a scan.
pub(crate) struct PatternIndex<T> {
    exact: HashMap<Box<str>, Vec<T>>,
    prefix: HashMap<Box<str>, Vec<T>>,
    all: Vec<T>,
}

impl<T: Copy + Ord> PatternIndex<T> {
    pub(crate) fn new() -> Self {
        Self {
            exact: HashMap::new(),
            prefix: HashMap::new(),
            all: Vec::new(),
        }
    }

    pub(crate) fn insert(&mut self, pattern: &CapabilityPattern, item: T) {
        match pattern {
            CapabilityPattern::All => self.all.push(item),
            CapabilityPattern::Prefix(p) => self.prefix.entry(p.clone()).or_default().push(item),
            CapabilityPattern::Exact(n) => self.exact.entry(n.clone()).or_default().push(item),
        }
    }

    /// Every item whose pattern matches `capability`, in insertion order, without repeats.
    pub(crate) fn lookup(&self, capability: &str) -> Vec<T> {
        let mut found = self.all.clone();
        if let Some(items) = self.exact.get(capability) {
            found.extend_from_slice(items);
        }
        for prefix in dotted_prefixes(capability) {
            if let Some(items) = self.prefix.get(prefix) {
                found.extend_from_slice(items);
            }
        }
        found.sort_unstable();
        found.dedup();
        found
    }
}

/// `a.b.c` yields `a.b` and `a`: the prefixes a `.*` pattern can name.
fn dotted_prefixes(name: &str) -> impl Iterator<Item = &str> {
    name.rmatch_indices('.').map(move |(dot, _)| &name[..dot])
}

fn check_name(name: &str) -> Result<(), PatternError> {
    for segment in name.split('.') {
        if segment.is_empty() {
            return Err(PatternError::EmptySegment);
        }
        if segment.contains('*') {
            return Err(PatternError::MisplacedWildcard);
        }
        let invalid = segment
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "_-".contains(*c)));
        if let Some(c) = invalid {
            return Err(PatternError::InvalidCharacter(c));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_pattern_forms() {
        assert_eq!(CapabilityPattern::parse("*"), Ok(CapabilityPattern::All));
        assert_eq!(
            CapabilityPattern::parse("workday.payroll.*"),
            Ok(CapabilityPattern::Prefix("workday.payroll".into()))
        );
        assert_eq!(
            CapabilityPattern::parse("workday.hcm.get_employee"),
            Ok(CapabilityPattern::Exact("workday.hcm.get_employee".into()))
        );
    }

    #[test]
    fn rejects_malformed_patterns_with_the_reason() {
        assert_eq!(CapabilityPattern::parse(""), Err(PatternError::Empty));
        assert_eq!(
            CapabilityPattern::parse("workday..x"),
            Err(PatternError::EmptySegment)
        );
        assert_eq!(
            CapabilityPattern::parse(".*"),
            Err(PatternError::EmptySegment)
        );
        assert_eq!(
            CapabilityPattern::parse("workday.pay*"),
            Err(PatternError::MisplacedWildcard)
        );
        assert_eq!(
            CapabilityPattern::parse("*.hcm"),
            Err(PatternError::MisplacedWildcard)
        );
        assert_eq!(
            CapabilityPattern::parse("workday.hcm get"),
            Err(PatternError::InvalidCharacter(' '))
        );
    }

    #[test]
    fn a_prefix_pattern_matches_whole_segments_only() {
        let registered = ["workday.payroll.get_compensation", "workday.payrollx.get"];
        let registry = Registry::new(&registered);

        let mut index = PatternIndex::new();
        index.insert(&CapabilityPattern::parse("workday.payroll.*").unwrap(), 1);

        assert!(
            CapabilityPattern::parse("workday.*")
                .unwrap()
                .matches_any(&registry)
        );
        assert!(
            !CapabilityPattern::parse("work.*")
                .unwrap()
                .matches_any(&registry)
        );
        assert_eq!(index.lookup("workday.payroll.get_compensation"), vec![1]);
        assert_eq!(index.lookup("workday.payrollx.get"), Vec::<i32>::new());
    }

    #[test]
    fn lookup_merges_all_kinds_in_order_without_repeats() {
        let mut index = PatternIndex::new();
        index.insert(&CapabilityPattern::parse("a.b.c").unwrap(), 3);
        index.insert(&CapabilityPattern::parse("a.*").unwrap(), 1);
        index.insert(&CapabilityPattern::parse("*").unwrap(), 2);
        index.insert(&CapabilityPattern::parse("a.b.*").unwrap(), 1);

        assert_eq!(index.lookup("a.b.c"), vec![1, 2, 3]);
        assert_eq!(index.lookup("z.y"), vec![2]);
    }
}
