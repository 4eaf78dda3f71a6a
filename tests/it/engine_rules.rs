//! SPEC §5 matching rule and the §9 window edges, through import / register / simulate.

use std::time::Duration;

use cee_eligibility::*;

use crate::common::*;

const P: &str = "+336273488";

#[test]
fn specific_short_window_edges() -> R {
    let (e, clock) = engine_at("2022-12-31T23:00:00Z");
    let o = op(1);
    let r = e.import(&o, &[row("short", P, "ABC", "2019-12-31T23:00:00Z")])?;
    assert_eq!((r.imported, r.failed), (1, 0));
    // Dated exactly at the `after` bound and at D − 3y: blocks.
    assert!(!e.simulate(&o, &sim("short", P, "ABC"))?.is_eligible());
    // One millisecond later, D − 3y is past it.
    clock.advance(Duration::from_millis(1));
    assert!(e.simulate(&o, &sim("short", P, "ABC"))?.is_eligible());
    Ok(())
}

#[test]
fn specific_short_before_after_bound_never_blocks() -> R {
    let (e, clock) = engine_at("2020-06-01T00:00:00Z");
    let o = op(1);
    e.import(&o, &[row("short", P, "ABC", "2019-12-31T22:59:59Z")])?;
    assert!(e.simulate(&o, &sim("short", P, "ABC"))?.is_eligible());
    clock.set(ts("2019-01-01T00:00:00Z"));
    assert!(e.simulate(&o, &sim("short", P, "ABC"))?.is_eligible());
    Ok(())
}

#[test]
fn specific_short_three_years() -> R {
    let (e, _) = engine_at("2024-06-02T00:00:00Z");
    let o = op(1);
    e.import(&o, &[row("short", P, "ABC", "2021-06-01T00:00:00Z")])?;
    assert!(e.simulate(&o, &sim("short", P, "ABC"))?.is_eligible());
    Ok(())
}

#[test]
fn specific_long_after_bound_and_window() -> R {
    let (e, clock) = engine_at("2015-06-01T00:00:00Z");
    let o = op(1);
    e.import(&o, &[row("long", P, "ABC", "2014-12-31T22:59:59Z")])?;
    e.import(
        &o,
        &[row("long", "+336273489", "ABC", "2014-12-31T23:00:00Z")],
    )?;
    assert!(e.simulate(&o, &sim("long", P, "ABC"))?.is_eligible());
    assert!(!e
        .simulate(&o, &sim("long", "+336273489", "ABC"))?
        .is_eligible());
    // 10 calendar years later (exactly) still blocks; a second more does not.
    clock.set(ts("2024-12-31T23:00:00Z"));
    assert!(!e
        .simulate(&o, &sim("long", "+336273489", "ABC"))?
        .is_eligible());
    clock.advance(Duration::from_secs(1));
    assert!(e
        .simulate(&o, &sim("long", "+336273489", "ABC"))?
        .is_eligible());
    Ok(())
}

#[test]
fn types_never_interact() -> R {
    let (e, _) = engine_at("2024-06-01T00:00:00Z");
    let o = op(1);
    e.import(&o, &[row("short", P, "ABC", "2023-06-01T00:00:00Z")])?;
    assert!(e.simulate(&o, &sim("long", P, "ABC"))?.is_eligible());
    assert!(!e.simulate(&o, &sim("short", P, "ABC"))?.is_eligible());
    Ok(())
}

#[test]
fn human_phone_forms_match_canonical_rows() -> R {
    let (e, _) = engine_at("2024-06-01T00:00:00Z");
    let o = op(1);
    e.import(
        &o,
        &[row("short", "06 27 34 88", "ABC", "2023-06-01T00:00:00Z")],
    )?;
    assert!(!e
        .simulate(&o, &sim("short", "+33.6.27.34.88", "ABC"))?
        .is_eligible());
    assert!(e.simulate(&o, &sim("short", P, "ABD"))?.is_eligible());
    Ok(())
}

#[test]
fn standardized_long_twelve_years_and_no_upper_bound() -> R {
    let (e, clock) = engine_at("2024-06-15T00:00:00Z");
    let o = op(1);
    standard_long(&e, &o)?;
    clock.set(ts("2035-06-01T00:00:00Z"));
    assert!(!e
        .simulate(&o, &sim("long", P, "ABC").with_license("123456A"))?
        .is_eligible());
    clock.advance(Duration::from_secs(1));
    assert!(e
        .simulate(&o, &sim("long", P, "ABC").with_license("123456A"))?
        .is_eligible());
    // D + 30 days: an application dated after the reference date blocks too.
    clock.set(ts("2023-05-02T00:00:00Z"));
    assert!(!e
        .simulate(&o, &sim("long", P, "ABC").with_license("123456A"))?
        .is_eligible());
    Ok(())
}

