//! `scopegate token …`: look at tokens.

use std::process::ExitCode;

use scopegate_token::dangerous::decode_unverified;
use serde_json::{Value, json};

use super::{print_json, read_argument};
use crate::cli::TokenCommand;

pub(super) fn run(command: TokenCommand) -> anyhow::Result<ExitCode> {
    match command {
        TokenCommand::Decode { token } => decode(&token),
    }
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
