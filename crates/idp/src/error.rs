//! The IdP's error model: every way a request can fail, and the one place that decides each
//! failure's HTTP status and OAuth error code.
//!
//! [`IdpError::classify`] is a single exhaustive `match` with no catch-all arm, so a new
//! variant does not compile until someone decides its status. Client mistakes get their
//! precise RFC 6749 §5.2 (or RFC 8693 §2.2.2) code with a description; faults on our side
//! (store, audit log, signing) answer 503 `temporarily_unavailable` with a request id and no
//! detail, and are logged once with their cause.

use axum::http::StatusCode;
use scopegate_audit::{AuditError, TokenTimeError};
use scopegate_token::{ScopeError, SignError};
use thiserror::Error;

use crate::client_auth::ClientAuthError;
use crate::exchange::{ExchangeError, TargetError, TokenRefusal};
use crate::form::FormError;
use crate::grant::{ACCESS_TOKEN_TYPE_URN, GrantType, UnknownGrantType};
use crate::rate::RateKey;
use crate::store::StoreError;
use crate::totp::TotpRejection;

/// An OAuth error code (RFC 6749 §5.2, RFC 8693 §2.2.2, RFC 6749 §4.1.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The request is missing a parameter, repeats one, or is otherwise malformed.
    InvalidRequest,
    /// Client authentication failed.
    InvalidClient,
    /// The grant (credentials, refresh token) is invalid.
    InvalidGrant,
    /// The client may not use this grant or act on this token.
    UnauthorizedClient,
    /// The grant type is not supported.
    UnsupportedGrantType,
    /// The requested scope is invalid, unknown, malformed or exceeds what may be granted.
    InvalidScope,
    /// The requested audience or resource is invalid or not allowed (RFC 8693, RFC 8707).
    InvalidTarget,
    /// The server cannot handle the request now.
    TemporarilyUnavailable,
}

