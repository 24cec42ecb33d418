//! Streams: a differential test against a real redis-server 7.0 (scripted
//! sequences with error cases plus seeded random XADD/XTRIM/XDEL/XREADGROUP/
//! XACK/XCLAIM/XAUTOCLAIM workloads, replies compared with time-dependent
//! fields normalised), blocking XREAD/XREADGROUP, replication effects and
//! RDB interop with real Redis in both directions.
use crate::common::*;
use std::time::Duration;

/// A parsed RESP2 reply.
#[derive(Debug, Clone, PartialEq)]
enum V {
    Simple(String),
    Err(String),
    Int(i64),
    Bulk(Option<String>),
    Arr(Option<Vec<V>>),
}

fn parse(b: &[u8]) -> V {
    fn go(b: &[u8], p: &mut usize) -> V {
        let end = b[*p..].windows(2).position(|w| w == b"\r\n").unwrap() + *p;
        let line = String::from_utf8_lossy(&b[*p + 1..end]).into_owned();
        let t = b[*p];
        *p = end + 2;
        match t {
            b'+' => V::Simple(line),
            b'-' => V::Err(line),
            b':' => V::Int(line.parse().unwrap()),
            b'$' => {
                let n: i64 = line.parse().unwrap();
                if n < 0 {
                    return V::Bulk(None);
                }
                let s = String::from_utf8_lossy(&b[*p..*p + n as usize]).into_owned();
                *p += n as usize + 2;
                V::Bulk(Some(s))
            }
            b'*' => {
                let n: i64 = line.parse().unwrap();
                if n < 0 {
                    return V::Arr(None);
                }
                V::Arr(Some((0..n).map(|_| go(b, p)).collect()))
            }
            _ => panic!("unexpected reply type {}", t as char),
        }
    }
    go(b, &mut 0)
}

impl std::fmt::Display for V {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            V::Simple(s) => write!(f, "+{s}"),
            V::Err(s) => write!(f, "-{s}"),
            V::Int(i) => write!(f, "{i}"),
            V::Bulk(None) => write!(f, "nil"),
            V::Bulk(Some(s)) => write!(f, "{s:?}"),
            V::Arr(None) => write!(f, "*nil"),
            V::Arr(Some(v)) => {
                write!(f, "[")?;
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{x}")?;
                }
                write!(f, "]")
            }
        }
    }
}

const T: V = V::Simple(String::new());

/// Replace the value after `label` in a flat [label, value, ...] array.
fn blank_field(v: &mut V, label: &str) {
    if let V::Arr(Some(items)) = v {
        for i in 0..items.len().saturating_sub(1) {
            if items[i] == V::Bulk(Some(label.into())) {
                items[i + 1] = T;
            }
        }
    }
}

fn field<'a>(v: &'a mut V, label: &str) -> Option<&'a mut V> {
    if let V::Arr(Some(items)) = v {
        let i = items
            .iter()
            .position(|x| *x == V::Bulk(Some(label.into())))?;
        return items.get_mut(i + 1);
    }
    None
}

fn each(v: &mut V, mut f: impl FnMut(&mut V)) {
    if let V::Arr(Some(items)) = v {
        items.iter_mut().for_each(&mut f);
    }
}

/// Blank what depends on the clock or on Redis's radix-tree internals.
fn normalise(cmd: &[String], mut v: V) -> V {
    let name = cmd[0].to_ascii_lowercase();
    let sub = cmd
        .get(1)
        .map(|s| s.to_ascii_lowercase())
        .unwrap_or_default();
    match (name.as_str(), sub.as_str()) {
        ("xpending", _) if cmd.len() > 3 => each(&mut v, |e| {
            if let V::Arr(Some(x)) = e {
                x[2] = T;
            }
        }),
        ("xinfo", "consumers") => each(&mut v, |c| blank_field(c, "idle")),
        ("xinfo", "stream") => {
            blank_field(&mut v, "radix-tree-nodes");
            if let Some(groups) = field(&mut v, "groups") {
                each(groups, |g| {
                    if let Some(p) = field(g, "pending") {
                        each(p, |e| {
                            if let V::Arr(Some(x)) = e {
                                x[2] = T;
                            }
                        });
                    }
                    if let Some(cs) = field(g, "consumers") {
                        each(cs, |c| {
                            blank_field(c, "seen-time");
                            if let Some(p) = field(c, "pending") {
                                each(p, |e| {
                                    if let V::Arr(Some(x)) = e {
                                        x[1] = T;
                                    }
                                });
                            }
                        });
                    }
                });
            }
        }
        _ => {}
    }
    v
}

