//! Loading RDB files (versions 1..=10) into fresh databases.

use super::listpack::Elem;
use super::*;
use crate::store::hash::Hash;
use crate::store::list::List;
use crate::store::set::{Member, Set, Table};
use crate::store::stream::{Group, Stream, StreamId, INVALID_ENTRIES_READ};
use crate::store::zset::ZSet;
use crate::store::{Db, EncodingLimits, SmallBytes, Value};
use std::io::{BufRead, BufReader, Read};

/// What `load` needs to know.
#[derive(Debug, Clone)]
pub struct LoadOpts {
    /// Number of databases; a SELECTDB beyond it fails the load.
    pub databases: usize,
    /// "Now" for deciding which keys are already expired (Unix ms).
    pub now_ms: u64,
    /// Drop keys whose TTL is already in the past (a master loading from
    /// disk); a replica keeps them (its master will send DELs).
    pub drop_expired: bool,
    /// Compact-encoding limits the loaded values follow.
    pub limits: EncodingLimits,
    /// `key-load-delay`: microseconds to sleep after each key loaded (> 0
    /// only; Redis's test hook for observing a load in progress).
    pub key_load_delay_us: i64,
}

impl LoadOpts {
    /// Options for loading into this server now (its databases and encoding limits).
    pub fn from_config(c: &crate::config::Config, drop_expired: bool) -> LoadOpts {
        LoadOpts {
            databases: c.databases as usize,
            now_ms: crate::util::now_ms(),
            drop_expired,
            limits: EncodingLimits::from_config(c),
            key_load_delay_us: c.key_load_delay,
        }
    }
}

/// The result of a successful load.
pub struct Loaded {
    pub dbs: Vec<Db>,
    /// Keys loaded (all databases).
    pub keys: u64,
    /// Keys dropped because they were already expired.
    pub expired_skipped: u64,
    /// AUX fields in file order (integer-encoded values in decimal).
    pub aux: Vec<(String, Vec<u8>)>,
    /// Function libraries' code (opcode FUNCTION2), in file order.
    pub functions: Vec<Vec<u8>>,
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaded")
            .field("dbs", &self.dbs.len())
            .field("keys", &self.keys)
            .field("expired_skipped", &self.expired_skipped)
            .field("aux", &self.aux)
            .finish()
    }
}

/// Largest capacity we pre-allocate from a length read in the file (a
/// corrupt length must not make us allocate gigabytes up front).
const MAX_PREALLOC: usize = 1 << 16;

struct Rd<R: Read> {
    r: R,
    pos: u64,
    crc: u64,
}

impl<R: Read> Rd<R> {
    fn eof_err(&self) -> RdbError {
        RdbError::new(format!(
            "unexpected end of file at byte {} (truncated?)",
            self.pos
        ))
    }

