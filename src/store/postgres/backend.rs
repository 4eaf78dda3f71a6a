//! The seam's [`Backend`] on PostgreSQL: format 4's key/values in `cee_kv`, the write lock and
//! change log of [`PgStore`], and an [`IndexDelta`] per change for the other instances.
//!
//! How an engine uses it (the wiring of `Config::postgres`):
//!
//! 1. `PgBackend::open(conninfo, keys, durability, options)`: tables checked or created, one
//!    snapshot of the OVERRIDE, SEGMENT and INDEX families read and held;
//! 2. the engine builds its index through `load_changed_imports`, `load_segments`,
//!    `load_entries` (served from that snapshot, as one consistent view);
//! 3. `follow(sink)`: the listener starts; every change committed by another instance reaches
//!    `sink.apply(&IndexDelta)` in commit order; after a divergence the snapshot is read again
//!    and `sink.reloaded()` asks the engine to rebuild its index through the load phases;
//! 4. writes: `begin` → `catch_up` (deltas the listener has not delivered yet) → check →
//!    `commit`, exactly as with sled; `simulate` first asks [`PgBackend::fresh`].
//!
//! The key/value mapping repeats the sled backend's (`sled_backend.rs`, purge scans included);
//! both should share one module over a small key/value trait.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use crate::error::Error;
use crate::fields::{ApplicationId, JourneyType};
use crate::identity::{IdKind, Keys};
use crate::store::backend::{Census, JournalId, PurgeScan};
use crate::store::codec;
use crate::store::imported_uuid::{self, UuidMask};
use crate::store::keys::{self, INDEX_KEY_LEN};
use crate::store::records::{
    AppKind, AppRecord, AuditRecord, IndexEntry, JournalRecord, JourneyRecord, Segment, SegmentRow,
};
use crate::store::segment;
use crate::store::{
    Backend, ChangeSet as Changes, DeltaSink, IdSpace, ImportKey, IndexDelta, LoadedSegment,
    Origin, Reads, WriteTxn,
};
use crate::Durability;

use super::write::PgTxn;
use super::{lock, ChangeSet, KeyValues, PgOptions, PgStore, Replica};

/// Rows of one snapshot, by family, until the load phases take them.
#[derive(Default)]
struct Snapshot {
    overrides: Option<KeyValues>,
    segments: Option<KeyValues>,
    entries: Option<KeyValues>,
}

/// The replica the store feeds: holds the snapshot for the load phases and passes deltas on.
#[derive(Default)]
struct Bridge {
    snapshot: Mutex<Snapshot>,
    sink: Mutex<Option<Arc<dyn DeltaSink>>>,
}

impl Replica for Bridge {
    fn prefixes(&self) -> Vec<Vec<u8>> {
        vec![
            vec![keys::INDEX],
            vec![segment_family()],
            vec![keys::OVERRIDE],
        ]
    }

    fn load(
        &self,
        rows: &mut dyn Iterator<Item = Result<(Vec<u8>, Vec<u8>), Error>>,
    ) -> Result<(), Error> {
        let (mut overrides, mut segments, mut entries) = (Vec::new(), Vec::new(), Vec::new());
        for row in rows {
            let (k, v) = row?;
            match k.first() {
                Some(&keys::OVERRIDE) => overrides.push((k, v)),
                Some(&keys::INDEX) => entries.push((k, v)),
                _ => segments.push((k, v)),
            }
        }
        *lock(&self.snapshot) = Snapshot {
            overrides: Some(overrides),
            segments: Some(segments),
            entries: Some(entries),
        };
        let sink = lock(&self.sink).clone();
        match sink {
            Some(sink) => sink.reloaded(),
            None => Ok(()),
        }
    }

    fn apply(&self, seq: u64, delta: &[u8]) -> Result<(), Error> {
        let d = decode_delta(delta).map_err(|reason| Error::Corrupt {
            record: format!("change {seq}"),
            reason,
        })?;
        let sink = lock(&self.sink).clone();
        if let Some(sink) = sink {
            sink.apply(&d);
        }
        Ok(())
    }
}

fn segment_family() -> u8 {
    segment::key(0)[0]
}

/// A registry on PostgreSQL behind the seam.
pub(crate) struct PgBackend {
    store: PgStore,
    keys: Arc<Keys>,
    durability: Durability,
    bridge: Arc<Bridge>,
}

