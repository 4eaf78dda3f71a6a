//! `purge`: the retention purge (SPEC §11.6) on the suite's registry, with a clock 15 years
//! ahead.
//!
//! Builds the registry of the suite (`CEE_BENCH_PEOPLE` people, default 1 000 000: their
//! 3-row import history, `Durability::Buffered`), adds `CEE_BENCH_PURGE_EXTRA` (default
//! 10 000) long registrations, as many refusals (journal entries), a fifth of them deleted
//! (tombstones), and as many journeys that ended before the period (never eligible). Then, at
//! 2039-06-15 (15 years after the suite's `NOW`), records the answers of a sample of people
//! at the horizon and at now, runs `Engine::purge` once (timed), and checks that the same
//! sample answers the same at both dates (and after reopening). Prints the report, index
//! entries, bytes on disk, the process's RSS before and after, and the memory a fresh process
//! takes to open the registry before and after the purge (`open-child`, as `footprint`
//! does), then one `purge <key> <value>` line per figure.

use std::time::{Duration, Instant};

use cee_bench::proc::{disk_size, mib, rss};
use cee_bench::workload::{self, answer, operators, MISS_RESERVE};
use cee_eligibility::{Durability, Engine, RegisterOutcome, Timestamp};

use cee_bench::Error;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let result = match (args.get(1).map(String::as_str), args.get(2)) {
        (Some("open-child"), Some(dir)) => open_child(std::path::Path::new(dir)),
        _ => run(),
    };
    if let Err(e) = result {
        eprintln!("purge failed: {}", cee_bench::error_chain(&*e));
        std::process::exit(1);
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn run() -> Result<(), Error> {
    let n = workload::people();
    let extra = env_u64("CEE_BENCH_PURGE_EXTRA", 10_000);
    let base = std::env::var_os("CEE_BENCH_DIR").map(std::path::PathBuf::from);
    let tmp = match &base {
        Some(b) => tempfile::tempdir_in(b)?,
        None => tempfile::tempdir()?,
    };
    let dir = tmp.path().join("purge");
    let synth = workload::synth();
    let clock = workload::clock();
    let engine = Engine::open(
        workload::config(&dir)
            .clock(clock.clone())
            .durability(Durability::Buffered),
    )?;
    eprintln!("building the registry: {n} people, {} rows", 3 * n);
    let took = workload::import_history(&engine, &synth, n, true)?;
    eprintln!("  imported in {:.1} s", took.as_secs_f64());
    let op = &operators()[0];
    let mut deleted = 0u64;
    let mut journal = 0u64;
    for i in 0..extra {
        let p = workload::fresh_person(&synth, n + MISS_RESERVE + i);
        let req = workload::long_register(&p)?;
        let RegisterOutcome::Registered(reg) = engine.register(op, &req)? else {
            return Err(format!("registration {i} refused").into());
        };
        // The same again: refused (a conflict), one journal entry.
        if let RegisterOutcome::Refused(_) = engine.register(op, &req)? {
            journal += 1;
        }
        if i % 5 == 0 {
            engine.delete(op, &reg.uuid)?;
            deleted += 1;
        }
        let mut j = workload::short_journey(&p, &format!("old-{i}"))?;
        j.start.datetime = ts("2022-06-01T08:00:00Z")?;
        j.end.datetime = ts("2022-06-01T09:00:00Z")?;
        engine.put_journey(op, &j)?;
    }
    engine.flush()?;
    drop(engine);
    std::thread::sleep(Duration::from_millis(200));
    let (engine_mib_before, _) = fresh_open(&dir)?;
    let engine = Engine::open(
        workload::config(&dir)
            .clock(clock.clone())
            .durability(Durability::Buffered),
    )?;
    eprintln!(
        "  + {extra} registrations ({deleted} deleted), {journal} refusals, {extra} old journeys"
    );

    clock.set(ts("2039-06-15T12:00:00Z")?);
    let horizon = engine.policy().start_date;
    let sample: Vec<_> = (0..n.min(50_000))
        .map(|i| synth.person(i * (n / n.min(50_000))).simulate_request())
        .collect::<Result<_, _>>()?;
    let answers = |at: Timestamp| -> Result<Vec<Option<i64>>, Error> {
        clock.set(at);
        sample
            .iter()
            .map(|r| Ok(answer(&engine.simulate(op, r)?)))
            .collect()
    };
    let now = ts("2039-06-15T12:00:00Z")?;
    let at_horizon = answers(horizon)?;
    let at_now = answers(now)?;
    let blocked = at_horizon.iter().filter(|a| a.is_some()).count();
    let before = engine.stats()?;
    let rss_before = rss().unwrap_or(0);
    let (disk_before, _) = disk_size(&dir);

    let started = Instant::now();
    let report = engine.purge()?;
    let purge_took = started.elapsed();
    engine.flush()?;
    let rss_after = rss().unwrap_or(0);
    let after = engine.stats()?;
    let (disk_after, _) = disk_size(&dir);
    if answers(horizon)? != at_horizon || answers(now)? != at_now {
        return Err("answers changed by the purge".into());
    }
    clock.set(now);

    // Reopen: what is left, and the memory of a fresh engine over it.
    drop(engine);
    std::thread::sleep(Duration::from_millis(200));
    let (engine_mib_after, fresh_entries) = fresh_open(&dir)?;
    let opened = Instant::now();
    let reopened = Engine::open(workload::config(&dir).clock(clock.clone()))?;
    let open_took = opened.elapsed();
    let reopened_stats = reopened.stats()?;
    clock.set(horizon);
    let again: Vec<_> = sample
        .iter()
        .map(|r| reopened.simulate(op, r).map(|s| answer(&s)))
        .collect::<Result<_, _>>()?;
    if again != at_horizon {
        return Err("answers changed after reopening".into());
    }

    println!("| figure | value |\n|---|---|");
    let rows = [
        ("people", n.to_string()),
        ("purge_s", format!("{:.2}", purge_took.as_secs_f64())),
        ("horizon", report.horizon.to_string()),
        ("rows_removed", report.rows_removed.to_string()),
        ("segments_rewritten", report.segments_rewritten.to_string()),
        ("segments_dropped", report.segments_dropped.to_string()),
        ("records_removed", report.records_removed.to_string()),
        (
            "tombstones_scrubbed",
            report.tombstones_scrubbed.to_string(),
        ),
        ("journeys_removed", report.journeys_removed.to_string()),
        ("journal_removed", report.journal_removed.to_string()),
        (
            "index_entries_removed",
            report.index_entries_removed.to_string(),
        ),
        ("index_pseudonyms_before", before.index.0.to_string()),
        ("index_pseudonyms_after", after.index.0.to_string()),
        ("index_entries_before", before.index.1.to_string()),
        ("index_entries_after", after.index.1.to_string()),
        ("index_entries_reopened", reopened_stats.index.1.to_string()),
        ("disk_mib_before", format!("{:.1}", mib(disk_before))),
        ("disk_mib_after", format!("{:.1}", mib(disk_after))),
        ("rss_mib_before", format!("{:.1}", mib(rss_before))),
        ("rss_mib_after", format!("{:.1}", mib(rss_after))),
        (
            "engine_mib_fresh_open_before",
            format!("{engine_mib_before:.1}"),
        ),
        (
            "engine_mib_fresh_open_after",
            format!("{engine_mib_after:.1}"),
        ),
        ("index_entries_fresh_open_after", fresh_entries.to_string()),
        ("reopen_s", format!("{:.2}", open_took.as_secs_f64())),
        ("sample", sample.len().to_string()),
        ("sample_blocked_at_horizon", blocked.to_string()),
    ];
    for (k, v) in &rows {
        println!("| {k} | {v} |");
    }
    for (k, v) in &rows {
        println!("purge {k} {v}");
    }
    Ok(())
}

/// In a fresh process: the memory an engine takes to open `dir` (RSS after − before).
fn open_child(dir: &std::path::Path) -> Result<(), Error> {
    let before = rss().unwrap_or(0);
    let engine = Engine::open(workload::config(dir))?;
    let after = rss().unwrap_or(0);
    println!(
        "{} {}",
        after.saturating_sub(before),
        engine.stats()?.index.1
    );
    Ok(())
}

/// Engine memory of a fresh process opening `dir` (MiB), and its index entries.
fn fresh_open(dir: &std::path::Path) -> Result<(f64, u64), Error> {
    let out = std::process::Command::new(std::env::current_exe()?)
        .arg("open-child")
        .arg(dir)
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.split_whitespace().map(|w| w.parse::<u64>());
    match (it.next(), it.next()) {
        (Some(Ok(bytes)), Some(Ok(entries))) => Ok((mib(bytes), entries)),
        _ => Err(format!(
            "open-child said {text:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into()),
    }
}

fn ts(s: &str) -> Result<Timestamp, Error> {
    Ok(s.parse()?)
}
