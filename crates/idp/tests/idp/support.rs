//! The shared harness: a real IdP (key store, SQLite store and audit log in a temporary
//! directory, a clock that moves only when told) driven in-process through its router.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http_body_util::BodyExt as _;
use scopegate_audit::{AuditLog, MemoryStorage, WriterConfig};
use scopegate_idp::{Directory, IdpConfig, IdpState, SqliteStore, admin, router};
use scopegate_token::{
    Algorithm, Audience, Claims, ExtraClaims, KeyStore, KeyStoreConfig, ManualClock, NumericDate,
    PrincipalType, Scopes, dangerous,
};
use serde_json::Value;
use tempfile::TempDir;
use tower::ServiceExt as _;

/// 2026-01-28T10:27:00Z, the design note's login time.
pub(crate) const START: i64 = 1_769_596_020;

pub(crate) const ISSUER: &str = "http://127.0.0.1:9000";
pub(crate) const MCP: &str = "http://127.0.0.1:8001/mcp";
pub(crate) const API: &str = "http://127.0.0.1:8000";
pub(crate) const TOKEN: &str = "/oauth2/v1/token";
pub(crate) const INTROSPECT: &str = "/oauth2/v1/introspect";
pub(crate) const REVOKE: &str = "/oauth2/v1/revoke";
pub(crate) const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub(crate) const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// Client credentials of the embedded directory.
pub(crate) const CHAT: (&str, &str) = ("chainlit-app", "chainlit-dev-secret");
pub(crate) const MCP_SERVER: (&str, &str) = ("mcp-server", "mcp-server-dev-secret");
pub(crate) const DIRECTORY_SYNC: (&str, &str) = ("directory-sync", "directory-sync-dev-secret");

/// A second confidential app with the password and refresh grants (see
/// [`directory_with_second_app`]).
pub(crate) const SECOND_APP: (&str, &str) = ("second-app", "second-app-secret");

/// How a test request authenticates its client.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Auth<'a> {
    /// `client_secret_basic`.
    Basic(&'a str, &'a str),
    /// No `Authorization` header (credentials, if any, are in the form).
    None,
}

impl<'a> From<(&'a str, &'a str)> for Auth<'a> {
    fn from((id, secret): (&'a str, &'a str)) -> Self {
        Self::Basic(id, secret)
    }
}

/// One response, with the body parsed as JSON when it is JSON.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Value,
    pub(crate) raw: Bytes,
}

impl Reply {
    /// The header's value as text, or `""`.
    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }

    /// `access_token` of a token response.
    pub(crate) fn access_token(&self) -> String {
        self.body["access_token"]
            .as_str()
            .expect("an access_token")
            .to_owned()
    }

    /// The `error` and `error_description` of an error response.
    pub(crate) fn error(&self) -> (&str, &str) {
        (
            self.body["error"].as_str().unwrap_or_default(),
            self.body["error_description"].as_str().unwrap_or_default(),
        )
    }
}

/// A running IdP and the handles tests need to steer and inspect it.
pub(crate) struct Idp {
    pub(crate) state: IdpState,
    router: Router,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) audit: MemoryStorage,
    pub(crate) keys: KeyStore,
    pub(crate) dir: TempDir,
}

impl Idp {
    /// The embedded directory in development mode.
    pub(crate) fn start() -> Self {
        Self::start_with(|_| {})
    }

