//! Fuzz target: the JSON façade never panics and never answers 500 on any request.
//!
//! Inputs are either raw bytes (any method, path and body), a structured request whose body
//! is a small JSON tree built from the façade's own field names and plausible values, or a
//! valid v3 journey / patch / cancel body with one field replaced or removed, so the fuzzer
//! reaches every handler past JSON parsing and past the required-field errors. One engine
//! (temporary, manual clock) is shared by every run: state accumulates, as it would in a
//! server.
//!
//! Seeds (`fuzz/seeds/api_handle/`) are readable requests: `REQ <operator: 0 none, 1, 2>
//! <METHOD> <path>`, a newline, then the body bytes.
#![no_main]

use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use cee_eligibility::api::{Api, Response};
use cee_eligibility::clock::ManualClock;
use cee_eligibility::{Config, Engine, Operator};
use libfuzzer_sys::fuzz_target;

struct Fixture {
    api: Api,
    operators: [Operator; 2],
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let now = "2024-06-01T00:00:00Z".parse().expect("valid timestamp");
        let engine = Engine::open(Config::temporary().clock(ManualClock::new(now)))
            .expect("temporary engine");
        Fixture {
            api: Api::new(engine),
            operators: [
                Operator::new(1, "89248032800012".parse().expect("siret")),
                Operator::new(2, "89248032800020".parse().expect("siret")),
            ],
        }
    })
}

const METHODS: [&str; 6] = ["GET", "POST", "DELETE", "PATCH", "PUT", "post"];

const PATHS: [&str; 19] = [
    "/policies/cee/import",
    "/policies/cee/import/identity",
    "/policies/cee/import/standardized",
    "/v3/policies/cee/0188bb9a-3c00-7abc-8def-0123456789ab",
    "/policies/cee/simulate",
    "/policies/cee",
    "/v3/policies/cee",
    "/v3.3/policies/cee/simulate?x=1",
    "/policies/cee/3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "/journeys",
    "/journeys/j1",
    "/v3/journeys/j2/",
    "/journeys/a%2Fb",
    "/",
    "/journeys/j1/cancel",
    "/v3/journeys/j2/cancel",
    "/journeys/%20/cancel",
    "/v3/journeys/j1",
    "/journeys/j1/cancel/x",
];

const KEYS: [&str; 55] = [
    "journey_type",
    "phone_trunc",
    "phone",
    "last_name_trunc",
    "datetime",
    "driving_license",
    "identity_key",
    "application_timestamp",
    "operator_journey_id",
    "operator_trip_id",
    "operator_class",
    "start",
    "end",
    "lat",
    "lon",
    "geo_code",
    "distance",
    "incentives",
    "index",
    "amount",
    "siret",
    "driver",
    "cee_application_type",
    "cee_application_uuid",
    "error",
    "",
    "a/b~c",
    "journey_type ",
    "JOURNEY_TYPE",
    "uuid",
    "status",
    "token",
    "identity",
    "operator_user_id",
    "firstname",
    "lastname",
    "email",
    "company",
    "over_18",
    "travel_pass",
    "name",
    "user_id",
    "revenue",
    "passenger",
    "contribution",
    "payments",
    "pass_type",
    "type",
    "seats",
    "incentive_counterparts",
    "target",
    "licence_plate",
    "operator_id",
    "code",
    "message",
];

const STRINGS: [&str; 33] = [
    "short",
    "long",
    "standardized",
    "specific",
    "+336273488",
    "06 27 34 88",
    "+33627348812",
    "ABC",
    "D H",
    "051227308989",
    "99-x b-é",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "2024-05-01T08:00:00Z",
    "2023-01-01T00:00:00+01:00",
    "2024-05-24T00:00:00.000Z",
    "2024-02-30T00:00:00Z",
    "j1",
    "C",
    "B",
    "89248032800012",
    "75056",
    "99109",
    "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "0188bb9a-3c00-7abc-8def-0123456789ab",
    "00000000-0000-0000-0000-000000000000",
    "NaN",
    "driver",
    "passenger",
    "navigo",
    "jeanne@example.org",
    "a@b",
    "DRIVER_LEFT",
    "cash",
];

/// A JSON value biased towards the façade's vocabulary.
#[derive(Debug)]
enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Known(&'static str),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(&'static str, Json)>),
}

impl<'a> Arbitrary<'a> for Json {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Json::with_depth(u, 0)
    }
}

