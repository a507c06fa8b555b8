//! Client authentication at the token, introspection and revocation endpoints.
//!
//! RFC 6749 §2.3.1 defines the two methods this server accepts for confidential clients:
//! `client_secret_basic` (the `Authorization: Basic` header, whose id and secret are each
//! form-urlencoded before base64) and `client_secret_post` (`client_id` and `client_secret`
//! in the body). A public client only names itself with `client_id` (method `none`).
//! RFC 6749 §2.3: a request must not use more than one method.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use thiserror::Error;

use crate::directory::{Client, ClientKind, Directory};
use crate::form::{self, Form};
use crate::secret::SecretDigest;

/// How a client proved (or merely stated) its identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// `client_secret_basic`.
    SecretBasic,
    /// `client_secret_post`.
    SecretPost,
    /// `none`: a public client that only sent `client_id`.
    None,
}

/// A client the request is attributed to, after its credentials were checked.
#[derive(Clone, Copy)]
pub struct AuthenticatedClient<'d> {
    /// The directory entry.
    pub client: &'d Client,
    /// The method used.
    pub method: AuthMethod,
}

/// Why client authentication failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ClientAuthError {
    /// Both the `Authorization` header and `client_secret` in the body (RFC 6749 §2.3).
    #[error("more than one client authentication method was used")]
    MultipleMethods,
    /// The body's `client_id` differs from the one in the `Authorization` header.
    #[error("`client_id` in the body does not match the `Authorization` header")]
    ConflictingClientId,
    /// No client credentials of any kind.
    #[error("client authentication is required")]
    Missing,
    /// An `Authorization` header with another scheme than `Basic`.
    #[error("the `Authorization` header must use the `Basic` scheme")]
    UnsupportedScheme,
    /// A `Basic` header whose value is not base64 of `id:secret`, each form-urlencoded.
    #[error("the `Authorization` header is not well-formed `Basic` credentials")]
    MalformedBasic,
    /// No client has this id. Its message is [`ClientAuthError::WrongSecret`]'s, word for
    /// word, so that an answer never tells whether a client id exists (RFC 6749 §5.2 puts both
    /// under `invalid_client`); [`ClientAuthError::detail`] tells them apart for operators.
    #[error("client `{client_id}` is unknown or its secret does not match")]
    UnknownClient {
        /// The id presented.
        client_id: String,
    },
    /// The secret does not match the stored digest.
    #[error("client `{client_id}` is unknown or its secret does not match")]
    WrongSecret {
        /// The client.
        client_id: String,
    },
    /// A confidential client sent no secret.
    #[error("client `{client_id}` is confidential and must authenticate with its secret")]
    SecretRequired {
        /// The client.
        client_id: String,
    },
    /// A public client sent a secret it cannot have.
    #[error("client `{client_id}` is public and has no secret")]
    UnexpectedSecret {
        /// The client.
        client_id: String,
    },
}

impl ClientAuthError {
    /// What the shared message of [`ClientAuthError::UnknownClient`] and
    /// [`ClientAuthError::WrongSecret`] leaves out, for logs and audit records only.
    #[must_use]
    pub fn detail(&self) -> Option<&'static str> {
        match self {
            Self::UnknownClient { .. } => Some("no client has this id"),
            Self::WrongSecret { .. } => Some("the client exists; the secret is wrong"),
            _ => None,
        }
    }

    /// The client the failure concerns, when one was named.
    #[must_use]
    pub fn client_id(&self) -> Option<&str> {
        match self {
            Self::UnknownClient { client_id }
            | Self::WrongSecret { client_id }
            | Self::SecretRequired { client_id }
            | Self::UnexpectedSecret { client_id } => Some(client_id),
            Self::MultipleMethods
            | Self::ConflictingClientId
            | Self::Missing
            | Self::UnsupportedScheme
            | Self::MalformedBasic => None,
        }
    }
}

