//! The `/journeys…` routes.

use serde_json::{json, Value};

use super::json::{check, join, kind, number, Obj};
use super::{path, Response};
use crate::engine::{Driver, Engine, Journey, JourneyPatch, JourneyPoint, Operator};
use crate::error::FieldErrors;
use crate::fields::{
    Distance, GeoCode, IdentityKey, Incentive, Incentives, Latitude, Longitude, OperatorClass,
    OperatorJourneyId, PhoneTrunc, Siret, Timestamp,
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

/// An optional point (`Some(None)` when absent).
fn opt_point(
    o: &mut Obj<'_>,
    key: &'static str,
    e: &mut FieldErrors,
) -> Option<Option<JourneyPoint>> {
    match o.get(key) {
        None => Some(None),
        Some(v) => Obj::new(v, &o.path_of(key), e)
            .and_then(|p| read_point(p, e))
            .map(Some),
    }
}

/// `distance`: a number of whole metres.
fn read_distance(v: &Value, path: &str, e: &mut FieldErrors) -> Option<Distance> {
    number(v, path, e).and_then(|n| check(Distance::from_f64(n), path, e))
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

/// An optional `incentives` (`Some(None)` when absent).
fn opt_incentives(
    o: &mut Obj<'_>,
    stand_in: Siret,
    e: &mut FieldErrors,
) -> Option<Option<Incentives>> {
    match o.get("incentives") {
        None => Some(None),
        Some(v) => read_incentives(v, &o.path_of("incentives"), stand_in, e).map(Some),
    }
}

/// `driver`: exactly one of `phone_trunc` and `phone` (a full number), `identity_key?`.
fn read_driver(mut o: Obj<'_>, e: &mut FieldErrors) -> Option<Driver> {
    let phone_trunc = o.opt::<PhoneTrunc>("phone_trunc", e);
    let phone = o.opt_with("phone", e, PhoneTrunc::from_full_phone);
    let identity_key = o.opt::<IdentityKey>("identity_key", e);
    let (both, none) = (
        o.has("phone_trunc") && o.has("phone"),
        !o.has("phone_trunc") && !o.has("phone"),
    );
    if both {
        e.push(
            o.path_of("phone"),
            "must not be present together with phone_trunc",
        );
    }
    if none {
        e.push(o.path_of("phone_trunc"), "is required (or phone)");
    }
    o.finish(e);
    if both || none {
        return None;
    }
    Some(Driver {
        phone_trunc: phone_trunc?.or(phone?),
        identity_key: identity_key?,
    })
}

/// Reads a journey, every field error together.
fn journey(v: &Value, op: &Operator) -> Result<Journey, FieldErrors> {
    let mut e = FieldErrors::default();
    let Some(mut o) = Obj::new(v, "", &mut e) else {
        return Err(e);
    };
    let operator_journey_id = o.req::<OperatorJourneyId>("operator_journey_id", &mut e);
    let operator_trip_id = o.opt::<OperatorJourneyId>("operator_trip_id", &mut e);
    let operator_class = o.req::<OperatorClass>("operator_class", &mut e);
    let start = o
        .req_obj("start", &mut e)
        .and_then(|p| read_point(p, &mut e));
    let end = o.req_obj("end", &mut e).and_then(|p| read_point(p, &mut e));
    let distance = o
        .required("distance", &mut e)
        .and_then(|v| read_distance(v, &join("", "distance"), &mut e));
    let incentives = o
        .required("incentives", &mut e)
        .and_then(|v| read_incentives(v, &join("", "incentives"), op.siret, &mut e));
    let driver = o
        .req_obj("driver", &mut e)
        .and_then(|d| read_driver(d, &mut e));
    o.finish(&mut e);
    let journey = (|| {
        Some(Journey {
            operator_journey_id: operator_journey_id?,
            operator_trip_id: operator_trip_id?,
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

/// Reads a journey patch into `e`.
fn patch_body(v: &Value, op: &Operator, e: &mut FieldErrors) -> Option<JourneyPatch> {
    let mut o = Obj::new(v, "", e)?;
    let operator_trip_id = o.opt::<OperatorJourneyId>("operator_trip_id", e);
    let operator_class = o.opt::<OperatorClass>("operator_class", e);
    let incentives = opt_incentives(&mut o, op.siret, e);
    let start = opt_point(&mut o, "start", e);
    let end = opt_point(&mut o, "end", e);
    let distance = match o.get("distance") {
        None => Some(None),
        Some(v) => read_distance(v, &o.path_of("distance"), e).map(Some),
    };
    o.finish(e);
    Some(JourneyPatch {
        operator_trip_id: operator_trip_id?,
        operator_class: operator_class?,
        incentives: incentives?,
        start: start?,
        end: end?,
        distance: distance?,
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
    let id = check(
        path::percent_decode(raw_id)
            .unwrap_or_default()
            .parse::<OperatorJourneyId>(),
        "/operator_journey_id",
        &mut e,
    );
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
