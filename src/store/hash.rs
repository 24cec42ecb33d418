//! Hash values. Owned by the hashes family (cmd/hashes.rs): small hashes use
//! a compact encoding ("listpack"), large ones a hash table ("hashtable"),
//! switching at `hash-max-listpack-entries` / `hash-max-listpack-value`.
//!
//! * listpack: one flat `Vec<u8>` kept at its exact size: a 4-byte entry
//!   count, then field and value alternately, each a LEB128 length and the
//!   bytes. Lookups are linear, as in Redis; the whole hash costs one
//!   allocation.
//! * hashtable: a slab of `(field, value)` pairs (`SmallBytes`, inline up to
//!   22 bytes) in fixed chunks that never move, indexed by a
//!   `hashbrown::HashTable<u32>` of slab positions (5 bytes per bucket). Slab
//!   positions are stable, so HSCAN cursors are positions: a field present for
//!   the whole iteration is returned exactly once whatever else happens.
//!
//! Conversion is one way (listpack -> hashtable), like Redis.

use super::small::SmallBytes;
use hashbrown::{DefaultHashBuilder, HashTable};
use rand::Rng;
use std::hash::BuildHasher;

const CHUNK_BITS: u32 = 12;
const CHUNK: usize = 1 << CHUNK_BITS;
/// Bytes of the entry count at the start of a non-empty listpack.
const HDR: usize = 4;

type Pair = (SmallBytes, SmallBytes);

#[derive(Clone)]
pub struct Hash {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    Pack(Vec<u8>),
    Table(Box<Table>),
}

impl Default for Hash {
    fn default() -> Self {
        Hash::new()
    }
}

// ---------------------------------------------------------------- listpack helpers

#[inline]
fn put_len(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

#[inline]
fn len_size(mut n: usize) -> usize {
    let mut s = 1;
    while n >= 0x80 {
        n >>= 7;
        s += 1;
    }
    s
}

/// Reads one length-prefixed string at `pos`: (bytes, position after it).
#[inline]
fn read_str(b: &[u8], mut pos: usize) -> (&[u8], usize) {
    let mut n = 0usize;
    let mut shift = 0;
    loop {
        let c = b[pos];
        pos += 1;
        n |= ((c & 0x7f) as usize) << shift;
        if c & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    (&b[pos..pos + n], pos + n)
}

fn pack_count(b: &[u8]) -> usize {
    if b.len() < HDR {
        0
    } else {
        u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize
    }
}

fn pack_set_count(b: &mut [u8], n: usize) {
    b[..HDR].copy_from_slice(&(n as u32).to_le_bytes());
}

/// Where `field` sits: (entry start, value start, entry end).
fn pack_find(b: &[u8], field: &[u8]) -> Option<(usize, usize, usize)> {
    let mut pos = HDR.min(b.len());
    while pos < b.len() {
        let (f, vpos) = read_str(b, pos);
        let (_, end) = read_str(b, vpos);
        if f == field {
            return Some((pos, vpos, end));
        }
        pos = end;
    }
    None
}

struct PackIter<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for PackIter<'a> {
    type Item = (&'a [u8], &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.b.len() {
            return None;
        }
        let (f, p) = read_str(self.b, self.pos);
        let (v, p) = read_str(self.b, p);
        self.pos = p;
        Some((f, v))
    }
}

fn pack_iter(b: &[u8]) -> PackIter<'_> {
    PackIter {
        b,
        pos: HDR.min(b.len()),
    }
}

// ---------------------------------------------------------------- hashtable

#[derive(Clone, Default)]
struct Table {
    index: HashTable<u32>,
    chunks: Vec<Vec<Option<Pair>>>,
    free: Vec<u32>,
    len: usize,
    hasher: DefaultHashBuilder,
}

#[inline]
fn slot(chunks: &[Vec<Option<Pair>>], i: u32) -> &Option<Pair> {
    &chunks[(i >> CHUNK_BITS) as usize][i as usize & (CHUNK - 1)]
}

#[inline]
fn field_at(chunks: &[Vec<Option<Pair>>], i: u32) -> &[u8] {
    slot(chunks, i).as_ref().map_or(b"", |p| p.0.as_bytes())
}

