//! Functions (FUNCTION ... / FCALL): differential tests against a real
//! redis-server 7.0. Error texts for malformed libraries, FCALL errors and
//! FUNCTION LIST/STATS replies are compared byte for byte; libraries move
//! both ways by FUNCTION DUMP/RESTORE, RDB files and replication (full sync
//! and the propagated FUNCTION LOAD/DELETE); admission by declared flags on
//! read-only replicas; FUNCTION KILL and BUSY texts; frozen time.
use crate::common::*;
use std::time::Duration;

const LIB: &str = "#!lua name=lib
redis.register_function('set1', function(k, a) return redis.call('set', k[1], a[1]) end)
redis.register_function{function_name='get1', callback=function(k) return redis.call('get', k[1]) end, flags={'no-writes'}, description='reads'}";
const LIB2: &str = "#!lua name=lib2
redis.register_function{function_name='stale_get', callback=function(k) return redis.call('get', k[1]) end, flags={'no-writes', 'allow-stale'}}
redis.register_function{function_name='incr_oom', callback=function(k) return redis.call('incr', k[1]) end, flags={'allow-oom'}}";

fn start_real() -> Option<(RealRedis, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let r = RealRedis::start_with(&["--dir", &dir.path().display().to_string()])?;
    Some((r, dir))
}