    fn fill(&mut self, buf: &mut [u8]) -> Result<(), RdbError> {
        match self.r.read_exact(buf) {
            Ok(()) => {
                self.crc = crc64::update(self.crc, buf);
                self.pos += buf.len() as u64;
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(self.eof_err()),
            Err(e) => Err(e.into()),
        }
    }

    fn u8(&mut self) -> Result<u8, RdbError> {
        let mut b = [0u8; 1];
        self.fill(&mut b)?;
        Ok(b[0])
    }

    fn arr<const N: usize>(&mut self) -> Result<[u8; N], RdbError> {
        let mut b = [0u8; N];
        self.fill(&mut b)?;
        Ok(b)
    }

    fn bytes(&mut self, n: u64) -> Result<Vec<u8>, RdbError> {
        let mut v = Vec::with_capacity((n as usize).min(1 << 20));
        let got = (&mut self.r).take(n).read_to_end(&mut v)?;
        self.crc = crc64::update(self.crc, &v);
        self.pos += got as u64;
        if (got as u64) < n {
            return Err(self.eof_err());
        }
        Ok(v)
    }

    /// A length, or (value, true) for a special string encoding.
    fn len_or_enc(&mut self) -> Result<(u64, bool), RdbError> {
        let at = self.pos;
        let b = self.u8()?;
        Ok(match b >> 6 {
            0 => ((b & 0x3f) as u64, false),
            1 => {
                let lo = self.u8()? as u64;
                ((((b & 0x3f) as u64) << 8) | lo, false)
            }
            3 => ((b & 0x3f) as u64, true),
            _ => match b {
                LEN_32BIT => (u32::from_be_bytes(self.arr()?) as u64, false),
                LEN_64BIT => (u64::from_be_bytes(self.arr()?), false),
                _ => {
                    return Err(RdbError::new(format!(
                        "invalid length encoding 0x{b:02x} at byte {at}"
                    )))
                }
            },
        })
    }

    fn len(&mut self) -> Result<u64, RdbError> {
        let at = self.pos;
        match self.len_or_enc()? {
            (n, false) => Ok(n),
            (e, true) => Err(RdbError::new(format!(
                "expected a length but found string encoding {e} at byte {at}"
            ))),
        }
    }

    fn string(&mut self) -> Result<Vec<u8>, RdbError> {
        let at = self.pos;
        let (n, enc) = self.len_or_enc()?;
        if !enc {
            return self.bytes(n);
        }
        let int = match n as u8 {
            ENC_INT8 => self.u8()? as i8 as i64,
            ENC_INT16 => i16::from_le_bytes(self.arr()?) as i64,
            ENC_INT32 => i32::from_le_bytes(self.arr()?) as i64,
            ENC_LZF => {
                let clen = self.len()?;
                let ulen = self.len()?;
                // One compressed byte never expands to more than 88 bytes.
                if ulen > clen.saturating_mul(88) + 88 {
                    return Err(RdbError::new(format!(
                        "LZF string at byte {at} claims {ulen} bytes from {clen} compressed (corrupt length)"
                    )));
                }
                let data = self.bytes(clen)?;
                return lzf::decompress(&data, ulen as usize).ok_or_else(|| {
                    RdbError::new(format!("corrupt LZF-compressed string at byte {at}"))
                });
            }
            other => {
                return Err(RdbError::new(format!(
                    "unknown string encoding {other} at byte {at}"
                )))
            }
        };
        Ok(itoa::Buffer::new().format(int).as_bytes().to_vec())
    }

    /// The old ASCII double (type 3 zsets): 1-byte length or 253/254/255.
    fn ascii_double(&mut self) -> Result<f64, RdbError> {
        let at = self.pos;
        let n = self.u8()?;
        match n {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            _ => {
                let b = self.bytes(n as u64)?;
                std::str::from_utf8(&b)
                    .ok()
                    .and_then(|s| s.trim().parse::<f64>().ok())
                    .ok_or_else(|| RdbError::new(format!("invalid double value at byte {at}")))
            }
        }
    }
}

fn type_name(t: u8) -> &'static str {
    match t {
        T_MODULE | T_MODULE_2 => "module",
        T_STREAM_LISTPACKS | T_STREAM_LISTPACKS_2 | 21 => "stream",
        _ => "unknown",
    }
}

/// Builds one value through the store's APIs, so encodings follow the limits.
struct Build<'a> {
    limits: &'a EncodingLimits,
    key: &'a [u8],
    at: u64,
}

