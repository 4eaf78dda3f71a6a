//! The engine: operations gluing policy, pseudonyms, the in-memory index and the store.

mod applications;
mod backup;
mod config;
mod journeys;
mod types;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};

pub use config::{Config, Durability};
pub use types::*;

use crate::clock::Clock;
use crate::error::Error;
use crate::fields::{ApplicationId, JourneyType, Timestamp};
use crate::identity::{IdKind, Keys, Pseudonym};
use crate::index::{Entry, MemIndex};
use crate::policy::Policy;
use crate::store::codec::{self, AppRecord};
use crate::store::keys::{self, AppKind, IndexEntry};
use crate::store::segment::{self, Segment, UuidMask};
use crate::store::{Store, StoreOptions, WriteBatch};
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
    store: Store,
    index: MemIndex,
    keys: Keys,
    policy: Policy,
    clock: Arc<dyn Clock>,
    signer: Signer,
    durability: Durability,
    /// Import uniqueness of imported rows that no longer match by name and phone (an identity
    /// key was attached): `(operator, journey type, name+phone pseudonym)`. Every other
    /// imported row is found in `index`. Changed under the write lock only.
    keyed_imports: Mutex<HashSet<ImportKey>>,
    /// Serialises every write: checks and inserts are atomic with respect to each other.
    write: Mutex<()>,
}

impl Engine {
    /// Opens (or creates) the database described by `config`.
    ///
    /// # Errors
    /// [`Error::MissingSecret`] for a path without a secret, [`Error::WrongSecret`] when the
    /// database was created with another secret, [`Error::UnsupportedFormat`] for an unknown
    /// on-disk version, [`Error::Storage`] when sled cannot open the directory, and
    /// [`Error::Corrupt`] when a stored index entry cannot be decoded.
    #[tracing::instrument(level = "debug", skip_all)]
    pub fn open(config: Config) -> Result<Engine, Error> {
        let secret = match (config.secret, &config.path) {
            (Some(s), _) => s,
            (None, None) => {
                let mut s = [0u8; 32];
                getrandom::fill(&mut s)
                    .map_err(|e| Error::Config(format!("cannot generate a random secret: {e}")))?;
                s
            }
            (None, Some(_)) => return Err(Error::MissingSecret),
        };
        if config.policy.start_date >= config.policy.end_date {
            return Err(Error::Config(
                "policy start_date must be before end_date".into(),
            ));
        }
        let keys = Keys::new(&secret);
        let store = Store::open(&StoreOptions {
            path: config.path.as_deref(),
            cache_capacity: config.cache_capacity,
        })?;
        check_meta(&store, &keys)?;
        let (index, keyed_imports) = load_index(&store, &keys)?;
        let signer = config
            .signer
            .unwrap_or_else(|| Signer::ed25519(keys.token_seed()));
        Ok(Engine {
            inner: Arc::new(Inner {
                store,
                index,
                keys,
                policy: config.policy,
                clock: config.clock,
                signer,
                durability: config.durability,
                keyed_imports: Mutex::new(keyed_imports),
                write: Mutex::new(()),
            }),
        })
    }

    /// Makes everything written so far durable.
    ///
    /// # Errors
    /// When sled cannot write to disk.
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
}

/// `(operator, journey type byte, name+phone pseudonym)`: what an import must not repeat.
pub(crate) type ImportKey = (u32, u8, [u8; 16]);

/// Builds the in-memory index from the store: imported rows from their segments (unless a
/// record supersedes them), then every stored index entry.
fn load_index(store: &Store, keys: &Keys) -> Result<(MemIndex, HashSet<ImportKey>), Error> {
    let index = MemIndex::new();
    let mut overridden = HashSet::new();
    let mut keyed_imports = HashSet::new();
    for kv in store.scan_prefix(&[keys::OVERRIDE]) {
        let (k, v) = kv?;
        let uuid: [u8; 16] = k
            .get(1..)
            .and_then(|u| u.try_into().ok())
            .filter(segment::is_imported)
            .ok_or_else(|| Error::Corrupt {
                record: "imported application record".into(),
                reason: format!("malformed key ({} bytes)", k.len()),
            })?;
        let r: AppRecord = codec::decode(&v, || {
            format!("application {}", ApplicationId::from_bytes(uuid))
        })?;
        if r.deleted_at.is_none() && r.identity_key.is_some() {
            keyed_imports.insert((r.operator_id, r.journey_type, r.name_phone));
        }
        overridden.insert(uuid);
    }
    load_segments(store, keys, &index, &overridden)?;
    for kv in store.scan_prefix(&[keys::INDEX]) {
        let (k, v) = kv?;
        let e = IndexEntry::decode(&k, &v).ok_or_else(|| Error::Corrupt {
            record: "identity index entry".into(),
            reason: format!(
                "malformed key ({} bytes) or value ({} bytes)",
                k.len(),
                v.len()
            ),
        })?;
        index.insert(&e.pseudonym, Entry::from_index(&e));
    }
    Ok((index, keyed_imports))
}