/// Each case runs after FUNCTION FLUSH on both servers; replies compared exactly.
#[test]
fn replies_match_real_redis() {
    let Some((real, _d)) = start_real() else {
        return;
    };
    let ours = Server::start();
    let malformed = [
        "return 1",
        "#!lua",
        "#!lua\nreturn 1",
        "#!foo name=x\nreturn 1",
        "#!lua name=x foo=bar\nreturn 1",
        "#!lua name=x-y\nreturn 1",
        "#!lua name=x name=y\nreturn 1",
        "#!lua name=x\nreturn 1",
        "#!lua name=x\nredis.call('ping')",
        "#!lua name=x\nredis.register_function('f')",
        "#!lua name=x\nredis.register_function('f', 1)",
        "#!lua name=x\nredis.register_function{function_name='f'}",
        "#!lua name=x\nredis.register_function{callback=function() end}",
        "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, flags={'bad'}}",
        "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, foo=1}",
        "#!lua name=x\nredis.register_function{function_name='f', callback=1}",
        "#!lua name=x\nredis.register_function{function_name={}, callback=function() end}",
        "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, flags=1}",
        "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, description=1}",
        "#!lua name=x\nredis.register_function()",
        "#!lua name=x\nredis.register_function('f', function() end, 3)",
        "#!lua name=x\nredis.register_function('f-g', function() end)",
        "#!lua name=x\nredis.register_function('f', function() end)\nredis.register_function('f', function() end)",
        "#!lua name=x\nlocal a = string.len('x')",
        "#!lua name=x\nx = 1",
        "#!lua name=x\nreturn 1 +",
        "#!lua name=x\nredis.setresp(3)",
        "#!LUA NAME=\"x\"\nredis.register_function(1, function() return 2 end)",
    ];
    let mut cases: Vec<Vec<Vec<String>>> = malformed
        .iter()
        .map(|code| vec![vec!["FUNCTION".into(), "LOAD".into(), code.to_string()]])
        .collect();
    let w = |l: &str| l.split(' ').map(String::from).collect::<Vec<_>>();
    let load = |code: &str| vec!["FUNCTION".to_string(), "LOAD".into(), code.into()];
    let runtime = "#!lua name=rt
local reg = redis.register_function
redis.register_function('late', function() return reg('g', function() end) end)
redis.register_function('unknown', function() return redis.call('nope') end)
redis.register_function('boom', function() error('bad') end)
redis.register_function('keys', function() return KEYS end)
redis.register_function('glob', function() x = 1 end)
redis.register_function('both', function(k, a) return {k, a} end)
redis.register_function{function_name='rowrite', callback=function() return redis.call('set', 'a', 'b') end, flags={'no-writes'}}";
    let mut rt = vec![load(runtime)];
    for l in [
        "FCALL late 0",
        "FCALL unknown 0",
        "FCALL boom 0",
        "FCALL keys 0",
        "FCALL glob 0",
        "FCALL both 2 a b c d",
        "FCALL BOTH 1 a",
        "FCALL rowrite 0",
        "FCALL_RO rowrite 0",
        "FCALL_RO both 0",
        "FCALL nope 0",
        "FCALL both x",
        "FCALL both -1",
        "FCALL both 3 a",
        "FUNCTION LIST LIBRARYNAME nomatch",
        "FUNCTION STATS",
        "FUNCTION KILL",
        "SCRIPT KILL",
        "FUNCTION DELETE nope",
        "FUNCTION LOAD REPLACE",
        "FUNCTION LOAD foo bar",
        "FUNCTION LIST LIBRARYNAME",
        "FUNCTION LIST foo",
        "FUNCTION RESTORE xxx",
        "FUNCTION RESTORE xxx bad",
        "FUNCTION RESTORE a b c",
        "FUNCTION FLUSH bad",
        "FUNCTION FLUSH a b",
        "FUNCTION HELP",
        "FUNCTION DELETE rt",
        "FUNCTION LIST",
    ] {
        rt.push(w(l));
    }
    cases.push(rt);
    let mut lists = vec![load(LIB), load(LIB2)];
    for l in [
        "FUNCTION LIST LIBRARYNAME lib",
        "FUNCTION LIST WITHCODE LIBRARYNAME lib2",
        "FUNCTION LIST LIBRARYNAME l*b2 WITHCODE",
        "FUNCTION STATS",
        "FCALL set1 1 k v",
        "FCALL get1 1 k",
        "FCALL_RO get1 1 k",
        "FCALL_RO set1 1 k v",
        "HELLO 3",
        "FUNCTION LIST LIBRARYNAME lib",
        "FUNCTION STATS",
        "FCALL get1 1 k",
    ] {
        lists.push(w(l));
    }
    lists.push(load(LIB));
    lists.push(load(
        "#!lua name=other\nredis.register_function('set1', function() end)",
    ));
    lists.push(vec![
        "FUNCTION".into(),
        "LOAD".into(),
        "REPLACE".into(),
        LIB.replace("set1", "set2").replace("get1", "get2"),
    ]);
    lists.push(w("FCALL set2 1 k v2"));
    lists.push(w("FCALL set1 1 k v2"));
    cases.push(lists);
    // Time stands still inside a function: a key expiring meanwhile stays.
    cases.push(vec![
        load("#!lua name=t\nredis.register_function('slow', function(k) redis.call('set', k[1], 'v', 'px', 30) local i = 0 while i < 60000000 do i = i + 1 end return {redis.call('get', k[1]), redis.call('exists', k[1])} end)"),
        w("FCALL slow 1 key"),
    ]);
    for case in &cases {
        let mut got = Vec::new();
        for port in [ours.port, real.port] {
            let mut c = RespConn::connect(port);
            c.c("FUNCTION FLUSH");
            c.c("FLUSHALL");
            let mut replies = Vec::new();
            for cmd in case {
                let a: Vec<&[u8]> = cmd.iter().map(|s| s.as_bytes()).collect();
                let r = c.call_b(&a);
                if cmd[0] == "HELLO" {
                    replies.push("(client id)".into());
                    continue;
                }
                if cmd[1] == "LIST" && !r.starts_with(b"-") {
                    replies.push(format!("{:?}", sorted_list(&r)));
                } else {
                    replies.push(String::from_utf8_lossy(&r).into_owned());
                }
            }
            got.push(replies);
        }
        for (i, (a, b)) in got[0].iter().zip(&got[1]).enumerate() {
            assert_eq!(a, b, "{:?}: ours (left) vs redis-server (right)", case[i]);
        }
    }
}

/// One RESP2 reply as a tree of strings (errors and statuses marked).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum V {
    S(String),
    A(Vec<V>),
}

