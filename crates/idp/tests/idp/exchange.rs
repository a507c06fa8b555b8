//! RFC 8693 token exchange: every rule of `docs/tokens.md` and every error code it can give.

use axum::http::StatusCode;
use scopegate_token::{Actor, Algorithm, MayAct, testing::TestIssuer};
use serde_json::json;

use crate::support::{
    ACCESS_TOKEN_TYPE, API, Auth, CHAT, EXCHANGE, INTROSPECT, Idp, MCP, MCP_SERVER, REVOKE, TOKEN,
    claims_of, exchange_form, minted_claims,
};

fn seconds(value: &serde_json::Value) -> i64 {
    value.as_i64().unwrap()
}

// Design note and rules 6 to 8 -----------------------------------------------------------------

#[tokio::test]
async fn exchange_yields_the_design_note_mcp_token() {
    let idp = Idp::start();
    let user_token = idp.user_token("EMP001", true).await;
    idp.advance(60);

    let reply = idp.exchange_for_mcp(&user_token).await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.header("cache-control"), "no-store");
    assert_eq!(reply.header("pragma"), "no-cache");
    assert_eq!(reply.body["issued_token_type"], ACCESS_TOKEN_TYPE);
    assert_eq!(reply.body["token_type"], "Bearer");
    assert_eq!(reply.body["expires_in"], 300);
    assert_eq!(reply.body["scope"], "mcp:use");
    assert!(reply.body.get("refresh_token").is_none());
    let user = claims_of(&user_token);
    let mcp = claims_of(&reply.access_token());
    assert_eq!(seconds(&mcp["exp"]) - seconds(&mcp["iat"]), 300);
    assert_eq!(mcp["scope"], json!(["mcp:use"]));
    assert_eq!(mcp["acting_as"], "mcp-server");
    assert_eq!(mcp["original_token_id"], user["jti"]);
    assert_eq!(mcp["auth_time"], user["auth_time"]);
    assert!(seconds(&mcp["iat"]) > seconds(&user["iat"]));
    for carried in [
        "sub",
        "principal_type",
        "groups",
        "amr",
        "acr",
        "auth_time",
        "iss",
    ] {
        assert_eq!(mcp[carried], user[carried], "`{carried}` not carried over");
    }
    assert_eq!(mcp["aud"], MCP);
    assert_eq!(mcp["client_id"], "chainlit-app");
    assert_eq!(mcp["may_act"], json!({ "sub": "mcp-server" }));
    assert_ne!(mcp["jti"], user["jti"]);
    assert!(
        mcp.get("act").is_none(),
        "the client's own token is not on-behalf-of: {mcp}"
    );
}

#[tokio::test]
async fn on_behalf_of_exchange_names_the_mcp_server_in_act() {
    let idp = Idp::start();
    let user_token = idp.user_token("EMP001", true).await;
    let mcp_token = idp.exchange_for_mcp(&user_token).await.access_token();
    idp.advance(30);

    let reply = idp.exchange_for_api(&mcp_token).await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let user = claims_of(&user_token);
    let mcp = claims_of(&mcp_token);
    let api = claims_of(&reply.access_token());
    assert_eq!(api["act"], json!({ "sub": "mcp-server" }));
    assert_eq!(api["aud"], API);
    assert_eq!(api["client_id"], "mcp-server");
    assert_eq!(api["scope"], json!(["mcp:use"]));
    assert_eq!(
        api["original_token_id"], user["jti"],
        "the root id survives the chain"
    );
    assert_eq!(api["auth_time"], user["auth_time"]);
    assert!(seconds(&api["exp"]) <= seconds(&mcp["exp"]));
    assert!(
        api.get("acting_as").is_none(),
        "the actions API registers no actor: {api}"
    );
    assert!(api.get("may_act").is_none());
}

#[tokio::test]
async fn exchanged_token_never_outlives_its_subject() {
    let idp = Idp::start();
    let user_token = idp.user_token("EMP001", false).await;
    idp.advance(3600 - 100);

    let reply = idp.exchange_for_mcp(&user_token).await;

    assert_eq!(reply.body["expires_in"], 100);
    let user = claims_of(&user_token);
    assert_eq!(claims_of(&reply.access_token())["exp"], user["exp"]);
}

#[tokio::test]
async fn exchange_never_returns_a_refresh_token_even_for_offline_access() {
    let idp = Idp::start();
    let login = idp
        .login_with("EMP001", false, &[("scope", "offline_access mcp:use")])
        .await;
    assert!(login.body["refresh_token"].is_string());

    let reply = idp.exchange_for_mcp(&login.access_token()).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.get("refresh_token").is_none());
}

