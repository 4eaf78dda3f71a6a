//! The `/policies/cee…` routes.

use std::str::FromStr;

use serde_json::{json, Map, Value};

use super::json::{join, kind, Obj};
use super::{one_error, path, Response};
use crate::engine::{
    Conflict, ConflictReason, Engine, FailedRow, IdentityRow, ImportRow, Operator, Refusal,
    RegisterKind, RegisterOutcome, RegisterRequest, Registration, SimulateRequest, Simulation,
    StandardizedRow, MAX_IMPORT_ROWS,
};
use crate::error::FieldErrors;
use crate::fields::{
    ApplicationId, DrivingLicense, FieldError, IdentityKey, JourneyType, LastNameTrunc,
    OperatorJourneyId, PhoneTrunc, Timestamp,
};

type Handled = Result<Response, Response>;

/// The body of an import: an array of 1 to [`MAX_IMPORT_ROWS`] objects.
fn batch(v: &Value) -> Result<Vec<&Map<String, Value>>, Response> {
    let shape = format!("must be an array of 1 to {MAX_IMPORT_ROWS} objects");
    let shape = shape.as_str();
    let Value::Array(items) = v else {
        return Err(Response::invalid(one_error("/", shape)));
    };
    if !(1..=MAX_IMPORT_ROWS).contains(&items.len()) {
        return Err(Response::invalid(one_error("/", shape)));
    }
    let mut e = FieldErrors::default();
    let mut rows = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if let Some(o) = Obj::new(item, &format!("/{i}"), &mut e) {
            rows.push(o.into_map());
        }
    }
    if e.is_empty() {
        Ok(rows)
    } else {
        Err(Response::invalid(e))
    }
}

/// Checks a string with a field type's `FromStr`, returning its error message.
type Check = fn(&str) -> Result<(), &'static str>;

fn checker<T: FromStr<Err = FieldError>>(s: &str) -> Result<(), &'static str> {
    s.parse::<T>().map(drop).map_err(|e| e.expected())
}

/// How to read one kind of flat import row: its string fields, in error order.
struct RowShape<const N: usize> {
    fields: [(&'static str, Check); N],
}

const IMPORT_ROW: RowShape<4> = RowShape {
    fields: [
        ("journey_type", checker::<JourneyType>),
        ("phone_trunc", checker::<PhoneTrunc>),
        ("last_name_trunc", checker::<LastNameTrunc>),
        ("datetime", checker::<Timestamp>),
    ],
};

const TYPE_ERR: &str = "must be either standardized or specific";

fn check_type(s: &str) -> Result<(), &'static str> {
    match s {
        "standardized" | "specific" => Ok(()),
        _ => Err(TYPE_ERR),
    }
}

const STANDARDIZED_ROW: RowShape<3> = RowShape {
    fields: [
        ("cee_application_type", check_type),
        ("cee_application_uuid", checker::<ApplicationId>),
        ("identity_key", checker::<IdentityKey>),
    ],
};

const SPECIFIC_ROW: RowShape<6> = RowShape {
    fields: [
        ("cee_application_type", check_type),
        ("identity_key", checker::<IdentityKey>),
        ("phone_trunc", checker::<PhoneTrunc>),
        ("last_name_trunc", checker::<LastNameTrunc>),
        ("journey_type", checker::<JourneyType>),
        ("datetime", checker::<Timestamp>),
    ],
};

/// A row whose type is not known: only its type is checked, the fields of both kinds are let
/// through unchecked.
const UNTYPED_ROW: RowShape<1> = RowShape {
    fields: [("cee_application_type", check_type)],
};
const IDENTITY_FIELDS: [&str; 7] = [
    "cee_application_type",
    "cee_application_uuid",
    "identity_key",
    "phone_trunc",
    "last_name_trunc",
    "journey_type",
    "datetime",
];

impl<const N: usize> RowShape<N> {
    /// The row's fields as strings, in order; or, when a field is missing or not a string or an
    /// unknown property is present, the failed row to report (the row as sent, `datetime`
    /// canonical when it parses, and an `error` naming every problem).
    fn read<'a>(
        &self,
        row: &'a Map<String, Value>,
        tolerated: &[&str],
    ) -> Result<[&'a str; N], Value> {
        let strings: [Option<&'a str>; N] = self
            .fields
            .map(|(k, _)| present(row, k).and_then(Value::as_str));
        let unknown = row
            .keys()
            .any(|k| !self.fields.iter().any(|(f, _)| f == k) && !tolerated.contains(&k.as_str()));
        if !unknown && tolerated.is_empty() && strings.iter().all(Option::is_some) {
            return Ok(strings.map(Option::unwrap_or_default));
        }
        let mut e = FieldErrors::default();
        for ((key, check), s) in self.fields.iter().zip(&strings) {
            let path = join("", key);
            match (present(row, key), s) {
                (None, _) => e.push(path, "is required"),
                (Some(_), Some(s)) => {
                    if let Err(m) = check(s) {
                        e.push(path, m);
                    }
                }
                (Some(v), None) => e.push(path, format!("must be a string, not {}", kind(v))),
            }
        }
        let mut unknown: Vec<&String> = row
            .keys()
            .filter(|k| {
                !self.fields.iter().any(|(f, _)| f == k) && !tolerated.contains(&k.as_str())
            })
            .collect();
        unknown.sort();
        for k in unknown {
            e.push(join("", k), "must not be present");
        }
        Err(failed_row(row, &e))
    }
}

/// A field's value; `null` is the same as absent.
fn present<'a>(row: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    row.get(key).filter(|v| !v.is_null())
}

