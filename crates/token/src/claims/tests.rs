//! Reading and writing claim sets.

use serde_json::json;

use super::*;
use crate::json::{JsonKind, parse_object};

/// The required claims plus `extra`, parsed.
fn parse(extra: Value) -> Result<Claims, ClaimError> {
    let mut members = base();
    let Value::Object(extra) = extra else {
        panic!("extra must be an object")
    };
    members.extend(extra);
    parse_claims(members)
}

fn base() -> Map<String, Value> {
    let Value::Object(members) = json!({
        "iss": "http://127.0.0.1:9000",
        "sub": "EMP001",
        "aud": "http://127.0.0.1:8001/mcp",
        "exp": 1_706_449_200,
        "iat": 1_706_445_600,
        "jti": "c0ffee",
        "client_id": "chat-app",
    }) else {
        unreachable!()
    };
    members
}

fn error(extra: Value) -> String {
    parse(extra).unwrap_err().to_string()
}

#[test]
fn reads_the_design_note_exchanged_token() {
    let claims = parse(json!({
        "principal_type": "HUMAN",
        "groups": ["employees"],
        "amr": ["mfa", "pwd"],
        "auth_time": 1_706_445_600,
        "scope": ["mcp:use"],
        "acting_as": "mcp-server",
        "original_token_id": "uuid-of-user-token",
    }))
    .unwrap();

    assert_eq!(claims.principal_type, Some(PrincipalType::Human));
    assert_eq!(claims.groups, ["employees"]);
    assert!(claims.has_amr("mfa"));
    assert_eq!(
        claims.auth_time.map(NumericDate::as_unix_seconds),
        Some(1_706_445_600)
    );
    assert!(claims.scope.contains("mcp:use"));
    assert_eq!(claims.acting_as.as_deref(), Some("mcp-server"));
    assert_eq!(
        claims.original_token_id.as_deref(),
        Some("uuid-of-user-token")
    );
    assert!(claims.extra.is_empty());
}

#[test]
fn writes_and_reads_back_the_same_claims() {
    let mut claims = parse(json!({
        "nbf": 1_706_445_600,
        "scope": ["b", "a"],
        "principal_type": "SERVICE",
        "acr": "urn:okta:loa:2fa:any",
        "act": {"sub": "mcp-server", "act": {"sub": "chat-app", "iss": "x"}},
        "may_act": {"sub": "mcp-server"},
    }))
    .unwrap();
    claims.extra.insert("cid", json!("chat-app")).unwrap();

    let written = serde_json::to_vec(&claims).unwrap();
    let reread = parse_claims(parse_object(&written).unwrap()).unwrap();

    assert_eq!(reread, claims);
}

#[test]
fn writes_scope_as_an_array_and_a_single_audience_as_a_string() {
    let claims = parse(json!({"scope": "mcp:use openid"})).unwrap();

    let written = serde_json::to_value(&claims).unwrap();

    assert_eq!(written["scope"], json!(["mcp:use", "openid"]));
    assert_eq!(written["aud"], json!("http://127.0.0.1:8001/mcp"));
}

#[test]
fn leaves_out_empty_and_absent_optional_claims() {
    let claims = parse(json!({})).unwrap();

    let written = serde_json::to_value(&claims).unwrap();

    let names: Vec<&String> = written.as_object().unwrap().keys().collect();
    assert_eq!(
        names,
        ["aud", "client_id", "exp", "iat", "iss", "jti", "sub"]
    );
}

#[test]
fn reads_an_audience_array() {
    let claims = parse(json!({"aud": ["a", "b"]})).unwrap();

    assert!(claims.aud.contains("a") && claims.aud.contains("b"));
    assert_eq!(
        serde_json::to_value(&claims).unwrap()["aud"],
        json!(["a", "b"])
    );
}

#[test]
fn keeps_unknown_claims_in_extra() {
    let claims = parse(json!({"scp": ["mcp:use"], "ver": 1, "tenant": {"id": 7}})).unwrap();

    assert_eq!(claims.extra.len(), 3);
    assert_eq!(claims.extra.get("tenant"), Some(&json!({"id": 7})));
    assert_eq!(serde_json::to_value(&claims).unwrap()["ver"], json!(1));
}

#[test]
fn refuses_each_missing_required_claim() {
    for claim in ["iss", "sub", "aud", "exp", "iat", "jti", "client_id"] {
        let mut members = base();
        members.remove(claim);

        let error = parse_claims(members).unwrap_err();

        assert_eq!(
            error.to_string(),
            format!("required claim `{claim}` is missing")
        );
    }
}

#[test]
fn refuses_exp_as_a_string() {
    let mut members = base();
    members.insert("exp".into(), json!("1706449200"));

    let error = parse_claims(members).unwrap_err();

    assert_eq!(
        error.to_string(),
        "claim `exp` must be a NumericDate (integer seconds since 1970), found a string"
    );
}

#[test]
fn refuses_scope_as_a_number() {
    assert_eq!(
        error(json!({"scope": 7})),
        "claim `scope` must be an array of scope strings or a space-separated string, \
         found a number"
    );
}

