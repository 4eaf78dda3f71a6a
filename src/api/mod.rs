//! The JSON façade (SPEC §7).
