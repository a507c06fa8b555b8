//! The shared harness: the development IdP, the actions API and the MCP server, each on its own
//! free loopback port, with one audit file and one clock that moves only when told. The API and
//! the MCP server fetch the IdP's keys over HTTP, as in a split deployment, and talk to each
//! other over HTTP only. A recording layer in front of the API keeps every `Authorization`
//! header it received, so tests can show which tokens reached it.

#![allow(
    dead_code,
    reason = "the tests and the benchmark use different parts of the harness"
)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::{Next, from_fn};
use axum::response::Response;
use rmcp::model::{CallToolRequestParams, CallToolResult, ClientConfig, JsonObject};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt as _};
use scopegate_audit::{AuditLog, MemoryStorage, WriterConfig};
use scopegate_gateway::{GatewayConfig, GatewayParts, GatewayState};
use scopegate_idp::{Directory, IdpConfig, IdpState, SqliteStore, admin};
use scopegate_mcp::{McpConfig, McpParts, McpState, ToolSpec};
use scopegate_policy::{DEFAULT_POLICIES, DEFAULT_POLICIES_ORIGIN, PolicySet};
use scopegate_token::{
    Algorithm, Clock, KeySource, KeyStore, KeyStoreConfig, ManualClock, NumericDate, RemoteIssuer,
};
use serde_json::Value;
use tokio::net::TcpListener;

/// 2026-01-28T10:28:00Z.
pub(crate) const START: i64 = 1_769_596_080;
pub(crate) const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub(crate) const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
pub(crate) const CHAT: (&str, &str) = ("chainlit-app", "chainlit-dev-secret");

/// A connected rmcp client.
pub(crate) type Client = RunningService<RoleClient, ClientConfig>;

/// The three servers and the handles tests look through.
pub(crate) struct Stack {
    pub(crate) idp: String,
    pub(crate) api: String,
    pub(crate) mcp_url: String,
    pub(crate) mcp_base: String,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) audit_path: PathBuf,
    /// Every `Authorization` header value the actions API received, in order.
    pub(crate) api_saw: Arc<Mutex<Vec<String>>>,
    pub(crate) http: reqwest::Client,
    pub(crate) mcp: McpState,
    /// The IdP's key store, for minting tokens the IdP would never issue.
    pub(crate) keys: KeyStore,
    _dir: tempfile::TempDir,
}

/// The actions API's capabilities as MCP tool specs (the command line does the same).
pub(crate) fn tool_specs(api: &GatewayState) -> Vec<ToolSpec> {
    api.capabilities()
        .iter()
        .map(|capability| ToolSpec {
            capability: capability.name().to_string(),
            description: capability.description().to_owned(),
            input_schema: capability.input_schema().clone(),
            read_only: capability.read_only(),
            destructive: capability.destructive(),
            target_argument: capability.target_argument().map(str::to_owned),
        })
        .collect()
}

impl Stack {
    /// All three servers with the default MCP configuration (adjusted to the free ports).
    pub(crate) async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// As [`Stack::start`], after `adjust` has changed the MCP configuration.
    pub(crate) async fn start_with(adjust: impl FnOnce(&mut McpConfig)) -> Self {
        Self::build(adjust, None).await
    }

    /// As [`Stack::start`], with the MCP server writing to its own log on `storage` (whose
    /// faults a test can switch on) instead of the shared file.
    pub(crate) async fn start_with_mcp_audit(storage: MemoryStorage) -> Self {
        Self::build(|_| {}, Some(storage)).await
    }

    async fn build(adjust: impl FnOnce(&mut McpConfig), mcp_audit: Option<MemoryStorage>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(
            NumericDate::from_unix_seconds(START).unwrap(),
        ));
        let audit_path = dir.path().join("audit.jsonl");
        let audit = AuditLog::open(&audit_path, WriterConfig::default()).unwrap();

        let idp_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mcp_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let idp = format!("http://{}", idp_listener.local_addr().unwrap());
        let api = format!("http://{}", api_listener.local_addr().unwrap());
        let mcp_base = format!("http://{}", mcp_listener.local_addr().unwrap());
        let mcp_url = format!("{mcp_base}/mcp");

