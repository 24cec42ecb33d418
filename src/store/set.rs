//! Set values. Owned by the sets family (cmd/sets.rs): integer-only small
//! sets use "intset" (a sorted `Vec<i64>`), the rest a hash table
//! ("hashtable"), switching one way at `set-max-intset-entries` or on the
//! first non-integer member (Redis 7.0's encodings).
//!
//! The hash table is compact: members live in a slab of 24-byte
//! `SmallBytes` (inline up to 22 bytes, so most members cost no allocation
//! of their own) and the index is a `hashbrown::HashTable<u32>` of slab
//! positions (about 5 bytes per bucket). A member never moves while it is in
//! the set, except when the slab is compacted after heavy deletion; SSCAN
//! cursors are slab positions tagged with the compaction generation, so a
//! member present for a whole iteration is always returned (see `Table::scan`).

use super::small::SmallBytes;
use crate::util::parse_i64;
use hashbrown::{DefaultHashBuilder, HashTable};
use rand::Rng;
use std::hash::BuildHasher;

/// Slab positions per remap block: a cursor of the previous generation
/// resumes at the first member of its (old) block.
const REMAP_BLOCK: usize = 1024;
/// Compaction happens when fewer than 1/4 of the slab slots are live...
const COMPACT_RATIO: usize = 4;
/// ...and the slab has more than this many slots.
const COMPACT_MIN_SLOTS: usize = 64;

#[derive(Clone)]
pub enum Set {
    /// Sorted, distinct integers ("intset").
    Ints(Vec<i64>),
    /// The general encoding ("hashtable").
    Table(Box<Table>),
}

impl Default for Set {
    fn default() -> Self {
        Set::Ints(Vec::new())
    }
}

/// A member as stored: an intset holds integers, a table bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Member<'a> {
    Int(i64),
    Bytes(&'a [u8]),
}

impl Member<'_> {
    /// Run `f` on the member's byte form (integers in decimal).
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match *self {
            Member::Int(i) => f(itoa::Buffer::new().format(i).as_bytes()),
            Member::Bytes(b) => f(b),
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.with_bytes(|b| b.to_vec())
    }
}

impl Set {
    pub fn len(&self) -> usize {
        match self {
            Set::Ints(v) => v.len(),
            Set::Table(t) => t.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Set::Ints(_) => "intset",
            Set::Table(_) => "hashtable",
        }
    }

    /// Approximate bytes used (MEMORY USAGE). Member heap sizes are sampled,
    /// as Redis samples, so this stays cheap on huge sets.
    pub fn mem_usage(&self) -> usize {
        std::mem::size_of::<Set>()
            + match self {
                Set::Ints(v) => v.capacity() * 8,
                Set::Table(t) => t.mem_usage(),
            }
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        match self {
            Set::Ints(v) => parse_i64(m).is_some_and(|i| v.binary_search(&i).is_ok()),
            Set::Table(t) => t.find(m).is_some(),
        }
    }

    pub fn contains_member(&self, m: Member) -> bool {
        match (self, m) {
            (Set::Ints(v), Member::Int(i)) => v.binary_search(&i).is_ok(),
            (_, Member::Bytes(b)) => self.contains(b),
            (Set::Table(t), Member::Int(i)) => {
                t.find(itoa::Buffer::new().format(i).as_bytes()).is_some()
            }
        }
    }

    /// Add a member; false when it was already there. Converts to a hash
    /// table on a non-integer member or when the intset outgrows `max_intset`.
    pub fn insert(&mut self, m: &[u8], max_intset: usize) -> bool {
        if let Set::Ints(v) = self {
            if let Some(i) = parse_i64(m) {
                let Err(pos) = v.binary_search(&i) else {
                    return false;
                };
                v.insert(pos, i);
                if v.len() > max_intset {
                    self.convert();
                }
                return true;
            }
            self.convert();
        }
        match self {
            Set::Table(t) => t.insert(m),
            Set::Ints(_) => unreachable!("converted above"),
        }
    }