/// Inserts every imported row that no override supersedes. Inserting dominates (hash-map
/// growth and cache misses, ~0.5 µs per row), so two threads insert while this one scans and
/// decodes: each takes the rows whose shard has its parity, so they never share a lock.
fn load_segments(
    store: &Store,
    keys: &Keys,
    index: &MemIndex,
    overridden: &HashSet<[u8; 16]>,
) -> Result<(), Error> {
    const WORKERS: usize = 2;
    std::thread::scope(|scope| {
        let mut senders = Vec::with_capacity(WORKERS);
        for part in 0..WORKERS {
            let (tx, rx) = std::sync::mpsc::sync_channel::<(Arc<Segment>, UuidMask)>(16);
            senders.push(tx);
            scope.spawn(move || {
                for (seg, mask) in rx {
                    for (i, row) in seg.rows.iter().enumerate() {
                        let p = Pseudonym(row.name_phone);
                        if index.shard_of(&p) % WORKERS != part {
                            continue;
                        }
                        let uuid = seg.uuid(i, &mask);
                        if overridden.is_empty() || !overridden.contains(&uuid) {
                            let e = segment_entry(&seg, row, uuid);
                            index.insert(&p, Entry::from_index(&e));
                        }
                    }
                }
            });
        }
        for kv in store.scan_prefix(&[keys::SEGMENT]) {
            let (k, v) = kv?;
            let seg = Segment::decode(&k, &v).map_err(|reason| Error::Corrupt {
                record: "import segment".into(),
                reason,
            })?;
            let mask = segment_mask(keys, seg.created_at);
            let seg = Arc::new(seg);
            for tx in &senders {
                // A worker only stops early by panicking, which the scope re-raises.
                let _ = tx.send((Arc::clone(&seg), mask));
            }
        }
        Ok(())
    })
}

/// The mask of the uuids of the segments created at `created_at` (ms).
pub(crate) fn segment_mask(keys: &Keys, created_at: i64) -> UuidMask {
    UuidMask::new(keys.uuid_mask(UuidMask::instant(created_at)))
}

/// The (memory-only) name+phone index entry of an imported row.
fn segment_entry(seg: &Segment, row: &segment::SegmentRow, uuid: [u8; 16]) -> IndexEntry {
    IndexEntry {
        id_kind: IdKind::NamePhone,
        pseudonym: Pseudonym(row.name_phone),
        journey_type: row.journey_type,
        datetime: row.datetime,
        app: uuid,
        app_kind: AppKind::Specific,
        operator: seg.operator,
    }
}

/// Checks (or, on a fresh database, writes) the format version and the secret's key check.
fn check_meta(store: &Store, keys: &Keys) -> Result<(), Error> {
    let format = store.get(keys::META_FORMAT)?;
    let check = store.get(keys::META_KEYCHECK)?;
    match (format, check) {
        (Some(f), Some(c)) => {
            match f.as_slice() {
                [v] if *v == keys::FORMAT_VERSION => {}
                [v] => {
                    return Err(Error::UnsupportedFormat {
                        found: *v,
                        supported: keys::FORMAT_VERSION,
                    })
                }
                other => {
                    return Err(Error::Corrupt {
                        record: "database metadata".into(),
                        reason: format!("format version of {} bytes", other.len()),
                    })
                }
            }
            if c.as_slice() != keys.key_check() {
                return Err(Error::WrongSecret);
            }
            Ok(())
        }
        (None, None) if store.is_empty() => {
            let mut b = WriteBatch::default();
            b.insert(keys::META_FORMAT, &[keys::FORMAT_VERSION]);
            b.insert(keys::META_KEYCHECK, &keys.key_check());
            store.apply(b)?;
            store.flush()
        }
        _ => Err(Error::Corrupt {
            record: "database metadata".into(),
            reason: "format version or key check missing".into(),
        }),
    }
}

/// Where an application's current state is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A record under `[02]` or `[07]`, with its index entries stored beside it.
    Record,
    /// A row of an import segment, never changed; its index entry lives only in memory.
    Segment,
}

/// Index entries owned by an active application record.
pub(crate) fn record_entries(uuid: &[u8; 16], r: &AppRecord) -> Result<Vec<IndexEntry>, Error> {
    let journey_type =
        keys::jt_from_byte(r.journey_type).ok_or_else(|| corrupt_app(uuid, "journey type"))?;
    let app_kind = AppKind::from_u8(r.kind).ok_or_else(|| corrupt_app(uuid, "kind"))?;
    let mut out = Vec::with_capacity(3);
    let mut push = |id_kind, p: [u8; 16]| {
        out.push(IndexEntry {
            id_kind,
            pseudonym: Pseudonym(p),
            journey_type,
            datetime: r.datetime,
            app: *uuid,
            app_kind,
            operator: r.operator_id,
        });
    };
    // SPEC §5 rule 2: name+phone only matches an application without identity key.
    if r.identity_key.is_none() {
        push(IdKind::NamePhone, r.name_phone);
    }
    if let Some(p) = r.license {
        push(IdKind::License, p);
    }
    if let Some(p) = r.identity_key {
        push(IdKind::IdentityKey, p);
    }
    Ok(out)
}

