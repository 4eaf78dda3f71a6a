//! Validated input fields (SPEC §2).
//!
//! Every field is a newtype with private contents: once you hold a [`PhoneTrunc`], it is valid
//! and canonical. Parsing never panics, on any input; errors name the field and the expected
//! form in the `/field: message` wording of the JSON façade.

#[macro_use]
mod macros;

mod datetime;
mod error;
mod geo;
mod identity;
mod journey;
mod license;
mod name;
mod phone;
mod siret;
mod upstream;

pub use datetime::Timestamp;
pub use error::FieldError;
pub use geo::{Distance, GeoCode, Incentive, Incentives, Latitude, Longitude};
pub use identity::{ApplicationId, IdentityKey};
pub use journey::{JourneyStatus, JourneyType, OperatorClass, OperatorJourneyId};
pub use license::DrivingLicense;
pub use name::LastNameTrunc;
pub use phone::PhoneTrunc;
pub use siret::Siret;
pub use upstream::{AcquisitionStatus, AnomalyStatus, FraudStatus};
