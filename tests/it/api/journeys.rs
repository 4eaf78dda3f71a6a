//! `POST /journeys` and `PATCH /journeys/{operator_journey_id}`.

use cee_eligibility::{JourneyStatus, OperatorJourneyId};

use super::*;

const START: &str = "2024-05-01T08:00:00Z";

#[test]
fn create_then_duplicate_is_409() {
    let fx = Fx::new();
    let j = journey("j1", START, &person(1));
    let r = fx.call("POST", "/journeys", &j);
    assert_eq!(
        (r.status, r.body),
        (201, Some(json!({"operator_journey_id": "j1"})))
    );
    let r = fx.call("POST", "/v3/journeys", &j);
    assert_eq!(r.status, 409);
    let (code, message, data) = envelope(&r);
    assert_eq!(
        (code, message.as_str(), data.as_str()),
        (-32509, "Conflict", "journey already exists")
    );
    // Journey ids are per operator.
    assert_eq!(fx.call_as(&fx.op2, "POST", "/journeys", &j).status, 201);
}

#[test]
fn nested_field_errors_all_together() {
    let fx = Fx::new();
    let body = json!({
        "zzz": 1,
        "operator_id": 0,
        "operator_trip_id": "trip 1",
        "operator_class": "D",
        "start": {"datetime": START, "lat": "48.8", "lon": 2.35},
        "end": {"datetime": "2024-05-01", "lat": 48.8, "lon": 200, "geo_code": "7500", "foo": 1},
        "distance": 0,
        "incentives": [{"index": 20, "amount": -1, "siret": "x"}, 3, {"index": 2.5, "amount": "1", "siret": "89248032800012", "x": 0}],
        "incentive_counterparts": [{"target": "driverr", "siret": "1", "amount": 100001}, {"x": 1}],
        "driver": {
            "identity": {"identity_key": "A", "email": "a@b", "phone": "bip", "over_18": "yes",
                         "travel_pass": {"name": "oyster"}, "q": 1},
            "revenue": 1.5,
        },
        "passenger": {
            "identity": {"identity_key": "f".repeat(64), "operator_user_id": ""},
            "contribution": 1_000_001,
            "payments": [{"amount": 5}],
            "seats": 9,
        },
        "licence_plate": 5,
    });
    let expected = [
        "/operator_id: must be an integer between 1 and 2147483647",
        "/operator_journey_id: is required",
        "/operator_trip_id: must be 1 to 256 visible ascii characters",
        "/operator_class: must be one of A, B, C",
        "/start/lat: must be a number, not a string",
        "/end/datetime: must be an rfc 3339 date-time with a time zone offset",
        "/end/lon: must be a number between -180 and 180",
        "/end/geo_code: must be a 5-character insee code",
        "/end/foo: must not be present",
        "/distance: must be an integer number of meters between 1 and 1000000",
        "/incentives/0/index: must be an integer between 0 and 19",
        "/incentives/0/amount: must be a number between 0 and 100000",
        "/incentives/0/siret: must be exactly 14 digits",
        "/incentives/1: must be an object, not a number",
        "/incentives/2/index: must be an integer between 0 and 19",
        "/incentives/2/amount: must be a number, not a string",
        "/incentives/2/x: must not be present",
        "/incentive_counterparts/0/target: must be either passenger or driver",
        "/incentive_counterparts/0/siret: must be exactly 14 digits",
        "/incentive_counterparts/0/amount: must be a number between 0 and 100000",
        "/incentive_counterparts/1/target: is required",
        "/incentive_counterparts/1/siret: is required",
        "/incentive_counterparts/1/amount: is required",
        "/incentive_counterparts/1/x: must not be present",
        "/driver/identity/identity_key: must be 64 lowercase hexadecimal characters",
        "/driver/identity/operator_user_id: is required",
        "/driver/identity/email: must be a valid email address",
        "/driver/identity/phone: must be a valid phone number",
        "/driver/identity/over_18: must be true, false or null",
        "/driver/identity/travel_pass/name: must be navigo",
        "/driver/identity/travel_pass/user_id: is required",
        "/driver/identity/q: must not be present",
        "/driver/revenue: must be an integer between 0 and 1000000",
        "/passenger/identity/operator_user_id: must be a string of 1 to 256 characters",
        "/passenger/contribution: must be an integer between 0 and 1000000",
        "/passenger/payments/0/pass_type: is required (or type)",
        "/passenger/seats: must be an integer between 1 and 8",
        "/licence_plate: must be a string, not a number",
        "/zzz: must not be present",
    ];
    assert_eq!(
        invalid(&fx.call("POST", "/journeys", &body)),
        expected.join(", ")
    );
    let r = fx.call(
        "POST",
        "/journeys",
        &json!({"operator_journey_id": "j", "start": 1, "end": {}}),
    );
    assert_eq!(
        invalid(&r),
        "/operator_trip_id: is required, /operator_class: is required, \
         /start: must be an object, not a number, \
         /end/datetime: is required, /end/lat: is required, /end/lon: is required, \
         /distance: is required, /incentives: is required, /driver: is required, \
         /passenger: is required"
    );
}

