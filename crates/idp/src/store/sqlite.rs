//! [`SqliteStore`]: the embedded [`Store`], one SQLite file in WAL mode.
//!
//! One connection behind a mutex serialises the store's own calls; each call is a single
//! short transaction. `synchronous = FULL` makes a committed revocation survive power loss,
//! not only a process restart.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use scopegate_token::NumericDate;

use super::{Consumed, RefreshRecord, RefreshStatus, Revocation, Store, StoreError, StoredRefresh};

/// The schema, created on open when missing. `user_version` marks the layout.
const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS refresh_tokens (
        digest      TEXT PRIMARY KEY,
        family_id   TEXT NOT NULL,
        client_id   TEXT NOT NULL,
        subject     TEXT NOT NULL,
        scopes      TEXT NOT NULL,
        audience    TEXT NOT NULL,
        auth_time   INTEGER NOT NULL,
        amr         TEXT NOT NULL,
        acr         TEXT,
        issued_at   INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL,
        status      TEXT NOT NULL CHECK (status IN ('active', 'used', 'revoked'))
    ) STRICT;
    CREATE INDEX IF NOT EXISTS refresh_tokens_family ON refresh_tokens (family_id);
    CREATE TABLE IF NOT EXISTS family_access_tokens (
        jti         TEXT PRIMARY KEY,
        family_id   TEXT NOT NULL,
        expires_at  INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX IF NOT EXISTS family_access_tokens_family ON family_access_tokens (family_id);
    CREATE TABLE IF NOT EXISTS revocations (
        jti         TEXT PRIMARY KEY,
        expires_at  INTEGER NOT NULL,
        revoked_at  INTEGER NOT NULL
    ) STRICT;
    PRAGMA user_version = 1;
";

/// The columns of `refresh_tokens` in the order [`record_from_row`] reads them.
const REFRESH_COLUMNS: &str = "digest, family_id, client_id, subject, scopes, audience, \
     auth_time, amr, acr, issued_at, expires_at, status";

/// The embedded SQLite store.
#[derive(Debug)]
pub struct SqliteStore {
    connection: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating when missing) the database at `path`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when the file cannot be opened or the schema created.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let connection = Connection::open(path).map_err(sqlite("opening the database"))?;
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(sqlite("enabling write-ahead logging"))?;
        Self::initialise(connection)
    }

    /// A private in-memory database, for tests and throw-away servers.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when SQLite cannot allocate it.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let connection = Connection::open_in_memory().map_err(sqlite("opening the database"))?;
        Self::initialise(connection)
    }

    fn initialise(connection: Connection) -> Result<Self, StoreError> {
        connection
            .pragma_update(None, "synchronous", "FULL")
            .map_err(sqlite("setting synchronous mode"))?;
        connection
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sqlite("setting the busy timeout"))?;
        connection
            .execute_batch(SCHEMA)
            .map_err(sqlite("creating the schema"))?;
        Ok(Self {
            connection: Mutex::new(connection),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves no half-done transaction behind (SQLite rolls
        // it back when the transaction object drops), so the connection is still usable.
        self.connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Store for SqliteStore {
    fn insert_refresh_token(&self, record: &RefreshRecord) -> Result<(), StoreError> {
        insert_refresh(&self.lock(), record).map_err(sqlite("saving a refresh token"))?;
        Ok(())
    }

    fn consume_refresh_token(
        &self,
        digest: &str,
        now: NumericDate,
    ) -> Result<Consumed, StoreError> {
        let mut connection = self.lock();
        let operation = "consuming a refresh token";
        let transaction = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sqlite(operation))?;
        let Some(stored) = find_refresh(&transaction, digest)? else {
            return Ok(Consumed::Unknown);
        };
        let outcome = match stored.status {
            RefreshStatus::Revoked => Consumed::Revoked(stored.record),
            RefreshStatus::Used => {
                // RFC 9700 §4.14.2: a second use means the token leaked; end the whole family.
                let revoked = revoke_family_in(&transaction, &stored.record.family_id, now)?;
                Consumed::Reused {
                    record: stored.record,
                    revoked,
                }
            }
            RefreshStatus::Active if stored.record.expires_at <= now => {
                Consumed::Expired(stored.record)
            }
            RefreshStatus::Active => {
                transaction
                    .execute(
                        "UPDATE refresh_tokens SET status = 'used' WHERE digest = ?1",
                        params![digest],
                    )
                    .map_err(sqlite(operation))?;
                Consumed::Fresh(stored.record)
            }
        };
        transaction.commit().map_err(sqlite(operation))?;
        Ok(outcome)
    }

    fn find_refresh_token(&self, digest: &str) -> Result<Option<StoredRefresh>, StoreError> {
        find_refresh(&self.lock(), digest)
    }

    fn record_family_access_token(
        &self,
        family_id: &str,
        revocation: &Revocation,
    ) -> Result<(), StoreError> {
        self.lock()
            .execute(
                "INSERT OR REPLACE INTO family_access_tokens (jti, family_id, expires_at) \
                 VALUES (?1, ?2, ?3)",
                params![
                    revocation.jti,
                    family_id,
                    revocation.expires_at.as_unix_seconds()
                ],
            )
            .map_err(sqlite("recording a family access token"))?;
        Ok(())
    }

    fn revoke_family(
        &self,
        family_id: &str,
        now: NumericDate,
    ) -> Result<Vec<Revocation>, StoreError> {
        let mut connection = self.lock();
        let operation = "revoking a refresh family";
        let transaction = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sqlite(operation))?;
        let revoked = revoke_family_in(&transaction, family_id, now)?;
        transaction.commit().map_err(sqlite(operation))?;
        Ok(revoked)
    }

    fn revoke_token_id(&self, revocation: &Revocation, now: NumericDate) -> Result<(), StoreError> {
        insert_revocation(&self.lock(), revocation, now)
    }

    fn revocations(&self, now: NumericDate) -> Result<Vec<Revocation>, StoreError> {
        let connection = self.lock();
        let operation = "loading revocations";
        let mut statement = connection
            .prepare("SELECT jti, expires_at FROM revocations WHERE expires_at > ?1")
            .map_err(sqlite(operation))?;
        let rows = statement
            .query_map(params![now.as_unix_seconds()], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
            })
            .map_err(sqlite(operation))?;
        let mut revocations = Vec::new();
        for row in rows {
            let (jti, expires_at) = row.map_err(sqlite(operation))?;
            revocations.push(Revocation {
                jti,
                expires_at: date(expires_at, "expires_at")?,
            });
        }
        Ok(revocations)
    }

    fn prune(&self, now: NumericDate) -> Result<usize, StoreError> {
        let connection = self.lock();
        let operation = "pruning expired state";
        let cutoff = now.as_unix_seconds();
        let mut removed = 0;
        for table in ["revocations", "family_access_tokens", "refresh_tokens"] {
            let sql = format!("DELETE FROM {table} WHERE expires_at <= ?1");
            removed += connection
                .execute(&sql, params![cutoff])
                .map_err(sqlite(operation))?;
        }
        Ok(removed)
    }
}

