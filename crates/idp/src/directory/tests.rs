//! Tests of directory loading: the embedded organisation, and an error naming file and key
//! for every kind of mistake.

use std::path::Path;

use super::*;

const HASH: &str = concat!(
    "$argon2id$v=19$m=4096,t=1,p=1$c2NvcGVnYXRlLUVNUDAwMQ",
    "$nP1lBepOis1vugWiixukS84Dvk7Fkpcm6FdSQwoqfj4"
);

const DIGEST: &str = "sha256:45cccf388c7b3a9202227da26e5fbaaa7b8203d1305f696a86e67249346cbbac";

/// A small valid directory; tests break one thing in it at a time.
fn valid() -> String {
    format!(
        r#"
[[resources]]
id = "mcp"
name = "MCP"
audience = "http://127.0.0.1:8001/mcp"
actor = "agent"

[[users]]
id = "EMP001"
name = "Alex Chen"
principal_type = "HUMAN"
groups = ["employees"]
password_hash = "{HASH}"
totp_secret = "NCEANK6ZMK2GMNOB367DNEXOMC3ZPL3A"

[[clients]]
id = "agent"
name = "Agent"
secret_digest = "{DIGEST}"
grants = ["client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"]
scopes = ["mcp:use"]
default_audience = "mcp"

[clients.exchange]
targets = [{{ resource = "mcp", scopes = ["mcp:use"] }}]
default_target = "mcp"
ttl_seconds = 300
"#
    )
}

fn load(text: &str) -> Result<Directory, DirectoryError> {
    Directory::from_toml_str(text, "dir.toml")
}

fn error_of(text: &str) -> String {
    load(text).unwrap_err().to_string()
}

#[test]
fn embedded_default_holds_the_demo_organisation() {
    let directory = Directory::embedded_default().unwrap();

    let alex = directory.user("EMP001").unwrap();
    assert_eq!(
        (alex.name.as_str(), alex.title.as_deref()),
        ("Alex Chen", Some("Software Engineer"))
    );
    assert_eq!(alex.groups, ["employees"]);
    assert_eq!(alex.principal_type, PrincipalType::Human);
    assert!(alex.totp_secret.is_some());
    assert!(directory.user("EMP002").unwrap().totp_secret.is_none());
    assert_eq!(
        directory.user("EMP010").unwrap().groups,
        ["employees", "managers"]
    );
    assert_eq!(
        directory.user("EMP020").unwrap().groups,
        ["employees", "hr-admins"]
    );
    assert_eq!(
        directory.resource("mcp").unwrap().audience,
        "http://127.0.0.1:8001/mcp"
    );
    assert_eq!(
        directory.resource("mcp").unwrap().actor.as_deref(),
        Some("mcp-server")
    );
    assert_eq!(
        directory.resource("actions-api").unwrap().audience,
        "http://127.0.0.1:8000"
    );
    assert!(!directory.client("scopegate-cli").unwrap().is_confidential());
    let chat = directory
        .client("chainlit-app")
        .unwrap()
        .exchange
        .as_ref()
        .unwrap();
    assert_eq!(chat.default_target, "mcp");
    assert_eq!(chat.ttl, Duration::from_secs(300));
    assert_eq!(chat.may_act.as_deref(), Some("mcp-server"));
}

#[test]
fn every_demo_user_has_the_demo_password() {
    let directory = Directory::embedded_default().unwrap();

    for user in directory.users() {
        assert!(user.password_hash.verify("demo-password"), "{}", user.id);
    }
}

#[test]
fn valid_file_loads() {
    let directory = load(&valid()).unwrap();

    assert_eq!(directory.clients().count(), 1);
    assert!(directory.all_scopes().contains("mcp:use"));
}

#[test]
fn unknown_key_is_refused_naming_file_and_key() {
    let text = valid().replace(
        "name = \"Alex Chen\"",
        "name = \"Alex Chen\"\nnickname = \"Al\"",
    );

    let message = error_of(&text);

    assert!(message.starts_with("`dir.toml`: "), "{message}");
    assert!(message.contains("unknown field `nickname`"), "{message}");
}

#[test]
fn repeated_user_id_is_refused() {
    let user = valid()
        .split("[[users]]")
        .nth(1)
        .unwrap()
        .split("[[clients]]")
        .next()
        .unwrap()
        .to_owned();
    let text = format!("{}\n[[users]]{user}", valid());

    assert_eq!(
        error_of(&text),
        "`dir.toml`: `users[1].id` repeats id `EMP001`"
    );
}

#[test]
fn bad_secrets_and_hashes_name_their_key() {
    let totp = valid().replace("NCEANK6ZMK2GMNOB367DNEXOMC3ZPL3A", "short");
    let hash = valid().replace(HASH, "plain-text");
    let digest = valid().replace("sha256:45cc", "md5:45cc");

    assert_eq!(
        error_of(&totp),
        "`dir.toml`: `users[0].totp_secret` is not a base32 secret of at least 16 bytes"
    );
    assert_eq!(
        error_of(&hash),
        "`dir.toml`: `users[0].password_hash` is not an argon2 PHC string"
    );
    assert_eq!(
        error_of(&digest),
        "`dir.toml`: `clients[0].secret_digest` is not `sha256:` followed by 64 hex digits"
    );
}

