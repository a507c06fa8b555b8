//! `scopegate.toml`: optional, every setting defaulted, unknown keys refused.
//!
//! Precedence, highest first: command-line flags, `SCOPEGATE_*` environment variables (both
//! handled by clap in `cli.rs`), this file, the embedded defaults. The file is looked up at
//! `--config PATH` (or `SCOPEGATE_CONFIG`), else `./scopegate.toml` if present.

use std::path::{Path, PathBuf};

use anyhow::Context;
use scopegate_token::Algorithm;
use serde::Deserialize;

/// The file name looked for in the working directory when `--config` is not given.
pub const DEFAULT_FILE: &str = "scopegate.toml";

/// The whole configuration after defaults are applied.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Signing keys.
    pub keys: KeysConfig,
    /// The audit log.
    pub audit: AuditConfig,
    /// Token verification.
    pub verify: VerifyConfig,
}

/// `[keys]`: where signing keys live and which algorithm new keys use.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct KeysConfig {
    /// Directory holding the private keys (created with mode 0700).
    pub dir: PathBuf,
    /// Algorithm of newly generated keys: `ES256` (default), `EdDSA` or `RS256`.
    pub algorithm: Algorithm,
    /// The longest lifetime of any token the keys sign, in seconds; a retired public key stays
    /// in the JWKS this long after rotation so every token it signed still verifies.
    pub max_token_lifetime_seconds: u64,
}

impl Default for KeysConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("data/keys"),
            algorithm: Algorithm::Es256,
            max_token_lifetime_seconds: 3600,
        }
    }
}

/// `[audit]`: the hash-chained log.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// The JSONL file records are appended to.
    pub path: PathBuf,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("logs/audit.jsonl"),
        }
    }
}

/// `[verify]`: rules every server applies to incoming tokens.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct VerifyConfig {
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
    pub leeway_seconds: u64,
}

impl Default for VerifyConfig {
    fn default() -> Self {
        Self { leeway_seconds: 60 }
    }
}

/// Where the configuration came from, for the startup log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// No file: the embedded defaults.
    Defaults,
    /// This file, over the defaults.
    File(PathBuf),
}

impl Config {
    /// Loads the file named by `explicit`, or `./scopegate.toml` when it exists, or nothing.
    ///
    /// An explicit path that does not exist is an error; a missing default file is not.
    pub fn load(explicit: Option<&Path>) -> anyhow::Result<(Self, Source)> {
        let path = match explicit {
            Some(path) => path.to_path_buf(),
            None if Path::new(DEFAULT_FILE).is_file() => PathBuf::from(DEFAULT_FILE),
            None => return Ok((Self::default(), Source::Defaults)),
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read configuration file `{}`", path.display()))?;
        let config = Self::parse(&text, &path)?;
        Ok((config, Source::File(path)))
    }

    /// Parses configuration text; `origin` names the file in error messages.
    pub fn parse(text: &str, origin: &Path) -> anyhow::Result<Self> {
        toml::from_str(text).map_err(|e| anyhow::anyhow!("`{}`: {e}", origin.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_yields_the_defaults() {
        let config = Config::parse("", Path::new("scopegate.toml")).unwrap();

        assert_eq!(config, Config::default());
        assert_eq!(config.audit.path, PathBuf::from("logs/audit.jsonl"));
        assert_eq!(config.verify.leeway_seconds, 60);
    }

    #[test]
    fn a_set_value_overrides_only_its_own_default() {
        let config = Config::parse(
            "[audit]\npath = \"/var/log/sg.jsonl\"\n",
            Path::new("a.toml"),
        )
        .unwrap();

        assert_eq!(config.audit.path, PathBuf::from("/var/log/sg.jsonl"));
        assert_eq!(config.keys, KeysConfig::default());
    }

    #[test]
    fn unknown_key_is_refused_naming_the_key_and_the_file() {
        let err = Config::parse("[audit]\npth = \"x\"\n", Path::new("conf/sg.toml")).unwrap_err();

        let message = format!("{err:#}");
        assert!(message.starts_with("`conf/sg.toml`: "), "{message}");
        assert!(message.contains("unknown field `pth`"), "{message}");
    }

    #[test]
    fn unknown_section_is_refused() {
        let err = Config::parse("[audti]\n", Path::new("sg.toml")).unwrap_err();

        assert!(
            format!("{err:#}").contains("unknown field `audti`"),
            "{err:#}"
        );
    }

    #[test]
    fn unknown_algorithm_is_refused() {
        let err =
            Config::parse("[keys]\nalgorithm = \"HS256\"\n", Path::new("sg.toml")).unwrap_err();

        let message = format!("{err:#}");
        assert!(message.starts_with("`sg.toml`: "), "{message}");
        assert!(message.contains("unknown variant `HS256`"), "{message}");
    }

    #[test]
    fn explicit_missing_file_is_an_error() {
        let err = Config::load(Some(Path::new("does/not/exist.toml"))).unwrap_err();

        assert!(
            format!("{err:#}").contains("cannot read configuration file"),
            "{err:#}"
        );
    }
}
