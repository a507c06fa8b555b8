//! `POST /oauth2/v1/revoke` (RFC 7009).
//!
//! A refresh token revokes its whole rotation family and every access token the family
//! issued; an access token revokes its `jti`, and with it (rule 9) every token exchanged from
//! it when it is a root. A token that is unknown, already invalid or not ours is answered
//! with 200 and nothing happens (RFC 7009 §2.2). A client may revoke tokens issued to it and,
//! for access tokens, tokens meant for it (it is in their audience); anything else is
//! `unauthorized_client` (RFC 7009 §2.1).

use axum::extract::{Request, State};
use axum::response::Response;
use scopegate_token::TokenDigest;
use tracing::field::Empty;
use tracing::{Instrument as _, Span, info, info_span};

use super::{OAuthRequest, RequestContext, empty_no_store, error_response, read_form, refuse};
use crate::client_auth;
use crate::directory::Client;
use crate::error::IdpError;
use crate::exchange::{in_audience, root_token_id};
use crate::records::{self, Trail, fingerprint};
use crate::state::IdpState;
use crate::store::Revocation;

/// The handler of the revocation endpoint.
pub(super) async fn endpoint(State(state): State<IdpState>, request: Request) -> Response {
    let context = RequestContext::from_headers(request.headers());
    let span = info_span!("idp.revoke", request.id = %context.id, client.id = Empty);
    async move {
        let mut trail = Trail::default();
        let revoked = match revoke(&state, &mut trail, request).await {
            Ok(revoked) => revoked,
            Err(error) => return refuse(&state, &context, &trail, error).await,
        };
        if let Some(revoked) = revoked {
            let event = records::revoked(&state, &context, &trail, &revoked);
            // Fail closed: without its record the client hears 503 and retries; revoking
            // again is harmless.
            if let Err(error) = state.record(event).await {
                return error_response(&context, &error);
            }
            info!(revoked = revoked.len(), "tokens revoked");
        }
        empty_no_store(&context)
    }
    .instrument(span)
    .await
}

/// Revokes what the request names; returns the revoked access-token ids, or `None` when
/// there was nothing to revoke.
async fn revoke(
    state: &IdpState,
    trail: &mut Trail,
    request: Request,
) -> Result<Option<Vec<String>>, IdpError> {
    let request = read_form(request).await?;
    let authenticated =
        client_auth::authenticate(state.directory(), request.authorization(), &request.form)
            .inspect_err(|error| trail.client_id = error.client_id().map(str::to_owned))?;
    let client = authenticated.client;
    trail.client_id = Some(client.id.clone());
    Span::current().record("client.id", client.id.as_str());

    // RFC 7009 §2.1: `token_type_hint` may be ignored; the token's shape tells the kinds apart.
    let token = request.required("token")?;
    if token.contains('.') {
        revoke_access_token(state, trail, client, token).await
    } else {
        revoke_refresh_token(state, trail, client, &request).await
    }
}

async fn revoke_access_token(
    state: &IdpState,
    trail: &mut Trail,
    client: &Client,
    token: &str,
) -> Result<Option<Vec<String>>, IdpError> {
    // RFC 7009 §2.2: an invalid or expired token needs no revocation.
    let Ok(verified) = state.verify(token) else {
        return Ok(None);
    };
    let claims = verified.claims();
    trail.subject = Some(claims.sub.clone());
    trail.token_id = Some(claims.jti.clone());
    trail.original_token_id = Some(root_token_id(claims).to_owned());
    let owns =
        claims.client_id == client.id || in_audience(&claims.aud, &client.id, state.directory());
    if !owns {
        let owner = claims.client_id.clone();
        return Err(IdpError::RevokeNotPermitted {
            client_id: client.id.clone(),
            owner,
        });
    }
    // Exchanged tokens never outlive their subject, so the revocation can be forgotten once
    // this token has expired.
    let revocation = Revocation {
        jti: claims.jti.clone(),
        expires_at: claims.exp,
    };
    state.revoke(vec![revocation]).await?;
    Ok(Some(vec![claims.jti.clone()]))
}

async fn revoke_refresh_token(
    state: &IdpState,
    trail: &mut Trail,
    client: &Client,
    request: &OAuthRequest,
) -> Result<Option<Vec<String>>, IdpError> {
    let digest = TokenDigest::of(request.required("token")?).to_hex();
    trail.refresh_fingerprint = Some(fingerprint(&digest));
    let stored = state
        .blocking(move |store| store.find_refresh_token(&digest))
        .await?;
    let Some(stored) = stored else {
        return Ok(None);
    };
    let record = stored.record;
    trail.subject = Some(record.subject.clone());
    if record.client_id != client.id {
        let owner = record.client_id;
        return Err(IdpError::RevokeNotPermitted {
            client_id: client.id.clone(),
            owner,
        });
    }
    let now = state.now();
    let family_id = record.family_id;
    let revoked = state
        .blocking(move |store| store.revoke_family(&family_id, now))
        .await?;
    let ids = revoked
        .iter()
        .map(|revocation| revocation.jti.clone())
        .collect();
    state.mirror_revocations(revoked);
    Ok(Some(ids))
}
