//! Streams: an append-only log of entries keyed by `<ms>-<seq>` IDs, with
//! consumer groups.
//!
//! # Representation
//!
//! Redis keeps a radix tree of listpacks: each listpack ("node") holds up to
//! `stream-node-max-entries` entries delta-encoded against the node's first
//! ("master") ID, and entries whose field names equal the node's master
//! fields store only their values. We keep the same node idea with a
//! `BTreeMap<master ID, Node>` and our own packed byte encoding per node:
//!
//! * the B-tree gives the ordered seek a stream needs (XRANGE from an ID,
//!   the tail for XADD, the head for trimming) in O(log nodes), and with
//!   ~100 entries per node the tree itself is a small share of the memory;
//! * inside a node, an entry is varint ms/seq deltas, a flag byte, then
//!   varint-length-prefixed values (and field names only when they differ
//!   from the master fields): a few bytes of overhead per entry, less than a
//!   listpack's per-element encoding byte + back length.
//!
//! Deleted entries are removed from the node's bytes at once (no tombstones
//! to skip), but each node also mirrors the size Redis's listpack would have
//! and its live/deleted counts, because Redis decides where a node ends from
//! those numbers and `~` trimming removes whole nodes only: mirroring them
//! makes `XTRIM ... ~` and `XADD ... MAXLEN ~` remove exactly what Redis
//! removes, so replies and replicated effects agree.

use std::collections::BTreeMap;

/// A stream entry ID.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub const fn new(ms: u64, seq: u64) -> Self {
        StreamId { ms, seq }
    }

    pub fn is_zero(&self) -> bool {
        self.ms == 0 && self.seq == 0
    }

    /// The next ID (None past the maximum).
    pub fn incr(self) -> Option<StreamId> {
        if self.seq == u64::MAX {
            if self.ms == u64::MAX {
                return None;
            }
            return Some(StreamId::new(self.ms + 1, 0));
        }
        Some(StreamId::new(self.ms, self.seq + 1))
    }

    /// The previous ID (None below 0-0).
    pub fn decr(self) -> Option<StreamId> {
        if self.seq == 0 {
            if self.ms == 0 {
                return None;
            }
            return Some(StreamId::new(self.ms - 1, u64::MAX));
        }
        Some(StreamId::new(self.ms, self.seq - 1))
    }

    /// `<ms>-<seq>` as bytes.
    pub fn to_bytes(&self) -> bytes::Bytes {
        bytes::Bytes::from(self.to_string())
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// Where node boundaries fall (Redis's `stream-node-max-bytes` / `-entries`).
#[derive(Clone, Copy, Debug)]
pub struct NodeLimits {
    pub max_bytes: usize,
    pub max_entries: usize,
}

impl Default for NodeLimits {
    fn default() -> Self {
        NodeLimits {
            max_bytes: 4096,
            max_entries: 100,
        }
    }
}

/// Redis's cap on one listpack (STREAM_LISTPACK_MAX_SIZE).
pub const LISTPACK_MAX_SIZE: usize = 1 << 30;

// ---------------------------------------------------------------- varints

fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn get_varint(b: &[u8], pos: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let byte = b[*pos];
        *pos += 1;
        v |= ((byte & 0x7f) as u64) << shift;
        if byte < 0x80 {
            return v;
        }
        shift += 7;
    }
}

fn put_blob(buf: &mut Vec<u8>, s: &[u8]) {
    put_varint(buf, s.len() as u64);
    buf.extend_from_slice(s);
}

fn get_blob<'a>(b: &'a [u8], pos: &mut usize) -> &'a [u8] {
    let n = get_varint(b, pos) as usize;
    let s = &b[*pos..*pos + n];
    *pos += n;
    s
}

