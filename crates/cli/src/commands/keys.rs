//! `scopegate keys …`: list and rotate the IdP's signing keys.

use std::process::ExitCode;
use std::sync::Arc;

use scopegate_token::{KeyInfo, SystemClock};

use super::print_line;
use crate::cli::KeysCommand;
use crate::config::Config;
use crate::serve::open_keys;

pub(super) fn run(command: KeysCommand, config: &Config) -> anyhow::Result<ExitCode> {
    let store = open_keys(config, Arc::new(SystemClock))?;
    match command {
        KeysCommand::List => {
            print_line(&format!(
                "{:<44} {:<6} {:<8} {:<21} PUBLISHED UNTIL",
                "KID", "ALG", "STATE", "CREATED"
            ))?;
            for key in store.list() {
                print_line(&row(&key))?;
            }
        }
        KeysCommand::Rotate => {
            let key = store.rotate()?;
            tracing::info!(key.kid = %key.kid, key.alg = %key.algorithm, "rotated signing key");
            print_line(&format!("new active key {} ({})", key.kid, key.algorithm))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn row(key: &KeyInfo) -> String {
    let state = if key.active { "active" } else { "retired" };
    let until = key
        .published_until
        .map_or_else(|| "-".to_owned(), |t| t.to_string());
    format!(
        "{:<44} {:<6} {:<8} {:<21} {}",
        key.kid, key.algorithm, state, key.created_at, until
    )
}
