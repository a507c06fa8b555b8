//! `scopegate demo`: the design note's "token scoping in action" script, run for real and
//! checked step by step, against a running `scopegate up` or one started in-process.
//!
//! Every step says what it did, what came back and what that proves; the command exits 1 if
//! any step does not behave as the design promises.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use rmcp::model::{CallToolRequestParams, CallToolResult, ClientConfig};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt as _};
use scopegate_token::dangerous::decode_unverified;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::serve::{Roles, apply, bind_roles};
use super::token::current_totp;
use crate::cli::ServeArgs;
use crate::client::{IdpClient, access_token};
use crate::config::Config;
use crate::serve::{self, Shared};

/// The message the actions API gives an MCP token used directly (design note, step 3).
const MCP_TOKEN_MESSAGE: &str = "Token scope 'mcp:use' not valid for direct API access";
/// The person the demo acts for.
const USER: &str = "EMP001";

type McpClient = RunningService<RoleClient, ClientConfig>;

pub(super) fn run(args: &ServeArgs, mut config: Config) -> anyhow::Result<ExitCode> {
    apply(args, &mut config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(demo(config))
}

async fn demo(config: Config) -> anyhow::Result<ExitCode> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .context("cannot build the HTTP client")?;
    let local = if answers(&http, &config.issuer()).await {
        say(&format!(
            "Using the scopegate already running at {}.",
            config.issuer()
        ));
        None
    } else {
        say("No scopegate answers; starting one in this process.");
        Some(start_in_process(config.clone()).await?)
    };

    let mut script = Script::new(config, http)?;
    let outcome = script.run().await;

    if let Some((stop, done)) = local {
        let _ = stop.send(());
        done.await
            .context("the in-process scopegate did not stop")??;
    }
    outcome?;
    say("");
    if script.failures == 0 {
        say(
            "All steps behaved as designed. Even if the MCP server is compromised, the attacker has",
        );
        say("a five-minute token that the API refuses outside the MCP context, that cannot reach");
        say(
            "payroll without the person's fresh multi-factor login, and that dies with a revocation.",
        );
        Ok(ExitCode::SUCCESS)
    } else {
        say(&format!(
            "{} check(s) did not behave as designed (marked ✗ above).",
            script.failures
        ));
        Ok(ExitCode::FAILURE)
    }
}

async fn answers(http: &reqwest::Client, issuer: &str) -> bool {
    let probe = http
        .get(format!("{issuer}/healthz"))
        .timeout(Duration::from_millis(500));
    probe
        .send()
        .await
        .is_ok_and(|response| response.status().is_success())
}

type Running = (
    oneshot::Sender<()>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
);

async fn start_in_process(config: Config) -> anyhow::Result<Running> {
    let shared = Shared::open(config)?;
    let bound = bind_roles(Roles::All, &shared).await?;
    let (stop, stopped) = oneshot::channel();
    let done = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        serve::serve_until(bound, &shared.audit, shutdown).await
    });
    Ok((stop, done))
}

/// The script's state: the tokens it obtained along the way and how many checks failed.
struct Script {
    config: Config,
    http: reqwest::Client,
    idp: IdpClient,
    failures: usize,
}

impl Script {
    fn new(config: Config, http: reqwest::Client) -> anyhow::Result<Self> {
        let idp = IdpClient::new(&config.issuer(), "chainlit-app", "chainlit-dev-secret")?;
        Ok(Self {
            config,
            http,
            idp,
            failures: 0,
        })
    }

    async fn run(&mut self) -> anyhow::Result<()> {
        let user_token = self.user_token().await?;
        let mcp_token = self.exchange(&user_token).await?;
        self.direct_api_call(&mcp_token).await?;
        let client = self.through_mcp(&mcp_token).await?;
        self.audit_trail()?;
        self.step_up(&client).await?;
        self.revocation(&client, &user_token, &mcp_token).await?;
        client
            .cancel()
            .await
            .context("cannot close the MCP session")?;
        Ok(())
    }

    /// Step 1: the person's own token lives an hour.
    async fn user_token(&mut self) -> anyhow::Result<String> {
        step(1, "The user signs in: a one-hour user token");
        let response = self.idp.login(USER, "demo-password", None, None).await?;
        let token = access_token(&response)?.to_owned();
        let claims = claims(&token)?;
        did(&format!(
            "POST /oauth2/v1/token grant_type=password username={USER}"
        ));
        saw(&format!(
            "sub={} amr={} exp - iat = {} s",
            claims["sub"],
            claims["amr"],
            lifetime(&claims)
        ));
        self.check(
            lifetime(&claims) == 3600,
            "the user token lives exactly 3600 s",
        );
        proves("a person's token is long-lived: exactly what must not reach an agent as is");
        Ok(token)
    }