/// Bytes one element takes in a Redis listpack (encoding, data, back length).
pub fn lp_elem_size(s: &[u8]) -> usize {
    match crate::util::parse_i64(s) {
        Some(v) => lp_int_size(v),
        None => {
            let n = s.len();
            let l = if n < 64 {
                1 + n
            } else if n < 4096 {
                2 + n
            } else {
                5 + n
            };
            l + crate::persist::rdb::listpack::backlen_size(l)
        }
    }
}

pub fn lp_int_size(v: i64) -> usize {
    let l = if (0..=127).contains(&v) {
        1
    } else if (-4096..=4095).contains(&v) {
        2
    } else if (i16::MIN as i64..=i16::MAX as i64).contains(&v) {
        3
    } else if (-(1i64 << 23)..(1i64 << 23)).contains(&v) {
        4
    } else if (i32::MIN as i64..=i32::MAX as i64).contains(&v) {
        5
    } else {
        9
    };
    l + 1
}

// ---------------------------------------------------------------- nodes

const SAMEFIELDS: u8 = 1;

/// A run of entries sharing one master ID and master field list.
#[derive(Clone, Debug)]
struct Node {
    /// Master field names, then the entries.
    buf: Vec<u8>,
    /// Offset of the first entry in `buf`.
    entries_at: u32,
    master_fields: u32,
    live: u32,
    /// Entries Redis would still hold as tombstones (for the node-full rule).
    deleted: u32,
    /// Redis listpack bytes, not counting the live/deleted count elements.
    lp_base: u32,
    /// The last ID ever appended (Redis reads it from the listpack tail,
    /// deleted or not, to decide MINID whole-node trimming).
    last_added: StreamId,
}

/// One entry decoded from a node: its ID and where its data sits.
#[derive(Clone, Copy, Debug)]
struct Raw {
    id: StreamId,
    /// Offset of the entry's first byte (its ms delta).
    start: usize,
    /// Offset just past the entry.
    end: usize,
    same: bool,
    /// Offset of the first value (or field count when !same).
    data: usize,
}

impl Node {
    fn new(master: StreamId, fields: &[&[u8]]) -> Node {
        let mut buf = Vec::with_capacity(64);
        let mut lp = 6 + 1 + lp_int_size(fields.len() as i64) + lp_int_size(0);
        for f in fields {
            put_blob(&mut buf, f);
            lp += lp_elem_size(f);
        }
        Node {
            entries_at: buf.len() as u32,
            buf,
            master_fields: fields.len() as u32,
            live: 0,
            deleted: 0,
            lp_base: lp as u32,
            last_added: master,
        }
    }

    fn lp_bytes(&self) -> usize {
        self.lp_base as usize + lp_int_size(self.live as i64) + lp_int_size(self.deleted as i64)
    }

    fn master_fields(&self) -> Vec<&[u8]> {
        let mut pos = 0;
        (0..self.master_fields)
            .map(|_| get_blob(&self.buf, &mut pos))
            .collect()
    }

    fn same_fields(&self, pairs: &[&[u8]]) -> bool {
        if pairs.len() / 2 != self.master_fields as usize {
            return false;
        }
        let mut pos = 0;
        pairs
            .chunks(2)
            .all(|p| get_blob(&self.buf, &mut pos) == p[0])
    }

    fn append(&mut self, master: StreamId, id: StreamId, pairs: &[&[u8]]) {
        let same = self.same_fields(pairs);
        let ms_delta = id.ms.wrapping_sub(master.ms);
        let seq_delta = id.seq.wrapping_sub(master.seq);
        put_varint(&mut self.buf, ms_delta);
        put_varint(&mut self.buf, seq_delta);
        self.buf.push(if same { SAMEFIELDS } else { 0 });
        let n = pairs.len() / 2;
        // Mirror Redis's listpack growth: flags, ms-diff, seq-diff, [num-fields,
        // fields], values, lp-count.
        let mut lp = lp_int_size(if same { 2 } else { 0 })
            + lp_int_size(ms_delta as i64)
            + lp_int_size(seq_delta as i64);
        if !same {
            put_varint(&mut self.buf, n as u64);
            lp += lp_int_size(n as i64);
        }
        for p in pairs.chunks(2) {
            if !same {
                put_blob(&mut self.buf, p[0]);
                lp += lp_elem_size(p[0]);
            }
            put_blob(&mut self.buf, p[1]);
            lp += lp_elem_size(p[1]);
        }
        let lp_count = if same { n + 3 } else { 2 * n + 4 };
        lp += lp_int_size(lp_count as i64);
        self.lp_base += lp as u32;
        self.live += 1;
        self.last_added = id;
    }

