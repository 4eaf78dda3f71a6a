//! SPEC §11.1: a custom `Policy` moves the period and delay edges of SPEC §9, at the engine
//! and through the façade; refusals name the period and the delay in force.

use std::time::Duration;

use cee_eligibility::clock::ManualClock;
use cee_eligibility::*;

use crate::common::*;

const P: &str = "+336273488";
/// December 2026: the default period (2023–2024) is over.
const NOW: &str = "2026-12-02T12:00:00Z";
const APPLIED: &str = "2026-12-01T00:00:00Z";

/// The 2026 period (Paris time) with a 3-day delay.
fn policy_2026() -> Policy {
    let mut p = Policy::default();
    p.start_date = ts("2026-01-01T00:00:00+01:00");
    p.end_date = ts("2027-01-01T00:00:00+01:00");
    p.registration_delay = Duration::from_secs(3 * 86_400);
    p
}

fn engine(policy: Policy) -> (Engine, ManualClock) {
    let clock = ManualClock::new(ts(NOW));
    let e = Engine::open(Config::temporary().clock(clock.clone()).policy(policy)).unwrap();
    (e, clock)
}

#[test]
fn the_default_period_is_over_and_says_so() -> R {
    let (e, _) = engine(Policy::default());
    let o = op(1);
    let r = refusal(e.register(
        &o,
        &long_req(P, "ABC", "1A", 'a', "2026-06-01T00:00:00Z", APPLIED),
    )?);
    assert_eq!(
        r.to_string_for_test(),
        "Date should be between the start and end of the operation \
         (2022-12-31T23:00:00.000Z .. 2024-12-31T23:00:00.000Z)"
    );
    e.put_journey(
        &o,
        &journey("j", P, "2026-06-01T08:00:00Z", "2026-06-01T08:30:00Z"),
    )?;
    let r = refusal(e.register(&o, &short_req("j", "ABC", "1A", 'a', APPLIED))?);
    assert_eq!(
        r.to_string_for_test(),
        "journey starts outside the operation period \
         2022-12-31T23:00:00.000Z .. 2024-12-31T23:00:00.000Z"
    );
    Ok(())
}

#[test]
fn short_edges_move_with_the_policy() -> R {
    let (e, _) = engine(policy_2026());
    let o = op(1);
    let period = NotEligible::Period {
        start: ts("2026-01-01T00:00:00+01:00"),
        end: ts("2027-01-01T00:00:00+01:00"),
    };
    let cases = [
        // (id, start, end, expected refusal or None)
        (
            "at-start",
            "2025-12-31T23:00:00Z",
            "2025-12-31T23:30:00Z",
            None,
        ),
        (
            "before-start",
            "2025-12-31T22:59:59.999Z",
            "2025-12-31T23:30:00Z",
            Some(Refusal::JourneyNotEligible(period)),
        ),
        // now − 3 days = 2026-11-29T12:00:00Z
        (
            "delay-passed",
            "2026-11-29T11:00:00Z",
            "2026-11-29T11:59:59Z",
            None,
        ),
        (
            "too-recent",
            "2026-11-29T11:00:00Z",
            "2026-11-29T12:00:01Z",
            Some(Refusal::Date(DateRule::TooRecent {
                delay: Duration::from_secs(3 * 86_400),
            })),
        ),
    ];
    for (i, (id, start, end, expected)) in cases.into_iter().enumerate() {
        e.put_journey(&o, &journey(id, P, start, end))?;
        let ik = char::from(b'a' + u8::try_from(i)?);
        let licence = format!("{i}A");
        let out = e.register(&o, &short_req(id, "ABC", &licence, ik, APPLIED))?;
        match expected {
            None => {
                registered(out);
            }
            Some(r) => assert_eq!(refusal(out), r, "{id}"),
        }
    }
    assert_eq!(
        DateRule::TooRecent {
            delay: Duration::from_secs(3 * 86_400)
        }
        .to_string(),
        "Date should be before 3 days from now"
    );
    // A journey starting at the end date is out: put the clock after it.
    let (e, clock) = engine(policy_2026());
    clock.set(ts("2027-02-01T00:00:00Z"));
    e.put_journey(
        &o,
        &journey("at-end", P, "2026-12-31T23:00:00Z", "2026-12-31T23:30:00Z"),
    )?;
    let r = refusal(e.register(&o, &short_req("at-end", "ABC", "9A", 'f', APPLIED))?);
    assert_eq!(r, Refusal::JourneyNotEligible(period));
    Ok(())
}