/// A row as sent, `datetime` canonical when it parses, plus `error`.
fn failed_row(row: &Map<String, Value>, e: &FieldErrors) -> Value {
    let mut echo = row.clone();
    if let Some(Value::String(d)) = echo.get_mut("datetime") {
        if let Ok(t) = d.parse::<Timestamp>() {
            *d = t.to_string();
        }
    }
    echo.insert("error".into(), Value::String(e.to_string()));
    Value::Object(echo)
}

/// Merges the engine's failed rows (each `index` is a position in what was sent, `origin`
/// maps it back to the request) with the rows the façade refused itself, in request order.
fn merge_failures<R>(
    origin: &[usize],
    refused: Vec<(usize, Value)>,
    failed: &[FailedRow<R>],
    render: impl Fn(&FailedRow<R>) -> Value,
) -> Vec<Value> {
    let mut all = refused;
    all.extend(failed.iter().map(|f| {
        (
            origin.get(f.index).copied().unwrap_or(usize::MAX),
            render(f),
        )
    }));
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, v)| v).collect()
}

fn report(status: u16, imported: usize, details: Vec<Value>) -> Response {
    Response::new(
        status,
        json!({ "imported": imported, "failed": details.len(), "failed_details": details }),
    )
}

/// `POST /policies/cee/import`.
pub(super) fn import(engine: &Engine, op: &Operator, v: &Value) -> Handled {
    let rows = batch(v)?;
    let mut sent = Vec::with_capacity(rows.len());
    let mut origin = Vec::with_capacity(rows.len());
    let mut refused = Vec::new();
    for (i, row) in rows.into_iter().enumerate() {
        match IMPORT_ROW.read(row, &[]) {
            Ok([journey_type, phone_trunc, last_name_trunc, datetime]) => {
                sent.push(ImportRow {
                    journey_type: journey_type.to_owned(),
                    phone_trunc: phone_trunc.to_owned(),
                    last_name_trunc: last_name_trunc.to_owned(),
                    datetime: datetime.to_owned(),
                });
                origin.push(i);
            }
            Err(failed) => refused.push((i, failed)),
        }
    }
    let (imported, failed) = match sent.is_empty() {
        true => (0, Vec::new()),
        false => {
            let r = engine.import(op, &sent)?;
            (r.imported, r.failed_details)
        }
    };
    let render = |f: &FailedRow<ImportRow>| {
        json!({
            "journey_type": f.row.journey_type,
            "phone_trunc": f.row.phone_trunc,
            "last_name_trunc": f.row.last_name_trunc,
            "datetime": f.row.datetime,
            "error": f.error,
        })
    };
    let details = merge_failures(&origin, refused, &failed, render);
    Ok(report(201, imported, details))
}

