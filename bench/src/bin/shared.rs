//! `shared`: the PostgreSQL backend (SPEC §11.5) beside sled, on the suite's population.
//!
//! ```text
//! CEE_BENCH_PG='host=… user=…' CEE_BENCH_PEOPLE=100000 \
//!   cargo run --release -p cee-bench --features postgres --bin shared
//! ```
//!
//! `CEE_BENCH_PG` is a conninfo of a server where the user may create databases: a fresh one,
//! `cee_bench_shared_<pid>`, holds the shared registry (dropped at the end unless
//! `CEE_BENCH_KEEP=1`). Measures, each answer asserted:
//!
//! 1. import of people `0..n` (3 rows each, 1000-row calls, `Buffered`, flushed): sled and
//!    PostgreSQL, rows/s;
//! 2. open (the in-memory index rebuilt from the registry): sled, PostgreSQL;
//! 3. simulate through each engine, `CEE_BENCH_ROUNDS` (default 15) interleaved rounds over
//!    the suite's 3 × 4096 mixed cases (hit, known miss, unknown miss): best and median
//!    ns/call per engine and the PostgreSQL / sled ratio (the issue's goal: ≤ 1.5);
//! 4. register (long, fresh beneficiaries), `CEE_BENCH_REGISTER` (default 500) calls per
//!    engine and durability (`Immediate` = `synchronous_commit = on`, `Buffered` = `off`):
//!    p50 / p99 / max and calls/s.
//!
//! Ends with one `shared <key> <value>` line per figure.

use std::time::{Duration, Instant};

use cee_bench::workload::{self, answer, operators, Case, Cases, MISS_RESERVE};
use cee_bench::Error;
use cee_eligibility::{Config, Durability, Engine, RegisterOutcome};