impl Build<'_> {
    fn err(&self, what: &str) -> RdbError {
        RdbError::new(format!(
            "{what} in the value of key '{}' (record at byte {})",
            show_key(self.key),
            self.at
        ))
    }

    fn blob_err(&self, kind: &str, reason: String) -> RdbError {
        self.err(&format!("corrupt {kind} ({reason})"))
    }

    fn list(&self) -> List {
        List::new(self.limits.list_max_listpack_size)
    }

    fn new_hash(&self, n: usize) -> Hash {
        let mut h = Hash::new();
        if n > self.limits.hash_max_listpack_entries {
            h.convert();
        }
        h
    }

    /// `any_size`: like Redis for listpack/ziplist blobs, only the entry
    /// count decides the encoding, not the element sizes.
    fn hash_set(&self, h: &mut Hash, f: &[u8], v: &[u8], any_size: bool) -> Result<(), RdbError> {
        let l = self.limits;
        let max_value = if any_size {
            usize::MAX
        } else {
            l.hash_max_listpack_value
        };
        if h.set(f, v, l.hash_max_listpack_entries, max_value) {
            Ok(())
        } else {
            Err(self.err(&format!("duplicate hash field '{}'", show_key(f))))
        }
    }

    fn new_set(&self, n: usize) -> Set {
        if n > self.limits.set_max_intset_entries {
            Set::Table(Box::new(Table::with_capacity(n.min(MAX_PREALLOC))))
        } else {
            Set::default()
        }
    }

    fn set_add(&self, s: &mut Set, m: Member) -> Result<(), RdbError> {
        if s.insert_member(m, self.limits.set_max_intset_entries) {
            Ok(())
        } else {
            Err(self.err(&format!("duplicate set member '{}'", show_key(&m.to_vec()))))
        }
    }

    fn new_zset(&self, n: usize) -> ZSet {
        if n > self.limits.zset_max_listpack_entries {
            ZSet::new_big()
        } else {
            ZSet::new_pack()
        }
    }

    /// `any_size`: see `hash_set`.
    fn zadd(&self, z: &mut ZSet, m: &[u8], score: f64, any_size: bool) -> Result<(), RdbError> {
        if score.is_nan() {
            return Err(self.err("NaN score"));
        }
        let l = self.limits;
        let max_value = if any_size {
            usize::MAX
        } else {
            l.zset_max_listpack_value
        };
        match z.insert(m, score, l.zset_max_listpack_entries, max_value) {
            None => Ok(()),
            Some(_) => Err(self.err(&format!("duplicate zset member '{}'", show_key(m)))),
        }
    }

    fn hash_from_pairs(
        &self,
        elems: &[Elem],
        kind: &str,
        any_size: bool,
    ) -> Result<Option<Value>, RdbError> {
        if elems.len() % 2 != 0 {
            return Err(self.blob_err(kind, "odd number of elements for a hash".into()));
        }
        if elems.is_empty() {
            return Ok(None);
        }
        let mut h = self.new_hash(elems.len() / 2);
        for p in elems.chunks_exact(2) {
            self.hash_set(&mut h, &p[0].to_vec(), &p[1].to_vec(), any_size)?;
        }
        Ok(Some(Value::Hash(Box::new(h))))
    }

    fn zset_from_pairs(&self, elems: &[Elem], kind: &str) -> Result<Option<Value>, RdbError> {
        if elems.len() % 2 != 0 {
            return Err(self.blob_err(kind, "odd number of elements for a sorted set".into()));
        }
        if elems.is_empty() {
            return Ok(None);
        }
        let mut z = self.new_zset(elems.len() / 2);
        for p in elems.chunks_exact(2) {
            let score = match p[1] {
                Elem::Int(i) => i as f64,
                Elem::Str(s) => parse_score(s)
                    .ok_or_else(|| self.blob_err(kind, "score is not a number".into()))?,
            };
            self.zadd(&mut z, &p[0].to_vec(), score, true)?;
        }
        Ok(Some(Value::ZSet(Box::new(z))))
    }
}

fn parse_score(s: &[u8]) -> Option<f64> {
    let t = std::str::from_utf8(s).ok()?;
    match t {
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        _ => crate::util::parse_f64(s),
    }
}

fn elems_to_list(list: &mut List, elems: &[Elem]) {
    for e in elems {
        match e {
            Elem::Str(s) => list.push_back(s),
            Elem::Int(i) => list.push_back(itoa::Buffer::new().format(*i).as_bytes()),
        }
    }
}

