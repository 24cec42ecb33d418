//! The command table: every command is declared once, with its arity,
//! flags, key positions and handler. COMMAND INFO/COUNT/DOCS, MULTI
//! queueing, AUTH gating, pub/sub-context checks, propagation and (later)
//! read-only replicas and min-replicas gating all read these declarations.

pub mod admit;
pub mod blocking;
pub mod client;
pub mod cluster;
pub mod command;
pub mod config;
pub mod connection;
pub mod exec;
pub mod functions;
pub mod geo;
pub mod hashes;
pub mod hll;
pub mod info;
pub mod keys;
pub mod latency;
pub mod lists;
pub mod migrate;
pub mod persist;
pub mod pqsort;
pub mod pubsub;
pub mod repl;
pub mod scan;
pub mod scripting;
pub mod server;
pub mod sets;
pub mod sort;
pub mod streams;
pub mod strings;
#[cfg(test)]
pub mod testkit;
pub mod tracking;
pub mod tx;
pub mod zsets;

use crate::error::CmdResult;
use crate::net::client::Client;
use crate::resp::Out;
use crate::server::Shared;
use crate::store::Store;
use bytes::Bytes;
use std::sync::OnceLock;

/// Command flags, named as in Redis's COMMAND INFO.
pub mod flags {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const SKIP_MONITOR: u32 = 1 << 9;
    pub const SKIP_SLOWLOG: u32 = 1 << 10;
    pub const FAST: u32 = 1 << 11;
    pub const NO_AUTH: u32 = 1 << 12;
    pub const MAY_REPLICATE: u32 = 1 << 13;
    pub const NO_MULTI: u32 = 1 << 14;
    pub const ALLOW_BUSY: u32 = 1 << 15;
    // Our own flags below: not shown by COMMAND INFO.
    /// Allowed while a RESP2 client is in subscribed state.
    pub const SUBSCRIBED_OK: u32 = 1 << 16;
    /// Runs at once inside MULTI instead of being queued (MULTI, EXEC, DISCARD, WATCH, QUIT, RESET).
    pub const NO_QUEUE: u32 = 1 << 17;
    /// Refused with -MISCONF like a write (PING: so monitoring notices a disk error).
    pub const DISK_ERROR_PROBE: u32 = 1 << 18;
    /// Runs the MULTI queue: admitted with the union of the queued commands'
    /// flags; a refusal discards the transaction (-EXECABORT ... because of:).
    pub const TX_EXEC: u32 = 1 << 19;
    /// Served by a sentinel too, through the declaration's `sentinel` handler
    /// (Redis's CMD_SENTINEL). Not shown by COMMAND INFO, as in Redis.
    pub const SENTINEL: u32 = 1 << 20;
    /// Served only by a sentinel (Redis's CMD_ONLY_SENTINEL): a data node
    /// does not know the command.
    pub const ONLY_SENTINEL: u32 = 1 << 21;
    /// Served for a client that sent ASKING without it (RESTORE-ASKING).
    pub const ASKING: u32 = 1 << 22;
    /// Runs locally while its slot is migrating or importing (MIGRATE).
    pub const MIGRATES: u32 = 1 << 23;

    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (MAY_REPLICATE, "may_replicate"),
        (NO_MULTI, "no_multi"),
        (ALLOW_BUSY, "allow_busy"),
        (ASKING, "asking"),
    ];
}

pub type Handler = fn(&mut Ctx, &[Bytes]) -> CmdResult;

/// A handler that runs without the keyspace lock, while a busy script holds
/// it (SCRIPT KILL, SHUTDOWN NOSAVE): Redis serves these during a script.
pub type LockFreeHandler = fn(&Shared, &[Bytes], &mut Out);

/// How a sentinel serves a command (flags SENTINEL / ONLY_SENTINEL). The
/// context is the sentinel's (`sentinel::front`): like Redis's table, which
/// names sentinelCommand and friends, the one table names both roles' handlers.
pub type SentinelHandler = fn(&mut crate::sentinel::front::Ctx, &[Bytes]) -> CmdResult;

/// Flags that depend on the arguments (EVAL: the script's shebang flags),
/// given the declared ones.
pub type FlagsFn = fn(&Shared, &Store, &[Bytes], u32) -> u32;

