//! `cee demo`: a guided tour of the engine on a throw-away database.
//!
//! 0. sets the policy in force (SPEC §11.1), as a deployment does;
//! 1. bulk-imports a synthetic history ([`crate::synth`]) with `Durability::Buffered`, and the
//!    past standardized applications of the decommissioned registry (SPEC §11.2), then
//!    flushes and reopens the database with the default `Durability::Immediate`;
//! 2. walks through every outcome a carpooling operator meets, explaining each;
//! 3. measures simulate and register latencies.

use std::time::{Duration, Instant};

use cee_eligibility::clock::{Clock, ManualClock};
use cee_eligibility::{
    Config, Conflict, DateRule, Driver, Durability, Engine, ImportRow, Incentives, Journey,
    JourneyPoint, JourneyType, Latitude, Longitude, Operator, OperatorClass, PhoneTrunc, Policy,
    Refusal, RegisterKind, RegisterOutcome, RegisterRequest, Simulation, StandardizedRow,
    Timestamp,
};
use indicatif::{ProgressBar, ProgressStyle};

use crate::{Outcome, Result};
use cee_eligibility::synth::{Person, SplitMix64, Synth};

/// Arguments of `cee demo`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// How many synthetic beneficiaries to import as history.
    #[arg(long, default_value_t = 200_000, value_parser = clap::value_parser!(u64).range(1..=MAX_DEMO_PEOPLE))]
    people: u64,
    /// Seed of the synthetic history (same seed, same people).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// How many simulate calls to time.
    #[arg(long, default_value_t = 100_000)]
    lookups: u64,
    /// How many (durable) registrations to time.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    registrations: u64,
}

const DAY_MS: i64 = 86_400_000;
/// The demo also uses people `n .. 2n + 1000 + registrations` as never-seen drivers, and
/// `2n + 12_000 ..` for the past standardized applications: keep all of them below
/// `Synth::MAX_PEOPLE` so that their phones are distinct.
const MAX_DEMO_PEOPLE: u64 = 800_000;
/// Past standardized applications imported by operator #2 (calls of 1000 rows).
const PAST_APPLICATIONS: u64 = 5_000;
/// The demo's "now" (fixed, so that every run tells the same story).
const NOW: &str = "2026-12-01T12:00:00Z";

/// The operation period the demo puts in force (Paris time).
const START_DATE: &str = "2026-01-01T00:00:00+01:00";
const END_DATE: &str = "2027-01-01T00:00:00+01:00";

/// The policy the demo puts in force, as a deployment does with `--start-date`, `--end-date`
/// and `--delay-days` (or `--policy policy.toml`, or `APP_CEE_START_DATE`/`APP_CEE_END_DATE`/
/// `APP_CEE_DELAY`): an operation period around [`NOW`], the J+7 delay.
fn policy_in_force() -> Result<Policy> {
    let mut p = Policy::default();
    p.start_date = START_DATE.parse()?;
    p.end_date = END_DATE.parse()?;
    p.registration_delay = Duration::from_secs(7 * 86_400);
    Ok(p)
}

