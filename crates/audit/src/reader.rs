//! Reading records back, for `scopegate audit tail`: forwards through a log, the last N
//! records from the end of a large file, and the complete lines added since an offset.
//!
//! Reading parses; it does not check hashes or the chain. That is [`verify`](crate::verify())'s
//! job. A line that does not parse is reported as an [`UnreadableLine`], never skipped.

use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};

use serde::Deserialize;

use crate::chain::Digest;
use crate::event::{AuditEvent, EventType, Outcome};

/// One record as read from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The record's place in the chain, from 1.
    pub seq: u64,
    /// The `hash` of the record before it.
    pub prev_hash: Digest,
    /// The record's own `hash`.
    pub hash: Digest,
    /// Everything else the record says.
    pub event: AuditEvent,
}

impl Record {
    /// Parses one line (with or without its newline). The hash is not checked.
    ///
    /// # Errors
    ///
    /// The JSON parser's error if the line is not a record.
    pub fn parse(line: &[u8]) -> Result<Self, serde_json::Error> {
        let chain: ChainMembers = serde_json::from_slice(line)?;
        let event = serde_json::from_slice(line)?;
        Ok(Self {
            seq: chain.seq,
            prev_hash: chain.prev_hash,
            hash: chain.hash,
            event,
        })
    }
}

#[derive(Deserialize)]
struct ChainMembers {
    seq: u64,
    prev_hash: Digest,
    hash: Digest,
}

/// A record and where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The byte offset at which the line starts.
    pub offset: u64,
    /// The line exactly as stored, without its newline.
    pub line: String,
    /// The parsed record.
    pub record: Record,
}

/// A line that is not a record (a torn line, or not this log's format).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line at byte {offset} is not an audit record: {reason}")]
pub struct UnreadableLine {
    /// The byte offset at which the line starts.
    pub offset: u64,
    /// Its length in bytes, without the newline.
    pub length: u64,
    /// What the parser objected to.
    pub reason: String,
}

/// Why reading stopped at a line, or failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Reading the file failed; iteration ends.
    #[error("cannot read audit log: {0}")]
    Io(#[from] io::Error),
    /// A line is not a record; iteration goes on with the next line.
    #[error(transparent)]
    Unreadable(UnreadableLine),
}

/// Which records to show; every set field must match, unset fields match anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// The `actor`, exactly.
    pub actor: Option<String>,
    /// The `capability`, exactly, or a `system.*` pattern matching every capability whose
    /// name starts with `system.`.
    pub capability: Option<String>,
    /// The `result`.
    pub outcome: Option<Outcome>,
    /// The `event_type`.
    pub event_type: Option<EventType>,
}

impl Filter {
    /// Whether `event` passes the filter.
    #[must_use]
    pub fn matches(&self, event: &AuditEvent) -> bool {
        let text_is = |wanted: &Option<String>, actual: Option<&str>| {
            wanted
                .as_deref()
                .is_none_or(|wanted| actual == Some(wanted))
        };
        text_is(&self.actor, event.actor.as_ref().map(AsRef::as_ref))
            && self.capability.as_deref().is_none_or(|pattern| {
                event
                    .capability
                    .as_ref()
                    .is_some_and(|name| capability_matches(pattern, name.as_str()))
            })
            && self
                .outcome
                .is_none_or(|wanted| event.outcome == Some(wanted))
            && self
                .event_type
                .is_none_or(|wanted| event.event_type == wanted)
    }
}

fn capability_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) if prefix.ends_with('.') => name.starts_with(prefix),
        _ => pattern == name,
    }
}

/// Iterates over every line of a log, from the start.
///
/// A final line without a newline is read too (it may be a write in progress or a torn line).
pub fn read_records<R: BufRead>(reader: R) -> Records<R> {
    Records {
        reader,
        offset: 0,
        buf: Vec::new(),
        failed: false,
    }
}

/// The iterator of [`read_records`].
#[derive(Debug)]
pub struct Records<R> {
    reader: R,
    offset: u64,
    buf: Vec<u8>,
    failed: bool,
}

impl<R: BufRead> Iterator for Records<R> {
    type Item = Result<Entry, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        self.buf.clear();
        let read = match self.reader.read_until(b'\n', &mut self.buf) {
            Ok(0) => return None,
            Ok(read) => read,
            Err(error) => {
                self.failed = true;
                return Some(Err(ReadError::Io(error)));
            }
        };
        let offset = self.offset;
        self.offset += read as u64;
        let line = self.buf.strip_suffix(b"\n").unwrap_or(&self.buf);
        Some(parse_entry(offset, line).map_err(ReadError::Unreadable))
    }
}

/// New complete lines read by [`read_from`], and where to continue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// The lines read, in file order.
    pub lines: Vec<Result<Entry, UnreadableLine>>,
    /// The offset just past the last complete line read: pass it to the next call.
    pub next_offset: u64,
}

