//! Resuming the chain when the writer starts.
//!
//! The writer appends each batch with one write and acknowledges nothing before `fdatasync`
//! returns, so a crash can leave at most the unfinished end of one batch: complete records
//! that were never acknowledged (they are intact and stay) and one torn line at the very end.
//! A torn line is either bytes after the last newline, or a last line that is not an intact
//! record. It is evidence, so it is never cut away: the writer ends it with a newline if it
//! has none and appends an `audit.torn_line_recovered` record that names it (line number,
//! offset, length, SHA-256) and chains onto the last intact record before it.
//!
//! Anything else is not what a crash of this writer leaves behind, and the writer refuses to
//! start rather than append: a line before the torn one that is unreadable too, or a final
//! line that is well-formed but does not match its hash (an edit, not a tear).

use std::io;

use crate::chain::{self, Digest, EncodedEvent, Head, LineFacts, LineFault, Sha256};
use crate::error::{OpenError, StorageOp};
use crate::event::{AuditEvent, EventType, Outcome, TornLine};
use crate::storage::Storage;

/// Where the chain stands after startup.
#[derive(Debug)]
pub(crate) struct Resumed {
    pub(crate) head: Head,
    /// The durable length of the log.
    pub(crate) len: u64,
    /// The torn line that was recovered, if there was one.
    pub(crate) torn: Option<TornLine>,
}

impl Resumed {
    fn clean(head: Head, len: u64) -> Self {
        Self {
            head,
            len,
            torn: None,
        }
    }
}

/// Finds the head of the chain in `storage`, recovering a torn final line first.
pub(crate) fn resume<S: Storage>(storage: &mut S) -> Result<Resumed, OpenError> {
    let size = storage.size().map_err(failed(StorageOp::Size))?;
    // Whatever an earlier process left in the page cache becomes durable before new
    // records chain onto it.
    storage.sync().map_err(failed(StorageOp::Sync))?;
    if size == 0 {
        return Ok(Resumed::clean(Head::GENESIS, 0));
    }

    let mut reader = TailReader { storage, size };
    let last_line = match reader.last_newline_before(size)? {
        Some(newline) => Some(reader.line_ending_at(newline)?),
        None => None,
    };
    let complete_end = last_line.map_or(0, |line| line.end + 1);
    if complete_end < size {
        let head = reader.intact_head(last_line)?;
        let fragment = Span {
            start: complete_end,
            end: size,
        };
        return finish_fragment(reader.storage, fragment, head, size);
    }
    // The log ends with a newline, so it has a last complete line.
    let Some(last_line) = last_line else {
        return Err(OpenError::UnreadableTail { offset: 0 });
    };
    finish_last_line(reader, last_line)
}

/// Deals with bytes after the last newline.
fn finish_fragment<S: Storage>(
    storage: &mut S,
    fragment: Span,
    head: Head,
    size: u64,
) -> Result<Resumed, OpenError> {
    let verdict = TailReader {
        storage: &mut *storage,
        size,
    }
    .check(fragment)?;
    match verdict {
        // A whole record that lost only its newline is intact and linked: keep it.
        Verdict::Intact(facts) if links(head, &facts) => {
            append_durably(storage, b"\n", size)?;
            Ok(Resumed::clean(facts.head(), size + 1))
        }
        Verdict::Edited => Err(OpenError::EditedTail {
            offset: fragment.start,
        }),
        Verdict::Intact(_) | Verdict::Torn => {
            record_torn_line(storage, fragment, head, size, Ending::Missing)
        }
    }
}

/// Deals with a last line that ends with a newline.
fn finish_last_line<S: Storage>(
    mut reader: TailReader<'_, S>,
    last_line: Span,
) -> Result<Resumed, OpenError> {
    match reader.check(last_line)? {
        Verdict::Intact(facts) => return Ok(Resumed::clean(facts.head(), reader.size)),
        Verdict::Edited => {
            return Err(OpenError::EditedTail {
                offset: last_line.start,
            });
        }
        Verdict::Torn => {}
    }
    let before = match last_line.start.checked_sub(1) {
        Some(newline) => Some(reader.line_ending_at(newline)?),
        None => None,
    };
    let head = reader.intact_head(before)?;
    record_torn_line(
        reader.storage,
        last_line,
        head,
        reader.size,
        Ending::Terminated,
    )
}

/// Whether the torn line already ends with a newline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Terminated,
    Missing,
}

fn record_torn_line<S: Storage>(
    storage: &mut S,
    torn: Span,
    head: Head,
    size: u64,
    ending: Ending,
) -> Result<Resumed, OpenError> {
    let mut reader = TailReader {
        storage: &mut *storage,
        size,
    };
    let torn_line = TornLine {
        line: reader.count_newlines_before(torn.start)? + 1,
        offset: torn.start,
        length: torn.len(),
        sha256: reader.digest(torn)?,
    };
    let event = AuditEvent::builder(EventType::TornLineRecovered)
        .outcome(Outcome::Success)
        .reason("the log ended in a torn line at startup; it was kept as found")
        .torn_line(torn_line)
        .build();

    let mut bytes = Vec::new();
    if ending == Ending::Missing {
        bytes.push(b'\n');
    }
    let seq = head.seq + 1;
    let hash = chain::seal(
        &mut bytes,
        seq,
        EncodedEvent::new(&event)?.members(),
        &head.hash,
    );
    append_durably(storage, &bytes, size)?;

    let len = size + bytes.len() as u64;
    Ok(Resumed {
        head: Head { seq, hash },
        len,
        torn: Some(torn_line),
    })
}

