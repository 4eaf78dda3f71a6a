//! `POST /policies/cee/import/standardized` (SPEC §11.2).

use super::*;

const PATH: &str = "/policies/cee/import/standardized";
const KEPT: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

fn past(p: &Person, jt: &str, datetime: &str) -> Value {
    json!({
        "journey_type": jt,
        "datetime": datetime,
        "last_name_trunc": p.last_name_trunc,
        "phone_trunc": p.phone_trunc,
        "driving_license": p.driving_license,
    })
}

fn with(row: &Value, key: &str, v: Value) -> Value {
    let mut r = row.clone();
    r[key] = v;
    r
}

/// B imports a past application with its old uuid and token; it blocks A's driver (409 with
/// the date only); B finds it (token back) and deletes it through the façade.
#[test]
fn import_find_delete_through_the_facade() {
    let fx = Fx::new();
    let p = person(1);
    let row = with(
        &with(
            &past(&p, "short", "2023-10-01T12:00:00+02:00"),
            "uuid",
            json!(KEPT),
        ),
        "token",
        json!("b2xkIHRva2Vu"),
    );
    let row = with(&row, "operator_journey_id", json!("old-42"));
    let row = with(&row, "identity_key", Value::Null);
    let r = fx.call_as(&fx.op2, "POST", &format!("/v3{PATH}"), &json!([row]));
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(
        r.body.unwrap(),
        json!({"imported": 1, "failed": 0, "failed_details": []})
    );
    let q = json!({"journey_type": "short", "phone_trunc": "+336500001", "last_name_trunc": "XYZ",
                   "driving_license": p.driving_license});
    let r = fx.call("POST", "/policies/cee/simulate", &q);
    assert_eq!(r.status, 409);
    assert_eq!(
        r.body.unwrap(),
        json!({"datetime": "2023-10-01T10:00:00.000Z"})
    );
    let found = fx.call_as(
        &fx.op2,
        "GET",
        &format!("/v3.3/policies/cee/{KEPT}"),
        &json!(null),
    );
    assert_eq!(found.status, 200);
    let b = found.body.unwrap();
    assert_eq!(b["uuid"], KEPT);
    assert_eq!(b["token"], "b2xkIHRva2Vu");
    assert_eq!(b["datetime"], "2023-10-01T10:00:00.000Z");
    assert_eq!(b["journey_id"], Value::Null);
    assert_eq!(
        fx.call("GET", &format!("/policies/cee/{KEPT}"), &json!(null))
            .status,
        403
    );
    let del = fx.call_as(
        &fx.op2,
        "DELETE",
        &format!("/policies/cee/{KEPT}"),
        &json!(null),
    );
    assert_eq!(del.status, 204);
    assert_eq!(fx.call("POST", "/policies/cee/simulate", &q).status, 200);
}

/// A bad body is 400 naming what is wrong; no operator 403; another method 405.
#[test]
fn bad_bodies() {
    let fx = Fx::new();
    let p = person(2);
    let row = past(&p, "long", "2024-01-01T00:00:00Z");
    for (body, data) in [
        (json!({}), "/: must be an array of 1 to 1000 objects"),
        (json!([]), "/: must be an array of 1 to 1000 objects"),
        (
            json!(vec![row.clone(); 1001]),
            "/: must be an array of 1 to 1000 objects",
        ),
        (
            json!([row.clone(), "x"]),
            "/1: must be an object, not a string",
        ),
    ] {
        assert_eq!(invalid(&fx.call("POST", PATH, &body)), data);
    }
    assert!(!invalid(&fx.raw(Some(&fx.op), "POST", PATH, b"[{")).is_empty());
    assert_eq!(fx.raw(None, "POST", PATH, b"[]").status, 403);
    assert_eq!(fx.call("GET", PATH, &json!(null)).status, 405);
    assert_eq!(
        fx.call("POST", &format!("{PATH}/x"), &json!([row])).status,
        404
    );
}

