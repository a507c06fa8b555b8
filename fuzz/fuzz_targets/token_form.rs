//! A token-endpoint request (header lines, blank line, body; see `scopegate_fuzz::request`)
//! through the strict form parser, client authentication against the embedded directory, and
//! the grant and scope vocabularies.
//!
//! Invariants:
//! * nothing panics;
//! * without the form media type the body is never parsed; with it, `Form::parse` and
//!   `Form::parse_body` agree;
//! * a parsed form never reports an empty value, and its token fields fit the size limit;
//! * decoding a component is the inverse of form-urlencoding its text;
//! * a parsed `grant_type` or `scope` writes back to the text it came from (up to order);
//! * a client authenticated with `Basic` credentials had an `Authorization` header, and a
//!   confidential client never authenticates without a secret.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use scopegate_fuzz::request::RawRequest;
use scopegate_idp::Directory;
use scopegate_idp::client_auth::{self, AuthMethod};
use scopegate_idp::form::{self, Form, FormError, MAX_TOKEN_FIELD_BYTES};
use scopegate_idp::grant::GrantType;
use scopegate_token::Scopes;

/// Every parameter the token, introspection and revocation endpoints read.
const PARAMETERS: [&str; 17] = [
    "grant_type",
    "username",
    "password",
    "totp",
    "scope",
    "client_id",
    "client_secret",
    "refresh_token",
    "subject_token",
    "subject_token_type",
    "actor_token",
    "actor_token_type",
    "requested_token_type",
    "resource",
    "audience",
    "token",
    "token_type_hint",
];

const TOKEN_FIELDS: [&str; 4] = ["subject_token", "actor_token", "token", "refresh_token"];

static DIRECTORY: LazyLock<Directory> =
    LazyLock::new(|| Directory::embedded_default().expect("the embedded directory loads"));

fuzz_target!(|data: &[u8]| {
    let request = RawRequest::split(data);
    let parsed = Form::parse(request.content_type, request.body);
    if request.content_type.is_none() {
        assert_eq!(parsed, Err(FormError::UnsupportedMediaType));
    } else if parsed != Err(FormError::UnsupportedMediaType) {
        assert_eq!(parsed, Form::parse_body(request.body));
    }

    check_component_round_trip(request.body);

    let Ok(form) = parsed else {
        return;
    };
    check_values(&form);
    check_vocabularies(&form);
    check_client_authentication(&form, request.authorization);
});

/// Each `name=value` component decodes to text that encodes and decodes to itself.
fn check_component_round_trip(body: &[u8]) {
    let components = body
        .split(|byte| *byte == b'&')
        .flat_map(|pair| pair.splitn(2, |byte| *byte == b'='));
    for component in components {
        let Ok(text) = form::decode_component(component) else {
            continue;
        };
        let encoded: String = form_urlencoded::byte_serialize(text.as_bytes()).collect();
        assert_eq!(form::decode_component(encoded.as_bytes()), Ok(text));
    }
}

/// What the accessors promise: no empty values, `has` agrees with `get`, bounded tokens.
fn check_values(form: &Form) {
    for name in PARAMETERS {
        let value = form.get(name);
        assert_eq!(form.has(name), value.is_some());
        assert!(value.is_none_or(|value| !value.is_empty()));
        assert!(form.all(name).iter().all(|value| !value.is_empty()));
    }
    for name in TOKEN_FIELDS {
        let sizes = form.all(name).into_iter().map(str::len);
        assert!(
            sizes
                .chain(form.get(name).map(str::len))
                .all(|len| len <= MAX_TOKEN_FIELD_BYTES)
        );
    }
}

/// `grant_type` and `scope` parse into types that write back what was sent.
fn check_vocabularies(form: &Form) {
    if let Some(sent) = form.get("grant_type")
        && let Ok(grant) = sent.parse::<GrantType>()
    {
        assert_eq!(grant.as_str(), sent);
    }
    if let Some(sent) = form.get("scope")
        && let Ok(scopes) = Scopes::from_space_separated(sent)
    {
        let written = scopes.to_string();
        assert_eq!(Scopes::from_space_separated(&written), Ok(scopes.clone()));
        let mut words: Vec<&str> = sent.split(' ').collect();
        words.sort_unstable();
        words.dedup();
        assert_eq!(written, words.join(" "));
    }
}

fn check_client_authentication(form: &Form, authorization: Option<&[u8]>) {
    let Ok(client) = client_auth::authenticate(&DIRECTORY, authorization, form) else {
        return;
    };
    match client.method {
        AuthMethod::SecretBasic => assert!(authorization.is_some()),
        AuthMethod::SecretPost => assert!(form.has("client_secret")),
        AuthMethod::None => assert!(!client.client.is_confidential()),
    }
}
