//! Writer -> loader round trips and corrupt-input handling.

use super::*;
use crate::store::{EncodingLimits, Value};

fn opts() -> LoadOpts {
    LoadOpts {
        databases: 16,
        now_ms: crate::util::now_ms(),
        drop_expired: true,
        limits: EncodingLimits::default(),
        key_load_delay_us: 0,
    }
}

#[test]
fn empty_file_round_trip() {
    let w = RdbWriter::new(Vec::new(), &[("repl-stream-db", "0".into())]).unwrap();
    let bytes = w.finish().unwrap();
    assert_eq!(&bytes[..9], b"REDIS0010");
    let l = load(&bytes[..], &opts()).unwrap();
    assert_eq!(l.keys, 0);
    let aux: Vec<_> = l.aux.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        aux,
        [
            "redis-ver",
            "redis-bits",
            "ctime",
            "used-mem",
            "repl-stream-db"
        ]
    );
    assert_eq!(l.aux[0].1, b"7.0.15");
    assert_eq!(l.aux[1].1, b"64");
}

use crate::store::hash::Hash;
use crate::store::list::List;
use crate::store::set::Set;
use crate::store::zset::ZSet;
use crate::store::Db;

/// A canonical, comparable form of a value: (type, encoding, sorted items).
type Dumped = (String, String, Vec<Vec<u8>>);

fn dump(v: &Value) -> Dumped {
    let items: Vec<Vec<u8>> = match v {
        Value::Str(s) => vec![s.as_bytes().to_vec()],
        Value::List(l) => l.iter().map(|e| e.to_vec()).collect(),
        Value::Hash(h) => {
            let mut v: Vec<Vec<u8>> = h.iter().map(|(f, x)| [f, b"=", x].concat()).collect();
            v.sort();
            v
        }
        Value::Set(s) => {
            let mut v: Vec<Vec<u8>> = s.iter().map(|m| m.to_vec()).collect();
            v.sort();
            v
        }
        Value::ZSet(z) => {
            let mut v = Vec::new();
            z.for_each(|m, s| v.push([m, b"=", s.to_bits().to_string().as_bytes()].concat()));
            v
        }
        Value::Stream(x) => stream_items(x),
    };
    (v.type_name().into(), v.encoding().into(), items)
}

/// A stream's entries, counters and groups as comparable lines.
fn stream_items(x: &crate::store::stream::Stream) -> Vec<Vec<u8>> {
    use crate::store::stream::StreamId;
    let mut v = Vec::new();
    x.range(StreamId::MIN, StreamId::MAX, false, |id, pairs| {
        let mut e = id.to_string().into_bytes();
        for (f, val) in pairs {
            e.extend_from_slice(&[b" ", *f, b"=", *val].concat());
        }
        v.push(e);
        true
    });
    v.push(
        format!(
            "last={} first={} maxdel={} added={}",
            x.last_id, x.first_id, x.max_deleted_id, x.entries_added
        )
        .into_bytes(),
    );
    for (name, g) in &x.groups {
        let pel: Vec<String> = g
            .pel
            .iter()
            .map(|(id, n)| {
                format!(
                    "{id}:{}:{}:{}",
                    String::from_utf8_lossy(&n.consumer),
                    n.delivery_time,
                    n.delivery_count
                )
            })
            .collect();
        v.push(
            format!(
                "group {} last={} read={} pel={:?} consumers={:?}",
                String::from_utf8_lossy(name),
                g.last_id,
                g.entries_read,
                pel,
                g.consumers
                    .iter()
                    .map(|(c, k)| (
                        String::from_utf8_lossy(c).into_owned(),
                        k.seen_time,
                        k.pel.len()
                    ))
                    .collect::<Vec<_>>()
            )
            .into_bytes(),
        );
    }
    v
}