    /// Decode the entry starting at `pos`.
    fn raw_at(&self, master: StreamId, pos: usize) -> Raw {
        let b = &self.buf;
        let mut p = pos;
        let ms = master.ms.wrapping_add(get_varint(b, &mut p));
        let seq = master.seq.wrapping_add(get_varint(b, &mut p));
        let same = b[p] & SAMEFIELDS != 0;
        p += 1;
        let data = p;
        let n = if same {
            self.master_fields as usize
        } else {
            let n = get_varint(b, &mut p) as usize;
            for _ in 0..n {
                get_blob(b, &mut p);
            }
            n
        };
        for _ in 0..n {
            get_blob(b, &mut p);
        }
        Raw {
            id: StreamId::new(ms, seq),
            start: pos,
            end: p,
            same,
            data,
        }
    }

    fn raws(&self, master: StreamId) -> Vec<Raw> {
        let mut v = Vec::with_capacity(self.live as usize);
        let mut pos = self.entries_at as usize;
        while pos < self.buf.len() {
            let r = self.raw_at(master, pos);
            pos = r.end;
            v.push(r);
        }
        v
    }

    /// The field/value pairs of an entry.
    fn pairs<'a>(&'a self, r: &Raw, out: &mut Vec<(&'a [u8], &'a [u8])>) {
        out.clear();
        let b = &self.buf;
        let mut p = r.data;
        if r.same {
            let mut fp = 0;
            for _ in 0..self.master_fields {
                let f = get_blob(b, &mut fp);
                let v = get_blob(b, &mut p);
                out.push((f, v));
            }
        } else {
            let n = get_varint(b, &mut p);
            for _ in 0..n {
                let f = get_blob(b, &mut p);
                let v = get_blob(b, &mut p);
                out.push((f, v));
            }
        }
    }

    /// Remove the entry at `r` (Redis marks it deleted; the mirrored counts follow).
    fn remove(&mut self, r: &Raw) {
        self.buf.drain(r.start..r.end);
        self.live -= 1;
        self.deleted += 1;
    }

    fn mem_usage(&self) -> usize {
        self.buf.capacity() + std::mem::size_of::<Node>() + 32
    }
}

// ---------------------------------------------------------------- groups

/// A pending (delivered, not yet acknowledged) entry of a group.
#[derive(Clone, Debug)]
pub struct Nack {
    pub delivery_time: u64,
    pub delivery_count: u64,
    pub consumer: Box<[u8]>,
}

#[derive(Clone, Debug, Default)]
pub struct Consumer {
    pub seen_time: u64,
    pub pel: std::collections::BTreeSet<StreamId>,
}

/// The "entries read" counter is unknown (SCG_INVALID_ENTRIES_READ).
pub const INVALID_ENTRIES_READ: i64 = -1;

#[derive(Clone, Debug)]
pub struct Group {
    pub last_id: StreamId,
    pub entries_read: i64,
    pub pel: BTreeMap<StreamId, Nack>,
    /// By name, in byte order (Redis's rax order for XINFO).
    pub consumers: BTreeMap<Box<[u8]>, Consumer>,
}

impl Group {
    pub fn new(last_id: StreamId, entries_read: i64) -> Group {
        Group {
            last_id,
            entries_read,
            pel: BTreeMap::new(),
            consumers: BTreeMap::new(),
        }
    }

