//! The copy-on-write cursor behind point-in-time snapshots without fork()
//! and without stopping the world (used by `persist::snapshot` for BGSAVE
//! and full syncs; the store owns it because its hooks live in `Db`).
//!
//! `begin` (under the keyspace lock, O(number of dbs)) installs a small state
//! in every non-empty `Db`: a cursor over its slab and a "handled" bitmap of
//! slab positions. Position `i` is *visited* once the job's cursor passed it.
//! Before any change to an entry at an unvisited, not yet handled position —
//! value mutation, TTL change, delete, overwrite — the db encodes the entry as
//! it was (its pre-image) into the db's pending buffer and marks the position
//! handled; a key inserted at an unvisited position is only marked (it did not
//! exist at the snapshot point). The job walks the slab in short lock holds,
//! encodes live entries at unhandled positions and drains the pending
//! pre-images, and writes all that outside the lock. Every entry that existed
//! at `begin` is therefore written exactly once, as it was at `begin`.
//!
//! Slab positions never move, so the state stays valid while the db grows.
//! SWAPDB moves the state with the slab it describes; FLUSHDB/FLUSHALL park
//! the whole old `Db` in `Db::detached` (no per-key work in the lock) and the
//! job takes it from there and writes (and frees) it outside the lock.
//! Replacing `Store::dbs` wholesale while a snapshot runs loses the source:
//! the job then fails cleanly instead of writing a partial dataset.

use super::{Db, Entry, Store, Value};
use std::io;
use std::ops::DerefMut;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Encodes one key as a complete record (`rdb::encode_entry` in production).
pub type EncodeFn = fn(&mut Vec<u8>, &[u8], &Value, u64);

/// Keys encoded per lock hold at most.
const STEP_KEYS: usize = 1000;
/// Slab positions looked at per lock hold at most (free slots are cheap).
const STEP_SLOTS: usize = 16 * 1024;
/// Encoded bytes per lock hold, roughly (one huge value may exceed it).
const STEP_BYTES: usize = 1 << 20;
/// Time per lock hold: a step also ends once it took this long (checked
/// every few keys), whatever the counts, so slow encodings cannot stall.
const STEP_TIME: Duration = Duration::from_millis(1);

const PAGE_BITS: u32 = 12;
const PAGE: u32 = 1 << PAGE_BITS;

/// The per-db state of a running snapshot (lives in `Db::snap`).
pub struct DbSnap {
    /// The db index this content had at `begin`.
    source: usize,
    /// Set when the snapshot finished or was dropped: hooks then remove themselves.
    done: Arc<AtomicBool>,
    /// Positions below it were visited by the job.
    cursor: u32,
    /// Slab length at `begin`: positions at or past it hold only newer keys.
    limit: u32,
    /// Handled positions, one lazily allocated 4096-bit page per 4096 slots.
    handled: Vec<Option<Box<[u64; 64]>>>,
    /// Pre-images not yet taken by the job.
    pending: Vec<u8>,
    encode: EncodeFn,
}

impl DbSnap {
    #[inline]
    pub(crate) fn cancelled(&self) -> bool {
        self.done.load(Ordering::Relaxed)
    }

    fn is_handled(&self, idx: u32) -> bool {
        match &self.handled[(idx >> PAGE_BITS) as usize] {
            Some(page) => {
                let b = idx & (PAGE - 1);
                page[(b / 64) as usize] & (1 << (b % 64)) != 0
            }
            None => false,
        }
    }

