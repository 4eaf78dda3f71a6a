//! The engine: operations gluing policy, pseudonyms, the in-memory index and the store.

mod applications;
mod audit;
mod backup;
mod config;
mod journeys;
#[cfg(feature = "postgres")]
mod migrate;
mod purge;
mod standardized;
mod types;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};

pub use applications::MAX_IMPORT_ROWS;
pub use audit::{AuditAction, AuditEntry, JournalItem};
pub use config::{Config, Durability};
#[cfg(feature = "postgres")]
pub use migrate::{migrate_to_postgres, Migrated};
pub use standardized::{StandardizedRow, MAX_TOKEN_LEN};
pub use types::*;

use crate::clock::Clock;
use crate::error::Error;
use crate::fields::{JourneyType, Timestamp};
use crate::identity::{IdKind, Keys, Pseudonym};
use crate::index::MemIndex;
use crate::policy::{self, Policy, Prior};
use crate::store::{
    AppKind, AppRecord, Backend, ChangeSet, DeltaSink, ImportKey, IndexDelta, IndexEntry,
    LoadedSegment, Location, Origin, SegmentRow, StoreOptions, WriteTxn,
};
use crate::token::{PublicKey, Signer};

/// The eligibility registry. Cheap to clone; all clones share one database.
///
/// ```
/// use cee_eligibility::{Config, Engine, ImportRow, Operator, SimulateRequest};
/// let engine = Engine::open(Config::temporary())?;
/// let op = Operator::new(1, "89248032800012".parse()?);
/// let row = ImportRow {
///     journey_type: "long".into(),
///     phone_trunc: "+336273488".into(),
///     last_name_trunc: "ABC".into(),
///     datetime: "2022-01-01T00:00:00Z".into(),
/// };
/// assert_eq!(engine.import(&op, &[row])?.imported, 1);
/// let sim = engine.simulate(&op, &SimulateRequest {
///     journey_type: "long".parse()?,
///     phone_trunc: "06 27 34 88".parse()?,
///     last_name_trunc: "ABC".parse()?,
///     driving_license: None,
///     identity_key: None,
/// })?;
/// assert!(!sim.is_eligible());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("durability", &self.inner.durability)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    store: Box<dyn Backend>,
    index: MemIndex,
    keys: Arc<Keys>,
    policy: Policy,
    clock: Arc<dyn Clock>,
    signer: Signer,
    durability: Durability,
    /// Import uniqueness of imported rows that no longer match by name and phone (an identity
    /// key was attached): `(operator, journey type, name+phone pseudonym)`. Every other
    /// imported row is found in `index`. Changed under the write lock only.
    keyed_imports: Mutex<HashSet<ImportKey>>,
    /// Kept uuids of the UUIDv7 shape (imported standardized applications, deleted or not):
    /// what a new import segment's rows must not be named (DESIGN.md "Format 3"). Usually
    /// empty. Changed under the write lock only.
    kept_v7: Mutex<HashSet<[u8; 16]>>,
    /// How long the purge keeps journal entries (error and audit).
    journal_retention: std::time::Duration,
}