/// Read one value of type `t`; None for an empty collection (skipped, as Redis does).
fn read_value<R: Read>(rd: &mut Rd<R>, t: u8, b: &Build) -> Result<Option<Value>, RdbError> {
    let some = |v: Value| Ok(Some(v));
    match t {
        T_STRING => some(Value::Str(SmallBytes::from(rd.string()?))),
        T_LIST => {
            let n = rd.len()?;
            let mut l = b.list();
            for _ in 0..n {
                l.push_back(&rd.string()?);
            }
            if l.is_empty() {
                return Ok(None);
            }
            some(Value::List(Box::new(l)))
        }
        T_SET => {
            let n = rd.len()?;
            let mut s = b.new_set(n as usize);
            for _ in 0..n {
                let m = rd.string()?;
                b.set_add(&mut s, Member::Bytes(&m))?;
            }
            if s.is_empty() {
                return Ok(None);
            }
            some(Value::Set(Box::new(s)))
        }
        T_ZSET | T_ZSET_2 => {
            let n = rd.len()?;
            let mut z = b.new_zset(n as usize);
            for _ in 0..n {
                let m = rd.string()?;
                let score = if t == T_ZSET_2 {
                    f64::from_le_bytes(rd.arr()?)
                } else {
                    rd.ascii_double()?
                };
                b.zadd(&mut z, &m, score, false)?;
            }
            if z.is_empty() {
                return Ok(None);
            }
            some(Value::ZSet(Box::new(z)))
        }
        T_HASH => {
            let n = rd.len()?;
            let mut h = b.new_hash(n as usize);
            for _ in 0..n {
                let f = rd.string()?;
                let v = rd.string()?;
                b.hash_set(&mut h, &f, &v, false)?;
            }
            if h.is_empty() {
                return Ok(None);
            }
            some(Value::Hash(Box::new(h)))
        }
        T_HASH_ZIPMAP => {
            let blob = rd.string()?;
            let pairs = ziplist::decode_zipmap(&blob).map_err(|e| b.blob_err("zipmap", e))?;
            let elems: Vec<Elem> = pairs
                .iter()
                .flat_map(|(f, v)| [Elem::Str(f), Elem::Str(v)])
                .collect();
            b.hash_from_pairs(&elems, "zipmap", false)
        }
        T_LIST_ZIPLIST => {
            let blob = rd.string()?;
            let elems = ziplist::decode(&blob).map_err(|e| b.blob_err("ziplist", e))?;
            let mut l = b.list();
            elems_to_list(&mut l, &elems);
            if l.is_empty() {
                return Ok(None);
            }
            some(Value::List(Box::new(l)))
        }
        T_SET_INTSET => {
            let blob = rd.string()?;
            let ints = intset::decode(&blob).map_err(|e| b.blob_err("intset", e))?;
            let mut s = b.new_set(ints.len());
            for i in ints {
                b.set_add(&mut s, Member::Int(i))?;
            }
            if s.is_empty() {
                return Ok(None);
            }
            some(Value::Set(Box::new(s)))
        }
        T_ZSET_ZIPLIST | T_HASH_ZIPLIST => {
            let blob = rd.string()?;
            let elems = ziplist::decode(&blob).map_err(|e| b.blob_err("ziplist", e))?;
            if t == T_HASH_ZIPLIST {
                b.hash_from_pairs(&elems, "ziplist", true)
            } else {
                b.zset_from_pairs(&elems, "ziplist")
            }
        }
        T_HASH_LISTPACK | T_ZSET_LISTPACK => {
            let blob = rd.string()?;
            let elems = listpack::decode(&blob).map_err(|e| b.blob_err("listpack", e))?;
            if t == T_HASH_LISTPACK {
                b.hash_from_pairs(&elems, "listpack", true)
            } else {
                b.zset_from_pairs(&elems, "listpack")
            }
        }
        T_LIST_QUICKLIST | T_LIST_QUICKLIST_2 => {
            let nodes = rd.len()?;
            let mut l = b.list();
            for _ in 0..nodes {
                let container = if t == T_LIST_QUICKLIST_2 {
                    rd.len()?
                } else {
                    2
                };
                let blob = rd.string()?;
                match (t, container) {
                    (T_LIST_QUICKLIST, _) => {
                        let elems = ziplist::decode(&blob).map_err(|e| b.blob_err("ziplist", e))?;
                        elems_to_list(&mut l, &elems);
                    }
                    (_, 1) => l.push_back(&blob),
                    (_, 2) => {
                        let elems =
                            listpack::decode(&blob).map_err(|e| b.blob_err("listpack", e))?;
                        elems_to_list(&mut l, &elems);
                    }
                    (_, c) => {
                        return Err(b.err(&format!("unknown quicklist container type {c}")));
                    }
                }
            }
            if l.is_empty() {
                return Ok(None);
            }
            some(Value::List(Box::new(l)))
        }
        T_STREAM_LISTPACKS | T_STREAM_LISTPACKS_2 => read_stream(rd, t, b).map(Some),
        _ => unreachable!("caller checks the type"),
    }
}