impl PgBackend {
    /// Opens (creating the tables of an empty database) and reads one snapshot for the load
    /// phases. The listener starts with [`PgBackend::follow`].
    pub(crate) fn open(
        conninfo: &str,
        keys: Arc<Keys>,
        durability: Durability,
        options: PgOptions,
    ) -> Result<Self, Error> {
        let bridge = Arc::new(Bridge::default());
        let store = PgStore::open(
            conninfo,
            &keys,
            PgOptions {
                listener: false,
                ..options
            },
            bridge.clone(),
        )?;
        Ok(PgBackend {
            store,
            keys,
            durability,
            bridge,
        })
    }

    /// The store underneath (tests, migration, statistics).
    #[cfg_attr(
        not(test),
        expect(
            dead_code,
            reason = "operations and tests: not reachable from the public API yet"
        )
    )]
    pub(crate) fn store(&self) -> &PgStore {
        &self.store
    }

    fn family(
        &self,
        which: fn(&mut Snapshot) -> &mut Option<KeyValues>,
        prefix: u8,
    ) -> Result<KeyValues, Error> {
        let held = which(&mut lock(&self.bridge.snapshot)).take();
        match held {
            Some(rows) => Ok(rows),
            // Asked again without a reload: read the family as it is now.
            None => self.store.scan_prefix(&[prefix]),
        }
    }

    fn segment(&self, id: u64) -> Result<Option<Segment>, Error> {
        let key = segment::key(id);
        match self.store.get(&key)? {
            None => Ok(None),
            Some(v) => decode_segment(&key, &v).map(Some),
        }
    }
}

fn decode_segment(k: &[u8], v: &[u8]) -> Result<Segment, Error> {
    Segment::decode(k, v).map_err(|e| e.corrupt("import segment"))
}

fn app_name(uuid: &[u8; 16]) -> String {
    format!("application {}", ApplicationId::from_bytes(*uuid))
}

/// An imported row that no record supersedes, as a record (as the sled backend builds it).
fn row_record(seg: &Segment, row: &SegmentRow) -> AppRecord {
    AppRecord {
        kind: AppKind::Specific,
        journey_type: row.journey_type,
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
        past: None,
    }
}

impl Reads for PgBackend {
    fn app(&self, uuid: &[u8; 16]) -> Result<Option<(AppRecord, Origin)>, Error> {
        if let Some(bytes) = self.store.get(&keys::app_key(uuid))? {
            return Ok(Some((
                codec::decode(&bytes, || app_name(uuid))?,
                Origin::Record,
            )));
        }
        let Some(instant) = imported_uuid::instant_of(uuid) else {
            return Ok(None);
        };
        let mask = UuidMask::new(self.keys.uuid_mask(instant));
        let Some((id, _)) = imported_uuid::locate(uuid, &mask) else {
            return Ok(None);
        };
        let Some(seg) = self.segment(id)? else {
            return Ok(None);
        };
        Ok(segment::names_row(&seg, uuid, &mask)
            .map(|row| (row_record(&seg, &row), Origin::Segment)))
    }

    fn journey(&self, operator: u32, ojid: &str) -> Result<Option<JourneyRecord>, Error> {
        match self.store.get(&keys::journey_key(operator, ojid))? {
            None => Ok(None),
            Some(bytes) => {
                codec::decode(&bytes, || format!("journey of operator {operator}")).map(Some)
            }
        }
    }

    fn journey_exists(&self, operator: u32, ojid: &str) -> Result<bool, Error> {
        Ok(self
            .store
            .get(&keys::journey_key(operator, ojid))?
            .is_some())
    }

    fn stored_entries(&self, uuid: &[u8; 16], r: &AppRecord) -> Result<Vec<IndexEntry>, Error> {
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
            prefix.push(keys::jt_byte(r.journey_type));
            for (k, v) in self.store.scan_prefix(&prefix)? {
                if k.ends_with(uuid) {
                    out.push(IndexEntry::decode(&k, &v).ok_or_else(|| Error::Corrupt {
                        record: app_name(uuid),
                        reason: "invalid index entry".into(),
                    })?);
                }
            }
        }
        Ok(out)
    }
}

/// A write holding the registry's lock. Reads go through the store's other connections: they
/// see every commit made before the lock was taken, and nobody else commits while it is held.
struct PgWrite<'a> {
    backend: &'a PgBackend,
    txn: Option<PgTxn<'a>>,
}

