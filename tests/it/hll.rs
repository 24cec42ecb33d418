//! HyperLogLog: differential tests against a real redis-server 7.0. The
//! reply bytes and the stored strings (GET of the HLL key) must be
//! identical for seeded random PFADD workloads of many sizes (crossing the
//! sparse -> dense promotion at several hll-sparse-max-bytes values),
//! PFMERGE / multi-key PFCOUNT, PFDEBUG and the error cases; the propagated
//! commands match Redis's; HLLs, geo sets and SORT results written by either
//! server are read by the other through replication and RDB files.
use crate::common::*;
use std::time::Duration;

/// Both servers, one connection to each; every command goes to both and
/// the exact reply bytes are compared.
pub(crate) struct Diff {
    pub ours: RespConn,
    pub real: RespConn,
    pub mismatches: Vec<String>,
    pub n: usize,
}

impl Diff {
    pub fn start() -> Option<(Server, RealRedis, Diff)> {
        let real = RealRedis::start()?;
        let s = Server::start();
        let d = Diff {
            ours: RespConn::connect(s.port),
            real: RespConn::connect(real.port),
            mismatches: Vec::new(),
            n: 0,
        };
        Some((s, real, d))
    }

    pub fn both_b(&mut self, args: &[&[u8]]) -> Vec<u8> {
        let a = self.ours.call_b(args);
        let b = self.real.call_b(args);
        self.n += 1;
        if a != b {
            let cmd: Vec<String> = args
                .iter()
                .map(|x| String::from_utf8_lossy(x).into_owned())
                .collect();
            self.mismatches.push(format!(
                "{}\n   ours: {:?}\n  redis: {:?}",
                cmd.join(" "),
                String::from_utf8_lossy(&a[..a.len().min(300)]),
                String::from_utf8_lossy(&b[..b.len().min(300)])
            ));
        }
        a
    }

    pub fn both(&mut self, args: &[&str]) -> Vec<u8> {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        self.both_b(&a)
    }

    pub fn line(&mut self, l: &str) -> Vec<u8> {
        let w: Vec<&str> = l.split(' ').collect();
        self.both(&w)
    }