impl Json {
    fn with_depth(u: &mut Unstructured<'_>, depth: u32) -> arbitrary::Result<Self> {
        let leaf_only = depth >= 4;
        let choice = u.int_in_range(0..=if leaf_only { 5 } else { 8 })?;
        Ok(match choice {
            0 => Json::Null,
            1 => Json::Bool(u.arbitrary()?),
            2 => Json::Int(u.arbitrary()?),
            3 => Json::Float(u.arbitrary()?),
            4 => Json::Str(u.arbitrary()?),
            5 => Json::Known(u.choose(&STRINGS)?),
            6 => {
                let n = u.int_in_range(0..=4)?;
                Json::Array(
                    (0..n)
                        .map(|_| Json::with_depth(u, depth + 1))
                        .collect::<Result<_, _>>()?,
                )
            }
            _ => {
                let n = u.int_in_range(0..=10)?;
                let mut fields = Vec::with_capacity(n);
                for _ in 0..n {
                    fields.push((*u.choose(&KEYS)?, Json::with_depth(u, depth + 1)?));
                }
                Json::Object(fields)
            }
        })
    }

    fn write(&self, out: &mut String) {
        use std::fmt::Write;
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Int(i) => {
                let _ = write!(out, "{i}");
            }
            // Non-finite floats become invalid JSON on purpose (`NaN`, `inf`).
            Json::Float(f) => {
                let _ = write!(out, "{f}");
            }
            Json::Known(s) => out.push_str(&serde_json::Value::from(*s).to_string()),
            Json::Str(s) => out.push_str(&serde_json::Value::from(s.as_str()).to_string()),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Json::Object(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::Value::from(*k).to_string());
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// A valid v3 journey body (SPEC §11.3), every optional field present.
const V3_JOURNEY: &str = r#"{"operator_id": 1, "operator_journey_id": "j1", "operator_trip_id": "t1",
  "operator_class": "C", "distance": 20000, "licence_plate": "AB-123-CD",
  "start": {"datetime": "2024-05-01T08:00:00Z", "lat": 48.8566, "lon": 2.3522, "geo_code": "75056"},
  "end": {"datetime": "2024-05-01T08:30:00Z", "lat": 48.8049, "lon": 2.1204},
  "incentives": [{"index": 0, "siret": "89248032800012", "amount": 150}],
  "incentive_counterparts": [{"target": "driver", "siret": "89248032800012", "amount": 50}],
  "driver": {"revenue": 300, "identity": {"identity_key": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "operator_user_id": "u1", "firstname": "Jeanne", "lastname": "Dupont", "email": "jeanne@example.org",
    "phone": "+33627348812", "phone_trunc": "+336273488", "company": "Acme", "over_18": true,
    "travel_pass": {"name": "navigo", "user_id": "p1"}}},
  "passenger": {"contribution": 300, "seats": 2, "identity": {"identity_key": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
    "operator_user_id": "u2", "over_18": null},
    "payments": [{"pass_type": "cash", "amount": 100}, {"index": 1, "siret": "89248032800012", "type": "payment", "amount": 200}]}}"#;

/// The JSON pointers of [`V3_JOURNEY`] a template request may replace or remove.
const POINTERS: [&str; 40] = [
    "/operator_id",
    "/operator_journey_id",
    "/operator_trip_id",
    "/operator_class",
    "/distance",
    "/licence_plate",
    "/start",
    "/start/datetime",
    "/start/lat",
    "/start/geo_code",
    "/end/lon",
    "/incentives",
    "/incentives/0",
    "/incentives/0/index",
    "/incentives/0/amount",
    "/incentive_counterparts",
    "/incentive_counterparts/0/target",
    "/incentive_counterparts/0/amount",
    "/driver",
    "/driver/revenue",
    "/driver/identity",
    "/driver/identity/identity_key",
    "/driver/identity/operator_user_id",
    "/driver/identity/email",
    "/driver/identity/phone",
    "/driver/identity/phone_trunc",
    "/driver/identity/over_18",
    "/driver/identity/travel_pass",
    "/driver/identity/travel_pass/name",
    "/driver/identity/travel_pass/user_id",
    "/passenger",
    "/passenger/contribution",
    "/passenger/seats",
    "/passenger/identity",
    "/passenger/identity/over_18",
    "/passenger/payments",
    "/passenger/payments/0",
    "/passenger/payments/0/pass_type",
    "/passenger/payments/1/amount",
    "/passenger/payments/1/siret",
];

/// Which route a template body goes to.
#[derive(Debug, Arbitrary)]
enum Template {
    /// `POST /journeys` with the v3 body.
    Create,
    /// `PATCH /journeys/j1` with the v3 body's patchable fields.
    Patch,
    /// `POST /journeys/j1/cancel` with `{code, message}`.
    Cancel,
}

#[derive(Debug, Arbitrary)]
enum Request {
    /// Anything at all.
    Raw {
        operator: Option<bool>,
        method: String,
        path: String,
        body: Vec<u8>,
    },
    /// A known route with a body from the façade's vocabulary.
    Structured {
        operator: Option<bool>,
        method: u8,
        path: u8,
        body: Json,
    },
    /// A valid body with one field replaced (`Some`) or removed (`None`).
    Template {
        operator: Option<bool>,
        template: Template,
        pointer: u8,
        value: Option<Json>,
    },
}

/// The template body of `t` with `pointer` set to `value` (or removed).
fn template_body(
    t: &Template,
    pointer: &str,
    value: Option<&Json>,
) -> (&'static str, &'static str, String) {
    let mut body: serde_json::Value = serde_json::from_str(V3_JOURNEY).expect("valid template");
    let (method, path) = match t {
        Template::Create => ("POST", "/v3/journeys"),
        Template::Patch => {
            if let Some(o) = body.as_object_mut() {
                for k in [
                    "operator_journey_id",
                    "driver",
                    "passenger",
                    "licence_plate",
                ] {
                    o.remove(k);
                }
            }
            ("PATCH", "/v3/journeys/j1")
        }
        Template::Cancel => {
            body = serde_json::json!({"code": "DRIVER_LEFT", "message": "gone"});
            ("POST", "/v3/journeys/j1/cancel")
        }
    };
    let (parent, key) = pointer.rsplit_once('/').unwrap_or(("", pointer));
    let mut replacement = String::new();
    if let Some(v) = value {
        v.write(&mut replacement);
    }
    let parsed: Option<serde_json::Value> = serde_json::from_str(&replacement).ok();
    match (body.pointer_mut(parent), value, parsed) {
        (Some(serde_json::Value::Object(o)), None, _) => {
            o.remove(key);
        }
        (Some(serde_json::Value::Object(o)), Some(_), Some(v)) => {
            o.insert(key.to_owned(), v);
        }
        (Some(serde_json::Value::Array(a)), Some(_), Some(v)) => {
            if let Some(slot) = key.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                *slot = v;
            }
        }
        _ => {}
    }
    (method, path, body.to_string())
}