fn identity_row(row: &Map<String, Value>) -> Result<IdentityRow, Value> {
    match row.get("cee_application_type").and_then(Value::as_str) {
        Some("standardized") => {
            let [_, uuid, key] = STANDARDIZED_ROW.read(row, &[])?;
            Ok(IdentityRow::Standardized {
                cee_application_uuid: uuid.to_owned(),
                identity_key: key.to_owned(),
            })
        }
        Some("specific") => {
            let [_, key, phone, name, jt, datetime] = SPECIFIC_ROW.read(row, &[])?;
            Ok(IdentityRow::Specific {
                identity_key: key.to_owned(),
                phone_trunc: phone.to_owned(),
                last_name_trunc: name.to_owned(),
                journey_type: jt.to_owned(),
                datetime: datetime.to_owned(),
            })
        }
        // Without a valid type only the type is checked (and it fails): the fields of both
        // kinds are tolerated, anything else is unknown.
        _ => UNTYPED_ROW.read(row, &IDENTITY_FIELDS[1..]).and_then(|_| {
            Err(failed_row(
                row,
                &one_error("/cee_application_type", TYPE_ERR),
            ))
        }),
    }
}

/// `POST /policies/cee/import/identity`.
pub(super) fn import_identity(engine: &Engine, op: &Operator, v: &Value) -> Handled {
    let rows = batch(v)?;
    let mut sent = Vec::with_capacity(rows.len());
    let mut origin = Vec::with_capacity(rows.len());
    let mut refused = Vec::new();
    for (i, row) in rows.into_iter().enumerate() {
        match identity_row(row) {
            Ok(r) => {
                sent.push(r);
                origin.push(i);
            }
            Err(failed) => refused.push((i, failed)),
        }
    }
    let (imported, failed) = match sent.is_empty() {
        true => (0, Vec::new()),
        false => {
            let r = engine.import_identity(op, &sent)?;
            (r.imported, r.failed_details)
        }
    };
    let render = |f: &FailedRow<IdentityRow>| match &f.row {
        IdentityRow::Standardized {
            cee_application_uuid,
            identity_key,
        } => json!({
            "cee_application_type": "standardized",
            "cee_application_uuid": cee_application_uuid,
            "identity_key": identity_key,
            "error": f.error,
        }),
        IdentityRow::Specific {
            identity_key,
            phone_trunc,
            last_name_trunc,
            journey_type,
            datetime,
        } => json!({
            "cee_application_type": "specific",
            "identity_key": identity_key,
            "phone_trunc": phone_trunc,
            "last_name_trunc": last_name_trunc,
            "journey_type": journey_type,
            "datetime": datetime,
            "error": f.error,
        }),
    };
    let details = merge_failures(&origin, refused, &failed, render);
    Ok(report(200, imported, details))
}

/// The fields of a standardized row: required ones first, in error order, with their checks.
const STANDARDIZED_REQUIRED: [(&str, Check); 5] = [
    ("journey_type", checker::<JourneyType>),
    ("datetime", checker::<Timestamp>),
    ("last_name_trunc", checker::<LastNameTrunc>),
    ("phone_trunc", checker::<PhoneTrunc>),
    ("driving_license", checker::<DrivingLicense>),
];
const STANDARDIZED_OPTIONAL: [(&str, Check); 5] = [
    ("identity_key", checker::<IdentityKey>),
    ("uuid", checker::<ApplicationId>),
    ("application_timestamp", checker::<Timestamp>),
    ("operator_journey_id", checker::<OperatorJourneyId>),
    ("token", |_| Ok(())),
];

