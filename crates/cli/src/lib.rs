//! The `scopegate` command as a library: its grammar, configuration and commands, so that
//! integration tests can drive the same code the binary runs.

pub mod cli;
pub mod client;
pub mod commands;
pub mod config;
pub mod serve;
