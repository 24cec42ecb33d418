//! List values, owned by the lists family (cmd/lists.rs).
//!
//! A quicklist-like layout: a `VecDeque` of nodes, each node one flat `Vec<u8>`
//! of entries. An entry is `varint(len) element reversed-varint(len)`, so a
//! node can be walked from either end. Node size follows
//! `list-max-listpack-size` (negative: a byte budget of 4/8/16/32/64 KiB;
//! positive: an entry count, with an 8 KiB safety cap), captured when the list
//! is created (as Redis does). Push/pop at either end are O(1) amortized
//! (bounded by one node's bytes); positional access walks node counts from
//! the nearer end, then entries within one node.

use std::collections::VecDeque;

/// Byte cap on a node when the fill is an entry count.
const SAFETY_LIMIT: usize = 8192;

fn encode_varint(mut n: usize, out: &mut [u8; 10]) -> usize {
    let mut i = 0;
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out[i] = b;
            return i + 1;
        }
        out[i] = b | 0x80;
        i += 1;
    }
}

fn varint_len(mut n: usize) -> usize {
    let mut l = 1;
    while n >= 0x80 {
        n >>= 7;
        l += 1;
    }
    l
}

/// Encoded size of an element of `n` bytes.
fn entry_size(n: usize) -> usize {
    n + 2 * varint_len(n)
}

fn put_entry(buf: &mut Vec<u8>, v: &[u8]) {
    let mut tmp = [0u8; 10];
    let h = encode_varint(v.len(), &mut tmp);
    buf.reserve(v.len() + 2 * h);
    buf.extend_from_slice(&tmp[..h]);
    buf.extend_from_slice(v);
    buf.extend(tmp[..h].iter().rev());
}

fn encoded(v: &[u8]) -> Vec<u8> {
    let mut e = Vec::with_capacity(entry_size(v.len()));
    put_entry(&mut e, v);
    e
}

/// Replace `d[from..to]` with `e` using memmove (no per-byte iteration).
fn replace_bytes(d: &mut Vec<u8>, from: usize, to: usize, e: &[u8]) {
    let old = d.len();
    let removed = to - from;
    if e.len() >= removed {
        let grow = e.len() - removed;
        d.resize(old + grow, 0);
        d.copy_within(to..old, to + grow);
    } else {
        let shrink = removed - e.len();
        d.copy_within(to..old, to - shrink);
        d.truncate(old - shrink);
    }
    d[from..from + e.len()].copy_from_slice(e);
}

