//! Generic key commands end to end: replies on the wire, SCAN under
//! concurrent writes, and a differential check against real redis-server.

use crate::common::*;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn q<T: redis::FromRedisValue>(c: &mut redis::Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c).unwrap_or_else(|e| panic!("{:?}: {}", args, e))
}

fn err(c: &mut redis::Connection, args: &[&str]) -> String {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    match cmd.query::<redis::Value>(c) {
        Err(e) => format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or("")),
        Ok(v) => panic!("{:?} should fail, got {:?}", args, v),
    }
}

/// Run a full SCAN iteration, returning every key (with multiplicity).
fn scan_all(c: &mut redis::Connection, extra: &[&str]) -> Vec<String> {
    let mut cursor = "0".to_string();
    let mut keys = Vec::new();
    loop {
        let mut cmd = redis::cmd("SCAN");
        cmd.arg(&cursor);
        for a in extra {
            cmd.arg(*a);
        }
        let (next, batch): (String, Vec<String>) = cmd.query(c).unwrap();
        keys.extend(batch);
        cursor = next;
        if cursor == "0" {
            return keys;
        }
    }
}

#[test]
fn generic_commands_over_the_wire() {
    let s = Server::start();
    let mut c = s.client();
    let _: () = q(&mut c, &["SET", "a", "1"]);
    let _: () = q(&mut c, &["SET", "b", "2"]);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "a", "a", "b", "zz"]), 3);
    assert_eq!(q::<String>(&mut c, &["TYPE", "a"]), "string");
    assert_eq!(q::<String>(&mut c, &["TYPE", "zz"]), "none");
    let mut keys: Vec<String> = q(&mut c, &["KEYS", "*"]);
    keys.sort();
    assert_eq!(keys, vec!["a", "b"]);
    assert_eq!(q::<Vec<String>>(&mut c, &["KEYS", "b*"]), vec!["b"]);
    let rk: String = q(&mut c, &["RANDOMKEY"]);
    assert!(rk == "a" || rk == "b");
    let _: () = q(&mut c, &["RENAME", "a", "c"]);
    assert_eq!(err(&mut c, &["RENAME", "a", "c"]), "ERR no such key");
    assert_eq!(q::<i64>(&mut c, &["RENAMENX", "c", "b"]), 0);
    assert_eq!(q::<i64>(&mut c, &["COPY", "c", "d"]), 1);
    assert_eq!(
        err(&mut c, &["COPY", "c", "c"]),
        "ERR source and destination objects are the same"
    );
    assert_eq!(q::<i64>(&mut c, &["MOVE", "d", "5"]), 1);
    assert_eq!(
        err(&mut c, &["MOVE", "c", "0"]),
        "ERR source and destination objects are the same"
    );
    assert_eq!(q::<i64>(&mut c, &["TOUCH", "b", "c", "d"]), 2);
    assert_eq!(q::<i64>(&mut c, &["UNLINK", "b", "c"]), 2);
    assert_eq!(q::<Option<String>>(&mut c, &["RANDOMKEY"]), None);
    let _: () = q(&mut c, &["SELECT", "5"]);
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "d"]), "int");
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "d", "100"]), 1);
    assert_eq!(q::<i64>(&mut c, &["TTL", "d"]), 100);
    assert_eq!(q::<i64>(&mut c, &["PERSIST", "d"]), 1);
    assert_eq!(q::<i64>(&mut c, &["TTL", "d"]), -1);
    assert_eq!(q::<i64>(&mut c, &["TTL", "nope"]), -2);

    // exact bytes for a few shapes
    let mut r = s.raw();
    r.roundtrip(&resp(&["SELECT", "5"]), b"+OK\r\n");
    r.roundtrip(&resp(&["TYPE", "d"]), b"+string\r\n");
    r.roundtrip(&resp(&["OBJECT", "ENCODING", "nope"]), b"$-1\r\n");
    r.roundtrip(&resp(&["SCAN", "0"]), b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\nd\r\n");
    r.roundtrip(&resp(&["SCAN", "x"]), b"-ERR invalid cursor\r\n");
    r.roundtrip(
        &resp(&["OBJECT", "nope"]),
        b"-ERR unknown subcommand 'nope'. Try OBJECT HELP.\r\n",
    );
    r.roundtrip(
        &resp(&["EXPIRE", "d", "1", "NX", "XX"]),
        b"-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
    );
    r.roundtrip(
        &resp(&["TTL"]),
        b"-ERR wrong number of arguments for 'ttl' command\r\n",
    );
}

