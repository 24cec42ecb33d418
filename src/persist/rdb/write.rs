//! Writing RDB files: the header and aux fields, key records, EOF and CRC.
//!
//! Encodings written (all loaded by Redis 7.0, checked by `redis-check-rdb`
//! and a real server in tests/it/rdb_interop.rs): strings as type 0 (int
//! encoded or LZF compressed like Redis), lists as quicklist 2 (type 18,
//! listpack nodes of at most 8 KiB), intset sets as type 11 and hashtable sets
//! as type 2, listpack hashes as type 16 and hashtable ones as type 4,
//! listpack zsets as type 17 and skiplist ones as type 5.

use super::*;
use crate::store::set::Set;
use crate::store::stream::Stream;
use crate::store::Value;
use std::io::{self, Write};

/// Quicklist nodes we write hold at most this many listpack bytes (Redis's
/// default `list-max-listpack-size -2`).
const LIST_NODE_BYTES: usize = 8192;
/// Elements this large go into a PLAIN quicklist node of their own.
const PLAIN_THRESHOLD: usize = 1 << 30;

pub(crate) fn put_len(buf: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        buf.push((LEN_6BIT << 6) | n as u8);
    } else if n < 1 << 14 {
        buf.push((LEN_14BIT << 6) | (n >> 8) as u8);
        buf.push(n as u8);
    } else if n <= u32::MAX as u64 {
        buf.push(LEN_32BIT);
        buf.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        buf.push(LEN_64BIT);
        buf.extend_from_slice(&n.to_be_bytes());
    }
}

/// The int encoding Redis uses for strings that are canonical integers
/// fitting 32 bits.
fn put_int_encoded(buf: &mut Vec<u8>, s: &[u8]) -> bool {
    if s.is_empty() || s.len() > 11 {
        return false;
    }
    let Some(v) = crate::util::parse_i64(s) else {
        return false;
    };
    let enc = LEN_ENCVAL << 6;
    if (i8::MIN as i64..=i8::MAX as i64).contains(&v) {
        buf.push(enc | ENC_INT8);
        buf.push(v as i8 as u8);
    } else if (i16::MIN as i64..=i16::MAX as i64).contains(&v) {
        buf.push(enc | ENC_INT16);
        buf.extend_from_slice(&(v as i16).to_le_bytes());
    } else if (i32::MIN as i64..=i32::MAX as i64).contains(&v) {
        buf.push(enc | ENC_INT32);
        buf.extend_from_slice(&(v as i32).to_le_bytes());
    } else {
        return false;
    }
    true
}

/// A string as Redis writes it: int encoded when possible, LZF compressed
/// when longer than 20 bytes and that saves at least 5 bytes, else raw.
pub fn put_string(buf: &mut Vec<u8>, s: &[u8], compress: bool) {
    if put_int_encoded(buf, s) {
        return;
    }
    if compress && s.len() > 20 {
        if let Some(z) = lzf::compress(s, s.len() - 4) {
            buf.push((LEN_ENCVAL << 6) | ENC_LZF);
            put_len(buf, z.len() as u64);
            put_len(buf, s.len() as u64);
            buf.extend_from_slice(&z);
            return;
        }
    }
    put_len(buf, s.len() as u64);
    buf.extend_from_slice(s);
}

/// A zset score as Redis stores it in a listpack: integral values in
/// (-2^52, 2^52) as integers, others in `%.17g`.
fn score_text(d: f64) -> String {
    if d > -4503599627370495.0 && d < 4503599627370496.0 && d == (d as i64) as f64 {
        itoa::Buffer::new().format(d as i64).to_string()
    } else {
        crate::util::fmt_double(d)
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Str(_) => false,
        Value::List(l) => l.is_empty(),
        Value::Hash(h) => h.is_empty(),
        Value::Set(s) => s.is_empty(),
        Value::ZSet(z) => z.is_empty(),
        // An empty stream is a value of its own (its groups and IDs live on).
        Value::Stream(_) => false,
    }
}

/// Bytes of one key record: optional EXPIRETIME_MS (when expire_ms != 0),
/// type byte, key, value. An empty collection produces nothing (Redis
/// would skip it on load anyway).
pub fn encode_entry(buf: &mut Vec<u8>, key: &[u8], value: &Value, expire_ms: u64) {
    encode_entry_with(buf, key, value, expire_ms, true)
}