impl Engine {
    /// Opens (or creates) the database described by `config`.
    ///
    /// # Errors
    /// [`Error::MissingSecret`] for a path without a secret, [`Error::WrongSecret`] when the
    /// database was created with another secret, [`Error::UnsupportedFormat`] for an unknown
    /// on-disk version, [`Error::Storage`] when the store cannot open the directory, and
    /// [`Error::Corrupt`] when a stored index entry cannot be decoded.
    #[tracing::instrument(level = "debug", skip_all)]
    pub fn open(config: Config) -> Result<Engine, Error> {
        #[cfg(feature = "postgres")]
        let shared = config.postgres.is_some();
        #[cfg(not(feature = "postgres"))]
        let shared = false;
        let persistent = config.path.is_some() || shared;
        let secret = match (config.secret, persistent) {
            (Some(s), _) => s,
            (None, false) => {
                let mut s = [0u8; 32];
                getrandom::fill(&mut s)
                    .map_err(|e| Error::Config(format!("cannot generate a random secret: {e}")))?;
                s
            }
            (None, true) => return Err(Error::MissingSecret),
        };
        if config.policy.start_date >= config.policy.end_date {
            return Err(Error::Config(
                "policy start_date must be before end_date".into(),
            ));
        }
        let keys = Arc::new(Keys::new(&secret));
        let directory = Location::Directory(StoreOptions {
            path: config.path.as_deref(),
            cache_capacity: config.cache_capacity,
        });
        #[cfg(feature = "postgres")]
        let location = match &config.postgres {
            Some(conninfo) => {
                if config.staleness <= std::time::Duration::from_millis(500) {
                    return Err(Error::Config(
                        "the staleness bound must be more than the 0.5 s poll tick".into(),
                    ));
                }
                Location::Postgres {
                    conninfo,
                    durability: config.durability,
                    staleness: config.staleness,
                }
            }
            None => directory,
        };
        #[cfg(not(feature = "postgres"))]
        let location = directory;
        let store = crate::store::open(&location, Arc::clone(&keys))?;
        let (index, keyed_imports, kept_v7) = load_index(&*store)?;
        let signer = config
            .signer
            .unwrap_or_else(|| Signer::ed25519(keys.token_seed()));
        let engine = Engine {
            inner: Arc::new(Inner {
                store,
                index,
                keys,
                policy: config.policy,
                clock: config.clock,
                signer,
                durability: config.durability,
                keyed_imports: Mutex::new(keyed_imports),
                kept_v7: Mutex::new(kept_v7),
                journal_retention: config.journal_retention,
            }),
        };
        // Other processes' changes from now on (a shared registry; nothing for sled). The
        // sink holds the engine weakly: dropping the last clone stops the listener.
        let sink = Arc::new(Follower(Arc::downgrade(&engine.inner)));
        engine.inner.store.follow(sink)?;
        Ok(engine)
    }

    /// Makes everything written so far durable.
    ///
    /// # Errors
    /// When the store cannot write to disk.
    pub fn flush(&self) -> Result<(), Error> {
        self.inner.store.flush()
    }

    /// The key that verifies registration tokens.
    pub fn public_key(&self) -> PublicKey {
        self.inner.signer.public_key()
    }

    /// Does `token` sign `message` (see [`token::message`](crate::token::message))?
    pub fn verify(&self, message: &str, token: &str) -> bool {
        self.public_key().verify(message, token)
    }

    /// The rules in force.
    pub fn policy(&self) -> &Policy {
        &self.inner.policy
    }

    /// The engine's current time.
    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// Is this engine's in-memory index in step with its registry, so that `simulate` answers?
    /// Always on a directory registry; on a shared one (PostgreSQL, SPEC §11.5), not when it
    /// could not synchronise within its staleness bound or is rebuilding its index. For
    /// readiness probes: a load balancer takes such an instance out until it catches up.
    ///
    /// # Errors
    /// [`Error::Unavailable`] saying why.
    pub fn check_fresh(&self) -> Result<(), Error> {
        let store = &self.inner.store;
        if store.index_generation() % 2 == 1 {
            return Err(Error::Unavailable("the index is being rebuilt"));
        }
        store.fresh()
    }
}

/// Receives the changes other instances commit to a shared registry (a listener thread).
struct Follower(std::sync::Weak<Inner>);

impl DeltaSink for Follower {
    fn apply(&self, delta: &IndexDelta) {
        if let Some(inner) = self.0.upgrade() {
            inner.apply(delta);
        }
    }

    /// The registry diverged (a restore, a failover that lost commits): the index is rebuilt
    /// from the new snapshot aside, then swapped in. `simulate` answers unavailable meanwhile,
    /// and after a failed rebuild until one succeeds (the old index is never answered from).
    fn reloaded(&self) -> Result<(), Error> {
        let Some(inner) = self.0.upgrade() else {
            return Ok(());
        };
        let (index, keyed, kept) = load_index(&*inner.store).inspect_err(|e| {
            tracing::error!(error = %e, "index rebuild failed");
        })?;
        inner.index.replace_with(index);
        *inner.keyed_imports() = keyed;
        *inner.kept_v7() = kept;
        tracing::info!("index rebuilt from the registry");
        Ok(())
    }
}

