//! Sorted-set values. Owned by the sorted-sets family (cmd/zsets.rs): small
//! ones use a compact "listpack" encoding, large ones an ordered structure
//! with O(log n) rank plus a member->score index ("skiplist"), switching at
//! `zset-max-listpack-entries` / `zset-max-listpack-value`.
//!
//! Order is (score, member bytes). Scores are never NaN.
//!
//! * `Pack` ("listpack"): one flat byte vector of entries sorted by order,
//!   each `score (8 bytes LE) | varint length | member bytes`.
//! * `Big` ("skiplist"): members live in a chunked slab of (score, member)
//!   slots whose positions never move (so ZSCAN cursors are stable slab
//!   positions); a `HashTable<u32>` maps member -> slot, and a counted B+tree
//!   over slot ids keeps the order with subtree sizes for O(log n) rank,
//!   select and range bounds.

use super::small::SmallBytes;
use hashbrown::{DefaultHashBuilder, HashTable};
use std::cmp::Ordering;
use std::hash::BuildHasher;

/// Total order of entries: score, then member bytes.
#[inline]
pub fn cmp_entry(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> Ordering {
    if s1 < s2 {
        Ordering::Less
    } else if s1 > s2 {
        Ordering::Greater
    } else {
        m1.cmp(m2)
    }
}

#[derive(Clone)]
enum Inner {
    Pack(Pack),
    Big(Box<Big>),
}

#[derive(Clone)]
pub struct ZSet {
    inner: Inner,
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet::new_pack()
    }
}

impl ZSet {
    /// An empty listpack-encoded set.
    pub fn new_pack() -> Self {
        ZSet {
            inner: Inner::Pack(Pack::default()),
        }
    }

    /// An empty skiplist-encoded set.
    pub fn new_big() -> Self {
        ZSet {
            inner: Inner::Big(Box::default()),
        }
    }

    /// The encoding Redis 7.0 picks for a new set whose first member has `first_len` bytes.
    pub fn new_for(first_len: usize, max_entries: usize, max_value: usize) -> Self {
        if max_entries == 0 || first_len > max_value {
            ZSet::new_big()
        } else {
            ZSet::new_pack()
        }
    }

    pub fn len(&self) -> usize {
        match &self.inner {
            Inner::Pack(p) => p.n as usize,
            Inner::Big(b) => b.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding(&self) -> &'static str {
        match &self.inner {
            Inner::Pack(_) => "listpack",
            Inner::Big(_) => "skiplist",
        }
    }

    pub fn is_pack(&self) -> bool {
        matches!(self.inner, Inner::Pack(_))
    }

    pub fn mem_usage(&self) -> usize {
        std::mem::size_of::<ZSet>()
            + match &self.inner {
                Inner::Pack(p) => p.buf.capacity(),
                Inner::Big(b) => b.mem_usage(),
            }
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.inner {
            Inner::Pack(p) => p.find(member).map(|(_, s, _)| s),
            Inner::Big(b) => b.find(member).map(|id| b.slot(id).score),
        }
    }

    /// Insert or update; returns the previous score. Converts the listpack
    /// to a skiplist when it would exceed the limits.
    pub fn insert(
        &mut self,
        member: &[u8],
        score: f64,
        max_entries: usize,
        max_value: usize,
    ) -> Option<f64> {
        debug_assert!(!score.is_nan());
        if let Inner::Pack(p) = &mut self.inner {
            if let Some((off, old, elen)) = p.find(member) {
                if old != score || old.is_sign_negative() != score.is_sign_negative() {
                    p.remove_at(off, elen);
                    p.insert(member, score);
                }
                return Some(old);
            }
            if (p.n as usize) < max_entries && member.len() <= max_value {
                p.insert(member, score);
                return None;
            }
            self.convert_to_big();
        }
        match &mut self.inner {
            Inner::Big(b) => b.insert(member, score),
            Inner::Pack(_) => unreachable!(),
        }
    }

    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        match &mut self.inner {
            Inner::Pack(p) => {
                let (off, s, elen) = p.find(member)?;
                p.remove_at(off, elen);
                Some(s)
            }
            Inner::Big(b) => b.remove(member),
        }
    }

