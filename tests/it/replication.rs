//! Replication between rsredis processes: full sync, the live stream,
//! partial resync, chained replicas, promotion, WAIT, min-replicas, the
//! read-only replica, and the exact bytes a fake replica sees (§7 checks 4-10).

use crate::common::*;
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

fn master() -> Server {
    Server::with_config("repl-diskless-sync-delay = 0\n")
}

fn replica_of(m: u16) -> Server {
    Server::with_config(&format!(
        "repl-diskless-sync-delay = 0\nreplicaof = \"127.0.0.1 {m}\"\n"
    ))
}

fn up(port: u16) -> bool {
    wait_info(port, "replication", "master_link_status", "up", T)
}

fn stat(port: u16, f: &str) -> i64 {
    info_field(port, "stats", f).unwrap().parse().unwrap()
}

#[test]
fn full_sync_live_stream_and_partial_resync() {
    let m = master();
    fill_all_types(m.port, "a");
    let r1 = replica_of(m.port);
    let r2 = replica_of(m.port);
    assert!(up(r1.port) && up(r2.port), "{}", r1.logs());
    let mut mc = RespConn::connect(m.port);
    // Live stream: writes after the sync, in several databases, with TTLs.
    fill_all_types(m.port, "b");
    mc.c("SELECT 5");
    mc.c("SET five 5 PX 900000");
    mc.c("SELECT 0");
    mc.c("INCRBYFLOAT fl 1.5");
    mc.c("SPOP aiset");
    assert!(wait_caught_up(m.port, r1.port, T) && wait_caught_up(m.port, r2.port, T));
    let want = dataset(m.port, 6);
    assert!(want.len() > 100);
    assert!(same_dataset(&want, &dataset(r1.port, 6)));
    assert!(same_dataset(&want, &dataset(r2.port, 6)));

    // INFO and ROLE on both sides.
    let info = String::from_utf8(mc.call(&["INFO", "replication"])).unwrap();
    assert!(info.contains("connected_slaves:2\r\n"), "{info}");
    assert!(
        info.contains(&format!(",port={},state=online,", r1.port)),
        "{info}"
    );
    let mut rc = RespConn::connect(r1.port);
    let role = String::from_utf8(rc.call(&["ROLE"])).unwrap();
    assert!(
        role.starts_with(&format!(
            "*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:{}\r\n$9\r\nconnected\r\n:",
            m.port
        )),
        "{role}"
    );
    assert_eq!(stat(m.port, "sync_full"), 2);

    // Cut the link from the replica side: it continues by partial resync.
    assert_eq!(rc.c("CLIENT KILL TYPE master"), ":1\r\n");
    mc.c("SET during-cut 1");
    assert!(wait_until(T, || stat(m.port, "sync_partial_ok") == 1));
    assert!(up(r1.port));
    assert!(wait_caught_up(m.port, r1.port, T));
    assert_eq!(rc.c("GET during-cut"), "$1\r\n1\r\n");
    assert_eq!(stat(m.port, "sync_full"), 2, "no new full sync");
    // CLIENT KILL TYPE normal leaves replica links and the master link alone.
    mc.c("CLIENT KILL TYPE normal");
    rc.c("CLIENT KILL TYPE normal");
    mc.c("SET after-normal-kill 1");
    assert!(wait_caught_up(m.port, r1.port, T));
    assert_eq!(stat(m.port, "sync_partial_ok"), 1);
    assert!(rc.c("CLIENT LIST").contains("flags=M"));
    assert!(mc.c("CLIENT LIST").contains("flags=S"));

    // A restarted replica has no history: PSYNC ? -1, full sync.
    drop(r2);
    let r3 = replica_of(m.port);
    assert!(up(r3.port));
    assert!(wait_until(T, || stat(m.port, "sync_full") == 3));
    assert!(wait_caught_up(m.port, r3.port, T));
    assert!(same_dataset(&dataset(m.port, 6), &dataset(r3.port, 6)));
    let logs = m.logs();
    assert!(logs.contains("asks for synchronization"), "{logs}");
    assert!(
        logs.contains("Partial resynchronization request from"),
        "{logs}"
    );
    assert!(logs.contains("Synchronization with replica"), "{logs}");
}

