//! The `scopegate` binary's offline commands, run as a user would run them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail the test"
)]

use std::path::Path;
use std::process::{Command, Output};

use scopegate_audit::{AuditEvent, AuditLog, EventType, Outcome};
use scopegate_token::testing::TestIssuer;
use scopegate_token::{Algorithm, NumericDate};

fn scopegate(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scopegate"))
        .current_dir(dir)
        .args(args)
        .env_remove("SCOPEGATE_CONFIG")
        .output()
        .expect("the scopegate binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

async fn write_log(path: &Path, actors: &[&str]) {
    let log = AuditLog::open(path, Default::default()).unwrap();
    for actor in actors {
        let event = AuditEvent::builder(EventType::CapabilityDecision)
            .actor(actor)
            .capability("workday.hcm.get_employee")
            .outcome(Outcome::Success)
            .build();
        log.append(event).await.unwrap();
    }
    log.close().await.unwrap();
}

#[test]
fn token_decode_prints_claims_with_lifetime_and_warns_it_did_not_verify() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = TestIssuer::new("http://127.0.0.1:9000", Algorithm::Es256);
    let now = NumericDate::from_unix_seconds(1_769_596_080).unwrap();
    let token = issuer.mint(&issuer.claims("http://127.0.0.1:8000", now));

    let output = scopegate(dir.path(), &["token", "decode", &token]);

    assert!(output.status.success(), "{}", stderr(&output));
    let decoded: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(decoded["header"]["typ"], "at+jwt");
    assert_eq!(decoded["claims"]["iat"], 1_769_596_080);
    assert_eq!(
        decoded["ttl"],
        decoded["claims"]["exp"].as_i64().unwrap() - 1_769_596_080
    );
    assert!(
        stderr(&output).contains("without verifying the signature"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn token_decode_reads_the_token_from_a_file_and_refuses_garbage() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.jwt"), "not-a-token\n").unwrap();

    let output = scopegate(dir.path(), &["token", "decode", "@t.jwt"]);

    assert!(!output.status.success());
    assert!(
        stderr(&output).starts_with("error: "),
        "{}",
        stderr(&output)
    );
}

#[test]
fn keys_rotate_keeps_the_old_key_published_as_retired() {
    let dir = tempfile::tempdir().unwrap();

    let first = scopegate(dir.path(), &["keys", "list"]);
    let rotated = scopegate(dir.path(), &["keys", "rotate"]);
    let listed = scopegate(dir.path(), &["keys", "list"]);

    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(
        stdout(&first)
            .lines()
            .filter(|l| l.contains(" active "))
            .count(),
        1
    );
    assert!(rotated.status.success(), "{}", stderr(&rotated));
    assert!(
        stdout(&rotated).starts_with("new active key "),
        "{}",
        stdout(&rotated)
    );
    let table = stdout(&listed);
    assert_eq!(table.lines().count(), 3, "{table}");
    assert_eq!(
        table.lines().filter(|l| l.contains(" active ")).count(),
        1,
        "{table}"
    );
    assert_eq!(
        table.lines().filter(|l| l.contains(" retired ")).count(),
        1,
        "{table}"
    );
    assert!(dir.path().join("data/keys").is_dir());
}

#[test]
fn keys_use_the_directory_and_algorithm_of_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("scopegate.toml"),
        "[keys]\ndir = \"signing\"\nalgorithm = \"EdDSA\"\n",
    )
    .unwrap();

    let output = scopegate(dir.path(), &["keys", "list"]);

    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains(" EdDSA "), "{}", stdout(&output));
    assert!(dir.path().join("signing").is_dir());
}

#[test]
fn an_unknown_config_key_stops_every_command_naming_key_and_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("scopegate.toml"),
        "[keys]\nalgoritm = \"ES256\"\n",
    )
    .unwrap();

    let output = scopegate(dir.path(), &["keys", "list"]);

    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains("`scopegate.toml`"), "{message}");
    assert!(message.contains("unknown field `algoritm`"), "{message}");
}

#[tokio::test]
async fn audit_verify_passes_an_intact_log_and_names_the_edited_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logs/audit.jsonl");
    write_log(&path, &["EMP001", "EMP002", "EMP010"]).await;

    let intact = scopegate(dir.path(), &["audit", "verify"]);
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replacen("EMP002", "EMP003", 1);
    std::fs::write(&path, text).unwrap();
    let edited = scopegate(dir.path(), &["audit", "verify", "logs/audit.jsonl"]);

    assert!(intact.status.success(), "{}", stderr(&intact));
    assert!(
        stdout(&intact).starts_with("ok: 3 records, chain intact; head 3:"),
        "{}",
        stdout(&intact)
    );
    assert_eq!(edited.status.code(), Some(1));
    assert!(
        stdout(&edited).starts_with("BROKEN: line 2"),
        "{}",
        stdout(&edited)
    );
}

#[tokio::test]
async fn audit_verify_with_an_expected_head_detects_records_cut_from_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logs/audit.jsonl");
    write_log(&path, &["EMP001", "EMP002"]).await;
    let head = stdout(&scopegate(dir.path(), &["audit", "verify"]))
        .split("head ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_owned();
    let text = std::fs::read_to_string(&path).unwrap();
    let first_line = text.lines().next().unwrap();
    std::fs::write(&path, format!("{first_line}\n")).unwrap();

    let cut = scopegate(dir.path(), &["audit", "verify", "--expect-head", &head]);

    assert_eq!(cut.status.code(), Some(1), "{}", stdout(&cut));
}

#[tokio::test]
async fn audit_tail_prints_the_last_matching_records_as_stored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logs/audit.jsonl");
    write_log(&path, &["EMP001", "EMP002", "EMP001", "EMP010"]).await;

    let output = scopegate(
        dir.path(),
        &["audit", "tail", "-n", "5", "--actor", "EMP001"],
    );

    assert!(output.status.success(), "{}", stderr(&output));
    let lines: Vec<serde_json::Value> = stdout(&output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["seq"], 1);
    assert_eq!(lines[1]["seq"], 3);
    assert!(lines.iter().all(|l| l["actor"] == "EMP001"));
}
