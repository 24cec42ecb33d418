//! Sentinel mode: `rsredis sentinel --config sentinel.toml`.
//!
//! `core` is the pure state machine (no sockets, no clock). Around it:
//! `config` (sentinel.toml), `state` (the atomically written state file),
//! `links` (outgoing connections to nodes and other sentinels), `front`
//! (the RESP server clients and other sentinels talk to) and `driver`
//! (the clock, the action executor and process start-up), `import`
//! (migrating a real sentinel.conf).

pub mod config;
pub mod driver;
pub mod front;
pub mod import;
pub mod links;
pub mod state;

pub mod core;
