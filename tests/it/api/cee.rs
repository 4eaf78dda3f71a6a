//! Simulate, find and delete; closed objects and field errors.

use super::*;

fn sim(p: &Person, jt: &str) -> Value {
    json!({"journey_type": jt, "phone_trunc": p.phone_trunc, "last_name_trunc": p.last_name_trunc})
}

/// Registered applications carry an identity key: name + phone alone no longer match them.
fn sim_key(p: &Person, jt: &str) -> Value {
    let mut v = sim(p, jt);
    v["identity_key"] = json!(p.identity_key);
    v
}

#[test]
fn simulate_eligible_then_blocked_with_uuid_only_for_the_same_operator() {
    let fx = Fx::new();
    let p = person(1);
    let r = fx.call("POST", "/policies/cee/simulate", &sim(&p, "long"));
    assert_eq!((r.status, r.body), (200, None));

    let r = fx.call(
        "POST",
        "/policies/cee",
        &long("2024-03-01T10:00:00+01:00", &p),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let uuid = r.body.unwrap()["uuid"].clone();

    let r = fx.call("POST", "/policies/cee/simulate", &sim(&p, "long"));
    assert_eq!(
        r.status, 200,
        "name and phone do not match a keyed application"
    );
    let r = fx.call("POST", "/policies/cee/simulate", &sim_key(&p, "long"));
    assert_eq!(r.status, 409);
    let b = r.body.unwrap();
    assert_eq!(
        b,
        json!({"uuid": uuid, "datetime": "2024-03-01T09:00:00.000Z"})
    );

    let r = fx.call_as(
        &fx.op2,
        "POST",
        "/policies/cee/simulate",
        &sim_key(&p, "long"),
    );
    assert_eq!(r.status, 409);
    assert_eq!(
        r.body.unwrap(),
        json!({"datetime": "2024-03-01T09:00:00.000Z"})
    );

    // Short and long never interact; the licence alone matches.
    let r = fx.call("POST", "/policies/cee/simulate", &sim_key(&p, "short"));
    assert_eq!(r.status, 200);
    let other = person(2);
    let mut body = sim(&other, "long");
    body["driving_license"] = json!(p.driving_license);
    assert_eq!(fx.call("POST", "/policies/cee/simulate", &body).status, 409);
    body["driving_license"] = json!(other.driving_license);
    body["identity_key"] = json!(p.identity_key);
    assert_eq!(fx.call("POST", "/policies/cee/simulate", &body).status, 409);
    body["identity_key"] = json!(other.identity_key);
    assert_eq!(fx.call("POST", "/policies/cee/simulate", &body).status, 200);
}

#[test]
fn simulate_short_conflict_carries_only_uuid_and_datetime() {
    let fx = Fx::new();
    let p = person(3);
    fx.journey(&journey("j1", "2024-05-01T08:00:00Z", &p));
    let r = fx.call("POST", "/policies/cee", &short("j1", &p));
    assert_eq!(r.status, 201);
    let reg = r.body.unwrap();
    let r = fx.call("POST", "/policies/cee/simulate", &sim_key(&p, "short"));
    assert_eq!(r.status, 409);
    assert_eq!(
        r.body.unwrap(),
        json!({"uuid": reg["uuid"], "datetime": "2024-05-01T08:30:00.000Z"})
    );
}

#[test]
fn the_spec_example_error_and_its_order() {
    let fx = Fx::new();
    let r = fx.call(
        "POST",
        "/policies/cee/simulate",
        &json!({"journey_type": "bip", "phone_trunc": "bip", "last_name_trunc": "ABC"}),
    );
    assert_eq!(
        invalid(&r),
        "/phone_trunc: must be a valid truncated phone number, \
         /journey_type: must be either short or long"
    );
}

#[test]
fn every_field_error_together_in_a_stable_order() {
    let fx = Fx::new();
    let body = json!({
        "zzz": true,
        "journey_type": 1,
        "phone_trunc": "bip",
        "driving_license": "bip",
        "identity_key": 7,
        "aaa": [],
    });
    let expected = "/last_name_trunc: is required, \
        /phone_trunc: must be a valid truncated phone number, \
        /journey_type: must be a string, not a number, \
        /driving_license: must be a valid driving license number, \
        /identity_key: must be a string, not a number, \
        /aaa: must not be present, /zzz: must not be present";
    let data = invalid(&fx.call("POST", "/policies/cee/simulate", &body));
    assert_eq!(data.split(", /").count(), 7, "{data}");
    assert_eq!(data, expected);
    // Stable: the same body in another key order gives the same answer.
    let text = r#"{"aaa": [], "identity_key": 7, "driving_license": "bip", "phone_trunc": "bip", "journey_type": 1, "zzz": true}"#;
    let r = fx.raw(
        Some(&fx.op),
        "POST",
        "/policies/cee/simulate",
        text.as_bytes(),
    );
    assert_eq!(invalid(&r), data);
}

#[test]
fn closed_objects_and_json_types() {
    let fx = Fx::new();
    let p = person(1);
    let mut body = sim(&p, "short");
    body["foo"] = json!("bar");
    let r = fx.call("POST", "/policies/cee/simulate", &body);
    assert_eq!(invalid(&r), "/foo: must not be present");
    body["foo/~"] = json!(1);
    body.as_object_mut().unwrap().remove("foo");
    let r = fx.call("POST", "/policies/cee/simulate", &body);
    assert_eq!(invalid(&r), "/foo~1~0: must not be present");

    for (v, t) in [
        (json!(null), "null"),
        (json!([]), "an array"),
        (json!("x"), "a string"),
    ] {
        let r = fx.call("POST", "/policies/cee/simulate", &v);
        assert_eq!(invalid(&r), format!("/: must be an object, not {t}"));
    }
    let r = fx.call(
        "POST",
        "/policies/cee/simulate",
        &json!({"journey_type": "short", "phone_trunc": 336273488, "last_name_trunc": {"a": 1}}),
    );
    assert_eq!(
        invalid(&r),
        "/last_name_trunc: must be a string, not an object, \
         /phone_trunc: must be a string, not a number"
    );
}

#[test]
fn find_and_delete() {
    let fx = Fx::new();
    let p = person(4);
    fx.journey(&journey("j1", "2024-05-01T08:00:00Z", &p));
    let reg = fx
        .call("POST", "/v3/policies/cee", &short("j1", &p))
        .body
        .unwrap();
    let path = format!("/policies/cee/{}", reg["uuid"].as_str().unwrap());

    let r = fx.call("GET", &path, &Value::Null);
    assert_eq!(r.status, 200);
    let b = r.body.unwrap();
    assert_eq!(
        keys(&b),
        ["datetime", "journey_id", "status", "token", "uuid"]
    );
    for k in ["uuid", "datetime", "journey_id", "status", "token"] {
        assert_eq!(b[k], reg[k], "{k}");
    }
    assert!(b["journey_id"].is_u64());
    assert_eq!(b["status"], "pending");
    // Upper-case uuid and the versioned path find it too.
    let upper = format!(
        "/v3.3{}",
        path.to_uppercase()
            .replace("/POLICIES/CEE", "/policies/cee")
    );
    assert_eq!(fx.call("GET", &upper, &Value::Null).status, 200);

    let r = fx.call_as(&fx.op2, "GET", &path, &Value::Null);
    assert_eq!(r.status, 403);
    let r = fx.call_as(&fx.op2, "DELETE", &path, &Value::Null);
    assert_eq!(r.status, 404);

    let r = fx.call("DELETE", &path, &Value::Null);
    assert_eq!((r.status, r.body), (204, None));
    assert_eq!(fx.call("DELETE", &path, &Value::Null).status, 404);
    assert_eq!(fx.call("GET", &path, &Value::Null).status, 404);
    // Deleted: no longer blocks; the journey can carry a new application.
    assert_eq!(
        fx.call("POST", "/policies/cee/simulate", &sim_key(&p, "short"))
            .status,
        200
    );
    assert_eq!(
        fx.call("POST", "/policies/cee", &short("j1", &p)).status,
        201
    );
}

#[test]
fn find_long_renders_absent_journey_fields_as_null() {
    let fx = Fx::new();
    let reg = fx
        .call(
            "POST",
            "/policies/cee",
            &long("2024-03-01T00:00:00Z", &person(5)),
        )
        .body
        .unwrap();
    let r = fx.call(
        "GET",
        &format!("/policies/cee/{}", reg["uuid"].as_str().unwrap()),
        &Value::Null,
    );
    assert_eq!(r.status, 200);
    let b = r.body.unwrap();
    assert_eq!(b["journey_id"], Value::Null);
    assert_eq!(b["status"], Value::Null);
    assert_eq!(b["token"], reg["token"]);
}

#[test]
fn find_with_a_bad_uuid_is_400_and_delete_is_404() {
    let fx = Fx::new();
    for bad in [
        "not-a-uuid",
        "3fa85f64571745624b3fc2c963f66afa6",
        "3fa85f64-5717-4562-b3fc-2c963f66afa",
        "%zz",
        "%FF%FE",
        "3fa85f64-5717-4562-b3fc-2c963f66afa6%00",
    ] {
        let path = format!("/policies/cee/{bad}");
        let r = fx.call("GET", &path, &Value::Null);
        assert_eq!(invalid(&r), "/uuid: must be a valid uuid", "{bad}");
        assert_eq!(fx.call("DELETE", &path, &Value::Null).status, 404, "{bad}");
    }
    let r = fx.call(
        "GET",
        "/policies/cee/3fa85f64-5717-4562-b3fc-2c963f66afa6",
        &Value::Null,
    );
    assert_eq!(r.status, 404);
}

#[test]
fn null_is_absent() {
    let fx = Fx::new();
    let mut body = sim(&person(1), "long");
    body["driving_license"] = Value::Null;
    body["identity_key"] = Value::Null;
    assert_eq!(fx.call("POST", "/policies/cee/simulate", &body).status, 200);
    body["phone_trunc"] = Value::Null;
    body["nope"] = Value::Null;
    assert_eq!(
        invalid(&fx.call("POST", "/policies/cee/simulate", &body)),
        "/phone_trunc: is required, /nope: must not be present"
    );
    let row = json!({"journey_type": "long", "phone_trunc": null, "last_name_trunc": "ABC",
                     "datetime": "2022-01-01T00:00:00Z"});
    let b = fx
        .call("POST", "/policies/cee/import", &json!([row]))
        .body
        .unwrap();
    assert_eq!(b["failed_details"][0]["error"], "/phone_trunc: is required");
    assert_eq!(b["failed_details"][0]["phone_trunc"], Value::Null);
    let mut j = journey("j1", "2024-05-01T08:00:00Z", &person(1));
    j["start"]["geo_code"] = Value::Null;
    j["driver"]["identity"]["phone"] = Value::Null;
    j["passenger"]["seats"] = Value::Null;
    j["licence_plate"] = Value::Null;
    fx.journey(&j);
    let mut r = short("j1", &person(1));
    r["phone_trunc"] = Value::Null;
    assert_eq!(fx.call("POST", "/policies/cee", &r).status, 201);
}

// The same behaviour on a PostgreSQL registry (tests/it/pg.rs).
crate::on_postgres!(
    simulate_eligible_then_blocked_with_uuid_only_for_the_same_operator,
    simulate_short_conflict_carries_only_uuid_and_datetime,
    the_spec_example_error_and_its_order,
    find_and_delete,
    find_long_renders_absent_journey_fields_as_null,
    find_with_a_bad_uuid_is_400_and_delete_is_404,
);
