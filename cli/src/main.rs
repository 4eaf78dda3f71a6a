//! The `cee` command-line tool: a guided demo, bulk import, simulate / register, stats and
//! an HTTP server for the `cee-eligibility` engine.
//!
//! Exit codes: `0` success (eligible, registered, everything imported), `1` a negative
//! outcome (blocked, refused, some import rows failed), `2` an error (bad arguments, missing
//! secret, storage failure).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod demo;
mod synth;

/// Errors of the tool: a message for the user (exit code 2).
type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

/// What a command concluded, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Eligible, registered, all rows imported (exit 0).
    Positive,
    /// Blocked, refused, some rows failed (exit 1).
    Negative,
}

#[derive(Parser, Debug)]
#[command(
    name = "cee",
    version,
    about = "CEE carpooling eligibility registry (history + dedup checks) on an embedded database",
    long_about = None
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// A guided tour: imports a synthetic history into a temporary database, shows every
    /// outcome (eligible, blocked by history, blocked by dedup, journey not eligible, J+7
    /// rule) and measures latencies.
    Demo(demo::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(&args),
    };
    match result {
        Ok(Outcome::Positive) => ExitCode::SUCCESS,
        Ok(Outcome::Negative) => ExitCode::from(1),
        Err(e) => {
            eprintln!("cee: error: {}", error_chain(&*e));
            ExitCode::from(2)
        }
    }
}

/// `e: source: source…` on one line.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(src) = cur {
        s.push_str(": ");
        s.push_str(&src.to_string());
        cur = src.source();
    }
    s
}
