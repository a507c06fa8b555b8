//! The on-disk key store: the IdP's signing keys, their rotation, and the JWKS that publishes
//! them.
//!
//! Layout of the key directory (created 0700 when missing), one pair of files per key, both
//! 0600 and written atomically:
//!
//! * `<kid>.pk8`: the private key, PKCS#8 DER;
//! * `<kid>.json`: `{"kid","alg","created_at","retired_at"}` with Unix seconds.
//!
//! The `kid` is the RFC 7638 thumbprint of the public key. Exactly one key is active (the one
//! without `retired_at`); it signs every new token. A retired key stays published, and keeps
//! verifying, until `retired_at + max_token_lifetime`, when its last token has expired; its
//! files are removed the next time the store opens, rotates or reloads.
//!
//! The store expects one process at a time to change a directory. A server sees a rotation
//! made by another process (`scopegate keys rotate`) after [`KeyStore::reload`] or a restart.

mod files;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::claims::Claims;
use crate::clock::{Clock, NumericDate};
use crate::error::{KeyStoreError, SignError};
use crate::jwks::Jwks;
use crate::keys::{Algorithm, SigningKey, VerificationKey};
use crate::source::KeySource;

/// How a [`KeyStore`] signs and how long its retired keys stay published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyStoreConfig {
    /// The algorithm of the active key; opening a store whose active key has another algorithm
    /// rotates to a new key of this one.
    pub algorithm: Algorithm,
    /// The longest lifetime of any token the keys sign; a retired key is dropped this long
    /// after its retirement.
    pub max_token_lifetime: Duration,
}

/// A directory of signing keys; see the module documentation for its layout.
pub struct KeyStore {
    dir: PathBuf,
    config: KeyStoreConfig,
    clock: Arc<dyn Clock>,
    ring: SharedRing,
    /// Serialises rotation and reload within this process.
    writing: Mutex<()>,
}

/// One key as [`KeyStore::list`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// The key id.
    pub kid: String,
    /// The key's algorithm.
    pub algorithm: Algorithm,
    /// When the key was generated.
    pub created_at: NumericDate,
    /// When the key was retired; `None` for the active key.
    pub retired_at: Option<NumericDate>,
    /// When a retired key leaves the JWKS.
    pub published_until: Option<NumericDate>,
    /// Whether the key signs new tokens.
    pub active: bool,
}