fn insert_refresh(connection: &Connection, record: &RefreshRecord) -> rusqlite::Result<usize> {
    connection.execute(
        "INSERT INTO refresh_tokens (digest, family_id, client_id, subject, scopes, audience, \
         auth_time, amr, acr, issued_at, expires_at, status) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'active')",
        params![
            record.digest,
            record.family_id,
            record.client_id,
            record.subject,
            record.scopes.join(" "),
            record.audience,
            record.auth_time.as_unix_seconds(),
            record.amr.join(" "),
            record.acr,
            record.issued_at.as_unix_seconds(),
            record.expires_at.as_unix_seconds(),
        ],
    )
}

fn find_refresh(
    connection: &Connection,
    digest: &str,
) -> Result<Option<StoredRefresh>, StoreError> {
    let sql = format!("SELECT {REFRESH_COLUMNS} FROM refresh_tokens WHERE digest = ?1");
    let raw = connection
        .query_row(&sql, params![digest], RawRefresh::from_row)
        .optional()
        .map_err(sqlite("looking up a refresh token"))?;
    raw.map(RawRefresh::into_stored).transpose()
}

fn revoke_family_in(
    connection: &Connection,
    family_id: &str,
    now: NumericDate,
) -> Result<Vec<Revocation>, StoreError> {
    let operation = "revoking a refresh family";
    connection
        .execute(
            "UPDATE refresh_tokens SET status = 'revoked' WHERE family_id = ?1",
            params![family_id],
        )
        .map_err(sqlite(operation))?;
    let mut statement = connection
        .prepare("SELECT jti, expires_at FROM family_access_tokens WHERE family_id = ?1")
        .map_err(sqlite(operation))?;
    let rows = statement
        .query_map(params![family_id], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })
        .map_err(sqlite(operation))?;
    let mut revoked = Vec::new();
    for row in rows {
        let (jti, expires_at) = row.map_err(sqlite(operation))?;
        let revocation = Revocation {
            jti,
            expires_at: date(expires_at, "expires_at")?,
        };
        insert_revocation(connection, &revocation, now)?;
        revoked.push(revocation);
    }
    Ok(revoked)
}

