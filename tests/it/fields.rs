//! Field vectors of SPEC §9 (filled in by the foundation work).
