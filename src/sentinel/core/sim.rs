//! Deterministic simulator (filled below).