/// Authenticates the client of a request from its `Authorization` header value and form.
///
/// # Errors
///
/// Any [`ClientAuthError`].
pub fn authenticate<'d>(
    directory: &'d Directory,
    authorization: Option<&[u8]>,
    form: &Form,
) -> Result<AuthenticatedClient<'d>, ClientAuthError> {
    let presented = presented_credentials(authorization, form)?;
    let Some(client) = directory.client(&presented.client_id) else {
        // The same digest and constant-time comparison a known client's secret gets, so an
        // unknown id costs what a wrong secret costs and timing does not tell them apart.
        let secret = presented.secret.as_deref().unwrap_or_default();
        std::hint::black_box(SecretDigest::UNMATCHABLE.matches(std::hint::black_box(secret)));
        return Err(ClientAuthError::UnknownClient {
            client_id: presented.client_id,
        });
    };
    let client_id = presented.client_id;
    match (&client.kind, presented.secret) {
        (ClientKind::Confidential(digest), Some(secret)) if digest.matches(&secret) => {
            Ok(AuthenticatedClient {
                client,
                method: presented.method,
            })
        }
        (ClientKind::Confidential(_), Some(_)) => Err(ClientAuthError::WrongSecret { client_id }),
        (ClientKind::Confidential(_), None) => Err(ClientAuthError::SecretRequired { client_id }),
        (ClientKind::Public, Some(_)) => Err(ClientAuthError::UnexpectedSecret { client_id }),
        (ClientKind::Public, None) => Ok(AuthenticatedClient {
            client,
            method: AuthMethod::None,
        }),
    }
}

impl fmt::Debug for AuthenticatedClient<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("AuthenticatedClient")
            .field("client_id", &self.client.id)
            .field("method", &self.method)
            .finish()
    }
}

/// The client id an `Authorization: Basic` header claims, unchecked: for the audit record of
/// a request refused before its client could be authenticated (an oversized or malformed
/// body, a missing grant type). `None` when the header is absent or not well-formed Basic
/// credentials.
#[must_use]
pub fn claimed_client_id(authorization: Option<&[u8]>) -> Option<String> {
    decode_basic(authorization?)
        .ok()
        .map(|(client_id, _)| client_id)
}

/// What the request claims, before any check against the directory.
struct Presented {
    client_id: String,
    secret: Option<String>,
    method: AuthMethod,
}

fn presented_credentials(
    authorization: Option<&[u8]>,
    form: &Form,
) -> Result<Presented, ClientAuthError> {
    let body_id = form.get("client_id");
    let body_secret = form.get("client_secret");
    let Some(header) = authorization else {
        let client_id = body_id.ok_or(ClientAuthError::Missing)?.to_owned();
        let method = if body_secret.is_some() {
            AuthMethod::SecretPost
        } else {
            AuthMethod::None
        };
        return Ok(Presented {
            client_id,
            secret: body_secret.map(str::to_owned),
            method,
        });
    };

    // RFC 6749 §2.3: one method per request.
    if body_secret.is_some() {
        return Err(ClientAuthError::MultipleMethods);
    }
    let (client_id, secret) = decode_basic(header)?;
    if body_id.is_some_and(|id| id != client_id) {
        return Err(ClientAuthError::ConflictingClientId);
    }
    Ok(Presented {
        client_id,
        secret: Some(secret),
        method: AuthMethod::SecretBasic,
    })
}