/// `REQ <operator> <METHOD> <path>\n<body>`, the seeds' readable form.
fn readable(data: &[u8]) -> Option<(Option<bool>, &str, &str, &[u8])> {
    let rest = data.strip_prefix(b"REQ ")?;
    let nl = rest.iter().position(|&b| b == b'\n')?;
    let head = std::str::from_utf8(&rest[..nl]).ok()?;
    let mut parts = head.splitn(3, ' ');
    let operator = match parts.next()? {
        "1" => Some(false),
        "2" => Some(true),
        _ => None,
    };
    Some((operator, parts.next()?, parts.next()?, &rest[nl + 1..]))
}

fn check(r: &Response, method: &str, path: &str) {
    assert_ne!(r.status, 500, "{method} {path}: {:?}", r.body);
    assert!(
        matches!(
            r.status,
            200 | 201 | 204 | 400 | 403 | 404 | 405 | 409 | 413
        ),
        "{method} {path}: unexpected status {}",
        r.status
    );
    if r.status >= 400 && r.status != 409 {
        let body = r.body.as_ref().expect("error responses carry the envelope");
        assert_eq!(body["jsonrpc"], "2.0");
        assert!(body["error"]["code"].is_i64());
    }
}

fuzz_target!(|data: &[u8]| {
    let fx = fixture();
    let pick = |o: Option<bool>| o.map(|second| &fx.operators[usize::from(second)]);
    if let Some((operator, method, path, body)) = readable(data) {
        let r = fx.api.handle(pick(operator), method, path, body);
        check(&r, method, path);
        return;
    }
    let Ok(req) = Request::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    match req {
        Request::Raw {
            operator,
            method,
            path,
            body,
        } => {
            let r = fx.api.handle(pick(operator), &method, &path, &body);
            check(&r, &method, &path);
        }
        Request::Structured {
            operator,
            method,
            path,
            body,
        } => {
            let method = METHODS[usize::from(method) % METHODS.len()];
            let path = PATHS[usize::from(path) % PATHS.len()];
            let mut text = String::new();
            body.write(&mut text);
            let r = fx.api.handle(pick(operator), method, path, text.as_bytes());
            check(&r, method, path);
        }
        Request::Template {
            operator,
            template,
            pointer,
            value,
        } => {
            let pointer = POINTERS[usize::from(pointer) % POINTERS.len()];
            let (method, path, body) = template_body(&template, pointer, value.as_ref());
            let r = fx.api.handle(pick(operator), method, path, body.as_bytes());
            check(&r, method, path);
        }
    }
});
