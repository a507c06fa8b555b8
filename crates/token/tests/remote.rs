//! Keys of a remote issuer: OpenID Connect discovery, caching, and the rule that an unknown
//! `kid` triggers at most one fetch per 30 s. A real HTTP server on a loopback port plays the
//! issuer.

#![cfg(feature = "remote")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use common::{API, start};
use scopegate_token::testing::TestIssuer;
use scopegate_token::{
    Algorithm, AudienceCheck, Jwks, ManualClock, RemoteIssuer, Verifier, VerifyError,
};

#[derive(Default)]
struct Served {
    /// The `issuer` the discovery document names; the real one when `None`.
    claimed_issuer: Option<String>,
    jwks: String,
    jwks_status: u16,
    discovery_fetches: usize,
    jwks_fetches: usize,
}

type Shared = Arc<Mutex<Served>>;

struct Idp {
    base: String,
    served: Shared,
    clock: Arc<ManualClock>,
}

impl Idp {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let served: Shared = Arc::new(Mutex::new(Served {
            jwks_status: 200,
            ..Served::default()
        }));
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/keys", get(keys))
            .with_state((base.clone(), Arc::clone(&served)));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            base,
            served,
            clock: Arc::new(ManualClock::new(start())),
        }
    }

    fn publish(&self, keys: &[&TestIssuer]) {
        let keys = keys
            .iter()
            .flat_map(|issuer| issuer.jwks().keys().to_vec())
            .collect();
        self.served.lock().unwrap().jwks = serde_json::to_string(&Jwks::new(keys)).unwrap();
    }

    fn fetches(&self) -> (usize, usize) {
        let served = self.served.lock().unwrap();
        (served.discovery_fetches, served.jwks_fetches)
    }

    fn verifier(&self, remote: RemoteIssuer) -> Verifier {
        Verifier::builder()
            .trust_issuer(self.base.clone(), remote)
            .audience(AudienceCheck::one_of([API]))
            .clock(self.clock.clone())
            .build()
            .unwrap()
    }

    fn discovering_verifier(&self) -> Verifier {
        self.verifier(RemoteIssuer::discover(self.base.clone(), self.clock.clone()).unwrap())
    }

    fn token(&self, issuer: &TestIssuer) -> String {
        issuer.mint(&issuer.claims(API, start()))
    }
}

async fn discovery(State((base, served)): State<(String, Shared)>) -> String {
    let mut served = served.lock().unwrap();
    served.discovery_fetches += 1;
    let issuer = served
        .claimed_issuer
        .clone()
        .unwrap_or_else(|| base.clone());
    serde_json::json!({ "issuer": issuer, "jwks_uri": format!("{base}/keys") }).to_string()
}

async fn keys(State((_, served)): State<(String, Shared)>) -> (StatusCode, String) {
    let mut served = served.lock().unwrap();
    served.jwks_fetches += 1;
    (
        StatusCode::from_u16(served.jwks_status).unwrap(),
        served.jwks.clone(),
    )
}

#[tokio::test]
async fn fetches_keys_by_discovery_when_a_kid_is_first_seen() {
    let idp = Idp::start().await;
    let issuer = TestIssuer::new(idp.base.clone(), Algorithm::Es256);
    idp.publish(&[&issuer]);
    let verifier = idp.discovering_verifier();
    let token = idp.token(&issuer);

    let offline = verifier.verify(&token).unwrap_err();
    let fetched = verifier.verify_refreshing_keys(&token).await;
    let again = verifier.verify_refreshing_keys(&token).await;

    assert!(
        matches!(offline, VerifyError::UnknownKey { .. }),
        "{offline}"
    );
    assert!(fetched.is_ok() && again.is_ok(), "{fetched:?}");
    assert_eq!(idp.fetches(), (1, 1));
}