    /// As [`Idp::start`], after `adjust` has changed the configuration.
    pub(crate) fn start_with(adjust: impl FnOnce(&mut IdpConfig)) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let clock = Arc::new(ManualClock::new(at(START)));
        let audit = MemoryStorage::new();
        let mut config = config();
        adjust(&mut config);
        let keys = open_keys(&dir, &clock);
        let state = open_state(config, &keys, &dir, &audit, &clock);
        Self {
            router: router(state.clone()),
            state,
            clock,
            audit,
            keys,
            dir,
        }
    }

    /// A new IdP process over the same key directory, store file, audit log and clock.
    pub(crate) fn restart(self) -> Self {
        let Self {
            dir, clock, audit, ..
        } = self;
        let keys = open_keys(&dir, &clock);
        let state = open_state(config(), &keys, &dir, &audit, &clock);
        Self {
            router: router(state.clone()),
            state,
            clock,
            audit,
            keys,
            dir,
        }
    }

    /// Moves the clock on.
    pub(crate) fn advance(&self, seconds: u64) {
        self.clock.advance(Duration::from_secs(seconds));
    }

    /// The clock's current Unix time.
    pub(crate) fn now(&self) -> i64 {
        use scopegate_token::Clock as _;
        self.clock.now().as_unix_seconds()
    }

    /// Sends any request.
    pub(crate) async fn send(&self, request: Request<Body>) -> Reply {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible router");
        let status = response.status();
        let headers = response.headers().clone();
        let raw = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            raw,
        }
    }

    /// `GET path`.
    pub(crate) async fn get(&self, path: &str) -> Reply {
        self.send(Request::get(path).body(Body::empty()).expect("request"))
            .await
    }

    /// `POST path` with a form body and client authentication.
    pub(crate) async fn post<'a>(
        &self,
        path: &str,
        auth: impl Into<Auth<'a>>,
        form: &[(&str, &str)],
    ) -> Reply {
        self.send(form_request(path, auth.into(), &encode(form)))
            .await
    }

    /// A password login of `user` at the chat app, with a TOTP code when `mfa`.
    pub(crate) async fn login(&self, user: &str, mfa: bool) -> Reply {
        self.login_with(user, mfa, &[]).await
    }

    /// A password login with extra form parameters.
    pub(crate) async fn login_with(&self, user: &str, mfa: bool, extra: &[(&str, &str)]) -> Reply {
        let code = if mfa {
            Some(self.fresh_totp(user))
        } else {
            None
        };
        let mut form = vec![("grant_type", "password"), ("username", user)];
        form.push(("password", "demo-password"));
        if let Some(code) = &code {
            form.push(("totp", code.as_str()));
        }
        form.extend_from_slice(extra);
        self.post(TOKEN, CHAT, &form).await
    }

    /// A user token of `user` (MFA when `mfa`), asserting the login succeeded.
    pub(crate) async fn user_token(&self, user: &str, mfa: bool) -> String {
        let reply = self.login(user, mfa).await;
        assert_eq!(reply.status, StatusCode::OK, "login failed: {}", reply.body);
        reply.access_token()
    }

    /// The chat app's exchange of `subject` for a token at the MCP server.
    pub(crate) async fn exchange_for_mcp(&self, subject: &str) -> Reply {
        self.post(
            TOKEN,
            CHAT,
            &exchange_form(subject, &[("scope", "mcp:use")]),
        )
        .await
    }

    /// The MCP server's on-behalf-of exchange of `mcp_token` for a token at the actions API.
    pub(crate) async fn exchange_for_api(&self, mcp_token: &str) -> Reply {
        self.post(
            TOKEN,
            MCP_SERVER,
            &exchange_form(mcp_token, &[("audience", API)]),
        )
        .await
    }

    /// The current code of `user`, after moving the clock one step on so that every call
    /// yields a code the replay guard has not seen.
    pub(crate) fn fresh_totp(&self, user: &str) -> String {
        self.advance(30);
        let directory = Directory::embedded_default().expect("embedded directory");
        use scopegate_token::Clock as _;
        admin::totp_code(&directory, user, self.clock.now())
            .expect("enrolled user")
            .code
    }

    /// Signs arbitrary claims with the IdP's own active key.
    pub(crate) fn mint(&self, claims: &Claims) -> String {
        self.keys.signer().sign(claims).expect("sign")
    }

    /// Every audit record written so far, as JSON.
    pub(crate) fn audit_records(&self) -> Vec<Value> {
        let bytes = self.audit.contents();
        bytes
            .split(|byte| *byte == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| serde_json::from_slice(line).expect("audit line is JSON"))
            .collect()
    }

    /// The last audit record.
    pub(crate) fn last_audit_record(&self) -> Value {
        self.audit_records().pop().expect("an audit record")
    }
}

