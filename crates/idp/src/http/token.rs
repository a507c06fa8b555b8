//! `POST /oauth2/v1/token`: grant dispatch and the password, client-credentials and
//! refresh-token grants (token exchange is in the sibling `exchange` module).
//!
//! Every grant ends in [`Issued`]; the endpoint then writes the audit record and waits until
//! it is durable before the token leaves (fail closed: no record, no token).

use std::net::IpAddr;

use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use scopegate_token::{
    Audience, Claims, ExtraClaims, NumericDate, PrincipalType, Scope, Scopes, TokenDigest,
};
use serde::Serialize;
use tracing::field::Empty;
use tracing::{Instrument as _, Span, debug, info_span};

use super::{
    OAuthRequest, RequestContext, error_response, json_no_store, peer_address, read_form, refuse,
};
use crate::client_auth::{self, AuthMethod, AuthenticatedClient};
use crate::directory::{Client, Directory, Resource, User};
use crate::error::{IdpError, RefreshRejection};
use crate::exchange::{TargetError, resolve_requested};
use crate::grant::{ACCESS_TOKEN_TYPE_URN, ACR_MFA, ACR_PASSWORD, GrantType, first_missing};
use crate::rate::RateKey;
use crate::records::{self, Trail, fingerprint};
use crate::state::IdpState;
use crate::store::{Consumed, RefreshRecord, Revocation, StoreError};

/// The handler of the token endpoint.
pub(super) async fn endpoint(State(state): State<IdpState>, request: Request) -> Response {
    let context = RequestContext::from_headers(request.headers());
    let span = info_span!(
        "idp.token",
        request.id = %context.id,
        client.id = Empty,
        grant_type = Empty,
    );
    async move {
        let mut trail = Trail::default();
        match issue(&state, &mut trail, request).await {
            Ok(issued) => deliver(&state, &context, issued).await,
            Err(error) => refuse(&state, &context, &trail, error).await,
        }
    }
    .instrument(span)
    .await
}

/// A token ready to be sent, with what its audit record needs.
pub(super) struct Issued {
    claims: Claims,
    grant: GrantType,
    body: TokenResponse,
}

/// The RFC 6749 §5.1 / RFC 8693 §2.2.1 success body. Deliberately not `Debug`: it holds tokens.
#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    issued_token_type: Option<&'static str>,
    token_type: &'static str,
    expires_in: u64,
    scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
}

/// Signs `claims` and wraps them with the response body.
pub(super) fn finish(
    state: &IdpState,
    claims: Claims,
    grant: GrantType,
    refresh_token: Option<String>,
) -> Result<Issued, IdpError> {
    let access_token = state.sign(&claims)?;
    let lifetime = claims.exp.seconds_since(claims.iat);
    let body = TokenResponse {
        access_token,
        issued_token_type: (grant == GrantType::TokenExchange).then_some(ACCESS_TOKEN_TYPE_URN),
        token_type: "Bearer",
        expires_in: u64::try_from(lifetime).unwrap_or(0),
        scope: claims.scope.to_string(),
        refresh_token,
    };
    Ok(Issued {
        claims,
        grant,
        body,
    })
}

async fn issue(state: &IdpState, trail: &mut Trail, request: Request) -> Result<Issued, IdpError> {
    // A request that authenticates no client is charged to its peer address, and an address
    // whose budget is spent is refused before its credentials are even looked at.
    let address = peer_address(&request);
    let peer = RateKey::Peer(address);
    state.check_budget(&peer)?;
    let (request, grant, authenticated) = match identify(state, trail, request).await {
        Ok(identified) => identified,
        Err(error) => {
            state.charge(&peer)?;
            return Err(error);
        }
    };
    state.charge(&rate_key(&authenticated, address))?;

    let client = authenticated.client;
    if !client.allows(grant) {
        return Err(IdpError::GrantNotAllowed {
            client_id: client.id.clone(),
            grant,
        });
    }

    match grant {
        GrantType::Password => password(state, trail, client, &request).await,
        GrantType::ClientCredentials => client_credentials(state, client, &request),
        GrantType::RefreshToken => refresh(state, trail, client, &request).await,
        GrantType::TokenExchange => super::exchange::grant(state, trail, client, &request),
    }
}