/// Runs the demo; `Negative` if any scenario did not turn out as announced.
pub fn run(args: &Args) -> Result<Outcome> {
    let started = Instant::now();
    let now: Timestamp = NOW.parse()?;
    let clock = ManualClock::new(now);
    let dir = tempfile::Builder::new().prefix("cee-demo-").tempdir()?;
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| format!("cannot draw a random secret: {e}"))?;
    let policy = policy_in_force()?;
    let config = || {
        Config::new(dir.path())
            .secret(secret)
            .clock(clock.clone())
            .policy(policy.clone())
    };
    let op1 = Operator::new(1, "89248032800012".parse()?);
    let op2 = Operator::new(2, "41234567800019".parse()?);
    let synth = Synth::new(args.seed);
    let n = args.people;

    println!("cee demo: a guided tour of the CEE carpooling eligibility registry");
    println!("==================================================================");
    println!();
    println!(
        "database   {} (a fresh sled database, deleted when the demo ends)",
        dir.path().display()
    );
    println!(
        "secret     32 random bytes: every phone, name, licence and identity key is stored only as"
    );
    println!(
        "           a keyed hash (pseudonym) under it; the secret itself is never written to disk"
    );
    println!("clock      a ManualClock stopped at {now}, so that every run tells the same story");
    println!(
        "operators  #1 (SIRET {}) and #2 (SIRET {})",
        op1.siret, op2.siret
    );
    println!();

    // ---------------------------------------------------------------- 0. policy in force
    let mut all_as_announced = show_policy(&policy, &clock, &op2)?;
    println!();

    // ---------------------------------------------------------------- 1. bulk import
    println!("1. Importing the history");
    println!(
        "   {n} synthetic beneficiaries (seed {}) who already benefited from a *specific* CEE",
        args.seed
    );
    println!("   operation between 2015 and 2024, imported by operator #1 in calls of 1000 rows.");
    let engine = Engine::open(config().durability(Durability::Buffered))?;
    let import = import_history(&engine, &op1, &synth, n)?;
    println!(
        "   imported {} rows, {} failed, in {:.2} s: {:.0} rows/s",
        import.imported,
        import.failed,
        import.elapsed.as_secs_f64(),
        import.imported as f64 / import.elapsed.as_secs_f64()
    );
    let past = import_past(&engine, &op2, &synth, past_range(n))?;
    println!(
        "   Operator #2 also imported the {} standardized applications it made at the",
        past.imported
    );
    println!(
        "   decommissioned registry in 2023-2024 (engine.import_standardized, SPEC 11.2): licence,"
    );
    println!(
        "   identity key, and the uuid and token they had there; {} failed, {:.0} rows/s.",
        past.failed,
        past.imported as f64 / past.elapsed.as_secs_f64()
    );
    let t = Instant::now();
    engine.flush()?;
    println!(
        "   The engine was opened with Durability::Buffered for this bulk load (writes acknowledged"
    );
    println!(
        "   in memory, flushed by sled in the background); engine.flush() then made everything"
    );
    println!(
        "   durable in {:.1} ms (sled flushes every 500 ms in the background, so little was left).",
        t.elapsed().as_secs_f64() * 1000.0
    );
    drop(engine);
    let t = Instant::now();
    let engine = reopen(|| Engine::open(config()))?;
    let stats = engine.stats()?;
    println!(
        "   Reopened with Durability::Immediate (the default: a write is on disk before the call"
    );
    println!(
        "   returns): the in-memory identity index was rebuilt from disk in {:.2} s ({} entries).",
        t.elapsed().as_secs_f64(),
        stats.index.1
    );
    println!();

    // ---------------------------------------------------------------- 2. scenarios
    println!("2. What an operator sees");
    println!(
        "   simulate = look-up before a trip, writes nothing; register = checked, durable, signed"
    );
    println!("   claim. Each step shows the call, the engine's answer, then why.");
    let mut tour = Tour {
        engine: &engine,
        clock: &clock,
        now,
        all_as_announced: true,
    };
    tour.run(&op1, &op2, &synth, n)?;
    all_as_announced &= tour.all_as_announced;
    let now = engine.now();
    println!();

    // ---------------------------------------------------------------- 3. performance
    if cfg!(debug_assertions) {
        println!("3. Performance (DEBUG BUILD: expect several times slower than release;");
        println!("   run `cargo run --release -p cee-cli -- demo` for meaningful numbers)");
    } else {
        println!("3. Performance (release build, one process, this machine)");
    }
    println!(
        "   import    {:.0} rows/s (Durability::Buffered, calls of 1000 rows, per-row validation)",
        import.imported as f64 / import.elapsed.as_secs_f64()
    );
    measure_simulate(&engine, &op1, &synth, n, args.lookups)?;
    measure_register(&engine, &op2, &synth, n, args.registrations, now)?;
    println!();

    let s = engine.stats()?;
    println!("4. What the database holds now (engine.stats())");
    println!(
        "   specific (imported) short/long {}/{}, standardized short/long {}/{}, deleted {}",
        s.specific.0, s.specific.1, s.standardized.0, s.standardized.1, s.deleted
    );
    println!(
        "   journeys {}, error journal entries {}, index {} pseudonyms / {} entries, {:.1} MiB on disk",
        s.journeys,
        s.journal,
        s.index.0,
        s.index.1,
        s.size_on_disk as f64 / (1024.0 * 1024.0)
    );
    println!();
    let ok = all_as_announced;
    drop(engine);
    let path = dir.path().display().to_string();
    dir.close()?;
    println!(
        "done in {:.1} s; {path} deleted.{}",
        started.elapsed().as_secs_f64(),
        if ok {
            ""
        } else {
            " SOME SCENARIOS DID NOT TURN OUT AS ANNOUNCED."
        }
    );
    Ok(if ok {
        Outcome::Positive
    } else {
        Outcome::Negative
    })
}

