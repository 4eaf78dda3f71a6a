//! The eligibility rules (SPEC §4): pure functions over dates and journeys, no storage.

use std::time::Duration;

use chrono::Months;

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

/// `t` minus `years` calendar years (2024-02-29 − 3 years = 2021-02-28), saturating.
pub(crate) fn minus_years(t: Timestamp, years: u32) -> i64 {
    t.to_chrono()
        .checked_sub_months(Months::new(years.saturating_mul(12)))
        .map_or(i64::MIN, |d| d.timestamp_millis())
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
        Thresholds {
            standardized_min: minus_years(d, p.standardized_window_years),
            specific_min: minus_years(d, p.specific_window_years).max(p.specific_after.as_millis()),
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
    fn delay_is_strict() {
        let p = Policy::default();
        let now = t("2024-06-10T00:00:00Z");
        assert!(!p.delay_passed(t("2024-06-03T00:00:00Z"), now));
        assert!(p.delay_passed(t("2024-06-02T23:59:59.999Z"), now));
    }
}
