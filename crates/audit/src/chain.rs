//! The hash chain: how a record becomes a line, and how a line proves it is unchanged.
//!
//! The byte-exact scheme is described in the crate documentation. This module is its only
//! implementation: the writer seals lines with [`seal`], and startup recovery, the verifier
//! and the reader all take lines apart with [`check_line`].

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::digest;
use serde::Deserialize;

use crate::event::{AuditEvent, EventType, TornLine};

/// A SHA-256 digest, written as 64 lower-case hexadecimal digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest([u8; 32]);

impl Digest {
    /// All zeros: the `prev_hash` of the first record of a log.
    pub const ZERO: Self = Self([0; 32]);

    /// The SHA-256 digest of `bytes`.
    #[must_use]
    pub fn of(bytes: &[u8]) -> Self {
        let mut context = Sha256::new();
        context.update(bytes);
        context.finish()
    }

    /// The raw 32 bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn to_hex(self) -> [u8; 64] {
        let mut hex = [0; 64];
        for (pair, byte) in hex.chunks_exact_mut(2).zip(self.0) {
            pair[0] = HEX_DIGITS[usize::from(byte >> 4)];
            pair[1] = HEX_DIGITS[usize::from(byte & 0x0f)];
        }
        hex
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The digits are ASCII by construction.
        f.write_str(std::str::from_utf8(&self.to_hex()).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl FromStr for Digest {
    type Err = DigestParseError;

    /// Accepts exactly 64 lower-case hexadecimal digits, the only form the log contains.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let lower_hex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
        if text.len() != 64 || !text.as_bytes().iter().all(lower_hex) {
            return Err(DigestParseError {
                text: text.to_owned(),
            });
        }
        let mut bytes = [0; 32];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| DigestParseError {
            text: text.to_owned(),
        })?;
        Ok(Self(bytes))
    }
}

serde_as_text!(Digest);

/// Text that is not 64 lower-case hexadecimal digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a SHA-256 digest in 64 lower-case hexadecimal digits")]
pub struct DigestParseError {
    /// The rejected text.
    pub text: String,
}

/// Where a chain ends: the `seq` and `hash` of its last record.
///
/// Written as `<seq>:<hash>`. An empty log has the head [`Head::GENESIS`], `0:000…0`.
/// Recording the head somewhere else (a ticket, another system's log) and passing it to
/// [`verify`](crate::verify()) later is what detects lines deleted from the end of a file,
/// which the file alone cannot show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Head {
    /// The `seq` of the last record, 0 for an empty log.
    pub seq: u64,
    /// The `hash` of the last record, [`Digest::ZERO`] for an empty log.
    pub hash: Digest,
}

impl Head {
    /// The head of an empty log.
    pub const GENESIS: Self = Self {
        seq: 0,
        hash: Digest::ZERO,
    };
}

impl fmt::Display for Head {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

impl FromStr for Head {
    type Err = HeadParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || HeadParseError {
            text: text.to_owned(),
        };
        let (seq, hash) = text.split_once(':').ok_or_else(invalid)?;
        let seq = seq.parse().map_err(|_| invalid())?;
        let hash = hash.parse().map_err(|_| invalid())?;
        Ok(Self { seq, hash })
    }
}

/// Text that is not a head of the form `<seq>:<64 hex digits>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a chain head of the form `<seq>:<64 hex digits>`")]
pub struct HeadParseError {
    /// The rejected text.
    pub text: String,
}

/// Incremental SHA-256, for data read in pieces.
pub(crate) struct Sha256(digest::Context);

impl Sha256 {
    pub(crate) fn new() -> Self {
        Self(digest::Context::new(&digest::SHA256))
    }

    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub(crate) fn finish(self) -> Digest {
        let mut bytes = [0; 32];
        bytes.copy_from_slice(self.0.finish().as_ref());
        Digest(bytes)
    }
}

/// Appends the sealed line for one record to `out` and returns its hash.
///
/// `members` are the members of the event's JSON object, without the braces.
pub(crate) fn seal(out: &mut Vec<u8>, seq: u64, members: &[u8], prev_hash: &Digest) -> Digest {
    let start = out.len();
    out.extend_from_slice(b"{\"seq\":");
    out.extend_from_slice(seq.to_string().as_bytes());
    out.push(b',');
    out.extend_from_slice(members);
    out.extend_from_slice(b",\"prev_hash\":\"");
    out.extend_from_slice(&prev_hash.to_hex());
    out.push(b'"');

    let hash = Digest::of(&out[start..]);
    out.extend_from_slice(HASH_MEMBER);
    out.extend_from_slice(&hash.to_hex());
    out.extend_from_slice(b"\"}\n");
    hash
}

/// An event encoded as a JSON object, ready for [`seal`].
#[derive(Debug, Clone)]
pub(crate) struct EncodedEvent(Vec<u8>);

impl EncodedEvent {
    /// Encodes `event`.
    ///
    /// # Errors
    ///
    /// The JSON encoder's error; no event the builder makes can cause one.
    pub(crate) fn new(event: &AuditEvent) -> Result<Self, serde_json::Error> {
        // Most records encode to 400-900 bytes: one allocation instead of four doublings.
        let mut json = Vec::with_capacity(1024);
        serde_json::to_writer(&mut json, event)?;
        if json.len() < 3 || json.first() != Some(&b'{') || json.last() != Some(&b'}') {
            return Err(serde::ser::Error::custom(
                "an audit event must encode as an object",
            ));
        }
        Ok(Self(json))
    }

    /// The object's members, without the braces.
    pub(crate) fn members(&self) -> &[u8] {
        self.0.get(1..self.0.len() - 1).unwrap_or_default()
    }
}