fn known_type(t: u8) -> bool {
    matches!(t, 0..=5 | 9..=19)
}

fn elem_i64(e: &Elem) -> Option<i64> {
    match e {
        Elem::Int(i) => Some(*i),
        Elem::Str(s) => crate::util::parse_i64(s),
    }
}

fn read_id_be<R: Read>(rd: &mut Rd<R>) -> Result<StreamId, RdbError> {
    let b: [u8; 16] = rd.arr()?;
    Ok(StreamId::new(
        u64::from_be_bytes(b[..8].try_into().expect("8 bytes")),
        u64::from_be_bytes(b[8..].try_into().expect("8 bytes")),
    ))
}

/// One stream node: a listpack whose master entry is
/// [count, deleted, num-fields, fields..., 0], then entries
/// [flags, ms-diff, seq-diff, (num-fields, field, value... | value...), lp-count].
fn read_stream_node(
    s: &mut Stream,
    master: StreamId,
    blob: &[u8],
    b: &Build,
) -> Result<(), RdbError> {
    let bad = |why: &str| b.blob_err("stream listpack", why.to_string());
    let el = listpack::decode(blob).map_err(|e| b.blob_err("stream listpack", e))?;
    let int = |i: usize| {
        el.get(i)
            .and_then(elem_i64)
            .ok_or_else(|| bad("missing integer"))
    };
    let deleted = int(1)?;
    let nf = int(2)? as usize;
    if el.len() < 4 + nf {
        return Err(bad("truncated master entry"));
    }
    let mut owned: Vec<Vec<u8>> = Vec::new();
    // Integers are rendered to text first so all borrows below are stable.
    for e in el.iter() {
        if let Elem::Int(i) = e {
            owned.push(itoa::Buffer::new().format(*i).as_bytes().to_vec());
        }
    }
    let mut oi = 0;
    let texts: Vec<&[u8]> = el
        .iter()
        .map(|e| match e {
            Elem::Str(x) => *x,
            Elem::Int(_) => {
                oi += 1;
                owned[oi - 1].as_slice()
            }
        })
        .collect();
    let fields: Vec<&[u8]> = texts[3..3 + nf].to_vec();
    let mut p = 3 + nf + 1;
    let mut entries: Vec<(StreamId, Vec<&[u8]>)> = Vec::new();
    let mut last = master;
    while p < el.len() {
        let flags = int(p)?;
        let id = StreamId::new(
            master.ms.wrapping_add(int(p + 1)? as u64),
            master.seq.wrapping_add(int(p + 2)? as u64),
        );
        p += 3;
        let mut pairs = Vec::new();
        if flags & 2 != 0 {
            if p + nf > texts.len() {
                return Err(bad("truncated entry"));
            }
            for (i, f) in fields.iter().enumerate() {
                pairs.push(*f);
                pairs.push(texts[p + i]);
            }
            p += nf;
        } else {
            let n = int(p)? as usize;
            p += 1;
            if p + 2 * n > texts.len() {
                return Err(bad("truncated entry"));
            }
            pairs.extend_from_slice(&texts[p..p + 2 * n]);
            p += 2 * n;
        }
        p += 1; // lp-count
        last = id;
        if flags & 1 == 0 {
            entries.push((id, pairs));
        }
    }
    s.load_node(master, &fields, &entries, deleted as u32, blob.len(), last);
    Ok(())
}

