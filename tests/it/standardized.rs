//! Past standardized applications (SPEC §11.2): `Engine::import_standardized`.

use cee_eligibility::*;

use crate::common::*;

const NOW: &str = "2026-12-01T12:00:00Z";
const P: &str = "+336273488";
const OTHER_PHONE: &str = "+336500001";
const UUID_V4: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";
/// A uuid of the UUIDv7 shape, like the engine's imported rows (kept all the same).
const UUID_V7: &str = "0188bb9a-3c00-7abc-8def-0123456789ab";

pub fn std_row(jt: &str, datetime: &str, license: &str) -> StandardizedRow {
    StandardizedRow {
        journey_type: jt.into(),
        datetime: datetime.into(),
        last_name_trunc: "ABC".into(),
        phone_trunc: P.into(),
        driving_license: license.into(),
        ..StandardizedRow::default()
    }
}

fn by_license(jt: &str, license: &str) -> SimulateRequest {
    let mut q = sim(jt, OTHER_PHONE, "XYZ");
    q.driving_license = Some(license.parse().unwrap());
    q
}

/// B's past application blocks A's candidates for exactly the standardized window, short (5
/// years) and long (12 years), by licence, by name and phone, and by identity key.
#[test]
fn past_applications_block_other_operators_for_exactly_the_standardized_windows() -> R {
    for (jt, years) in [("short", 5), ("long", 12)] {
        let (e, clock) = engine_at(NOW);
        let (a, b) = (op(1), op(2));
        let mut keyed = std_row(jt, "2023-06-01T10:00:00+02:00", "KEYLIC1234");
        keyed.phone_trunc = "+336111111".into();
        keyed.identity_key = Some("a".repeat(64));
        let rep = e.import_standardized(
            &b,
            &[std_row(jt, "2023-06-01T10:00:00+02:00", "LIC1234"), keyed],
        )?;
        assert_eq!((rep.imported, rep.failed), (2, 0), "{jt}: {rep:?}");
        let edge = format!("{}-06-01T08:00:00Z", 2023 + years);
        let by_key = {
            let mut q = sim(jt, "+336222222", "QQQ");
            q.identity_key = Some(key('a'));
            q
        };
        let keyed_by_name = sim(jt, "+336111111", "ABC");
        // Exactly D − window: blocks; the conflict shows another operator's date only.
        clock.set(ts(&edge));
        for q in [by_license(jt, "LIC1234"), sim(jt, P, "ABC"), by_key.clone()] {
            let c = blocked(e.simulate(&a, &q)?);
            assert_eq!(c.datetime, ts("2023-06-01T08:00:00Z"), "{jt}");
            assert_eq!((c.uuid, c.journey_id, c.status), (None, None, None), "{jt}");
        }
        // With an identity key, the application no longer matches by name and phone.
        assert!(e.simulate(&a, &keyed_by_name)?.is_eligible(), "{jt}");
        // The other journey type never interacts.
        let other = if jt == "short" { "long" } else { "short" };
        assert!(e.simulate(&a, &by_license(other, "LIC1234"))?.is_eligible());
        // One millisecond later: the window is over.
        clock.advance(std::time::Duration::from_millis(1));
        for q in [by_license(jt, "LIC1234"), sim(jt, P, "ABC"), by_key] {
            assert!(e.simulate(&a, &q)?.is_eligible(), "{jt} after the window");
        }
    }
    Ok(())
}

