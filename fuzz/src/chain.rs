//! An independent reading of an audit log, written from the format the audit crate documents
//! (and not from its code), to check `scopegate_audit::verify` against.
//!
//! A log is intact when every line is a sealed record that follows the one before it, except
//! that a torn line may stand immediately before the `audit.torn_line_recovered` record that
//! names its line number, offset, length and SHA-256.

use aws_lc_rs::digest::{SHA256, digest};
use serde_json::Value;

/// The chain head an intact log ends at: the last record's `seq` and `hash` (hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedHead {
    /// `seq` of the last record; 0 for a log without records.
    pub seq: u64,
    /// `hash` of the last record; 64 zeros for a log without records.
    pub hash: String,
    /// How many records the log holds.
    pub records: u64,
}

/// The head of `log` if it is intact, `None` if any line breaks the chain.
pub fn expected_head(log: &[u8]) -> Option<ExpectedHead> {
    let lines = split_lines(log);
    let mut head = ExpectedHead {
        seq: 0,
        hash: "0".repeat(64),
        records: 0,
    };

    let mut index = 0;
    while let Some(line) = lines.get(index) {
        index += 1;
        if let Some(record) = Sealed::read(line.bytes) {
            if record.seq != head.seq.checked_add(1)? || record.prev_hash != head.hash {
                return None;
            }
            head = ExpectedHead {
                seq: record.seq,
                hash: record.hash,
                records: head.records + 1,
            };
            continue;
        }
        // Not a record: acceptable only as a torn line the next record says it recovered.
        let next = Sealed::read(lines.get(index)?.bytes)?;
        if !next.recovers(line) {
            return None;
        }
    }
    Some(head)
}

/// One line of a log, without its newline.
#[derive(Debug)]
struct Line<'a> {
    /// 1-based.
    number: u64,
    /// Byte offset of its first byte.
    offset: u64,
    bytes: &'a [u8],
}

fn split_lines(log: &[u8]) -> Vec<Line<'_>> {
    let mut lines = Vec::new();
    let mut offset = 0;
    let mut rest = log;
    while !rest.is_empty() {
        let (bytes, after) = match rest.iter().position(|byte| *byte == b'\n') {
            Some(newline) => (&rest[..newline], &rest[newline + 1..]),
            None => (rest, &[][..]),
        };
        lines.push(Line {
            number: lines.len() as u64 + 1,
            offset,
            bytes,
        });
        offset += (rest.len() - after.len()) as u64;
        rest = after;
    }
    lines
}

/// What a line that checks against its own hash says.
struct Sealed {
    seq: u64,
    prev_hash: String,
    hash: String,
    object: serde_json::Map<String, Value>,
}

impl Sealed {
    /// The line's record if it ends in `,"hash":"<64 hex>"}`, those digits are the SHA-256 of
    /// everything before that member, and it is a JSON object with `seq` and `prev_hash`.
    fn read(line: &[u8]) -> Option<Self> {
        const TAIL: usize = 75;
        let body = line.get(..line.len().checked_sub(TAIL)?)?;
        let tail = std::str::from_utf8(&line[body.len()..]).ok()?;
        let hash = tail.strip_prefix(",\"hash\":\"")?.strip_suffix("\"}")?;
        if !is_digest(hash) || sha256_hex(body) != hash {
            return None;
        }

        let Value::Object(object) = serde_json::from_slice(line).ok()? else {
            return None;
        };
        let seq = object.get("seq")?.as_u64()?;
        let prev_hash = object.get("prev_hash")?.as_str()?.to_owned();
        if !is_digest(&prev_hash) || object.get("hash")?.as_str()? != hash {
            return None;
        }
        Some(Self {
            seq,
            prev_hash,
            hash: hash.to_owned(),
            object,
        })
    }

    /// Whether this is a recovery record naming `torn`.
    fn recovers(&self, torn: &Line<'_>) -> bool {
        let Some(Value::Object(named)) = self.object.get("torn_line") else {
            return false;
        };
        let is_recovery = self.object.get("event_type").and_then(Value::as_str)
            == Some("audit.torn_line_recovered");
        let number = |key: &str| named.get(key).and_then(Value::as_u64);
        is_recovery
            && number("line") == Some(torn.number)
            && number("offset") == Some(torn.offset)
            && number("length") == Some(torn.bytes.len() as u64)
            && named.get("sha256").and_then(Value::as_str) == Some(&sha256_hex(torn.bytes))
    }
}

fn is_digest(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The SHA-256 of `bytes` in lower-case hex.
fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(digest(&SHA256, bytes))
}
