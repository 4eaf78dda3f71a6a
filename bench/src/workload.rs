//! The benchmark population and request sets, shared by the criterion suite and the
//! `footprint` binary.
//!
//! * `CEE_BENCH_PEOPLE` people (default 1 000 000) from [`Synth`] with seed [`SEED`], each
//!   with 3 history rows (one per operator), imported in 1000-row batches per operator:
//!   3 000 000 rows at the default size.
//! * People `n .. n + MISS_RESERVE` are never imported (unknown misses); people from
//!   `n + MISS_RESERVE` on are fresh beneficiaries for registrations.
//! * The clock is a [`ManualClock`] stopped at [`NOW`], so results never depend on today.

use std::path::Path;
use std::time::{Duration, Instant};

use cee_eligibility::clock::ManualClock;
use cee_eligibility::synth::{Person, SplitMix64, Synth, HISTORY_ROWS};
use cee_eligibility::{
    Config, Durability, Engine, JourneyType, Operator, Policy, SimulateRequest, Simulation,
    Timestamp,
};

use crate::pseudonym::{Pseudonymizer, NAME_PHONE};
use crate::Error;

/// Seed of the synthetic population.
pub const SEED: u64 = 20_261_123;
/// The secret every engine and baseline database of the suite is keyed with.
pub const SECRET: [u8; 32] = [0x42; 32];
/// The suite's "now": inside the default operation period (so registrations pass).
pub const NOW: &str = "2024-06-15T12:00:00Z";
/// People `n .. n + MISS_RESERVE` are never imported.
pub const MISS_RESERVE: u64 = 10_000;
/// Rows per import call.
pub const BATCH: usize = 1000;

/// The population size: `CEE_BENCH_PEOPLE` (default 1 000 000), at most what keeps phones
/// distinct with room for misses and registrations.
pub fn people() -> u64 {
    std::env::var("CEE_BENCH_PEOPLE")
        .ok()
        .and_then(|s| s.replace('_', "").parse().ok())
        .unwrap_or(1_000_000)
        .clamp(1_000, Synth::MAX_PEOPLE - 2 * MISS_RESERVE - 200_000)
}

/// The population.
pub fn synth() -> Synth {
    Synth::new(SEED)
}

/// [`NOW`].
pub fn now() -> Timestamp {
    NOW.parse().unwrap_or(Timestamp::MIN)
}

/// A clock stopped at [`NOW`].
pub fn clock() -> ManualClock {
    ManualClock::new(now())
}

/// The three importing operators (slot `k` of a person's history is imported by
/// `operators()[k]`); the suite simulates as operator slot 0.
pub fn operators() -> [Operator; HISTORY_ROWS] {
    let op = |id, siret: &str| {
        Operator::new(
            id,
            siret
                .parse()
                .unwrap_or_else(|_| unreachable!("fixed valid SIRET")),
        )
    };
    [
        op(1, "89248032800012"),
        op(2, "41234567800019"),
        op(3, "12345678900017"),
    ]
}

/// The engine configuration of the suite for a database directory.
pub fn config(path: &Path) -> Config {
    Config::new(path).secret(SECRET).clock(clock())
}

/// Journey type as stored by the baselines (0 short, 1 long: the engine's byte).
pub fn jt_byte(jt: JourneyType) -> u8 {
    match jt {
        JourneyType::Short => 0,
        _ => 1,
    }
}

/// The lowest matching `datetime` (ms) of an imported (specific) row per journey type at a
/// reference date (SPEC §4/§5: `max(D − window, after)`, calendar years).
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    short: i64,
    long: i64,
}

impl Thresholds {
    /// The thresholds of `policy` at `d`.
    pub fn new(policy: &Policy, d: Timestamp) -> Self {
        let t = |p: &cee_eligibility::TypePolicy| {
            let min = d
                .to_chrono()
                .checked_sub_months(chrono::Months::new(p.specific_window_years * 12))
                .map_or(i64::MIN, |x| x.timestamp_millis());
            min.max(p.specific_after.as_millis())
        };
        Thresholds {
            short: t(&policy.short),
            long: t(&policy.long),
        }
    }

    /// The default policy's thresholds at [`NOW`].
    pub fn at_now() -> Self {
        Self::new(&Policy::default(), now())
    }

    /// The threshold for a candidate of type `jt`.
    pub fn for_type(&self, jt: JourneyType) -> i64 {
        match jt {
            JourneyType::Short => self.short,
            _ => self.long,
        }
    }
}

