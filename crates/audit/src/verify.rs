//! Verifying a log: every line against its own hash, and every record against the one before.
//!
//! Verification stops at the first line that breaks the chain and says which line and what
//! most likely happened to it. Torn lines that the writer recovered at startup are reported
//! as warnings; the log still verifies. Lines removed from the very end leave no trace in the
//! file itself, so [`verify`] returns the chain's [`Head`] for the operator to keep, and
//! checks a head kept earlier (an anchor) when given one.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::chain::{self, Digest, Head, LineFacts, LineFault, MalformedLine};

/// What verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// How many lines were read, up to and including the first break.
    pub lines: u64,
    /// How many records verified.
    pub records: u64,
    /// The head of the verified chain: the last record before any break.
    pub head: Head,
    /// The first line that breaks the chain, if any.
    pub first_break: Option<ChainBreak>,
    /// Things that do not break the chain but that an operator should know.
    pub warnings: Vec<VerifyWarning>,
}

impl VerifyReport {
    /// Whether the whole log verified.
    #[must_use]
    pub fn is_intact(&self) -> bool {
        self.first_break.is_none()
    }
}

/// The first place where the chain breaks, and the most likely reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    /// The line is not a sealed record at all.
    #[error("line {line}: not an audit record: {fault}")]
    Malformed {
        /// The 1-based line number.
        line: u64,
        /// What is wrong with it.
        fault: MalformedLine,
    },
    /// The line's content does not hash to its `hash`: it was edited.
    #[error("line {line}: content does not match its hash `{stored}` (the line was edited)")]
    HashMismatch {
        /// The 1-based line number.
        line: u64,
        /// The hash the line carries.
        stored: Digest,
        /// The hash of its content.
        computed: Digest,
    },
    /// The line is intact and follows in `seq`, but its `prev_hash` is not the hash of the
    /// record before it: that record was edited and rehashed, or this one substituted.
    #[error(
        "line {line}: `prev_hash` of seq {seq} is not the hash of the record before it \
         (that record was rewritten, or this one substituted)"
    )]
    LinkMismatch {
        /// The 1-based line number.
        line: u64,
        /// The record's `seq`.
        seq: u64,
    },
    /// `seq` skips ahead and the skipped records do not follow: they were deleted.
    #[error(
        "line {line}: seq jumps from {previous} to {found} ({missing} deleted record(s))",
        missing = .found.saturating_sub(*.previous).saturating_sub(1)
    )]
    SeqGap {
        /// The 1-based line number.
        line: u64,
        /// The `seq` of the record before (0 at the start of the log).
        previous: u64,
        /// The `seq` of this record.
        found: u64,
    },
    /// `seq` goes backwards, or skips ahead to records that follow later: lines were
    /// reordered.
    #[error("line {line}: seq {found} follows seq {previous} (lines were reordered)")]
    OutOfOrder {
        /// The 1-based line number.
        line: u64,
        /// The `seq` of the record before.
        previous: u64,
        /// The `seq` of this record.
        found: u64,
    },
    /// The line repeats the record before it.
    #[error("line {line}: repeats the record before it (seq {seq})")]
    Duplicated {
        /// The 1-based line number.
        line: u64,
        /// The repeated `seq`.
        seq: u64,
    },
    /// The last line has no newline and is not a record: the file was cut short.
    #[error("line {line}: truncated final line ({length} bytes without a newline)")]
    TruncatedFinalLine {
        /// The 1-based line number.
        line: u64,
        /// The length of what is left of it.
        length: u64,
    },
    /// The record with the anchor's `seq` has another hash: the log was rewritten from there.
    #[error("line {line}: seq {seq} has hash `{found}`, not the anchored `{expected}`")]
    AnchorMismatch {
        /// The 1-based line number.
        line: u64,
        /// The anchor's `seq`.
        seq: u64,
        /// The anchor's hash.
        expected: Digest,
        /// The record's hash.
        found: Digest,
    },
    /// The log ends before the anchor's `seq`: records were removed from the end.
    #[error(
        "the log ends at seq {last_seq}, before the anchored seq {anchor_seq} \
         (records were removed from the end)",
        anchor_seq = .anchor.seq
    )]
    AnchorMissing {
        /// The anchor that was expected.
        anchor: Head,
        /// The `seq` of the last record.
        last_seq: u64,
    },
}

