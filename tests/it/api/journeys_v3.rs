//! SPEC §11.3: the public registry's v3 journey body, what reaches the disk, the journey
//! status and cancel routes.

use cee_eligibility::{Config, Engine};

use super::*;

const START: &str = "2024-05-01T08:00:00Z";

/// A v3 body as an operator sends it, every optional field present, with distinctive
/// personal data (`tag` makes it unique per journey).
fn full_v3(id: &str, tag: &str) -> Value {
    json!({
        "operator_id": 1,
        "operator_journey_id": id,
        "operator_trip_id": format!("trip-{tag}"),
        "operator_class": "C",
        "start": {"datetime": START, "lat": 48.8566, "lon": 2.3522},
        "end": {"datetime": "2024-05-01T08:30:00Z", "lat": 48.8049, "lon": 2.1204},
        "distance": 20000,
        "licence_plate": format!("PLATE{tag}XY"),
        "incentives": [{"index": 0, "siret": "89248032800012", "amount": 150}],
        "incentive_counterparts": [{"target": "passenger", "siret": "89248032800012", "amount": 50}],
        "driver": {
            "identity": {
                "identity_key": "d".repeat(64),
                "operator_user_id": format!("driveruser{tag}"),
                "firstname": format!("Firstdriver{tag}"),
                "lastname": format!("Lastdriver{tag}"),
                "email": format!("driver.{tag}@example.org"),
                "phone": "+33627348812",
                "company": format!("Company{tag}"),
                "over_18": true,
                "travel_pass": {"name": "navigo", "user_id": format!("passdriver{tag}")}
            },
            "revenue": 350
        },
        "passenger": {
            "identity": {
                "identity_key": "e".repeat(64),
                "operator_user_id": format!("passengeruser{tag}"),
                "firstname": format!("Firstpassenger{tag}"),
                "lastname": format!("Lastpassenger{tag}"),
                "email": format!("passenger.{tag}@example.org"),
                "phone": "+33698765432",
                "over_18": null
            },
            "contribution": 350,
            "seats": 2,
            "payments": [
                {"pass_type": "cash", "amount": 100},
                {"index": 1, "siret": "89248032800012", "type": "payment", "amount": 250}
            ]
        }
    })
}

#[test]
fn an_unmodified_v3_payload_is_accepted() {
    let fx = Fx::new();
    let r = fx.call("POST", "/v3/journeys", &full_v3("v3-1", "a"));
    assert_eq!(
        (r.status, r.body),
        (201, Some(json!({"operator_journey_id": "v3-1"})))
    );
    // The driver's phone reached the engine (truncated): a short registration matches it.
    let row = json!([{"journey_type": "short", "phone_trunc": "+336273488",
                      "last_name_trunc": "ABC", "datetime": "2022-06-01T00:00:00Z"}]);
    assert_eq!(fx.call("POST", "/policies/cee/import", &row).status, 201);
    let p = Person {
        phone_trunc: "+336273488".into(),
        last_name_trunc: "ABC",
        driving_license: "051227301234".into(),
        identity_key: "d".repeat(64),
    };
    let r = fx.call("POST", "/policies/cee", &short("v3-1", &p));
    assert_eq!(r.status, 409, "{:?}", r.body);
    assert_eq!(r.body.unwrap()["reason"], "already_benefited");

    // Minimal: only the required fields.
    let mut j = full_v3("v3-2", "b");
    for k in ["operator_id", "licence_plate", "incentive_counterparts"] {
        j.as_object_mut().unwrap().remove(k);
    }
    j["driver"]["identity"] = json!({"identity_key": "d".repeat(64), "operator_user_id": "u"});
    j["passenger"] = json!({"identity": {"identity_key": "e".repeat(64), "operator_user_id": "v"},
                            "contribution": 0});
    fx.journey(&j);
}

#[test]
fn a_body_of_the_0_1_shape_is_refused_naming_what_is_missing() {
    let fx = Fx::new();
    let old = json!({
        "operator_journey_id": "old", "operator_class": "C",
        "start": {"datetime": START, "lat": 48.85, "lon": 2.35},
        "end": {"datetime": "2024-05-01T08:30:00Z", "lat": 48.80, "lon": 2.12},
        "distance": 20000, "incentives": [],
        "driver": {"phone": "+33627348812"}
    });
    assert_eq!(
        invalid(&fx.call("POST", "/journeys", &old)),
        "/operator_trip_id: is required, /driver/identity: is required, \
         /driver/revenue: is required, /driver/phone: must not be present, \
         /passenger: is required"
    );
}