#[test]
fn unknown_principal_type_is_refused() {
    let text = valid().replace("\"HUMAN\"", "\"ROBOT\"");

    assert_eq!(
        error_of(&text),
        "`dir.toml`: `users[0].principal_type` must be `HUMAN` or `SERVICE`"
    );
}

#[test]
fn references_to_unknown_resources_and_clients_are_refused() {
    let audience = valid().replace("default_audience = \"mcp\"", "default_audience = \"api\"");
    let target = valid().replace("resource = \"mcp\"", "resource = \"mpc\"");
    let actor = valid().replace("actor = \"agent\"", "actor = \"ghost\"");

    assert_eq!(
        error_of(&audience),
        "`dir.toml`: `clients[0].default_audience` names unknown resource `api`"
    );
    assert_eq!(
        error_of(&target),
        "`dir.toml`: `clients[0].exchange.targets[0].resource` names unknown resource `mpc`"
    );
    assert_eq!(
        error_of(&actor),
        "`dir.toml`: `resources[0].actor` names unknown client `ghost`"
    );
}

#[test]
fn public_client_may_not_hold_grants_that_need_a_secret() {
    let text = valid().replace(&format!("secret_digest = \"{DIGEST}\"\n"), "");

    assert_eq!(
        error_of(&text),
        "`dir.toml`: `clients[0].grants[0]` gives public client grant `client_credentials`, \
         which needs a client secret"
    );
}

#[test]
fn exchange_policy_must_match_the_grant() {
    let without_grant =
        valid().replace(", \"urn:ietf:params:oauth:grant-type:token-exchange\"", "");
    let default_elsewhere = valid().replace("default_target = \"mcp\"", "default_target = \"api\"");
    let zero_ttl = valid().replace("ttl_seconds = 300", "ttl_seconds = 0");

    assert_eq!(
        error_of(&without_grant),
        "`dir.toml`: `clients[0].exchange` must be present exactly when the client has the \
         token-exchange grant"
    );
    assert_eq!(
        error_of(&default_elsewhere),
        "`dir.toml`: `clients[0].exchange.default_target` names `api`, which is not among `targets`"
    );
    assert_eq!(
        error_of(&zero_ttl),
        "`dir.toml`: `clients[0].exchange.ttl_seconds` must be at least one second"
    );
}

#[test]
fn resource_audience_must_be_an_absolute_uri_without_fragment() {
    let relative = valid().replace("\"http://127.0.0.1:8001/mcp\"", "\"/mcp\"");
    let fragment = valid().replace("\"http://127.0.0.1:8001/mcp\"", "\"http://a.test/mcp#x\"");

    assert_eq!(
        error_of(&relative),
        "`dir.toml`: `resources[0].audience` `/mcp` is not an absolute URI without a fragment"
    );
    assert!(error_of(&fragment).contains("`http://a.test/mcp#x` is not an absolute URI"));
}

#[test]
fn resource_audience_override_moves_the_url_for_every_client() {
    let directory = Directory::embedded_default().unwrap();

    let moved = directory
        .with_resource_audience("mcp", "http://127.0.0.1:18001/mcp")
        .unwrap();

    assert_eq!(
        moved.resource("mcp").unwrap().audience,
        "http://127.0.0.1:18001/mcp"
    );
    assert_eq!(
        moved
            .resource_by_audience("http://127.0.0.1:18001/mcp")
            .unwrap()
            .id,
        "mcp"
    );
    assert!(
        moved
            .resource_by_audience("http://127.0.0.1:8001/mcp")
            .is_none()
    );
}

#[test]
fn resource_audience_override_is_checked() {
    let directory = Directory::embedded_default().unwrap();

    let unknown = directory
        .clone()
        .with_resource_audience("crm", "http://a.test")
        .unwrap_err();
    let taken = directory
        .with_resource_audience("mcp", "http://127.0.0.1:8000")
        .unwrap_err();

    assert_eq!(
        unknown.to_string(),
        "`resource audience override`: `resources.crm.audience` names unknown resource `crm`"
    );
    assert_eq!(
        taken.to_string(),
        "`resource audience override`: `resources.mcp.audience` repeats audience \
         `http://127.0.0.1:8000`"
    );
}

#[test]
fn directory_file_is_read_and_a_missing_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("directory.toml");
    std::fs::write(&path, valid()).unwrap();

    let loaded = Directory::from_toml_file(&path).unwrap();
    let missing = Directory::from_toml_file(Path::new("no/such/directory.toml")).unwrap_err();

    assert!(loaded.user("EMP001").is_some());
    assert_eq!(
        missing.to_string(),
        "cannot read directory file `no/such/directory.toml`"
    );
}
