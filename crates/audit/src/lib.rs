//! Audit event schema and the durable, hash-chained JSONL log.
//!
//! The identity provider, the actions API and the MCP server record every token issued,
//! exchanged, refused or revoked and every capability decision through an [`AuditLog`]; the
//! CLI reads logs with [`read_last`] and [`read_records`] and checks them with [`verify`].
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use scopegate_audit::{AuditEvent, AuditLog, EventType, Outcome, TokenFacts, TokenType};
//!
//! let log = AuditLog::open("logs/audit.jsonl", Default::default())?;
//! let event = AuditEvent::builder(EventType::CapabilityDecision)
//!     .request_id("req-7")
//!     .actor("EMP001")
//!     .acting_through("mcp-server")
//!     .token(&TokenFacts {
//!         token_type: TokenType::Exchanged,
//!         token_id: Some("9b2e…"),
//!         original_token_id: Some("41c0…"),
//!         issued_at: 1_769_596_080,
//!         expires_at: 1_769_596_380,
//!         auth_time: Some(1_769_596_020),
//!         mfa_verified: true,
//!     })?
//!     .capability("workday.payroll.get_compensation")
//!     .policy_matched("employee-self-service")
//!     .outcome(Outcome::Success)
//!     .build();
//! // Resolves only once the record is on disk; on error, answer 503.
//! let receipt = log.append(event).await?;
//! # let _ = receipt;
//! # Ok(())
//! # }
//! ```
//!
//! # The line format and the hash chain
//!
//! A log is a file of lines, each ending in `\n` (0x0A) and each one JSON object in UTF-8.
//! The writer produces every line as
//!
//! ```text
//! {"seq":<seq>,<event members>,"prev_hash":"<64 hex>","hash":"<64 hex>"}
//! ```
//!
//! with no whitespace between members. `seq` counts records from 1 without gaps. The event
//! members are those of [`AuditEvent`] in declaration order, leaving out fields that do not
//! apply. `hash` is the SHA-256 of the line's bytes from the opening `{` up to, not
//! including, the `,"hash":` that starts the last member; those bytes include `seq` and
//! `prev_hash`. `prev_hash` is the previous record's `hash`, and 64 zeros for the first
//! record. Digests are written in lower-case hexadecimal.
//!
//! The hash covers bytes, not a re-serialisation: to check a line, drop its newline, split
//! off its last 75 bytes (`,"hash":"` + 64 digits + `"}`), and hash what is left. Then parse
//! the line as JSON and check that `seq` is one more than the previous record's and that
//! `prev_hash` equals the previous record's `hash`. A short script is enough:
//!
//! ```text
//! import hashlib, json, sys
//!
//! seq, head = 0, "0" * 64
//! for number, raw in enumerate(open(sys.argv[1], "rb"), start=1):
//!     line = raw.rstrip(b"\n")
//!     body, tail = line[:-75], line[-75:]
//!     if not (tail.startswith(b',"hash":"') and tail.endswith(b'"}')):
//!         sys.exit(f"line {number}: no hash member")
//!     digest = tail[9:73].decode()
//!     if hashlib.sha256(body).hexdigest() != digest:
//!         sys.exit(f"line {number}: content does not match its hash")
//!     record = json.loads(line)
//!     if record["seq"] != seq + 1 or record["prev_hash"] != head:
//!         sys.exit(f"line {number}: does not follow the record before it")
//!     seq, head = record["seq"], digest
//! print(f"{seq} records, head {seq}:{head}")
//! ```
//!
//! The one exception to "every line is a record" is a torn line (below), which such a script
//! reports as a break and [`verify`] accepts when the recovery record after it names it.
//!
//! The chain is not keyed: it proves that lines were not edited, removed, reordered or
//! inserted relative to each other, but someone able to rewrite the whole file can compute a
//! new chain. Keeping the [`Head`] somewhere else from time to time, and passing it to
//! [`verify`] as an anchor, closes that gap and also detects records cut from the end, which
//! nothing inside the file can show.
//!
//! # Durability and failure
//!
//! One thread owns the file. [`AuditLog::append`] resolves only after the batch holding the
//! record was written with one write and made durable with one `fdatasync`. If storage fails,
//! the batch's records all get an [`AuditError`] (callers fail closed), the file is cut back
//! to its last durable length, [`AuditLog::healthy`] turns false, and the next batch reopens
//! the file and tries again. [`AuditLog`] has the details.
//!
//! # Torn lines
//!
//! A crash can leave the end of an unacknowledged batch half written. On start, the writer
//! never appends after such garbage and never deletes it: it ends the torn line with a
//! newline if needed and appends an `audit.torn_line_recovered` record naming the torn line's
//! number, offset, length and SHA-256, chained onto the last intact record.
//!
//! # What never enters the log
//!
//! No field holds a token, a secret or a password. Text from outside (identifiers, reasons)
//! is [`AuditText`], which replaces anything shaped like a JWT, a bearer token or a random
//! secret with a marker; see [`redact`].
//!
//! # Schema choices
//!
//! * `policy_matched` is one name, as in the design note: the policy that decided. When
//!   several policies took part (two matching denies, say), the others are named in
//!   `reasons`. `audience`, `scope` and `reasons` are always arrays.
//! * `timestamp` is when the producer made the event, so it can be slightly out of order in
//!   the file; `seq` is the order of the file.
//! * The Rust field for `result` is [`AuditEvent::outcome`], as `result` reads badly in Rust.

/// Implements `Serialize` and `Deserialize` through `Display` and `FromStr`.
macro_rules! serde_as_text {
    ($type:ty) => {
        impl serde::Serialize for $type {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $type {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

mod chain;
mod clock;
mod error;
mod event;
mod reader;
mod recovery;
mod storage;
mod text;
mod verify;
mod writer;

pub use chain::{Digest, DigestParseError, Head, HeadParseError, MalformedLine};
pub use clock::{ClaimTime, EventTime, TimeError};
pub use error::{AuditError, OpenError, StorageOp};
pub use event::{
    AuditEvent, AuditEventBuilder, EventId, EventIdParseError, EventType, Outcome, TokenFacts,
    TokenTimeError, TokenType, TornLine, UnknownName,
};
pub use reader::{
    Chunk, Entry, Filter, ReadError, Record, Records, UnreadableLine, read_from, read_last,
    read_records,
};
pub use storage::{Faults, FileOpenError, FileStorage, MemoryStorage, Storage};
pub use text::{AuditText, redact};
pub use verify::{
    BreakKind, ChainBreak, VerifyError, VerifyReport, VerifyWarning, verify, verify_file,
};
pub use writer::{Ack, AuditLog, Gather, Receipt, WriterConfig};

/// Where the log lives unless configured otherwise (DESIGN §7), relative to the working
/// directory.
pub const DEFAULT_LOG_PATH: &str = "logs/audit.jsonl";

/// The longest line the writer produces, newline included; longer events are refused with
/// [`AuditError::TooLarge`], and startup recovery treats a longer final line as torn.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