/// What a line that is intact says about its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LineFacts {
    pub(crate) seq: u64,
    pub(crate) prev_hash: Digest,
    pub(crate) hash: Digest,
    /// Set on a torn-line recovery record: the line it recovered from.
    pub(crate) recovered: Option<TornLine>,
}

impl LineFacts {
    pub(crate) fn head(&self) -> Head {
        Head {
            seq: self.seq,
            hash: self.hash,
        }
    }
}

/// Why a line is not an intact record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LineFault {
    /// The line cannot be read as a record at all.
    Malformed(MalformedLine),
    /// The line's bytes do not hash to the `hash` it carries.
    HashMismatch { stored: Digest, computed: Digest },
}

/// Why a line cannot be read as a sealed record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MalformedLine {
    /// The line does not end with a `hash` member of 64 hexadecimal digits.
    #[error("it does not end with a `hash` member of 64 hexadecimal digits")]
    NoHash,
    /// The line ends like a record but is not a JSON object with `seq` and `prev_hash`.
    #[error("{message}")]
    Json {
        /// What the JSON parser objected to.
        message: String,
    },
}

/// Takes one line (without its newline) apart and checks it against its own hash.
///
/// This does not look at neighbouring lines; linking is the caller's business.
pub(crate) fn check_line(line: &[u8]) -> Result<LineFacts, LineFault> {
    let Some(body_len) = line.len().checked_sub(SEALED_TAIL_LEN) else {
        return Err(LineFault::Malformed(MalformedLine::NoHash));
    };
    let (body, tail) = line.split_at(body_len);
    let stored = parse_tail(tail).ok_or(LineFault::Malformed(MalformedLine::NoHash))?;

    let fields: ChainFields = serde_json::from_slice(line).map_err(|error| {
        LineFault::Malformed(MalformedLine::Json {
            message: error.to_string(),
        })
    })?;
    let computed = Digest::of(body);
    if computed != stored || fields.hash != stored {
        return Err(LineFault::HashMismatch { stored, computed });
    }

    let recovered = match fields.event_type.as_deref() {
        Some(kind) if kind == EventType::TornLineRecovered.as_str() => fields.torn_line,
        _ => None,
    };
    Ok(LineFacts {
        seq: fields.seq,
        prev_hash: fields.prev_hash,
        hash: stored,
        recovered,
    })
}

fn parse_tail(tail: &[u8]) -> Option<Digest> {
    let hex = tail.strip_prefix(HASH_MEMBER)?.strip_suffix(b"\"}")?;
    std::str::from_utf8(hex).ok()?.parse().ok()
}

/// The members of a line the chain is made of; the rest of the event is not read.
#[derive(Deserialize)]
struct ChainFields {
    seq: u64,
    prev_hash: Digest,
    hash: Digest,
    event_type: Option<String>,
    torn_line: Option<TornLine>,
}

/// What precedes the hash of a line: `,"hash":"`.
const HASH_MEMBER: &[u8] = b",\"hash\":\"";
/// `,"hash":"` + 64 digits + `"}`.
pub(crate) const SEALED_TAIL_LEN: usize = HASH_MEMBER.len() + 64 + 2;
const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_line_hashes_everything_before_the_hash_member() {
        let mut line = Vec::new();

        let hash = seal(
            &mut line,
            7,
            br#""event_type":"token.issued""#,
            &Digest::ZERO,
        );

        let text = std::str::from_utf8(&line).unwrap();
        let zeros = "0".repeat(64);
        let body = format!(r#"{{"seq":7,"event_type":"token.issued","prev_hash":"{zeros}""#);
        assert_eq!(text, format!("{body},\"hash\":\"{hash}\"}}\n"));
        assert_eq!(hash, Digest::of(body.as_bytes()));
    }

    #[test]
    fn a_sealed_line_checks_out() {
        let mut line = Vec::new();
        let prev = Digest::of(b"previous");
        let hash = seal(&mut line, 3, br#""actor":"EMP001""#, &prev);

        let facts = check_line(line.strip_suffix(b"\n").unwrap()).unwrap();

        assert_eq!(
            facts,
            LineFacts {
                seq: 3,
                prev_hash: prev,
                hash,
                recovered: None
            }
        );
    }

    #[test]
    fn an_edited_line_fails_its_own_hash() {
        let mut line = Vec::new();
        let hash = seal(&mut line, 1, br#""actor":"EMP001""#, &Digest::ZERO);
        let edited = String::from_utf8(line).unwrap().replace("EMP001", "EMP002");

        let fault = check_line(edited.trim_end().as_bytes()).unwrap_err();

        let computed = Digest::of(edited.split(",\"hash\"").next().unwrap().as_bytes());
        assert_eq!(
            fault,
            LineFault::HashMismatch {
                stored: hash,
                computed
            }
        );
    }

    #[test]
    fn a_line_without_a_hash_member_is_rejected() {
        let fault = check_line(br#"{"seq":1}"#).unwrap_err();

        assert_eq!(fault, LineFault::Malformed(MalformedLine::NoHash));
    }

    #[test]
    fn digest_text_must_be_lower_case() {
        let upper = "AB".repeat(32);

        let error = upper.parse::<Digest>().unwrap_err();

        assert_eq!(error, DigestParseError { text: upper });
    }

    #[test]
    fn head_round_trips_through_its_text() {
        let head = Head {
            seq: 6400,
            hash: Digest::of(b"x"),
        };

        assert_eq!(head.to_string().parse::<Head>().unwrap(), head);
        assert_eq!(Head::GENESIS.to_string(), format!("0:{}", "0".repeat(64)));
    }
}
