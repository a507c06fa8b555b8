//! Errors of opening the log and of appending to it.

use std::fmt;
use std::io;
use std::sync::Arc;

use crate::event::EventType;
use crate::storage::FileOpenError;

/// Why a record was not acknowledged as durable.
///
/// Every variant means the record may not be in the log; a caller that must not act without
/// an audit record (a capability response, a token issue) fails closed on any of them.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuditError {
    /// The storage failed; the record's whole batch was rolled back and the writer will
    /// reopen the storage before the next batch.
    #[error("audit log {operation} failed: {source}")]
    Storage {
        /// The operation that failed.
        operation: StorageOp,
        /// The underlying error, shared by every record of the batch.
        source: Arc<io::Error>,
    },
    /// The log file became shorter than what the writer had made durable: something else
    /// truncated or replaced it. The writer appends nothing more until it is restarted, so
    /// that the chain is not continued over lost records.
    #[error(
        "audit log shrank from {expected} to {found} bytes while open; \
         refusing to append until restarted"
    )]
    Shrank {
        /// The length the writer had made durable.
        expected: u64,
        /// The length found after reopening.
        found: u64,
    },
    /// [`AuditLog::try_append`](crate::AuditLog::try_append) found the queue full.
    #[error("audit queue is full")]
    QueueFull,
    /// The log was closed, or its writer has stopped.
    #[error("audit log is closed")]
    Closed,
    /// The event type is reserved for records the writer makes itself.
    #[error("event type `{event_type}` is reserved for the audit writer")]
    Reserved {
        /// The rejected event type.
        event_type: EventType,
    },
    /// The encoded record is longer than any line of the log may be.
    #[error("audit record of {bytes} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The record's encoded length.
        bytes: usize,
        /// [`MAX_LINE_BYTES`](crate::MAX_LINE_BYTES).
        limit: usize,
    },
    /// The event could not be encoded as JSON.
    #[error("cannot encode audit event: {0}")]
    Encode(#[source] Arc<serde_json::Error>),
}

/// Why the log could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The file could not be opened or locked.
    #[error(transparent)]
    File(#[from] FileOpenError),
    /// Reading the end of the log or recording a torn line failed.
    #[error("audit log {operation} failed while resuming the chain: {source}")]
    Storage {
        /// The operation that failed.
        operation: StorageOp,
        /// The underlying error.
        source: io::Error,
    },
    /// The log does not end in intact records, beyond one torn line that could be recovered;
    /// appending would chain onto something that is not the log's last record.
    #[error(
        "audit log has an unreadable line at byte {offset} before its last line; \
         refusing to append (move the file aside and verify it)"
    )]
    UnreadableTail {
        /// Where the unreadable line starts.
        offset: u64,
    },
    /// The last line is a well-formed record that does not match its hash: it was edited,
    /// which a crash cannot do, so it is not recovered as a torn line.
    #[error(
        "the last line of the audit log (at byte {offset}) does not match its hash: it was \
         edited, not torn by a crash; refusing to append (move the file aside and verify it)"
    )]
    EditedTail {
        /// Where the edited line starts.
        offset: u64,
    },
    /// The torn-line recovery record could not be encoded.
    #[error("cannot encode the torn-line recovery record: {0}")]
    Encode(#[from] serde_json::Error),
    /// The writer thread could not be started.
    #[error("cannot start the audit writer thread: {0}")]
    Spawn(#[source] io::Error),
}

/// A storage operation, as named in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageOp {
    /// Reading the length.
    Size,
    /// Reading bytes.
    Read,
    /// Appending bytes.
    Write,
    /// Making bytes durable.
    Sync,
    /// Cutting back a failed append.
    Truncate,
    /// Opening the storage again after a failure.
    Reopen,
}

impl fmt::Display for StorageOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Size => "size check",
            Self::Read => "read",
            Self::Write => "write",
            Self::Sync => "sync",
            Self::Truncate => "truncate",
            Self::Reopen => "reopen",
        })
    }
}
