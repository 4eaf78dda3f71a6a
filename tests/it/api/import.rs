//! `POST /policies/cee/import` and `/import/identity`.

use cee_eligibility::{LastNameTrunc, PhoneTrunc};

use super::*;

fn phone_msg() -> &'static str {
    "bip".parse::<PhoneTrunc>().unwrap_err().expected()
}

fn name_msg() -> &'static str {
    "abc".parse::<LastNameTrunc>().unwrap_err().expected()
}

fn row(jt: &str, phone: &str, name: &str, datetime: &str) -> Value {
    json!({"journey_type": jt, "phone_trunc": phone, "last_name_trunc": name, "datetime": datetime})
}

#[test]
fn bad_rows_fail_alone_in_row_order_and_conflicts_are_reported() {
    let fx = Fx::new();
    let a = row("short", "+336273488", "ABC", "2022-06-01T00:00:00+02:00");
    let shape = json!({"journey_type": "short", "phone_trunc": 336273488, "last_name_trunc": "ABC",
                       "datetime": "2022-06-01T00:00:00Z", "extra": 1});
    let body = json!([
        a,
        row("short", "bip", "ABC", "2022-06-01T00:00:00+02:00"),
        row("short", "06 27 34 88", "ABC", "2022-06-01T00:00:00+02:00"),
        shape,
        row("", "", "", ""),
        {"journey_type": "long", "phone_trunc": "+336273488", "last_name_trunc": "abc"},
        row("long", "+336273488", "ABC", "2016-01-01T00:00:00Z"),
    ]);
    let r = fx.call("POST", "/policies/cee/import", &body);
    assert_eq!(r.status, 201, "{:?}", r.body);
    let b = r.body.unwrap();
    assert_eq!(keys(&b), ["failed", "failed_details", "imported"]);
    assert_eq!(
        (b["imported"].clone(), b["failed"].clone()),
        (json!(2), json!(5))
    );
    let canonical = "2022-05-31T22:00:00.000Z";
    let empty_errors = [
        "/journey_type: must be either short or long".to_owned(),
        format!("/phone_trunc: {}", phone_msg()),
        format!("/last_name_trunc: {}", name_msg()),
        "/datetime: must be an rfc 3339 date-time with a time zone offset".to_owned(),
    ]
    .join(", ");
    let expected = json!([
        {"journey_type": "short", "phone_trunc": "bip", "last_name_trunc": "ABC",
         "datetime": canonical, "error": format!("/phone_trunc: {}", phone_msg())},
        {"journey_type": "short", "phone_trunc": "06 27 34 88", "last_name_trunc": "ABC",
         "datetime": canonical, "error": "Conflict"},
        {"journey_type": "short", "phone_trunc": 336273488, "last_name_trunc": "ABC",
         "datetime": "2022-06-01T00:00:00.000Z", "extra": 1,
         "error": "/phone_trunc: must be a string, not a number, /extra: must not be present"},
        {"journey_type": "", "phone_trunc": "", "last_name_trunc": "", "datetime": "",
         "error": empty_errors},
        {"journey_type": "long", "phone_trunc": "+336273488", "last_name_trunc": "abc",
         "error": format!("/last_name_trunc: {}, /datetime: is required", name_msg())},
    ]);
    assert_eq!(b["failed_details"], expected);

    // A second call: the earlier rows conflict, imports apply no window.
    let body = json!([a, row("short", "+336273488", "ABD", "2001-01-01T00:00:00Z")]);
    let b = fx
        .call("POST", "/v3/policies/cee/import", &body)
        .body
        .unwrap();
    assert_eq!(
        (b["imported"].clone(), b["failed"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(b["failed_details"][0]["error"], "Conflict");
    assert_eq!(b["failed_details"][0]["datetime"], canonical);

    // The imported rows block (specific short dated ≥ 2020, within 3 years of now).
    let sim =
        json!({"journey_type": "short", "phone_trunc": "+336273488", "last_name_trunc": "ABC"});
    let r = fx.call("POST", "/policies/cee/simulate", &sim);
    assert_eq!(r.status, 409);
    assert_eq!(r.body.unwrap()["datetime"], canonical);
}

#[test]
fn shape_failures_between_placeholder_like_rows_keep_their_order() {
    let fx = Fx::new();
    let body = json!([
        {"journey_type": "short"},
        row("", "", "", ""),
        3, // not an object: the whole call fails
    ]);
    let r = fx.call("POST", "/policies/cee/import", &body);
    assert_eq!(invalid(&r), "/2: must be an object, not a number");

    let body = json!([
        {"journey_type": "short"},
        row("", "", "", ""),
        {"journey_type": 3},
        row("", "", "", ""),
    ]);
    let b = fx.call("POST", "/policies/cee/import", &body).body.unwrap();
    let details = b["failed_details"].as_array().unwrap();
    assert_eq!(details.len(), 4);
    assert_eq!(details[0]["journey_type"], "short");
    assert!(details[0]["error"]
        .as_str()
        .unwrap()
        .contains("/phone_trunc: is required"));
    assert_eq!(details[1]["journey_type"], "");
    assert_eq!(details[2]["journey_type"], 3);
    assert!(details[2]["error"]
        .as_str()
        .unwrap()
        .starts_with("/journey_type: must be a string, not a number, /phone_trunc: is required"));
    assert_eq!(details[3]["journey_type"], "");
}

#[test]
fn the_body_must_be_an_array_of_1_to_1000_objects() {
    let fx = Fx::new();
    let one = row("long", "+336273488", "ABC", "2022-01-01T00:00:00Z");
    for path in ["/policies/cee/import", "/policies/cee/import/identity"] {
        for body in [
            json!([]),
            json!({}),
            json!(null),
            json!("x"),
            json!(vec![one.clone(); 1001]),
        ] {
            assert_eq!(
                invalid(&fx.call("POST", path, &body)),
                "/: must be an array of 1 to 1000 objects",
                "{path}"
            );
        }
        let r = fx.call("POST", path, &json!([1, {}, "x", [], null]));
        assert_eq!(
            invalid(&r),
            "/0: must be an object, not a number, /2: must be an object, not a string, \
             /3: must be an object, not an array, /4: must be an object, not null"
        );
    }
    let rows: Vec<Value> = (0..1000)
        .map(|i| {
            row(
                "long",
                "+336273488",
                &format!(
                    "A{}{}",
                    char::from(b'A' + (i / 26 % 26) as u8),
                    char::from(b'A' + (i % 26) as u8)
                ),
                "2022-01-01T00:00:00Z",
            )
        })
        .collect();
    let r = fx.call("POST", "/policies/cee/import", &json!(rows));
    assert_eq!(r.status, 201);
    let b = r.body.unwrap();
    // 26 × 26 = 676 distinct names: the rest conflict within the batch.
    assert_eq!(
        (b["imported"].clone(), b["failed"].clone()),
        (json!(676), json!(324))
    );
}

#[test]
fn import_identity() {
    let fx = Fx::new();
    let p = person(7);
    let imported = row("long", &p.phone_trunc, "ABC", "2020-01-01T00:00:00+01:00");
    assert_eq!(
        fx.call("POST", "/policies/cee/import", &json!([imported]))
            .status,
        201
    );
    let reg = fx
        .call(
            "POST",
            "/policies/cee",
            &long("2024-03-01T00:00:00Z", &person(8)),
        )
        .body
        .unwrap();
    let key = "b".repeat(64);
    let specific = json!({"cee_application_type": "specific", "identity_key": key,
        "phone_trunc": p.phone_trunc, "last_name_trunc": "ABC", "journey_type": "long",
        "datetime": "2019-12-31T23:00:00Z"});
    let mut wrong_date = specific.clone();
    wrong_date["datetime"] = json!("2020-01-01T00:00:00Z");
    let body = json!([
        specific,
        {"cee_application_type": "standardized", "cee_application_uuid": reg["uuid"], "identity_key": key},
        {"cee_application_type": "other", "identity_key": key, "foo": 1},
        {"cee_application_type": "standardized", "cee_application_uuid": "x", "phone_trunc": "+336273488"},
        wrong_date,
        specific,
    ]);
    let r = fx.call("POST", "/policies/cee/import/identity", &body);
    assert_eq!(r.status, 200, "{:?}", r.body);
    let b = r.body.unwrap();
    assert_eq!(
        (b["imported"].clone(), b["failed"].clone()),
        (json!(1), json!(5))
    );
    let d = b["failed_details"].as_array().unwrap();
    // A registered application already has a key: nothing to attach.
    assert_eq!(d[0]["error"], "Not found");
    assert_eq!(d[0]["cee_application_uuid"], reg["uuid"]);
    assert_eq!(
        d[1]["error"],
        "/cee_application_type: must be either standardized or specific, /foo: must not be present"
    );
    assert_eq!(
        d[2]["error"],
        "/cee_application_uuid: must be a valid uuid, /identity_key: is required, \
         /phone_trunc: must not be present"
    );
    assert_eq!(d[3]["error"], "Not found");
    assert_eq!(d[3]["datetime"], "2020-01-01T00:00:00.000Z");
    assert_eq!(d[4]["error"], "Not found");
    assert_eq!(d[4]["datetime"], "2019-12-31T23:00:00.000Z");

    // Keyed now: no longer matched by name and phone, matched by the key.
    let sim =
        json!({"journey_type": "long", "phone_trunc": p.phone_trunc, "last_name_trunc": "ABC"});
    assert_eq!(fx.call("POST", "/policies/cee/simulate", &sim).status, 200);
    let mut sim = sim;
    sim["identity_key"] = json!(key);
    assert_eq!(fx.call("POST", "/policies/cee/simulate", &sim).status, 409);
}