    /// 0-based ascending rank of `member`.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match &self.inner {
            Inner::Pack(p) => p.iter().position(|(_, m)| m == member),
            Inner::Big(b) => b.rank(member),
        }
    }

    /// Number of entries for which `before(score, member)` holds; `before`
    /// must be true for a prefix of the order and false afterwards.
    pub fn count_before(&self, before: impl Fn(f64, &[u8]) -> bool) -> usize {
        match &self.inner {
            Inner::Pack(p) => p.iter().take_while(|&(s, m)| before(s, m)).count(),
            Inner::Big(b) => {
                let chunks = &b.chunks;
                b.tree.count_before(&|id| {
                    let sl = slot(chunks, id);
                    before(sl.score, sl.member.as_bytes())
                })
            }
        }
    }

    /// Entries with score < `bound` (or <= when `inclusive`).
    pub fn count_score_below(&self, bound: f64, inclusive: bool) -> usize {
        if inclusive {
            self.count_before(|s, _| s <= bound)
        } else {
            self.count_before(|s, _| s < bound)
        }
    }

    /// Visit ranks `lo..hi` (ascending ranks) in ascending order, or descending when `rev`.
    pub fn visit(&self, lo: usize, hi: usize, rev: bool, mut f: impl FnMut(&[u8], f64)) {
        let hi = hi.min(self.len());
        if lo >= hi {
            return;
        }
        match &self.inner {
            Inner::Pack(p) => {
                if rev {
                    let v: Vec<(f64, &[u8])> = p.iter().skip(lo).take(hi - lo).collect();
                    for (s, m) in v.into_iter().rev() {
                        f(m, s);
                    }
                } else {
                    for (s, m) in p.iter().skip(lo).take(hi - lo) {
                        f(m, s);
                    }
                }
            }
            Inner::Big(b) => {
                let chunks = &b.chunks;
                b.tree.visit(lo, hi, rev, &mut |id| {
                    let sl = slot(chunks, id);
                    f(sl.member.as_bytes(), sl.score)
                });
            }
        }
    }

    /// All entries in order.
    pub fn for_each(&self, f: impl FnMut(&[u8], f64)) {
        self.visit(0, self.len(), false, f);
    }

    /// The entry at ascending rank `r`.
    pub fn get_by_rank(&self, r: usize) -> Option<(&[u8], f64)> {
        if r >= self.len() {
            return None;
        }
        match &self.inner {
            Inner::Pack(p) => p.iter().nth(r).map(|(s, m)| (m, s)),
            Inner::Big(b) => {
                let sl = b.slot(b.tree.select(r));
                Some((sl.member.as_bytes(), sl.score))
            }
        }
    }

    /// Remove the entries at ranks `lo..hi`; returns them in ascending order.
    pub fn remove_range(&mut self, lo: usize, hi: usize) -> Vec<(Vec<u8>, f64)> {
        let mut out = Vec::new();
        self.visit(lo, hi, false, |m, s| out.push((m.to_vec(), s)));
        match &mut self.inner {
            Inner::Pack(p) => {
                if !out.is_empty() {
                    p.remove_ranks(lo, lo + out.len());
                }
            }
            Inner::Big(b) => {
                for (m, _) in &out {
                    b.remove(m);
                }
            }
        }
        out
    }

    /// Incremental scan. A listpack returns everything with cursor 0; a
    /// skiplist walks stable slab positions, so an entry present for the
    /// whole scan is returned at least once.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], f64)) -> u64 {
        match &self.inner {
            Inner::Pack(p) => {
                for (s, m) in p.iter() {
                    f(m, s);
                }
                0
            }
            Inner::Big(b) => b.scan(cursor, count, f),
        }
    }

    /// Switch to the skiplist encoding (one way, like Redis).
    pub fn convert_to_big(&mut self) {
        if let Inner::Pack(p) = &self.inner {
            let mut b = Big::default();
            for (s, m) in p.iter() {
                b.insert(m, s);
            }
            self.inner = Inner::Big(Box::new(b));
        }
    }

    /// Back to a listpack when the set fits the limits (what Redis does for
    /// the results of ZUNIONSTORE and friends).
    pub fn shrink_if_fits(&mut self, max_entries: usize, max_value: usize) {
        if let Inner::Big(b) = &self.inner {
            if b.len > max_entries {
                return;
            }
            let mut fits = true;
            let mut p = Pack::default();
            self.for_each(|m, s| {
                fits &= m.len() <= max_value;
                p.push_back(m, s);
            });
            if fits {
                self.inner = Inner::Pack(p);
            }
        }
    }
}

