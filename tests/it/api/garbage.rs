//! Bytes that are not what a route expects: always an answer, never a 500 or a panic.

use super::*;

const ROUTES: [(&str, &str); 8] = [
    ("POST", "/policies/cee/import"),
    ("POST", "/policies/cee/import/identity"),
    ("POST", "/policies/cee/simulate"),
    ("POST", "/policies/cee"),
    ("GET", "/policies/cee/%FF"),
    ("DELETE", "/policies/cee/%"),
    ("POST", "/journeys"),
    ("PATCH", "/journeys/%C3%28"),
];

fn garbage() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = [
        "",
        " ",
        "null",
        "true",
        "0",
        "-0",
        "1e999",
        "-1e999",
        "NaN",
        "Infinity",
        "\"NaN\"",
        "{",
        "}",
        "[",
        "]",
        "[[]]",
        "[{}]",
        "[null]",
        "{\"a\":}",
        "{\"journey_type\":\"short\"",
        "{\"lat\": 1e400}",
        "[{\"journey_type\": 18446744073709551616}]",
        "{\"journey_type\": \"\\ud800\"}",
        "\u{feff}{}",
        "{} {}",
        "[1,]",
        "{\"a\":1,}",
        "{\"driver\": {\"phone\": \"+99999999999999999999999999\"}}",
        "{\"start\": {\"lat\": 1.7976931348623157e308, \"lon\": -1e-400}, \"distance\": 1e308}",
        "{\"incentives\": [{\"index\": 18446744073709551615, \"amount\": -0.0}]}",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    v.push(b"\xff\xfe\x00{".to_vec());
    v.push(b"{\"journey_type\": \"sh\xc3\x28ort\"}".to_vec());
    v.push(b"\"\\u0000\"".to_vec());
    v.push("[".repeat(100_000).into_bytes());
    v.push("{\"a\":".repeat(50_000).into_bytes());
    v.push(format!("[{}]", "1,".repeat(100_000) + "1").into_bytes());
    v.push(format!("{{\"{}\": 1}}", "k".repeat(100_000)).into_bytes());
    v.push(format!("[{}]", vec!["{\"x\":1}"; 1000].join(",")).into_bytes());
    v
}

#[test]
fn garbage_bodies_are_4xx_never_500() {
    let fx = Fx::new();
    let mut paths: Vec<(&str, &str)> = ROUTES.to_vec();
    paths.extend([
        ("POST", "/policies/cee/import/identity"),
        ("PATCH", "/journeys/j1"),
    ]);
    for body in garbage() {
        for (m, p) in &paths {
            let r = fx.raw(Some(&fx.op), m, p, &body);
            let shown = String::from_utf8_lossy(&body[..body.len().min(40)]).into_owned();
            match r.status {
                // Import rows fail one by one: a batch of bad objects is a report.
                200 | 201 => assert_eq!(r.body.unwrap()["imported"], 0, "{m} {p} {shown}"),
                s => assert!((400..500).contains(&s), "{m} {p} {shown}: {s}"),
            }
        }
    }
}

#[test]
fn a_long_unknown_key_is_shortened_in_the_error() {
    let fx = Fx::new();
    let body = format!("{{\"{}\": 1}}", "k".repeat(1000));
    let data = invalid(&fx.raw(Some(&fx.op), "POST", "/journeys", body.as_bytes()));
    let last = data.rsplit(", ").next().unwrap();
    assert_eq!(last, format!("/{}…: must not be present", "k".repeat(64)));
}

#[test]
fn deep_nesting_is_a_json_error() {
    let fx = Fx::new();
    let body = "[".repeat(200) + &"]".repeat(200);
    let data = invalid(&fx.raw(
        Some(&fx.op),
        "POST",
        "/policies/cee/import",
        body.as_bytes(),
    ));
    assert!(
        data.starts_with("/: body must be valid JSON (recursion limit exceeded"),
        "{data}"
    );
}

#[test]
fn paths_and_methods_of_any_bytes() {
    let fx = Fx::new();
    for p in [
        "/policies/cee/\u{0}",
        "/journeys/\u{ffff}",
        "/policies/cee/\u{1F600}",
        "/v99999999999999999999/journeys",
        "//",
        "?",
        "/?/",
    ] {
        for m in ["GET", "POST", "DELETE", "PATCH", "\u{0}", "ÉTÉ"] {
            let r = fx.raw(Some(&fx.op), m, p, b"{}");
            assert!((400..500).contains(&r.status), "{m} {p}: {}", r.status);
        }
    }
}
