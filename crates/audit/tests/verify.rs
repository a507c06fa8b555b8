//! The verifier: an intact log verifies, and each kind of tampering is found at the first
//! line it breaks, with the right explanation.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod support;

use std::io::Cursor;

use scopegate_audit::{
    BreakKind, ChainBreak, Digest, Head, MalformedLine, Record, VerifyReport, VerifyWarning, verify,
};
use support::{lines, written_log};

fn check(bytes: Vec<u8>) -> VerifyReport {
    verify(Cursor::new(bytes), None).unwrap()
}

fn join(lines: &[Vec<u8>]) -> Vec<u8> {
    lines.concat()
}

fn hash_of(line: &[u8]) -> Digest {
    Record::parse(line).unwrap().hash
}

fn head_of(line: &[u8]) -> Head {
    let record = Record::parse(line).unwrap();
    Head {
        seq: record.seq,
        hash: record.hash,
    }
}

/// Replaces `from` by `to` in `line` and seals it again, as a careful forger would.
fn edit_and_rehash(line: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(line.to_vec()).unwrap().replace(from, to);
    let body = &text[..text.len() - 1 - 75];
    format!("{body},\"hash\":\"{}\"}}\n", Digest::of(body.as_bytes())).into_bytes()
}

#[tokio::test]
async fn an_intact_log_verifies_and_reports_its_head() {
    let log = written_log(5).await;
    let last = lines(&log).pop().unwrap();

    let report = check(log);

    assert_eq!(
        report,
        VerifyReport {
            lines: 5,
            records: 5,
            head: head_of(&last),
            first_break: None,
            warnings: Vec::new(),
        }
    );
}

#[test]
fn an_empty_log_verifies_with_the_genesis_head() {
    let report = check(Vec::new());

    assert!(report.is_intact());
    assert_eq!((report.records, report.head), (0, Head::GENESIS));
}

#[tokio::test]
async fn detects_an_edited_field() {
    let mut log = lines(&written_log(5).await);
    let stored = hash_of(&log[2]);
    log[2] = String::from_utf8(log[2].clone())
        .unwrap()
        .replace("EMP003", "EMP009")
        .into_bytes();
    let computed = Digest::of(&log[2][..log[2].len() - 1 - 75]);

    let report = check(join(&log));

    let found = report.first_break.unwrap();
    assert_eq!(
        found,
        ChainBreak::HashMismatch {
            line: 3,
            stored,
            computed
        }
    );
    assert_eq!(found.kind(), BreakKind::Edited);
    assert_eq!(
        found.to_string(),
        format!("line 3: content does not match its hash `{stored}` (the line was edited)")
    );
    assert_eq!(report.records, 2);
}

#[tokio::test]
async fn detects_an_edited_record_whose_hash_was_recomputed() {
    let mut log = lines(&written_log(5).await);
    log[2] = edit_and_rehash(&log[2], "EMP003", "EMP009");

    let found = check(join(&log)).first_break.unwrap();

    assert_eq!(found, ChainBreak::LinkMismatch { line: 4, seq: 4 });
    assert_eq!(found.kind(), BreakKind::Edited);
}

#[tokio::test]
async fn detects_a_deleted_line() {
    let mut log = lines(&written_log(5).await);
    log.remove(2);

    let found = check(join(&log)).first_break.unwrap();

    assert_eq!(
        found,
        ChainBreak::SeqGap {
            line: 3,
            previous: 2,
            found: 4
        }
    );
    assert_eq!(found.kind(), BreakKind::Deleted);
    assert_eq!(
        found.to_string(),
        "line 3: seq jumps from 2 to 4 (1 deleted record(s))"
    );
}

#[tokio::test]
async fn detects_a_deleted_first_line() {
    let mut log = lines(&written_log(3).await);
    log.remove(0);

    let found = check(join(&log)).first_break.unwrap();

    assert_eq!(
        found,
        ChainBreak::SeqGap {
            line: 1,
            previous: 0,
            found: 2
        }
    );
}

#[tokio::test]
async fn detects_two_swapped_lines() {
    let mut log = lines(&written_log(5).await);
    log.swap(2, 3);

    let found = check(join(&log)).first_break.unwrap();

    assert_eq!(
        found,
        ChainBreak::OutOfOrder {
            line: 3,
            previous: 2,
            found: 4
        }
    );
    assert_eq!(found.kind(), BreakKind::Reordered);
    assert_eq!(
        found.to_string(),
        "line 3: seq 4 follows seq 2 (lines were reordered)"
    );
}

#[tokio::test]
async fn detects_a_line_moved_to_the_front() {
    let mut log = lines(&written_log(5).await);
    let last = log.pop().unwrap();
    log.insert(0, last);

    let found = check(join(&log)).first_break.unwrap();

    assert_eq!(
        found,
        ChainBreak::OutOfOrder {
            line: 1,
            previous: 0,
            found: 5
        }
    );
}

