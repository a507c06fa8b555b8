//! Arbitrary bytes as the log a writer finds at startup (after a crash, say): open it in
//! memory, append one record, close, and verify what is left.
//!
//! Invariants:
//! * nothing panics;
//! * a log the writer refuses to open is left exactly as it was, and is not an intact log;
//! * a log the writer opens keeps every byte it had (at most a newline is added to end a
//!   torn line), and gains the appended record as its last line, at the receipt's place;
//! * a log that verified, or whose only defect was a torn final line, verifies after the
//!   append, ending at the receipt.

#![no_main]

use libfuzzer_sys::fuzz_target;
use scopegate_audit::{
    AuditEvent, AuditLog, ChainBreak, EventType, MemoryStorage, Outcome, Record, VerifyReport,
    WriterConfig, verify,
};
use scopegate_fuzz::executor::block_on;

fuzz_target!(|data: &[u8]| {
    let before = verify(data, None).expect("reading from memory cannot fail");
    let storage = MemoryStorage::with_contents(data.to_vec());

    let log = match AuditLog::with_storage(storage.clone(), WriterConfig::default()) {
        Ok(log) => log,
        Err(error) => {
            let _ = error.to_string();
            assert_eq!(storage.contents(), data, "a refused log was changed");
            assert!(
                !before.is_intact(),
                "the writer refused an intact log: {error}"
            );
            return;
        }
    };
    let ack = log.try_append(decision()).expect("an empty queue has room");
    let receipt = block_on(ack).expect("memory storage does not fail");
    let head = block_on(log.close()).expect("the writer hands back its head");
    assert_eq!((head.seq, head.hash), (receipt.seq, receipt.hash));

    // Evidence is kept: the old bytes are a prefix of the new log.
    let after = storage.contents();
    assert!(after.starts_with(data), "the writer changed bytes it found");

    // The appended record is the last line, where the receipt says.
    let last_line = after
        .strip_suffix(b"\n")
        .and_then(|body| body.rsplit(|byte| *byte == b'\n').next())
        .expect("the log ends with a complete line");
    let record = Record::parse(last_line).expect("the appended line is a record");
    assert_eq!((record.seq, record.hash), (receipt.seq, receipt.hash));

    if before.is_intact() || torn_at_end(&before, data) {
        let report = verify(&after[..], None).expect("reading from memory cannot fail");
        assert!(
            report.is_intact(),
            "recovery left a broken chain: {:?} (before: {:?})",
            report.first_break,
            before.first_break
        );
        assert_eq!(report.head, head);
    }
});

/// Whether the log's only defect is its last line, torn: not a record at all.
fn torn_at_end(report: &VerifyReport, log: &[u8]) -> bool {
    let lines = log.iter().filter(|byte| **byte == b'\n').count() as u64
        + u64::from(!log.is_empty() && !log.ends_with(b"\n"));
    match report.first_break {
        Some(ChainBreak::Malformed { line, .. } | ChainBreak::TruncatedFinalLine { line, .. }) => {
            line == lines
        }
        _ => false,
    }
}

fn decision() -> AuditEvent {
    AuditEvent::builder(EventType::CapabilityDecision)
        .request_id("fuzz-1")
        .actor("EMP001")
        .acting_through("mcp-server")
        .capability("workday.hcm.get_employee")
        .policy_matched("employee-self-service")
        .outcome(Outcome::Success)
        .build()
}
