//! Hostile HTTP against every role of a running `scopegate up`, over real sockets: heads too
//! large, clients that stall mid-head or mid-body, garbled framing and bodies, wrong media
//! types and tokens in query strings. Each is answered (or the connection closed) without a
//! 5xx fault, nothing panics, and the audit log stays intact.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod support;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use scopegate_audit::verify_file;
use support::{Options, Up};

/// Every role with a 4 KiB head limit, a one-second head deadline and a three-second request
/// deadline, so the tests need not wait long.
const CONFIG: &str = "\
[limits.idp]
header_read_timeout_seconds = 1
request_timeout_seconds = 3
max_header_bytes = 4096
[limits.api]
header_read_timeout_seconds = 1
request_timeout_seconds = 3
max_header_bytes = 4096
[limits.mcp]
header_read_timeout_seconds = 1
request_timeout_seconds = 3
max_header_bytes = 4096
";

/// The body of a request answered at the three-second deadline.
const TIMED_OUT: &str = concat!(
    r#"{"error":"temporarily_unavailable","#,
    r#""error_description":"the request did not complete within 3 s"}"#
);

fn start(dir: &std::path::Path) -> Up {
    let options = Options {
        config: Some(CONFIG.to_owned()),
        rust_log: Some("info".to_owned()),
    };
    Up::start(dir, options)
}

/// The three roles' `host:port`.
fn roles(up: &Up) -> [(&'static str, String); 3] {
    let authority = |base: &str| base.trim_start_matches("http://").to_owned();
    [
        ("idp", authority(&up.idp)),
        ("api", authority(&up.api)),
        ("mcp", authority(&up.mcp)),
    ]
}

/// Sends raw bytes and reads until the server closes the connection (at most 20 s, well under
/// hyper's own 30 s head deadline); the text received and whether the connection was closed.
fn raw(authority: &str, request: &[u8]) -> (String, bool) {
    let mut stream = TcpStream::connect(authority).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut received = Vec::new();
    let closed = match stream.read_to_end(&mut received) {
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => true,
        Err(_) => false,
    };
    (String::from_utf8_lossy(&received).into_owned(), closed)
}

/// The status code of a raw answer, if any.
fn status_of(answer: &str) -> Option<u16> {
    answer
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| answer.strip_prefix("HTTP/1.0 "))
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
}

fn get_with_headers(authority: &str, headers: &str) -> Option<u16> {
    let request =
        format!("GET /healthz HTTP/1.1\r\nHost: {authority}\r\n{headers}Connection: close\r\n\r\n");
    status_of(&raw(authority, request.as_bytes()).0)
}

