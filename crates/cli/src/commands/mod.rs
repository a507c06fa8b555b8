//! One module per command group; each function returns the process exit code.

mod audit;
mod keys;
mod token;

use std::io::Read;
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{Cli, Command};
use crate::config::{Config, Source};

/// Loads the configuration and runs the chosen command, returning the exit code.
///
/// # Errors
///
/// Whatever stops the command; `main` prints it with its chain of causes.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let (config, source) = Config::load(cli.config.as_deref())?;
    match &source {
        Source::Defaults => tracing::debug!("configuration: built-in defaults"),
        Source::File(path) => tracing::debug!(config.file = %path.display(), "configuration"),
    }
    match cli.command {
        Command::Token(command) => token::run(command),
        Command::Audit(command) => audit::run(command, &config),
        Command::Keys(command) => keys::run(command, &config),
    }
}

/// Reads a secret-bearing argument: the value itself, `@path` for a file, or `-` for stdin.
///
/// Reading from a file or stdin keeps tokens out of shell history and `ps` output.
fn read_argument(value: &str) -> anyhow::Result<String> {
    let text = if value == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read standard input")?;
        text
    } else if let Some(path) = value.strip_prefix('@') {
        std::fs::read_to_string(path).with_context(|| format!("cannot read `{path}`"))?
    } else {
        value.to_owned()
    };
    Ok(text.trim().to_owned())
}

/// Writes `value` to stdout as pretty JSON followed by a newline.
fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value).context("cannot render JSON")?;
    print_line(&text)
}

/// Writes one line to stdout; a closed pipe (`| head`) is not an error worth a message.
fn print_line(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}") {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}