/// Reads the request, its grant type and its client's credentials.
async fn identify<'s>(
    state: &'s IdpState,
    trail: &mut Trail,
    request: Request,
) -> Result<(OAuthRequest, GrantType, AuthenticatedClient<'s>), IdpError> {
    let authorization = request.headers().get(header::AUTHORIZATION).cloned();
    let (request, grant) = match read_grant(state, trail, request).await {
        Ok(read) => read,
        Err(error) => {
            // Refused before its client could be authenticated: the record names the id the
            // Basic header claims, unchecked. Only a failed request decodes the header here.
            let claimed = authorization.as_ref().map(HeaderValue::as_bytes);
            trail.client_id = client_auth::claimed_client_id(claimed);
            return Err(error);
        }
    };

    let authenticated =
        client_auth::authenticate(state.directory(), request.authorization(), &request.form)
            .inspect_err(|error| trail.client_id = error.client_id().map(str::to_owned))?;
    let client_id = authenticated.client.id.as_str();
    trail.client_id = Some(client_id.to_owned());
    Span::current().record("client.id", client_id);
    Ok((request, grant, authenticated))
}

/// Reads the form and its grant type, which the configuration must allow.
async fn read_grant(
    state: &IdpState,
    trail: &mut Trail,
    request: Request,
) -> Result<(OAuthRequest, GrantType), IdpError> {
    let request = read_form(request).await?;
    let grant: GrantType = request.required("grant_type")?.parse()?;
    trail.grant = Some(grant);
    Span::current().record("grant_type", grant.as_str());
    // RFC 9700 §2.4: outside development the password grant does not exist at all.
    if grant == GrantType::Password && !state.config().development_mode {
        return Err(IdpError::PasswordGrantDisabled);
    }
    Ok((request, grant))
}

/// What an authenticated request is charged to: a confidential client by its id alone, a
/// public client (whose id anyone can send) by its id and the peer address.
fn rate_key(authenticated: &AuthenticatedClient<'_>, address: Option<IpAddr>) -> RateKey {
    let id = authenticated.client.id.clone();
    match authenticated.method {
        AuthMethod::SecretBasic | AuthMethod::SecretPost => RateKey::Client(id),
        AuthMethod::None => RateKey::PublicClient(id, address),
    }
}

async fn deliver(state: &IdpState, context: &RequestContext, issued: Issued) -> Response {
    let recorded = match records::issued(state, context, &issued.claims, issued.grant) {
        Ok(event) => state.record(event).await,
        Err(error) => Err(error),
    };
    // Fail closed: a token leaves only once its audit record is durable.
    if let Err(error) = recorded {
        return error_response(context, &error);
    }
    debug!(
        token.jti = %issued.claims.jti,
        subject.sub = %issued.claims.sub,
        token.exp = issued.claims.exp.as_unix_seconds(),
        "token issued",
    );
    json_no_store(context, &issued.body)
}