impl ChainBreak {
    /// What most likely happened, in one word.
    #[must_use]
    pub fn kind(&self) -> BreakKind {
        match self {
            Self::Malformed { .. } => BreakKind::Malformed,
            Self::HashMismatch { .. } | Self::LinkMismatch { .. } | Self::AnchorMismatch { .. } => {
                BreakKind::Edited
            }
            Self::SeqGap { .. } => BreakKind::Deleted,
            Self::OutOfOrder { .. } => BreakKind::Reordered,
            Self::Duplicated { .. } => BreakKind::Duplicated,
            Self::TruncatedFinalLine { .. } | Self::AnchorMissing { .. } => BreakKind::Truncated,
        }
    }

    /// The 1-based number of the breaking line; `None` when the break is the log's end.
    #[must_use]
    pub fn line(&self) -> Option<u64> {
        match self {
            Self::Malformed { line, .. }
            | Self::HashMismatch { line, .. }
            | Self::LinkMismatch { line, .. }
            | Self::SeqGap { line, .. }
            | Self::OutOfOrder { line, .. }
            | Self::Duplicated { line, .. }
            | Self::TruncatedFinalLine { line, .. }
            | Self::AnchorMismatch { line, .. } => Some(*line),
            Self::AnchorMissing { .. } => None,
        }
    }
}

/// The kinds of tampering or damage a break points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BreakKind {
    /// A line is not a record.
    Malformed,
    /// A record's content was changed.
    Edited,
    /// Records were removed.
    Deleted,
    /// Records were moved.
    Reordered,
    /// A record was copied.
    Duplicated,
    /// The end of the log was cut off.
    Truncated,
}

impl fmt::Display for BreakKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Malformed => "malformed",
            Self::Edited => "edited",
            Self::Deleted => "deleted",
            Self::Reordered => "reordered",
            Self::Duplicated => "duplicated",
            Self::Truncated => "truncated",
        })
    }
}

/// Something verification noticed that does not break the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyWarning {
    /// A torn line, left by a crash, that the writer recorded at its next start.
    TornLineRecovered {
        /// The torn line's number.
        line: u64,
        /// Its length in bytes.
        length: u64,
        /// The line of the `audit.torn_line_recovered` record.
        recovered_at: u64,
    },
    /// The last line is an intact record without its newline; the writer adds the newline
    /// when it next starts.
    MissingFinalNewline {
        /// The line's number.
        line: u64,
    },
}

impl fmt::Display for VerifyWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TornLineRecovered {
                line,
                length,
                recovered_at,
            } => write!(
                f,
                "line {line}: torn line of {length} bytes, recovered by the record on line \
                 {recovered_at}"
            ),
            Self::MissingFinalNewline { line } => {
                write!(f, "line {line}: the final record has no newline")
            }
        }
    }
}

/// A log file that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read audit log `{path}`: {source}", path = path.display())]
pub struct VerifyError {
    /// The file.
    pub path: PathBuf,
    /// The underlying error.
    pub source: io::Error,
}