fn read_stream<R: Read>(rd: &mut Rd<R>, t: u8, b: &Build) -> Result<Value, RdbError> {
    let mut s = Stream::new();
    let nodes = rd.len()?;
    for _ in 0..nodes {
        let key = rd.string()?;
        if key.len() != 16 {
            return Err(b.err("stream node key is not a 128-bit ID"));
        }
        let master = StreamId::new(
            u64::from_be_bytes(key[..8].try_into().expect("8 bytes")),
            u64::from_be_bytes(key[8..].try_into().expect("8 bytes")),
        );
        let blob = rd.string()?;
        read_stream_node(&mut s, master, &blob, b)?;
    }
    let length = rd.len()?;
    if length != s.len() {
        return Err(b.err(&format!(
            "stream length {length} but its nodes hold {} entries",
            s.len()
        )));
    }
    let last_id = StreamId::new(rd.len()?, rd.len()?);
    let v2 = t == T_STREAM_LISTPACKS_2;
    let (first_id, max_deleted, entries_added) = if v2 {
        (
            StreamId::new(rd.len()?, rd.len()?),
            StreamId::new(rd.len()?, rd.len()?),
            rd.len()?,
        )
    } else {
        (s.edge_id(true).unwrap_or_default(), StreamId::MIN, length)
    };
    s.set_loaded_meta(last_id, first_id, max_deleted, entries_added);
    let ngroups = rd.len()?;
    for _ in 0..ngroups {
        let name = rd.string()?;
        let glast = StreamId::new(rd.len()?, rd.len()?);
        let entries_read = if v2 {
            rd.len()? as i64
        } else {
            s.estimate_distance(glast)
                .map(|v| v as i64)
                .unwrap_or(INVALID_ENTRIES_READ)
        };
        let mut g = Group::new(glast, entries_read);
        let npel = rd.len()?;
        let mut pel = std::collections::BTreeMap::new();
        for _ in 0..npel {
            let id = read_id_be(rd)?;
            let time = u64::from_le_bytes(rd.arr()?);
            let count = rd.len()?;
            pel.insert(id, (time, count));
        }
        let ncons = rd.len()?;
        for _ in 0..ncons {
            let cname = rd.string()?;
            let seen = u64::from_le_bytes(rd.arr()?);
            g.create_consumer(&cname, seen);
            let n = rd.len()?;
            for _ in 0..n {
                let id = read_id_be(rd)?;
                let Some(&(time, count)) = pel.get(&id) else {
                    return Err(b.err("consumer PEL entry missing from the group PEL"));
                };
                g.assign(id, &cname, time, count);
            }
        }
        if g.pel.len() != pel.len() {
            return Err(b.err("group PEL entry owned by no consumer"));
        }
        if s.groups.insert(name.into(), g).is_some() {
            return Err(b.err("duplicated consumer group name"));
        }
    }
    Ok(Value::Stream(Box::new(s)))
}

/// Streaming load (works on a File or a socket-fed reader; never needs the
/// whole file in memory).
///
/// `r` is read through an internal buffer, so bytes after the RDB's end may
/// be consumed from it. When the RDB is followed by other data (a
/// replication stream, the EOF mark of a diskless transfer), use
/// [`load_bufread`] instead, or limit the reader to the payload (`Read::take`).
pub fn load(r: impl Read, opts: &LoadOpts) -> Result<Loaded, RdbError> {
    load_bufread(&mut BufReader::with_capacity(1 << 16, r), opts)
}

