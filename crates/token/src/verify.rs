//! The [`Verifier`]: turns a bearer token into a [`VerifiedToken`] or a precise
//! [`VerifyError`], synchronously and without I/O on the normal path.
//!
//! Order of checks, cheapest and least trusting first: size, cache, compact form and strict
//! JSON, header rules, issuer, key by `kid`, algorithm pinned by the key, signature, claim
//! types, `exp`/`nbf`/`iat` with leeway, audience.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::cache::TokenCache;
use crate::claims::{self, Claims};
use crate::clock::{Clock, NumericDate, SystemClock};
use crate::digest::TokenDigest;
use crate::error::{BuildError, DecodeError, VerifyError};
use crate::jws::{self, MAX_TOKEN_BYTES};
use crate::keys::Algorithm;
use crate::source::KeySource;

/// The clock skew tolerated on `exp`, `nbf` and `iat` unless configured otherwise.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);

/// How many verified tokens a verifier remembers unless configured otherwise.
pub const DEFAULT_CACHE_CAPACITY: usize = 4096;

/// A token that passed every check. Only a [`Verifier`] can make one.
#[derive(Debug)]
pub struct VerifiedToken {
    claims: Claims,
    kid: String,
    algorithm: Algorithm,
    digest: TokenDigest,
}

impl VerifiedToken {
    /// The token's claims.
    #[must_use]
    pub const fn claims(&self) -> &Claims {
        &self.claims
    }

    /// The `kid` of the key that verified the signature.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm the signature was verified with.
    #[must_use]
    pub const fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The SHA-256 of the raw token, for correlating records without storing the token.
    #[must_use]
    pub const fn digest(&self) -> TokenDigest {
        self.digest
    }
}

/// Which audiences a verifier accepts. There is no default: every verifier chooses one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudienceCheck(AudienceRule);

#[derive(Debug, Clone, PartialEq, Eq)]
enum AudienceRule {
    OneOf(Vec<String>),
    AnyOfThisIssuer,
}

impl AudienceCheck {
    /// Accepts a token whose `aud` contains at least one of `expected` (RFC 9068 §4).
    pub fn one_of<I, S>(expected: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self(AudienceRule::OneOf(
            expected.into_iter().map(Into::into).collect(),
        ))
    }

    /// Accepts any audience, for an authorization server checking tokens it issued itself
    /// (token-exchange subject tokens, introspection). Only allowed for a verifier that trusts
    /// exactly one issuer; a resource server must never use it.
    #[must_use]
    pub const fn any_audience_of_this_issuer() -> Self {
        Self(AudienceRule::AnyOfThisIssuer)
    }
}

/// Checks access tokens of the trusted issuers. Cheap to clone; clones share one cache.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    issuers: HashMap<String, Arc<dyn KeySource>>,
    audience: AudienceRule,
    leeway: Duration,
    clock: Arc<dyn Clock>,
    cache: Option<TokenCache>,
}

impl Verifier {
    /// Starts configuring a verifier.
    pub fn builder() -> VerifierBuilder {
        VerifierBuilder {
            issuers: Vec::new(),
            audience: None,
            leeway: DEFAULT_LEEWAY,
            clock: Arc::new(SystemClock),
            cache_capacity: DEFAULT_CACHE_CAPACITY,
        }
    }

    /// Verifies `token` with the keys the issuers' sources know now; never does I/O.
    ///
    /// A token verified before and still before its `exp` comes from the cache.
    ///
    /// # Errors
    ///
    /// [`VerifyError`] naming the first check that failed.
    pub fn verify(&self, token: &str) -> Result<Arc<VerifiedToken>, VerifyError> {
        // The size limit comes before hashing, so a huge token costs nothing.
        if token.len() > MAX_TOKEN_BYTES {
            let error = DecodeError::TooLarge {
                len: token.len(),
                limit: MAX_TOKEN_BYTES,
            };
            return Err(error.into());
        }
        let now = self.inner.clock.now();
        let digest = TokenDigest::of(token);

        if let Some(cache) = &self.inner.cache
            && let Some(hit) = cache.get(&digest, now)
        {
            if self.check_times(&hit.claims, now).is_ok() {
                return Ok(hit);
            }
            // The clock moved back past `nbf` or `iat`: decide afresh below.
            cache.forget(&digest);
        }

        let verified = Arc::new(self.verify_uncached(token, digest, now)?);
        if let Some(cache) = &self.inner.cache {
            cache.insert(Arc::clone(&verified));
        }
        Ok(verified)
    }