/// A standardized row's fields; or, when one is missing, not a string, or unknown, the failed
/// row to report (every problem named; the engine checks the rest of a well-formed row).
fn standardized_row(row: &Map<String, Value>) -> Result<StandardizedRow, Value> {
    let mut e = FieldErrors::default();
    let mut shape_ok = true;
    let mut strings = |fields: &[(&'static str, Check)], required: bool| {
        let mut out = Vec::with_capacity(fields.len());
        for (key, check) in fields {
            let path = join("", key);
            match present(row, key) {
                None if required => {
                    e.push(path, "is required");
                    shape_ok = false;
                    out.push(None);
                }
                None => out.push(None),
                Some(Value::String(s)) => {
                    if let Err(m) = check(s) {
                        e.push(path, m);
                    }
                    out.push(Some(s.clone()));
                }
                Some(v) => {
                    e.push(path, format!("must be a string, not {}", kind(v)));
                    shape_ok = false;
                    out.push(None);
                }
            }
        }
        out
    };
    let required = strings(&STANDARDIZED_REQUIRED, true);
    let optional = strings(&STANDARDIZED_OPTIONAL, false);
    let mut unknown: Vec<&String> = row
        .keys()
        .filter(|k| {
            !STANDARDIZED_REQUIRED
                .iter()
                .chain(&STANDARDIZED_OPTIONAL)
                .any(|(f, _)| f == k)
        })
        .collect();
    unknown.sort();
    for k in &unknown {
        e.push(join("", k), "must not be present");
    }
    if !shape_ok || !unknown.is_empty() {
        let mut echo = failed_row(row, &e);
        canonical_field(&mut echo, "application_timestamp");
        return Err(echo);
    }
    let [jt, datetime, name, phone, license] =
        <[Option<String>; 5]>::try_from(required).unwrap_or_default();
    let [identity_key, uuid, application_timestamp, operator_journey_id, token] =
        <[Option<String>; 5]>::try_from(optional).unwrap_or_default();
    Ok(StandardizedRow {
        journey_type: jt.unwrap_or_default(),
        datetime: datetime.unwrap_or_default(),
        last_name_trunc: name.unwrap_or_default(),
        phone_trunc: phone.unwrap_or_default(),
        driving_license: license.unwrap_or_default(),
        identity_key,
        uuid,
        application_timestamp,
        operator_journey_id,
        token,
    })
}

/// Rewrites a datetime field of an echoed row in canonical form when it parses.
fn canonical_field(echo: &mut Value, key: &str) {
    if let Some(Value::String(d)) = echo.get_mut(key) {
        if let Ok(t) = d.parse::<Timestamp>() {
            *d = t.to_string();
        }
    }
}

/// `POST /policies/cee/import/standardized` (SPEC §11.2).
pub(super) fn import_standardized(engine: &Engine, op: &Operator, v: &Value) -> Handled {
    let rows = batch(v)?;
    let mut sent = Vec::with_capacity(rows.len());
    let mut origin = Vec::with_capacity(rows.len());
    let mut refused = Vec::new();
    for (i, row) in rows.into_iter().enumerate() {
        match standardized_row(row) {
            Ok(r) => {
                sent.push(r);
                origin.push(i);
            }
            Err(failed) => refused.push((i, failed)),
        }
    }
    let (imported, failed) = match sent.is_empty() {
        true => (0, Vec::new()),
        false => {
            let r = engine.import_standardized(op, &sent)?;
            (r.imported, r.failed_details)
        }
    };
    let render = |f: &FailedRow<StandardizedRow>| {
        let r = &f.row;
        let mut o = Map::new();
        for (k, v) in [
            ("journey_type", Some(&r.journey_type)),
            ("datetime", Some(&r.datetime)),
            ("last_name_trunc", Some(&r.last_name_trunc)),
            ("phone_trunc", Some(&r.phone_trunc)),
            ("driving_license", Some(&r.driving_license)),
            ("identity_key", r.identity_key.as_ref()),
            ("uuid", r.uuid.as_ref()),
            ("application_timestamp", r.application_timestamp.as_ref()),
            ("operator_journey_id", r.operator_journey_id.as_ref()),
            ("token", r.token.as_ref()),
        ] {
            if let Some(v) = v {
                o.insert(k.into(), Value::String(v.clone()));
            }
        }
        o.insert("error".into(), Value::String(f.error.clone()));
        Value::Object(o)
    };
    let details = merge_failures(&origin, refused, &failed, render);
    Ok(report(201, imported, details))
}

/// `POST /policies/cee/simulate`.
pub(super) fn simulate(engine: &Engine, op: &Operator, v: &Value) -> Handled {
    let mut e = FieldErrors::default();
    let mut o = Obj::new(v, "", &mut e).ok_or_else(|| Response::invalid(&e))?;
    let last_name_trunc = o.req::<LastNameTrunc>("last_name_trunc", &mut e);
    let phone_trunc = o.req::<PhoneTrunc>("phone_trunc", &mut e);
    let journey_type = o.req::<JourneyType>("journey_type", &mut e);
    let driving_license = o.opt::<DrivingLicense>("driving_license", &mut e);
    let identity_key = o.opt::<IdentityKey>("identity_key", &mut e);
    o.finish(&mut e);
    let (
        Some(last_name_trunc),
        Some(phone_trunc),
        Some(journey_type),
        Some(driving_license),
        Some(identity_key),
        true,
    ) = (
        last_name_trunc,
        phone_trunc,
        journey_type,
        driving_license,
        identity_key,
        e.is_empty(),
    )
    else {
        return Err(Response::invalid(e));
    };
    let req = SimulateRequest {
        journey_type,
        phone_trunc,
        last_name_trunc,
        driving_license,
        identity_key,
    };
    match engine.simulate(op, &req)? {
        Simulation::Eligible => Ok(Response::empty(200)),
        Simulation::Blocked(c) => Ok(Response::new(409, conflict(&c, false))),
    }
}

/// A conflict object ([`conflict_json`]) as a value.
fn conflict(c: &Conflict, full: bool) -> Value {
    Value::Object(conflict_json(c, full))
}

/// The public registry's conflict object: `uuid` (when the blocking application is the
/// caller's), `datetime`, and with `full` (a refused registration, not a simulation)
/// `journey_id` and `status` when known. `cee simulate` and `cee register` print the same.
pub fn conflict_json(c: &Conflict, full: bool) -> Map<String, Value> {
    let mut m = Map::new();
    if let Some(u) = c.uuid {
        m.insert("uuid".into(), u.to_string().into());
    }
    m.insert("datetime".into(), c.datetime.to_string().into());
    if full {
        if let Some(id) = c.journey_id {
            m.insert("journey_id".into(), id.into());
        }
        if let Some(s) = c.status {
            m.insert("status".into(), s.as_str().into());
        }
    }
    m
}

/// The public registry's body of an accepted registration: `uuid`, `datetime`, `token`, and
/// `journey_id`, `status` for a short one. `cee register` prints the same.
pub fn registration_json(r: &Registration) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("uuid".into(), r.uuid.to_string().into());
    m.insert("datetime".into(), r.datetime.to_string().into());
    m.insert("token".into(), r.token.clone().into());
    if let Some(id) = r.journey_id {
        m.insert("journey_id".into(), id.into());
    }
    if let Some(s) = r.status {
        m.insert("status".into(), s.as_str().into());
    }
    m
}