/// Finds key positions in a call's arguments (movable keys).
pub type KeysFn = fn(&[Bytes]) -> Vec<usize>;

/// Key positions, as COMMAND INFO reports them (first, last, step; last < 0
/// counts from the end).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keys {
    pub first: i32,
    pub last: i32,
    pub step: i32,
}

pub const NOKEYS: Keys = Keys {
    first: 0,
    last: 0,
    step: 0,
};
pub const KEY1: Keys = Keys {
    first: 1,
    last: 1,
    step: 1,
};
/// Every argument after the name is a key (DEL, EXISTS, MGET...).
pub const KEYS_ALL: Keys = Keys {
    first: 1,
    last: -1,
    step: 1,
};

/// One declared command (or subcommand, named `container|sub`). Declared
/// with named fields and `..Command::DEFAULT` for the rest.
pub struct Command {
    pub name: &'static str,
    /// Redis arity: positive = exact argc, negative = at least -arity.
    pub arity: i32,
    pub flags: u32,
    pub keys: Keys,
    pub group: &'static str,
    pub summary: &'static str,
    pub since: &'static str,
    /// Argument synopsis shown by COMMAND DOCS and redis-cli hints, e.g. "key value [EX seconds]".
    pub args: &'static str,
    pub handler: Handler,
    /// Subcommands of a container (CONFIG, CLIENT...), looked up by the dispatcher.
    pub subcommands: &'static [Command],
    /// How the command is served while a busy script holds the keyspace
    /// (only with ALLOW_BUSY; without it an ALLOW_BUSY command waits for the lock).
    pub lock_free: Option<LockFreeHandler>,
    /// Computes the flags the admission check uses for one call.
    pub dyn_flags: Option<FlagsFn>,
    /// Key positions found in the arguments (numkeys, XREAD's STREAMS...),
    /// besides `keys`: the slot rule and COMMAND GETKEYS use both.
    pub movable_keys: Option<KeysFn>,
    /// ACL categories Redis declares for the command beyond what its flags
    /// imply (its JSON's `acl_categories`); when set, they replace the one
    /// derived from the group.
    pub acl: &'static [&'static str],
    /// The sentinel's handler: set exactly when flagged SENTINEL or ONLY_SENTINEL.
    pub sentinel: Option<SentinelHandler>,
}

impl Command {
    /// The fields a declaration does not name.
    pub const DEFAULT: Command = Command {
        name: "",
        arity: -1,
        flags: 0,
        keys: NOKEYS,
        group: "",
        summary: "",
        since: "",
        args: "",
        handler: |_, _| Ok(()),
        subcommands: &[],
        lock_free: None,
        dyn_flags: None,
        movable_keys: None,
        acl: &[],
        sentinel: None,
    };

    pub fn is(&self, f: u32) -> bool {
        self.flags & f != 0
    }

    pub fn arity_ok(&self, argc: usize) -> bool {
        let a = self.arity;
        (a >= 0 && argc == a as usize) || (a < 0 && argc >= (-a) as usize)
    }

    /// Positions of key arguments in `args` (COMMAND GETKEYS, WATCH-style checks).
    pub fn key_positions(&self, argc: usize) -> Vec<usize> {
        if self.keys.first <= 0 {
            return Vec::new();
        }
        let last = if self.keys.last < 0 {
            argc as i32 + self.keys.last
        } else {
            self.keys.last
        };
        let step = self.keys.step.max(1);
        let mut v = Vec::new();
        let mut i = self.keys.first;
        while i <= last && (i as usize) < argc {
            v.push(i as usize);
            i += step;
        }
        v
    }

    /// Positions of the key arguments of one call (movable keys included).
    /// Key argument positions of one call: the declared positions plus
    /// those a movable-keys command finds in its arguments.
    pub fn keys_of(&self, args: &[Bytes]) -> Vec<usize> {
        let mut v = self.key_positions(args.len());
        if let Some(f) = self.movable_keys {
            v.extend(f(args));
        }
        v
    }

