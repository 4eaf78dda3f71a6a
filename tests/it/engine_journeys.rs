//! Journeys: create, duplicate, patch, status, patch refused once a claim refers to it.

use cee_eligibility::*;

use crate::common::*;

const P: &str = "+336273488";

#[test]
fn create_duplicate_patch() -> R {
    let (e, _) = engine_at("2024-06-15T12:00:00Z");
    let o = op(1);
    let j = journey("j1", P, "2024-06-01T08:00:00Z", "2024-06-01T09:00:00Z");
    let stored = e.put_journey(&o, &j)?;
    assert_eq!(stored.status, JourneyStatus::Pending);
    assert!(matches!(e.put_journey(&o, &j), Err(Error::Conflict(_))));
    // Another operator has its own namespace.
    e.put_journey(&op(2), &j)?;
    e.set_journey_status(&o, &"j1".parse()?, JourneyStatus::AcquisitionError)?;
    let patch = JourneyPatch {
        distance: Some(Distance::new(12_345)?),
        operator_class: Some(OperatorClass::B),
        ..Default::default()
    };
    let patched = e.patch_journey(&o, &"j1".parse()?, &patch)?;
    assert_eq!(
        (patched.distance, patched.operator_class, patched.status),
        (12_345, OperatorClass::B, JourneyStatus::Pending)
    );
    assert_eq!(
        patched.start_datetime,
        ts("2024-06-01T08:00:00Z"),
        "unpatched fields kept"
    );
    assert!(matches!(
        e.patch_journey(&o, &"nope".parse()?, &patch),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        e.set_journey_status(&o, &"nope".parse()?, JourneyStatus::Ok),
        Err(Error::NotFound { .. })
    ));
    Ok(())
}

#[test]
fn patch_fixes_an_ineligible_journey_but_not_a_claimed_one() -> R {
    let (e, _) = engine_at("2024-06-15T12:00:00Z");
    let o = op(1);
    let mut j = journey("j1", P, "2024-06-01T08:00:00Z", "2024-06-01T09:00:00Z");
    j.operator_class = OperatorClass::B;
    e.put_journey(&o, &j)?;
    let req = short_req("j1", "ABC", "1A", 'a', "2024-06-10T00:00:00Z");
    assert_eq!(
        refusal(e.register(&o, &req)?),
        Refusal::JourneyNotEligible(NotEligible::Class)
    );
    let patch = JourneyPatch {
        operator_class: Some(OperatorClass::C),
        ..Default::default()
    };
    e.patch_journey(&o, &"j1".parse()?, &patch)?;
    registered(e.register(&o, &req)?);
    assert!(matches!(
        e.patch_journey(&o, &"j1".parse()?, &patch),
        Err(Error::Conflict(_))
    ));
    Ok(())
}

// The same behaviour on a PostgreSQL registry (tests/it/pg.rs).
crate::on_postgres!(
    create_duplicate_patch,
    patch_fixes_an_ineligible_journey_but_not_a_claimed_one,
);
