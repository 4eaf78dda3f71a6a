//! `driving_license`: parse never panics, never rewrites, round-trips.
#![no_main]

use arbitrary::Unstructured;
use cee_eligibility::DrivingLicense;
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    common::round_trip::<DrivingLicense>(&s);
    if let Ok(l) = s.parse::<DrivingLicense>() {
        assert_eq!(l.as_str(), &*s, "a licence is never rewritten");
        assert!(s.chars().count() <= 64);
    }
    common::arbitrary_round_trip::<DrivingLicense>(&mut Unstructured::new(data));
});