// ---------------------------------------------------------------- listpack

#[derive(Clone, Default)]
struct Pack {
    buf: Vec<u8>,
    n: u32,
}

fn put_varint(buf: &mut Vec<u8>, mut v: usize) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            buf.push(b);
            return;
        }
        buf.push(b | 0x80);
    }
}

fn get_varint(buf: &[u8], mut off: usize) -> (usize, usize) {
    let mut v = 0usize;
    let mut shift = 0;
    loop {
        let b = buf[off];
        off += 1;
        v |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 {
            return (v, off);
        }
        shift += 7;
    }
}

struct PackIter<'a> {
    buf: &'a [u8],
    off: usize,
}

impl<'a> Iterator for PackIter<'a> {
    type Item = (f64, &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        if self.off >= self.buf.len() {
            return None;
        }
        let (s, m, next) = decode_at(self.buf, self.off);
        self.off = next;
        Some((s, m))
    }
}

/// (score, member, offset of the next entry)
#[inline]
fn decode_at(buf: &[u8], off: usize) -> (f64, &[u8], usize) {
    let s = f64::from_le_bytes(buf[off..off + 8].try_into().expect("8 bytes"));
    let (len, start) = get_varint(buf, off + 8);
    (s, &buf[start..start + len], start + len)
}

impl Pack {
    fn iter(&self) -> PackIter<'_> {
        PackIter {
            buf: &self.buf,
            off: 0,
        }
    }

    /// (offset, score, encoded length) of `member`.
    fn find(&self, member: &[u8]) -> Option<(usize, f64, usize)> {
        let mut off = 0;
        while off < self.buf.len() {
            let (s, m, next) = decode_at(&self.buf, off);
            if m == member {
                return Some((off, s, next - off));
            }
            off = next;
        }
        None
    }

    fn encode(member: &[u8], score: f64) -> Vec<u8> {
        // Like a listpack, which stores integral scores as integers: -0 becomes 0.
        let score = if score == 0.0 { 0.0 } else { score };
        let mut e = Vec::with_capacity(member.len() + 10);
        e.extend_from_slice(&score.to_le_bytes());
        put_varint(&mut e, member.len());
        e.extend_from_slice(member);
        e
    }

    /// Insert a member known to be absent at its ordered position.
    fn insert(&mut self, member: &[u8], score: f64) {
        let mut off = 0;
        while off < self.buf.len() {
            let (s, m, next) = decode_at(&self.buf, off);
            if cmp_entry(s, m, score, member) == Ordering::Greater {
                break;
            }
            off = next;
        }
        let e = Pack::encode(member, score);
        self.buf.splice(off..off, e);
        self.n += 1;
    }

    /// Append an entry that sorts after every present one.
    fn push_back(&mut self, member: &[u8], score: f64) {
        let score = if score == 0.0 { 0.0 } else { score };
        self.buf.extend_from_slice(&score.to_le_bytes());
        put_varint(&mut self.buf, member.len());
        self.buf.extend_from_slice(member);
        self.n += 1;
    }

    fn remove_at(&mut self, off: usize, elen: usize) {
        self.buf.drain(off..off + elen);
        self.n -= 1;
        if self.buf.capacity() > 64 && self.buf.capacity() > 2 * self.buf.len() {
            self.buf.shrink_to(self.buf.len() + self.buf.len() / 4);
        }
    }

    fn remove_ranks(&mut self, lo: usize, hi: usize) {
        let mut off = 0;
        let mut start = 0;
        let mut end = self.buf.len();
        for r in 0..=hi {
            if r == lo {
                start = off;
            }
            if r == hi {
                end = off;
                break;
            }
            off = decode_at(&self.buf, off).2;
        }
        self.buf.drain(start..end);
        self.n -= (hi - lo) as u32;
    }
}

// ---------------------------------------------------------------- skiplist

const CHUNK_BITS: u32 = 10;
const CHUNK: usize = 1 << CHUNK_BITS;

#[derive(Clone)]
struct Slot {
    /// NaN marks a free slot.
    score: f64,
    member: SmallBytes,
}

#[inline]
fn slot(chunks: &[Vec<Slot>], id: u32) -> &Slot {
    &chunks[(id >> CHUNK_BITS) as usize][id as usize & (CHUNK - 1)]
}