#[tokio::test]
async fn detects_a_truncated_file() {
    let mut log = written_log(5).await;
    let cut = log.len() - 40;
    log.truncate(cut);
    let kept_of_last = lines(&log).pop().unwrap().len() as u64;

    let found = check(log).first_break.unwrap();

    assert_eq!(
        found,
        ChainBreak::TruncatedFinalLine {
            line: 5,
            length: kept_of_last
        }
    );
    assert_eq!(found.kind(), BreakKind::Truncated);
    assert_eq!(
        found.to_string(),
        format!("line 5: truncated final line ({kept_of_last} bytes without a newline)")
    );
}

#[tokio::test]
async fn detects_a_duplicated_line() {
    let mut log = lines(&written_log(4).await);
    log.insert(2, log[1].clone());

    let found = check(join(&log)).first_break.unwrap();

    assert_eq!(found, ChainBreak::Duplicated { line: 3, seq: 2 });
    assert_eq!(found.kind(), BreakKind::Duplicated);
}

#[tokio::test]
async fn detects_a_line_that_is_not_a_record() {
    let mut log = lines(&written_log(3).await);
    log.insert(1, b"hello\n".to_vec());

    let found = check(join(&log)).first_break.unwrap();

    assert_eq!(
        found,
        ChainBreak::Malformed {
            line: 2,
            fault: MalformedLine::NoHash
        }
    );
    assert_eq!(found.kind(), BreakKind::Malformed);
    assert_eq!(
        found.to_string(),
        "line 2: not an audit record: it does not end with a `hash` member of 64 hexadecimal digits"
    );
}

#[tokio::test]
async fn detects_a_line_that_ends_like_a_record_but_is_not_json() {
    let mut log = lines(&written_log(3).await);
    let tail = &log[1][log[1].len() - 76..];
    log[1] = [b"{\"seq\":2,oops".as_slice(), tail].concat();

    let found = check(join(&log)).first_break.unwrap();

    assert!(
        matches!(
            found,
            ChainBreak::Malformed {
                line: 2,
                fault: MalformedLine::Json { .. }
            }
        ),
        "{found:?}"
    );
}

#[tokio::test]
async fn records_cut_from_the_end_are_found_only_with_an_anchor() {
    let mut log = lines(&written_log(5).await);
    let anchor = head_of(&log[4]);
    log.truncate(3);

    let without_anchor = check(join(&log));
    let with_anchor = verify(Cursor::new(join(&log)), Some(anchor)).unwrap();

    assert!(without_anchor.is_intact());
    let found = with_anchor.first_break.unwrap();
    assert_eq!(
        found,
        ChainBreak::AnchorMissing {
            anchor,
            last_seq: 3
        }
    );
    assert_eq!(found.kind(), BreakKind::Truncated);
    assert_eq!(found.line(), None);
    assert_eq!(
        found.to_string(),
        "the log ends at seq 3, before the anchored seq 5 (records were removed from the end)"
    );
}

#[tokio::test]
async fn a_log_rewritten_from_scratch_does_not_match_its_anchor() {
    let original = lines(&written_log(5).await);
    let anchor = head_of(&original[3]);
    let forged = written_log(5).await;

    let found = verify(Cursor::new(forged.clone()), Some(anchor))
        .unwrap()
        .first_break
        .unwrap();

    let forged_hash = hash_of(&lines(&forged)[3]);
    assert_eq!(
        found,
        ChainBreak::AnchorMismatch {
            line: 4,
            seq: 4,
            expected: anchor.hash,
            found: forged_hash
        }
    );
    assert_eq!(found.kind(), BreakKind::Edited);
}

#[tokio::test]
async fn a_log_that_grew_past_its_anchor_still_verifies() {
    let log = lines(&written_log(5).await);
    let anchor = head_of(&log[2]);

    let report = verify(Cursor::new(join(&log)), Some(anchor)).unwrap();

    assert!(report.is_intact(), "{:?}", report.first_break);
}

#[tokio::test]
async fn a_garbage_line_in_the_middle_is_not_excused_as_torn() {
    let mut log = lines(&written_log(4).await);
    log.insert(2, b"{\"seq\":3,\"timest\n".to_vec());

    let found = check(join(&log)).first_break.unwrap();

    assert_eq!(
        found,
        ChainBreak::Malformed {
            line: 3,
            fault: MalformedLine::NoHash
        }
    );
}

#[tokio::test]
async fn a_final_record_without_its_newline_verifies_with_a_warning() {
    let mut log = written_log(3).await;
    log.pop();

    let report = check(log);

    assert!(report.is_intact());
    assert_eq!(report.records, 3);
    assert_eq!(
        report.warnings,
        [VerifyWarning::MissingFinalNewline { line: 3 }]
    );
}
