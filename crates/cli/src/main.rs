//! The `scopegate` command: parses arguments, starts logging, runs one subcommand.

use std::process::ExitCode;

use clap::Parser;
use scopegate::{cli::Cli, commands};

/// mimalloc instead of the system allocator: per-request allocations are cheaper, and memory
/// freed by one thread is reused by others instead of staying in per-thread arenas. Built
/// without transparent huge pages, which inflated RSS (docs/BENCHMARKS.md has the measurements
/// behind both choices).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr (stdout carries command output and, in stdio mode, the MCP protocol);
/// `RUST_LOG` overrides the default: `info`, with the MCP SDK's per-session chatter (which
/// also names session ids) at `warn`.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,rmcp=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