#[test]
fn refuses_aud_as_an_object() {
    assert_eq!(
        error(json!({"aud": {"x": 1}})),
        "claim `aud` must be a string or an array of strings, found an object"
    );
}

#[test]
fn refuses_an_empty_audience_array() {
    assert_eq!(
        error(json!({"aud": []})),
        "claim `aud` must name at least one audience"
    );
}

#[test]
fn refuses_mistyped_optional_claims() {
    let cases = [
        (
            json!({"groups": ["a", 1]}),
            "claim `groups` must be an array of strings, found a number",
        ),
        (
            json!({"amr": "mfa"}),
            "claim `amr` must be an array of strings, found a string",
        ),
        (
            json!({"acr": null}),
            "claim `acr` must be a string, found null",
        ),
        (
            json!({"act": "mcp-server"}),
            "claim `act` must be an object, found a string",
        ),
        (
            json!({"may_act": []}),
            "claim `may_act` must be an object, found an array",
        ),
        (
            json!({"scope": ["a", true]}),
            "claim `scope` must be an array of scope strings or a \
            space-separated string, found a boolean",
        ),
        (
            json!({"principal_type": "ROBOT"}),
            "claim `principal_type` must be `HUMAN` or \
            `SERVICE`, found `ROBOT`",
        ),
    ];
    for (extra, message) in cases {
        assert_eq!(error(extra), message);
    }
}

#[test]
fn refuses_dates_that_are_negative_fractional_or_too_far() {
    for (value, shown) in [
        (json!(-1), "-1"),
        (json!(1.5), "1.5"),
        (json!(1e300), "1e+300"),
    ] {
        let mut members = base();
        members.insert("iat".into(), value);

        let error = parse_claims(members).unwrap_err();

        assert_eq!(
            error.to_string(),
            format!("claim `iat` must be whole seconds between 1970 and 9999, found `{shown}`")
        );
    }
}

#[test]
fn refuses_empty_names() {
    let mut members = base();
    members.insert("sub".into(), json!(""));

    let error = parse_claims(members).unwrap_err();

    assert_eq!(
        error,
        ClaimError::Empty {
            claim: "sub".into()
        }
    );
}

#[test]
fn refuses_a_scope_string_with_a_double_space() {
    assert_eq!(error(json!({"scope": "a  b"})), "scope must not be empty");
}

#[test]
fn reads_a_nested_actor_chain() {
    let claims = parse(json!({
        "act": {"sub": "mcp-server", "act": {"sub": "chat-app", "client_id": "c"}}
    }))
    .unwrap();

    let act = claims.act.as_ref().unwrap();
    assert_eq!(claims.actor_depth(), 2);
    assert_eq!(
        act.chain().map(|a| a.sub.as_str()).collect::<Vec<_>>(),
        ["mcp-server", "chat-app"]
    );
    assert_eq!(
        act.act.as_ref().unwrap().extra.get("client_id"),
        Some(&json!("c"))
    );
}

#[test]
fn names_nested_actor_claims_by_their_path() {
    assert_eq!(
        error(json!({"act": {"iss": "x"}})),
        "required claim `act.sub` is missing"
    );
    assert_eq!(
        error(json!({"act": {"sub": "a", "act": {"sub": 5}}})),
        "claim `act.act.sub` must be a string, found a number"
    );
}

#[test]
fn reads_may_act() {
    let claims = parse(json!({"may_act": {"sub": "mcp-server", "iss": "x"}})).unwrap();

    let may_act = claims.may_act.unwrap();
    assert_eq!(may_act.sub.as_deref(), Some("mcp-server"));
    assert_eq!(may_act.iss.as_deref(), Some("x"));
}

#[test]
fn issuer_is_read_before_the_rest() {
    let mut members = base();
    assert_eq!(peek_issuer(&members), Ok("http://127.0.0.1:9000"));

    members.insert("iss".into(), json!(["a"]));
    let error = peek_issuer(&members).unwrap_err();

    assert_eq!(
        error,
        ClaimError::WrongType {
            claim: "iss".into(),
            expected: "a string",
            found: JsonKind::Array
        }
    );
}

#[test]
fn extra_claims_refuse_names_with_a_typed_field() {
    let mut extra = ExtraClaims::new();

    let error = extra.insert("exp", json!(1)).unwrap_err();

    assert_eq!(
        error.to_string(),
        "claim `exp` has its own field and cannot be set as an extra claim"
    );
    assert_eq!(extra.insert("cid", json!("x")), Ok(None));
}

#[test]
fn actor_chain_grows_in_front() {
    let first = Actor::new("chat-app");

    let second = Actor::in_front_of("mcp-server", Some(first));

    assert_eq!(second.depth(), 2);
    assert_eq!(
        second.act.as_deref().map(|a| a.sub.as_str()),
        Some("chat-app")
    );
    assert_eq!(
        serde_json::to_value(&second).unwrap(),
        json!({"sub": "mcp-server", "act": {"sub": "chat-app"}})
    );
}