/// [`encode_entry`] with LZF compression of long strings on or off
/// (`rdbcompression`).
pub fn encode_entry_with(
    buf: &mut Vec<u8>,
    key: &[u8],
    value: &Value,
    expire_ms: u64,
    compress: bool,
) {
    if is_empty(value) {
        return;
    }
    if expire_ms != 0 {
        buf.push(OP_EXPIRETIME_MS);
        buf.extend_from_slice(&expire_ms.to_le_bytes());
    }
    match value {
        Value::Str(s) => {
            buf.push(T_STRING);
            put_string(buf, key, compress);
            put_string(buf, s.as_bytes(), compress);
        }
        Value::List(l) => {
            buf.push(T_LIST_QUICKLIST_2);
            put_string(buf, key, compress);
            // Nodes: group elements into listpacks of at most LIST_NODE_BYTES.
            let mut nodes: Vec<(u64, Vec<u8>)> = Vec::new();
            let mut cur = listpack::Builder::new();
            for e in l.iter() {
                if e.len() >= PLAIN_THRESHOLD {
                    if cur.count() > 0 {
                        nodes.push((2, std::mem::take(&mut cur).finish()));
                    }
                    nodes.push((1, e.to_vec()));
                    continue;
                }
                if cur.count() > 0 && cur.len_bytes() + e.len() + 11 > LIST_NODE_BYTES {
                    nodes.push((2, std::mem::take(&mut cur).finish()));
                }
                cur.push(e);
            }
            if cur.count() > 0 {
                nodes.push((2, cur.finish()));
            }
            put_len(buf, nodes.len() as u64);
            for (container, data) in nodes {
                put_len(buf, container);
                put_string(buf, &data, compress);
            }
        }
        Value::Set(s) => match &**s {
            Set::Ints(v) => {
                buf.push(T_SET_INTSET);
                put_string(buf, key, compress);
                put_string(buf, &intset::encode(v), compress);
            }
            Set::Table(_) => {
                buf.push(T_SET);
                put_string(buf, key, compress);
                put_len(buf, s.len() as u64);
                for m in s.iter() {
                    m.with_bytes(|b| put_string(buf, b, compress));
                }
            }
        },
        Value::Hash(h) => {
            if h.encoding() == "listpack" {
                buf.push(T_HASH_LISTPACK);
                put_string(buf, key, compress);
                let mut lp = listpack::Builder::new();
                for (f, v) in h.iter() {
                    lp.push(f);
                    lp.push(v);
                }
                put_string(buf, &lp.finish(), compress);
            } else {
                buf.push(T_HASH);
                put_string(buf, key, compress);
                put_len(buf, h.len() as u64);
                for (f, v) in h.iter() {
                    put_string(buf, f, compress);
                    put_string(buf, v, compress);
                }
            }
        }
        Value::Stream(x) => {
            buf.push(T_STREAM_LISTPACKS_2);
            put_string(buf, key, compress);
            put_stream(buf, x, compress);
        }
        Value::ZSet(z) => {
            if z.is_pack() {
                buf.push(T_ZSET_LISTPACK);
                put_string(buf, key, compress);
                let mut lp = listpack::Builder::new();
                z.for_each(|m, s| {
                    lp.push(m);
                    lp.push(score_text(s).as_bytes());
                });
                put_string(buf, &lp.finish(), compress);
            } else {
                buf.push(T_ZSET_2);
                put_string(buf, key, compress);
                put_len(buf, z.len() as u64);
                // Redis writes skiplists from the tail, so loading inserts at the head cheaply;
                // any order loads correctly.
                z.for_each(|m, s| {
                    put_string(buf, m, compress);
                    buf.extend_from_slice(&s.to_le_bytes());
                });
            }
        }
    }
}

/// A stream as RDB_TYPE_STREAM_LISTPACKS_2 (Redis 7.0): the nodes as
/// listpacks keyed by their 128-bit big-endian master ID, the counters, then
/// the consumer groups with their PELs and consumers.
fn put_stream(buf: &mut Vec<u8>, s: &Stream, compress: bool) {
    put_len(buf, s.node_count() as u64);
    s.for_each_node(|master, fields, entries| {
        let mut key = [0u8; 16];
        key[..8].copy_from_slice(&master.ms.to_be_bytes());
        key[8..].copy_from_slice(&master.seq.to_be_bytes());
        put_string(buf, &key, false);
        let entries: Vec<_> = entries.collect();
        let mut lp = listpack::Builder::new();
        lp.push_int(entries.len() as i64);
        lp.push_int(0);
        lp.push_int(fields.len() as i64);
        for f in fields {
            lp.push(f);
        }
        lp.push_int(0);
        for (id, pairs) in &entries {
            let same = pairs.len() == fields.len()
                && pairs.iter().zip(fields.iter()).all(|((f, _), m)| f == m);
            lp.push_int(if same { 2 } else { 0 });
            lp.push_int(id.ms.wrapping_sub(master.ms) as i64);
            lp.push_int(id.seq.wrapping_sub(master.seq) as i64);
            if !same {
                lp.push_int(pairs.len() as i64);
            }
            for (f, v) in pairs {
                if !same {
                    lp.push(f);
                }
                lp.push(v);
            }
            let n = pairs.len() as i64;
            lp.push_int(if same { n + 3 } else { 2 * n + 4 });
        }
        put_string(buf, &lp.finish(), compress);
    });
    put_len(buf, s.len());
    put_len(buf, s.last_id.ms);
    put_len(buf, s.last_id.seq);
    put_len(buf, s.first_id.ms);
    put_len(buf, s.first_id.seq);
    put_len(buf, s.max_deleted_id.ms);
    put_len(buf, s.max_deleted_id.seq);
    put_len(buf, s.entries_added);
    put_len(buf, s.groups.len() as u64);
    for (name, g) in &s.groups {
        put_string(buf, name, false);
        put_len(buf, g.last_id.ms);
        put_len(buf, g.last_id.seq);
        put_len(buf, g.entries_read as u64);
        put_len(buf, g.pel.len() as u64);
        for (id, n) in &g.pel {
            buf.extend_from_slice(&id.ms.to_be_bytes());
            buf.extend_from_slice(&id.seq.to_be_bytes());
            buf.extend_from_slice(&n.delivery_time.to_le_bytes());
            put_len(buf, n.delivery_count);
        }
        put_len(buf, g.consumers.len() as u64);
        for (cname, c) in &g.consumers {
            put_string(buf, cname, false);
            buf.extend_from_slice(&c.seen_time.to_le_bytes());
            put_len(buf, c.pel.len() as u64);
            for id in &c.pel {
                buf.extend_from_slice(&id.ms.to_be_bytes());
                buf.extend_from_slice(&id.seq.to_be_bytes());
            }
        }
    }
}

