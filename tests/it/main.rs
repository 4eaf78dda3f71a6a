//! Integration tests: one binary, one module per room.
#![allow(clippy::unwrap_used, missing_docs)]

#[cfg(feature = "api")]
mod api;
mod audit;
mod backup;
mod common;
mod corruption;
mod crash;
mod crash_purge;
mod engine_journeys;
mod engine_persistence;
mod engine_register;
mod engine_rules;
mod fields;
mod format;
mod lazyfs;
mod model;
mod pg;
mod policy;
mod powerloss;
mod purge;
mod seam;
mod standardized;
mod stress;