/// sled releases its directory lock asynchronously after the last handle is dropped: retry
/// for a moment.
fn reopen(open: impl Fn() -> Result<Engine, cee_eligibility::Error>) -> Result<Engine> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match open() {
            Ok(e) => return Ok(e),
            Err(cee_eligibility::Error::Storage(_)) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Prints the policy in force, and shows why a deployment must set it: the 0.1 defaults'
/// operation period ended on 2025-01-01, so under them every registration is refused now.
/// `false` if that refusal did not happen.
fn show_policy(policy: &Policy, clock: &ManualClock, op: &Operator) -> Result<bool> {
    println!("0. The policy in force (SPEC 11.1)");
    println!(
        "   operations {START_DATE} .. {END_DATE}, a claim is accepted {} days after",
        policy.registration_delay.as_secs() / 86_400
    );
    println!("   the operation;");
    println!(
        "   a deployment sets them with --start-date/--end-date/--delay-days, --policy policy.toml"
    );
    println!("   or APP_CEE_START_DATE/APP_CEE_END_DATE/APP_CEE_DELAY (cee serve prints them).");
    // The same long-distance claim under the 0.1 defaults, on a throw-away registry.
    let old = Engine::open(Config::temporary().clock(clock.clone()))?;
    let p = Synth::new(7).person(0);
    let now = clock.now();
    let out = old.register(
        op,
        &long_request(&p, days_before(now, 20), days_before(now, 1))?,
    )?;
    let refused = matches!(
        &out,
        RegisterOutcome::Refused(Refusal::Date(DateRule::OutsidePeriod { .. }))
    );
    println!(
        "   Under Policy::default() (the public registry's last period, which ended on 2025-01-01)"
    );
    println!("   the same long-distance claim, paid 20 days ago, is");
    for line in register_answer(&out) {
        println!("   {line}");
    }
    Ok(refused)
}

/// The people whose past standardized applications operator #2 imports: after the fresh
/// drivers `n .. 2n + 1000 + registrations` (registrations ≤ 10 000).
fn past_range(n: u64) -> std::ops::Range<u64> {
    let start = 2 * n + 12_000;
    start..start + PAST_APPLICATIONS
}

/// A past standardized application of `p`, dated in 2023-2024 (the decommissioned registry's
/// standardized operations), with its kept uuid and token.
fn past_row(p: &Person) -> StandardizedRow {
    let first: i64 = 1_672_531_200_000; // 2023-01-01T00:00:00Z
    let datetime = Timestamp::from_millis(first + (p.index % 700) as i64 * DAY_MS + 12 * 3_600_000)
        .unwrap_or(Timestamp::MIN);
    StandardizedRow {
        datetime: datetime.to_string(),
        ..p.standardized_row()
    }
}

fn import_past(
    engine: &Engine,
    op: &Operator,
    synth: &Synth,
    range: std::ops::Range<u64>,
) -> Result<ImportSummary> {
    let pb = progress_bar(range.end - range.start);
    let t = Instant::now();
    let (mut imported, mut failed) = (0, 0);
    let mut start = range.start;
    while start < range.end {
        let end = (start + 1000).min(range.end);
        let rows: Vec<StandardizedRow> = synth.people(start..end).map(|p| past_row(&p)).collect();
        let report = engine.import_standardized(op, &rows)?;
        imported += report.imported;
        failed += report.failed;
        pb.inc(end - start);
        start = end;
    }
    let elapsed = t.elapsed();
    pb.finish_and_clear();
    Ok(ImportSummary {
        imported,
        failed,
        elapsed,
    })
}

struct ImportSummary {
    imported: usize,
    failed: usize,
    elapsed: Duration,
}

fn progress_bar(len: u64) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(
            "   [{bar:40}] {human_pos}/{human_len} rows  {per_sec:>14}  eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    pb
}

fn import_history(engine: &Engine, op: &Operator, synth: &Synth, n: u64) -> Result<ImportSummary> {
    let pb = progress_bar(n);
    let t = Instant::now();
    let (mut imported, mut failed) = (0, 0);
    let mut batch: Vec<ImportRow> = Vec::with_capacity(1000);
    let mut start = 0;
    while start < n {
        let end = (start + 1000).min(n);
        batch.clear();
        batch.extend(synth.people(start..end).map(|p| p.import_row()));
        let report = engine.import(op, &batch)?;
        imported += report.imported;
        failed += report.failed;
        pb.inc(end - start);
        start = end;
    }
    let elapsed = t.elapsed();
    pb.finish_and_clear();
    Ok(ImportSummary {
        imported,
        failed,
        elapsed,
    })
}

/// Who the scenarios of part 2 involve: two operators and the synthetic population.
struct Cast<'a> {
    op1: &'a Operator,
    op2: &'a Operator,
    synth: &'a Synth,
    /// People `0..n` were imported.
    n: u64,
}

