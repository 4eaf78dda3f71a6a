//! SPEC §6 register: order of checks, §9 date rules, journey eligibility, tokens, journal.

use std::time::Duration;

use cee_eligibility::*;

use crate::common::*;

const P: &str = "+336273488";
const NOW: &str = "2024-06-15T12:00:00Z";
const APPLIED: &str = "2024-06-15T11:00:00Z";

fn with_journey(start: &str, end: &str) -> (Engine, cee_eligibility::clock::ManualClock) {
    let (e, c) = engine_at(NOW);
    e.put_journey(&op(1), &journey("j1", P, start, end))
        .unwrap();
    (e, c)
}

/// The J+7 rule of the default policy.
fn seven_days() -> DateRule {
    DateRule::TooRecent {
        delay: Duration::from_secs(7 * 86_400),
    }
}

/// The default policy's operation period, as a long refusal names it.
fn default_period() -> DateRule {
    DateRule::OutsidePeriod {
        start: ts("2023-01-01T00:00:00+01:00"),
        end: ts("2025-01-01T00:00:00+01:00"),
    }
}

#[test]
fn short_delay_rule_edges() -> R {
    // now − 7d = 2024-06-08T12:00:00Z
    let (e, _) = with_journey("2024-06-08T11:00:00Z", "2024-06-08T12:00:01Z");
    let r = refusal(e.register(&op(1), &short_req("j1", "ABC", "123456A", 'a', APPLIED))?);
    assert_eq!(r, Refusal::Date(seven_days()));
    assert_eq!(
        seven_days().to_string(),
        "Date should be before 7 days from now"
    );
    let (e, _) = with_journey("2024-06-08T11:00:00Z", "2024-06-08T11:59:59Z");
    let reg = registered(e.register(&op(1), &short_req("j1", "ABC", "123456A", 'a', APPLIED))?);
    assert_eq!(
        reg.datetime,
        ts("2024-06-08T11:59:59Z"),
        "D is the journey's end"
    );
    assert_eq!(reg.status, Some(JourneyStatus::Pending));
    assert!(reg.journey_id.is_some());
    Ok(())
}

#[test]
fn long_date_rules() -> R {
    let (e, _) = engine_at(NOW);
    let o = op(1);
    let r = refusal(e.register(
        &o,
        &long_req(P, "ABC", "1A", 'a', "2024-06-08T12:00:00Z", APPLIED),
    )?);
    assert_eq!(r, Refusal::Date(seven_days()), "exactly now − 7d");
    let r = refusal(e.register(
        &o,
        &long_req(
            P,
            "ABC",
            "1A",
            'a',
            "2024-06-01T00:00:00Z",
            "2024-06-15T12:00:01Z",
        ),
    )?);
    assert_eq!(r, Refusal::Date(DateRule::ApplicationInFuture));
    let r = refusal(e.register(
        &o,
        &long_req(P, "ABC", "1A", 'a', "2024-06-01T00:00:00Z", NOW),
    )?);
    assert_eq!(
        r,
        Refusal::Date(DateRule::ApplicationInFuture),
        "now itself is not in the past"
    );
    let r = refusal(e.register(
        &o,
        &long_req(P, "ABC", "1A", 'a', "2023-01-01T00:00:00+01:00", APPLIED),
    )?);
    assert_eq!(
        r,
        Refusal::Date(default_period()),
        "start_date is excluded for long"
    );
    let r = refusal(e.register(
        &o,
        &long_req(P, "ABC", "1A", 'a', "2025-01-01T00:00:00+01:00", APPLIED),
    )?);
    assert_eq!(r, Refusal::Date(default_period()));
    registered(e.register(
        &o,
        &long_req(
            P,
            "ABC",
            "1A",
            'a',
            "2023-01-01T00:00:00.001+01:00",
            APPLIED,
        ),
    )?);
    Ok(())
}

#[test]
fn short_period_edges() -> R {
    let (e, _) = engine_at("2023-06-01T00:00:00Z");
    let o = op(1);
    e.put_journey(
        &o,
        &journey(
            "start",
            P,
            "2023-01-01T00:00:00+01:00",
            "2023-01-01T00:30:00+01:00",
        ),
    )?;
    registered(e.register(
        &o,
        &short_req("start", "ABC", "1A", 'a', "2023-05-01T00:00:00Z"),
    )?);
    let (e, _) = engine_at("2025-06-01T00:00:00Z");
    e.put_journey(
        &o,
        &journey(
            "end",
            P,
            "2025-01-01T00:00:00+01:00",
            "2025-01-01T00:30:00+01:00",
        ),
    )?;
    let r = refusal(e.register(
        &o,
        &short_req("end", "ABC", "1A", 'a', "2025-05-01T00:00:00Z"),
    )?);
    assert_eq!(
        r,
        Refusal::JourneyNotEligible(NotEligible::Period {
            start: ts("2023-01-01T00:00:00+01:00"),
            end: ts("2025-01-01T00:00:00+01:00"),
        })
    );
    Ok(())
}

