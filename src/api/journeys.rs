//! The `/journeys…` routes.

use serde_json::{json, Value};

use super::json::{check, join, kind, number, Obj};
use super::{path, Response};
use crate::engine::{Driver, Engine, Journey, JourneyPatch, JourneyPoint, Operator};
use crate::error::FieldErrors;
use crate::fields::{
    Distance, FieldError, GeoCode, IdentityKey, Incentive, Incentives, Latitude, Longitude,
    OperatorClass, OperatorJourneyId, PhoneTrunc, Siret, Timestamp,
};

type Handled = Result<Response, Response>;

/// `{datetime, lat, lon, geo_code?}`.
fn read_point(mut o: Obj<'_>, e: &mut FieldErrors) -> Option<JourneyPoint> {
    let datetime = o.req::<Timestamp>("datetime", e);
    let lat = o
        .req_number("lat", e)
        .and_then(|n| check(Latitude::new(n), &o.path_of("lat"), e));
    let lon = o
        .req_number("lon", e)
        .and_then(|n| check(Longitude::new(n), &o.path_of("lon"), e));
    let geo_code = o.opt::<GeoCode>("geo_code", e);
    o.finish(e);
    Some(JourneyPoint {
        datetime: datetime?,
        lat: lat?,
        lon: lon?,
        geo_code: geo_code?,
    })
}

/// An incentive's `index`: an integer (`3.0` accepted); out of range is checked by
/// [`Incentive::new`], so a number that is no index maps to `u32::MAX`.
fn index(v: &Value, path: &str, e: &mut FieldErrors) -> Option<u32> {
    if let Some(n) = v.as_u64() {
        return Some(u32::try_from(n).unwrap_or(u32::MAX));
    }
    let n = number(v, path, e)?;
    Some((0..=19u32).find(|i| f64::from(*i) == n).unwrap_or(u32::MAX))
}

/// `incentives`: 0 to 20 `{index, amount, siret}`; `stand_in` lets the index and amount be
/// checked even when the siret is invalid.
fn read_incentives(
    v: &Value,
    path: &str,
    stand_in: Siret,
    e: &mut FieldErrors,
) -> Option<Incentives> {
    let Value::Array(items) = v else {
        e.push(path, format!("must be an array, not {}", kind(v)));
        return None;
    };
    if items.len() > Incentives::MAX {
        e.push(path, "must have at most 20 items");
        return None;
    }
    let before = e.0.len();
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Some(mut o) = Obj::new(item, &format!("{path}/{i}"), e) else {
            continue;
        };
        let idx = o
            .required("index", e)
            .and_then(|v| index(v, &o.path_of("index"), e))
            .and_then(|i| {
                check(
                    Incentive::new(i, 0.0, stand_in).map(|_| i),
                    &o.path_of("index"),
                    e,
                )
            });
        let amount = o.req_number("amount", e).and_then(|a| {
            check(
                Incentive::new(0, a, stand_in).map(|_| a),
                &o.path_of("amount"),
                e,
            )
        });
        let siret = o.req::<Siret>("siret", e);
        o.finish(e);
        if let (Some(idx), Some(amount), Some(siret)) = (idx, amount, siret) {
            if let Ok(inc) = Incentive::new(idx, amount, siret) {
                out.push(inc);
            }
        }
    }
    if e.0.len() > before {
        return None;
    }
    check(Incentives::new(out), path, e)
}

/// Longest free-text field of the public registry's schemas (its `varchar` macro).
const VARCHAR_MAX: usize = 256;

/// An optional free-text field (`varchar`): a string of at most 256 characters, `min` at least.
/// The value itself is dropped: only whether it is valid matters.
fn varchar(o: &mut Obj<'_>, key: &'static str, required: bool, min: usize, e: &mut FieldErrors) {
    let v = if required {
        o.required(key, e)
    } else {
        o.get(key)
    };
    if let Some(v) = v {
        let path = o.path_of(key);
        match v {
            Value::String(s) if (min..=VARCHAR_MAX).contains(&s.chars().count()) => {}
            Value::String(_) => e.push(
                path,
                format!("must be a string of {min} to {VARCHAR_MAX} characters"),
            ),
            other => e.push(path, format!("must be a string, not {}", kind(other))),
        }
    }
}

