//! [`IdpState`]: everything the endpoints share, behind one cheaply cloned handle.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use scopegate_audit::{AuditEvent, AuditLog, EventTime};
use scopegate_token::{
    AudienceCheck, BuildError, Claims, Clock, KeyStore, LocalKeys, NumericDate, Signer,
    VerifiedToken, Verifier, VerifyError,
};
use thiserror::Error;
use tokio::sync::Semaphore;

use crate::config::IdpConfig;
use crate::directory::Directory;
use crate::error::IdpError;
use crate::rate::{RateKey, RateLimiter};
use crate::revocation::RevocationList;
use crate::secret::{HashMemory, PasswordHashString};
use crate::store::{Revocation, Store, StoreError};
use crate::totp::ReplayGuard;

/// The shared state of one IdP: configuration, keys, store, audit log and clock.
#[derive(Clone)]
pub struct IdpState {
    inner: Arc<Inner>,
}

struct Inner {
    config: IdpConfig,
    signer: Signer,
    keys: LocalKeys,
    verifier: Verifier,
    store: Arc<dyn Store>,
    revocations: RevocationList,
    audit: AuditLog,
    clock: Arc<dyn Clock>,
    totp: ReplayGuard,
    token_rate: RateLimiter,
    password_rate: RateLimiter,
    /// One permit per core for argon2: more hashes at once than cores only queue inside the
    /// CPU, and each holds its memory (4 MiB to 19 MiB) while it waits.
    password_checks: Semaphore,
    /// argon2's working memory, one per permit at most, reused from login to login.
    hash_memory: Mutex<Vec<HashMemory>>,
}