/// The entry starting at `pos`: (element start, element end, next entry).
#[inline]
fn entry_at(d: &[u8], pos: usize) -> (usize, usize, usize) {
    let mut n = 0usize;
    let mut shift = 0;
    let mut i = pos;
    loop {
        let b = d[i];
        n |= ((b & 0x7f) as usize) << shift;
        i += 1;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let h = i - pos;
    (i, i + n, i + n + h)
}

/// The entry ending at `end`: (entry start, element start, element end).
#[inline]
fn entry_before(d: &[u8], end: usize) -> (usize, usize, usize) {
    // The trailer is the header reversed: its last byte carries the lowest bits.
    let mut n = 0usize;
    let mut shift = 0;
    let mut i = end;
    loop {
        i -= 1;
        let b = d[i];
        n |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let h = end - i;
    let elem_start = i - n;
    (elem_start - h, elem_start, i)
}

#[derive(Clone, Default)]
struct Node {
    data: Vec<u8>,
    count: u32,
}

impl Node {
    /// Byte offset of the `k`th entry (k == count: the end), walking from the nearer end.
    fn offset_of(&self, k: usize) -> usize {
        let c = self.count as usize;
        if k <= c / 2 {
            let mut p = 0;
            for _ in 0..k {
                p = entry_at(&self.data, p).2;
            }
            p
        } else {
            let mut p = self.data.len();
            for _ in k..c {
                p = entry_before(&self.data, p).0;
            }
            p
        }
    }

    fn get(&self, k: usize) -> &[u8] {
        let (s, e, _) = entry_at(&self.data, self.offset_of(k));
        &self.data[s..e]
    }

    /// Make room for `extra` more bytes: grow by half (not double) and never
    /// past the node budget unless one entry needs it, so full nodes carry
    /// little slack.
    fn grow_for(&mut self, extra: usize, limit: usize) {
        let need = self.data.len() + extra;
        let cap = self.data.capacity();
        if need <= cap {
            return;
        }
        let target = (cap + cap / 2).min(limit).max(need);
        self.data.reserve_exact(target - self.data.len());
    }

    /// Drop spare capacity left by removals.
    fn tidy(&mut self) {
        if self.data.capacity() > 2 * self.data.len() + 64 {
            self.data.shrink_to_fit();
        }
    }
}

#[derive(Clone)]
pub struct List {
    nodes: VecDeque<Node>,
    /// Element count in the low 48 bits, the fill (i16) in the high 16:
    /// keeps `List` at 40 bytes.
    meta: u64,
}

const LEN_MASK: u64 = (1 << 48) - 1;

impl Default for List {
    fn default() -> Self {
        List::new(-2)
    }
}

impl List {
    /// An empty list whose nodes follow `list-max-listpack-size` = `fill`.
    pub fn new(fill: i64) -> Self {
        // Counts beyond what an 8 KiB node can hold mean the same as the cap.
        let fill = fill.clamp(-5, SAFETY_LIMIT as i64) as i16;
        List {
            nodes: VecDeque::new(),
            meta: (fill as u16 as u64) << 48,
        }
    }

    pub fn len(&self) -> usize {
        (self.meta & LEN_MASK) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Redis 7.0 always reports lists as "quicklist".
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    pub fn mem_usage(&self) -> usize {
        std::mem::size_of::<List>()
            + self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.nodes.iter().map(|n| n.data.capacity()).sum::<usize>()
    }

    /// Number of nodes (for tests and DEBUG-style introspection).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    fn fill(&self) -> i16 {
        (self.meta >> 48) as u16 as i16
    }

    fn byte_limit(&self) -> usize {
        if self.fill() >= 0 {
            SAFETY_LIMIT
        } else {
            4096usize << ((-self.fill() - 1) as usize)
        }
    }

    fn count_limit(&self) -> u32 {
        if self.fill() > 0 {
            self.fill() as u32
        } else if self.fill() == 0 {
            1
        } else {
            u32::MAX
        }
    }

    /// May `node` take one more entry of `extra` encoded bytes?
    fn fits(&self, node: &Node, extra: usize) -> bool {
        node.count == 0
            || (node.count < self.count_limit() && node.data.len() + extra <= self.byte_limit())
    }

    fn over(&self, node: &Node) -> bool {
        node.count > 1 && (node.count > self.count_limit() || node.data.len() > self.byte_limit())
    }

    fn new_node_deque(&mut self) {
        if self.nodes.capacity() == 0 {
            self.nodes.reserve_exact(1);
        }
    }

    /// Before pushing `elems` at one end: size the end node for all of them
    /// at once when they fit there (one allocation, no slack).
    pub fn reserve_end<B: AsRef<[u8]>>(&mut self, front: bool, elems: &[B]) {
        let bytes: usize = elems.iter().map(|e| entry_size(e.as_ref().len())).sum();
        let count = elems.len();
        let within = |n: &Node| {
            n.count as usize + count <= self.count_limit() as usize
                && n.data.len() + bytes <= self.byte_limit()
        };
        let end = if front {
            self.nodes.front()
        } else {
            self.nodes.back()
        };
        match end {
            Some(n) if within(n) => {
                let n = if front {
                    self.nodes.front_mut()
                } else {
                    self.nodes.back_mut()
                };
                let n = n.expect("node");
                n.data.reserve_exact(bytes);
            }
            None if within(&Node::default()) => {
                self.new_node_deque();
                self.nodes.push_back(Node {
                    data: Vec::with_capacity(bytes),
                    count: 0,
                });
            }
            _ => {}
        }
    }

    pub fn push_back(&mut self, v: &[u8]) {
        let sz = entry_size(v.len());
        let fits = self.nodes.back().is_some_and(|n| self.fits(n, sz));
        if !fits {
            self.new_node_deque();
            self.nodes.push_back(Node {
                data: Vec::with_capacity(sz),
                count: 0,
            });
        }
        let limit = self.byte_limit();
        let n = self.nodes.back_mut().expect("node");
        n.grow_for(sz, limit);
        put_entry(&mut n.data, v);
        n.count += 1;
        self.meta += 1;
    }

    pub fn push_front(&mut self, v: &[u8]) {
        let sz = entry_size(v.len());
        let fits = self.nodes.front().is_some_and(|n| self.fits(n, sz));
        if !fits {
            self.new_node_deque();
            self.nodes.push_front(Node::default());
        }
        let limit = self.byte_limit();
        let n = self.nodes.front_mut().expect("node");
        n.grow_for(sz, limit);
        if n.data.is_empty() {
            put_entry(&mut n.data, v);
        } else {
            replace_bytes(&mut n.data, 0, 0, &encoded(v));
        }
        n.count += 1;
        self.meta += 1;
    }

    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        let n = self.nodes.front_mut()?;
        let (s, e, next) = entry_at(&n.data, 0);
        let v = n.data[s..e].to_vec();
        n.count -= 1;
        if n.count == 0 {
            self.nodes.pop_front();
        } else {
            n.data.drain(..next);
        }
        self.meta -= 1;
        Some(v)
    }

    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        let n = self.nodes.back_mut()?;
        let (start, s, e) = entry_before(&n.data, n.data.len());
        let v = n.data[s..e].to_vec();
        n.count -= 1;
        if n.count == 0 {
            self.nodes.pop_back();
        } else {
            n.data.truncate(start);
        }
        self.meta -= 1;
        Some(v)
    }

    /// (node index, index within the node) of list position `i` (< len).
    fn locate(&self, i: usize) -> (usize, usize) {
        if i < self.len() / 2 {
            let mut rest = i;
            for (ni, n) in self.nodes.iter().enumerate() {
                if rest < n.count as usize {
                    return (ni, rest);
                }
                rest -= n.count as usize;
            }
        } else {
            let mut from_end = self.len() - i; // >= 1
            for (ni, n) in self.nodes.iter().enumerate().rev() {
                if from_end <= n.count as usize {
                    return (ni, n.count as usize - from_end);
                }
                from_end -= n.count as usize;
            }
        }
        unreachable!("index within length")
    }

    pub fn get(&self, i: usize) -> Option<&[u8]> {
        if i >= self.len() {
            return None;
        }
        let (ni, k) = self.locate(i);
        Some(self.nodes[ni].get(k))
    }

    /// Split an oversized node in two halves.
    fn split_if_over(&mut self, ni: usize) {
        if !self.over(&self.nodes[ni]) {
            return;
        }
        let node = &mut self.nodes[ni];
        let c = node.count as usize;
        let mid = c / 2;
        let off = node.offset_of(mid);
        let tail = node.data.split_off(off);
        node.data.shrink_to_fit();
        node.count = mid as u32;
        self.nodes.insert(
            ni + 1,
            Node {
                data: tail,
                count: (c - mid) as u32,
            },
        );
        // Very large elements may need more than one split.
        self.split_if_over(ni + 1);
        self.split_if_over(ni);
    }

    /// Replace the element at `i`; false when out of range.
    pub fn set(&mut self, i: usize, v: &[u8]) -> bool {
        if i >= self.len() {
            return false;
        }
        let (ni, k) = self.locate(i);
        let node = &mut self.nodes[ni];
        let off = node.offset_of(k);
        let (_, _, next) = entry_at(&node.data, off);
        replace_bytes(&mut node.data, off, next, &encoded(v));
        self.split_if_over(ni);
        true
    }

    /// Insert `v` so that it becomes position `i` (0..=len).
    pub fn insert(&mut self, i: usize, v: &[u8]) {
        if i >= self.len() {
            return self.push_back(v);
        }
        if i == 0 {
            return self.push_front(v);
        }
        let (ni, k) = self.locate(i);
        // At a node boundary, append to the previous node if it has room.
        let sz = entry_size(v.len());
        let limit = self.byte_limit();
        if k == 0 && self.fits(&self.nodes[ni - 1], sz) {
            let prev = &mut self.nodes[ni - 1];
            prev.grow_for(sz, limit);
            put_entry(&mut prev.data, v);
            prev.count += 1;
        } else {
            let node = &mut self.nodes[ni];
            node.grow_for(sz, limit);
            let off = node.offset_of(k);
            replace_bytes(&mut node.data, off, off, &encoded(v));
            node.count += 1;
            self.split_if_over(ni);
        }
        self.meta += 1;
    }

    /// Elements from position `start` (clamped) towards the tail.
    pub fn iter_from(&self, start: usize) -> Iter<'_> {
        if start >= self.len() {
            return Iter {
                list: self,
                node: self.nodes.len(),
                pos: 0,
                left: 0,
            };
        }
        let (ni, k) = self.locate(start);
        Iter {
            list: self,
            node: ni,
            pos: self.nodes[ni].offset_of(k),
            left: self.len() - start,
        }
    }

    pub fn iter(&self) -> Iter<'_> {
        self.iter_from(0)
    }

    /// Elements from the tail towards the head.
    pub fn iter_rev(&self) -> RevIter<'_> {
        RevIter {
            list: self,
            node: self.nodes.len(),
            pos: 0,
            left: self.len(),
        }
    }

    /// Remove every element for which `pred(position, element)` is true
    /// (positions are the original ones); returns how many were removed.
    pub fn remove_where(&mut self, mut pred: impl FnMut(usize, &[u8]) -> bool) -> usize {
        let mut idx = 0;
        let mut removed = 0;
        for node in self.nodes.iter_mut() {
            let d = &mut node.data;
            let (mut r, mut w) = (0, 0);
            let before = removed;
            while r < d.len() {
                let (s, e, next) = entry_at(d, r);
                if pred(idx, &d[s..e]) {
                    removed += 1;
                    node.count -= 1;
                } else {
                    if w != r {
                        d.copy_within(r..next, w);
                    }
                    w += next - r;
                }
                r = next;
                idx += 1;
            }
            d.truncate(w);
            if removed != before {
                node.tidy();
            }
        }
        if removed > 0 {
            self.meta -= removed as u64;
            self.nodes.retain(|n| n.count > 0);
            self.merge_small();
        }
        removed
    }

    /// Merge neighbouring nodes that fit together (after removals).
    fn merge_small(&mut self) {
        let mut i = 0;
        while i + 1 < self.nodes.len() {
            let (a, b) = (&self.nodes[i], &self.nodes[i + 1]);
            let fits = a.count + b.count <= self.count_limit()
                && a.data.len() + b.data.len() <= self.byte_limit();
            if fits {
                let b = self.nodes.remove(i + 1).expect("node");
                let a = &mut self.nodes[i];
                a.data.extend_from_slice(&b.data);
                a.count += b.count;
            } else {
                i += 1;
            }
        }
    }

    /// Remove `n` elements from the head.
    pub fn remove_front(&mut self, mut n: usize) {
        n = n.min(self.len());
        self.meta -= n as u64;
        while n > 0 {
            let front = self.nodes.front_mut().expect("node");
            let c = front.count as usize;
            if c <= n {
                n -= c;
                self.nodes.pop_front();
            } else {
                let off = front.offset_of(n);
                front.data.drain(..off);
                front.count -= n as u32;
                front.tidy();
                n = 0;
            }
        }
    }

    /// Remove `n` elements from the tail.
    pub fn remove_back(&mut self, mut n: usize) {
        n = n.min(self.len());
        self.meta -= n as u64;
        while n > 0 {
            let back = self.nodes.back_mut().expect("node");
            let c = back.count as usize;
            if c <= n {
                n -= c;
                self.nodes.pop_back();
            } else {
                let off = back.offset_of(c - n);
                back.data.truncate(off);
                back.count -= n as u32;
                back.tidy();
                n = 0;
            }
        }
    }

    /// Internal invariants (tests).
    #[cfg(test)]
    fn check(&self) {
        let mut total = 0;
        for n in &self.nodes {
            assert!(n.count > 0, "no empty nodes");
            let mut p = 0;
            let mut c = 0;
            while p < n.data.len() {
                p = entry_at(&n.data, p).2;
                c += 1;
            }
            assert_eq!(p, n.data.len());
            assert_eq!(c, n.count);
            total += c as usize;
        }
        assert_eq!(total, self.len());
    }
}