impl Table {
    fn with_capacity(n: usize) -> Self {
        let mut t = Table::default();
        t.index.reserve(n, |_| 0);
        t.chunks.push(Vec::with_capacity(n.clamp(16, CHUNK)));
        t
    }

    fn total_slots(&self) -> usize {
        self.chunks.len().saturating_sub(1) * CHUNK + self.chunks.last().map_or(0, |c| c.len())
    }

    fn find(&self, field: &[u8]) -> Option<u32> {
        let chunks = &self.chunks;
        self.index
            .find(self.hasher.hash_one(field), |&i| {
                field_at(chunks, i) == field
            })
            .copied()
    }

    fn get(&self, field: &[u8]) -> Option<&[u8]> {
        let i = self.find(field)?;
        slot(&self.chunks, i).as_ref().map(|p| p.1.as_bytes())
    }

    fn alloc(&mut self, p: Pair) -> u32 {
        if let Some(i) = self.free.pop() {
            self.chunks[(i >> CHUNK_BITS) as usize][i as usize & (CHUNK - 1)] = Some(p);
            return i;
        }
        if self.chunks.last().is_none_or(|c| c.len() == CHUNK) {
            let cap = if self.chunks.is_empty() { 16 } else { CHUNK };
            self.chunks.push(Vec::with_capacity(cap));
        }
        let ci = self.chunks.len() - 1;
        let c = &mut self.chunks[ci];
        if c.len() == c.capacity() {
            // The first chunk grows by doubling (exactly) up to CHUNK slots.
            let extra = c.len().max(16).min(CHUNK - c.len());
            c.reserve_exact(extra);
        }
        c.push(Some(p));
        ((ci << CHUNK_BITS) | (c.len() - 1)) as u32
    }

    /// Insert a field known to be absent.
    fn insert_new(&mut self, field: &[u8], value: &[u8]) {
        let hash = self.hasher.hash_one(field);
        let i = self.alloc((SmallBytes::new(field), SmallBytes::new(value)));
        let (chunks, hasher) = (&self.chunks, &self.hasher);
        self.index
            .insert_unique(hash, i, |&j| hasher.hash_one(field_at(chunks, j)));
        self.len += 1;
    }

    fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        if let Some(i) = self.find(field) {
            let p = self.chunks[(i >> CHUNK_BITS) as usize][i as usize & (CHUNK - 1)]
                .as_mut()
                .expect("live slot");
            p.1 = SmallBytes::new(value);
            return false;
        }
        self.insert_new(field, value);
        true
    }

    fn remove(&mut self, field: &[u8]) -> bool {
        let hash = self.hasher.hash_one(field);
        let chunks = &self.chunks;
        let Ok(e) = self
            .index
            .find_entry(hash, |&i| field_at(chunks, i) == field)
        else {
            return false;
        };
        let (i, _) = e.remove();
        self.chunks[(i >> CHUNK_BITS) as usize][i as usize & (CHUNK - 1)] = None;
        self.free.push(i);
        self.len -= 1;
        // Give back index memory after mass deletions (positions do not move).
        if self.index.capacity() > 64 && self.len * 8 < self.index.capacity() {
            let (chunks, hasher) = (&self.chunks, &self.hasher);
            self.index
                .shrink_to(self.len * 2, |&j| hasher.hash_one(field_at(chunks, j)));
        }
        true
    }

    fn random_slot(&self, rng: &mut impl Rng) -> Option<u32> {
        if self.len == 0 {
            return None;
        }
        let total = self.total_slots();
        for _ in 0..64 {
            let i = rng.gen_range(0..total) as u32;
            if slot(&self.chunks, i).is_some() {
                return Some(i);
            }
        }
        let start = rng.gen_range(0..total);
        (0..total)
            .map(|k| ((start + k) % total) as u32)
            .find(|&i| slot(&self.chunks, i).is_some())
    }

    fn pair(&self, i: u32) -> (&[u8], &[u8]) {
        let p = slot(&self.chunks, i).as_ref().expect("live slot");
        (p.0.as_bytes(), p.1.as_bytes())
    }

    fn mem_usage(&self) -> usize {
        let mut n = std::mem::size_of::<Table>()
            + self.index.capacity() * (std::mem::size_of::<u32>() + 1)
            + self.free.capacity() * 4
            + self.chunks.capacity() * std::mem::size_of::<Vec<Option<Pair>>>();
        for c in &self.chunks {
            n += c.capacity() * std::mem::size_of::<Option<Pair>>();
            for (f, v) in c.iter().flatten() {
                n += f.heap_size() + v.heap_size();
            }
        }
        n
    }
}

