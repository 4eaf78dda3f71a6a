//! `cee import --standardized FILE`: past standardized applications (SPEC §11.2), in calls of
//! 1000 rows, with the progress bar, summary and failed-rows report of `cee import`.
//!
//! * Columns / properties: the fields of [`StandardizedRow`] (`journey_type`, `datetime`,
//!   `last_name_trunc`, `phone_trunc`, `driving_license` required; `identity_key`, `uuid`,
//!   `application_timestamp`, `operator_journey_id`, `token` optional — an empty CSV cell or a
//!   JSON `null` is absent). The decommissioned registry's `cee_applications` column `_id` is
//!   read as `uuid`; a row whose `is_specific` is true (`true`, `t`, `1`, `yes`, any case) is
//!   refused: specific history goes through `cee import`.
//! * CSV (header line, `,` or `;`, optional BOM) or a JSON array of objects, as `cee import`.

use std::path::Path;
use std::time::Instant;

use cee_eligibility::{Durability, Engine, Operator, StandardizedRow, MAX_IMPORT_ROWS};

use crate::import::{
    csv_delimiter, csv_reader, detect, open_input, progress_bar, Args, Format, Report, Totals,
};
use crate::{Outcome, Result};

/// Every column / property understood, `_id` and `is_specific` included.
const COLUMNS: [&str; 12] = [
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
    "_id",
    "is_specific",
];
const REQUIRED: usize = 5;
const SHOWN_FAILURES: usize = 5;

/// One input row, numbered, possibly refused while reading.
struct Numbered {
    record: u64,
    row: StandardizedRow,
    error: Option<String>,
}

/// A row that failed, for the report: its record number, the row as read, the error.
#[derive(serde::Serialize)]
struct Failure {
    record: u64,
    journey_type: String,
    datetime: String,
    last_name_trunc: String,
    phone_trunc: String,
    driving_license: String,
    identity_key: Option<String>,
    uuid: Option<String>,
    application_timestamp: Option<String>,
    operator_journey_id: Option<String>,
    token: Option<String>,
    error: String,
}

impl Failure {
    fn new(record: u64, row: StandardizedRow, error: String) -> Self {
        Failure {
            record,
            journey_type: row.journey_type,
            datetime: row.datetime,
            last_name_trunc: row.last_name_trunc,
            phone_trunc: row.phone_trunc,
            driving_license: row.driving_license,
            identity_key: row.identity_key,
            uuid: row.uuid,
            application_timestamp: row.application_timestamp,
            operator_journey_id: row.operator_journey_id,
            token: row.token,
            error,
        }
    }
}

/// Runs `cee import --standardized`.
pub fn run(args: &Args) -> Result<Outcome> {
    let format = detect(&args.file)?;
    let operator = args.operator.operator();
    // Buffered: the single flush at the end makes the whole import durable.
    let engine = args.db.open(|c| c.durability(Durability::Buffered))?;
    let mut report = match &args.report {
        Some(path) => Some(Report::create(path)?),
        None => None,
    };
    let started = Instant::now();
    let mut totals = Totals::default();
    let mut shown = Vec::new();
    let mut sink = |failures: Vec<Failure>, totals: &mut Totals| -> Result<()> {
        totals.failed += failures.len() as u64;
        for f in failures {
            match report.as_mut() {
                Some(r) => r.write(&f)?,
                None if shown.len() < SHOWN_FAILURES => {
                    shown.push(format!("record {}: {}", f.record, f.error));
                }
                None => {}
            }
        }
        Ok(())
    };
    let rows = match format {
        Format::Json => read_json(&args.file)?,
        Format::Csv => read_csv(&args.file)?,
    };
    let pb = progress_bar(rows.len() as u64);
    for chunk in rows.chunks(MAX_IMPORT_ROWS) {
        let failures = import_batch(&engine, &operator, chunk, &mut totals)?;
        sink(failures, &mut totals)?;
        pb.inc(chunk.len() as u64);
    }
    pb.finish_and_clear();
    engine.flush()?;
    if let Some(r) = report.as_mut() {
        r.finish()?;
    }
    let secs = started.elapsed().as_secs_f64();
    let where_ = match (&args.report, totals.failed) {
        (_, 0) => String::new(),
        (Some(p), _) => format!(" (details in {})", p.display()),
        (None, _) => " (use --report FILE to keep them all)".into(),
    };
    for line in &shown {
        eprintln!("failed {line}");
    }
    if args.report.is_none() && totals.failed > shown.len() as u64 {
        eprintln!("… and {} more", totals.failed - shown.len() as u64);
    }
    println!(
        "read {} standardized applications: {} imported, {} failed{where_}, in {:.2} s \
         ({:.0} rows/s); flushed to disk",
        totals.read,
        totals.imported,
        totals.failed,
        secs,
        totals.read as f64 / secs.max(1e-9)
    );
    Ok(if totals.failed == 0 {
        Outcome::Positive
    } else {
        Outcome::Negative
    })
}

