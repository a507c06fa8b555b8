//! `scopegate up` under load, killed with SIGKILL at a random moment and restarted in the same
//! directory: every request that got an answer has its audit record, and the chain verifies
//! (with at most the one torn final line a crash can leave, recorded and stepped over; a
//! second test makes that tear itself, since a kill alone practically never does). And a
//! key rotation made by another process while load runs: picked up on SIGHUP, with no request
//! failing before, during or after it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod support;

use std::collections::HashSet;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::blocking::Client;
use scopegate_audit::{VerifyWarning, verify_file};
use scopegate_token::dangerous::decode_unverified;
use serde_json::{Value, json};
use support::{Options, Up};

/// A policy that lets a person read their own profile directly, so direct calls get 200 for
/// oneself and 403 for anyone else: both are decisions the API records.
const SELF_READ: &str = "policies:\n  - name: direct-self-read\n    effect: allow\n    \
                         capabilities: [workday.hcm.get_employee]\n    principals:\n      \
                         groups: [employees]\n    conditions:\n      target: self\n      \
                         acting_through: [direct]\n";

fn scopegate(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_scopegate"))
        .current_dir(dir)
        .args(args)
        .env_remove("SCOPEGATE_CONFIG")
        .output()
        .unwrap()
}

/// Waits (at most 60 s) until `condition` holds.
fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A pause of up to `most` that differs from run to run.
fn random_pause(most: Duration) -> Duration {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    most.mul_f64(f64::from(nanos % 1000) / 1000.0)
}

/// Direct API calls, alternately for oneself (200) and for someone else (403), until the
/// server stops answering or `stop` is set; the request id and status of every answer.
fn api_load(
    api: String,
    token: String,
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicUsize>,
) -> JoinHandle<Vec<(String, u16)>> {
    std::thread::spawn(move || {
        let http = Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let mut answers = Vec::new();
        for n in 0..100_000 {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let target = if n % 2 == 0 {
                ""
            } else {
                "?employee_id=EMP020"
            };
            let url = format!("{api}/actions/workday.hcm/get_employee{target}");
            let Ok(response) = http.get(url).bearer_auth(&token).send() else {
                break;
            };
            let id = response.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned();
            answers.push((id, response.status().as_u16()));
            answered.fetch_add(1, Ordering::Relaxed);
        }
        answers
    })
}

#[test]
fn a_kill_under_load_loses_no_answered_request_and_the_chain_still_verifies() {
    let dir = tempfile::tempdir().unwrap();
    assert!(scopegate(dir.path(), &["init", "."]).status.success());
    std::fs::write(dir.path().join("policies.yaml"), SELF_READ).unwrap();
    let mut up = Up::start(dir.path(), Options::default());
    let token = support::login(&Client::new(), &up.idp, "EMP001", None);
    let (stop, answered) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicUsize::new(0)),
    );
    let load: Vec<_> = (0..3)
        .map(|_| {
            api_load(
                up.api.clone(),
                token.clone(),
                stop.clone(),
                answered.clone(),
            )
        })
        .collect();

    wait_until("the load is under way", || {
        answered.load(Ordering::Relaxed) >= 30
    });
    std::thread::sleep(random_pause(Duration::from_millis(500)));
    up.kill();
    stop.store(true, Ordering::Relaxed);
    let answers: Vec<(String, u16)> = load.into_iter().flat_map(|t| t.join().unwrap()).collect();
    let up = up.restart();
    let audit_path = up.audit_path();
    assert!(up.terminate().success());

    let statuses: HashSet<u16> = answers.iter().map(|(_, status)| *status).collect();
    assert_eq!(
        statuses,
        HashSet::from([200, 403]),
        "only decisions were answered"
    );
    let records = support::audit_records(&audit_path);
    let recorded: HashSet<&str> = records
        .iter()
        .filter_map(|record| record["request_id"].as_str())
        .collect();
    let missing: Vec<_> = answers
        .iter()
        .filter(|(id, _)| !recorded.contains(id.as_str()))
        .collect();
    assert_eq!(
        missing,
        Vec::<&(String, u16)>::new(),
        "answered but not on disk"
    );

    let report = verify_file(&audit_path, None).unwrap();
    assert!(report.is_intact(), "{:?}", report.first_break);
    match report.warnings.as_slice() {
        [] => {}
        [
            VerifyWarning::TornLineRecovered {
                line, recovered_at, ..
            },
        ] => {
            assert_eq!(
                *recovered_at,
                line + 1,
                "recorded right after the torn line"
            );
            let line = usize::try_from(*recovered_at).unwrap() - 1;
            let text = std::fs::read_to_string(&audit_path).unwrap();
            let record: Value = serde_json::from_str(text.lines().nth(line).unwrap()).unwrap();
            assert_eq!(record["event_type"], "audit.torn_line_recovered");
        }
        other => panic!("unexpected warnings: {other:?}"),
    }
    let verify = scopegate(dir.path(), &["audit", "verify", "logs/audit.jsonl"]);
    let printed = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success(), "{printed}");
}