impl Cast<'_> {
    /// A fresh person (never imported): indices `n..` are distinct from `0..n`.
    fn fresh(&self, k: u64, journey_type: JourneyType) -> Person {
        Person {
            journey_type,
            ..self.synth.person(self.n + k)
        }
    }
}

/// The scenarios of part 2.
struct Tour<'a> {
    engine: &'a Engine,
    clock: &'a ManualClock,
    now: Timestamp,
    all_as_announced: bool,
}

fn days_before(t: Timestamp, days: i64) -> Timestamp {
    Timestamp::from_millis(t.as_millis() - days * DAY_MS).unwrap_or(Timestamp::MIN)
}

fn date(t: Timestamp) -> String {
    t.to_string()[..10].to_owned()
}

/// A journey of the scenarios.
#[derive(Clone, Copy)]
struct Trip {
    id: &'static str,
    class: OperatorClass,
    from: Place,
    to: Place,
    distance_m: u32,
    ended_days_ago: i64,
}

/// A place for journeys (latitude, longitude).
#[derive(Clone, Copy)]
struct Place(f64, f64);

const LYON_PART_DIEU: Place = Place(45.7606, 4.8590);
const VILLEURBANNE: Place = Place(45.7719, 4.8902);
const VIENNE: Place = Place(45.5255, 4.8746);
const GRENOBLE: Place = Place(45.1885, 5.7245);
const BRUSSELS: Place = Place(50.8467, 4.3525);
const ANTWERP: Place = Place(51.2194, 4.4025);

