//! Durable means on stable storage: after sled's flush, `fsync` what the write touched, once per
//! group of concurrent writers (group commit). Why these files and these calls: DESIGN.md,
//! "Durability with sled 0.34".
//!
//! sled 0.34.7's `Db::flush` writes its log buffers with `pwrite` and `sync_file_range`, which
//! neither flushes the device's write cache nor the file's metadata; its flusher thread calls
//! `fsync` on the `db` file only every 500 ms. Large pages go to `blobs/<lsn>` files that sled
//! never `fsync`s, and no directory is ever `fsync`ed. So a sync here is: `Db::flush`, then
//! `fdatasync` of the `db` file, then `fdatasync` of every blob file not yet synced at its
//! current length and of the `blobs` directory when its listing changed, then of the database
//! directory when its listing changed (snapshots are renamed into it).

use std::collections::{BTreeSet, HashMap};
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::error::{Error, StorageError};

/// Shares syncs between concurrent writers and remembers what is already on stable storage.
pub(crate) struct Syncer {
    /// `None` for a temporary database (deleted on drop: nothing to make durable).
    files: Option<Mutex<Files>>,
    rounds: Mutex<Rounds>,
    done: Condvar,
    /// Batches applied so far (lets the flusher skip idle periods).
    applied: AtomicU64,
}

/// Sync rounds: numbered from 1, run one at a time by whichever writer finds none running.
#[derive(Default)]
struct Rounds {
    completed: u64,
    running: bool,
    /// The first failure. After a failed `fsync` the kernel may have dropped the dirty pages and
    /// a later `fsync` could succeed without them (PostgreSQL's "fsyncgate"): every later
    /// sync fails too, until the registry is reopened (and sled recovers from what is on disk).
    failed: Option<(io::ErrorKind, String)>,
}

/// The files a sync covers, and what is known to be durable already.
struct Files {
    dir: PathBuf,
    /// A handle on sled's `db` file: `fdatasync` on any descriptor of an inode flushes all of
    /// its dirty pages.
    db: File,
    /// The database directory's listing at its last `fsync`.
    top: BTreeSet<OsString>,
    /// Blob files and their length at their last `fdatasync` (sled writes a blob once, with
    /// `write_all`, and never changes it: a length seen before a sync is durable after it).
    blobs: HashMap<OsString, u64>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn storage(e: io::Error) -> Error {
    Error::Storage(StorageError(Box::new(e)))
}

impl Syncer {
    /// For the sled database just opened at `dir` (`None`: temporary). Makes what sled created
    /// at open durable: the `db` and `conf` files, the `blobs` directory, the directory itself
    /// and its entry in its parent.
    pub(crate) fn open(dir: Option<&Path>) -> Result<Syncer, Error> {
        let files = match dir {
            None => None,
            Some(dir) => {
                let db = File::open(dir.join("db")).map_err(storage)?;
                let mut files = Files {
                    dir: dir.to_owned(),
                    db,
                    top: BTreeSet::new(),
                    blobs: HashMap::new(),
                };
                File::open(dir.join("conf"))
                    .and_then(|f| f.sync_all())
                    .map_err(storage)?;
                files.sync().map_err(storage)?;
                let parent = match dir.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p,
                    _ => Path::new("."),
                };
                sync_dir(parent).map_err(storage)?;
                Some(Mutex::new(files))
            }
        };
        Ok(Syncer {
            files,
            rounds: Mutex::new(Rounds::default()),
            done: Condvar::new(),
            applied: AtomicU64::new(0),
        })
    }

    /// Counts a batch applied (after it is applied: the flusher's next round covers it).
    pub(crate) fn note_write(&self) {
        self.applied.fetch_add(1, Ordering::Relaxed);
    }

    /// The database directory (`None`: temporary).
    pub(crate) fn dir(&self) -> Option<PathBuf> {
        self.files.as_ref().map(|f| lock(f).dir.clone())
    }

