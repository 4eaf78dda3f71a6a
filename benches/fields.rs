//! Parse cost of each field type.
//!
//! Ids are `fields/<field>/<case>`. Inputs sit behind `black_box` and every iteration asserts
//! that the parse succeeded, so a broken validator cannot look fast. A 1000-row import parses
//! each of `journey_type`, `phone_trunc`, `last_name_trunc` and `datetime` once per row: the
//! `fields/phone_trunc/*` cases are the ones to watch.
#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented public function"
)]

use std::hint::black_box;
use std::str::FromStr;

use cee_eligibility::{
    ApplicationId, Distance, DrivingLicense, GeoCode, IdentityKey, JourneyType, LastNameTrunc,
    Latitude, OperatorJourneyId, PhoneTrunc, Siret, Timestamp,
};
use criterion::{criterion_group, criterion_main, Criterion};

/// Benchmarks `T::from_str` on `input` under `id`, asserting success every time.
fn parse<T: FromStr>(c: &mut Criterion, id: &str, input: &'static str) {
    c.bench_function(id, |b| {
        b.iter(|| {
            let parsed = black_box(input).parse::<T>();
            assert!(parsed.is_ok(), "{id}");
            parsed
        });
    });
}

fn phone_trunc(c: &mut Criterion) {
    parse::<PhoneTrunc>(c, "fields/phone_trunc/e164", "+336273488");
    parse::<PhoneTrunc>(c, "fields/phone_trunc/national_spaces", "06 27 34 88");
    parse::<PhoneTrunc>(c, "fields/phone_trunc/human_form", "+33 (0)6.27.34.88");
    parse::<PhoneTrunc>(c, "fields/phone_trunc/trunk_zero", "+33 06 27 34 88");
    parse::<PhoneTrunc>(c, "fields/phone_trunc/foreign", "+4479111234");
    parse::<PhoneTrunc>(c, "fields/phone_trunc/italian_fixed", "+39 06 1234 56");
    c.bench_function("fields/phone_trunc/invalid", |b| {
        b.iter(|| {
            let parsed = black_box("+337000001").parse::<PhoneTrunc>();
            assert!(parsed.is_err());
            parsed
        });
    });
}

fn datetime(c: &mut Criterion) {
    parse::<Timestamp>(c, "fields/datetime/zulu", "2023-01-02T00:00:00Z");
    parse::<Timestamp>(c, "fields/datetime/offset", "2023-01-02T00:00:00+01:00");
    parse::<Timestamp>(c, "fields/datetime/nanos", "2023-01-02T00:00:00.123456789Z");
    c.bench_function("fields/datetime/display", |b| {
        let t = Timestamp::from_millis(1_672_700_400_123);
        b.iter(|| {
            let shown = black_box(t).map(|t| t.to_string());
            assert!(shown.is_some());
            shown
        });
    });
}

fn names(c: &mut Criterion) {
    parse::<LastNameTrunc>(c, "fields/last_name_trunc/parse", "D H");
    c.bench_function("fields/last_name_trunc/from_family_name", |b| {
        b.iter(|| {
            let n = LastNameTrunc::from_family_name(black_box("D'Hérûg-de-l'Hérault"));
            assert!(n.is_ok());
            n
        });
    });
    parse::<IdentityKey>(
        c,
        "fields/identity_key/parse",
        "f44ff5364363e53da750d8b7b44fa3176ea36228c5f951a9c1e606c915093d30",
    );
    c.bench_function("fields/identity_key/compute", |b| {
        b.iter(|| {
            let k =
                IdentityKey::compute(black_box("+33701020304"), black_box("D'Hérûg-de-l'Hérault"));
            assert!(k.is_ok());
            k
        });
    });
}

fn licences(c: &mut Criterion) {
    parse::<DrivingLicense>(c, "fields/driving_license/french_12_digits", "051227308989");
    parse::<DrivingLicense>(
        c,
        "fields/driving_license/french_alnum",
        "ABCDEFGHIJKLMNO1234",
    );
    parse::<DrivingLicense>(c, "fields/driving_license/foreign", "99-x b-é");
}

fn misc(c: &mut Criterion) {
    parse::<JourneyType>(c, "fields/journey_type/parse", "short");
    parse::<OperatorJourneyId>(c, "fields/operator_journey_id/parse", "journey-42/a");
    parse::<Siret>(c, "fields/siret/parse", "89248032800012");
    parse::<ApplicationId>(
        c,
        "fields/uuid/parse",
        "9c5a2f1e-0b7d-4e3a-8f6b-1d2c3b4a5e6f",
    );
    parse::<GeoCode>(c, "fields/geo_code/parse", "2A004");
    parse::<Distance>(c, "fields/distance/parse", "80000");
    parse::<Latitude>(c, "fields/lat/parse", "48.8566");
}

criterion_group!(benches, phone_trunc, datetime, names, licences, misc);
criterion_main!(benches);