/// A long registration by A is refused while B's past application is in its window (the
/// window counts from the payment date D, and has no upper bound).
#[test]
fn a_registration_is_refused_by_a_past_application() -> R {
    let (e, _) = engine_at("2024-12-20T00:00:00Z");
    let (a, b) = (op(1), op(2));
    e.import_standardized(&b, &[std_row("long", "2024-11-01T00:00:00Z", "LIC1234")])?;
    let req = long_req(
        OTHER_PHONE,
        "XYZ",
        "LIC1234",
        'b',
        "2024-06-01T00:00:00Z",
        "2024-06-02T00:00:00Z",
    );
    match refusal(e.register(&a, &req)?) {
        Refusal::Conflict(c) => {
            assert_eq!(c.datetime, ts("2024-11-01T00:00:00Z"));
            assert_eq!(c.uuid, None);
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    Ok(())
}

/// B finds and deletes its past applications by their old uuids (v4 and v7 shaped) and gets
/// their tokens back; A may not; once deleted they block no one.
#[test]
fn find_and_delete_by_the_kept_uuid() -> R {
    let (e, _) = engine_at(NOW);
    let (a, b) = (op(1), op(2));
    let mut v4 = std_row("short", "2024-03-01T00:00:00Z", "LIC1234");
    v4.uuid = Some(UUID_V4.to_uppercase());
    v4.token = Some("dG9rZW4gb2YgdGhlIG9sZCByZWdpc3RyeQ==".into());
    v4.operator_journey_id = Some("old-journey-1".into());
    v4.application_timestamp = Some("2024-02-28T00:00:00+01:00".into());
    let mut v7 = std_row("long", "2024-04-01T00:00:00Z", "LIC5678");
    v7.uuid = Some(UUID_V7.into());
    let rep = e.import_standardized(&b, &[v4, v7])?;
    assert_eq!(rep.imported, 2, "{rep:?}");

    let u4: ApplicationId = UUID_V4.parse()?;
    let found = e.find(&b, &u4)?;
    assert!(!found.specific);
    assert_eq!(found.journey_type, JourneyType::Short);
    assert_eq!(found.datetime, ts("2024-03-01T00:00:00Z"));
    assert_eq!(
        found.token.as_deref(),
        Some("dG9rZW4gb2YgdGhlIG9sZCByZWdpc3RyeQ==")
    );
    // Its journey is at the old registry: no journey record here.
    assert_eq!((found.journey_id, found.status), (None, None));
    // B's own conflict names it.
    let c = blocked(e.simulate(&b, &by_license("short", "LIC1234"))?);
    assert_eq!(c.uuid, Some(u4));
    assert!(matches!(e.find(&a, &u4), Err(Error::Forbidden { .. })));
    assert!(matches!(e.delete(&a, &u4), Err(Error::NotFound { .. })));

    let u7: ApplicationId = UUID_V7.parse()?;
    assert_eq!(e.find(&b, &u7)?.token, None);
    assert_eq!(
        blocked(e.simulate(&b, &by_license("long", "LIC5678"))?).uuid,
        Some(u7)
    );
    for u in [u4, u7] {
        e.delete(&b, &u)?;
        assert!(matches!(e.find(&b, &u), Err(Error::NotFound { .. })));
        assert!(matches!(e.delete(&b, &u), Err(Error::NotFound { .. })));
    }
    assert!(e
        .simulate(&a, &by_license("short", "LIC1234"))?
        .is_eligible());
    assert!(e
        .simulate(&a, &by_license("long", "LIC5678"))?
        .is_eligible());
    let s = e.stats()?;
    assert_eq!((s.standardized, s.deleted), ((0, 0), 2));
    Ok(())
}

/// `Conflict`: a uuid that names any application (registered, imported specific row, deleted,
/// earlier in the call), or the caller's application of that type with the same licence and
/// datetime (stored or earlier in the call). Another operator, type or date is no conflict.
#[test]
fn conflicts() -> R {
    let (e, _) = engine_at("2024-12-20T00:00:00Z");
    let (a, b) = (op(1), op(2));
    let reg = registered(e.register(
        &b,
        &long_req(
            OTHER_PHONE,
            "XYZ",
            "REGLIC1",
            'c',
            "2024-06-01T00:00:00Z",
            "2024-06-02T00:00:00Z",
        ),
    )?);
    e.import(
        &b,
        &[row("long", "+336555555", "SPE", "2022-01-01T00:00:00Z")],
    )?;
    let specific = blocked(e.simulate(&b, &sim("long", "+336555555", "SPE"))?)
        .uuid
        .unwrap();
    let mut deleted = std_row("long", "2023-05-05T00:00:00Z", "DELLIC1");
    deleted.uuid = Some("6a1b1d5e-6f3c-4c1e-9a8b-2b7c3d4e5f60".into());
    e.import_standardized(&a, &[deleted.clone()])?;
    e.delete(&a, &"6a1b1d5e-6f3c-4c1e-9a8b-2b7c3d4e5f60".parse()?)?;

    let with_uuid = |u: String, dl: &str| {
        let mut r = std_row("long", "2023-01-01T00:00:00Z", dl);
        r.uuid = Some(u);
        r
    };
    let rows = [
        with_uuid(reg.uuid.to_string(), "L0"),          // 0 registered
        with_uuid(specific.to_string(), "L1"),          // 1 imported row
        with_uuid(deleted.uuid.clone().unwrap(), "L2"), // 2 deleted
        with_uuid(UUID_V4.into(), "L3"),                // 3 ok
        with_uuid(UUID_V4.into(), "L4"),                // 4 same call
        std_row("long", "2024-06-01T00:00:00Z", "REGLIC1"), // 5 = registration
        std_row("long", "2024-06-01T02:00:00+02:00", "REGLIC1"), // 6 same instant
        std_row("short", "2024-06-01T00:00:00Z", "REGLIC1"), // 7 ok: other type
        std_row("long", "2024-06-01T00:00:00.001Z", "REGLIC1"), // 8 ok: other date
        std_row("long", "2021-01-01T00:00:00Z", "DUP"), // 9 ok
        std_row("long", "2021-01-01T00:00:00Z", "DUP"), // 10 same call
    ];
    let rep = e.import_standardized(&b, &rows)?;
    let failed: Vec<(usize, &str)> = rep
        .failed_details
        .iter()
        .map(|f| (f.index, f.error.as_str()))
        .collect();
    assert_eq!(
        failed,
        [0, 1, 2, 4, 5, 6, 10].map(|i| (i, "Conflict")),
        "{rep:?}"
    );
    assert_eq!(rep.imported, 4);
    // The canonical datetime is echoed.
    assert_eq!(
        rep.failed_details[5].row.datetime,
        "2024-06-01T00:00:00.000Z"
    );
    // Another operator with the same licence and date: no conflict.
    let rep = e.import_standardized(&a, &[std_row("long", "2021-01-01T00:00:00Z", "DUP")])?;
    assert_eq!(rep.imported, 1);
    Ok(())
}

/// Every field is validated and named; the valid rows of the call are imported.
#[test]
fn invalid_rows_name_their_fields() -> R {
    let (e, _) = engine_at(NOW);
    let b = op(2);
    let ok = std_row("short", "2024-01-01T00:00:00Z", "LIC1");
    let bad = StandardizedRow {
        journey_type: "medium".into(),
        datetime: "2024-02-30T00:00:00Z".into(),
        last_name_trunc: "abc".into(),
        phone_trunc: "bip".into(),
        driving_license: "".into(),
        identity_key: Some("A".repeat(64)),
        uuid: Some("not-a-uuid".into()),
        application_timestamp: Some("yesterday".into()),
        operator_journey_id: Some("with space".into()),
        token: Some("".into()),
    };
    let mut long_with_journey = std_row("long", "2024-01-01T00:00:00+01:00", "LIC2");
    long_with_journey.operator_journey_id = Some("j1".into());
    let mut nil = std_row("short", "2024-01-01T00:00:00Z", "LIC3");
    nil.uuid = Some("00000000-0000-0000-0000-000000000000".into());
    nil.token = Some("x".repeat(MAX_TOKEN_LEN + 1));
    let rep = e.import_standardized(&b, &[bad, ok, long_with_journey, nil])?;
    assert_eq!((rep.imported, rep.failed), (1, 3));
    let errors: Vec<&str> = rep
        .failed_details
        .iter()
        .map(|f| f.error.as_str())
        .collect();
    for field in [
        "/journey_type:",
        "/datetime:",
        "/last_name_trunc:",
        "/phone_trunc:",
        "/driving_license:",
        "/identity_key:",
        "/uuid:",
        "/application_timestamp:",
        "/operator_journey_id:",
        "/token:",
    ] {
        assert!(errors[0].contains(field), "{field} in {}", errors[0]);
    }
    assert_eq!(
        errors[1],
        "/operator_journey_id: must be absent for a long application"
    );
    // Its datetime is echoed canonical.
    assert_eq!(
        rep.failed_details[1].row.datetime,
        "2023-12-31T23:00:00.000Z"
    );
    assert!(
        errors[2].contains("/uuid: must not be the nil uuid"),
        "{}",
        errors[2]
    );
    assert!(errors[2].contains("/token:"), "{}", errors[2]);
    assert_eq!(rep.failed_details[2].index, 3);
    // No identifier in the report's Debug of a row.
    assert!(!format!("{:?}", rep.failed_details[2].row).contains("LIC3"));
    for n in [0, MAX_IMPORT_ROWS + 1] {
        let rows = vec![std_row("short", "2024-01-01T00:00:00Z", "LIC9"); n];
        assert!(matches!(
            e.import_standardized(&b, &rows),
            Err(Error::Invalid(_))
        ));
    }
    Ok(())
}

/// Imports survive a reopen: records, index entries, kept uuids and tokens.
#[test]
fn past_applications_survive_a_reopen() -> R {
    let dir = tempfile::tempdir()?;
    let open = || {
        Engine::open(
            Config::new(dir.path())
                .secret([9; 32])
                .clock(cee_eligibility::clock::ManualClock::new(ts(NOW))),
        )
    };
    let b = op(2);
    {
        let e = open()?;
        let mut r = std_row("long", "2024-04-01T00:00:00Z", "LIC5678");
        r.uuid = Some(UUID_V7.into());
        r.token = Some("kept".into());
        let mut r2 = std_row("short", "2024-04-01T00:00:00Z", "LIC9999");
        r2.uuid = Some(UUID_V4.into());
        e.import_standardized(&b, &[r, r2])?;
    }
    let e = open()?;
    let u7: ApplicationId = UUID_V7.parse()?;
    assert_eq!(e.find(&b, &u7)?.token.as_deref(), Some("kept"));
    assert_eq!(
        blocked(e.simulate(&op(1), &by_license("long", "LIC5678"))?).datetime,
        ts("2024-04-01T00:00:00Z")
    );
    // A specific import after the reopen takes uuids that never name the kept ones.
    e.import(&b, &[row("short", P, "ABC", "2022-01-01T00:00:00Z")])?;
    let s = e.stats()?;
    assert_eq!((s.standardized, s.specific), ((1, 1), (1, 0)));
    assert_eq!(
        e.find(&b, &UUID_V4.parse()?)?.journey_type,
        JourneyType::Short
    );
    Ok(())
}

/// An identity key attached later to a past application (by its kept uuid): it then matches
/// by key and no longer by name and phone (SPEC §5 rule 2).
#[test]
fn identity_keys_attach_to_past_applications() -> R {
    let (e, _) = engine_at(NOW);
    let (a, b) = (op(1), op(2));
    let mut r = std_row("long", "2024-04-01T00:00:00Z", "LIC5678");
    r.uuid = Some(UUID_V7.into());
    e.import_standardized(&b, &[r])?;
    assert!(!e.simulate(&a, &sim("long", P, "ABC"))?.is_eligible());
    let rep = e.import_identity(
        &b,
        &[IdentityRow::Standardized {
            cee_application_uuid: UUID_V7.into(),
            identity_key: "d".repeat(64),
        }],
    )?;
    assert_eq!(rep.imported, 1, "{rep:?}");
    assert!(e.simulate(&a, &sim("long", P, "ABC"))?.is_eligible());
    let mut q = sim("long", OTHER_PHONE, "XYZ");
    q.identity_key = Some(key('d'));
    assert!(!e.simulate(&a, &q)?.is_eligible());
    assert!(!e
        .simulate(&a, &by_license("long", "LIC5678"))?
        .is_eligible());
    Ok(())
}

// The same behaviour on a PostgreSQL registry (tests/it/pg.rs).
crate::on_postgres!(
    past_applications_block_other_operators_for_exactly_the_standardized_windows,
    a_registration_is_refused_by_a_past_application,
    find_and_delete_by_the_kept_uuid,
    conflicts,
    identity_keys_attach_to_past_applications,
);