#[tokio::test]
async fn existing_actor_chain_is_nested_under_the_new_actor() {
    let idp = Idp::start();
    let mut claims = minted_claims(idp.now(), MCP);
    claims.act = Some(Actor::new("orchestrator"));
    let subject = idp.mint(&claims);

    let reply = idp.exchange_for_api(&subject).await;

    let api = claims_of(&reply.access_token());
    assert_eq!(
        api["act"],
        json!({ "sub": "mcp-server", "act": { "sub": "orchestrator" } })
    );
}

#[tokio::test]
async fn own_token_keeps_its_actor_chain_without_a_new_level() {
    let idp = Idp::start();
    let mut claims = minted_claims(idp.now(), API);
    claims.act = Some(Actor::new("orchestrator"));
    let subject = idp.mint(&claims);

    let reply = idp.exchange_for_mcp(&subject).await;

    assert_eq!(
        claims_of(&reply.access_token())["act"],
        json!({ "sub": "orchestrator" })
    );
}

#[tokio::test]
async fn actor_chain_of_five_is_allowed_and_six_is_invalid_request() {
    let idp = Idp::start();
    let chain = |depth: usize| {
        (1..depth).fold(None, |prior, level| {
            Some(Actor::in_front_of(format!("agent-{level}"), prior))
        })
    };
    let mut four = minted_claims(idp.now(), MCP);
    four.act = chain(5);
    let mut five = minted_claims(idp.now(), MCP);
    five.act = chain(6);

    let allowed = idp.exchange_for_api(&idp.mint(&four)).await;
    let refused = idp.exchange_for_api(&idp.mint(&five)).await;

    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.body);
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        refused.error(),
        (
            "invalid_request",
            "the actor chain would be 6 deep; at most 5 is allowed"
        )
    );
}

// Rule 1: client authentication ----------------------------------------------------------------

#[tokio::test]
async fn exchange_accepts_client_secret_post() {
    let idp = Idp::start();
    let user_token = idp.user_token("EMP001", false).await;
    let form = exchange_form(
        &user_token,
        &[
            ("client_id", "chainlit-app"),
            ("client_secret", "chainlit-dev-secret"),
        ],
    );

    let reply = idp.post(TOKEN, Auth::None, &form).await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

#[tokio::test]
async fn exchange_with_a_wrong_secret_is_401_invalid_client() {
    let idp = Idp::start();
    let user_token = idp.user_token("EMP001", false).await;

    let reply = idp
        .post(
            TOKEN,
            ("chainlit-app", "guess"),
            &exchange_form(&user_token, &[]),
        )
        .await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.header("www-authenticate"),
        "Basic realm=\"scopegate\""
    );
    assert_eq!(
        reply.error(),
        (
            "invalid_client",
            "client `chainlit-app` is unknown or its secret does not match"
        )
    );
}

#[tokio::test]
async fn public_client_may_not_exchange_tokens() {
    let idp = Idp::start();
    let user_token = idp.user_token("EMP001", false).await;
    let form = exchange_form(&user_token, &[("client_id", "scopegate-cli")]);

    let reply = idp.post(TOKEN, Auth::None, &form).await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.error(),
        (
            "unauthorized_client",
            "client `scopegate-cli` may not use grant type \
             `urn:ietf:params:oauth:grant-type:token-exchange`"
        )
    );
}

// Rule 2: parameters and the subject and actor tokens -----------------------------------------

#[tokio::test]
async fn missing_subject_token_or_type_is_invalid_request() {
    let idp = Idp::start();

    let no_token = idp
        .post(
            TOKEN,
            CHAT,
            &[
                ("grant_type", EXCHANGE),
                ("subject_token_type", ACCESS_TOKEN_TYPE),
            ],
        )
        .await;
    let no_type = idp
        .post(
            TOKEN,
            CHAT,
            &[("grant_type", EXCHANGE), ("subject_token", "x.y.z")],
        )
        .await;

    assert_eq!(
        no_token.error(),
        ("invalid_request", "parameter `subject_token` is required")
    );
    assert_eq!(
        no_type.error(),
        (
            "invalid_request",
            "parameter `subject_token_type` is required"
        )
    );
}