fn assert_intact(up: &Up) {
    let report = verify_file(&up.audit_path(), None).unwrap();
    assert!(report.is_intact(), "{:?}", report.first_break);
    let stderr = up.stderr_text();
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn every_role_answers_a_request_head_over_its_limit_with_431() {
    let dir = tempfile::tempdir().unwrap();
    let up = start(dir.path());
    let many: String = (0..150).map(|n| format!("x-h{n}: 1\r\n")).collect();

    for (role, authority) in roles(&up) {
        let small = get_with_headers(&authority, &format!("x-pad: {}\r\n", "a".repeat(2048)));
        let large = get_with_headers(&authority, &format!("x-pad: {}\r\n", "a".repeat(8192)));
        let too_many = get_with_headers(&authority, &many);
        let long_target = format!(
            "GET /healthz?q={} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n",
            "a".repeat(8192)
        );
        let long_target = status_of(&raw(&authority, long_target.as_bytes()).0);
        let afterwards = get_with_headers(&authority, "");

        assert_eq!(small, Some(200), "{role}: a 2 KiB header fits");
        assert_eq!(large, Some(431), "{role}: an 8 KiB header does not");
        assert_eq!(too_many, Some(431), "{role}: 150 header fields");
        assert_eq!(long_target, Some(431), "{role}: an 8 KiB request target");
        assert_eq!(afterwards, Some(200), "{role}: still serving");
    }
    assert_intact(&up);
}

#[test]
fn every_role_disconnects_a_client_that_stalls_inside_its_request_head() {
    let dir = tempfile::tempdir().unwrap();
    let up = start(dir.path());

    let stalls: Vec<_> = roles(&up)
        .into_iter()
        .map(|(role, authority)| {
            std::thread::spawn(move || {
                let half = format!("POST /mcp HTTP/1.1\r\nHost: {authority}\r\nContent-Ty");
                (role, raw(&authority, half.as_bytes()))
            })
        })
        .collect();

    for stall in stalls {
        let (role, (received, closed)) = stall.join().unwrap();
        assert!(closed, "{role}: the stalled connection is still open");
        assert_eq!(received, "", "{role}: no answer is owed to half a head");
    }
    assert_intact(&up);
}

#[test]
fn every_role_answers_a_body_that_stalls_with_503_at_its_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let up = start(dir.path());
    let http = reqwest::blocking::Client::new();
    let user = support::login(&http, &up.idp, "EMP001", None);
    let mcp = support::mcp_token(&http, &up.idp, &user);
    let targets = [
        (
            "idp",
            "/oauth2/v1/token",
            "application/x-www-form-urlencoded",
            None,
        ),
        (
            "api",
            "/actions/workday.hcm/update_contact_info",
            "application/json",
            Some(user),
        ),
        ("mcp", "/mcp", "application/json", Some(mcp)),
    ];

    let stalls: Vec<_> = roles(&up)
        .into_iter()
        .zip(targets)
        .map(|((role, authority), (_, path, media_type, token))| {
            std::thread::spawn(move || {
                let authorization =
                    token.map_or_else(String::new, |t| format!("Authorization: Bearer {t}\r\n"));
                let request = format!(
                    "POST {path} HTTP/1.1\r\nHost: {authority}\r\n{authorization}\
                     Accept: application/json, text/event-stream\r\n\
                     Content-Type: {media_type}\r\nContent-Length: 100\r\n\
                     Connection: close\r\n\r\n{{\"a\":1"
                );
                (role, raw(&authority, request.as_bytes()))
            })
        })
        .collect();

    for stall in stalls {
        let (role, (answer, closed)) = stall.join().unwrap();
        assert!(closed, "{role}: the connection is still open");
        assert_eq!(status_of(&answer), Some(503), "{role}: {answer}");
        assert!(
            answer.contains("\r\nretry-after: 1\r\n"),
            "{role}: {answer}"
        );
        assert!(answer.ends_with(TIMED_OUT), "{role}: {answer}");
    }
    assert_intact(&up);
}

/// One hostile request: the role it goes to, what it tries, and its raw bytes.
struct Case {
    role: &'static str,
    label: &'static str,
    request: Vec<u8>,
}

const FORM: &str = "Content-Type: application/x-www-form-urlencoded\r\n";
const JSON: &str = "Content-Type: application/json\r\n";
const TEXT: &str = "Content-Type: text/plain\r\n";
const ACCEPT: &str = "Accept: application/json, text/event-stream\r\n";

/// A request head with a `{host}` placeholder and `Connection: close`.
fn head(method: &str, target: &str, headers: &str) -> String {
    format!("{method} {target} HTTP/1.1\r\nHost: {{host}}\r\n{headers}Connection: close\r\n\r\n")
}

/// A POST head declaring a body of `length` bytes.
fn post(target: &str, headers: &str, length: usize) -> String {
    head(
        "POST",
        target,
        &format!("{headers}Content-Length: {length}\r\n"),
    )
}

/// A chunked POST whose second chunk-size line is not hexadecimal.
fn broken_chunks(target: &str, headers: &str) -> String {
    let head = head(
        "POST",
        target,
        &format!("{headers}Transfer-Encoding: chunked\r\n"),
    );
    format!("{head}5\r\nabcde\r\nnot-hex\r\n")
}