fn parse(b: &[u8], p: &mut usize) -> V {
    let end = b[*p..].windows(2).position(|w| w == b"\r\n").unwrap() + *p;
    let line = String::from_utf8_lossy(&b[*p + 1..end]).into_owned();
    let t = b[*p];
    *p = end + 2;
    match t {
        b'*' | b'~' | b'%' => {
            let n: i64 = line.parse().unwrap();
            let n = if t == b'%' { 2 * n } else { n };
            V::A((0..n.max(0)).map(|_| parse(b, p)).collect())
        }
        b'$' => {
            let n: i64 = line.parse().unwrap();
            if n < 0 {
                return V::S("nil".into());
            }
            let s = String::from_utf8_lossy(&b[*p..*p + n as usize]).into_owned();
            *p += n as usize + 2;
            V::S(s)
        }
        _ => V::S(format!("{}{}", t as char, line)),
    }
}

/// FUNCTION LIST WITHCODE of lib and lib2, each library's functions sorted
/// (Redis lists them in its hash table's order, seeded per process).
fn listing(port: u16) -> Vec<V> {
    let mut c = RespConn::connect(port);
    let mut out = Vec::new();
    for lib in ["lib", "lib2"] {
        let r = c.call(&["FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", lib]);
        out.push(sorted_list(&r));
    }
    out
}

/// A FUNCTION LIST reply with each library's functions sorted.
fn sorted_list(r: &[u8]) -> V {
    let mut v = parse(r, &mut 0);
    if let V::A(libs) = &mut v {
        for l in libs {
            if let V::A(fields) = l {
                if let Some(V::A(funcs)) = fields.get_mut(5) {
                    funcs.sort();
                }
            }
        }
    }
    v
}

fn load_both(port: u16) {
    let mut c = RespConn::connect(port);
    for l in [LIB, LIB2] {
        let r = c.call(&["FUNCTION", "LOAD", l]);
        assert!(r.starts_with(b"$"), "{}", String::from_utf8_lossy(&r));
    }
}

#[test]
fn dump_and_restore_move_both_ways() {
    let Some((real, _d)) = start_real() else {
        return;
    };
    let ours = Server::start();
    let mut rc = RespConn::connect(real.port);
    let mut oc = RespConn::connect(ours.port);
    load_both(real.port);
    let payload = rc.call(&["FUNCTION", "DUMP"]);
    let body = &payload[payload.iter().position(|&b| b == b'\n').unwrap() + 1..payload.len() - 2];
    assert_eq!(oc.call_b(&[b"FUNCTION", b"RESTORE", body]), b"+OK\r\n");
    assert_eq!(listing(ours.port), listing(real.port));
    // Same layout as Redis's (its LZF compressor may pick other matches).
    let ours_dump = oc.call(&["FUNCTION", "DUMP"]);
    assert_eq!(
        ours_dump[ours_dump.iter().position(|&b| b == b'\n').unwrap() + 1],
        0xF5
    );
    // Policies, on both: APPEND clashes, REPLACE and FLUSH succeed.
    for port in [ours.port, real.port] {
        let mut c = RespConn::connect(port);
        // Which clashing library is named depends on Redis's hash order.
        let clash = String::from_utf8(c.call_b(&[b"FUNCTION", b"RESTORE", body])).unwrap();
        assert!(
            clash == "-ERR Library lib already exists\r\n"
                || clash == "-ERR Library lib2 already exists\r\n",
            "{clash}"
        );
        assert_eq!(
            c.call_b(&[b"FUNCTION", b"RESTORE", body, b"REPLACE"]),
            b"+OK\r\n"
        );
        c.c("FUNCTION DELETE lib2");
        assert_eq!(
            c.call_b(&[b"FUNCTION", b"RESTORE", body, b"FLUSH"]),
            b"+OK\r\n"
        );
        assert_eq!(c.c("FCALL set1 1 k v"), "+OK\r\n");
        let mut bad = body.to_vec();
        bad[5] ^= 0x20;
        assert_eq!(
            c.call_b(&[b"FUNCTION", b"RESTORE", &bad]),
            b"-ERR DUMP payload version or checksum are wrong\r\n"
        );
    }
    // Ours -> theirs.
    rc.c("FUNCTION FLUSH");
    oc.c("FUNCTION DELETE lib");
    let ours_payload = oc.call(&["FUNCTION", "DUMP"]);
    let ob = &ours_payload
        [ours_payload.iter().position(|&b| b == b'\n').unwrap() + 1..ours_payload.len() - 2];
    assert_eq!(rc.call_b(&[b"FUNCTION", b"RESTORE", ob]), b"+OK\r\n");
    assert_eq!(listing(ours.port), listing(real.port));
    assert_eq!(rc.c("FCALL incr_oom 1 n"), ":1\r\n");
}