    /// Returns once everything applied to `db` before the call is on stable storage. Writers
    /// that call while a sync runs wait for the next one, which the first of them runs for all.
    pub(crate) fn commit(&self, db: &sled::Db) -> Result<(), Error> {
        let mut r = lock(&self.rounds);
        // A round already running may have started before our write: we need the next one.
        let need = r.completed + 1 + u64::from(r.running);
        loop {
            if let Some((kind, msg)) = &r.failed {
                return Err(storage(io::Error::new(
                    *kind,
                    format!("an earlier fsync failed ({msg}): reopen the registry"),
                )));
            }
            if r.completed >= need {
                return Ok(());
            }
            if !r.running {
                r.running = true;
                drop(r);
                let result = self.sync(db);
                let mut r = lock(&self.rounds);
                r.running = false;
                r.completed += 1;
                if let Err(e) = &result {
                    r.failed = Some(failure(e));
                }
                self.done.notify_all();
                return result;
            }
            r = self.done.wait(r).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn sync(&self, db: &sled::Db) -> Result<(), Error> {
        db.flush()?;
        match &self.files {
            None => Ok(()),
            Some(files) => lock(files).sync().map_err(storage),
        }
    }
}

fn failure(e: &Error) -> (io::ErrorKind, String) {
    let kind = match e {
        Error::Storage(StorageError(inner)) => inner
            .downcast_ref::<io::Error>()
            .map_or(io::ErrorKind::Other, io::Error::kind),
        _ => io::ErrorKind::Other,
    };
    (kind, e.to_string())
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Files {
    /// Blobs before the log that points to them: a durable log record whose blob is not makes
    /// sled's recovery skip the record, and a skipped page allocation leaves a hole in its page
    /// table that panics when sled next writes a snapshot (seen in the power-loss test).
    fn sync(&mut self) -> io::Result<()> {
        let blob_dir = self.dir.join("blobs");
        let mut seen = HashMap::with_capacity(self.blobs.len());
        let mut changed = false;
        for entry in std::fs::read_dir(&blob_dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let len = match entry.metadata() {
                Ok(m) => m.len(),
                // Removed by sled's blob collection since the listing.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            if self.blobs.get(&name) != Some(&len) {
                match File::open(entry.path()) {
                    Ok(f) => f.sync_data()?,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                }
                changed |= !self.blobs.contains_key(&name);
            }
            seen.insert(name, len);
        }
        changed |= seen.len() != self.blobs.len();
        self.blobs = seen;
        if changed {
            sync_dir(&blob_dir)?;
        }
        self.db.sync_data()?;
        let top = std::fs::read_dir(&self.dir)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<io::Result<BTreeSet<_>>>()?;
        if top != self.top {
            sync_dir(&self.dir)?;
            self.top = top;
        }
        Ok(())
    }
}

/// How often the [`Flusher`] syncs: sled's own default period.
pub(crate) const FLUSH_EVERY: Duration = Duration::from_millis(500);

/// Replaces sled's flusher thread (turned off at open), which `fsync`s the `db` file every
/// 500 ms without the blob files its log points to: this one runs a full [`Syncer`] round
/// (blobs first) every [`FLUSH_EVERY`], and a last one when the store is dropped. It is what
/// makes `Durability::Buffered` writes durable within half a second.
pub(crate) struct Flusher {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Flusher {
    pub(crate) fn spawn(sync: Arc<Syncer>, db: sled::Db) -> Result<Flusher, Error> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = stop.clone();
        let thread = std::thread::Builder::new()
            .name("cee-flusher".into())
            .spawn(move || {
                let (stopped, wake) = &*signal;
                let mut synced = 0;
                loop {
                    let guard = lock(stopped);
                    let (guard, _) = wake
                        .wait_timeout(guard, FLUSH_EVERY)
                        .unwrap_or_else(|e| e.into_inner());
                    let last = *guard;
                    drop(guard);
                    let applied = sync.applied.load(Ordering::Relaxed);
                    if applied != synced || last {
                        if let Err(e) = sync.commit(&db) {
                            tracing::warn!(error = %e, "periodic sync failed");
                        }
                        synced = applied;
                    }
                    if last {
                        return;
                    }
                }
            })
            .map_err(storage)?;
        Ok(Flusher {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        let (stopped, wake) = &*self.stop;
        *lock(stopped) = true;
        wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, StoreOptions, WriteBatch};

    /// 16 writers, 20 commits each: every commit succeeds, and fewer sync rounds run than
    /// commits were asked for (each round covers every writer waiting for it).
    #[test]
    fn concurrent_commits_share_rounds() -> Result<(), Error> {
        let dir = tempfile::tempdir().map_err(storage)?;
        let store = Store::open(&StoreOptions {
            path: Some(dir.path()),
            cache_capacity: 1 << 20,
        })?;
        let before = lock(&store.sync.rounds).completed;
        std::thread::scope(|s| {
            for t in 0..16u8 {
                let store = &store;
                s.spawn(move || {
                    for i in 0..20u8 {
                        let mut b = WriteBatch::default();
                        b.insert(&[t, i], &[1; 64]);
                        store.apply(b).expect("apply");
                        store.flush().expect("commit");
                    }
                });
            }
        });
        let rounds = lock(&store.sync.rounds).completed - before;
        assert!(rounds > 0, "no sync ran");
        assert!(
            rounds < 320,
            "{rounds} sync rounds for 320 commits: none shared"
        );
        eprintln!("group commit: {rounds} sync rounds for 320 commits");
        for t in 0..16u8 {
            assert!(store.get(&[t, 19])?.is_some());
        }
        Ok(())
    }
}