impl<'a> PgWrite<'a> {
    fn txn(&mut self) -> Result<&mut PgTxn<'a>, Error> {
        self.txn
            .as_mut()
            .ok_or(Error::Unavailable("the registry diverged; write again"))
    }
}

impl Reads for PgWrite<'_> {
    fn app(&self, uuid: &[u8; 16]) -> Result<Option<(AppRecord, Origin)>, Error> {
        self.backend.app(uuid)
    }

    fn journey(&self, operator: u32, ojid: &str) -> Result<Option<JourneyRecord>, Error> {
        self.backend.journey(operator, ojid)
    }

    fn journey_exists(&self, operator: u32, ojid: &str) -> Result<bool, Error> {
        self.backend.journey_exists(operator, ojid)
    }

    fn stored_entries(&self, uuid: &[u8; 16], r: &AppRecord) -> Result<Vec<IndexEntry>, Error> {
        self.backend.stored_entries(uuid, r)
    }
}

impl WriteTxn for PgWrite<'_> {
    fn catch_up(&mut self) -> Result<Vec<IndexDelta>, Error> {
        let mut deltas = Vec::new();
        let outcome = self.txn()?.catch_up(&mut |seq, delta| {
            deltas.push(decode_delta(delta).map_err(|reason| Error::Corrupt {
                record: format!("change {seq}"),
                reason,
            })?);
            Ok(())
        })?;
        match outcome {
            Ok(()) => Ok(deltas),
            Err(why) => {
                if let Some(txn) = self.txn.take() {
                    // Reloads the snapshot and tells the sink to rebuild from it.
                    txn.reload(why)?;
                }
                Err(Error::Unavailable(
                    "the registry diverged from this instance: reloaded, write again",
                ))
            }
        }
    }

    fn next_id(&mut self, _space: IdSpace) -> Result<u64, Error> {
        // One counter for every space, starting at 1: never 0, far below 62 bits.
        self.txn()?.next_id()
    }

    fn commit(&mut self, changes: Changes) -> Result<(), Error> {
        let ops = format_ops(&changes)?;
        let delta = encode_delta(&changes.index);
        self.txn()?.commit(&ops, &delta)?;
        Ok(())
    }
}

// ---- Retention purge (SPEC §11.6): the sled backend's scans, over `cee_kv` ----

impl PurgeScan for PgWrite<'_> {
    fn scan_records(
        &self,
        f: &mut dyn FnMut([u8; 16], AppRecord) -> Result<(), Error>,
    ) -> Result<(), Error> {
        for family in [keys::APP, keys::OVERRIDE] {
            for (k, v) in self.backend.store.scan_prefix(&[family])? {
                let uuid: [u8; 16] =
                    k.get(1..)
                        .and_then(|u| u.try_into().ok())
                        .ok_or_else(|| Error::Corrupt {
                            record: "application record".into(),
                            reason: format!("malformed key ({} bytes)", k.len()),
                        })?;
                f(uuid, codec::decode(&v, || app_name(&uuid))?)?;
            }
        }
        Ok(())
    }

    fn scan_segments(
        &self,
        f: &mut dyn FnMut(LoadedSegment) -> Result<(), Error>,
    ) -> Result<(), Error> {
        for (k, v) in self.backend.store.scan_prefix(&[segment_family()])? {
            let segment = decode_segment(&k, &v)?;
            let mask = UuidMask::of(&self.backend.keys, segment.created_at);
            f(LoadedSegment { segment, mask })?;
        }
        Ok(())
    }

    fn scan_journeys(
        &self,
        f: &mut dyn FnMut(u32, JourneyRecord) -> Result<(), Error>,
    ) -> Result<(), Error> {
        for (k, v) in self.backend.store.scan_prefix(&[keys::JOURNEY])? {
            let operator = k
                .get(1..5)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_be_bytes)
                .ok_or_else(|| Error::Corrupt {
                    record: "journey".into(),
                    reason: format!("malformed key ({} bytes)", k.len()),
                })?;
            f(
                operator,
                codec::decode(&v, || format!("journey of operator {operator}"))?,
            )?;
        }
        Ok(())
    }

    fn journal_before(&self, at: i64) -> Result<Vec<JournalId>, Error> {
        self.backend.timed_before(Timed::ERROR, at)
    }

    fn audit_before(&self, at: i64) -> Result<Vec<JournalId>, Error> {
        self.backend.timed_before(Timed::AUDIT, at)
    }
}