impl KeyStore {
    /// Opens the key directory `dir`, creating it (0700) and a first key when needed.
    ///
    /// Also repairs what an interrupted rotation can leave (two active keys: the newest stays
    /// active), rotates when the active key's algorithm differs from `config.algorithm`, and
    /// removes keys whose last token has expired.
    ///
    /// # Errors
    ///
    /// [`KeyStoreError`] for file-system failures, private key files readable by others,
    /// metadata this crate did not write, and keys that do not parse.
    pub fn open(
        dir: impl Into<PathBuf>,
        config: KeyStoreConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, KeyStoreError> {
        let dir = dir.into();
        files::create_private_dir(&dir)?;
        let ring = load(&dir, config, clock.now())?;
        let ring = Arc::new(RwLock::new(Arc::new(ring)));
        Ok(Self {
            dir,
            config,
            clock,
            ring,
            writing: Mutex::new(()),
        })
    }

    /// A handle that signs with whichever key is active at the time of each call.
    #[must_use]
    pub fn signer(&self) -> Signer {
        Signer {
            ring: Arc::clone(&self.ring),
        }
    }

    /// A [`KeySource`] over the published keys, for verifying this IdP's own tokens and for
    /// serving its JWKS.
    #[must_use]
    pub fn verification_keys(&self) -> LocalKeys {
        LocalKeys {
            ring: Arc::clone(&self.ring),
            clock: Arc::clone(&self.clock),
        }
    }

    /// The JWKS: the active key and every retired key still within its grace period.
    #[must_use]
    pub fn jwks(&self) -> Jwks {
        self.verification_keys().jwks()
    }

    /// Every published key, oldest first, for `scopegate keys list`.
    #[must_use]
    pub fn list(&self) -> Vec<KeyInfo> {
        let ring = read(&self.ring);
        let now = self.clock.now();
        let mut keys: Vec<KeyInfo> = ring
            .retired
            .iter()
            .filter(|retired| retired.published_at(now))
            .map(|retired| KeyInfo {
                kid: retired.key.kid().to_owned(),
                algorithm: retired.key.algorithm(),
                created_at: retired.created_at,
                retired_at: Some(retired.retired_at),
                published_until: Some(retired.drop_at),
                active: false,
            })
            .collect();
        keys.push(ring.active_info());
        keys
    }

    /// The active key.
    #[must_use]
    pub fn active(&self) -> KeyInfo {
        read(&self.ring).active_info()
    }

    /// Makes a new active key and retires the current one, which stays published until its
    /// last token has expired. Signers and key sources from this store see the change at once.
    ///
    /// # Errors
    ///
    /// [`KeyStoreError`] when the new key cannot be generated or written; the store is then
    /// unchanged in memory.
    pub fn rotate(&self) -> Result<KeyInfo, KeyStoreError> {
        let _writing = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        let now = self.clock.now();
        let current = read(&self.ring);

        let active = create_key(&self.dir, self.config.algorithm, now)?;
        let created = current.active_created;
        let retired_at = record_retirement(&self.dir, &current.active, created, now)?;
        let mut retired = prune(&self.dir, current.retired.clone(), now)?;
        retired.push(retired_key(
            &current.active,
            created,
            retired_at,
            self.config,
        ));

        let ring = KeyRing {
            active,
            active_created: now,
            retired,
        };
        let info = ring.active_info();
        *self.ring.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(ring);
        Ok(info)
    }

    /// Reads the directory again, picking up a rotation made by another process.
    ///
    /// # Errors
    ///
    /// As for [`KeyStore::open`]; the store is then unchanged in memory.
    pub fn reload(&self) -> Result<(), KeyStoreError> {
        let _writing = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        let ring = load(&self.dir, self.config, self.clock.now())?;
        *self.ring.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(ring);
        Ok(())
    }

    /// The key directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStore")
            .field("dir", &self.dir)
            .field("config", &self.config)
            .field("active", &read(&self.ring).active.kid())
            .finish_non_exhaustive()
    }
}

/// Signs tokens with the active key of a [`KeyStore`] (or with one fixed key).
///
/// Cheap to clone. Each call reads the active key afresh, so a signer kept across a rotation
/// signs with the new key.
#[derive(Clone)]
pub struct Signer {
    ring: SharedRing,
}

impl Signer {
    /// A signer with one fixed key and nothing retired, for tests and tools without a store.
    #[must_use]
    pub fn from_key(key: SigningKey) -> Self {
        let ring = KeyRing {
            active: Arc::new(key),
            active_created: NumericDate::EPOCH,
            retired: vec![],
        };
        Self {
            ring: Arc::new(RwLock::new(Arc::new(ring))),
        }
    }

    /// Signs `claims` into a compact JWS, header `{"alg","typ":"at+jwt","kid"}`.
    ///
    /// # Errors
    ///
    /// [`SignError`] when the claims cannot be serialised or the crypto library fails.
    pub fn sign(&self, claims: &Claims) -> Result<String, SignError> {
        let active = Arc::clone(&read(&self.ring).active);
        active.sign(claims)
    }

    /// The `kid` new tokens are signed with.
    #[must_use]
    pub fn kid(&self) -> String {
        read(&self.ring).active.kid().to_owned()
    }

    /// The algorithm new tokens are signed with.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        read(&self.ring).active.algorithm()
    }
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("kid", &self.kid())
            .finish_non_exhaustive()
    }
}

/// The published keys of a [`KeyStore`], as a [`KeySource`] and as a JWKS.
#[derive(Clone)]
pub struct LocalKeys {
    ring: SharedRing,
    clock: Arc<dyn Clock>,
}

impl LocalKeys {
    /// The JWKS: the active key, then retired keys still within their grace period.
    #[must_use]
    pub fn jwks(&self) -> Jwks {
        let ring = read(&self.ring);
        let now = self.clock.now();
        let retired = ring
            .retired
            .iter()
            .rev()
            .filter(|retired| retired.published_at(now));
        let keys = std::iter::once(Arc::clone(ring.active.verification_key()))
            .chain(retired.map(|retired| Arc::clone(&retired.key)))
            .collect();
        Jwks::new(keys)
    }
}