    /// Create the consumer if missing; true when it was created.
    pub fn create_consumer(&mut self, name: &[u8], now: u64) -> bool {
        if self.consumers.contains_key(name) {
            return false;
        }
        self.consumers.insert(
            name.into(),
            Consumer {
                seen_time: now,
                pel: Default::default(),
            },
        );
        true
    }

    /// Delete a consumer and its pending entries; returns how many it had.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let c = self.consumers.remove(name)?;
        for id in &c.pel {
            self.pel.remove(id);
        }
        Some(c.pel.len())
    }

    /// Acknowledge one entry; true when it was pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        let Some(n) = self.pel.remove(&id) else {
            return false;
        };
        if let Some(c) = self.consumers.get_mut(&n.consumer) {
            c.pel.remove(&id);
        }
        true
    }

    /// Give a pending entry (existing or new) to `consumer` (which must exist).
    pub fn assign(&mut self, id: StreamId, consumer: &[u8], time: u64, count: u64) {
        if let Some(old) = self.pel.get(&id) {
            if &*old.consumer != consumer {
                if let Some(c) = self.consumers.get_mut(&old.consumer) {
                    c.pel.remove(&id);
                }
            }
        }
        self.pel.insert(
            id,
            Nack {
                delivery_time: time,
                delivery_count: count,
                consumer: consumer.into(),
            },
        );
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pel.insert(id);
        }
    }

    fn mem_usage(&self) -> usize {
        128 + self.pel.len() * 80 + self.consumers.len() * 96
    }
}

// ---------------------------------------------------------------- stream

#[derive(Clone, Debug, Default)]
pub struct Stream {
    nodes: BTreeMap<StreamId, Node>,
    length: u64,
    pub last_id: StreamId,
    pub first_id: StreamId,
    pub max_deleted_id: StreamId,
    pub entries_added: u64,
    /// By name, in byte order (XINFO GROUPS lists them so).
    pub groups: BTreeMap<Box<[u8]>, Group>,
}

/// How XADD/XTRIM trim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trim {
    MaxLen(u64),
    MinId(StreamId),
}

impl Stream {
    pub fn new() -> Self {
        Stream::default()
    }