fn insert_revocation(
    connection: &Connection,
    revocation: &Revocation,
    now: NumericDate,
) -> Result<(), StoreError> {
    connection
        .execute(
            "INSERT OR IGNORE INTO revocations (jti, expires_at, revoked_at) VALUES (?1, ?2, ?3)",
            params![
                revocation.jti,
                revocation.expires_at.as_unix_seconds(),
                now.as_unix_seconds()
            ],
        )
        .map_err(sqlite("recording a revocation"))?;
    Ok(())
}

/// A `refresh_tokens` row before its values are checked.
struct RawRefresh {
    digest: String,
    family_id: String,
    client_id: String,
    subject: String,
    scopes: String,
    audience: String,
    auth_time: i64,
    amr: String,
    acr: Option<String>,
    issued_at: i64,
    expires_at: i64,
    status: String,
}

impl RawRefresh {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            digest: row.get(0)?,
            family_id: row.get(1)?,
            client_id: row.get(2)?,
            subject: row.get(3)?,
            scopes: row.get(4)?,
            audience: row.get(5)?,
            auth_time: row.get(6)?,
            amr: row.get(7)?,
            acr: row.get(8)?,
            issued_at: row.get(9)?,
            expires_at: row.get(10)?,
            status: row.get(11)?,
        })
    }

    fn into_stored(self) -> Result<StoredRefresh, StoreError> {
        let status = match self.status.as_str() {
            "active" => RefreshStatus::Active,
            "used" => RefreshStatus::Used,
            "revoked" => RefreshStatus::Revoked,
            _ => return Err(StoreError::Corrupt { column: "status" }),
        };
        let record = RefreshRecord {
            digest: self.digest,
            family_id: self.family_id,
            client_id: self.client_id,
            subject: self.subject,
            scopes: words(&self.scopes),
            audience: self.audience,
            auth_time: date(self.auth_time, "auth_time")?,
            amr: words(&self.amr),
            acr: self.acr,
            issued_at: date(self.issued_at, "issued_at")?,
            expires_at: date(self.expires_at, "expires_at")?,
        };
        Ok(StoredRefresh { record, status })
    }
}

fn words(text: &str) -> Vec<String> {
    text.split(' ')
        .filter(|word| !word.is_empty())
        .map(str::to_owned)
        .collect()
}

fn date(seconds: i64, column: &'static str) -> Result<NumericDate, StoreError> {
    NumericDate::from_unix_seconds(seconds).ok_or(StoreError::Corrupt { column })
}