#[test]
fn short_journey_eligibility() -> R {
    let (e, _) = engine_at(NOW);
    let o = op(1);
    let base = journey("x", P, "2024-06-01T08:00:00Z", "2024-06-01T09:00:00Z");
    let cases: Vec<(&str, Journey, Option<NotEligible>)> = vec![
        (
            "d80000",
            Journey {
                distance: Distance::new(80_000)?,
                ..base.clone()
            },
            None,
        ),
        (
            "d80001",
            Journey {
                distance: Distance::new(80_001)?,
                ..base.clone()
            },
            Some(NotEligible::Distance),
        ),
        (
            "classB",
            Journey {
                operator_class: OperatorClass::B,
                ..base.clone()
            },
            Some(NotEligible::Class),
        ),
        (
            "abroad",
            Journey {
                start: point("2024-06-01T08:00:00Z", 50.8503, 4.3517),
                end: point("2024-06-01T09:00:00Z", 52.52, 13.405),
                ..base.clone()
            },
            Some(NotEligible::Abroad),
        ),
        (
            "one_end_in_france",
            Journey {
                end: point("2024-06-01T09:00:00Z", 50.8503, 4.3517),
                ..base.clone()
            },
            None,
        ),
        (
            "geo_codes_decide",
            Journey {
                start: JourneyPoint {
                    geo_code: Some("99131".parse()?),
                    ..base.start.clone()
                },
                end: JourneyPoint {
                    geo_code: Some("99109".parse()?),
                    ..base.end.clone()
                },
                ..base.clone()
            },
            Some(NotEligible::Abroad),
        ),
    ];
    for (i, (name, mut j, expected)) in cases.into_iter().enumerate() {
        j.operator_journey_id = name.parse()?;
        let phone = format!("+3362734{:02}", 10 + i);
        j.driver.phone_trunc = Some(phone.parse()?);
        e.put_journey(&o, &j)?;
        let dl = format!("{i}A");
        let out = e.register(
            &o,
            &short_req(name, "ABC", &dl, char::from(b'a' + i as u8), APPLIED),
        )?;
        match expected {
            None => {
                registered(out);
            }
            Some(why) => assert_eq!(refusal(out), Refusal::JourneyNotEligible(why), "{name}"),
        }
    }
    Ok(())
}

#[test]
fn unknown_or_foreign_journey_is_not_found() -> R {
    let (e, _) = with_journey("2024-06-01T08:00:00Z", "2024-06-01T09:00:00Z");
    let r = refusal(e.register(&op(1), &short_req("nope", "ABC", "1A", 'a', APPLIED))?);
    assert_eq!(r, Refusal::JourneyNotFound);
    let r = refusal(e.register(&op(2), &short_req("j1", "ABC", "1A", 'a', APPLIED))?);
    assert_eq!(r, Refusal::JourneyNotFound, "journeys are per operator");
    Ok(())
}

#[test]
fn journey_without_driver_phone_is_invalid() -> R {
    let (e, _) = engine_at(NOW);
    let mut j = journey("j1", P, "2024-06-01T08:00:00Z", "2024-06-01T09:00:00Z");
    j.driver.phone_trunc = None;
    e.put_journey(&op(1), &j)?;
    let err = e
        .register(&op(1), &short_req("j1", "ABC", "1A", 'a', APPLIED))
        .unwrap_err();
    assert!(
        matches!(&err, Error::Invalid(f) if f.to_string().contains("phone_trunc")),
        "{err}"
    );
    Ok(())
}

#[test]
fn journey_taken_by_another_beneficiary() -> R {
    let (e, _) = with_journey("2024-06-01T08:00:00Z", "2024-06-01T09:00:00Z");
    let o = op(1);
    let first = registered(e.register(&o, &short_req("j1", "ABC", "1A", 'a', APPLIED))?);
    let r = refusal(e.register(&o, &short_req("j1", "XYZ", "2B", 'b', APPLIED))?);
    let Refusal::Conflict(c) = r else {
        panic!("expected conflict, got {r:?}")
    };
    assert_eq!(c.reason, ConflictReason::JourneyTaken);
    assert_eq!(c.uuid, Some(first.uuid));
    assert_eq!(c.journey_id, first.journey_id);
    Ok(())
}

