//! `scopegate demo` walks the design note's script end to end against a scopegate it starts
//! in-process, and exits 0 only when every step behaved as designed.
#![allow(clippy::unwrap_used, reason = "test helpers fail the test")]

use std::net::TcpListener;
use std::process::Command;

fn free_port() -> String {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string()
}

#[test]
fn demo_runs_all_seven_steps_and_every_check_passes() {
    let dir = tempfile::tempdir().unwrap();

    let output = Command::new(env!("CARGO_BIN_EXE_scopegate"))
        .current_dir(dir.path())
        .args([
            "demo",
            "--idp-port",
            &free_port(),
            "--api-port",
            &free_port(),
        ])
        .args(["--mcp-port", &free_port()])
        .env_remove("SCOPEGATE_CONFIG")
        .output()
        .unwrap();

    let narration = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{narration}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        narration.contains("starting one in this process"),
        "{narration}"
    );
    for step in 1..=7 {
        assert!(
            narration.contains(&format!("\nStep {step}. ")),
            "step {step} missing: {narration}"
        );
    }
    assert!(!narration.contains('✗'), "{narration}");
    assert_eq!(narration.matches('✓').count(), 18, "{narration}");
    assert!(
        narration.contains("All steps behaved as designed."),
        "{narration}"
    );
}
