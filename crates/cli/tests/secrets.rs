//! No secret reaches a log line or the audit log: a realistic session against `scopegate up`
//! at `RUST_LOG=debug` (logins with and without a second factor, failed logins, refresh and
//! refresh-token reuse, exchanges, MCP calls allowed and refused, direct API calls refused,
//! introspection, revocation, a service login), then every token, client secret, password
//! and one-time code the session used is looked for in what the process wrote to stderr and in
//! the audit file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod support;

use reqwest::blocking::Client;
use serde_json::{Value, json};
use support::{ACCESS_TOKEN, CHAT, EXCHANGE, MCP_SERVER, Options, PASSWORD, Up, token_request};

/// What the session used that must never be written down.
#[derive(Default)]
struct Secrets {
    /// Tokens and secrets, looked for anywhere.
    strings: Vec<String>,
    /// One-time codes, looked for wherever a value could stand (six digits alone would also
    /// match inside timestamps).
    codes: Vec<String>,
}

impl Secrets {
    fn keep(&mut self, secret: &str) -> String {
        self.strings.push(secret.to_owned());
        secret.to_owned()
    }
}

/// Where a secret occurs in `text`, if anywhere.
fn leaks(secrets: &Secrets, source: &str, text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for secret in &secrets.strings {
        if text.contains(secret.as_str()) {
            found.push(format!("{source}: `{:.24}…`", secret));
        }
    }
    for code in &secrets.codes {
        let as_value = ['=', '"', '\'', ' ', ':'].iter().any(|before| {
            ['"', '\'', '&', ',', ' ', '}', '\n']
                .iter()
                .any(|after| text.contains(&format!("{before}{code}{after}")))
        });
        if as_value {
            found.push(format!("{source}: one-time code `{code}`"));
        }
    }
    // Any compact JWS at all, including tokens the servers obtained among themselves.
    if let Some(at) = text.find("eyJ") {
        found.push(format!("{source}: a JWT-like `{:.40}`", &text[at..]));
    }
    found
}

fn mcp_post(http: &Client, up: &Up, token: &str, body: &Value) -> Value {
    let response = http
        .post(format!("{}/mcp", up.mcp))
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18")
        .json(body)
        .send()
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.json().unwrap_or(Value::Null)
}