/// RFC 7617 credentials with the RFC 6749 §2.3.1 form-urlencoding of each half.
fn decode_basic(header: &[u8]) -> Result<(String, String), ClientAuthError> {
    let header = std::str::from_utf8(header).map_err(|_| ClientAuthError::MalformedBasic)?;
    let (scheme, encoded) = header
        .trim()
        .split_once(' ')
        .ok_or(ClientAuthError::MalformedBasic)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(ClientAuthError::UnsupportedScheme);
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| ClientAuthError::MalformedBasic)?;
    let colon = decoded.iter().position(|byte| *byte == b':');
    let colon = colon.ok_or(ClientAuthError::MalformedBasic)?;
    let (raw_id, raw_secret) = (&decoded[..colon], &decoded[colon + 1..]);
    let client_id = form::decode_component(raw_id).map_err(|_| ClientAuthError::MalformedBasic)?;
    let secret = form::decode_component(raw_secret).map_err(|_| ClientAuthError::MalformedBasic)?;
    if client_id.is_empty() {
        return Err(ClientAuthError::MalformedBasic);
    }
    Ok((client_id, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory() -> Directory {
        Directory::embedded_default().unwrap()
    }

    fn basic(id: &str, secret: &str) -> Vec<u8> {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))).into_bytes()
    }

    fn form(body: &str) -> Form {
        Form::parse_body(body.as_bytes()).unwrap()
    }

    #[test]
    fn basic_credentials_authenticate_a_confidential_client() {
        let directory = directory();
        let header = basic("chainlit-app", "chainlit-dev-secret");

        let client = authenticate(&directory, Some(&header), &form("")).unwrap();

        assert_eq!(client.client.id, "chainlit-app");
        assert_eq!(client.method, AuthMethod::SecretBasic);
    }

    #[test]
    fn post_credentials_authenticate_a_confidential_client() {
        let directory = directory();
        let body = form("client_id=mcp-server&client_secret=mcp-server-dev-secret");

        let client = authenticate(&directory, None, &body).unwrap();

        assert_eq!(client.method, AuthMethod::SecretPost);
    }

    #[test]
    fn basic_halves_are_form_urldecoded() {
        let (id, secret) = decode_basic(&basic("a%3Ab", "x+y%25")).unwrap();

        assert_eq!((id.as_str(), secret.as_str()), ("a:b", "x y%"));
    }

    #[test]
    fn header_and_body_secret_together_are_two_methods() {
        let directory = directory();
        let header = basic("chainlit-app", "chainlit-dev-secret");
        let body = form("client_id=chainlit-app&client_secret=chainlit-dev-secret");

        let err = authenticate(&directory, Some(&header), &body).unwrap_err();

        assert_eq!(err, ClientAuthError::MultipleMethods);
    }

    #[test]
    fn body_client_id_must_agree_with_the_header() {
        let directory = directory();
        let header = basic("chainlit-app", "chainlit-dev-secret");

        let err =
            authenticate(&directory, Some(&header), &form("client_id=mcp-server")).unwrap_err();

        assert_eq!(err, ClientAuthError::ConflictingClientId);
    }

    #[test]
    fn wrong_secret_unknown_client_and_missing_secret_are_told_apart() {
        let directory = directory();

        let wrong = authenticate(&directory, Some(&basic("chainlit-app", "nope")), &form(""));
        let unknown = authenticate(&directory, Some(&basic("ghost", "x")), &form(""));
        let missing = authenticate(&directory, None, &form("client_id=chainlit-app"));
        let none = authenticate(&directory, None, &form(""));

        let wrong_err = ClientAuthError::WrongSecret {
            client_id: "chainlit-app".into(),
        };
        assert_eq!(wrong.unwrap_err(), wrong_err);
        assert_eq!(
            unknown.unwrap_err(),
            ClientAuthError::UnknownClient {
                client_id: "ghost".into()
            }
        );
        let missing_err = ClientAuthError::SecretRequired {
            client_id: "chainlit-app".into(),
        };
        assert_eq!(missing.unwrap_err(), missing_err);
        assert_eq!(none.unwrap_err(), ClientAuthError::Missing);
    }

    #[test]
    fn public_client_is_identified_by_id_alone_and_may_not_send_a_secret() {
        let directory = directory();

        let public = authenticate(&directory, None, &form("client_id=scopegate-cli")).unwrap();
        let with_secret = authenticate(
            &directory,
            None,
            &form("client_id=scopegate-cli&client_secret=x"),
        );

        assert_eq!(public.method, AuthMethod::None);
        let err = ClientAuthError::UnexpectedSecret {
            client_id: "scopegate-cli".into(),
        };
        assert_eq!(with_secret.unwrap_err(), err);
    }

    #[test]
    fn bearer_scheme_and_garbage_headers_are_refused() {
        let directory = directory();

        let bearer = authenticate(&directory, Some(b"Bearer abc"), &form(""));
        let garbage = authenticate(&directory, Some(b"Basic !!!"), &form(""));
        let no_colon = authenticate(
            &directory,
            Some(format!("Basic {}", STANDARD.encode("x")).as_bytes()),
            &form(""),
        );

        assert_eq!(bearer.unwrap_err(), ClientAuthError::UnsupportedScheme);
        assert_eq!(garbage.unwrap_err(), ClientAuthError::MalformedBasic);
        assert_eq!(no_colon.unwrap_err(), ClientAuthError::MalformedBasic);
    }
}