/// Reads the complete lines that start at `offset`, until about `max_bytes` are read.
///
/// A final line without its newline is left for a later call, so following a live log
/// (`tail --follow`) never shows a record half written. At least one line is read if a
/// complete one is there, however long it is.
///
/// # Errors
///
/// Any I/O error.
pub fn read_from<R: Read + Seek>(source: &mut R, offset: u64, max_bytes: u64) -> io::Result<Chunk> {
    source.seek(SeekFrom::Start(offset))?;
    let mut reader = BufReader::new(source);
    let mut lines = Vec::new();
    let mut position = offset;
    let mut buf = Vec::new();
    while position - offset < max_bytes.max(1) {
        buf.clear();
        let read = reader.read_until(b'\n', &mut buf)?;
        let Some(line) = buf.strip_suffix(b"\n") else {
            break;
        };
        lines.push(parse_entry(position, line));
        position += read as u64;
    }
    Ok(Chunk {
        lines,
        next_offset: position,
    })
}

/// Reads the last `count` lines that pass `filter`, in file order, reading backwards from the
/// end so that a large log costs only what is shown.
///
/// Unreadable lines are always included (they are what an operator most needs to see); a
/// final line without a newline is skipped as a write in progress.
///
/// # Errors
///
/// Any I/O error.
pub fn read_last<R: Read + Seek>(
    source: &mut R,
    count: usize,
    filter: &Filter,
) -> io::Result<Vec<Result<Entry, UnreadableLine>>> {
    let end = source.seek(SeekFrom::End(0))?;
    let mut backwards = Backwards {
        source,
        start: end,
        buffer: Vec::new(),
    };
    let mut found = Vec::new();
    let mut ends_on_newline = false;

    while found.len() < count {
        // Drop the unterminated tail once, then take lines off the end of the buffer.
        if !ends_on_newline {
            match backwards.buffer.iter().rposition(|&b| b == b'\n') {
                Some(newline) => {
                    backwards.buffer.truncate(newline + 1);
                    ends_on_newline = true;
                }
                None if backwards.start == 0 => break,
                None => backwards.read_more()?,
            }
            continue;
        }
        let Some((offset, line)) = backwards.last_line()? else {
            break;
        };
        let entry = parse_entry(offset, &line);
        let wanted = match &entry {
            Ok(entry) => filter.matches(&entry.record.event),
            Err(_) => true,
        };
        if wanted {
            found.push(entry);
        }
    }
    found.reverse();
    Ok(found)
}

/// A window on the end of a file that grows backwards.
struct Backwards<'a, R> {
    source: &'a mut R,
    /// The file offset of `buffer[0]`.
    start: u64,
    /// Bytes from `start` up to the end of the part not yet taken; ends with a newline once
    /// the unterminated tail is dropped.
    buffer: Vec<u8>,
}

impl<R: Read + Seek> Backwards<'_, R> {
    /// Takes the last complete line off the buffer, reading further back as needed.
    fn last_line(&mut self) -> io::Result<Option<(u64, Vec<u8>)>> {
        loop {
            let Some(body_end) = self.buffer.len().checked_sub(1) else {
                if self.start == 0 {
                    return Ok(None);
                }
                self.read_more()?;
                continue;
            };
            match self.buffer[..body_end].iter().rposition(|&b| b == b'\n') {
                Some(newline) => {
                    let line = self.buffer[newline + 1..body_end].to_vec();
                    self.buffer.truncate(newline + 1);
                    return Ok(Some((self.start + newline as u64 + 1, line)));
                }
                None if self.start == 0 => {
                    let line = self.buffer[..body_end].to_vec();
                    self.buffer.clear();
                    return Ok(Some((0, line)));
                }
                None => self.read_more()?,
            }
        }
    }

    fn read_more(&mut self) -> io::Result<()> {
        let chunk_start = self.start.saturating_sub(CHUNK_BYTES);
        let mut chunk = vec![0; usize::try_from(self.start - chunk_start).unwrap_or(0)];
        self.source.seek(SeekFrom::Start(chunk_start))?;
        self.source.read_exact(&mut chunk)?;
        self.buffer.splice(0..0, chunk);
        self.start = chunk_start;
        Ok(())
    }
}

fn parse_entry(offset: u64, line: &[u8]) -> Result<Entry, UnreadableLine> {
    let unreadable = |reason: String| UnreadableLine {
        offset,
        length: line.len() as u64,
        reason,
    };
    let text = std::str::from_utf8(line).map_err(|error| unreadable(error.to_string()))?;
    let record = Record::parse(line).map_err(|error| unreadable(error.to_string()))?;
    Ok(Entry {
        offset,
        line: text.to_owned(),
        record,
    })
}

const CHUNK_BYTES: u64 = 64 * 1024;
