//! `cee import`: bulk-load a history file (CSV or JSON array) in calls of 1000 rows.
//!
//! * CSV: a header naming the columns `journey_type,phone_trunc,last_name_trunc,datetime` (any
//!   order), `,` or `;` delimiter (detected from the header line), optional UTF-8 BOM.
//! * JSON: an array of objects with exactly those four string properties (detected by a first
//!   non-space character `[`).
//!
//! Every row is validated on its own; failed rows go to the report file (`--report`: JSON lines
//! when it ends in `.json`, `.jsonl` or `.ndjson`, CSV otherwise) with their 1-based record
//! number in the input (header excluded) and the error.
//!
//! `--standardized`: the file holds past *standardized* applications instead (SPEC §11.2,
//! `standardized.rs`).

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use cee_eligibility::{Durability, Engine, ImportRow, Operator, MAX_IMPORT_ROWS};
use indicatif::{ProgressBar, ProgressStyle};

use crate::policy_args::PolicyArgs;
use crate::{DbArgs, OperatorArgs, Outcome, Result};

/// Rows per engine call (the engine's maximum).
const BATCH: usize = MAX_IMPORT_ROWS;
/// The four columns / properties of a row.
const COLUMNS: [&str; 4] = ["journey_type", "phone_trunc", "last_name_trunc", "datetime"];
/// Failures echoed on stderr when there is no report file.
const SHOWN_FAILURES: usize = 5;

/// Arguments of `cee import`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub(crate) db: DbArgs,
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    pub(crate) operator: OperatorArgs,
    /// Where to write the rows that failed (JSON lines if it ends in .json/.jsonl/.ndjson,
    /// CSV otherwise).
    #[arg(long, value_name = "FILE")]
    pub(crate) report: Option<PathBuf>,
    /// The file holds past *standardized* applications (columns/properties `journey_type`,
    /// `datetime`, `last_name_trunc`, `phone_trunc`, `driving_license`, and optionally
    /// `identity_key`, `uuid` (or the old registry's `_id`), `application_timestamp`,
    /// `operator_journey_id`, `token`, `is_specific`), kept with their uuids and tokens.
    #[arg(long)]
    pub(crate) standardized: bool,
    /// The history file: CSV with a header line, or a JSON array of objects.
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,
}

/// One input row, numbered, possibly already refused before reaching the engine.
struct Numbered {
    record: u64,
    row: ImportRow,
    /// A structural problem found while reading (bad field count, not a string, …).
    error: Option<String>,
}

/// A row that failed, for the report.
#[derive(serde::Serialize)]
struct Failure {
    record: u64,
    journey_type: String,
    phone_trunc: String,
    last_name_trunc: String,
    datetime: String,
    error: String,
}

/// Runs `cee import`.
pub fn run(args: &Args) -> Result<Outcome> {
    if args.standardized {
        return crate::standardized::run(args);
    }
    let format = detect(&args.file)?;
    let operator = args.operator.operator();
    // Buffered: no flush per call; the single flush at the end makes the whole import durable.
    let policy = args.policy.resolve()?;
    let engine = args
        .db
        .open(|c| c.durability(Durability::Buffered).policy(policy))?;
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

    match format {
        Format::Json => {
            let rows = read_json(&args.file)?;
            let pb = progress_bar(rows.len() as u64);
            for chunk in rows.chunks(BATCH) {
                let failures = import_batch(&engine, &operator, chunk, &mut totals)?;
                sink(failures, &mut totals)?;
                pb.inc(chunk.len() as u64);
            }
            pb.finish_and_clear();
        }
        Format::Csv => {
            let delimiter = csv_delimiter(&args.file)?;
            let total = count_csv_records(&args.file, delimiter)?;
            let pb = progress_bar(total);
            let mut reader = CsvRows::open(&args.file, delimiter)?;
            let mut chunk = Vec::with_capacity(BATCH);
            loop {
                chunk.clear();
                while chunk.len() < BATCH {
                    match reader.next_row()? {
                        Some(r) => chunk.push(r),
                        None => break,
                    }
                }
                if chunk.is_empty() {
                    break;
                }
                let failures = import_batch(&engine, &operator, &chunk, &mut totals)?;
                sink(failures, &mut totals)?;
                pb.inc(chunk.len() as u64);
            }
            pb.finish_and_clear();
        }
    }
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
        "read {} rows: {} imported, {} failed{where_}, in {:.2} s ({:.0} rows/s); flushed to disk",
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

#[derive(Default)]
pub(crate) struct Totals {
    pub(crate) read: u64,
    pub(crate) imported: u64,
    pub(crate) failed: u64,
}

pub(crate) fn progress_bar(len: u64) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(
            "[{bar:40}] {human_pos}/{human_len} rows  {per_sec:>14}  eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    pb
}

/// Sends the rows that passed reading to the engine; returns every failure of the chunk in
/// record order.
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
        let rows: Vec<ImportRow> = sent.iter().map(|n| n.row.clone()).collect();
        let report = engine.import(operator, &rows)?;
        totals.imported += report.imported as u64;
        for detail in &report.failed_details {
            let n = sent
                .get(detail.index)
                .ok_or("the engine reported a row it was not sent")?;
            failures.push(failure(n, detail.error.clone()));
        }
    }
    failures.sort_by_key(|f| f.record);
    Ok(failures)
}