    pub fn insert_member(&mut self, m: Member, max_intset: usize) -> bool {
        match (&mut *self, m) {
            (Set::Ints(v), Member::Int(i)) if v.len() < max_intset => {
                let Err(pos) = v.binary_search(&i) else {
                    return false;
                };
                v.insert(pos, i);
                true
            }
            _ => m.with_bytes(|b| self.insert(b, max_intset)),
        }
    }

    /// Switch an intset to the hash-table encoding (one way).
    fn convert(&mut self) {
        if let Set::Ints(v) = self {
            let mut t = Table::with_capacity(v.len() + 1);
            let mut buf = itoa::Buffer::new();
            for &i in v.iter() {
                t.insert(buf.format(i).as_bytes());
            }
            *self = Set::Table(Box::new(t));
        }
    }

    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self {
            Set::Ints(v) => match parse_i64(m).map(|i| v.binary_search(&i)) {
                Some(Ok(pos)) => {
                    v.remove(pos);
                    true
                }
                _ => false,
            },
            Set::Table(t) => t.remove(m),
        }
    }

    pub fn iter(&self) -> Iter<'_> {
        match self {
            Set::Ints(v) => Iter::Ints(v.iter()),
            Set::Table(t) => Iter::Table(t.slots.iter()),
        }
    }

    /// A uniformly random position for `at` (None when empty).
    fn random_pos(&self, rng: &mut impl Rng) -> Option<usize> {
        match self {
            Set::Ints(v) => (!v.is_empty()).then(|| rng.gen_range(0..v.len())),
            Set::Table(t) => t.random_slot(rng),
        }
    }

    fn at(&self, pos: usize) -> Member<'_> {
        match self {
            Set::Ints(v) => Member::Int(v[pos]),
            Set::Table(t) => Member::Bytes(t.slots[pos].as_ref().expect("live slot").as_bytes()),
        }
    }

    /// A random member (None when empty).
    pub fn random(&self, rng: &mut impl Rng) -> Option<Member<'_>> {
        self.random_pos(rng).map(|p| self.at(p))
    }

    /// Remove and return a random member.
    pub fn pop_random(&mut self, rng: &mut impl Rng) -> Option<Vec<u8>> {
        let pos = self.random_pos(rng)?;
        Some(match self {
            Set::Ints(v) => itoa::Buffer::new()
                .format(v.remove(pos))
                .as_bytes()
                .to_vec(),
            Set::Table(t) => t.remove_slot(pos as u32),
        })
    }

    /// `count` distinct random members (`count` < len).
    pub fn sample_distinct(&self, rng: &mut impl Rng, count: usize) -> Vec<Member<'_>> {
        let len = self.len();
        if count * 3 >= len {
            // Dense request: a partial shuffle of everything.
            let mut all: Vec<Member> = self.iter().collect();
            for i in 0..count.min(len) {
                let j = rng.gen_range(i..len);
                all.swap(i, j);
            }
            all.truncate(count);
            return all;
        }
        let mut picked = hashbrown::HashSet::with_capacity(count);
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let Some(p) = self.random_pos(rng) else { break };
            if picked.insert(p) {
                out.push(self.at(p));
            }
        }
        out
    }

    /// One SSCAN step: visit members from `cursor`, at most `count` of them
    /// (or `10 * count` slab slots); returns the next cursor, 0 when done.
    /// An intset is returned whole with cursor 0, as Redis does.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(Member)) -> u64 {
        match self {
            Set::Ints(v) => {
                v.iter().for_each(|&i| f(Member::Int(i)));
                0
            }
            Set::Table(t) => t.scan(cursor, count, |b| f(Member::Bytes(b))),
        }
    }
}

pub enum Iter<'a> {
    Ints(std::slice::Iter<'a, i64>),
    Table(std::slice::Iter<'a, Option<SmallBytes>>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = Member<'a>;

    #[inline]
    fn next(&mut self) -> Option<Member<'a>> {
        match self {
            Iter::Ints(it) => it.next().map(|&i| Member::Int(i)),
            Iter::Table(it) => it.find_map(|s| s.as_ref().map(|m| Member::Bytes(m.as_bytes()))),
        }
    }
}