/// One imported row as every baseline stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Identifier kind (always name+phone for imported rows).
    pub kind: u8,
    /// 16-byte pseudonym.
    pub pseudonym: [u8; 16],
    /// 0 short, 1 long.
    pub journey_type: u8,
    /// Operation date, ms since the epoch.
    pub datetime: i64,
    /// Importing operator id.
    pub operator: u32,
    /// Application id (deterministic: person index and slot).
    pub uuid: [u8; 16],
}

/// The most recent blocking entry, as a baseline reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    /// Its operation date (ms).
    pub datetime: i64,
    /// Its operator (the engine shows the uuid only to the same operator).
    pub operator: u32,
    /// Its id.
    pub uuid: [u8; 16],
}

/// A store that answers the engine's `simulate` question over the imported history.
pub trait Baseline {
    /// Short name for reports (`sqlite`, `redb`, …).
    fn name(&self) -> &'static str;
    /// The most recent entry for any identifier of `req`, same journey type, dated at or
    /// after the threshold of its type; `None` when eligible.
    ///
    /// # Errors
    /// Storage errors.
    fn check(&mut self, req: &SimulateRequest) -> Result<Option<Found>, Error>;
}

/// The imported rows of people `0..n` as baselines store them, in import order.
pub fn entries(synth: &Synth, n: u64, pz: &Pseudonymizer) -> Result<Vec<Entry>, Error> {
    let ops = operators();
    let mut out = Vec::with_capacity(n as usize * HISTORY_ROWS);
    let mut start = 0;
    while start < n {
        let end = (start + BATCH as u64).min(n);
        let people: Vec<(Person, [u8; 16])> = synth
            .people(start..end)
            .map(|p| {
                let np = pz.name_phone(&p.phone_trunc.parse()?, &p.last_name_trunc.parse()?);
                Ok((p, np))
            })
            .collect::<Result<_, cee_eligibility::FieldError>>()?;
        for (k, op) in ops.iter().enumerate() {
            for (p, np) in &people {
                let e = p.history[k];
                let mut uuid = [0u8; 16];
                uuid[..8].copy_from_slice(&p.index.to_be_bytes());
                uuid[8..].copy_from_slice(&(k as u64).to_be_bytes());
                out.push(Entry {
                    kind: NAME_PHONE,
                    pseudonym: *np,
                    journey_type: jt_byte(e.journey_type),
                    datetime: e.datetime.as_millis(),
                    operator: op.id,
                    uuid,
                });
            }
        }
        start = end;
    }
    Ok(out)
}

/// What SPEC §5 says a simulation of type `jt` for person `p` answers (imported history
/// only): the date of the most recent row of that type at or after the threshold.
pub fn expected(p: &Person, jt: JourneyType, thr: &Thresholds) -> Option<i64> {
    p.history
        .iter()
        .filter(|e| e.journey_type == jt && e.datetime.as_millis() >= thr.for_type(jt))
        .map(|e| e.datetime.as_millis())
        .max()
}

/// The engine's answer in the baselines' terms: the blocking date, if any.
pub fn answer(sim: &Simulation) -> Option<i64> {
    match sim {
        Simulation::Blocked(c) => Some(c.datetime.as_millis()),
        _ => None,
    }
}

/// A request with the answer it must get.
#[derive(Debug, Clone)]
pub struct Case {
    /// The request.
    pub req: SimulateRequest,
    /// The blocking date it must report, `None` for eligible.
    pub expect: Option<i64>,
}

/// The request sets of the suite.
#[derive(Debug, Clone)]
pub struct Cases {
    /// Imported people asked `short` with a blocking short row (phone + name only).
    pub hit: Vec<Case>,
    /// Imported people asked `short` who have short rows, all too old to block.
    pub miss_known: Vec<Case>,
    /// People never imported.
    pub miss_unknown: Vec<Case>,
    /// The `hit` people with every identifier (phone + name, licence, identity key).
    pub all_ids: Vec<Case>,
}