fn failure(n: &Numbered, error: String) -> Failure {
    Failure {
        record: n.record,
        journey_type: n.row.journey_type.clone(),
        phone_trunc: n.row.phone_trunc.clone(),
        last_name_trunc: n.row.last_name_trunc.clone(),
        datetime: n.row.datetime.clone(),
        error,
    }
}

// ------------------------------------------------------------------ input formats

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Csv,
    Json,
}

pub(crate) fn open_input(path: &Path) -> Result<BufReader<File>> {
    let file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    // Skip a UTF-8 byte order mark.
    let buf = reader.fill_buf()?;
    if buf.starts_with(b"\xEF\xBB\xBF") {
        reader.consume(3);
    }
    Ok(reader)
}

/// JSON when the first non-space character is `[`, CSV otherwise.
pub(crate) fn detect(path: &Path) -> Result<Format> {
    let mut reader = open_input(path)?;
    let mut head = [0u8; 4096];
    let n = reader.read(&mut head)?;
    Ok(match head[..n].iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => Format::Json,
        _ => Format::Csv,
    })
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
        return Numbered {
            record,
            row: ImportRow::default(),
            error: Some("/: must be an object".into()),
        };
    };
    let mut row = ImportRow::default();
    let mut errors = Vec::new();
    for (key, v) in &map {
        let slot = match key.as_str() {
            "journey_type" => &mut row.journey_type,
            "phone_trunc" => &mut row.phone_trunc,
            "last_name_trunc" => &mut row.last_name_trunc,
            "datetime" => &mut row.datetime,
            other => {
                errors.push(format!("/{other}: unknown property"));
                continue;
            }
        };
        match v {
            serde_json::Value::String(s) => slot.clone_from(s),
            other => {
                *slot = other.to_string();
                errors.push(format!("/{key}: must be a string"));
            }
        }
    }
    for c in COLUMNS {
        if !map.contains_key(c) {
            errors.push(format!("/{c}: is required"));
        }
    }
    Numbered {
        record,
        row,
        error: (!errors.is_empty()).then(|| errors.join(", ")),
    }
}

/// `;` when the header line has more semicolons than commas, else `,`.
pub(crate) fn csv_delimiter(path: &Path) -> Result<u8> {
    let mut reader = open_input(path)?;
    let mut header = Vec::new();
    reader.read_until(b'\n', &mut header)?;
    let count = |c| header.iter().filter(|b| **b == c).count();
    Ok(if count(b';') > count(b',') {
        b';'
    } else {
        b','
    })
}

pub(crate) fn csv_reader(path: &Path, delimiter: u8) -> Result<csv::Reader<BufReader<File>>> {
    Ok(csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(true)
        .from_reader(open_input(path)?))
}

pub(crate) fn count_csv_records(path: &Path, delimiter: u8) -> Result<u64> {
    let mut reader = csv_reader(path, delimiter)?;
    let mut record = csv::ByteRecord::new();
    let mut n = 0;
    while reader.read_byte_record(&mut record)? {
        n += 1;
    }
    Ok(n)
}

/// Streams CSV records as numbered rows.
struct CsvRows {
    reader: csv::Reader<BufReader<File>>,
    /// Column index of each of [`COLUMNS`].
    index: [usize; 4],
    width: usize,
    record: csv::ByteRecord,
    count: u64,
}

impl CsvRows {
    fn open(path: &Path, delimiter: u8) -> Result<Self> {
        let mut reader = csv_reader(path, delimiter)?;
        let headers = reader.byte_headers()?.clone();
        let names: Vec<String> = headers
            .iter()
            .map(|h| String::from_utf8_lossy(h).trim().to_owned())
            .collect();
        let expected = COLUMNS.join(",");
        if let Some(unknown) = names.iter().find(|n| !COLUMNS.contains(&n.as_str())) {
            return Err(format!(
                "{}: unknown column {unknown:?} in the header (expected {expected})",
                path.display()
            )
            .into());
        }
        let mut index = [0; 4];
        for (slot, column) in index.iter_mut().zip(COLUMNS) {
            let positions: Vec<usize> = names
                .iter()
                .enumerate()
                .filter(|(_, n)| *n == column)
                .map(|(i, _)| i)
                .collect();
            *slot = match positions.as_slice() {
                [one] => *one,
                [] => {
                    return Err(format!(
                        "{}: the header has no column {column} (expected {expected})",
                        path.display()
                    )
                    .into())
                }
                _ => {
                    return Err(format!("{}: column {column} appears twice", path.display()).into())
                }
            };
        }
        Ok(CsvRows {
            reader,
            index,
            width: names.len(),
            record: csv::ByteRecord::new(),
            count: 0,
        })
    }