#[test]
fn incentives_and_numbers_at_their_limits() {
    let fx = Fx::new();
    let p = person(1);
    let inc =
        |i: Value, amount: Value| json!({"index": i, "amount": amount, "siret": "89248032800012"});
    let cases = [
        (json!([]), None),
        (
            json!((0..20).map(|i| inc(json!(i), json!(1))).collect::<Vec<_>>()),
            None,
        ),
        (
            json!([inc(json!(3.0), json!(100000)), inc(json!(19), json!(0.5))]),
            None,
        ),
        (
            json!((0..21)
                .map(|i| inc(json!(i % 20), json!(1)))
                .collect::<Vec<_>>()),
            Some("/incentives: must have at most 20 items"),
        ),
        (
            json!([inc(json!(-1), json!(1))]),
            Some("/incentives/0/index: must be an integer between 0 and 19"),
        ),
        (
            json!([inc(json!(1e30), json!(1))]),
            Some("/incentives/0/index: must be an integer between 0 and 19"),
        ),
        (
            json!([inc(json!(1), json!(100000.5))]),
            Some("/incentives/0/amount: must be a number between 0 and 100000"),
        ),
        (
            json!({}),
            Some("/incentives: must be an array, not an object"),
        ),
    ];
    for (n, (incentives, err)) in cases.into_iter().enumerate() {
        let mut j = journey(&format!("j{n}"), START, &p);
        j["incentives"] = incentives;
        let r = fx.call("POST", "/journeys", &j);
        match err {
            None => assert_eq!(r.status, 201, "{n}: {:?}", r.body),
            Some(e) => assert_eq!(invalid(&r), e, "{n}"),
        }
    }
    let lats = [
        (json!(90), true),
        (json!(-90.0), true),
        (json!(90.000001), false),
        (json!(1e300), false),
    ];
    for (n, (lat, ok)) in lats.into_iter().enumerate() {
        let mut j = journey(&format!("lat{n}"), START, &p);
        j["start"]["lat"] = lat.clone();
        let r = fx.call("POST", "/journeys", &j);
        if ok {
            assert_eq!(r.status, 201, "{lat}");
        } else {
            assert_eq!(
                invalid(&r),
                "/start/lat: must be a number between -90 and 90",
                "{lat}"
            );
        }
    }
}

#[test]
fn a_full_driver_phone_is_truncated() {
    let fx = Fx::new();
    let p = person(1);
    // An imported row (no identity key) matches by name and truncated phone.
    let row = json!([{"journey_type": "short", "phone_trunc": p.phone_trunc,
                      "last_name_trunc": "ABC", "datetime": "2022-06-01T00:00:00Z"}]);
    assert_eq!(fx.call("POST", "/policies/cee/import", &row).status, 201);
    let mut j = journey("j1", START, &p);
    j["driver"]["identity"] = json!({"identity_key": p.identity_key, "operator_user_id": "d",
                                     "phone": format!("{}12", p.phone_trunc)});
    fx.journey(&j);
    let r = fx.call("POST", "/policies/cee", &short("j1", &p));
    assert_eq!(r.status, 409, "{:?}", r.body);
    assert_eq!(r.body.unwrap()["datetime"], "2022-06-01T00:00:00.000Z");

    // French national form too; phone and phone_trunc together must agree.
    let mut j = journey("j2", START, &p);
    j["driver"]["identity"]["phone"] = json!("06 27 34 11 12");
    assert_eq!(p.phone_trunc, "+336273411");
    fx.journey(&j);
    j["operator_journey_id"] = json!("j3");
    j["driver"]["identity"]["phone"] = json!("06 27 34 89 12");
    let r = fx.call("POST", "/journeys", &j);
    assert_eq!(
        invalid(&r),
        "/driver/identity/phone_trunc: must be the phone number without its last two digits"
    );
}