/// Failed rows are echoed as sent (datetimes canonical), in order, each error naming its
/// fields; shape problems and the engine's checks and conflicts alike.
#[test]
fn failed_rows_name_their_fields_in_order() {
    let fx = Fx::new();
    let p = person(3);
    let ok = with(
        &past(&p, "long", "2024-01-01T01:00:00+01:00"),
        "uuid",
        json!(KEPT),
    );
    let body = json!([
        ok,
        {"journey_type": "long", "datetime": "2024-01-01T00:00:00Z", "phone_trunc": 336, "extra": 1,
         "application_timestamp": "2023-12-31T01:00:00+01:00"},
        with(&past(&p, "long", "2021-01-01T00:00:00Z"), "uuid", json!(KEPT)),
        past(&p, "long", "2024-01-01T00:00:00Z"),
        with(&past(&p, "long", "2022-01-01T00:00:00Z"), "operator_journey_id", json!("j")),
        with(&past(&p, "short", "2022-01-01T00:00:00Z"), "token", json!(7)),
    ]);
    let r = fx.call("POST", PATH, &body);
    assert_eq!(r.status, 201, "{:?}", r.body);
    let b = r.body.unwrap();
    assert_eq!(
        (b["imported"].clone(), b["failed"].clone()),
        (json!(1), json!(5))
    );
    let d = b["failed_details"].as_array().unwrap();
    assert_eq!(
        d[0],
        json!({"journey_type": "long", "datetime": "2024-01-01T00:00:00.000Z", "phone_trunc": 336,
               "extra": 1, "application_timestamp": "2023-12-31T00:00:00.000Z",
               "error": "/last_name_trunc: is required, /phone_trunc: must be a string, not a number, \
                         /driving_license: is required, /extra: must not be present"})
    );
    assert_eq!(d[1]["error"], "Conflict");
    assert_eq!(d[1]["uuid"], KEPT);
    assert_eq!(d[1]["datetime"], "2021-01-01T00:00:00.000Z");
    assert_eq!(
        d[2]["error"], "Conflict",
        "same licence, type and instant as row 0"
    );
    let d3 = d[3]["error"].as_str().unwrap();
    assert_eq!(
        d3,
        "/operator_journey_id: must be absent for a long application"
    );
    let d4 = d[4]["error"].as_str().unwrap();
    assert_eq!(d4, "/token: must be a string, not a number");
}

/// Hostile values in every field: a failed row naming the field (201), never a 500.
#[test]
fn hostile_values_in_every_field_fail_their_row() {
    let fx = Fx::new();
    let p = person(4);
    let row = with(
        &with(
            &past(&p, "short", "2024-01-01T00:00:00Z"),
            "identity_key",
            json!(p.identity_key),
        ),
        "application_timestamp",
        json!("2023-12-01T00:00:00Z"),
    );
    let bad: Vec<Value> = vec![
        json!(42),
        json!(true),
        json!([]),
        json!({"a": [1, {"b": null}]}),
        json!(""),
        json!(" "),
        json!("\u{0000}"),
        json!("é"),
        json!("\u{202e}RTL\u{200b}"),
        json!("x".repeat(100_000)),
        json!(-1e308),
    ];
    let fields = [
        "journey_type",
        "datetime",
        "last_name_trunc",
        "phone_trunc",
        "driving_license",
        "identity_key",
        "uuid",
        "application_timestamp",
        "operator_journey_id",
        "token",
    ];
    for field in fields {
        let rows: Vec<Value> = bad.iter().map(|v| with(&row, field, v.clone())).collect();
        let r = fx.call("POST", PATH, &json!(rows));
        assert_eq!(r.status, 201, "{field}: {:?}", r.body);
        let b = r.body.unwrap();
        assert_eq!(b["failed"], json!(bad.len()), "{field}: {b}");
        for (i, f) in b["failed_details"].as_array().unwrap().iter().enumerate() {
            let e = f["error"].as_str().unwrap();
            assert!(
                e.contains(&format!("/{field}:")),
                "{field} = {}: {e}",
                bad[i]
            );
        }
    }
    // The row itself is fine.
    let r = fx.call("POST", PATH, &json!([row]));
    assert_eq!(r.body.unwrap()["imported"], 1);
}

/// The fuzz seeds of this route (`fuzz/seeds/api_handle/standardized_*`, readable requests
/// `REQ <operator> <METHOD> <path>\n<body>`) replay without a 500, each twice.
#[test]
fn fuzz_seeds_replay_without_500() {
    let fx = Fx::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/api_handle");
    let mut seeds: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("standardized_"))
        })
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 6, "{}", dir.display());
    let mut statuses = Vec::new();
    for _ in 0..2 {
        for seed in &seeds {
            let data = std::fs::read(seed).unwrap();
            let rest = data.strip_prefix(b"REQ ").expect("readable seed");
            let nl = rest.iter().position(|&b| b == b'\n').expect("head line");
            let head = std::str::from_utf8(&rest[..nl]).unwrap();
            let parts: Vec<&str> = head.splitn(3, ' ').collect();
            let op = match parts[0] {
                "1" => Some(&fx.op),
                "2" => Some(&fx.op2),
                _ => None,
            };
            statuses.push(fx.raw(op, parts[1], parts[2], &rest[nl + 1..]).status);
        }
    }
    for s in [200, 201, 400, 404] {
        assert!(statuses.contains(&s), "no seed answers {s}: {statuses:?}");
    }
}
