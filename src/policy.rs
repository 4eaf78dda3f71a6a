//! The eligibility rules (SPEC §4): pure functions over dates and journeys, no storage.

use std::time::Duration;

use crate::fields::{JourneyType, OperatorClass, Timestamp};
use crate::geo;

/// Windows and thresholds for one journey type.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TypePolicy {
    /// How far back an earlier **standardized** application blocks, in calendar years.
    pub standardized_window_years: u32,
    /// How far back an earlier **specific** (imported) application blocks, in calendar years.
    pub specific_window_years: u32,
    /// Specific applications dated before this instant never block.
    pub specific_after: Timestamp,
}

/// The rules, all configurable. [`Policy::default`] holds the public registry's last values.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Policy {
    /// Rules for short-distance carpooling.
    pub short: TypePolicy,
    /// Rules for long-distance carpooling.
    pub long: TypePolicy,
    /// Start of the operation period (short: journey start `>=`; long: payment `>`).
    pub start_date: Timestamp,
    /// End of the operation period (short: journey start `<`; long: payment `<`).
    pub end_date: Timestamp,
    /// A trip can be registered only when its reference date is strictly before now minus
    /// this delay.
    pub registration_delay: Duration,
    /// Longest eligible short journey, in metres (inclusive).
    pub short_max_distance: u32,
    /// The only operator class eligible for short journeys.
    pub short_class: OperatorClass,
}

/// 2015-01-01T00:00:00+01:00.
const AFTER_LONG_MS: i64 = 1_420_066_800_000;
/// 2020-01-01T00:00:00+01:00.
const AFTER_SHORT_MS: i64 = 1_577_833_200_000;
/// 2023-01-01T00:00:00+01:00.
const START_MS: i64 = 1_672_527_600_000;
/// 2025-01-01T00:00:00+01:00.
const END_MS: i64 = 1_735_686_000_000;

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms).unwrap_or(Timestamp::MIN)
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            short: TypePolicy {
                standardized_window_years: 5,
                specific_window_years: 3,
                specific_after: ts(AFTER_SHORT_MS),
            },
            long: TypePolicy {
                standardized_window_years: 12,
                specific_window_years: 10,
                specific_after: ts(AFTER_LONG_MS),
            },
            start_date: ts(START_MS),
            end_date: ts(END_MS),
            registration_delay: Duration::from_secs(7 * 24 * 3600),
            short_max_distance: 80_000,
            short_class: OperatorClass::C,
        }
    }
}

/// The earliest blocking dates for a candidate of one type at reference date `D`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Thresholds {
    /// Standardized applications dated `>=` this block.
    pub standardized_min: i64,
    /// Specific applications dated `>=` this block.
    pub specific_min: i64,
}

/// Why a short journey cannot carry a CEE application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotEligible {
    /// Its operator class is not the eligible one.
    Class,
    /// Longer than the maximum distance.
    Distance,
    /// It starts outside the operation period.
    Period,
    /// Neither its start nor its end is in France.
    Abroad,
}

impl std::fmt::Display for NotEligible {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NotEligible::Class => "operator class is not eligible",
            NotEligible::Distance => "journey is too long",
            NotEligible::Period => "journey starts outside the operation period",
            NotEligible::Abroad => "journey neither starts nor ends in France",
        })
    }
}

/// A place for the France test: an INSEE code when the host supplied one, else coordinates.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place<'a> {
    pub geo_code: Option<&'a str>,
    pub lat: f64,
    pub lon: f64,
}

impl Place<'_> {
    fn in_france(&self) -> bool {
        match self.geo_code {
            Some(code) => !code.starts_with("99"),
            None => geo::in_france(self.lat, self.lon),
        }
    }
}

const DAY_MS: i64 = 86_400_000;

/// An instant split into its UTC calendar date and time of day.
#[derive(Debug, Clone, Copy)]
struct CivilTime {
    year: i64,
    month: i64,
    day: i64,
    ms_of_day: i64,
}