/// A stream with deletions, several nodes, a group, a PEL and consumers
/// survives an RDB round trip exactly.
#[test]
fn stream_round_trip() {
    use crate::store::stream::{Group, NodeLimits, Stream, StreamId};
    let mut s = Stream::new();
    for i in 1..=350u64 {
        let v = i.to_string();
        if i % 5 == 0 {
            s.append(
                StreamId::new(i, 1),
                &[b"other", v.as_bytes()],
                NodeLimits::default(),
            );
        } else {
            s.append(
                StreamId::new(i, 1),
                &[b"f", v.as_bytes(), b"g", b"x"],
                NodeLimits::default(),
            );
        }
    }
    s.xdel(&[StreamId::new(1, 1), StreamId::new(150, 1)]);
    let mut g = Group::new(StreamId::new(20, 1), 19);
    g.create_consumer(b"alice", 1234);
    g.create_consumer(b"bob", 99);
    g.assign(StreamId::new(3, 1), b"alice", 1000, 2);
    g.assign(StreamId::new(4, 1), b"bob", 1001, 1);
    s.groups.insert((*b"g").into(), g);
    s.groups
        .insert((*b"empty").into(), Group::new(StreamId::MIN, -1));
    let mut d = Db::new();
    d.set(b"st", Value::Stream(Box::new(s)), false);
    d.set(b"st:empty", Value::Stream(Box::default()), false);
    let before = dump_db(&d);
    let mut w = RdbWriter::new(Vec::new(), &[]).unwrap();
    w.select_db(0, 2, 0).unwrap();
    let mut entries = Vec::new();
    d.scan(0, 100, |e| {
        entries.push((e.key.as_bytes().to_vec(), e.value.deep_clone()))
    });
    for (k, v) in &entries {
        w.entry(k, v, 0).unwrap();
    }
    let bytes = w.finish().unwrap();
    let loaded = load(&bytes[..], &opts()).expect("load");
    assert_eq!(dump_db(&loaded.dbs[0]), before);
}

