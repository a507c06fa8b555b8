//! The reader: forwards, the last N from the end, new lines from an offset, and filters.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod support;

use std::io::Cursor;

use scopegate_audit::{
    AuditEvent, AuditLog, Entry, EventType, Filter, MemoryStorage, Outcome, ReadError,
    UnreadableLine, WriterConfig, read_from, read_last, read_records,
};
use support::{lines, written_log};

fn seqs(entries: &[Result<Entry, UnreadableLine>]) -> Vec<Option<u64>> {
    entries
        .iter()
        .map(|entry| entry.as_ref().ok().map(|entry| entry.record.seq))
        .collect()
}

/// A log of `count` records whose actor, capability and result vary with the seq.
async fn varied_log(count: u64) -> Vec<u8> {
    let storage = MemoryStorage::new();
    let log = AuditLog::with_storage(storage.clone(), WriterConfig::default()).unwrap();
    for seq in 1..=count {
        let (actor, capability, outcome) = match seq % 3 {
            0 => (
                "EMP001",
                "workday.payroll.get_compensation",
                Outcome::StepUp,
            ),
            1 => ("EMP002", "workday.hcm.get_employee", Outcome::Success),
            _ => ("EMP001", "workday.hcm.get_employee", Outcome::Denied),
        };
        let event = AuditEvent::builder(EventType::CapabilityDecision)
            .actor(actor)
            .capability(capability)
            .outcome(outcome)
            .reason(&format!("record {seq}"))
            .build();
        log.append(event).await.unwrap();
    }
    log.close().await.unwrap();
    storage.contents()
}

#[tokio::test]
async fn reading_forwards_yields_every_line_and_goes_on_past_an_unreadable_one() {
    let mut log = lines(&written_log(3).await);
    log.insert(1, b"not a record\n".to_vec());
    let second_offset = log[0].len() as u64;

    let items: Vec<_> = read_records(Cursor::new(log.concat())).collect();

    assert_eq!(items.len(), 4);
    assert_eq!(items[0].as_ref().unwrap().record.seq, 1);
    assert!(matches!(
        &items[1],
        Err(ReadError::Unreadable(UnreadableLine { offset, length: 12, .. }))
            if *offset == second_offset
    ));
    let entry = items[2].as_ref().unwrap();
    assert_eq!((entry.record.seq, entry.offset), (2, second_offset + 13));
    assert_eq!(entry.line.as_bytes(), log[2].strip_suffix(b"\n").unwrap());
    assert_eq!(entry.record.event.actor.as_ref().unwrap(), "EMP002");
}

#[tokio::test]
async fn the_last_records_are_read_from_the_end_across_chunks() {
    let log = varied_log(600).await;
    assert!(
        log.len() > 2 * 64 * 1024,
        "the log spans several read chunks"
    );
    let forwards: Vec<Entry> = read_records(Cursor::new(log.clone()))
        .map(Result::unwrap)
        .collect();

    let last = read_last(&mut Cursor::new(log), 250, &Filter::default()).unwrap();

    let expected: Vec<_> = forwards[350..].iter().cloned().map(Ok).collect();
    assert_eq!(last, expected);
}

#[tokio::test]
async fn the_last_records_can_be_filtered() {
    let log = varied_log(30).await;
    let filter = Filter {
        actor: Some("EMP001".to_owned()),
        capability: Some("workday.payroll.*".to_owned()),
        ..Filter::default()
    };

    let last = read_last(&mut Cursor::new(log), 3, &filter).unwrap();

    assert_eq!(seqs(&last), [Some(24), Some(27), Some(30)]);
}

#[tokio::test]
async fn asking_for_more_than_there_is_returns_everything() {
    let log = varied_log(4).await;
    let filter = Filter {
        outcome: Some(Outcome::Success),
        ..Filter::default()
    };

    let last = read_last(&mut Cursor::new(log), 10, &filter).unwrap();

    assert_eq!(seqs(&last), [Some(1), Some(4)]);
}

#[tokio::test]
async fn reading_the_last_lines_shows_unreadable_ones_and_skips_a_write_in_progress() {
    let mut log = lines(&written_log(3).await);
    log.insert(2, b"garbage\n".to_vec());
    log.push(b"{\"seq\":4,\"tim".to_vec());
    let filter = Filter {
        actor: Some("nobody".to_owned()),
        ..Filter::default()
    };

    let last = read_last(&mut Cursor::new(log.concat()), 5, &filter).unwrap();

    assert_eq!(seqs(&last), [None]);
    assert_eq!(last[0].as_ref().unwrap_err().length, 7);
}

#[tokio::test]
async fn reading_nothing_from_the_end_reads_nothing() {
    let log = written_log(2).await;

    let last = read_last(&mut Cursor::new(log), 0, &Filter::default()).unwrap();

    assert!(last.is_empty());
}

#[tokio::test]
async fn following_reads_only_complete_lines_and_continues_where_it_stopped() {
    let log = written_log(3).await;
    let (whole, half) = log.split_at(log.len() - 30);

    let first = read_from(&mut Cursor::new(whole.to_vec()), 0, u64::MAX).unwrap();
    let second = read_from(&mut Cursor::new(log.clone()), first.next_offset, u64::MAX).unwrap();

    assert_eq!(seqs(&first.lines), [Some(1), Some(2)]);
    assert_eq!(seqs(&second.lines), [Some(3)]);
    assert_eq!(second.next_offset, log.len() as u64);
    assert!(!half.is_empty());
}

#[tokio::test]
async fn following_stops_near_the_byte_budget_but_always_makes_progress() {
    let log = written_log(3).await;

    let chunk = read_from(&mut Cursor::new(log.clone()), 0, 1).unwrap();

    assert_eq!(seqs(&chunk.lines), [Some(1)]);
    assert_eq!(chunk.next_offset, lines(&log)[0].len() as u64);
}

#[test]
fn a_capability_pattern_matches_whole_name_segments_only() {
    let event = |capability: &str| {
        AuditEvent::builder(EventType::CapabilityDecision)
            .capability(capability)
            .build()
    };
    let pattern = Filter {
        capability: Some("workday.hcm.*".to_owned()),
        ..Filter::default()
    };
    let exact = Filter {
        capability: Some("workday.hcm".to_owned()),
        ..Filter::default()
    };

    assert!(pattern.matches(&event("workday.hcm.get_employee")));
    assert!(!pattern.matches(&event("workday.hcmx.get_employee")));
    assert!(!exact.matches(&event("workday.hcm.get_employee")));
    assert!(!pattern.matches(&AuditEvent::builder(EventType::TokenIssued).build()));
}