    /// The entry at `idx` (None: a free slot about to get a new key) is about
    /// to change: save what the snapshot must see, once.
    pub(crate) fn preimage(&mut self, idx: u32, entry: Option<&Entry>) {
        if idx < self.cursor || idx >= self.limit {
            return;
        }
        let page =
            self.handled[(idx >> PAGE_BITS) as usize].get_or_insert_with(|| Box::new([0; 64]));
        let b = idx & (PAGE - 1);
        let (w, bit) = ((b / 64) as usize, 1u64 << (b % 64));
        if page[w] & bit != 0 {
            return;
        }
        page[w] |= bit;
        if let Some(e) = entry {
            (self.encode)(&mut self.pending, e.key.as_bytes(), &e.value, e.expire);
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Source {
    db: usize,
    keys: u64,
    expires: u64,
}

/// Lock-hold statistics of one snapshot job.
#[derive(Debug, Clone, Copy, Default)]
pub struct JobStats {
    pub steps: u64,
    pub keys_walked: u64,
    /// The longest time the job held the keyspace lock in one step.
    pub max_hold: Duration,
    pub total_hold: Duration,
    /// Steps that held the lock longer than 2 ms (preemption, huge values).
    pub holds_over_2ms: u64,
}

/// A point in time of the keyspace, to be written by `persist::snapshot::write_rdb`.
/// Dropping it (written or not) removes every hook.
pub struct Snapshot {
    done: Arc<AtomicBool>,
    sources: Vec<Source>,
    pub(crate) step_keys: usize,
    pub(crate) step_slots: usize,
    /// The function libraries' code at the snapshot's point in time.
    pub functions: Vec<bytes::Bytes>,
    /// Filled by `persist::snapshot::write_rdb` when done (log line, benches).
    pub stats: JobStats,
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
    }
}

/// True while a snapshot is running (BGSAVE, full sync).
pub fn in_progress(store: &Store) -> bool {
    store
        .snapshot
        .as_ref()
        .is_some_and(|d| !d.load(Ordering::Relaxed))
}

/// Call with the keyspace lock held. Marks the point in time; O(number of dbs),
/// no copying. Only one snapshot runs at a time (None: one is running).
pub fn begin(store: &mut Store, encode: EncodeFn) -> Option<Snapshot> {
    if in_progress(store) {
        return None;
    }
    gc(store);
    let done = Arc::new(AtomicBool::new(false));
    let mut sources = Vec::new();
    for (i, db) in store.dbs.iter_mut().enumerate() {
        if db.is_empty() {
            continue;
        }
        let limit = db.slab_len();
        db.snap = Some(Box::new(DbSnap {
            source: i,
            done: done.clone(),
            cursor: 0,
            limit,
            handled: (0..limit.div_ceil(PAGE)).map(|_| None).collect(),
            pending: Vec::new(),
            encode,
        }));
        sources.push(Source {
            db: i,
            keys: db.len() as u64,
            expires: db.expires_len() as u64,
        });
    }
    store.snapshot = Some(done.clone());
    Some(Snapshot {
        done,
        sources,
        step_keys: STEP_KEYS,
        step_slots: STEP_SLOTS,
        functions: store.functions.codes.clone(),
        stats: JobStats::default(),
    })
}

/// Stop the running snapshot (SHUTDOWN, FLUSHALL with save points): its job
/// fails with `ErrorKind::Interrupted` at its next step and writes nothing.
pub fn cancel(store: &mut Store) {
    if let Some(d) = &store.snapshot {
        d.store(true, Ordering::Relaxed);
    }
    gc(store);
}

/// Remove what finished or abandoned snapshots left behind (hooks of dbs the
/// job never reached, parked flushed dbs). Cheap; the cron calls it.
pub fn gc(store: &mut Store) {
    if in_progress(store) {
        return;
    }
    store.snapshot = None;
    let mut free = Vec::new();
    for db in &mut store.dbs {
        if db.snap.as_ref().is_some_and(|s| s.cancelled()) {
            db.snap = None;
        }
        free.append(&mut db.detached);
    }
    if !free.is_empty() {
        super::lazyfree::free(free);
    }
}

/// Receives the snapshot in order: a db header, then its records.
pub trait Sink {
    fn select(&mut self, db: usize, keys: u64, expires: u64) -> io::Result<()>;
    fn records(&mut self, bytes: &[u8]) -> io::Result<()>;
}

enum Step {
    More,
    Done,
    Detached(Box<Db>),
    Lost,
    Cancelled,
}

impl Snapshot {
    /// Mark the snapshot finished (written or failed): hooks remove themselves.
    pub fn finish(&self) {
        self.done.store(true, Ordering::Relaxed);
    }

    /// The job: every source db in order, in short lock holds.
    pub fn drive<G: DerefMut<Target = Store>>(
        &mut self,
        mut lock: impl FnMut() -> G,
        mut release: impl FnMut(G),
        sink: &mut impl Sink,
    ) -> io::Result<()> {
        let mut buf = Vec::with_capacity(STEP_BYTES + STEP_BYTES / 4);
        for si in 0..self.sources.len() {
            let src = self.sources[si];
            sink.select(src.db, src.keys, src.expires)?;
            loop {
                buf.clear();
                let (step, pre) = {
                    let mut g = lock();
                    let t = Instant::now();
                    let r = self.step(&mut g, src.db, &mut buf);
                    let held = t.elapsed();
                    self.stats.steps += 1;
                    self.stats.total_hold += held;
                    self.stats.max_hold = self.stats.max_hold.max(held);
                    if held > Duration::from_millis(2) {
                        self.stats.holds_over_2ms += 1;
                    }
                    release(g);
                    r
                };
                sink.records(&buf)?;
                sink.records(&pre)?;
                drop(pre);
                match step {
                    Step::More => continue,
                    Step::Done => break,
                    Step::Detached(db) => {
                        self.write_detached(*db, sink)?;
                        break;
                    }
                    Step::Cancelled => {
                        return Err(io::Error::new(
                            io::ErrorKind::Interrupted,
                            "the snapshot was cancelled",
                        ))
                    }
                    Step::Lost => {
                        return Err(io::Error::other(
                            "the dataset was replaced while the snapshot was being written",
                        ))
                    }
                }
            }
        }
        Ok(())
    }

    fn owns(&self, s: &DbSnap, source: usize) -> bool {
        s.source == source && Arc::ptr_eq(&s.done, &self.done)
    }

    /// One lock hold: walk a bounded stretch of the source db's slab into
    /// `buf` and take its pending pre-images (returned, moved not copied).
    fn step(&mut self, store: &mut Store, source: usize, buf: &mut Vec<u8>) -> (Step, Vec<u8>) {
        if self.done.load(Ordering::Relaxed) {
            return (Step::Cancelled, Vec::new());
        }
        let Some(k) = store
            .dbs
            .iter()
            .position(|d| d.snap.as_ref().is_some_and(|s| self.owns(s, source)))
        else {
            for db in &mut store.dbs {
                if let Some(p) = db
                    .detached
                    .iter()
                    .position(|d| d.snap.as_ref().is_some_and(|s| self.owns(s, source)))
                {
                    return (
                        Step::Detached(Box::new(db.detached.swap_remove(p))),
                        Vec::new(),
                    );
                }
            }
            return (Step::Lost, Vec::new());
        };
        let db = &mut store.dbs[k];
        let mut snap = db.snap.take().expect("found above");
        let (mut keys, mut slots) = (0, 0);
        let t = Instant::now();
        while snap.cursor < snap.limit
            && keys < self.step_keys
            && slots < self.step_slots
            && buf.len() < STEP_BYTES
        {
            if keys % 16 == 15 && t.elapsed() >= STEP_TIME {
                break;
            }
            let i = snap.cursor;
            snap.cursor += 1;
            slots += 1;
            if snap.is_handled(i) {
                continue;
            }
            if let Some(e) = db.slot_at(i) {
                (snap.encode)(buf, e.key.as_bytes(), &e.value, e.expire);
                keys += 1;
            }
        }
        self.stats.keys_walked += keys as u64;
        let pre = std::mem::take(&mut snap.pending);
        if snap.cursor >= snap.limit {
            (Step::Done, pre)
        } else {
            db.snap = Some(snap);
            (Step::More, pre)
        }
    }

    /// A flushed db the job owns now: write the rest of it without the lock.
    fn write_detached(&mut self, mut db: Db, sink: &mut impl Sink) -> io::Result<()> {
        let snap = db.snap.take().expect("detached dbs carry their snapshot");
        sink.records(&snap.pending)?;
        let mut buf = Vec::with_capacity(STEP_BYTES + STEP_BYTES / 4);
        for i in snap.cursor..snap.limit {
            if snap.is_handled(i) {
                continue;
            }
            if let Some(e) = db.slot_at(i) {
                (snap.encode)(&mut buf, e.key.as_bytes(), &e.value, e.expire);
                self.stats.keys_walked += 1;
                if buf.len() >= STEP_BYTES {
                    if self.done.load(Ordering::Relaxed) {
                        return Err(io::Error::new(
                            io::ErrorKind::Interrupted,
                            "the snapshot was cancelled",
                        ));
                    }
                    sink.records(&buf)?;
                    buf.clear();
                }
            }
        }
        sink.records(&buf)
    }
}
