//! Integration tests: one binary, one module per room.
mod api;
mod fields;