impl Tour<'_> {
    /// Stores `trip` as a journey of `op` driven by `driver`.
    fn journey(&self, op: &Operator, trip: &Trip, driver: &Person) -> Result<Journey> {
        let Trip {
            id,
            class,
            from,
            to,
            distance_m,
            ended_days_ago,
        } = *trip;
        let end = days_before(self.now, ended_days_ago);
        let start = Timestamp::from_millis(end.as_millis() - 40 * 60_000).unwrap_or(end);
        let point = |p: Place, t: Timestamp| -> Result<JourneyPoint> {
            Ok(JourneyPoint {
                datetime: t,
                lat: Latitude::new(p.0)?,
                lon: Longitude::new(p.1)?,
                geo_code: None,
            })
        };
        let j = Journey {
            operator_journey_id: id.parse()?,
            operator_trip_id: None,
            operator_class: class,
            start: point(from, start)?,
            end: point(to, end)?,
            distance: cee_eligibility::Distance::new(distance_m)?,
            incentives: Incentives::default(),
            driver: Driver {
                phone_trunc: Some(driver.phone_trunc.parse::<PhoneTrunc>()?),
                identity_key: Some(driver.identity_key()?),
            },
        };
        self.engine.put_journey(op, &j)?;
        Ok(j)
    }

    fn short_request(&self, p: &Person, journey_id: &str) -> Result<RegisterRequest> {
        Ok(RegisterRequest {
            kind: RegisterKind::Short {
                operator_journey_id: journey_id.parse()?,
            },
            last_name_trunc: p.last_name_trunc.parse()?,
            driving_license: p.driving_license()?,
            identity_key: p.identity_key()?,
            application_timestamp: days_before(self.engine.now(), 0)
                .as_millis()
                .checked_sub(3_600_000)
                .and_then(Timestamp::from_millis)
                .unwrap_or(Timestamp::MIN),
        })
    }

    fn long_request(&self, p: &Person, paid: Timestamp) -> Result<RegisterRequest> {
        long_request(p, paid, days_before(self.engine.now(), 1))
    }

    fn who(p: &Person) -> String {
        format!("{} {}", p.phone_trunc, p.last_name_trunc)
    }

    /// Prints one step: the call, the engine's answer (first line, then details), then why
    /// (indented lines). A step whose answer is not the expected one is marked `!!`.
    fn say(&mut self, expected: bool, call: &str, answer: &[String], why: &[&str]) {
        if !expected {
            self.all_as_announced = false;
        }
        let mark = if expected { "  " } else { "!!" };
        let (first, details) = answer
            .split_first()
            .map_or(("", &[][..]), |(f, d)| (f.as_str(), d));
        println!("  {mark}  {call:<18} {first}");
        for line in details
            .iter()
            .map(String::as_str)
            .chain(why.iter().copied())
        {
            println!("{:25}{line}", "");
        }
    }

    fn run(&mut self, op1: &Operator, op2: &Operator, synth: &Synth, n: u64) -> Result<()> {
        let c = Cast { op1, op2, synth, n };
        self.new_driver(&c)?;
        self.history(&c)?;
        self.past(&c)?;
        self.dedup(&c)?;
        self.ineligible_journeys(&c)?;
        self.delay_rule(&c)
    }

    /// (a) A driver who never benefited: eligible, then registered, then blocked.
    fn new_driver(&mut self, c: &Cast<'_>) -> Result<()> {
        let engine = self.engine;
        // (a) eligible, then registered.
        let alice = c.fresh(1, JourneyType::Short);
        println!();
        println!("   a) A driver who never benefited ({})", Self::who(&alice));
        let sim = engine.simulate(c.op1, &alice.full_simulate_request()?)?;
        self.say(
            sim.is_eligible(),
            "simulate short",
            &sim_answer(&sim),
            &["no application of any operator matches their phone + name, licence or identity key"],
        );
        let trip = Trip {
            id: "demo-ok-1",
            class: OperatorClass::C,
            from: LYON_PART_DIEU,
            to: VILLEURBANNE,
            distance_m: 12_400,
            ended_days_ago: 10,
        };
        self.journey(c.op1, &trip, &alice)?;
        let out = engine.register(c.op1, &self.short_request(&alice, trip.id)?)?;
        let verified = match &out {
            RegisterOutcome::Registered(r) => engine.verify(
                &cee_eligibility::token::message(
                    &c.op1.siret,
                    JourneyType::Short,
                    &alice.driving_license()?,
                    r.datetime,
                ),
                &r.token,
            ),
            RegisterOutcome::Refused(_) => false,
        };
        self.say(
            verified,
            "register short",
            &register_answer(&out),
            &[
                "journey demo-ok-1: class C, 12.4 km Lyon -> Villeurbanne (in France), ended 10 days",
                &format!("ago (the J+7 rule is met); the signed token verifies with engine.verify: {verified}"),
            ],
        );
        let sim = engine.simulate(c.op1, &alice.full_simulate_request()?)?;
        self.say(
            !sim.is_eligible(),
            "simulate short",
            &sim_answer(&sim),
            &[
                "the registration just above self.now blocks this driver for 5 years (simulated with",
                "licence + identity key: an application carrying an identity key is matched by",
                "licence or key, no longer by phone + name)",
            ],
        );
        Ok(())
    }

    /// (b) Drivers blocked (or not) by imported history.
    fn history(&mut self, c: &Cast<'_>) -> Result<()> {
        let engine = self.engine;
        let (synth, n) = (c.synth, c.n);
        // (b) blocked by history.
        let three_years_ago = days_before(self.now, 3 * 365 - 1);
        let before_2020: Timestamp = "2020-01-01T00:00:00+01:00".parse()?;
        let short_hit = synth.people(0..n).find(|p| {
            p.journey_type == JourneyType::Short
                && p.datetime >= three_years_ago
                && p.datetime < self.now
        });
        let long_hit = synth
            .people(0..n)
            .find(|p| p.journey_type == JourneyType::Long && p.datetime < self.now);
        let too_old = synth
            .people(0..n)
            .find(|p| p.journey_type == JourneyType::Short && p.datetime < before_2020);
        println!();
        println!("   b) History: drivers among the {n} imported rows (specific operations)");
        if let Some(p) = &short_hit {
            let sim = engine.simulate(c.op1, &p.simulate_request()?)?;
            self.say(
                !sim.is_eligible(),
                "simulate short",
                &sim_answer(&sim),
                &[&format!(
                    "{} was imported with a short operation on {}: within the 3-year window",
                    Self::who(p),
                    date(p.datetime)
                )],
            );
            let as_long = Person {
                journey_type: JourneyType::Long,
                ..p.clone()
            };
            let sim = engine.simulate(c.op1, &as_long.simulate_request()?)?;
            self.say(
                sim.is_eligible(),
                "simulate long",
                &sim_answer(&sim),
                &["the same driver: short history never blocks a long-distance claim"],
            );
        }
        if let Some(p) = &long_hit {
            let sim = engine.simulate(c.op1, &p.simulate_request()?)?;
            self.say(
                !sim.is_eligible(),
                "simulate long",
                &sim_answer(&sim),
                &[&format!(
                    "{} was imported with a long operation on {}: within the 10-year window",
                    Self::who(p),
                    date(p.datetime)
                )],
            );
        }
        if let Some(p) = &too_old {
            let sim = engine.simulate(c.op1, &p.simulate_request()?)?;
            self.say(
                sim.is_eligible(),
                "simulate short",
                &sim_answer(&sim),
                &[
                    &format!(
                        "{} was imported with a short operation on {}, but that is more",
                        Self::who(p),
                        date(p.datetime)
                    ),
                    "than 3 years ago (and short specific rows count only from 2020-01-01)",
                ],
            );
        }
        Ok(())
    }

    /// (b') Past standardized applications imported from the decommissioned registry.
    fn past(&mut self, c: &Cast<'_>) -> Result<()> {
        let engine = self.engine;
        let p = c.synth.person(past_range(c.n).start);
        let row = past_row(&p);
        println!();
        println!(
            "   b') Past standardized applications: {} was paid by operator #2 at the old registry",
            Self::who(&p)
        );
        // Operator #1 meets the driver under another phone and name, with the same licence.
        let mut q = c.fresh(4, p.journey_type).simulate_request()?;
        q.driving_license = Some(p.driving_license()?);
        let sim = engine.simulate(c.op1, &q)?;
        let window = if p.journey_type == JourneyType::Short {
            5
        } else {
            12
        };
        self.say(
            !sim.is_eligible(),
            &format!("#1 simulate {}", p.journey_type),
            &sim_answer(&sim),
            &[
                &format!(
                    "another phone and name, but the licence of #2's past application of {}:",
                    &row.datetime[..10]
                ),
                &format!("a standardized application blocks for {window} years on every platform"),
            ],
        );
        let kept: cee_eligibility::ApplicationId = p.kept_uuid().parse()?;
        let found = engine.find(c.op2, &kept)?;
        self.say(
            found.token == row.token && !found.specific,
            "#2 find",
            &[format!("uuid {kept}: standardized {}, {}", found.journey_type, date(found.datetime))],
            &["operator #2 finds (and may delete) it by the uuid it already held; find returns the",
              "token the old registry signed"],
        );
        Ok(())
    }

    /// (c) Dedup across operators: another operator's registration blocks.
    fn dedup(&mut self, c: &Cast<'_>) -> Result<()> {
        let engine = self.engine;
        // (c) blocked by dedup across operators.
        let bob = c.fresh(2, JourneyType::Long);
        println!();
        println!(
            "   c) Dedup across operators: operator #2 pays a long-distance bonus to {}",
            Self::who(&bob)
        );
        let paid = days_before(self.now, 20);
        let out = engine.register(c.op2, &self.long_request(&bob, paid)?)?;
        self.say(
            matches!(out, RegisterOutcome::Registered(_)),
            "#2 register long",
            &register_answer(&out),
            &[&format!(
                "a standardized application: payment on {}, more than 7 days ago",
                date(paid)
            )],
        );
        let sim = engine.simulate(c.op1, &bob.full_simulate_request()?)?;
        self.say(
            !sim.is_eligible(),
            "#1 simulate long",
            &sim_answer(&sim),
            &[
                "operator #2's application blocks for 12 years on every platform; operator #1",
                "learns its date but not its uuid (it is not #1's application)",
            ],
        );
        let mut same_licence =
            self.long_request(&c.fresh(3, JourneyType::Long), days_before(self.now, 15))?;
        same_licence.driving_license = bob.driving_license()?;
        let out = engine.register(c.op1, &same_licence)?;
        self.say(
            matches!(&out, RegisterOutcome::Refused(Refusal::Conflict(_))),
            "#1 register long",
            &register_answer(&out),
            &["another phone, name and identity key, but the driving licence of #2's beneficiary"],
        );
        Ok(())
    }

    /// (d) Short-distance journeys that are not eligible.
    fn ineligible_journeys(&mut self, c: &Cast<'_>) -> Result<()> {
        let engine = self.engine;
        // (d) journeys that are not eligible.
        println!();
        println!(
            "   d) Short-distance journeys must be class C, at most 80 km, start or end in France"
        );
        let trip = |id, class, from, to, distance_m| Trip {
            id,
            class,
            from,
            to,
            distance_m,
            ended_days_ago: 10,
        };
        let cases = [
            (
                trip(
                    "demo-class-b",
                    OperatorClass::B,
                    LYON_PART_DIEU,
                    VILLEURBANNE,
                    9_800,
                ),
                "journey demo-class-b: operator class B (a weaker proof than class C)",
            ),
            (
                trip(
                    "demo-too-long",
                    OperatorClass::C,
                    LYON_PART_DIEU,
                    GRENOBLE,
                    112_000,
                ),
                "journey demo-too-long: 112 km Lyon -> Grenoble",
            ),
            (
                trip("demo-abroad", OperatorClass::C, BRUSSELS, ANTWERP, 45_000),
                "journey demo-abroad: Brussels -> Antwerp (offline reverse geocoding of both ends)",
            ),
        ];
        for (k, (trip, why)) in cases.into_iter().enumerate() {
            let p = c.fresh(10 + k as u64, JourneyType::Short);
            self.journey(c.op1, &trip, &p)?;
            let out = engine.register(c.op1, &self.short_request(&p, trip.id)?)?;
            self.say(
                matches!(
                    &out,
                    RegisterOutcome::Refused(Refusal::JourneyNotEligible(_))
                ),
                "register short",
                &register_answer(&out),
                &[why],
            );
        }
        Ok(())
    }

    /// (e) The J+7 rule, then the error journal.
    fn delay_rule(&mut self, c: &Cast<'_>) -> Result<()> {
        let engine = self.engine;
        // (e) the J+7 rule.
        let carol = c.fresh(20, JourneyType::Short);
        println!();
        println!("   e) The J+7 rule: a trip can be claimed only once it is more than 7 days old");
        let trip = Trip {
            id: "demo-recent",
            class: OperatorClass::C,
            from: VIENNE,
            to: LYON_PART_DIEU,
            distance_m: 31_000,
            ended_days_ago: 3,
        };
        self.journey(c.op1, &trip, &carol)?;
        let out = engine.register(c.op1, &self.short_request(&carol, trip.id)?)?;
        self.say(
            matches!(
                &out,
                RegisterOutcome::Refused(Refusal::Date(DateRule::TooRecent { .. }))
            ),
            "register short",
            &register_answer(&out),
            &["journey demo-recent (Vienne -> Lyon, class C, 31 km) ended 3 days ago"],
        );
        self.clock.advance(Duration::from_secs(5 * 86_400));
        let out = engine.register(c.op1, &self.short_request(&carol, trip.id)?)?;
        self.say(
            matches!(&out, RegisterOutcome::Registered(_)),
            "register short",
            &register_answer(&out),
            &[&format!(
                "the same request after ManualClock::advance(5 days): self.now {}, the trip is 8 days old",
                date(self.engine.now())
            )],
        );
        let journal = engine.error_journal()?;
        println!();
        println!(
            "   The {} refusals above are in the error journal (kind, operator, type, time; no",
            journal.len()
        );
        println!("   identifier): engine.error_journal().");
        let audit = engine.audit_journal()?;
        println!(
            "   The import calls and registrations are in the audit journal ({} entries: who, when,",
            audit.len()
        );
        println!("   which uuids or segment; no identifier): engine.audit_journal().");
        Ok(())
    }
}

