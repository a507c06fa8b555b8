//! The typed values inside claims: [`Audience`], [`Scope`] and [`Scopes`], [`PrincipalType`].

use std::borrow::Borrow;
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};

use crate::error::{ClaimError, ScopeError};

/// The `aud` claim: one or more audience identifiers (RFC 7519 §4.1.3), never none.
///
/// Read from a string or an array of strings; written as a single string when there is one
/// audience and as an array otherwise. Order is kept and repeats are dropped.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Audience(Vec<String>);

impl Audience {
    /// An audience of one.
    #[must_use]
    pub fn single(audience: impl Into<String>) -> Self {
        Self(vec![audience.into()])
    }

    /// An audience of several.
    ///
    /// # Errors
    ///
    /// [`ClaimError::NoAudience`] when `audiences` is empty.
    pub fn several<I, S>(audiences: I) -> Result<Self, ClaimError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut kept: Vec<String> = Vec::new();
        for audience in audiences {
            let audience = audience.into();
            if !kept.contains(&audience) {
                kept.push(audience);
            }
        }
        if kept.is_empty() {
            return Err(ClaimError::NoAudience);
        }
        Ok(Self(kept))
    }

    /// Whether `audience` is one of this token's audiences (exact, case-sensitive match).
    #[must_use]
    pub fn contains(&self, audience: &str) -> bool {
        self.0.iter().any(|own| own == audience)
    }

    /// The audiences, in token order.
    pub fn iter(&self) -> std::slice::Iter<'_, String> {
        self.0.iter()
    }

    /// The first audience (there is always one).
    #[must_use]
    pub fn first(&self) -> &str {
        self.0.first().map_or("", String::as_str)
    }

    /// How many audiences there are (at least one).
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always `false`: an audience names at least one party. Present for API symmetry.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a Audience {
    type Item = &'a String;
    type IntoIter = std::slice::Iter<'a, String>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl Serialize for Audience {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => serializer.serialize_str(one),
            many => many.serialize(serializer),
        }
    }
}

/// One scope: a non-empty run of printable ASCII without space, `"` or `\` (RFC 6749 §3.3).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope(String);

impl Scope {
    /// Checks `scope` against the RFC 6749 §3.3 scope-token syntax.
    ///
    /// # Errors
    ///
    /// [`ScopeError`] when it is empty or holds a character outside the syntax.
    pub fn new(scope: impl Into<String>) -> Result<Self, ScopeError> {
        let scope = scope.into();
        if scope.is_empty() {
            return Err(ScopeError::Empty);
        }
        // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
        let allowed = |b: u8| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b);
        if !scope.bytes().all(allowed) {
            return Err(ScopeError::InvalidCharacter { value: scope });
        }
        Ok(Self(scope))
    }

    /// The scope as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Scope {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Scope {
    type Err = ScopeError;

    fn from_str(scope: &str) -> Result<Self, ScopeError> {
        Self::new(scope)
    }
}

impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// The `scope` claim as a set of [`Scope`]s, kept sorted and without repeats.
///
/// This project writes it as a JSON array (design note); on input the RFC 8693 §4.2 /
/// RFC 9068 §2.2.3 space-separated string is accepted as well, so external issuers' tokens
/// verify. An empty set is left out of a token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Scopes(BTreeSet<Scope>);

impl Scopes {
    /// The empty set.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses an RFC 6749 §3.3 space-separated list, as in a token request's `scope` parameter.
    ///
    /// The empty string is the empty set.
    ///
    /// # Errors
    ///
    /// [`ScopeError`] for a double space, a space at either end, or a character outside the
    /// scope syntax.
    pub fn from_space_separated(list: &str) -> Result<Self, ScopeError> {
        if list.is_empty() {
            return Ok(Self::new());
        }
        list.split(' ').map(Scope::new).collect()
    }

    /// Whether the set holds `scope`.
    #[must_use]
    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    /// Whether every scope of `self` is also in `other` (an exchange may only narrow scopes).
    #[must_use]
    pub fn is_subset(&self, other: &Self) -> bool {
        self.0.is_subset(&other.0)
    }

    /// Adds `scope`; returns whether it was new.
    pub fn insert(&mut self, scope: Scope) -> bool {
        self.0.insert(scope)
    }

    /// The scopes in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter()
    }

    /// How many scopes there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The space-separated form (RFC 6749 §3.3), as used in token responses and introspection.
impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, scope) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str(" ")?;
            }
            f.write_str(scope.as_str())?;
        }
        Ok(())
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(scopes: I) -> Self {
        Self(scopes.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a Scopes {
    type Item = &'a Scope;
    type IntoIter = std::collections::btree_set::Iter<'a, Scope>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl Serialize for Scopes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for scope in &self.0 {
            seq.serialize_element(scope)?;
        }
        seq.end()
    }
}

/// The `principal_type` claim (design note): a person or a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum PrincipalType {
    /// A person; written `HUMAN`.
    #[serde(rename = "HUMAN")]
    Human,
    /// A service or other workload; written `SERVICE`.
    #[serde(rename = "SERVICE")]
    Service,
}

impl PrincipalType {
    /// The claim value: `HUMAN` or `SERVICE`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Human => "HUMAN",
            Self::Service => "SERVICE",
        }
    }
}

impl fmt::Display for PrincipalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PrincipalType {
    type Err = ClaimError;

    /// Parses exactly `HUMAN` or `SERVICE` (case-sensitive).
    fn from_str(value: &str) -> Result<Self, ClaimError> {
        match value {
            "HUMAN" => Ok(Self::Human),
            "SERVICE" => Ok(Self::Service),
            other => Err(ClaimError::UnknownPrincipalType {
                value: other.to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(list: &str) -> Scopes {
        Scopes::from_space_separated(list).unwrap()
    }

    #[test]
    fn audience_of_one_is_written_as_a_string() {
        let one = Audience::single("https://api.example");
        let two = Audience::several(["a", "b"]).unwrap();

        assert_eq!(
            serde_json::to_string(&one).unwrap(),
            r#""https://api.example""#
        );
        assert_eq!(serde_json::to_string(&two).unwrap(), r#"["a","b"]"#);
    }

    #[test]
    fn audience_drops_repeats_and_refuses_none() {
        let repeated = Audience::several(["a", "b", "a"]).unwrap();

        assert_eq!(repeated.iter().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(
            Audience::several(Vec::<String>::new()),
            Err(ClaimError::NoAudience)
        );
    }

    #[test]
    fn audience_contains_matches_exactly() {
        let audience = Audience::single("https://api.example");

        assert!(audience.contains("https://api.example"));
        assert!(!audience.contains("https://api.example/"));
        assert!(!audience.contains("HTTPS://api.example"));
    }

    #[test]
    fn scope_accepts_the_rfc6749_characters() {
        assert!(Scope::new("workday.payroll:read!#[]~").is_ok());
        assert_eq!(Scope::new(""), Err(ScopeError::Empty));
        for bad in ["a b", "a\"b", "a\\b", "é", "a\tb"] {
            let error = Scope::new(bad).unwrap_err();

            assert!(
                matches!(error, ScopeError::InvalidCharacter { .. }),
                "{bad}"
            );
        }
    }

    #[test]
    fn scopes_parse_and_print_space_separated() {
        let set = scopes("mcp:use openid mcp:use");

        assert_eq!(set.len(), 2);
        assert!(set.contains("mcp:use"));
        assert!(!set.contains("mcp"));
        assert_eq!(set.to_string(), "mcp:use openid");
        assert_eq!(
            serde_json::to_string(&set).unwrap(),
            r#"["mcp:use","openid"]"#
        );
    }

    #[test]
    fn scopes_refuse_stray_spaces() {
        assert_eq!(Scopes::from_space_separated("a  b"), Err(ScopeError::Empty));
        assert_eq!(Scopes::from_space_separated(" a"), Err(ScopeError::Empty));
        assert!(Scopes::from_space_separated("").unwrap().is_empty());
    }

    #[test]
    fn scopes_subset_is_the_narrowing_test() {
        let wide = scopes("a b c");

        assert!(scopes("a c").is_subset(&wide));
        assert!(!scopes("a d").is_subset(&wide));
        assert!(Scopes::new().is_subset(&wide));
    }

    #[test]
    fn principal_type_round_trips_exactly() {
        assert_eq!("HUMAN".parse::<PrincipalType>(), Ok(PrincipalType::Human));
        assert_eq!(
            serde_json::to_string(&PrincipalType::Service).unwrap(),
            r#""SERVICE""#
        );
        assert_eq!(
            "human".parse::<PrincipalType>().unwrap_err().to_string(),
            "claim `principal_type` must be `HUMAN` or `SERVICE`, found `human`"
        );
    }
}
