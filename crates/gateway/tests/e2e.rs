//! End to end: the development IdP and the actions API served on free loopback ports, walking
//! the design note's demo (login, exchange, an MCP token refused by the API, the MCP server's
//! on-behalf-of token accepted), the step-up (stale login challenged, fresh MFA login served),
//! and the online revocation check; then the audit log's last record, field by field.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use scopegate_audit::{AuditLog, WriterConfig};
use scopegate_gateway::{
    ClientSecret, GatewayConfig, GatewayParts, GatewayState, IntrospectionConfig, router,
};
use scopegate_idp::totp::TotpSecret;
use scopegate_idp::{Directory, IdpConfig, IdpState, SqliteStore};
use scopegate_token::{
    Algorithm, Clock, KeySource, KeyStore, KeyStoreConfig, ManualClock, NumericDate, RemoteIssuer,
};
use serde_json::{Value, json};

/// 2026-01-28T10:28:00Z.
const START: i64 = 1_769_596_080;
const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
/// EMP001's published development TOTP secret.
const ALEX_TOTP: &str = "NCEANK6ZMK2GMNOB367DNEXOMC3ZPL3A";

struct Servers {
    idp: String,
    api: String,
    clock: Arc<ManualClock>,
    audit_path: std::path::PathBuf,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Servers {
    /// Starts the IdP and the API on `127.0.0.1:0`, sharing one audit log and one clock; the
    /// API fetches the IdP's keys over HTTP, as in a split deployment.
    async fn start(introspect: bool) -> Self {
        Self::start_with(introspect, true, None).await
    }

    /// As [`Servers::start`]; `check_all` makes every call introspect, and `policies`
    /// replaces the default policy file.
    async fn start_with(introspect: bool, check_all: bool, policies: Option<&str>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(
            NumericDate::from_unix_seconds(START).unwrap(),
        ));
        let audit_path = dir.path().join("audit.jsonl");
        let audit = AuditLog::open(&audit_path, WriterConfig::default()).unwrap();

        let idp_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let idp = format!("http://{}", idp_listener.local_addr().unwrap());
        let key_config = KeyStoreConfig {
            algorithm: Algorithm::Es256,
            max_token_lifetime: Duration::from_secs(3600),
        };
        let keys = KeyStore::open(dir.path().join("keys"), key_config, clock.clone()).unwrap();
        let config =
            IdpConfig::development(idp.parse().unwrap(), Directory::embedded_default().unwrap());
        let store = Arc::new(SqliteStore::open_in_memory().unwrap());
        let idp_state = IdpState::new(config, &keys, store, audit.clone(), clock.clone()).unwrap();
        let idp_app = scopegate_idp::router(idp_state);
        tokio::spawn(async move { axum::serve(idp_listener, idp_app).await.unwrap() });

        let remote: Arc<dyn KeySource> =
            Arc::new(RemoteIssuer::discover(idp.clone(), clock.clone() as Arc<dyn Clock>).unwrap());
        let introspection = introspect.then(|| IntrospectionConfig {
            endpoint: format!("{idp}/oauth2/v1/introspect"),
            client_id: "actions-api".to_owned(),
            client_secret: ClientSecret::new("actions-api-dev-secret"),
            timeout: Duration::from_secs(2),
            cache_ttl: Duration::ZERO,
            all_capabilities: check_all,
        });
        let config = GatewayConfig {
            issuer: idp.clone(),
            introspection,
            ..GatewayConfig::default()
        };
        let mut parts = GatewayParts::with_defaults(config, remote, clock.clone(), audit).unwrap();
        if let Some(text) = policies {
            let names = parts.capabilities.names();
            parts.policies = scopegate_policy::PolicySet::parse(text, "p.yaml", &names).unwrap();
        }
        let api_app = router(GatewayState::new(parts).unwrap());
        let api_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api = format!("http://{}", api_listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(api_listener, api_app).await.unwrap() });