    fn next_row(&mut self) -> Result<Option<Numbered>> {
        if !self.reader.read_byte_record(&mut self.record)? {
            return Ok(None);
        }
        self.count += 1;
        let mut errors = Vec::new();
        if self.record.len() != self.width {
            errors.push(format!(
                "/: has {} fields, the header has {}",
                self.record.len(),
                self.width
            ));
        }
        let mut field = |i: usize| -> String {
            let raw = self.record.get(self.index[i]).unwrap_or_default();
            match std::str::from_utf8(raw) {
                Ok(s) => s.to_owned(),
                Err(_) => {
                    errors.push(format!("/{}: must be valid UTF-8", COLUMNS[i]));
                    String::from_utf8_lossy(raw).into_owned()
                }
            }
        };
        let row = ImportRow {
            journey_type: field(0),
            phone_trunc: field(1),
            last_name_trunc: field(2),
            datetime: field(3),
        };
        Ok(Some(Numbered {
            record: self.count,
            row,
            error: (!errors.is_empty()).then(|| errors.join(", ")),
        }))
    }
}

// ------------------------------------------------------------------ report

pub(crate) enum Report {
    Csv(Box<csv::Writer<File>>),
    JsonLines(BufWriter<File>),
}

impl Report {
    pub(crate) fn create(path: &Path) -> Result<Self> {
        let file =
            File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        let json = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "json" | "jsonl" | "ndjson"));
        Ok(if json {
            Report::JsonLines(BufWriter::new(file))
        } else {
            Report::Csv(Box::new(csv::Writer::from_writer(file)))
        })
    }

    pub(crate) fn write(&mut self, f: &impl serde::Serialize) -> Result<()> {
        match self {
            Report::Csv(w) => w.serialize(f)?,
            Report::JsonLines(w) => {
                serde_json::to_writer(&mut *w, f)?;
                w.write_all(b"\n")?;
            }
        }
        Ok(())
    }

    pub(crate) fn finish(&mut self) -> Result<()> {
        match self {
            Report::Csv(w) => w.flush()?,
            Report::JsonLines(w) => w.flush()?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(jt: &str, phone: &str, name: &str, dt: &str) -> ImportRow {
        ImportRow {
            journey_type: jt.into(),
            phone_trunc: phone.into(),
            last_name_trunc: name.into(),
            datetime: dt.into(),
        }
    }

    #[test]
    fn failures_keep_their_record_numbers() {
        let engine = Engine::open(cee_eligibility::Config::temporary()).unwrap();
        let op = Operator::new(1, "89248032800012".parse().unwrap());
        let ok = row("short", "+336273488", "ABC", "2022-01-01T01:00:00+01:00");
        // The same person again (another spelling of the date), an unreadable record, a bad
        // phone: each failure is reported under its own record number, in record order.
        let chunk = [
            Numbered {
                record: 10,
                row: ok.clone(),
                error: None,
            },
            Numbered {
                record: 11,
                row: row("x", "", "", ""),
                error: Some("unreadable".into()),
            },
            Numbered {
                record: 12,
                row: row("short", "+336273488", "ABC", "2022-01-01T00:00:00Z"),
                error: None,
            },
            Numbered {
                record: 13,
                row: row("long", "12", "ABC", "2022-01-01T00:00:00Z"),
                error: None,
            },
        ];
        let mut totals = Totals::default();
        let failures = import_batch(&engine, &op, &chunk, &mut totals).unwrap();
        let got: Vec<(u64, &str)> = failures.iter().map(|f| (f.record, &f.error[..])).collect();
        assert_eq!(got[0], (11, "unreadable"));
        assert_eq!(got[1], (12, "Conflict"));
        assert_eq!(got[2].0, 13);
        assert!(got[2].1.starts_with("/phone_trunc"), "{}", got[2].1);
        assert_eq!(failures[1].datetime, "2022-01-01T00:00:00Z");
        assert_eq!((totals.read, totals.imported), (4, 1));
    }

    #[test]
    fn json_rows_are_checked_for_shape() {
        let v = serde_json::json!({"journey_type": "short", "phone_trunc": 5, "extra": "x"});
        let n = json_row(3, v);
        assert_eq!(n.record, 3);
        let e = n.error.unwrap_or_default();
        assert!(e.contains("/phone_trunc: must be a string"), "{e}");
        assert!(e.contains("/extra: unknown property"), "{e}");
        assert!(e.contains("/datetime: is required"), "{e}");
        assert!(json_row(1, serde_json::json!([1])).error.is_some());
    }
}