impl Cases {
    /// `count` cases of each kind (`count ≤ MISS_RESERVE`) drawn from people `0..n`.
    pub fn new(synth: &Synth, n: u64, count: usize) -> Result<Self, Error> {
        let thr = Thresholds::at_now();
        let short = JourneyType::Short;
        let mut rng = SplitMix64::new(SEED ^ 0xCA5E);
        let (mut hit, mut miss_known, mut all_ids) = (Vec::new(), Vec::new(), Vec::new());
        let mut draws = 0u64;
        while hit.len() < count || miss_known.len() < count {
            draws += 1;
            if draws > 100 * count as u64 + 100_000 {
                return Err("population too small for the requested cases".into());
            }
            let p = synth.person(rng.below(n));
            let mut req = p.simulate_request()?;
            req.journey_type = short;
            let expect = expected(&p, short, &thr);
            let has_short = p.history.iter().any(|e| e.journey_type == short);
            if expect.is_some() && hit.len() < count {
                let mut full = p.full_simulate_request()?;
                full.journey_type = short;
                all_ids.push(Case { req: full, expect });
                hit.push(Case { req, expect });
            } else if expect.is_none() && has_short && miss_known.len() < count {
                miss_known.push(Case { req, expect });
            }
        }
        let miss_unknown = synth
            .people(n..n + count.min(MISS_RESERVE as usize) as u64)
            .map(|p| {
                let mut req = p.simulate_request()?;
                req.journey_type = short;
                Ok(Case { req, expect: None })
            })
            .collect::<Result<_, Error>>()?;
        Ok(Cases {
            hit,
            miss_known,
            miss_unknown,
            all_ids,
        })
    }

    /// Hits, known misses and unknown misses interleaved (the threads and latency mix).
    pub fn mixed(&self) -> Vec<Case> {
        let mut out = Vec::new();
        let len = self
            .hit
            .len()
            .max(self.miss_known.len())
            .max(self.miss_unknown.len());
        for i in 0..len {
            for set in [&self.hit, &self.miss_known, &self.miss_unknown] {
                if let Some(c) = set.get(i) {
                    out.push(c.clone());
                }
            }
        }
        out
    }
}

