//! The RFC 8693 token-exchange grant at the token endpoint: parameter checks, verification of
//! the subject and actor tokens, then the pure rules of [`crate::exchange`].

use std::sync::Arc;

use scopegate_token::{Scopes, VerifiedToken};

use super::OAuthRequest;
use super::token::{Issued, finish, new_jti};
use crate::directory::Client;
use crate::error::IdpError;
use crate::exchange::{ExchangeInput, TokenRefusal, exchange, root_token_id};
use crate::grant::{ACCESS_TOKEN_TYPE_URN, GrantType};
use crate::records::Trail;
use crate::state::IdpState;

/// Handles `grant_type=urn:ietf:params:oauth:grant-type:token-exchange` for an authenticated
/// client that holds the grant.
pub(super) fn grant(
    state: &IdpState,
    trail: &mut Trail,
    client: &Client,
    request: &OAuthRequest,
) -> Result<Issued, IdpError> {
    // RFC 8693 §2.1: the subject token and its type are required; the actor token and its
    // type come together or not at all; only access tokens are accepted and issued.
    let subject_token = request.required("subject_token")?;
    check_token_type(
        "subject_token_type",
        request.required("subject_token_type")?,
    )?;
    let actor_token = match (
        request.form.get("actor_token"),
        request.form.get("actor_token_type"),
    ) {
        (Some(token), Some(kind)) => {
            check_token_type("actor_token_type", kind)?;
            Some(token)
        }
        (None, None) => None,
        _ => return Err(IdpError::ActorTokenUnpaired),
    };
    if let Some(requested) = request.form.get("requested_token_type") {
        check_token_type("requested_token_type", requested)?;
    }
    let targets = request.targets()?;
    let scope = request
        .form
        .get("scope")
        .map(Scopes::from_space_separated)
        .transpose();
    let scope = scope.map_err(IdpError::ScopeSyntax)?;

    // RFC 8693 §2.2.2: a subject or actor token that fails verification, has expired or was
    // revoked (directly or through its root) is `invalid_request`.
    let subject = acceptable(state, subject_token).map_err(IdpError::SubjectToken)?;
    let subject = subject.claims();
    trail.subject = Some(subject.sub.clone());
    trail.token_id = Some(subject.jti.clone());
    trail.original_token_id = Some(root_token_id(subject).to_owned());
    let actor = actor_token
        .map(|token| acceptable(state, token))
        .transpose();
    let actor = actor.map_err(IdpError::ActorToken)?;

    let claims = exchange(&ExchangeInput {
        subject,
        actor: actor.as_ref().map(|verified| verified.claims()),
        client,
        directory: state.directory(),
        targets: &targets,
        scope: scope.as_ref(),
        issuer: state.config().issuer.as_str(),
        now: state.now(),
        jti: new_jti(),
    })?;
    // Rule 8: never a refresh token.
    finish(state, claims, GrantType::TokenExchange, None)
}

/// A token of ours that verifies now and is not revoked.
fn acceptable(state: &IdpState, token: &str) -> Result<Arc<VerifiedToken>, TokenRefusal> {
    let verified = state.verify(token).map_err(TokenRefusal::from_verify)?;
    if state.is_revoked(verified.claims()) {
        return Err(TokenRefusal::Revoked);
    }
    Ok(verified)
}

fn check_token_type(parameter: &'static str, value: &str) -> Result<(), IdpError> {
    if value == ACCESS_TOKEN_TYPE_URN {
        return Ok(());
    }
    Err(IdpError::UnsupportedTokenType {
        parameter,
        value: value.to_owned(),
    })
}
