//! The benchmark suite of cee-eligibility and its baselines (criterion, `harness = false`).
//!
//! Builds one registry of `CEE_BENCH_PEOPLE` people (default 1 000 000 → 3 000 000 imported
//! rows) on disk with `Durability::Buffered`, the SQLite, redb and `HashMap` baselines (and
//! PostgreSQL with feature `postgres` and `CEE_BENCH_PG`) with the same pseudonymised rows,
//! checks that they all agree, then measures:
//!
//! * `check/simulate/{hit,miss_known,miss_unknown}`, `check/simulate_all_identifiers`,
//!   `check/simulate/threads_{1,2}` (throughput of 1 vs 2 threads on a mixed workload);
//! * `baseline/{sqlite,redb,hashmap,postgres}/simulate/{hit,miss_known,miss_unknown,
//!   all_identifiers}`;
//! * `import/batch_1000/{immediate,buffered}` (into fresh on-disk databases);
//! * `import/standardized_batch_1000/{immediate,buffered}` (past standardized applications,
//!   each with a licence, an identity key and a kept uuid; into fresh on-disk databases);
//! * `open/1m` (reopening the registry: sled open + in-memory index rebuild);
//! * `register/{long,short}/{buffered,immediate}` (fresh beneficiaries, on the registry) and
//!   `register/long/immediate_16_writers` (16 threads at once: group commit);
//! * `backup/registry` (`Engine::backup` of the whole registry).
//!
//! Every measured call asserts its outcome. `bench/regen.sh` runs it and writes
//! BENCHMARKS.md. Quick mode: `CEE_BENCH_PEOPLE=20000 cargo bench -p cee-bench --bench suite
//! -- --warm-up-time 1 --measurement-time 2`.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cee_bench::oracle::Oracle;
use cee_bench::pseudonym::Pseudonymizer;
use cee_bench::redb::Redb;
use cee_bench::sqlite::Sqlite;
use cee_bench::workload::{self, answer, Case, Cases, MISS_RESERVE, SECRET};
use cee_bench::{Baseline, Error, Thresholds};
use cee_eligibility::synth::Synth;
use cee_eligibility::{Durability, Engine, Operator, RegisterOutcome};
use criterion::{BatchSize, Criterion, SamplingMode, Throughput};

fn main() {
    if let Err(e) = run() {
        eprintln!("cee-bench suite failed: {}", cee_bench::error_chain(&*e));
        std::process::exit(1);
    }
}