#[test]
fn scan_returns_every_stable_key_under_concurrent_writes() {
    let s = Server::start();
    let mut c = s.client();
    let mut pipe = redis::pipe();
    for i in 0..10_000 {
        pipe.cmd("SET").arg(format!("stable:{i}")).arg("v").ignore();
    }
    let _: () = pipe.query(&mut c).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let mut w = s.client();
        std::thread::spawn(move || {
            let mut n: u64 = 0;
            while !stop.load(Ordering::Relaxed) {
                // add a batch of churn keys, delete an older batch: slots are freed and reused
                let mut p = redis::pipe();
                for j in 0..50 {
                    p.cmd("SET")
                        .arg(format!("churn:{}", n * 50 + j))
                        .arg("x")
                        .ignore();
                }
                if n >= 4 {
                    for j in 0..50 {
                        p.cmd("DEL")
                            .arg(format!("churn:{}", (n - 4) * 50 + j))
                            .ignore();
                    }
                }
                let _: () = p.query(&mut w).unwrap();
                n += 1;
            }
            n
        })
    };

    // Slow the iteration down a little so the writer gets to interleave.
    let mut cursor = "0".to_string();
    let mut seen: HashSet<String> = HashSet::new();
    let mut calls = 0;
    loop {
        let (next, batch): (String, Vec<String>) = redis::cmd("SCAN")
            .arg(&cursor)
            .arg("COUNT")
            .arg(100)
            .query(&mut c)
            .unwrap();
        for k in batch {
            if k.starts_with("stable:") {
                assert!(seen.insert(k.clone()), "stable key {k} returned twice");
            }
        }
        calls += 1;
        cursor = next;
        if cursor == "0" {
            break;
        }
        if calls % 10 == 0 {
            // Deliberate pacing: the writer gets to change the keyspace mid-scan.
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    stop.store(true, Ordering::Relaxed);
    let batches = writer.join().unwrap();
    assert!(
        batches > 5,
        "the writer ran during the scan ({batches} batches)"
    );
    assert!(calls > 50, "{calls} SCAN calls");
    let missing: Vec<usize> = (0..10_000)
        .filter(|i| !seen.contains(&format!("stable:{i}")))
        .collect();
    assert!(
        missing.is_empty(),
        "missing stable keys: {:?}",
        &missing[..missing.len().min(10)]
    );
}

#[test]
fn scan_match_type_and_count() {
    let s = Server::start();
    let mut c = s.client();
    for i in 0..300 {
        let _: () = q(&mut c, &["SET", &format!("s:{i}"), "v"]);
    }
    for i in 0..20 {
        let _: i64 = q(&mut c, &["LPUSH", &format!("l:{i}"), "x"]);
    }
    let all = scan_all(&mut c, &["COUNT", "7"]);
    assert_eq!(all.len(), 320);
    let lists = scan_all(&mut c, &["TYPE", "list"]);
    assert_eq!(lists.len(), 20);
    assert!(lists.iter().all(|k| k.starts_with("l:")));
    let m = scan_all(&mut c, &["MATCH", "s:1?", "COUNT", "1000"]);
    assert_eq!(m.len(), 10);
    // one call with a large COUNT covers everything
    let (cur, keys): (String, Vec<String>) = redis::cmd("SCAN")
        .arg(0)
        .arg("COUNT")
        .arg(10_000)
        .query(&mut c)
        .unwrap();
    assert_eq!((cur.as_str(), keys.len()), ("0", 320));
}

// ---------------------------------------------------------------- differential check

/// Send a script of commands one at a time; collect each reply's bytes.
fn replies(port: u16, script: &[&[&str]]) -> Vec<String> {
    let mut c = RespConn::connect(port);
    script
        .iter()
        .map(|cmd| String::from_utf8_lossy(&c.call(cmd)).into_owned())
        .collect()
}

#[test]
fn replies_match_real_redis() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let s = Server::start();
    let script: &[&[&str]] = &[
        &["SET", "k", "1"],
        &["SET", "s", "hello"],
        &["LPUSH", "l", "a"],
        &["EXISTS", "k", "k", "nope"],
        &["TYPE", "l"],
        &["TYPE", "nope"],
        &["KEYS", "s*"],
        &["SCAN", "abc"],
        &["SCAN", "0", "COUNT", "0"],
        &["SCAN", "0", "COUNT", "abc"],
        &["SCAN", "0", "MATCH"],
        &["SCAN", "0", "TYPE", "list"],
        &["SCAN", "0", "MATCH", "nomatch*"],
        &["RENAME", "nope", "x"],
        &["RENAME", "k", "k"],
        &["RENAMENX", "k", "k"],
        &["RENAMENX", "k", "s"],
        &["COPY", "k", "k"],
        &["COPY", "k", "x", "foo"],
        &["COPY", "k", "x", "DB"],
        &["COPY", "k", "x", "DB", "abc"],
        &["COPY", "k", "x", "DB", "16"],
        &["COPY", "k", "k", "DB", "1"],
        &["COPY", "k", "k", "DB", "1"],
        &["COPY", "k", "k", "DB", "1", "REPLACE"],
        &["MOVE", "k", "0"],
        &["MOVE", "k", "x"],
        &["MOVE", "k", "16"],
        &["MOVE", "k", "1"],
        &["MOVE", "nope", "1"],
        &["OBJECT", "ENCODING", "k"],
        &["OBJECT", "ENCODING", "s"],
        &["OBJECT", "ENCODING", "nope"],
        &["OBJECT", "REFCOUNT", "k"],
        &["OBJECT", "REFCOUNT", "s"],
        &["OBJECT", "FREQ", "k"],
        &["OBJECT", "FREQ", "nope"],
        &["OBJECT", "HELP"],
        &["OBJECT", "foo"],
        &["OBJECT", "ENCODING"],
        &["OBJECT"],
        &["EXPIRE", "k", "abc", "foo"],
        &["EXPIRE", "k", "10", "nx", "xx"],
        &["EXPIRE", "k", "10", "gt", "lt"],
        &["EXPIRE", "k", "abc"],
        &["EXPIRE", "k", "99999999999999999"],
        &["PEXPIRE", "k", "9223372036854775807"],
        &["EXPIREAT", "k", "-9223372036854775807"],
        &["EXPIRE", "k", "100", "XX"],
        &["EXPIRE", "k", "100", "GT"],
        &["EXPIRE", "k", "100", "NX"],
        &["EXPIRE", "k", "50", "GT"],
        &["EXPIRE", "k", "200", "LT"],
        &["EXPIRE", "k", "10", "xx", "lt"],
        &["TTL", "k"],
        &["PTTL", "nope"],
        &["EXPIRETIME", "s"],
        &["PEXPIREAT", "s", "9223372036854775807"],
        &["EXPIRETIME", "s"],
        &["PEXPIRETIME", "s"],
        &["PERSIST", "s"],
        &["PERSIST", "s"],
        &["EXPIRE", "s", "-1"],
        &["EXISTS", "s"],
        &["DEL", "k", "nope"],
        &["UNLINK", "l", "l"],
        &["RANDOMKEY"],
        &["TOUCH", "nope"],
        &["EXISTS"],
        &["KEYS"],
    ];
    let want = replies(real.port, script);
    let got = replies(s.port, script);
    for ((cmd, w), g) in script.iter().zip(&want).zip(&got) {
        assert_eq!(g, w, "reply to {:?}", cmd);
    }
}
