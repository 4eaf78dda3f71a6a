//! Engine benchmarks: simulate (hit / known miss / unknown miss) and import, on a synthetic
//! registry. `CEE_BENCH_PEOPLE` sets its size (default 100 000 beneficiaries).
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use cee_eligibility::clock::ManualClock;
use cee_eligibility::synth::Synth;
use cee_eligibility::{Config, Durability, Engine, ImportRow, Operator, SimulateRequest};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

fn people() -> usize {
    std::env::var("CEE_BENCH_PEOPLE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000)
}

fn phone(i: usize) -> String {
    format!("+336{:06}", i % 1_000_000)
}

fn name(i: usize) -> String {
    let b = |k: usize| char::from(b'A' + u8::try_from(k % 26).unwrap());
    [b(i / 1_000_000), b(i / 26 % 26 + 7), b(i % 26)]
        .iter()
        .collect()
}

fn row(i: usize) -> ImportRow {
    ImportRow {
        journey_type: if i.is_multiple_of(3) { "long" } else { "short" }.into(),
        phone_trunc: phone(i),
        last_name_trunc: name(i),
        datetime: format!("{}-06-01T00:00:00Z", 2016 + i % 8),
    }
}

fn op() -> Operator {
    Operator::new(1, "89248032800012".parse().unwrap())
}

fn loaded(n: usize) -> Engine {
    let clock = ManualClock::new("2024-06-15T00:00:00Z".parse().unwrap());
    let e = Engine::open(
        Config::temporary()
            .clock(clock)
            .durability(Durability::Buffered),
    )
    .unwrap();
    let rows: Vec<ImportRow> = (0..n).map(row).collect();
    for chunk in rows.chunks(1000) {
        assert_eq!(e.import(&op(), chunk).unwrap().failed, 0);
    }
    e.flush().unwrap();
    e
}

fn req(i: usize, jt: &str, name_: &str) -> SimulateRequest {
    SimulateRequest {
        journey_type: jt.parse().unwrap(),
        phone_trunc: phone(i).parse().unwrap(),
        last_name_trunc: name_.parse().unwrap(),
        driving_license: None,
        identity_key: None,
    }
}

fn simulate(c: &mut Criterion) {
    let n = people();
    let e = loaded(n);
    let o = op();
    // Hits: rows dated 2022 or 2023 (i % 8 in {6, 7}), short (i % 3 != 0): inside 3 years.
    let hits: Vec<_> = (0..n)
        .filter(|i| i % 8 >= 6 && i % 3 != 0)
        .take(1024)
        .map(|i| req(i, "short", &name(i)))
        .collect();
    // Known misses: the same people asked for the other journey type.
    let known: Vec<_> = (0..n)
        .filter(|i| i % 3 != 0)
        .take(1024)
        .map(|i| req(i, "long", &name(i)))
        .collect();
    // Unknown: a name nobody has.
    let unknown: Vec<_> = (0..1024).map(|i| req(i, "short", "Z Z")).collect();
    let mut g = c.benchmark_group("check/simulate");
    for (id, reqs, eligible) in [
        ("hit", &hits, false),
        ("miss_known", &known, true),
        ("miss_unknown", &unknown, true),
    ] {
        let mut k = 0;
        g.bench_function(id, |b| {
            b.iter(|| {
                k = (k + 1) % reqs.len();
                let s = e.simulate(&o, black_box(&reqs[k])).unwrap();
                assert_eq!(s.is_eligible(), eligible);
                s
            })
        });
    }
    g.finish();
}

fn import(c: &mut Criterion) {
    let mut g = c.benchmark_group("import/batch_1000");
    g.throughput(Throughput::Elements(1000));
    g.sample_size(10);
    for (id, durability) in [
        ("buffered", Durability::Buffered),
        ("immediate", Durability::Immediate),
    ] {
        let e = Engine::open(Config::temporary().durability(durability)).unwrap();
        let synth = Synth::new(7);
        let mut next = 0;
        g.bench_function(id, |b| {
            b.iter_batched(
                || {
                    next += 1000;
                    // Phones repeat after MAX_PEOPLE: then another operator imports them.
                    let operator = 1 + u32::try_from((next - 1000) / Synth::MAX_PEOPLE).unwrap();
                    let rows: Vec<_> = synth
                        .people(next - 1000..next)
                        .map(|p| p.import_row())
                        .collect();
                    (
                        Operator::new(operator, "89248032800012".parse().unwrap()),
                        rows,
                    )
                },
                |(op, rows)| {
                    let r = e.import(&op, black_box(&rows)).unwrap();
                    assert_eq!(r.imported, 1000, "{:?}", r.failed_details.first());
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, simulate, import);
criterion_main!(benches);