/// Reads a registration request, every field error together.
fn register_request(v: &Value) -> Result<RegisterRequest, FieldErrors> {
    let mut e = FieldErrors::default();
    let Some(mut o) = Obj::new(v, "", &mut e) else {
        return Err(e);
    };
    let application_timestamp = o.req::<Timestamp>("application_timestamp", &mut e);
    let journey_type = o.req::<JourneyType>("journey_type", &mut e);
    let driving_license = o.req::<DrivingLicense>("driving_license", &mut e);
    let last_name_trunc = o.req::<LastNameTrunc>("last_name_trunc", &mut e);
    let identity_key = o.req::<IdentityKey>("identity_key", &mut e);
    let kind = match journey_type {
        Some(JourneyType::Short) => {
            let id = o.req::<OperatorJourneyId>("operator_journey_id", &mut e);
            o.forbid("phone_trunc", "for a short journey", &mut e);
            o.forbid("datetime", "for a short journey", &mut e);
            id.map(|operator_journey_id| RegisterKind::Short {
                operator_journey_id,
            })
        }
        Some(JourneyType::Long) => {
            let phone = o.req::<PhoneTrunc>("phone_trunc", &mut e);
            let datetime = o.req::<Timestamp>("datetime", &mut e);
            o.forbid("operator_journey_id", "for a long journey", &mut e);
            phone
                .zip(datetime)
                .map(|(phone_trunc, datetime)| RegisterKind::Long {
                    phone_trunc,
                    datetime,
                })
        }
        None => {
            // Unknown type: check what is there, require nothing more.
            let _ = o.opt::<PhoneTrunc>("phone_trunc", &mut e);
            let _ = o.opt::<Timestamp>("datetime", &mut e);
            let _ = o.opt::<OperatorJourneyId>("operator_journey_id", &mut e);
            None
        }
    };
    o.finish(&mut e);
    match (
        kind,
        last_name_trunc,
        driving_license,
        identity_key,
        application_timestamp,
    ) {
        (
            Some(kind),
            Some(last_name_trunc),
            Some(driving_license),
            Some(identity_key),
            Some(application_timestamp),
        ) if e.is_empty() => Ok(RegisterRequest {
            kind,
            last_name_trunc,
            driving_license,
            identity_key,
            application_timestamp,
        }),
        _ => Err(e),
    }
}

