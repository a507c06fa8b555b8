//! A small OAuth client for the CLI and the demo: password login, token exchange,
//! introspection and revocation against the identity provider's token endpoints.

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;

/// The grant type URN of RFC 8693 §2.1.
pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The token type URN of an access token (RFC 8693 §3).
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// An authenticated client of one identity provider.
#[derive(Debug, Clone)]
pub struct IdpClient {
    http: reqwest::Client,
    issuer: String,
    client_id: String,
    client_secret: String,
}

/// A token endpoint answer that was not a success, kept whole for the caller to show.
#[derive(Debug, thiserror::Error)]
#[error("the identity provider answered {status}: {body}")]
pub struct OAuthError {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body (`error`, `error_description`).
    pub body: Value,
}

impl IdpClient {
    /// A client for `issuer` authenticating with `client_secret_basic` (RFC 6749 §2.3.1).
    ///
    /// # Errors
    ///
    /// The HTTP client cannot be built.
    pub fn new(issuer: &str, client_id: &str, client_secret: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Self {
            http,
            issuer: issuer.trim_end_matches('/').to_owned(),
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
        })
    }

    /// The password grant (development IdP): a user token.
    ///
    /// # Errors
    ///
    /// [`OAuthError`] for a refusal; transport errors otherwise.
    pub async fn login(
        &self,
        user: &str,
        password: &str,
        totp: Option<&str>,
        scope: Option<&str>,
    ) -> anyhow::Result<Value> {
        let mut form = vec![
            ("grant_type", "password"),
            ("username", user),
            ("password", password),
        ];
        form.extend(totp.map(|code| ("totp", code)));
        form.extend(scope.map(|scope| ("scope", scope)));
        self.post("/oauth2/v1/token", &form).await
    }

    /// Token exchange (RFC 8693 §2.1) of `subject_token` for an access token.
    ///
    /// # Errors
    ///
    /// [`OAuthError`] for a refusal; transport errors otherwise.
    pub async fn exchange(
        &self,
        subject_token: &str,
        scope: Option<&str>,
        audience: Option<&str>,
    ) -> anyhow::Result<Value> {
        let mut form = vec![
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", subject_token),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
            ("requested_token_type", ACCESS_TOKEN_TYPE),
        ];
        form.extend(scope.map(|scope| ("scope", scope)));
        form.extend(audience.map(|audience| ("audience", audience)));
        self.post("/oauth2/v1/token", &form).await
    }

    /// Introspection (RFC 7662): `{"active": false}` or the token's claims.
    ///
    /// # Errors
    ///
    /// [`OAuthError`] for a refusal; transport errors otherwise.
    pub async fn introspect(&self, token: &str) -> anyhow::Result<Value> {
        self.post("/oauth2/v1/introspect", &[("token", token)])
            .await
    }

    /// Revocation (RFC 7009); succeeds for unknown tokens too.
    ///
    /// # Errors
    ///
    /// [`OAuthError`] for a refusal; transport errors otherwise.
    pub async fn revoke(&self, token: &str) -> anyhow::Result<()> {
        self.post("/oauth2/v1/revoke", &[("token", token)])
            .await
            .map(drop)
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.issuer);
        let response = self
            .http
            .post(&url)
            .basic_auth(&self.client_id, Some(&self.client_secret))
            .form(form)
            .send()
            .await
            .with_context(|| format!("cannot reach the identity provider at `{url}`"))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .context("cannot read the IdP's answer")?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).context("the IdP's answer is not JSON")?
        };
        if !status.is_success() {
            return Err(OAuthError {
                status: status.as_u16(),
                body,
            }
            .into());
        }
        Ok(body)
    }
}

/// The `access_token` member of a token response.
///
/// # Errors
///
/// The response has no string `access_token`.
pub fn access_token(response: &Value) -> anyhow::Result<&str> {
    match response.get("access_token").and_then(Value::as_str) {
        Some(token) => Ok(token),
        None => bail!("the token response has no `access_token`: {response}"),
    }
}