    /// Like [`verify`](Self::verify), but when the issuer has no key with the token's `kid`
    /// it asks the issuer's key source to refresh (a remote source fetches its JWKS at most
    /// once per 30 s) and tries once more.
    ///
    /// # Errors
    ///
    /// [`VerifyError`] as for `verify`, or [`VerifyError::KeyFetch`] when the refresh failed.
    pub async fn verify_refreshing_keys(
        &self,
        token: &str,
    ) -> Result<Arc<VerifiedToken>, VerifyError> {
        let (iss, source) = match self.verify(token) {
            Err(VerifyError::UnknownKey { iss, .. }) => {
                let Some(source) = self.inner.issuers.get(&iss).cloned() else {
                    return Err(VerifyError::UntrustedIssuer { iss });
                };
                (iss, source)
            }
            other => return other,
        };
        if let Err(source) = source.refresh().await {
            return Err(VerifyError::KeyFetch { iss, source });
        }
        self.verify(token)
    }

    /// How many verified tokens the cache holds (0 without a cache).
    #[must_use]
    pub fn cached_tokens(&self) -> usize {
        self.inner.cache.as_ref().map_or(0, TokenCache::len)
    }

    fn verify_uncached(
        &self,
        token: &str,
        digest: TokenDigest,
        now: NumericDate,
    ) -> Result<VerifiedToken, VerifyError> {
        let compact = jws::decode_compact(token)?;
        let header = jws::check_header(&compact.header)?;

        // RFC 9068 §4: the issuer must be one we trust, compared exactly; its source alone
        // supplies the key, and the key alone decides the algorithm.
        let iss = claims::peek_issuer(&compact.payload)?;
        let Some(source) = self.inner.issuers.get(iss) else {
            return Err(VerifyError::UntrustedIssuer {
                iss: iss.to_owned(),
            });
        };
        let Some(key) = source.find(&header.kid) else {
            return Err(VerifyError::UnknownKey {
                iss: iss.to_owned(),
                kid: header.kid,
            });
        };
        if key.algorithm() != header.alg {
            let kid = header.kid;
            return Err(VerifyError::AlgorithmMismatch {
                token: header.alg,
                key: key.algorithm(),
                kid,
            });
        }
        if !key.verifies(compact.signing_input.as_bytes(), &compact.signature) {
            return Err(VerifyError::BadSignature { kid: header.kid });
        }

        let claims = claims::parse_claims(compact.payload)?;
        self.check_times(&claims, now)?;
        self.check_audience(&claims)?;
        Ok(VerifiedToken {
            claims,
            kid: header.kid,
            algorithm: header.alg,
            digest,
        })
    }

    /// RFC 7519 §4.1.4 and §4.1.5, each with the configured leeway; `iat` may not be ahead.
    fn check_times(&self, claims: &Claims, now: NumericDate) -> Result<(), VerifyError> {
        let leeway = self.inner.leeway;
        if now.saturating_sub(leeway) > claims.exp {
            return Err(VerifyError::Expired {
                exp: claims.exp,
                now,
            });
        }
        if let Some(nbf) = claims.nbf
            && nbf > now.saturating_add(leeway)
        {
            return Err(VerifyError::NotYetValid { nbf, now });
        }
        if claims.iat > now.saturating_add(leeway) {
            return Err(VerifyError::IssuedInFuture {
                iat: claims.iat,
                now,
            });
        }
        Ok(())
    }