impl KeySource for LocalKeys {
    fn find(&self, kid: &str) -> Option<Arc<VerificationKey>> {
        let ring = read(&self.ring);
        if ring.active.kid() == kid {
            return Some(Arc::clone(ring.active.verification_key()));
        }
        let now = self.clock.now();
        ring.retired
            .iter()
            .find(|retired| retired.key.kid() == kid && retired.published_at(now))
            .map(|retired| Arc::clone(&retired.key))
    }
}

impl std::fmt::Debug for LocalKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ring = read(&self.ring);
        let retired: Vec<&str> = ring
            .retired
            .iter()
            .map(|retired| retired.key.kid())
            .collect();
        f.debug_struct("LocalKeys")
            .field("active", &ring.active.kid())
            .field("retired", &retired)
            .finish_non_exhaustive()
    }
}

type SharedRing = Arc<RwLock<Arc<KeyRing>>>;

/// The keys in memory: one active signing key and the retired public keys.
struct KeyRing {
    active: Arc<SigningKey>,
    active_created: NumericDate,
    retired: Vec<RetiredKey>,
}

impl KeyRing {
    fn active_info(&self) -> KeyInfo {
        KeyInfo {
            kid: self.active.kid().to_owned(),
            algorithm: self.active.algorithm(),
            created_at: self.active_created,
            retired_at: None,
            published_until: None,
            active: true,
        }
    }
}

#[derive(Clone)]
struct RetiredKey {
    key: Arc<VerificationKey>,
    created_at: NumericDate,
    retired_at: NumericDate,
    /// `retired_at + max_token_lifetime`: from then on no token of this key is valid.
    drop_at: NumericDate,
}

impl RetiredKey {
    fn published_at(&self, now: NumericDate) -> bool {
        now < self.drop_at
    }
}

/// The metadata file of one key.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyMeta {
    kid: String,
    alg: Algorithm,
    created_at: NumericDate,
    retired_at: Option<NumericDate>,
}

/// A key read from disk.
struct StoredKey {
    key: SigningKey,
    created_at: NumericDate,
    retired_at: Option<NumericDate>,
}

fn read(ring: &SharedRing) -> Arc<KeyRing> {
    Arc::clone(&ring.read().unwrap_or_else(PoisonError::into_inner))
}

/// Reads every key in `dir` and brings the directory to a consistent state at `now`.
fn load(dir: &Path, config: KeyStoreConfig, now: NumericDate) -> Result<KeyRing, KeyStoreError> {
    let mut stored = Vec::new();
    for name in files::list(dir)? {
        if let Some(kid) = name.strip_suffix(".json").filter(|kid| is_kid(kid)) {
            stored.push(read_key(dir, kid)?);
        }
    }
    stored.sort_by(|a, b| (a.created_at, a.key.kid()).cmp(&(b.created_at, b.key.kid())));

    // The newest key without `retired_at` is active. An older one is what a rotation cut
    // short between its writes leaves; retiring it now keeps it published long enough.
    let newest_active = stored.iter().rposition(|key| key.retired_at.is_none());
    let active = newest_active.map(|index| stored.remove(index));
    let mut retired = Vec::with_capacity(stored.len() + 1);
    for key in stored {
        let retired_at = match key.retired_at {
            Some(retired_at) => retired_at,
            None => record_retirement(dir, &key.key, key.created_at, now)?,
        };
        retired.push(retired_key(&key.key, key.created_at, retired_at, config));
    }

    // First use, or a new algorithm in the configuration: generate the active key.
    let (active, active_created) = match active {
        Some(key) if key.key.algorithm() == config.algorithm => (Arc::new(key.key), key.created_at),
        previous => {
            if let Some(old) = previous {
                let retired_at = record_retirement(dir, &old.key, old.created_at, now)?;
                retired.push(retired_key(&old.key, old.created_at, retired_at, config));
            }
            (create_key(dir, config.algorithm, now)?, now)
        }
    };
    let retired = prune(dir, retired, now)?;
    Ok(KeyRing {
        active,
        active_created,
        retired,
    })
}