    /// ACL categories in the order Redis 7.0 lists them (its category table).
    pub fn acl_categories(&self) -> Vec<String> {
        let group = match self.group {
            "generic" => "keyspace",
            "sorted-set" => "sortedset",
            "transactions" => "transaction",
            g => g,
        };
        let has = |cat: &str| -> bool {
            match cat {
                // Redis: read-only scripts are @scripting, not @read.
                "read" => self.is(flags::READONLY) && group != "scripting",
                "write" => self.is(flags::WRITE),
                "pubsub" => self.is(flags::PUBSUB),
                "admin" | "dangerous" => self.is(flags::ADMIN),
                "fast" => self.is(flags::FAST),
                "slow" => !self.is(flags::FAST),
                "blocking" => self.is(flags::BLOCKING),
                _ => false,
            }
        };
        const ORDER: [&str; 21] = [
            "keyspace",
            "read",
            "write",
            "set",
            "sortedset",
            "list",
            "hash",
            "string",
            "bitmap",
            "hyperloglog",
            "geo",
            "stream",
            "pubsub",
            "admin",
            "fast",
            "slow",
            "blocking",
            "dangerous",
            "connection",
            "transaction",
            "scripting",
        ];
        let by_group = [
            "keyspace",
            "set",
            "sortedset",
            "list",
            "hash",
            "string",
            "bitmap",
            "hyperloglog",
            "geo",
            "stream",
            "connection",
            "transaction",
            "scripting",
        ];
        ORDER
            .iter()
            // A container (CLIENT, XINFO...) has only its flags' categories.
            .filter(|c| {
                has(c)
                    || self.acl.contains(c)
                    || (self.acl.is_empty()
                        && self.subcommands.is_empty()
                        && by_group.contains(c)
                        && **c == group)
            })
            .map(|c| format!("@{}", c))
            .collect()
    }
}

type ByName = hashbrown::HashMap<&'static [u8], &'static Command>;

/// The one table, seen by each role (as Redis fills its table at start
/// according to the sentinel flags).
pub struct Table {
    /// The data node's commands: everything but ONLY_SENTINEL.
    pub all: Vec<&'static Command>,
    /// Lowercase name bytes -> command (foldhash: this lookup runs once per command).
    by_name: ByName,
    /// The sentinel's commands: SENTINEL and ONLY_SENTINEL.
    pub sentinel_all: Vec<&'static Command>,
    sentinel_by_name: ByName,
}

/// Look `name` up case-insensitively, without allocating.
fn lookup(map: &ByName, name: &[u8]) -> Option<&'static Command> {
    let mut buf = [0u8; 32];
    if name.len() > buf.len() {
        return None;
    }
    for (d, s) in buf.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    map.get(&buf[..name.len()]).copied()
}

impl Table {
    /// A data-node command by name, case-insensitively, without allocating.
    pub fn get(&self, name: &[u8]) -> Option<&'static Command> {
        lookup(&self.by_name, name)
    }

    /// A command a sentinel serves, by name.
    pub fn sentinel_get(&self, name: &[u8]) -> Option<&'static Command> {
        lookup(&self.sentinel_by_name, name)
    }

    pub fn subcommand(&self, container: &'static Command, sub: &[u8]) -> Option<&'static Command> {
        container.subcommands.iter().find(|c| {
            c.name
                .split('|')
                .nth(1)
                .is_some_and(|n| n.as_bytes().eq_ignore_ascii_case(sub))
        })
    }
}

pub fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let families: &[&'static [Command]] = &[
            connection::COMMANDS,
            client::COMMANDS,
            keys::COMMANDS,
            strings::COMMANDS,
            lists::COMMANDS,
            blocking::COMMANDS,
            hashes::COMMANDS,
            sets::COMMANDS,
            pubsub::COMMANDS,
            scripting::COMMANDS,
            tx::COMMANDS,
            server::COMMANDS,
            info::COMMANDS,
            config::COMMANDS,
            command::COMMANDS,
            zsets::COMMANDS,
            repl::COMMANDS,
            persist::COMMANDS,
            streams::COMMANDS,
            crate::sentinel::front::COMMANDS,
            cluster::COMMANDS,
            migrate::COMMANDS,
            hll::COMMANDS,
            geo::COMMANDS,
            sort::COMMANDS,
            strings::bitfield::COMMANDS,
            functions::COMMANDS,
            latency::COMMANDS,
        ];
        let mut names = std::collections::HashSet::new();
        let (mut all, mut by_name) = (Vec::new(), ByName::new());
        let (mut sentinel_all, mut sentinel_by_name) = (Vec::new(), ByName::new());
        for fam in families {
            for c in fam.iter() {
                assert!(names.insert(c.name), "command {} declared twice", c.name);
                let for_sentinel = c.is(flags::SENTINEL | flags::ONLY_SENTINEL);
                assert_eq!(
                    for_sentinel,
                    c.sentinel.is_some(),
                    "{}: a sentinel flag goes with a sentinel handler",
                    c.name
                );
                if !c.is(flags::ONLY_SENTINEL) {
                    by_name.insert(c.name.as_bytes(), c);
                    all.push(c);
                }
                if for_sentinel {
                    sentinel_by_name.insert(c.name.as_bytes(), c);
                    sentinel_all.push(c);
                }
            }
        }
        Table {
            all,
            by_name,
            sentinel_all,
            sentinel_by_name,
        }
    })
}