    /// Step 2: the chat app swaps it for five minutes at the MCP server only.
    async fn exchange(&mut self, user_token: &str) -> anyhow::Result<String> {
        step(
            2,
            "The chat app exchanges it (RFC 8693): a five-minute MCP token",
        );
        let response = self.idp.exchange(user_token, Some("mcp:use"), None).await?;
        let token = access_token(&response)?.to_owned();
        let (claims, user) = (claims(&token)?, self::claims(user_token)?);
        did(
            "POST /oauth2/v1/token grant_type=urn:ietf:params:oauth:grant-type:token-exchange scope=mcp:use",
        );
        saw(&format!(
            "exp - iat = {} s, scope = {}, aud = {}, acting_as = {}",
            lifetime(&claims),
            claims["scope"],
            claims["aud"],
            claims["acting_as"]
        ));
        self.check(lifetime(&claims) == 300, "the MCP token lives 300 s");
        self.check(
            claims["scope"] == json!(["mcp:use"]),
            "its only scope is mcp:use",
        );
        self.check(
            claims["acting_as"] == "mcp-server",
            "it names the MCP server as the actor",
        );
        self.check(
            claims["original_token_id"] == user["jti"] && claims["auth_time"] == user["auth_time"],
            "it remembers the user token it came from and the person's real login time",
        );
        proves("the token an agent holds is short-lived, narrow, and traceable to its origin");
        Ok(token)
    }

    /// Step 3: outside the MCP context the token is worthless.
    async fn direct_api_call(&mut self, mcp_token: &str) -> anyhow::Result<()> {
        step(3, "Someone uses the MCP token directly on the actions API");
        let url = format!("{}/actions/workday.hcm/get_employee", self.config.api_url());
        let response = self.http.get(&url).bearer_auth(mcp_token).send().await?;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        did(&format!("GET {url} with the MCP token"));
        saw(&format!("{status} {}", body["error_description"]));
        self.check(status == 403, "the API answers 403");
        self.check(
            body["error_description"] == MCP_TOKEN_MESSAGE,
            "with the design note's message",
        );
        proves("a stolen MCP token cannot be replayed against the enterprise API");
        Ok(())
    }

    /// Step 4: the same action through the MCP server works, on a token of its own.
    async fn through_mcp(&mut self, mcp_token: &str) -> anyhow::Result<McpClient> {
        step(4, "The same action through the MCP server");
        let client = connect(&self.config.mcp_url(), mcp_token).await?;
        let result = call(&client, "workday_hcm_get_employee").await?;
        let profile = result.structured_content.clone().unwrap_or(Value::Null);
        did(&format!(
            "MCP tools/call workday_hcm_get_employee at {}",
            self.config.mcp_url()
        ));
        saw(&format!(
            "{} — {}, {}",
            profile["name"], profile["title"], profile["department"]
        ));
        self.check(result.is_error != Some(true), "the tool call succeeds");
        self.check(
            profile["employee_id"] == USER,
            "with the person's own record",
        );
        proves("the MCP server exchanged the token for its own, on the person's behalf");
        Ok(client)
    }