        // The IdP, with the directory's resources moved to the free ports.
        let key_config = KeyStoreConfig {
            algorithm: Algorithm::Es256,
            max_token_lifetime: Duration::from_secs(3600),
        };
        let keys = KeyStore::open(dir.path().join("keys"), key_config, clock.clone()).unwrap();
        let directory = Directory::embedded_default()
            .unwrap()
            .with_resource_audience("mcp", &mcp_url)
            .unwrap()
            .with_resource_audience("actions-api", &api)
            .unwrap();
        let config = IdpConfig::development(idp.parse().unwrap(), directory);
        let store = Arc::new(SqliteStore::open_in_memory().unwrap());
        let idp_state = IdpState::new(config, &keys, store, audit.clone(), clock.clone()).unwrap();
        serve(idp_listener, scopegate_idp::router(idp_state));

        // The actions API, behind a layer that records the tokens it is shown.
        let api_keys: Arc<dyn KeySource> =
            Arc::new(RemoteIssuer::discover(idp.clone(), clock.clone() as Arc<dyn Clock>).unwrap());
        let api_config = GatewayConfig {
            audience: api.clone(),
            issuer: idp.clone(),
            ..GatewayConfig::default()
        };
        let parts = GatewayParts::with_defaults(api_config, api_keys, clock.clone(), audit.clone())
            .unwrap();
        let api_state = GatewayState::new(parts).unwrap();
        let tools = tool_specs(&api_state);
        let api_saw = Arc::new(Mutex::new(Vec::new()));
        let recorder = Arc::clone(&api_saw);
        let api_app = scopegate_gateway::router(api_state).layer(from_fn(
            move |request: Request, next: Next| {
                let recorder = Arc::clone(&recorder);
                async move { record_authorization(&recorder, request, next).await }
            },
        ));
        serve(api_listener, api_app);

        // The MCP server.
        let mut mcp_config = McpConfig {
            resource_url: mcp_url.clone(),
            issuer: idp.clone(),
            token_endpoint: format!("{idp}/oauth2/v1/token"),
            introspection_endpoint: format!("{idp}/oauth2/v1/introspect"),
            api_url: api.clone(),
            api_audience: api.clone(),
            ..McpConfig::default()
        };
        adjust(&mut mcp_config);
        let mcp_keys: Arc<dyn KeySource> =
            Arc::new(RemoteIssuer::discover(idp.clone(), clock.clone() as Arc<dyn Clock>).unwrap());
        let names: Vec<&str> = tools.iter().map(|t| t.capability.as_str()).collect();
        let policies = PolicySet::parse(DEFAULT_POLICIES, DEFAULT_POLICIES_ORIGIN, &names).unwrap();
        let audit = match mcp_audit {
            Some(storage) => AuditLog::with_storage(storage, WriterConfig::default()).unwrap(),
            None => audit,
        };
        let mcp = McpState::new(McpParts {
            config: mcp_config,
            keys: mcp_keys,
            clock: clock.clone(),
            tools,
            policies,
            audit,
        })
        .unwrap();
        serve(mcp_listener, scopegate_mcp::router(mcp.clone()));