/// Reads the metadata and private key of `kid`, checking that they belong together.
fn read_key(dir: &Path, kid: &str) -> Result<StoredKey, KeyStoreError> {
    let meta_path = dir.join(format!("{kid}.json"));
    let meta: KeyMeta = serde_json::from_slice(&files::read(&meta_path)?).map_err(|source| {
        KeyStoreError::Metadata {
            path: meta_path.clone(),
            source,
        }
    })?;
    if meta.kid != kid {
        let thumbprint = kid.to_owned();
        return Err(KeyStoreError::KidMismatch {
            path: meta_path,
            kid: meta.kid,
            thumbprint,
        });
    }

    let key_path = private_key_path(dir, kid);
    if !key_path.exists() {
        return Err(KeyStoreError::MissingPrivateKey {
            kid: meta.kid,
            path: key_path,
        });
    }
    let der = files::read_private(&key_path)?;
    let key = SigningKey::from_pkcs8(meta.alg, &der).map_err(|source| KeyStoreError::Key {
        kid: meta.kid.clone(),
        source,
    })?;
    if key.kid() != meta.kid {
        let thumbprint = key.kid().to_owned();
        return Err(KeyStoreError::KidMismatch {
            path: meta_path,
            kid: meta.kid,
            thumbprint,
        });
    }
    Ok(StoredKey {
        key,
        created_at: meta.created_at,
        retired_at: meta.retired_at,
    })
}

/// Generates a key of `alg` and writes it: private key first, then the metadata that makes
/// it count, so a crash in between leaves only an ignored file.
fn create_key(
    dir: &Path,
    alg: Algorithm,
    now: NumericDate,
) -> Result<Arc<SigningKey>, KeyStoreError> {
    let (key, der) = SigningKey::generate_with_pkcs8(alg).map_err(|source| KeyStoreError::Key {
        kid: "new".to_owned(),
        source,
    })?;
    files::write_atomic(&private_key_path(dir, key.kid()), &der)?;
    write_meta(dir, &key, now, None)?;
    Ok(Arc::new(key))
}

/// Writes `retired_at = now` into the metadata of `key`; returns `now`.
fn record_retirement(
    dir: &Path,
    key: &SigningKey,
    created_at: NumericDate,
    now: NumericDate,
) -> Result<NumericDate, KeyStoreError> {
    write_meta(dir, key, created_at, Some(now))?;
    Ok(now)
}

fn write_meta(
    dir: &Path,
    key: &SigningKey,
    created_at: NumericDate,
    retired_at: Option<NumericDate>,
) -> Result<(), KeyStoreError> {
    let meta = KeyMeta {
        kid: key.kid().to_owned(),
        alg: key.algorithm(),
        created_at,
        retired_at,
    };
    let path = dir.join(format!("{}.json", meta.kid));
    let text = serde_json::to_vec_pretty(&meta).map_err(|source| KeyStoreError::Metadata {
        path: path.clone(),
        source,
    })?;
    files::write_atomic(&path, &text)
}

fn retired_key(
    key: &SigningKey,
    created_at: NumericDate,
    retired_at: NumericDate,
    config: KeyStoreConfig,
) -> RetiredKey {
    RetiredKey {
        key: Arc::clone(key.verification_key()),
        created_at,
        retired_at,
        drop_at: retired_at.saturating_add(config.max_token_lifetime),
    }
}

/// Removes the files of retired keys whose last token has expired; returns the others.
fn prune(
    dir: &Path,
    retired: Vec<RetiredKey>,
    now: NumericDate,
) -> Result<Vec<RetiredKey>, KeyStoreError> {
    let mut kept = Vec::with_capacity(retired.len());
    for key in retired {
        if key.published_at(now) {
            kept.push(key);
            continue;
        }
        // Metadata first: without it the private key file is ignored, never half-loaded.
        files::remove(&dir.join(format!("{}.json", key.key.kid())))?;
        files::remove(&private_key_path(dir, key.key.kid()))?;
    }
    Ok(kept)
}

fn private_key_path(dir: &Path, kid: &str) -> PathBuf {
    dir.join(format!("{kid}.pk8"))
}

/// Whether a file stem can be a `kid` of ours: base64url characters only, so a stray file can
/// never steer a path.
fn is_kid(stem: &str) -> bool {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    !stem.is_empty() && stem.len() <= 128 && stem.chars().all(allowed)
}

#[cfg(test)]
mod tests;
