//! The integration tests: one binary (one build, one link) with a module per
//! area. Every test starts the real `rsredis` binary (and peers) as child
//! processes on OS-chosen ports, so tests of all areas can run in parallel.

mod common;

mod admission;
mod aof;
mod blocking;
mod busy;
mod client;
mod cluster;
mod crash_safety;
mod docker;
mod expiry;
mod failover_cmd;
mod functions;
mod fuzz_corpus;
mod geo;
mod glob_interop;
mod ha_rsredis;
mod hashes;
mod hll;
mod info_truth;
mod interop_cli;
mod keys;
mod latency;
mod lists;
mod lists_basic;
mod ops;
mod persistence;
mod protocol;
mod pubsub;
mod pylib;
mod rdb_interop;
mod repl_interop;
mod replication;
mod resp_oracle;
mod scripting;
mod sentinel;
mod sentinel_failover;
mod sentinel_interop;
mod sentinel_restart;
mod server;
mod sets;
mod smoke;
mod sort_bits;
mod streams;
mod strings;
mod tracking;
mod tx;
mod zsets;