/// The "hashtable" encoding: a slab of members plus an index of slab positions.
#[derive(Clone)]
pub struct Table {
    index: HashTable<u32>,
    slots: Vec<Option<SmallBytes>>,
    /// Free slab positions, reused before the slab grows.
    free: Vec<u32>,
    len: usize,
    hasher: DefaultHashBuilder,
    /// Bumped by every compaction; SSCAN cursors carry it in their high 32 bits.
    gen: u32,
    /// For cursors of the previous generation: `remap[b]` is the number of
    /// members that were live in the old slots before `b * REMAP_BLOCK`.
    remap: Vec<u32>,
}

#[inline]
fn slot_bytes(slots: &[Option<SmallBytes>], i: u32) -> &[u8] {
    slots[i as usize].as_ref().map_or(b"", |m| m.as_bytes())
}

impl Table {
    pub fn with_capacity(n: usize) -> Self {
        Table {
            index: HashTable::with_capacity(n),
            slots: Vec::with_capacity(n),
            free: Vec::new(),
            len: 0,
            hasher: DefaultHashBuilder::default(),
            gen: 0,
            remap: Vec::new(),
        }
    }

    fn find(&self, m: &[u8]) -> Option<u32> {
        let slots = &self.slots;
        self.index
            .find(self.hasher.hash_one(m), |&i| slot_bytes(slots, i) == m)
            .copied()
    }

    fn insert(&mut self, m: &[u8]) -> bool {
        let hash = self.hasher.hash_one(m);
        let Table {
            index,
            slots,
            free,
            hasher,
            ..
        } = self;
        let entry = index.entry(
            hash,
            |&i| slot_bytes(slots, i) == m,
            |&i| hasher.hash_one(slot_bytes(slots, i)),
        );
        let hashbrown::hash_table::Entry::Vacant(v) = entry else {
            return false;
        };
        let member = Some(SmallBytes::new(m));
        let idx = match free.pop() {
            Some(i) => {
                slots[i as usize] = member;
                i
            }
            None => {
                slots.push(member);
                (slots.len() - 1) as u32
            }
        };
        v.insert(idx);
        self.len += 1;
        true
    }

    fn remove(&mut self, m: &[u8]) -> bool {
        let slots = &self.slots;
        match self
            .index
            .find_entry(self.hasher.hash_one(m), |&i| slot_bytes(slots, i) == m)
        {
            Ok(e) => {
                let (idx, _) = e.remove();
                self.release(idx);
                true
            }
            Err(_) => false,
        }
    }

    /// Remove the member at a live slab position, returning it.
    fn remove_slot(&mut self, idx: u32) -> Vec<u8> {
        let m = slot_bytes(&self.slots, idx);
        if let Ok(e) = self
            .index
            .find_entry(self.hasher.hash_one(m), |&i| i == idx)
        {
            e.remove();
        }
        let m = self.slots[idx as usize]
            .as_ref()
            .expect("live slot")
            .as_bytes()
            .to_vec();
        self.release(idx);
        m
    }

    fn release(&mut self, idx: u32) {
        self.slots[idx as usize] = None;
        self.len -= 1;
        if idx as usize + 1 == self.slots.len() {
            // The last slot needs no free-list entry (every listed position
            // stays below the slab length).
            self.slots.pop();
        } else {
            self.free.push(idx);
        }
        if self.slots.len() > COMPACT_MIN_SLOTS && self.len * COMPACT_RATIO < self.slots.len() {
            self.compact();
        }
    }

