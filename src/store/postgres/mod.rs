//! The PostgreSQL backend (feature `postgres`): one registry shared by any number of engines
//! in any number of processes (SPEC §11.5; the protocol is in DESIGN.md, "PostgreSQL backend").
//!
//! * `cee_kv` holds the sled layout's key families byte for byte; `cee_meta` is the write lock
//!   and the commit-ordered `head`; `cee_change` the gap-free change log ([`schema`]).
//! * Writes go through [`PgStore::write`]: lock, catch up, check, commit one [`ChangeSet`].
//! * Each engine keeps its in-memory index (a [`Replica`]): loaded from one snapshot at open,
//!   then fed every committed change in order, by the writer under the lock and by a listener
//!   thread (`LISTEN` + a poll); a registry that went backwards is detected and reloaded.
//!
//! The `postgres` client is synchronous (it runs a private tokio runtime per connection):
//! calling it from inside a tokio worker thread panics, so async callers use `spawn_blocking`.

pub(crate) mod backend;
mod change;
mod listen;
pub(crate) mod migrate;
mod schema;
mod write;

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests may unwrap")]
mod equivalence;
#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests may unwrap")]
mod failover;
#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests may unwrap")]
mod race_process;
#[cfg(test)]
mod testing;
#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests may unwrap")]
mod tests;

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use postgres::{Client, GenericClient, NoTls};

pub(crate) use change::ChangeSet;
#[cfg(test)]
pub(crate) use write::Decision;

use crate::error::{Error, StorageError};
use crate::identity::Keys;

impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Self {
        Error::Storage(StorageError(Box::new(e)))
    }
}

/// The connection went away (the server closed it, was shut down, or the socket failed):
/// nothing sent on it since BEGIN can have committed.
fn connection_lost(e: &postgres::Error) -> bool {
    use postgres::error::SqlState;
    e.is_closed()
        || matches!(
            e.code(),
            Some(&SqlState::ADMIN_SHUTDOWN) | Some(&SqlState::CRASH_SHUTDOWN)
        )
        || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
}

fn storage(msg: &'static str) -> Error {
    Error::Storage(StorageError(msg.into()))
}

fn corrupt(record: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::Corrupt {
        record: record.into(),
        reason: reason.into(),
    }
}

/// An engine's in-memory view of the registry, kept in step with the change log.
///
/// Calls come in commit order, one at a time (the store serialises them); `load` replaces
/// everything (at open and after a divergence), `apply` adds one committed change.
pub(crate) trait Replica: Send + Sync {
    /// Key prefixes (families) the replica is built from; `load` receives exactly their rows.
    fn prefixes(&self) -> Vec<Vec<u8>>;
    /// Rebuilds from a consistent snapshot of the rows under [`Replica::prefixes`], in key order.
    fn load(
        &self,
        rows: &mut dyn Iterator<Item = Result<(Vec<u8>, Vec<u8>), Error>>,
    ) -> Result<(), Error>;
    /// Applies the committed change `seq`, as its writer logged it (each sequence number once,
    /// in order). Changes this instance commits through [`PgTxn`] are not passed here: their
    /// writer mirrors them itself.
    fn apply(&self, seq: u64, delta: &[u8]) -> Result<(), Error>;
}

/// How a PostgreSQL store behaves; defaults as SPEC §11.5 and the design note say.
#[derive(Debug, Clone)]
pub(crate) struct PgOptions {
    /// No successful sync for longer than this: [`PgStore::fresh`] reports unavailable (5 s).
    pub staleness: Duration,
    /// The listener's wait for a notification before it polls anyway (500 ms).
    pub poll: Duration,
    /// `lock_timeout` of a write transaction (5 s).
    pub lock_timeout: Duration,
    /// `statement_timeout` of every statement (30 s).
    pub statement_timeout: Duration,
    /// Run the listener thread (tests turn it off to see the writers' own catch-up).
    pub listener: bool,
    /// Change-log rows kept below the head by [`PgStore::prune_log`] (100 000): an instance
    /// further behind reloads instead of catching up.
    pub keep_changes: u64,
    /// Negative control for tests only: check before taking the lock (lets duplicates in).
    #[cfg(test)]
    pub unlocked: bool,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            staleness: Duration::from_secs(5),
            poll: Duration::from_millis(500),
            lock_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(30),
            listener: true,
            keep_changes: 100_000,
            #[cfg(test)]
            unlocked: false,
        }
    }
}

