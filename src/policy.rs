//! The eligibility rules (SPEC §4–§6): pure functions over dates, journeys and earlier
//! applications ([`Prior`]: which block, which one describes a conflict, what it may show,
//! which identifiers reach a record), no storage.

use std::time::Duration;

use crate::fields::{JourneyType, OperatorClass, Timestamp};
use crate::geo;
use crate::identity::IdKind;

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

/// The rules, all configurable. [`Policy::default`] holds the public registry's last values,
/// whose operation period ended on 2025-01-01: a deployment sets the period in force.
///
/// ```
/// use std::time::Duration;
/// use cee_eligibility::clock::ManualClock;
/// use cee_eligibility::{Config, Engine, Operator, Policy, RegisterKind, RegisterOutcome, RegisterRequest};
///
/// let mut policy = Policy::default();
/// policy.start_date = "2026-01-01T00:00:00+01:00".parse()?;
/// policy.end_date = "2027-01-01T00:00:00+01:00".parse()?;
/// policy.registration_delay = Duration::from_secs(7 * 86_400);
///
/// // The same policy as a document (TOML or JSON; durations in whole days, missing fields
/// // keep their defaults).
/// let from_json: Policy = serde_json::from_str(
///     r#"{"start_date": "2026-01-01T00:00:00+01:00", "end_date": "2027-01-01T00:00:00+01:00",
///         "registration_delay": 7}"#,
/// )?;
/// assert_eq!(from_json, policy);
///
/// let now = ManualClock::new("2026-12-02T12:00:00Z".parse()?);
/// let engine = Engine::open(Config::temporary().clock(now).policy(policy))?;
/// let op = Operator::new(1, "89248032800012".parse()?);
/// let request = RegisterRequest {
///     kind: RegisterKind::Long {
///         phone_trunc: "+336273488".parse()?,
///         datetime: "2026-06-01T08:00:00+02:00".parse()?, // refused under the default policy
///     },
///     last_name_trunc: "ABC".parse()?,
///     driving_license: "051227308989".parse()?,
///     identity_key: "a".repeat(64).parse()?,
///     application_timestamp: "2026-06-02T00:00:00Z".parse()?,
/// };
/// assert!(matches!(engine.register(&op, &request)?, RegisterOutcome::Registered(_)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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

/// An earlier application as the rules see it: what the in-memory index holds per
/// identifier (32 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Prior {
    /// Its operation date (UTC ms).
    pub datetime: i64,
    /// The operator that stored it.
    pub operator: u32,
    flags: u8,
    /// Its application uuid.
    pub app: [u8; 16],
}

const LONG: u8 = 1;
const STANDARDIZED: u8 = 2;

impl Prior {
    pub(crate) fn new(
        datetime: i64,
        operator: u32,
        journey_type: JourneyType,
        standardized: bool,
        app: [u8; 16],
    ) -> Self {
        let mut flags = 0;
        if journey_type == JourneyType::Long {
            flags |= LONG;
        }
        if standardized {
            flags |= STANDARDIZED;
        }
        Prior {
            datetime,
            operator,
            flags,
            app,
        }
    }

    pub(crate) fn journey_type(&self) -> JourneyType {
        if self.flags & LONG != 0 {
            JourneyType::Long
        } else {
            JourneyType::Short
        }
    }

    /// A registered (standardized) application, not an imported (specific) one?
    pub(crate) fn is_standardized(&self) -> bool {
        self.flags & STANDARDIZED != 0
    }

    /// SPEC §5 rules 1 and 3 (rule 2 is which identifiers reach it, [`reachable_by`]; rule 4
    /// is a deleted application's absence).
    pub(crate) fn blocks(&self, jt: JourneyType, th: &Thresholds) -> bool {
        self.journey_type() == jt
            && self.datetime
                >= if self.is_standardized() {
                    th.standardized_min
                } else {
                    th.specific_min
                }
    }

    /// Which of several blocking applications describes a conflict: the most recent (SPEC
    /// §5); among equally recent ones the caller's own (its uuid can be shown), then a fixed
    /// order, so the answer never depends on insertion or rebuild order.
    pub(crate) fn precedence(&self, caller: u32) -> (i64, bool, [u8; 16]) {
        (self.datetime, self.operator == caller, self.app)
    }