#[tokio::test]
async fn token_types_other_than_access_token_are_invalid_request() {
    let idp = Idp::start();
    let user_token = idp.user_token("EMP001", false).await;
    let jwt_type = "urn:ietf:params:oauth:token-type:jwt";
    let mut subject_jwt = exchange_form(&user_token, &[]);
    subject_jwt[2] = ("subject_token_type", jwt_type);

    let subject = idp.post(TOKEN, CHAT, &subject_jwt).await;
    let requested = idp
        .post(
            TOKEN,
            CHAT,
            &exchange_form(&user_token, &[("requested_token_type", jwt_type)]),
        )
        .await;
    let access = idp
        .post(
            TOKEN,
            CHAT,
            &exchange_form(&user_token, &[("requested_token_type", ACCESS_TOKEN_TYPE)]),
        )
        .await;

    assert_eq!(
        subject.error(),
        (
            "invalid_request",
            "`subject_token_type` `urn:ietf:params:oauth:token-type:jwt` is not supported; only \
             `urn:ietf:params:oauth:token-type:access_token` is"
        )
    );
    assert_eq!(requested.error().0, "invalid_request");
    assert!(
        requested.error().1.starts_with("`requested_token_type`"),
        "{}",
        requested.body
    );
    assert_eq!(access.status, StatusCode::OK);
}

#[tokio::test]
async fn actor_token_and_its_type_must_come_together() {
    let idp = Idp::start();
    let user_token = idp.user_token("EMP001", false).await;
    let expected = (
        "invalid_request",
        "`actor_token` and `actor_token_type` must be sent together or not at all",
    );

    let token_only = idp
        .post(
            TOKEN,
            CHAT,
            &exchange_form(&user_token, &[("actor_token", &user_token)]),
        )
        .await;
    let type_only = idp
        .post(
            TOKEN,
            CHAT,
            &exchange_form(&user_token, &[("actor_token_type", ACCESS_TOKEN_TYPE)]),
        )
        .await;

    assert_eq!(token_only.error(), expected);
    assert_eq!(type_only.error(), expected);
}

#[tokio::test]
async fn subject_token_that_fails_verification_is_invalid_request_saying_why() {
    let idp = Idp::start();
    let foreign = TestIssuer::new("https://other-idp.test", Algorithm::Es256);
    let mut claims = minted_claims(idp.now(), MCP);
    let impostor = foreign.mint(&claims);
    claims.iss = "https://other-idp.test".to_owned();
    let token = foreign.mint(&claims);

    let garbage = idp
        .post(TOKEN, CHAT, &exchange_form("not-a-jwt", &[]))
        .await;
    let untrusted = idp.post(TOKEN, CHAT, &exchange_form(&token, &[])).await;
    let forged = idp.post(TOKEN, CHAT, &exchange_form(&impostor, &[])).await;

    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
    assert_eq!(garbage.error().0, "invalid_request");
    assert!(
        garbage
            .error()
            .1
            .starts_with("the subject token failed verification: "),
        "{}",
        garbage.body
    );
    assert_eq!(
        untrusted.error(),
        (
            "invalid_request",
            "the subject token failed verification: issuer `https://other-idp.test` is not trusted"
        )
    );
    assert_eq!(forged.error().0, "invalid_request");
    assert!(forged.error().1.contains("has no key"), "{}", forged.body);
}