/// Why an instance's view and the registry disagree (each answered by a reload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Divergence {
    /// The registry's head is below what this instance applied (restored from an older backup,
    /// failed over to a standby that missed commits).
    Backwards,
    /// The registry holds another history at the sequence number this instance applied.
    OtherChain,
    /// The registry was given a new epoch (an operator's restore or failover procedure).
    NewEpoch,
    /// The change log no longer holds this instance's position (pruned below it).
    Behind,
}

/// Where caught-up changes go: `(seq, delta)` in order.
pub(crate) type ApplyFn<'a> = &'a mut dyn FnMut(u64, &[u8]) -> Result<(), Error>;

/// Key/value pairs in key order.
pub(crate) type KeyValues = Vec<(Vec<u8>, Vec<u8>)>;

/// Where this instance stands in the change log.
struct SyncState {
    applied: u64,
    chain: [u8; 32],
    epoch: i64,
}

/// A registry on PostgreSQL, shared with every other instance opened on it.
pub(crate) struct PgStore {
    inner: Arc<Inner>,
    listener: Mutex<Option<JoinHandle<()>>>,
}

struct Inner {
    config: postgres::Config,
    opts: PgOptions,
    writer: Mutex<Option<Client>>,
    readers: Mutex<Vec<Client>>,
    sync: Mutex<SyncState>,
    replica: Arc<dyn Replica>,
    /// Milliseconds after `base` of the last successful sync (writer or listener).
    last_sync_ms: AtomicU64,
    base: Instant,
    /// A divergence was seen and the reload has not succeeded yet.
    diverged: AtomicBool,
    rebuilds: AtomicU64,
    /// Odd while the replica is being reloaded, bumped before and after (a seqlock for
    /// readers of an index the replica feeds: [`PgStore::generation`]).
    generation: AtomicU64,
    last_divergence: Mutex<Option<Divergence>>,
    listener_pid: AtomicI32,
    stop: AtomicBool,
    /// `synchronous_commit` as the last write transaction saw it.
    #[cfg(test)]
    seen_synchronous_commit: Mutex<String>,
    /// The next commit reports an unknown outcome although it committed.
    #[cfg(test)]
    fail_after_commit: AtomicBool,
}

/// Idle read connections kept for point reads.
const MAX_IDLE_READERS: usize = 8;

impl PgStore {
    /// Connects, creates the tables of an empty database, checks format and secret, loads the
    /// replica from one snapshot, and starts the listener.
    pub(crate) fn open(
        conninfo: &str,
        keys: &Keys,
        opts: PgOptions,
        replica: Arc<dyn Replica>,
    ) -> Result<Self, Error> {
        let config = connect_config(conninfo)?;
        let inner = Arc::new(Inner {
            config,
            opts,
            writer: Mutex::new(None),
            readers: Mutex::new(Vec::new()),
            sync: Mutex::new(SyncState {
                applied: 0,
                chain: change::GENESIS,
                epoch: 0,
            }),
            replica,
            last_sync_ms: AtomicU64::new(0),
            base: Instant::now(),
            diverged: AtomicBool::new(false),
            rebuilds: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            last_divergence: Mutex::new(None),
            listener_pid: AtomicI32::new(0),
            stop: AtomicBool::new(false),
            #[cfg(test)]
            seen_synchronous_commit: Mutex::new(String::new()),
            #[cfg(test)]
            fail_after_commit: AtomicBool::new(false),
        });
        let mut client = inner.connect()?;
        schema::ensure(&mut client, keys)?;
        inner.reload(&mut client)?;
        *lock(&inner.writer) = Some(client);
        let store = PgStore {
            inner,
            listener: Mutex::new(None),
        };
        if store.inner.opts.listener {
            store.follow()?;
        }
        Ok(store)
    }

