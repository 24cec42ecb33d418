//! The dataset and the one total order of writes.
//!
//! `Store` is only ever used while holding the server's keyspace lock. Every
//! change to a database and its propagated form (`Effect`) are produced in
//! the same critical section, so replicas, the backlog and snapshots (later)
//! all see the master's order.

pub mod cow;
pub mod db;
pub mod expire;
pub mod geohash;
pub mod hash;
pub mod hll;
pub mod lazyfree;
pub mod list;
pub mod set;
pub mod small;
pub mod stream;
pub mod value;
pub mod zset;

pub use db::{Db, Entry, WatchFlag};
pub use small::SmallBytes;
pub use value::Value;

use bytes::{Bytes, BytesMut};

/// A write as it must be replayed elsewhere (replicas, AOF): effects, not intents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effect {
    pub db: usize,
    pub args: Vec<Bytes>,
}

/// Receives the replication stream, already RESP-encoded, in write order.
pub trait ReplSink: Send {
    fn feed(&mut self, stream: &[u8]);
}

/// Receives the append-only file's copy of the effects, RESP-encoded with
/// its own SELECTs, in write order: every write, also on a replica (what it
/// applies from its master), never the PINGs and REPLCONFs of the stream.
/// `feed` only appends to a buffer: the file I/O is the AOF writer's.
pub trait AofSink: Send {
    fn feed(&mut self, stream: &[u8]);
}

/// The propagation hook: turns effects into the replication stream.
/// Offsets only advance while someone listens, as in Redis (no backlog, no offset).
#[derive(Default)]
pub struct Propagator {
    pub offset: u64,
    /// On a replica, local effects are not propagated: the master's stream is
    /// passed on verbatim with `feed_raw` (same replid and offsets as the master).
    pub replica_mode: bool,
    selected_db: Option<usize>,
    sinks: Vec<Box<dyn ReplSink>>,
    scratch: BytesMut,
    /// The AOF (`persist::aof`): fed the same effects, selecting its own db.
    aof: Option<Box<dyn AofSink>>,
    aof_selected_db: Option<usize>,
    aof_scratch: BytesMut,
}

/// Encode one command's effects: SELECT when the db changes, MULTI/EXEC
/// around several so they apply atomically.
fn encode_effects(buf: &mut BytesMut, selected: &mut Option<usize>, effects: &[Effect]) {
    buf.clear();
    let wrap = effects.len() > 1;
    if wrap {
        crate::resp::encode_command(buf, &[b"MULTI".as_slice()]);
    }
    for e in effects {
        if *selected != Some(e.db) {
            let mut b = itoa::Buffer::new();
            crate::resp::encode_command(buf, &[b"SELECT".as_slice(), b.format(e.db).as_bytes()]);
            *selected = Some(e.db);
        }
        crate::resp::encode_command(buf, &e.args);
    }
    if wrap {
        crate::resp::encode_command(buf, &[b"EXEC".as_slice()]);
    }
}

impl Propagator {
    pub fn add_sink(&mut self, sink: Box<dyn ReplSink>) {
        self.sinks.push(sink);
        // A new listener needs an explicit SELECT before the next command.
        self.selected_db = None;
    }

    pub fn has_sinks(&self) -> bool {
        !self.sinks.is_empty() && !self.replica_mode
    }

    /// Drop every sink (the backlog is recreated by replication when needed).
    pub fn clear_sinks(&mut self) {
        self.sinks.clear();
        self.selected_db = None;
    }

    /// The next propagated command starts with a SELECT (new replicas, promotion).
    pub fn reset_select(&mut self) {
        self.selected_db = None;
    }

    /// Append bytes that are already replication stream (PING, REPLCONF GETACK,
    /// a master's stream passed on by a replica): they count in the offset.
    pub fn feed_raw(&mut self, stream: &[u8]) {
        self.offset += stream.len() as u64;
        for s in &mut self.sinks {
            s.feed(stream);
        }
    }

    /// Emit one command's effects; several are wrapped in MULTI/EXEC so they apply atomically.
    pub fn propagate(&mut self, effects: &[Effect]) {
        let to_repl = !self.sinks.is_empty() && !self.replica_mode;
        if effects.is_empty() || (!to_repl && self.aof.is_none()) {
            return;
        }
        let repl_db_before = self.selected_db;
        if to_repl {
            encode_effects(&mut self.scratch, &mut self.selected_db, effects);
            self.offset += self.scratch.len() as u64;
            for s in &mut self.sinks {
                s.feed(&self.scratch);
            }
        }
        if let Some(aof) = &mut self.aof {
            if to_repl && self.aof_selected_db == repl_db_before {
                // Same starting db: the same bytes (the common case, encoded once).
                self.aof_selected_db = self.selected_db;
                aof.feed(&self.scratch);
            } else {
                encode_effects(&mut self.aof_scratch, &mut self.aof_selected_db, effects);
                aof.feed(&self.aof_scratch);
            }
        }
    }

