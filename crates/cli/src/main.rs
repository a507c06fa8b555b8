//! The `scopegate` command.

fn main() {}
