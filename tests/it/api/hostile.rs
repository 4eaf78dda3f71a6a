//! Hostile input, field by field: every field of every route, at least 10 invalid forms each
//! (wrong JSON types, lengths, control and non-ASCII characters, huge numbers, NaN-like
//! strings, nested junk) → 400 whose `data` names the field. And huge bodies refused fast.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::Fx;

/// Invalid forms shared by every string field.
fn bad_strings() -> Vec<Value> {
    vec![
        json!(42),
        json!(4.2),
        json!(true),
        json!([]),
        json!({}),
        json!([["nested"], {"junk": [1, 2, {"a": null}]}]),
        json!(""),
        json!(" "),
        json!("\u{0000}"),
        json!("\n\t\r"),
        json!("é"),
        json!("\u{202e}RTL\u{200b}"),
        json!("NaN"),
        json!("Infinity"),
        json!("x".repeat(100_000)),
        json!("9".repeat(400)),
        json!(-1e308),
    ]
}

/// Invalid forms for numeric fields.
fn bad_numbers() -> Vec<Value> {
    vec![
        json!("12"),
        json!("NaN"),
        json!("Infinity"),
        json!(1e300),
        json!(-1e300),
        json!(true),
        json!([]),
        json!({}),
        json!([1]),
        json!(""),
        json!("\u{0000}"),
        json!(u64::MAX),
    ]
}

/// `"NaN"` and `"Infinity"` are fine journey ids (visible ASCII): not invalid forms for them.
fn valid_id_text(v: &Value) -> Option<&str> {
    v.as_str().filter(|s| matches!(*s, "NaN" | "Infinity"))
}

/// Sets `pointer` (e.g. `/start/lat`) of `body` to `v`.
fn with(body: &Value, pointer: &str, v: Value) -> Value {
    let mut b = body.clone();
    *b.pointer_mut(pointer).unwrap() = v;
    b
}

