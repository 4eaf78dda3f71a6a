//! What is wrong with stored bytes that do not decode (never the identifiers they hold).

use crate::error::Error;

/// Why stored bytes are not a valid record, segment or key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DecodeError {
    /// Fewer bytes than the smallest valid value.
    #[error("{0} bytes is too short")]
    TooShort(usize),
    /// The 4-byte check does not match.
    #[error("checksum mismatch (damaged bytes)")]
    Checksum,
    /// No version byte.
    #[error("empty value")]
    Empty,
    /// A version byte this build does not know.
    #[error("unknown {what} version {found}")]
    Version {
        /// `record` or `segment`.
        what: &'static str,
        /// The byte found.
        found: u8,
    },
    /// A record body over the size limit.
    #[error("{0} bytes exceeds the record size limit")]
    TooLarge(usize),
    /// Bytes left after the record.
    #[error("{0} trailing bytes")]
    Trailing(usize),
    /// The record codec refused the body (its own description).
    #[error("undecodable body: {0}")]
    Body(String),
    /// A key of the wrong length or family.
    #[error("malformed key ({0} bytes)")]
    Key(usize),
    /// A segment whose row count, length or id disagree.
    #[error("{count} rows announced in {bytes} bytes (segment {id})")]
    RowCount {
        /// Rows announced by the header.
        count: usize,
        /// Bytes of rows present.
        bytes: usize,
        /// The segment id.
        id: u64,
    },
    /// A one-byte code outside its enum.
    #[error("{field} {value} out of range")]
    Code {
        /// The field.
        field: &'static str,
        /// The byte found.
        value: u8,
    },
    /// A field outside its range (an instant past year 9999, a latitude over 90, …).
    #[error("{0} out of range")]
    OutOfRange(&'static str),
    /// A segment row with a field out of range.
    #[error("row {row}: {field} out of range")]
    Row {
        /// The row.
        row: usize,
        /// The field.
        field: &'static str,
    },
    /// A stored `operator_journey_id` that is not one.
    #[error("operator_journey_id invalid")]
    JourneyId,
    /// A past (imported standardized) application that cannot be one.
    #[error("an imported past application {0}")]
    Past(&'static str),
}

impl DecodeError {
    /// The public error: `record` names what was damaged.
    pub(crate) fn corrupt(self, record: impl Into<String>) -> Error {
        Error::Corrupt {
            record: record.into(),
            reason: self.to_string(),
        }
    }
}
