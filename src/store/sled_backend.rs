//! The first backend: one sled tree in on-disk format 4 (DESIGN.md), one process.
//!
//! The write lock is an in-process mutex (there is no other process to catch up with), a
//! change set is one sled `Batch`, ids come from sled's `generate_id`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::Error;
use crate::fields::ApplicationId;
use crate::identity::{IdKind, Keys};

use super::backend::{
    Backend, Census, ChangeSet, IdSpace, JournalId, LoadedSegment, Origin, PurgeScan, Reads,
    WriteTxn,
};
use super::codec;
use super::imported_uuid::{self, UuidMask};
use super::keys;
use super::records::{
    AppKind, AppRecord, AuditRecord, IndexEntry, JournalRecord, JourneyRecord, Segment, SegmentRow,
};
use super::segment;
use super::{Store, StoreOptions, WriteBatch};

/// Format 4 on sled.
pub(crate) struct SledBackend {
    store: Store,
    keys: Arc<Keys>,
    write: Mutex<()>,
}

impl SledBackend {
    /// Opens the database and checks (or, when fresh, writes) its format version and the
    /// secret's key check.
    pub(crate) fn open(opts: &StoreOptions<'_>, keys: Arc<Keys>) -> Result<Self, Error> {
        let store = Store::open(opts)?;
        check_meta(&store, &keys)?;
        Ok(SledBackend {
            store,
            keys,
            write: Mutex::new(()),
        })
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

/// Checks (or, on a fresh database, writes) the format version and the secret's key check.
fn check_meta(store: &Store, keys: &Keys) -> Result<(), Error> {
    let format = store.get(keys::META_FORMAT)?;
    let check = store.get(keys::META_KEYCHECK)?;
    match (format, check) {
        (Some(f), Some(c)) => {
            match f.as_slice() {
                [v] if *v == keys::FORMAT_VERSION => {}
                // Format 2 → 3 adds a record version (application records with `past`), 3 → 4
                // a key family (the audit journal); neither rewrites anything: format-2 and
                // format-3 records still decode. Only the version moves, so that an older
                // build refuses the registry from now on (it would not know audit keys).
                [2 | 3] => {
                    if c.as_slice() != keys.key_check() {
                        return Err(Error::WrongSecret);
                    }
                    let mut b = WriteBatch::default();
                    b.insert(keys::META_FORMAT, &[keys::FORMAT_VERSION]);
                    store.apply(b)?;
                    store.flush()?;
                }
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

/// An imported row that no record supersedes, as a record.
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

impl Reads for SledBackend {
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
            for kv in self.store.scan_prefix(&prefix) {
                let (k, v) = kv?;
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

/// The write lock held, reads go straight to the database.
struct SledTxn<'a> {
    backend: &'a SledBackend,
    _lock: MutexGuard<'a, ()>,
}

impl Reads for SledTxn<'_> {
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

impl WriteTxn for SledTxn<'_> {
    fn catch_up(&mut self) -> Result<Vec<super::IndexDelta>, Error> {
        Ok(Vec::new())
    }

    fn next_id(&mut self, space: IdSpace) -> Result<u64, Error> {
        let id = self.backend.store.generate_id()?;
        Ok(match space {
            // 1-based: sled hands out 0 first.
            IdSpace::Journey => id.saturating_add(1),
            IdSpace::Segment | IdSpace::Journal => id,
        })
    }

    fn commit(&mut self, changes: ChangeSet) -> Result<(), Error> {
        let mut batch = WriteBatch::default();
        // Removals first: a key removed and written again in one change set stays written.
        for e in &changes.index.removed {
            batch.remove(&e.key());
        }
        let purge = &changes.purge;
        for uuid in &purge.apps {
            batch.remove(&keys::app_key(uuid));
        }
        for id in &purge.segments {
            batch.remove(&segment::key(*id));
        }
        for (operator, ojid) in &purge.journeys {
            batch.remove(&keys::journey_key(*operator, ojid));
        }
        for id in &purge.journal {
            batch.remove(&keys::journal_key(id.at, id.seq));
        }
        for id in &purge.audit {
            batch.remove(&keys::audit_key(id.at, id.seq));
        }
        for seg in &purge.rewritten {
            batch.insert(&segment::key(seg.id), &seg.encode());
        }
        for seg in &changes.segments {
            if !seg.storable() {
                return Err(Error::Corrupt {
                    record: "import segment".into(),
                    reason: format!("segment id {} beyond 62 bits", seg.id),
                });
            }
            batch.insert(&segment::key(seg.id), &seg.encode());
        }
        for (uuid, r) in &changes.apps {
            batch.insert(&keys::app_key(uuid), &codec::encode(r));
        }
        for e in &changes.index.added {
            batch.insert(&e.key(), &e.value());
        }
        for (operator, j) in &changes.journeys {
            batch.insert(
                &keys::journey_key(*operator, &j.operator_journey_id),
                &codec::encode(j),
            );
        }
        for (id, r) in &changes.journal {
            batch.insert(&keys::journal_key(id.at, id.seq), &codec::encode(r));
        }
        // In the same batch as the write it describes: there iff the write is.
        for (id, r) in &changes.audit {
            batch.insert(&keys::audit_key(id.at, id.seq), &codec::encode(r));
        }
        // `index.implied` is derived from the segments: nothing to store.
        self.backend.store.apply(batch)
    }
}

// ---- Retention purge (SPEC §11.6) ----

impl PurgeScan for SledTxn<'_> {
    fn scan_records(
        &self,
        f: &mut dyn FnMut([u8; 16], AppRecord) -> Result<(), Error>,
    ) -> Result<(), Error> {
        for family in [keys::APP, keys::OVERRIDE] {
            for kv in self.backend.store.scan_prefix(&[family]) {
                let (k, v) = kv?;
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
        for kv in self.backend.store.scan_prefix(&[keys::SEGMENT]) {
            let (k, v) = kv?;
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
        for kv in self.backend.store.scan_prefix(&[keys::JOURNEY]) {
            let (k, v) = kv?;
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

/// One of the two journals: its key family, key parser and name.
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
}

impl SledBackend {
    /// Every stored key/value pair but the META family's, in key order (tests comparing
    /// backends byte for byte).
    #[cfg(all(test, feature = "postgres"))]
    pub(crate) fn key_values(&self) -> Result<super::postgres::KeyValues, Error> {
        self.store
            .scan_prefix(&[])
            .filter(|kv| {
                kv.as_ref()
                    .map_or(true, |(k, _)| k.first() != Some(&keys::META))
            })
            .collect()
    }

    /// The ids of a journal's entries dated strictly before `at`.
    fn timed_before(&self, j: Timed, at: i64) -> Result<Vec<JournalId>, Error> {
        let mut out = Vec::new();
        // Keys are in time order: stop at the first entry not older than `at`.
        for kv in self.store.scan_prefix(&[j.family]) {
            let (k, _) = kv?;
            let id = timed_id(&j, &k)?;
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
        for kv in self.store.scan_prefix(&[j.family]) {
            let (k, v) = kv?;
            let id = timed_id(&j, &k)?;
            out.push((id, codec::decode(&v, || j.what.into())?));
        }
        Ok(out)
    }
}

fn timed_id(j: &Timed, k: &[u8]) -> Result<JournalId, Error> {
    let (at, seq) = (j.id)(k).ok_or_else(|| Error::Corrupt {
        record: j.what.into(),
        reason: format!("malformed key ({} bytes)", k.len()),
    })?;
    Ok(JournalId { at, seq })
}

// ---- end of retention purge ----

impl Backend for SledBackend {
    fn load_changed_imports(
        &self,
        f: &mut dyn FnMut([u8; 16], AppRecord) -> Result<(), Error>,
    ) -> Result<(), Error> {
        for kv in self.store.scan_prefix(&[keys::OVERRIDE]) {
            let (k, v) = kv?;
            let uuid: [u8; 16] = k
                .get(1..)
                .and_then(|u| u.try_into().ok())
                .filter(imported_uuid::is_imported)
                .ok_or_else(|| Error::Corrupt {
                    record: "imported application record".into(),
                    reason: format!("malformed key ({} bytes)", k.len()),
                })?;
            let r: AppRecord = codec::decode(&v, || app_name(&uuid))?;
            f(uuid, r)?;
        }
        Ok(())
    }

    fn load_segments(
        &self,
        f: &mut dyn FnMut(Arc<LoadedSegment>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        for kv in self.store.scan_prefix(&[keys::SEGMENT]) {
            let (k, v) = kv?;
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
        for kv in self.store.scan_prefix(&[keys::INDEX]) {
            let (k, v) = kv?;
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
        Ok(Box::new(SledTxn {
            backend: self,
            _lock: self.write.lock().unwrap_or_else(|e| e.into_inner()),
        }))
    }

    fn flush(&self) -> Result<(), Error> {
        self.store.flush()
    }

    fn for_each_app(&self, f: &mut dyn FnMut(&AppRecord)) -> Result<(), Error> {
        let mut overridden = HashSet::new();
        for family in [keys::APP, keys::OVERRIDE] {
            for kv in self.store.scan_prefix(&[family]) {
                let (k, v) = kv?;
                let r: AppRecord =
                    codec::decode(&v, || format!("application record ({} byte key)", k.len()))?;
                f(&r);
                if family == keys::OVERRIDE {
                    overridden.insert(k);
                }
            }
        }
        for kv in self.store.scan_prefix(&[keys::SEGMENT]) {
            let (k, v) = kv?;
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

    fn backup(&self, dest: &std::path::Path) -> Result<(), Error> {
        // Writers wait for the copy (the write lock), readers never (they take no lock).
        let _writers_wait = self.write.lock().unwrap_or_else(|e| e.into_inner());
        self.store.backup(dest)
    }

    fn census(&self) -> Result<Census, Error> {
        Ok(Census {
            journeys: self.store.scan_prefix(&[keys::JOURNEY]).count() as u64,
            journal: self.store.scan_prefix(&[keys::JOURNAL]).count() as u64,
            size_on_disk: self.store.size_on_disk()?,
        })
    }
}