/// Sends the rows that passed reading to the engine; every failure of the chunk, in order.
fn import_batch(
    engine: &Engine,
    operator: &Operator,
    chunk: &[Numbered],
    totals: &mut Totals,
) -> Result<Vec<Failure>> {
    totals.read += chunk.len() as u64;
    let mut failures: Vec<Failure> = chunk
        .iter()
        .filter_map(|n| n.error.as_ref().map(|e| failure(n, e.clone())))
        .collect();
    let sent: Vec<&Numbered> = chunk.iter().filter(|n| n.error.is_none()).collect();
    if !sent.is_empty() {
        let rows: Vec<StandardizedRow> = sent.iter().map(|n| n.row.clone()).collect();
        let report = engine.import_standardized(operator, &rows)?;
        totals.imported += report.imported as u64;
        for detail in &report.failed_details {
            let n = sent
                .get(detail.index)
                .ok_or("the engine reported a row it was not sent")?;
            failures.push(Failure::new(
                n.record,
                detail.row.clone(),
                detail.error.clone(),
            ));
        }
    }
    failures.sort_by_key(|f| f.record);
    Ok(failures)
}

fn failure(n: &Numbered, error: String) -> Failure {
    Failure::new(n.record, n.row.clone(), error)
}

/// Reads `is_specific`: `Ok(true)` refuses the row.
fn is_specific(s: &str) -> std::result::Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "1" | "yes" => Ok(true),
        "false" | "f" | "0" | "no" | "" => Ok(false),
        _ => Err("/is_specific: must be true or false".into()),
    }
}

/// Builds a row from `(column, value)` pairs; collects the reading errors.
fn build(record: u64, fields: Vec<(&str, Option<String>)>, mut errors: Vec<String>) -> Numbered {
    let mut row = StandardizedRow::default();
    for (column, value) in fields {
        let slot = match column {
            "journey_type" => {
                row.journey_type = value.unwrap_or_default();
                continue;
            }
            "datetime" => {
                row.datetime = value.unwrap_or_default();
                continue;
            }
            "last_name_trunc" => {
                row.last_name_trunc = value.unwrap_or_default();
                continue;
            }
            "phone_trunc" => {
                row.phone_trunc = value.unwrap_or_default();
                continue;
            }
            "driving_license" => {
                row.driving_license = value.unwrap_or_default();
                continue;
            }
            "identity_key" => &mut row.identity_key,
            "uuid" | "_id" => {
                if row.uuid.is_some() && value.is_some() {
                    errors.push("/uuid: given twice (uuid and _id)".into());
                }
                &mut row.uuid
            }
            "application_timestamp" => &mut row.application_timestamp,
            "operator_journey_id" => &mut row.operator_journey_id,
            "token" => &mut row.token,
            "is_specific" => {
                match is_specific(value.as_deref().unwrap_or_default()) {
                    Ok(true) => errors.push(
                        "/is_specific: a specific application (import it with cee import \
                         without --standardized)"
                            .into(),
                    ),
                    Ok(false) => {}
                    Err(e) => errors.push(e),
                }
                continue;
            }
            other => {
                errors.push(format!("/{other}: unknown property"));
                continue;
            }
        };
        if value.is_some() {
            *slot = value;
        }
    }
    Numbered {
        record,
        row,
        error: (!errors.is_empty()).then(|| errors.join(", ")),
    }
}

fn read_json(path: &Path) -> Result<Vec<Numbered>> {
    let reader = open_input(path)?;
    let values: Vec<serde_json::Value> = serde_json::from_reader(reader)
        .map_err(|e| format!("{} is not a JSON array of rows: {e}", path.display()))?;
    Ok(values
        .into_iter()
        .enumerate()
        .map(|(i, v)| json_row(i as u64 + 1, v))
        .collect())
}