/// Writes one RDB file, keeping a running CRC64 of everything written.
pub struct RdbWriter<W: Write> {
    w: W,
    crc: u64,
    scratch: Vec<u8>,
    compress: bool,
    written: u64,
}

impl<W: Write> RdbWriter<W> {
    /// Writes "REDIS0010" and AUX fields: redis-ver 7.0.15, redis-bits 64,
    /// ctime, used-mem, then each extra aux given (e.g. repl-stream-db,
    /// repl-id, repl-offset, aof-base). Integer-looking values are int
    /// encoded as Redis does. An extra aux named like a default one
    /// (e.g. "used-mem") replaces the default.
    pub fn new(w: W, extra_aux: &[(&str, String)]) -> io::Result<Self> {
        let mut me = RdbWriter {
            w,
            crc: 0,
            scratch: Vec::with_capacity(1 << 16),
            compress: true,
            written: 0,
        };
        me.put(format!("REDIS{RDB_VERSION:04}").as_bytes())?;
        let ctime = (crate::util::now_ms() / 1000).to_string();
        let defaults: [(&str, String); 4] = [
            ("redis-ver", crate::REDIS_VERSION.to_string()),
            ("redis-bits", "64".to_string()),
            ("ctime", ctime),
            ("used-mem", "0".to_string()),
        ];
        for (k, v) in defaults.iter() {
            if !extra_aux.iter().any(|(ek, _)| ek == k) {
                me.aux(k, v.as_bytes())?;
            }
        }
        for (k, v) in extra_aux {
            me.aux(k, v.as_bytes())?;
        }
        Ok(me)
    }

    /// Turn LZF compression of long strings on or off (default on, like
    /// Redis's `rdbcompression yes`).
    pub fn set_compression(&mut self, on: bool) {
        self.compress = on;
    }

    /// Bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    fn put(&mut self, b: &[u8]) -> io::Result<()> {
        self.crc = crc64::update(self.crc, b);
        self.written += b.len() as u64;
        self.w.write_all(b)
    }

    fn flush_scratch(&mut self) -> io::Result<()> {
        let s = std::mem::take(&mut self.scratch);
        let r = self.put(&s);
        self.scratch = s;
        self.scratch.clear();
        r
    }

    /// One AUX field.
    pub fn aux(&mut self, key: &str, value: &[u8]) -> io::Result<()> {
        self.scratch.clear();
        self.scratch.push(OP_AUX);
        put_string(&mut self.scratch, key.as_bytes(), false);
        put_string(&mut self.scratch, value, false);
        self.flush_scratch()
    }

    /// One function library (RDB_OPCODE_FUNCTION2 + its code), written
    /// after the aux fields as Redis 7.0 does.
    pub fn function(&mut self, code: &[u8]) -> io::Result<()> {
        self.scratch.clear();
        self.scratch.push(super::OP_FUNCTION2);
        put_string(&mut self.scratch, code, self.compress);
        self.flush_scratch()
    }

    /// SELECTDB + RESIZEDB.
    pub fn select_db(&mut self, db: usize, keys: u64, expires: u64) -> io::Result<()> {
        self.scratch.clear();
        self.scratch.push(OP_SELECTDB);
        put_len(&mut self.scratch, db as u64);
        self.scratch.push(OP_RESIZEDB);
        put_len(&mut self.scratch, keys);
        put_len(&mut self.scratch, expires);
        self.flush_scratch()
    }

    /// One key record (nothing for an empty collection).
    pub fn entry(&mut self, key: &[u8], value: &Value, expire_ms: u64) -> io::Result<()> {
        self.scratch.clear();
        let mut s = std::mem::take(&mut self.scratch);
        encode_entry_with(&mut s, key, value, expire_ms, self.compress);
        self.scratch = s;
        self.flush_scratch()
    }

    /// Append bytes already produced by encode_entry (snapshots pre-encode some records).
    pub fn raw(&mut self, record: &[u8]) -> io::Result<()> {
        self.put(record)
    }

    /// 0xFF + CRC64 LE; flushes and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.put(&[OP_EOF])?;
        let crc = self.crc.to_le_bytes();
        self.w.write_all(&crc)?;
        self.written += 8;
        self.w.flush()?;
        Ok(self.w)
    }
}