        Self {
            idp,
            api,
            clock,
            audit_path,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    async fn token(&self, form: &[(&str, &str)]) -> Value {
        let url = format!("{}/oauth2/v1/token", self.idp);
        let response = self.http.post(url).form(form).send().await.unwrap();
        assert_eq!(response.status(), 200, "token endpoint refused {form:?}");
        response.json().await.unwrap()
    }

    /// Demo step 1: EMP001 logs in through the chat app, with a TOTP code when `mfa`.
    async fn login(&self, mfa: bool) -> String {
        let now = u64::try_from(self.clock.now().as_unix_seconds()).unwrap();
        let code = TotpSecret::from_str(ALEX_TOTP).unwrap().code_at(now);
        let mut form = vec![
            ("grant_type", "password"),
            ("client_id", "chainlit-app"),
            ("client_secret", "chainlit-dev-secret"),
            ("username", "EMP001"),
            ("password", "demo-password"),
        ];
        if mfa {
            form.push(("totp", code.as_str()));
        }
        let answer = self.token(&form).await;
        assert_eq!(answer["expires_in"], 3600);
        answer["access_token"].as_str().unwrap().to_owned()
    }

    /// Demo step 2: the chat app exchanges the user token for a five-minute MCP token.
    async fn mcp_token(&self, user_token: &str) -> String {
        let answer = self
            .token(&[
                ("grant_type", EXCHANGE),
                ("client_id", "chainlit-app"),
                ("client_secret", "chainlit-dev-secret"),
                ("subject_token", user_token),
                ("subject_token_type", ACCESS_TOKEN),
                ("scope", "mcp:use"),
            ])
            .await;
        assert_eq!(answer["expires_in"], 300);
        answer["access_token"].as_str().unwrap().to_owned()
    }

    /// Demo step 4: the MCP server's on-behalf-of exchange for a token at the API.
    async fn api_token(&self, mcp_token: &str) -> String {
        let answer = self
            .token(&[
                ("grant_type", EXCHANGE),
                ("client_id", "mcp-server"),
                ("client_secret", "mcp-server-dev-secret"),
                ("subject_token", mcp_token),
                ("subject_token_type", ACCESS_TOKEN),
            ])
            .await;
        answer["access_token"].as_str().unwrap().to_owned()
    }

    async fn call(&self, path: &str, token: &str) -> (u16, Option<String>, Value) {
        let url = format!("{}{path}", self.api);
        let response = self.http.get(url).bearer_auth(token).send().await.unwrap();
        let status = response.status().as_u16();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|value| value.to_str().unwrap().to_owned());
        (status, challenge, response.json().await.unwrap())
    }

    fn last_record(&self) -> Value {
        let log = std::fs::read_to_string(&self.audit_path).unwrap();
        serde_json::from_str(log.lines().last().unwrap()).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_steps_and_step_up_end_with_a_complete_audit_record() {
    let servers = Servers::start(false).await;

    // Steps 1 to 3: an MCP token is no good at the API directly.
    let user_token = servers.login(false).await;
    let mcp_token = servers.mcp_token(&user_token).await;
    let (status, challenge, body) = servers
        .call("/actions/workday.hcm/get_employee", &mcp_token)
        .await;
    assert_eq!(status, 403);
    assert_eq!(
        challenge.as_deref(),
        Some(
            "Bearer error=\"insufficient_scope\", error_description=\"Token scope 'mcp:use' not \
             valid for direct API access\""
        )
    );
    assert_eq!(
        body["error_description"],
        "Token scope 'mcp:use' not valid for direct API access"
    );

    // Step 4: the MCP server's own token works.
    let api_token = servers.api_token(&mcp_token).await;
    let (status, _, body) = servers
        .call("/actions/workday.hcm/get_employee", &api_token)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["name"], "Alex Chen");

    // Step-up: an MFA login ten minutes old is too stale for pay data.
    let stale_login = servers.login(true).await;
    servers.clock.advance(Duration::from_secs(600));
    let stale = servers
        .api_token(&servers.mcp_token(&stale_login).await)
        .await;
    let (status, challenge, body) = servers
        .call("/actions/workday.payroll/get_compensation", &stale)
        .await;
    assert_eq!(status, 401);
    assert_eq!(
        challenge.as_deref(),
        Some(
            "Bearer error=\"insufficient_user_authentication\", error_description=\"a more \
             recent login is required\", max_age=\"300\", acr_values=\"urn:okta:loa:2fa:any\""
        )
    );
    assert_eq!(body["error"], "insufficient_user_authentication");

    // A fresh MFA login is served.
    let fresh_login = servers.login(true).await;
    let login_at = servers.clock.now();
    let fresh = servers
        .api_token(&servers.mcp_token(&fresh_login).await)
        .await;
    let (status, _, body) = servers
        .call("/actions/workday.payroll/get_compensation", &fresh)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["currency"], "USD");

