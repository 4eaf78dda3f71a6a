//! Storage: the only room that says `sled::` or `bincode::`. It knows records, bytes and
//! keys, never the rules.
//!
//! The engine speaks to it through the [`Backend`] trait (`backend.rs`: the contract), in
//! records; [`SledBackend`] (`sled_backend.rs`) is the first backend, on-disk format 4:
//! `records.rs` (the typed records), `keys.rs` (key layout), `segment.rs` (import segments),
//! `codec.rs` (record bytes), `imported_uuid.rs` (the uuids of imported rows),
//! `decode_error.rs` (what is wrong with damaged bytes).

mod backend;
mod backup;
pub(crate) mod codec;
mod decode_error;
mod durable;
#[cfg(test)]
mod golden;
pub(crate) mod imported_uuid;
pub(crate) mod keys;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
mod records;
pub(crate) mod segment;
mod sled_backend;

pub(crate) use backend::{
    Backend, ChangeSet, DeltaSink, IdSpace, ImportKey, IndexDelta, JournalId, LoadedSegment,
    Origin, Reads, WriteTxn,
};
pub(crate) use imported_uuid::is_imported as is_imported_uuid;
pub(crate) use imported_uuid::UuidMask;
pub(crate) use records::{
    AppKind, AppRecord, AuditRecord, IndexEntry, JournalRecord, JourneyRecord, PastApplication,
    PointRecord, Segment, SegmentRow,
};
pub use records::{AuditAction, JournalKind};
use sled_backend::SledBackend;

/// Where a registry lives.
pub(crate) enum Location<'a> {
    /// A sled directory (or a temporary database).
    Directory(StoreOptions<'a>),
    /// A PostgreSQL database shared with other instances.
    #[cfg(feature = "postgres")]
    Postgres {
        conninfo: &'a str,
        durability: crate::Durability,
        staleness: std::time::Duration,
    },
}

/// Opens the backend `at` describes (sled, or PostgreSQL with feature `postgres`; format 4),
/// checking its format version and that it was created with the secret `keys` derive from.
pub(crate) fn open(
    at: &Location<'_>,
    keys: std::sync::Arc<crate::identity::Keys>,
) -> Result<Box<dyn Backend>, Error> {
    match at {
        Location::Directory(opts) => Ok(Box::new(SledBackend::open(opts, keys)?)),
        #[cfg(feature = "postgres")]
        Location::Postgres {
            conninfo,
            durability,
            staleness,
        } => Ok(Box::new(postgres::backend::PgBackend::open(
            conninfo,
            keys,
            *durability,
            postgres::PgOptions {
                staleness: *staleness,
                ..postgres::PgOptions::default()
            },
        )?)),
    }
}

use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, StorageError};

impl From<sled::Error> for Error {
    fn from(e: sled::Error) -> Self {
        Error::Storage(StorageError(Box::new(e)))
    }
}

/// An atomic group of writes, consumed by [`Store::apply`].
#[derive(Default)]
pub(crate) struct WriteBatch {
    inner: sled::Batch,
    len: usize,
}

impl WriteBatch {
    pub(crate) fn insert(&mut self, key: &[u8], value: &[u8]) {
        self.inner.insert(key, value);
        self.len += 1;
    }

    pub(crate) fn remove(&mut self, key: &[u8]) {
        self.inner.remove(key);
        self.len += 1;
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Where the database lives and how much cache it may use.
pub(crate) struct StoreOptions<'a> {
    pub path: Option<&'a Path>,
    pub cache_capacity: u64,
}

/// The sled database.
#[derive(Clone)]
pub(crate) struct Store {
    db: sled::Db,
    sync: Arc<durable::Syncer>,
    /// Ours instead of sled's (`durable.rs`); `None` for a temporary database.
    _flusher: Option<Arc<durable::Flusher>>,
}

impl Store {
    pub(crate) fn open(opts: &StoreOptions<'_>) -> Result<Self, Error> {
        let cfg = sled::Config::new()
            .cache_capacity(opts.cache_capacity)
            .mode(sled::Mode::HighThroughput)
            .flush_every_ms(None);
        let cfg = match opts.path {
            Some(p) => cfg.path(p),
            None => cfg.temporary(true),
        };
        // sled releases its directory lock when the last handle of a dropped database goes,
        // which can trail the drop by a few milliseconds (its flusher thread): a reopen right
        // after a drop waits for it, up to about a second, instead of failing.
        let mut attempts = 0;
        loop {
            match cfg.open() {
                Ok(db) => {
                    let sync = Arc::new(durable::Syncer::open(opts.path)?);
                    let _flusher = match opts.path {
                        Some(_) => {
                            Some(Arc::new(durable::Flusher::spawn(sync.clone(), db.clone())?))
                        }
                        None => None,
                    };
                    return Ok(Store { db, sync, _flusher });
                }
                Err(sled::Error::Io(e))
                    if attempts < 50 && e.to_string().contains("acquire lock") =>
                {
                    attempts += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.db.get(key)?.map(|v| v.to_vec()))
    }

    /// Applies every write of the batch atomically (all or nothing, also across a crash).
    pub(crate) fn apply(&self, batch: WriteBatch) -> Result<(), Error> {
        if !batch.is_empty() {
            self.db.apply_batch(batch.inner)?;
            self.sync.note_write();
        }
        Ok(())
    }

    /// Makes everything applied so far durable: on stable storage, `fsync`ed, one sync shared
    /// by concurrent callers (`durable.rs`).
    pub(crate) fn flush(&self) -> Result<(), Error> {
        self.sync.commit(&self.db)
    }

    /// Syncs, then copies the database to the new directory `dest` (`backup.rs`); the caller
    /// keeps writes out until it returns.
    pub(crate) fn backup(&self, dest: &Path) -> Result<(), Error> {
        self.flush()?;
        let Some(dir) = self.sync.dir() else {
            return Err(Error::Config(
                "a temporary registry has no files to back up".into(),
            ));
        };
        backup::copy_quiescent(&dir, dest).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => Error::Config(e.to_string()),
            _ => Error::Storage(StorageError(Box::new(e))),
        })
    }

    /// A unique id, never handed out twice, also across restarts.
    pub(crate) fn generate_id(&self) -> Result<u64, Error> {
        Ok(self.db.generate_id()?)
    }

    /// Every key/value pair whose key starts with `prefix`, in key order.
    pub(crate) fn scan_prefix(
        &self,
        prefix: &[u8],
    ) -> impl Iterator<Item = Result<(Vec<u8>, Vec<u8>), Error>> + '_ {
        self.db.scan_prefix(prefix).map(|r| {
            r.map(|(k, v)| (k.to_vec(), v.to_vec()))
                .map_err(Error::from)
        })
    }

    /// Is the database empty (a fresh directory)?
    pub(crate) fn is_empty(&self) -> bool {
        self.db.is_empty()
    }

    /// Bytes used on disk.
    pub(crate) fn size_on_disk(&self) -> Result<u64, Error> {
        Ok(self.db.size_on_disk()?)
    }
}