/// Where the databases go: `CEE_BENCH_DIR`, else the system's temporary directory (use a
/// real disk, not tmpfs, for `Durability::Immediate` figures to mean anything).
fn bench_dir() -> PathBuf {
    std::env::var_os("CEE_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from)
}

fn run() -> Result<(), Error> {
    let mut c = Criterion::default().configure_from_args();
    let n = workload::people();
    let synth = workload::synth();
    let root = tempfile::Builder::new()
        .prefix("cee-bench-")
        .tempdir_in(bench_dir())?;
    let db = root.path().join("engine");
    eprintln!(
        "cee-bench: {n} people, {} history rows; registry in {}",
        n * 3,
        db.display()
    );
    let (engine, took) = workload::build_engine(&db, &synth, n, true)?;
    eprintln!(
        "cee-bench: engine import {:.1} s ({:.0} rows/s, Buffered, flushed)",
        took.as_secs_f64(),
        (n * 3) as f64 / took.as_secs_f64()
    );

    let thr = Thresholds::at_now();
    let entries = workload::entries(&synth, n, &Pseudonymizer::new(&SECRET))?;
    let (sqlite_db, t) = Sqlite::create(&root.path().join("baseline.sqlite"), &entries, thr)?;
    eprintln!("cee-bench: sqlite load {:.1} s", t.as_secs_f64());
    let (mut redb, t) = Redb::create(&root.path().join("baseline.redb"), &entries, thr)?;
    eprintln!("cee-bench: redb load {:.1} s", t.as_secs_f64());
    let mut oracle = Oracle::new(&entries, thr);
    #[cfg(feature = "postgres")]
    let mut pg = match cee_bench::pg::Pg::connect(&entries, thr)? {
        Ok((mut pg, t)) => {
            eprintln!("cee-bench: postgres load {:.1} s", t.as_secs_f64());
            pg.begin_read()?;
            Some(pg)
        }
        Err(why) => {
            eprintln!("cee-bench: note: PostgreSQL baseline skipped: {why}");
            None
        }
    };
    #[cfg(not(feature = "postgres"))]
    eprintln!("cee-bench: note: PostgreSQL baseline not built (cargo feature `postgres`)");
    drop(entries);
    let mut sqlite = sqlite_db.reader()?;
    redb.begin_read()?;

    let cases = Cases::new(&synth, n, 1024)?;
    let mut sample = cases.mixed();
    sample.extend(cases.all_ids.iter().cloned());
    {
        let mut baselines: Vec<&mut dyn Baseline> = vec![&mut sqlite, &mut redb, &mut oracle];
        #[cfg(feature = "postgres")]
        if let Some(pg) = pg.as_mut() {
            baselines.push(pg);
        }
        workload::check_agreement(&engine, &mut baselines, &sample)?;
        let names: Vec<&str> = baselines.iter().map(|b| b.name()).collect();
        eprintln!(
            "cee-bench: engine and {} agree on all {} sample requests",
            names.join(", "),
            sample.len()
        );
    }

    bench_simulate(&mut c, &engine, &cases);
    bench_baseline(&mut c, &mut sqlite, &cases);
    bench_baseline(&mut c, &mut redb, &cases);
    bench_baseline(&mut c, &mut oracle, &cases);
    #[cfg(feature = "postgres")]
    if let Some(pg) = pg.as_mut() {
        bench_baseline(&mut c, pg, &cases);
    }
    bench_threads(&mut c, &engine, &cases);
    bench_import(&mut c, &synth, root.path())?;
    bench_import_standardized(&mut c, &synth, root.path())?;
    bench_backup(&mut c, &engine, root.path(), &cases.hit[0]);

    // sled holds a lock on the directory: every handle must be gone before reopening.
    drop(engine);
    bench_open(&mut c, &db, &cases.hit[0]);

    let fresh = AtomicU64::new(n + MISS_RESERVE);
    for (label, durability) in [
        ("buffered", Durability::Buffered),
        ("immediate", Durability::Immediate),
    ] {
        let engine = Engine::open(workload::config(&db).durability(durability))?;
        bench_register(&mut c, &engine, label, &synth, &fresh);
    }
    c.final_summary();
    Ok(())
}

fn op() -> Operator {
    workload::operators()[0].clone()
}

fn simulate_case(engine: &Engine, op: &Operator, case: &Case) {
    let sim = engine
        .simulate(op, black_box(&case.req))
        .expect("simulate failed");
    assert_eq!(answer(&sim), case.expect, "wrong simulate answer");
}

fn bench_simulate(c: &mut Criterion, engine: &Engine, cases: &Cases) {
    let op = op();
    let mut g = c.benchmark_group("check/simulate");
    g.throughput(Throughput::Elements(1));
    for (id, set) in [
        ("hit", &cases.hit),
        ("miss_known", &cases.miss_known),
        ("miss_unknown", &cases.miss_unknown),
    ] {
        let mut k = 0;
        g.bench_function(id, |b| {
            b.iter(|| {
                k = (k + 1) % set.len();
                simulate_case(engine, &op, &set[k]);
            })
        });
    }
    g.finish();
    let mut g = c.benchmark_group("check");
    g.throughput(Throughput::Elements(1));
    let mut k = 0;
    g.bench_function("simulate_all_identifiers", |b| {
        b.iter(|| {
            k = (k + 1) % cases.all_ids.len();
            simulate_case(engine, &op, &cases.all_ids[k]);
        })
    });
    g.finish();
}

fn bench_baseline(c: &mut Criterion, base: &mut dyn Baseline, cases: &Cases) {
    let mut g = c.benchmark_group(format!("baseline/{}/simulate", base.name()));
    g.throughput(Throughput::Elements(1));
    for (id, set) in [
        ("hit", &cases.hit),
        ("miss_known", &cases.miss_known),
        ("miss_unknown", &cases.miss_unknown),
        ("all_identifiers", &cases.all_ids),
    ] {
        let mut k = 0;
        g.bench_function(id, |b| {
            b.iter(|| {
                k = (k + 1) % set.len();
                let case = &set[k];
                let got = base.check(black_box(&case.req)).expect("baseline failed");
                assert_eq!(
                    got.map(|f| f.datetime),
                    case.expect,
                    "wrong baseline answer"
                );
            })
        });
    }
    g.finish();
}

/// Throughput of 1 and 2 threads doing simulate on the mixed workload: each of the `t`
/// threads makes `iters` calls, so an iteration is `t` simulations (`Throughput::Elements`).
fn bench_threads(c: &mut Criterion, engine: &Engine, cases: &Cases) {
    let mixed = cases.mixed();
    let op = op();
    let mut g = c.benchmark_group("check/simulate");
    for threads in [1usize, 2] {
        g.throughput(Throughput::Elements(threads as u64));
        g.bench_function(format!("threads_{threads}"), |b| {
            b.iter_custom(|iters| {
                let barrier = std::sync::Barrier::new(threads + 1);
                std::thread::scope(|s| {
                    for t in 0..threads {
                        let (mixed, op, barrier) = (&mixed, &op, &barrier);
                        s.spawn(move || {
                            barrier.wait();
                            let offset = t * mixed.len() / 2;
                            for i in 0..iters as usize {
                                simulate_case(engine, op, &mixed[(offset + i) % mixed.len()]);
                            }
                        });
                    }
                    barrier.wait();
                    let started = Instant::now();
                    // Leaving the scope joins the threads.
                    started
                })
                .elapsed()
            })
        });
    }
    g.finish();
}

fn bench_import(c: &mut Criterion, synth: &Synth, root: &Path) -> Result<(), Error> {
    let mut g = c.benchmark_group("import/batch_1000");
    g.throughput(Throughput::Elements(1000));
    g.sample_size(10);
    for (id, durability) in [
        ("immediate", Durability::Immediate),
        ("buffered", Durability::Buffered),
    ] {
        let dir = tempfile::Builder::new()
            .prefix("import-")
            .tempdir_in(root)?;
        let engine = Engine::open(workload::config(dir.path()).durability(durability))?;
        let siret = op().siret;
        let mut next = 0u64;
        g.bench_function(id, |b| {
            b.iter_batched(
                || {
                    // Fresh rows: people 0.. for operator 100, then operator 101 once the
                    // distinct phones run out, and so on.
                    let start = next;
                    next += workload::BATCH as u64;
                    let op = Operator::new(100 + (start / Synth::MAX_PEOPLE) as u32, siret);
                    let from = start % Synth::MAX_PEOPLE;
                    let rows: Vec<_> = synth
                        .people(from..from + workload::BATCH as u64)
                        .map(|p| p.import_row())
                        .collect();
                    (op, rows)
                },
                |(op, rows)| {
                    let report = engine.import(&op, black_box(&rows)).expect("import failed");
                    assert_eq!(report.imported, workload::BATCH, "rows refused");
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
    Ok(())
}

fn bench_import_standardized(c: &mut Criterion, synth: &Synth, root: &Path) -> Result<(), Error> {
    let mut g = c.benchmark_group("import/standardized_batch_1000");
    g.throughput(Throughput::Elements(1000));
    g.sample_size(10);
    for (id, durability) in [
        ("immediate", Durability::Immediate),
        ("buffered", Durability::Buffered),
    ] {
        let dir = tempfile::Builder::new()
            .prefix("import-standardized-")
            .tempdir_in(root)?;
        let engine = Engine::open(workload::config(dir.path()).durability(durability))?;
        let siret = op().siret;
        let mut next = 0u64;
        g.bench_function(id, |b| {
            b.iter_batched(
                || {
                    // Fresh people (distinct licences and uuids) for every call.
                    let start = next % Synth::MAX_PEOPLE;
                    next += workload::BATCH as u64;
                    let rows: Vec<_> = synth
                        .people(start..start + workload::BATCH as u64)
                        .map(|p| p.standardized_row())
                        .collect();
                    (Operator::new(100, siret), rows)
                },
                |(op, rows)| {
                    let report = engine
                        .import_standardized(&op, black_box(&rows))
                        .expect("import failed");
                    assert_eq!(report.imported, workload::BATCH, "rows refused");
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
    Ok(())
}

/// `backup/registry`: `Engine::backup` of the whole registry into a fresh directory beside it
/// (copy removed outside the timing); the copy is opened and answers the hit once per sample.
fn bench_backup(c: &mut Criterion, engine: &Engine, root: &Path, hit: &Case) {
    let mut g = c.benchmark_group("backup");
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    g.warm_up_time(Duration::from_millis(1));
    let mut n = 0u64;
    g.bench_function("registry", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                n += 1;
                let dest = root.join(format!("backup-{n}"));
                let started = Instant::now();
                engine.backup(black_box(&dest)).expect("backup failed");
                total += started.elapsed();
                if n == 1 {
                    let copy = Engine::open(workload::config(&dest)).expect("open the copy");
                    simulate_case(&copy, &op(), hit);
                }
                std::fs::remove_dir_all(&dest).expect("remove the copy");
            }
            total
        })
    });
    g.finish();
}

fn bench_open(c: &mut Criterion, db: &Path, hit: &Case) {
    let mut g = c.benchmark_group("open");
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    g.warm_up_time(Duration::from_millis(1));
    g.bench_function("1m", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                let engine = Engine::open(workload::config(black_box(db))).expect("open failed");
                total += started.elapsed();
                simulate_case(&engine, &op(), hit);
                drop(engine);
            }
            total
        })
    });
    g.finish();
}

fn registered(out: RegisterOutcome) {
    match out {
        RegisterOutcome::Registered(_) => {}
        other => panic!("registration refused: {other:?}"),
    }
}

/// `register/long/immediate_<k>_writers`: k threads register fresh people at once; the time
/// reported is wall time per registration (all threads together), so the throughput is the
/// aggregate one. With `Durability::Immediate`, concurrent writers share syncs (group commit).
fn bench_register_writers(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    engine: &Engine,
    synth: &Synth,
    fresh: &AtomicU64,
    writers: u64,
) {
    let op = op();
    g.throughput(Throughput::Elements(1));
    g.bench_function(format!("immediate_{writers}_writers"), |b| {
        b.iter_custom(|iters| {
            let per_writer = iters.div_ceil(writers);
            let requests: Vec<Vec<_>> = (0..writers)
                .map(|_| {
                    (0..per_writer)
                        .map(|_| {
                            let p = workload::fresh_person(
                                synth,
                                fresh.fetch_add(1, Ordering::Relaxed),
                            );
                            workload::long_register(&p).expect("request")
                        })
                        .collect()
                })
                .collect();
            let started = Instant::now();
            std::thread::scope(|s| {
                for reqs in &requests {
                    let op = &op;
                    s.spawn(move || {
                        for req in reqs {
                            registered(
                                engine
                                    .register(op, black_box(req))
                                    .expect("register failed"),
                            );
                        }
                    });
                }
            });
            // Time per registration, over the registrations actually made.
            started
                .elapsed()
                .mul_f64(iters as f64 / (per_writer * writers) as f64)
        })
    });
}

fn bench_register(
    c: &mut Criterion,
    engine: &Engine,
    label: &str,
    synth: &Synth,
    fresh: &AtomicU64,
) {
    let op = op();
    let person = || workload::fresh_person(synth, fresh.fetch_add(1, Ordering::Relaxed));
    let mut g = c.benchmark_group("register/long");
    g.bench_function(label, |b| {
        b.iter_batched(
            || workload::long_register(&person()).expect("request"),
            |req| {
                registered(
                    engine
                        .register(&op, black_box(&req))
                        .expect("register failed"),
                )
            },
            BatchSize::SmallInput,
        )
    });
    if label == "immediate" {
        bench_register_writers(&mut g, engine, synth, fresh, 16);
    }
    g.finish();
    let mut g = c.benchmark_group("register/short");
    g.bench_function(label, |b| {
        b.iter_batched(
            || {
                let p = person();
                let id = format!("bench-{}", p.index);
                let journey = workload::short_journey(&p, &id).expect("journey");
                engine
                    .put_journey(&op, &journey)
                    .expect("put_journey failed");
                workload::short_register(&p, &id).expect("request")
            },
            |req| {
                registered(
                    engine
                        .register(&op, black_box(&req))
                        .expect("register failed"),
                )
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}
