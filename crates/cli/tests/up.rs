//! `scopegate up` as a user runs it: it starts, answers on every port, and on SIGTERM stops
//! accepting, finishes, syncs the audit log and exits 0 with every acknowledged record on disk.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail the test"
)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use scopegate_audit::verify_file;

/// A port that was free a moment ago (the OS picks it; the server binds it right after).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Up {
    child: Child,
    idp: String,
    api: String,
    mcp: String,
}

impl Up {
    fn start(dir: &Path) -> Self {
        let (idp_port, api_port, mcp_port) = (free_port(), free_port(), free_port());
        let child = Command::new(env!("CARGO_BIN_EXE_scopegate"))
            .current_dir(dir)
            .args(["up", "--idp-port", &idp_port.to_string()])
            .args(["--api-port", &api_port.to_string()])
            .args(["--mcp-port", &mcp_port.to_string()])
            .env_remove("SCOPEGATE_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let up = Self {
            child,
            idp: format!("http://127.0.0.1:{idp_port}"),
            api: format!("http://127.0.0.1:{api_port}"),
            mcp: format!("http://127.0.0.1:{mcp_port}"),
        };
        up.wait_ready();
        up
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = reqwest::blocking::Client::new();
        for base in [&self.idp, &self.api, &self.mcp] {
            loop {
                let ready = client
                    .get(format!("{base}/readyz"))
                    .send()
                    .is_ok_and(|r| r.status().is_success());
                if ready {
                    break;
                }
                assert!(Instant::now() < deadline, "{base} never became ready");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    fn signal(&self, name: &str) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args([name, &pid]).status().unwrap();
        assert!(sent.success());
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        self.signal("-TERM");
        self.child.wait().unwrap()
    }
}

fn login(idp: &str, user: &str) -> String {
    let response = reqwest::blocking::Client::new()
        .post(format!("{idp}/oauth2/v1/token"))
        .basic_auth("chainlit-app", Some("chainlit-dev-secret"))
        .form(&[
            ("grant_type", "password"),
            ("username", user),
            ("password", "demo-password"),
        ])
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

fn own_profile_status(api: &str, token: &str) -> u16 {
    reqwest::blocking::Client::new()
        .get(format!("{api}/actions/workday.hcm/get_employee"))
        .bearer_auth(token)
        .send()
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn up_serves_every_role_and_exits_cleanly_on_sigterm_with_the_audit_log_synced() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path());
    let client = reqwest::blocking::Client::new();

    let login = client
        .post(format!("{}/oauth2/v1/token", up.idp))
        .basic_auth("chainlit-app", Some("chainlit-dev-secret"))
        .form(&[
            ("grant_type", "password"),
            ("username", "EMP001"),
            ("password", "demo-password"),
        ])
        .send()
        .unwrap();
    assert_eq!(login.status(), 200);
    let token: serde_json::Value = login.json().unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    let mut acknowledged = 1;
    for _ in 0..5 {
        let call = client
            .get(format!("{}/actions/workday.hcm/get_employee", up.api))
            .bearer_auth(&token)
            .send()
            .unwrap();
        assert_eq!(
            call.status(),
            403,
            "a person's direct call is denied by the defaults"
        );
        acknowledged += 1;
    }
    let status = up.terminate();

    assert!(status.success(), "exit status {status:?}");
    let report = verify_file(&dir.path().join("logs/audit.jsonl"), None).unwrap();
    assert!(report.is_intact(), "{:?}", report.first_break);
    assert_eq!(report.records, acknowledged);
    assert!(dir.path().join("data/idp.sqlite").is_file());
}

#[test]
fn up_refuses_a_taken_port_naming_the_port_and_the_role() {
    let dir = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();

    let output = Command::new(env!("CARGO_BIN_EXE_scopegate"))
        .current_dir(dir.path())
        .args([
            "up",
            "--idp-port",
            &free_port().to_string(),
            "--api-port",
            &port.to_string(),
        ])
        .args(["--mcp-port", &free_port().to_string()])
        .env_remove("SCOPEGATE_CONFIG")
        .output()
        .unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "cannot listen on 127.0.0.1:{port} for the actions API"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("port {port} is taken")),
        "{stderr}"
    );
}

#[test]
fn sighup_reloads_the_policy_file_and_a_broken_file_keeps_the_policies_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let init = Command::new(env!("CARGO_BIN_EXE_scopegate"))
        .args(["init", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(init.status.success());
    let up = Up::start(dir.path());
    let token = login(&up.idp, "EMP001");
    let policies = dir.path().join("policies.yaml");

    std::fs::write(
        &policies,
        "policies:\n  - name: broken\n    effect: maybe\n",
    )
    .unwrap();
    up.signal("-HUP");
    std::thread::sleep(Duration::from_millis(300));
    let after_broken = own_profile_status(&up.api, &token);
    std::fs::write(
        &policies,
        "policies:\n  - name: direct-self-read\n    effect: allow\n    capabilities: \
         [workday.hcm.get_employee]\n    principals:\n      groups: [employees]\n    \
         conditions:\n      target: self\n      acting_through: [direct]\n",
    )
    .unwrap();
    up.signal("-HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut after_fixed = own_profile_status(&up.api, &token);
    while after_fixed != 200 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        after_fixed = own_profile_status(&up.api, &token);
    }
    let status = up.terminate();

    assert_eq!(after_broken, 403, "the default policies stay in force");
    assert_eq!(
        after_fixed, 200,
        "the reloaded policy allows a direct read of one's own profile"
    );
    assert!(status.success());
}
