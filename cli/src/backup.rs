//! `cee backup`: a consistent copy of a registry (SPEC §11.6); restore = open the copy.

use std::path::PathBuf;
use std::time::Instant;

use crate::{DbArgs, Outcome, Result};

/// Arguments of `cee backup`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    db: DbArgs,
    /// The new directory to copy the registry to (must not exist).
    #[arg(value_name = "DEST")]
    dest: PathBuf,
}

/// Opens the registry (checking the secret), copies it to `DEST` and prints what was copied.
pub fn run(args: &Args) -> Result<Outcome> {
    let Some(dir) = args.db.dir() else {
        return Err(
            "--postgres: a PostgreSQL registry is backed up with PostgreSQL's tools \
                    (pg_basebackup with WAL archiving, or pg_dump), not by cee backup"
                .into(),
        );
    };
    if !dir.join("conf").exists() {
        return Err(format!("no database at {}", dir.display()).into());
    }
    let engine = args.db.open(|c| c)?;
    let started = Instant::now();
    engine.backup(&args.dest)?;
    let elapsed = started.elapsed();
    let bytes = engine.stats()?.size_on_disk;
    println!(
        "backed up {} to {} ({bytes} bytes) in {:.2} s",
        dir.display(),
        args.dest.display(),
        elapsed.as_secs_f64()
    );
    Ok(Outcome::Positive)
}
