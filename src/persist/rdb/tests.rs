//! Writer -> loader round trips and corrupt-input handling.

use super::*;
use crate::store::{EncodingLimits, Value};

fn opts() -> LoadOpts {
    LoadOpts {
        databases: 16,
        now_ms: crate::util::now_ms(),
        drop_expired: true,
        limits: EncodingLimits::default(),
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
    };
    (v.type_name().into(), v.encoding().into(), items)
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

#[test]
fn tmp_dump_for_check() {
    if let Ok(p) = std::env::var("RDB_DUMP_TO") {
        std::fs::write(p, write_dbs(&sample_dbs())).unwrap();
    }
}
