//! The token endpoint's rate limit: each client's budget is its own, callers that
//! authenticate no client are charged by address, a spent budget answers 429 with
//! `Retry-After`, and the budget refills.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use scopegate_idp::RateLimit;

use crate::support::{
    Auth, CHAT, DIRECTORY_SYNC, Idp, MCP_SERVER, Reply, TOKEN, encode, form_request,
};

/// One request a second, two at once.
fn tight() -> RateLimit {
    RateLimit {
        per_second: NonZeroU32::new(1).unwrap(),
        burst: NonZeroU32::new(2).unwrap(),
    }
}

fn start_tight() -> Idp {
    Idp::start_with(|config| config.token_rate = tight())
}

/// A client-credentials request from `peer` authenticated as `(id, secret)`.
fn service_login(peer: &str, (id, secret): (&str, &str)) -> Request<Body> {
    let body = encode(&[("grant_type", "client_credentials")]);
    let mut request = form_request(TOKEN, Auth::Basic(id, secret), &body);
    let peer: SocketAddr = peer.parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    request
}

/// Sends `make()` until the answer is not `expected`, at most 50 times; returns how many
/// answers were `expected` and the first that was not.
async fn until_not(
    idp: &Idp,
    expected: StatusCode,
    make: impl Fn() -> Request<Body>,
) -> (usize, Reply) {
    for answered in 0..50 {
        let reply = idp.send(make()).await;
        if reply.status != expected {
            return (answered, reply);
        }
    }
    panic!("every answer was {expected}");
}

#[tokio::test]
async fn a_client_past_its_burst_gets_429_with_retry_after_and_no_audit_record() {
    let idp = start_tight();

    let (granted, refused) = until_not(&idp, StatusCode::OK, || {
        service_login("192.0.2.1:4000", DIRECTORY_SYNC)
    })
    .await;

    assert!(granted >= 2, "the burst of two is granted, got {granted}");
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.header("retry-after"), "1");
    assert_eq!(refused.header("cache-control"), "no-store");
    assert_eq!(
        refused.error(),
        (
            "temporarily_unavailable",
            "too many requests for client `directory-sync`; retry after 1 s"
        )
    );
    assert_eq!(
        idp.audit_records().len(),
        granted,
        "only the grants are audited"
    );
}

#[tokio::test]
async fn a_throttled_client_recovers_once_its_budget_refills() {
    let idp = start_tight();
    let (_, refused) = until_not(&idp, StatusCode::OK, || {
        service_login("192.0.2.1:4000", DIRECTORY_SYNC)
    })
    .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);

    let deadline = Instant::now() + Duration::from_secs(20);
    let mut reply = idp
        .send(service_login("192.0.2.1:4000", DIRECTORY_SYNC))
        .await;
    while reply.status == StatusCode::TOO_MANY_REQUESTS && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        reply = idp
            .send(service_login("192.0.2.1:4000", DIRECTORY_SYNC))
            .await;
    }

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

#[tokio::test]
async fn one_clients_spent_budget_leaves_other_clients_and_addresses_alone() {
    let idp = start_tight();
    let (_, refused) = until_not(&idp, StatusCode::OK, || {
        service_login("192.0.2.1:4000", DIRECTORY_SYNC)
    })
    .await;

    let other_client = idp.send(service_login("192.0.2.1:4000", MCP_SERVER)).await;
    let same_client_elsewhere = idp
        .send(service_login("198.51.100.9:4000", DIRECTORY_SYNC))
        .await;

    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(other_client.status, StatusCode::OK, "{}", other_client.body);
    assert_eq!(
        same_client_elsewhere.status,
        StatusCode::TOO_MANY_REQUESTS,
        "a confidential client's budget follows the client, not the address"
    );
}

#[tokio::test]
async fn failed_authentication_is_charged_to_the_address_which_is_then_refused_unchecked() {
    let idp = start_tight();
    let wrong = ("directory-sync", "guess");

    let (failures, refused) = until_not(&idp, StatusCode::UNAUTHORIZED, || {
        service_login("192.0.2.1:4000", wrong)
    })
    .await;
    let right_secret_same_address = idp
        .send(service_login("192.0.2.1:5000", DIRECTORY_SYNC))
        .await;
    let wrong_secret_other_address = idp.send(service_login("198.51.100.9:4000", wrong)).await;

    assert!(
        failures >= 2,
        "the burst of two failures is answered, got {failures}"
    );
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        refused.error(),
        (
            "temporarily_unavailable",
            "too many requests for unauthenticated callers at `192.0.2.1`; retry after 1 s"
        )
    );
    assert_eq!(
        right_secret_same_address.status,
        StatusCode::TOO_MANY_REQUESTS,
        "a spent address is refused before its credentials are checked"
    );
    assert_eq!(wrong_secret_other_address.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_default_budget_lets_a_burst_of_two_thousand_through() {
    let idp = Idp::start();

    let mut refused = Vec::new();
    for _ in 0..2000 {
        let reply = idp
            .send(service_login("192.0.2.1:4000", DIRECTORY_SYNC))
            .await;
        if reply.status != StatusCode::OK {
            refused.push(reply.status);
        }
    }

    assert_eq!(idp.state.config().token_rate, RateLimit::PER_CLIENT);
    assert_eq!(refused, Vec::<StatusCode>::new());
}

#[tokio::test]
async fn password_attempts_are_charged_per_username_whoever_makes_them() {
    let idp = Idp::start_with(|config| config.password_rate = tight());
    let wrong = |user: &'static str| {
        move || {
            let body = encode(&[
                ("grant_type", "password"),
                ("username", user),
                ("password", "not-the-password"),
            ]);
            form_request(TOKEN, Auth::Basic(CHAT.0, CHAT.1), &body)
        }
    };

    let (guesses, refused) = until_not(&idp, StatusCode::BAD_REQUEST, wrong("EMP001")).await;
    let unknown_user = until_not(&idp, StatusCode::BAD_REQUEST, wrong("nobody")).await;
    let other_user = idp.login("EMP002", false).await;

    assert_eq!(guesses, 2, "the burst of two guesses is checked");
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        refused.error(),
        (
            "temporarily_unavailable",
            "too many requests for username `EMP001`; retry after 1 s"
        )
    );
    assert_eq!(
        unknown_user.0, 2,
        "a username that does not exist has the same budget, so the budget tells nothing"
    );
    assert_eq!(
        other_user.status,
        StatusCode::OK,
        "other accounts are untouched"
    );
}