/// Imports the history of people `0..n` into `engine` (1000-row batches per operator) and
/// flushes; returns the elapsed time. Progress goes to stderr when `progress`.
pub fn import_history(
    engine: &Engine,
    synth: &Synth,
    n: u64,
    progress: bool,
) -> Result<Duration, Error> {
    let ops = operators();
    let started = Instant::now();
    let mut rows = 0u64;
    let step = (n / 10).max(1);
    let mut next_report = step;
    for (k, batch) in synth.history_batches(0..n, BATCH) {
        let report = engine.import(&ops[k], &batch)?;
        if report.failed != 0 {
            return Err(format!("{} rows failed to import", report.failed).into());
        }
        rows += batch.len() as u64;
        if progress && rows / HISTORY_ROWS as u64 >= next_report {
            next_report += step;
            eprintln!(
                "  imported {rows} rows in {:.1} s ({:.0} rows/s)",
                started.elapsed().as_secs_f64(),
                rows as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    engine.flush()?;
    Ok(started.elapsed())
}

/// Opens a fresh engine in `path` with `Durability::Buffered` and imports people `0..n`.
pub fn build_engine(
    path: &Path,
    synth: &Synth,
    n: u64,
    progress: bool,
) -> Result<(Engine, Duration), Error> {
    let engine = Engine::open(config(path).durability(Durability::Buffered))?;
    let took = import_history(&engine, synth, n, progress)?;
    Ok((engine, took))
}

/// Checks that the engine and every baseline give every case its expected answer.
pub fn check_agreement(
    engine: &Engine,
    baselines: &mut [&mut dyn Baseline],
    cases: &[Case],
) -> Result<(), Error> {
    let op = &operators()[0];
    for (i, c) in cases.iter().enumerate() {
        let got = answer(&engine.simulate(op, &c.req)?);
        if got != c.expect {
            return Err(format!("engine: case {i}: {got:?}, expected {:?}", c.expect).into());
        }
        for b in baselines.iter_mut() {
            let got = b.check(&c.req)?.map(|f| f.datetime);
            if got != c.expect {
                return Err(
                    format!("{}: case {i}: {got:?}, expected {:?}", b.name(), c.expect).into(),
                );
            }
        }
    }
    Ok(())
}

/// Per-call latency percentiles of `f` over `calls` calls cycling through `cases`, in
/// nanoseconds: (p50, p99, p99.9, mean), plus calls per second.
pub fn latencies(
    cases: &[Case],
    calls: usize,
    mut f: impl FnMut(&Case) -> Result<Option<i64>, Error>,
) -> Result<Latency, Error> {
    let mut ns = Vec::with_capacity(calls);
    let started = Instant::now();
    for i in 0..calls {
        let c = &cases[i % cases.len()];
        let t0 = Instant::now();
        let got = f(std::hint::black_box(c))?;
        ns.push(t0.elapsed().as_nanos() as u64);
        if got != c.expect {
            return Err(format!("latency run: case {i}: {got:?}, expected {:?}", c.expect).into());
        }
    }
    let total = started.elapsed();
    ns.sort_unstable();
    let q = |q: f64| ns[((ns.len() - 1) as f64 * q).round() as usize];
    Ok(Latency {
        p50: q(0.50),
        p99: q(0.99),
        p999: q(0.999),
        max: ns[ns.len() - 1],
        per_second: calls as f64 / total.as_secs_f64(),
    })
}

/// Latency percentiles (ns) and throughput of a latency run.
#[derive(Debug, Clone, Copy)]
pub struct Latency {
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Slowest call.
    pub max: u64,
    /// Calls per second (including the timer's own cost).
    pub per_second: f64,
}

const DAY_MS: i64 = 86_400_000;

fn days_before_now(days: i64) -> Timestamp {
    Timestamp::from_millis(now().as_millis() - days * DAY_MS).unwrap_or(Timestamp::MIN)
}

/// A long-distance registration of `p` paid 30 days before [`NOW`], applied for a day ago.
pub fn long_register(p: &Person) -> Result<cee_eligibility::RegisterRequest, Error> {
    Ok(cee_eligibility::RegisterRequest {
        kind: cee_eligibility::RegisterKind::Long {
            phone_trunc: p.phone_trunc.parse()?,
            datetime: days_before_now(30),
        },
        last_name_trunc: p.last_name_trunc.parse()?,
        driving_license: p.driving_license()?,
        identity_key: p.identity_key()?,
        application_timestamp: days_before_now(1),
    })
}

/// An eligible short journey (class C, Lyon → Villeurbanne, 4 km, ended 10 days before
/// [`NOW`]) driven by `p`, with the operator's id `id`.
pub fn short_journey(p: &Person, id: &str) -> Result<cee_eligibility::Journey, Error> {
    use cee_eligibility::{Distance, Driver, Incentives, JourneyPoint, Latitude, Longitude};
    let end = days_before_now(10);
    let start = Timestamp::from_millis(end.as_millis() - 40 * 60_000).unwrap_or(end);
    let point = |lat: f64, lon: f64, t: Timestamp| -> Result<JourneyPoint, Error> {
        Ok(JourneyPoint {
            datetime: t,
            lat: Latitude::new(lat)?,
            lon: Longitude::new(lon)?,
            geo_code: None,
        })
    };
    Ok(cee_eligibility::Journey {
        operator_journey_id: id.parse()?,
        operator_trip_id: None,
        operator_class: cee_eligibility::OperatorClass::C,
        start: point(45.7606, 4.8590, start)?,
        end: point(45.7719, 4.8902, end)?,
        distance: Distance::new(4_000)?,
        incentives: Incentives::default(),
        driver: Driver {
            phone_trunc: Some(p.phone_trunc.parse()?),
            identity_key: Some(p.identity_key()?),
        },
    })
}

/// The short-distance registration of `p` for the stored journey `id`.
pub fn short_register(p: &Person, id: &str) -> Result<cee_eligibility::RegisterRequest, Error> {
    Ok(cee_eligibility::RegisterRequest {
        kind: cee_eligibility::RegisterKind::Short {
            operator_journey_id: id.parse()?,
        },
        last_name_trunc: p.last_name_trunc.parse()?,
        driving_license: p.driving_license()?,
        identity_key: p.identity_key()?,
        application_timestamp: days_before_now(1),
    })
}

/// Fresh beneficiary number `i` (`i ≥ n + MISS_RESERVE`): never imported, never registered
/// before, for any `i`. Below `Synth::MAX_PEOPLE` it is person `i`; above, phones repeat, so
/// the person gets a last name with a space (`[A-Z] [A-Z]`), which the generator never
/// produces, one per wrap-around: it can match neither an imported row nor an earlier one.
pub fn fresh_person(synth: &Synth, i: u64) -> Person {
    let mut p = synth.person(i);
    let wrap = i / Synth::MAX_PEOPLE;
    if wrap > 0 {
        let letter = |k: u64| char::from(b'A' + (k % 26) as u8);
        p.last_name_trunc = format!("{} {}", letter(wrap), letter(wrap / 26));
    }
    p
}
