//! The crate's error type: failures (bad input, storage, corruption, configuration).
//!
//! Expected outcomes — a beneficiary blocked, a journey not eligible, a registration refused —
//! are values (`Simulation`, `RegisterOutcome`), not errors.

use std::fmt;

use crate::fields::FieldError;

/// Something went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Input failed validation; every field error of the request is listed.
    #[error("invalid input: {0}")]
    Invalid(FieldErrors),
    /// The item does not exist (for this operator).
    #[error("{what} not found")]
    NotFound {
        /// What was looked for (`application`, `journey`).
        what: &'static str,
    },
    /// The item belongs to another operator.
    #[error("{what} belongs to another operator")]
    Forbidden {
        /// What was looked for.
        what: &'static str,
    },
    /// The operation conflicts with stored state (e.g. a journey already exists).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// `Config::new(path)` was opened without `.secret(…)`.
    #[error("a secret is required to open a database (Config::secret)")]
    MissingSecret,
    /// The database was created with another secret.
    #[error("the secret does not match the one this database was created with")]
    WrongSecret,
    /// The database uses an on-disk format this version cannot read.
    #[error("unsupported on-disk format version {found} (this build reads version {supported})")]
    UnsupportedFormat {
        /// Version found on disk.
        found: u8,
        /// Version this build reads and writes.
        supported: u8,
    },
    /// The configuration is inconsistent.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A stored record could not be decoded.
    #[error("corrupt record {record}: {reason}")]
    Corrupt {
        /// Which record (kind and non-identifying key, e.g. `application 6f1c…`).
        record: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The storage layer failed (I/O, sled).
    #[error("storage error")]
    Storage(#[source] StorageError),
    /// A shared registry (PostgreSQL) could not be synchronised for longer than the staleness
    /// bound, or diverged and is being rebuilt: the in-memory index may be stale, so `simulate`
    /// refuses to answer rather than say "eligible" wrongly (HTTP 503).
    #[error("registry unavailable: {0}")]
    Unavailable(&'static str),
    /// Signing or key handling failed.
    #[error("token signer error: {0}")]
    Signer(String),
}

/// An opaque storage failure (the underlying `sled` error is its `source()`).
#[derive(Debug)]
pub struct StorageError(pub(crate) Box<dyn std::error::Error + Send + Sync>);

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for StorageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

/// One or more field errors, displayed as the façade shows them:
/// `/phone_trunc: must be …, /journey_type: must be …`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldErrors(pub Vec<PathError>);

/// A field error at a JSON-pointer-like path (`/start/lat`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError {
    /// Path of the field, with a leading slash.
    pub path: String,
    /// What was expected.
    pub message: String,
}

impl FieldErrors {
    /// One error at the field's own path.
    pub fn one(e: FieldError) -> Self {
        FieldErrors(vec![PathError::from(e)])
    }

    /// Adds an error at an explicit path.
    pub fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(PathError {
            path: path.into(),
            message: message.into(),
        });
    }

    /// Is there no error?
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<FieldError> for PathError {
    fn from(e: FieldError) -> Self {
        PathError {
            path: format!("/{}", e.field()),
            message: e.expected().to_owned(),
        }
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}: {}", e.path, e.message)?;
        }
        Ok(())
    }
}

impl From<FieldError> for Error {
    fn from(e: FieldError) -> Self {
        Error::Invalid(FieldErrors::one(e))
    }
}