/// Why the state could not be assembled.
#[derive(Debug, Error)]
pub enum StateError {
    /// The verifier of the IdP's own tokens could not be built.
    #[error("cannot build the token verifier")]
    Verifier(#[from] BuildError),
    /// The store could not be pruned or its revocations loaded.
    #[error("cannot load the revocation list")]
    Store(#[from] StoreError),
}

impl IdpState {
    /// Assembles the state and loads the revocation list from `store`.
    ///
    /// This blocks on the store while loading; call it at startup, before serving.
    ///
    /// # Errors
    ///
    /// [`StateError`] when the verifier cannot be built or the store fails.
    pub fn new(
        config: IdpConfig,
        keys: &KeyStore,
        store: Arc<dyn Store>,
        audit: AuditLog,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StateError> {
        // The IdP checks only its own tokens, with its own clock: no leeway, so a subject token
        // is never accepted past its `exp` (rule 6).
        let verifier = Verifier::builder()
            .trust_issuer(config.issuer.as_str(), keys.verification_keys())
            .audience(AudienceCheck::any_audience_of_this_issuer())
            .leeway(Duration::ZERO)
            .clock(Arc::clone(&clock))
            .build()?;
        let now = clock.now();
        store.prune(now)?;
        let revocations = RevocationList::from_revocations(store.revocations(now)?);
        let token_rate = RateLimiter::new(config.token_rate);
        let password_rate = RateLimiter::new(config.password_rate);
        let inner = Inner {
            token_rate,
            password_rate,
            password_checks: Semaphore::new(
                std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
            ),
            hash_memory: Mutex::new(Vec::new()),
            config,
            signer: keys.signer(),
            keys: keys.verification_keys(),
            verifier,
            store,
            revocations,
            audit,
            clock,
            totp: ReplayGuard::default(),
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &IdpConfig {
        &self.inner.config
    }

    /// The directory.
    #[must_use]
    pub fn directory(&self) -> &Directory {
        &self.inner.config.directory
    }

    /// The current time on the IdP's clock.
    #[must_use]
    pub fn now(&self) -> NumericDate {
        self.inner.clock.now()
    }

    /// Forgets revocations and refresh tokens that have expired, in the store and in memory.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store fails.
    pub async fn prune_expired(&self) -> Result<usize, StoreError> {
        let now = self.now();
        let removed = self.blocking(move |store| store.prune(now)).await?;
        self.inner.revocations.prune(now);
        Ok(removed)
    }

    pub(crate) fn verify(&self, token: &str) -> Result<Arc<VerifiedToken>, VerifyError> {
        self.inner.verifier.verify(token)
    }

    pub(crate) fn is_revoked(&self, claims: &Claims) -> bool {
        self.inner.revocations.is_revoked(claims)
    }

    pub(crate) fn sign(&self, claims: &Claims) -> Result<String, IdpError> {
        Ok(self.inner.signer.sign(claims)?)
    }

    pub(crate) fn keys(&self) -> &LocalKeys {
        &self.inner.keys
    }

    pub(crate) fn totp_guard(&self) -> &ReplayGuard {
        &self.inner.totp
    }

    /// Spends one token-endpoint request of `key`'s budget.
    pub(crate) fn charge(&self, key: &RateKey) -> Result<(), IdpError> {
        // Wall-clock time, not the IdP's clock: budgets refill in real time even in tests that
        // hold the token clock still.
        self.inner
            .token_rate
            .acquire(key, std::time::Instant::now())
            .map_err(|throttled| IdpError::RateLimited {
                key: key.clone(),
                retry_after_seconds: throttled.retry_after_seconds(),
            })
    }

    /// Spends one password attempt of `username`'s budget.
    pub(crate) fn charge_password_attempt(&self, username: &str) -> Result<(), IdpError> {
        let key = RateKey::User(username.to_owned());
        self.inner
            .password_rate
            .acquire(&key, std::time::Instant::now())
            .map_err(|throttled| IdpError::RateLimited {
                key,
                retry_after_seconds: throttled.retry_after_seconds(),
            })
    }

    /// Refuses at once a `key` whose budget is already spent, without spending any.
    pub(crate) fn check_budget(&self, key: &RateKey) -> Result<(), IdpError> {
        self.inner
            .token_rate
            .check(key, std::time::Instant::now())
            .map_err(|throttled| IdpError::RateLimited {
                key: key.clone(),
                retry_after_seconds: throttled.retry_after_seconds(),
            })
    }

    /// Appends an audit record and waits until it is durable.
    pub(crate) async fn record(&self, event: AuditEvent) -> Result<(), IdpError> {
        self.inner.audit.append(event).await?;
        Ok(())
    }

    /// The audit timestamp for now, from the IdP's clock (so tests that move time agree).
    pub(crate) fn event_time(&self) -> EventTime {
        let millis = self.now().as_unix_seconds().saturating_mul(1000);
        EventTime::from_unix_millis(millis).unwrap_or_else(|_| EventTime::now())
    }

    /// Makes revocations durable, then visible to every check.
    pub(crate) async fn revoke(&self, revocations: Vec<Revocation>) -> Result<(), IdpError> {
        let now = self.now();
        let to_store = revocations.clone();
        self.blocking(move |store| {
            to_store
                .iter()
                .try_for_each(|revocation| store.revoke_token_id(revocation, now))
        })
        .await?;
        self.inner.revocations.extend(revocations);
        Ok(())
    }

    /// Adds revocations the store already made durable (a family revoked inside a store call).
    pub(crate) fn mirror_revocations(&self, revocations: Vec<Revocation>) {
        self.inner.revocations.extend(revocations);
    }

    /// Whether the audit log accepts records (readiness).
    pub(crate) fn audit_healthy(&self) -> bool {
        self.inner.audit.healthy()
    }

    /// Whether `password` matches `hash`: an argon2 verification on the blocking pool, run once
    /// one of the per-core permits is free (callers wait in line, within the server's request
    /// limits) and with working memory reused from earlier logins.
    pub(crate) async fn password_matches(
        &self,
        hash: PasswordHashString,
        password: String,
    ) -> Result<bool, IdpError> {
        let _permit = self
            .inner
            .password_checks
            .acquire()
            .await
            .map_err(|_| IdpError::TaskFailed)?;
        let state = self.clone();
        tokio::task::spawn_blocking(move || {
            let pool = &state.inner.hash_memory;
            let mut memory = pool
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop()
                .unwrap_or_default();
            let matches = hash.verify_with(&password, &mut memory);
            pool.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(memory);
            matches
        })
        .await
        .map_err(|_| IdpError::TaskFailed)
    }

    /// Runs a store call on the blocking pool.
    pub(crate) async fn blocking<T, F>(&self, call: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = Arc::clone(&self.inner.store);
        tokio::task::spawn_blocking(move || call(store.as_ref()))
            .await
            .map_err(|_| StoreError::TaskFailed)?
    }
}

impl fmt::Debug for IdpState {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("IdpState")
            .field("issuer", &self.inner.config.issuer)
            .field("development_mode", &self.inner.config.development_mode)
            .field("revocations", &self.inner.revocations.len())
            .finish_non_exhaustive()
    }
}
