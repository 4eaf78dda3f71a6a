//! Parse cost of each field type (filled in by the foundation work).
#![allow(missing_docs)] // criterion_group! generates an undocumented pub fn
use criterion::{criterion_group, criterion_main, Criterion};

fn fields(c: &mut Criterion) {
    c.bench_function("fields/phone_trunc/e164", |b| {
        b.iter(|| std::hint::black_box("+336273488").parse::<cee_eligibility::PhoneTrunc>())
    });
}

criterion_group!(benches, fields);
criterion_main!(benches);