/// RFC 6749 §4.3, development mode only; a `totp` code adds the second factor.
async fn password(
    state: &IdpState,
    trail: &mut Trail,
    client: &Client,
    request: &OAuthRequest,
) -> Result<Issued, IdpError> {
    let username = request.required("username")?;
    let password = request.required("password")?;
    trail.subject = Some(username.to_owned());
    let scope = direct_scope(request, client)?;
    let audience = direct_audience(request, client, state.directory())?;

    // Charged before the argon2 check, whether or not the username exists, so the budget
    // neither tells which accounts exist nor lets guessing run at the hasher's speed.
    state.charge_password_attempt(username)?;
    let user = check_password(state, username, password).await?;
    let login = login_level(state, user, request.form.get("totp"))?;

    let now = state.now();
    let ttl = client
        .access_token_ttl
        .unwrap_or(state.config().lifetimes.user_access_token);
    let claims = Claims {
        iss: state.config().issuer.as_str().to_owned(),
        sub: user.id.clone(),
        aud: Audience::single(audience.audience.clone()),
        exp: now.saturating_add(ttl),
        iat: now,
        nbf: None,
        jti: new_jti(),
        client_id: client.id.clone(),
        principal_type: Some(user.principal_type),
        groups: user.groups.clone(),
        amr: login.amr,
        auth_time: Some(now),
        acr: Some(login.acr.to_owned()),
        ..blank_claims(scope)
    };
    let refresh_token = if offers_refresh(client, &claims.scope) {
        let family_id = uuid::Uuid::new_v4().to_string();
        Some(store_refresh_token(state, &claims, family_id, &claims.scope).await?)
    } else {
        None
    };
    finish(state, claims, GrantType::Password, refresh_token)
}

/// RFC 6749 §4.4: a token about the client itself; no refresh token (§4.4.3).
fn client_credentials(
    state: &IdpState,
    client: &Client,
    request: &OAuthRequest,
) -> Result<Issued, IdpError> {
    let scope = direct_scope(request, client)?;
    let audience = direct_audience(request, client, state.directory())?;
    let now = state.now();
    let ttl = client
        .access_token_ttl
        .unwrap_or(state.config().lifetimes.service_access_token);
    let claims = Claims {
        iss: state.config().issuer.as_str().to_owned(),
        sub: client.id.clone(),
        aud: Audience::single(audience.audience.clone()),
        exp: now.saturating_add(ttl),
        iat: now,
        jti: new_jti(),
        client_id: client.id.clone(),
        principal_type: Some(PrincipalType::Service),
        ..blank_claims(scope)
    };
    finish(state, claims, GrantType::ClientCredentials, None)
}

/// RFC 6749 §6 with rotation: the presented token is used up, a successor is issued, and a
/// second use of any used token revokes the whole family (RFC 9700 §4.14.2).
async fn refresh(
    state: &IdpState,
    trail: &mut Trail,
    client: &Client,
    request: &OAuthRequest,
) -> Result<Issued, IdpError> {
    let digest = TokenDigest::of(request.required("refresh_token")?).to_hex();
    trail.refresh_fingerprint = Some(fingerprint(&digest));
    let lookup = digest.clone();
    let stored = state
        .blocking(move |store| store.find_refresh_token(&lookup))
        .await?;
    let stored = stored.ok_or(RefreshRejection::Unknown)?;
    trail.subject = Some(stored.record.subject.clone());
    // RFC 6749 §6: checked before consuming, so another client cannot use the token up.
    if stored.record.client_id != client.id {
        return Err(RefreshRejection::OtherClient.into());
    }

    // Everything the request could get wrong is checked before the token is used up.
    let granted = stored_scopes(&stored.record.scopes)?;
    let scope = narrowed_scope(request, &granted)?;
    check_refresh_target(request, client, &stored.record, state.directory())?;
    let user = state
        .directory()
        .user(&stored.record.subject)
        .ok_or(RefreshRejection::UserGone)?;

    let now = state.now();
    let record = consume_refresh_token(state, digest, now).await?;

    // RFC 9068 §2.2.1 and RFC 9470 §6.1: the login's time and methods never change on refresh.
    let ttl = client
        .access_token_ttl
        .unwrap_or(state.config().lifetimes.user_access_token);
    let claims = Claims {
        iss: state.config().issuer.as_str().to_owned(),
        sub: user.id.clone(),
        aud: Audience::single(record.audience.clone()),
        exp: now.saturating_add(ttl),
        iat: now,
        jti: new_jti(),
        client_id: client.id.clone(),
        principal_type: Some(user.principal_type),
        groups: user.groups.clone(),
        amr: record.amr.clone(),
        auth_time: Some(record.auth_time),
        acr: record.acr.clone(),
        ..blank_claims(scope)
    };
    let successor = store_refresh_token(state, &claims, record.family_id, &granted).await?;
    finish(state, claims, GrantType::RefreshToken, Some(successor))
}