fn json_row(record: u64, value: serde_json::Value) -> Numbered {
    let serde_json::Value::Object(map) = value else {
        return build(record, Vec::new(), vec!["/: must be an object".into()]);
    };
    let mut errors = Vec::new();
    let mut fields = Vec::with_capacity(map.len());
    for (key, v) in &map {
        let column = COLUMNS
            .iter()
            .find(|c| **c == key.as_str())
            .copied()
            .unwrap_or(key.as_str());
        let value = match v {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Bool(b) if column == "is_specific" => Some(b.to_string()),
            other => {
                errors.push(format!("/{key}: must be a string"));
                Some(other.to_string())
            }
        };
        fields.push((column, value));
    }
    for c in &COLUMNS[..REQUIRED] {
        if map.get(*c).is_none_or(serde_json::Value::is_null) {
            errors.push(format!("/{c}: is required"));
        }
    }
    build(record, fields, errors)
}

fn read_csv(path: &Path) -> Result<Vec<Numbered>> {
    let delimiter = csv_delimiter(path)?;
    let mut reader = csv_reader(path, delimiter)?;
    let names: Vec<String> = reader
        .byte_headers()?
        .iter()
        .map(|h| String::from_utf8_lossy(h).trim().to_owned())
        .collect();
    let mut columns = Vec::with_capacity(names.len());
    for name in &names {
        let Some(c) = COLUMNS.iter().find(|c| **c == name.as_str()) else {
            return Err(format!(
                "{}: unknown column {name:?} in the header (expected some of {})",
                path.display(),
                COLUMNS.join(",")
            )
            .into());
        };
        if columns.contains(c) {
            return Err(format!("{}: column {name} appears twice", path.display()).into());
        }
        columns.push(*c);
    }
    for c in &COLUMNS[..REQUIRED] {
        if !columns.contains(c) {
            return Err(format!("{}: the header has no column {c}", path.display()).into());
        }
    }
    let mut rows = Vec::new();
    let mut record = csv::ByteRecord::new();
    let mut n = 0;
    while reader.read_byte_record(&mut record)? {
        n += 1;
        let mut errors = Vec::new();
        if record.len() != columns.len() {
            errors.push(format!(
                "/: has {} fields, the header has {}",
                record.len(),
                columns.len()
            ));
        }
        let mut fields = Vec::with_capacity(columns.len());
        for (i, column) in columns.iter().enumerate() {
            let raw = record.get(i).unwrap_or_default();
            let text = match std::str::from_utf8(raw) {
                Ok(s) => s.to_owned(),
                Err(_) => {
                    errors.push(format!("/{column}: must be valid UTF-8"));
                    String::from_utf8_lossy(raw).into_owned()
                }
            };
            // An empty cell is an absent optional field (a required one fails validation).
            let required = COLUMNS[..REQUIRED].contains(column);
            fields.push((*column, (required || !text.is_empty()).then_some(text)));
        }
        rows.push(build(n, fields, errors));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_registry_columns_are_understood() {
        let v = serde_json::json!({"_id": "0f8fad5b-d9cb-469f-a165-70867728950e", "is_specific": false,
            "journey_type": "long", "datetime": "2024-01-01T00:00:00Z", "last_name_trunc": "ABC",
            "phone_trunc": "+336273488", "driving_license": "LIC1", "token": null});
        let n = json_row(1, v);
        assert_eq!(n.error, None);
        assert_eq!(
            n.row.uuid.as_deref(),
            Some("0f8fad5b-d9cb-469f-a165-70867728950e")
        );
        assert_eq!(n.row.token, None);
        let v = serde_json::json!({"is_specific": "t", "journey_type": 3, "x": 1});
        let e = json_row(2, v).error.unwrap_or_default();
        for part in [
            "/is_specific: a specific application",
            "/journey_type: must be a string",
            "/x: unknown property",
            "/driving_license: is required",
        ] {
            assert!(e.contains(part), "{part} in {e}");
        }
        let e = json_row(3, serde_json::json!({"uuid": "a", "_id": "b"}))
            .error
            .unwrap_or_default();
        assert!(e.contains("/uuid: given twice"), "{e}");
        assert!(json_row(4, serde_json::json!([1])).error.is_some());
        assert_eq!(is_specific("TRUE"), Ok(true));
        assert_eq!(is_specific(" f "), Ok(false));
        assert!(is_specific("maybe").is_err());
    }
}