/// An integer in `min..=max` (`3.0` accepted as 3); `Some(None)` when absent and optional.
fn integer(
    o: &mut Obj<'_>,
    key: &'static str,
    required: bool,
    (min, max): (i64, i64),
    e: &mut FieldErrors,
) -> Option<Option<i64>> {
    let v = if required {
        o.required(key, e)?
    } else {
        match o.get(key) {
            None => return Some(None),
            Some(v) => v,
        }
    };
    let path = o.path_of(key);
    let n = number(v, &path, e)?;
    // The bounds used here are far below 2^53: exact as f64, and a whole number in range
    // converts back exactly.
    let in_range = n.fract() == 0.0 && (min as f64..=max as f64).contains(&n);
    if in_range {
        return Some(Some(n as i64));
    }
    e.push(path, format!("must be an integer between {min} and {max}"));
    None
}

/// A number in `0..=100000` (an amount in cents, as the public registry bounds it).
fn amount(o: &mut Obj<'_>, key: &'static str, e: &mut FieldErrors) {
    if let Some(n) = o.req_number(key, e) {
        if !(0.0..=100_000.0).contains(&n) {
            e.push(o.path_of(key), "must be a number between 0 and 100000");
        }
    }
}

/// An e-mail address as the public registry's pattern accepts it: a local part of dot-separated
/// atoms (no `<>()[]\.,;:@"` or whitespace) or a quoted string, `@`, then a domain of labels
/// `[A-Za-z0-9-]+` ending in a label of 2+ letters, or an IPv4 literal in brackets.
fn email(s: &str) -> Result<(), FieldError> {
    const ERR: FieldError = FieldError::new("email", "must be a valid email address");
    if s.chars().count() > VARCHAR_MAX {
        return Err(ERR);
    }
    let (local, domain) = s.rsplit_once('@').ok_or(ERR)?;
    let atom_ok = |a: &str| {
        !a.is_empty()
            && a.chars()
                .all(|c| !c.is_whitespace() && !"<>()[]\\.,;:@\"".contains(c))
    };
    let quoted = local.len() >= 3 && local.starts_with('"') && local.ends_with('"');
    if !(quoted || local.split('.').all(atom_ok)) {
        return Err(ERR);
    }
    if let Some(ip) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        let parts: Vec<&str> = ip.split('.').collect();
        let ok = parts.len() == 4
            && parts
                .iter()
                .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
        return if ok { Ok(()) } else { Err(ERR) };
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let (Some(tld), true) = (labels.last(), labels.len() >= 2) else {
        return Err(ERR);
    };
    let label_ok =
        |l: &&str| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if labels.iter().all(label_ok) && tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic())
    {
        Ok(())
    } else {
        Err(ERR)
    }
}

/// What the engine keeps of an `identity`: its key and truncated phone.
struct Kept {
    identity_key: Option<IdentityKey>,
    phone_trunc: Option<PhoneTrunc>,
}

/// `identity`: `operator_user_id`, `identity_key` required; `firstname`, `lastname`, `email`,
/// `phone`, `phone_trunc`, `company`, `over_18`, `travel_pass` optional. Everything is
/// validated; only the key and the truncated phone come back.
fn read_identity(mut o: Obj<'_>, e: &mut FieldErrors) -> Option<Kept> {
    let identity_key = o.req::<IdentityKey>("identity_key", e);
    varchar(&mut o, "operator_user_id", true, 1, e);
    varchar(&mut o, "firstname", false, 0, e);
    varchar(&mut o, "lastname", false, 0, e);
    o.opt_with("email", e, email);
    let phone = o.opt_with("phone", e, PhoneTrunc::from_full_phone);
    let phone_trunc = o.opt::<PhoneTrunc>("phone_trunc", e);
    varchar(&mut o, "company", false, 0, e);
    if let Some(v) = o.get("over_18") {
        if !v.is_boolean() {
            e.push(o.path_of("over_18"), "must be true, false or null");
        }
    }
    if let Some(v) = o.get("travel_pass") {
        if let Some(mut t) = Obj::new(v, &o.path_of("travel_pass"), e) {
            if let Some(name) = t.required("name", e) {
                if name.as_str() != Some("navigo") {
                    e.push(t.path_of("name"), "must be navigo");
                }
            }
            varchar(&mut t, "user_id", true, 1, e);
            t.finish(e);
        }
    }
    if let (Some(Some(full)), Some(Some(trunc))) = (&phone, &phone_trunc) {
        if full != trunc {
            e.push(
                o.path_of("phone_trunc"),
                "must be the phone number without its last two digits",
            );
        }
    }
    o.finish(e);
    Some(Kept {
        identity_key: Some(identity_key?),
        phone_trunc: phone?.or(phone_trunc?),
    })
}

