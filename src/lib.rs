//! rsredis: a Redis-compatible server with a built-in Sentinel.
//!
//! # Map of the code
//!
//! Each module, what it owns, and what it may import (layers import only
//! downward; the lists are the `use crate::...` arrows as they stand).
//!
//! | module | owns | imports |
//! | --- | --- | --- |
//! | `main.rs` | CLI: `server`, `sentinel`, version | everything it starts |
//! | `node` | running a data node: listeners (open before the startup load: -LOADING meanwhile), background loops (active expiry, persistence cron) | server, net, repl, persist, store, config |
//! | `server` | `Shared`: the parts of a running data node (keyspace lock, clients, replication, persistence, scripting, pause, stats) | the layers below |
//! | `sentinel` | the Sentinel role: `core` (pure state machine + seeded simulator), driver, links, front end (its `net::Service` and the `sentinel` handlers of the table's SENTINEL / ONLY_SENTINEL commands), state file | net, cmd (the table), resp, config, glob, util |
//! | `net` | binding; `service`: the accept loop and per-connection loop both roles share, generic over `net::Service`; `conn`: the data node's service (parse, one lock per batch, blocked requests, hand-over); client registry | cmd, repl, resp, server, store |
//! | `cmd` | the one command table (`mod.rs`; each role's view of it: the data node's, and the sentinel's by flag), the one admission check (`admit.rs`), the executor (`exec.rs`), one file per command family | everything below; names the sentinel's handlers (`sentinel::front`) |
//! | `repl` | master side (backlog, replicas, WAIT, FAILOVER), replica side (handshake, PSYNC, stream apply) | cmd (executor for the master stream), persist, store, resp, net |
//! | `cluster` | cluster mode: hash slots, the bus codec, the pure core (+ simulator), the bus driver, the slot rule of admission | cmd (table, key positions), store, repl, pubsub, net, config, fs |
//! | `persist` | RDB codec; `Persistence`: its state, its own settings and a handle on the keyspace (SAVE/BGSAVE, save points, startup load); `aof`: Redis 7.0's multi-part AOF (manifest, writer thread with group-commit fsync, loader, fork-less rewrite), a sink of the store's propagation hook | store, config, fs, util |
//! | `scripting` | the Lua VM, its libraries, reply conversion (from `resp::reply` frames), `Busy` | cmd (admission + executor for `redis.call`), resp, store |
//! | `pubsub`, `blocking`, `pause` | channel/pattern registry; keys clients block on; CLIENT PAUSE + FAILOVER pause | glob, push, store |
//! | `tracking` | client-side caching: keys read by tracking clients, BCAST prefixes, where invalidations go (kept in `Store`, under the keyspace lock) | push |
//! | `push` | `Push`: out-of-band deliveries to a connection (pub/sub messages, MONITOR lines, invalidations) | nothing |
//! | `store` | databases, values and encodings, expiry, watched keys, lazyfree, the snapshot copy-on-write cursor (`cow`) | config, resp, util, blocking (the waiters kept under the keyspace lock), tracking |
//! | `resp`, `config`, `error`, `glob`, `logging`, `util` | codec (request parser, encoder, the one reply reader `resp::reply` for every outbound link and for scripts); typed config + PARAMS; Redis error texts; glob matcher; logging; clock and helpers | nothing above them |
//!
//! Known upward arrows still to remove: `cmd` names types kept in
//! `net::client` (`Client`, `BlockState`); `store` and
//! `blocking` know each other (the waiters live under the keyspace lock);
//! `scripting` and `repl` call the executor in `cmd`. `cmd` names the sentinel's handlers (`sentinel::front::*_command`, as
//! Redis's one table names sentinelCommand): one table for both roles,
//! at the price of that arrow until the table is assembled above both.

pub mod blocking;
pub mod cluster;
pub mod cmd;
pub mod config;
pub mod error;
pub mod fs;
#[doc(hidden)]
pub mod fuzzing;
pub mod glob;
pub mod latency;
pub mod logging;
pub mod net;
pub mod node;
pub mod ops;
pub mod pause;
pub mod persist;
pub mod pubsub;
pub mod push;
pub mod repl;
pub mod resp;
pub mod scripting;
pub mod sentinel;
pub mod server;
pub mod store;
pub mod tracking;
pub mod util;

/// The Redis version we report: tools gate features on it.
pub const REDIS_VERSION: &str = "7.0.15";