/// `by an application dated …, uuid …, journey …`: what the caller may see of the most
/// recent blocking application.
fn conflict_text(c: &Conflict) -> String {
    let mut s = format!("by an application dated {}", c.datetime);
    if let Some(u) = c.uuid {
        s.push_str(&format!(", uuid {u}"));
    }
    if let Some(j) = c.journey_id {
        s.push_str(&format!(", journey #{j}"));
    }
    s
}

fn sim_answer(sim: &Simulation) -> Vec<String> {
    match sim {
        Simulation::Eligible => vec!["ELIGIBLE".into()],
        Simulation::Blocked(c) => vec!["BLOCKED".into(), conflict_text(c)],
    }
}

fn register_answer(out: &RegisterOutcome) -> Vec<String> {
    match out {
        RegisterOutcome::Registered(r) => vec![format!("REGISTERED uuid {}", r.uuid)],
        RegisterOutcome::Refused(Refusal::Date(rule)) => {
            vec![format!("REFUSED (400) \"{rule}\"")]
        }
        RegisterOutcome::Refused(Refusal::JourneyNotFound) => {
            vec!["REFUSED (404) journey not found".into()]
        }
        RegisterOutcome::Refused(Refusal::JourneyNotEligible(why)) => {
            vec![format!("REFUSED (404) not eligible: {why}")]
        }
        RegisterOutcome::Refused(Refusal::Conflict(c)) => {
            vec!["REFUSED (409) already benefited".into(), conflict_text(c)]
        }
        RegisterOutcome::Refused(other) => vec![format!("REFUSED {other:?}")],
    }
}