/// `driver`: `{identity, revenue}`.
fn read_driver(mut o: Obj<'_>, e: &mut FieldErrors) -> Option<Driver> {
    let identity = o.req_obj("identity", e).and_then(|i| read_identity(i, e));
    let revenue = integer(&mut o, "revenue", true, (0, 1_000_000), e);
    o.finish(e);
    revenue?;
    let kept = identity?;
    Some(Driver {
        phone_trunc: kept.phone_trunc,
        identity_key: kept.identity_key,
    })
}

/// An array of at most 20 objects at `path`, each read by `item`.
fn read_list(
    v: &Value,
    path: &str,
    e: &mut FieldErrors,
    mut item: impl FnMut(Obj<'_>, &mut FieldErrors),
) {
    let Value::Array(items) = v else {
        e.push(path, format!("must be an array, not {}", kind(v)));
        return;
    };
    if items.len() > 20 {
        e.push(path, "must have at most 20 items");
        return;
    }
    for (i, it) in items.iter().enumerate() {
        if let Some(o) = Obj::new(it, &format!("{path}/{i}"), e) {
            item(o, e);
        }
    }
}

/// `passenger`: `{identity, contribution, payments?, seats?}`, validated and dropped.
fn read_passenger(mut o: Obj<'_>, e: &mut FieldErrors) {
    if let Some(i) = o.req_obj("identity", e) {
        read_identity(i, e);
    }
    integer(&mut o, "contribution", true, (0, 1_000_000), e);
    if let Some(v) = o.get("payments") {
        read_list(v, &o.path_of("payments"), e, |mut p, e| {
            // `pass_type` (SPEC §11.3) or `type`, `index` and `siret` (the registry's own
            // payment schema): both shapes are what operators send.
            let named = p.has("pass_type") || p.has("type");
            varchar(&mut p, "pass_type", false, 1, e);
            varchar(&mut p, "type", false, 1, e);
            if !named {
                e.push(p.path_of("pass_type"), "is required (or type)");
            }
            amount(&mut p, "amount", e);
            integer(&mut p, "index", false, (0, 19), e);
            p.opt::<Siret>("siret", e);
            p.finish(e);
        });
    }
    integer(&mut o, "seats", false, (1, 8), e);
    o.finish(e);
}

/// `incentive_counterparts`: `{target: passenger|driver, siret, amount}` items.
fn read_counterparts(v: &Value, path: &str, e: &mut FieldErrors) {
    read_list(v, path, e, |mut c, e| {
        if let Some(t) = c.required("target", e) {
            if !matches!(t.as_str(), Some("passenger" | "driver")) {
                e.push(c.path_of("target"), "must be either passenger or driver");
            }
        }
        c.req::<Siret>("siret", e);
        amount(&mut c, "amount", e);
        c.finish(e);
    });
}

/// `distance` of the v3 body and of a patch: an integer number of metres, 1..=1 000 000.
fn read_v3_distance(o: &mut Obj<'_>, e: &mut FieldErrors) -> Option<Distance> {
    let v = o.required("distance", e)?;
    let path = o.path_of("distance");
    let n = number(v, &path, e)?;
    match Distance::from_f64(n) {
        Ok(d) if d.metres() > 0 => Some(d),
        _ => {
            e.push(
                path,
                "must be an integer number of meters between 1 and 1000000",
            );
            None
        }
    }
}

/// Reads the public registry's v3 journey body, every field error together; what the engine
/// does not need is validated and dropped here.
fn journey(v: &Value, op: &Operator) -> Result<Journey, FieldErrors> {
    let mut e = FieldErrors::default();
    let Some(mut o) = Obj::new(v, "", &mut e) else {
        return Err(e);
    };
    integer(&mut o, "operator_id", false, (1, 2_147_483_647), &mut e);
    let operator_journey_id = o.req::<OperatorJourneyId>("operator_journey_id", &mut e);
    let operator_trip_id = o.req_with("operator_trip_id", &mut e, |s| {
        s.parse::<OperatorJourneyId>()
            .map_err(|err| err.for_field("operator_trip_id"))
    });
    let operator_class = o.req::<OperatorClass>("operator_class", &mut e);
    let start = o
        .req_obj("start", &mut e)
        .and_then(|p| read_point(p, &mut e));
    let end = o.req_obj("end", &mut e).and_then(|p| read_point(p, &mut e));
    let distance = read_v3_distance(&mut o, &mut e);
    let incentives = o
        .required("incentives", &mut e)
        .and_then(|v| read_incentives(v, &join("", "incentives"), op.siret, &mut e));
    if let Some(v) = o.get("incentive_counterparts") {
        read_counterparts(v, &o.path_of("incentive_counterparts"), &mut e);
    }
    let driver = o
        .req_obj("driver", &mut e)
        .and_then(|d| read_driver(d, &mut e));
    if let Some(p) = o.req_obj("passenger", &mut e) {
        read_passenger(p, &mut e);
    }
    varchar(&mut o, "licence_plate", false, 0, &mut e);
    o.finish(&mut e);
    let journey = (|| {
        Some(Journey {
            operator_journey_id: operator_journey_id?,
            operator_trip_id: Some(operator_trip_id?),
            operator_class: operator_class?,
            start: start?,
            end: end?,
            distance: distance?,
            incentives: incentives?,
            driver: driver?,
        })
    })();
    match journey {
        Some(j) if e.is_empty() => Ok(j),
        _ => Err(e),
    }
}

/// Reads a journey patch into `e`: `operator_class`, `incentives`, `start`, `end`,
/// `distance` required (seed 002 of the public registry), `operator_trip_id` optional;
/// `operator_id` and `incentive_counterparts`, which the registry's patch schema also lists,
/// are validated and dropped.
fn patch_body(v: &Value, op: &Operator, e: &mut FieldErrors) -> Option<JourneyPatch> {
    let mut o = Obj::new(v, "", e)?;
    integer(&mut o, "operator_id", false, (1, 2_147_483_647), e);
    let operator_trip_id = o.opt_with("operator_trip_id", e, |s| {
        s.parse::<OperatorJourneyId>()
            .map_err(|err| err.for_field("operator_trip_id"))
    });
    let operator_class = o.req::<OperatorClass>("operator_class", e);
    let incentives = o
        .required("incentives", e)
        .and_then(|v| read_incentives(v, &o.path_of("incentives"), op.siret, e));
    let start = o.req_obj("start", e).and_then(|p| read_point(p, e));
    let end = o.req_obj("end", e).and_then(|p| read_point(p, e));
    let distance = read_v3_distance(&mut o, e);
    if let Some(v) = o.get("incentive_counterparts") {
        read_counterparts(v, &o.path_of("incentive_counterparts"), e);
    }
    o.finish(e);
    Some(JourneyPatch {
        operator_trip_id: operator_trip_id?,
        operator_class: Some(operator_class?),
        incentives: Some(incentives?),
        start: Some(start?),
        end: Some(end?),
        distance: Some(distance?),
    })
}

/// `POST /journeys`.
pub(super) fn create(engine: &Engine, op: &Operator, v: &Value) -> Handled {
    let j = journey(v, op).map_err(Response::invalid)?;
    let stored = engine.put_journey(op, &j)?;
    Ok(Response::new(
        201,
        json!({ "operator_journey_id": stored.operator_journey_id.as_str() }),
    ))
}

/// `PATCH /journeys/{operator_journey_id}`: the id's error and the body's come together.
pub(super) fn patch(engine: &Engine, op: &Operator, raw_id: &str, v: &Value) -> Handled {
    let mut e = FieldErrors::default();
    let id = journey_id(raw_id, &mut e);
    let body = patch_body(v, op, &mut e);
    let (Some(id), Some(body), true) = (id, body, e.is_empty()) else {
        return Err(Response::invalid(e));
    };
    let stored = engine.patch_journey(op, &id, &body)?;
    Ok(Response::new(
        200,
        json!({ "operator_journey_id": stored.operator_journey_id.as_str() }),
    ))
}

/// The `{operator_journey_id}` of a path, decoded and parsed (its error named after the field).
fn journey_id(raw: &str, e: &mut FieldErrors) -> Option<OperatorJourneyId> {
    check(
        path::percent_decode(raw)
            .unwrap_or_default()
            .parse::<OperatorJourneyId>(),
        "/operator_journey_id",
        e,
    )
}

/// `GET /journeys/{operator_journey_id}`: the caller's own journey's status, else 404.
pub(super) fn status(engine: &Engine, op: &Operator, raw_id: &str) -> Handled {
    let mut e = FieldErrors::default();
    // An id that cannot be one of ours names no journey: 404, as for an unknown one.
    let Some(id) = journey_id(raw_id, &mut e) else {
        return Err(Response::not_found("journey not found"));
    };
    let j = engine
        .journey(op, &id)?
        .ok_or_else(|| Response::not_found("journey not found"))?;
    Ok(Response::new(
        200,
        json!({ "operator_journey_id": j.operator_journey_id.as_str(), "status": j.status.as_str() }),
    ))
}

/// The optional body of a cancel: `{code?, message?}` (code `[0-9A-Za-z_-]{0,32}`, message up
/// to 512 characters), validated and dropped. An empty body is no body.
fn cancel_body(body: &[u8], e: &mut FieldErrors) {
    if body.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    let v = match super::parse_body(body) {
        Ok(v) => v,
        Err(_) => {
            e.push("/", "body must be valid JSON");
            return;
        }
    };
    if v.is_null() {
        return;
    }
    let Some(mut o) = Obj::new(&v, "", e) else {
        return;
    };
    if let Some(c) = o.get("code") {
        let ok = c.as_str().is_some_and(|s| {
            s.len() <= 32
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        });
        if !ok {
            e.push(
                o.path_of("code"),
                "must be 0 to 32 characters of [0-9A-Za-z_-]",
            );
        }
    }
    if let Some(m) = o.get("message") {
        let ok = m.as_str().is_some_and(|s| s.chars().count() <= 512);
        if !ok {
            e.push(
                o.path_of("message"),
                "must be a string of at most 512 characters",
            );
        }
    }
    o.finish(e);
}

/// `POST /journeys/{operator_journey_id}/cancel`.
pub(super) fn cancel(engine: &Engine, op: &Operator, raw_id: &str, body: &[u8]) -> Handled {
    let mut e = FieldErrors::default();
    let id = journey_id(raw_id, &mut e);
    cancel_body(body, &mut e);
    let (Some(id), true) = (id, e.is_empty()) else {
        return Err(Response::invalid(e));
    };
    let j = engine.cancel_journey(op, &id)?;
    Ok(Response::new(
        200,
        json!({ "operator_journey_id": j.operator_journey_id.as_str(), "status": j.status.as_str() }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_table() {
        for ok in [
            "jeanne@example.org",
            "jeanne.dupont+cee@mail.example.fr",
            "a@b.co",
            "\"jeanne dupont\"@example.org",
            "x@[192.168.0.1]",
            "o'brien@example-mail.ie",
        ] {
            assert_eq!(email(ok), Ok(()), "{ok}");
        }
        let long = format!("{}@example.org", "a".repeat(250));
        for bad in [
            "",
            "@",
            "a@",
            "@example.org",
            "a@b",
            "a@b.c",
            "a@b.c0",
            "a b@example.org",
            "a..b@example.org",
            ".a@example.org",
            "a@exa mple.org",
            "a@example..org",
            "a@[1.2.3]",
            "a@[1.2.3.4444]",
            "a(b)@example.org",
            long.as_str(),
        ] {
            assert!(email(bad).is_err(), "{bad:?}");
        }
    }
}
