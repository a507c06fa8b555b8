//! One module per command group; each function returns the process exit code.

mod audit;
mod demo;
mod directory;
mod init;
mod keys;
mod policy;
mod serve;
mod token;

use std::io::Read;
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{Cli, Command};
use crate::config::{Config, Source};
use crate::serve::Role;

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
        Command::Up(args) => serve::run(serve::Roles::All, &args, config),
        Command::Idp(args) => serve::run(serve::Roles::Only(Role::Idp), &args, config),
        Command::Api(args) => serve::run(serve::Roles::Only(Role::Api), &args, config),
        Command::Mcp {
            stdio: true,
            serve: args,
        } => serve::run_stdio(&args, config),
        Command::Mcp {
            stdio: false,
            serve: args,
        } => serve::run(serve::Roles::Only(Role::Mcp), &args, config),
        Command::Init { dir, force } => init::run(&dir, force),
        Command::Demo(args) => demo::run(&args, config),
        Command::Token(command) => token::run(command, &config),
        Command::Policy(command) => policy::run(command, &config),
        Command::Directory(command) => directory::run(command, &config),
        Command::Audit(command) => audit::run(command, &config),
        Command::Keys(command) => keys::run(command, &config),
    }
}

/// Runs one future to completion on a small runtime (the client commands make a request or
/// two; the servers build their own multi-threaded runtime).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(future),
        Err(e) => {
            // Building a current-thread runtime only fails if the OS refuses a timer or an
            // I/O driver; nothing useful can run then.
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1)
        }
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
