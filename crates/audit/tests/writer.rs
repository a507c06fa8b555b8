//! The writer: group commit, durability before acknowledgement, failure and recovery,
//! backpressure and shutdown.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod support;

use std::collections::BTreeSet;
use std::future::Future;
use std::io::Cursor;
use std::pin::Pin;
use std::task::{Context, Waker};
use std::time::Duration;

use scopegate_audit::{
    AuditError, AuditEvent, AuditLog, EventType, Faults, FileOpenError, Gather, MAX_LINE_BYTES,
    MemoryStorage, OpenError, Storage, StorageOp, WriterConfig, read_records, verify, verify_file,
};
use support::{PATIENCE, decision, instrument, lines};

fn is_pending<F: Future + Unpin>(future: &mut F) -> bool {
    let mut context = Context::from_waker(Waker::noop());
    Pin::new(future).poll(&mut context).is_pending()
}

fn storage_failure(error: &AuditError) -> Option<(StorageOp, String)> {
    match error {
        AuditError::Storage { operation, source } => Some((*operation, source.to_string())),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn records_appended_concurrently_by_many_tasks_form_one_gap_free_valid_chain() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("audit.jsonl");
    let log = AuditLog::open(&path, WriterConfig::default()).unwrap();

    let tasks: Vec<_> = (0..32)
        .map(|task| {
            let log = log.clone();
            tokio::spawn(async move {
                let mut receipts = Vec::new();
                for index in 0..200 {
                    let event = decision(&format!("EMP{task:02}-{index:03}"));
                    receipts.push(log.append(event).await.unwrap());
                }
                receipts
            })
        })
        .collect();
    let mut receipts = Vec::new();
    for task in tasks {
        receipts.extend(task.await.unwrap());
    }
    let head = log.close().await.unwrap();

    let seqs: BTreeSet<u64> = receipts.iter().map(|receipt| receipt.seq).collect();
    assert_eq!(seqs, (1..=6400).collect());
    let report = verify_file(&path, None).unwrap();
    assert!(report.is_intact(), "{:?}", report.first_break);
    assert_eq!((report.records, report.head), (6400, head));
    let file = std::io::BufReader::new(std::fs::File::open(&path).unwrap());
    let in_file: Vec<u64> = read_records(file)
        .map(|entry| entry.unwrap().record.seq)
        .collect();
    assert_eq!(in_file, (1..=6400).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_record_is_not_acknowledged_before_fdatasync_returns() {
    let memory = MemoryStorage::new();
    let (storage, controls) = instrument(memory.clone());
    let log = AuditLog::with_storage(storage, WriterConfig::default()).unwrap();
    controls.hold_syncs();

    let mut ack = log.try_append(decision("EMP001")).unwrap();
    controls.wait_until_syncing();

    assert_eq!(lines(&memory.contents()).len(), 1, "the record is written");
    assert!(
        is_pending(&mut ack),
        "acknowledged while fdatasync had not returned"
    );
    controls.release();
    let receipt = ack.await.unwrap();
    assert_eq!(receipt.seq, 1);
    assert_eq!(memory.syncs(), 2, "one sync at open, one for the batch");
}

#[tokio::test]
async fn records_queued_during_a_sync_share_the_next_write_and_sync() {
    let memory = MemoryStorage::new();
    let (storage, controls) = instrument(memory.clone());
    let log = AuditLog::with_storage(storage, WriterConfig::default()).unwrap();
    controls.hold_syncs();
    let first = log.try_append(decision("EMP000")).unwrap();
    controls.wait_until_syncing();

    let rest: Vec<_> = (1..=9)
        .map(|i| log.try_append(decision(&format!("EMP{i:03}"))).unwrap())
        .collect();
    controls.stop_holding();

    first.await.unwrap();
    for ack in rest {
        ack.await.unwrap();
    }
    assert_eq!(controls.appends(), [1, 9]);
    assert_eq!(memory.syncs(), 3);
}

#[tokio::test]
async fn a_batch_never_holds_more_than_the_record_limit() {
    let config = WriterConfig {
        max_batch_records: 4,
        ..WriterConfig::default()
    };
    let (storage, controls) = instrument(MemoryStorage::new());
    let log = AuditLog::with_storage(storage, config).unwrap();
    controls.hold_syncs();
    let first = log.try_append(decision("EMP000")).unwrap();
    controls.wait_until_syncing();

    let rest: Vec<_> = (1..=10)
        .map(|i| log.try_append(decision(&format!("EMP{i:03}"))).unwrap())
        .collect();
    controls.stop_holding();

    first.await.unwrap();
    for ack in rest {
        ack.await.unwrap();
    }
    assert_eq!(controls.appends(), [1, 4, 4, 2]);
}

#[tokio::test]
async fn a_batch_stops_growing_at_the_byte_limit() {
    let config = WriterConfig {
        max_batch_bytes: 1,
        ..WriterConfig::default()
    };
    let (storage, controls) = instrument(MemoryStorage::new());
    let log = AuditLog::with_storage(storage, config).unwrap();
    controls.hold_syncs();
    let first = log.try_append(decision("EMP000")).unwrap();
    controls.wait_until_syncing();

    let rest: Vec<_> = (1..=3)
        .map(|i| log.try_append(decision(&format!("EMP{i:03}"))).unwrap())
        .collect();
    controls.stop_holding();

    first.await.unwrap();
    for ack in rest {
        ack.await.unwrap();
    }
    assert_eq!(controls.appends(), [1, 1, 1, 1]);
}

#[tokio::test]
async fn lingering_gathers_a_record_that_arrives_later_and_a_full_batch_goes_at_once() {
    let config = WriterConfig {
        max_batch_records: 2,
        linger: Duration::from_secs(60),
        ..WriterConfig::default()
    };
    let (storage, controls) = instrument(MemoryStorage::new());
    let log = AuditLog::with_storage(storage, config).unwrap();

    let first = log.try_append(decision("EMP001")).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = log.try_append(decision("EMP002")).unwrap();

    let both = tokio::time::timeout(PATIENCE, async { (first.await, second.await) }).await;
    let (first, second) = both.expect("a full batch waited out the linger");
    assert_eq!((first.unwrap().seq, second.unwrap().seq), (1, 2));
    assert_eq!(controls.appends(), [2]);
}

#[tokio::test]
async fn a_lone_record_is_committed_when_the_linger_ends() {
    let config = WriterConfig {
        linger: Duration::from_millis(50),
        ..WriterConfig::default()
    };
    let log = AuditLog::with_storage(MemoryStorage::new(), config).unwrap();

    let receipt = tokio::time::timeout(PATIENCE, log.append(decision("EMP001"))).await;

    assert_eq!(receipt.expect("the linger never ended").unwrap().seq, 1);
}

#[test]
fn a_steady_stream_is_gathered_into_fewer_syncs() {
    let config = WriterConfig {
        gather: Some(Gather {
            target_records: 4,
            max_wait: Duration::from_millis(50),
        }),
        ..WriterConfig::default()
    };
    let (storage, controls) = instrument(MemoryStorage::new());
    let log = AuditLog::with_storage(storage, config).unwrap();

    // A record every millisecond, each waited for only at the end: with no other records
    // queued during a sync, only gathering can put two in one batch.
    let acks: Vec<_> = (0..200)
        .map(|index| {
            std::thread::sleep(Duration::from_millis(1));
            log.try_append(decision(&format!("EMP{index:03}"))).unwrap()
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for ack in acks {
        runtime.block_on(ack).unwrap();
    }

    let batches = controls.appends();
    assert_eq!(batches.iter().sum::<usize>(), 200);
    assert!(
        batches.len() < 100,
        "{} syncs for 200 records: {batches:?}",
        batches.len()
    );
}

#[tokio::test]
async fn try_append_fails_fast_when_the_queue_is_full() {
    let config = WriterConfig {
        queue_capacity: 1,
        ..WriterConfig::default()
    };
    let (storage, controls) = instrument(MemoryStorage::new());
    let log = AuditLog::with_storage(storage, config).unwrap();
    controls.hold_syncs();
    let in_sync = log.try_append(decision("EMP001")).unwrap();
    controls.wait_until_syncing();
    let queued = log.try_append(decision("EMP002")).unwrap();

    let error = log.try_append(decision("EMP003")).unwrap_err();

    assert!(matches!(error, AuditError::QueueFull), "{error:?}");
    assert_eq!(error.to_string(), "audit queue is full");
    controls.stop_holding();
    assert_eq!(in_sync.await.unwrap().seq, 1);
    assert_eq!(queued.await.unwrap().seq, 2);
}

#[tokio::test]
async fn append_waits_for_room_when_the_queue_is_full() {
    let config = WriterConfig {
        queue_capacity: 1,
        ..WriterConfig::default()
    };
    let (storage, controls) = instrument(MemoryStorage::new());
    let log = AuditLog::with_storage(storage, config).unwrap();
    controls.hold_syncs();
    let in_sync = log.try_append(decision("EMP001")).unwrap();
    controls.wait_until_syncing();
    let queued = log.try_append(decision("EMP002")).unwrap();

    let mut waiting = Box::pin(log.append(decision("EMP003")));

    assert!(is_pending(&mut waiting));
    controls.stop_holding();
    assert_eq!(in_sync.await.unwrap().seq, 1);
    assert_eq!(queued.await.unwrap().seq, 2);
    assert_eq!(waiting.await.unwrap().seq, 3);
}

#[tokio::test]
async fn a_failed_write_fails_its_whole_batch_and_leaves_no_partial_line() {
    let memory = MemoryStorage::new();
    let (storage, controls) = instrument(memory.clone());
    let log = AuditLog::with_storage(storage, WriterConfig::default()).unwrap();
    controls.hold_syncs();
    let before = log.try_append(decision("EMP001")).unwrap();
    controls.wait_until_syncing();
    let durable = memory.contents();
    let batch: Vec<_> = (2..=4)
        .map(|i| log.try_append(decision(&format!("EMP{i:03}"))).unwrap())
        .collect();
    memory.set_faults(Faults {
        append: true,
        ..Faults::default()
    });
    controls.stop_holding();
    before.await.unwrap();

    let mut errors = Vec::new();
    for ack in batch {
        errors.push(storage_failure(&ack.await.unwrap_err()));
    }

    let expected = Some((StorageOp::Write, "injected append failure".to_owned()));
    assert_eq!(errors, [expected.clone(), expected.clone(), expected]);
    assert_eq!(controls.appends(), [1, 3]);
    assert_eq!(memory.contents(), durable);
    assert!(!log.healthy());
}

#[tokio::test]
async fn a_failed_sync_rolls_the_batch_back_and_reports_it() {
    let memory = MemoryStorage::new();
    let log = AuditLog::with_storage(memory.clone(), WriterConfig::default()).unwrap();
    log.append(decision("EMP001")).await.unwrap();
    let durable = memory.contents();
    memory.set_faults(Faults {
        sync: true,
        ..Faults::default()
    });

    let error = log.append(decision("EMP002")).await.unwrap_err();

    assert_eq!(
        storage_failure(&error),
        Some((StorageOp::Sync, "injected sync failure".to_owned()))
    );
    assert_eq!(
        error.to_string(),
        "audit log sync failed: injected sync failure"
    );
    assert_eq!(memory.contents(), durable);
    assert!(!log.healthy());
}

#[tokio::test]
async fn the_log_recovers_without_a_restart_once_storage_works_again() {
    let memory = MemoryStorage::new();
    let log = AuditLog::with_storage(memory.clone(), WriterConfig::default()).unwrap();
    log.append(decision("EMP001")).await.unwrap();
    memory.set_faults(Faults {
        append: true,
        reopen: true,
        ..Faults::default()
    });
    let write_error = log.append(decision("EMP002")).await.unwrap_err();
    let reopen_error = log.append(decision("EMP003")).await.unwrap_err();
    assert!(!log.healthy());

    memory.set_faults(Faults::default());
    let receipt = log.append(decision("EMP004")).await.unwrap();

    assert_eq!(storage_failure(&write_error).unwrap().0, StorageOp::Write);
    assert_eq!(storage_failure(&reopen_error).unwrap().0, StorageOp::Reopen);
    assert!(log.healthy());
    assert_eq!(receipt.seq, 2, "failed records take no seq");
    let report = verify(Cursor::new(memory.contents()), None).unwrap();
    assert!(report.is_intact(), "{:?}", report.first_break);
    assert_eq!(report.records, 2);
}

#[tokio::test]
async fn a_failed_cut_back_is_finished_before_the_next_write() {
    let memory = MemoryStorage::new();
    let log = AuditLog::with_storage(memory.clone(), WriterConfig::default()).unwrap();
    log.append(decision("EMP001")).await.unwrap();
    let durable = memory.contents();
    memory.set_faults(Faults {
        append: true,
        truncate: true,
        ..Faults::default()
    });
    log.append(decision("EMP002")).await.unwrap_err();
    assert!(
        memory.contents().len() > durable.len(),
        "half a line is left behind"
    );

    memory.set_faults(Faults::default());
    log.append(decision("EMP003")).await.unwrap();

    let contents = memory.contents();
    assert!(contents.starts_with(&durable));
    assert_eq!(lines(&contents).len(), 2);
    assert!(verify(Cursor::new(contents), None).unwrap().is_intact());
}

#[tokio::test]
async fn the_writer_will_not_continue_a_log_that_shrank_under_it() {
    let memory = MemoryStorage::new();
    let log = AuditLog::with_storage(memory.clone(), WriterConfig::default()).unwrap();
    log.append(decision("EMP001")).await.unwrap();
    log.append(decision("EMP002")).await.unwrap();
    let durable_len = memory.contents().len() as u64;
    memory.set_faults(Faults {
        sync: true,
        ..Faults::default()
    });
    log.append(decision("EMP003")).await.unwrap_err();
    memory.clone().truncate(10).unwrap();
    memory.set_faults(Faults::default());

    let error = log.append(decision("EMP004")).await.unwrap_err();

    assert!(
        matches!(error, AuditError::Shrank { expected, found: 10 } if expected == durable_len),
        "{error:?}"
    );
    assert!(!log.healthy());
}

#[tokio::test]
async fn close_writes_everything_queued_then_refuses_appends() {
    let memory = MemoryStorage::new();
    let log = AuditLog::with_storage(memory.clone(), WriterConfig::default()).unwrap();
    let acks: Vec<_> = (1..=20)
        .map(|i| log.try_append(decision(&format!("EMP{i:03}"))).unwrap())
        .collect();

    let head = log.close().await.unwrap();

    let mut last = None;
    for ack in acks {
        last = Some(ack.await.unwrap());
    }
    let last = last.unwrap();
    assert_eq!((head.seq, head.hash), (last.seq, last.hash));
    assert_eq!(lines(&memory.contents()).len(), 20);
    assert!(matches!(
        log.append(decision("EMP021")).await,
        Err(AuditError::Closed)
    ));
    assert!(matches!(
        log.try_append(decision("EMP021")),
        Err(AuditError::Closed)
    ));
    assert_eq!(log.close().await.unwrap(), head);
    assert!(!log.healthy(), "a closed log cannot write");
}

#[tokio::test]
async fn dropping_every_handle_writes_what_is_queued_and_stops_the_writer() {
    let memory = MemoryStorage::new();
    let (storage, controls) = instrument(memory.clone());
    let log = AuditLog::with_storage(storage, WriterConfig::default()).unwrap();
    let acks: Vec<_> = (1..=5)
        .map(|i| log.try_append(decision(&format!("EMP{i:03}"))).unwrap())
        .collect();

    drop(log);
    controls.wait_until_dropped();

    assert_eq!(lines(&memory.contents()).len(), 5);
    for (seq, ack) in (1..).zip(acks) {
        assert_eq!(ack.await.unwrap().seq, seq);
    }
}

#[tokio::test]
async fn producers_cannot_record_the_writers_own_event_types() {
    let log = AuditLog::with_storage(MemoryStorage::new(), WriterConfig::default()).unwrap();
    let event = AuditEvent::builder(EventType::TornLineRecovered).build();

    let error = log.append(event).await.unwrap_err();

    assert!(
        matches!(
            error,
            AuditError::Reserved {
                event_type: EventType::TornLineRecovered
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "event type `audit.torn_line_recovered` is reserved for the audit writer"
    );
}

#[tokio::test]
async fn an_event_too_large_for_one_line_is_refused() {
    let log = AuditLog::with_storage(MemoryStorage::new(), WriterConfig::default()).unwrap();
    let reasons = (0..100).map(|i| format!("reason {i}: {}", "x".repeat(900)));
    let event = AuditEvent::builder(EventType::CapabilityDecision)
        .reasons(reasons)
        .build();

    let error = log.append(event).await.unwrap_err();

    let AuditError::TooLarge { bytes, limit } = error else {
        panic!("{error:?}")
    };
    assert_eq!(limit, MAX_LINE_BYTES);
    assert!(bytes > limit);
}

#[tokio::test]
async fn the_chain_resumes_where_it_ended_after_a_restart() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("audit.jsonl");
    let first_run = AuditLog::open(&path, WriterConfig::default()).unwrap();
    for i in 1..=3 {
        first_run
            .append(decision(&format!("EMP{i:03}")))
            .await
            .unwrap();
    }
    let first_head = first_run.close().await.unwrap();

    let second_run = AuditLog::open(&path, WriterConfig::default()).unwrap();
    let receipt = second_run.append(decision("EMP004")).await.unwrap();
    second_run.close().await.unwrap();

    assert_eq!(first_head.seq, 3);
    assert_eq!(receipt.seq, 4);
    assert_eq!(second_run.recovered_torn_line(), None);
    let report = verify_file(&path, Some(first_head)).unwrap();
    assert!(report.is_intact(), "{:?}", report.first_break);
    assert_eq!(report.records, 4);
}

#[tokio::test]
async fn a_second_writer_on_the_same_file_is_refused() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("audit.jsonl");
    let _first = AuditLog::open(&path, WriterConfig::default()).unwrap();

    let error = AuditLog::open(&path, WriterConfig::default()).unwrap_err();

    let OpenError::File(FileOpenError::Locked { path: locked }) = error else {
        panic!("{error:?}")
    };
    assert_eq!(locked, path);
}

#[tokio::test]
async fn a_token_passed_in_free_text_never_reaches_the_file() {
    let jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJFTVAwMDEifQ.c2lnbmF0dXJlLWJ5dGVzLWhlcmU";
    let opaque = "Zq4X9mB2vN7cR1tY8wK3pL6sD0fH5jGa";
    let memory = MemoryStorage::new();
    let log = AuditLog::with_storage(memory.clone(), WriterConfig::default()).unwrap();
    let event = AuditEvent::builder(EventType::TokenRefused)
        .request_id(jwt)
        .client_id(opaque)
        .reason(&format!("invalid_grant: subject_token {jwt} is expired"))
        .reason(&format!("Authorization: Bearer {opaque}"))
        .build();

    log.append(event).await.unwrap();

    let contents = String::from_utf8(memory.contents()).unwrap();
    assert!(
        !contents.contains(jwt) && !contents.contains(opaque),
        "{contents}"
    );
    assert!(contents.contains(r#""request_id":"[redacted:jwt]","client_id":"[redacted:secret]""#));
    assert!(contents.contains(concat!(
        r#""reasons":["invalid_grant: subject_token [redacted:jwt] is expired","#,
        r#""Authorization: Bearer [redacted:bearer]"]"#
    )));
}