/// Latency percentiles of sorted nanosecond samples, in µs.
fn percentile(sorted_ns: &[u64], q: f64) -> f64 {
    if sorted_ns.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted_ns.len() as f64).ceil() as usize).clamp(1, sorted_ns.len());
    sorted_ns[rank - 1] as f64 / 1000.0
}

/// `p50 … µs, p99 … µs, …, max … µs`: only the percentiles that `sorted_ns` has enough
/// samples for (p99.9 needs 1000).
fn latency_line(sorted_ns: &[u64]) -> String {
    let mut parts = vec![
        format!("p50 {:.1} µs", percentile(sorted_ns, 0.50)),
        format!("p90 {:.1} µs", percentile(sorted_ns, 0.90)),
        format!("p99 {:.1} µs", percentile(sorted_ns, 0.99)),
    ];
    if sorted_ns.len() >= 1000 {
        parts.push(format!("p99.9 {:.1} µs", percentile(sorted_ns, 0.999)));
    }
    parts.push(format!("max {:.1} µs", percentile(sorted_ns, 1.0)));
    parts.join(", ")
}

fn measure_simulate(
    engine: &Engine,
    op: &Operator,
    synth: &Synth,
    n: u64,
    lookups: u64,
) -> Result<()> {
    if lookups == 0 {
        return Ok(());
    }
    let mut rng = SplitMix64::new(synth.seed() ^ 0xB0B);
    let mut requests = Vec::with_capacity(lookups as usize);
    for k in 0..lookups {
        // Even k: someone imported (an index hit); odd k: someone never imported (a miss).
        let i = if k % 2 == 0 {
            rng.below(n)
        } else {
            n + 100 + rng.below(n)
        };
        requests.push(synth.person(i).simulate_request()?);
    }
    let mut ns = Vec::with_capacity(requests.len());
    let mut blocked = 0u64;
    let t = Instant::now();
    for r in &requests {
        let t0 = Instant::now();
        let sim = engine.simulate(op, r)?;
        ns.push(t0.elapsed().as_nanos() as u64);
        blocked += u64::from(!sim.is_eligible());
    }
    let elapsed = t.elapsed();
    ns.sort_unstable();
    let one_thread = lookups as f64 / elapsed.as_secs_f64();
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8);
    let mut throughput = format!("{one_thread:.0} look-ups/s on 1 thread");
    if threads > 1 {
        let t = Instant::now();
        std::thread::scope(|s| {
            for chunk in requests.chunks(requests.len().div_ceil(threads)) {
                s.spawn(move || {
                    for r in chunk {
                        let _ = engine.simulate(op, r);
                    }
                });
            }
        });
        let many = lookups as f64 / t.elapsed().as_secs_f64();
        throughput.push_str(&format!(", {many:.0} on {threads} threads"));
    }
    println!(
        "   simulate  {lookups} look-ups: half imported drivers, half never seen ({blocked} blocked)"
    );
    println!("             latency {}", latency_line(&ns));
    println!("             throughput {throughput}");
    Ok(())
}