fn main() {
    if let Err(e) = run() {
        eprintln!("shared failed: {}", cee_bench::error_chain(&*e));
        std::process::exit(1);
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn pg_config(conninfo: &str) -> Config {
    Config::postgres(conninfo)
        .secret(workload::SECRET)
        .clock(workload::clock())
}

fn run() -> Result<(), Error> {
    let base = std::env::var("CEE_BENCH_PG")
        .map_err(|_| "set CEE_BENCH_PG to a PostgreSQL conninfo (see .ci/pg-cluster)")?;
    let n = workload::people();
    let rounds = env_u64("CEE_BENCH_ROUNDS", 15).max(1);
    let registrations = env_u64("CEE_BENCH_REGISTER", 500).max(10);
    let synth = workload::synth();
    let mut figures: Vec<(String, String)> = Vec::new();
    let mut note = |k: &str, v: String| {
        println!("{k:<40} {v}");
        figures.push((k.to_owned(), v));
    };

    let db_name = format!("cee_bench_shared_{}", std::process::id());
    let mut admin = postgres::Client::connect(&base, postgres::NoTls)?;
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {db_name}"))?;
    admin.batch_execute(&format!("CREATE DATABASE {db_name}"))?;
    let conninfo = format!("{base} dbname={db_name}");
    let tmp = match std::env::var_os("CEE_BENCH_DIR") {
        Some(b) => tempfile::tempdir_in(b)?,
        None => tempfile::tempdir()?,
    };
    let dir = tmp.path().join("sled");
    let rows = 3 * n;

    // 1. Import.
    eprintln!("importing {n} people ({rows} rows) into sled and into PostgreSQL");
    let sled = Engine::open(workload::config(&dir).durability(Durability::Buffered))?;
    let took = workload::import_history(&sled, &synth, n, false)?;
    note(
        "import/sled rows_per_s",
        format!("{:.0}", rows as f64 / took.as_secs_f64()),
    );
    drop(sled);
    let pg = Engine::open(pg_config(&conninfo).durability(Durability::Buffered))?;
    let took = workload::import_history(&pg, &synth, n, false)?;
    note(
        "import/postgres rows_per_s",
        format!("{:.0}", rows as f64 / took.as_secs_f64()),
    );
    drop(pg);

    // 2. Open (index rebuilt from the registry).
    let t = Instant::now();
    let sled = Engine::open(workload::config(&dir))?;
    note("open/sled s", format!("{:.2}", t.elapsed().as_secs_f64()));
    let t = Instant::now();
    let pg = Engine::open(pg_config(&conninfo))?;
    note(
        "open/postgres s",
        format!("{:.2}", t.elapsed().as_secs_f64()),
    );
    let index = pg.stats()?.index;
    if index != sled.stats()?.index {
        return Err("the two indexes differ".into());
    }
    note(
        "index pseudonyms/entries",
        format!("{} / {}", index.0, index.1),
    );

    // 3. Simulate, interleaved rounds.
    let cases = Cases::new(&synth, n, 4096.min(MISS_RESERVE as usize))?.mixed();
    let op = &operators()[0];
    let round = |e: &Engine, cases: &[Case]| -> Result<f64, Error> {
        let t = Instant::now();
        for (i, c) in cases.iter().enumerate() {
            let got = answer(&e.simulate(op, std::hint::black_box(&c.req))?);
            if got != c.expect {
                return Err(format!("case {i}: {got:?}, expected {:?}", c.expect).into());
            }
        }
        Ok(t.elapsed().as_nanos() as f64 / cases.len() as f64)
    };
    round(&sled, &cases)?;
    round(&pg, &cases)?;
    let (mut s_ns, mut p_ns) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        s_ns.push(round(&sled, &cases)?);
        p_ns.push(round(&pg, &cases)?);
    }
    let best = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (sb, pb) = (best(&s_ns), best(&p_ns));
    let (sm, pm) = (median(&mut s_ns), median(&mut p_ns));
    note("simulate/sled ns best/median", format!("{sb:.0} / {sm:.0}"));
    note(
        "simulate/postgres ns best/median",
        format!("{pb:.0} / {pm:.0}"),
    );
    note(
        "simulate ratio postgres/sled best/median",
        format!("{:.2} / {:.2}", pb / sb, pm / sm),
    );
    drop(pg);
    drop(sled);

    // 4. Register.
    let mut next = n + MISS_RESERVE;
    for durability in [Durability::Immediate, Durability::Buffered] {
        for backend in ["sled", "postgres"] {
            let engine = match backend {
                "sled" => Engine::open(workload::config(&dir).durability(durability))?,
                _ => Engine::open(pg_config(&conninfo).durability(durability))?,
            };
            let mut ns = Vec::with_capacity(registrations as usize);
            let started = Instant::now();
            for _ in 0..registrations {
                let p = workload::fresh_person(&synth, next);
                next += 1;
                let req = workload::long_register(&p)?;
                let t = Instant::now();
                let out = engine.register(op, std::hint::black_box(&req))?;
                ns.push(t.elapsed());
                if !matches!(out, RegisterOutcome::Registered(_)) {
                    return Err(format!("{backend}: registration refused: {out:?}").into());
                }
            }
            let per_s = registrations as f64 / started.elapsed().as_secs_f64();
            engine.flush()?;
            ns.sort_unstable();
            let q = |q: f64| ns[((ns.len() - 1) as f64 * q).round() as usize];
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            note(
                &format!("register/{backend}/{durability:?} ms p50/p99/max"),
                format!("{:.3} / {:.3} / {:.3}", ms(q(0.5)), ms(q(0.99)), ms(q(1.0))),
            );
            note(
                &format!("register/{backend}/{durability:?} per_s"),
                format!("{per_s:.0}"),
            );
        }
    }

    if std::env::var("CEE_BENCH_KEEP").as_deref() != Ok("1") {
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"))?;
    } else {
        eprintln!("kept database {db_name}");
    }
    println!();
    for (k, v) in &figures {
        println!("shared {} {}", k.replace(' ', "_"), v.replace(' ', ""));
    }
    Ok(())
}