/// One of the two journals (format 4): its key family, key parser and name.
struct Timed {
    family: u8,
    id: fn(&[u8]) -> Option<(i64, u64)>,
    what: &'static str,
}

impl Timed {
    const ERROR: Timed = Timed {
        family: keys::JOURNAL,
        id: keys::journal_id,
        what: "error journal entry",
    };
    const AUDIT: Timed = Timed {
        family: keys::AUDIT,
        id: keys::audit_id,
        what: "audit journal entry",
    };

    fn id_of(&self, k: &[u8]) -> Result<JournalId, Error> {
        let (at, seq) = (self.id)(k).ok_or_else(|| Error::Corrupt {
            record: self.what.into(),
            reason: format!("malformed key ({} bytes)", k.len()),
        })?;
        Ok(JournalId { at, seq })
    }
}

impl PgBackend {
    /// The ids of a journal's entries dated strictly before `at`.
    fn timed_before(&self, j: Timed, at: i64) -> Result<Vec<JournalId>, Error> {
        let mut out = Vec::new();
        // Keys are in time order: stop at the first entry not older than `at`.
        for (k, _) in self.store.scan_prefix(&[j.family])? {
            let id = j.id_of(&k)?;
            if id.at >= at {
                break;
            }
            out.push(id);
        }
        Ok(out)
    }

    /// Every entry of a journal with its id, oldest first.
    fn timed<R: codec::Record>(&self, j: Timed) -> Result<Vec<(JournalId, R)>, Error> {
        let mut out = Vec::new();
        for (k, v) in self.store.scan_prefix(&[j.family])? {
            out.push((j.id_of(&k)?, codec::decode(&v, || j.what.into())?));
        }
        Ok(out)
    }
}

/// A change set as format 4's key/values (the sled backend's batch, as puts and removes).
fn format_ops(changes: &Changes) -> Result<ChangeSet, Error> {
    let mut cs = ChangeSet::default();
    // Removals first: a key removed and written again in one change set stays written.
    for e in &changes.index.removed {
        cs.remove(&e.key());
    }
    let purge = &changes.purge;
    for uuid in &purge.apps {
        cs.remove(&keys::app_key(uuid));
    }
    for id in &purge.segments {
        cs.remove(&segment::key(*id));
    }
    for (operator, ojid) in &purge.journeys {
        cs.remove(&keys::journey_key(*operator, ojid));
    }
    for id in &purge.journal {
        cs.remove(&keys::journal_key(id.at, id.seq));
    }
    for id in &purge.audit {
        cs.remove(&keys::audit_key(id.at, id.seq));
    }
    for seg in &purge.rewritten {
        cs.put(&segment::key(seg.id), &seg.encode());
    }
    for seg in &changes.segments {
        if !seg.storable() {
            return Err(Error::Corrupt {
                record: "import segment".into(),
                reason: format!("segment id {} beyond 62 bits", seg.id),
            });
        }
        cs.put(&segment::key(seg.id), &seg.encode());
    }
    for (uuid, r) in &changes.apps {
        cs.put(&keys::app_key(uuid), &codec::encode(r));
    }
    for e in &changes.index.added {
        cs.put(&e.key(), &e.value());
    }
    for (operator, j) in &changes.journeys {
        cs.put(
            &keys::journey_key(*operator, &j.operator_journey_id),
            &codec::encode(j),
        );
    }
    for (id, r) in &changes.journal {
        cs.put(&keys::journal_key(id.at, id.seq), &codec::encode(r));
    }
    // In the same change set as the write it describes: there iff the write is.
    for (id, r) in &changes.audit {
        cs.put(&keys::audit_key(id.at, id.seq), &codec::encode(r));
    }
    Ok(cs)
}

impl Backend for PgBackend {
    /// Starts the listener: other instances' changes reach `sink` (after the index was loaded).
    fn follow(&self, sink: Arc<dyn DeltaSink>) -> Result<(), Error> {
        *lock(&self.bridge.sink) = Some(sink);
        self.store.follow()
    }

    /// `Err(Error::Unavailable)` when the index may be stale (SPEC §11.5).
    fn fresh(&self) -> Result<(), Error> {
        self.store.fresh()
    }

    fn index_generation(&self) -> u64 {
        self.store.generation()
    }

    fn compact_log(&self) -> Result<u64, Error> {
        self.store.prune_log()
    }

