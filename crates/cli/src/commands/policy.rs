//! `scopegate policy check|lint`: answer "would this token be allowed, and why not?" offline.

use std::process::ExitCode;

use anyhow::{Context, bail};
use scopegate_gateway::{CapabilityName, resolve_target};
use scopegate_policy::{PrincipalType, Request, Subject, Target, lint};
use scopegate_token::dangerous::decode_unverified;
use serde_json::Value;

use super::{print_line, read_argument};
use crate::cli::PolicyCommand;
use crate::config::Config;
use crate::serve::{Catalogue, catalogue};

pub(super) fn run(command: PolicyCommand, config: &Config) -> anyhow::Result<ExitCode> {
    let Catalogue {
        capabilities,
        policies,
        fixture,
        policies_text,
        policies_origin,
    } = catalogue(config)?;
    match command {
        PolicyCommand::Check {
            token,
            capability,
            args,
        } => {
            let token = read_argument(&token)?;
            let claims = decode_unverified(&token)?.claims;
            eprintln!("note: the token's signature was not checked; deciding on its claims");
            let subject = subject(&claims)?;
            let name = CapabilityName::parse(&capability)?;
            let Some(declared) = capabilities.get(&name) else {
                bail!("capability `{capability}` is not registered");
            };
            let named = argument(&args, declared.target_argument())?;
            let target = match declared.target_argument() {
                None => Target::None,
                Some(_) => resolve_target(
                    fixture.as_ref(),
                    &subject.sub,
                    Some(named.as_deref().unwrap_or(&subject.sub)),
                ),
            };
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let decision = policies.evaluate(
                &subject,
                &Request {
                    capability: &capability,
                    target,
                },
                now,
            );
            print_line(&decision.explain().to_string())?;
            Ok(if decision.is_allow() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
        PolicyCommand::Lint { path } => {
            let (text, origin) = match path {
                Some(path) => (
                    std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read `{}`", path.display()))?,
                    path.display().to_string(),
                ),
                None => (policies_text, policies_origin),
            };
            let warnings = lint(&text, &origin, &capabilities.names())?;
            for warning in &warnings {
                print_line(&format!("warning: {warning}"))?;
            }
            print_line(&format!(
                "ok: `{origin}` is valid ({} warnings)",
                warnings.len()
            ))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The value of the capability's target argument among `--arg k=v`, if given.
fn argument(args: &[String], target: Option<&str>) -> anyhow::Result<Option<String>> {
    let mut found = None;
    for arg in args {
        let Some((key, value)) = arg.split_once('=') else {
            bail!("`--arg {arg}`: write it as KEY=VALUE");
        };
        if Some(key) == target {
            found = Some(value.to_owned());
        }
    }
    Ok(found)
}

/// The policy subject of a token's claims, as the actions API builds it.
fn subject(claims: &Value) -> anyhow::Result<Subject> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
    let list = |name: &str| -> Vec<String> {
        match claims.get(name) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            Some(Value::String(spaced)) => spaced.split(' ').map(str::to_owned).collect(),
            _ => Vec::new(),
        }
    };
    let sub = text("sub").context("the token has no `sub`")?;
    let principal_type: PrincipalType = text("principal_type")
        .context("the token has no `principal_type`")?
        .parse()?;
    Ok(Subject {
        sub,
        principal_type,
        groups: list("groups"),
        scopes: list("scope"),
        amr: list("amr"),
        acr: text("acr"),
        auth_time: claims.get("auth_time").and_then(Value::as_i64),
        actor: claims
            .get("act")
            .and_then(|act| act.get("sub"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        // Nothing is asked online here: a `token_active` condition shows as unchecked.
        token_active: None,
    })
}