#[test]
fn same_beneficiary_twice_conflicts_with_description() -> R {
    let (e, _) = engine_at(NOW);
    let o = op(1);
    e.put_journey(
        &o,
        &journey("j1", P, "2024-06-01T08:00:00Z", "2024-06-01T09:00:00Z"),
    )?;
    e.put_journey(
        &o,
        &journey("j2", P, "2024-06-02T08:00:00Z", "2024-06-02T09:00:00Z"),
    )?;
    let first = registered(e.register(&o, &short_req("j1", "ABC", "1A", 'a', APPLIED))?);
    // Same driver phone + name, but the first has an identity key: matching is by licence/key.
    let r = refusal(e.register(&o, &short_req("j2", "ABC", "1A", 'f', APPLIED))?);
    let Refusal::Conflict(c) = r else {
        panic!("expected conflict, got {r:?}")
    };
    assert_eq!(c.reason, ConflictReason::AlreadyBenefited);
    assert_eq!(c.uuid, Some(first.uuid));
    assert_eq!(c.datetime, ts("2024-06-01T09:00:00Z"));
    assert_eq!(c.status, Some(JourneyStatus::Pending));
    assert_eq!(c.journey_id, first.journey_id);
    // The journal holds the failure, without identifiers.
    let journal = e.error_journal()?;
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0].kind, JournalKind::Conflict);
    assert_eq!(journal[0].application, Some(first.uuid));
    Ok(())
}

#[test]
fn history_blocks_registration() -> R {
    let (e, _) = engine_at(NOW);
    let o = op(1);
    e.import(&op(7), &[row("long", P, "ABC", "2020-01-01T00:00:00Z")])?;
    let r = refusal(e.register(
        &o,
        &long_req(P, "ABC", "1A", 'a', "2024-06-01T00:00:00Z", APPLIED),
    )?);
    let Refusal::Conflict(c) = r else {
        panic!("expected conflict, got {r:?}")
    };
    assert_eq!((c.datetime, c.uuid), (ts("2020-01-01T00:00:00Z"), None));
    Ok(())
}

#[test]
fn token_signs_the_documented_message() -> R {
    let (e, _) = engine_at(NOW);
    let o = op(1);
    let reg = registered(e.register(
        &o,
        &long_req(
            P,
            "ABC",
            "051227308989",
            'a',
            "2024-06-01T10:00:00+02:00",
            APPLIED,
        ),
    )?);
    let msg = token::message(
        &o.siret,
        JourneyType::Long,
        &"051227308989".parse()?,
        reg.datetime,
    );
    assert_eq!(
        msg,
        format!("{}/long/051227308989/2024-06-01T08:00:00.000Z", o.siret)
    );
    assert!(e.verify(&msg, &reg.token));
    assert!(!e.verify(&msg.replace("long", "short"), &reg.token));
    assert_eq!(e.public_key().algorithm(), "ed25519");
    Ok(())
}

#[test]
fn find_is_scoped_to_the_operator() -> R {
    let (e, clock) = with_journey("2024-06-01T08:00:00Z", "2024-06-01T09:00:00Z");
    let o = op(1);
    let reg = registered(e.register(&o, &short_req("j1", "ABC", "1A", 'a', APPLIED))?);
    e.set_journey_status(&o, &"j1".parse()?, JourneyStatus::Ok)?;
    let found = e.find(&o, &reg.uuid)?;
    assert_eq!(found.datetime, reg.datetime);
    assert_eq!(found.token.as_deref(), Some(reg.token.as_str()));
    assert_eq!(found.status, Some(JourneyStatus::Ok));
    assert!(matches!(
        e.find(&op(2), &reg.uuid),
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        e.find(&o, &ApplicationId::new_random()),
        Err(Error::NotFound { .. })
    ));
    clock.advance(Duration::from_secs(3600));
    e.delete(&o, &reg.uuid)?;
    // The journey is free again and may be patched or registered anew.
    assert_eq!(
        e.journey(&o, &"j1".parse()?)?.and_then(|j| j.application),
        None
    );
    Ok(())
}

// The same behaviour on a PostgreSQL registry (tests/it/pg.rs).
crate::on_postgres!(
    short_delay_rule_edges,
    long_date_rules,
    short_period_edges,
    short_journey_eligibility,
    unknown_or_foreign_journey_is_not_found,
    journey_without_driver_phone_is_invalid,
    journey_taken_by_another_beneficiary,
    same_beneficiary_twice_conflicts_with_description,
    history_blocks_registration,
    token_signs_the_documented_message,
    find_is_scoped_to_the_operator,
);
