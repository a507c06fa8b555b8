//! The verified-token cache: a bounded map from a token's SHA-256 to its verification result,
//! so a token presented again skips the signature check.
//!
//! The cache belongs to one [`Verifier`](crate::Verifier), so every entry was checked against
//! that verifier's issuers and audience rule. It holds digests, never tokens. An entry is
//! served only while its token has not reached `exp`; after that it is dropped on the next
//! lookup and the token takes the full path, which decides with the leeway and reports the
//! exact error.
//!
//! A key that disappears from its source does not evict the tokens it verified: they stay
//! valid until their `exp`, as they would for any resource server that verified them once.
//! Revocation is checked elsewhere (introspection), not here.

use std::sync::Arc;

use quick_cache::sync::Cache;

use crate::clock::NumericDate;
use crate::digest::TokenDigest;
use crate::verify::VerifiedToken;

/// A bounded concurrent map from token digest to verified token.
pub(crate) struct TokenCache {
    entries: Cache<TokenDigest, Arc<VerifiedToken>>,
}

impl TokenCache {
    /// A cache of at most `capacity` tokens (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: Cache::new(capacity.max(1)),
        }
    }

    /// The cached result for `digest`, if the token has not yet reached its `exp` at `now`.
    pub(crate) fn get(&self, digest: &TokenDigest, now: NumericDate) -> Option<Arc<VerifiedToken>> {
        let hit = self.entries.get(digest)?;
        if now > hit.claims().exp {
            self.entries.remove(digest);
            return None;
        }
        Some(hit)
    }

    /// Forgets `digest` (used when a cached token no longer passes the time checks).
    pub(crate) fn forget(&self, digest: &TokenDigest) {
        self.entries.remove(digest);
    }

    /// Remembers a freshly verified token.
    pub(crate) fn insert(&self, verified: Arc<VerifiedToken>) {
        self.entries.insert(verified.digest(), verified);
    }

    /// How many tokens are cached.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}
