use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};

use super::FieldError;

/// A UTC instant at millisecond precision (`datetime`, `application_timestamp`, journey times).
///
/// Parsed from RFC 3339 with a **mandatory** offset: `T`, `t` or space separator, 0–9
/// fractional digits (truncated to milliseconds), `Z`/`z`/`±hh:mm`/`±hhmm`, real calendar dates
/// only, at most 64 characters. Displayed as `YYYY-MM-DDTHH:MM:SS.sssZ`.
///
/// ```
/// use cee_eligibility::Timestamp;
/// let t: Timestamp = "2023-01-02T00:00:00+01:00".parse()?;
/// assert_eq!(t.to_string(), "2023-01-01T23:00:00.000Z");
/// # Ok::<(), cee_eligibility::FieldError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(i64);

/// 0000-01-01T00:00:00Z in milliseconds since the Unix epoch.
const MIN_MS: i64 = -62_167_219_200_000;
/// 9999-12-31T23:59:59.999Z in milliseconds since the Unix epoch.
const MAX_MS: i64 = 253_402_300_799_999;

impl Timestamp {
    /// The earliest representable instant, 0000-01-01T00:00:00.000Z.
    pub const MIN: Timestamp = Timestamp(MIN_MS);
    /// The latest representable instant, 9999-12-31T23:59:59.999Z.
    pub const MAX: Timestamp = Timestamp(MAX_MS);

    /// From milliseconds since the Unix epoch; `None` outside years 0000–9999.
    pub const fn from_millis(ms: i64) -> Option<Self> {
        if ms >= MIN_MS && ms <= MAX_MS {
            Some(Timestamp(ms))
        } else {
            None
        }
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// As a chrono UTC date-time.
    pub fn to_chrono(self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.0).unwrap_or_default()
    }

    /// From a chrono UTC date-time (sub-millisecond part truncated); `None` outside years
    /// 0000–9999.
    pub fn from_chrono(dt: DateTime<Utc>) -> Option<Self> {
        Self::from_millis(dt.timestamp_millis())
    }
}

const ERR: FieldError = FieldError::new(
    "datetime",
    "must be an rfc 3339 date-time with a time zone offset",
);

fn num(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')))
}

fn parse(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    if b.len() > 64 || b.len() < 20 {
        return None;
    }
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = num(&b[0..4])?;
    let month = num(&b[5..7])?;
    let day = num(&b[8..10])?;
    let hour = num(&b[11..13])?;
    let minute = num(&b[14..16])?;
    let second = num(&b[17..19])?;
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    let mut rest = &b[19..];
    let mut millis = 0u32;
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if !(1..=9).contains(&n) {
            return None;
        }
        for (i, d) in frac[..n.min(3)].iter().enumerate() {
            millis += u32::from(d - b'0') * [100, 10, 1][i];
        }
        rest = &frac[n..];
    }
    let offset_minutes: i64 = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] | [sign @ (b'+' | b'-'), h1, h2, m1, m2] => {
            let h = num(&[*h1, *h2])?;
            let m = num(&[*m1, *m2])?;
            if h > 23 || m > 59 {
                return None;
            }
            let total = i64::from(h * 60 + m);
            if *sign == b'-' {
                -total
            } else {
                total
            }
        }
        _ => return None,
    };
    let naive = date.and_hms_milli_opt(hour, minute, second, millis)?;
    let local_ms = naive.and_utc().timestamp_millis();
    Timestamp::from_millis(local_ms - offset_minutes * 60_000)
}

impl FromStr for Timestamp {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        parse(s).ok_or(ERR)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_chrono().format("%Y-%m-%dT%H:%M:%S%.3fZ"))
    }
}

string_serde!(Timestamp, "an rfc 3339 date-time");
