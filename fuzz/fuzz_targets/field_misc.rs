//! Every other field: parse never panics and round-trips; JSON deserialization of the
//! structured ones never panics and validates.
#![no_main]

use arbitrary::Unstructured;
use cee_eligibility::{
    ApplicationId, Distance, GeoCode, IdentityKey, Incentives, JourneyStatus, JourneyType,
    Latitude, Longitude, OperatorClass, OperatorJourneyId, Siret,
};
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    common::round_trip::<JourneyType>(&s);
    common::round_trip::<OperatorClass>(&s);
    common::round_trip::<JourneyStatus>(&s);
    common::round_trip::<OperatorJourneyId>(&s);
    common::round_trip::<IdentityKey>(&s);
    common::round_trip::<Siret>(&s);
    common::round_trip::<ApplicationId>(&s);
    common::round_trip::<GeoCode>(&s);
    common::round_trip::<Distance>(&s);
    common::round_trip::<Latitude>(&s);
    common::round_trip::<Longitude>(&s);

    if let Ok(list) = serde_json::from_slice::<Incentives>(data) {
        assert!(list.as_slice().len() <= Incentives::MAX);
        let json = serde_json::to_string(&list).unwrap_or_default();
        assert!(serde_json::from_str::<Incentives>(&json).is_ok(), "{json}");
    }
    let _ = serde_json::from_slice::<Distance>(data);
    let _ = serde_json::from_slice::<Latitude>(data);

    let mut u = Unstructured::new(data);
    common::arbitrary_round_trip::<JourneyType>(&mut u);
    common::arbitrary_round_trip::<OperatorClass>(&mut u);
    common::arbitrary_round_trip::<JourneyStatus>(&mut u);
    common::arbitrary_round_trip::<OperatorJourneyId>(&mut u);
    common::arbitrary_round_trip::<IdentityKey>(&mut u);
    common::arbitrary_round_trip::<Siret>(&mut u);
    common::arbitrary_round_trip::<ApplicationId>(&mut u);
    common::arbitrary_round_trip::<GeoCode>(&mut u);
    common::arbitrary_round_trip::<Distance>(&mut u);
    common::arbitrary_round_trip::<Latitude>(&mut u);
    common::arbitrary_round_trip::<Longitude>(&mut u);
    if let Ok(list) = <Incentives as arbitrary::Arbitrary>::arbitrary(&mut u) {
        let json = serde_json::to_string(&list).unwrap_or_default();
        assert_eq!(serde_json::from_str::<Incentives>(&json).ok(), Some(list));
    }
});
