//! The one admission check. Every way a command enters calls `check` with
//! who is calling: a client's command (also when MULTI queues it, and EXEC
//! itself with the flags of what it queued), a command replayed by EXEC, a
//! `redis.call`/`pcall` from a script, the master's replication stream (and
//! later AOF loading). The rules follow Redis 7.0's `processCommand` and
//! `scriptCall`, in their order; each reads flags of the one command table,
//! never a command's name. ACL, OOM and cluster slot rules plug in here.
//!
//! The check reads only lock-free state (atomics of the replication,
//! persistence, scripting and pause parts), so the connection layer can also
//! run it while a script holds the keyspace lock, to answer -BUSY.

use super::{flags, Command};
use crate::config::Config;
use crate::error::Error;
use crate::net::client::Client;
use crate::server::Shared;
use bytes::Bytes;
use std::sync::atomic::Ordering::Relaxed;

pub const LOADING: &str = "LOADING Redis is loading the dataset in memory";
pub const MASTERDOWN: &str =
    "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";
pub const NOT_IN_MULTI: &str = "ERR Command not allowed inside a transaction";
pub const NOT_FROM_SCRIPT: &str = "ERR This Redis command is not allowed from script";
pub const STALE_FROM_SCRIPT: &str = "ERR Can not execute the command on a stale replica";
pub const RO_SCRIPT_WRITE: &str = "ERR Write commands are not allowed from read-only scripts.";

/// Who is asking to run a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// A client's command, as it arrives (queued or run at once).
    Client,
    /// A command queued in MULTI, now run by EXEC. It passed the client
    /// rules when queued; EXEC passed them for the whole queue. Only rules
    /// whose inputs can change in between apply again (ACL, later).
    Exec,
    /// `redis.call`/`pcall` from a script. `read_only`: EVAL_RO/EVALSHA_RO or
    /// a `no-writes` shebang. `wrote`: the script already changed the dataset,
    /// so it can no longer be refused on the server's state (Redis's rule).
    Script { read_only: bool, wrote: bool },
    /// Our master's replication stream: obeyed whatever our own state.
    Master,
}

#[derive(Debug, PartialEq)]
pub enum Verdict {
    Run,
    /// Inside MULTI: queue it (reply QUEUED).
    Queue,
    /// A pause holds it: wait (without the keyspace lock) and check again.
    /// `may_write` tells which pauses hold it.
    Pause {
        may_write: bool,
    },
    Reject(Error),
}

/// The flags a command has for this call: its declaration's, or for
/// commands whose flags depend on their arguments (EXEC: what it queued;
/// EVAL: the script's shebang flags), the computed ones.
pub fn effective_flags(
    srv: &Shared,
    store: &crate::store::Store,
    client: &Client,
    cmd: &'static Command,
    args: &[Bytes],
) -> u32 {
    if cmd.is(flags::TX_EXEC) {
        // Redis judges EXEC by the union of what it queued (mstate.cmd_flags),
        // and as stale-denied if any queued command is.
        let mut f = cmd.flags
            | (client.multi_flags & (flags::WRITE | flags::MAY_REPLICATE | flags::DENYOOM));
        if client.multi_deny_stale {
            f &= !flags::STALE;
        }
        return f;
    }
    match cmd.dyn_flags {
        Some(f) => f(srv, store, args, cmd.flags),
        None => cmd.flags,
    }
}

