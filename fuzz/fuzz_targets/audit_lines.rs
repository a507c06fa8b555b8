//! Arbitrary bytes as an audit log: `Record::parse` on the whole input, `verify` with and
//! without an anchor, and the three readers `scopegate audit tail` uses.
//!
//! Invariants:
//! * nothing panics;
//! * a parsed record's event writes and reads back unchanged;
//! * `verify` calls the log intact exactly when an independent reading of the documented
//!   format does (`scopegate_fuzz::chain`), and then reports the same head and record count;
//! * an intact log still verifies anchored at its own head, and reports the records after
//!   that head as missing when anchored one record further;
//! * `read_records`, `read_from` and `read_last` return the same complete lines.

#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use scopegate_audit::{
    AuditEvent, ChainBreak, Entry, Filter, Head, ReadError, Record, UnreadableLine, read_from,
    read_last, read_records, verify,
};
use scopegate_fuzz::chain::expected_head;

fuzz_target!(|data: &[u8]| {
    check_record(data);
    check_verify(data);
    check_readers(data);
});

fn check_record(line: &[u8]) {
    let Ok(record) = Record::parse(line) else {
        return;
    };
    let written = serde_json::to_vec(&record.event).expect("an event serialises");
    let read: AuditEvent = serde_json::from_slice(&written)
        .unwrap_or_else(|error| panic!("a written event does not read back: {error}"));
    assert_eq!(read, record.event);
}

fn check_verify(log: &[u8]) {
    let report = verify(log, None).expect("reading from memory cannot fail");
    if let Some(chain_break) = &report.first_break {
        let _ = (
            chain_break.to_string(),
            chain_break.kind(),
            chain_break.line(),
        );
    }
    for warning in &report.warnings {
        let _ = warning.to_string();
    }

    let expected = expected_head(log);
    let Some(expected) = expected else {
        assert!(
            !report.is_intact(),
            "verify passed a log that does not follow the format"
        );
        return;
    };
    assert!(
        report.is_intact(),
        "verify broke a valid log: {:?}",
        report.first_break
    );
    assert_eq!(report.head.seq, expected.seq);
    assert_eq!(report.head.hash.to_string(), expected.hash);
    assert_eq!(report.records, expected.records);

    // Anchored at its own head, the log still verifies.
    let anchored = verify(log, Some(report.head)).expect("reading from memory cannot fail");
    assert!(anchored.is_intact());

    // Anchored one record further, the log has lost its end.
    let Some(seq) = report.head.seq.checked_add(1) else {
        return;
    };
    let ahead = Head { seq, ..report.head };
    let cut = verify(log, Some(ahead)).expect("reading from memory cannot fail");
    assert!(
        matches!(cut.first_break, Some(ChainBreak::AnchorMissing { .. })),
        "{:?}",
        cut.first_break
    );
}

fn check_readers(log: &[u8]) {
    let forwards: Vec<Result<Entry, UnreadableLine>> = read_records(log)
        .map(|item| match item {
            Ok(entry) => Ok(entry),
            Err(ReadError::Unreadable(line)) => Err(line),
            Err(ReadError::Io(error)) => panic!("reading from memory failed: {error}"),
        })
        .collect();
    // A final line without its newline is a write in progress to the other two readers.
    let complete = if log.ends_with(b"\n") || log.is_empty() {
        &forwards[..]
    } else {
        &forwards[..forwards.len() - 1]
    };

    let chunk = read_from(&mut Cursor::new(log), 0, u64::MAX).expect("memory reads");
    assert_eq!(chunk.lines, complete, "read_from differs from read_records");
    let consumed = log
        .iter()
        .rposition(|byte| *byte == b'\n')
        .map_or(0, |at| at + 1);
    assert_eq!(chunk.next_offset, consumed as u64);

    let last =
        read_last(&mut Cursor::new(log), usize::MAX, &Filter::default()).expect("memory reads");
    assert_eq!(last, complete, "read_last differs from read_records");

    // Each entry is the parse of its own line.
    for entry in complete.iter().flatten() {
        assert_eq!(
            Record::parse(entry.line.as_bytes()).ok().as_ref(),
            Some(&entry.record)
        );
    }
}