fn assert_names_field(fx: &Fx, method: &str, path: &str, body: &Value, pointer: &str, v: &Value) {
    let r = fx.call(method, path, body);
    let shown = v.to_string().chars().take(40).collect::<String>();
    assert_eq!(r.status, 400, "{path} {pointer} = {shown}: {:?}", r.body);
    let data = r
        .body
        .as_ref()
        .and_then(|b| b["error"]["data"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(
        data.contains(&format!("{pointer}:")),
        "{path} {pointer} = {shown}: data {data:?}"
    );
}

#[test]
fn simulate_fields() {
    let fx = Fx::new();
    let body = json!({"journey_type": "long", "phone_trunc": "+336273488", "last_name_trunc": "ABC",
                      "driving_license": "051227308989", "identity_key": "a".repeat(64)});
    for field in [
        "/journey_type",
        "/phone_trunc",
        "/last_name_trunc",
        "/driving_license",
        "/identity_key",
    ] {
        for v in bad_strings() {
            assert_names_field(
                &fx,
                "POST",
                "/policies/cee/simulate",
                &with(&body, field, v.clone()),
                field,
                &v,
            );
        }
    }
}

#[test]
fn register_fields() {
    let fx = Fx::new();
    let body = json!({"journey_type": "long", "phone_trunc": "+336273488", "last_name_trunc": "ABC",
                      "driving_license": "051227308989", "identity_key": "a".repeat(64),
                      "datetime": "2024-05-01T00:00:00Z", "application_timestamp": "2024-05-20T00:00:00Z"});
    for field in [
        "/datetime",
        "/application_timestamp",
        "/driving_license",
        "/identity_key",
        "/last_name_trunc",
    ] {
        for v in bad_strings() {
            assert_names_field(
                &fx,
                "POST",
                "/policies/cee",
                &with(&body, field, v.clone()),
                field,
                &v,
            );
        }
    }
    let short = json!({"journey_type": "short", "operator_journey_id": "j1", "last_name_trunc": "ABC",
                       "driving_license": "051227308989", "identity_key": "a".repeat(64),
                       "application_timestamp": "2024-05-20T00:00:00Z"});
    for v in bad_strings()
        .into_iter()
        .filter(|v| valid_id_text(v).is_none())
    {
        assert_names_field(
            &fx,
            "POST",
            "/policies/cee",
            &with(&short, "/operator_journey_id", v.clone()),
            "/operator_journey_id",
            &v,
        );
    }
}

fn journey() -> Value {
    json!({
        "operator_journey_id": "j-1", "operator_trip_id": "t-1", "operator_class": "C",
        "start": {"datetime": "2024-05-01T08:00:00Z", "lat": 48.8566, "lon": 2.3522, "geo_code": "75056"},
        "end": {"datetime": "2024-05-01T09:00:00Z", "lat": 48.8049, "lon": 2.1204},
        "distance": 20000,
        "incentives": [{"index": 0, "amount": 100, "siret": "89248032800012"}],
        "incentive_counterparts": [{"target": "driver", "siret": "89248032800012", "amount": 100}],
        "driver": {
            "identity": {"phone": "+33627348812", "identity_key": "a".repeat(64),
                         "operator_user_id": "u1", "email": "jeanne@example.org",
                         "travel_pass": {"name": "navigo", "user_id": "p1"}},
            "revenue": 100
        },
        "passenger": {
            "identity": {"phone_trunc": "+336273489", "identity_key": "b".repeat(64),
                         "operator_user_id": "u2"},
            "contribution": 100, "seats": 1,
            "payments": [{"pass_type": "cash", "amount": 100}]
        }
    })
}

#[test]
fn journey_string_fields() {
    let fx = Fx::new();
    let body = journey();
    for field in [
        "/operator_journey_id",
        "/operator_class",
        "/start/datetime",
        "/start/geo_code",
        "/end/datetime",
        "/incentives/0/siret",
        "/operator_trip_id",
        "/incentive_counterparts/0/target",
        "/incentive_counterparts/0/siret",
        "/driver/identity/phone",
        "/driver/identity/identity_key",
        "/driver/identity/email",
        "/passenger/identity/phone_trunc",
        "/passenger/identity/identity_key",
        "/driver/identity/travel_pass/name",
    ] {
        let id_field = matches!(field, "/operator_journey_id" | "/operator_trip_id");
        let forms: Vec<Value> = bad_strings()
            .into_iter()
            .filter(|v| !id_field || valid_id_text(v).is_none())
            .collect();
        assert!(forms.len() >= 10);
        for v in forms {
            assert_names_field(
                &fx,
                "POST",
                "/journeys",
                &with(&body, field, v.clone()),
                field,
                &v,
            );
        }
    }
}

#[test]
fn journey_number_fields() {
    let fx = Fx::new();
    let body = journey();
    let mut out_of_range = [
        (
            "/start/lat",
            vec![json!(90.000001), json!(-91), json!(1000)],
        ),
        ("/start/lon", vec![json!(180.5), json!(-181)]),
        ("/end/lat", vec![json!(-90.5)]),
        ("/end/lon", vec![json!(200)]),
        ("/distance", vec![json!(-1), json!(1_000_001), json!(42.5)]),
        (
            "/incentives/0/index",
            vec![json!(20), json!(-1), json!(1.5)],
        ),
        ("/incentives/0/amount", vec![json!(-0.01), json!(100_000.5)]),
        (
            "/driver/revenue",
            vec![json!(-1), json!(1_000_001), json!(0.5)],
        ),
        ("/passenger/contribution", vec![json!(-1), json!(1_000_001)]),
        ("/passenger/seats", vec![json!(0), json!(9), json!(1.5)]),
        (
            "/passenger/payments/0/amount",
            vec![json!(-1), json!(100_001)],
        ),
        (
            "/incentive_counterparts/0/amount",
            vec![json!(-1), json!(100_000.01)],
        ),
    ];
    for (field, extra) in out_of_range.iter_mut() {
        let mut forms = bad_numbers();
        forms.append(extra);
        assert!(forms.len() >= 10);
        for v in forms {
            assert_names_field(
                &fx,
                "POST",
                "/journeys",
                &with(&body, field, v.clone()),
                field,
                &v,
            );
        }
    }
    // Patch validates the same way.
    assert_eq!(fx.call("POST", "/journeys", &body).status, 201);
    let mut patch = body.clone();
    for k in ["operator_journey_id", "driver", "passenger"] {
        patch.as_object_mut().unwrap().remove(k);
    }
    for v in bad_numbers() {
        assert_names_field(
            &fx,
            "PATCH",
            "/journeys/j-1",
            &with(&patch, "/distance", v.clone()),
            "/distance",
            &v,
        );
        assert_names_field(
            &fx,
            "PATCH",
            "/journeys/j-1",
            &with(&patch, "/start/lat", v.clone()),
            "/start/lat",
            &v,
        );
    }
}

#[test]
fn uuid_in_path() {
    let fx = Fx::new();
    for bad in [
        "x",
        "1234",
        "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",
        "%00",
        "%FF%FE",
        "..%2F..",
        "{}",
        "-1",
        "00000000-0000-0000-0000-00000000000",
        "00000000_0000_0000_0000_000000000000",
    ] {
        let r = fx.call("GET", &format!("/policies/cee/{bad}"), &Value::Null);
        assert_eq!(r.status, 400, "{bad}: {:?}", r.body);
    }
}

#[test]
fn huge_bodies_are_refused_fast() {
    let fx = Fx::new();
    // 50 MiB of an array that would otherwise parse: refused on its size, without parsing.
    let mut body = Vec::with_capacity(50 << 20);
    body.push(b'[');
    while body.len() < 50 << 20 {
        body.extend_from_slice(br#"{"journey_type":"long"},"#);
    }
    body.push(b'1');
    body.push(b']');
    let t = Instant::now();
    let r = fx.raw(Some(&fx.op), "POST", "/policies/cee/import", &body);
    assert!(matches!(r.status, 400 | 413), "{}", r.status);
    assert!(
        t.elapsed() < Duration::from_millis(200),
        "{:?}",
        t.elapsed()
    );
    // Deep nesting under the limit: a JSON error, quickly, no stack overflow.
    let deep = "[".repeat(1_000_000);
    let t = Instant::now();
    let r = fx.raw(
        Some(&fx.op),
        "POST",
        "/policies/cee/simulate",
        deep.as_bytes(),
    );
    assert_eq!(r.status, 400);
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "{:?}",
        t.elapsed()
    );
}
