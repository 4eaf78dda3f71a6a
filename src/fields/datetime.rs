//! `datetime` / `application_timestamp`: RFC 3339 date-times as UTC milliseconds.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

use super::FieldError;

/// A UTC instant at millisecond precision (`datetime`, `application_timestamp`, journey times).
///
/// Parsed from RFC 3339 with a **mandatory** offset: `T`, `t` or space separator, 0–9
/// fractional digits (truncated to milliseconds, never rounded), `Z`/`z`/`±hh:mm`/`±hhmm`,
/// real calendar dates only (no Feb 30, no `24:00`, no leap second `:60`), at most 64
/// characters. Years are four digits (0000–9999) and the UTC instant must stay within
/// 0000-01-01T00:00:00.000Z ..= 9999-12-31T23:59:59.999Z, so that it always displays as
/// `YYYY-MM-DDTHH:MM:SS.sssZ`.
///
/// Errors name the field `datetime`; use [`FieldError::for_field`] for other names.
///
/// ```
/// use cee_eligibility::Timestamp;
/// let t: Timestamp = "2023-01-02T00:00:00+01:00".parse()?;
/// assert_eq!(t.to_string(), "2023-01-01T23:00:00.000Z");
/// assert!("2023-01-02T00:00:00".parse::<Timestamp>().is_err()); // no offset
/// # Ok::<(), cee_eligibility::FieldError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(i64);

/// 0000-01-01T00:00:00Z in milliseconds since the Unix epoch.
const MIN_MS: i64 = -62_167_219_200_000;
/// 9999-12-31T23:59:59.999Z in milliseconds since the Unix epoch.
const MAX_MS: i64 = 253_402_300_799_999;
/// Longest accepted input: a full date-time with nine fractional digits and an offset is 35.
const MAX_LEN: usize = 64;

impl Timestamp {
    /// The earliest representable instant, 0000-01-01T00:00:00.000Z.
    pub const MIN: Timestamp = Timestamp(MIN_MS);
    /// The latest representable instant, 9999-12-31T23:59:59.999Z.
    pub const MAX: Timestamp = Timestamp(MAX_MS);

    /// From milliseconds since the Unix epoch; `None` outside years 0000–9999.
    ///
    /// ```
    /// use cee_eligibility::Timestamp;
    /// let t = Timestamp::from_millis(0).map(|t| t.to_string());
    /// assert_eq!(t.as_deref(), Some("1970-01-01T00:00:00.000Z"));
    /// assert_eq!(Timestamp::from_millis(i64::MAX), None);
    /// ```
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
        // Always in chrono's range: years 0000–9999 are.
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

/// Two ASCII digits as a number.
fn two(a: u8, b: u8) -> Option<u32> {
    if a.is_ascii_digit() && b.is_ascii_digit() {
        Some(u32::from(a - b'0') * 10 + u32::from(b - b'0'))
    } else {
        None
    }
}

/// The whole grammar, on bytes: slice patterns, no indexing, so no input can panic it.
fn parse(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    if b.len() > MAX_LEN {
        return None;
    }
    let [y1, y2, y3, y4, b'-', mo1, mo2, b'-', d1, d2, b'T' | b't' | b' ', h1, h2, b':', mi1, mi2, b':', s1, s2, rest @ ..] =
        b
    else {
        return None;
    };
    let year = two(*y1, *y2)? * 100 + two(*y3, *y4)?;
    let (month, day) = (two(*mo1, *mo2)?, two(*d1, *d2)?);
    let (hour, minute, second) = (two(*h1, *h2)?, two(*mi1, *mi2)?, two(*s1, *s2)?);
    // chrono would read 60 seconds as a leap second: refuse it (and 24:00) first.
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;

    let mut rest = rest;
    let mut millis = 0u32;
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if !(1..=9).contains(&n) {
            return None;
        }
        let (digits, tail) = frac.split_at_checked(n)?;
        // Truncate to milliseconds: `.1239` is `.123`, `.5` is `.500`.
        for (d, scale) in digits.iter().zip([100, 10, 1]) {
            millis += u32::from(d - b'0') * scale;
        }
        rest = tail;
    }

    let offset_minutes: i64 = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] | [sign @ (b'+' | b'-'), h1, h2, m1, m2] => {
            let (h, m) = (two(*h1, *h2)?, two(*m1, *m2)?);
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
    Timestamp::from_millis(local_ms.checked_sub(offset_minutes * 60_000)?)
}

impl FromStr for Timestamp {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        parse(s).ok_or(ERR)
    }
}

impl fmt::Display for Timestamp {
    /// `YYYY-MM-DDTHH:MM:SS.sssZ`, always 24 characters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dt = self.to_chrono().naive_utc();
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            dt.year(),
            dt.month(),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second(),
            self.0.rem_euclid(1000),
        )
    }
}