    /// Starts the listener (once): from now on changes committed elsewhere reach the replica.
    /// Opening with `listener: false` then calling this lets a caller build its index from the
    /// snapshot before the first change arrives.
    pub(crate) fn follow(&self) -> Result<(), Error> {
        let mut slot = lock(&self.listener);
        if slot.is_none() {
            let l = Arc::clone(&self.inner);
            *slot = Some(
                std::thread::Builder::new()
                    .name("cee-pg-listener".into())
                    .spawn(move || listen::run(&l))
                    .map_err(|e| Error::Storage(StorageError(Box::new(e))))?,
            );
        }
        Ok(())
    }

    /// Removes the change-log rows more than `keep_changes` below the head (never the head's
    /// own row); returns how many went. Instances at or above the kept rows catch up as before;
    /// one further behind finds its position gone (`Divergence::Behind`) and reloads.
    pub(crate) fn prune_log(&self) -> Result<u64, Error> {
        let keep = i64::try_from(self.inner.opts.keep_changes.max(1)).unwrap_or(i64::MAX);
        self.inner.with_reader(|c| {
            Ok(c.execute(
                "DELETE FROM cee_change
                 WHERE seq <= (SELECT head FROM cee_meta WHERE id = 1) - $1",
                &[&keep],
            )?)
        })
    }

    /// How many keys start with `prefix`.
    pub(crate) fn count_prefix(&self, prefix: &[u8]) -> Result<u64, Error> {
        let hi = prefix_end(prefix);
        self.inner.with_reader(|c| {
            let n: i64 = c
                .query_one(
                    "SELECT count(*) FROM cee_kv WHERE k >= $1 AND ($2::bytea IS NULL OR k < $2)",
                    &[&prefix, &hi],
                )?
                .get(0);
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    /// Bytes used by the registry's tables (with their indexes and TOAST).
    pub(crate) fn size_on_disk(&self) -> Result<u64, Error> {
        self.inner.with_reader(|c| {
            let n: i64 = c
                .query_one(
                    "SELECT (pg_total_relation_size('cee_kv') + pg_total_relation_size('cee_change')
                            + pg_total_relation_size('cee_meta'))::bigint",
                    &[],
                )?
                .get(0);
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    /// Makes every commit so far durable, also those made with `synchronous_commit = off`:
    /// a transaction with an id committed synchronously flushes the WAL up to its commit
    /// record, and the WAL is one sequence.
    pub(crate) fn flush(&self) -> Result<(), Error> {
        self.inner.with_reader(|c| {
            c.batch_execute(
                "BEGIN; SET LOCAL synchronous_commit = on; SELECT txid_current(); COMMIT",
            )?;
            Ok(())
        })
    }

    /// The value under `key`, read from the registry (authoritative, not the replica).
    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        self.inner.with_reader(|c| {
            Ok(c.query_opt("SELECT v FROM cee_kv WHERE k = $1", &[&key])?
                .map(|r| r.get(0)))
        })
    }

    /// Every key/value pair whose key starts with `prefix`, in key order.
    pub(crate) fn scan_prefix(&self, prefix: &[u8]) -> Result<KeyValues, Error> {
        let hi = prefix_end(prefix);
        self.inner.with_reader(|c| {
            let rows = c.query(
                "SELECT k, v FROM cee_kv WHERE k >= $1 AND ($2::bytea IS NULL OR k < $2) ORDER BY k",
                &[&prefix, &hi],
            )?;
            Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }

    /// A unique id, never handed out twice (the registry's `next_id`), for writes made outside
    /// [`PgStore::write`] (inside it, ask the lease for ids: they come with the lock).
    #[cfg_attr(
        not(test),
        expect(
            dead_code,
            reason = "operations and tests: not reachable from the public API yet"
        )
    )]
    pub(crate) fn generate_id(&self) -> Result<u64, Error> {
        self.inner.with_reader(|c| {
            let id: i64 = c
                .query_one(
                    "UPDATE cee_meta SET next_id = next_id + 1 WHERE id = 1 RETURNING next_id - 1",
                    &[],
                )?
                .get(0);
            Ok(u64::try_from(id).unwrap_or(0))
        })
    }

    /// `Ok` when the replica was in step with the registry within the staleness bound;
    /// otherwise `Error::Unavailable` (a `simulate` must not answer from a stale index).
    pub(crate) fn fresh(&self) -> Result<(), Error> {
        if self.inner.diverged.load(Ordering::Acquire) {
            return Err(Error::Unavailable(
                "the registry diverged from this instance; reloading",
            ));
        }
        let last = Duration::from_millis(self.inner.last_sync_ms.load(Ordering::Acquire));
        if self.inner.base.elapsed().saturating_sub(last) > self.inner.opts.staleness {
            return Err(Error::Unavailable(
                "not synchronised with the registry within the staleness bound",
            ));
        }
        Ok(())
    }

    /// Odd while the replica is being reloaded; changed by every reload. A reader that sees
    /// the same even value before and after reading the index fed by the replica read no
    /// half-reloaded one.
    pub(crate) fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    /// Gives the registry a new epoch: every instance reloads. Part of restoring a backup or
    /// promoting a standby that may have missed commits.
    #[cfg_attr(
        not(test),
        expect(
            dead_code,
            reason = "operations and tests: not reachable from the public API yet"
        )
    )]
    pub(crate) fn new_epoch(&self) -> Result<(), Error> {
        self.inner.with_reader(|c| {
            c.execute(
                "UPDATE cee_meta SET epoch = $1 WHERE id = 1",
                &[&schema::new_epoch()],
            )?;
            Ok(())
        })
    }

    /// The sequence number of the last change applied to the replica.
    #[cfg_attr(
        not(test),
        expect(
            dead_code,
            reason = "operations and tests: not reachable from the public API yet"
        )
    )]
    pub(crate) fn applied(&self) -> u64 {
        lock(&self.inner.sync).applied
    }

