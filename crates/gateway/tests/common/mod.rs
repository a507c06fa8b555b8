//! Shared test support: a gateway on the embedded defaults with an in-memory audit log, real
//! tokens from a test issuer, a manual clock, and helpers to send requests in-process.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the harness"
)]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use scopegate_audit::{AuditLog, MemoryStorage, WriterConfig};
use scopegate_gateway::{GatewayConfig, GatewayParts, GatewayState, router};
use scopegate_token::testing::TestIssuer;
use scopegate_token::{
    Actor, Algorithm, Audience, Claims, KeySource, ManualClock, NumericDate, Scope, Scopes,
};
use serde_json::Value;
use tower::ServiceExt;

/// The issuer the gateway trusts by default.
pub(crate) const ISSUER: &str = "http://127.0.0.1:9000";
/// The API's audience by default.
pub(crate) const API: &str = "http://127.0.0.1:8000";
/// The MCP server's audience.
pub(crate) const MCP: &str = "http://127.0.0.1:8001/mcp";
/// 2026-01-28T10:28:00Z.
pub(crate) const NOW: i64 = 1_769_596_080;

/// A gateway and everything a test needs to look at.
pub(crate) struct Harness {
    pub(crate) issuer: TestIssuer,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) storage: MemoryStorage,
    pub(crate) state: GatewayState,
    pub(crate) router: Router,
}

impl Harness {
    /// The embedded defaults with the default configuration.
    pub(crate) fn new() -> Self {
        Self::with_config(GatewayConfig::default())
    }

    /// The embedded defaults with `config`.
    pub(crate) fn with_config(config: GatewayConfig) -> Self {
        Self::build(config, |parts| parts)
    }

    /// The embedded defaults with `config`, then changed by `adjust`.
    pub(crate) fn build(
        config: GatewayConfig,
        adjust: impl FnOnce(GatewayParts) -> GatewayParts,
    ) -> Self {
        let issuer = TestIssuer::new(ISSUER, Algorithm::Es256);
        let clock = Arc::new(ManualClock::new(at(NOW)));
        let storage = MemoryStorage::new();
        let audit = AuditLog::with_storage(storage.clone(), WriterConfig::default()).unwrap();
        let keys: Arc<dyn KeySource> = Arc::new(issuer.keys());
        let parts = GatewayParts::with_defaults(config, keys, clock.clone(), audit).unwrap();
        let state = GatewayState::new(adjust(parts)).unwrap();
        let router = router(state.clone());
        Self {
            issuer,
            clock,
            storage,
            state,
            router,
        }
    }

    /// The on-behalf-of token the MCP server holds for `sub`: audience the API, scope
    /// `mcp:use`, `act.sub` = `mcp-server`, MFA login a minute ago, five minutes long.
    pub(crate) fn obo_claims(&self, sub: &str, groups: &[&str]) -> Claims {
        let mut claims = self.issuer.claims(API, at(NOW));
        claims.sub = sub.to_owned();
        claims.groups = groups.iter().map(|g| (*g).to_owned()).collect();
        claims.jti = format!("obo-{sub}");
        claims.client_id = "mcp-server".to_owned();
        claims.act = Some(Actor::new("mcp-server"));
        claims.original_token_id = Some(format!("login-{sub}"));
        claims.acr = Some("urn:okta:loa:2fa:any".to_owned());
        claims
    }

    /// The chat app's MCP token for EMP001: audience the MCP server, scope `mcp:use`, no
    /// actor (design note, demo step 2).
    pub(crate) fn mcp_claims(&self) -> Claims {
        let mut claims = self.issuer.claims(MCP, at(NOW));
        claims.jti = "mcp-EMP001".to_owned();
        claims.acting_as = Some("mcp-server".to_owned());
        claims.original_token_id = Some("login-EMP001".to_owned());
        claims
    }

    pub(crate) fn mint(&self, claims: &Claims) -> String {
        self.issuer.mint(claims)
    }

    /// Sends `request` to the router.
    pub(crate) async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
            raw: bytes.to_vec(),
        }
    }

    /// `GET path` with `token` as bearer.
    pub(crate) async fn get(&self, path: &str, token: &str) -> Answer {
        self.send(get(path, token)).await
    }

    /// `POST path` with `token` as bearer and `body` as JSON.
    pub(crate) async fn post(&self, path: &str, token: &str, body: &Value) -> Answer {
        self.send(post(path, token, body)).await
    }

    /// Every audit record written so far.
    pub(crate) fn records(&self) -> Vec<Value> {
        let bytes = self.storage.contents();
        let text = String::from_utf8(bytes).unwrap();
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// The last audit record.
    pub(crate) fn last_record(&self) -> Value {
        self.records().pop().expect("an audit record")
    }
}

/// An answer, read whole.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Value,
    /// The body as it was sent.
    pub(crate) raw: Vec<u8>,
}

impl Answer {
    /// A header as text, or `None`.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

pub(crate) fn get(path: &str, token: &str) -> Request<Body> {
    Request::get(path)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

pub(crate) fn post(path: &str, token: &str, body: &Value) -> Request<Body> {
    Request::post(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

pub(crate) fn at(seconds: i64) -> NumericDate {
    NumericDate::from_unix_seconds(seconds).unwrap()
}

pub(crate) fn scopes(list: &str) -> Scopes {
    list.split(' ').map(|s| Scope::new(s).unwrap()).collect()
}

pub(crate) fn minutes(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

pub(crate) fn audience(text: &str) -> Audience {
    Audience::single(text)
}
