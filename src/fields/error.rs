//! The one error type of every field validator.

use std::fmt;

/// A field failed validation.
///
/// `Display` is the façade wording: `/phone_trunc: must be a valid truncated phone number`.
/// The rejected value is never included (it may be an identifier).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FieldError {
    field: &'static str,
    expected: &'static str,
}

impl FieldError {
    /// A new error for `field` (JSON name, no slash) expecting `expected` (a lowercase phrase
    /// starting with "must").
    pub const fn new(field: &'static str, expected: &'static str) -> Self {
        FieldError { field, expected }
    }

    /// The same error reported on another field: [`Timestamp`](crate::Timestamp) errors name
    /// `datetime`, but `application_timestamp` or `start.datetime` parse the same way.
    ///
    /// ```
    /// use cee_eligibility::Timestamp;
    /// let err = "bip".parse::<Timestamp>().unwrap_err().for_field("application_timestamp");
    /// assert_eq!(
    ///     err.to_string(),
    ///     "/application_timestamp: must be an rfc 3339 date-time with a time zone offset"
    /// );
    /// ```
    #[must_use]
    pub const fn for_field(self, field: &'static str) -> Self {
        FieldError {
            field,
            expected: self.expected,
        }
    }

    /// The JSON name of the field (`phone_trunc`).
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// What was expected (`must be a valid truncated phone number`).
    pub fn expected(&self) -> &'static str {
        self.expected
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}: {}", self.field, self.expected)
    }
}

impl std::error::Error for FieldError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_the_facade_wording() {
        let err = FieldError::new("phone_trunc", "must be a valid truncated phone number");
        assert_eq!(
            err.to_string(),
            "/phone_trunc: must be a valid truncated phone number"
        );
        assert_eq!(err.field(), "phone_trunc");
        assert_eq!(err.expected(), "must be a valid truncated phone number");
        let renamed = err.for_field("driver.phone_trunc");
        assert_eq!(
            renamed.to_string(),
            "/driver.phone_trunc: must be a valid truncated phone number"
        );
    }
}