impl ErrorCode {
    /// The code as written in the `error` member.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidTarget => "invalid_target",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

/// Every failure of an IdP endpoint.
#[derive(Debug, Error)]
pub enum IdpError {
    /// The endpoint was called with another HTTP method than the one it serves.
    #[error("this endpoint accepts only `{allow}`")]
    MethodNotAllowed {
        /// The method it accepts.
        allow: &'static str,
    },
    /// The body is larger than the limit.
    #[error("the request body exceeds {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body could not be read from the connection.
    #[error("the request body could not be read")]
    BodyUnreadable,
    /// The body is not an acceptable form.
    #[error(transparent)]
    Form(#[from] FormError),
    /// A required parameter is absent or empty.
    #[error("parameter `{name}` is required")]
    MissingParameter {
        /// The parameter.
        name: &'static str,
    },
    /// The `scope` parameter is malformed.
    #[error("parameter `scope` is malformed: {0}")]
    ScopeSyntax(#[source] ScopeError),
    /// The `grant_type` is not one this server implements.
    #[error(transparent)]
    UnsupportedGrant(#[from] UnknownGrantType),
    /// The password grant outside development mode (RFC 9700 §2.4).
    #[error("grant type `password` is available only in development mode")]
    PasswordGrantDisabled,
    /// Client authentication failed or was ambiguous.
    #[error(transparent)]
    ClientAuth(#[from] ClientAuthError),
    /// A public client called an endpoint that needs an authenticated client.
    #[error("client `{client_id}` is public; {endpoint} requires an authenticated client")]
    ConfidentialClientRequired {
        /// The client.
        client_id: String,
        /// The endpoint, e.g. `introspection`.
        endpoint: &'static str,
    },
    /// The client may not use this grant.
    #[error("client `{client_id}` may not use grant type `{grant}`")]
    GrantNotAllowed {
        /// The client.
        client_id: String,
        /// The grant.
        grant: GrantType,
    },
    /// Unknown user or wrong password; deliberately not saying which.
    #[error("the username or password is wrong")]
    InvalidUserCredentials,
    /// A `totp` code for a user without a TOTP secret.
    #[error("user `{user}` is not enrolled in multi-factor authentication")]
    MfaNotEnrolled {
        /// The user.
        user: String,
    },
    /// The `totp` code was refused.
    #[error(transparent)]
    Totp(#[from] TotpRejection),
    /// A requested scope the client may not obtain.
    #[error("client `{client_id}` may not request scope `{scope}`")]
    ScopeNotAllowed {
        /// The client.
        client_id: String,
        /// The scope.
        scope: String,
    },
    /// RFC 6749 §6: a refresh may not ask for more than was granted.
    #[error("scope `{scope}` was not granted to this refresh token")]
    ScopeWidening {
        /// The scope.
        scope: String,
    },
    /// The refresh token was refused.
    #[error(transparent)]
    Refresh(#[from] RefreshRejection),
    /// The requested audience or resource was refused.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The subject token failed verification, expired or was revoked (RFC 8693 §2.2.2).
    #[error("the subject token {0}")]
    SubjectToken(#[source] TokenRefusal),
    /// The actor token failed verification, expired or was revoked (RFC 8693 §2.2.2).
    #[error("the actor token {0}")]
    ActorToken(#[source] TokenRefusal),
    /// A token type URN other than the access-token type.
    #[error("`{parameter}` `{value}` is not supported; only `{ACCESS_TOKEN_TYPE_URN}` is")]
    UnsupportedTokenType {
        /// `subject_token_type`, `actor_token_type` or `requested_token_type`.
        parameter: &'static str,
        /// The value sent.
        value: String,
    },
    /// RFC 8693 §2.1: `actor_token_type` is required with `actor_token` and forbidden without.
    #[error("`actor_token` and `actor_token_type` must be sent together or not at all")]
    ActorTokenUnpaired,
    /// A token-exchange rule was broken.
    #[error(transparent)]
    Exchange(#[from] ExchangeError),
    /// RFC 7009 §2.1: a client may revoke only tokens issued to it or meant for it.
    #[error("client `{client_id}` may not revoke a token issued to `{owner}`")]
    RevokeNotPermitted {
        /// The requesting client.
        client_id: String,
        /// The client the token belongs to.
        owner: String,
    },
    /// The caller's request budget at the token endpoint is spent (RFC 6585 §4).
    #[error("too many requests for {key}; retry after {retry_after_seconds} s")]
    RateLimited {
        /// What the request was charged to.
        key: RateKey,
        /// When one request will be allowed again, in whole seconds.
        retry_after_seconds: u64,
    },
    /// The state store failed.
    #[error("the state store failed")]
    Store(#[from] StoreError),
    /// The audit record could not be made durable.
    #[error("the audit record could not be written")]
    Audit(#[from] AuditError),
    /// The audit record could not be built from the token's times.
    #[error("the audit record could not be built")]
    AuditRecord(#[source] TokenTimeError),
    /// A blocking task (password hashing) did not complete.
    #[error("a background task did not complete")]
    TaskFailed,
    /// The system random source failed.
    #[error("the system random source failed")]
    RandomSource,
    /// A token could not be signed.
    #[error("the token could not be signed")]
    Signing(#[from] SignError),
}

/// Why a refresh token was refused (`invalid_grant`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RefreshRejection {
    /// No such refresh token.
    #[error("the refresh token is unknown")]
    Unknown,
    /// It is past its expiry.
    #[error("the refresh token has expired")]
    Expired,
    /// It or its family was revoked.
    #[error("the refresh token has been revoked")]
    Revoked,
    /// It had been used before: the family is now revoked (RFC 9700 §4.14.2).
    #[error("the refresh token was already used; every token of its family is now revoked")]
    Reused,
    /// It was issued to another client (RFC 6749 §6).
    #[error("the refresh token was issued to another client")]
    OtherClient,
    /// Its user is no longer in the directory.
    #[error("the user of the refresh token no longer exists")]
    UserGone,
}

impl IdpError {
    /// The HTTP status and OAuth error code of this error: the only place they are decided.
    #[must_use]
    pub fn classify(&self) -> (StatusCode, ErrorCode) {
        use ErrorCode as Code;
        use StatusCode as Status;
        match self {
            Self::MethodNotAllowed { .. } => (Status::METHOD_NOT_ALLOWED, Code::InvalidRequest),
            Self::BodyTooLarge { .. } => (Status::PAYLOAD_TOO_LARGE, Code::InvalidRequest),
            Self::Form(FormError::UnsupportedMediaType) => {
                (Status::UNSUPPORTED_MEDIA_TYPE, Code::InvalidRequest)
            }
            Self::BodyUnreadable
            | Self::Form(
                FormError::MalformedEscape
                | FormError::InvalidUtf8
                | FormError::Repeated { .. }
                | FormError::TokenTooLarge { .. },
            )
            | Self::MissingParameter { .. } => (Status::BAD_REQUEST, Code::InvalidRequest),

            Self::UnsupportedGrant(_) | Self::PasswordGrantDisabled => {
                (Status::BAD_REQUEST, Code::UnsupportedGrantType)
            }

            // RFC 6749 §2.3: two methods at once is a malformed request, not a failed login.
            Self::ClientAuth(
                ClientAuthError::MultipleMethods | ClientAuthError::ConflictingClientId,
            ) => (Status::BAD_REQUEST, Code::InvalidRequest),
            // RFC 6749 §5.2: failed client authentication is 401 with `WWW-Authenticate`.
            Self::ClientAuth(
                ClientAuthError::Missing
                | ClientAuthError::UnsupportedScheme
                | ClientAuthError::MalformedBasic
                | ClientAuthError::UnknownClient { .. }
                | ClientAuthError::WrongSecret { .. }
                | ClientAuthError::SecretRequired { .. }
                | ClientAuthError::UnexpectedSecret { .. },
            )
            | Self::ConfidentialClientRequired { .. } => {
                (Status::UNAUTHORIZED, Code::InvalidClient)
            }

            Self::GrantNotAllowed { .. } | Self::RevokeNotPermitted { .. } => {
                (Status::BAD_REQUEST, Code::UnauthorizedClient)
            }
            Self::InvalidUserCredentials
            | Self::MfaNotEnrolled { .. }
            | Self::Totp(_)
            | Self::Refresh(_) => (Status::BAD_REQUEST, Code::InvalidGrant),
            Self::ScopeSyntax(_) | Self::ScopeNotAllowed { .. } | Self::ScopeWidening { .. } => {
                (Status::BAD_REQUEST, Code::InvalidScope)
            }
            Self::Target(_) => (Status::BAD_REQUEST, Code::InvalidTarget),

            // RFC 8693 §2.2.2: a bad subject or actor token is `invalid_request`.
            Self::SubjectToken(_)
            | Self::ActorToken(_)
            | Self::UnsupportedTokenType { .. }
            | Self::ActorTokenUnpaired
            | Self::Exchange(
                ExchangeError::ActorIsNotClient { .. }
                | ExchangeError::ChainTooDeep { .. }
                | ExchangeError::SubjectExpiresNow,
            ) => (Status::BAD_REQUEST, Code::InvalidRequest),
            Self::Exchange(
                ExchangeError::NoPolicy { .. }
                | ExchangeError::NotPermitted { .. }
                | ExchangeError::MayActMismatch { .. },
            ) => (Status::BAD_REQUEST, Code::UnauthorizedClient),
            Self::Exchange(ExchangeError::Target(_)) => (Status::BAD_REQUEST, Code::InvalidTarget),
            Self::Exchange(
                ExchangeError::ScopeNotInSubject { .. }
                | ExchangeError::ScopeNotAllowed { .. }
                | ExchangeError::NoScope { .. },
            ) => (Status::BAD_REQUEST, Code::InvalidScope),

            // RFC 6749 defines no code for throttling at the token endpoint; the status is RFC
            // 6585 §4's, and the code the one §4.1.2.1 gives a server that cannot serve now.
            Self::RateLimited { .. } => (Status::TOO_MANY_REQUESTS, Code::TemporarilyUnavailable),

            Self::Store(_)
            | Self::Audit(_)
            | Self::AuditRecord(_)
            | Self::TaskFailed
            | Self::RandomSource
            | Self::Signing(_) => (Status::SERVICE_UNAVAILABLE, Code::TemporarilyUnavailable),
        }
    }

    /// What the client's answer deliberately leaves out, for the log and the audit record.
    #[must_use]
    pub fn operator_detail(&self) -> Option<&'static str> {
        match self {
            Self::ClientAuth(error) => error.detail(),
            _ => None,
        }
    }

    /// Whether the fault is ours rather than the client's.
    #[must_use]
    pub fn is_internal(&self) -> bool {
        self.classify().0.is_server_error()
    }
}