    pub fn check(&self) {
        assert!(
            self.mismatches.is_empty(),
            "{} of {} replies differ from redis-server:\n{}",
            self.mismatches.len(),
            self.n,
            self.mismatches
                .iter()
                .take(30)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
        assert!(self.n > 0);
    }
}

/// A small seeded generator (xorshift64*).
pub(crate) struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[test]
fn scripted_replies_and_errors_match_redis() {
    let Some((_s, _r, mut d)) = Diff::start() else {
        return;
    };
    for l in [
        "PFADD h a b c d e",
        "GET h",
        "PFCOUNT h",
        "GET h",
        "PFADD h a",
        "GET h",
        "PFADD e",
        "GET e",
        "PFCOUNT e",
        "PFADD h2 x y z a",
        "PFMERGE h3 h h2",
        "GET h3",
        "PFCOUNT h h2 nokey",
        "PFCOUNT h3",
        "PFMERGE h3",
        "PFMERGE fresh",
        "GET fresh",
        "PFDEBUG ENCODING h",
        "PFDEBUG DECODE h",
        "PFDEBUG TODENSE h",
        "PFDEBUG TODENSE h",
        "PFDEBUG DECODE h",
        "GET h",
        "PFCOUNT h",
        "PFDEBUG GETREG h2",
        "PFDEBUG ENCODING h2",
        "PFDEBUG GETREG nokey",
        "PFDEBUG NOSUCH h",
        "PFMERGE h2 h",
        "PFDEBUG ENCODING h2",
        "GET h2",
        "SET s foo",
        "PFADD s a",
        "PFCOUNT s",
        "PFCOUNT h s",
        "PFMERGE s h",
        "PFDEBUG ENCODING s",
        "SET bad HYLLxxxxxxxxxxxxxxxx",
        "PFADD bad a",
        "SET num 12345",
        "PFCOUNT num",
        "LPUSH l a",
        "PFADD l a",
        "PFCOUNT l",
        "PFMERGE l h",
        "PFSELFTEST",
        "PFCOUNT",
        "PFDEBUG GETREG",
    ] {
        d.line(l);
    }
    // A corrupted sparse HLL (runs that do not cover 16384 registers).
    let mut corrupt = b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80".to_vec();
    corrupt.extend_from_slice(&[0x7f, 0x00]);
    d.both_b(&[b"SET", b"c", &corrupt]);
    for l in ["PFCOUNT c", "PFADD c zz", "PFCOUNT c h", "PFMERGE x c"] {
        d.line(l);
    }
    d.check();
}

#[test]
fn random_workloads_give_identical_strings_and_counts() {
    let Some((_s, _r, mut d)) = Diff::start() else {
        return;
    };
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for max_bytes in ["3000", "300", "0", "12000"] {
        d.both(&["CONFIG", "SET", "hll-sparse-max-bytes", max_bytes]);
        d.line("FLUSHALL");
        let sizes = [
            1u64, 2, 3, 7, 20, 64, 150, 400, 800, 1500, 3000, 7000, 20000,
        ];
        for (k, &n) in sizes.iter().enumerate() {
            let key = format!("h{k}");
            let mut added = 0;
            while added < n {
                let batch = (1 + rng.below(40)).min(n - added);
                let mut args = vec!["PFADD".to_string(), key.clone()];
                for _ in 0..batch {
                    // Some repeats, some binary-ish elements.
                    args.push(match rng.below(10) {
                        0 => format!("dup{}", rng.below(5)),
                        1 => format!("\x01\u{7f}{}", rng.next()),
                        _ => format!("e{}", rng.next()),
                    });
                }
                let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
                d.both(&a);
                added += batch;
                if rng.below(8) == 0 {
                    d.both(&["PFCOUNT", &key]);
                }
            }
            d.both(&["GET", &key]);
            d.both(&["PFCOUNT", &key]);
            d.both(&["GET", &key]);
            d.both(&["PFDEBUG", "ENCODING", &key]);
        }
        for _ in 0..12 {
            let a = format!("h{}", rng.below(sizes.len() as u64));
            let b = format!("h{}", rng.below(sizes.len() as u64));
            let dst = format!("m{}", rng.below(4));
            d.both(&["PFMERGE", &dst, &a, &b]);
            d.both(&["GET", &dst]);
            d.both(&["PFCOUNT", &dst]);
            d.both(&["PFCOUNT", &a, &b, "nokey"]);
        }
    }
    d.check();
}

#[test]
fn propagated_commands_match_redis() {
    let rdir = tempfile::tempdir().unwrap();
    let Some(real) = RealRedis::start_with(&["--dir", &rdir.path().display().to_string()]) else {
        return;
    };
    let ours = Server::with_config("repl-diskless-sync-delay = 0\n");
    let script = [
        "PFADD h a b c",
        "PFADD h a",
        "PFCOUNT h",
        "PFCOUNT h",
        "PFCOUNT h nokey",
        "PFMERGE m h",
        "PFDEBUG TODENSE m",
        "PFDEBUG TODENSE m",
        "GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania",
        "GEOADD g NX CH 13.361389 38.115556 Palermo 1 1 x",
        "GEOADD g XX 13.361389 38.115556 Palermo",
        "GEOSEARCHSTORE d g FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST",
        "GEORADIUS g 15 37 200 km STORE d2",
        "GEOSEARCHSTORE d g FROMLONLAT 0 0 BYRADIUS 1 km",
        "BITFIELD b SET u8 0 200 GET u8 0",
        "BITFIELD b GET u8 0",
        "BITFIELD b OVERFLOW FAIL INCRBY u8 0 100",
        "BITFIELD b SET u8 0 200",
        "BITFIELD b SET u8 0 201",
        "BITFIELD nb OVERFLOW FAIL SET u2 0 10",
        "BITFIELD nb SET u2 0 0",
        "RPUSH l 3 1 2",
        "SORT l STORE ls",
        "SORT l",
        "SORT_RO l",
    ];
    let mut got = Vec::new();
    for port in [ours.port, real.port] {
        let mut tap = crate::streams::Tap::start(port);
        let mut c = RespConn::connect(port);
        for l in script {
            c.c(l);
        }
        c.c("SET end 1");
        let mut cmds = Vec::new();
        while cmds.last().map(|s: &String| s.as_str()) != Some("SET end 1") {
            cmds.extend(tap.commands(1));
        }
        got.push(cmds);
    }
    assert_eq!(got[0], got[1], "ours (left) vs redis-server (right)");
}

/// HLLs (sparse and dense), a geo set and a SORT STORE result.
fn workload(port: u16) {
    let mut c = RespConn::connect(port);
    c.c("PFADD small a b c d");
    let mut args: Vec<String> = vec!["PFADD".into(), "big".into()];
    args.extend((0..5000).map(|i| format!("x{i}")));
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    c.call(&a);
    c.c("PFCOUNT big");
    c.c("GEOADD geo 13.361389 38.115556 Palermo 15.087269 37.502669 Catania 2.35 48.85 Paris");
    c.c("RPUSH l 3 1 2");
    c.c("SORT l DESC STORE sorted");
    c.c("BITFIELD bf SET i16 #3 -1234");
}

fn state(port: u16) -> Vec<Vec<u8>> {
    let mut c = RespConn::connect(port);
    [
        "GET small",
        "GET big",
        "PFCOUNT small big",
        "GEOSEARCH geo FROMLONLAT 10 40 BYRADIUS 2000 km ASC WITHCOORD WITHDIST WITHHASH",
        "LRANGE sorted 0 -1",
        "GET bf",
    ]
    .iter()
    .map(|l| c.c(l).into_bytes())
    .collect()
}

#[test]
fn data_moves_both_ways_by_replication_and_rdb() {
    let rdir = tempfile::tempdir().unwrap();
    let Some(real) = RealRedis::start_with(&["--dir", &rdir.path().display().to_string()]) else {
        return;
    };
    // Our master, a real replica (full sync, then the stream).
    let ours = Server::start();
    let mut oc = RespConn::connect(ours.port);
    oc.c("PFADD before 1 2 3");
    follow(real.port, ours.port);
    workload(ours.port);
    assert!(wait_caught_up(
        ours.port,
        real.port,
        Duration::from_secs(10)
    ));
    assert_eq!(state(ours.port), state(real.port));
    assert_eq!(
        RespConn::connect(real.port).c("GET before"),
        oc.c("GET before")
    );
    // Our dump read by a real server, and DEBUG RELOAD keeps everything.
    let before = state(ours.port);
    oc.c("DEBUG RELOAD");
    assert_eq!(state(ours.port), before);

    // A real master's RDB and stream followed by our replica.
    let rdir2 = tempfile::tempdir().unwrap();
    let real2 = RealRedis::start_with(&["--dir", &rdir2.path().display().to_string()])
        .expect("second redis");
    workload(real2.port);
    let replica = Server::start();
    follow(replica.port, real2.port);
    RespConn::connect(real2.port).c("PFADD small e f g");
    assert!(wait_caught_up(
        real2.port,
        replica.port,
        Duration::from_secs(10)
    ));
    assert_eq!(state(real2.port), state(replica.port));

    // An RDB file written by us loads in real Redis.
    let mut rc = RespConn::connect(real2.port);
    rc.c("SAVE");
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(rdir2.path().join("dump.rdb"), tmp.path().join("dump.rdb")).unwrap();
    let from_real = Server::with_data_dir(tmp.path(), "");
    assert_eq!(state(from_real.port), state(real2.port));
    RespConn::connect(from_real.port).c("SAVE");
    let tmp2 = tempfile::tempdir().unwrap();
    std::fs::copy(tmp.path().join("dump.rdb"), tmp2.path().join("dump.rdb")).unwrap();
    let real3 =
        RealRedis::start_with(&["--dir", &tmp2.path().display().to_string()]).expect("redis");
    assert_eq!(state(real3.port), state(real2.port));
}