/// The form of an exchange of `subject_token` with `extra` parameters.
pub(crate) fn exchange_form<'a>(
    subject_token: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("grant_type", EXCHANGE),
        ("subject_token", subject_token),
        ("subject_token_type", ACCESS_TOKEN_TYPE),
    ];
    form.extend_from_slice(extra);
    form
}

/// A raw form POST with `body` as given (already encoded).
pub(crate) fn form_request(path: &str, auth: Auth<'_>, body: &str) -> Request<Body> {
    let mut builder =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Auth::Basic(id, secret) = auth {
        builder = builder.header(header::AUTHORIZATION, basic(id, secret));
    }
    builder.body(Body::from(body.to_owned())).expect("request")
}

/// `Basic` credentials, each half form-urlencoded as RFC 6749 §2.3.1 requires.
pub(crate) fn basic(id: &str, secret: &str) -> String {
    let id: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
    let secret: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// `application/x-www-form-urlencoded` encoding of `form`.
pub(crate) fn encode(form: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish()
}

/// The claims of a token, decoded without verification (tests only look).
pub(crate) fn claims_of(token: &str) -> Value {
    dangerous::decode_unverified(token).expect("a JWT").claims
}

/// The header of a token.
pub(crate) fn header_of(token: &str) -> Value {
    dangerous::decode_unverified(token).expect("a JWT").header
}

/// The embedded directory plus `second-app`, a client like the chat app.
pub(crate) fn directory_with_second_app() -> Directory {
    let digest = scopegate_idp::secret::SecretDigest::of(SECOND_APP.1);
    let extra = format!(
        "\n[[clients]]\nid = \"second-app\"\nname = \"Second app\"\n\
         secret_digest = \"{digest}\"\ngrants = [\"password\", \"refresh_token\"]\n\
         scopes = [\"openid\", \"offline_access\"]\ndefault_audience = \"actions-api\"\n"
    );
    let text = format!("{}{extra}", scopegate_idp::directory::EMBEDDED_DEFAULT);
    Directory::from_toml_str(&text, "test directory").expect("test directory")
}

/// Claims like a user token of EMP001 at the chat app, for minting tokens the IdP never
/// issued itself (chains, odd shapes).
pub(crate) fn minted_claims(now: i64, audience: &str) -> Claims {
    Claims {
        iss: ISSUER.to_owned(),
        sub: "EMP001".to_owned(),
        aud: Audience::single(audience),
        exp: at(now + 3600),
        iat: at(now),
        nbf: None,
        jti: uuid::Uuid::new_v4().to_string(),
        client_id: "chainlit-app".to_owned(),
        scope: Scopes::from_space_separated("mcp:use openid").expect("scopes"),
        principal_type: Some(PrincipalType::Human),
        groups: vec!["employees".to_owned()],
        amr: vec!["mfa".to_owned(), "otp".to_owned(), "pwd".to_owned()],
        auth_time: Some(at(now)),
        acr: Some("urn:okta:loa:2fa:any".to_owned()),
        acting_as: None,
        original_token_id: None,
        act: None,
        may_act: None,
        extra: ExtraClaims::new(),
    }
}

pub(crate) fn at(seconds: i64) -> NumericDate {
    NumericDate::from_unix_seconds(seconds).expect("a valid date")
}

fn config() -> IdpConfig {
    let directory = Directory::embedded_default().expect("embedded directory");
    IdpConfig::development(ISSUER.parse().expect("issuer"), directory)
}

fn open_keys(dir: &TempDir, clock: &Arc<ManualClock>) -> KeyStore {
    let config = KeyStoreConfig {
        algorithm: Algorithm::Es256,
        max_token_lifetime: Duration::from_secs(8 * 3600),
    };
    KeyStore::open(dir.path().join("keys"), config, clock.clone()).expect("key store")
}

fn open_state(
    config: IdpConfig,
    keys: &KeyStore,
    dir: &TempDir,
    audit: &MemoryStorage,
    clock: &Arc<ManualClock>,
) -> IdpState {
    let store = SqliteStore::open(&dir.path().join("idp.sqlite")).expect("store");
    let log = AuditLog::with_storage(audit.clone(), WriterConfig::default()).expect("audit log");
    IdpState::new(config, keys, Arc::new(store), log, clock.clone()).expect("state")
}