#[test]
fn rdb_files_move_both_ways() {
    let Some((real, rdir)) = start_real() else {
        return;
    };
    load_both(real.port);
    RespConn::connect(real.port).c("SAVE");
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(rdir.path().join("dump.rdb"), tmp.path().join("dump.rdb")).unwrap();
    let ours = Server::with_data_dir(tmp.path(), "");
    assert_eq!(listing(ours.port), listing(real.port));
    let mut oc = RespConn::connect(ours.port);
    assert_eq!(oc.c("FCALL set1 1 k v"), "+OK\r\n");
    // Ours -> theirs (a library changed on our side).
    oc.c("FUNCTION DELETE lib2");
    oc.c("SAVE");
    let tmp2 = tempfile::tempdir().unwrap();
    std::fs::copy(tmp.path().join("dump.rdb"), tmp2.path().join("dump.rdb")).unwrap();
    let real2 =
        RealRedis::start_with(&["--dir", &tmp2.path().display().to_string()]).expect("redis");
    assert_eq!(listing(ours.port), listing(real2.port));
    assert_eq!(
        RespConn::connect(real2.port).c("FCALL get1 1 k"),
        "$1\r\nv\r\n"
    );
    // DEBUG RELOAD keeps them.
    oc.c("DEBUG RELOAD");
    assert_eq!(listing(ours.port), listing(real2.port));
}

fn wait_link(replica: u16) {
    assert!(wait_until(Duration::from_secs(10), || info_field(
        replica,
        "replication",
        "master_link_status"
    )
    .as_deref()
        == Some("up")));
}

fn wait_listing(a: u16, b: u16) {
    let ok = wait_until(Duration::from_secs(10), || listing(a) == listing(b));
    assert!(ok, "master {:?} vs replica {:?}", listing(a), listing(b));
}

#[test]
fn replication_both_ways() {
    // A real replica follows our master: full sync carries lib, FUNCTION
    // LOAD/DELETE are propagated, FCALL's effects too.
    let Some((real, _d)) = start_real() else {
        return;
    };
    let ours = Server::start();
    let mut oc = RespConn::connect(ours.port);
    oc.call(&["FUNCTION", "LOAD", LIB]);
    let mut rc = RespConn::connect(real.port);
    rc.c(&format!("REPLICAOF 127.0.0.1 {}", ours.port));
    wait_link(real.port);
    oc.call(&["FUNCTION", "LOAD", LIB2]);
    assert_eq!(oc.c("FCALL set1 1 k v"), "+OK\r\n");
    wait_listing(ours.port, real.port);
    assert!(wait_caught_up(
        ours.port,
        real.port,
        Duration::from_secs(10)
    ));
    // On the read-only replica: a no-writes function runs, a writer does not.
    assert_eq!(rc.c("FCALL get1 1 k"), "$1\r\nv\r\n");
    assert_eq!(rc.c("FCALL_RO get1 1 k"), "$1\r\nv\r\n");
    let readonly_real = rc.c("FCALL set1 1 k v");
    oc.c("FUNCTION DELETE lib2");
    wait_listing(ours.port, real.port);
    rc.c("REPLICAOF NO ONE");

    // Our replica follows a real master.
    let Some((real2, _d2)) = start_real() else {
        return;
    };
    let mut mc = RespConn::connect(real2.port);
    mc.call(&["FUNCTION", "LOAD", LIB]);
    let replica = Server::start();
    let mut pc = RespConn::connect(replica.port);
    pc.c(&format!("REPLICAOF 127.0.0.1 {}", real2.port));
    wait_link(replica.port);
    mc.call(&["FUNCTION", "LOAD", LIB2]);
    assert_eq!(mc.c("FCALL set1 1 k w"), "+OK\r\n");
    wait_listing(real2.port, replica.port);
    assert!(wait_caught_up(
        real2.port,
        replica.port,
        Duration::from_secs(10)
    ));
    assert_eq!(pc.c("FCALL get1 1 k"), "$1\r\nw\r\n");
    assert_eq!(pc.c("FCALL set1 1 k v"), readonly_real);
    assert_eq!(
        readonly_real,
        "-READONLY You can't write against a read only replica.\r\n"
    );
    mc.c("FUNCTION FLUSH");
    wait_listing(real2.port, replica.port);
    assert_eq!(pc.c("FCALL get1 1 k"), "-ERR Function not found\r\n");
}

