//! `journey_type`, `operator_class`, `operator_journey_id` and journey statuses.

use std::fmt;
use std::str::FromStr;

use super::FieldError;

/// `journey_type`: `short` or `long` (exact, lowercase).
///
/// ```
/// use cee_eligibility::JourneyType;
/// assert_eq!("short".parse::<JourneyType>()?, JourneyType::Short);
/// assert_eq!(
///     "Short".parse::<JourneyType>().map_err(|e| e.to_string()),
///     Err("/journey_type: must be either short or long".to_owned())
/// );
/// # Ok::<(), cee_eligibility::FieldError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum JourneyType {
    /// Short-distance carpooling (the claim refers to one journey).
    Short,
    /// Long-distance carpooling (the claim refers to a payment).
    Long,
}

impl JourneyType {
    /// The canonical text (`short` / `long`).
    pub const fn as_str(self) -> &'static str {
        match self {
            JourneyType::Short => "short",
            JourneyType::Long => "long",
        }
    }
}

impl FromStr for JourneyType {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        match s {
            "short" => Ok(JourneyType::Short),
            "long" => Ok(JourneyType::Long),
            _ => Err(FieldError::new(
                "journey_type",
                "must be either short or long",
            )),
        }
    }
}

impl fmt::Display for JourneyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for JourneyType {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

string_serde!(JourneyType, "short or long");

/// `operator_class`: `A`, `B` or `C` (proof class of the journey).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum OperatorClass {
    /// Class A.
    A,
    /// Class B.
    B,
    /// Class C (the only class eligible to short-distance CEE).
    C,
}

impl OperatorClass {
    /// The canonical text (`A`, `B`, `C`).
    pub const fn as_str(self) -> &'static str {
        match self {
            OperatorClass::A => "A",
            OperatorClass::B => "B",
            OperatorClass::C => "C",
        }
    }
}

impl FromStr for OperatorClass {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        match s {
            "A" => Ok(OperatorClass::A),
            "B" => Ok(OperatorClass::B),
            "C" => Ok(OperatorClass::C),
            _ => Err(FieldError::new("operator_class", "must be one of A, B, C")),
        }
    }
}

impl fmt::Display for OperatorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for OperatorClass {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

string_serde!(OperatorClass, "A, B or C");

/// `operator_journey_id`: 1–256 visible ASCII characters (`!`..=`~`), never rewritten.
///
/// ```
/// use cee_eligibility::OperatorJourneyId;
/// let id: OperatorJourneyId = "journey-42/a".parse()?;
/// assert_eq!(id.as_str(), "journey-42/a");
/// assert!("journey 42".parse::<OperatorJourneyId>().is_err()); // space is not visible
/// # Ok::<(), cee_eligibility::FieldError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OperatorJourneyId(String);

impl OperatorJourneyId {
    /// The id as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for OperatorJourneyId {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        if (1..=256).contains(&s.len()) && s.bytes().all(|b| (b'!'..=b'~').contains(&b)) {
            Ok(OperatorJourneyId(s.to_owned()))
        } else {
            Err(FieldError::new(
                "operator_journey_id",
                "must be 1 to 256 visible ascii characters",
            ))
        }
    }
}

impl fmt::Display for OperatorJourneyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

as_ref_str!(OperatorJourneyId);
string_serde!(OperatorJourneyId, "an operator journey id");

/// Status of a stored journey, set by the host (`pending`, `ok`, `acquisition_error`,
/// `fraud_error`, `anomaly_error`, `canceled`, `terms_violation_error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[non_exhaustive]
pub enum JourneyStatus {
    /// Received, not yet validated (also the status after a patch).
    Pending,
    /// Validated.
    Ok,
    /// Failed acquisition checks.
    AcquisitionError,
    /// Flagged as fraud.
    FraudError,
    /// Flagged as an anomaly.
    AnomalyError,
    /// Canceled by the operator.
    Canceled,
    /// Violates the terms of use.
    TermsViolationError,
}

impl JourneyStatus {
    /// Every status, in declaration order.
    pub const ALL: [JourneyStatus; 7] = [
        JourneyStatus::Pending,
        JourneyStatus::Ok,
        JourneyStatus::AcquisitionError,
        JourneyStatus::FraudError,
        JourneyStatus::AnomalyError,
        JourneyStatus::Canceled,
        JourneyStatus::TermsViolationError,
    ];

    /// The canonical text (`pending`, `ok`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            JourneyStatus::Pending => "pending",
            JourneyStatus::Ok => "ok",
            JourneyStatus::AcquisitionError => "acquisition_error",
            JourneyStatus::FraudError => "fraud_error",
            JourneyStatus::AnomalyError => "anomaly_error",
            JourneyStatus::Canceled => "canceled",
            JourneyStatus::TermsViolationError => "terms_violation_error",
        }
    }
}

impl FromStr for JourneyStatus {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        JourneyStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or(FieldError::new("status", "must be a known journey status"))
    }
}

impl fmt::Display for JourneyStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for JourneyStatus {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

string_serde!(JourneyStatus, "a journey status");

/// 1 to 256 characters of `!`..=`~`.
#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for OperatorJourneyId {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let n = u.int_in_range(1..=256usize)?;
        let mut s = String::with_capacity(n);
        for _ in 0..n {
            s.push(char::from(u.int_in_range(b'!'..=b'~')?));
        }
        Ok(OperatorJourneyId(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journey_type_table() {
        assert_eq!("short".parse(), Ok(JourneyType::Short));
        assert_eq!("long".parse(), Ok(JourneyType::Long));
        for t in [JourneyType::Short, JourneyType::Long] {
            assert_eq!(t.to_string().parse(), Ok(t));
        }
        for bad in [
            "",
            "Short",
            "LONG",
            " short",
            "short ",
            "medium",
            "shortlong",
        ] {
            assert_eq!(
                bad.parse::<JourneyType>().map_err(|e| e.to_string()),
                Err("/journey_type: must be either short or long".to_owned()),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn operator_class_table() {
        for c in [OperatorClass::A, OperatorClass::B, OperatorClass::C] {
            assert_eq!(c.to_string().parse(), Ok(c));
        }
        for bad in ["", "a", "D", "AB", " C"] {
            assert!(bad.parse::<OperatorClass>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn operator_journey_id_table() {
        let max = "~".repeat(256);
        for ok in ["a", "!", "journey-42/a", max.as_str()] {
            assert_eq!(
                ok.parse::<OperatorJourneyId>().map(|i| i.to_string()),
                Ok(ok.to_owned())
            );
        }
        let long = "a".repeat(257);
        for bad in ["", " ", "a b", "a\tb", "é", "a\u{7f}", long.as_str()] {
            assert!(bad.parse::<OperatorJourneyId>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn journey_status_table() {
        for st in JourneyStatus::ALL {
            assert_eq!(st.as_str().parse(), Ok(st));
        }
        for bad in ["", "Pending", "error", "ok "] {
            assert!(bad.parse::<JourneyStatus>().is_err(), "{bad:?}");
        }
    }
}