    fn load_changed_imports(
        &self,
        f: &mut dyn FnMut([u8; 16], AppRecord) -> Result<(), Error>,
    ) -> Result<(), Error> {
        for (k, v) in self.family(|s| &mut s.overrides, keys::OVERRIDE)? {
            let uuid: [u8; 16] = k
                .get(1..)
                .and_then(|u| u.try_into().ok())
                .filter(imported_uuid::is_imported)
                .ok_or_else(|| Error::Corrupt {
                    record: "imported application record".into(),
                    reason: format!("malformed key ({} bytes)", k.len()),
                })?;
            f(uuid, codec::decode(&v, || app_name(&uuid))?)?;
        }
        Ok(())
    }

    fn load_segments(
        &self,
        f: &mut dyn FnMut(Arc<LoadedSegment>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        for (k, v) in self.family(|s| &mut s.segments, segment_family())? {
            let segment = decode_segment(&k, &v)?;
            let mask = UuidMask::of(&self.keys, segment.created_at);
            f(Arc::new(LoadedSegment { segment, mask }))?;
        }
        Ok(())
    }

    fn load_entries(
        &self,
        f: &mut dyn FnMut(IndexEntry) -> Result<(), Error>,
    ) -> Result<(), Error> {
        for (k, v) in self.family(|s| &mut s.entries, keys::INDEX)? {
            let e = IndexEntry::decode(&k, &v).ok_or_else(|| Error::Corrupt {
                record: "identity index entry".into(),
                reason: format!(
                    "malformed key ({} bytes) or value ({} bytes)",
                    k.len(),
                    v.len()
                ),
            })?;
            f(e)?;
        }
        Ok(())
    }

    fn begin(&self) -> Result<Box<dyn WriteTxn + '_>, Error> {
        Ok(Box::new(PgWrite {
            backend: self,
            txn: Some(self.store.begin(self.durability)?),
        }))
    }

    fn flush(&self) -> Result<(), Error> {
        match self.durability {
            // Every commit was synchronous already.
            Durability::Immediate => Ok(()),
            Durability::Buffered => self.store.flush(),
        }
    }

    fn for_each_app(&self, f: &mut dyn FnMut(&AppRecord)) -> Result<(), Error> {
        let mut overridden = HashSet::new();
        for family in [keys::APP, keys::OVERRIDE] {
            for (k, v) in self.store.scan_prefix(&[family])? {
                let r: AppRecord =
                    codec::decode(&v, || format!("application record ({} byte key)", k.len()))?;
                f(&r);
                if family == keys::OVERRIDE {
                    overridden.insert(k);
                }
            }
        }
        for (k, v) in self.store.scan_prefix(&[segment_family()])? {
            let seg = decode_segment(&k, &v)?;
            let mask = UuidMask::of(&self.keys, seg.created_at);
            for (i, row) in seg.rows.iter().enumerate() {
                if !row.is_hole() && !overridden.contains(&keys::app_key(&seg.uuid(i, &mask))[..]) {
                    f(&row_record(&seg, row));
                }
            }
        }
        Ok(())
    }

    fn journal(&self) -> Result<Vec<(JournalId, JournalRecord)>, Error> {
        self.timed(Timed::ERROR)
    }

    fn audit(&self) -> Result<Vec<(JournalId, AuditRecord)>, Error> {
        self.timed(Timed::AUDIT)
    }

    /// A PostgreSQL registry is backed up with PostgreSQL's tools (`pg_basebackup` and WAL
    /// archiving for point-in-time recovery, or `pg_dump`), which see every instance's writes;
    /// a restore is followed by `PgStore::new_epoch` so that every instance reloads.
    fn backup(&self, _dest: &std::path::Path) -> Result<(), Error> {
        Err(Error::Config(
            "/backup: a PostgreSQL registry is backed up with PostgreSQL's tools \
             (pg_basebackup, pg_dump), not by the engine"
                .into(),
        ))
    }

    fn census(&self) -> Result<Census, Error> {
        Ok(Census {
            journeys: self.store.count_prefix(&[keys::JOURNEY])?,
            journal: self.store.count_prefix(&[keys::JOURNAL])?,
            size_on_disk: self.store.size_on_disk()?,
        })
    }
}