        Self {
            idp,
            api,
            mcp_url,
            mcp_base,
            clock,
            audit_path,
            api_saw,
            http: reqwest::Client::new(),
            mcp,
            keys,
            _dir: dir,
        }
    }

    /// Moves every server's clock on.
    pub(crate) fn advance(&self, seconds: u64) {
        self.clock.advance(Duration::from_secs(seconds));
    }

    /// Signs `claims` with the IdP's active key.
    pub(crate) fn mint(&self, claims: &scopegate_token::Claims) -> String {
        self.keys.signer().sign(claims).unwrap()
    }

    /// A password login of `user` at the chat app, with a TOTP code when `mfa`: the one-hour
    /// user token.
    pub(crate) async fn login(&self, user: &str, mfa: bool) -> String {
        let mut form = vec![
            ("grant_type", "password".to_owned()),
            ("username", user.to_owned()),
            ("password", "demo-password".to_owned()),
        ];
        if mfa {
            // A new 30-second step, so the replay guard has not seen the code.
            self.advance(30);
            let directory = Directory::embedded_default().unwrap();
            let code = admin::totp_code(&directory, user, self.clock.now())
                .unwrap()
                .code;
            form.push(("totp", code));
        }
        self.token(&form).await
    }

    /// The chat app's exchange of a user token for a five-minute token at the MCP server.
    pub(crate) async fn mcp_token(&self, user_token: &str) -> String {
        let form = [
            ("grant_type", EXCHANGE.to_owned()),
            ("subject_token", user_token.to_owned()),
            ("subject_token_type", ACCESS_TOKEN.to_owned()),
            ("scope", "mcp:use".to_owned()),
        ];
        self.token(&form).await
    }

    /// A fresh MCP token of `user`: login, then exchange.
    pub(crate) async fn mcp_token_of(&self, user: &str, mfa: bool) -> String {
        let user_token = self.login(user, mfa).await;
        self.mcp_token(&user_token).await
    }

    async fn token(&self, form: &[(&str, String)]) -> String {
        let response = self
            .http
            .post(format!("{}/oauth2/v1/token", self.idp))
            .basic_auth(CHAT.0, Some(CHAT.1))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "token endpoint refused: {body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// An rmcp client over Streamable HTTP presenting `token`, after the `initialize`
    /// handshake at the client's default protocol version.
    pub(crate) async fn client(&self, token: &str) -> Client {
        self.try_client(token).await.expect("client connects")
    }

    /// As [`Stack::client`], returning the error when the handshake fails.
    pub(crate) async fn try_client(
        &self,
        token: &str,
    ) -> Result<Client, rmcp::service::ClientInitializeError> {
        let config =
            StreamableHttpClientTransportConfig::with_uri(self.mcp_url.clone()).auth_header(token);
        let transport = StreamableHttpClientTransport::from_config(config);
        ClientConfig::default().serve(transport).await
    }

    /// Every audit record so far, from all three servers.
    pub(crate) fn audit_records(&self) -> Vec<Value> {
        let log = std::fs::read_to_string(&self.audit_path).unwrap();
        log.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// The records of `event_type`.
    pub(crate) fn records_of(&self, event_type: &str) -> Vec<Value> {
        self.audit_records()
            .into_iter()
            .filter(|record| record["event_type"] == event_type)
            .collect()
    }

    /// The bearer tokens the actions API received.
    pub(crate) fn api_tokens(&self) -> Vec<String> {
        self.api_saw
            .lock()
            .unwrap()
            .iter()
            .filter_map(|header| header.strip_prefix("Bearer ").map(str::to_owned))
            .collect()
    }

    /// A raw JSON-RPC POST to the MCP endpoint, as clients without rmcp send it.
    pub(crate) async fn post_mcp(
        &self,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .post(&self.mcp_url)
            .header("accept", "application/json, text/event-stream")
            .json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }
}

/// Calls `tool` with `arguments` (a JSON object).
pub(crate) async fn call(client: &Client, tool: &str, arguments: Value) -> CallToolResult {
    try_call(client, tool, arguments)
        .await
        .expect("tools/call answers")
}

/// As [`call`], returning a protocol error instead of panicking.
pub(crate) async fn try_call(
    client: &Client,
    tool: &str,
    arguments: Value,
) -> Result<CallToolResult, rmcp::ServiceError> {
    let Value::Object(arguments) = arguments else {
        panic!("arguments must be an object");
    };
    let params = CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments);
    client.call_tool(params).await
}

/// The sorted names of the tools `client` is offered.
pub(crate) async fn tool_names(client: &Client) -> Vec<String> {
    let mut names: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|tool| tool.name.into_owned())
        .collect();
    names.sort();
    names
}

/// The text of a tool result's first content block.
pub(crate) fn text_of(result: &CallToolResult) -> String {
    result.content[0]
        .as_text()
        .expect("text content")
        .text
        .clone()
}

/// An empty argument object.
pub(crate) fn no_arguments() -> JsonObject {
    JsonObject::new()
}

/// The claims of a token, decoded without verification (tests only look).
pub(crate) fn claims_of(token: &str) -> Value {
    scopegate_token::dangerous::decode_unverified(token)
        .unwrap()
        .claims
}

fn serve(listener: TcpListener, app: axum::Router) {
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
}

async fn record_authorization(
    recorder: &Mutex<Vec<String>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(value) = request.headers().get("authorization") {
        let text = value.to_str().unwrap_or_default().to_owned();
        recorder.lock().unwrap().push(text);
    }
    next.run(request).await
}