/// A long-distance registration of person `p`, paid at `paid`, applied for at `applied`.
fn long_request(p: &Person, paid: Timestamp, applied: Timestamp) -> Result<RegisterRequest> {
    Ok(RegisterRequest {
        kind: RegisterKind::Long {
            phone_trunc: p.phone_trunc.parse()?,
            datetime: paid,
        },
        last_name_trunc: p.last_name_trunc.parse()?,
        driving_license: p.driving_license()?,
        identity_key: p.identity_key()?,
        application_timestamp: applied,
    })
}

fn measure_register(
    engine: &Engine,
    op: &Operator,
    synth: &Synth,
    n: u64,
    count: u64,
    now: Timestamp,
) -> Result<()> {
    if count == 0 {
        return Ok(());
    }
    let paid = days_before(now, 30);
    let applied = days_before(now, 1);
    let mut requests = Vec::with_capacity(count as usize);
    for k in 0..count {
        let p = synth.person(n + 1_000 + k);
        requests.push(long_request(&p, paid, applied)?);
    }
    let mut ns = Vec::with_capacity(requests.len());
    let mut registered = 0;
    let t = Instant::now();
    for r in &requests {
        let t0 = Instant::now();
        let out = engine.register(op, r)?;
        ns.push(t0.elapsed().as_nanos() as u64);
        registered += usize::from(matches!(out, RegisterOutcome::Registered(_)));
    }
    let elapsed = t.elapsed();
    ns.sort_unstable();
    println!(
        "   register  {count} long-distance registrations of new drivers ({registered} registered),"
    );
    println!("             each one flushed to disk (Durability::Immediate) before it returns");
    println!("             latency {}", latency_line(&ns));
    println!(
        "             throughput {:.0} registrations/s on 1 thread",
        count as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}