#[test]
fn patch_replaces_fields_and_resets_the_status() {
    let fx = Fx::new();
    let p = person(1);
    fx.journey(&journey("j1", START, &p));
    let mut patch = journey("j1", START, &p);
    for k in ["operator_journey_id", "driver", "passenger"] {
        patch.as_object_mut().unwrap().remove(k);
    }
    patch["distance"] = json!(90000);
    let r = fx.call("PATCH", "/journeys/j1", &patch);
    assert_eq!(
        (r.status, r.body),
        (200, Some(json!({"operator_journey_id": "j1"})))
    );
    let r = fx.call("POST", "/policies/cee", &short("j1", &p));
    assert_eq!(
        envelope(&r).2,
        "journey is not eligible: journey is too long"
    );

    let id: OperatorJourneyId = "j1".parse().unwrap();
    fx.engine
        .set_journey_status(&fx.op, &id, JourneyStatus::Ok)
        .unwrap();
    let patch = json!({
        "distance": 30000.0,
        "operator_class": "C",
        "operator_trip_id": "t2",
        "incentives": [],
        "start": {"datetime": START, "lat": 48.85, "lon": 2.35},
        "end": {"datetime": "2024-05-01T09:00:00Z", "lat": 48.80, "lon": 2.12, "geo_code": "78646"},
    });
    assert_eq!(fx.call("PATCH", "/v3.3/journeys/j1", &patch).status, 200);
    let b = fx
        .call("POST", "/policies/cee", &short("j1", &p))
        .body
        .unwrap();
    assert_eq!(b["status"], "pending");
    assert_eq!(b["datetime"], "2024-05-01T09:00:00.000Z");

    // Carries an application now: no more patches.
    let r = fx.call("PATCH", "/journeys/j1", &patch);
    assert_eq!(r.status, 409);
    let (code, message, _) = envelope(&r);
    assert_eq!((code, message.as_str()), (-32509, "Conflict"));

    let r = fx.call("PATCH", "/journeys/nope", &patch);
    assert_eq!(
        (r.status, envelope(&r).2.as_str()),
        (404, "journey not found")
    );
    let r = fx.call_as(&fx.op2, "PATCH", "/journeys/j1", &patch);
    assert_eq!(r.status, 404);
    // SPEC §11.3 / seed 002: an empty patch names every required field.
    assert_eq!(
        invalid(&fx.call("PATCH", "/journeys/j1", &json!({}))),
        "/operator_class: is required, /incentives: is required, /start: is required, \
         /end: is required, /distance: is required"
    );
}

#[test]
fn patch_errors_and_encoded_ids() {
    let fx = Fx::new();
    let p = person(1);
    fx.journey(&journey("a/b?c%", START, &p));
    let mut patch = journey("x", START, &p);
    for k in ["operator_journey_id", "driver", "passenger"] {
        patch.as_object_mut().unwrap().remove(k);
    }
    patch["operator_class"] = json!("B");
    let r = fx.call("PATCH", "/journeys/a%2Fb%3Fc%25?x=1", &patch);
    assert_eq!(
        (r.status, r.body),
        (200, Some(json!({"operator_journey_id": "a/b?c%"})))
    );
    let r = fx.call(
        "PATCH",
        "/journeys/a%zz",
        &json!({"distance": "x", "operator_journey_id": "j", "start": {"lat": 1, "lon": 1}}),
    );
    assert_eq!(
        invalid(&r),
        "/operator_journey_id: must be 1 to 256 visible ascii characters, \
         /operator_class: is required, /incentives: is required, \
         /start/datetime: is required, /end: is required, \
         /distance: must be a number, not a string, \
         /operator_journey_id: must not be present"
    );
    let r = fx.call("PATCH", "/journeys/%20", &patch);
    assert_eq!(
        invalid(&r),
        "/operator_journey_id: must be 1 to 256 visible ascii characters"
    );
    let r = fx.call(
        "PATCH",
        &format!("/journeys/{}", "x".repeat(257)),
        &json!({}),
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        invalid(&fx.call("PATCH", "/journeys/a", &json!([]))),
        "/: must be an object, not an array"
    );
}