/// min-replicas-to-write refuses a writing function and lets a no-writes
/// one run; a stale replica runs only allow-stale functions. Same on both.
#[test]
fn declared_flags_drive_admission() {
    let Some((real, _d)) = start_real() else {
        return;
    };
    let ours = Server::start();
    let mut got = Vec::new();
    for port in [ours.port, real.port] {
        load_both(port);
        let mut c = RespConn::connect(port);
        c.c("CONFIG SET min-replicas-to-write 1");
        let mut r = vec![
            c.c("FCALL set1 1 k v"),
            c.c("FCALL get1 1 k"),
            c.c("FCALL incr_oom 1 n"),
            String::from_utf8_lossy(&c.call(&["EVAL", "#!lua\nreturn 1", "0"])).into_owned(),
        ];
        c.c("CONFIG SET min-replicas-to-write 0");
        // A replica of nobody, link down, stale data refused.
        c.c("CONFIG SET replica-serve-stale-data no");
        c.c("REPLICAOF 127.0.0.1 1");
        r.push(c.c("FCALL get1 1 k"));
        r.push(c.c("FCALL stale_get 1 k"));
        r.push(c.c("FCALL_RO stale_get 1 k"));
        c.c("REPLICAOF NO ONE");
        got.push(r);
    }
    assert_eq!(got[0], got[1], "ours (left) vs redis-server (right)");
}

/// A long function: others get the BUSY text naming FUNCTION KILL, SCRIPT
/// KILL refuses, FUNCTION STATS shows it, FUNCTION KILL stops it.
#[test]
fn function_kill_and_busy_texts() {
    let Some((real, _d)) = start_real() else {
        return;
    };
    let ours = Server::start();
    let mut got = Vec::new();
    for port in [ours.port, real.port] {
        let mut c = RespConn::connect(port);
        c.call(&[
            "FUNCTION",
            "LOAD",
            "#!lua name=spin\nredis.register_function{function_name='spin', callback=function() while true do end end, flags={'no-writes'}}",
        ]);
        c.send(&[b"FCALL", b"spin", b"0"]);
        let mut o = RespConn::connect(port);
        assert!(wait_until(Duration::from_secs(10), || o
            .c("PING")
            .starts_with("-BUSY")));
        let mut r = vec![o.c("GET x"), o.c("SCRIPT KILL")];
        let stats = o.c("FUNCTION STATS");
        // duration_ms is a clock reading.
        let cut = stats.find("duration_ms").unwrap();
        r.push(stats[..cut].to_string());
        r.push(o.c("FUNCTION KILL"));
        r.push(String::from_utf8_lossy(&c.read_reply()).into_owned());
        r.push(o.c("PING"));
        got.push(r);
    }
    assert_eq!(got[0], got[1], "ours (left) vs redis-server (right)");
}