    /// Reloads after a divergence so far (the initial load not counted).
    #[cfg_attr(
        not(test),
        expect(
            dead_code,
            reason = "operations and tests: not reachable from the public API yet"
        )
    )]
    pub(crate) fn rebuilds(&self) -> u64 {
        self.inner.rebuilds.load(Ordering::Acquire)
    }

    /// The last divergence detected, if any.
    #[cfg_attr(
        not(test),
        expect(
            dead_code,
            reason = "operations and tests: not reachable from the public API yet"
        )
    )]
    pub(crate) fn last_divergence(&self) -> Option<Divergence> {
        *lock(&self.inner.last_divergence)
    }

    /// `synchronous_commit` inside the last write transaction.
    #[cfg(test)]
    pub(crate) fn seen_synchronous_commit(&self) -> String {
        lock(&self.inner.seen_synchronous_commit).clone()
    }

    /// Makes the next committed write report an unknown outcome.
    #[cfg(test)]
    pub(crate) fn lose_next_commit_answer(&self) {
        self.inner.fail_after_commit.store(true, Ordering::Release);
    }

    /// Server process id of the listener's connection (0 when it has none): tests kill it.
    #[cfg(test)]
    pub(crate) fn listener_pid(&self) -> i32 {
        self.inner.listener_pid.load(Ordering::Acquire)
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.inner.stop.store(true, Ordering::Release);
        // The listener notices within one poll tick; joining would make every drop wait for it.
        drop(lock(&self.listener).take());
    }
}