#[tokio::test]
async fn expired_subject_token_is_invalid_request_saying_so() {
    let idp = Idp::start();
    let user_token = idp.user_token("EMP001", false).await;
    idp.advance(3601);

    let reply = idp.exchange_for_mcp(&user_token).await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error().0, "invalid_request");
    assert!(
        reply
            .error()
            .1
            .starts_with("the subject token is expired: token expired at "),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn revoked_subject_token_is_invalid_request_saying_so() {
    let idp = Idp::start();
    let user_token = idp.user_token("EMP001", false).await;
    idp.post(REVOKE, CHAT, &[("token", &user_token)]).await;

    let reply = idp.exchange_for_mcp(&user_token).await;

    assert_eq!(
        reply.error(),
        ("invalid_request", "the subject token is revoked")
    );
}

#[tokio::test]
async fn actor_token_must_be_the_acting_clients_own_valid_token() {
    let idp = Idp::start();
    let user_token = idp.user_token("EMP001", false).await;
    let mcp_token = idp.exchange_for_mcp(&user_token).await.access_token();
    let own = idp
        .post(TOKEN, MCP_SERVER, &[("grant_type", "client_credentials")])
        .await;
    let own = own.access_token();
    let (idp, mcp_token) = (&idp, mcp_token.as_str());
    let with_actor = |actor| async move {
        let extra = [
            ("actor_token", actor),
            ("actor_token_type", ACCESS_TOKEN_TYPE),
        ];
        idp.post(TOKEN, MCP_SERVER, &exchange_form(mcp_token, &extra))
            .await
    };

    let accepted = with_actor(own.as_str()).await;
    let someone_else = with_actor(user_token.as_str()).await;
    let invalid = with_actor("a.b.c").await;

    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
    assert_eq!(
        claims_of(&accepted.access_token())["act"],
        json!({ "sub": "mcp-server" })
    );
    assert_eq!(
        someone_else.error(),
        (
            "invalid_request",
            "the actor token's subject `EMP001` is not the authenticated client `mcp-server`"
        )
    );
    assert_eq!(invalid.error().0, "invalid_request");
    assert!(
        invalid
            .error()
            .1
            .starts_with("the actor token failed verification: "),
        "{}",
        invalid.body
    );
}

// Rule 3: who may exchange ---------------------------------------------------------------------

#[tokio::test]
async fn client_neither_issued_the_token_nor_in_its_audience_is_unauthorized_client() {
    let idp = Idp::start();
    let user_token = idp.user_token("EMP001", false).await;

    let reply = idp.exchange_for_api(&user_token).await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.error(),
        (
            "unauthorized_client",
            "client `mcp-server` may not exchange a token issued to `chainlit-app`: it is neither \
             that client nor in the token's audience"
        )
    );
}

#[tokio::test]
async fn client_not_named_in_may_act_is_unauthorized_client() {
    let idp = Idp::start();
    let user_token = idp.user_token("EMP001", false).await;
    let mcp_token = idp.exchange_for_mcp(&user_token).await.access_token();

    let reply = idp.exchange_for_mcp(&mcp_token).await;

    assert_eq!(
        reply.error(),
        (
            "unauthorized_client",
            "the subject token's `may_act` does not name client `chainlit-app`"
        )
    );
}

#[tokio::test]
async fn client_named_in_may_act_may_exchange() {
    let idp = Idp::start();
    let mut claims = minted_claims(idp.now(), MCP);
    claims.may_act = Some(MayAct::subject("mcp-server"));

    let reply = idp.exchange_for_api(&idp.mint(&claims)).await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

// Rule 4: targets ------------------------------------------------------------------------------

#[tokio::test]
async fn default_target_comes_from_the_clients_policy() {
    let idp = Idp::start();
    let user_token = idp.user_token("EMP001", false).await;

    let reply = idp
        .post(TOKEN, CHAT, &exchange_form(&user_token, &[]))
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let claims = claims_of(&reply.access_token());
    assert_eq!(claims["aud"], MCP);
    assert_eq!(claims["scope"], json!(["mcp:use"]));
    assert_eq!(seconds(&claims["exp"]) - seconds(&claims["iat"]), 300);
}

#[tokio::test]
async fn target_may_be_named_by_resource_audience_or_logical_id() {
    let idp = Idp::start();
    let user_token = idp.user_token("EMP001", false).await;

    for target in [("resource", MCP), ("audience", MCP), ("audience", "mcp")] {
        let reply = idp
            .post(TOKEN, CHAT, &exchange_form(&user_token, &[target]))
            .await;

        assert_eq!(reply.status, StatusCode::OK, "{target:?}: {}", reply.body);
        assert_eq!(claims_of(&reply.access_token())["aud"], MCP);
    }
}

#[tokio::test]
async fn unregistered_target_is_invalid_target() {
    let idp = Idp::start();
    let user_token = idp.user_token("EMP001", false).await;

    let reply = idp
        .post(
            TOKEN,
            CHAT,
            &exchange_form(&user_token, &[("audience", "https://evil.test/mcp")]),
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.error(),
        (
            "invalid_target",
            "`https://evil.test/mcp` is not a registered resource"
        )
    );
}

#[tokio::test]
async fn registered_target_outside_the_clients_policy_is_invalid_target() {
    let idp = Idp::start();
    let user_token = idp.user_token("EMP001", false).await;

    let reply = idp
        .post(
            TOKEN,
            CHAT,
            &exchange_form(&user_token, &[("audience", API)]),
        )
        .await;

    assert_eq!(
        reply.error(),
        (
            "invalid_target",
            "client `chainlit-app` may not request tokens for `http://127.0.0.1:8000`"
        )
    );
}

#[tokio::test]
async fn two_targets_or_a_relative_resource_are_invalid_target() {
    let idp = Idp::start();
    let user_token = idp.user_token("EMP001", false).await;

    let two = idp
        .post(
            TOKEN,
            CHAT,
            &exchange_form(&user_token, &[("resource", MCP), ("audience", API)]),
        )
        .await;
    let relative = idp
        .post(
            TOKEN,
            CHAT,
            &exchange_form(&user_token, &[("resource", "/mcp")]),
        )
        .await;
    let fragment = idp
        .post(
            TOKEN,
            CHAT,
            &exchange_form(&user_token, &[("resource", "http://127.0.0.1:8001/mcp#x")]),
        )
        .await;

    assert_eq!(
        two.error(),
        (
            "invalid_target",
            "only one audience or resource may be requested per token"
        )
    );
    assert_eq!(
        relative.error(),
        (
            "invalid_target",
            "resource `/mcp` is not an absolute URI without a fragment"
        )
    );
    assert_eq!(fragment.error().0, "invalid_target");
}

// Rule 5: scope only narrows -------------------------------------------------------------------

#[tokio::test]
async fn scope_the_subject_does_not_hold_is_invalid_scope() {
    let idp = Idp::start();
    let login = idp
        .login_with("EMP001", false, &[("scope", "openid hr:read")])
        .await;

    let reply = idp.exchange_for_mcp(&login.access_token()).await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.error(),
        (
            "invalid_scope",
            "scope `mcp:use` is not held by the subject token"
        )
    );
}