#[test]
fn readonly_replica_and_wait_errors() {
    let m = master();
    let r = replica_of(m.port);
    assert!(up(r.port));
    let mut rc = RespConn::connect(r.port);
    assert_eq!(
        rc.c("SET a 1"),
        "-READONLY You can't write against a read only replica.\r\n"
    );
    assert_eq!(rc.c("WAIT 1 0"), "-ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.\r\n");
    assert_eq!(rc.c("MULTI"), "+OK\r\n");
    assert!(rc.c("SET a 1").starts_with("-READONLY"));
    assert_eq!(
        rc.c("EXEC"),
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    assert_eq!(rc.c("GET a"), "$-1\r\n");
    assert_eq!(
        rc.c("REPLICAOF 127.0.0.1 99999"),
        "-ERR Invalid master port\r\n"
    );
    assert_eq!(
        rc.c(&format!("REPLICAOF 127.0.0.1 {}", m.port)),
        "+OK Already connected to specified master\r\n"
    );
    // CONFIG REWRITE records the role, and forgets it after promotion.
    assert_eq!(rc.c("CONFIG REWRITE"), "+OK\r\n");
    let text = std::fs::read_to_string(&r.config_path).unwrap();
    assert!(
        text.contains(&format!("replicaof = \"127.0.0.1 {}\"", m.port)),
        "{text}"
    );
    assert_eq!(rc.c("REPLICAOF NO ONE"), "+OK\r\n");
    assert_eq!(rc.c("CONFIG REWRITE"), "+OK\r\n");
    let text = std::fs::read_to_string(&r.config_path).unwrap();
    assert!(!text.contains("replicaof"), "{text}");
    assert_eq!(rc.c("SET a 1"), "+OK\r\n");
    assert_eq!(rc.c("REPLICAOF NO ONE"), "+OK\r\n");
}

#[test]
fn wait_counts_acks_and_times_out_with_a_stopped_replica() {
    let m = master();
    let r1 = replica_of(m.port);
    let r2 = replica_of(m.port);
    assert!(up(r1.port) && up(r2.port));
    assert!(wait_info(m.port, "replication", "connected_slaves", "2", T));
    let mut mc = RespConn::connect(m.port);
    // A client that wrote nothing: every online replica, at once.
    assert!(wait_until(T, || mc.c("WAIT 2 100") == ":2\r\n"));
    mc.c("SET k v");
    assert_eq!(mc.c("WAIT 2 2000"), ":2\r\n");
    signal(r2.pid(), "STOP");
    mc.c("SET k v2");
    let t0 = std::time::Instant::now();
    let got = mc.c("WAIT 2 700");
    assert_eq!(got, ":1\r\n", "{}", mc.c("INFO replication"));
    let took = t0.elapsed();
    signal(r2.pid(), "CONT");
    assert!(
        took >= Duration::from_millis(650) && took < Duration::from_secs(3),
        "{took:?}"
    );
    // A WAIT pipelined with other commands: answered in order.
    mc.send(&[b"WAIT", b"0", b"0"]);
    mc.send(&[b"PING"]);
    assert!(mc.read_reply().starts_with(b":"));
    assert_eq!(mc.read_reply(), b"+PONG\r\n");
}

#[test]
fn min_replicas_to_write_classic_case() {
    let m = master();
    let r1 = replica_of(m.port);
    let r2 = replica_of(m.port);
    assert!(up(r1.port) && up(r2.port));
    let mut mc = RespConn::connect(m.port);
    assert_eq!(mc.c("CONFIG SET min-slaves-to-write 1"), "+OK\r\n");
    assert!(wait_until(T, || mc.c("SET clave valor") == "+OK\r\n"));
    let got = mc.call(&["CONFIG", "GET", "min-*-to-write"]);
    assert!(String::from_utf8_lossy(&got).contains("min-slaves-to-write"));
    // Both replicas go away: writes are refused, reads still work.
    for r in [&r1, &r2] {
        let _ = redis_cli(r.port, &["SHUTDOWN", "NOSAVE"]);
    }
    drop(r1);
    drop(r2);
    assert!(wait_info(m.port, "replication", "connected_slaves", "0", T));
    if let Some(out) = redis_cli(m.port, &["SET", "clave", "valor"]) {
        assert!(
            out.contains("NOREPLICAS Not enough good replicas to write."),
            "{out}"
        );
    }
    assert_eq!(
        mc.c("SET clave valor"),
        "-NOREPLICAS Not enough good replicas to write.\r\n"
    );
    assert_eq!(mc.c("GET clave"), "$5\r\nvalor\r\n");
    assert_eq!(mc.c("MULTI"), "+OK\r\n");
    assert!(mc.c("SET x 1").starts_with("-NOREPLICAS"));
    assert!(mc.c("EXEC").starts_with("-EXECABORT"));
    let info = mc.c("INFO replication");
    assert!(info.contains("min_slaves_good_slaves:0\r\n"), "{info}");
    // Replicas back: writes accepted again.
    let r3 = replica_of(m.port);
    assert!(up(r3.port));
    assert!(wait_until(T, || mc.c("SET clave valor2") == "+OK\r\n"));
    assert!(wait_caught_up(m.port, r3.port, T));
    assert_eq!(
        RespConn::connect(r3.port).c("GET clave"),
        "$6\r\nvalor2\r\n"
    );
}

/// Read from a raw connection until `pred` holds on everything read (bounded).
fn read_until(raw: &mut Raw, pred: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut got = Vec::new();
    let deadline = std::time::Instant::now() + T;
    while !pred(&got) && std::time::Instant::now() < deadline {
        got.extend(raw.read_for(Duration::from_millis(100)));
    }
    got
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

#[test]
fn fake_replica_sees_exact_bytes() {
    let m = master();
    let mut mc = RespConn::connect(m.port);
    mc.c("SET before 1");
    let mut raw = m.raw();
    raw.roundtrip(&resp(&["PING"]), b"+PONG\r\n");
    raw.roundtrip(&resp(&["REPLCONF", "listening-port", "7777"]), b"+OK\r\n");
    raw.roundtrip(
        &resp(&["REPLCONF", "capa", "eof", "capa", "psync2"]),
        b"+OK\r\n",
    );
    raw.send(&resp(&["PSYNC", "?", "-1"]));
    // Check 4: optional newlines, +FULLRESYNC <40 hex> <off>, $EOF:<mark>, REDIS00..., mark.
    let got = read_until(&mut raw, |g| {
        find(g, b"$EOF:").is_some_and(|i| {
            g.len() >= i + 5 + 40 + 2 + 9 && {
                let mark = &g[i + 5..i + 45];
                find(&g[i + 47..], mark).is_some()
            }
        })
    });
    let text = String::from_utf8_lossy(&got).into_owned();
    let start = got.iter().position(|&b| b != b'\n').unwrap();
    let line_end = find(&got, b"\r\n").unwrap();
    let line = &text[start..line_end];
    let parts: Vec<&str> = line.split(' ').collect();
    assert_eq!(parts[0], "+FULLRESYNC", "{text}");
    assert_eq!(parts[1].len(), 40);
    let i = find(&got, b"$EOF:").unwrap();
    let mark = got[i + 5..i + 45].to_vec();
    assert_eq!(&got[i + 47..i + 54], b"REDIS00");
    assert!(got.ends_with(&mark), "payload ends with the mark");
    let replid = parts[1].to_string();

    // Check 5: after an ACK the stream starts with SELECT 0.
    raw.send(&resp(&["REPLCONF", "ACK", parts[2]]));
    // The master has taken the ACK (it streams only after it).
    let acked = format!(",state=online,offset={},", parts[2]);
    assert!(wait_until(Duration::from_secs(10), || {
        mc.c("INFO replication").contains(&acked)
    }));
    mc.c("SET k v");
    let stream = read_until(&mut raw, |g| g.len() >= 23 + 29);
    // (A stream PING may follow.)
    assert!(
        stream.starts_with(
            b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
        ),
        "{}",
        String::from_utf8_lossy(&stream)
    );
    let info = mc.c("INFO replication");
    assert!(
        info.contains("slave0:ip=127.0.0.1,port=7777,state=online"),
        "{info}"
    );
    let off: u64 = info_field(m.port, "replication", "master_repl_offset")
        .unwrap()
        .parse()
        .unwrap();
    raw.send(&resp(&["REPLCONF", "ACK", &off.to_string()]));
    // Check 7: ROLE.
    assert!(wait_until(T, || {
        mc.c("ROLE")
            == format!(
                "*3\r\n$6\r\nmaster\r\n:{off}\r\n*1\r\n*3\r\n$9\r\n127.0.0.1\r\n$4\r\n7777\r\n${}\r\n{off}\r\n",
                off.to_string().len()
            )
    }));
    // Check 8: WAIT with one acking replica.
    assert_eq!(mc.c("WAIT 0 0"), ":1\r\n");

    // Check 6: PSYNC continue with and without psync2, and beyond the end.
    let mut p2 = m.raw();
    p2.roundtrip(&resp(&["REPLCONF", "capa", "psync2"]), b"+OK\r\n");
    let want = format!("+CONTINUE {replid}\r\n");
    p2.roundtrip(
        &resp(&["PSYNC", &replid, &(off + 1).to_string()]),
        want.as_bytes(),
    );
    let mut p1 = m.raw();
    p1.roundtrip(
        &resp(&["PSYNC", &replid, &(off + 1).to_string()]),
        b"+CONTINUE\r\n",
    );
    let mut p3 = m.raw();
    p3.send(&resp(&["PSYNC", &replid, &(off + 1000).to_string()]));
    let got = read_until(&mut p3, |g| find(g, b"+FULLRESYNC").is_some());
    assert!(find(&got, b"+FULLRESYNC").is_some());

    // Check 9: min-replicas beyond what we have.
    assert_eq!(mc.c("CONFIG SET min-replicas-to-write 5"), "+OK\r\n");
    assert_eq!(
        mc.c("SET a 1"),
        "-NOREPLICAS Not enough good replicas to write.\r\n"
    );
    assert_eq!(mc.c("GET before"), "$1\r\n1\r\n");
    assert!(mc.c("INFO replication").contains("min_slaves_good_slaves:"));
    assert_eq!(mc.c("CONFIG SET min-replicas-to-write 0"), "+OK\r\n");
    // REPLCONF errors.
    assert_eq!(mc.c("REPLCONF listening-port"), "-ERR syntax error\r\n");
    assert_eq!(
        mc.c("REPLCONF foo bar"),
        "-ERR Unrecognized REPLCONF option: foo\r\n"
    );
    // The stream keeps flowing to the fake replica (it holds the connection).
    drop(raw);
}

#[test]
fn chained_replica_and_promotion_continue_by_partial_resync() {
    let a = master();
    fill_all_types(a.port, "p");
    let b = replica_of(a.port);
    let c = replica_of(a.port);
    assert!(up(b.port) && up(c.port));
    // A's stream is on DB 2 when D hangs off B: D's snapshot from B must say
    // so (repl-stream-db), since B passes A's stream on without a new SELECT.
    let mut a2 = RespConn::connect(a.port);
    a2.c("SELECT 2");
    a2.c("SET db2-before 1");
    assert!(wait_caught_up(a.port, b.port, T));
    // D hangs off B: same replid and offsets as A.
    let d = replica_of(b.port);
    assert!(up(d.port));
    a2.c("SET db2-after 1");
    assert!(wait_caught_up(a.port, d.port, T));
    let mut dc = RespConn::connect(d.port);
    dc.c("SELECT 2");
    assert_eq!(dc.c("GET db2-after"), "$1\r\n1\r\n");
    let mut ac = RespConn::connect(a.port);
    ac.c("SET chained 1");
    assert!(wait_caught_up(a.port, d.port, T));
    assert_eq!(
        info_field(d.port, "replication", "master_replid"),
        info_field(a.port, "replication", "master_replid")
    );
    assert_eq!(RespConn::connect(d.port).c("GET chained"), "$1\r\n1\r\n");
    assert!(wait_caught_up(a.port, b.port, T) && wait_caught_up(a.port, c.port, T));

    // Freeze A; promote B; point C at B.
    let old_id = info_field(a.port, "replication", "master_replid").unwrap();
    let old_off: u64 = info_field(b.port, "replication", "master_repl_offset")
        .unwrap()
        .parse()
        .unwrap();
    signal(a.pid(), "STOP");
    let mut bc = RespConn::connect(b.port);
    assert_eq!(bc.c("REPLICAOF NO ONE"), "+OK\r\n");
    assert_eq!(
        info_field(b.port, "replication", "master_replid2").unwrap(),
        old_id
    );
    assert_eq!(
        info_field(b.port, "replication", "second_repl_offset").unwrap(),
        (old_off + 1).to_string()
    );
    let partial_before = stat(b.port, "sync_partial_ok");
    let full_before = stat(b.port, "sync_full");
    let mut cc = RespConn::connect(c.port);
    assert_eq!(cc.c(&format!("REPLICAOF 127.0.0.1 {}", b.port)), "+OK\r\n");
    assert!(up(c.port));
    // C and D (D reconnected after B's promotion) continue from B's backlog.
    assert!(wait_until(T, || stat(b.port, "sync_partial_ok") >= partial_before + 2));
    assert_eq!(stat(b.port, "sync_full"), full_before, "no full sync");
    bc.c("SET after-promotion yes");
    assert!(wait_caught_up(b.port, c.port, T) && wait_caught_up(b.port, d.port, T));
    assert_eq!(cc.c("GET after-promotion"), "$3\r\nyes\r\n");
    assert!(same_dataset(&dataset(b.port, 3), &dataset(c.port, 3)));
    // The old master comes back and follows B: it first offers its own
    // history (PSYNC <old replid> <offset+1>); partial or full, it converges.
    signal(a.pid(), "CONT");
    let mut ac = RespConn::connect(a.port);
    assert_eq!(ac.c(&format!("REPLICAOF 127.0.0.1 {}", b.port)), "+OK\r\n");
    assert!(up(a.port));
    assert!(wait_caught_up(b.port, a.port, T));
    assert!(
        a.logs().contains(&format!(
            "Trying a partial resynchronization (request {old_id}:"
        )),
        "{}",
        a.logs()
    );
    assert_eq!(ac.c("GET after-promotion"), "$3\r\nyes\r\n");
}

#[test]
fn replica_killed_mid_sync_then_resyncs() {
    let m = Server::with_config("repl-diskless-sync-delay = 0\nrepl-diskless-sync = false\n");
    let mut c = RespConn::connect(m.port);
    // ~200k keys in pipelined MSETs.
    for chunk in 0..200 {
        let mut args: Vec<Vec<u8>> = vec![b"MSET".to_vec()];
        for i in 0..1000 {
            args.push(format!("key:{chunk}:{i}").into_bytes());
            // Short values: long ones make debug-build LZF dominate the run.
            args.push(format!("v{chunk}-{i}").into_bytes());
        }
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        c.send(&refs);
    }
    for _ in 0..200 {
        c.read_reply();
    }
    let r = replica_of(m.port);
    assert!(wait_until(T, || info_field(
        m.port,
        "replication",
        "connected_slaves"
    )
    .as_deref()
        == Some("1")));
    signal(r.pid(), "KILL");
    drop(r);
    assert!(wait_info(m.port, "replication", "connected_slaves", "0", T));
    assert_eq!(c.c("PING"), "+PONG\r\n");
    assert_eq!(c.c("DBSIZE"), ":200000\r\n");
    let r2 = replica_of(m.port);
    assert!(
        wait_info(
            r2.port,
            "replication",
            "master_link_status",
            "up",
            Duration::from_secs(30)
        ),
        "{}\n{}",
        m.logs(),
        r2.logs()
    );
    assert_eq!(RespConn::connect(r2.port).c("DBSIZE"), ":200000\r\n");
    assert!(
        crate::common::wait_until(std::time::Duration::from_secs(10), || m
            .logs()
            .contains("Connection with replica")),
        "{}",
        m.logs()
    );
}

#[test]
fn replicas_arriving_together_share_one_snapshot() {
    let m = Server::with_config("repl-diskless-sync-delay = 1\n");
    fill_all_types(m.port, "s");
    let r1 = replica_of(m.port);
    let r2 = replica_of(m.port);
    assert!(up(r1.port) && up(r2.port));
    // The log reaches us through a pipe and a reader thread, which can lag
    // behind the replicas' state on a loaded machine: poll it.
    assert!(
        wait_until(T, || m.logs().contains("One snapshot feeds 2 replicas")),
        "{}",
        m.logs()
    );
    assert!(wait_caught_up(m.port, r1.port, T) && wait_caught_up(m.port, r2.port, T));
    let want = dataset(m.port, 3);
    assert!(same_dataset(&want, &dataset(r1.port, 3)));
    assert!(same_dataset(&want, &dataset(r2.port, 3)));
}

#[test]
fn stale_data_refused_while_the_master_link_is_down() {
    // A master that never answers: a listener we hold (so no other test's
    // server can take the port) and never accept on; the link never comes up.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let r = Server::with_config(&format!(
        "replicaof = \"127.0.0.1 {port}\"\nreplica-serve-stale-data = false\n"
    ));
    let mut c = RespConn::connect(r.port);
    assert_eq!(
        c.c("GET a"),
        "-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.\r\n"
    );
    // Redis 7.0 refuses PING too (it is not flagged stale): monitoring sees the state.
    assert_eq!(
        c.c("PING"),
        "-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.\r\n"
    );
    let info = c.c("INFO replication");
    assert!(info.contains("master_link_status:down\r\n"), "{info}");
    assert!(
        info.contains("master_link_down_since_seconds:-1\r\n"),
        "{info}"
    );
    let role = c.c("ROLE");
    assert!(role.ends_with(":-1\r\n"), "{role}");
    assert_eq!(c.c("CONFIG SET replica-serve-stale-data yes"), "+OK\r\n");
    assert_eq!(c.c("GET a"), "$-1\r\n");
}