fn corrupt_app(uuid: &[u8; 16], what: &str) -> Error {
    Error::Corrupt {
        record: format!("application {}", ApplicationId::from_bytes(*uuid)),
        reason: format!("invalid {what}"),
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, ()> {
        self.write.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn flush_if_immediate(&self) -> Result<(), Error> {
        match self.durability {
            Durability::Immediate => self.store.flush(),
            Durability::Buffered => Ok(()),
        }
    }

    fn get_app(&self, uuid: &[u8; 16]) -> Result<Option<AppRecord>, Error> {
        Ok(self.load_app(uuid)?.map(|(r, _)| r))
    }

    /// An application's record and where it comes from: its own record, or (an imported
    /// application never changed since) its import segment row.
    fn load_app(&self, uuid: &[u8; 16]) -> Result<Option<(AppRecord, Origin)>, Error> {
        let what = || format!("application {}", ApplicationId::from_bytes(*uuid));
        if let Some(bytes) = self.store.get(&keys::app_key(uuid))? {
            return Ok(Some((codec::decode(&bytes, what)?, Origin::Record)));
        }
        let Some(mask) = segment::instant_of(uuid).map(|t| UuidMask::new(self.keys.uuid_mask(t)))
        else {
            return Ok(None);
        };
        let Some((id, _)) = segment::locate(uuid, &mask) else {
            return Ok(None);
        };
        let Some(v) = self.store.get(&segment::key(id))? else {
            return Ok(None);
        };
        let seg = Segment::decode(&segment::key(id), &v).map_err(|reason| Error::Corrupt {
            record: "import segment".into(),
            reason,
        })?;
        Ok(segment::names_row(&seg, uuid, &mask).map(|row| {
            let record = AppRecord {
                kind: AppKind::Specific as u8,
                journey_type: keys::jt_byte(row.journey_type),
                operator_id: seg.operator,
                datetime: row.datetime,
                created_at: seg.created_at,
                application_timestamp: None,
                journey: None,
                token: None,
                deleted_at: None,
                name_phone: row.name_phone,
                license: None,
                identity_key: None,
            };
            (record, Origin::Segment)
        }))
    }

    /// The index entries application `uuid` currently has (in memory, and on disk for a
    /// record): what a change to it must remove.
    fn live_entries(
        &self,
        uuid: &[u8; 16],
        r: &AppRecord,
        origin: Origin,
    ) -> Result<Vec<IndexEntry>, Error> {
        match origin {
            Origin::Record => self.stored_entries(uuid, r),
            // Segment rows have no stored entry: the one in memory is computed from the row.
            Origin::Segment => record_entries(uuid, r),
        }
    }

    fn keyed_imports(&self) -> MutexGuard<'_, HashSet<ImportKey>> {
        self.keyed_imports.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a record and its index entries to `batch`; returns the entries to mirror in
    /// memory once the batch is applied.
    fn put_app(
        &self,
        batch: &mut WriteBatch,
        uuid: &[u8; 16],
        r: &AppRecord,
    ) -> Result<Vec<IndexEntry>, Error> {
        batch.insert(&keys::app_key(uuid), &codec::encode(r));
        let entries = record_entries(uuid, r)?;
        for e in &entries {
            batch.insert(&e.key(), &e.value());
        }
        Ok(entries)
    }

    /// The index entries stored for application `uuid`, found by scanning the prefixes of the
    /// record's pseudonyms rather than recomputed from its fields, so that a record and its
    /// keys that disagree (damage, a past bug) still lose every key on delete.
    fn stored_entries(&self, uuid: &[u8; 16], r: &AppRecord) -> Result<Vec<IndexEntry>, Error> {
        let jt = r.journey_type;
        let candidates = [
            Some((IdKind::NamePhone, r.name_phone)),
            r.license.map(|p| (IdKind::License, p)),
            r.identity_key.map(|p| (IdKind::IdentityKey, p)),
        ];
        let mut out = Vec::with_capacity(3);
        for (kind, p) in candidates.into_iter().flatten() {
            let mut prefix = Vec::with_capacity(19);
            prefix.extend_from_slice(&[keys::INDEX, kind as u8]);
            prefix.extend_from_slice(&p);
            prefix.push(jt);
            for kv in self.store.scan_prefix(&prefix) {
                let (k, v) = kv?;
                if k.ends_with(uuid) {
                    out.push(
                        IndexEntry::decode(&k, &v)
                            .ok_or_else(|| corrupt_app(uuid, "index entry"))?,
                    );
                }
            }
        }
        Ok(out)
    }

    fn mirror_insert(&self, entries: &[IndexEntry]) {
        for e in entries {
            self.index.insert(&e.pseudonym, Entry::from_index(e));
        }
    }

    fn mirror_remove(&self, entries: &[IndexEntry]) {
        for e in entries {
            self.index.remove(&e.pseudonym, &e.app);
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
    ) -> Option<Entry> {
        let th = self.policy.thresholds(jt, d);
        pseudonyms
            .iter()
            .filter_map(|p| self.index.most_recent_blocking(p, jt, &th, caller))
            .max_by_key(|e| e.precedence(caller))
    }
}