/// Movable keys: `numkeys key...` with numkeys at `AT` (EVAL: 2, ZUNION: 1).
pub fn numkeys_at<const AT: usize>(args: &[Bytes]) -> Vec<usize> {
    let n = args
        .get(AT)
        .and_then(|a| crate::util::parse_i64(a))
        .unwrap_or(0)
        .max(0) as usize;
    (AT + 1..(AT + 1 + n).min(args.len())).collect()
}

/// Actions a command asks the connection to take once the keyspace lock is released.
#[derive(Debug, Clone, PartialEq)]
pub enum Post {
    /// Write the pending replies, then close (QUIT, CLIENT KILL of self).
    Close,
    /// Stop the server gracefully (SHUTDOWN); the caller gets no reply.
    Shutdown,
    /// The command found nothing and blocked (BLPOP...): wait for a wake-up,
    /// the deadline in `Client::blocked`, CLIENT UNBLOCK or a disconnect.
    Block,
    /// A pause (CLIENT PAUSE, FAILOVER) holds the command: wait for its end
    /// without the keyspace lock, then submit the command again.
    Pause { may_write: bool },
    /// PSYNC/SYNC accepted: after the pending output is written, the
    /// connection is handed to the replication master side (`repl::master::serve`).
    Replica,
    /// WAIT: reply once `replicas` replicas acked `offset`, or at the deadline.
    Wait {
        offset: u64,
        replicas: usize,
        deadline: Option<std::time::Instant>,
    },
}

/// Everything a handler may touch. The keyspace lock is held for its lifetime.
pub struct Ctx<'a> {
    pub srv: &'a Shared,
    pub store: &'a mut Store,
    pub client: &'a mut Client,
    pub out: &'a mut Out,
    pub post: &'a mut Vec<Post>,
    pub cmd: &'static Command,
    /// Command time in Unix ms, cached for the whole command.
    pub now: u64,
}

impl Ctx<'_> {
    /// The client's selected database.
    #[inline]
    pub fn db(&mut self) -> &mut crate::store::Db {
        &mut self.store.dbs[self.client.db]
    }

    /// Record an explicit effect for the current database (replaces verbatim propagation).
    pub fn propagate(&mut self, args: Vec<Bytes>) {
        let db = self.client.db;
        self.store.effect(db, args);
    }

    /// Mark the dataset changed (INFO rdb_changes_since_last_save; default propagation).
    #[inline]
    pub fn dirty(&mut self, n: u64) {
        self.store.dirty += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        let t = table();
        for c in &t.all {
            assert_eq!(c.name, c.name.to_ascii_lowercase(), "names are lowercase");
            assert!(c.arity != 0, "{} has arity 0", c.name);
            assert!(
                !(c.is(flags::WRITE) && c.is(flags::READONLY)),
                "{} both write and readonly",
                c.name
            );
            for s in c.subcommands {
                assert!(
                    s.name.starts_with(&format!("{}|", c.name)),
                    "{} under {}",
                    s.name,
                    c.name
                );
            }
        }
        assert!(t.get(b"GeT").is_some());
        assert!(t.get(b"nosuchcommand").is_none());
        // Each role sees its own commands of the one table.
        assert!(t.get(b"sentinel").is_none());
        assert!(t.sentinel_get(b"SENTINEL").is_some());
        assert!(t.sentinel_get(b"ping").is_some());
        assert!(t.sentinel_get(b"get").is_none());
    }
}
