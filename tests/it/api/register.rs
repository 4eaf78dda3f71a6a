//! `POST /policies/cee`: success, tokens, SPEC §9 date rules and eligibility, conflicts.

use cee_eligibility::{token, DateRule, JourneyType};

use super::*;

const REGISTER: &str = "/policies/cee";
const TOO_RECENT: &str = "Date should be before 7 days from now";

/// Registers and returns the response body, asserting `status`.
#[track_caller]
fn register(fx: &Fx, op: &Operator, body: &Value, status: u16) -> Value {
    let r = fx.call_as(op, "POST", REGISTER, body);
    assert_eq!(r.status, status, "{:?}", r.body);
    r.body.unwrap_or(Value::Null)
}

#[test]
fn short_happy_path_with_a_verifiable_token() {
    let fx = Fx::new();
    let p = person(1);
    fx.journey(&journey("j1", "2024-05-01T08:00:00+02:00", &p));
    let b = register(&fx, &fx.op, &short("j1", &p), 201);
    assert_eq!(
        keys(&b),
        ["datetime", "journey_id", "status", "token", "uuid"]
    );
    assert_eq!(b["datetime"], "2024-05-01T06:30:00.000Z");
    assert_eq!(b["status"], "pending");
    assert!(b["journey_id"].is_u64(), "{b}");
    let uuid: cee_eligibility::ApplicationId = b["uuid"].as_str().unwrap().parse().unwrap();
    assert_eq!(uuid.to_string(), b["uuid"]);
    let dl = p.driving_license.parse().unwrap();
    let msg = token::message(
        &fx.op.siret,
        JourneyType::Short,
        &dl,
        ts("2024-05-01T06:30:00Z"),
    );
    let tok = b["token"].as_str().unwrap();
    assert!(fx.engine.verify(&msg, tok));
    let other = token::message(
        &fx.op2.siret,
        JourneyType::Short,
        &dl,
        ts("2024-05-01T06:30:00Z"),
    );
    assert!(!fx.engine.verify(&other, tok));
}

#[test]
fn long_happy_path_with_a_verifiable_token() {
    let fx = Fx::new();
    let p = person(2);
    let b = register(&fx, &fx.op, &long("2024-03-01T10:00:00+01:00", &p), 201);
    assert_eq!(keys(&b), ["datetime", "token", "uuid"]);
    assert_eq!(b["datetime"], "2024-03-01T09:00:00.000Z");
    let dl = p.driving_license.parse().unwrap();
    let msg = token::message(
        &fx.op.siret,
        JourneyType::Long,
        &dl,
        ts("2024-03-01T09:00:00Z"),
    );
    assert!(fx.engine.verify(&msg, b["token"].as_str().unwrap()));
}

#[test]
fn date_rules_of_spec_9() {
    let fx = Fx::new();
    let week = 7 * DAY;
    // Short: the journey must end strictly before now − 7 days.
    fx.journey(&journey_ending(
        "late",
        &now_plus(-week - 3600),
        &now_plus(-week + 1),
        &person(1),
    ));
    fx.journey(&journey_ending(
        "ok",
        &now_plus(-week - 3600),
        &now_plus(-week - 1),
        &person(2),
    ));
    assert_eq!(
        invalid(&fx.call("POST", REGISTER, &short("late", &person(1)))),
        TOO_RECENT
    );
    register(&fx, &fx.op, &short("ok", &person(2)), 201);
    // Two seconds later the late journey is old enough.
    fx.clock.advance(std::time::Duration::from_secs(2));
    register(&fx, &fx.op, &short("late", &person(1)), 201);
    fx.clock.set(ts(NOW));

    // Long: the payment date, likewise.
    let r = fx.call("POST", REGISTER, &long(&now_plus(-week), &person(3)));
    assert_eq!(invalid(&r), TOO_RECENT);
    register(&fx, &fx.op, &long(&now_plus(-week - 1), &person(3)), 201);

    // application_timestamp must be in the past.
    for secs in [1, 0] {
        let mut body = long("2024-03-01T00:00:00Z", &person(4));
        body["application_timestamp"] = json!(now_plus(secs));
        let r = fx.call("POST", REGISTER, &body);
        assert_eq!(invalid(&r), DateRule::ApplicationInFuture.to_string());
    }
    let mut body = short("ok", &person(2));
    body["application_timestamp"] = json!(now_plus(1));
    assert_eq!(
        invalid(&fx.call("POST", REGISTER, &body)),
        DateRule::ApplicationInFuture.to_string()
    );

    // Long: strictly inside the operation period.
    for d in [
        "2023-01-01T00:00:00+01:00",
        "2022-12-31T23:00:00Z",
        "2024-12-31T23:00:00Z",
    ] {
        let r = fx.call("POST", REGISTER, &long(d, &person(5)));
        assert_eq!(
            invalid(&r),
            DateRule::OutsidePeriod {
                start: "2023-01-01T00:00:00+01:00".parse().unwrap(),
                end: "2025-01-01T00:00:00+01:00".parse().unwrap(),
            }
            .to_string(),
            "{d}"
        );
    }
    register(
        &fx,
        &fx.op,
        &long("2022-12-31T23:00:00.001Z", &person(5)),
        201,
    );
}