    /// Move the members down, keeping their order, rebuild the index at the
    /// new size and start a new cursor generation.
    fn compact(&mut self) {
        let old = std::mem::take(&mut self.slots);
        let mut remap = Vec::with_capacity(old.len() / REMAP_BLOCK + 2);
        let mut slots = Vec::with_capacity(self.len);
        for (i, s) in old.into_iter().enumerate() {
            if i % REMAP_BLOCK == 0 {
                remap.push(slots.len() as u32);
            }
            if s.is_some() {
                slots.push(s);
            }
        }
        remap.push(slots.len() as u32);
        let mut index = HashTable::with_capacity(slots.len());
        for (i, s) in slots.iter().enumerate() {
            let h = self.hasher.hash_one(s.as_ref().expect("live").as_bytes());
            index.insert_unique(h, i as u32, |&j| {
                self.hasher.hash_one(slot_bytes(&slots, j))
            });
        }
        self.slots = slots;
        self.index = index;
        self.free = Vec::new();
        self.remap = remap;
        self.gen = self.gen.wrapping_add(1);
    }

    /// A random live slab position. The slab is kept at least 1/4 full
    /// (beyond 64 slots), so this takes a few draws on average.
    fn random_slot(&self, rng: &mut impl Rng) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        loop {
            let i = rng.gen_range(0..self.slots.len());
            if self.slots[i].is_some() {
                return Some(i);
            }
        }
    }

    /// Where a cursor resumes. A cursor of the current generation is a slab
    /// position. Compaction keeps the members' order, so a cursor of the
    /// previous generation resumes at or before the new position of the
    /// first member it has not returned yet (possibly returning some again,
    /// never skipping one). Anything older starts over.
    fn resume_at(&self, cursor: u64) -> usize {
        let (gen, pos) = ((cursor >> 32) as u32, cursor as u32 as usize);
        if gen == self.gen {
            pos
        } else if gen.wrapping_add(1) == self.gen && !self.remap.is_empty() {
            self.remap[(pos / REMAP_BLOCK).min(self.remap.len() - 1)] as usize
        } else {
            0
        }
    }

    fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8])) -> u64 {
        let count = count.max(1);
        let mut i = self.resume_at(cursor);
        let (mut seen, mut visited) = (0, 0);
        while i < self.slots.len() && seen < count && visited < count.saturating_mul(10) {
            if let Some(m) = &self.slots[i] {
                f(m.as_bytes());
                seen += 1;
            }
            i += 1;
            visited += 1;
        }
        if i >= self.slots.len() {
            0
        } else {
            ((self.gen as u64) << 32) | i as u64
        }
    }

    fn mem_usage(&self) -> usize {
        // hashbrown keeps buckets a power of two at most 7/8 full, 4 bytes + 1 control byte each.
        let buckets = (self.index.capacity() * 8 / 7).next_power_of_two();
        let sample: Vec<usize> = self
            .slots
            .iter()
            .flatten()
            .take(16)
            .map(|m| m.heap_size())
            .collect();
        let heap = if sample.is_empty() {
            0
        } else {
            sample.iter().sum::<usize>() * self.len / sample.len()
        };
        std::mem::size_of::<Table>()
            + buckets * 5
            + self.slots.capacity() * std::mem::size_of::<Option<SmallBytes>>()
            + self.free.capacity() * 4
            + self.remap.capacity() * 4
            + heap
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use std::collections::HashSet;

    fn members(s: &Set) -> Vec<Vec<u8>> {
        let mut v: Vec<Vec<u8>> = s.iter().map(|m| m.to_vec()).collect();
        v.sort();
        v
    }

    #[test]
    fn layout_is_compact() {
        assert_eq!(std::mem::size_of::<Option<SmallBytes>>(), 24);
        assert!(std::mem::size_of::<Set>() <= 32);
    }

    #[test]
    fn intset_stays_sorted_and_converts_at_the_threshold() {
        let mut s = Set::default();
        for i in [5, -3, 100, 5, 0] {
            s.insert(i.to_string().as_bytes(), 4);
        }
        assert_eq!(s.encoding(), "intset");
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            vec![
                Member::Int(-3),
                Member::Int(0),
                Member::Int(5),
                Member::Int(100)
            ]
        );
        assert!(s.contains(b"100") && !s.contains(b"0100") && !s.contains(b"x"));
        assert!(s.insert(b"7", 4));
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(s.len(), 5);
        assert!(s.contains(b"-3") && s.contains(b"7"));
        assert!(s.contains_member(Member::Int(100)));
    }

    #[test]
    fn non_canonical_integers_convert() {
        let mut s = Set::default();
        s.insert(b"1", 512);
        assert_eq!(s.encoding(), "intset");
        s.insert(b"01", 512);
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(members(&s), vec![b"01".to_vec(), b"1".to_vec()]);
        let mut z = Set::default();
        assert!(z.insert(b"5", 0));
        assert_eq!(z.encoding(), "hashtable", "set-max-intset-entries 0");
    }

    #[test]
    fn table_insert_remove_reuse_and_compact() {
        let mut s = Set::default();
        for i in 0..10_000 {
            assert!(s.insert(format!("m{i}").as_bytes(), 512));
        }
        assert!(!s.insert(b"m42", 512));
        assert_eq!(s.len(), 10_000);
        for i in 0..9_000 {
            assert!(s.remove(format!("m{i}").as_bytes()));
        }
        assert!(!s.remove(b"m0"));
        let Set::Table(t) = &s else { panic!() };
        assert!(t.gen >= 1, "compacted");
        assert!(t.slots.len() < 4_000);
        for i in 9_000..10_000 {
            assert!(s.contains(format!("m{i}").as_bytes()));
        }
        let c = s.clone();
        assert_eq!(members(&c), members(&s));
    }

    #[test]
    fn pop_and_sample() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for n in [10usize, 1000] {
            let mut s = Set::default();
            for i in 0..n {
                s.insert(format!("{i}").as_bytes(), 512);
            }
            let sample = s.sample_distinct(&mut rng, n / 2);
            let uniq: HashSet<_> = sample.iter().map(|m| m.to_vec()).collect();
            assert_eq!(uniq.len(), n / 2);
            let sample = s.sample_distinct(&mut rng, 3);
            let uniq: HashSet<_> = sample.iter().map(|m| m.to_vec()).collect();
            assert_eq!(uniq.len(), 3);
            let mut popped = HashSet::new();
            while let Some(m) = s.pop_random(&mut rng) {
                assert!(popped.insert(m));
            }
            assert_eq!(popped.len(), n);
            assert!(s.is_empty());
        }
    }

    #[test]
    fn scan_survives_churn_and_compaction() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let mut s = Set::default();
        for i in 0..15_000 {
            s.insert(format!("stable{i}").as_bytes(), 512);
        }
        for i in 0..65_000 {
            s.insert(format!("tmp{i}").as_bytes(), 512);
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut next_tmp = 0;
        let mut rounds = 0;
        loop {
            cursor = s.scan(cursor, 100, |m| {
                seen.insert(m.to_vec());
            });
            // Churn: delete temporaries (forcing compactions) and add new ones.
            for _ in 0..800 {
                if next_tmp < 65_000 {
                    s.remove(format!("tmp{next_tmp}").as_bytes());
                    next_tmp += 1;
                }
            }
            for _ in 0..20 {
                s.insert(format!("new{}", rng.gen::<u32>()).as_bytes(), 512);
            }
            rounds += 1;
            if cursor == 0 || rounds > 100_000 {
                break;
            }
        }
        let Set::Table(t) = &s else { panic!() };
        assert!(t.gen >= 1, "a compaction happened during the scan");
        for i in 0..15_000 {
            assert!(
                seen.contains(format!("stable{i}").as_bytes()),
                "stable{i} missed"
            );
        }
    }

    #[test]
    fn mem_usage_is_plausible() {
        let mut s = Set::default();
        for i in 0..1000 {
            s.insert(format!("member:{i}").as_bytes(), 512);
        }
        let m = s.mem_usage();
        assert!(m > 1000 * 24 && m < 1000 * 80, "{m}");
    }
}
