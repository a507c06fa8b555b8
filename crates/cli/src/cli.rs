//! Command-line grammar (clap derive). Every flag that mirrors a configuration setting also
//! reads a `SCOPEGATE_*` environment variable, and both win over `scopegate.toml`.

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
    /// Work with access tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Read and verify the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Manage the signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

/// `scopegate token …`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
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

/// `scopegate keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List signing keys: active, retired and when they leave the JWKS.
    List,
    /// Make a new active key; the old one stays published until its last token expires.
    Rotate,
}