    /// Attach (or with None detach) the append-only file.
    pub fn set_aof(&mut self, sink: Option<Box<dyn AofSink>>) {
        self.aof = sink;
        self.aof_selected_db = None;
    }

    /// Someone takes effects: replicas (not on a replica) or the AOF.
    /// Handlers build explicit effects only then.
    #[inline]
    pub fn wants_effects(&self) -> bool {
        self.has_sinks() || self.aof.is_some()
    }

    pub fn has_aof(&self) -> bool {
        self.aof.is_some()
    }

    /// The AOF moves to a new file: its next command starts with a SELECT.
    pub fn aof_reset_select(&mut self) {
        self.aof_selected_db = None;
    }
}

#[derive(Default, Debug, Clone)]
pub struct StoreStats {
    pub expired_keys: u64,
    pub expire_cycles: u64,
    /// Active expire cycles that stopped at their time budget.
    pub expire_time_cap_reached: u64,
    /// Time spent in active expire cycles, microseconds.
    pub expire_cycle_us: u64,
    /// Moving average of the share of sampled keys found expired (0..1).
    pub expired_stale: f64,
}

pub struct Store {
    pub dbs: Vec<Db>,
    pub repl: Propagator,
    /// Changes since the last save (INFO rdb_changes_since_last_save).
    pub dirty: u64,
    /// Effects of the command being executed, flushed by the executor.
    pub effects: Vec<Effect>,
    pub stats: StoreStats,
    pub active_expire: bool,
    /// INFO commandstats: plain counters kept under the lock the executor
    /// already holds; the executor records them (`cmd::exec::cmd_stat`).
    /// Keyed by the command's address (hashing a pointer is cheaper than its name).
    pub cmdstats: hashbrown::HashMap<usize, CmdStat>,
    /// INFO errorstats: error code -> count.
    pub errorstats: hashbrown::HashMap<String, u64>,
    /// While > 0 (inside EXEC), effects accumulate and are flushed together.
    pub hold_effects: u32,
    /// Command time (Unix ms) of the command being executed.
    pub now: u64,
    /// When the previous command ended: per-command durations need one clock read.
    pub cmd_start: std::time::Instant,
    /// A command may have touched other databases: collect lazy expiry from all.
    lazy_all_dbs: bool,
    /// Compact-encoding thresholds, copied from the config (CONFIG SET refreshes them).
    pub limits: EncodingLimits,
    /// Clients blocked on keys, in arrival order per key.
    pub blocking: crate::blocking::Blocking,
    /// The running (or last) snapshot's "done" flag (persist::snapshot).
    pub snapshot: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Client-side caching: who read which keys (CLIENT TRACKING).
    pub tracking: crate::tracking::Tracking,
    /// Function libraries (FUNCTION LOAD): part of the dataset.
    pub functions: FunctionCode,
    /// Inside a script or function: the script's start time (Unix ms), which
    /// every command it runs sees (Redis 7.0 freezes time in scripts).
    pub frozen_now: Option<u64>,
}

/// The source code of the function libraries, as the dataset keeps it: the
/// RDB (opcode FUNCTION2), a full sync and FUNCTION DUMP carry these bytes.
/// The compiled form lives with the scripting engine
/// (`scripting::functions`), which rebuilds itself when `gen` changes.
#[derive(Clone, Default, Debug)]
pub struct FunctionCode {
    /// Each library's code, `#!lua name=...` line included, ordered by name.
    pub codes: Vec<Bytes>,
    /// Changes with every change (0: no library was ever set).
    pub gen: u64,
}

impl FunctionCode {
    pub fn new(codes: Vec<Bytes>) -> Self {
        static GEN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        FunctionCode {
            codes,
            gen: GEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
        }
    }
}

/// When small collections switch from their compact encoding to the general one.
#[derive(Debug, Clone, Copy)]
pub struct EncodingLimits {
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
    pub set_max_intset_entries: usize,
    pub zset_max_listpack_entries: usize,
    pub zset_max_listpack_value: usize,
    pub list_max_listpack_size: i64,
    pub stream_node_max_bytes: usize,
    pub stream_node_max_entries: usize,
    /// A sparse HyperLogLog larger than this becomes dense.
    pub hll_sparse_max_bytes: usize,
}