#[test]
fn short_journey_eligibility_is_404() {
    let fx = Fx::new();
    let mut n = 10;
    let mut check = |mutate: &dyn Fn(&mut Value), start: &str, status: u16, why: &str| {
        n += 1;
        let p = person(n);
        let id = format!("j{n}");
        let mut j = journey(&id, start, &p);
        mutate(&mut j);
        fx.journey(&j);
        let r = fx.call("POST", REGISTER, &short(&id, &p));
        assert_eq!(r.status, status, "{why}: {:?}", r.body);
        if status == 404 {
            assert_eq!(envelope(&r).2, format!("journey is not eligible: {why}"));
        }
    };
    let same = |_: &mut Value| {};
    let start_date = "2022-12-31T23:00:00Z";
    check(&same, start_date, 201, "starts exactly at start_date");
    check(
        &same,
        "2024-12-31T23:00:00Z",
        404,
        "journey starts outside the operation period \
         2022-12-31T23:00:00.000Z .. 2024-12-31T23:00:00.000Z",
    );
    check(
        &same,
        "2022-12-31T22:59:59.999Z",
        404,
        "journey starts outside the operation period \
         2022-12-31T23:00:00.000Z .. 2024-12-31T23:00:00.000Z",
    );
    check(&|j| j["distance"] = json!(80000), start_date, 201, "80 km");
    check(
        &|j| j["distance"] = json!(80000.0),
        start_date,
        201,
        "80 km as a float",
    );
    check(
        &|j| j["distance"] = json!(80001),
        start_date,
        404,
        "journey is too long",
    );
    check(
        &|j| j["operator_class"] = json!("B"),
        start_date,
        404,
        "operator class is not eligible",
    );
    check(
        &|j| j["operator_class"] = json!("A"),
        start_date,
        404,
        "operator class is not eligible",
    );
    let abroad = |j: &mut Value| {
        j["start"]["lat"] = json!(52.52); // Berlin
        j["start"]["lon"] = json!(13.405);
        j["end"]["lat"] = json!(52.39); // Potsdam
        j["end"]["lon"] = json!(13.065);
        j["end"].as_object_mut().unwrap().remove("geo_code");
    };
    check(
        &abroad,
        start_date,
        404,
        "journey neither starts nor ends in France",
    );
    let coded_abroad = |j: &mut Value| {
        j["start"]["geo_code"] = json!("99109");
        j["end"]["geo_code"] = json!("99109");
    };
    check(
        &coded_abroad,
        start_date,
        404,
        "journey neither starts nor ends in France",
    );
    let one_end_in_france = |j: &mut Value| {
        j["start"]["lat"] = json!(52.52);
        j["start"]["lon"] = json!(13.405);
    };
    check(&one_end_in_france, start_date, 201, "one end in France");
    let reunion = |j: &mut Value| {
        for end in ["start", "end"] {
            let datetime = j[end]["datetime"].clone();
            j[end] = json!({"datetime": datetime, "lat": -20.8821, "lon": 55.4507});
        }
    };
    check(&reunion, start_date, 201, "La Réunion");

    let r = fx.call("POST", REGISTER, &short("nope", &person(50)));
    assert_eq!(r.status, 404);
    assert_eq!(envelope(&r).2, "journey not found");
    // Another operator's journey is not found either.
    fx.journey(&journey("mine", start_date, &person(51)));
    let r = fx.call_as(&fx.op2, "POST", REGISTER, &short("mine", &person(51)));
    assert_eq!(r.status, 404);
}