/// The hostile requests, with real tokens where one is needed to get past authentication.
struct Cases<'a> {
    authorities: &'a [(&'static str, String); 3],
    user_auth: String,
    mcp_auth: String,
    user: &'a str,
    mcp: &'a str,
    list: Vec<Case>,
}

impl<'a> Cases<'a> {
    /// Every case, for a person's token `user` and an MCP token `mcp`.
    fn all(authorities: &'a [(&'static str, String); 3], user: &'a str, mcp: &'a str) -> Vec<Case> {
        let mut cases = Self {
            authorities,
            user_auth: format!("Authorization: Bearer {user}\r\n"),
            mcp_auth: format!(
                "Authorization: Bearer {mcp}\r\n{ACCEPT}MCP-Protocol-Version: 2025-06-18\r\n"
            ),
            user,
            mcp,
            list: Vec::new(),
        };
        cases.identity_provider();
        cases.actions_api();
        cases.mcp_server();
        for role in ["idp", "api", "mcp"] {
            cases.framing(role);
        }
        cases.list
    }

    fn add(&mut self, role: &'static str, label: &'static str, head: &str, body: &[u8]) {
        let host = &self.authorities.iter().find(|(r, _)| *r == role).unwrap().1;
        let mut request = head.replace("{host}", host).into_bytes();
        request.extend_from_slice(body);
        self.list.push(Case {
            role,
            label,
            request,
        });
    }

    fn identity_provider(&mut self) {
        let token = "/oauth2/v1/token";
        let garbled = b"grant_type=%zz&&==&%";
        self.add(
            "idp",
            "bad escapes",
            &post(token, FORM, garbled.len()),
            garbled,
        );
        let bytes = b"grant_type=\xff\xfe";
        self.add(
            "idp",
            "non-UTF-8 form",
            &post(token, FORM, bytes.len()),
            bytes,
        );
        self.add("idp", "JSON body", &post(token, JSON, 2), b"{}");
        self.add("idp", "no content type", &post(token, "", 2), b"a=");
        self.add("idp", "broken chunks", &broken_chunks(token, FORM), b"");
        let secrets = "/oauth2/v1/token?grant_type=client_credentials&client_id=directory-sync\
                       &client_secret=directory-sync-dev-secret";
        self.add(
            "idp",
            "credentials in the query",
            &post(secrets, FORM, 0),
            b"",
        );
        let introspect = format!("/oauth2/v1/introspect?token={}", self.user);
        self.add(
            "idp",
            "token in the query",
            &post(&introspect, FORM, 0),
            b"",
        );
        self.add(
            "idp",
            "null byte",
            &head("GET", "/oauth2/v1/keys%00", ""),
            b"",
        );
    }

    fn actions_api(&mut self) {
        let write = "/actions/workday.hcm/update_contact_info";
        let json = format!("{}{JSON}", self.user_auth);
        let bytes = b"\xff\xfe\x00{";
        self.add(
            "api",
            "non-UTF-8 JSON",
            &post(write, &json, bytes.len()),
            bytes,
        );
        self.add("api", "truncated JSON", &post(write, &json, 6), b"{\"a\":[");
        self.add("api", "JSON array", &post(write, &json, 5), b"[1,2]");
        let deep = "[".repeat(4096);
        let nested = post(write, &json, deep.len());
        self.add("api", "deeply nested JSON", &nested, deep.as_bytes());
        let text = format!("{}{TEXT}", self.user_auth);
        self.add("api", "text body", &post(write, &text, 2), b"{}");
        self.add("api", "broken chunks", &broken_chunks(write, &json), b"");
        let query = format!(
            "/actions/workday.hcm/get_employee?access_token={}",
            self.user
        );
        self.add("api", "token in the query", &head("GET", &query, ""), b"");
        let traversal = head("GET", "/actions/..%2f..%2fetc/passwd", "");
        self.add("api", "encoded traversal", &traversal, b"");
        let query = "/actions/workday.hcm/get_employee?employee_id=%ff%fe";
        let odd = head("GET", query, &self.user_auth);
        self.add("api", "non-UTF-8 query", &odd, b"");
    }

    fn mcp_server(&mut self) {
        let json = format!("{}{JSON}", self.mcp_auth);
        let bytes = b"\xff\xfe\x00{";
        self.add(
            "mcp",
            "non-UTF-8 JSON",
            &post("/mcp", &json, bytes.len()),
            bytes,
        );
        self.add(
            "mcp",
            "truncated JSON",
            &post("/mcp", &json, 12),
            b"{\"jsonrpc\":\"",
        );
        self.add("mcp", "empty body", &post("/mcp", &json, 0), b"");
        self.add("mcp", "JSON-RPC batch", &post("/mcp", &json, 2), b"[]");
        let deep = "[".repeat(4096);
        let nested = post("/mcp", &json, deep.len());
        self.add("mcp", "deeply nested JSON", &nested, deep.as_bytes());
        let text = format!("{}{TEXT}", self.mcp_auth);
        self.add("mcp", "text body", &post("/mcp", &text, 2), b"{}");
        self.add("mcp", "broken chunks", &broken_chunks("/mcp", &json), b"");
        let query = format!("/mcp?access_token={}", self.mcp);
        let in_query = post(&query, &format!("{ACCEPT}{JSON}"), 2);
        self.add("mcp", "token in the query", &in_query, b"{}");
        let user_token = post("/mcp", &format!("{}{ACCEPT}{JSON}", self.user_auth), 2);
        self.add("mcp", "a person's token", &user_token, b"{}");
        let stream = head("GET", "/mcp", &self.mcp_auth);
        self.add("mcp", "GET for a stream", &stream, b"");
    }

    /// Framing a proxy in front could read differently, methods nobody serves, and bytes that
    /// are not HTTP at all.
    fn framing(&mut self, role: &'static str) {
        let both = head(
            "POST",
            "/healthz",
            "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n",
        );
        self.add(role, "length and chunked together", &both, b"0\r\n\r\n");
        let lengths = head(
            "POST",
            "/healthz",
            "Content-Length: 1\r\nContent-Length: 2\r\n",
        );
        self.add(role, "two lengths", &lengths, b"ab");
        self.add(role, "TRACE", &head("TRACE", "/", ""), b"");
        self.add(
            role,
            "TLS on a plain port",
            "",
            b"\x16\x03\x01\x00\xa5\x01\x00\r\n\r\n",
        );
        self.add(
            role,
            "HTTP/1.0 without host",
            "GET /healthz HTTP/1.0\r\n\r\n",
            b"",
        );
        let absolute = head("GET", "http://attacker.example/healthz", "");
        self.add(role, "absolute-form target", &absolute, b"");
    }
}

#[test]
fn hostile_requests_on_every_role_get_no_5xx_and_nothing_panics() {
    let dir = tempfile::tempdir().unwrap();
    let up = start(dir.path());
    let http = reqwest::blocking::Client::new();
    let user = support::login(&http, &up.idp, "EMP001", None);
    let mcp = support::mcp_token(&http, &up.idp, &user);
    let authorities = roles(&up);

    let mut faults = Vec::new();
    for case in Cases::all(&authorities, &user, &mcp) {
        let authority = &authorities.iter().find(|(r, _)| *r == case.role).unwrap().1;
        let (answer, closed) = raw(authority, &case.request);
        let status = status_of(&answer);
        if !closed
            || status.is_some_and(|code| code >= 500)
            || (status.is_none() && !answer.is_empty())
        {
            faults.push(format!("{} {}: {answer:.200}", case.role, case.label));
        }
    }

    assert_eq!(faults, Vec::<String>::new());
    for (role, authority) in &authorities {
        assert_eq!(
            get_with_headers(authority, ""),
            Some(200),
            "{role} still serves"
        );
    }
    assert_intact(&up);
}
