//! RDB interop with a real Redis 7.0: (a) a dump written by redis-server is
//! loaded by `rsredis::persist::rdb::load` and compared key by key (type,
//! value, TTL, encoding) with what the server reports; (b) a file written by
//! `RdbWriter` passes `redis-check-rdb` and loads in a real redis-server with
//! the same contents. Skipped only when the peer binaries are absent and
//! RSREDIS_REQUIRE_INTEROP is unset.
use crate::common::*;

use rsredis::persist::rdb::{self, LoadOpts, RdbWriter};
use rsredis::store::hash::Hash;
use rsredis::store::list::List;
use rsredis::store::set::Set;
use rsredis::store::zset::ZSet;
use rsredis::store::{Db, EncodingLimits, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A real redis-server with its own dir and dump file name, killed on drop.
struct Peer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Peer {
    /// Start in a fresh dir, optionally with `x.rdb` pre-placed there.
    fn start(bin: &Path, rdb: Option<&[u8]>) -> Peer {
        let mut dir = tempfile::tempdir().unwrap();
        if let Some(b) = rdb {
            std::fs::write(dir.path().join("x.rdb"), b).unwrap();
        }
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let child = Command::new(bin)
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args([
                    "--dir",
                    dir.path().to_str().unwrap(),
                    "--dbfilename",
                    "x.rdb",
                ])
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                .args(["--sanitize-dump-payload", "yes"])
                .args(["--logfile", dir.path().join("log").to_str().unwrap()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn redis-server");
            let pid = child.id();
            let mut peer = Peer { child, port, dir };
            let ours = wait_until(Duration::from_secs(10), || {
                peer.conn_opt().is_some_and(|mut c| {
                    redis::cmd("INFO")
                        .arg("server")
                        .query::<String>(&mut c)
                        .is_ok_and(|s| s.contains(&format!("process_id:{pid}\r\n")))
                })
            });
            if ours {
                return peer;
            }
            let _ = peer.child.kill();
            let _ = peer.child.wait();
            dir = peer.dir_take();
        }
        panic!("could not start redis-server");
    }

    fn dir_take(&mut self) -> tempfile::TempDir {
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }

    fn conn_opt(&self) -> Option<redis::Connection> {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .ok()?
            .get_connection()
            .ok()
    }

    fn conn(&self) -> redis::Connection {
        self.conn_opt().expect("connect to redis-server")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A value in comparable form.
#[derive(Debug, PartialEq)]
enum Repr {
    Str(Vec<u8>),
    List(Vec<Vec<u8>>),
    Set(Vec<Vec<u8>>),
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
    ZSet(Vec<(Vec<u8>, String)>),
}

#[derive(Debug)]
struct KeyState {
    repr: Repr,
    pttl: i64,
    encoding: String,
}

type Snapshot = BTreeMap<Vec<u8>, KeyState>;

fn fmt_score(d: f64) -> String {
    rsredis::util::fmt_double(d)
}

fn ours(db: &Db) -> Snapshot {
    let now = now_ms() as i64;
    let mut out = Snapshot::new();
    let mut cursor = 0;
    loop {
        cursor = db.scan(cursor, 1000, |e| {
            let repr = match &e.value {
                Value::Str(s) => Repr::Str(s.as_bytes().to_vec()),
                Value::List(l) => Repr::List(l.iter().map(|x| x.to_vec()).collect()),
                Value::Set(s) => {
                    let mut v: Vec<Vec<u8>> = s.iter().map(|m| m.to_vec()).collect();
                    v.sort();
                    Repr::Set(v)
                }
                Value::Hash(h) => {
                    let mut v: Vec<_> = h.iter().map(|(f, x)| (f.to_vec(), x.to_vec())).collect();
                    v.sort();
                    Repr::Hash(v)
                }
                Value::ZSet(z) => {
                    let mut v = Vec::new();
                    z.for_each(|m, s| v.push((m.to_vec(), fmt_score(s))));
                    Repr::ZSet(v)
                }
                // Streams are compared through XINFO in tests/it/streams.rs.
                Value::Stream(x) => Repr::Str(format!("stream:{}", x.len()).into_bytes()),
            };
            let pttl = if e.expire == 0 {
                -1
            } else {
                e.expire as i64 - now
            };
            out.insert(
                e.key.as_bytes().to_vec(),
                KeyState {
                    repr,
                    pttl,
                    encoding: e.value.encoding().to_string(),
                },
            );
        });
        if cursor == 0 {
            break;
        }
    }
    out
}

fn real(c: &mut redis::Connection, db: usize) -> Snapshot {
    redis::cmd("SELECT").arg(db).query::<()>(c).unwrap();
    let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(c).unwrap();
    let mut out = Snapshot::new();
    for k in keys {
        let t: String = redis::cmd("TYPE").arg(&k).query(c).unwrap();
        let repr = match t.as_str() {
            "string" => Repr::Str(redis::cmd("GET").arg(&k).query(c).unwrap()),
            "list" => Repr::List(
                redis::cmd("LRANGE")
                    .arg(&k)
                    .arg(0)
                    .arg(-1)
                    .query(c)
                    .unwrap(),
            ),
            "set" => {
                let mut v: Vec<Vec<u8>> = redis::cmd("SMEMBERS").arg(&k).query(c).unwrap();
                v.sort();
                Repr::Set(v)
            }
            "hash" => {
                let flat: Vec<Vec<u8>> = redis::cmd("HGETALL").arg(&k).query(c).unwrap();
                let mut v: Vec<_> = flat
                    .chunks(2)
                    .map(|p| (p[0].clone(), p[1].clone()))
                    .collect();
                v.sort();
                Repr::Hash(v)
            }
            "zset" => {
                let flat: Vec<Vec<u8>> = redis::cmd("ZRANGE")
                    .arg(&k)
                    .arg(0)
                    .arg(-1)
                    .arg("WITHSCORES")
                    .query(c)
                    .unwrap();
                Repr::ZSet(
                    flat.chunks(2)
                        .map(|p| (p[0].clone(), String::from_utf8(p[1].clone()).unwrap()))
                        .collect(),
                )
            }
            other => panic!("unexpected type {other}"),
        };
        let pttl: i64 = redis::cmd("PTTL").arg(&k).query(c).unwrap();
        let encoding: String = redis::cmd("OBJECT")
            .arg("ENCODING")
            .arg(&k)
            .query(c)
            .unwrap();
        out.insert(
            k,
            KeyState {
                repr,
                pttl,
                encoding,
            },
        );
    }
    out
}

/// Every database of `dbs` equals the real server's, key by key.
fn compare(c: &mut redis::Connection, dbs: &[Db]) -> usize {
    let mut compared = 0;
    for (i, db) in dbs.iter().enumerate() {
        let a = ours(db);
        let b = real(c, i);
        let ka: Vec<_> = a.keys().collect();
        let kb: Vec<_> = b.keys().collect();
        assert_eq!(ka, kb, "key sets differ in DB {i}");
        for (k, x) in &a {
            let y = &b[k];
            let name = String::from_utf8_lossy(k);
            assert_eq!(x.repr, y.repr, "value of '{name}' in DB {i}");
            assert_eq!(x.encoding, y.encoding, "encoding of '{name}' in DB {i}");
            assert_eq!(x.pttl < 0, y.pttl < 0, "TTL presence of '{name}'");
            if x.pttl >= 0 {
                assert!(
                    (x.pttl - y.pttl).abs() < 1500,
                    "TTL of '{name}': {} vs {}",
                    x.pttl,
                    y.pttl
                );
            }
            compared += 1;
        }
    }
    compared
}

fn fill_real(c: &mut redis::Connection) {
    let q = |c: &mut redis::Connection, args: &[&[u8]]| {
        let mut cmd = redis::cmd(std::str::from_utf8(args[0]).unwrap());
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query::<redis::Value>(c).unwrap();
    };
    q(
        c,
        &[b"HSET", b"hash:small", b"f1", b"v1", b"n", b"12", b"e", b""],
    );
    for i in 0..200 {
        q(
            c,
            &[
                b"HSET",
                b"hash:200",
                format!("field{i}").as_bytes(),
                format!("value{i}").as_bytes(),
            ],
        );
    }
    for i in 0..1000 {
        q(
            c,
            &[
                b"HSET",
                b"hash:large",
                format!("f{i}").as_bytes(),
                i.to_string().as_bytes(),
            ],
        );
    }
    q(c, &[b"HSET", b"hash:longval", b"f", &[b'v'; 100]]);
    q(
        c,
        &[
            b"ZADD",
            b"zset:small",
            b"1.5",
            b"a",
            b"2",
            b"b",
            b"inf",
            b"c",
            b"-inf",
            b"d",
            b"0.1",
            b"e",
            b"-3",
            b"f",
        ],
    );
    for i in 0..500 {
        q(
            c,
            &[
                b"ZADD",
                b"zset:large",
                (i as f64 / 7.0).to_string().as_bytes(),
                format!("m{i}").as_bytes(),
            ],
        );
    }
    q(
        c,
        &[
            b"ZADD",
            b"zset:large",
            b"inf",
            b"top",
            b"-inf",
            b"bottom",
            b"42",
            b"int",
        ],
    );
    q(
        c,
        &[
            b"RPUSH",
            b"list:small",
            b"a",
            b"1",
            b"",
            b"-70000",
            b"9000000000",
            b"hello",
        ],
    );
    for i in 0..3000 {
        q(
            c,
            &[
                b"RPUSH",
                b"list:big",
                format!("element-{i}-{}", "x".repeat(i % 90)).as_bytes(),
            ],
        );
    }
    q(c, &[b"RPUSH", b"list:big", &[b'y'; 20000]]);
    q(
        c,
        &[
            b"SADD",
            b"set:ints",
            b"1",
            b"2",
            b"3",
            b"-5",
            b"70000",
            b"9000000000",
        ],
    );
    q(c, &[b"SADD", b"set:strs", b"a", b"b", b"c", b""]);
    for i in 0..1000 {
        q(c, &[b"SADD", b"set:bigints", i.to_string().as_bytes()]);
    }
    for (k, v) in [
        (&b"int:100"[..], &b"100"[..]),
        (b"int:30000", b"30000"),
        (b"int:2000000000", b"2000000000"),
        (b"int:9000000000", b"9000000000"),
        (b"int:neg", b"-12"),
        (b"str:empty", b""),
        (b"str:float", b"3.14"),
        (b"\x00bin\xff key\r\n", b"\x00\x01\xfe"),
    ] {
        q(c, &[b"SET", k, v]);
    }
    q(
        c,
        &[b"SET", b"str:lzf", &b"compressible-".repeat(16)[..200]],
    );
    q(c, &[b"SET", b"str:ttl", b"v", b"PX", b"100000"]);
    q(c, &[b"HSET", b"hash:ttl", b"a", b"b"]);
    q(c, &[b"PEXPIRE", b"hash:ttl", b"5000000"]);
    q(c, &[b"SELECT", b"2"]);
    q(c, &[b"SET", b"in-db-2", b"two"]);
    q(c, &[b"SADD", b"set-db-2", b"x"]);
    q(c, &[b"SELECT", b"0"]);
}

fn opts() -> LoadOpts {
    LoadOpts {
        databases: 16,
        now_ms: now_ms(),
        drop_expired: true,
        limits: EncodingLimits::default(),
        key_load_delay_us: 0,
    }
}

/// The real server's encoding limits (its hash-max-listpack-entries default
/// is 512), so encodings can be compared.
fn real_limits(c: &mut redis::Connection) -> EncodingLimits {
    let mut get = |name: &str| -> i64 {
        let v: Vec<String> = redis::cmd("CONFIG").arg("GET").arg(name).query(c).unwrap();
        v[1].parse().unwrap()
    };
    EncodingLimits {
        hash_max_listpack_entries: get("hash-max-listpack-entries") as usize,
        hash_max_listpack_value: get("hash-max-listpack-value") as usize,
        set_max_intset_entries: get("set-max-intset-entries") as usize,
        zset_max_listpack_entries: get("zset-max-listpack-entries") as usize,
        zset_max_listpack_value: get("zset-max-listpack-value") as usize,
        list_max_listpack_size: get("list-max-listpack-size"),
        stream_node_max_bytes: get("stream-node-max-bytes") as usize,
        stream_node_max_entries: get("stream-node-max-entries") as usize,
        hll_sparse_max_bytes: get("hll-sparse-max-bytes") as usize,
    }
}

/// Write all `dbs` with RdbWriter.
fn write_all(dbs: &[Db]) -> Vec<u8> {
    let mut w = RdbWriter::new(
        Vec::new(),
        &[
            ("repl-stream-db", "0".to_string()),
            (
                "repl-id",
                "0123456789abcdef0123456789abcdef01234567".to_string(),
            ),
            ("repl-offset", "12345".to_string()),
            ("aof-base", "0".to_string()),
        ],
    )
    .unwrap();
    for (i, db) in dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        w.select_db(i, db.len() as u64, db.expires_len() as u64)
            .unwrap();
        let mut cursor = 0;
        loop {
            cursor = db.scan(cursor, 1000, |e| {
                w.entry(e.key.as_bytes(), &e.value, e.expire).unwrap()
            });
            if cursor == 0 {
                break;
            }
        }
    }
    w.finish().unwrap()
}

/// redis-check-rdb must say the file is fine.
fn check_rdb(bytes: &[u8]) {
    let Some(bin) = peer("redis-check-rdb") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p: PathBuf = dir.path().join("ours.rdb");
    std::fs::write(&p, bytes).unwrap();
    let out = Command::new(bin).arg(&p).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "redis-check-rdb failed:\n{text}");
    assert!(text.contains("\\o/ RDB looks OK! \\o/"), "{text}");
    assert!(text.contains("Checksum OK"), "{text}");
}

#[test]
fn load_a_real_redis_dump() {
    let Some(bin) = peer("redis-server") else {
        return;
    };
    let p = Peer::start(&bin, None);
    let mut c = p.conn();
    fill_real(&mut c);
    redis::cmd("SAVE").query::<()>(&mut c).unwrap();
    let file = std::fs::File::open(p.dir.path().join("x.rdb")).unwrap();
    let mut o = opts();
    o.limits = real_limits(&mut c);
    let loaded = rdb::load(file, &o).unwrap();
    assert!(loaded
        .aux
        .iter()
        .any(|(k, v)| k == "redis-ver" && v == b"7.0.15"));
    let n = compare(&mut c, &loaded.dbs);
    assert_eq!(n as u64, loaded.keys);
    assert_eq!(n, 24);

    // And back: what we write from it is accepted by redis-check-rdb and a
    // fresh real server, with the same contents.
    let ours = write_all(&loaded.dbs);
    check_rdb(&ours);
    let p2 = Peer::start(&bin, Some(&ours));
    let mut c2 = p2.conn();
    assert_eq!(compare(&mut c2, &loaded.dbs), n, "{}", p2.log());
}

/// Databases built through the store's own APIs: every type and encoding.
fn our_dbs() -> Vec<Db> {
    let lim = EncodingLimits::default();
    let mut dbs: Vec<Db> = (0..16).map(|_| Db::new()).collect();
    let d = &mut dbs[0];
    for (k, v) in [
        (&b"s:empty"[..], &b""[..]),
        (b"s:100", b"100"),
        (b"s:30000", b"30000"),
        (b"s:2000000000", b"2000000000"),
        (b"s:9000000000", b"9000000000"),
        (b"s:007", b"007"),
        (b"s:float", b"1.5"),
        (b"\x00bin\xffkey", b"\x00\x01\x02"),
    ] {
        d.set(k, Value::str(v), false);
    }
    d.set(b"s:lzf", Value::str(&b"abcdefghij".repeat(20)), false);
    d.set(b"s:big", Value::str(&vec![b'q'; 100_000]), false);
    let idx = d.set(b"s:ttl", Value::str(b"v"), false);
    d.set_expire_idx(idx, now_ms() + 100_000);

    let mut l = List::new(lim.list_max_listpack_size);
    for e in [
        &b"a"[..],
        b"1",
        b"-70000",
        b"",
        b"9000000000",
        b"hello world",
    ] {
        l.push_back(e);
    }
    d.set(b"l:small", Value::List(Box::new(l)), false);
    let mut l = List::new(lim.list_max_listpack_size);
    for i in 0..5000 {
        l.push_back(format!("element-{i}-{}", "x".repeat(i % 70)).as_bytes());
    }
    l.push_back(&vec![b'y'; 20000]);
    for i in 0..100 {
        l.push_back(i.to_string().as_bytes());
    }
    d.set(b"l:big", Value::List(Box::new(l)), false);

    let mut s = Set::default();
    for i in [1i64, -2, 300, 70000, 9000000000] {
        s.insert(i.to_string().as_bytes(), lim.set_max_intset_entries);
    }
    d.set(b"set:ints", Value::Set(Box::new(s)), false);
    let mut s = Set::default();
    for m in [&b"a"[..], b"b", b"1", b""] {
        s.insert(m, lim.set_max_intset_entries);
    }
    d.set(b"set:strs", Value::Set(Box::new(s)), false);
    let mut s = Set::default();
    for i in 0..2000 {
        s.insert(i.to_string().as_bytes(), lim.set_max_intset_entries);
    }
    d.set(b"set:bigints", Value::Set(Box::new(s)), false);

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
    for i in 0..100 {
        let v = format!("value-{i}-{}", "z".repeat(i % 40));
        h.set(format!("field{i}").as_bytes(), v.as_bytes(), 128, 64);
    }
    d.set(b"h:100", Value::Hash(Box::new(h)), false);
    let mut h = Hash::new();
    for i in 0..1000 {
        h.set(
            format!("f{i}").as_bytes(),
            i.to_string().as_bytes(),
            128,
            64,
        );
    }
    d.set(b"h:large", Value::Hash(Box::new(h)), false);
    let mut h = Hash::new();
    h.set(b"long", &[b'z'; 100], 128, 64);
    let idx = d.set(b"h:longval", Value::Hash(Box::new(h)), false);
    d.set_expire_idx(idx, now_ms() + 3_000_000);

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
        (b"j", 123456789.0),
    ] {
        z.insert(m, s, 128, 64);
    }
    d.set(b"z:small", Value::ZSet(Box::new(z)), false);
    let mut z = ZSet::new_pack();
    for i in 0..500 {
        z.insert(format!("m{i}").as_bytes(), i as f64 / 3.0, 128, 64);
    }
    z.insert(b"inf", f64::INFINITY, 128, 64);
    d.set(b"z:large", Value::ZSet(Box::new(z)), false);

    dbs[2].set(b"in-db-2", Value::str(b"two"), false);
    let idx = dbs[15].set(b"ttl15", Value::str(b"x"), false);
    dbs[15].set_expire_idx(idx, now_ms() + 5_000_000);
    dbs
}

#[test]
fn real_redis_loads_what_we_write() {
    let dbs = our_dbs();
    let bytes = write_all(&dbs);
    check_rdb(&bytes);
    let Some(bin) = peer("redis-server") else {
        return;
    };
    let p = Peer::start(&bin, Some(&bytes));
    let mut c = p.conn();
    let n = compare(&mut c, &dbs);
    assert_eq!(n, dbs.iter().map(|d| d.len()).sum::<usize>(), "{}", p.log());
    // Our own loader agrees too.
    let mut o = opts();
    o.limits = real_limits(&mut c);
    let loaded = rdb::load(&bytes[..], &o).unwrap();
    assert_eq!(compare(&mut c, &loaded.dbs), n);
}

// ------------------------------------------------------------ Redis 6.x encodings

/// A ziplist as Redis <= 6.2 lays it out (test-only builder).
fn ziplist(elems: &[&[u8]]) -> Vec<u8> {
    let mut b = vec![0u8; 10];
    let mut prev = 0usize;
    let mut tail = 10;
    for e in elems {
        tail = b.len();
        let start = b.len();
        if prev < 254 {
            b.push(prev as u8);
        } else {
            b.push(0xFE);
            b.extend_from_slice(&(prev as u32).to_le_bytes());
        }
        match std::str::from_utf8(e)
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
            .filter(|v| v.to_string().as_bytes() == *e)
        {
            Some(v) if (0..=12).contains(&v) => b.push(0xF1 + v as u8),
            Some(v) if i8::try_from(v).is_ok() => {
                b.push(0xFE);
                b.push(v as i8 as u8);
            }
            Some(v) if i16::try_from(v).is_ok() => {
                b.push(0xC0);
                b.extend_from_slice(&(v as i16).to_le_bytes());
            }
            Some(v) if (-(1 << 23)..(1 << 23)).contains(&v) => {
                b.push(0xF0);
                b.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
            }
            Some(v) if i32::try_from(v).is_ok() => {
                b.push(0xD0);
                b.extend_from_slice(&(v as i32).to_le_bytes());
            }
            Some(v) => {
                b.push(0xE0);
                b.extend_from_slice(&v.to_le_bytes());
            }
            None => {
                let n = e.len();
                if n < 64 {
                    b.push(n as u8);
                } else if n < 16384 {
                    b.push(0x40 | (n >> 8) as u8);
                    b.push(n as u8);
                } else {
                    b.push(0x80);
                    b.extend_from_slice(&(n as u32).to_be_bytes());
                }
                b.extend_from_slice(e);
            }
        }
        prev = b.len() - start;
    }
    b.push(0xFF);
    let total = b.len() as u32;
    b[..4].copy_from_slice(&total.to_le_bytes());
    b[4..8].copy_from_slice(&(tail as u32).to_le_bytes());
    b[8..10].copy_from_slice(&(elems.len() as u16).to_le_bytes());
    b
}

fn rdb_str(out: &mut Vec<u8>, s: &[u8]) {
    let n = s.len();
    if n < 64 {
        out.push(n as u8);
    } else if n < 16384 {
        out.push(0x40 | (n >> 8) as u8);
        out.push(n as u8);
    } else {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
    out.extend_from_slice(s);
}

/// A REDIS0009 file with the encodings Redis 6.2 (and older) wrote.
fn redis6_file() -> Vec<u8> {
    let big = vec![b'w'; 300];
    let huge = vec![b'h'; 20000];
    let list: Vec<&[u8]> = vec![
        b"a",
        b"0",
        b"12",
        b"13",
        b"-100",
        b"1000",
        b"-8000000",
        b"2000000000",
        b"9000000000",
        b"",
        &big,
        &huge,
        b"tail",
    ];
    let mut r = b"REDIS0009".to_vec();
    r.push(0xFA);
    rdb_str(&mut r, b"redis-ver");
    rdb_str(&mut r, b"6.2.14");
    r.extend_from_slice(&[0xFE, 0]);
    // 10: list as one ziplist.
    r.push(10);
    rdb_str(&mut r, b"list:ziplist");
    rdb_str(&mut r, &ziplist(&list));
    // 14: quicklist of ziplists (two nodes).
    r.push(14);
    rdb_str(&mut r, b"list:quicklist");
    r.push(2);
    rdb_str(&mut r, &ziplist(&list[..5]));
    rdb_str(&mut r, &ziplist(&list[5..]));
    // 13: hash ziplist.
    r.push(13);
    rdb_str(&mut r, b"hash:ziplist");
    rdb_str(
        &mut r,
        &ziplist(&[b"f1", b"v1", b"n", b"7", b"big", b"123456789012"]),
    );
    // 12: zset ziplist (member, score; sorted by score).
    r.push(12);
    rdb_str(&mut r, b"zset:ziplist");
    rdb_str(
        &mut r,
        &ziplist(&[b"low", b"-2", b"mid", b"1.5", b"hi", b"3"]),
    );
    // Long elements in ziplists do not force a conversion on load (only the count does).
    let long = vec![b'L'; 100];
    r.push(13);
    rdb_str(&mut r, b"hash:ziplist-long");
    rdb_str(&mut r, &ziplist(&[b"f", &long]));
    r.push(12);
    rdb_str(&mut r, b"zset:ziplist-long");
    rdb_str(&mut r, &ziplist(&[&long, b"1"]));
    // 9: zipmap hash.
    r.push(9);
    rdb_str(&mut r, b"hash:zipmap");
    rdb_str(
        &mut r,
        &[
            2, 2, b'k', b'1', 3, 0, b'a', b'b', b'c', 2, b'k', b'2', 0, 0, 0xFF,
        ],
    );
    // 3: zset with ASCII scores.
    r.push(3);
    rdb_str(&mut r, b"zset:ascii");
    r.push(2);
    rdb_str(&mut r, b"x");
    rdb_str(&mut r, b"2.5");
    rdb_str(&mut r, b"y");
    r.push(254);
    // 1: plain list, 2: plain set, 11: intset.
    r.push(1);
    rdb_str(&mut r, b"list:plain");
    r.push(2);
    rdb_str(&mut r, b"p");
    rdb_str(&mut r, b"q");
    r.push(2);
    rdb_str(&mut r, b"set:plain");
    r.push(3);
    for m in [&b"m1"[..], b"1", b"2"] {
        rdb_str(&mut r, m);
    }
    r.push(11);
    rdb_str(&mut r, b"set:intset");
    let mut is = vec![4, 0, 0, 0, 3, 0, 0, 0];
    for v in [-70000i32, 5, 70000] {
        is.extend_from_slice(&v.to_le_bytes());
    }
    rdb_str(&mut r, &is);
    r.push(0xFF);
    let crc = rdb::crc64::crc64(&r);
    r.extend_from_slice(&crc.to_le_bytes());
    r
}

#[test]
fn redis6_encodings_load_like_real_redis() {
    let f = redis6_file();
    let Some(bin) = peer("redis-server") else {
        // Still check our loader on its own.
        assert_eq!(rdb::load(&f[..], &opts()).unwrap().keys, 11);
        return;
    };
    let p = Peer::start(&bin, Some(&f));
    let mut c = p.conn();
    let mut o = opts();
    o.limits = real_limits(&mut c);
    let loaded = rdb::load(&f[..], &o).unwrap();
    assert_eq!(loaded.keys, 11);
    assert_eq!(compare(&mut c, &loaded.dbs), 11, "{}", p.log());
}