/// What `load_index` builds: the index, the keyed imports, the kept uuids of the v7 shape.
type Loaded = (MemIndex, HashSet<ImportKey>, HashSet<[u8; 16]>);

/// Builds the in-memory index from the store: imported rows from their segments (unless a
/// record supersedes them), then every stored index entry.
fn load_index(store: &dyn Backend) -> Result<Loaded, Error> {
    let index = MemIndex::new();
    let mut overridden = HashSet::new();
    let mut keyed_imports = HashSet::new();
    let mut kept_v7 = HashSet::new();
    store.load_changed_imports(&mut |uuid, r| {
        if r.kind != AppKind::Specific {
            // A kept uuid of the v7 shape (format 3): no segment row of its own.
            kept_v7.insert(uuid);
            return Ok(());
        }
        if r.deleted_at.is_none() && r.identity_key.is_some() {
            keyed_imports.insert(import_key(&r));
        }
        overridden.insert(uuid);
        Ok(())
    })?;
    load_segments(store, &index, &overridden)?;
    store.load_entries(&mut |e| {
        index.insert(&e.pseudonym, prior(&e));
        Ok(())
    })?;
    Ok((index, keyed_imports, kept_v7))
}

/// What an imported application's record must not repeat on import.
fn import_key(r: &AppRecord) -> ImportKey {
    (r.operator_id, r.journey_type, r.name_phone)
}

/// Inserts every imported row that no override supersedes. Inserting dominates (hash-map
/// growth and cache misses, ~0.5 µs per row), so two threads insert while this one scans and
/// decodes: each takes the rows whose shard has its parity, so they never share a lock.
fn load_segments(
    store: &dyn Backend,
    index: &MemIndex,
    overridden: &HashSet<[u8; 16]>,
) -> Result<(), Error> {
    const WORKERS: usize = 2;
    std::thread::scope(|scope| {
        let mut senders = Vec::with_capacity(WORKERS);
        for part in 0..WORKERS {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Arc<LoadedSegment>>(16);
            senders.push(tx);
            scope.spawn(move || {
                for loaded in rx {
                    let seg = &loaded.segment;
                    for (i, row) in seg.rows.iter().enumerate() {
                        if row.is_hole() {
                            continue;
                        }
                        let p = Pseudonym(row.name_phone);
                        if index.shard_of(&p) % WORKERS != part {
                            continue;
                        }
                        let uuid = seg.uuid(i, &loaded.mask);
                        if overridden.is_empty() || !overridden.contains(&uuid) {
                            let e = segment_entry(seg.operator, row, uuid);
                            index.insert(&p, prior(&e));
                        }
                    }
                }
            });
        }
        store.load_segments(&mut |loaded| {
            for tx in &senders {
                // A worker only stops early by panicking, which the scope re-raises.
                let _ = tx.send(Arc::clone(&loaded));
            }
            Ok(())
        })
    })
}

/// The (memory-only) name+phone index entry of an imported row.
fn segment_entry(operator: u32, row: &SegmentRow, uuid: [u8; 16]) -> IndexEntry {
    IndexEntry {
        id_kind: IdKind::NamePhone,
        pseudonym: Pseudonym(row.name_phone),
        journey_type: row.journey_type,
        datetime: row.datetime,
        app: uuid,
        app_kind: AppKind::Specific,
        operator,
    }
}

/// Index entries owned by an active application record: one per identifier that reaches it
/// (`policy::reachable_by`).
pub(crate) fn record_entries(uuid: &[u8; 16], r: &AppRecord) -> Vec<IndexEntry> {
    let reach = policy::reachable_by(r.name_phone, r.license, r.identity_key);
    reach
        .map(|(id_kind, p)| IndexEntry {
            id_kind,
            pseudonym: Pseudonym(p),
            journey_type: r.journey_type,
            datetime: r.datetime,
            app: *uuid,
            app_kind: r.kind,
            operator: r.operator_id,
        })
        .collect()
}

/// The rules' view of an index entry.
fn prior(e: &IndexEntry) -> Prior {
    let standardized = e.app_kind == AppKind::Standardized;
    Prior::new(e.datetime, e.operator, e.journey_type, standardized, e.app)
}