/// Appends and syncs, cutting back to `size` if either fails.
fn append_durably<S: Storage>(storage: &mut S, bytes: &[u8], size: u64) -> Result<(), OpenError> {
    let result = storage
        .append(bytes)
        .map_err(failed(StorageOp::Write))
        .and_then(|()| storage.sync().map_err(failed(StorageOp::Sync)));
    if result.is_err() {
        // Best effort: the error that matters is the one already in hand.
        let _ = storage.truncate(size);
    }
    result
}

fn links(head: Head, facts: &LineFacts) -> bool {
    facts.seq == head.seq + 1 && facts.prev_hash == head.hash
}

/// What a line at the end of the log is.
#[derive(Debug)]
enum Verdict {
    /// An intact record.
    Intact(LineFacts),
    /// A well-formed record whose content does not match its hash. A crash leaves a prefix
    /// of what was written, or blocks of zeros, neither of which parses; so this is an edit
    /// (or damage to the disk), which must not be passed off as a torn line.
    Edited,
    /// Anything else: what a crash in the middle of a write leaves.
    Torn,
}

/// A line's bytes, without its newline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u64,
    end: u64,
}

impl Span {
    fn len(self) -> u64 {
        self.end - self.start
    }
}

/// Reads the end of the log backwards, in chunks.
struct TailReader<'a, S> {
    storage: &'a mut S,
    size: u64,
}

impl<S: Storage> TailReader<'_, S> {
    /// The head of the chain at `line`, which must be intact; genesis when there is none.
    fn intact_head(&mut self, line: Option<Span>) -> Result<Head, OpenError> {
        let Some(line) = line else {
            return Ok(Head::GENESIS);
        };
        match self.check(line)? {
            Verdict::Intact(facts) => Ok(facts.head()),
            Verdict::Edited | Verdict::Torn => {
                Err(OpenError::UnreadableTail { offset: line.start })
            }
        }
    }

    /// What kind of line `line` is.
    fn check(&mut self, line: Span) -> Result<Verdict, OpenError> {
        if line.len() > crate::MAX_LINE_BYTES as u64 {
            return Ok(Verdict::Torn);
        }
        let mut bytes = vec![0; usize::try_from(line.len()).unwrap_or(0)];
        self.read_exact_at(line.start, &mut bytes)?;
        Ok(match chain::check_line(&bytes) {
            Ok(facts) => Verdict::Intact(facts),
            Err(LineFault::HashMismatch { .. }) => Verdict::Edited,
            Err(LineFault::Malformed(_)) => Verdict::Torn,
        })
    }

    /// The line whose newline is at `newline`.
    fn line_ending_at(&mut self, newline: u64) -> Result<Span, OpenError> {
        let start = self
            .last_newline_before(newline)?
            .map_or(0, |position| position + 1);
        Ok(Span {
            start,
            end: newline,
        })
    }

    /// The position of the last newline before `end`.
    fn last_newline_before(&mut self, end: u64) -> Result<Option<u64>, OpenError> {
        let mut chunk = vec![0; CHUNK_BYTES];
        let mut chunk_end = end;
        while chunk_end > 0 {
            let chunk_start = chunk_end.saturating_sub(CHUNK_BYTES as u64);
            let buf = &mut chunk[..usize::try_from(chunk_end - chunk_start).unwrap_or(0)];
            self.read_exact_at(chunk_start, buf)?;
            if let Some(index) = buf.iter().rposition(|&b| b == b'\n') {
                return Ok(Some(chunk_start + index as u64));
            }
            chunk_end = chunk_start;
        }
        Ok(None)
    }

    fn count_newlines_before(&mut self, end: u64) -> Result<u64, OpenError> {
        let mut count = 0;
        self.for_each_chunk(Span { start: 0, end }, |bytes| {
            count += bytes.iter().filter(|&&b| b == b'\n').count() as u64;
        })?;
        Ok(count)
    }

    fn digest(&mut self, span: Span) -> Result<Digest, OpenError> {
        let mut sha256 = Sha256::new();
        self.for_each_chunk(span, |bytes| sha256.update(bytes))?;
        Ok(sha256.finish())
    }

    fn for_each_chunk(&mut self, span: Span, mut f: impl FnMut(&[u8])) -> Result<(), OpenError> {
        let mut chunk = vec![0; CHUNK_BYTES];
        let mut position = span.start;
        while position < span.end {
            let len = (span.end - position).min(CHUNK_BYTES as u64);
            let buf = &mut chunk[..usize::try_from(len).unwrap_or(0)];
            self.read_exact_at(position, buf)?;
            f(buf);
            position += len;
        }
        Ok(())
    }

    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), OpenError> {
        let mut filled = 0;
        while filled < buf.len() {
            let read = self
                .storage
                .read_at(offset + filled as u64, &mut buf[filled..])
                .map_err(failed(StorageOp::Read))?;
            if read == 0 {
                let eof = io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "the log ended at byte {} of {}",
                        offset + filled as u64,
                        self.size
                    ),
                );
                return Err(failed(StorageOp::Read)(eof));
            }
            filled += read;
        }
        Ok(())
    }
}

fn failed(operation: StorageOp) -> impl Fn(io::Error) -> OpenError {
    move |source| OpenError::Storage { operation, source }
}

const CHUNK_BYTES: usize = 64 * 1024;
