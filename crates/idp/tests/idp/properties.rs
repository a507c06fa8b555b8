//! Property tests: for arbitrary subject tokens and requests, an exchange never widens scope,
//! never extends lifetime, and never changes `sub` or `auth_time`.
//!
//! The rules are checked twice: on the pure exchange function with many cases, and through the
//! router with real signed subject tokens and fewer cases.

use std::time::Duration;

use proptest::prelude::*;
use scopegate_idp::Directory;
use scopegate_idp::exchange::{ExchangeInput, exchange};
use scopegate_token::{
    Actor, Audience, Claims, ExtraClaims, MayAct, NumericDate, PrincipalType, Scope, Scopes,
};

use crate::support::{
    API, CHAT, ISSUER, Idp, MCP, MCP_SERVER, START, TOKEN, at, claims_of, exchange_form,
};

/// Scopes drawn from what the directory knows plus one it does not.
const SCOPES: [&str; 7] = [
    "mcp:use",
    "openid",
    "profile",
    "hr:read",
    "payroll:read",
    "offline_access",
    "admin:all",
];

/// Targets a request may name: both resources by URI and id, and an unregistered one.
const TARGETS: [&str; 5] = [MCP, API, "mcp", "actions-api", "https://evil.test"];

fn scope_set() -> impl Strategy<Value = Scopes> {
    proptest::sample::subsequence(SCOPES.to_vec(), 0..=SCOPES.len()).prop_map(|names| {
        names
            .into_iter()
            .map(|name| Scope::new(name).unwrap())
            .collect()
    })
}

/// An arbitrary subject token of this issuer, as the verifier would hand it over.
fn subject_claims() -> impl Strategy<Value = Claims> {
    (
        "[A-Z]{3}[0-9]{3}",
        prop_oneof![Just(MCP), Just(API)],
        prop_oneof![
            Just("chainlit-app"),
            Just("mcp-server"),
            Just("scopegate-cli")
        ],
        scope_set(),
        1_i64..7200,
        0_i64..86_400,
        proptest::option::of(0_usize..6),
        proptest::option::of(prop_oneof![Just("mcp-server"), Just("chainlit-app")]),
        proptest::option::of("[a-f0-9]{8}"),
    )
        .prop_map(
            |(sub, aud, client, scope, lifetime, login_age, depth, may_act, root)| {
                let now = START;
                Claims {
                    iss: ISSUER.to_owned(),
                    sub,
                    aud: Audience::single(aud),
                    exp: at(now + lifetime),
                    iat: at(now - login_age.min(3000)),
                    nbf: None,
                    jti: "subject-jti".to_owned(),
                    client_id: client.to_owned(),
                    scope,
                    principal_type: Some(PrincipalType::Human),
                    groups: vec!["employees".to_owned()],
                    amr: vec!["pwd".to_owned()],
                    auth_time: Some(at(now - login_age)),
                    acr: Some("urn:okta:loa:1fa:pwd".to_owned()),
                    acting_as: None,
                    original_token_id: root,
                    act: depth.and_then(|depth| {
                        (0..depth).fold(None, |prior, level| {
                            Some(Actor::in_front_of(format!("agent-{level}"), prior))
                        })
                    }),
                    may_act: may_act.map(MayAct::subject),
                    extra: ExtraClaims::new(),
                }
            },
        )
}

/// Checks the three invariants (and the chain root) on one successful exchange.
fn assert_invariants(subject: &Claims, issued: &Claims, now: NumericDate, ttl: Duration) {
    assert!(
        issued.scope.is_subset(&subject.scope),
        "scope widened: {issued:?}"
    );
    assert!(
        issued.exp <= subject.exp,
        "lifetime extended past the subject"
    );
    assert!(
        issued.exp <= now.saturating_add(ttl),
        "lifetime longer than the policy allows"
    );
    assert_eq!(issued.sub, subject.sub);
    assert_eq!(issued.auth_time, subject.auth_time);
    assert_eq!(issued.amr, subject.amr);
    assert_eq!(issued.acr, subject.acr);
    let root = subject.original_token_id.as_deref().unwrap_or(&subject.jti);
    assert_eq!(issued.original_token_id.as_deref(), Some(root));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn pure_exchange_never_widens_extends_or_rewrites_identity(
        subject in subject_claims(),
        acting in prop_oneof![Just("chainlit-app"), Just("mcp-server")],
        scope in proptest::option::of(scope_set()),
        targets in proptest::sample::subsequence(TARGETS.to_vec(), 0..=2),
    ) {
        let directory = Directory::embedded_default().unwrap();
        let client = directory.client(acting).unwrap();
        let ttl = client.exchange.as_ref().unwrap().ttl;
        let now = at(START);
        let targets: Vec<String> = targets.into_iter().map(str::to_owned).collect();

        let outcome = exchange(&ExchangeInput {
            subject: &subject,
            actor: None,
            client,
            directory: &directory,
            targets: &targets,
            scope: scope.as_ref(),
            issuer: ISSUER,
            now,
            jti: "new-jti".to_owned(),
        });

        if let Ok(issued) = outcome {
            assert_invariants(&subject, &issued, now, ttl);
            prop_assert!(issued.actor_depth() <= scopegate_idp::exchange::MAX_ACT_DEPTH);
            if let Some(requested) = &scope {
                prop_assert_eq!(&issued.scope, requested);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn exchange_through_the_router_keeps_the_invariants(
        subject_scope in scope_set(),
        requested in proptest::option::of(scope_set()),
        lifetime in 1_i64..4000,
        login_age in 0_i64..86_400,
        on_behalf_of in any::<bool>(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
        let runtime = runtime.unwrap();
        runtime.block_on(async {
            let idp = Idp::start();
            let now = idp.now();
            let audience = if on_behalf_of { MCP } else { API };
            let mut claims = crate::support::minted_claims(now, audience);
            claims.scope = subject_scope;
            claims.exp = at(now + lifetime);
            claims.auth_time = Some(at(now - login_age));
            let subject_token = idp.mint(&claims);
            let scope_text = requested.as_ref().map(ToString::to_string);
            let mut extra = Vec::new();
            if let Some(text) = scope_text.as_deref() {
                extra.push(("scope", text));
            }
            let form = exchange_form(&subject_token, &extra);
            let client = if on_behalf_of { MCP_SERVER } else { CHAT };

            let reply = idp.post(TOKEN, client, &form).await;

            if reply.status.is_success() {
                let issued = claims_of(&reply.access_token());
                let subject = claims_of(&subject_token);
                for scope in issued["scope"].as_array().unwrap() {
                    let scope = scope.as_str().unwrap();
                    assert!(claims.scope.contains(scope), "scope `{scope}` was added");
                }
                assert!(issued["exp"].as_i64() <= subject["exp"].as_i64());
                assert!(issued["exp"].as_i64().unwrap() - now <= 300);
                assert_eq!(issued["sub"], subject["sub"]);
                assert_eq!(issued["auth_time"], subject["auth_time"]);
            } else {
                assert!(reply.status.is_client_error(), "{}", reply.body);
            }
        });
    }
}
