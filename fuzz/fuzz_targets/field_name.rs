//! `last_name_trunc`, `from_family_name` and `IdentityKey::compute`: no panic; whatever they
//! produce is valid.
#![no_main]

use arbitrary::Unstructured;
use cee_eligibility::{IdentityKey, LastNameTrunc};
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    common::round_trip::<LastNameTrunc>(&s);
    if let Ok(n) = LastNameTrunc::from_family_name(&s) {
        common::check_value(&n);
    }
    let (phone, name) = s.split_once('|').unwrap_or(("+33701020304", &s));
    if let Ok(key) = IdentityKey::compute(phone, name) {
        common::check_value(&key);
        // A name that folds for the key also yields a truncated name.
        assert!(LastNameTrunc::from_family_name(name).is_ok());
    }
    common::arbitrary_round_trip::<LastNameTrunc>(&mut Unstructured::new(data));
});
