//! One logical database: a hash index over a chunked slab of entries.
//!
//! The hash table stores only 4-byte slab positions; entries live in fixed
//! 4096-slot chunks that never move. That gives three properties for free:
//! no big reallocation of entries when the table grows, SCAN cursors that are
//! stable positions (a key present for the whole iteration is returned
//! exactly once), and O(1) random sampling for RANDOMKEY and active expiry.

use super::small::SmallBytes;
use super::value::Value;
use hashbrown::{DefaultHashBuilder, HashMap, HashTable};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const CHUNK_BITS: u32 = 12;
const CHUNK: usize = 1 << CHUNK_BITS;
const NO_TTL: u32 = u32::MAX;

pub struct Entry {
    pub key: SmallBytes,
    pub value: Value,
    /// Absolute expiry in Unix milliseconds; 0 = no TTL.
    pub expire: u64,
    /// Last access, seconds (OBJECT IDLETIME).
    pub lru: u32,
    /// Position in `Db::volatile`, or NO_TTL.
    vol: u32,
}

impl Entry {
    pub fn ttl(&self) -> Option<u64> {
        (self.expire != 0).then_some(self.expire)
    }
}

/// A client's WATCH mark: set when a watched key is modified.
pub type WatchFlag = Arc<AtomicBool>;

#[derive(Default)]
pub struct Db {
    table: HashTable<u32>,
    chunks: Vec<Vec<Option<Entry>>>,
    free: Vec<u32>,
    len: usize,
    /// Slab positions of keys with a TTL, for sampling by the active expire cycle.
    volatile: Vec<u32>,
    hasher: DefaultHashBuilder,
    watched: HashMap<SmallBytes, Vec<WatchFlag>>,
    /// Keys some client is blocked on (BLPOP...), with how many waiters.
    pub(crate) blocked: HashMap<SmallBytes, usize>,
    /// Blocked-on keys modified since the executor last looked: their first waiter is woken.
    pub(crate) ready: Vec<SmallBytes>,
    /// Command time, set by the executor before each command (Redis caches it per call too).
    pub now: u64,
    /// When false (a replica), logically expired keys are hidden but not deleted.
    pub expire_deletes: bool,
    /// Keys deleted by lazy expiry since the executor last looked: it propagates them as DEL.
    pub lazy_expired: Vec<SmallBytes>,
    /// Some client tracks keys (CLIENT TRACKING): modified keys are listed
    /// in `changed`, a flush sets `flushed`, for the executor to tell them.
    pub(crate) track: bool,
    pub(crate) changed: Vec<SmallBytes>,
    pub(crate) flushed: bool,
    pub hits: u64,
    pub misses: u64,
    /// State of a running snapshot over this db's contents (store::cow);
    /// None when no snapshot runs: the hooks then cost one branch.
    pub(crate) snap: Option<Box<super::cow::DbSnap>>,
    /// Old contents emptied by FLUSHDB/FLUSHALL while a snapshot still needed
    /// them: the snapshot job takes them from here (and frees them).
    pub(crate) detached: Vec<Db>,
}

#[inline]
fn slot(chunks: &[Vec<Option<Entry>>], idx: u32) -> &Option<Entry> {
    &chunks[(idx >> CHUNK_BITS) as usize][idx as usize & (CHUNK - 1)]
}

#[inline]
fn key_at(chunks: &[Vec<Option<Entry>>], idx: u32) -> &[u8] {
    slot(chunks, idx)
        .as_ref()
        .map(|e| e.key.as_bytes())
        .unwrap_or(b"")
}