string_serde!(Timestamp, "an rfc 3339 date-time");

/// Any instant of years 0000–9999, at millisecond precision.
#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for Timestamp {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Timestamp(u.int_in_range(MIN_MS..=MAX_MS)?))
    }

    fn size_hint(_depth: usize) -> (usize, Option<usize>) {
        (8, Some(8))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &[(&str, &str)] = &[
        ("2023-01-02T00:00:00.000Z", "2023-01-02T00:00:00.000Z"),
        ("2023-01-02T00:00:00Z", "2023-01-02T00:00:00.000Z"),
        ("2023-01-02T00:00:00+01:00", "2023-01-01T23:00:00.000Z"),
        ("2023-01-02t00:00:00z", "2023-01-02T00:00:00.000Z"),
        ("2023-01-02 00:00:00Z", "2023-01-02T00:00:00.000Z"),
        ("2023-01-02T00:00:00+0100", "2023-01-01T23:00:00.000Z"),
        ("2023-01-02T00:00:00.123456789Z", "2023-01-02T00:00:00.123Z"),
        ("2024-02-29T00:00:00Z", "2024-02-29T00:00:00.000Z"),
        // own cases
        ("2023-01-02T00:00:00.9999Z", "2023-01-02T00:00:00.999Z"),
        ("2023-01-02T00:00:00.5Z", "2023-01-02T00:00:00.500Z"),
        ("2023-01-02T00:00:00-00:00", "2023-01-02T00:00:00.000Z"),
        ("2023-01-01T23:30:00-05:30", "2023-01-02T05:00:00.000Z"),
        ("2000-02-29T12:00:00Z", "2000-02-29T12:00:00.000Z"),
        ("0000-01-01T00:00:00Z", "0000-01-01T00:00:00.000Z"),
        ("9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z"),
        ("1969-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999Z"),
        ("0001-01-01T00:00:00+23:59", "0000-12-31T00:01:00.000Z"),
    ];

    const INVALID: &[&str] = &[
        "bip",
        "2023-01-02T00:00:00",
        "2023-01-02",
        "2023-01-02T00:00Z",
        "2023-02-30T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "2023-01-02T24:00:00Z",
        "2023-01-02T23:59:60Z",
        "+012023-01-02T00:00:00Z",
        // own cases
        "",
        "2023-01-02T00:00:00.Z",
        "2023-01-02T00:00:00.1234567890Z",
        "2023-01-02T00:00:00+01",
        "2023-01-02T00:00:00+24:00",
        "2023-01-02T00:00:00+01:60",
        "2023-01-02T00:00:00+1:00",
        "2023-01-02T00:00:00ZZ",
        "2023-01-02T00:00:00 Z",
        "2023-01-02T00:00:00Z ",
        " 2023-01-02T00:00:00Z",
        "2023-1-02T00:00:00Z",
        "2023-00-02T00:00:00Z",
        "2023-13-02T00:00:00Z",
        "2023-01-00T00:00:00Z",
        "2023-01-32T00:00:00Z",
        "1900-02-29T00:00:00Z",
        "2023-01-02X00:00:00Z",
        "2023-01-02T00:60:00Z",
        "2023-01-02T00:00:00,5Z",
        "-001-01-02T00:00:00Z",
        "2023-01-02T00:00:00.000+01:00:00",
        "0000-01-01T00:00:00+00:01",
        "9999-12-31T23:59:59-00:01",
        "２023-01-02T00:00:00Z",
        "2023-01-02T00:00:00é",
    ];

    #[test]
    fn table() {
        for (input, canonical) in VALID {
            let shown = input.parse::<Timestamp>().map(|t| t.to_string());
            assert_eq!(shown.as_deref(), Ok(*canonical), "{input:?}");
        }
        for input in INVALID {
            assert_eq!(input.parse::<Timestamp>(), Err(ERR), "{input:?}");
        }
    }

    #[test]
    fn length_limit() {
        let long = format!("2023-01-02T00:00:00.123{}", "0".repeat(60));
        assert_eq!(long.parse::<Timestamp>(), Err(ERR));
    }

    #[test]
    fn bounds_display() {
        assert_eq!(Timestamp::MIN.to_string(), "0000-01-01T00:00:00.000Z");
        assert_eq!(Timestamp::MAX.to_string(), "9999-12-31T23:59:59.999Z");
        assert_eq!(Timestamp::from_millis(MIN_MS - 1), None);
        assert_eq!(Timestamp::from_millis(MAX_MS + 1), None);
    }

    #[test]
    fn chrono_round_trip() {
        for t in [Timestamp::MIN, Timestamp::MAX, Timestamp(0), Timestamp(-1)] {
            assert_eq!(Timestamp::from_chrono(t.to_chrono()), Some(t));
        }
    }
}
