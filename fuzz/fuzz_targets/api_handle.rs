//! Fuzz target: the JSON façade never panics and never answers 500 on any request.
//!
//! Inputs are either raw bytes (any method, path and body) or a structured request whose body
//! is a small JSON tree built from the façade's own field names and plausible values, so the
//! fuzzer reaches the handlers past JSON parsing. One engine (temporary, manual clock) is
//! shared by every run: state accumulates, as it would in a server.
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

const PATHS: [&str; 14] = [
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
];

const KEYS: [&str; 32] = [
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
];

const STRINGS: [&str; 26] = [
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

fuzz_target!(|req: Request| {
    let fx = fixture();
    let pick = |o: Option<bool>| o.map(|second| &fx.operators[usize::from(second)]);
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
    }
});