    /// Is it the row `operator` imported with journey type `jt` (import uniqueness, SPEC §6)?
    pub(crate) fn is_import_of(&self, operator: u32, jt: JourneyType) -> bool {
        self.operator == operator && self.journey_type() == jt && !self.is_standardized()
    }

    /// What `caller` may learn of it as a blocker (SPEC §5): its uuid when it is the caller's
    /// own; also its journey (id and status) when that is a short registration.
    pub(crate) fn disclosure(&self, caller: u32) -> Disclosure {
        let own = self.operator == caller;
        Disclosure {
            uuid: own,
            journey: own && self.is_standardized() && self.journey_type() == JourneyType::Short,
        }
    }
}

/// What a conflict may show of the blocking application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Disclosure {
    /// Its uuid.
    pub uuid: bool,
    /// Its journey's id and status.
    pub journey: bool,
}

/// The most recent of `priors` that blocks a candidate of type `jt` (ties: [`Prior::precedence`]).
pub(crate) fn most_recent_blocking<'a>(
    priors: impl IntoIterator<Item = &'a Prior>,
    jt: JourneyType,
    th: &Thresholds,
    caller: u32,
) -> Option<Prior> {
    priors
        .into_iter()
        .filter(|e| e.blocks(jt, th))
        .max_by_key(|e| e.precedence(caller))
        .copied()
}

/// SPEC §5 rule 2: the identifiers (kind, pseudonym) an application is reachable by — its
/// name+phone only when it has no identity key, its licence and identity key when present.
pub(crate) fn reachable_by(
    name_phone: [u8; 16],
    license: Option<[u8; 16]>,
    identity_key: Option<[u8; 16]>,
) -> impl Iterator<Item = (IdKind, [u8; 16])> {
    let np = identity_key
        .is_none()
        .then_some((IdKind::NamePhone, name_phone));
    np.into_iter()
        .chain(license.map(|p| (IdKind::License, p)))
        .chain(identity_key.map(|p| (IdKind::IdentityKey, p)))
}

/// Why a short journey cannot carry a CEE application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotEligible {
    /// Its operator class is not the eligible one.
    Class,
    /// Longer than the maximum distance.
    Distance,
    /// It starts outside the operation period `start .. end` (`start` inclusive).
    Period {
        /// The period's start (`Policy::start_date`).
        start: Timestamp,
        /// The period's end (`Policy::end_date`).
        end: Timestamp,
    },
    /// Neither its start nor its end is in France.
    Abroad,
}

impl std::fmt::Display for NotEligible {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotEligible::Class => f.write_str("operator class is not eligible"),
            NotEligible::Distance => f.write_str("journey is too long"),
            NotEligible::Period { start, end } => write!(
                f,
                "journey starts outside the operation period {start} .. {end}"
            ),
            NotEligible::Abroad => f.write_str("journey neither starts nor ends in France"),
        }
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
            return Err(self.period());
        }
        if !(start.in_france() || end.in_france()) {
            return Err(NotEligible::Abroad);
        }
        Ok(())
    }

    /// [`NotEligible::Period`] with this policy's period.
    pub(crate) fn period(&self) -> NotEligible {
        NotEligible::Period {
            start: self.start_date,
            end: self.end_date,
        }
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

// ---------------------------------------------------------------------------------------------
// serde: the policy as a TOML / JSON document (SPEC §11.1)
// ---------------------------------------------------------------------------------------------

/// Seconds in a day: durations are written in whole days.
const DAY_SECS: u64 = 86_400;

/// A timestamp written as RFC 3339 text, or as a TOML datetime (which `toml` hands to serde as
/// a one-entry map holding the text).
#[derive(Clone, Copy)]
struct TextTimestamp(Timestamp);

impl<'de> serde::Deserialize<'de> for TextTimestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = TextTimestamp;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an rfc 3339 date-time with a time zone offset")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<TextTimestamp, E> {
                v.parse::<Timestamp>()
                    .map(TextTimestamp)
                    .map_err(|e| E::custom(e.expected()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<TextTimestamp, A::Error> {
                use serde::de::Error;
                let Some((_, text)) = map.next_entry::<String, String>()? else {
                    return Err(A::Error::custom("expected a date-time"));
                };
                if map.next_key::<String>()?.is_some() {
                    return Err(A::Error::custom("expected a date-time"));
                }
                self.visit_str(&text)
            }
        }
        d.deserialize_any(V)
    }
}

