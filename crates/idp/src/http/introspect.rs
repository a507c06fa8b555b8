//! `POST /oauth2/v1/introspect` (RFC 7662).
//!
//! Only authenticated (confidential) clients may introspect (RFC 7662 §2.1). An access token
//! is active when it verifies now and neither it nor its root token is revoked; a refresh
//! token is active for the client it was issued to while unused, unrevoked and unexpired.
//! Anything else is `{"active": false}` and nothing more (RFC 7662 §2.2).

use axum::extract::{Request, State};
use axum::response::Response;
use scopegate_token::{Claims, TokenDigest};
use serde_json::{Map, Value, json};
use tracing::field::Empty;
use tracing::{Instrument as _, Span, info_span};

use super::{RequestContext, error_response, json_no_store, read_form};
use crate::client_auth;
use crate::directory::Client;
use crate::error::IdpError;
use crate::state::IdpState;
use crate::store::{RefreshStatus, StoredRefresh};

/// The handler of the introspection endpoint.
pub(super) async fn endpoint(State(state): State<IdpState>, request: Request) -> Response {
    let context = RequestContext::from_headers(request.headers());
    let span = info_span!("idp.introspect", request.id = %context.id, client.id = Empty);
    async move {
        match introspect(&state, request).await {
            Ok(body) => json_no_store(&context, &body),
            Err(error) => error_response(&context, &error),
        }
    }
    .instrument(span)
    .await
}

async fn introspect(state: &IdpState, request: Request) -> Result<Value, IdpError> {
    let request = read_form(request).await?;
    let authenticated =
        client_auth::authenticate(state.directory(), request.authorization(), &request.form)?;
    let client = authenticated.client;
    Span::current().record("client.id", client.id.as_str());
    if !client.is_confidential() {
        let client_id = client.id.clone();
        return Err(IdpError::ConfidentialClientRequired {
            client_id,
            endpoint: "introspection",
        });
    }
    let token = request.required("token")?;

    // RFC 7662 §2.1: `token_type_hint` may be ignored; the token's shape tells the kinds apart.
    if token.contains('.') {
        return Ok(introspect_access_token(state, token));
    }
    let digest = TokenDigest::of(token).to_hex();
    let stored = state
        .blocking(move |store| store.find_refresh_token(&digest))
        .await?;
    Ok(stored.map_or_else(inactive, |stored| {
        introspect_refresh_token(state, client, &stored)
    }))
}

fn introspect_access_token(state: &IdpState, token: &str) -> Value {
    match state.verify(token) {
        Ok(verified) if !state.is_revoked(verified.claims()) => active_claims(verified.claims()),
        _ => inactive(),
    }
}

fn introspect_refresh_token(state: &IdpState, client: &Client, stored: &StoredRefresh) -> Value {
    let record = &stored.record;
    let usable = stored.status == RefreshStatus::Active && record.expires_at > state.now();
    if !usable || record.client_id != client.id {
        return inactive();
    }
    json!({
        "active": true,
        "token_type": "refresh_token",
        "client_id": record.client_id,
        "sub": record.subject,
        "aud": record.audience,
        "scope": record.scopes.join(" "),
        "iat": record.issued_at.as_unix_seconds(),
        "exp": record.expires_at.as_unix_seconds(),
        "auth_time": record.auth_time.as_unix_seconds(),
    })
}

/// The token's claims with `active` and `token_type`; `scope` becomes the space-separated
/// string RFC 7662 §2.2 defines.
fn active_claims(claims: &Claims) -> Value {
    let mut members = match serde_json::to_value(claims) {
        Ok(Value::Object(members)) => members,
        _ => return inactive(),
    };
    if !claims.scope.is_empty() {
        members.insert("scope".to_owned(), Value::String(claims.scope.to_string()));
    }
    let mut body = Map::new();
    body.insert("active".to_owned(), Value::Bool(true));
    body.insert("token_type".to_owned(), Value::String("Bearer".to_owned()));
    body.extend(members);
    Value::Object(body)
}

fn inactive() -> Value {
    json!({ "active": false })
}
