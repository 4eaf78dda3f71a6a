//! SQLite baseline (bundled SQLite through `rusqlite`).
//!
//! One `WITHOUT ROWID` table whose primary key `(pseudonym, journey_type, datetime, uuid)` is
//! the covering index of the look-up (the row holds only `operator` and `kind` besides), the
//! look-up is a prepared statement
//! `… WHERE pseudonym = ? AND journey_type = ? AND datetime >= ? ORDER BY datetime DESC LIMIT 1`
//! per identifier, prepared once, and a [`SqliteReader`] holds one read transaction across
//! calls so that no lock is taken per look-up. The page cache (256 MiB) and a memory map hold
//! the whole table, like the engine's in-memory index: this is SQLite at its best. (Measured:
//! rusqlite's `prepare_cached` costs ~10 µs per call here and a transaction per look-up ~3 µs,
//! hence one statement and one transaction kept open.)

use std::path::Path;
use std::time::{Duration, Instant};

use cee_eligibility::SimulateRequest;
use rusqlite::{params, Connection, OptionalExtension, Statement};

use crate::pseudonym::Pseudonymizer;
use crate::workload::{jt_byte, Baseline, Entry, Found, Thresholds, BATCH, SECRET};
use crate::Error;

const QUERY: &str = "SELECT datetime, operator, uuid FROM entry \
     WHERE pseudonym = ?1 AND journey_type = ?2 AND datetime >= ?3 \
     ORDER BY datetime DESC LIMIT 1";

/// The SQLite baseline database.
pub struct Sqlite {
    conn: Connection,
    thr: Thresholds,
}

impl std::fmt::Debug for Sqlite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sqlite").finish_non_exhaustive()
    }
}

fn connect(path: &Path) -> Result<Connection, Error> {
    let conn = Connection::open(path)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA cache_size = -262144;
         PRAGMA mmap_size = 4294967296;
         PRAGMA temp_store = MEMORY;",
    )?;
    Ok(conn)
}

impl Sqlite {
    /// Creates the database file `path` and loads `entries` in import order, one transaction
    /// per 1000-row batch (WAL, `synchronous = NORMAL`: durable at checkpoints, like the
    /// engine's `Durability::Buffered` load); returns the load time too.
    pub fn create(
        path: &Path,
        entries: &[Entry],
        thr: Thresholds,
    ) -> Result<(Self, Duration), Error> {
        let started = Instant::now();
        let mut conn = connect(path)?;
        conn.execute_batch(
            "CREATE TABLE entry (
                 pseudonym BLOB NOT NULL,
                 journey_type INTEGER NOT NULL,
                 datetime INTEGER NOT NULL,
                 uuid BLOB NOT NULL,
                 operator INTEGER NOT NULL,
                 kind INTEGER NOT NULL,
                 PRIMARY KEY (pseudonym, journey_type, datetime, uuid)
             ) WITHOUT ROWID;",
        )?;
        for chunk in entries.chunks(BATCH) {
            let tx = conn.transaction()?;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO entry (pseudonym, journey_type, datetime, uuid, operator, kind) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?;
                for e in chunk {
                    insert.execute(params![
                        &e.pseudonym[..],
                        e.journey_type,
                        e.datetime,
                        &e.uuid[..],
                        e.operator,
                        e.kind
                    ])?;
                }
            }
            tx.commit()?;
        }
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        let took = started.elapsed();
        Ok((Sqlite { conn, thr }, took))
    }

    /// A reader: one read transaction (committed when the reader is dropped) and the
    /// prepared look-up statement, shared by all its look-ups.
    pub fn reader(&self) -> Result<SqliteReader<'_>, Error> {
        self.conn.execute_batch("BEGIN DEFERRED")?;
        // A deferred transaction takes its read snapshot at the first read.
        self.conn.query_row(
            "SELECT count(*) FROM (SELECT 1 FROM entry LIMIT 1)",
            [],
            |r| r.get::<_, i64>(0),
        )?;
        Ok(SqliteReader {
            conn: &self.conn,
            stmt: self.conn.prepare(QUERY)?,
            pz: Pseudonymizer::new(&SECRET),
            thr: self.thr,
        })
    }

    /// Rows in the table.
    pub fn len(&self) -> Result<u64, Error> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM entry", [], |r| r.get::<_, i64>(0))? as u64)
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> Result<bool, Error> {
        Ok(self.len()? == 0)
    }
}

/// Look-ups inside one read transaction with one prepared statement.
pub struct SqliteReader<'a> {
    conn: &'a Connection,
    stmt: Statement<'a>,
    pz: Pseudonymizer,
    thr: Thresholds,
}

impl std::fmt::Debug for SqliteReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteReader").finish_non_exhaustive()
    }
}

impl Baseline for SqliteReader<'_> {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn check(&mut self, req: &SimulateRequest) -> Result<Option<Found>, Error> {
        let jt = jt_byte(req.journey_type);
        let threshold = self.thr.for_type(req.journey_type);
        let mut best: Option<Found> = None;
        for (_, p) in self.pz.request(req).as_slice() {
            let row = self
                .stmt
                .query_row(params![&p[..], jt, threshold], |r| {
                    let uuid: [u8; 16] = r.get(2)?;
                    Ok(Found {
                        datetime: r.get(0)?,
                        operator: r.get(1)?,
                        uuid,
                    })
                })
                .optional()?;
            if let Some(f) = row {
                if best.is_none_or(|b| f.datetime > b.datetime) {
                    best = Some(f);
                }
            }
        }
        Ok(best)
    }
}

impl Drop for SqliteReader<'_> {
    fn drop(&mut self) {
        // Ends the read transaction; nothing was written, so a failure changes nothing.
        let _ = self.conn.execute_batch("COMMIT");
    }
}