fn sqlite(operation: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |source| StoreError::Sqlite { operation, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> NumericDate {
        NumericDate::from_unix_seconds(seconds).unwrap()
    }

    fn record(digest: &str, family: &str) -> RefreshRecord {
        RefreshRecord {
            digest: digest.to_owned(),
            family_id: family.to_owned(),
            client_id: "chainlit-app".to_owned(),
            subject: "EMP001".to_owned(),
            scopes: vec!["offline_access".to_owned(), "openid".to_owned()],
            audience: "http://127.0.0.1:8000".to_owned(),
            auth_time: at(1_000),
            amr: vec!["mfa".to_owned(), "otp".to_owned(), "pwd".to_owned()],
            acr: Some("urn:okta:loa:2fa:any".to_owned()),
            issued_at: at(1_000),
            expires_at: at(10_000),
        }
    }

    fn revocation(jti: &str, expires_at: i64) -> Revocation {
        Revocation {
            jti: jti.to_owned(),
            expires_at: at(expires_at),
        }
    }

    #[test]
    fn refresh_token_round_trips_and_is_consumed_once() {
        let store = SqliteStore::open_in_memory().unwrap();
        store.insert_refresh_token(&record("d1", "f1")).unwrap();

        let first = store.consume_refresh_token("d1", at(2_000)).unwrap();
        let stored = store.find_refresh_token("d1").unwrap().unwrap();

        assert_eq!(first, Consumed::Fresh(record("d1", "f1")));
        assert_eq!(stored.status, RefreshStatus::Used);
    }

    #[test]
    fn second_use_revokes_the_family_and_its_access_tokens() {
        let store = SqliteStore::open_in_memory().unwrap();
        store.insert_refresh_token(&record("d1", "f1")).unwrap();
        store.insert_refresh_token(&record("d2", "f1")).unwrap();
        store
            .record_family_access_token("f1", &revocation("jti-a", 4_600))
            .unwrap();
        store.consume_refresh_token("d1", at(2_000)).unwrap();

        let replay = store.consume_refresh_token("d1", at(2_100)).unwrap();
        let successor = store.consume_refresh_token("d2", at(2_200)).unwrap();

        let revoked = vec![revocation("jti-a", 4_600)];
        assert_eq!(
            replay,
            Consumed::Reused {
                record: record("d1", "f1"),
                revoked: revoked.clone()
            }
        );
        assert_eq!(successor, Consumed::Revoked(record("d2", "f1")));
        assert_eq!(store.revocations(at(2_200)).unwrap(), revoked);
    }

    #[test]
    fn expired_and_unknown_refresh_tokens_are_reported_as_such() {
        let store = SqliteStore::open_in_memory().unwrap();
        store.insert_refresh_token(&record("d1", "f1")).unwrap();

        assert_eq!(
            store.consume_refresh_token("d1", at(10_000)).unwrap(),
            Consumed::Expired(record("d1", "f1"))
        );
        assert_eq!(
            store.consume_refresh_token("nope", at(2_000)).unwrap(),
            Consumed::Unknown
        );
    }

    #[test]
    fn state_survives_reopening_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("idp.sqlite");
        {
            let store = SqliteStore::open(&path).unwrap();
            store.insert_refresh_token(&record("d1", "f1")).unwrap();
            store
                .revoke_token_id(&revocation("jti-x", 5_000), at(1_000))
                .unwrap();
        }

        let reopened = SqliteStore::open(&path).unwrap();

        assert_eq!(
            reopened.revocations(at(1_000)).unwrap(),
            vec![revocation("jti-x", 5_000)]
        );
        let stored = reopened.find_refresh_token("d1").unwrap().unwrap();
        assert_eq!(stored.status, RefreshStatus::Active);
    }

    #[test]
    fn prune_forgets_only_what_has_expired() {
        let store = SqliteStore::open_in_memory().unwrap();
        store
            .revoke_token_id(&revocation("old", 1_500), at(1_000))
            .unwrap();
        store
            .revoke_token_id(&revocation("new", 9_000), at(1_000))
            .unwrap();
        store.insert_refresh_token(&record("d1", "f1")).unwrap();

        let removed = store.prune(at(2_000)).unwrap();

        assert_eq!(removed, 1);
        assert_eq!(
            store.revocations(at(0)).unwrap(),
            vec![revocation("new", 9_000)]
        );
        assert!(store.find_refresh_token("d1").unwrap().is_some());
    }
}
