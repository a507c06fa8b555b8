//! `scopegate init [DIR]`: the embedded defaults as files to edit.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use scopegate_gateway::DEFAULT_CAPABILITIES;
use scopegate_gateway::connector::fixture::DEFAULT_WORKDAY_DATA;
use scopegate_idp::directory::EMBEDDED_DEFAULT as DEFAULT_DIRECTORY;
use scopegate_policy::DEFAULT_POLICIES;

use super::print_line;

/// The configuration `init` writes: every setting at its default, the data files named.
const CONFIG: &str = r#"# scopegate configuration. Every setting shown is the default except the four file paths,
# which point at the files `scopegate init` wrote beside this one. Relative paths are taken from
# this file's directory. Reference: docs/configuration.md.

[server]
bind = "127.0.0.1"
data_dir = "data"                  # the IdP database and, by default, the signing keys

[idp]
port = 9000
development_mode = true            # offers the password grant; turn off outside development
directory = "directory.toml"       # users, clients and resources

[api]
port = 8000
capabilities = "capabilities.yaml" # what the actions API offers
policies = "policies.yaml"         # who may do what
fixture = "workday.json"           # the Workday data the fixture connector serves
introspect_all = false             # check every call's token at the IdP (RFC 7662)

[keys]
algorithm = "ES256"                # ES256, EdDSA or RS256 for new keys
max_token_lifetime_seconds = 3600

[audit]
path = "logs/audit.jsonl"

[verify]
leeway_seconds = 60

[limits.idp]                       # likewise [limits.api] and [limits.mcp]
max_in_flight = 1024               # one more request is answered 503 at once
request_timeout_seconds = 30
header_read_timeout_seconds = 10
max_header_bytes = 16384

[limits.token_endpoint]            # per client at /oauth2/v1/token; past it: 429
per_second = 1000
burst = 2000

[limits.password_grant]            # password attempts per username; past it: 429
per_second = 5
burst = 10
"#;

pub(super) fn run(dir: &Path, force: bool) -> anyhow::Result<ExitCode> {
    let files = [
        ("scopegate.toml", CONFIG),
        ("policies.yaml", DEFAULT_POLICIES),
        ("directory.toml", DEFAULT_DIRECTORY),
        ("capabilities.yaml", DEFAULT_CAPABILITIES),
        ("workday.json", DEFAULT_WORKDAY_DATA),
    ];
    if !force {
        let existing: Vec<_> = files
            .iter()
            .filter(|(name, _)| dir.join(name).exists())
            .collect();
        if !existing.is_empty() {
            let names: Vec<_> = existing.iter().map(|(name, _)| *name).collect();
            bail!(
                "`{}` already has {}; pass --force to overwrite",
                dir.display(),
                names.join(", ")
            );
        }
    }

    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
        print_line(&format!("wrote {}", path.display()))?;
    }
    print_line(&format!(
        "next: cd {} && scopegate up   (it reads scopegate.toml from the working directory)",
        dir.display()
    ))?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::CONFIG;
    use crate::config::Config;

    #[test]
    fn the_written_configuration_is_the_defaults_but_for_the_file_paths() {
        let mut config = Config::parse(CONFIG, Path::new("scopegate.toml")).unwrap();

        assert_eq!(
            config.idp.directory.take(),
            Some(PathBuf::from("directory.toml"))
        );
        for path in [
            &mut config.api.capabilities,
            &mut config.api.policies,
            &mut config.api.fixture,
        ] {
            assert!(path.take().is_some());
        }
        assert_eq!(config, Config::default());
    }
}