/// Encoding versions of an [`IndexDelta`] in the change log: 1 (without `implied_removed`,
/// written before format 3) is still read; 2 is written.
const DELTA_V1: u8 = 1;
const DELTA_V2: u8 = 2;
const ENTRY_LEN: usize = INDEX_KEY_LEN + 9;
const IMPORT_KEY_LEN: usize = 4 + 1 + 16;

/// `[02]`, then `removed`, `added`, `implied`, `implied_removed` (count u32 LE, entries as
/// index key ‖ value), then `keyed_removed`, `keyed_added` (count u32 LE, operator u32 BE ‖
/// jt ‖ pseudonym). Version 1 is the same without `implied_removed`.
fn encode_delta(d: &IndexDelta) -> Vec<u8> {
    let entries = d.removed.len() + d.added.len() + d.implied.len() + d.implied_removed.len();
    let keyed = d.keyed_removed.len() + d.keyed_added.len();
    let mut out = Vec::with_capacity(25 + entries * ENTRY_LEN + keyed * IMPORT_KEY_LEN);
    out.push(DELTA_V2);
    for list in [&d.removed, &d.added, &d.implied, &d.implied_removed] {
        out.extend_from_slice(&count32(list.len()).to_le_bytes());
        for e in list {
            out.extend_from_slice(&e.key());
            out.extend_from_slice(&e.value());
        }
    }
    for list in [&d.keyed_removed, &d.keyed_added] {
        out.extend_from_slice(&count32(list.len()).to_le_bytes());
        for (operator, jt, p) in list {
            out.extend_from_slice(&operator.to_be_bytes());
            out.push(keys::jt_byte(*jt));
            out.extend_from_slice(p);
        }
    }
    out
}

fn count32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn decode_delta(bytes: &[u8]) -> Result<IndexDelta, String> {
    let (&version, mut rest) = bytes.split_first().ok_or("empty delta")?;
    let lists = match version {
        DELTA_V1 => 3,
        DELTA_V2 => 4,
        _ => return Err(format!("unknown delta encoding {version}")),
    };
    let mut take = |n: usize| -> Result<&[u8], String> {
        if rest.len() < n {
            return Err("truncated delta".into());
        }
        let (head, tail) = rest.split_at(n);
        rest = tail;
        Ok(head)
    };
    let mut d = IndexDelta::default();
    for i in 0..lists {
        let n = read_count(take(4)?)?;
        let mut list = Vec::new();
        for _ in 0..n {
            let raw = take(ENTRY_LEN)?;
            let (k, v) = raw.split_at(INDEX_KEY_LEN);
            list.push(IndexEntry::decode(k, v).ok_or("invalid index entry in delta")?);
        }
        match i {
            0 => d.removed = list,
            1 => d.added = list,
            2 => d.implied = list,
            _ => d.implied_removed = list,
        }
    }
    for i in 0..2 {
        let n = read_count(take(4)?)?;
        let mut list: Vec<ImportKey> = Vec::new();
        for _ in 0..n {
            let raw = take(IMPORT_KEY_LEN)?;
            let operator = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
            let jt: JourneyType = keys::jt_from_byte(raw[4]).ok_or("invalid journey type")?;
            let mut p = [0u8; 16];
            p.copy_from_slice(&raw[5..]);
            list.push((operator, jt, p));
        }
        if i == 0 {
            d.keyed_removed = list;
        } else {
            d.keyed_added = list;
        }
    }
    if !take(0)?.is_empty() || !rest.is_empty() {
        return Err("trailing bytes in delta".into());
    }
    Ok(d)
}