fn tool_call(http: &Client, up: &Up, token: &str, tool: &str, arguments: Value) -> Value {
    let call = json!({
        "jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    });
    mcp_post(http, up, token, &call)["result"].clone()
}

fn api_status(http: &Client, up: &Up, token: &str) -> u16 {
    http.get(format!("{}/actions/workday.hcm/get_employee", up.api))
        .bearer_auth(token)
        .send()
        .unwrap()
        .status()
        .as_u16()
}

/// The session; returns what it used.
fn session(up: &Up) -> Secrets {
    let http = Client::new();
    let mut secrets = Secrets::default();
    for secret in [CHAT.1, MCP_SERVER.1, "directory-sync-dev-secret", PASSWORD] {
        secrets.keep(secret);
    }

    // A person signs in with both factors, asking for a refresh token too.
    let code = support::totp("EMP001");
    secrets.codes.push(code.clone());
    let login = [
        ("grant_type", "password"),
        ("username", "EMP001"),
        ("password", PASSWORD),
        ("totp", code.as_str()),
        ("scope", "openid offline_access mcp:use payroll:read"),
    ];
    let (status, body) = token_request(&http, &up.idp, CHAT, &login);
    assert_eq!(status, 200, "{body}");
    let user = secrets.keep(body["access_token"].as_str().unwrap());
    secrets.keep(body["refresh_token"].as_str().unwrap());

    // Failed logins: a wrong password, a wrong client secret, a replayed one-time code.
    let wrong_password = secrets.keep("Tr0ub4dor&3-wrong");
    let form = [
        ("grant_type", "password"),
        ("username", "EMP002"),
        ("password", wrong_password.as_str()),
    ];
    assert_eq!(token_request(&http, &up.idp, CHAT, &form).0, 400);
    let wrong_secret = secrets.keep("chainlit-guessed-secret-8271");
    let form = [("grant_type", "password"), ("username", "EMP001")];
    assert_eq!(
        token_request(&http, &up.idp, ("chainlit-app", &wrong_secret), &form).0,
        401
    );
    assert_eq!(
        token_request(&http, &up.idp, CHAT, &login).0,
        400,
        "a replayed code"
    );

    // Refresh, then reuse of the spent refresh token (which revokes that family).
    let form = [
        ("grant_type", "password"),
        ("username", "EMP010"),
        ("password", PASSWORD),
        ("scope", "openid offline_access"),
    ];
    let (_, body) = token_request(&http, &up.idp, CHAT, &form);
    secrets.keep(body["access_token"].as_str().unwrap());
    let spent = secrets.keep(body["refresh_token"].as_str().unwrap());
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", spent.as_str()),
    ];
    let (status, body) = token_request(&http, &up.idp, CHAT, &refresh);
    assert_eq!(status, 200, "{body}");
    secrets.keep(body["access_token"].as_str().unwrap());
    secrets.keep(body["refresh_token"].as_str().unwrap());
    assert_eq!(
        token_request(&http, &up.idp, CHAT, &refresh).0,
        400,
        "reuse"
    );

    // The chat app's exchange, then MCP calls: allowed, denied by policy, and with bad tokens.
    let exchange = [
        ("grant_type", EXCHANGE),
        ("subject_token", user.as_str()),
        ("subject_token_type", ACCESS_TOKEN),
        ("scope", "mcp:use"),
    ];
    let (status, body) = token_request(&http, &up.idp, CHAT, &exchange);
    assert_eq!(status, 200, "{body}");
    let mcp = secrets.keep(body["access_token"].as_str().unwrap());
    let initialize = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "secrets-test", "version": "1"},
        },
    });
    mcp_post(&http, up, &mcp, &initialize);
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    mcp_post(&http, up, &mcp, &list);
    let own = tool_call(&http, up, &mcp, "workday_hcm_get_employee", json!({}));
    assert_eq!(own["isError"], false, "{own}");
    let pay = tool_call(
        &http,
        up,
        &mcp,
        "workday_payroll_get_compensation",
        json!({}),
    );
    assert_eq!(pay["isError"], false, "{pay}");
    let other = json!({"employee_id": "EMP020"});
    let denied = tool_call(&http, up, &mcp, "workday_hcm_get_employee", other);
    assert_eq!(denied["isError"], true, "{denied}");
    let forged = format!("{}x", &mcp[..mcp.len() - 1]);
    let refused = http
        .post(format!("{}/mcp", up.mcp))
        .bearer_auth(&forged)
        .header("accept", "application/json, text/event-stream")
        .json(&list)
        .send()
        .unwrap();
    assert_eq!(refused.status(), 401);

    // Tokens used where they do not belong.
    assert_eq!(
        api_status(&http, up, &mcp),
        403,
        "the design note's refusal"
    );
    assert_eq!(
        api_status(&http, up, &user),
        403,
        "a direct call by a person"
    );

    // Introspection, revocation, and the exchanged token failing after it.
    let introspection = http
        .post(format!("{}/oauth2/v1/introspect", up.idp))
        .basic_auth(MCP_SERVER.0, Some(MCP_SERVER.1))
        .form(&[("token", mcp.as_str())])
        .send()
        .unwrap()
        .json::<Value>()
        .unwrap();
    assert_eq!(introspection["active"], true);
    let revoked = http
        .post(format!("{}/oauth2/v1/revoke", up.idp))
        .basic_auth(CHAT.0, Some(CHAT.1))
        .form(&[("token", user.as_str())])
        .send()
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let after = tool_call(&http, up, &mcp, "workday_hcm_get_employee", json!({}));
    assert_eq!(after["isError"], true, "{after}");

    // A service signs in on its own.
    let form = [("grant_type", "client_credentials")];
    let (status, body) = token_request(
        &http,
        &up.idp,
        ("directory-sync", "directory-sync-dev-secret"),
        &form,
    );
    assert_eq!(status, 200, "{body}");
    let service = secrets.keep(body["access_token"].as_str().unwrap());
    api_status(&http, up, &service);
    secrets
}

#[test]
fn no_token_secret_password_or_code_reaches_the_logs_or_the_audit_file() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        config: None,
        rust_log: Some("debug".to_owned()),
    };
    let up = Up::start(dir.path(), options);

    let secrets = session(&up);
    let (stderr_path, audit_path) = (up.stderr.clone().unwrap(), up.audit_path());
    let status = up.terminate();

    assert!(status.success());
    let stderr = std::fs::read_to_string(stderr_path).unwrap();
    let audit = std::fs::read_to_string(audit_path).unwrap();
    let mut found = leaks(&secrets, "stderr", &stderr);
    found.extend(leaks(&secrets, "audit log", &audit));
    assert_eq!(found, Vec::<String>::new());
    assert!(
        stderr.contains("DEBUG"),
        "the log was captured at debug level"
    );
    assert!(stderr.contains("token issued"), "the log saw the session");
    assert!(
        audit.contains("token.exchanged"),
        "the audit log saw the session"
    );
}