impl Inner {
    fn flush_if_immediate(&self) -> Result<(), Error> {
        match self.durability {
            Durability::Immediate => self.store.flush(),
            Durability::Buffered => Ok(()),
        }
    }

    /// One mutation: takes the write lock, catches up with other writers, lets `f` check and
    /// build the change set, commits it and mirrors its delta in memory before releasing the
    /// lock; then flushes (`Durability::Immediate`). Nothing is written when `f` fails.
    fn write<T>(
        &self,
        f: impl FnOnce(&mut dyn WriteTxn) -> Result<(T, ChangeSet), Error>,
    ) -> Result<T, Error> {
        let mut reloads = 0;
        let mut txn = loop {
            let mut txn = self.store.begin()?;
            match txn.catch_up() {
                Ok(deltas) => {
                    for delta in deltas {
                        self.apply(&delta);
                    }
                    break txn;
                }
                // A shared registry that diverged from this instance: the backend reloaded
                // (the index was rebuilt); nothing was checked yet, so take the lock again.
                Err(Error::Unavailable(_)) if reloads < 3 => reloads += 1,
                Err(e) => return Err(e),
            }
        };
        let (out, changes) = f(&mut *txn)?;
        if !changes.is_empty() {
            let delta = changes.index.clone();
            txn.commit(changes)?;
            self.apply(&delta);
        }
        drop(txn);
        self.flush_if_immediate()?;
        Ok(out)
    }

    /// Mirrors a committed change in memory.
    fn apply(&self, d: &IndexDelta) {
        for e in d.removed.iter().chain(&d.implied_removed) {
            self.index.remove(&e.pseudonym, &e.app);
        }
        for e in d.added.iter().chain(&d.implied) {
            self.index.insert(&e.pseudonym, prior(e));
        }
        self.note_kept(&d.added);
        if !d.keyed_removed.is_empty() || !d.keyed_added.is_empty() {
            let mut keyed = self.keyed_imports();
            for k in &d.keyed_removed {
                keyed.remove(k);
            }
            keyed.extend(d.keyed_added.iter().copied());
        }
    }

    fn get_app(&self, uuid: &[u8; 16]) -> Result<Option<AppRecord>, Error> {
        Ok(self.store.app(uuid)?.map(|(r, _)| r))
    }

    fn keyed_imports(&self) -> MutexGuard<'_, HashSet<ImportKey>> {
        self.keyed_imports.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn kept_v7(&self) -> MutexGuard<'_, HashSet<[u8; 16]>> {
        self.kept_v7.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The index entries application `uuid` currently has (in memory, and in the store for a
    /// record): what a change to it must remove.
    fn live_entries(
        txn: &dyn WriteTxn,
        uuid: &[u8; 16],
        r: &AppRecord,
        origin: Origin,
    ) -> Result<Vec<IndexEntry>, Error> {
        match origin {
            Origin::Record => txn.stored_entries(uuid, r),
            // Segment rows have no stored entry: the one in memory is computed from the row.
            Origin::Segment => Ok(record_entries(uuid, r)),
        }
    }

    /// The most recent application blocking a candidate of type `jt` at reference date `d`,
    /// among the given pseudonyms (SPEC §5); ties go to the caller's own.
    fn most_recent_blocking(
        &self,
        caller: u32,
        jt: JourneyType,
        d: Timestamp,
        pseudonyms: &[Pseudonym],
    ) -> Option<Prior> {
        let th = self.policy.thresholds(jt, d);
        let found = pseudonyms.iter().filter_map(|p| {
            self.index
                .find(p, |es| policy::most_recent_blocking(es, jt, &th, caller))
                .flatten()
        });
        found.max_by_key(|e| e.precedence(caller))
    }

    /// The row `operator` imported for `np` with journey type `jt`, if it still matches by
    /// name and phone (import uniqueness, SPEC §6).
    fn imported_by(&self, np: &Pseudonym, operator: u32, jt: JourneyType) -> Option<[u8; 16]> {
        self.index
            .find(np, |es| {
                es.iter()
                    .find(|e| e.is_import_of(operator, jt))
                    .map(|e| e.app)
            })
            .flatten()
    }
}