/// Like [`load`], reading from a buffered reader the caller keeps: exactly
/// the RDB's bytes (through its checksum) are consumed, whatever follows stays
/// in `r` (e.g. the replication stream after a `$<len>` payload, or the
/// 40-byte mark after an `EOF:` one).
pub fn load_bufread<R: BufRead>(r: &mut R, opts: &LoadOpts) -> Result<Loaded, RdbError> {
    let mut rd = Rd { r, pos: 0, crc: 0 };
    let magic: [u8; 9] = rd.arr().map_err(|_| {
        RdbError::new("not an RDB file: shorter than the 9-byte \"REDIS0010\" header")
    })?;
    if &magic[..5] != b"REDIS" {
        return Err(RdbError::new(format!(
            "not an RDB file: it starts with {:?} instead of \"REDIS\"",
            String::from_utf8_lossy(&magic[..5])
        )));
    }
    let version: u32 = std::str::from_utf8(&magic[5..])
        .ok()
        .filter(|s| s.bytes().all(|c| c.is_ascii_digit()))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            RdbError::new(format!(
                "not an RDB file: bad version field {:?}",
                String::from_utf8_lossy(&magic[5..])
            ))
        })?;
    if version == 0 || version > RDB_VERSION {
        return Err(RdbError::new(format!(
            "can't handle RDB format version {version} (this server loads versions 1 to {RDB_VERSION}; \
             the file was probably written by a newer Redis)"
        )));
    }
    if opts.databases == 0 {
        return Err(RdbError::new("cannot load an RDB into zero databases"));
    }
    let mut out = Loaded {
        dbs: (0..opts.databases).map(|_| Db::new()).collect(),
        keys: 0,
        expired_skipped: 0,
        aux: Vec::new(),
        functions: Vec::new(),
    };
    let mut db = 0usize;
    let mut expire: u64 = 0;
    let mut empty_skipped = 0u64;
    loop {
        let at = rd.pos;
        let op = rd.u8()?;
        match op {
            OP_EXPIRETIME_MS => {
                expire = u64::from_le_bytes(rd.arr()?);
                continue;
            }
            OP_EXPIRETIME => {
                expire = u32::from_le_bytes(rd.arr()?) as u64 * 1000;
                continue;
            }
            OP_FREQ => {
                rd.u8()?;
                continue;
            }
            OP_IDLE => {
                rd.len()?;
                continue;
            }
            OP_EOF => break,
            OP_SELECTDB => {
                let n = rd.len()?;
                if n >= opts.databases as u64 {
                    return Err(RdbError::new(format!(
                        "SELECTDB {n} at byte {at}: this server has only {} databases",
                        opts.databases
                    )));
                }
                db = n as usize;
                continue;
            }
            OP_RESIZEDB => {
                let keys = rd.len()?;
                let _expires = rd.len()?;
                out.dbs[db].reserve((keys as usize).min(1 << 24));
                continue;
            }
            OP_AUX => {
                let k = rd.string()?;
                let v = rd.string()?;
                out.aux.push((String::from_utf8_lossy(&k).into_owned(), v));
                continue;
            }
            OP_FUNCTION2 => {
                out.functions.push(rd.string()?);
                continue;
            }
            OP_MODULE_AUX => {
                return Err(RdbError::new(format!(
                    "module data (MODULE_AUX) at byte {at} is not supported"
                )));
            }
            OP_FUNCTION => {
                return Err(RdbError::new(format!(
                    "pre-release function data (FUNCTION) at byte {at} is not supported"
                )));
            }
            _ => {}
        }
        // A key record.
        let t = op;
        let supported = known_type(t);
        let unsupported_named = type_name(t) != "unknown";
        if !supported && !unsupported_named {
            return Err(RdbError::new(format!(
                "unknown value type {t} at byte {at}"
            )));
        }
        let key = rd.string()?;
        if !supported {
            return Err(RdbError::new(format!(
                "unsupported value type {t} ({}) for key '{}' at byte {at}",
                type_name(t),
                show_key(&key)
            )));
        }
        let build = Build {
            limits: &opts.limits,
            key: &key,
            at,
        };
        let value = read_value(&mut rd, t, &build)?;
        let exp = std::mem::take(&mut expire);
        let Some(value) = value else {
            empty_skipped += 1;
            continue;
        };
        if opts.drop_expired && exp != 0 && exp < opts.now_ms {
            out.expired_skipped += 1;
            continue;
        }
        let d = &mut out.dbs[db];
        if d.find(&key).is_some() {
            return Err(RdbError::new(format!(
                "duplicate key '{}' in DB {db} (record at byte {at})",
                show_key(&key)
            )));
        }
        let idx = d.set(&key, value, false);
        if exp != 0 {
            d.set_expire_idx(idx, exp);
        }
        out.keys += 1;
        if opts.key_load_delay_us > 0 {
            std::thread::sleep(std::time::Duration::from_micros(
                opts.key_load_delay_us as u64,
            ));
        }
    }
    if empty_skipped > 0 {
        tracing::warn!("RDB: skipped {empty_skipped} empty keys");
    }
    if version >= 5 {
        let computed = rd.crc;
        let at = rd.pos;
        let mut b = [0u8; 8];
        rd.fill(&mut b).map_err(|_| {
            RdbError::new(format!(
                "unexpected end of file at byte {at}: the 8-byte checksum is missing (truncated?)"
            ))
        })?;
        let stored = u64::from_le_bytes(b);
        if stored == 0 {
            tracing::warn!("RDB file was saved with checksum disabled: no check performed");
        } else if stored != computed {
            return Err(RdbError::new(format!(
                "RDB checksum mismatch (file says 0x{stored:016x}, computed 0x{computed:016x})"
            )));
        }
    }
    Ok(out)
}