#[derive(Clone, Default)]
struct Big {
    chunks: Vec<Vec<Slot>>,
    free: Vec<u32>,
    index: HashTable<u32>,
    hasher: DefaultHashBuilder,
    tree: Tree,
    len: usize,
}

impl Big {
    #[inline]
    fn slot(&self, id: u32) -> &Slot {
        slot(&self.chunks, id)
    }

    fn slot_mut(&mut self, id: u32) -> &mut Slot {
        &mut self.chunks[(id >> CHUNK_BITS) as usize][id as usize & (CHUNK - 1)]
    }

    fn find(&self, member: &[u8]) -> Option<u32> {
        let chunks = &self.chunks;
        self.index
            .find(self.hasher.hash_one(member), |&id| {
                slot(chunks, id).member.as_bytes() == member
            })
            .copied()
    }

    fn alloc(&mut self, member: &[u8], score: f64) -> u32 {
        let s = Slot {
            score,
            member: SmallBytes::new(member),
        };
        if let Some(id) = self.free.pop() {
            *self.slot_mut(id) = s;
            return id;
        }
        if self.chunks.last().is_none_or(|c| c.len() == CHUNK) {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        let ci = self.chunks.len() - 1;
        let c = &mut self.chunks[ci];
        c.push(s);
        ((ci << CHUNK_BITS) | (c.len() - 1)) as u32
    }

    fn le_pred<'a>(
        chunks: &'a [Vec<Slot>],
        score: f64,
        member: &'a [u8],
    ) -> impl Fn(u32) -> bool + 'a {
        move |id| {
            let s = slot(chunks, id);
            cmp_entry(s.score, s.member.as_bytes(), score, member) != Ordering::Greater
        }
    }

    fn insert(&mut self, member: &[u8], score: f64) -> Option<f64> {
        if let Some(id) = self.find(member) {
            let old = self.slot(id).score;
            if old != score || old.is_sign_negative() != score.is_sign_negative() {
                let chunks = &self.chunks;
                let found = self.tree.remove(id, &Big::le_pred(chunks, old, member));
                debug_assert!(found);
                self.slot_mut(id).score = score;
                let chunks = &self.chunks;
                self.tree.insert(id, &Big::le_pred(chunks, score, member));
            }
            return Some(old);
        }
        let id = self.alloc(member, score);
        let chunks = &self.chunks;
        let hasher = &self.hasher;
        self.index.insert_unique(hasher.hash_one(member), id, |&i| {
            hasher.hash_one(slot(chunks, i).member.as_bytes())
        });
        self.tree.insert(id, &Big::le_pred(chunks, score, member));
        self.len += 1;
        None
    }

    fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let hash = self.hasher.hash_one(member);
        let chunks = &self.chunks;
        let entry = self
            .index
            .find_entry(hash, |&id| slot(chunks, id).member.as_bytes() == member)
            .ok()?;
        let (id, _) = entry.remove();
        let score = self.slot(id).score;
        let chunks = &self.chunks;
        let found = self.tree.remove(id, &Big::le_pred(chunks, score, member));
        debug_assert!(found);
        let s = self.slot_mut(id);
        s.score = f64::NAN;
        s.member = SmallBytes::new(b"");
        self.free.push(id);
        self.len -= 1;
        if self.len == 0 {
            *self = Big {
                hasher: self.hasher,
                ..Default::default()
            };
        } else if self.index.capacity() > 64 && self.index.len() * 4 < self.index.capacity() {
            let chunks = &self.chunks;
            let hasher = &self.hasher;
            self.index.shrink_to(self.len, |&i| {
                hasher.hash_one(slot(chunks, i).member.as_bytes())
            });
        }
        Some(score)
    }

    fn rank(&self, member: &[u8]) -> Option<usize> {
        let id = self.find(member)?;
        let s = self.slot(id);
        let chunks = &self.chunks;
        Some(
            self.tree
                .count_before(&Big::le_pred(chunks, s.score, s.member.as_bytes()))
                - 1,
        )
    }

    fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], f64)) -> u64 {
        let total = (self.chunks.len().saturating_sub(1) * CHUNK
            + self.chunks.last().map_or(0, |c| c.len())) as u64;
        let mut i = cursor;
        let mut seen = 0;
        let mut visited = 0;
        let count = count.max(1);
        while i < total && seen < count && visited < count * 10 {
            let s = self.slot(i as u32);
            if !s.score.is_nan() {
                f(s.member.as_bytes(), s.score);
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

    fn mem_usage(&self) -> usize {
        let slots: usize = self
            .chunks
            .iter()
            .map(|c| c.capacity() * std::mem::size_of::<Slot>())
            .sum();
        let heap: usize = self
            .chunks
            .iter()
            .flat_map(|c| c.iter())
            .map(|s| s.member.heap_size())
            .sum();
        std::mem::size_of::<Big>()
            + slots
            + heap
            + self.free.capacity() * 4
            + self.index.capacity() * 5
            + self.tree.mem_usage()
    }
}

// ------------------------------------------------- counted B+tree of slot ids

const LEAF_MAX: usize = 256;
const INNER_MAX: usize = 64;

#[derive(Clone)]
enum Node {
    Leaf(Vec<u32>),
    Inner(Box<InnerNode>),
}

#[derive(Clone, Default)]
struct InnerNode {
    /// Smallest id of each child's subtree.
    mins: Vec<u32>,
    /// Number of ids in each child's subtree.
    counts: Vec<u32>,
    kids: Vec<Node>,
}

#[derive(Clone)]
struct Tree {
    root: Node,
}

impl Default for Tree {
    fn default() -> Self {
        Tree {
            root: Node::Leaf(Vec::new()),
        }
    }
}

impl Node {
    fn min(&self) -> u32 {
        match self {
            Node::Leaf(v) => v[0],
            Node::Inner(n) => n.mins[0],
        }
    }

    fn len(&self) -> usize {
        match self {
            Node::Leaf(v) => v.len(),
            Node::Inner(n) => n.counts.iter().map(|&c| c as usize).sum(),
        }
    }

    /// Children (or ids) in this node, for balancing.
    fn width(&self) -> usize {
        match self {
            Node::Leaf(v) => v.len(),
            Node::Inner(n) => n.kids.len(),
        }
    }

    /// Insert `id`; `le(x)` tells whether x sorts at or before the new id.
    /// Returns a new right sibling when the node split.
    fn insert(&mut self, id: u32, le: &dyn Fn(u32) -> bool) -> Option<Node> {
        match self {
            Node::Leaf(v) => {
                let pos = v.partition_point(|&x| le(x));
                if v.len() < LEAF_MAX {
                    if v.len() == v.capacity() {
                        let grow = (v.len() / 2).clamp(4, LEAF_MAX - v.len());
                        v.reserve_exact(grow);
                    }
                    v.insert(pos, id);
                    return None;
                }
                // Full: split first. Appends keep the left leaf full (ascending
                // loads), prepends keep the right one full (descending loads).
                let mut right;
                if pos == v.len() {
                    right = Vec::with_capacity(8);
                    right.push(id);
                } else if pos == 0 {
                    right = std::mem::replace(v, Vec::with_capacity(8));
                    v.push(id);
                } else {
                    let at = v.len() / 2;
                    right = Vec::with_capacity(v.len() - at + LEAF_MAX / 8);
                    right.extend_from_slice(&v[at..]);
                    v.truncate(at);
                    v.shrink_to(at + LEAF_MAX / 8);
                    if pos <= at {
                        v.insert(pos, id);
                    } else {
                        right.insert(pos - at, id);
                    }
                }
                Some(Node::Leaf(right))
            }
            Node::Inner(n) => {
                let i = n.mins.partition_point(|&x| le(x)).max(1) - 1;
                let split = n.kids[i].insert(id, le);
                n.counts[i] += 1;
                n.mins[i] = n.kids[i].min();
                if let Some(r) = split {
                    let rl = r.len() as u32;
                    n.counts[i] -= rl;
                    n.mins.insert(i + 1, r.min());
                    n.counts.insert(i + 1, rl);
                    n.kids.insert(i + 1, r);
                }
                if n.kids.len() > INNER_MAX {
                    let at = n.kids.len() / 2;
                    let right = InnerNode {
                        mins: n.mins.split_off(at),
                        counts: n.counts.split_off(at),
                        kids: n.kids.split_off(at),
                    };
                    return Some(Node::Inner(Box::new(right)));
                }
                None
            }
        }
    }

    /// Remove `id`; `le(x)` tells whether x sorts at or before it.
    fn remove(&mut self, id: u32, le: &dyn Fn(u32) -> bool) -> bool {
        match self {
            Node::Leaf(v) => {
                let pos = v.partition_point(|&x| le(x));
                if pos == 0 || v[pos - 1] != id {
                    return false;
                }
                v.remove(pos - 1);
                if v.capacity() > 16 && v.capacity() > 2 * v.len() {
                    v.shrink_to(v.len() + v.len() / 2);
                }
                true
            }
            Node::Inner(n) => {
                let i = n.mins.partition_point(|&x| le(x));
                if i == 0 {
                    return false;
                }
                let i = i - 1;
                if !n.kids[i].remove(id, le) {
                    return false;
                }
                n.counts[i] -= 1;
                if n.counts[i] == 0 {
                    n.kids.remove(i);
                    n.counts.remove(i);
                    n.mins.remove(i);
                    return true;
                }
                n.mins[i] = n.kids[i].min();
                let max = match n.kids[i] {
                    Node::Leaf(_) => LEAF_MAX,
                    Node::Inner(_) => INNER_MAX,
                };
                if n.kids[i].width() < max / 4 {
                    // Merge with a neighbour when the two fit in one node.
                    let j = if i + 1 < n.kids.len() {
                        i + 1
                    } else if i > 0 {
                        i - 1
                    } else {
                        return true;
                    };
                    let (a, b) = (i.min(j), i.max(j));
                    if n.kids[a].width() + n.kids[b].width() <= max {
                        let right = n.kids.remove(b);
                        let rc = n.counts.remove(b);
                        n.mins.remove(b);
                        n.counts[a] += rc;
                        match (&mut n.kids[a], right) {
                            (Node::Leaf(l), Node::Leaf(r)) => {
                                l.reserve_exact(r.len());
                                l.extend_from_slice(&r)
                            }
                            (Node::Inner(l), Node::Inner(r)) => {
                                let r = *r;
                                l.mins.extend(r.mins);
                                l.counts.extend(r.counts);
                                l.kids.extend(r.kids);
                            }
                            _ => unreachable!("siblings have the same height"),
                        }
                    }
                }
                true
            }
        }
    }

    fn count_before(&self, before: &dyn Fn(u32) -> bool) -> usize {
        match self {
            Node::Leaf(v) => v.partition_point(|&x| before(x)),
            Node::Inner(n) => {
                let i = n.mins.partition_point(|&x| before(x));
                if i == 0 {
                    return 0;
                }
                n.counts[..i - 1].iter().map(|&c| c as usize).sum::<usize>()
                    + n.kids[i - 1].count_before(before)
            }
        }
    }

    fn select(&self, mut r: usize) -> u32 {
        match self {
            Node::Leaf(v) => v[r],
            Node::Inner(n) => {
                for (k, &c) in n.kids.iter().zip(&n.counts) {
                    if r < c as usize {
                        return k.select(r);
                    }
                    r -= c as usize;
                }
                panic!("rank out of range")
            }
        }
    }

    fn visit(&self, lo: usize, hi: usize, rev: bool, f: &mut dyn FnMut(u32)) {
        match self {
            Node::Leaf(v) => {
                if rev {
                    v[lo..hi].iter().rev().for_each(|&x| f(x));
                } else {
                    v[lo..hi].iter().for_each(|&x| f(x));
                }
            }
            Node::Inner(n) => {
                let mut spans = Vec::new();
                let mut start = 0usize;
                for (k, &c) in n.kids.iter().zip(&n.counts) {
                    let end = start + c as usize;
                    if end > lo && start < hi {
                        spans.push((k, lo.max(start) - start, hi.min(end) - start));
                    }
                    if end >= hi {
                        break;
                    }
                    start = end;
                }
                if rev {
                    spans.reverse();
                }
                for (k, a, b) in spans {
                    k.visit(a, b, rev, f);
                }
            }
        }
    }

    fn mem_usage(&self) -> usize {
        match self {
            Node::Leaf(v) => v.capacity() * 4,
            Node::Inner(n) => {
                std::mem::size_of::<InnerNode>()
                    + n.mins.capacity() * 8
                    + n.kids.capacity() * std::mem::size_of::<Node>()
                    + n.kids.iter().map(|k| k.mem_usage()).sum::<usize>()
            }
        }
    }
}

impl Tree {
    fn insert(&mut self, id: u32, le: &dyn Fn(u32) -> bool) {
        if let Some(right) = self.root.insert(id, le) {
            let left = std::mem::replace(&mut self.root, Node::Leaf(Vec::new()));
            let (ll, rl) = (left.len() as u32, right.len() as u32);
            self.root = Node::Inner(Box::new(InnerNode {
                mins: vec![left.min(), right.min()],
                counts: vec![ll, rl],
                kids: vec![left, right],
            }));
        }
    }

    fn remove(&mut self, id: u32, le: &dyn Fn(u32) -> bool) -> bool {
        let found = self.root.remove(id, le);
        loop {
            match &mut self.root {
                Node::Inner(n) if n.kids.len() == 1 => {
                    let only = n.kids.pop().expect("one child");
                    self.root = only;
                }
                Node::Inner(n) if n.kids.is_empty() => self.root = Node::Leaf(Vec::new()),
                _ => break,
            }
        }
        found
    }

    fn count_before(&self, before: &dyn Fn(u32) -> bool) -> usize {
        if self.root.width() == 0 {
            return 0;
        }
        self.root.count_before(before)
    }

    fn select(&self, r: usize) -> u32 {
        self.root.select(r)
    }

    fn visit(&self, lo: usize, hi: usize, rev: bool, f: &mut dyn FnMut(u32)) {
        self.root.visit(lo, hi, rev, f)
    }

    fn mem_usage(&self) -> usize {
        self.root.mem_usage()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::SmallRng, Rng, SeedableRng};
    use std::collections::{BTreeSet, HashMap};

    #[derive(PartialEq, Clone, Debug)]
    struct K(f64, Vec<u8>);
    impl PartialOrd for K {
        fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
            Some(self.cmp(o))
        }
    }
    impl Eq for K {}
    impl Ord for K {
        fn cmp(&self, o: &Self) -> Ordering {
            cmp_entry(self.0, &self.1, o.0, &o.1)
        }
    }

    fn all(z: &ZSet) -> Vec<(Vec<u8>, f64)> {
        let mut v = Vec::new();
        z.for_each(|m, s| v.push((m.to_vec(), s)));
        v
    }

    #[test]
    fn ordering_ties_by_member() {
        for big in [false, true] {
            let mut z = if big {
                ZSet::new_big()
            } else {
                ZSet::new_pack()
            };
            for (m, s) in [("b", 1.0), ("a", 1.0), ("c", 0.5), ("aa", 1.0)] {
                z.insert(m.as_bytes(), s, 128, 64);
            }
            let names: Vec<_> = all(&z).into_iter().map(|(m, _)| m).collect();
            assert_eq!(
                names,
                vec![b"c".to_vec(), b"a".to_vec(), b"aa".to_vec(), b"b".to_vec()]
            );
            assert_eq!(z.rank(b"aa"), Some(2));
            assert_eq!(z.rank(b"zz"), None);
            assert_eq!(z.count_score_below(1.0, false), 1);
            assert_eq!(z.count_score_below(1.0, true), 4);
            assert_eq!(z.count_before(|s, m| s < 1.0 || m < b"b".as_slice()), 3);
            assert_eq!(z.get_by_rank(3).unwrap().0, b"b");
            assert_eq!(z.insert(b"a", 7.0, 128, 64), Some(1.0));
            assert_eq!(z.rank(b"a"), Some(3));
            assert_eq!(z.remove(b"c"), Some(0.5));
            assert_eq!(z.len(), 3);
        }
    }

    #[test]
    fn converts_at_limits() {
        let mut z = ZSet::new_pack();
        for i in 0..4 {
            z.insert(format!("m{i}").as_bytes(), i as f64, 4, 10);
        }
        assert_eq!(z.encoding(), "listpack");
        z.insert(b"m9", 9.0, 4, 10);
        assert_eq!(z.encoding(), "skiplist");
        let mut z = ZSet::new_pack();
        z.insert(b"short", 1.0, 4, 10);
        z.insert(b"this member is long", 2.0, 4, 10);
        assert_eq!(z.encoding(), "skiplist");
        assert_eq!(z.len(), 2);
        z.remove(b"this member is long");
        z.shrink_if_fits(4, 10);
        assert_eq!(z.encoding(), "listpack");
        assert_eq!(all(&z), vec![(b"short".to_vec(), 1.0)]);
    }

    /// Random operations against a naive BTreeSet + HashMap model, for both encodings,
    /// with enough members to build a multi-level tree.
    #[test]
    fn randomized_against_model() {
        for (seed, big, n, ops) in [
            (1u64, false, 40, 3000),
            (2, true, 3000, 40000),
            (3, true, 20000, 30000),
        ] {
            let mut rng = SmallRng::seed_from_u64(seed);
            let mut z = if big {
                ZSet::new_big()
            } else {
                ZSet::new_pack()
            };
            let mut set: BTreeSet<K> = BTreeSet::new();
            let mut map: HashMap<Vec<u8>, f64> = HashMap::new();
            for step in 0..ops {
                let m = format!("m{}", rng.gen_range(0..n)).into_bytes();
                let score = match rng.gen_range(0..4) {
                    0 => rng.gen_range(0..5) as f64,
                    1 => (step as f64) * 0.5,
                    2 => -(step as f64),
                    _ => rng.gen_range(-1000.0..1000.0),
                };
                match rng.gen_range(0..10) {
                    0..=5 => {
                        let old = z.insert(&m, score, usize::MAX, usize::MAX);
                        let mold = map.insert(m.clone(), score);
                        assert_eq!(old, mold);
                        if let Some(o) = mold {
                            set.remove(&K(o, m.clone()));
                        }
                        set.insert(K(score, m.clone()));
                    }
                    6..=7 => {
                        let old = z.remove(&m);
                        let mold = map.remove(&m);
                        assert_eq!(old, mold);
                        if let Some(o) = mold {
                            set.remove(&K(o, m));
                        }
                    }
                    8 => {
                        let r = z.rank(&m);
                        let mr = map.get(&m).map(|&s| set.range(..K(s, m.clone())).count());
                        assert_eq!(r, mr);
                    }
                    _ => {
                        let b = rng.gen_range(-1000.0..1000.0);
                        assert_eq!(
                            z.count_score_below(b, true),
                            set.iter().filter(|k| k.0 <= b).count()
                        );
                        if !set.is_empty() {
                            let r = rng.gen_range(0..set.len());
                            let k = set.iter().nth(r).unwrap();
                            let (gm, gs) = z.get_by_rank(r).unwrap();
                            assert_eq!((gm, gs), (k.1.as_slice(), k.0));
                            let hi = (r + 7).min(set.len());
                            let mut got = Vec::new();
                            z.visit(r, hi, true, |m, _| got.push(m.to_vec()));
                            let want: Vec<_> = set
                                .iter()
                                .skip(r)
                                .take(hi - r)
                                .rev()
                                .map(|k| k.1.clone())
                                .collect();
                            assert_eq!(got, want);
                        }
                    }
                }
                assert_eq!(z.len(), set.len());
            }
            let want: Vec<_> = set.iter().map(|k| (k.1.clone(), k.0)).collect();
            assert_eq!(all(&z), want);
            // Range removal and full drain.
            if z.len() > 10 {
                let removed = z.remove_range(3, 9);
                let want_removed: Vec<_> = want[3..9].to_vec();
                assert_eq!(removed, want_removed);
                assert_eq!(z.len(), want.len() - 6);
            }
            let members: Vec<_> = all(&z).into_iter().map(|(m, _)| m).collect();
            for m in members {
                assert!(z.remove(&m).is_some());
            }
            assert!(z.is_empty());
            assert_eq!(all(&z), vec![]);
        }
    }

    #[test]
    fn sequential_loads_and_scan() {
        for desc in [false, true] {
            let mut z = ZSet::new_big();
            for i in 0..5000 {
                let s = if desc { -(i as f64) } else { i as f64 };
                z.insert(format!("k{i}").as_bytes(), s, 0, 0);
            }
            for i in (0..5000).step_by(3) {
                z.remove(format!("k{i}").as_bytes());
            }
            let mut seen = std::collections::HashSet::new();
            let mut cur = 0;
            loop {
                cur = z.scan(cur, 10, |m, _| {
                    seen.insert(m.to_vec());
                });
                if cur == 0 {
                    break;
                }
            }
            assert_eq!(seen.len(), z.len());
            let v = all(&z);
            assert!(v.windows(2).all(|w| w[0].1 < w[1].1));
        }
    }
}