/// Verifies the log file at `path`; see [`verify`].
///
/// # Errors
///
/// [`VerifyError`] if the file cannot be opened or read. A broken chain is not an error: it
/// is reported in [`VerifyReport::first_break`].
pub fn verify_file(path: &Path, anchor: Option<Head>) -> Result<VerifyReport, VerifyError> {
    let error = |source| VerifyError {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(error)?;
    verify(BufReader::new(file), anchor).map_err(error)
}

/// Verifies a log read from `reader`.
///
/// With an `anchor` (a head recorded earlier), the log must also contain the record of the
/// anchor's `seq` with the anchor's hash.
///
/// # Errors
///
/// Any I/O error of `reader`. A broken chain is reported in the report, not as an error.
pub fn verify<R: BufRead>(reader: R, anchor: Option<Head>) -> io::Result<VerifyReport> {
    let mut lines = Lines {
        reader,
        number: 0,
        offset: 0,
        peeked: None,
    };
    let mut report = VerifyReport {
        lines: 0,
        records: 0,
        head: Head::GENESIS,
        first_break: None,
        warnings: Vec::new(),
    };

    while let Some(line) = lines.next()? {
        report.lines = line.number;
        let facts = match chain::check_line(&line.bytes) {
            Ok(facts) => facts,
            Err(fault) => {
                if let Some(recovered_at) = recovered_by(lines.peek()?, &line) {
                    let length = line.bytes.len() as u64;
                    let warning = VerifyWarning::TornLineRecovered {
                        line: line.number,
                        length,
                        recovered_at,
                    };
                    report.warnings.push(warning);
                    continue;
                }
                report.first_break = Some(fault_break(&line, fault));
                return Ok(report);
            }
        };

        let next_seq = lines
            .peek()?
            .and_then(|next| chain::check_line(&next.bytes).ok())
            .map(|f| f.seq);
        if let Some(chain_break) = link_break(report.head, &facts, line.number, next_seq)
            .or_else(|| anchor_break(anchor, &facts, line.number))
        {
            report.first_break = Some(chain_break);
            return Ok(report);
        }
        if !line.terminated {
            report
                .warnings
                .push(VerifyWarning::MissingFinalNewline { line: line.number });
        }
        report.head = facts.head();
        report.records += 1;
    }

    if let Some(anchor) = anchor.filter(|anchor| anchor.seq > report.head.seq) {
        report.first_break = Some(ChainBreak::AnchorMissing {
            anchor,
            last_seq: report.head.seq,
        });
    }
    Ok(report)
}

/// Why a line that is not intact breaks the chain.
fn fault_break(line: &Line, fault: LineFault) -> ChainBreak {
    if !line.terminated {
        return ChainBreak::TruncatedFinalLine {
            line: line.number,
            length: line.bytes.len() as u64,
        };
    }
    match fault {
        LineFault::Malformed(fault) => ChainBreak::Malformed {
            line: line.number,
            fault,
        },
        LineFault::HashMismatch { stored, computed } => ChainBreak::HashMismatch {
            line: line.number,
            stored,
            computed,
        },
    }
}

/// How an intact record fails to follow `previous`, if it does.
///
/// `next_seq` is the `seq` of the following line, when it is intact: a record that skips
/// ahead to a `seq` the next line fills in points to reordering rather than deletion.
fn link_break(
    previous: Head,
    facts: &LineFacts,
    line: u64,
    next_seq: Option<u64>,
) -> Option<ChainBreak> {
    let expected = previous.seq + 1;
    let found = facts.seq;
    if found == expected {
        return (facts.prev_hash != previous.hash)
            .then_some(ChainBreak::LinkMismatch { line, seq: found });
    }
    if found == previous.seq && facts.hash == previous.hash {
        return Some(ChainBreak::Duplicated { line, seq: found });
    }
    let fills_the_gap = next_seq.is_some_and(|next| (expected..found).contains(&next));
    if found > expected && !fills_the_gap {
        return Some(ChainBreak::SeqGap {
            line,
            previous: previous.seq,
            found,
        });
    }
    Some(ChainBreak::OutOfOrder {
        line,
        previous: previous.seq,
        found,
    })
}

fn anchor_break(anchor: Option<Head>, facts: &LineFacts, line: u64) -> Option<ChainBreak> {
    let anchor = anchor.filter(|anchor| anchor.seq == facts.seq && anchor.hash != facts.hash)?;
    Some(ChainBreak::AnchorMismatch {
        line,
        seq: anchor.seq,
        expected: anchor.hash,
        found: facts.hash,
    })
}

/// The line number of the record that recovered `torn`, if `next` is that record.
fn recovered_by(next: Option<&Line>, torn: &Line) -> Option<u64> {
    let next = next?;
    let recovered = chain::check_line(&next.bytes).ok()?.recovered?;
    let describes_torn = recovered.line == torn.number
        && recovered.offset == torn.offset
        && recovered.length == torn.bytes.len() as u64
        && recovered.sha256 == Digest::of(&torn.bytes);
    describes_torn.then_some(next.number)
}

/// One line of the log, without its newline.
#[derive(Debug)]
struct Line {
    number: u64,
    offset: u64,
    bytes: Vec<u8>,
    terminated: bool,
}

/// Lines of a log, with one line of lookahead.
struct Lines<R> {
    reader: R,
    number: u64,
    offset: u64,
    peeked: Option<Line>,
}

impl<R: BufRead> Lines<R> {
    fn next(&mut self) -> io::Result<Option<Line>> {
        match self.peeked.take() {
            Some(line) => Ok(Some(line)),
            None => self.read(),
        }
    }

    fn peek(&mut self) -> io::Result<Option<&Line>> {
        if self.peeked.is_none() {
            self.peeked = self.read()?;
        }
        Ok(self.peeked.as_ref())
    }

    fn read(&mut self) -> io::Result<Option<Line>> {
        let mut bytes = Vec::new();
        let read = self.reader.read_until(b'\n', &mut bytes)?;
        if read == 0 {
            return Ok(None);
        }
        let terminated = bytes.last() == Some(&b'\n');
        if terminated {
            bytes.pop();
        }
        self.number += 1;
        let line = Line {
            number: self.number,
            offset: self.offset,
            bytes,
            terminated,
        };
        self.offset += read as u64;
        Ok(Some(line))
    }
}