    pub fn len(&self) -> u64 {
        self.length
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Number of nodes (XINFO's radix-tree-keys).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Append an entry with `id` (already checked to be > last_id).
    /// `pairs` is field, value, field, value...
    pub fn append(&mut self, id: StreamId, pairs: &[&[u8]], lim: NodeLimits) {
        let totelelen: usize = pairs.iter().map(|s| s.len()).sum();
        let max_bytes = if lim.max_bytes == 0 || lim.max_bytes > LISTPACK_MAX_SIZE {
            LISTPACK_MAX_SIZE
        } else {
            lim.max_bytes
        };
        let need_new = match self.nodes.last_key_value() {
            None => true,
            Some((_, n)) => {
                n.lp_bytes() + totelelen >= max_bytes
                    || (lim.max_entries > 0 && (n.live + n.deleted) as usize >= lim.max_entries)
            }
        };
        if need_new {
            // The old tail is full now: give its growth slack back.
            if let Some(mut tail) = self.nodes.last_entry() {
                tail.get_mut().buf.shrink_to_fit();
            }
            let fields: Vec<&[u8]> = pairs.chunks(2).map(|p| p[0]).collect();
            self.nodes.insert(id, Node::new(id, &fields));
        }
        let (master, node) = self.nodes.iter_mut().next_back().expect("a node");
        node.append(*master, id, pairs);
        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
        if self.length == 1 {
            self.first_id = id;
        }
    }

    /// Visit entries with start <= id <= end, ascending (or descending with
    /// `rev`); `f` returns false to stop.
    pub fn range(
        &self,
        start: StreamId,
        end: StreamId,
        rev: bool,
        mut f: impl FnMut(StreamId, &[(&[u8], &[u8])]) -> bool,
    ) {
        if start > end {
            return;
        }
        let mut pairs = Vec::new();
        // The node holding `start` may begin before it.
        let first_key = self
            .nodes
            .range(..=start)
            .next_back()
            .map(|(k, _)| *k)
            .unwrap_or(start);
        let iter = self.nodes.range(first_key..=end);
        if !rev {
            for (master, node) in iter {
                let mut pos = node.entries_at as usize;
                while pos < node.buf.len() {
                    let r = node.raw_at(*master, pos);
                    pos = r.end;
                    if r.id < start {
                        continue;
                    }
                    if r.id > end {
                        return;
                    }
                    node.pairs(&r, &mut pairs);
                    if !f(r.id, &pairs) {
                        return;
                    }
                }
            }
        } else {
            for (master, node) in iter.rev() {
                for r in node.raws(*master).iter().rev() {
                    if r.id > end {
                        continue;
                    }
                    if r.id < start {
                        return;
                    }
                    node.pairs(r, &mut pairs);
                    if !f(r.id, &pairs) {
                        return;
                    }
                }
            }
        }
    }

    /// The fields of one entry, if it exists.
    pub fn get(&self, id: StreamId) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut found = None;
        self.range(id, id, false, |_, p| {
            found = Some(p.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect());
            false
        });
        found
    }

    pub fn contains(&self, id: StreamId) -> bool {
        let mut found = false;
        self.range(id, id, false, |_, _| {
            found = true;
            false
        });
        found
    }

    /// First (or last) live entry ID.
    pub fn edge_id(&self, first: bool) -> Option<StreamId> {
        let mut out = None;
        if first {
            self.range(StreamId::MIN, StreamId::MAX, false, |id, _| {
                out = Some(id);
                false
            });
        } else {
            self.range(StreamId::MIN, StreamId::MAX, true, |id, _| {
                out = Some(id);
                false
            });
        }
        out
    }

    /// Delete one entry; true when it existed.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some((&master, node)) = self.nodes.range_mut(..=id).next_back() else {
            return false;
        };
        let mut pos = node.entries_at as usize;
        while pos < node.buf.len() {
            let r = node.raw_at(master, pos);
            if r.id == id {
                node.remove(&r);
                if node.live == 0 {
                    self.nodes.remove(&master);
                }
                self.length -= 1;
                return true;
            }
            if r.id > id {
                break;
            }
            pos = r.end;
        }
        false
    }

    /// XDEL: delete entries and keep first_id / max_deleted_id as Redis does.
    pub fn xdel(&mut self, ids: &[StreamId]) -> u64 {
        let mut deleted = 0;
        let mut first_entry = false;
        for &id in ids {
            if self.delete(id) {
                if id == self.first_id {
                    first_entry = true;
                }
                if id > self.max_deleted_id {
                    self.max_deleted_id = id;
                }
                deleted += 1;
            }
        }
        if deleted > 0 {
            if self.length == 0 {
                self.first_id = StreamId::MIN;
            } else if first_entry {
                self.first_id = self.edge_id(true).unwrap_or_default();
            }
        }
        deleted
    }

    /// Trim as Redis's streamTrim: whole nodes first; with `approx` stop at
    /// the first node that cannot go entirely; `limit` (0 = none) bounds the
    /// entries removed by whole nodes. Returns how many entries went.
    pub fn trim(&mut self, how: Trim, approx: bool, limit: u64) -> u64 {
        let mut deleted = 0u64;
        while let Some((&master, node)) = self.nodes.first_key_value() {
            if let Trim::MaxLen(max) = how {
                if self.length <= max {
                    break;
                }
            }
            let entries = node.live as u64;
            if limit > 0 && deleted + entries > limit {
                break;
            }
            let remove_node = match how {
                Trim::MaxLen(max) => self.length - entries >= max,
                Trim::MinId(min) => node.last_added < min,
            };
            if remove_node {
                self.nodes.remove(&master);
                self.length -= entries;
                deleted += entries;
                continue;
            }
            if approx {
                break;
            }
            let node = self.nodes.get_mut(&master).expect("node");
            loop {
                let pos = node.entries_at as usize;
                if pos >= node.buf.len() {
                    break;
                }
                let r = node.raw_at(master, pos);
                let stop = match how {
                    Trim::MaxLen(max) => self.length <= max,
                    Trim::MinId(min) => r.id >= min,
                };
                if stop {
                    break;
                }
                node.remove(&r);
                self.length -= 1;
                deleted += 1;
            }
            break;
        }
        if self.length == 0 {
            self.first_id = StreamId::MIN;
        } else {
            self.first_id = self.edge_id(true).unwrap_or_default();
        }
        deleted
    }

    /// True when a tombstone may lie in [start, end] (streamRangeHasTombstones).
    pub fn range_has_tombstones(&self, start: Option<StreamId>, end: Option<StreamId>) -> bool {
        if self.length == 0 || self.max_deleted_id.is_zero() {
            return false;
        }
        if self.first_id > self.max_deleted_id {
            return false;
        }
        let s = start.unwrap_or(StreamId::MIN);
        let e = end.unwrap_or(StreamId::MAX);
        s <= self.max_deleted_id && self.max_deleted_id <= e
    }

    /// An ID's logical read counter, when it can be known
    /// (streamEstimateDistanceFromFirstEverEntry).
    pub fn estimate_distance(&self, id: StreamId) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.length == 0 && id <= self.last_id {
            return Some(self.entries_added);
        }
        match id.cmp(&self.last_id) {
            std::cmp::Ordering::Equal => return Some(self.entries_added),
            std::cmp::Ordering::Greater => return None,
            _ => {}
        }
        if self.max_deleted_id.is_zero() || self.max_deleted_id < self.first_id {
            match id.cmp(&self.first_id) {
                std::cmp::Ordering::Less => return Some(self.entries_added - self.length),
                std::cmp::Ordering::Equal => return Some(self.entries_added - self.length + 1),
                _ => {}
            }
        }
        None
    }

    /// A group's lag (None when it cannot be computed).
    pub fn group_lag(&self, g: &Group) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if g.entries_read != INVALID_ENTRIES_READ
            && !self.range_has_tombstones(Some(g.last_id), None)
        {
            return Some(self.entries_added.wrapping_sub(g.entries_read as u64));
        }
        self.estimate_distance(g.last_id)
            .map(|r| self.entries_added.wrapping_sub(r))
    }

    /// Update a group after delivering `id` to it as a new entry.
    pub fn advance_group(&mut self, group: &[u8], id: StreamId) {
        let tomb = self.range_has_tombstones(Some(id), None);
        let est = if self.entries_added > 0 {
            self.estimate_distance(id)
        } else {
            None
        };
        let added = self.entries_added;
        let Some(g) = self.groups.get_mut(group) else {
            return;
        };
        if id > g.last_id {
            if g.entries_read != INVALID_ENTRIES_READ && !tomb {
                g.entries_read += 1;
            } else if added > 0 {
                g.entries_read = est.map(|v| v as i64).unwrap_or(INVALID_ENTRIES_READ);
            }
            g.last_id = id;
        }
    }

    /// Rebuild a node read from an RDB file: its master ID and fields, its
    /// live entries (flat field/value lists), Redis's deleted count and
    /// listpack size (so node boundaries stay as the writer had them).
    /// The caller sets length, IDs and counters afterwards.
    pub fn load_node(
        &mut self,
        master: StreamId,
        fields: &[&[u8]],
        entries: &[(StreamId, Vec<&[u8]>)],
        deleted: u32,
        lp_bytes: usize,
        last_in_lp: StreamId,
    ) {
        let mut node = Node::new(master, fields);
        for (id, pairs) in entries {
            node.append(master, *id, pairs);
        }
        node.deleted = deleted;
        let counts = lp_int_size(node.live as i64) + lp_int_size(deleted as i64);
        node.lp_base = lp_bytes.saturating_sub(counts).max(node.lp_base as usize) as u32;
        node.last_added = last_in_lp;
        self.length += node.live as u64;
        if node.live > 0 {
            self.nodes.insert(master, node);
        }
    }

    /// Set the counters read from an RDB file (after `load_node`).
    pub fn set_loaded_meta(
        &mut self,
        last_id: StreamId,
        first_id: StreamId,
        max_deleted: StreamId,
        entries_added: u64,
    ) {
        self.last_id = last_id;
        self.first_id = first_id;
        self.max_deleted_id = max_deleted;
        self.entries_added = entries_added;
    }

    pub fn mem_usage(&self) -> usize {
        64 + self.nodes.values().map(|n| n.mem_usage()).sum::<usize>()
            + self.groups.values().map(|g| g.mem_usage()).sum::<usize>()
    }

    /// Entries (for RDB writing): node by node, each with its master ID,
    /// master fields, and the live entries in order.
    pub fn for_each_node(
        &self,
        mut f: impl FnMut(StreamId, &[&[u8]], &mut dyn Iterator<Item = (StreamId, Vec<(&[u8], &[u8])>)>),
    ) {
        for (master, node) in &self.nodes {
            let fields = node.master_fields();
            let raws = node.raws(*master);
            let mut it = raws.iter().map(|r| {
                let mut p = Vec::new();
                node.pairs(r, &mut p);
                (r.id, p)
            });
            f(*master, &fields, &mut it);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(s: &mut Stream, ms: u64, kv: &[&str]) {
        let p: Vec<&[u8]> = kv.iter().map(|x| x.as_bytes()).collect();
        s.append(StreamId::new(ms, 0), &p, NodeLimits::default());
    }

    fn ids(s: &Stream, rev: bool) -> Vec<u64> {
        let mut v = Vec::new();
        s.range(StreamId::MIN, StreamId::MAX, rev, |id, _| {
            v.push(id.ms);
            true
        });
        v
    }

    #[test]
    fn append_range_delete_trim() {
        let mut s = Stream::new();
        for i in 1..=250 {
            if i % 3 == 0 {
                add(&mut s, i, &["other", &i.to_string()]);
            } else {
                add(&mut s, i, &["f", &i.to_string(), "g", "x"]);
            }
        }
        assert_eq!(s.len(), 250);
        assert_eq!(s.node_count(), 3, "100 entries per node as in Redis");
        assert_eq!(ids(&s, false), (1..=250).collect::<Vec<_>>());
        assert_eq!(ids(&s, true), (1..=250).rev().collect::<Vec<_>>());
        assert_eq!(
            s.get(StreamId::new(3, 0)).unwrap(),
            vec![(b"other".to_vec(), b"3".to_vec())]
        );
        assert_eq!(s.get(StreamId::new(4, 0)).unwrap().len(), 2);
        assert_eq!(s.xdel(&[StreamId::new(1, 0), StreamId::new(7, 0)]), 2);
        assert_eq!(s.first_id, StreamId::new(2, 0));
        assert_eq!(s.max_deleted_id, StreamId::new(7, 0));
        assert!(!s.contains(StreamId::new(7, 0)));
        // ~ trimming removes whole nodes only: the first holds 98 live entries.
        assert_eq!(s.trim(Trim::MaxLen(100), true, 0), 98);
        assert_eq!(s.len(), 150);
        assert_eq!(s.trim(Trim::MaxLen(100), false, 0), 50);
        assert_eq!(ids(&s, false), (151..=250).collect::<Vec<_>>());
        assert_eq!(s.trim(Trim::MinId(StreamId::new(240, 0)), false, 0), 89);
        assert_eq!(s.first_id, StreamId::new(240, 0));
    }
}
