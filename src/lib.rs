//! rsredis: a Redis-compatible server with a built-in Sentinel.
//!
//! Layout follows the architecture guide: `resp` (codec), `net` (TCP front
//! end), `cmd` (the command table and one module per family), `store`
//! (databases, values, expiry), `config`, `sentinel`.

pub mod blocking;
pub mod cmd;
pub mod config;
pub mod error;
pub mod glob;
pub mod logging;
pub mod net;
pub mod node;
pub mod ops;
pub mod persist;
pub mod pubsub;
pub mod repl;
pub mod resp;
pub mod scripting;
pub mod sentinel;
pub mod server;
pub mod store;
pub mod util;

/// The Redis version we report: tools gate features on it.
pub const REDIS_VERSION: &str = "7.0.15";
