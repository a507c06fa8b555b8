//! `scopegate directory …`: help an administrator fill the IdP's directory file.

use std::process::ExitCode;

use anyhow::{Context, bail};
use scopegate_idp::admin::{
    generate_client_secret, generate_totp_secret, password_hash_entry, secret_digest_entry,
    totp_code,
};
use scopegate_token::NumericDate;

use super::{print_line, read_argument};
use crate::cli::{DirectoryCommand, SecretKind};
use crate::config::Config;

pub(super) fn run(command: DirectoryCommand, config: &Config) -> anyhow::Result<ExitCode> {
    match command {
        DirectoryCommand::Totp { user } => {
            let directory = crate::serve::directory(config)?;
            let now =
                NumericDate::from_unix_seconds(time::OffsetDateTime::now_utc().unix_timestamp())
                    .context("the system clock is outside the supported range")?;
            let code = totp_code(&directory, &user, now)?;
            print_line(&code.code)?;
            eprintln!("valid for {} more seconds", code.valid_for_seconds);
        }
        DirectoryCommand::HashSecret { kind, value } => hash_secret(kind, value.as_deref())?,
    }
    Ok(ExitCode::SUCCESS)
}

fn hash_secret(kind: SecretKind, value: Option<&str>) -> anyhow::Result<()> {
    let value = value.map(read_argument).transpose()?;
    match (kind, value) {
        (SecretKind::Password, Some(password)) => print_line(&password_hash_entry(&password)?),
        (SecretKind::Password, None) => {
            bail!("give the password to hash (`@file` or `-` for stdin)")
        }
        (SecretKind::ClientSecret, Some(secret)) => print_line(&secret_digest_entry(&secret)),
        (SecretKind::ClientSecret, None) => {
            let secret = generate_client_secret()?;
            eprintln!("generated client secret (give it to the client; it is not stored):");
            print_line(&secret)?;
            print_line(&secret_digest_entry(&secret))
        }
        (SecretKind::Totp, Some(_)) => bail!("a TOTP secret is generated, not given"),
        (SecretKind::Totp, None) => {
            print_line(&format!("totp_secret = \"{}\"", generate_totp_secret()?))
        }
    }
}
