//! `scopegate audit …`: verify the hash chain and read records.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use scopegate_audit::{
    Entry, Filter, Head, Outcome, UnreadableLine, read_from, read_last, verify_file,
};

use super::print_line;
use crate::cli::{AuditCommand, TailArgs};
use crate::config::Config;

/// How often `tail --follow` looks for new lines.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(250);
/// How much `tail --follow` reads per look.
const FOLLOW_CHUNK_BYTES: u64 = 1 << 20;

pub(super) fn run(command: AuditCommand, config: &Config) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify { path, expect_head } => {
            let anchor = expect_head
                .map(|text| text.parse::<Head>())
                .transpose()
                .context("--expect-head takes `SEQ:HASH`, as printed by `audit verify`")?;
            verify(&resolve(path, config), anchor)
        }
        AuditCommand::Tail(args) => {
            let path = resolve(args.path.clone(), config);
            tail(&path, &args)
        }
    }
}

fn resolve(path: Option<PathBuf>, config: &Config) -> PathBuf {
    path.unwrap_or_else(|| config.audit.path.clone())
}

/// Exit 0 when the chain is intact (warnings included), 1 at the first break.
fn verify(path: &Path, anchor: Option<Head>) -> anyhow::Result<ExitCode> {
    let report =
        verify_file(path, anchor).with_context(|| format!("cannot verify `{}`", path.display()))?;

    for warning in &report.warnings {
        print_line(&format!("warning: {warning}"))?;
    }
    match &report.first_break {
        None => {
            print_line(&format!(
                "ok: {} records, chain intact; head {} (keep it to check later with --expect-head)",
                report.records, report.head
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Some(broken) => {
            print_line(&format!("BROKEN: {broken}"))?;
            print_line(&format!(
                "{} records verified before it; head {}",
                report.records, report.head
            ))?;
            Ok(ExitCode::FAILURE)
        }
    }
}

fn tail(path: &Path, args: &TailArgs) -> anyhow::Result<ExitCode> {
    let filter = Filter {
        actor: args.actor.clone(),
        capability: args.capability.clone(),
        outcome: args
            .result
            .as_deref()
            .map(str::parse::<Outcome>)
            .transpose()
            .context("--result takes success, denied, step_up, refused or error")?,
        event_type: None,
    };
    let mut file = File::open(path).with_context(|| format!("cannot open `{}`", path.display()))?;

    for entry in read_last(&mut file, args.lines, &filter)? {
        show(entry)?;
    }
    if !args.follow {
        return Ok(ExitCode::SUCCESS);
    }

    let mut offset = file.metadata()?.len();
    loop {
        std::thread::sleep(FOLLOW_INTERVAL);
        let chunk = read_from(&mut file, offset, FOLLOW_CHUNK_BYTES)?;
        offset = chunk.next_offset;
        for entry in chunk.lines {
            if entry
                .as_ref()
                .is_ok_and(|e| !filter.matches(&e.record.event))
            {
                continue;
            }
            show(entry)?;
        }
    }
}

/// Prints a record as the line it is stored as, so the output pipes into `jq`.
fn show(entry: Result<Entry, UnreadableLine>) -> anyhow::Result<()> {
    match entry {
        Ok(entry) => print_line(&entry.line),
        Err(unreadable) => {
            eprintln!("warning: {unreadable}");
            Ok(())
        }
    }
}