/// `POST /policies/cee`.
pub(super) fn register(engine: &Engine, op: &Operator, v: &Value) -> Handled {
    let req = register_request(v).map_err(Response::invalid)?;
    match engine.register(op, &req)? {
        RegisterOutcome::Registered(r) => {
            Ok(Response::new(201, Value::Object(registration_json(&r))))
        }
        RegisterOutcome::Refused(Refusal::Date(rule)) => Err(Response::invalid(rule)),
        RegisterOutcome::Refused(Refusal::JourneyNotFound) => {
            Err(Response::not_found("journey not found"))
        }
        RegisterOutcome::Refused(Refusal::JourneyNotEligible(why)) => Err(Response::not_found(
            &format!("journey is not eligible: {why}"),
        )),
        RegisterOutcome::Refused(Refusal::Conflict(c)) => {
            let mut body = conflict(&c, true);
            if let Value::Object(m) = &mut body {
                // SPEC §11.3: say whether the journey was taken or the beneficiary benefited.
                let reason = match c.reason {
                    ConflictReason::JourneyTaken => "journey_taken",
                    _ => "already_benefited",
                };
                m.insert("reason".into(), reason.into());
            }
            Err(Response::new(409, body))
        }
    }
}

/// The `{uuid}` of a path, decoded and parsed.
fn uuid(raw: &str) -> Option<ApplicationId> {
    path::percent_decode(raw)?.parse().ok()
}

/// `GET /policies/cee/{uuid}`.
pub(super) fn find(engine: &Engine, op: &Operator, raw: &str) -> Handled {
    let id =
        uuid(raw).ok_or_else(|| Response::invalid(one_error("/uuid", "must be a valid uuid")))?;
    let a = engine.find(op, &id)?;
    Ok(Response::new(
        200,
        json!({
            "uuid": a.uuid.to_string(),
            "datetime": a.datetime.to_string(),
            "journey_id": a.journey_id,
            "status": a.status.map(|s| s.as_str()),
            "token": a.token,
        }),
    ))
}

/// `DELETE /policies/cee/{uuid}`.
pub(super) fn delete(engine: &Engine, op: &Operator, raw: &str) -> Handled {
    let id = uuid(raw).ok_or_else(|| Response::not_found("application not found"))?;
    engine.delete(op, &id)?;
    Ok(Response::empty(204))
}
