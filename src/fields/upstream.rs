//! The public registry's three journey states and how they make one [`JourneyStatus`].

use std::fmt;
use std::str::FromStr;

use super::{FieldError, JourneyStatus};

/// Declares a status enum of the public registry with its lowercase texts.
macro_rules! upstream_enum {
    ($(#[$doc:meta])* $name:ident, $field:literal, $expected:literal,
     { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// Every value, in the registry's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The registry's text.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl FromStr for $name {
            type Err = FieldError;
            fn from_str(s: &str) -> Result<Self, FieldError> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(FieldError::new($field, $expected)),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        string_serde!($name, $expected);
    };
}

upstream_enum!(
    /// `acquisition_status` of a carpool at the public registry.
    AcquisitionStatus, "acquisition_status",
    "must be one of received, updated, processed, failed, canceled, expired, terms_violation_error",
    {
        /// Received, not processed yet.
        Received => "received",
        /// Patched by the operator, not processed yet.
        Updated => "updated",
        /// Processed (normalised, checked).
        Processed => "processed",
        /// Acquisition failed.
        Failed => "failed",
        /// Canceled by the operator.
        Canceled => "canceled",
        /// Sent too late (deprecated upstream in favour of `terms_violation_error`).
        Expired => "expired",
        /// Violates the terms of use (too short, too many trips a day, too close, expired).
        TermsViolationError => "terms_violation_error",
    }
);

upstream_enum!(
    /// `fraud_status` of a carpool at the public registry.
    FraudStatus, "fraud_status", "must be one of pending, passed, failed",
    {
        /// Not checked yet.
        Pending => "pending",
        /// Passed the fraud checks.
        Passed => "passed",
        /// Flagged as fraud.
        Failed => "failed",
    }
);

upstream_enum!(
    /// `anomaly_status` of a carpool at the public registry.
    AnomalyStatus, "anomaly_status", "must be one of pending, passed, failed",
    {
        /// Not checked yet.
        Pending => "pending",
        /// Passed the anomaly checks.
        Passed => "passed",
        /// Flagged as an anomaly (e.g. temporal overlap).
        Failed => "failed",
    }
);

impl JourneyStatus {
    /// The journey status the public registry shows for a carpool's three states: its
    /// `castToStatusEnum` (betagouv/preuve-covoiturage,
    /// `api/src/pdc/providers/carpool/helpers/castStatus.ts`, tested by
    /// `castStatus.unit.spec.ts` next to it; the enums are in
    /// `api/src/pdc/providers/carpool/interfaces/common.ts`). A fraud or anomaly state not
    /// known yet is `None` (the registry's `Partial`). In this order:
    ///
    /// | acquisition | fraud | anomaly | status |
    /// |---|---|---|---|
    /// | `canceled` | any | any | `canceled` |
    /// | `expired`, `terms_violation_error` | any | any | `terms_violation_error` |
    /// | `failed` | any | any | `acquisition_error` |
    /// | `processed` | `passed` | `passed` | `ok` |
    /// | other | `failed` | any | `fraud_error` |
    /// | other | not `failed` | `failed` | `anomaly_error` |
    /// | otherwise | | | `pending` |
    ///
    /// (Upstream, a missing acquisition status is `unknown`, a status this crate does not
    /// have: the acquisition status is required here.)
    ///
    /// ```
    /// use cee_eligibility::{AcquisitionStatus, AnomalyStatus, FraudStatus, JourneyStatus};
    /// let s = JourneyStatus::from_upstream(
    ///     "processed".parse()?,
    ///     Some(FraudStatus::Passed),
    ///     Some(AnomalyStatus::Passed),
    /// );
    /// assert_eq!(s, JourneyStatus::Ok);
    /// let s = JourneyStatus::from_upstream(AcquisitionStatus::Updated, Some(FraudStatus::Passed), None);
    /// assert_eq!(s, JourneyStatus::Pending);
    /// # Ok::<(), cee_eligibility::FieldError>(())
    /// ```
    pub fn from_upstream(
        acquisition: AcquisitionStatus,
        fraud: Option<FraudStatus>,
        anomaly: Option<AnomalyStatus>,
    ) -> JourneyStatus {
        match acquisition {
            AcquisitionStatus::Canceled => JourneyStatus::Canceled,
            AcquisitionStatus::Expired | AcquisitionStatus::TermsViolationError => {
                JourneyStatus::TermsViolationError
            }
            AcquisitionStatus::Failed => JourneyStatus::AcquisitionError,
            AcquisitionStatus::Processed
                if fraud == Some(FraudStatus::Passed) && anomaly == Some(AnomalyStatus::Passed) =>
            {
                JourneyStatus::Ok
            }
            _ if fraud == Some(FraudStatus::Failed) => JourneyStatus::FraudError,
            _ if anomaly == Some(AnomalyStatus::Failed) => JourneyStatus::AnomalyError,
            _ => JourneyStatus::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AcquisitionStatus as Acq;
    use AnomalyStatus as An;
    use FraudStatus as Fr;
    use JourneyStatus as S;

    /// The cases of the registry's `castStatus.unit.spec.ts`, in its order.
    #[test]
    fn the_registry_unit_table() {
        let cases = [
            (Acq::Received, Some(Fr::Pending), None, S::Pending),
            (Acq::Updated, Some(Fr::Pending), None, S::Pending),
            (Acq::Processed, Some(Fr::Pending), None, S::Pending),
            (Acq::Failed, None, None, S::AcquisitionError),
            (Acq::Canceled, Some(Fr::Pending), None, S::Canceled),
            (
                Acq::Expired,
                Some(Fr::Pending),
                None,
                S::TermsViolationError,
            ),
            (Acq::Processed, Some(Fr::Passed), Some(An::Passed), S::Ok),
            (Acq::Updated, Some(Fr::Passed), None, S::Pending),
            (Acq::Processed, None, Some(An::Failed), S::AnomalyError),
            (Acq::Canceled, Some(Fr::Passed), None, S::Canceled),
            (Acq::Expired, Some(Fr::Passed), None, S::TermsViolationError),
            (Acq::Processed, Some(Fr::Failed), None, S::FraudError),
            (Acq::Expired, None, Some(An::Failed), S::TermsViolationError),
        ];
        for (acq, fraud, anomaly, expected) in cases {
            assert_eq!(
                JourneyStatus::from_upstream(acq, fraud, anomaly),
                expected,
                "{acq} {fraud:?} {anomaly:?}"
            );
        }
    }

    /// Precedences the registry's code implies: acquisition outcomes first, then `ok`, then
    /// fraud before anomaly.
    #[test]
    fn precedence() {
        assert_eq!(
            S::from_upstream(Acq::TermsViolationError, Some(Fr::Failed), Some(An::Failed)),
            S::TermsViolationError
        );
        assert_eq!(
            S::from_upstream(Acq::Failed, Some(Fr::Passed), Some(An::Passed)),
            S::AcquisitionError
        );
        assert_eq!(
            S::from_upstream(Acq::Received, Some(Fr::Failed), Some(An::Failed)),
            S::FraudError
        );
        assert_eq!(
            S::from_upstream(Acq::Updated, Some(Fr::Passed), Some(An::Failed)),
            S::AnomalyError
        );
        assert_eq!(
            S::from_upstream(Acq::Processed, Some(Fr::Passed), Some(An::Pending)),
            S::Pending
        );
        // `ok` only for processed + passed + passed.
        for &acq in Acq::ALL {
            for fraud in [None, Some(Fr::Pending), Some(Fr::Passed), Some(Fr::Failed)] {
                for anomaly in [None, Some(An::Pending), Some(An::Passed), Some(An::Failed)] {
                    let ok = acq == Acq::Processed
                        && fraud == Some(Fr::Passed)
                        && anomaly == Some(An::Passed);
                    assert_eq!(S::from_upstream(acq, fraud, anomaly) == S::Ok, ok);
                }
            }
        }
    }

    #[test]
    fn texts_round_trip() {
        for &a in Acq::ALL {
            assert_eq!(a.as_str().parse::<Acq>(), Ok(a));
        }
        for &f in Fr::ALL {
            assert_eq!(f.to_string().parse::<Fr>(), Ok(f));
        }
        for &n in An::ALL {
            assert_eq!(n.to_string().parse::<An>(), Ok(n));
        }
        assert_eq!(
            "Processed".parse::<Acq>().map_err(|e| e.to_string()),
            Err(
                "/acquisition_status: must be one of received, updated, processed, failed, \
                 canceled, expired, terms_violation_error"
                    .to_owned()
            )
        );
        assert!("ok".parse::<Fr>().is_err());
        assert!("".parse::<An>().is_err());
    }
}
