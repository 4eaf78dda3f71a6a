//! `cee migrate`: a registry directory copied into an empty PostgreSQL registry (SPEC §11.5).

use std::path::PathBuf;

use crate::{Outcome, Result};

/// Arguments of `cee migrate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The registry directory to copy (left as it was; no server may have it open).
    #[arg(long, value_name = "DIR", env = "CEE_DB")]
    db: PathBuf,
    /// The PostgreSQL registry to copy into (libpq conninfo or URL): an empty database, or
    /// one whose registry holds nothing yet.
    #[arg(
        long,
        value_name = "CONNINFO",
        env = "CEE_POSTGRES",
        hide_env_values = true
    )]
    postgres: String,
    /// A file holding the secret of both registries as 64 hex characters (default: the
    /// CEE_SECRET environment variable).
    #[arg(long, value_name = "PATH", env = "CEE_SECRET_FILE")]
    secret_file: Option<PathBuf>,
}

/// Checks the directory's format and secret, copies every record and prints the counts.
pub fn run(args: &Args) -> Result<Outcome> {
    if !args.db.join("conf").is_file() {
        return Err(format!("--db {}: no registry there", args.db.display()).into());
    }
    let secret = crate::secret::load(args.secret_file.as_deref())?;
    copy(args, secret)
}

#[cfg(feature = "postgres")]
fn copy(args: &Args, secret: [u8; 32]) -> Result<Outcome> {
    let started = std::time::Instant::now();
    let from = cee_eligibility::Config::new(&args.db).secret(secret);
    let copied = cee_eligibility::migrate_to_postgres(&from, &args.postgres).map_err(|e| {
        format!(
            "cannot copy {} to the PostgreSQL registry: {e}",
            args.db.display()
        )
    })?;
    println!(
        "{}",
        serde_json::json!({
            "rows": copied.rows,
            "bytes": copied.bytes,
            "seconds": started.elapsed().as_secs_f64(),
        })
    );
    Ok(Outcome::Positive)
}

#[cfg(not(feature = "postgres"))]
fn copy(_args: &Args, _secret: [u8; 32]) -> Result<Outcome> {
    Err("migrate: this cee was built without PostgreSQL support (feature `postgres`)".into())
}