/// Uses up a refresh token; a second use revokes its family, in the store and in memory.
async fn consume_refresh_token(
    state: &IdpState,
    digest: String,
    now: NumericDate,
) -> Result<RefreshRecord, IdpError> {
    match state
        .blocking(move |store| store.consume_refresh_token(&digest, now))
        .await?
    {
        Consumed::Fresh(record) => Ok(record),
        Consumed::Reused { revoked, .. } => {
            state.mirror_revocations(revoked);
            Err(RefreshRejection::Reused.into())
        }
        Consumed::Revoked(_) => Err(RefreshRejection::Revoked.into()),
        Consumed::Expired(_) => Err(RefreshRejection::Expired.into()),
        Consumed::Unknown => Err(RefreshRejection::Unknown.into()),
    }
}

/// The authentication facts of a password login.
struct Login {
    amr: Vec<String>,
    acr: &'static str,
}

/// Checks the password off the async runtime. An unknown user is checked against another
/// user's hash so that the answer takes as long and says nothing about who exists.
async fn check_password<'s>(
    state: &'s IdpState,
    username: &str,
    password: &str,
) -> Result<&'s User, IdpError> {
    let directory = state.directory();
    let user = directory.user(username);
    let Some(hash) = user
        .or_else(|| directory.users().next())
        .map(|u| u.password_hash.clone())
    else {
        return Err(IdpError::InvalidUserCredentials);
    };
    let password = password.to_owned();
    let matches = state.password_matches(hash, password).await?;
    match user {
        Some(user) if matches => Ok(user),
        _ => Err(IdpError::InvalidUserCredentials),
    }
}

/// `amr` (RFC 8176 values, sorted) and `acr` for a login with or without a TOTP code.
fn login_level(state: &IdpState, user: &User, totp: Option<&str>) -> Result<Login, IdpError> {
    let Some(code) = totp else {
        return Ok(Login {
            amr: vec!["pwd".to_owned()],
            acr: ACR_PASSWORD,
        });
    };
    let Some(secret) = &user.totp_secret else {
        return Err(IdpError::MfaNotEnrolled {
            user: user.id.clone(),
        });
    };
    let now = u64::try_from(state.now().as_unix_seconds()).unwrap_or_default();
    state.totp_guard().verify(&user.id, secret, code, now)?;
    let amr = ["mfa", "otp", "pwd"].map(str::to_owned).to_vec();
    Ok(Login { amr, acr: ACR_MFA })
}

/// The scope of a directly issued token: the request's, within the client's, or the
/// client's defaults.
fn direct_scope(request: &OAuthRequest, client: &Client) -> Result<Scopes, IdpError> {
    let Some(value) = request.form.get("scope") else {
        return Ok(client.default_scopes.clone());
    };
    let requested = Scopes::from_space_separated(value).map_err(IdpError::ScopeSyntax)?;
    if let Some(scope) = first_missing(&requested, &client.scopes) {
        let scope = scope.to_string();
        return Err(IdpError::ScopeNotAllowed {
            client_id: client.id.clone(),
            scope,
        });
    }
    Ok(requested)
}

/// The audience of a directly issued token: the client's default resource; a `resource` or
/// `audience` parameter may only name that same resource (RFC 8707 §2).
fn direct_audience<'d>(
    request: &OAuthRequest,
    client: &Client,
    directory: &'d Directory,
) -> Result<&'d Resource, IdpError> {
    let default = client
        .default_audience
        .as_deref()
        .and_then(|id| directory.resource(id));
    let Some(default) = default else {
        return Err(TargetError::Missing {
            client_id: client.id.clone(),
        }
        .into());
    };
    match resolve_requested(&request.targets()?, directory)? {
        Some(resource) if resource.id != default.id => Err(TargetError::NotAllowed {
            client_id: client.id.clone(),
            audience: resource.audience.clone(),
        }
        .into()),
        _ => Ok(default),
    }
}