    /// Step 5: the audit trail says who acted, through whom, with what token.
    fn audit_trail(&mut self) -> anyhow::Result<()> {
        step(5, "The audit log's last record");
        let path = &self.config.audit.path.clone();
        let log = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read `{}`: run the demo where `scopegate up` runs",
                path.display()
            )
        })?;
        let Some(last) = log.lines().last() else {
            bail!("the audit log `{}` is empty", path.display());
        };
        let record: Value = serde_json::from_str(last).context("the last audit line")?;
        did(&format!("tail -1 {} | jq", path.display()));
        saw(&serde_json::to_string_pretty(&record)?);
        self.check(
            record["acting_through"] == "mcp-server",
            "acting_through = \"mcp-server\"",
        );
        self.check(
            record["token_ttl_seconds"] == 300,
            "token_ttl_seconds = 300",
        );
        self.check(
            record["token_type"] == "exchanged",
            "token_type = \"exchanged\"",
        );
        let report = scopegate_audit::verify_file(path, None)?;
        self.check(
            report.is_intact(),
            "and the hash chain of the whole log verifies",
        );
        proves("every action is attributable: person, agent, token lifetime, policy, result");
        Ok(())
    }

    /// Step 6: payroll needs a fresh multi-factor login; the agent cannot fake one.
    async fn step_up(&mut self, client: &McpClient) -> anyhow::Result<()> {
        step(
            6,
            "Payroll asks for a fresh multi-factor login (RFC 9470 step-up)",
        );
        let challenged = call(client, "workday_payroll_get_compensation").await?;
        let detail = challenged.structured_content.clone().unwrap_or(Value::Null);
        did("MCP tools/call workday_payroll_get_compensation with the password-only session");
        saw(&format!("{}: {}", detail["error"], text(&challenged)));
        self.check(
            challenged.is_error == Some(true),
            "the call is refused as a tool result",
        );
        self.check(
            detail["error"] == "insufficient_user_authentication" && detail["max_age"] == 300,
            "with a step-up challenge: MFA within 300 s",
        );

        let fresh = self.mfa_login().await?;
        let fresh_mcp = access_token(
            &self
                .idp
                .exchange(access_token(&fresh)?, Some("mcp:use"), None)
                .await?,
        )?
        .to_owned();
        let stepped_up = connect(&self.config.mcp_url(), &fresh_mcp).await?;
        let paid = call(&stepped_up, "workday_payroll_get_compensation").await?;
        let pay = paid.structured_content.clone().unwrap_or(Value::Null);
        did("sign in again with password + authenticator code, exchange, call again");
        saw(&format!(
            "{} {} ({})",
            pay["base_salary"], pay["currency"], pay["pay_frequency"]
        ));
        self.check(
            paid.is_error != Some(true),
            "after the fresh MFA login the call succeeds",
        );
        stepped_up
            .cancel()
            .await
            .context("cannot close the MCP session")?;
        proves("sensitive actions need the person, now; a session alone is not enough");
        Ok(())
    }

    /// Step 7: revoking the user token kills every token exchanged from it.
    async fn revocation(
        &mut self,
        client: &McpClient,
        user_token: &str,
        mcp_token: &str,
    ) -> anyhow::Result<()> {
        step(7, "The user token is revoked");
        self.idp.revoke(user_token).await?;
        let introspected = self.idp.introspect(mcp_token).await?;
        let refused = call(client, "workday_hcm_get_employee").await?;
        let detail = refused.structured_content.clone().unwrap_or(Value::Null);
        did("POST /oauth2/v1/revoke the user token, then use the MCP token from step 2 again");
        saw(&format!(
            "introspection active={}; tool call: {}",
            introspected["active"],
            text(&refused)
        ));
        self.check(
            introspected["active"] == false,
            "the MCP token introspects as inactive",
        );
        self.check(
            refused.is_error == Some(true) && detail["error"] == "session_invalid",
            "the MCP server refuses the next call",
        );
        proves("one revocation cuts off the person's agents everywhere, at once");
        Ok(())
    }

    /// A password + TOTP login. A code works once (RFC 6238 §5.2), so when this user's current
    /// code was already used (the demo ran moments ago) it waits for the next one.
    async fn mfa_login(&self) -> anyhow::Result<Value> {
        let totp = current_totp(&self.config, USER)?;
        match self
            .idp
            .login(USER, "demo-password", Some(&totp), None)
            .await
        {
            Err(e) if e.to_string().contains("already used") => {
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                let wait = 30 - now.rem_euclid(30) + 1;
                say(&format!(
                    "  (this code was already used; waiting {wait} s for the next one)"
                ));
                tokio::time::sleep(Duration::from_secs(wait.unsigned_abs())).await;
                let totp = current_totp(&self.config, USER)?;
                self.idp
                    .login(USER, "demo-password", Some(&totp), None)
                    .await
            }
            other => other,
        }
    }

    fn check(&mut self, ok: bool, what: &str) {
        if ok {
            say(&format!("    ✓ {what}"));
        } else {
            self.failures += 1;
            say(&format!("    ✗ {what}: NOT as expected"));
        }
    }
}

async fn connect(url: &str, token: &str) -> anyhow::Result<McpClient> {
    let config = StreamableHttpClientTransportConfig::with_uri(url.to_owned()).auth_header(token);
    let transport = StreamableHttpClientTransport::from_config(config);
    ClientConfig::default()
        .serve(transport)
        .await
        .with_context(|| format!("cannot open an MCP session at `{url}`"))
}

async fn call(client: &McpClient, tool: &str) -> anyhow::Result<CallToolResult> {
    let params = CallToolRequestParams::new(tool.to_owned());
    client
        .call_tool(params)
        .await
        .with_context(|| format!("tools/call `{tool}` failed"))
}

fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|content| content.as_text().map(|text| text.text.clone()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn claims(token: &str) -> anyhow::Result<Value> {
    Ok(decode_unverified(token)?.claims)
}

fn lifetime(claims: &Value) -> i64 {
    let at = |name| claims[name].as_i64().unwrap_or_default();
    at("exp") - at("iat")
}

fn step(number: u8, title: &str) {
    say(&format!("\nStep {number}. {title}"));
}

fn did(what: &str) {
    say(&format!("  did:    {what}"));
}

fn saw(what: &str) {
    let indented = what.replace('\n', "\n          ");
    say(&format!("  saw:    {indented}"));
}

fn proves(what: &str) {
    say(&format!("  proves: {what}"));
}

/// The demo's narration goes to stdout; a closed pipe ends it quietly.
fn say(text: &str) {
    let _ = super::print_line(text);
}