/// What a crash in the middle of writing a record leaves on a file system that does not order
/// data writes (a power cut rather than a killed process, whose completed `write` the kernel
/// keeps): the first part of a line and no newline. A kill alone practically never tears a
/// line, so the test makes the tear itself and checks what the restarted server does with it.
#[test]
fn a_torn_final_line_is_recorded_and_stepped_over_by_the_restarted_server() {
    let dir = tempfile::tempdir().unwrap();
    assert!(scopegate(dir.path(), &["init", "."]).status.success());
    std::fs::write(dir.path().join("policies.yaml"), SELF_READ).unwrap();
    let mut up = Up::start(dir.path(), Options::default());
    let http = Client::new();
    let token = support::login(&http, &up.idp, "EMP001", None);
    let audit_path = up.audit_path();
    up.kill();
    let whole = std::fs::read(&audit_path).unwrap();
    let last_line = whole[..whole.len() - 1]
        .rsplit(|byte| *byte == b'\n')
        .next()
        .unwrap()
        .to_vec();
    let torn = &last_line[..last_line.len() / 2];
    let mut damaged = whole.clone();
    damaged.extend_from_slice(torn);
    std::fs::write(&audit_path, &damaged).unwrap();
    let torn_line = whole.iter().filter(|byte| **byte == b'\n').count() + 1;

    let up = up.restart();
    let answer = http
        .get(format!("{}/actions/workday.hcm/get_employee", up.api))
        .bearer_auth(&token)
        .send()
        .unwrap();
    let request_id = answer.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(answer.status(), 200);
    assert!(up.terminate().success());

    let text = std::fs::read_to_string(&audit_path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[torn_line - 1].as_bytes(),
        torn,
        "the torn bytes are kept as found"
    );
    let recovery: Value = serde_json::from_str(lines[torn_line]).unwrap();
    assert_eq!(recovery["event_type"], "audit.torn_line_recovered");
    let records = support::audit_records(&audit_path);
    assert!(
        records
            .iter()
            .any(|record| record["request_id"] == request_id.as_str()),
        "the chain goes on after the recovery record"
    );
    let report = verify_file(&audit_path, None).unwrap();
    let torn_at = u64::try_from(torn_line).unwrap();
    assert!(report.is_intact(), "{:?}", report.first_break);
    assert!(
        matches!(
            report.warnings.as_slice(),
            [VerifyWarning::TornLineRecovered { line, recovered_at, .. }]
                if *line == torn_at && *recovered_at == torn_at + 1
        ),
        "{:?}",
        report.warnings
    );
    let verify = scopegate(dir.path(), &["audit", "verify", "logs/audit.jsonl"]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

/// One pass of the whole flow: a login, the chat app's exchange, and an MCP tool call (which
/// makes the MCP server exchange again and call the API); what failed, if anything, and the
/// `kid` the login's token was signed with.
fn flow(http: &Client, up: &Up, user_token: Option<&str>) -> Result<String, String> {
    let fresh;
    let user = match user_token {
        Some(token) => token,
        None => {
            fresh = support::login(http, &up.idp, "EMP001", None);
            &fresh
        }
    };
    let form = [
        ("grant_type", support::EXCHANGE),
        ("subject_token", user),
        ("subject_token_type", support::ACCESS_TOKEN),
        ("scope", "mcp:use"),
    ];
    let (status, body) = support::token_request(http, &up.idp, support::CHAT, &form);
    if status != 200 {
        return Err(format!("exchange: {status} {body}"));
    }
    let mcp = body["access_token"].as_str().unwrap();
    let call = json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "workday_hcm_get_employee", "arguments": {}},
    });
    let response = http
        .post(format!("{}/mcp", up.mcp))
        .bearer_auth(mcp)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18")
        .json(&call)
        .send()
        .map_err(|e| format!("MCP call: {e}"))?;
    let answer: Value = response.json().map_err(|e| format!("MCP answer: {e}"))?;
    if answer["result"]["isError"] != false {
        return Err(format!("MCP call: {answer}"));
    }
    let header = decode_unverified(user).unwrap().header;
    Ok(header["kid"].as_str().unwrap().to_owned())
}