    fn check_audience(&self, claims: &Claims) -> Result<(), VerifyError> {
        match &self.inner.audience {
            AudienceRule::AnyOfThisIssuer => Ok(()),
            AudienceRule::OneOf(expected) => {
                if expected
                    .iter()
                    .any(|audience| claims.aud.contains(audience))
                {
                    return Ok(());
                }
                Err(VerifyError::AudienceMismatch {
                    found: claims.aud.clone(),
                    expected: expected.clone(),
                })
            }
        }
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("issuers", &self.inner.issuers.keys())
            .field("audience", &self.inner.audience)
            .field("leeway", &self.inner.leeway)
            .field("cache", &self.inner.cache.is_some())
            .finish_non_exhaustive()
    }
}

/// Configures a [`Verifier`]; see [`Verifier::builder`].
#[must_use]
pub struct VerifierBuilder {
    issuers: Vec<(String, Arc<dyn KeySource>)>,
    audience: Option<AudienceCheck>,
    leeway: Duration,
    clock: Arc<dyn Clock>,
    cache_capacity: usize,
}

impl VerifierBuilder {
    /// Trusts tokens whose `iss` is exactly `iss`, verified with keys from `keys`.
    pub fn trust_issuer(mut self, iss: impl Into<String>, keys: impl KeySource + 'static) -> Self {
        self.issuers.push((iss.into(), Arc::new(keys)));
        self
    }

    /// Sets the audience check; required.
    pub fn audience(mut self, check: AudienceCheck) -> Self {
        self.audience = Some(check);
        self
    }

    /// Sets the clock-skew leeway (default [`DEFAULT_LEEWAY`]).
    pub const fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Sets the clock (default [`SystemClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sets how many verified tokens to remember (default [`DEFAULT_CACHE_CAPACITY`]); 0 turns
    /// the cache off.
    pub const fn cache_capacity(mut self, tokens: usize) -> Self {
        self.cache_capacity = tokens;
        self
    }

    /// Builds the verifier.
    ///
    /// # Errors
    ///
    /// [`BuildError`] without issuers, with an issuer trusted twice, without an audience
    /// check, with an empty audience list, or with "any audience" for several issuers.
    pub fn build(self) -> Result<Verifier, BuildError> {
        if self.issuers.is_empty() {
            return Err(BuildError::NoIssuer);
        }
        let count = self.issuers.len();
        let mut issuers = HashMap::with_capacity(count);
        for (iss, keys) in self.issuers {
            if issuers.contains_key(&iss) {
                return Err(BuildError::DuplicateIssuer { iss });
            }
            issuers.insert(iss, keys);
        }

        let Some(AudienceCheck(audience)) = self.audience else {
            return Err(BuildError::NoAudienceCheck);
        };
        match &audience {
            AudienceRule::OneOf(expected) if expected.is_empty() => {
                return Err(BuildError::EmptyAudienceList);
            }
            AudienceRule::AnyOfThisIssuer if count != 1 => {
                return Err(BuildError::AnyAudienceNeedsOneIssuer { issuers: count });
            }
            _ => {}
        }

        let cache = (self.cache_capacity > 0).then(|| TokenCache::new(self.cache_capacity));
        let inner = Inner {
            issuers,
            audience,
            leeway: self.leeway,
            clock: self.clock,
            cache,
        };
        Ok(Verifier {
            inner: Arc::new(inner),
        })
    }
}

impl fmt::Debug for VerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let issuers: Vec<&str> = self.issuers.iter().map(|(iss, _)| iss.as_str()).collect();
        f.debug_struct("VerifierBuilder")
            .field("issuers", &issuers)
            .field("audience", &self.audience)
            .field("leeway", &self.leeway)
            .field("cache_capacity", &self.cache_capacity)
            .finish_non_exhaustive()
    }
}