    // Demo step 5: the last audit record, field by field.
    let record = servers.last_record();
    let issued = login_at.to_string();
    let expires = login_at
        .saturating_add(Duration::from_secs(300))
        .to_string();
    assert_eq!(record["event_type"], "capability.decision");
    assert_eq!(record["actor"], "EMP001");
    assert_eq!(record["acting_through"], "mcp-server");
    assert_eq!(record["client_id"], "mcp-server");
    assert_eq!(record["token_type"], "exchanged");
    assert_eq!(record["token_issued_at"], issued.as_str());
    assert_eq!(record["token_expires_at"], expires.as_str());
    assert_eq!(record["token_ttl_seconds"], 300);
    assert_eq!(record["mfa_verified"], true);
    assert_eq!(record["auth_time"], issued.as_str());
    assert_eq!(record["capability"], "workday.payroll.get_compensation");
    assert_eq!(record["policy_matched"], "employee-self-service");
    assert_eq!(record["result"], "success");
    assert_eq!(record["http_status"], 200);
    assert_eq!(record["audience"], json!(["http://127.0.0.1:8000"]));
    assert_eq!(record["scope"], json!(["mcp:use"]));
    assert!(record["latency_ms"].is_u64());
    assert!(record["request_id"].is_string());
    assert!(record["token_id"].is_string());
    assert!(record["original_token_id"].is_string());
    assert_ne!(record["token_id"], record["original_token_id"]);
    let log = std::fs::read_to_string(&servers.audit_path).unwrap();
    assert!(!log.contains(&fresh) && !log.contains(&fresh_login));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_the_login_stops_tokens_exchanged_from_it() {
    let servers = Servers::start(true).await;
    let user_token = servers.login(false).await;
    let api_token = servers
        .api_token(&servers.mcp_token(&user_token).await)
        .await;
    let (before, _, _) = servers
        .call("/actions/workday.hcm/get_employee", &api_token)
        .await;

    let revoke = servers
        .http
        .post(format!("{}/oauth2/v1/revoke", servers.idp))
        .form(&[
            ("client_id", "chainlit-app"),
            ("client_secret", "chainlit-dev-secret"),
            ("token", user_token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let (after, challenge, body) = servers
        .call("/actions/workday.hcm/get_employee", &api_token)
        .await;

    assert_eq!(before, 200);
    assert_eq!(revoke.status(), 200);
    assert_eq!(after, 401);
    assert_eq!(
        challenge.as_deref(),
        Some("Bearer error=\"invalid_token\", error_description=\"the token is no longer active\"")
    );
    assert_eq!(body["error"], "invalid_token");
    assert_eq!(servers.last_record()["result"], "refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_with_token_active_has_the_api_check_the_token_at_the_idp() {
    let policies = scopegate_policy::DEFAULT_POLICIES.replacen(
        "requirements:\n",
        "requirements:\n  - name: live-tokens\n    capabilities: [workday.hcm.get_employee]\n    \
         conditions:\n      token_active: true\n",
        1,
    );
    let servers = Servers::start_with(true, false, Some(&policies)).await;
    let user_token = servers.login(false).await;
    let api_token = servers
        .api_token(&servers.mcp_token(&user_token).await)
        .await;
    let (before, _, _) = servers
        .call("/actions/workday.hcm/get_employee", &api_token)
        .await;

    let revoke = servers
        .http
        .post(format!("{}/oauth2/v1/revoke", servers.idp))
        .form(&[
            ("client_id", "chainlit-app"),
            ("client_secret", "chainlit-dev-secret"),
            ("token", user_token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let (profile, _, _) = servers
        .call("/actions/workday.hcm/get_employee", &api_token)
        .await;
    let (reports, _, _) = servers
        .call("/actions/workday.hcm/list_direct_reports", &api_token)
        .await;

    assert_eq!(before, 200);
    assert_eq!(revoke.status(), 200);
    assert_eq!(
        profile, 401,
        "the policy's capability is checked online and refused"
    );
    assert_ne!(
        reports, 401,
        "a capability without the condition is not checked online"
    );
}