#[test]
fn standardized_short_five_years() -> R {
    let (e, clock) = engine_at("2024-06-15T00:00:00Z");
    let o = op(1);
    e.put_journey(
        &o,
        &journey("j1", P, "2024-05-31T23:30:00Z", "2024-06-01T00:00:00Z"),
    )?;
    registered(e.register(
        &o,
        &short_req("j1", "ABC", "123456A", 'a', "2024-06-10T00:00:00Z"),
    )?);
    let q = sim("short", "+336000000", "XYZ").with_license("123456A");
    clock.set(ts("2029-06-01T00:00:00Z"));
    assert!(!e.simulate(&o, &q)?.is_eligible(), "exactly D − 5y blocks");
    clock.advance(Duration::from_secs(1));
    assert!(e.simulate(&o, &q)?.is_eligible(), "D − 5y − 1s does not");
    clock.set(ts("2024-05-02T00:00:00Z"));
    assert!(!e.simulate(&o, &q)?.is_eligible(), "D + 30d blocks");
    Ok(())
}

#[test]
fn identity_key_switches_off_name_and_phone() -> R {
    let (e, _) = engine_at("2024-06-15T00:00:00Z");
    let o = op(1);
    standard_long(&e, &o)?;
    // Same name+phone, other key and licence: E has an identity key, so no match.
    let mut q = sim("long", P, "ABC").with_license("999999B");
    q.identity_key = Some(key('b'));
    assert!(e.simulate(&o, &q)?.is_eligible());
    // Same key, anything else different: matches.
    let mut q = sim("long", "+336000000", "XYZ");
    q.identity_key = Some(key('a'));
    assert!(!e.simulate(&o, &q)?.is_eligible());
    // Same licence: matches.
    assert!(!e
        .simulate(
            &o,
            &sim("long", "+336000000", "XYZ").with_license("123456A")
        )?
        .is_eligible());
    Ok(())
}

#[test]
fn import_identity_switches_an_imported_row() -> R {
    let (e, _) = engine_at("2024-06-15T00:00:00Z");
    let o = op(1);
    e.import(&o, &[row("long", P, "ABC", "2022-01-01T00:00:00Z")])?;
    let id_row = IdentityRow::Specific {
        identity_key: "c".repeat(64),
        phone_trunc: P.into(),
        last_name_trunc: "ABC".into(),
        journey_type: "long".into(),
        datetime: "2022-01-01T01:00:00+01:00".into(),
    };
    let rep = e.import_identity(&o, &[id_row.clone(), id_row.clone()])?;
    assert_eq!(
        (rep.imported, rep.failed),
        (1, 1),
        "the second row finds the key already set"
    );
    assert_eq!(rep.failed_details[0].error, "Not found");
    assert!(e.simulate(&o, &sim("long", P, "ABC"))?.is_eligible());
    let mut q = sim("long", "+336000000", "XYZ");
    q.identity_key = Some(key('c'));
    assert!(!e.simulate(&o, &q)?.is_eligible());
    // Another operator cannot touch it.
    let rep = e.import_identity(&op(2), &[id_row])?;
    assert_eq!(rep.failed, 1);
    Ok(())
}

#[test]
fn import_identity_standardized() -> R {
    let (e, _) = engine_at("2024-06-15T00:00:00Z");
    let o = op(1);
    let reg = standard_long(&e, &o)?;
    // It already has a key: not found.
    let rep = e.import_identity(
        &o,
        &[IdentityRow::Standardized {
            cee_application_uuid: reg.uuid.to_string(),
            identity_key: "d".repeat(64),
        }],
    )?;
    assert_eq!(rep.failed_details[0].error, "Not found");
    let rep = e.import_identity(
        &o,
        &[IdentityRow::Standardized {
            cee_application_uuid: "not-a-uuid".into(),
            identity_key: "D".repeat(64),
        }],
    )?;
    assert!(rep.failed_details[0]
        .error
        .contains("/cee_application_uuid"));
    assert!(rep.failed_details[0].error.contains("/identity_key"));
    Ok(())
}

#[test]
fn cross_operator_block_shows_only_the_date() -> R {
    let (e, _) = engine_at("2024-06-15T00:00:00Z");
    let reg = standard_long(&e, &op(2))?;
    let c = blocked(e.simulate(&op(1), &sim("long", P, "ABC").with_license("123456A"))?);
    assert_eq!(c.datetime, ts("2023-06-01T00:00:00Z"));
    assert_eq!((c.uuid, c.journey_id, c.status), (None, None, None));
    let c = blocked(e.simulate(&op(2), &sim("long", P, "ABC").with_license("123456A"))?);
    assert_eq!(c.uuid, Some(reg.uuid));
    Ok(())
}