#[test]
fn conflicts_are_plain_objects() {
    let fx = Fx::new();
    let p = person(1);
    let first = register(&fx, &fx.op, &long("2024-03-01T00:00:00Z", &p), 201);
    let b = register(&fx, &fx.op, &long("2024-04-01T00:00:00Z", &p), 409);
    assert_eq!(
        b,
        json!({"uuid": first["uuid"], "datetime": "2024-03-01T00:00:00.000Z",
               "reason": "already_benefited"})
    );
    let b = register(&fx, &fx.op2, &long("2024-04-01T00:00:00Z", &p), 409);
    assert_eq!(
        b,
        json!({"datetime": "2024-03-01T00:00:00.000Z", "reason": "already_benefited"})
    );

    // Short: the same beneficiary on another journey, and another beneficiary on a taken one.
    let q = person(2);
    fx.journey(&journey("j1", "2024-05-01T08:00:00Z", &q));
    fx.journey(&journey("j2", "2024-05-02T08:00:00Z", &q));
    let s = register(&fx, &fx.op, &short("j1", &q), 201);
    let mut expected = json!({"uuid": s["uuid"], "datetime": "2024-05-01T08:30:00.000Z",
                          "journey_id": s["journey_id"], "status": "pending",
                          "reason": "already_benefited"});
    assert_eq!(register(&fx, &fx.op, &short("j2", &q), 409), expected);
    // SPEC §11.3: a journey taken by another beneficiary says so.
    expected["reason"] = json!("journey_taken");
    assert_eq!(
        register(&fx, &fx.op, &short("j1", &person(3)), 409),
        expected
    );
    let j = journey("j1", "2024-05-03T08:00:00Z", &q);
    assert_eq!(fx.call_as(&fx.op2, "POST", "/journeys", &j).status, 201);
    let b = register(&fx, &fx.op2, &short("j1", &q), 409);
    assert_eq!(
        b,
        json!({"datetime": "2024-05-01T08:30:00.000Z", "reason": "already_benefited"})
    );
}

#[test]
fn fields_are_checked_for_the_journey_type() {
    let fx = Fx::new();
    let p = person(1);
    let mut body = short("j1", &p);
    body["phone_trunc"] = json!(p.phone_trunc);
    body["datetime"] = json!("2024-03-01T00:00:00Z");
    assert_eq!(
        invalid(&fx.call("POST", REGISTER, &body)),
        "/phone_trunc: must not be present for a short journey, \
         /datetime: must not be present for a short journey"
    );
    let mut body = long("2024-03-01T00:00:00Z", &p);
    body.as_object_mut().unwrap().remove("datetime");
    body["operator_journey_id"] = json!("j1");
    assert_eq!(
        invalid(&fx.call("POST", REGISTER, &body)),
        "/datetime: is required, /operator_journey_id: must not be present for a long journey"
    );
    let mut body = short("has space", &p);
    body["identity_key"] = json!("A".repeat(64));
    body["application_timestamp"] = json!("2024-03-01T00:00:00");
    body["extra"] = json!({});
    assert_eq!(
        invalid(&fx.call("POST", REGISTER, &body)),
        "/application_timestamp: must be an rfc 3339 date-time with a time zone offset, \
         /identity_key: must be 64 lowercase hexadecimal characters, \
         /operator_journey_id: must be 1 to 256 visible ascii characters, \
         /extra: must not be present"
    );
    assert_eq!(
        invalid(&fx.call("POST", REGISTER, &json!({}))),
        "/application_timestamp: is required, /journey_type: is required, \
         /driving_license: is required, /last_name_trunc: is required, /identity_key: is required"
    );
    // An unknown type: the type-specific fields present are still checked, none required.
    let mut body = long("2024-03-01T00:00:00Z", &p);
    body["journey_type"] = json!("medium");
    body["phone_trunc"] = json!("bip");
    let data = invalid(&fx.call("POST", REGISTER, &body));
    assert!(
        data.starts_with("/journey_type: must be either short or long, /phone_trunc: "),
        "{data}"
    );
    assert_eq!(data.split(", /").count(), 2, "{data}");
}

// The same behaviour on a PostgreSQL registry (tests/it/pg.rs).
crate::on_postgres!(
    short_happy_path_with_a_verifiable_token,
    long_happy_path_with_a_verifiable_token,
    date_rules_of_spec_9,
    short_journey_eligibility_is_404,
    conflicts_are_plain_objects,
    fields_are_checked_for_the_journey_type,
);