impl EncodingLimits {
    pub fn from_config(c: &crate::config::Config) -> Self {
        EncodingLimits {
            hash_max_listpack_entries: c.hash_max_listpack_entries as usize,
            hash_max_listpack_value: c.hash_max_listpack_value as usize,
            set_max_intset_entries: c.set_max_intset_entries as usize,
            zset_max_listpack_entries: c.zset_max_listpack_entries as usize,
            zset_max_listpack_value: c.zset_max_listpack_value as usize,
            list_max_listpack_size: c.list_max_listpack_size,
            stream_node_max_bytes: c.stream_node_max_bytes as usize,
            stream_node_max_entries: c.stream_node_max_entries as usize,
            hll_sparse_max_bytes: c.hll_sparse_max_bytes as usize,
        }
    }
}

impl Default for EncodingLimits {
    fn default() -> Self {
        EncodingLimits::from_config(&crate::config::Config::default())
    }
}

#[derive(Default, Debug, Clone)]
pub struct CmdStat {
    pub name: &'static str,
    pub calls: u64,
    pub usec: u64,
    pub rejected_calls: u64,
    pub failed_calls: u64,
    /// Call durations (INFO latencystats), while latency-tracking is on.
    pub latency: Option<Box<crate::latency::Histogram>>,
}

impl Store {
    pub fn new(databases: usize) -> Self {
        Store {
            dbs: (0..databases).map(|_| Db::new()).collect(),
            repl: Propagator::default(),
            dirty: 0,
            effects: Vec::new(),
            stats: StoreStats::default(),
            active_expire: true,
            cmdstats: Default::default(),
            errorstats: Default::default(),
            hold_effects: 0,
            now: crate::util::now_ms(),
            cmd_start: std::time::Instant::now(),
            lazy_all_dbs: true,
            limits: EncodingLimits::default(),
            blocking: Default::default(),
            snapshot: None,
            tracking: Default::default(),
            functions: FunctionCode::default(),
            frozen_now: None,
        }
    }

    /// Cache the command time in every database. Commands that touch other
    /// databases than the client's (MOVE, COPY ... DB) call this themselves.
    pub fn set_now(&mut self, ms: u64) {
        self.now = ms;
        for db in &mut self.dbs {
            db.now = ms;
        }
        self.lazy_all_dbs = true;
    }

    /// Cache the command time for the client's database only (the per-command path).
    #[inline]
    pub fn set_now_for(&mut self, ms: u64, db: usize) {
        self.now = ms;
        self.dbs[db].now = ms;
    }

    /// Record an effect of the current command.
    pub fn effect(&mut self, db: usize, args: Vec<Bytes>) {
        self.effects.push(Effect { db, args });
    }

    /// Turn lazily expired keys into DEL effects (they come before the command's own effects).
    /// `db` is the client's database; others are looked at only after `set_now`.
    pub fn collect_lazy_expired(&mut self, current: usize) {
        let all = std::mem::take(&mut self.lazy_all_dbs);
        for (i, db) in self.dbs.iter_mut().enumerate() {
            if (!all && i != current) || db.lazy_expired.is_empty() {
                continue;
            }
            for k in db.lazy_expired.drain(..) {
                self.stats.expired_keys += 1;
                self.dirty += 1;
                self.effects.push(Effect {
                    db: i,
                    args: vec![
                        Bytes::from_static(b"DEL"),
                        Bytes::copy_from_slice(k.as_bytes()),
                    ],
                });
            }
        }
    }

    /// Send the pending effects down the replication stream.
    pub fn flush_effects(&mut self) {
        if self.effects.is_empty() || self.hold_effects > 0 {
            return;
        }
        let effects = std::mem::take(&mut self.effects);
        self.repl.propagate(&effects);
        self.effects = effects;
        self.effects.clear();
    }

    /// True while EXEC or a script runs (their effects are held to be
    /// propagated as one block): blocking commands must not wait there.
    pub fn in_exec_or_script(&self) -> bool {
        self.hold_effects > 0
    }

    /// Start or stop listing modified keys, as tracking clients come and go.
    pub fn tracking_changed(&mut self) {
        let on = self.tracking.active();
        for db in &mut self.dbs {
            db.track = on;
            if !on {
                db.changed.clear();
                db.flushed = false;
            }
        }
    }

    /// Tell tracking clients about the keys modified since the last call
    /// (by client `by`; None: by the server itself, e.g. active expiry).
    pub fn tracking_sync(&mut self, by: Option<u64>) {
        let mut flushed = false;
        for db in &mut self.dbs {
            flushed |= std::mem::take(&mut db.flushed);
            for k in db.changed.drain(..) {
                self.tracking.invalidate(k.as_bytes(), by);
            }
        }
        if flushed {
            self.tracking.invalidate_all();
        }
        self.tracking.broadcast();
    }