#[test]
fn most_recent_blocking_application_is_described() -> R {
    let (e, _) = engine_at("2024-06-15T00:00:00Z");
    let o = op(1);
    e.import(&o, &[row("long", P, "ABC", "2020-01-01T00:00:00Z")])?;
    e.import(&op(2), &[row("long", P, "ABC", "2022-01-01T00:00:00Z")])?;
    e.import(&op(3), &[row("long", P, "ABC", "2021-01-01T00:00:00Z")])?;
    let c = blocked(e.simulate(&o, &sim("long", P, "ABC"))?);
    assert_eq!(c.datetime, ts("2022-01-01T00:00:00Z"));
    assert_eq!(c.uuid, None);
    Ok(())
}

#[test]
fn import_conflicts_within_and_across_batches() -> R {
    let (e, _) = engine_at("2024-06-15T00:00:00Z");
    let o = op(1);
    let r = e.import(
        &o,
        &[
            row("short", P, "ABC", "2022-01-01T00:00:00Z"),
            row("short", "06 27 34 88", "ABC", "2021-01-01T00:00:00Z"),
            row("long", P, "ABC", "2021-01-01T00:00:00Z"),
            row("bip", "bip", "abc", "2021-01-01T00:00:00"),
        ],
    )?;
    assert_eq!((r.imported, r.failed), (2, 2));
    assert_eq!(r.failed_details[0].error, "Conflict");
    let bad = &r.failed_details[1].error;
    for f in [
        "/journey_type",
        "/phone_trunc",
        "/last_name_trunc",
        "/datetime",
    ] {
        assert!(bad.contains(f), "{bad} names {f}");
    }
    let r = e.import(&o, &[row("short", P, "ABC", "2020-01-01T00:00:00+01:00")])?;
    assert_eq!(r.failed_details[0].error, "Conflict");
    assert_eq!(
        r.failed_details[0].row.datetime, "2019-12-31T23:00:00.000Z",
        "datetime canonical"
    );
    // Another operator may import the same person.
    assert_eq!(
        e.import(&op(2), &[row("short", P, "ABC", "2020-01-01T00:00:00Z")])?
            .imported,
        1
    );
    Ok(())
}

#[test]
fn import_batch_size_limits() {
    let (e, _) = engine_at("2024-06-15T00:00:00Z");
    assert!(matches!(e.import(&op(1), &[]), Err(Error::Invalid(_))));
    let many = vec![row("short", P, "ABC", "2022-01-01T00:00:00Z"); 1001];
    assert!(matches!(e.import(&op(1), &many), Err(Error::Invalid(_))));
}

#[test]
fn deleted_applications_stop_blocking() -> R {
    let (e, _) = engine_at("2024-06-15T00:00:00Z");
    let o = op(1);
    let reg = standard_long(&e, &o)?;
    let q = sim("long", "+336000000", "XYZ").with_license("123456A");
    assert!(!e.simulate(&o, &q)?.is_eligible());
    assert!(matches!(
        e.delete(&op(2), &reg.uuid),
        Err(Error::NotFound { .. })
    ));
    e.delete(&o, &reg.uuid)?;
    assert!(e.simulate(&o, &q)?.is_eligible());
    assert!(matches!(
        e.delete(&o, &reg.uuid),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(e.find(&o, &reg.uuid), Err(Error::NotFound { .. })));
    // And the beneficiary can register again.
    registered(e.register(
        &o,
        &long_req(
            P,
            "ABC",
            "123456A",
            'a',
            "2023-07-01T00:00:00Z",
            "2024-06-01T00:00:00Z",
        ),
    )?);
    Ok(())
}

/// Builder sugar for the tests.
trait WithLicense {
    fn with_license(self, dl: &str) -> Self;
}

impl WithLicense for SimulateRequest {
    fn with_license(mut self, dl: &str) -> Self {
        self.driving_license = Some(dl.parse().unwrap());
        self
    }
}

/// Operator `o` registers the reference long application: phone `P`, name `ABC`, licence
/// `123456A`, identity key `a…a`, paid 2023-06-01.
fn standard_long(e: &Engine, o: &Operator) -> Result<Registration, Error> {
    let req = long_req(
        P,
        "ABC",
        "123456A",
        'a',
        "2023-06-01T00:00:00Z",
        "2024-06-01T00:00:00Z",
    );
    Ok(registered(e.register(o, &req)?))
}

// The same behaviour on a PostgreSQL registry (tests/it/pg.rs).
crate::on_postgres!(
    specific_short_window_edges,
    specific_short_before_after_bound_never_blocks,
    specific_short_three_years,
    specific_long_after_bound_and_window,
    types_never_interact,
    human_phone_forms_match_canonical_rows,
    standardized_long_twelve_years_and_no_upper_bound,
    standardized_short_five_years,
    identity_key_switches_off_name_and_phone,
    import_identity_switches_an_imported_row,
    import_identity_standardized,
    cross_operator_block_shows_only_the_date,
    most_recent_blocking_application_is_described,
    import_conflicts_within_and_across_batches,
    import_batch_size_limits,
    deleted_applications_stop_blocking,
);