impl Inner {
    fn connect(&self) -> Result<Client, Error> {
        let mut client = self.config.connect(NoTls)?;
        client.batch_execute(&format!(
            "SET statement_timeout = {}; SET lock_timeout = {}; \
             SET idle_in_transaction_session_timeout = {}",
            self.opts.statement_timeout.as_millis(),
            self.opts.lock_timeout.as_millis(),
            self.opts.statement_timeout.as_millis().saturating_mul(2),
        ))?;
        Ok(client)
    }

    /// Runs `f` on an idle read connection (or a new one), kept for reuse unless it broke.
    fn with_reader<R>(&self, f: impl Fn(&mut Client) -> Result<R, Error>) -> Result<R, Error> {
        let pooled = lock(&self.readers).pop();
        let mut client = match pooled {
            Some(c) if !c.is_closed() => c,
            _ => self.connect()?,
        };
        let mut out = f(&mut client);
        if matches!(&out, Err(Error::Storage(_))) && client.is_closed() {
            // An idle connection the server dropped: once more on a new one. Point reads are
            // idempotent; `next_id` / `epoch` updates that may have run only skip a value.
            client = self.connect()?;
            out = f(&mut client);
        }
        if !client.is_closed() {
            let mut idle = lock(&self.readers);
            if idle.len() < MAX_IDLE_READERS {
                idle.push(client);
            }
        }
        out
    }

    fn mark_synced(&self) {
        let ms = u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_sync_ms.fetch_max(ms, Ordering::AcqRel);
    }

    fn diverged(&self, why: Divergence) {
        tracing::warn!(?why, "registry diverged from this instance: reloading");
        *lock(&self.last_divergence) = Some(why);
        self.diverged.store(true, Ordering::Release);
    }

    /// Reloads the replica from one REPEATABLE READ snapshot and restarts the log from its head.
    fn reload(&self, client: &mut Client) -> Result<(), Error> {
        let mut sync = lock(&self.sync);
        self.reload_locked(client, &mut sync)
    }

    /// [`Inner::reload`] with the sync state already held.
    fn reload_locked(&self, client: &mut Client, sync: &mut SyncState) -> Result<(), Error> {
        let mut tx = client
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let (head, chain, epoch) = read_meta(&mut tx)?;
        let prefixes = self.replica.prefixes();
        let his: Vec<Option<Vec<u8>>> = prefixes.iter().map(|p| prefix_end(p)).collect();
        let params: [&(dyn postgres::types::ToSql + Sync); 2] = [&prefixes, &his];
        let rows = tx.query_raw(
            "SELECT k, v FROM cee_kv, unnest($1::bytea[], $2::bytea[]) AS r(lo, hi)
             WHERE k >= r.lo AND (r.hi IS NULL OR k < r.hi) ORDER BY k",
            params,
        )?;
        let mut rows = postgres::fallible_iterator::FallibleIterator::iterator(rows)
            .map(|r| r.map(|r| (r.get(0), r.get(1))).map_err(Error::from));
        self.generation.fetch_add(1, Ordering::AcqRel);
        let loaded = self.replica.load(&mut rows);
        self.generation.fetch_add(1, Ordering::AcqRel);
        loaded?;
        drop(rows);
        tx.commit()?;
        *sync = SyncState {
            applied: head,
            chain,
            epoch,
        };
        self.diverged.store(false, Ordering::Release);
        self.mark_synced();
        Ok(())
    }
}

/// The client configuration from a conninfo or URL, with our defaults where it says nothing.
fn connect_config(conninfo: &str) -> Result<postgres::Config, Error> {
    let mut config = postgres::Config::from_str(conninfo)
        .map_err(|e| Error::Config(format!("/postgres: {e}")))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(5));
    }
    config.keepalives(true);
    config.keepalives_idle(Duration::from_secs(10));
    if config.get_application_name().is_none() {
        config.application_name("cee-eligibility");
    }
    Ok(config)
}

