//! `datetime`: parse never panics, round-trips, always displays as 24 characters.
#![no_main]

use arbitrary::Unstructured;
use cee_eligibility::Timestamp;
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    common::round_trip::<Timestamp>(&s);
    if let Ok(t) = s.parse::<Timestamp>() {
        assert_eq!(t.to_string().len(), 24);
        assert_eq!(Timestamp::from_chrono(t.to_chrono()), Some(t));
    }
    common::arbitrary_round_trip::<Timestamp>(&mut Unstructured::new(data));
});