#[test]
fn replica_over_the_output_buffer_limit_is_dropped() {
    let m = Server::with_config(
        "repl-diskless-sync-delay = 0\nclient-output-buffer-limit = \"normal 0 0 0 replica 1mb 0 0 pubsub 32mb 8mb 60\"\n",
    );
    // A fake replica that syncs and then never reads.
    let mut raw = m.raw();
    raw.roundtrip(&resp(&["REPLCONF", "capa", "eof"]), b"+OK\r\n");
    raw.send(&resp(&["PSYNC", "?", "-1"]));
    let _ = read_until(&mut raw, |g| {
        find(g, b"$EOF:").is_some_and(|i| g.len() >= i + 47 + 40 + 9)
    });
    assert!(wait_info(m.port, "replication", "connected_slaves", "1", T));
    raw.send(&resp(&["REPLCONF", "ACK", "0"]));
    let mut c = RespConn::connect(m.port);
    let big = "x".repeat(100_000);
    for i in 0..300 {
        c.call(&["SET", &format!("big{i}"), &big]);
    }
    assert!(
        wait_info(m.port, "replication", "connected_slaves", "0", T),
        "{}\n{}",
        m.logs(),
        c.c("INFO replication")
    );
    assert!(
        m.logs().contains("overcoming of output buffer limits"),
        "{}",
        m.logs()
    );
    assert_eq!(c.c("PING"), "+PONG\r\n");
}
