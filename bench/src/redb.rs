//! redb 4 baseline with the engine's index key scheme.
//!
//! Keys are `[id kind][pseudonym ×16][journey_type][bucket u32 BE][time i64 BE, sign bit
//! flipped][uuid ×16]` (46 bytes; the engine adds a family byte in front), values
//! `[app kind][operator u32 BE]`. A look-up is one bounded range scan per identifier:
//! `[kind][p][jt][bucket(threshold)] .. [kind][p][jt + 1]`, read from the back (the most
//! recent entry), accepted if its time is at or after the threshold. One read transaction
//! and its open table are held across calls ([`Redb::begin_read`]).

use std::path::Path;
use std::time::{Duration, Instant};

use ::redb::{Database, ReadOnlyTable, ReadableDatabase, TableDefinition};
use cee_eligibility::SimulateRequest;

use crate::pseudonym::Pseudonymizer;
use crate::workload::{jt_byte, Baseline, Entry, Found, Thresholds, BATCH, SECRET};
use crate::Error;

/// Key length.
pub const KEY_LEN: usize = 1 + 16 + 1 + 4 + 8 + 16;
type Key = [u8; KEY_LEN];
const TABLE: TableDefinition<'static, Key, [u8; 5]> = TableDefinition::new("index");

fn time_bytes(ms: i64) -> [u8; 8] {
    ((ms as u64) ^ (1 << 63)).to_be_bytes()
}

fn time_from(b: &[u8]) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    (u64::from_be_bytes(a) ^ (1 << 63)) as i64
}

/// Calendar month index `year × 12 + month0` of an instant, like the engine's buckets.
pub fn bucket(ms: i64) -> u32 {
    use chrono::Datelike;
    let d = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
    u32::try_from(d.year().max(0)).unwrap_or(0) * 12 + d.month0()
}

fn prefix(kind: u8, p: &[u8; 16], jt: u8) -> Key {
    let mut k = [0u8; KEY_LEN];
    k[0] = kind;
    k[1..17].copy_from_slice(p);
    k[17] = jt;
    k
}

/// The key of an entry.
pub fn key(e: &Entry) -> Key {
    let mut k = prefix(e.kind, &e.pseudonym, e.journey_type);
    k[18..22].copy_from_slice(&bucket(e.datetime).to_be_bytes());
    k[22..30].copy_from_slice(&time_bytes(e.datetime));
    k[30..46].copy_from_slice(&e.uuid);
    k
}

/// The redb baseline.
pub struct Redb {
    db: Database,
    read: Option<ReadOnlyTable<Key, [u8; 5]>>,
    pz: Pseudonymizer,
    thr: Thresholds,
}

impl std::fmt::Debug for Redb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redb").finish_non_exhaustive()
    }
}

impl Redb {
    /// Creates the database file `path` and loads `entries` in import order, one write
    /// transaction per 1000-row batch (`Durability::None`, then one durable commit at the
    /// end, like the engine's `Durability::Buffered` load); returns the load time too.
    pub fn create(
        path: &Path,
        entries: &[Entry],
        thr: Thresholds,
    ) -> Result<(Self, Duration), Error> {
        let started = Instant::now();
        let db = Database::create(path)?;
        for chunk in entries.chunks(BATCH) {
            let mut tx = db.begin_write()?;
            tx.set_durability(::redb::Durability::None)?;
            {
                let mut table = tx.open_table(TABLE)?;
                for e in chunk {
                    let mut v = [1u8; 5];
                    v[1..].copy_from_slice(&e.operator.to_be_bytes());
                    table.insert(key(e), v)?;
                }
            }
            tx.commit()?;
        }
        let mut tx = db.begin_write()?;
        tx.set_durability(::redb::Durability::Immediate)?;
        tx.open_table(TABLE)?;
        tx.commit()?;
        let took = started.elapsed();
        Ok((
            Redb {
                db,
                read: None,
                pz: Pseudonymizer::new(&SECRET),
                thr,
            },
            took,
        ))
    }

    /// Opens one read transaction (and the table) shared by later look-ups.
    pub fn begin_read(&mut self) -> Result<(), Error> {
        if self.read.is_none() {
            let tx = self.db.begin_read()?;
            self.read = Some(tx.open_table(TABLE)?);
        }
        Ok(())
    }

    /// Drops the read transaction of [`Redb::begin_read`].
    pub fn end_read(&mut self) {
        self.read = None;
    }
}

impl Baseline for Redb {
    fn name(&self) -> &'static str {
        "redb"
    }

    fn check(&mut self, req: &SimulateRequest) -> Result<Option<Found>, Error> {
        self.begin_read()?;
        let Some(table) = &self.read else {
            return Err("no read transaction".into());
        };
        let jt = jt_byte(req.journey_type);
        let threshold = self.thr.for_type(req.journey_type);
        let mut best: Option<Found> = None;
        for (kind, p) in self.pz.request(req).as_slice() {
            let mut lo = prefix(*kind, p, jt);
            lo[18..22].copy_from_slice(&bucket(threshold).to_be_bytes());
            let hi = prefix(*kind, p, jt + 1);
            if let Some(item) = table.range(lo..hi)?.next_back() {
                let (k, v) = item?;
                let k = k.value();
                let t = time_from(&k[22..30]);
                if t >= threshold && best.is_none_or(|b| t > b.datetime) {
                    let v = v.value();
                    let mut uuid = [0u8; 16];
                    uuid.copy_from_slice(&k[30..46]);
                    best = Some(Found {
                        datetime: t,
                        operator: u32::from_be_bytes([v[1], v[2], v[3], v[4]]),
                        uuid,
                    });
                }
            }
        }
        Ok(best)
    }
}
