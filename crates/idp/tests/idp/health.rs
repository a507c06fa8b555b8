//! Liveness and readiness: ready only while tokens can be issued with their audit record.

use axum::http::StatusCode;
use scopegate_audit::Faults;
use serde_json::json;

use crate::support::Idp;

#[tokio::test]
async fn healthz_answers_while_the_process_runs() {
    let idp = Idp::start();

    let reply = idp.get("/healthz").await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, json!({"status": "ok"}));
}

#[tokio::test]
async fn readyz_is_ready_with_keys_and_a_writable_audit_log() {
    let idp = Idp::start();

    let reply = idp.get("/readyz").await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.body,
        json!({"status": "ready", "checks": {"keys": "ok", "audit": "ok"}})
    );
}

#[tokio::test]
async fn readyz_turns_not_ready_when_the_audit_log_fails_and_ready_again_when_it_recovers() {
    let idp = Idp::start();
    idp.audit.set_faults(Faults {
        sync: true,
        ..Faults::default()
    });
    let refused = idp.login("EMP001", false).await;

    let broken = idp.get("/readyz").await;
    idp.audit.set_faults(Faults::default());
    let recovered_login = idp.login("EMP001", false).await;
    let recovered = idp.get("/readyz").await;

    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(broken.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(broken.body["checks"]["audit"], "failing");
    assert_eq!(recovered_login.status, StatusCode::OK);
    assert_eq!(recovered.status, StatusCode::OK);
}