impl CivilTime {
    fn of(t: Timestamp) -> Self {
        let ms = t.as_millis();
        let (year, month, day) = civil_from_days(ms.div_euclid(DAY_MS));
        CivilTime {
            year,
            month,
            day,
            ms_of_day: ms.rem_euclid(DAY_MS),
        }
    }

    /// This instant minus `years` calendar years (2024-02-29 − 3 years = 2021-02-28), same
    /// time of day, in UTC. Any instant before year 0 (earlier than every [`Timestamp`]) is
    /// `i64::MIN`.
    ///
    /// Integer civil-date arithmetic (H. Hinnant's `days_from_civil`): this runs twice per
    /// check, where `chrono`'s general path cost a fifth of a `simulate` call. A property test
    /// holds it to `chrono::DateTime::checked_sub_months` over the whole `Timestamp` range.
    fn minus_years(self, years: u32) -> i64 {
        let y = self.year - i64::from(years);
        if y < 0 {
            return i64::MIN;
        }
        let d = self.day.min(days_in_month(y, self.month));
        days_from_civil(y, self.month, d) * DAY_MS + self.ms_of_day
    }
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (`m` in 1..=12, `d` in 1..=31).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn delay_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Policy {
    pub(crate) fn for_type(&self, jt: JourneyType) -> &TypePolicy {
        match jt {
            JourneyType::Short => &self.short,
            JourneyType::Long => &self.long,
        }
    }

    /// The thresholds of SPEC §5 rule 3 for a candidate of type `jt` at reference date `d`.
    pub(crate) fn thresholds(&self, jt: JourneyType, d: Timestamp) -> Thresholds {
        let p = self.for_type(jt);
        let d = CivilTime::of(d);
        Thresholds {
            standardized_min: d.minus_years(p.standardized_window_years),
            specific_min: d
                .minus_years(p.specific_window_years)
                .max(p.specific_after.as_millis()),
        }
    }

    // ---- Retention (SPEC §11.6) ----

    /// The retention horizon at `now`: `min(now, start_date)`. Every reference date a
    /// candidate can still have is at or after it (simulate: now; short: the journey's end,
    /// after its start ≥ `start_date`; long: the payment date > `start_date`).
    pub(crate) fn horizon(&self, now: Timestamp) -> Timestamp {
        now.min(self.start_date)
    }

    /// Can an application (`specific` or standardized, of type `jt`, dated `datetime` ms)
    /// still block a candidate whose reference date is at or after `horizon`? The thresholds
    /// of SPEC §5 only grow with the reference date (calendar years subtracted, clamped to the
    /// month's last day, keep order), so what does not block at the horizon never blocks
    /// later: an entry for which this is `false` can be purged.
    pub(crate) fn may_block_after(
        &self,
        specific: bool,
        jt: JourneyType,
        datetime: i64,
        horizon: Timestamp,
    ) -> bool {
        let th = self.thresholds(jt, horizon);
        datetime
            >= if specific {
                th.specific_min
            } else {
                th.standardized_min
            }
    }

    /// Is a short journey eligible (class, distance, period, France)?
    pub(crate) fn short_journey(
        &self,
        class: OperatorClass,
        distance: u32,
        start_at: Timestamp,
        start: Place<'_>,
        end: Place<'_>,
    ) -> Result<(), NotEligible> {
        if class != self.short_class {
            return Err(NotEligible::Class);
        }
        if distance > self.short_max_distance {
            return Err(NotEligible::Distance);
        }
        if !(self.start_date <= start_at && start_at < self.end_date) {
            return Err(NotEligible::Period);
        }
        if !(start.in_france() || end.in_france()) {
            return Err(NotEligible::Abroad);
        }
        Ok(())
    }

    /// Long: the payment date must fall strictly inside the operation period.
    pub(crate) fn long_period(&self, datetime: Timestamp) -> bool {
        self.start_date < datetime && datetime < self.end_date
    }

    /// The delay rule: `reference < now − delay`.
    pub(crate) fn delay_passed(&self, reference: Timestamp, now: Timestamp) -> bool {
        reference.as_millis()
            < now
                .as_millis()
                .saturating_sub(delay_ms(self.registration_delay))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minus_years(t: Timestamp, years: u32) -> i64 {
        CivilTime::of(t).minus_years(years)
    }

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap_or(Timestamp::MIN)
    }

    #[test]
    fn calendar_years() {
        assert_eq!(
            minus_years(t("2024-02-29T00:00:00Z"), 3),
            t("2021-02-28T00:00:00Z").as_millis()
        );
        assert_eq!(
            minus_years(t("2024-06-02T10:00:00Z"), 5),
            t("2019-06-02T10:00:00Z").as_millis()
        );
    }

    /// What `minus_years` must equal: chrono's calendar, with every instant before year 0
    /// (before every `Timestamp`) as `i64::MIN`.
    fn chrono_minus_years(t: Timestamp, years: u32) -> i64 {
        t.to_chrono()
            .checked_sub_months(chrono::Months::new(years.saturating_mul(12)))
            .map(|d| d.timestamp_millis())
            .filter(|&ms| ms >= Timestamp::MIN.as_millis())
            .unwrap_or(i64::MIN)
    }

    #[test]
    fn minus_years_matches_chrono_at_the_edges() {
        let edges = [
            "0000-01-01T00:00:00Z",
            "0000-02-29T23:59:59.999Z",
            "0004-02-29T12:00:00Z",
            "1900-03-01T00:00:00Z",
            "1969-12-31T23:59:59.999Z",
            "1970-01-01T00:00:00Z",
            "2000-02-29T00:00:00Z",
            "2024-02-29T00:00:00Z",
            "2100-02-28T08:00:00Z",
            "9999-12-31T23:59:59.999Z",
        ];
        for e in edges {
            for years in [
                0, 1, 3, 4, 5, 10, 12, 100, 400, 1999, 2000, 2024, 9999, 10_000,
            ] {
                assert_eq!(
                    minus_years(t(e), years),
                    chrono_minus_years(t(e), years),
                    "{e} - {years}"
                );
            }
            assert_eq!(minus_years(t(e), u32::MAX), i64::MIN);
        }
    }

    proptest::proptest! {
        #[test]
        fn minus_years_matches_chrono(
            ms in Timestamp::MIN.as_millis()..=Timestamp::MAX.as_millis(),
            years in proptest::prop_oneof![0u32..=15, 0u32..=10_001, proptest::num::u32::ANY],
        ) {
            let t = Timestamp::from_millis(ms).unwrap_or(Timestamp::MIN);
            proptest::prop_assert_eq!(minus_years(t, years), chrono_minus_years(t, years));
        }
    }

    #[test]
    fn default_dates() {
        let p = Policy::default();
        assert_eq!(p.start_date, t("2023-01-01T00:00:00+01:00"));
        assert_eq!(p.end_date, t("2025-01-01T00:00:00+01:00"));
        assert_eq!(p.short.specific_after, t("2020-01-01T00:00:00+01:00"));
        assert_eq!(p.long.specific_after, t("2015-01-01T00:00:00+01:00"));
    }

    #[test]
    fn specific_threshold_is_the_later_bound() {
        let p = Policy::default();
        let th = p.thresholds(JourneyType::Short, t("2022-12-31T23:00:00Z"));
        assert_eq!(th.specific_min, t("2019-12-31T23:00:00Z").as_millis());
        let th = p.thresholds(JourneyType::Short, t("2024-06-02T00:00:00Z"));
        assert_eq!(th.specific_min, t("2021-06-02T00:00:00Z").as_millis());
    }

    #[test]
    fn horizon_is_now_or_the_period_start() {
        let p = Policy::default();
        assert_eq!(
            p.horizon(t("2022-06-01T00:00:00Z")),
            t("2022-06-01T00:00:00Z")
        );
        assert_eq!(p.horizon(t("2039-06-01T00:00:00Z")), p.start_date);
    }

    /// One millisecond either side of every default threshold at the horizon 2023-01-01+01:00
    /// (= 2022-12-31T23:00Z): short specific 3 years and 2020-01-01+01:00 (they coincide),
    /// long specific 10 years but not before 2015-01-01+01:00, standardized 5 and 12 years.
    #[test]
    fn may_block_after_at_the_edges() {
        let p = Policy::default();
        let h = p.horizon(t("2040-01-01T00:00:00Z"));
        let ms = |s: &str| t(s).as_millis();
        let cases = [
            (true, JourneyType::Short, "2019-12-31T23:00:00Z"),
            (true, JourneyType::Long, "2014-12-31T23:00:00Z"),
            (false, JourneyType::Short, "2017-12-31T23:00:00Z"),
            (false, JourneyType::Long, "2010-12-31T23:00:00Z"),
        ];
        for (specific, jt, edge) in cases {
            assert!(p.may_block_after(specific, jt, ms(edge), h), "{edge}");
            assert!(
                p.may_block_after(specific, jt, ms(edge) + 1, h),
                "{edge} + 1"
            );
            assert!(
                !p.may_block_after(specific, jt, ms(edge) - 1, h),
                "{edge} - 1"
            );
        }
        // Calendar years: from a leap day, 3 years back is the 28th of February.
        let mut leap = Policy {
            start_date: t("2024-02-29T12:00:00Z"),
            ..Policy::default()
        };
        leap.short.specific_after = Timestamp::MIN;
        let h = leap.horizon(t("2030-01-01T00:00:00Z"));
        let edge = ms("2021-02-28T12:00:00Z");
        assert!(leap.may_block_after(true, JourneyType::Short, edge, h));
        assert!(!leap.may_block_after(true, JourneyType::Short, edge - 1, h));
        // Before the period starts, the horizon is now: one millisecond matters there too.
        let now = t("2021-06-15T10:00:00Z");
        let edge = ms("2016-06-15T10:00:00Z");
        assert!(p.may_block_after(false, JourneyType::Short, edge, p.horizon(now)));
        assert!(!p.may_block_after(false, JourneyType::Short, edge - 1, p.horizon(now)));
    }

    proptest::proptest! {
        /// What cannot block at the horizon cannot block at any later reference date.
        #[test]
        fn expired_at_the_horizon_never_blocks_later(
            h in Timestamp::MIN.as_millis()..=Timestamp::MAX.as_millis(),
            later in 0i64..=400 * 365 * DAY_MS,
            datetime in Timestamp::MIN.as_millis()..=Timestamp::MAX.as_millis(),
            specific in proptest::bool::ANY,
            long in proptest::bool::ANY,
        ) {
            let p = Policy::default();
            let jt = if long { JourneyType::Long } else { JourneyType::Short };
            let h = Timestamp::from_millis(h).unwrap_or(Timestamp::MIN);
            let d = Timestamp::from_millis(h.as_millis().saturating_add(later)).unwrap_or(Timestamp::MAX);
            if !p.may_block_after(specific, jt, datetime, h) {
                let th = p.thresholds(jt, d);
                let min = if specific { th.specific_min } else { th.standardized_min };
                proptest::prop_assert!(datetime < min);
            }
        }
    }

    #[test]
    fn delay_is_strict() {
        let p = Policy::default();
        let now = t("2024-06-10T00:00:00Z");
        assert!(!p.delay_passed(t("2024-06-03T00:00:00Z"), now));
        assert!(p.delay_passed(t("2024-06-02T23:59:59.999Z"), now));
    }
}