/// RFC 6749 §6: a refresh may narrow the scope but never widen it.
fn narrowed_scope(request: &OAuthRequest, granted: &Scopes) -> Result<Scopes, IdpError> {
    let Some(value) = request.form.get("scope") else {
        return Ok(granted.clone());
    };
    let requested = Scopes::from_space_separated(value).map_err(IdpError::ScopeSyntax)?;
    if let Some(scope) = first_missing(&requested, granted) {
        return Err(IdpError::ScopeWidening {
            scope: scope.to_string(),
        });
    }
    Ok(requested)
}

/// RFC 8707 §2.2: a refresh may name only the audience the login was for.
fn check_refresh_target(
    request: &OAuthRequest,
    client: &Client,
    record: &RefreshRecord,
    directory: &Directory,
) -> Result<(), IdpError> {
    match resolve_requested(&request.targets()?, directory)? {
        Some(resource) if resource.audience != record.audience => Err(TargetError::NotAllowed {
            client_id: client.id.clone(),
            audience: resource.audience.clone(),
        }
        .into()),
        _ => Ok(()),
    }
}

/// Whether a login yields a refresh token: the client has the grant and asked for
/// `offline_access`.
fn offers_refresh(client: &Client, scope: &Scopes) -> bool {
    client.allows(GrantType::RefreshToken) && scope.contains("offline_access")
}

/// Creates a refresh token for the login behind `claims`, stores its digest, and records the
/// access token as part of the family.
async fn store_refresh_token(
    state: &IdpState,
    claims: &Claims,
    family_id: String,
    granted: &Scopes,
) -> Result<String, IdpError> {
    let token = random_token()?;
    let now = claims.iat;
    let record = RefreshRecord {
        digest: TokenDigest::of(&token).to_hex(),
        family_id,
        client_id: claims.client_id.clone(),
        subject: claims.sub.clone(),
        scopes: granted
            .iter()
            .map(|scope| scope.as_str().to_owned())
            .collect(),
        audience: claims.aud.first().to_owned(),
        auth_time: claims.auth_time.unwrap_or(now),
        amr: claims.amr.clone(),
        acr: claims.acr.clone(),
        issued_at: now,
        expires_at: now.saturating_add(state.config().lifetimes.refresh_token),
    };
    let access = Revocation {
        jti: claims.jti.clone(),
        expires_at: claims.exp,
    };
    state
        .blocking(move |store| {
            store.insert_refresh_token(&record)?;
            store.record_family_access_token(&record.family_id, &access)
        })
        .await?;
    Ok(token)
}

fn stored_scopes(scopes: &[String]) -> Result<Scopes, IdpError> {
    let parsed: Result<Scopes, _> = scopes
        .iter()
        .map(|scope| Scope::new(scope.as_str()))
        .collect();
    parsed.map_err(|_| StoreError::Corrupt { column: "scopes" }.into())
}

/// 32 random bytes, base64url: an opaque refresh token (no dots, so never taken for a JWT).
fn random_token() -> Result<String, IdpError> {
    let mut bytes = [0_u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| IdpError::RandomSource)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// A fresh token id.
pub(super) fn new_jti() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Claims with only `scope` set; callers fill in the rest with struct update syntax.
fn blank_claims(scope: Scopes) -> Claims {
    Claims {
        iss: String::new(),
        sub: String::new(),
        aud: Audience::single(String::new()),
        exp: NumericDate::EPOCH,
        iat: NumericDate::EPOCH,
        nbf: None,
        jti: String::new(),
        client_id: String::new(),
        scope,
        principal_type: None,
        groups: Vec::new(),
        amr: Vec::new(),
        auth_time: None,
        acr: None,
        acting_as: None,
        original_token_id: None,
        act: None,
        may_act: None,
        extra: ExtraClaims::new(),
    }
}
