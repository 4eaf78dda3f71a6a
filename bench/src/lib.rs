//! # cee-bench
//!
//! The benchmark suite of `cee-eligibility` and the baselines it is compared with, in the same
//! run and on the same pseudonymised data:
//!
//! * [`sqlite`] — SQLite (bundled), one `WITHOUT ROWID` table whose primary key
//!   `(pseudonym, journey_type, datetime, uuid)` is the covering index, prepared statements,
//!   one read transaction;
//! * [`redb`] — redb 4 with the engine's key scheme (`[id kind][pseudonym ×16][journey_type]
//!   [bucket u32 BE][time i64 BE^sign][uuid ×16]`), one bounded range scan per identifier;
//! * [`oracle`] — a `HashMap` from pseudonym to entries: the in-memory limit;
//! * `pg` — PostgreSQL (feature `postgres`, server in `CEE_BENCH_PG`).
//!
//! Every baseline answers the question the engine's `simulate` answers (SPEC §5 restricted to
//! imported history): *is there an entry for any of the given identifiers, same journey type,
//! dated at or after the threshold; which is the most recent?* Each computes its pseudonyms
//! with keyed BLAKE3 exactly like the engine ([`pseudonym`]), so hashing costs the same.
//!
//! [`workload`] builds the population (shared with the CLI demo through
//! `cee_eligibility::synth`): `CEE_BENCH_PEOPLE` people (default 1 000 000), 3 history rows
//! each, imported in 1000-row batches per operator.

pub mod oracle;
#[cfg(feature = "postgres")]
pub mod pg;
pub mod proc;
pub mod pseudonym;
pub mod redb;
pub mod sqlite;
pub mod workload;

pub use workload::{Baseline, Entry, Found, Thresholds};

/// Errors of the benchmark harness (boxed: this is tooling, not a library API).
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// `e` and its chain of sources, for error messages (`postgres::Error` alone says "db error").
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