/// Every file under `dir`, concatenated.
fn all_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.extend(std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn only_what_eligibility_needs_reaches_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let engine = Engine::open(
        Config::new(&path)
            .secret([9; 32])
            .clock(cee_eligibility::clock::ManualClock::new(ts(NOW))),
    )
    .unwrap();
    let api = cee_eligibility::api::Api::new(engine.clone());
    let op = Operator::new(1, "89248032800012".parse().unwrap());
    let tags = ["q7w", "z9k", "m3v"];
    for (i, tag) in tags.iter().enumerate() {
        let body = full_v3(&format!("journeykept{i}"), tag).to_string();
        let r = api.handle(Some(&op), "POST", "/v3/journeys", body.as_bytes());
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    engine.flush().unwrap();
    drop(api);
    drop(engine);
    let bytes = all_bytes(&path);
    // The scan sees what is stored: the journey ids are kept.
    for i in 0..tags.len() {
        assert!(
            contains(&bytes, &format!("journeykept{i}")),
            "journey id {i}"
        );
    }
    for tag in tags {
        for sent in [
            format!("driveruser{tag}"),
            format!("Firstdriver{tag}"),
            format!("Lastdriver{tag}"),
            format!("driver.{tag}@example.org"),
            format!("Company{tag}"),
            format!("passdriver{tag}"),
            format!("passengeruser{tag}"),
            format!("Firstpassenger{tag}"),
            format!("Lastpassenger{tag}"),
            format!("passenger.{tag}@example.org"),
            format!("PLATE{tag}XY"),
        ] {
            assert!(!contains(&bytes, &sent), "{sent} reached the disk");
        }
    }
    for sent in [
        "+33627348812",
        "+336273488",
        "+33698765432",
        "+336987654",
        "dddddddddddddddddddddddddddddddd",
        "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
        "navigo",
        "cash",
    ] {
        assert!(!contains(&bytes, sent), "{sent} reached the disk");
    }
}

#[test]
fn journey_status_is_the_callers_own() {
    let fx = Fx::new();
    fx.journey(&journey("j1", START, &person(1)));
    let r = fx.call("GET", "/v3/journeys/j1", &json!(null));
    assert_eq!(
        (r.status, r.body),
        (
            200,
            Some(json!({"operator_journey_id": "j1", "status": "pending"}))
        )
    );
    let id = "j1".parse().unwrap();
    fx.engine
        .set_journey_status(&fx.op, &id, cee_eligibility::JourneyStatus::FraudError)
        .unwrap();
    let r = fx.call("GET", "/journeys/j1", &json!(null));
    assert_eq!(r.body.unwrap()["status"], "fraud_error");
    for (op, path) in [
        (&fx.op2, "/journeys/j1"),
        (&fx.op, "/journeys/nope"),
        (&fx.op, "/journeys/%20"),
        (&fx.op, "/journeys/%zz"),
    ] {
        let r = fx.call_as(op, "GET", path, &json!(null));
        assert_eq!(
            (r.status, envelope(&r).2.as_str()),
            (404, "journey not found"),
            "{path}"
        );
    }
}

#[test]
fn cancel_a_journey() {
    let fx = Fx::new();
    let p = person(1);
    fx.journey(&journey("j1", START, &p));
    let canceled = Some(json!({"operator_journey_id": "j1", "status": "canceled"}));
    let r = fx.raw(Some(&fx.op), "POST", "/v3/journeys/j1/cancel", b"");
    assert_eq!((r.status, r.body), (200, canceled.clone()));
    let r = fx.call("GET", "/journeys/j1", &json!(null));
    assert_eq!(r.body.unwrap()["status"], "canceled");
    // Again, with a body: same answer.
    let body = json!({"code": "DRIVER_LEFT-1", "message": "le conducteur est parti"});
    let r = fx.call("POST", "/journeys/j1/cancel", &body);
    assert_eq!((r.status, r.body), (200, canceled));

    let r = fx.call(
        "POST",
        "/journeys/%20/cancel",
        &json!({"code": "a b", "message": "x".repeat(513), "extra": 1}),
    );
    assert_eq!(
        invalid(&r),
        "/operator_journey_id: must be 1 to 256 visible ascii characters, \
         /code: must be 0 to 32 characters of [0-9A-Za-z_-], \
         /message: must be a string of at most 512 characters, /extra: must not be present"
    );
    assert_eq!(
        invalid(&fx.raw(Some(&fx.op), "POST", "/journeys/j1/cancel", b"{")),
        "/: body must be valid JSON"
    );
    assert_eq!(
        invalid(&fx.call("POST", "/journeys/j1/cancel", &json!([1]))),
        "/: must be an object, not an array"
    );
    assert_eq!(
        fx.call("POST", "/journeys/nope/cancel", &json!({})).status,
        404
    );
    assert_eq!(
        fx.call_as(&fx.op2, "POST", "/journeys/j1/cancel", &json!({}))
            .status,
        404
    );

    // A journey carrying an application cannot be canceled.
    fx.journey(&journey("j2", START, &p));
    assert_eq!(
        fx.call("POST", "/policies/cee", &short("j2", &p)).status,
        201
    );
    let r = fx.call("POST", "/journeys/j2/cancel", &json!({}));
    assert_eq!(r.status, 409);
    assert_eq!(
        envelope(&r).2,
        "journey carries a CEE application and cannot be canceled"
    );
    let r = fx.call("GET", "/journeys/j2", &json!(null));
    assert_eq!(r.body.unwrap()["status"], "pending");
}

/// The façade fuzz target's readable seeds (`REQ <op> <METHOD> <path>\n<body>`) replay without
/// a 500, each twice (the second time on the state the first left).
#[test]
fn fuzz_seeds_replay_without_500() {
    let fx = Fx::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/api_handle");
    let mut seeds: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 10, "{}", dir.display());
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
            // `raw` asserts no 500 and a well-formed error envelope.
            let r = fx.raw(op, parts[1], parts[2], &rest[nl + 1..]);
            statuses.push(r.status);
        }
    }
    for s in [200, 201, 400, 403, 404, 409] {
        assert!(statuses.contains(&s), "no seed answers {s}: {statuses:?}");
    }
}
