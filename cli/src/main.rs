//! The `cee` command-line tool: a guided demo, bulk import, simulate / register, stats and
//! an HTTP server for the `cee-eligibility` engine.
//!
//! Exit codes: `0` success (eligible, registered, everything imported), `1` a negative
//! outcome (blocked, refused, some import rows failed), `2` an error (bad arguments, missing
//! secret, storage failure).

use std::path::PathBuf;
use std::process::ExitCode;

use cee_eligibility::clock::ManualClock;
use cee_eligibility::{Config, Engine, Operator, Siret, Timestamp};
use clap::{Parser, Subcommand};

mod backup;
mod demo;
mod import;
mod migrate;
mod ops;
mod policy_args;
mod purge;
mod secret;
mod serve;
mod standardized;

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
    /// Bulk-imports historical *specific* beneficiaries from a CSV file or a JSON array
    /// (with --standardized: past *standardized* applications, kept with their uuids and
    /// tokens).
    ///
    /// Rows are sent in calls of 1000, each row validated on its own; the rows that failed
    /// are written to --report. The whole import is flushed to disk once at the end. Exit
    /// code 1 when some rows failed.
    Import(import::Args),
    /// History + dedup look-up for one driver (writes nothing). Prints JSON; exit code 0
    /// eligible, 1 blocked, 2 error.
    Simulate(ops::SimulateArgs),
    /// Checks and durably registers a standardized CEE application. Prints JSON with the
    /// signed token; exit code 0 registered, 1 refused (date rule, journey, conflict), 2 error.
    Register(ops::RegisterArgs),
    /// Prints what the database holds (applications per kind and type, journeys, index and
    /// on-disk size).
    Stats(ops::StatsArgs),
    /// Serves the JSON façade of the public registry over HTTP (bearer tokens mapped to
    /// operators by --tokens). Needs the `api` façade of cee-eligibility.
    Serve(serve::Args),
    /// Copies the registry to the new directory DEST, consistent at one instant (restore =
    /// open the copy with the same secret).
    Backup(backup::Args),
    /// Removes what can no longer change any answer (SPEC §11.6: expired history, tombstones'
    /// pseudonyms, old journeys and journal entries); prints the counts as JSON. --dry-run
    /// counts without writing.
    Purge(purge::Args),
    /// Copies a registry directory (--db) into an empty PostgreSQL registry (--postgres), in
    /// one transaction; the directory is left as it was. Prints what was copied as JSON.
    Migrate(migrate::Args),
    /// Prints the SHA-256 (hex) of a token read on standard input, surrounding whitespace and
    /// newline ignored (for the `serve --tokens` file).
    TokenHash,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(&args),
        Command::Import(args) => import::run(&args),
        Command::Simulate(args) => ops::simulate(&args),
        Command::Register(args) => ops::register(&args),
        Command::Stats(args) => ops::stats(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Backup(args) => backup::run(&args),
        Command::Purge(args) => purge::run(&args),
        Command::Migrate(args) => migrate::run(&args),
        Command::TokenHash => token_hash(),
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

/// Where the database is and how to unlock it.
#[derive(clap::Args, Debug)]
struct DbArgs {
    /// The database directory (created if absent; `serve` needs --create for that).
    #[arg(
        long,
        value_name = "DIR",
        env = "CEE_DB",
        required_unless_present = "postgres",
        conflicts_with = "postgres"
    )]
    db: Option<PathBuf>,
    /// A PostgreSQL registry shared with other instances, in place of --db: a libpq conninfo
    /// (`host=/run/postgresql dbname=cee`) or URL. Its tables are created by the first
    /// instance that opens an empty database. Prefer the environment variable when the
    /// conninfo holds a password.
    #[arg(
        long,
        value_name = "CONNINFO",
        env = "CEE_POSTGRES",
        hide_env_values = true
    )]
    postgres: Option<String>,
    /// A file holding the database secret as 64 hex characters (default: the CEE_SECRET
    /// environment variable). Never pass the secret itself as an argument.
    #[arg(long, value_name = "PATH", env = "CEE_SECRET_FILE")]
    secret_file: Option<PathBuf>,
    /// Pretend the current time is DATETIME (RFC 3339; for replays and tests). The operation
    /// period in force is set with --start-date / --end-date / --policy (the default one,
    /// 2023-01-01 .. 2025-01-01 Paris time, is over).
    #[arg(long, value_name = "DATETIME", env = "CEE_NOW")]
    now: Option<Timestamp>,
}

impl DbArgs {
    /// Opens the engine with the secret from `--secret-file` or `CEE_SECRET`; `tune` may
    /// adjust the configuration.
    fn open(&self, tune: impl FnOnce(Config) -> Config) -> Result<Engine> {
        let secret = secret::load(self.secret_file.as_deref())?;
        let mut config = self.config()?.secret(secret);
        if let Some(now) = self.now {
            config = config.clock(ManualClock::new(now));
        }
        let config = tune(config);
        Engine::open(config)
            .map_err(|e| format!("cannot open {}: {}", self.describe(), error_chain(&e)).into())
    }

    fn config(&self) -> Result<Config> {
        match (&self.db, &self.postgres) {
            (Some(dir), None) => Ok(Config::new(dir)),
            (None, Some(conninfo)) => postgres_config(conninfo),
            // clap enforces exactly one of them.
            _ => Err("give either --db DIR or --postgres CONNINFO".into()),
        }
    }

    /// The registry directory, when it is one.
    fn dir(&self) -> Option<&std::path::Path> {
        self.db.as_deref()
    }

    /// Which registry, for messages (never the conninfo: it may hold a password).
    fn describe(&self) -> String {
        match &self.db {
            Some(dir) => format!("the database {}", dir.display()),
            None => "the PostgreSQL registry".into(),
        }
    }

    /// Is the registry a shared one (every engine call may wait on the network)?
    fn shared(&self) -> bool {
        self.postgres.is_some()
    }
}

#[cfg(feature = "postgres")]
fn postgres_config(conninfo: &str) -> Result<Config> {
    Ok(Config::postgres(conninfo))
}

#[cfg(not(feature = "postgres"))]
fn postgres_config(_conninfo: &str) -> Result<Config> {
    Err("--postgres: this cee was built without PostgreSQL support (feature `postgres`)".into())
}

/// The calling operator.
#[derive(clap::Args, Debug)]
struct OperatorArgs {
    /// The operator's numeric id.
    #[arg(long = "operator", value_name = "ID")]
    operator_id: u32,
    /// The operator's SIRET (14 digits).
    #[arg(long, value_name = "SIRET")]
    siret: Siret,
}

impl OperatorArgs {
    fn operator(&self) -> Operator {
        Operator::new(self.operator_id, self.siret)
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

fn token_hash() -> Result<Outcome> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    let token = input.trim();
    if token.is_empty() {
        return Err("no token on standard input".into());
    }
    println!("{}", secret::to_hex(&Sha256::digest(token.as_bytes())));
    Ok(Outcome::Positive)
}
