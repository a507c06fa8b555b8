//! `scopegate token …`: look at tokens.

use std::process::ExitCode;

use anyhow::Context;
use scopegate_idp::admin::totp_code;
use scopegate_token::NumericDate;
use scopegate_token::dangerous::decode_unverified;
use serde_json::{Value, json};

use super::{block_on, print_json, print_line, read_argument};
use crate::cli::{ClientArgs, TokenCommand};
use crate::client::{IdpClient, access_token};
use crate::config::Config;

/// The development directory's password for every demo user.
const DEV_PASSWORD: &str = "demo-password";
/// The development secret of the embedded directory's `chainlit-app` client.
const DEV_CHAT_SECRET: &str = "chainlit-dev-secret";

pub(super) fn run(command: TokenCommand, config: &Config) -> anyhow::Result<ExitCode> {
    match command {
        TokenCommand::Decode { token } => decode(&token),
        TokenCommand::Login {
            user,
            password,
            totp,
            totp_auto,
            scope,
            client,
        } => {
            let totp = match (totp, totp_auto) {
                (Some(code), _) => Some(code),
                (None, true) => Some(current_totp(config, &user)?),
                (None, false) => None,
            };
            let password = password.as_deref().map(read_argument).transpose()?;
            let idp = idp_client(&client, config)?;
            let response = block_on(idp.login(
                &user,
                password.as_deref().unwrap_or(DEV_PASSWORD),
                totp.as_deref(),
                scope.as_deref(),
            ))?;
            print_token(&response, client.json)
        }
        TokenCommand::Exchange {
            subject_token,
            scope,
            audience,
            client,
        } => {
            let subject = read_argument(&subject_token)?;
            let idp = idp_client(&client, config)?;
            let response = block_on(idp.exchange(&subject, scope.as_deref(), audience.as_deref()))?;
            print_token(&response, client.json)
        }
        TokenCommand::Introspect { token, client } => {
            let token = read_argument(&token)?;
            let answer = block_on(idp_client(&client, config)?.introspect(&token))?;
            print_json(&answer)?;
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::Revoke { token, client } => {
            let token = read_argument(&token)?;
            block_on(idp_client(&client, config)?.revoke(&token))?;
            eprintln!("revoked (tokens exchanged from it are refused from now on)");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn idp_client(args: &ClientArgs, config: &Config) -> anyhow::Result<IdpClient> {
    let issuer = args.issuer.clone().unwrap_or_else(|| config.issuer());
    let secret = match &args.client_secret {
        Some(secret) => read_argument(secret)?,
        None => DEV_CHAT_SECRET.to_owned(),
    };
    IdpClient::new(&issuer, &args.client_id, &secret)
}

/// The user's current code from the directory in force (development only: a real IdP never
/// lets a client read TOTP secrets).
pub(super) fn current_totp(config: &Config, user: &str) -> anyhow::Result<String> {
    let directory = crate::serve::directory(config)?;
    let now = NumericDate::from_unix_seconds(time::OffsetDateTime::now_utc().unix_timestamp())
        .context("the system clock is outside the supported range")?;
    Ok(totp_code(&directory, user, now)?.code)
}

/// The token alone (for `$(…)` in shell scripts), or the whole response with `--json`.
fn print_token(response: &Value, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        print_json(response)?;
    } else {
        print_line(access_token(response)?)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints header and claims as JSON with the derived `ttl` and `expires_in`, after a warning
/// on stderr that nothing was verified.
fn decode(argument: &str) -> anyhow::Result<ExitCode> {
    let token = read_argument(argument)?;
    let unverified = decode_unverified(&token)?;

    eprintln!("warning: decoded without verifying the signature, issuer, audience or expiry");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    print_json(&describe(unverified.header, unverified.claims, now))?;
    Ok(ExitCode::SUCCESS)
}

/// `ttl` is the lifetime the issuer gave (`exp - iat`); `expires_in` what is left of it now.
fn describe(header: Value, claims: Value, now: i64) -> Value {
    let exp = claims.get("exp").and_then(Value::as_i64);
    let iat = claims.get("iat").and_then(Value::as_i64);
    let ttl = exp.zip(iat).map(|(exp, iat)| exp - iat);
    let expires_in = exp.map(|exp| exp - now);
    json!({ "header": header, "claims": claims, "ttl": ttl, "expires_in": expires_in })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_lifetime_and_time_left() {
        let claims = json!({"sub": "EMP001", "iat": 1_000, "exp": 4_600});

        let described = describe(json!({"alg": "ES256"}), claims, 1_600);

        assert_eq!(described["ttl"], 3600);
        assert_eq!(described["expires_in"], 3000);
        assert_eq!(described["claims"]["sub"], "EMP001");
        assert_eq!(described["header"]["alg"], "ES256");
    }

    #[test]
    fn missing_times_give_null_rather_than_a_guess() {
        let described = describe(json!({}), json!({"sub": "x"}), 0);

        assert_eq!(described["ttl"], Value::Null);
        assert_eq!(described["expires_in"], Value::Null);
    }
}
