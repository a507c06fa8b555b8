//! Command-line grammar (clap derive). Every flag that mirrors a configuration setting also
//! reads a `SCOPEGATE_*` environment variable, and both win over `scopegate.toml`.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Authorization layer for AI agents acting for people.
#[derive(Debug, Parser)]
#[command(name = "scopegate", version, about, propagate_version = true)]
pub struct Cli {
    /// Configuration file (default: ./scopegate.toml when present, else built-in defaults).
    #[arg(long, global = true, env = "SCOPEGATE_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The command groups.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the identity provider, the actions API and the MCP server in one process.
    Up(ServeArgs),
    /// Run only the development identity provider.
    Idp(ServeArgs),
    /// Run only the actions API (it fetches the IdP's keys by discovery).
    Api(ServeArgs),
    /// Run only the MCP server: Streamable HTTP, or `--stdio` for local clients.
    Mcp {
        /// Serve one local client over standard input and output, with the token in
        /// `SCOPEGATE_TOKEN`; logs go to standard error.
        #[arg(long)]
        stdio: bool,
        /// Where to listen and write.
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Write the built-in configuration, policies, directory, capabilities and Workday data
    /// as editable files; `up` then uses them.
    Init {
        /// Where to write them (created if missing).
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Overwrite files that already exist.
        #[arg(long)]
        force: bool,
    },
    /// Walk through the design note's "token scoping in action" script against a running
    /// `scopegate up` (or one started in-process), proving each step.
    Demo(ServeArgs),
    /// Work with access tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Check and explain policy decisions without calling anything.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Help with the IdP's directory file.
    #[command(subcommand)]
    Directory(DirectoryCommand),
    /// Read and verify the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Manage the signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

/// Where the servers listen and write; each flag overrides `scopegate.toml`.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// The address to listen on.
    #[arg(long, env = "SCOPEGATE_BIND", value_name = "IP")]
    pub bind: Option<IpAddr>,
    /// The identity provider's port.
    #[arg(long, env = "SCOPEGATE_IDP_PORT", value_name = "PORT")]
    pub idp_port: Option<u16>,
    /// The actions API's port.
    #[arg(long, env = "SCOPEGATE_API_PORT", value_name = "PORT")]
    pub api_port: Option<u16>,
    /// The MCP server's port.
    #[arg(long, env = "SCOPEGATE_MCP_PORT", value_name = "PORT")]
    pub mcp_port: Option<u16>,
    /// The audit log file.
    #[arg(long, env = "SCOPEGATE_AUDIT_LOG", value_name = "PATH")]
    pub audit_log: Option<PathBuf>,
    /// The directory for the IdP database and, unless `keys.dir` is set, the keys.
    #[arg(long, env = "SCOPEGATE_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// How the CLI reaches the identity provider and authenticates as a client.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// The issuer URL (default: the configured issuer, `http://127.0.0.1:9000`).
    #[arg(long, env = "SCOPEGATE_ISSUER", value_name = "URL")]
    pub issuer: Option<String>,
    /// The OAuth client to authenticate as.
    #[arg(long, env = "SCOPEGATE_CLIENT_ID", default_value = "chainlit-app")]
    pub client_id: String,
    /// The client's secret (default: the development secret of the embedded directory's
    /// `chainlit-app`). Use `@file` or the environment to keep it out of shell history.
    #[arg(long, env = "SCOPEGATE_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,
    /// Print the whole JSON response instead of the token alone.
    #[arg(long)]
    pub json: bool,
}

/// `scopegate token …`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Sign a user in with the password grant (development IdP) and print the access token.
    Login {
        /// The user id, e.g. `EMP001`.
        #[arg(long)]
        user: String,
        /// The password (default: `demo-password`, the development directory's).
        #[arg(long, env = "SCOPEGATE_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// An authenticator (TOTP) code: the login then counts as multi-factor.
        #[arg(long, conflicts_with = "totp_auto")]
        totp: Option<String>,
        /// Compute the TOTP code from the directory's secret (development only).
        #[arg(long)]
        totp_auto: bool,
        /// Scopes to ask for, space-separated (default: the client's default scopes).
        #[arg(long)]
        scope: Option<String>,
        /// The identity provider and client to use.
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Exchange a token for a narrower one (RFC 8693) and print it.
    Exchange {
        /// The token to exchange: the value, `@file`, or `-` for standard input.
        #[arg(long)]
        subject_token: String,
        /// Scopes to ask for, space-separated (default: the client's exchange policy).
        #[arg(long)]
        scope: Option<String>,
        /// The target audience (default: the client's exchange policy, for the chat app the
        /// MCP server).
        #[arg(long)]
        audience: Option<String>,
        /// The identity provider and client to use.
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Ask the IdP whether a token is active (RFC 7662) and print its answer.
    Introspect {
        /// The token: the value, `@file`, or `-` for standard input.
        token: String,
        /// The identity provider and client to use.
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Revoke a token (RFC 7009); tokens exchanged from it stop working too.
    Revoke {
        /// The token: the value, `@file`, or `-` for standard input.
        token: String,
        /// The identity provider and client to use.
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Print a token's header and claims WITHOUT verifying its signature.
    Decode {
        /// The compact JWT, `@file` to read it from a file, or `-` for standard input.
        token: String,
    },
}

/// `scopegate audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain of an audit file and report the first broken line.
    Verify {
        /// The audit file (default: the configured `audit.path`).
        path: Option<PathBuf>,
        /// The head recorded earlier (`SEQ:HASH`), to detect lines cut from the end.
        #[arg(long, value_name = "SEQ:HASH")]
        expect_head: Option<String>,
    },
    /// Print the last records, optionally filtered, and optionally keep following the file.
    Tail(TailArgs),
}

/// `scopegate audit tail …`
#[derive(Debug, Args)]
pub struct TailArgs {
    /// The audit file (default: the configured `audit.path`).
    pub path: Option<PathBuf>,
    /// How many records to print before following.
    #[arg(short = 'n', long, default_value_t = 10)]
    pub lines: usize,
    /// Keep printing records as they are appended.
    #[arg(short, long)]
    pub follow: bool,
    /// Only records whose `actor` is this subject.
    #[arg(long)]
    pub actor: Option<String>,
    /// Only records for this capability.
    #[arg(long)]
    pub capability: Option<String>,
    /// Only records with this `result` (e.g. `success`, `denied`, `step_up`).
    #[arg(long)]
    pub result: Option<String>,
}

/// `scopegate policy …`
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Print the decision the policies in force would make for a token and a capability.
    Check {
        /// The token (`@file` or `-` for stdin). Its claims are read without checking the
        /// signature: this answers "what would the policy decide for these claims".
        #[arg(long)]
        token: String,
        /// The capability, e.g. `workday.payroll.get_compensation`.
        #[arg(long)]
        capability: String,
        /// A call argument, e.g. `--arg employee_id=EMP002`; repeatable.
        #[arg(long = "arg", value_name = "KEY=VALUE")]
        args: Vec<String>,
    },
    /// Validate a policy file against the registered capabilities.
    Lint {
        /// The file (default: the configured `api.policies`, else the built-in policies).
        path: Option<PathBuf>,
    },
}

/// `scopegate directory …`
#[derive(Debug, Subcommand)]
pub enum DirectoryCommand {
    /// Print a user's current TOTP code (development directories only).
    Totp {
        /// The user id, e.g. `EMP001`.
        user: String,
    },
    /// Turn a password or client secret into the line to paste into the directory file.
    HashSecret {
        /// What the value is.
        #[arg(long, value_enum, default_value = "password")]
        kind: SecretKind,
        /// The value (`@file` or `-` for stdin); omit it to generate a client secret or a TOTP
        /// secret.
        value: Option<String>,
    },
}

/// What `directory hash-secret` prepares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SecretKind {
    /// A user's password: an argon2id `password_hash`.
    Password,
    /// A confidential client's secret: its SHA-256 `secret_digest`.
    ClientSecret,
    /// A new TOTP secret for a user (`totp_secret`).
    Totp,
}

/// `scopegate keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List signing keys: active, retired and when they leave the JWKS.
    List,
    /// Make a new active key; the old one stays published until its last token expires.
    Rotate,
}