    pub fn keys_total(&self) -> usize {
        self.dbs.iter().map(|d| d.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    struct Capture(Arc<Mutex<Vec<u8>>>);
    impl ReplSink for Capture {
        fn feed(&mut self, s: &[u8]) {
            self.0.lock().unwrap().extend_from_slice(s);
        }
    }

    #[test]
    fn propagation_selects_db_and_wraps_multi() {
        let cap = Arc::new(Mutex::new(Vec::new()));
        let mut st = Store::new(16);
        st.repl.add_sink(Box::new(Capture(cap.clone())));
        st.effect(
            0,
            vec![Bytes::from("SET"), Bytes::from("a"), Bytes::from("1")],
        );
        st.flush_effects();
        st.effect(2, vec![Bytes::from("DEL"), Bytes::from("a")]);
        st.effect(2, vec![Bytes::from("DEL"), Bytes::from("b")]);
        st.flush_effects();
        let got = String::from_utf8(cap.lock().unwrap().clone()).unwrap();
        assert_eq!(
            got,
            "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n\
             *1\r\n$5\r\nMULTI\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*2\r\n$3\r\nDEL\r\n$1\r\na\r\n\
             *2\r\n$3\r\nDEL\r\n$1\r\nb\r\n*1\r\n$4\r\nEXEC\r\n"
        );
        assert_eq!(st.repl.offset as usize, got.len());
    }

    #[test]
    fn replica_mode_passes_raw_stream_and_drops_local_effects() {
        let cap = Arc::new(Mutex::new(Vec::new()));
        let mut st = Store::new(1);
        st.repl.add_sink(Box::new(Capture(cap.clone())));
        st.repl.replica_mode = true;
        st.effect(0, vec![Bytes::from("DEL"), Bytes::from("a")]);
        st.flush_effects();
        assert!(cap.lock().unwrap().is_empty());
        st.repl.feed_raw(b"*1\r\n$4\r\nping\r\n");
        assert_eq!(st.repl.offset, 14);
        assert_eq!(cap.lock().unwrap().len(), 14);
    }

    struct AofCap(Arc<Mutex<Vec<u8>>>);
    impl AofSink for AofCap {
        fn feed(&mut self, s: &[u8]) {
            self.0.lock().unwrap().extend_from_slice(s);
        }
    }

    #[test]
    fn aof_gets_effects_with_its_own_selects_also_on_a_replica() {
        let repl = Arc::new(Mutex::new(Vec::new()));
        let aof = Arc::new(Mutex::new(Vec::new()));
        let mut st = Store::new(4);
        st.repl.set_aof(Some(Box::new(AofCap(aof.clone()))));
        st.effect(1, vec![Bytes::from("DEL"), Bytes::from("a")]);
        st.flush_effects();
        // A replica listens from now on: the repl stream needs its SELECT, the AOF not.
        st.repl.add_sink(Box::new(Capture(repl.clone())));
        st.effect(1, vec![Bytes::from("DEL"), Bytes::from("b")]);
        st.flush_effects();
        assert_eq!(
            String::from_utf8(aof.lock().unwrap().clone()).unwrap(),
            "*2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n*2\r\n$3\r\nDEL\r\n$1\r\na\r\n*2\r\n$3\r\nDEL\r\n$1\r\nb\r\n"
        );
        assert!(repl.lock().unwrap().starts_with(b"*2\r\n$6\r\nSELECT"));
        // On a replica: the master's stream passes raw to sub-replicas, never to the AOF;
        // what it applies reaches the AOF as effects.
        st.repl.replica_mode = true;
        st.repl.feed_raw(b"*1\r\n$4\r\nping\r\n");
        st.effect(1, vec![Bytes::from("DEL"), Bytes::from("c")]);
        st.flush_effects();
        let a = aof.lock().unwrap().clone();
        assert!(a.ends_with(b"*2\r\n$3\r\nDEL\r\n$1\r\nc\r\n"));
        assert!(!a.windows(4).any(|w| w == b"ping"));
    }

    #[test]
    fn lazy_expiry_becomes_del_effect() {
        let mut st = Store::new(1);
        st.set_now(1000);
        let idx = st.dbs[0].set(b"k", Value::str(b"v"), false);
        st.dbs[0].set_expire_idx(idx, 1500);
        st.set_now(2000);
        assert!(st.dbs[0].get(b"k").is_none());
        st.collect_lazy_expired(0);
        assert_eq!(
            st.effects,
            vec![Effect {
                db: 0,
                args: vec![Bytes::from("DEL"), Bytes::from("k")]
            }]
        );
        assert_eq!(st.stats.expired_keys, 1);
    }
}