// ---------------------------------------------------------------- iteration

pub struct Iter<'a> {
    inner: IterInner<'a>,
}

enum IterInner<'a> {
    Pack(PackIter<'a>),
    Table(&'a Table, usize),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            IterInner::Pack(p) => p.next(),
            IterInner::Table(t, pos) => {
                let total = t.total_slots();
                while *pos < total {
                    let i = *pos as u32;
                    *pos += 1;
                    if let Some(p) = slot(&t.chunks, i) {
                        return Some((p.0.as_bytes(), p.1.as_bytes()));
                    }
                }
                None
            }
        }
    }
}

// ---------------------------------------------------------------- the value

impl Hash {
    pub fn new() -> Self {
        Hash {
            repr: Repr::Pack(Vec::new()),
        }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Pack(b) => pack_count(b),
            Repr::Table(t) => t.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Pack(_) => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }

    pub fn mem_usage(&self) -> usize {
        std::mem::size_of::<Hash>()
            + match &self.repr {
                Repr::Pack(b) => b.capacity(),
                Repr::Table(t) => t.mem_usage(),
            }
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.repr {
            Repr::Pack(b) => pack_find(b, field).map(|(_, v, _)| read_str(b, v).0),
            Repr::Table(t) => t.get(field),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter {
            inner: match &self.repr {
                Repr::Pack(b) => IterInner::Pack(pack_iter(b)),
                Repr::Table(t) => IterInner::Table(t, 0),
            },
        }
    }

    /// Switch to the hashtable encoding (one way).
    pub fn convert(&mut self) {
        if let Repr::Pack(b) = &self.repr {
            let mut t = Table::with_capacity(pack_count(b));
            for (f, v) in pack_iter(b) {
                t.insert_new(f, v);
            }
            self.repr = Repr::Table(Box::new(t));
        }
    }

    /// Set `field` to `value`; true when the field is new. Converts to a
    /// hashtable when a string exceeds `max_value` bytes or the hash grows
    /// past `max_entries` fields.
    pub fn set(
        &mut self,
        field: &[u8],
        value: &[u8],
        max_entries: usize,
        max_value: usize,
    ) -> bool {
        if matches!(self.repr, Repr::Pack(_))
            && (field.len() > max_value || value.len() > max_value)
        {
            self.convert();
        }
        let new = match &mut self.repr {
            Repr::Table(t) => return t.set(field, value),
            Repr::Pack(b) => match pack_find(b, field) {
                Some((_, vpos, end)) => {
                    let need = len_size(value.len()) + value.len();
                    let old = end - vpos;
                    if need > old {
                        b.reserve_exact(need - old);
                    }
                    let mut enc = Vec::with_capacity(need);
                    put_len(&mut enc, value.len());
                    enc.extend_from_slice(value);
                    b.splice(vpos..end, enc);
                    if need < old {
                        b.shrink_to_fit();
                    }
                    false
                }
                None => {
                    let n = pack_count(b);
                    let need =
                        len_size(field.len()) + field.len() + len_size(value.len()) + value.len();
                    if b.is_empty() {
                        b.reserve_exact(HDR + need);
                        b.extend_from_slice(&[0; HDR]);
                    } else {
                        b.reserve_exact(need);
                    }
                    put_len(b, field.len());
                    b.extend_from_slice(field);
                    put_len(b, value.len());
                    b.extend_from_slice(value);
                    pack_set_count(b, n + 1);
                    true
                }
            },
        };
        if new && self.len() > max_entries {
            self.convert();
        }
        new
    }

    /// Remove `field`; true when it existed.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Table(t) => t.remove(field),
            Repr::Pack(b) => {
                let Some((start, _, end)) = pack_find(b, field) else {
                    return false;
                };
                let n = pack_count(b) - 1;
                if n == 0 {
                    *b = Vec::new();
                } else {
                    b.drain(start..end);
                    pack_set_count(b, n);
                    b.shrink_to_fit();
                }
                true
            }
        }
    }

    /// HSCAN step: visits pairs from `cursor`, returns the next cursor (0 at
    /// the end). A listpack is returned whole in one call.
    pub fn scan<'a>(
        &'a self,
        cursor: u64,
        count: usize,
        mut f: impl FnMut(&'a [u8], &'a [u8]),
    ) -> u64 {
        match &self.repr {
            Repr::Pack(b) => {
                for (k, v) in pack_iter(b) {
                    f(k, v);
                }
                0
            }
            Repr::Table(t) => {
                let total = t.total_slots() as u64;
                let count = count.max(1);
                let (mut i, mut seen, mut visited) = (cursor, 0, 0);
                while i < total && seen < count && visited < count.saturating_mul(10) {
                    if let Some(p) = slot(&t.chunks, i as u32) {
                        f(p.0.as_bytes(), p.1.as_bytes());
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
        }
    }

    /// One random pair.
    pub fn random(&self, rng: &mut impl Rng) -> Option<(&[u8], &[u8])> {
        match &self.repr {
            Repr::Pack(b) => {
                let n = pack_count(b);
                if n == 0 {
                    return None;
                }
                pack_iter(b).nth(rng.gen_range(0..n))
            }
            Repr::Table(t) => t.random_slot(rng).map(|i| t.pair(i)),
        }
    }

    /// `count` random pairs, repeats allowed.
    pub fn random_with_repeats(
        &self,
        rng: &mut impl Rng,
        count: usize,
        mut f: impl FnMut(&[u8], &[u8]),
    ) {
        if self.is_empty() {
            return;
        }
        match &self.repr {
            Repr::Pack(b) => {
                let all: Vec<_> = pack_iter(b).collect();
                for _ in 0..count {
                    let (k, v) = all[rng.gen_range(0..all.len())];
                    f(k, v);
                }
            }
            Repr::Table(t) => {
                for _ in 0..count {
                    let i = t.random_slot(rng).expect("non-empty");
                    let (k, v) = t.pair(i);
                    f(k, v);
                }
            }
        }
    }

    /// `count` distinct random pairs (all of them when `count >= len`).
    pub fn random_unique(&self, rng: &mut impl Rng, count: usize) -> Vec<(&[u8], &[u8])> {
        let n = self.len();
        if count >= n {
            return self.iter().collect();
        }
        match &self.repr {
            Repr::Table(t) if count * 3 <= n => {
                // Few picks from a big table: draw until enough distinct slots.
                let mut picked = hashbrown::HashSet::with_capacity(count);
                let mut out = Vec::with_capacity(count);
                while out.len() < count {
                    let i = t.random_slot(rng).expect("non-empty");
                    if picked.insert(i) {
                        out.push(t.pair(i));
                    }
                }
                out
            }
            _ => {
                let all: Vec<_> = self.iter().collect();
                let mut idx = rand::seq::index::sample(rng, n, count).into_vec();
                idx.sort_unstable();
                idx.into_iter().map(|i| all[i]).collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(n: usize, entries: usize) -> Hash {
        let mut h = Hash::new();
        for i in 0..n {
            h.set(
                format!("f{i}").as_bytes(),
                format!("v{i}").as_bytes(),
                entries,
                64,
            );
        }
        h
    }

    #[test]
    fn sizes_are_compact() {
        assert_eq!(std::mem::size_of::<Hash>(), 24);
        assert_eq!(std::mem::size_of::<Option<Pair>>(), 48);
    }

    #[test]
    fn varint_lengths_roundtrip() {
        for n in [0usize, 1, 127, 128, 300, 16383, 16384, 1 << 20] {
            let mut b = Vec::new();
            put_len(&mut b, n);
            assert_eq!(b.len(), len_size(n));
            b.extend(std::iter::repeat_n(7u8, n));
            let (s, end) = read_str(&b, 0);
            assert_eq!(s.len(), n);
            assert_eq!(end, b.len());
        }
    }

    #[test]
    fn listpack_set_get_remove() {
        let mut h = Hash::new();
        assert!(h.set(b"a", b"1", 128, 64));
        assert!(h.set(b"b", b"2", 128, 64));
        assert!(!h.set(b"a", b"longer value", 128, 64));
        assert_eq!(h.get(b"a"), Some(&b"longer value"[..]));
        assert!(!h.set(b"a", b"x", 128, 64));
        assert_eq!(h.get(b"a"), Some(&b"x"[..]));
        assert_eq!(h.len(), 2);
        assert_eq!(h.encoding(), "listpack");
        let all: Vec<_> = h.iter().collect();
        assert_eq!(all, vec![(&b"a"[..], &b"x"[..]), (&b"b"[..], &b"2"[..])]);
        assert!(h.remove(b"a"));
        assert!(!h.remove(b"a"));
        assert_eq!(h.get(b"b"), Some(&b"2"[..]));
        assert!(h.remove(b"b"));
        assert!(h.is_empty());
        // The buffer is kept at its exact size.
        let h = filled(10, 128);
        if let Repr::Pack(b) = &h.repr {
            assert_eq!(b.len(), b.capacity());
        }
    }

    #[test]
    fn converts_on_entries_and_value_length() {
        let mut h = filled(128, 128);
        assert_eq!(h.encoding(), "listpack");
        h.set(b"one-more", b"v", 128, 64);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), 129);
        for i in 0..128 {
            assert_eq!(
                h.get(format!("f{i}").as_bytes()),
                Some(format!("v{i}").as_bytes())
            );
        }
        let mut h = filled(3, 128);
        h.set(b"big", &[b'x'; 65], 128, 64);
        assert_eq!(h.encoding(), "hashtable");
        let mut h = filled(3, 128);
        h.set(b"big", &[b'x'; 64], 128, 64);
        assert_eq!(h.encoding(), "listpack");
    }

    #[test]
    fn table_ops_and_slot_reuse() {
        let mut h = filled(10_000, 0);
        assert_eq!(h.encoding(), "hashtable");
        for i in (0..10_000).step_by(2) {
            assert!(h.remove(format!("f{i}").as_bytes()));
        }
        assert_eq!(h.len(), 5_000);
        assert_eq!(h.get(b"f0"), None);
        assert_eq!(h.get(b"f1"), Some(&b"v1"[..]));
        for i in 0..100 {
            assert!(h.set(format!("n{i}").as_bytes(), b"x", 0, 64));
        }
        assert_eq!(h.iter().count(), 5_100);
        let c = h.clone();
        assert_eq!(c.get(b"n5"), Some(&b"x"[..]));
        assert_eq!(c.len(), 5_100);
        assert!(h.mem_usage() > 5_000 * 48);
    }

    #[test]
    fn scan_returns_every_stable_field_once() {
        let mut h = filled(5_000, 0);
        let mut seen = hashbrown::HashMap::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            cursor = h.scan(cursor, 50, |f, _| {
                *seen.entry(f.to_vec()).or_insert(0) += 1;
            });
            // Concurrent churn: add and delete other fields.
            for j in 0..20 {
                h.set(format!("x{round}-{j}").as_bytes(), b"y", 0, 64);
                h.remove(format!("x{}-{j}", round / 2).as_bytes());
            }
            round += 1;
            if cursor == 0 {
                break;
            }
        }
        for i in 0..5_000 {
            assert_eq!(seen.get(format!("f{i}").as_bytes()), Some(&1));
        }
    }

    #[test]
    fn random_picks() {
        let mut rng = rand::thread_rng();
        for h in [filled(20, 128), filled(500, 0)] {
            let (f, v) = h.random(&mut rng).unwrap();
            assert_eq!(h.get(f), Some(v));
            let u = h.random_unique(&mut rng, 5);
            let set: hashbrown::HashSet<_> = u.iter().map(|p| p.0).collect();
            assert_eq!(set.len(), 5);
            let u = h.random_unique(&mut rng, h.len() - 1);
            let set: hashbrown::HashSet<_> = u.iter().map(|p| p.0).collect();
            assert_eq!(set.len(), h.len() - 1);
            assert_eq!(h.random_unique(&mut rng, 10_000).len(), h.len());
            let mut n = 0;
            h.random_with_repeats(&mut rng, 1000, |f, v| {
                assert_eq!(h.get(f), Some(v));
                n += 1;
            });
            assert_eq!(n, 1000);
        }
    }
}
