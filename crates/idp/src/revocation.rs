//! The in-memory mirror of revoked token ids, consulted on every exchange and introspection.
//!
//! The store is the source of truth: a revocation is written there first and added here only
//! once it is durable, and the mirror is loaded from the store at start. Checks are O(1)
//! lookups under a read lock, so the hot path never touches the disk.
//!
//! Cascade (rule 9 in `docs/tokens.md`): a token is revoked when its own `jti` is, or when
//! the `jti` of the root token it was exchanged from (`original_token_id`) is.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use scopegate_token::{Claims, NumericDate};

use crate::store::Revocation;

/// Revoked `jti`s with the time after which they can be forgotten.
#[derive(Debug, Default)]
pub struct RevocationList {
    revoked: RwLock<HashMap<String, NumericDate>>,
}

impl RevocationList {
    /// A list holding `revocations`.
    #[must_use]
    pub fn from_revocations(revocations: Vec<Revocation>) -> Self {
        let list = Self::default();
        list.extend(revocations);
        list
    }

    /// Adds revocations that are already durable in the store.
    pub fn extend(&self, revocations: impl IntoIterator<Item = Revocation>) {
        let mut revoked = self.revoked.write().unwrap_or_else(PoisonError::into_inner);
        for revocation in revocations {
            revoked.insert(revocation.jti, revocation.expires_at);
        }
    }

    /// Whether the token with these claims is revoked, directly or through its root.
    #[must_use]
    pub fn is_revoked(&self, claims: &Claims) -> bool {
        let revoked = self.revoked.read().unwrap_or_else(PoisonError::into_inner);
        revoked.contains_key(&claims.jti)
            || claims
                .original_token_id
                .as_ref()
                .is_some_and(|root| revoked.contains_key(root))
    }

    /// Whether `jti` itself is revoked.
    #[must_use]
    pub fn contains(&self, jti: &str) -> bool {
        self.revoked
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(jti)
    }

    /// Forgets revocations whose token has expired; returns how many.
    pub fn prune(&self, now: NumericDate) -> usize {
        let mut revoked = self.revoked.write().unwrap_or_else(PoisonError::into_inner);
        let before = revoked.len();
        revoked.retain(|_, expires_at| *expires_at > now);
        before - revoked.len()
    }

    /// How many revocations are held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.revoked
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether none are held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
