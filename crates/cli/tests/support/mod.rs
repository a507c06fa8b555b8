//! Running `scopegate up` as a user would, in a directory of its own, and talking to it over
//! HTTP: the shared harness of the tests that need the real binary.

#![allow(
    dead_code,
    reason = "each test file uses a different part of the harness"
)]

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use scopegate_idp::{Directory, admin};
use scopegate_token::{Clock as _, SystemClock};
use serde_json::Value;

/// The chat app's development credentials.
pub(crate) const CHAT: (&str, &str) = ("chainlit-app", "chainlit-dev-secret");
/// The MCP server's development credentials.
pub(crate) const MCP_SERVER: (&str, &str) = ("mcp-server", "mcp-server-dev-secret");
/// Every demo user's development password.
pub(crate) const PASSWORD: &str = "demo-password";
/// The token-exchange grant.
pub(crate) const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The access-token type URN.
pub(crate) const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";

/// A port that was free a moment ago (the OS picks it; the server binds it right after).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// How to start `scopegate up`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Options {
    /// `scopegate.toml` written into the directory first, if any.
    pub(crate) config: Option<String>,
    /// `RUST_LOG`, if any.
    pub(crate) rust_log: Option<String>,
}

/// A running `scopegate up` and where its roles listen.
pub(crate) struct Up {
    child: Child,
    pub(crate) dir: PathBuf,
    pub(crate) idp: String,
    pub(crate) api: String,
    pub(crate) mcp: String,
    ports: [u16; 3],
    options: Options,
    /// How many times this directory's server was started before this one.
    generation: u32,
    /// Where stderr goes, when captured.
    pub(crate) stderr: Option<PathBuf>,
}

impl Up {
    /// Starts `scopegate up` in `dir` on free ports and waits until every role is ready.
    pub(crate) fn start(dir: &Path, options: Options) -> Self {
        if let Some(config) = &options.config {
            std::fs::write(dir.join("scopegate.toml"), config).unwrap();
        }
        let ports = [free_port(), free_port(), free_port()];
        Self::spawn(dir, ports, options, 0)
    }

    /// Starts a new `scopegate up` in the same directory on the same ports (after a kill).
    pub(crate) fn restart(self) -> Self {
        let (dir, ports, options) = (self.dir.clone(), self.ports, self.options.clone());
        let generation = self.generation + 1;
        drop(self);
        Self::spawn(&dir, ports, options, generation)
    }

    fn spawn(dir: &Path, ports: [u16; 3], options: Options, generation: u32) -> Self {
        let [idp_port, api_port, mcp_port] = ports;
        let mut command = Command::new(env!("CARGO_BIN_EXE_scopegate"));
        command
            .current_dir(dir)
            .args(["up", "--idp-port", &idp_port.to_string()])
            .args(["--api-port", &api_port.to_string()])
            .args(["--mcp-port", &mcp_port.to_string()])
            .env_remove("SCOPEGATE_CONFIG")
            .env_remove("RUST_LOG")
            .stdout(Stdio::null());
        if let Some(filter) = &options.rust_log {
            command.env("RUST_LOG", filter);
        }
        let stderr = options.rust_log.as_ref().map(|_| {
            let path = dir.join(format!("stderr-{generation}.log"));
            command.stderr(File::create(&path).unwrap());
            path
        });
        if stderr.is_none() {
            command.stderr(Stdio::null());
        }
        let child = command.spawn().unwrap();
        let up = Self {
            child,
            dir: dir.to_path_buf(),
            idp: format!("http://127.0.0.1:{idp_port}"),
            api: format!("http://127.0.0.1:{api_port}"),
            mcp: format!("http://127.0.0.1:{mcp_port}"),
            ports,
            options,
            generation,
            stderr,
        };
        up.wait_ready();
        up
    }

    /// Waits (at most 60 s) until every role answers `/readyz` with 200.
    pub(crate) fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
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

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (for example `-HUP`) to the process.
    pub(crate) fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(sent.success());
    }

    /// Kills the process with SIGKILL and reaps it.
    pub(crate) fn kill(&mut self) {
        self.signal("-KILL");
        self.child.wait().unwrap();
    }

    /// Stops the process with SIGTERM and returns its exit status.
    pub(crate) fn terminate(mut self) -> std::process::ExitStatus {
        self.signal("-TERM");
        self.child.wait().unwrap()
    }

    /// Whether the process is still running.
    pub(crate) fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// The audit log's path.
    pub(crate) fn audit_path(&self) -> PathBuf {
        self.dir.join("logs/audit.jsonl")
    }

    /// Everything the process wrote to stderr so far.
    pub(crate) fn stderr_text(&self) -> String {
        self.stderr
            .as_ref()
            .map(|path| std::fs::read_to_string(path).unwrap())
            .unwrap_or_default()
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The current TOTP code of a demo user.
pub(crate) fn totp(user: &str) -> String {
    let directory = Directory::embedded_default().unwrap();
    admin::totp_code(&directory, user, SystemClock.now())
        .unwrap()
        .code
}

/// `POST /oauth2/v1/token` as `client` with `form`; the status and JSON body.
pub(crate) fn token_request(
    http: &reqwest::blocking::Client,
    idp: &str,
    (id, secret): (&str, &str),
    form: &[(&str, &str)],
) -> (u16, Value) {
    let response = http
        .post(format!("{idp}/oauth2/v1/token"))
        .basic_auth(id, Some(secret))
        .form(form)
        .send()
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

/// A password login of `user` at the chat app (with `totp` when given); the access token.
pub(crate) fn login(
    http: &reqwest::blocking::Client,
    idp: &str,
    user: &str,
    totp: Option<&str>,
) -> String {
    let mut form = vec![
        ("grant_type", "password"),
        ("username", user),
        ("password", PASSWORD),
    ];
    if let Some(code) = totp {
        form.push(("totp", code));
    }
    let (status, body) = token_request(http, idp, CHAT, &form);
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// The chat app's exchange of a user token for an MCP token.
pub(crate) fn mcp_token(http: &reqwest::blocking::Client, idp: &str, user_token: &str) -> String {
    let form = [
        ("grant_type", EXCHANGE),
        ("subject_token", user_token),
        ("subject_token_type", ACCESS_TOKEN),
        ("scope", "mcp:use"),
    ];
    let (status, body) = token_request(http, idp, CHAT, &form);
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// Every line of the audit file, parsed.
pub(crate) fn audit_records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|line| !line.is_empty())
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}
