//! Where the verifier finds an issuer's public keys: the [`KeySource`] trait and the
//! [`StaticKeys`] source for a fixed JWKS.
//!
//! Other sources are the key store's [`LocalKeys`](crate::LocalKeys) and, with the `remote`
//! feature, `RemoteIssuer`, which fetches a JWKS over HTTP.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::error::{JwksError, KeySourceError};
use crate::jwks::Jwks;
use crate::keys::VerificationKey;

/// The future returned by [`KeySource::refresh`].
pub type RefreshFuture<'a> = Pin<Box<dyn Future<Output = Result<(), KeySourceError>> + Send + 'a>>;

/// A set of one issuer's verification keys, looked up by `kid`.
///
/// [`find`](KeySource::find) is on the hot path of every request: it must not block or do I/O.
/// A source that can learn new keys (a remote JWKS) does so in
/// [`refresh`](KeySource::refresh), which the verifier calls at most once per token, only
/// from [`Verifier::verify_refreshing_keys`](crate::Verifier::verify_refreshing_keys), and
/// only when `find` did not know the token's `kid`. A `kid` is only ever a lookup key: never a
/// path, a URL or a query.
pub trait KeySource: Send + Sync + fmt::Debug {
    /// The key named `kid`, if this source currently knows it.
    fn find(&self, kid: &str) -> Option<Arc<VerificationKey>>;

    /// Learns the issuer's current keys, if this source can; the default does nothing.
    ///
    /// Implementations limit how often they really fetch; a call within the limit returns
    /// `Ok(())` without fetching.
    fn refresh(&self) -> RefreshFuture<'_> {
        Box::pin(std::future::ready(Ok(())))
    }
}

/// A shared source is a source, so one `RemoteIssuer` can serve several verifiers.
impl<T: KeySource + ?Sized> KeySource for Arc<T> {
    fn find(&self, kid: &str) -> Option<Arc<VerificationKey>> {
        (**self).find(kid)
    }

    fn refresh(&self) -> RefreshFuture<'_> {
        (**self).refresh()
    }
}

/// A fixed set of keys, for example an issuer's JWKS kept in a configuration file.
#[derive(Clone, Default)]
pub struct StaticKeys {
    keys: HashMap<String, Arc<VerificationKey>>,
}

impl StaticKeys {
    /// The keys of `jwks`.
    #[must_use]
    pub fn new(jwks: &Jwks) -> Self {
        Self::from_keys(jwks.keys().iter().cloned())
    }

    /// Reads a JWKS document.
    ///
    /// # Errors
    ///
    /// [`JwksError`] when the document is refused (see [`Jwks::from_json`]).
    pub fn from_jwks_json(document: &[u8]) -> Result<Self, JwksError> {
        Ok(Self::new(&Jwks::from_json(document)?))
    }

    /// The given keys; a later key replaces an earlier one with the same `kid`.
    pub fn from_keys(keys: impl IntoIterator<Item = Arc<VerificationKey>>) -> Self {
        Self {
            keys: keys
                .into_iter()
                .map(|key| (key.kid().to_owned(), key))
                .collect(),
        }
    }
}

impl KeySource for StaticKeys {
    fn find(&self, kid: &str) -> Option<Arc<VerificationKey>> {
        self.keys.get(kid).cloned()
    }
}

impl fmt::Debug for StaticKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticKeys")
            .field("kids", &self.keys.keys())
            .finish()
    }
}
