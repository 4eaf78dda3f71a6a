//! `cee purge`: the retention purge (SPEC §11.6), or with `--dry-run` what it would remove.

use crate::{DbArgs, Outcome, Result};

/// Arguments of `cee purge`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    db: DbArgs,
    /// Count what would go without writing anything.
    #[arg(long)]
    dry_run: bool,
}

/// Opens the registry, purges it (or counts, with `--dry-run`) and prints the report as JSON.
pub fn run(args: &Args) -> Result<Outcome> {
    if let Some(dir) = args.db.dir() {
        if !dir.join("conf").exists() {
            return Err(format!("no database at {}", dir.display()).into());
        }
    }
    let engine = args.db.open(|c| c)?;
    let report = if args.dry_run {
        engine.purge_dry_run()?
    } else {
        engine.purge()?
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(Outcome::Positive)
}
