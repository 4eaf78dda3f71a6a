//! PostgreSQL baseline (feature `postgres`): the same table as the SQLite baseline, a
//! covering b-tree index `(pseudonym, journey_type, datetime DESC) INCLUDE (operator, uuid)`,
//! a prepared statement per identifier, one `REPEATABLE READ READ ONLY` transaction held
//! across calls. The server comes from `CEE_BENCH_PG` (a `postgres://…` URL); when it is unset
//! or unreachable, [`Pg::connect`] returns `Ok(None)` and the suite prints a note and skips.

use std::io::Write;
use std::time::{Duration, Instant};

use cee_eligibility::SimulateRequest;
use postgres::{Client, NoTls, Statement};

use crate::pseudonym::Pseudonymizer;
use crate::workload::{jt_byte, Baseline, Entry, Found, Thresholds, SECRET};
use crate::Error;

/// The PostgreSQL baseline.
pub struct Pg {
    client: Client,
    query: Statement,
    pz: Pseudonymizer,
    thr: Thresholds,
    in_read: bool,
}

impl std::fmt::Debug for Pg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pg").finish_non_exhaustive()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Pg {
    /// Connects to `CEE_BENCH_PG`, (re)creates table `cee_bench_entry` and loads `entries`
    /// with `COPY`; `Ok(None)` (with the reason) when no server is configured or reachable.
    pub fn connect(
        entries: &[Entry],
        thr: Thresholds,
    ) -> Result<Result<(Self, Duration), String>, Error> {
        let Ok(url) = std::env::var("CEE_BENCH_PG") else {
            return Ok(Err("CEE_BENCH_PG is not set".into()));
        };
        let mut client = match Client::connect(&url, NoTls) {
            Ok(c) => c,
            Err(e) => return Ok(Err(format!("cannot connect to CEE_BENCH_PG: {e}"))),
        };
        let started = Instant::now();
        client.batch_execute(
            "DROP TABLE IF EXISTS cee_bench_entry;
             CREATE UNLOGGED TABLE cee_bench_entry (
                 pseudonym BYTEA NOT NULL,
                 journey_type SMALLINT NOT NULL,
                 datetime BIGINT NOT NULL,
                 uuid BYTEA NOT NULL,
                 operator INTEGER NOT NULL,
                 kind SMALLINT NOT NULL
             );",
        )?;
        {
            let mut w = client.copy_in("COPY cee_bench_entry FROM STDIN")?;
            let mut buf = String::with_capacity(1 << 20);
            for e in entries {
                buf.push_str(&format!(
                    "\\\\x{}\t{}\t{}\t\\\\x{}\t{}\t{}\n",
                    hex(&e.pseudonym),
                    e.journey_type,
                    e.datetime,
                    hex(&e.uuid),
                    e.operator,
                    e.kind
                ));
                if buf.len() > (1 << 20) - 256 {
                    w.write_all(buf.as_bytes())?;
                    buf.clear();
                }
            }
            w.write_all(buf.as_bytes())?;
            w.finish()?;
        }
        client.batch_execute(
            "CREATE INDEX ON cee_bench_entry (pseudonym, journey_type, datetime DESC) \
                 INCLUDE (operator, uuid)",
        )?;
        // VACUUM refuses to run in the implicit transaction of a multi-statement batch.
        client.batch_execute("VACUUM ANALYZE cee_bench_entry")?;
        let took = started.elapsed();
        let query = client.prepare(
            "SELECT datetime, operator, uuid FROM cee_bench_entry \
             WHERE pseudonym = $1 AND journey_type = $2 AND datetime >= $3 \
             ORDER BY datetime DESC LIMIT 1",
        )?;
        Ok(Ok((
            Pg {
                client,
                query,
                pz: Pseudonymizer::new(&SECRET),
                thr,
                in_read: false,
            },
            took,
        )))
    }

    /// Starts one read transaction shared by later look-ups.
    pub fn begin_read(&mut self) -> Result<(), Error> {
        if !self.in_read {
            self.client
                .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
            self.in_read = true;
        }
        Ok(())
    }

    /// Ends it.
    pub fn end_read(&mut self) -> Result<(), Error> {
        if self.in_read {
            self.client.batch_execute("COMMIT")?;
            self.in_read = false;
        }
        Ok(())
    }
}

impl Baseline for Pg {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn check(&mut self, req: &SimulateRequest) -> Result<Option<Found>, Error> {
        let jt = i16::from(jt_byte(req.journey_type));
        let threshold = self.thr.for_type(req.journey_type);
        let mut best: Option<Found> = None;
        for (_, p) in self.pz.request(req).as_slice() {
            let row = self
                .client
                .query_opt(&self.query, &[&&p[..], &jt, &threshold])?;
            if let Some(r) = row {
                let datetime: i64 = r.get(0);
                let operator: i32 = r.get(1);
                let uuid_v: &[u8] = r.get(2);
                let mut uuid = [0u8; 16];
                uuid.copy_from_slice(uuid_v.get(..16).unwrap_or(&[0; 16]));
                if best.is_none_or(|b| datetime > b.datetime) {
                    best = Some(Found {
                        datetime,
                        operator: operator as u32,
                        uuid,
                    });
                }
            }
        }
        Ok(best)
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let _ = self.end_read();
    }
}
