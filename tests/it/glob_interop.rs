//! Glob matching against real redis-server 7.0: random patterns and keys
//! over the glob metacharacters, compared through KEYS and PUBSUB CHANNELS;
//! and the cost bound of CVE-2022-36021 (a hopeless many-star pattern must
//! not stall the server).

use crate::common;
use common::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::time::{Duration, Instant};

/// Few letters, so that random patterns match often, plus every byte that
/// means something to the matcher.
const ALPHABET: &[u8] = b"abA*?[]^-\\";

fn random_bytes(rng: &mut SmallRng, max_len: usize) -> Vec<u8> {
    let n = rng.gen_range(0..=max_len);
    (0..n)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())])
        .collect()
}

fn conn(port: u16) -> redis::Connection {
    let c = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    let con = c.get_connection().unwrap();
    con.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    con
}

/// One command per pattern, pipelined in batches; each answer sorted.
fn ask_all(c: &mut redis::Connection, cmd: &[&str], patterns: &[Vec<u8>]) -> Vec<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for batch in patterns.chunks(500) {
        let mut pipe = redis::pipe();
        for p in batch {
            let mut k = redis::cmd(cmd[0]);
            for a in &cmd[1..] {
                k.arg(*a);
            }
            pipe.add_command(k.arg(&p[..]).clone());
        }
        let replies: Vec<Vec<Vec<u8>>> = pipe.query(c).unwrap();
        for mut r in replies {
            r.sort();
            out.push(r);
        }
    }
    out
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn compare(what: &str, patterns: &[Vec<u8>], ours: &[Vec<Vec<u8>>], theirs: &[Vec<Vec<u8>>]) {
    let mut bad = Vec::new();
    for ((p, a), b) in patterns.iter().zip(ours).zip(theirs) {
        if a != b {
            bad.push(format!(
                "{what} {:?}: rsredis {:?} redis {:?}",
                show(p),
                a.iter().map(|k| show(k)).collect::<Vec<_>>(),
                b.iter().map(|k| show(k)).collect::<Vec<_>>()
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {} patterns differ; first ones:\n{}",
        bad.len(),
        patterns.len(),
        bad[..bad.len().min(10)].join("\n")
    );
}

#[test]
fn random_patterns_match_like_redis() {
    let Some(real) = RealRedis::start() else {
        eprintln!("skipped: no redis-server");
        return;
    };
    let ours = Server::start();
    let mut rng = SmallRng::seed_from_u64(0x5eed_0009);

    let mut keys: Vec<Vec<u8>> = (0..400).map(|_| random_bytes(&mut rng, 7)).collect();
    keys.push(Vec::new()); // the empty key: `*` matches it only through KEYS's shortcut
    keys.sort();
    keys.dedup();
    // Patterns: mostly random, plus every short one that exercises the
    // class and escape corner cases.
    let mut patterns: Vec<Vec<u8>> = (0..4000).map(|_| random_bytes(&mut rng, 9)).collect();
    for fixed in [
        &b"*"[..],
        b"**",
        b"",
        b"[a\\]",
        b"[\\",
        b"[a-]",
        b"[]a]",
        b"[^]",
        b"[b-a]",
        b"\\",
        b"*\\",
        b"[^a-b",
    ] {
        patterns.push(fixed.to_vec());
    }

    let mut a = conn(ours.port);
    let mut b = conn(real.port);
    for c in [&mut a, &mut b] {
        let mut pipe = redis::pipe();
        for k in &keys {
            pipe.cmd("SET").arg(&k[..]).arg("v").ignore();
        }
        pipe.query::<()>(c).unwrap();
        let n: usize = redis::cmd("DBSIZE").query(c).unwrap();
        assert_eq!(n, keys.len());
    }
    let t = Instant::now();
    let ka = ask_all(&mut a, &["KEYS"], &patterns);
    let kb = ask_all(&mut b, &["KEYS"], &patterns);
    compare("KEYS", &patterns, &ka, &kb);
    let matched: usize = ka.iter().map(|r| r.len()).sum();
    eprintln!(
        "KEYS: {} patterns x {} keys agree ({} matches in all, {:?})",
        patterns.len(),
        keys.len(),
        matched,
        t.elapsed()
    );

    // The same keys as channel names: PUBSUB CHANNELS has no shortcut for
    // `*` in Redis, so the empty channel shows the matcher's own rule.
    let mut subs = Vec::new();
    for port in [ours.port, real.port] {
        let mut s = RespConn::connect(port);
        let mut args: Vec<&[u8]> = vec![b"SUBSCRIBE"];
        args.extend(keys.iter().map(|k| &k[..]));
        s.send(&args);
        for _ in 0..keys.len() {
            s.read_reply();
        }
        subs.push(s);
    }
    let pa = ask_all(&mut a, &["PUBSUB", "CHANNELS"], &patterns[..1500]);
    let pb = ask_all(&mut b, &["PUBSUB", "CHANNELS"], &patterns[..1500]);
    compare("PUBSUB CHANNELS", &patterns[..1500], &pa, &pb);
    let star = patterns.iter().position(|p| p == b"*").unwrap();
    let all: Vec<Vec<u8>> = ask_all(&mut a, &["PUBSUB", "CHANNELS"], &patterns[star..star + 1])
        .pop()
        .unwrap();
    assert_eq!(
        all.len(),
        keys.len() - 1,
        "`*` does not match the empty channel"
    );
    eprintln!("PUBSUB CHANNELS: 1500 patterns agree");
}

#[test]
fn hopeless_star_pattern_does_not_stall_the_server() {
    let s = Server::start();
    let mut c = conn(s.port);
    // Keys of 40..=60 `a`s: each `a*` of the pattern can take many lengths,
    // and the final `b` never matches, so plain backtracking tries them all.
    let mut pipe = redis::pipe();
    for n in 40..=60 {
        pipe.cmd("SET").arg("a".repeat(n)).arg("v").ignore();
    }
    pipe.query::<()>(&mut c).unwrap();
    let pattern = format!("{}b", "a*".repeat(30));

    // Another client pings throughout; its worst round trip is the stall.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let port = s.port;
    let stop2 = stop.clone();
    let pinger = std::thread::spawn(move || {
        let mut p = conn(port);
        let (mut n, mut worst) = (0u32, Duration::ZERO);
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) || n == 0 {
            let t = Instant::now();
            let pong: String = redis::cmd("PING").query(&mut p).unwrap();
            assert_eq!(pong, "PONG");
            worst = worst.max(t.elapsed());
            n += 1;
        }
        (n, worst)
    });

    let t = Instant::now();
    let found: Vec<String> = redis::cmd("KEYS").arg(&pattern).query(&mut c).unwrap();
    let took = t.elapsed();
    assert!(found.is_empty());
    let hit: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}a", "a*".repeat(30)))
        .query(&mut c)
        .unwrap();
    assert_eq!(hit.len(), 21, "every key of 40..=60 a's matches 31 a's");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (pings, worst) = pinger.join().unwrap();
    eprintln!(
        "KEYS {pattern} over 21 keys: {:.3} ms; {pings} PINGs meanwhile, worst {:.3} ms",
        took.as_secs_f64() * 1e3,
        worst.as_secs_f64() * 1e3
    );
    assert!(took < Duration::from_secs(1), "KEYS took {took:?}");
    assert!(worst < Duration::from_secs(1), "a PING waited {worst:?}");
}