#[tokio::test]
async fn scope_the_client_may_not_obtain_at_the_target_is_invalid_scope() {
    let idp = Idp::start();
    let user_token = idp.user_token("EMP001", false).await;

    let reply = idp
        .post(
            TOKEN,
            CHAT,
            &exchange_form(&user_token, &[("scope", "mcp:use hr:read")]),
        )
        .await;

    assert_eq!(
        reply.error(),
        (
            "invalid_scope",
            "client `chainlit-app` may not request scope `hr:read` for `http://127.0.0.1:8001/mcp`"
        )
    );
}

#[tokio::test]
async fn subject_without_any_allowed_scope_is_invalid_scope_when_none_is_requested() {
    let idp = Idp::start();
    let login = idp
        .login_with("EMP001", false, &[("scope", "openid")])
        .await;

    let reply = idp
        .post(TOKEN, CHAT, &exchange_form(&login.access_token(), &[]))
        .await;

    assert_eq!(
        reply.error(),
        (
            "invalid_scope",
            "the subject token holds no scope that client `chainlit-app` may obtain for \
             `http://127.0.0.1:8001/mcp`"
        )
    );
}

// Rule 9: revocation cascades ------------------------------------------------------------------

#[tokio::test]
async fn revoking_the_user_token_deactivates_every_token_exchanged_from_it() {
    let idp = Idp::start();
    let user_token = idp.user_token("EMP001", true).await;
    let mcp_token = idp.exchange_for_mcp(&user_token).await.access_token();
    let api_token = idp.exchange_for_api(&mcp_token).await.access_token();

    let revoked = idp.post(REVOKE, CHAT, &[("token", &user_token)]).await;

    assert_eq!(revoked.status, StatusCode::OK);
    for token in [&user_token, &mcp_token, &api_token] {
        let introspection = idp.post(INTROSPECT, MCP_SERVER, &[("token", token)]).await;
        assert_eq!(introspection.body, json!({ "active": false }));
    }
    let again = idp.exchange_for_api(&mcp_token).await;
    assert_eq!(
        again.error(),
        ("invalid_request", "the subject token is revoked")
    );
}

#[tokio::test]
async fn act_and_acting_as_sent_as_request_parameters_are_ignored() {
    let idp = Idp::start();
    let user_token = idp.user_token("EMP001", false).await;
    let form = exchange_form(
        &user_token,
        &[
            ("scope", "mcp:use"),
            ("act", r#"{"sub":"attacker"}"#),
            ("acting_as", "attacker"),
            ("original_token_id", "forged"),
        ],
    );

    let reply = idp.post(TOKEN, CHAT, &form).await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let mcp = claims_of(&reply.access_token());
    assert!(mcp.get("act").is_none(), "{mcp}");
    assert_eq!(mcp["acting_as"], "mcp-server");
    assert_eq!(mcp["original_token_id"], claims_of(&user_token)["jti"]);
}