/// The admission check. `f` are the command's effective flags; `args` the
/// call's arguments and `store` the keyspace when held (the cluster slot
/// rule counts keys of migrating slots; without it they count as missing).
pub fn check(
    srv: &Shared,
    caller: Caller,
    client: &Client,
    cmd: &'static Command,
    f: u32,
    args: &[Bytes],
    store: Option<&crate::store::Store>,
) -> Verdict {
    let has = |x: u32| f & x != 0;
    match caller {
        Caller::Master | Caller::Exec => {}
        Caller::Script { read_only, wrote } => {
            if has(flags::NOSCRIPT) {
                return reject(NOT_FROM_SCRIPT);
            }
            // May-replicate counts as a write here, so read-only scripts also
            // run during CLIENT PAUSE WRITE (as Redis).
            if read_only && has(flags::WRITE | flags::MAY_REPLICATE) {
                return reject(RO_SCRIPT_WRITE);
            }
            if !client.master_link {
                if let Some(r) = cluster_redirect(srv, client, cmd, f, args, store) {
                    return Verdict::Reject(r.script_error());
                }
            }
            // Writes on behalf of our master are obeyed (mustObeyClient).
            if has(flags::WRITE) && !wrote && !client.master_link {
                if let Some(e) = state_refuses_writes(srv, &client.cfg) {
                    return Verdict::Reject(e);
                }
            }
            // An allow-stale script on a stale replica runs only stale-safe
            // commands (scriptVerifyAllowStale).
            if !has(flags::STALE) && stale(srv, &client.cfg) {
                return reject(STALE_FROM_SCRIPT);
            }
        }
        Caller::Client => {
            if !client.authenticated && !has(flags::NO_AUTH) && client.auth_required() {
                return Verdict::Reject(Error::NoAuth);
            }
            if client.multi.is_some() && has(flags::NO_MULTI) {
                return reject(NOT_IN_MULTI);
            }
            if let Some(r) = cluster_redirect(srv, client, cmd, f, args, store) {
                return Verdict::Reject(r.error());
            }
            // Redis 7.0 also refuses PING here, so monitoring notices the disk error.
            if has(flags::WRITE | flags::DISK_ERROR_PROBE) {
                if let Some(e) = disk_error(srv) {
                    return Verdict::Reject(e);
                }
            }
            if has(flags::WRITE) {
                if let Some(e) = replication_refuses_writes(srv, &client.cfg) {
                    return Verdict::Reject(e);
                }
            }
            if client.in_resp2_subscribed_mode() && !has(flags::SUBSCRIBED_OK) {
                return Verdict::Reject(Error::err(format!(
                    "Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                    cmd.name
                )));
            }
            if !has(flags::STALE) && stale(srv, &client.cfg) {
                return reject(MASTERDOWN);
            }
            // The startup load runs while clients connect (INFO shows loading:1).
            if !has(flags::LOADING) && srv.persist.loading() {
                return reject(LOADING);
            }
            if !has(flags::ALLOW_BUSY) && srv.scripts.is_busy() {
                return Verdict::Reject(Error::msg(srv.scripts.busy_err()));
            }
            let may_write = has(flags::WRITE | flags::MAY_REPLICATE);
            if !client.replica_link && srv.pause.holds(may_write) {
                return Verdict::Pause { may_write };
            }
        }
    }
    let queues = matches!(caller, Caller::Client | Caller::Master);
    if queues && client.multi.is_some() && !has(flags::NO_QUEUE) {
        return Verdict::Queue;
    }
    Verdict::Run
}

/// The cluster slot rule: a command with keys (or EXEC) whose slot this
/// node does not serve is redirected (MOVED/ASK) or refused (CROSSSLOT,
/// TRYAGAIN, CLUSTERDOWN). Redis 7.0's getNodeByQuery.
fn cluster_redirect(
    srv: &Shared,
    client: &Client,
    cmd: &'static Command,
    f: u32,
    args: &[Bytes],
    store: Option<&crate::store::Store>,
) -> Option<crate::cluster::route::Redirect> {
    let cl = srv.cluster.get()?;
    if !crate::cluster::route::applies(cmd) {
        return None;
    }
    let c = srv.config.read();
    let q = crate::cluster::route::Query {
        client,
        cmd,
        flags: f,
        args,
        store,
        allow_reads_when_down: c.cluster_allow_reads_when_down,
        allow_pubsubshard_when_down: c.cluster_allow_pubsubshard_when_down,
        preferred_endpoint: &c.cluster_preferred_endpoint_type,
    };
    cl.route(&q)
}

fn reject(msg: &'static str) -> Verdict {
    Verdict::Reject(Error::msg(msg))
}

/// MISCONF, NOREPLICAS, READONLY: the server's state refuses a write.
fn state_refuses_writes(srv: &Shared, cfg: &Config) -> Option<Error> {
    disk_error(srv).or_else(|| replication_refuses_writes(srv, cfg))
}

/// MISCONF: a failed RDB save (with stop-writes-on-bgsave-error), else a
/// failing AOF write (Redis 7.0's order and texts).
fn disk_error(srv: &Shared) -> Option<Error> {
    if srv.persist.writes_denied() {
        return Some(Error::msg(crate::persist::dump::MISCONF));
    }
    if !srv.aof.write_ok() && !srv.repl.is_replica() {
        return srv.aof.write_error().map(Error::msg);
    }
    None
}

/// A master short of good replicas (min-replicas-to-write), or a read-only replica.
fn replication_refuses_writes(srv: &Shared, cfg: &Config) -> Option<Error> {
    let r = &srv.repl;
    if !r.is_replica() {
        let min = cfg.min_replicas_to_write as u64;
        let lag = cfg.min_replicas_max_lag as u64;
        if min > 0 && lag > 0 && (r.count_good(lag, crate::util::mono_ms()) as u64) < min {
            return Some(Error::NoReplicas);
        }
    } else if cfg.replica_read_only {
        return Some(Error::ReadOnly);
    }
    None
}

/// A replica whose link is down with replica-serve-stale-data no.
pub fn stale(srv: &Shared, cfg: &Config) -> bool {
    let r = &srv.repl;
    r.is_replica() && !r.link_up.load(Relaxed) && !cfg.replica_serve_stale_data
}