/// `head`, `chain` and `epoch` of the meta row as the statement's snapshot sees them.
fn read_meta(c: &mut impl GenericClient) -> Result<(u64, [u8; 32], i64), Error> {
    let row = c
        .query_opt("SELECT head, chain, epoch FROM cee_meta WHERE id = 1", &[])?
        .ok_or_else(|| corrupt("cee_meta", "the meta row is missing"))?;
    Ok((seq_of(row.get(0))?, chain_of(row.get(1))?, row.get(2)))
}

fn seq_of(v: i64) -> Result<u64, Error> {
    u64::try_from(v).map_err(|_| corrupt("cee_meta", "negative sequence number"))
}

fn chain_of(v: &[u8]) -> Result<[u8; 32], Error> {
    <[u8; 32]>::try_from(v).map_err(|_| corrupt("cee_change", "a chain is not 32 bytes"))
}

/// Brings `sync` from `applied` to `head` by reading the change log (in the caller's snapshot
/// or transaction), verifying the chain and applying each change to the replica.
fn catch_up(
    c: &mut impl GenericClient,
    sync: &mut SyncState,
    apply: ApplyFn<'_>,
    head: u64,
    chain_at_head: &[u8; 32],
    epoch: i64,
) -> Result<Result<(), Divergence>, Error> {
    if epoch != sync.epoch {
        return Ok(Err(Divergence::NewEpoch));
    }
    if head < sync.applied {
        return Ok(Err(Divergence::Backwards));
    }
    if head == sync.applied {
        return Ok(if *chain_at_head == sync.chain {
            Ok(())
        } else {
            Err(Divergence::OtherChain)
        });
    }
    let from = i64::try_from(sync.applied.max(1)).unwrap_or(i64::MAX);
    let to = i64::try_from(head).unwrap_or(i64::MAX);
    // The row at `applied` is read for its chain only (its delta may be a whole import).
    let rows = c.query(
        "SELECT seq, CASE WHEN seq = $3 THEN NULL ELSE delta END, chain FROM cee_change
         WHERE seq >= $1 AND seq <= $2 ORDER BY seq",
        &[&from, &to, &i64::try_from(sync.applied).unwrap_or(i64::MAX)],
    )?;
    let mut rows = rows.iter().peekable();
    // The log was pruned past this instance's position (`PgStore::prune_log`): it cannot
    // follow from there; a reload can.
    let first = rows.peek().map(|r| seq_of(r.get(0))).transpose()?;
    if first.is_none_or(|s| s > sync.applied.max(1)) {
        return Ok(Err(Divergence::Behind));
    }
    if sync.applied > 0 {
        // The row at `applied` must carry the chain this instance computed for it.
        match rows.next() {
            Some(r) if seq_of(r.get(0))? == sync.applied => {
                if chain_of(r.get(2))? != sync.chain {
                    return Ok(Err(Divergence::OtherChain));
                }
            }
            _ => return Ok(Err(Divergence::OtherChain)),
        }
    }
    for r in rows {
        let seq = seq_of(r.get(0))?;
        let record = || format!("change {seq}");
        if seq != sync.applied + 1 {
            return Err(corrupt(record(), "a gap in the change log"));
        }
        let delta: &[u8] = r
            .get::<_, Option<&[u8]>>(1)
            .ok_or_else(|| corrupt(record(), "no delta"))?;
        let chain = change::next_chain(&sync.chain, seq, delta);
        if chain != chain_of(r.get(2))? {
            return Err(corrupt(
                record(),
                "its chain does not follow from the previous one",
            ));
        }
        apply(seq, delta)?;
        sync.applied = seq;
        sync.chain = chain;
    }
    if sync.applied != head {
        return Err(corrupt("cee_change", "changes up to the head are missing"));
    }
    if sync.chain != *chain_at_head {
        return Ok(Err(Divergence::OtherChain));
    }
    Ok(Ok(()))
}

/// The smallest key above every key starting with `prefix` (`None`: no upper bound).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Locks a mutex; a panic elsewhere while it was held does not poison this store's state,
/// whose invariants are re-established from the registry on the next sync.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