fn dump_db(db: &Db) -> Vec<(Vec<u8>, u64, Dumped)> {
    let mut out = Vec::new();
    let mut cursor = 0;
    loop {
        cursor = db.scan(cursor, 100, |e| {
            out.push((e.key.as_bytes().to_vec(), e.expire, dump(&e.value)))
        });
        if cursor == 0 {
            break;
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Databases holding every type in every encoding, TTLs, several dbs.
fn sample_dbs() -> Vec<Db> {
    let lim = EncodingLimits::default();
    let mut dbs: Vec<Db> = (0..16).map(|_| Db::new()).collect();
    let d = &mut dbs[0];
    for (k, v) in [
        (&b"s:empty"[..], &b""[..]),
        (b"s:int8", b"100"),
        (b"s:int16", b"30000"),
        (b"s:int32", b"2000000000"),
        (b"s:int64", b"9000000000"),
        (b"s:neg", b"-5"),
        (b"s:lead0", b"007"),
        (b"s:float", b"1.5"),
        (b"\x00bin\xffkey", b"\x00\x01\x02"),
        (b"", b"empty key"),
    ] {
        d.set(k, Value::str(v), false);
    }
    d.set(b"s:lzf", Value::str(&b"abcdefghij".repeat(20)), false);
    let mut rnd = Vec::new();
    let mut x: u32 = 12345;
    for _ in 0..300 {
        x = x.wrapping_mul(1103515245).wrapping_add(12345);
        rnd.push((x >> 16) as u8);
    }
    d.set(b"s:random", Value::str(&rnd), false);
    let idx = d.set(b"s:ttl", Value::str(b"v"), false);
    d.set_expire_idx(idx, crate::util::now_ms() + 100_000);

    let mut small = List::new(lim.list_max_listpack_size);
    for e in [&b"a"[..], b"1", b"-70000", b"", b"hello world"] {
        small.push_back(e);
    }
    d.set(b"l:small", Value::List(Box::new(small)), false);
    let mut big = List::new(lim.list_max_listpack_size);
    for i in 0..5000 {
        big.push_back(format!("element-{i}-{}", "x".repeat(i % 50)).as_bytes());
    }
    big.push_back(&vec![b'y'; 20000]);
    d.set(b"l:big", Value::List(Box::new(big)), false);

    let mut ints = Set::default();
    for i in [1i64, -2, 300, 70000, 9000000000] {
        ints.insert(i.to_string().as_bytes(), lim.set_max_intset_entries);
    }
    assert_eq!(ints.encoding(), "intset");
    d.set(b"set:ints", Value::Set(Box::new(ints)), false);
    let mut strs = Set::default();
    for m in [&b"a"[..], b"b", b"1", b""] {
        strs.insert(m, lim.set_max_intset_entries);
    }
    d.set(b"set:str", Value::Set(Box::new(strs)), false);
    let mut bigints = Set::default();
    for i in 0..1000 {
        bigints.insert(i.to_string().as_bytes(), lim.set_max_intset_entries);
    }
    assert_eq!(bigints.encoding(), "hashtable");
    d.set(b"set:bigints", Value::Set(Box::new(bigints)), false);

    let mut h = Hash::new();
    for (f, v) in [
        (&b"f1"[..], &b"v1"[..]),
        (b"n", b"12"),
        (b"", b""),
        (b"neg", b"-9000000000"),
    ] {
        h.set(
            f,
            v,
            lim.hash_max_listpack_entries,
            lim.hash_max_listpack_value,
        );
    }
    d.set(b"h:small", Value::Hash(Box::new(h)), false);
    let mut h = Hash::new();
    for i in 0..200 {
        h.set(
            format!("field{i}").as_bytes(),
            format!("value{i}").as_bytes(),
            lim.hash_max_listpack_entries,
            lim.hash_max_listpack_value,
        );
    }
    d.set(b"h:200", Value::Hash(Box::new(h)), false);
    let mut h = Hash::new();
    for i in 0..1000 {
        h.set(
            format!("f{i}").as_bytes(),
            i.to_string().as_bytes(),
            lim.hash_max_listpack_entries,
            lim.hash_max_listpack_value,
        );
    }
    assert_eq!(h.encoding(), "hashtable");
    d.set(b"h:big", Value::Hash(Box::new(h)), false);
    let mut h = Hash::new();
    h.set(
        b"long",
        &[b'z'; 100],
        lim.hash_max_listpack_entries,
        lim.hash_max_listpack_value,
    );
    d.set(b"h:longval", Value::Hash(Box::new(h)), false);

    let mut z = ZSet::new_pack();
    for (m, s) in [
        (&b"a"[..], 1.5),
        (b"b", 2.0),
        (b"c", f64::INFINITY),
        (b"d", f64::NEG_INFINITY),
        (b"e", -0.25),
        (b"f", 1e300),
        (b"g", 0.1),
        (b"h", -3.0),
        (b"i", 9007199254740993.0),
    ] {
        z.insert(
            m,
            s,
            lim.zset_max_listpack_entries,
            lim.zset_max_listpack_value,
        );
    }
    d.set(b"z:small", Value::ZSet(Box::new(z)), false);
    let mut z = ZSet::new_pack();
    for i in 0..500 {
        z.insert(
            format!("m{i}").as_bytes(),
            i as f64 / 3.0,
            lim.zset_max_listpack_entries,
            lim.zset_max_listpack_value,
        );
    }
    z.insert(b"inf", f64::INFINITY, 128, 64);
    assert_eq!(z.encoding(), "skiplist");
    d.set(b"z:big", Value::ZSet(Box::new(z)), false);

    // Other databases.
    dbs[2].set(b"in-db-2", Value::str(b"two"), false);
    let idx = dbs[15].set(b"ttl15", Value::str(b"x"), false);
    dbs[15].set_expire_idx(idx, crate::util::now_ms() + 5_000_000);
    dbs
}

fn write_dbs(dbs: &[Db]) -> Vec<u8> {
    let mut w = RdbWriter::new(Vec::new(), &[("repl-stream-db", "0".into())]).unwrap();
    for (i, db) in dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        w.select_db(i, db.len() as u64, db.expires_len() as u64)
            .unwrap();
        let mut cursor = 0;
        loop {
            cursor = db.scan(cursor, 100, |e| {
                w.entry(e.key.as_bytes(), &e.value, e.expire).unwrap()
            });
            if cursor == 0 {
                break;
            }
        }
    }
    w.finish().unwrap()
}

#[test]
fn round_trip_every_type_and_encoding() {
    let dbs = sample_dbs();
    let bytes = write_dbs(&dbs);
    let loaded = load(&bytes[..], &opts()).unwrap();
    assert_eq!(loaded.keys, dbs.iter().map(|d| d.len() as u64).sum::<u64>());
    for (i, (a, b)) in dbs.iter().zip(&loaded.dbs).enumerate() {
        assert_eq!(dump_db(a), dump_db(b), "db {i}");
    }
}

#[test]
fn round_trip_without_compression() {
    let dbs = sample_dbs();
    let mut w = RdbWriter::new(Vec::new(), &[]).unwrap();
    w.set_compression(false);
    w.select_db(0, 1, 0).unwrap();
    let v = dbs[0]
        .find(b"s:lzf")
        .map(|i| &dbs[0].entry(i).value)
        .unwrap();
    w.entry(b"s:lzf", v, 0).unwrap();
    let bytes = w.finish().unwrap();
    assert!(bytes.windows(20).any(|x| x == b"abcdefghijabcdefghij"));
    let l = load(&bytes[..], &opts()).unwrap();
    assert_eq!(l.keys, 1);
}

// ------------------------------------------------------------ hand-built files

/// A file from raw record bytes: header, records, EOF and a real CRC.
fn file(version: u32, records: &[u8]) -> Vec<u8> {
    let mut b = format!("REDIS{version:04}").into_bytes();
    b.extend_from_slice(records);
    b.push(0xFF);
    let c = crc64::crc64(&b);
    b.extend_from_slice(&c.to_le_bytes());
    b
}

fn str_rec(out: &mut Vec<u8>, s: &[u8]) {
    write::put_string(out, s, false);
}

fn err_of(bytes: &[u8]) -> String {
    match load(bytes, &opts()) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

fn get_str(db: &mut Db, k: &[u8]) -> Vec<u8> {
    match db.get(k) {
        Some(Value::Str(s)) => s.as_bytes().to_vec(),
        _ => panic!("no string at {k:?}"),
    }
}

#[test]
fn old_types_and_opcodes() {
    let mut r = Vec::new();
    // AUX with an int-encoded value.
    r.push(OP_AUX);
    str_rec(&mut r, b"aof-base");
    str_rec(&mut r, b"0");
    r.push(OP_FUNCTION2);
    str_rec(
        &mut r,
        b"#!lua name=lib\nredis.register_function('f', function() return 1 end)",
    );
    r.extend_from_slice(&[OP_SELECTDB, 3, OP_RESIZEDB, 10, 1]);
    // LRU/LFU hints are ignored.
    r.extend_from_slice(&[OP_IDLE, 5, OP_FREQ, 9]);
    // Type 1 list.
    r.push(T_LIST);
    str_rec(&mut r, b"list");
    r.push(3);
    for e in [&b"a"[..], b"12", b"c"] {
        str_rec(&mut r, e);
    }
    // Type 3 zset with ASCII scores (inf/-inf special lengths).
    r.push(T_ZSET);
    str_rec(&mut r, b"zold");
    r.push(3);
    str_rec(&mut r, b"x");
    r.extend_from_slice(&[3, b'1', b'.', b'5']);
    str_rec(&mut r, b"y");
    r.push(254);
    str_rec(&mut r, b"z");
    r.push(255);
    // Old EXPIRETIME in seconds (far future).
    r.push(OP_EXPIRETIME);
    r.extend_from_slice(&4_000_000_000u32.to_le_bytes());
    r.push(T_STRING);
    str_rec(&mut r, b"secs");
    str_rec(&mut r, b"v");
    // Zipmap hash.
    r.push(T_HASH_ZIPMAP);
    str_rec(&mut r, b"zm");
    str_rec(&mut r, &[1, 1, b'f', 1, 0, b'v', 0xFF]);
    // Ziplist list (6.x), hand-built: "ab", 7.
    let zl = {
        let mut b = vec![0u8; 10];
        b.extend_from_slice(&[0, 0x02, b'a', b'b', 4, 0xF8]);
        b.push(0xFF);
        let t = b.len() as u32;
        b[..4].copy_from_slice(&t.to_le_bytes());
        b[8..10].copy_from_slice(&2u16.to_le_bytes());
        b
    };
    r.push(T_LIST_ZIPLIST);
    str_rec(&mut r, b"zl");
    str_rec(&mut r, &zl);
    // Quicklist (6.x): one ziplist node.
    r.push(T_LIST_QUICKLIST);
    str_rec(&mut r, b"ql");
    r.push(1);
    str_rec(&mut r, &zl);
    // Hash ziplist "ab" -> 7.
    r.push(T_HASH_ZIPLIST);
    str_rec(&mut r, b"hz");
    str_rec(&mut r, &zl);
    // Zset ziplist "ab" score 7.
    r.push(T_ZSET_ZIPLIST);
    str_rec(&mut r, b"zz");
    str_rec(&mut r, &zl);
    // Quicklist 2 with a PLAIN node and a PACKED one.
    let mut lp = listpack::Builder::new();
    lp.push(b"packed");
    r.push(T_LIST_QUICKLIST_2);
    str_rec(&mut r, b"q2");
    r.extend_from_slice(&[2, 1]);
    str_rec(&mut r, b"plain element");
    r.push(2);
    str_rec(&mut r, &lp.finish());
    // An empty listpack hash is skipped.
    r.push(T_HASH_LISTPACK);
    str_rec(&mut r, b"empty");
    str_rec(&mut r, &listpack::Builder::new().finish());
    let f = file(9, &r);
    let mut l = load(&f[..], &opts()).unwrap();
    assert_eq!(l.keys, 9);
    assert_eq!(l.aux, vec![("aof-base".to_string(), b"0".to_vec())]);
    let db = &mut l.dbs[3];
    let Some(Value::List(list)) = db.get(b"list") else {
        panic!()
    };
    assert_eq!(list.iter().collect::<Vec<_>>(), [&b"a"[..], b"12", b"c"]);
    let Some(Value::ZSet(z)) = db.get(b"zold") else {
        panic!()
    };
    assert_eq!(z.score(b"x"), Some(1.5));
    assert_eq!(z.score(b"y"), Some(f64::INFINITY));
    assert_eq!(z.score(b"z"), Some(f64::NEG_INFINITY));
    assert_eq!(get_str(db, b"secs"), b"v");
    assert_eq!(
        db.entry(db.find(b"secs").unwrap()).expire,
        4_000_000_000_000
    );
    let Some(Value::Hash(h)) = db.get(b"zm") else {
        panic!()
    };
    assert_eq!(h.get(b"f"), Some(&b"v"[..]));
    for k in [&b"zl"[..], b"ql"] {
        let Some(Value::List(list)) = db.get(k) else {
            panic!()
        };
        assert_eq!(list.iter().collect::<Vec<_>>(), [&b"ab"[..], b"7"]);
    }
    let Some(Value::Hash(h)) = db.get(b"hz") else {
        panic!()
    };
    assert_eq!(h.get(b"ab"), Some(&b"7"[..]));
    let Some(Value::ZSet(z)) = db.get(b"zz") else {
        panic!()
    };
    assert_eq!(z.score(b"ab"), Some(7.0));
    let Some(Value::List(list)) = db.get(b"q2") else {
        panic!()
    };
    assert_eq!(
        list.iter().collect::<Vec<_>>(),
        [&b"plain element"[..], b"packed"]
    );
    assert!(db.get(b"empty").is_none());
}

#[test]
fn loaded_encodings_follow_limits() {
    // A 100-field hash written as type 4 becomes a listpack, like Redis; a
    // type-2 set of integers becomes an intset.
    let mut r = vec![OP_SELECTDB, 0, T_HASH];
    str_rec(&mut r, b"h");
    write::put_len(&mut r, 100);
    for i in 0..100 {
        str_rec(&mut r, format!("f{i}").as_bytes());
        str_rec(&mut r, b"v");
    }
    r.push(T_SET);
    str_rec(&mut r, b"s");
    r.push(3);
    for m in [&b"1"[..], b"2", b"3"] {
        str_rec(&mut r, m);
    }
    let mut l = load(&file(10, &r)[..], &opts()).unwrap();
    assert_eq!(l.dbs[0].get(b"h").unwrap().encoding(), "listpack");
    assert_eq!(l.dbs[0].get(b"s").unwrap().encoding(), "intset");
    // Listpack blobs keep their encoding whatever their element sizes
    // (Redis checks only the count); type 4 hashes convert on long values.
    let long = [b'x'; 100];
    let mut lp = listpack::Builder::new();
    lp.push(b"f");
    lp.push(&long);
    let mut r2 = vec![T_HASH_LISTPACK];
    str_rec(&mut r2, b"lp");
    str_rec(&mut r2, &lp.finish());
    r2.push(T_HASH);
    str_rec(&mut r2, b"ht");
    r2.push(1);
    str_rec(&mut r2, b"f");
    str_rec(&mut r2, &long);
    let mut l2 = load(&file(10, &r2)[..], &opts()).unwrap();
    assert_eq!(l2.dbs[0].get(b"lp").unwrap().encoding(), "listpack");
    assert_eq!(l2.dbs[0].get(b"ht").unwrap().encoding(), "hashtable");
    let mut o = opts();
    o.limits.hash_max_listpack_entries = 10;
    let mut l = load(&file(10, &r)[..], &o).unwrap();
    assert_eq!(l.dbs[0].get(b"h").unwrap().encoding(), "hashtable");
}

#[test]
fn expired_keys_dropped_or_kept() {
    let mut r = vec![OP_SELECTDB, 0, OP_EXPIRETIME_MS];
    r.extend_from_slice(&1000u64.to_le_bytes());
    r.push(T_STRING);
    str_rec(&mut r, b"old");
    str_rec(&mut r, b"v");
    r.push(T_STRING);
    str_rec(&mut r, b"live");
    str_rec(&mut r, b"v");
    let f = file(10, &r);
    let l = load(&f[..], &opts()).unwrap();
    assert_eq!((l.keys, l.expired_skipped), (1, 1));
    let mut o = opts();
    o.drop_expired = false;
    let l = load(&f[..], &o).unwrap();
    assert_eq!((l.keys, l.expired_skipped), (2, 0));
    let db = &l.dbs[0];
    assert_eq!(db.entry(db.find(b"old").unwrap()).expire, 1000);
    assert_eq!(db.entry(db.find(b"live").unwrap()).expire, 0);
}

#[test]
fn corrupt_inputs_give_clear_errors() {
    let good = write_dbs(&sample_dbs());
    // Flipped byte inside a value: checksum mismatch (or a parse error).
    let mut bad = good.clone();
    let n = bad.len();
    bad[n - 20] ^= 0x01;
    let e = err_of(&bad);
    assert!(e.contains("checksum mismatch") || e.contains("byte"), "{e}");
    // Flip in the stored checksum itself.
    let mut bad = good.clone();
    bad[n - 3] ^= 0x10;
    let e = err_of(&bad);
    assert!(e.starts_with("RDB checksum mismatch (file says 0x"), "{e}");
    assert!(e.contains(", computed 0x"), "{e}");
    // Truncated.
    let e = err_of(&good[..good.len() / 2]);
    assert!(
        e.contains("unexpected end of file at byte") && e.contains("(truncated?)"),
        "{e}"
    );
    let e = err_of(&good[..good.len() - 4]);
    assert!(e.contains("checksum is missing"), "{e}");
    // Zero checksum: accepted.
    let mut zero = good.clone();
    zero[n - 8..].fill(0);
    assert!(load(&zero[..], &opts()).is_ok());
    // Bad length encoding.
    let e = err_of(&file(10, &[OP_SELECTDB, 0x82]));
    assert_eq!(e, "invalid length encoding 0x82 at byte 10");
    // Unknown type.
    let e = err_of(&file(10, &[OP_SELECTDB, 0, 99, 1, b'k']));
    assert_eq!(e, "unknown value type 99 at byte 11");
    // A truncated stream: a clear error, not a panic. Module values are
    // refused with the key named.
    let e = err_of(&file(10, &[19, 1, b'x', 0]));
    assert!(e.contains("at byte"), "{e}");
    let e = err_of(&file(10, &[7, 1, b'm']));
    assert!(
        e.starts_with("unsupported value type 7 (module) for key 'm'"),
        "{e}"
    );
    // Version 11 and garbage.
    let e = err_of(&file(11, &[]));
    assert!(e.contains("RDB format version 11"), "{e}");
    assert!(err_of(b"HELLO").contains("not an RDB file"));
    assert!(err_of(b"REDISabcd\xff").contains("bad version"));
    // DB out of range, duplicate key, bad listpack blob, bad LZF.
    let mut o = opts();
    o.databases = 2;
    let e = load(&file(10, &[OP_SELECTDB, 5])[..], &o)
        .unwrap_err()
        .to_string();
    assert!(e.contains("SELECTDB 5") && e.contains("2 databases"), "{e}");
    let dup = [T_STRING, 1, b'k', 1, b'v', T_STRING, 1, b'k', 1, b'w'];
    assert!(err_of(&file(10, &dup)).contains("duplicate key 'k' in DB 0"));
    let mut r = vec![T_HASH_LISTPACK];
    str_rec(&mut r, b"h");
    str_rec(&mut r, &[9, 0, 0, 0, 1, 0, 5, 1, 0xFF]);
    let e = err_of(&file(10, &r));
    assert!(
        e.contains("corrupt listpack") && e.contains("key 'h'"),
        "{e}"
    );
    let lzf = [T_STRING, 1, b'k', 0xC3, 2, 10, 0x20, 0x00];
    assert!(err_of(&file(10, &lzf)).contains("corrupt LZF"));
    let lzf = [T_STRING, 1, b'k', 0xC3, 1, 0x80, 0x7f, 0xff, 0xff, 0xff, 0];
    assert!(err_of(&file(10, &lzf)).contains("corrupt length"));
    // NaN score and duplicate members.
    let mut r = vec![T_ZSET_2];
    str_rec(&mut r, b"z");
    r.push(1);
    str_rec(&mut r, b"m");
    r.extend_from_slice(&f64::NAN.to_le_bytes());
    assert!(err_of(&file(10, &r)).contains("NaN score"));
    let r = [T_SET, 1, b's', 2, 1, b'a', 1, b'a'];
    assert!(err_of(&file(10, &r)).contains("duplicate set member 'a'"));
    // Module aux refused.
    assert!(err_of(&file(10, &[OP_MODULE_AUX])).contains("MODULE_AUX"));
}

#[test]
fn fuzzed_inputs_never_panic() {
    use rand::{Rng, SeedableRng};
    // Without the large collections: each load stays cheap.
    let mut dbs = sample_dbs();
    for k in [&b"l:big"[..], b"h:big", b"h:200", b"set:bigints", b"z:big"] {
        dbs[0].remove_any(k);
    }
    let good = write_dbs(&dbs);
    let mut zeroed = good.clone();
    let n = zeroed.len();
    zeroed[n - 8..].fill(0);
    let mut rng = rand::rngs::SmallRng::seed_from_u64(42);
    for i in 0..3000 {
        let base = if i % 2 == 0 { &good } else { &zeroed };
        let mut v = base.clone();
        match i % 3 {
            0 => v.truncate(rng.gen_range(0..v.len())),
            1 => {
                for _ in 0..rng.gen_range(1..4) {
                    let p = rng.gen_range(0..v.len());
                    v[p] ^= 1 << rng.gen_range(0..8);
                }
            }
            _ => {
                let p = rng.gen_range(0..v.len());
                v[p] = rng.gen();
                v.truncate(rng.gen_range(p..=v.len()));
            }
        }
        let _ = load(&v[..], &opts());
    }
}

#[test]
fn bufread_load_stops_at_the_checksum() {
    let mut r = vec![T_STRING];
    str_rec(&mut r, b"k");
    str_rec(&mut r, b"v");
    let mut stream = file(10, &r);
    stream.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
    let mut br = std::io::BufReader::new(&stream[..]);
    let l = load_bufread(&mut br, &opts()).unwrap();
    assert_eq!(l.keys, 1);
    let mut rest = Vec::new();
    std::io::Read::read_to_end(&mut br, &mut rest).unwrap();
    assert_eq!(rest, b"*1\r\n$4\r\nPING\r\n");
}