#[test]
fn long_edges_move_with_the_policy() -> R {
    let (e, _) = engine(policy_2026());
    let o = op(1);
    let outside = Refusal::Date(DateRule::OutsidePeriod {
        start: ts("2026-01-01T00:00:00+01:00"),
        end: ts("2027-01-01T00:00:00+01:00"),
    });
    let too_recent = Refusal::Date(DateRule::TooRecent {
        delay: Duration::from_secs(3 * 86_400),
    });
    let long = |dl: &str, ik: char, d: &str| long_req(P, "ABC", dl, ik, d, APPLIED);
    assert_eq!(
        refusal(e.register(&o, &long("1A", 'a', "2026-01-01T00:00:00+01:00"))?),
        outside,
        "start_date is excluded for long"
    );
    assert_eq!(
        refusal(e.register(&o, &long("1A", 'a', "2026-11-29T12:00:00Z"))?),
        too_recent,
        "exactly now − 3 days"
    );
    registered(e.register(&o, &long("1A", 'a', "2026-11-29T11:59:59.999Z"))?);
    registered(e.register(&o, &long("2A", 'b', "2026-01-01T00:00:00.001+01:00"))?);
    let (e, clock) = engine(policy_2026());
    clock.set(ts("2027-03-01T00:00:00Z"));
    assert_eq!(
        refusal(e.register(&o, &long("3A", 'c', "2027-01-01T00:00:00+01:00"))?),
        outside,
        "end_date is excluded"
    );
    registered(e.register(&o, &long("3A", 'c', "2026-12-31T23:59:59+01:00"))?);
    Ok(())
}

#[cfg(feature = "api")]
#[test]
fn the_facade_answers_with_the_policy_in_force() -> R {
    use cee_eligibility::api::Api;
    use serde_json::json;

    let (e, _) = engine(policy_2026());
    let api = Api::new(e);
    let o = op(1);
    let body = |dl: &str, d: &str| {
        json!({
            "journey_type": "long", "phone_trunc": P, "last_name_trunc": "ABC",
            "driving_license": dl, "identity_key": "a".repeat(64),
            "datetime": d, "application_timestamp": APPLIED
        })
        .to_string()
    };
    let r = api.handle(
        Some(&o),
        "POST",
        "/v3/policies/cee",
        body("1A", "2026-11-29T12:00:00Z").as_bytes(),
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body.as_ref().map(|b| b["error"]["data"].clone()),
        Some(json!("Date should be before 3 days from now"))
    );
    let r = api.handle(
        Some(&o),
        "POST",
        "/v3/policies/cee",
        body("1A", "2026-06-01T08:00:00+02:00").as_bytes(),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);

    let (e, _) = engine(Policy::default());
    let api = Api::new(e);
    let r = api.handle(
        Some(&o),
        "POST",
        "/v3/policies/cee",
        body("2A", "2026-06-01T08:00:00+02:00").as_bytes(),
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body.as_ref().map(|b| b["error"]["data"].clone()),
        Some(json!(
            "Date should be between the start and end of the operation \
             (2022-12-31T23:00:00.000Z .. 2024-12-31T23:00:00.000Z)"
        ))
    );
    Ok(())
}

/// The text a host shows for a refusal.
trait RefusalText {
    fn to_string_for_test(&self) -> String;
}

impl RefusalText for Refusal {
    fn to_string_for_test(&self) -> String {
        match self {
            Refusal::Date(rule) => rule.to_string(),
            Refusal::JourneyNotEligible(why) => why.to_string(),
            other => format!("{other:?}"),
        }
    }
}
