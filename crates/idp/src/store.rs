//! The IdP's durable state: refresh tokens (by digest, never raw) and revocations.
//!
//! [`Store`] is deliberately small and synchronous: every call is one short transaction, and
//! the server runs them on tokio's blocking pool so the async runtime never waits on disk.
//! A shared database backend for several IdP replicas implements the same trait.
//! [`SqliteStore`] is the embedded default.

mod sqlite;

use scopegate_token::NumericDate;
use thiserror::Error;

pub use sqlite::SqliteStore;

/// Durable IdP state behind one interface.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Saves a newly issued refresh token.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend fails.
    fn insert_refresh_token(&self, record: &RefreshRecord) -> Result<(), StoreError>;

    /// Marks an active, unexpired refresh token as used and returns it, in one transaction.
    ///
    /// Presenting a token that was already used is the replay RFC 9700 §4.14.2 describes:
    /// the whole family is revoked before this returns [`Consumed::Reused`].
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend fails.
    fn consume_refresh_token(&self, digest: &str, now: NumericDate)
    -> Result<Consumed, StoreError>;

    /// Looks a refresh token up without changing it.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend fails.
    fn find_refresh_token(&self, digest: &str) -> Result<Option<StoredRefresh>, StoreError>;

    /// Records that an access token was issued from a refresh family, so revoking the family
    /// revokes it too.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend fails.
    fn record_family_access_token(
        &self,
        family_id: &str,
        revocation: &Revocation,
    ) -> Result<(), StoreError>;

    /// Revokes every refresh token of a family and every access token issued from it; returns
    /// those access tokens' revocations.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend fails.
    fn revoke_family(
        &self,
        family_id: &str,
        now: NumericDate,
    ) -> Result<Vec<Revocation>, StoreError>;

    /// Records one revoked access-token id.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend fails.
    fn revoke_token_id(&self, revocation: &Revocation, now: NumericDate) -> Result<(), StoreError>;

    /// Every revocation that has not yet passed its expiry.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend fails.
    fn revocations(&self, now: NumericDate) -> Result<Vec<Revocation>, StoreError>;

    /// Deletes revocations and refresh tokens that expired before `now`; returns how many.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend fails.
    fn prune(&self, now: NumericDate) -> Result<usize, StoreError>;
}

/// What a refresh token stands for: one login of one user at one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    /// SHA-256 hex of the refresh token.
    pub digest: String,
    /// The rotation family: every successor of the first token shares it.
    pub family_id: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The user (`sub`).
    pub subject: String,
    /// The scopes granted at login; a refresh may narrow them but never widen them.
    pub scopes: Vec<String>,
    /// The audience of the access tokens it yields.
    pub audience: String,
    /// When the user last actually authenticated (copied into every access token).
    pub auth_time: NumericDate,
    /// The authentication methods of that login.
    pub amr: Vec<String>,
    /// The authentication context class of that login.
    pub acr: Option<String>,
    /// When this token was issued.
    pub issued_at: NumericDate,
    /// When this token stops being usable.
    pub expires_at: NumericDate,
}

/// The state a stored refresh token is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshStatus {
    /// Usable once.
    Active,
    /// Already exchanged for a successor.
    Used,
    /// Revoked, alone or with its family.
    Revoked,
}

/// A stored refresh token and its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRefresh {
    /// The record.
    pub record: RefreshRecord,
    /// Its state.
    pub status: RefreshStatus,
}

/// The outcome of [`Store::consume_refresh_token`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Consumed {
    /// The token was active and is now used; here is what it stood for.
    Fresh(RefreshRecord),
    /// The token had been used before: its family is now revoked, with these access tokens.
    Reused {
        /// The record presented.
        record: RefreshRecord,
        /// The access-token revocations the family revocation produced.
        revoked: Vec<Revocation>,
    },
    /// The token or its family was revoked.
    Revoked(RefreshRecord),
    /// The token is past its expiry.
    Expired(RefreshRecord),
    /// No such token.
    Unknown,
}

/// A revoked access-token id and when it may be forgotten.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Revocation {
    /// The revoked token's `jti`.
    pub jti: String,
    /// The revoked token's `exp`: after it, neither the token nor anything exchanged from it
    /// can be valid, so the revocation can be pruned.
    pub expires_at: NumericDate,
}

/// The backend failed; the request cannot be answered safely.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The SQLite database reported an error.
    #[error("sqlite store failed while {operation}")]
    Sqlite {
        /// What the store was doing.
        operation: &'static str,
        /// The database error.
        source: rusqlite::Error,
    },
    /// A stored value could not be read back.
    #[error("sqlite store holds an unreadable `{column}` value")]
    Corrupt {
        /// The column.
        column: &'static str,
    },
    /// The blocking task running the store call did not complete.
    #[error("the store task did not complete")]
    TaskFailed,
}