/// [`TypePolicy`] as written; a missing field keeps the default of its journey type.
#[derive(serde::Serialize, serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TypePolicyDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    standardized_window_years: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    specific_window_years: Option<u32>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_ts"
    )]
    specific_after: Option<TextTimestamp>,
}

/// [`Policy`] as written; a missing field keeps its default.
#[derive(serde::Serialize, serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PolicyDoc {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_ts"
    )]
    start_date: Option<TextTimestamp>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_ts"
    )]
    end_date: Option<TextTimestamp>,
    /// Whole days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    registration_delay: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    short_max_distance: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    short_class: Option<OperatorClass>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    short: Option<TypePolicyDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    long: Option<TypePolicyDoc>,
}

fn ser_ts<S: serde::Serializer>(t: &Option<TextTimestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.collect_str(&t.0),
        None => s.serialize_none(),
    }
}

impl TypePolicyDoc {
    fn of(p: &TypePolicy) -> Self {
        TypePolicyDoc {
            standardized_window_years: Some(p.standardized_window_years),
            specific_window_years: Some(p.specific_window_years),
            specific_after: Some(TextTimestamp(p.specific_after)),
        }
    }

    fn apply(self, p: &mut TypePolicy) {
        if let Some(v) = self.standardized_window_years {
            p.standardized_window_years = v;
        }
        if let Some(v) = self.specific_window_years {
            p.specific_window_years = v;
        }
        if let Some(v) = self.specific_after {
            p.specific_after = v.0;
        }
    }
}

impl Policy {
    /// The delay in whole days, if it is a whole number of days.
    fn delay_days(&self) -> Option<u64> {
        let d = self.registration_delay;
        (d.subsec_nanos() == 0 && d.as_secs().is_multiple_of(DAY_SECS))
            .then_some(d.as_secs() / DAY_SECS)
    }

    /// What a policy document must hold: `start_date < end_date` (as `Engine::open` checks).
    fn check_document(&self) -> Result<(), String> {
        if self.start_date >= self.end_date {
            return Err("/end_date: must be after start_date".into());
        }
        Ok(())
    }
}

/// Serializes every field, durations in whole days (`registration_delay = 7`).
///
/// # Errors
/// A `registration_delay` that is not a whole number of days cannot be written.
impl serde::Serialize for Policy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        let days = self
            .delay_days()
            .ok_or_else(|| S::Error::custom("registration_delay must be a whole number of days"))?;
        PolicyDoc {
            start_date: Some(TextTimestamp(self.start_date)),
            end_date: Some(TextTimestamp(self.end_date)),
            registration_delay: Some(days),
            short_max_distance: Some(self.short_max_distance),
            short_class: Some(self.short_class),
            short: Some(TypePolicyDoc::of(&self.short)),
            long: Some(TypePolicyDoc::of(&self.long)),
        }
        .serialize(s)
    }
}