#[test]
fn a_rotation_by_another_process_takes_effect_on_sighup_and_no_request_fails() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        config: Some("[limits.password_grant]\nper_second = 1000\nburst = 1000\n".to_owned()),
        rust_log: None,
    };
    let up = Arc::new(Up::start(dir.path(), options));
    let http = Client::new();
    let before = support::login(&http, &up.idp, "EMP001", None);
    let old_kid = flow(&http, &up, Some(&before)).unwrap();
    let (stop, passes) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicUsize::new(0)),
    );
    let kids = Arc::new(std::sync::Mutex::new(HashSet::new()));
    let load: Vec<_> = (0..2)
        .map(|_| {
            let (up, stop, passes, kids) = (up.clone(), stop.clone(), passes.clone(), kids.clone());
            std::thread::spawn(move || {
                let http = Client::new();
                let mut failures = Vec::new();
                for _ in 0..10_000 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    match flow(&http, &up, None) {
                        Ok(kid) => {
                            kids.lock().unwrap().insert(kid);
                        }
                        Err(failure) => failures.push(failure),
                    }
                    passes.fetch_add(1, Ordering::Relaxed);
                }
                failures
            })
        })
        .collect();

    wait_until("the load is under way", || {
        passes.load(Ordering::Relaxed) >= 4
    });
    let rotated = scopegate(dir.path(), &["keys", "rotate"]);
    assert!(rotated.status.success());
    let printed = String::from_utf8_lossy(&rotated.stdout).into_owned();
    let new_kid = printed
        .strip_prefix("new active key ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_owned();
    up.signal("-HUP");
    wait_until("new logins are signed with the new key", || {
        kids.lock().unwrap().contains(&new_kid)
    });
    let seen = passes.load(Ordering::Relaxed);
    wait_until("more passes ran", || {
        passes.load(Ordering::Relaxed) >= seen + 4
    });
    stop.store(true, Ordering::Relaxed);
    let failures: Vec<String> = load.into_iter().flat_map(|t| t.join().unwrap()).collect();
    let after = flow(&http, &up, Some(&before));
    let jwks: Value = http
        .get(format!("{}/oauth2/v1/keys", up.idp))
        .send()
        .unwrap()
        .json()
        .unwrap();

    assert_eq!(failures, Vec::<String>::new());
    assert_ne!(new_kid, old_kid);
    assert_eq!(
        after,
        Ok(old_kid.clone()),
        "a token of the retired key still works"
    );
    let published: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap())
        .collect();
    assert_eq!(published, [new_kid.as_str(), old_kid.as_str()]);
}
