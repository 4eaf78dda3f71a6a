//! cee-eligibility
mod fields;

pub use fields::*;