#[tokio::test]
async fn an_unknown_kid_refetches_at_most_once_per_30_seconds() {
    let idp = Idp::start().await;
    let old = TestIssuer::new(idp.base.clone(), Algorithm::Es256);
    idp.publish(&[&old]);
    let verifier = idp.discovering_verifier();
    verifier
        .verify_refreshing_keys(&idp.token(&old))
        .await
        .unwrap();
    // The issuer rotates right after the first fetch.
    let new = TestIssuer::new(idp.base.clone(), Algorithm::Es256);
    idp.publish(&[&new, &old]);
    let token = idp.token(&new);

    idp.clock.advance(Duration::from_secs(29));
    let too_soon = verifier.verify_refreshing_keys(&token).await.unwrap_err();
    let fetches_too_soon = idp.fetches();
    idp.clock.advance(Duration::from_secs(1));
    let in_time = verifier.verify_refreshing_keys(&token).await;

    assert_eq!(
        too_soon.to_string(),
        format!("issuer `{}` has no key `{}`", idp.base, new.kid())
    );
    assert_eq!(fetches_too_soon, (1, 1));
    assert!(in_time.is_ok(), "{in_time:?}");
    assert_eq!(idp.fetches(), (1, 2), "discovery is not repeated");
}

#[tokio::test]
async fn a_flood_of_invented_kids_costs_one_fetch() {
    let idp = Idp::start().await;
    let issuer = TestIssuer::new(idp.base.clone(), Algorithm::EdDsa);
    idp.publish(&[&issuer]);
    let verifier = idp.discovering_verifier();

    for n in 0..20 {
        let header = format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"invented-{n}"}}"#);
        let payload = serde_json::to_string(&issuer.claims(API, start())).unwrap();
        let token = issuer.sign_with_header(&header, &payload);

        let error = verifier.verify_refreshing_keys(&token).await.unwrap_err();

        assert!(matches!(error, VerifyError::UnknownKey { .. }), "{error}");
    }
    assert_eq!(idp.fetches(), (1, 1));
}

#[tokio::test]
async fn refuses_a_discovery_document_for_another_issuer() {
    let idp = Idp::start().await;
    let issuer = TestIssuer::new(idp.base.clone(), Algorithm::Es256);
    idp.publish(&[&issuer]);
    idp.served.lock().unwrap().claimed_issuer = Some("https://impostor.example".to_owned());
    let verifier = idp.discovering_verifier();

    let error = verifier
        .verify_refreshing_keys(&idp.token(&issuer))
        .await
        .unwrap_err();

    assert_eq!(
        error.to_string(),
        format!(
            "cannot fetch the keys of issuer `{0}`: discovery for issuer `{0}` describes issuer \
             `https://impostor.example`",
            idp.base
        )
    );
    assert_eq!(idp.fetches(), (1, 0));
}

#[tokio::test]
async fn reports_a_failed_jwks_fetch() {
    let idp = Idp::start().await;
    let issuer = TestIssuer::new(idp.base.clone(), Algorithm::Es256);
    idp.served.lock().unwrap().jwks_status = 503;
    let verifier = idp.discovering_verifier();

    let error = verifier
        .verify_refreshing_keys(&idp.token(&issuer))
        .await
        .unwrap_err();

    assert_eq!(
        error.to_string(),
        format!(
            "cannot fetch the keys of issuer `{0}`: GET `{0}/keys` answered HTTP 503",
            idp.base
        )
    );
}

#[tokio::test]
async fn a_configured_jwks_uri_needs_no_discovery() {
    let idp = Idp::start().await;
    let issuer = TestIssuer::new(idp.base.clone(), Algorithm::Rs256);
    idp.publish(&[&issuer]);
    let jwks_uri = format!("{}/keys", idp.base);
    let remote = RemoteIssuer::with_jwks_uri(idp.base.clone(), &jwks_uri, idp.clock.clone());
    let verifier = idp.verifier(remote.unwrap());

    let verified = verifier.verify_refreshing_keys(&idp.token(&issuer)).await;

    assert!(verified.is_ok(), "{verified:?}");
    assert_eq!(idp.fetches(), (0, 1));
}

#[tokio::test]
async fn refuses_plain_http_to_a_remote_host() {
    let clock = Arc::new(ManualClock::new(start()));

    let error = RemoteIssuer::discover("http://idp.example", clock).unwrap_err();

    assert_eq!(
        error.to_string(),
        "`http://idp.example/.well-known/openid-configuration` must use https (plain http only \
         for loopback hosts)"
    );
}
