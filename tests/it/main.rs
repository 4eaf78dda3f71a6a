//! Integration tests: one binary, one module per room.
#[cfg(feature = "api")]
mod api;
mod fields;