/// Reads a policy document: every field optional (a missing one keeps its
/// [`Policy::default`] value), unknown fields refused, dates RFC 3339 text with an offset
/// (or TOML datetimes with an offset), `registration_delay` in whole days, and
/// `start_date < end_date`.
impl<'de> serde::Deserialize<'de> for Policy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let doc = PolicyDoc::deserialize(d)?;
        let mut p = Policy::default();
        if let Some(v) = doc.start_date {
            p.start_date = v.0;
        }
        if let Some(v) = doc.end_date {
            p.end_date = v.0;
        }
        if let Some(days) = doc.registration_delay {
            let secs = days
                .checked_mul(DAY_SECS)
                .ok_or_else(|| D::Error::custom("/registration_delay: too many days"))?;
            p.registration_delay = Duration::from_secs(secs);
        }
        if let Some(v) = doc.short_max_distance {
            p.short_max_distance = v;
        }
        if let Some(v) = doc.short_class {
            p.short_class = v;
        }
        if let Some(t) = doc.short {
            t.apply(&mut p.short);
        }
        if let Some(t) = doc.long {
            t.apply(&mut p.long);
        }
        p.check_document().map_err(D::Error::custom)?;
        Ok(p)
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
    fn serde_round_trip_and_partial_documents() {
        let p = Policy::default();
        let json = serde_json::to_value(&p).unwrap_or_default();
        assert_eq!(json["registration_delay"], 7);
        assert_eq!(json["end_date"], "2024-12-31T23:00:00.000Z");
        assert_eq!(json["short"]["standardized_window_years"], 5);
        let back: Policy = serde_json::from_value(json).unwrap_or_default();
        assert_eq!(back, p);

        let partial: Policy = serde_json::from_str(
            r#"{"end_date": "2027-01-01T00:00:00+01:00", "registration_delay": 3,
                "long": {"standardized_window_years": 10}}"#,
        )
        .unwrap_or_default();
        assert_eq!(partial.end_date, t("2027-01-01T00:00:00+01:00"));
        assert_eq!(partial.registration_delay, Duration::from_secs(3 * 86_400));
        assert_eq!(partial.long.standardized_window_years, 10);
        assert_eq!(
            partial.long.specific_window_years, 10,
            "kept: the long default"
        );
        assert_eq!(partial.start_date, p.start_date);

        for (bad, why) in [
            (r#"{"end_dat": "2027-01-01T00:00:00Z"}"#, "unknown field"),
            (r#"{"end_date": "2027-01-01T00:00:00"}"#, "time zone offset"),
            (
                r#"{"end_date": "2022-01-01T00:00:00Z"}"#,
                "/end_date: must be after start_date",
            ),
            (r#"{"registration_delay": -1}"#, "invalid value"),
            (
                r#"{"registration_delay": 18446744073709551}"#,
                "/registration_delay",
            ),
            (r#"{"short": {"x": 1}}"#, "unknown field"),
        ] {
            let err = serde_json::from_str::<Policy>(bad)
                .map(|_| ())
                .map_err(|e| e.to_string());
            assert!(
                err.as_ref().is_err_and(|e| e.contains(why)),
                "{bad}: {err:?}"
            );
        }

        let odd = Policy {
            registration_delay: Duration::from_secs(3600),
            ..Policy::default()
        };
        assert!(serde_json::to_string(&odd).is_err(), "not whole days");
    }

    #[test]
    fn which_identifiers_reach_a_record() {
        let kinds = |ik: Option<[u8; 16]>, dl: Option<[u8; 16]>| {
            reachable_by([1; 16], dl, ik)
                .map(|(k, _)| k)
                .collect::<Vec<_>>()
        };
        assert_eq!(kinds(None, None), [IdKind::NamePhone]);
        assert_eq!(
            kinds(None, Some([2; 16])),
            [IdKind::NamePhone, IdKind::License]
        );
        // SPEC §5 rule 2: with an identity key, name and phone no longer match.
        assert_eq!(
            kinds(Some([3; 16]), Some([2; 16])),
            [IdKind::License, IdKind::IdentityKey]
        );
    }

    #[test]
    fn priors_block_and_disclose_by_the_rules() {
        let th = Thresholds {
            standardized_min: 10,
            specific_min: 20,
        };
        let std_short = Prior::new(15, 7, JourneyType::Short, true, [1; 16]);
        let imported = Prior::new(15, 7, JourneyType::Short, false, [2; 16]);
        assert!(std_short.blocks(JourneyType::Short, &th));
        assert!(!std_short.blocks(JourneyType::Long, &th));
        assert!(
            !imported.blocks(JourneyType::Short, &th),
            "specific window is shorter"
        );
        assert!(imported.is_import_of(7, JourneyType::Short));
        assert!(!imported.is_import_of(8, JourneyType::Short));
        assert!(!std_short.is_import_of(7, JourneyType::Short));
        let own = std_short.disclosure(7);
        assert!(own.uuid && own.journey);
        let other = std_short.disclosure(8);
        assert!(!other.uuid && !other.journey);
        let own_import = imported.disclosure(7);
        assert!(own_import.uuid && !own_import.journey);
        // Equally recent: the caller's own wins.
        let theirs = Prior::new(15, 8, JourneyType::Short, true, [9; 16]);
        let got = most_recent_blocking([&theirs, &std_short], JourneyType::Short, &th, 7);
        assert_eq!(got, Some(std_short));
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
