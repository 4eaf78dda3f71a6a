//! A directory registry copied into an empty PostgreSQL one (`cee migrate`, SPEC §11.5).

use crate::engine::Config;
use crate::error::Error;
use crate::identity::Keys;

/// What [`migrate_to_postgres`] copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Migrated {
    /// Stored key/value pairs copied (records, index entries, import segments, journeys,
    /// journal entries).
    pub rows: u64,
    /// Their total size in bytes.
    pub bytes: u64,
}

/// Copies the directory registry of `from` ([`Config::new`] with its
/// [`secret`](Config::secret)) into the empty PostgreSQL registry at `conninfo` (created when
/// the database has no tables), in one transaction: all of it or nothing. The bytes are the
/// same in both (nothing is decoded or re-encoded); the directory is left as it was. No engine
/// may have the directory open.
///
/// # Errors
/// [`Error::MissingSecret`] without a secret; [`Error::Config`] when `from` names no
/// directory or a directory that holds no registry, or when the PostgreSQL registry is not
/// empty; [`Error::WrongSecret`] when either registry was created with another secret;
/// [`Error::UnsupportedFormat`]; [`Error::Storage`] when either cannot be reached.
pub fn migrate_to_postgres(from: &Config, conninfo: &str) -> Result<Migrated, Error> {
    let Some(dir) = from.path.as_deref() else {
        return Err(Error::Config(
            "/db: a migration copies a registry directory (Config::new)".into(),
        ));
    };
    let secret = from.secret.ok_or(Error::MissingSecret)?;
    let keys = Keys::new(&secret);
    let copied = crate::store::postgres::migrate::copy_dir(dir, conninfo, &keys)?;
    tracing::info!(
        rows = copied.rows,
        bytes = copied.bytes,
        "registry copied to PostgreSQL"
    );
    Ok(Migrated {
        rows: copied.rows,
        bytes: copied.bytes,
    })
}
