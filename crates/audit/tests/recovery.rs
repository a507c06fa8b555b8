//! Startup: the chain resumes from the last intact line, and a torn final line is kept,
//! ended and recorded rather than appended after.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod support;

use std::io::Cursor;

use scopegate_audit::{
    AuditLog, Digest, EventType, MemoryStorage, OpenError, Record, TornLine, VerifyWarning,
    WriterConfig, verify, verify_file,
};
use support::{decision, lines, written_log};

fn open(storage: &MemoryStorage) -> Result<AuditLog, OpenError> {
    AuditLog::with_storage(storage.clone(), WriterConfig::default())
}

#[tokio::test]
async fn bytes_after_the_last_newline_are_kept_ended_and_recorded() {
    let intact = written_log(3).await;
    let fragment = b"{\"seq\":4,\"timest".to_vec();
    let storage = MemoryStorage::with_contents([intact.clone(), fragment.clone()].concat());

    let log = open(&storage).unwrap();

    let torn = TornLine {
        line: 4,
        offset: intact.len() as u64,
        length: fragment.len() as u64,
        sha256: Digest::of(&fragment),
    };
    assert_eq!(log.recovered_torn_line(), Some(torn));
    let contents = storage.contents();
    assert!(contents.starts_with(&[intact.clone(), fragment, b"\n".to_vec()].concat()));
    let recovery = Record::parse(&lines(&contents)[4]).unwrap();
    assert_eq!(recovery.event.event_type, EventType::TornLineRecovered);
    assert_eq!(recovery.event.torn_line, Some(torn));
    assert_eq!(recovery.seq, 4);
    assert_eq!(
        recovery.prev_hash,
        Record::parse(&lines(&intact)[2]).unwrap().hash
    );
}

#[tokio::test]
async fn a_recovered_log_verifies_with_a_warning_and_keeps_growing() {
    let intact = written_log(3).await;
    let storage = MemoryStorage::with_contents([intact, b"{\"seq\":4,\"ti".to_vec()].concat());
    let log = open(&storage).unwrap();

    let receipt = log.append(decision("EMP005")).await.unwrap();
    log.close().await.unwrap();

    assert_eq!(receipt.seq, 5);
    let report = verify(Cursor::new(storage.contents()), None).unwrap();
    assert!(report.is_intact(), "{:?}", report.first_break);
    assert_eq!((report.lines, report.records, report.head.seq), (6, 5, 5));
    assert_eq!(
        report.warnings,
        [VerifyWarning::TornLineRecovered {
            line: 4,
            length: 12,
            recovered_at: 5
        }]
    );
}

#[tokio::test]
async fn an_unreadable_complete_final_line_is_recorded_as_torn() {
    let intact = written_log(2).await;
    let storage = MemoryStorage::with_contents([intact.clone(), b"garbage\n".to_vec()].concat());

    let log = open(&storage).unwrap();

    let torn = log.recovered_torn_line().unwrap();
    assert_eq!(
        (torn.line, torn.offset, torn.length),
        (3, intact.len() as u64, 7)
    );
    let contents = storage.contents();
    assert!(contents.starts_with(&[intact, b"garbage\n".to_vec()].concat()));
    assert!(verify(Cursor::new(contents), None).unwrap().is_intact());
}

#[tokio::test]
async fn refuses_to_start_when_the_last_line_was_edited_rather_than_torn() {
    let mut log_lines = lines(&written_log(3).await);
    let edited = String::from_utf8(log_lines[2].clone())
        .unwrap()
        .replace("EMP003", "EMP009");
    log_lines[2] = edited.into_bytes();
    let offset = (log_lines[0].len() + log_lines[1].len()) as u64;
    let storage = MemoryStorage::with_contents(log_lines.concat());

    let error = open(&storage).unwrap_err();

    assert!(
        matches!(error, OpenError::EditedTail { offset: at } if at == offset),
        "{error:?}"
    );
    assert_eq!(
        storage.contents(),
        log_lines.concat(),
        "nothing was written"
    );
}

#[tokio::test]
async fn a_record_missing_only_its_newline_stays_a_record() {
    let mut intact = written_log(3).await;
    intact.pop();
    let storage = MemoryStorage::with_contents(intact.clone());

    let log = open(&storage).unwrap();
    let receipt = log.append(decision("EMP004")).await.unwrap();

    assert_eq!(log.recovered_torn_line(), None);
    assert_eq!(receipt.seq, 4);
    assert!(
        storage
            .contents()
            .starts_with(&[intact, b"\n".to_vec()].concat())
    );
}

#[test]
fn a_torn_first_line_is_recovered_from_the_genesis() {
    let storage = MemoryStorage::with_contents(b"{\"se".to_vec());

    let log = open(&storage).unwrap();

    assert_eq!(
        log.recovered_torn_line()
            .map(|torn| (torn.line, torn.offset)),
        Some((1, 0))
    );
    let recovery = Record::parse(&lines(&storage.contents())[1]).unwrap();
    assert_eq!((recovery.seq, recovery.prev_hash), (1, Digest::ZERO));
}

#[tokio::test]
async fn refuses_to_start_when_more_than_the_last_line_is_unreadable() {
    let intact = written_log(2).await;
    let damaged = [intact.clone(), b"junk\n{\"seq\":4".to_vec()].concat();
    let storage = MemoryStorage::with_contents(damaged.clone());

    let error = open(&storage).unwrap_err();

    assert!(
        matches!(error, OpenError::UnreadableTail { offset } if offset == intact.len() as u64),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "audit log has an unreadable line at byte {} before its last line; \
             refusing to append (move the file aside and verify it)",
            intact.len()
        )
    );
    assert_eq!(storage.contents(), damaged, "nothing was written");
}

#[tokio::test]
async fn refuses_to_start_when_the_last_two_complete_lines_are_unreadable() {
    let intact = written_log(2).await;
    let storage = MemoryStorage::with_contents([intact.clone(), b"junk\nmore\n".to_vec()].concat());

    let error = open(&storage).unwrap_err();

    assert!(
        matches!(error, OpenError::UnreadableTail { offset } if offset == intact.len() as u64),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_torn_line_on_disk_is_recovered_and_verifies() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("audit.jsonl");
    std::fs::write(
        &path,
        [written_log(2).await, b"{\"seq\":3,\"t".to_vec()].concat(),
    )
    .unwrap();

    let log = AuditLog::open(&path, WriterConfig::default()).unwrap();
    log.append(decision("EMP004")).await.unwrap();
    log.close().await.unwrap();

    let report = verify_file(&path, None).unwrap();
    assert!(report.is_intact(), "{:?}", report.first_break);
    assert_eq!(
        report.warnings,
        [VerifyWarning::TornLineRecovered {
            line: 3,
            length: 11,
            recovered_at: 4
        }]
    );
    assert_eq!(report.head.seq, 4);
}