pub struct Iter<'a> {
    list: &'a List,
    node: usize,
    pos: usize,
    left: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        let mut d = &self.list.nodes[self.node].data;
        if self.pos >= d.len() {
            self.node += 1;
            self.pos = 0;
            d = &self.list.nodes[self.node].data;
        }
        let (s, e, next) = entry_at(d, self.pos);
        self.pos = next;
        self.left -= 1;
        Some(&d[s..e])
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Iter<'_> {}

pub struct RevIter<'a> {
    list: &'a List,
    /// One past the current node; `pos` is the end of the next entry in it.
    node: usize,
    pos: usize,
    left: usize,
}

impl<'a> Iterator for RevIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        if self.pos == 0 {
            self.node -= 1;
            self.pos = self.list.nodes[self.node].data.len();
        }
        let d = &self.list.nodes[self.node].data;
        let (start, s, e) = entry_before(d, self.pos);
        self.pos = start;
        self.left -= 1;
        Some(&d[s..e])
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for RevIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque as Model;

    fn elem(i: usize) -> Vec<u8> {
        // Mixed sizes, including multi-byte varints and node-sized elements.
        let n = match i % 7 {
            0 => 0,
            1 => 3,
            2 => 130,
            3 => 17,
            4 => 1000,
            5 => 9000,
            _ => 60,
        };
        let mut v = format!("{i}:").into_bytes();
        v.resize(v.len() + n, b'a' + (i % 26) as u8);
        v
    }

    fn same(l: &List, m: &Model<Vec<u8>>) {
        l.check();
        assert_eq!(l.len(), m.len());
        let fwd: Vec<&[u8]> = l.iter().collect();
        let want: Vec<&[u8]> = m.iter().map(|v| v.as_slice()).collect();
        assert_eq!(fwd, want);
        let rev: Vec<&[u8]> = l.iter_rev().collect();
        let want_rev: Vec<&[u8]> = m.iter().rev().map(|v| v.as_slice()).collect();
        assert_eq!(rev, want_rev);
        for (i, v) in m.iter().enumerate() {
            assert_eq!(l.get(i), Some(v.as_slice()));
        }
        assert_eq!(l.get(m.len()), None);
    }

    #[test]
    fn varint_entries_roundtrip_both_ways() {
        let mut d = Vec::new();
        for n in [0, 1, 127, 128, 300, 16383, 16384, 70000] {
            put_entry(&mut d, &vec![7u8; n]);
        }
        let mut p = 0;
        let mut lens = Vec::new();
        while p < d.len() {
            let (s, e, next) = entry_at(&d, p);
            lens.push(e - s);
            p = next;
        }
        assert_eq!(lens, [0, 1, 127, 128, 300, 16383, 16384, 70000]);
        let mut p = d.len();
        let mut back = Vec::new();
        while p > 0 {
            let (start, s, e) = entry_before(&d, p);
            back.push(e - s);
            p = start;
        }
        lens.reverse();
        assert_eq!(back, lens);
    }

    #[test]
    fn model_check_all_operations() {
        for fill in [-2i64, -1, 1, 3, 128] {
            let mut l = List::new(fill);
            let mut m: Model<Vec<u8>> = Model::new();
            let mut seed = 12345u64 ^ fill as u64;
            let mut rnd = |n: usize| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed % n.max(1) as u64) as usize
            };
            for step in 0..3000 {
                let e = elem(step);
                match rnd(10) {
                    0 | 1 => {
                        l.push_back(&e);
                        m.push_back(e);
                    }
                    2 | 3 => {
                        l.push_front(&e);
                        m.push_front(e);
                    }
                    4 => assert_eq!(l.pop_front(), m.pop_front()),
                    5 => assert_eq!(l.pop_back(), m.pop_back()),
                    6 => {
                        let i = rnd(m.len() + 1);
                        l.insert(i, &e);
                        m.insert(i, e);
                    }
                    7 if !m.is_empty() => {
                        let i = rnd(m.len());
                        assert!(l.set(i, &e));
                        m[i] = e;
                    }
                    8 => {
                        let k = rnd(5);
                        l.remove_where(|i, _| i % 5 == k);
                        let mut i = 0;
                        m.retain(|_| {
                            i += 1;
                            (i - 1) % 5 != k
                        });
                    }
                    _ => {
                        let a = rnd(3);
                        let b = rnd(3);
                        l.remove_front(a);
                        l.remove_back(b);
                        for _ in 0..a.min(m.len()) {
                            m.pop_front();
                        }
                        for _ in 0..b.min(m.len()) {
                            m.pop_back();
                        }
                    }
                }
                if step % 97 == 0 {
                    same(&l, &m);
                }
            }
            same(&l, &m);
            let start = m.len() / 3;
            let part: Vec<&[u8]> = l.iter_from(start).take(5).collect();
            let want: Vec<&[u8]> = m.iter().skip(start).take(5).map(|v| v.as_slice()).collect();
            assert_eq!(part, want);
        }
    }

    #[test]
    fn replace_bytes_grows_and_shrinks() {
        let mut d = b"0123456789".to_vec();
        replace_bytes(&mut d, 2, 4, b"abcd");
        assert_eq!(d, b"01abcd456789");
        replace_bytes(&mut d, 1, 7, b"X");
        assert_eq!(d, b"0X56789");
        replace_bytes(&mut d, 0, 0, b"<");
        replace_bytes(&mut d, 8, 8, b">");
        assert_eq!(d, b"<0X56789>");
    }

    #[test]
    fn list_header_is_small() {
        assert_eq!(std::mem::size_of::<List>(), 40);
        let mut l = List::new(-2);
        l.reserve_end(false, &[b"alpha".as_slice(), b"beta", b"gamma"]);
        for e in ["alpha", "beta", "gamma"] {
            l.push_back(e.as_bytes());
        }
        assert_eq!(l.nodes[0].data.capacity(), 7 + 6 + 7);
        assert_eq!(l.node_count(), 1);
        let mut f = List::new(7000);
        assert_eq!(f.fill(), 7000);
        f.push_front(b"x");
        assert_eq!((f.len(), f.fill()), (1, 7000));
        assert_eq!(List::new(-100).fill(), -5);
    }

    #[test]
    fn nodes_respect_the_fill() {
        let mut l = List::new(-2);
        for i in 0..10_000 {
            l.push_back(format!("element-{i}").as_bytes());
        }
        // ~14-byte entries in 8 KiB nodes.
        assert!(
            l.node_count() > 10 && l.node_count() < 30,
            "{}",
            l.node_count()
        );
        for n in &l.nodes {
            assert!(n.data.len() <= 8192);
        }
        let mut c = List::new(5);
        for i in 0..12 {
            c.push_front(format!("{i}").as_bytes());
        }
        assert_eq!(c.node_count(), 3);
        c.check();
    }
}