fn read_count(b: &[u8]) -> Result<usize, String> {
    let n = u32::from_le_bytes(b.try_into().map_err(|_| "truncated count")?);
    usize::try_from(n).map_err(|_| "count overflow".into())
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests may unwrap")]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::identity::Pseudonym;
    use crate::store::postgres::testing::fresh_database;
    use crate::store::JournalId;
    use crate::store::JournalKind;

    fn keys() -> Arc<Keys> {
        Arc::new(Keys::new(&[7; 32]))
    }

    fn options() -> PgOptions {
        PgOptions {
            poll: Duration::from_millis(50),
            ..PgOptions::default()
        }
    }

    fn entry(kind: IdKind, p: u8, app: [u8; 16], app_kind: AppKind) -> IndexEntry {
        IndexEntry {
            id_kind: kind,
            pseudonym: Pseudonym([p; 16]),
            journey_type: JourneyType::Short,
            datetime: 1_767_225_600_000,
            app,
            app_kind,
            operator: 42,
        }
    }

    fn record(name_phone: u8, license: Option<u8>) -> AppRecord {
        AppRecord {
            kind: AppKind::Standardized,
            journey_type: JourneyType::Short,
            operator_id: 42,
            datetime: 1_767_225_600_000,
            created_at: 1_767_225_600_000,
            application_timestamp: None,
            journey: None,
            token: None,
            deleted_at: None,
            name_phone: [name_phone; 16],
            license: license.map(|l| [l; 16]),
            identity_key: None,
            past: None,
        }
    }

    /// A registration: its record and the entries it implies.
    fn registration(uuid: [u8; 16], p: u8) -> Changes {
        let mut c = Changes::default();
        c.apps.push((uuid, record(p, Some(p + 1))));
        c.index.added = vec![
            entry(IdKind::NamePhone, p, uuid, AppKind::Standardized),
            entry(IdKind::License, p + 1, uuid, AppKind::Standardized),
        ];
        c
    }

    #[derive(Default)]
    struct Sink {
        deltas: Mutex<Vec<IndexDelta>>,
        reloads: Mutex<u32>,
    }

    impl DeltaSink for Sink {
        fn apply(&self, delta: &IndexDelta) {
            self.deltas.lock().unwrap().push(delta.clone());
        }
        fn reloaded(&self) -> Result<(), Error> {
            *self.reloads.lock().unwrap() += 1;
            Ok(())
        }
    }

    /// `Config::durability` reaches every write transaction of an engine's backend.
    #[test]
    fn durability_maps_to_synchronous_commit() {
        let Some(db) = fresh_database("backend_durability") else {
            return;
        };
        // The test cluster runs with synchronous_commit = off: "on" can only come from us.
        for (durability, want) in [(Durability::Immediate, "on"), (Durability::Buffered, "off")] {
            let b = PgBackend::open(&db, keys(), durability, options()).unwrap();
            let mut txn = b.begin().unwrap();
            txn.catch_up().unwrap();
            txn.commit(registration([want.len() as u8; 16], 40 + want.len() as u8))
                .unwrap();
            drop(txn);
            assert_eq!(b.store().seen_synchronous_commit(), want, "{durability:?}");
        }
    }

    #[test]
    fn a_delta_round_trips_and_damage_is_an_error() {
        let mut d = IndexDelta::default();
        d.removed
            .push(entry(IdKind::License, 1, [1; 16], AppKind::Standardized));
        d.added
            .push(entry(IdKind::NamePhone, 2, [2; 16], AppKind::Standardized));
        d.implied
            .push(entry(IdKind::NamePhone, 3, [3; 16], AppKind::Specific));
        d.keyed_added.push((42, JourneyType::Long, [4; 16]));
        d.keyed_removed.push((43, JourneyType::Short, [5; 16]));
        let v1 = encode_delta(&d);
        d.implied_removed
            .push(entry(IdKind::NamePhone, 6, [6; 16], AppKind::Specific));
        let bytes = encode_delta(&d);
        assert_eq!(decode_delta(&bytes), Ok(d.clone()));
        // Version 1 (before format 3) has no `implied_removed` list and still decodes.
        let mut v1 = v1;
        v1[0] = DELTA_V1;
        // Its lists: removed, added, implied (one entry each), then the empty fourth count.
        let fourth = 1 + 3 * (4 + ENTRY_LEN);
        assert_eq!(v1[fourth..fourth + 4], [0; 4]);
        v1.drain(fourth..fourth + 4);
        d.implied_removed.clear();
        assert_eq!(decode_delta(&v1), Ok(d));
        for cut in 0..bytes.len() {
            assert!(decode_delta(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode_delta(&longer).is_err());
    }

    #[test]
    fn records_written_by_one_instance_are_read_loaded_and_followed_by_others() {
        let Some(db) = fresh_database("backend") else {
            return;
        };
        let a = PgBackend::open(&db, keys(), Durability::Immediate, options()).unwrap();
        let mut txn = a.begin().unwrap();
        assert!(txn.catch_up().unwrap().is_empty());
        let seg_id = txn.next_id(IdSpace::Segment).unwrap();
        let seg = Segment {
            id: seg_id,
            operator: 42,
            created_at: 1_767_225_600_000,
            rows: vec![
                SegmentRow {
                    journey_type: JourneyType::Short,
                    datetime: 1_767_225_600_000,
                    name_phone: [9; 16],
                },
                SegmentRow {
                    journey_type: JourneyType::Long,
                    datetime: 1_767_225_600_000,
                    name_phone: [10; 16],
                },
            ],
        };
        let mut changes = registration([1; 16], 20);
        changes.segments.push(seg.clone());
        changes.journal.push((
            JournalId {
                at: 1_767_225_600_000,
                seq: txn.next_id(IdSpace::Journal).unwrap(),
            },
            JournalRecord {
                kind: JournalKind::Date,
                operator_id: 42,
                journey_type: JourneyType::Short,
                at: 1_767_225_600_000,
                application: None,
            },
        ));
        txn.commit(changes).unwrap();
        drop(txn);

        // Another instance loads it all from its snapshot.
        let b = PgBackend::open(&db, keys(), Durability::Buffered, options()).unwrap();
        let mut segments = Vec::new();
        b.load_segments(&mut |s| {
            segments.push(s.segment.clone());
            Ok(())
        })
        .unwrap();
        assert_eq!(segments, vec![seg.clone()]);
        let mut entries = Vec::new();
        b.load_entries(&mut |e| {
            entries.push(e);
            Ok(())
        })
        .unwrap();
        assert_eq!(entries.len(), 2);
        let (r, origin) = b.app(&[1; 16]).unwrap().unwrap();
        assert_eq!((r, origin), (record(20, Some(21)), Origin::Record));
        let mask = UuidMask::of(&b.keys, seg.created_at);
        let (row, origin) = b.app(&seg.uuid(1, &mask)).unwrap().unwrap();
        assert_eq!((row.name_phone, origin), ([10; 16], Origin::Segment));
        assert_eq!(
            b.stored_entries(&[1; 16], &record(20, Some(21)))
                .unwrap()
                .len(),
            2
        );
        assert_eq!(b.journal().unwrap().len(), 1);
        let mut apps = 0;
        b.for_each_app(&mut |_| apps += 1).unwrap();
        assert_eq!(apps, 3, "one record and two imported rows");
        assert!(b.census().unwrap().size_on_disk > 0);
        let refused = b.backup(std::path::Path::new("/nonexistent/backup"));
        assert!(matches!(refused, Err(Error::Config(m)) if m.starts_with("/backup:")));
        b.flush().unwrap();

        // b follows; c neither follows nor loads: its writer catches up.
        let sink = Arc::new(Sink::default());
        b.follow(sink.clone()).unwrap();
        let c = PgBackend::open(&db, keys(), Durability::Immediate, options()).unwrap();
        let second = registration([2; 16], 30);
        let want = second.index.clone();
        let mut txn = a.begin().unwrap();
        assert!(txn.catch_up().unwrap().is_empty());
        txn.commit(second).unwrap();
        drop(txn);
        let t = std::time::Instant::now();
        while sink.deltas.lock().unwrap().is_empty() && t.elapsed() < Duration::from_secs(1) {
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(
            *sink.deltas.lock().unwrap(),
            vec![want.clone()],
            "b's listener delivered it"
        );
        let mut txn = c.begin().unwrap();
        assert_eq!(txn.catch_up().unwrap(), vec![want]);
        drop(txn);

        // A new epoch: b reloads and asks its engine to rebuild.
        let before = b.index_generation();
        assert!(before.is_multiple_of(2), "no reload in progress");
        c.store().new_epoch().unwrap();
        let t = std::time::Instant::now();
        while *sink.reloads.lock().unwrap() == 0 && t.elapsed() < Duration::from_secs(2) {
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(*sink.reloads.lock().unwrap(), 1);
        let t = std::time::Instant::now();
        while b.fresh().is_err() && t.elapsed() < Duration::from_secs(1) {
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(b.fresh().is_ok(), "fresh again once reloaded");
        let after = b.index_generation();
        assert!(
            after.is_multiple_of(2) && after > before,
            "{before} → {after}"
        );
        let mut entries = 0;
        b.load_entries(&mut |_| {
            entries += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(entries, 4, "the new snapshot has both registrations");
        // c's writer finds the new epoch: it reloads and says so.
        let mut txn = c.begin().unwrap();
        assert!(matches!(txn.catch_up(), Err(Error::Unavailable(_))));
        drop(txn);
        let mut txn = c.begin().unwrap();
        assert!(txn.catch_up().unwrap().is_empty());
    }
}
