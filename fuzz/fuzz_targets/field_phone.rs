//! `phone_trunc`: parse never panics, round-trips; `from_full_phone` too.
#![no_main]

use arbitrary::Unstructured;
use cee_eligibility::PhoneTrunc;
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    common::round_trip::<PhoneTrunc>(&s);
    if let Ok(p) = PhoneTrunc::from_full_phone(&s) {
        common::check_value(&p);
    }
    common::arbitrary_round_trip::<PhoneTrunc>(&mut Unstructured::new(data));
});