struct Pair {
    ours: RespConn,
    real: RespConn,
    mismatches: Vec<String>,
    n: usize,
}

impl Pair {
    fn both(&mut self, args: &[&str]) -> V {
        let a = parse(&self.ours.call(args));
        let b = parse(&self.real.call(args));
        let cmd: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let (na, nb) = (normalise(&cmd, a.clone()), normalise(&cmd, b));
        self.n += 1;
        if na != nb {
            self.mismatches
                .push(format!("{}\n   ours: {na}\n  redis: {nb}", args.join(" ")));
        }
        a
    }

    fn line(&mut self, l: &str) -> V {
        let w: Vec<&str> = l.split(' ').collect();
        self.both(&w)
    }

    fn check(&self) {
        assert!(
            self.mismatches.is_empty(),
            "{} of {} replies differ from redis-server:\n{}",
            self.mismatches.len(),
            self.n,
            self.mismatches
                .iter()
                .take(40)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

fn pair() -> Option<(Server, RealRedis, Pair)> {
    let real = RealRedis::start()?;
    let s = Server::start();
    let p = Pair {
        ours: RespConn::connect(s.port),
        real: RespConn::connect(real.port),
        mismatches: Vec::new(),
        n: 0,
    };
    Some((s, real, p))
}

const SCRIPT: &str = "
XADD s 1-1 a 1
XADD s 1-1 a 1
XADD s 1-0 a 1
XADD s 0-0 a 1
XADD s 1-* b 2
XADD s 1-* c 3 d 4
XADD s 2 a 5
XADD s 3-5 a 6 b 7
XADD s nomkstream 4-0 a x
XADD nos NOMKSTREAM 4-0 a x
EXISTS nos
XADD s 5-0 a
XADD s 5-0
XADD s bad-id a 1
XADD s 18446744073709551616-0 a 1
XADD s MAXLEN -1 6-0 a 1
XADD s MAXLEN 1 MINID 0 6-0 a 1
XADD s MAXLEN = 10 LIMIT 5 6-0 a 1
XADD s MAXLEN ~ 10 LIMIT -5 6-0 a 1
XADD s MAXLEN ~ abc 6-0 a 1
XADD s MINID bad 6-0 a 1
XADD s LIMIT 5 6-0 a 1
XLEN s
XLEN nos
XRANGE s - +
XRANGE s - + COUNT 2
XRANGE s - + COUNT 0
XRANGE s - + COUNT -1
XRANGE s (1-1 +
XRANGE s 1 1
XRANGE s 1-1 (3-5
XRANGE s (18446744073709551615-18446744073709551615 +
XRANGE s - (0-0
XRANGE s (- +
XRANGE s abc +
XRANGE s - + COUNT
XRANGE s - + FOO 1
XRANGE nos - +
XREVRANGE s + -
XREVRANGE s + - COUNT 1
XREVRANGE s 2 1
XREVRANGE s (3-5 -
XDEL s 1-2
XDEL s 1-2 9-9
XDEL s bad
XDEL nos 1-1
XRANGE s - +
XINFO STREAM s
XSETID s 1-0
XSETID s 10-0
XSETID s 10-0 ENTRIESADDED 1
XSETID s 10-0 ENTRIESADDED -1
XSETID s 10-0 MAXDELETEDID 11-0
XSETID s 10-0 ENTRIESADDED 100 MAXDELETEDID 2-0
XSETID s 10-0 FOO 1
XSETID nos 10-0
XINFO STREAM s
XADD s 10-0 a 1
XADD s 10-* a 1
XADD star * a 1
XTRIM s MAXLEN 3
XTRIM s MAXLEN = 100
XTRIM s
XTRIM s FOO 1
XTRIM s MINID 3-6
XTRIM nos MAXLEN 0
XTRIM s MAXLEN ~ 0 LIMIT 1
XTRIM s MAXLEN 1 LIMIT 1
XRANGE s - +
SET str x
XADD str 1-1 a 1
XRANGE str - +
XLEN str
XTRIM str MAXLEN 1
XGROUP CREATE str g $
XINFO STREAM str
TYPE s
OBJECT ENCODING s
XGROUP CREATE nos g $
XGROUP CREATE nos g $ MKSTREAM
XGROUP CREATE nos g $ MKSTREAM
XGROUP CREATE nos g2 0 ENTRIESREAD 3
XGROUP CREATE nos g3 0 ENTRIESREAD -2
XGROUP CREATE nos g3 0 FOO
XGROUP CREATE nos g3 bad
XGROUP CREATE nos g3
XGROUP SETID nos nog 0
XGROUP SETID nos g 0 ENTRIESREAD 5
XGROUP SETID nos g 0 FOO 5
XGROUP SETID nos g $
XGROUP CREATECONSUMER nos g c1
XGROUP CREATECONSUMER nos g c1
XGROUP CREATECONSUMER nos nog c1
XGROUP DELCONSUMER nos g c1
XGROUP DELCONSUMER nos g c1
XGROUP DESTROY nos g2
XGROUP DESTROY nos g2
XGROUP FOO nos g
XGROUP HELP
XINFO HELP
XINFO GROUPS nos
XINFO GROUPS none
XINFO CONSUMERS nos nog
XINFO STREAM nos FULL
XINFO STREAM nos FULL COUNT
XINFO STREAM nos FOO
DEL q
XADD q 1-0 f v
XADD q 2-0 f v
XADD q 3-0 f v g w
XADD q 4-0 f v
XADD q 5-0 f v
XGROUP CREATE q g 0
XGROUP CREATE q late $
XREADGROUP GROUP g alice COUNT 2 STREAMS q >
XREADGROUP GROUP g bob STREAMS q >
XREADGROUP GROUP g bob STREAMS q >
XREADGROUP GROUP g alice STREAMS q 0
XREADGROUP GROUP g alice COUNT 1 STREAMS q 1-0
XREADGROUP GROUP g alice STREAMS q $
XREADGROUP GROUP nog alice STREAMS q >
XREADGROUP GROUP g alice STREAMS nos2 >
XREADGROUP GROUP g alice STREAMS q
XREADGROUP STREAMS q >
XREADGROUP GROUP g alice FOO STREAMS q >
XREAD GROUP g alice STREAMS q 0
XREAD NOACK STREAMS q 0
XREAD STREAMS q >
XREAD STREAMS q 0
XREAD COUNT 2 STREAMS q nos 0 0
XREAD COUNT 2 STREAMS q 2
XREAD STREAMS q $
XREAD STREAMS q str 0 0
COMMAND GETKEYS XREAD COUNT 2 STREAMS a b 0 0
COMMAND GETKEYS XREADGROUP GROUP g c NOACK STREAMS a >
XREAD STREAMS q bad
XREAD BLOCK -1 STREAMS q 0
XREAD BLOCK abc STREAMS q 0
XPENDING q g
XPENDING q g - + 10
XPENDING q g - + 10 alice
XPENDING q g - + 10 nobody
XPENDING q g IDLE 0 - + 10
XPENDING q g IDLE 100000 - + 10
XPENDING q g (1-0 (5-0 10
XPENDING q g - + -1
XPENDING q g - + abc
XPENDING q g IDLE 5 - +
XPENDING q g - +
XPENDING q nog
XPENDING nos3 g
XINFO GROUPS q
XINFO CONSUMERS q g
XACK q g 1-0 9-9
XACK q g 1-0
XACK q g bad
XACK q nog 2-0
XACK nos3 g 2-0
XCLAIM q g carol 0 2-0 3-0 JUSTID
XCLAIM q g carol 0 2-0 RETRYCOUNT 7 IDLE 5
XCLAIM q g carol 100000000 4-0
XCLAIM q g carol 0 5-0 FORCE TIME 1000 RETRYCOUNT 3
XCLAIM q g dave 0 1-0 FORCE
XCLAIM q g dave 0 9-0 FORCE
XCLAIM q g dave 0 3-0 LASTID 4-0
XCLAIM q g dave 0 3-0 FOO
XCLAIM q g dave abc 3-0
XCLAIM q g dave 0 3-0 IDLE abc
XCLAIM q g dave 0 3-0 TIME abc
XCLAIM q g dave 0 3-0 RETRYCOUNT abc
XCLAIM q g dave 0 3-0 LASTID bad
XCLAIM q nog dave 0 3-0
XPENDING q g - + 10
XDEL q 3-0
XAUTOCLAIM q g erin 0 0 COUNT 2
XAUTOCLAIM q g erin 0 0
XAUTOCLAIM q g erin 0 0 JUSTID
XAUTOCLAIM q g erin 100000000 0
XAUTOCLAIM q g erin 0 (0-0 COUNT 1
XAUTOCLAIM q g erin 0 0 COUNT 0
XAUTOCLAIM q g erin 0 0 COUNT abc
XAUTOCLAIM q g erin 0 0 FOO
XAUTOCLAIM q g erin abc 0
XAUTOCLAIM q nog erin 0 0
XAUTOCLAIM nos3 g erin 0 0
XREADGROUP GROUP g erin STREAMS q 0
XINFO GROUPS q
XINFO CONSUMERS q g
XINFO STREAM q
XINFO STREAM q FULL
XINFO STREAM q FULL COUNT 1
XINFO STREAM q FULL COUNT 0
XREADGROUP GROUP late frank NOACK STREAMS q >
XADD q 6-0 f v
XREADGROUP GROUP late frank NOACK STREAMS q >
XINFO GROUPS q
XGROUP SETID q late 0
XINFO GROUPS q
XDEL q 6-0
XINFO GROUPS q
XINFO STREAM q
XGROUP DELCONSUMER q g erin
XINFO CONSUMERS q g
XGROUP DESTROY q g
XINFO GROUPS q
DEL e
XADD e 1-0 a 1
XDEL e 1-0
XLEN e
EXISTS e
XINFO STREAM e
XADD e MAXLEN 0 2-0 a 1
XINFO STREAM e
XGROUP CREATE e g 0
XINFO GROUPS e
XADD e MINID 5 3-0 a 1
XREADGROUP GROUP g x STREAMS e >
MULTI
XREAD BLOCK 0 STREAMS e $
XREADGROUP GROUP g x BLOCK 0 STREAMS e >
EXEC
";

#[test]
fn differential_scripted() {
    let Some((_s, _r, mut p)) = pair() else {
        return;
    };
    for l in SCRIPT.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if l.contains(" * ") {
            // The generated ID depends on the clock: compare the reply's shape only.
            let a = parse(&p.ours.call(&l.split(' ').collect::<Vec<_>>()));
            let b = parse(&p.real.call(&l.split(' ').collect::<Vec<_>>()));
            assert_eq!(
                matches!(a, V::Bulk(Some(_))),
                matches!(b, V::Bulk(Some(_))),
                "{l}: {a} vs {b}"
            );
            continue;
        }
        p.line(l);
    }
    p.check();
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545F4914F6CDD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn differential_random_workloads() {
    let Some((_s, _r, mut p)) = pair() else {
        return;
    };
    for seed in [7u64, 42, 1234] {
        let mut r = Rng(seed * 0x9E3779B97F4A7C15 + 1);
        let key = format!("w{seed}");
        p.both(&["XGROUP", "CREATE", &key, "g1", "0", "MKSTREAM"]);
        p.both(&["XGROUP", "CREATE", &key, "g2", "$"]);
        let mut ms = 1u64;
        let consumers = ["c1", "c2", "c3"];
        for _ in 0..1500 {
            let id_near = |r: &mut Rng, ms: u64| format!("{}-{}", r.below(ms + 2), r.below(3));
            match r.below(20) {
                0..=6 => {
                    ms += r.below(3);
                    let id = if r.below(2) == 0 {
                        format!("{ms}-*")
                    } else {
                        format!("{ms}-{}", r.below(4))
                    };
                    let val = r.below(1000).to_string();
                    let mut cmd: Vec<String> = vec!["XADD".into(), key.clone()];
                    match r.below(6) {
                        0 => cmd.extend(["MAXLEN".into(), "~".into(), r.below(300).to_string()]),
                        1 => cmd.extend(["MAXLEN".into(), "=".into(), r.below(300).to_string()]),
                        2 => cmd.extend(["MINID".into(), "~".into(), id_near(&mut r, ms / 2)]),
                        _ => {}
                    }
                    cmd.push(id);
                    if r.below(3) == 0 {
                        cmd.extend(["other".into(), val.clone(), "x".into(), "y".into()]);
                    } else {
                        cmd.extend(["field".into(), val]);
                    }
                    let a: Vec<&str> = cmd.iter().map(|s| s.as_str()).collect();
                    p.both(&a);
                }
                7 => {
                    let a = id_near(&mut r, ms);
                    let b = id_near(&mut r, ms);
                    p.both(&["XDEL", &key, &a, &b]);
                }
                8 => {
                    let how = ["~", "="][r.below(2) as usize];
                    let n = (200 + r.below(200)).to_string();
                    if r.below(2) == 0 {
                        p.both(&["XTRIM", &key, "MAXLEN", how, &n]);
                    } else {
                        let id = id_near(&mut r, ms / 3);
                        p.both(
                            &["XTRIM", &key, "MINID", how, &id, "LIMIT", "50"]
                                [..if how == "~" { 7 } else { 5 }],
                        );
                    }
                }
                9..=11 => {
                    let g = ["g1", "g2"][r.below(2) as usize];
                    let c = consumers[r.below(3) as usize];
                    let n = (1 + r.below(5)).to_string();
                    if r.below(4) == 0 {
                        p.both(&[
                            "XREADGROUP",
                            "GROUP",
                            g,
                            c,
                            "COUNT",
                            &n,
                            "STREAMS",
                            &key,
                            "0",
                        ]);
                    } else if r.below(5) == 0 {
                        p.both(&[
                            "XREADGROUP",
                            "GROUP",
                            g,
                            c,
                            "COUNT",
                            &n,
                            "NOACK",
                            "STREAMS",
                            &key,
                            ">",
                        ]);
                    } else {
                        p.both(&[
                            "XREADGROUP",
                            "GROUP",
                            g,
                            c,
                            "COUNT",
                            &n,
                            "STREAMS",
                            &key,
                            ">",
                        ]);
                    }
                }
                12 | 13 => {
                    let g = ["g1", "g2"][r.below(2) as usize];
                    let a = id_near(&mut r, ms);
                    let b = id_near(&mut r, ms);
                    p.both(&["XACK", &key, g, &a, &b]);
                }
                14 => {
                    let g = ["g1", "g2"][r.below(2) as usize];
                    let c = consumers[r.below(3) as usize];
                    let a = id_near(&mut r, ms);
                    let justid = ["JUSTID", "FORCE"][r.below(2) as usize];
                    p.both(&["XCLAIM", &key, g, c, "0", &a, justid, "TIME", "1000"]);
                }
                15 => {
                    let g = ["g1", "g2"][r.below(2) as usize];
                    let c = consumers[r.below(3) as usize];
                    let start = id_near(&mut r, ms);
                    let n = (1 + r.below(4)).to_string();
                    p.both(&["XAUTOCLAIM", &key, g, c, "0", &start, "COUNT", &n]);
                }
                16 => {
                    let g = ["g1", "g2"][r.below(2) as usize];
                    p.both(&["XPENDING", &key, g]);
                    p.both(&["XPENDING", &key, g, "-", "+", "20"]);
                }
                17 => {
                    p.both(&["XINFO", "GROUPS", &key]);
                    p.both(&["XINFO", "STREAM", &key]);
                }
                18 => {
                    let a = id_near(&mut r, ms);
                    p.both(&["XRANGE", &key, &a, "+", "COUNT", "5"]);
                    p.both(&["XREVRANGE", &key, "+", &a, "COUNT", "5"]);
                }
                _ => {
                    p.both(&["XLEN", &key]);
                    p.both(&["XINFO", "CONSUMERS", &key, "g1"]);
                }
            }
        }
        p.both(&["XINFO", "STREAM", &key, "FULL", "COUNT", "0"]);
        p.both(&["XRANGE", &key, "-", "+"]);
    }
    p.check();
}

#[test]
fn blocking_reads_are_served_by_writers_in_fifo_order() {
    let s = Server::start();
    let mut admin = RespConn::connect(s.port);
    admin.c("XGROUP CREATE s g $ MKSTREAM");
    // Three readers: XREAD $, and two consumers of the same group.
    let mut r1 = RespConn::connect(s.port);
    r1.send(&[b"XREAD", b"BLOCK", b"0", b"STREAMS", b"s", b"$"]);
    let mut r2 = RespConn::connect(s.port);
    r2.send(&[
        b"XREADGROUP",
        b"GROUP",
        b"g",
        b"a",
        b"BLOCK",
        b"0",
        b"STREAMS",
        b"s",
        b">",
    ]);
    assert!(wait_until(Duration::from_secs(5), || info_field(
        s.port,
        "clients",
        "blocked_clients"
    )
    .as_deref()
        == Some("2")));
    let mut r3 = RespConn::connect(s.port);
    r3.send(&[
        b"XREADGROUP",
        b"GROUP",
        b"g",
        b"b",
        b"BLOCK",
        b"0",
        b"STREAMS",
        b"s",
        b">",
    ]);
    assert!(wait_until(Duration::from_secs(5), || info_field(
        s.port,
        "clients",
        "blocked_clients"
    )
    .as_deref()
        == Some("3")));
    // A write inside MULTI serves the XREAD and the first group consumer.
    admin.c("MULTI");
    admin.c("XADD s 1-0 f v");
    admin.c("EXEC");
    let one = "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n";
    assert_eq!(String::from_utf8_lossy(&r1.read_reply()), one);
    assert_eq!(String::from_utf8_lossy(&r2.read_reply()), one);
    // A script's write serves the next consumer in line.
    admin.c("EVAL redis.call('XADD','s','2-0','f','w') 0");
    let two = String::from_utf8_lossy(&r3.read_reply()).into_owned();
    assert!(two.contains("2-0"), "{two}");
    assert_eq!(admin.c("XPENDING s g - + 10").matches("2-0").count(), 1);
    // Deleting the group / the key unblocks group readers with Redis's errors.
    let mut r4 = RespConn::connect(s.port);
    r4.send(&[
        b"XREADGROUP",
        b"GROUP",
        b"g",
        b"a",
        b"BLOCK",
        b"0",
        b"STREAMS",
        b"s",
        b">",
    ]);
    assert!(wait_until(Duration::from_secs(5), || info_field(
        s.port,
        "clients",
        "blocked_clients"
    )
    .as_deref()
        == Some("1")));
    admin.c("XGROUP DESTROY s g");
    assert_eq!(
        String::from_utf8_lossy(&r4.read_reply()),
        "-NOGROUP the consumer group this client was blocked on no longer exists\r\n"
    );
    admin.c("XGROUP CREATE s g $");
    r4.send(&[
        b"XREADGROUP",
        b"GROUP",
        b"g",
        b"a",
        b"BLOCK",
        b"0",
        b"STREAMS",
        b"s",
        b">",
    ]);
    assert!(wait_until(Duration::from_secs(5), || info_field(
        s.port,
        "clients",
        "blocked_clients"
    )
    .as_deref()
        == Some("1")));
    admin.c("DEL s");
    assert_eq!(
        String::from_utf8_lossy(&r4.read_reply()),
        "-UNBLOCKED the stream key no longer exists\r\n"
    );
    // A timeout answers a null array.
    let t = std::time::Instant::now();
    assert_eq!(r1.c("XREAD BLOCK 100 STREAMS s $"), "*-1\r\n");
    assert!(t.elapsed() >= Duration::from_millis(90));
}

/// Everything a stream holds, as comparable text: entries, counters, groups.
/// `replica`: a group's entries-read (and so its lag) is left out, because
/// Redis 7.0's XREADGROUP effect (XCLAIM ... LASTID) moves a replica's
/// last-delivered ID but not its read counter: a real 7.0 master and its
/// real replica differ there in the same way.
fn stream_state(port: u16, key: &str, replica: bool) -> String {
    let mut c = RespConn::connect(port);
    let mut v = parse(&c.call(&["XINFO", "STREAM", key, "FULL", "COUNT", "0"]));
    blank_field(&mut v, "radix-tree-nodes");
    blank_field(&mut v, "radix-tree-keys");
    if let Some(groups) = field(&mut v, "groups") {
        each(groups, |g| {
            if replica {
                blank_field(g, "entries-read");
                blank_field(g, "lag");
            }
            if let Some(cs) = field(g, "consumers") {
                each(cs, |c| blank_field(c, "seen-time"));
            }
        });
    }
    v.to_string()
}

fn workload(port: u16) {
    let mut c = RespConn::connect(port);
    c.c("XGROUP CREATE rs g 0 MKSTREAM");
    for i in 0..300 {
        c.call(&["XADD", "rs", "*", "n", &i.to_string()]);
        if i % 7 == 0 {
            c.c("XADD rs MAXLEN ~ 250 * t x");
        }
    }
    c.c("XREADGROUP GROUP g alice COUNT 50 STREAMS rs >");
    c.c("XREADGROUP GROUP g bob COUNT 20 NOACK STREAMS rs >");
    c.c("XREADGROUP GROUP g alice COUNT 5 STREAMS rs 0");
    c.c("XAUTOCLAIM rs g carol 0 0 COUNT 10");
    c.c("XCLAIM rs g dave 0 0-1 FORCE");
    let first = parse(&c.call(&["XRANGE", "rs", "-", "+", "COUNT", "3"]));
    if let V::Arr(Some(es)) = first {
        for e in es {
            if let V::Arr(Some(x)) = e {
                if let V::Bulk(Some(id)) = &x[0] {
                    c.call(&["XACK", "rs", "g", id]);
                    c.call(&["XDEL", "rs", id]);
                }
            }
        }
    }
    c.c("XTRIM rs MAXLEN ~ 120");
    c.c("XGROUP CREATECONSUMER rs g erin");
    c.c("XSETID rs 99999999999999-0 ENTRIESADDED 100000");
}

#[test]
fn real_redis_replica_follows_our_streams_and_we_follow_a_real_master() {
    // Its own dir: a real replica writes the RDB it receives to dir/dump.rdb.
    let rdir = tempfile::tempdir().unwrap();
    let Some(real) = RealRedis::start_with(&["--dir", &rdir.path().display().to_string()]) else {
        return;
    };
    // Our master, a real replica.
    let ours = Server::start();
    let mut rc = RespConn::connect(real.port);
    workload(ours.port); // part before the sync travels in the RDB
    rc.call(&["REPLICAOF", "127.0.0.1", &ours.port.to_string()]);
    assert!(wait_until(Duration::from_secs(10), || info_field(
        real.port,
        "replication",
        "master_link_status"
    )
    .as_deref()
        == Some("up")));
    let mut c = RespConn::connect(ours.port);
    c.c("XREADGROUP GROUP g frank COUNT 30 STREAMS rs >");
    c.c("XADD rs MAXLEN ~ 50 * k v");
    assert!(wait_caught_up(
        ours.port,
        real.port,
        Duration::from_secs(10)
    ));
    assert_eq!(
        stream_state(ours.port, "rs", true),
        stream_state(real.port, "rs", true)
    );
    rc.c("REPLICAOF NO ONE");

    // A real master, our replica.
    let rdir2 = tempfile::tempdir().unwrap();
    let real2 = RealRedis::start_with(&["--dir", &rdir2.path().display().to_string()])
        .expect("second redis");
    workload(real2.port);
    let replica = Server::start();
    follow(replica.port, real2.port);
    let mut m = RespConn::connect(real2.port);
    m.c("XREADGROUP GROUP g frank COUNT 30 STREAMS rs >");
    m.c("XADD rs MAXLEN ~ 50 * k v");
    m.c("XAUTOCLAIM rs g gina 0 0 COUNT 5");
    assert!(wait_caught_up(
        real2.port,
        replica.port,
        Duration::from_secs(10)
    ));
    assert_eq!(
        stream_state(real2.port, "rs", true),
        stream_state(replica.port, "rs", true)
    );
}

#[test]
fn dumps_move_both_ways() {
    let rdir = tempfile::tempdir().unwrap();
    let Some(real) = RealRedis::start_with(&["--dir", &rdir.path().display().to_string()]) else {
        return;
    };
    // Theirs -> ours.
    workload(real.port);
    let mut rc = RespConn::connect(real.port);
    rc.c("SAVE");
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(rdir.path().join("dump.rdb"), tmp.path().join("dump.rdb")).unwrap();
    let ours = Server::with_data_dir(tmp.path(), "");
    assert_eq!(
        stream_state(real.port, "rs", false),
        stream_state(ours.port, "rs", false)
    );
    // Ours -> theirs.
    let mut oc = RespConn::connect(ours.port);
    oc.c("XADD rs 999999999999999-1 z z");
    oc.c("SAVE");
    let rdb = std::fs::read(tmp.path().join("dump.rdb")).unwrap();
    let tmp2 = tempfile::tempdir().unwrap();
    std::fs::write(tmp2.path().join("dump.rdb"), rdb).unwrap();
    let real2 =
        RealRedis::start_with(&["--dir", &tmp2.path().display().to_string()]).expect("redis");
    assert_eq!(
        stream_state(ours.port, "rs", false),
        stream_state(real2.port, "rs", false)
    );
}

/// A replication tap: SYNC, skip the snapshot, then collect the commands
/// the master propagates (PING/REPLCONF/SELECT left out).
pub(crate) struct Tap {
    r: std::io::BufReader<std::net::TcpStream>,
}

impl Tap {
    pub(crate) fn start(port: u16) -> Tap {
        use std::io::{BufRead, Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(b"SYNC\r\n").unwrap();
        let mut r = std::io::BufReader::new(s);
        loop {
            let mut line = Vec::new();
            r.read_until(b'\n', &mut line).unwrap();
            if line == b"\n" || line.starts_with(b"+") {
                continue;
            }
            let head = String::from_utf8_lossy(&line).trim().to_string();
            if let Some(mark) = head.strip_prefix("$EOF:") {
                let mut buf: Vec<u8> = Vec::new();
                while !buf.ends_with(mark.as_bytes()) {
                    let mut b = [0u8; 1];
                    r.read_exact(&mut b).unwrap();
                    buf.push(b[0]);
                }
            } else {
                let n: usize = head[1..].parse().unwrap();
                let mut buf = vec![0u8; n];
                r.read_exact(&mut buf).unwrap();
            }
            return Tap { r };
        }
    }

    /// Commands until `n` were collected (bounded by the read timeout).
    pub(crate) fn commands(&mut self, n: usize) -> Vec<String> {
        use std::io::{BufRead, Read};
        let mut out = Vec::new();
        while out.len() < n {
            let mut line = Vec::new();
            self.r.read_until(b'\n', &mut line).unwrap();
            if line == b"\n" {
                continue;
            }
            let argc: usize = String::from_utf8_lossy(&line[1..]).trim().parse().unwrap();
            let mut args = Vec::new();
            for _ in 0..argc {
                let mut l = Vec::new();
                self.r.read_until(b'\n', &mut l).unwrap();
                let len: usize = String::from_utf8_lossy(&l[1..]).trim().parse().unwrap();
                let mut b = vec![0u8; len + 2];
                self.r.read_exact(&mut b).unwrap();
                args.push(String::from_utf8_lossy(&b[..len]).into_owned());
            }
            let name = args[0].to_ascii_uppercase();
            if name == "PING" || name == "REPLCONF" || name == "SELECT" {
                continue;
            }
            out.push(args.join(" "));
        }
        out
    }
}

/// The effects our master propagates are the ones redis-server 7.0 does for
/// the same commands (XCLAIM's TIME, a clock reading, blanked).
#[test]
fn propagated_effects_match_redis() {
    // Its own dir: SYNC without EOF capability makes it save dir/dump.rdb.
    let rdir = tempfile::tempdir().unwrap();
    let Some(real) = RealRedis::start_with(&["--dir", &rdir.path().display().to_string()]) else {
        return;
    };
    let ours = Server::with_config("repl-diskless-sync-delay = 0\n");
    let script = [
        "XADD s 1-1 a 1",
        "XADD s 2-* b 2",
        "XADD s MAXLEN ~ 1 3-0 a 3",
        "XADD s MAXLEN ~ 1 LIMIT 5 4-* a 4",
        "XGROUP CREATE s g 0",
        "XREADGROUP GROUP g c1 COUNT 2 STREAMS s >",
        "XREADGROUP GROUP g c2 NOACK STREAMS s >",
        "XREADGROUP GROUP g c1 STREAMS s 0",
        "XADD s 5-0 a 5",
        "XCLAIM s g c3 0 2-0",
        "XAUTOCLAIM s g c4 0 0",
        "XACK s g 2-0",
        "XGROUP CREATECONSUMER s g c9",
        "XDEL s 1-1",
        "XCLAIM s g c5 0 1-1 3-0 JUSTID",
        "XTRIM s MINID ~ 0",
        "XTRIM s MAXLEN ~ 0",
        "XSETID s 10-0",
        "XGROUP SETID s g 3-0 ENTRIESREAD 2",
        "XGROUP DESTROY s g",
    ];
    let mut got = Vec::new();
    for port in [ours.port, real.port] {
        let mut tap = Tap::start(port);
        let mut c = RespConn::connect(port);
        for l in script {
            c.c(l);
        }
        c.c("SET end 1");
        let mut cmds = Vec::new();
        while cmds.last().map(|s: &String| s.as_str()) != Some("SET end 1") {
            cmds.extend(tap.commands(1));
        }
        // TIME <ms> in XCLAIM effects is the delivery clock.
        let cmds: Vec<String> = cmds
            .into_iter()
            .map(|c| {
                let w: Vec<&str> = c.split(' ').collect();
                w.iter()
                    .enumerate()
                    .map(|(i, x)| {
                        if i > 0 && w[i - 1] == "TIME" {
                            "<t>"
                        } else {
                            x
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        got.push(cmds);
    }
    assert_eq!(got[0], got[1], "ours (left) vs redis-server (right)");
}