impl Db {
    pub fn new() -> Self {
        Db {
            expire_deletes: true,
            now: crate::util::now_ms(),
            ..Default::default()
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn expires_len(&self) -> usize {
        self.volatile.len()
    }

    #[inline]
    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    #[inline]
    pub fn entry(&self, idx: u32) -> &Entry {
        slot(&self.chunks, idx).as_ref().expect("live slab slot")
    }

    /// Write access to a live slab entry. This is the hooked path: a running
    /// snapshot saves the entry's pre-image first. Use `set_lru` for access-time
    /// updates that do not change data.
    #[inline]
    pub fn entry_mut(&mut self, idx: u32) -> &mut Entry {
        self.before_change(idx);
        self.slot_mut(idx)
    }

    /// Unhooked mutable access, for bookkeeping that is not data (LRU, `vol`).
    #[inline]
    fn slot_mut(&mut self, idx: u32) -> &mut Entry {
        self.chunks[(idx >> CHUNK_BITS) as usize][idx as usize & (CHUNK - 1)]
            .as_mut()
            .expect("live slab slot")
    }

    /// Set the access time (OBJECT IDLETIME) without counting as a change.
    #[inline]
    pub fn set_lru(&mut self, idx: u32, clock: u32) {
        self.slot_mut(idx).lru = clock;
    }

    /// Raise the access time to `clock` (never lowers it).
    #[inline]
    pub fn bump_lru(&mut self, idx: u32, clock: u32) {
        let e = self.slot_mut(idx);
        e.lru = e.lru.max(clock);
    }

    /// Snapshot hook: called before any change to the entry at `idx` (value,
    /// TTL, delete, overwrite) and before a key is inserted at a reused slot.
    /// One predictable branch when no snapshot runs.
    #[inline(always)]
    fn before_change(&mut self, idx: u32) {
        if self.snap.is_some() {
            self.snap_preimage(idx);
        }
    }

    #[cold]
    #[inline(never)]
    fn snap_preimage(&mut self, idx: u32) {
        let Some(snap) = self.snap.as_mut() else {
            return;
        };
        if snap.cancelled() {
            self.snap = None;
            return;
        }
        snap.preimage(idx, slot(&self.chunks, idx).as_ref());
    }

    /// Number of slab positions (live or free) ever allocated.
    pub(crate) fn slab_len(&self) -> u32 {
        (self.chunks.len().saturating_sub(1) * CHUNK + self.chunks.last().map_or(0, |c| c.len()))
            as u32
    }

    /// The entry at a slab position, if occupied.
    #[inline]
    pub(crate) fn slot_at(&self, idx: u32) -> Option<&Entry> {
        slot(&self.chunks, idx).as_ref()
    }

    /// Make room for `additional` more keys (RDB RESIZEDB hint).
    pub fn reserve(&mut self, additional: usize) {
        let (chunks, hasher) = (&self.chunks, &self.hasher);
        self.table
            .reserve(additional, |&i| hasher.hash_one(key_at(chunks, i)));
    }

    /// Slab position of `key`, ignoring TTLs.
    pub fn find(&self, key: &[u8]) -> Option<u32> {
        let chunks = &self.chunks;
        self.table
            .find(self.hash(key), |&i| key_at(chunks, i) == key)
            .copied()
    }

    fn is_expired(&self, idx: u32) -> bool {
        let e = self.entry(idx).expire;
        e != 0 && e <= self.now
    }

    /// Slab position of a live key. An expired key is deleted here (lazy
    /// expiry) and recorded in `lazy_expired`; on a replica it is only hidden.
    pub fn lookup(&mut self, key: &[u8]) -> Option<u32> {
        let idx = self.find(key)?;
        if self.is_expired(idx) {
            if self.expire_deletes {
                let e = self.remove_idx(idx);
                self.lazy_expired.push(e.key);
            }
            return None;
        }
        Some(idx)
    }

    /// Read access: counts hits/misses and refreshes the LRU clock.
    pub fn get(&mut self, key: &[u8]) -> Option<&Value> {
        match self.lookup(key) {
            Some(idx) => {
                self.hits += 1;
                let clock = (self.now / 1000) as u32;
                self.set_lru(idx, clock);
                Some(&self.entry(idx).value)
            }
            None => {
                self.misses += 1;
                None
            }
        }
    }

    /// Write access to a live key's entry; marks watchers.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let idx = self.lookup(key)?;
        self.touch(key);
        Some(self.entry_mut(idx))
    }

    pub fn exists(&mut self, key: &[u8]) -> bool {
        self.lookup(key).is_some()
    }

    fn alloc_slot(&mut self, e: Entry) -> u32 {
        if let Some(idx) = self.free.pop() {
            // A reused position: a snapshot must not walk the new key.
            self.before_change(idx);
            self.chunks[(idx >> CHUNK_BITS) as usize][idx as usize & (CHUNK - 1)] = Some(e);
            return idx;
        }
        if self.chunks.last().is_none_or(|c| c.len() == CHUNK) {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        let ci = self.chunks.len() - 1;
        let chunk = &mut self.chunks[ci];
        chunk.push(Some(e));
        ((ci << CHUNK_BITS) | (chunk.len() - 1)) as u32
    }

    /// Insert or overwrite. Overwriting drops the old TTL unless `keep_ttl`.
    /// Returns the slab position.
    pub fn set(&mut self, key: &[u8], value: Value, keep_ttl: bool) -> u32 {
        self.touch(key);
        if let Some(idx) = self.find(key) {
            let expired = self.is_expired(idx);
            let clock = (self.now / 1000) as u32;
            let e = self.entry_mut(idx); // hooked: the overwrite saves the pre-image
            e.value = value;
            e.lru = clock;
            if !keep_ttl || expired {
                self.set_expire_idx(idx, 0);
            }
            return idx;
        }
        let entry = Entry {
            key: SmallBytes::new(key),
            value,
            expire: 0,
            // The cached command time: no clock read on the insert path.
            lru: (self.now / 1000) as u32,
            vol: NO_TTL,
        };
        let idx = self.alloc_slot(entry);
        let hash = self.hash(key);
        let (chunks, hasher) = (&self.chunks, &self.hasher);
        self.table
            .insert_unique(hash, idx, |&i| hasher.hash_one(key_at(chunks, i)));
        self.len += 1;
        idx
    }

    /// Set or clear (0) the absolute expiry of a slab entry.
    pub fn set_expire_idx(&mut self, idx: u32, when: u64) {
        self.before_change(idx);
        let vol = self.entry(idx).vol;
        if when == 0 {
            if vol != NO_TTL {
                self.volatile.swap_remove(vol as usize);
                if let Some(&moved) = self.volatile.get(vol as usize) {
                    self.slot_mut(moved).vol = vol;
                }
            }
            let e = self.slot_mut(idx);
            e.expire = 0;
            e.vol = NO_TTL;
        } else {
            if vol == NO_TTL {
                self.volatile.push(idx);
                self.slot_mut(idx).vol = (self.volatile.len() - 1) as u32;
            }
            self.slot_mut(idx).expire = when;
        }
    }

    /// Set the expiry of a live key; false when the key does not exist.
    pub fn set_expire(&mut self, key: &[u8], when: u64) -> bool {
        match self.lookup(key) {
            Some(idx) => {
                self.touch(key);
                self.set_expire_idx(idx, when);
                true
            }
            None => false,
        }
    }

    fn remove_idx(&mut self, idx: u32) -> Entry {
        self.before_change(idx);
        self.set_expire_idx(idx, 0);
        let chunks = &self.chunks;
        let hash = self.hasher.hash_one(key_at(chunks, idx));
        if let Ok(found) = self.table.find_entry(hash, |&i| i == idx) {
            found.remove();
        }
        let e = self.chunks[(idx >> CHUNK_BITS) as usize][idx as usize & (CHUNK - 1)]
            .take()
            .expect("live slot");
        self.free.push(idx);
        self.len -= 1;
        self.touch(e.key.as_bytes());
        e
    }

    /// Remove a live key.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let idx = self.lookup(key)?;
        Some(self.remove_idx(idx))
    }

    /// Remove a key whatever its TTL (used by expiry itself).
    pub fn remove_any(&mut self, key: &[u8]) -> Option<Entry> {
        let idx = self.find(key)?;
        Some(self.remove_idx(idx))
    }

    /// Empty the database, returning the old contents so the caller can drop
    /// them outside the critical section (FLUSHALL ASYNC).
    ///
    /// While a snapshot still needs the old contents they are parked in
    /// `detached` for the snapshot job (no per-key work here) and the caller
    /// gets an empty Db carrying only the hit/miss counters.
    pub fn take_all(&mut self) -> Db {
        if self.snap.is_some() || !self.detached.is_empty() {
            return self.take_all_detaching();
        }
        self.take_all_plain()
    }

    fn take_all_plain(&mut self) -> Db {
        for flags in self.watched.values() {
            for f in flags {
                f.store(true, Ordering::Relaxed);
            }
        }
        let watched = std::mem::take(&mut self.watched);
        let mut fresh = Db::new();
        fresh.expire_deletes = self.expire_deletes;
        fresh.now = self.now;
        fresh.watched = watched;
        fresh.blocked = std::mem::take(&mut self.blocked);
        fresh.track = self.track;
        fresh.flushed = self.track;
        std::mem::replace(self, fresh)
    }

    #[cold]
    fn take_all_detaching(&mut self) -> Db {
        let (mut parked, free): (Vec<Db>, Vec<Db>) = std::mem::take(&mut self.detached)
            .into_iter()
            .partition(|d| d.snap.as_ref().is_some_and(|s| !s.cancelled()));
        let snap = self.snap.take().filter(|s| !s.cancelled());
        let mut old = self.take_all_plain();
        if let Some(snap) = snap {
            old.snap = Some(snap);
            let out = Db {
                hits: old.hits,
                misses: old.misses,
                detached: free,
                ..Default::default()
            };
            parked.push(old);
            self.detached = parked;
            out
        } else {
            // Only what no snapshot needs goes back to be freed.
            old.detached = free;
            self.detached = parked;
            old
        }
    }

    /// Swap contents with another db; watchers of both stay with their db number.
    /// A running snapshot's state describes the slab, so it moves with it.
    pub fn swap_contents(&mut self, other: &mut Db) {
        for db in [&*self, &*other] {
            for flags in db.watched.values() {
                for f in flags {
                    f.store(true, Ordering::Relaxed);
                }
            }
        }
        // Keys waited on may now exist in either database: wake their waiters.
        for db in [&mut *self, &mut *other] {
            let keys: Vec<SmallBytes> = db.blocked.keys().cloned().collect();
            db.ready.extend(keys);
        }
        std::mem::swap(&mut self.table, &mut other.table);
        std::mem::swap(&mut self.chunks, &mut other.chunks);
        std::mem::swap(&mut self.free, &mut other.free);
        std::mem::swap(&mut self.len, &mut other.len);
        std::mem::swap(&mut self.volatile, &mut other.volatile);
        std::mem::swap(&mut self.hasher, &mut other.hasher);
        std::mem::swap(&mut self.snap, &mut other.snap);
    }

    /// Visit occupied slots from `cursor`; stops after `count` entries or
    /// `10 * count` slots. Returns the next cursor (0 when done).
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&Entry)) -> u64 {
        let total = (self.chunks.len().saturating_sub(1) * CHUNK
            + self.chunks.last().map_or(0, |c| c.len())) as u64;
        let mut i = cursor;
        let mut seen = 0;
        let mut visited = 0;
        while i < total && seen < count.max(1) && visited < count.max(1) * 10 {
            if let Some(e) = slot(&self.chunks, i as u32) {
                f(e);
                seen += 1;
            }
            i += 1;
            visited += 1;
        }
        if i >= total {
            0
        } else {
            i
        }
    }

    /// A random live slab position (may be a logically expired key).
    pub fn random_idx(&self, rng: &mut impl rand::Rng) -> Option<u32> {
        if self.len == 0 {
            return None;
        }
        let total =
            self.chunks.len().saturating_sub(1) * CHUNK + self.chunks.last().map_or(0, |c| c.len());
        for _ in 0..64 {
            let i = rng.gen_range(0..total) as u32;
            if slot(&self.chunks, i).is_some() {
                return Some(i);
            }
        }
        // Sparse slab: walk from a random point to the next live slot.
        let start = rng.gen_range(0..total);
        (0..total)
            .map(|k| ((start + k) % total) as u32)
            .find(|&i| slot(&self.chunks, i).is_some())
    }

    /// A random key with a TTL, for the active expire cycle.
    pub fn random_volatile(&self, rng: &mut impl rand::Rng) -> Option<u32> {
        if self.volatile.is_empty() {
            return None;
        }
        Some(self.volatile[rng.gen_range(0..self.volatile.len())])
    }

    /// Delete the entry at `idx` if its TTL has passed. Returns its key if deleted.
    pub fn expire_idx_if_due(&mut self, idx: u32) -> Option<SmallBytes> {
        if self.is_expired(idx) {
            Some(self.remove_idx(idx).key)
        } else {
            None
        }
    }

    // ---- WATCH support ----

    pub fn watch(&mut self, key: &[u8], flag: &WatchFlag) {
        let list = self.watched.entry(SmallBytes::new(key)).or_default();
        if !list.iter().any(|f| Arc::ptr_eq(f, flag)) {
            list.push(flag.clone());
        }
    }

    pub fn unwatch(&mut self, key: &[u8], flag: &WatchFlag) {
        if let Some(list) = self.watched.get_mut(key) {
            list.retain(|f| !Arc::ptr_eq(f, flag));
            if list.is_empty() {
                self.watched.remove(key);
            }
        }
    }

    /// Mark every client watching `key` (the key was, or may have been, modified).
    #[inline]
    pub fn touch(&mut self, key: &[u8]) {
        if !self.watched.is_empty() {
            if let Some(list) = self.watched.get(key) {
                for f in list {
                    f.store(true, Ordering::Relaxed);
                }
            }
        }
        if !self.blocked.is_empty() && self.blocked.contains_key(key) {
            self.ready.push(SmallBytes::new(key));
        }
        if self.track {
            self.changed.push(SmallBytes::new(key));
        }
    }

    /// Bytes this database uses for its index and slab (INFO memory estimate).
    pub fn overhead_bytes(&self) -> usize {
        self.table.capacity() * 5
            + self.chunks.iter().map(|c| c.capacity()).sum::<usize>()
                * std::mem::size_of::<Option<Entry>>()
            + self.volatile.capacity() * 4
            + self.free.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn s(db: &mut Db, k: &str) -> Option<Vec<u8>> {
        match db.get(k.as_bytes()) {
            Some(Value::Str(v)) => Some(v.as_bytes().to_vec()),
            _ => None,
        }
    }

    #[test]
    fn entry_is_compact() {
        assert!(
            std::mem::size_of::<Option<Entry>>() <= 64,
            "{}",
            std::mem::size_of::<Option<Entry>>()
        );
    }

    #[test]
    fn set_get_remove_reuse() {
        let mut db = Db::new();
        for i in 0..10_000 {
            db.set(
                format!("k{i}").as_bytes(),
                Value::str(format!("v{i}").as_bytes()),
                false,
            );
        }
        assert_eq!(db.len(), 10_000);
        assert_eq!(s(&mut db, "k42"), Some(b"v42".to_vec()));
        for i in 0..5_000 {
            assert!(db.remove(format!("k{i}").as_bytes()).is_some());
        }
        assert_eq!(db.len(), 5_000);
        assert_eq!(s(&mut db, "k42"), None);
        for i in 0..5_000 {
            db.set(format!("n{i}").as_bytes(), Value::str(b"x"), false);
        }
        // freed slots were reused: the slab did not grow past 10k slots
        assert_eq!(db.chunks.iter().map(|c| c.len()).sum::<usize>(), 10_000);
        assert_eq!(s(&mut db, "k9999"), Some(b"v9999".to_vec()));
    }

    #[test]
    fn ttl_bookkeeping_and_lazy_expiry() {
        let mut db = Db::new();
        db.now = 1000;
        for i in 0..100 {
            let idx = db.set(format!("k{i}").as_bytes(), Value::str(b"v"), false);
            db.set_expire_idx(idx, 2000 + i);
        }
        assert_eq!(db.expires_len(), 100);
        db.set(b"k5", Value::str(b"w"), false); // overwrite clears TTL
        assert_eq!(db.expires_len(), 99);
        db.now = 2050;
        assert!(db.get(b"k10").is_none());
        assert_eq!(db.lazy_expired.len(), 1);
        assert!(db.get(b"k60").is_some());
        assert!(db.get(b"k5").is_some());
        assert_eq!(db.len(), 99);
        assert_eq!(db.expires_len(), 98);
    }

    #[test]
    fn scan_returns_stable_keys_exactly_once_under_churn() {
        let mut db = Db::new();
        for i in 0..5000 {
            db.set(format!("stable{i}").as_bytes(), Value::str(b"v"), false);
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut seen = std::collections::HashMap::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            cursor = db.scan(cursor, 100, |e| {
                *seen.entry(e.key.as_bytes().to_vec()).or_insert(0) += 1;
            });
            // churn: add and delete other keys between calls
            for _ in 0..50 {
                let k = format!("tmp{}", rng.gen_range(0..1000));
                if rng.gen_bool(0.5) {
                    db.set(k.as_bytes(), Value::str(b"t"), false);
                } else {
                    db.remove(k.as_bytes());
                }
            }
            round += 1;
            if cursor == 0 || round > 10_000 {
                break;
            }
        }
        for i in 0..5000 {
            assert_eq!(seen.get(format!("stable{i}").as_bytes()), Some(&1));
        }
    }

    #[test]
    fn watch_flags() {
        let mut db = Db::new();
        let flag: WatchFlag = Default::default();
        db.watch(b"w", &flag);
        db.set(b"other", Value::str(b"1"), false);
        assert!(!flag.load(Ordering::Relaxed));
        db.set(b"w", Value::str(b"1"), false);
        assert!(flag.load(Ordering::Relaxed));
        db.unwatch(b"w", &flag);
        assert!(db.watched.is_empty());
    }
}
