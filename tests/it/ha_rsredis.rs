//! The HA topology end to end on rsredis DATA nodes (one master, two replicas
//! configured with `replicaof` in node.toml): automatic failover by three
//! rsredis sentinels with partial resync of the other replica and the old
//! master rejoining (compat-contract §7 checks 26, 28, §1.8), a manual
//! `SENTINEL FAILOVER` (coordinated `FAILOVER TO`) under four INCR writers
//! without losing an acknowledged write, a mixed quorum of two real
//! `redis-sentinel`s and one rsredis sentinel (check 30), HAProxy's
//! `tcp-check` role probe (§6.5, check 32) and redis-py's `master_for`
//! (check 31). Each scenario is its own #[test] on distinct free ports.
//! Peers (redis-sentinel, haproxy, python3 + redis) are skipped when absent
//! unless RSREDIS_REQUIRE_INTEROP=1.

use crate::common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const DOWN_AFTER: u64 = 2000;
const FAILOVER_TIMEOUT: u64 = 6000;
/// node.toml lines of every rsredis node: full syncs start at once instead
/// of after the default 5 s diskless delay (initial syncs, rejoins).
const NODE: &str = "repl-diskless-sync-delay = 0";

/// With HA_DUMP=1 a passing scenario prints every log too (for debugging).
fn dump(sens: &[SentinelProc], g: &Group) {
    if std::env::var("HA_DUMP").is_ok() {
        eprintln!("{}{}", logs_of(sens), g.logs());
        for n in g.nodes() {
            eprintln!(
                "node {}: role {:?} sync_full {:?} sync_partial_ok {:?} sync_partial_err {:?}",
                n.port,
                n.info_field("role"),
                n.info_field("sync_full"),
                n.info_field("sync_partial_ok"),
                n.info_field("sync_partial_err")
            );
        }
    }
}

fn logs_of(sens: &[SentinelProc]) -> String {
    sens.iter()
        .map(|s| {
            format!(
                "--- {} sentinel {} ---\n{}",
                if s.real { "real" } else { "rsredis" },
                s.port,
                s.logs()
            )
        })
        .collect()
}

/// `real` real sentinels followed by `3 - real` rsredis ones watching g's master.
fn sentinels(g: &Group, real: usize) -> Option<Vec<SentinelProc>> {
    let mut v = Vec::new();
    for i in 0..3 {
        let port = free_port();
        let m = g.master.port;
        if i < real {
            v.push(SentinelProc::real(&sentinel_conf(
                port,
                "mymaster",
                m,
                2,
                DOWN_AFTER,
                FAILOVER_TIMEOUT,
            ))?);
        } else {
            v.push(SentinelProc::rsredis(&sentinel_toml(
                port,
                "mymaster",
                m,
                2,
                DOWN_AFTER,
                FAILOVER_TIMEOUT,
            )));
        }
    }
    Some(v)
}

/// Every sentinel sees the two others and both replicas.
fn wait_discovery(g: &Group, sens: &[SentinelProc]) {
    for s in sens {
        let ok = wait_until(Duration::from_secs(20), || {
            s.master_field("mymaster", "num-other-sentinels").as_deref() == Some("2")
                && s.master_field("mymaster", "num-slaves").as_deref() == Some("2")
        });
        assert!(
            ok,
            "sentinel {} did not discover the group:\n{}{}",
            s.port,
            logs_of(sens),
            g.logs()
        );
    }
}

/// The new master from the first +switch-master on any tap.
fn wait_switch(taps: &[Tap], timeout: Duration) -> Option<u16> {
    let mut new = None;
    wait_until(timeout, || {
        new = taps.iter().find_map(|t| {
            t.all()
                .into_iter()
                .find(|(k, _)| k == "+switch-master")
                .and_then(|(_, p)| p.split(' ').nth(4).and_then(|x| x.parse::<u16>().ok()))
        });
        new.is_some()
    });
    new
}

fn all_agree(sens: &[SentinelProc], port: u16, timeout: Duration) -> bool {
    wait_until(timeout, || {
        sens.iter().all(|s| {
            s.master_addr("mymaster") == Some(("127.0.0.1".into(), port))
                && s.master_field("mymaster", "port") == Some(port.to_string())
        })
    })
}

fn epochs_agree(sens: &[SentinelProc]) -> Vec<Option<String>> {
    sens.iter()
        .map(|s| s.master_field("mymaster", "config-epoch"))
        .collect()
}

fn follows(n: &Node, master: u16, timeout: Duration) -> bool {
    wait_until(timeout, || {
        n.info_field("role").as_deref() == Some("slave")
            && n.info_field("master_port") == Some(master.to_string())
            && n.info_field("master_link_status").as_deref() == Some("up")
    })
}

fn get(port: u16, key: &str) -> Option<String> {
    let mut c = RespConn::try_connect(port).ok()?;
    let r = String::from_utf8_lossy(&c.call(&["GET", key])).into_owned();
    r.split("\r\n").nth(1).map(str::to_string)
}

// ---- 1. automatic failover by three rsredis sentinels --------------------

#[test]
fn automatic_failover_partial_resync_and_rejoin() {
    let g = Group::start_rsredis(2, NODE);
    // Check 27: replica-priority 0 is never promoted (seen in INFO slave_priority).
    let mut c = g.replicas[0].conn();
    assert_eq!(
        c.call(&["CONFIG", "SET", "replica-priority", "0"]),
        b"+OK\r\n"
    );
    assert_eq!(
        g.replicas[0].info_field("slave_priority").as_deref(),
        Some("0")
    );
    let sens = sentinels(&g, 0).unwrap();
    wait_discovery(&g, &sens);
    let taps: Vec<Tap> = sens.iter().map(|s| Tap::new(s.port)).collect();
    let old = g.master.port;
    let mut c = g.master.conn();
    for i in 0..100 {
        c.call(&["SET", &format!("pre:{i}"), &i.to_string()]);
    }
    assert_eq!(c.call(&["WAIT", "2", "2000"]), b":2\r\n");
    drop(c);
    // A writer keeps the stream busy up to the freeze: the replicas stop at
    // whatever offsets they reached; the promoted one must still serve the
    // other a partial resync.
    let busy = Arc::new(AtomicBool::new(true));
    let written = Arc::new(AtomicU64::new(0));
    let writer = {
        let (busy, written, port) = (busy.clone(), written.clone(), g.master.port);
        std::thread::spawn(move || {
            let mut c = BufReader::new(TcpStream::connect(("127.0.0.1", port)).unwrap());
            c.get_mut()
                .set_read_timeout(Some(Duration::from_millis(300)))
                .unwrap();
            let mut i = 0u64;
            while busy.load(Ordering::Relaxed) {
                let (k, v) = (format!("w:{}", i % 50), i.to_string());
                let req = format!(
                    "*3\r\n$3\r\nSET\r\n${}\r\n{k}\r\n${}\r\n{v}\r\n",
                    k.len(),
                    v.len()
                );
                let mut line = String::new();
                if c.get_mut().write_all(req.as_bytes()).is_err() || c.read_line(&mut line).is_err()
                {
                    break;
                }
                i += 1;
                written.store(i, Ordering::Relaxed);
            }
        })
    };
    // The stream is busy when the master freezes.
    assert!(wait_until(Duration::from_secs(10), || written
        .load(Ordering::Relaxed)
        >= 100));

    let stopped = Instant::now();
    stop_pid(g.master.pid());
    busy.store(false, Ordering::Relaxed);
    writer.join().unwrap();
    let new = wait_switch(&taps, Duration::from_millis(DOWN_AFTER + 15000))
        .unwrap_or_else(|| panic!("no failover:\n{}{}", logs_of(&sens), g.logs()));
    let took = stopped.elapsed();
    assert_eq!(
        new, g.replicas[1].port,
        "the priority-0 replica was promoted"
    );
    assert!(
        all_agree(&sens, new, Duration::from_secs(10)),
        "{}",
        logs_of(&sens)
    );
    let e = epochs_agree(&sens);
    assert!(e.iter().all(|x| x == &e[0] && x.is_some()), "{e:?}");
    for t in &taps {
        assert_eq!(
            t.wait("+sdown", Duration::from_secs(1)),
            Some(format!("master mymaster 127.0.0.1 {old}")),
            "{:?}",
            t.all()
        );
    }
    assert!(taps.iter().map(|t| t.count("+odown")).sum::<usize>() >= 1);
    assert_eq!(
        taps.iter()
            .map(|t| t.count("+elected-leader"))
            .sum::<usize>(),
        1,
        "{}",
        logs_of(&sens)
    );
    assert!(
        took < Duration::from_millis(DOWN_AFTER + 10000),
        "failover took {took:?}"
    );

    // The other replica follows the new master, by partial resync (replid2).
    let newn = g.node_by_port(new).unwrap();
    let other = g.replicas.iter().find(|r| r.port != new).unwrap();
    assert!(
        follows(other, new, Duration::from_secs(15)),
        "other replica not following:\n{}{}",
        logs_of(&sens),
        g.logs()
    );
    // Partial, unless the other replica had already processed bytes past the
    // promotion point (the writer runs up to the SIGSTOP, so the two replicas
    // can stop at different offsets): then a full resync is what Redis does
    // too, and the promoted node must say exactly why.
    let ahead = newn
        .logs()
        .contains("Partial resynchronization not accepted: Requested offset for second ID was");
    let (partial, full) = if ahead { ("0", "1") } else { ("1", "0") };
    assert_eq!(
        newn.info_field("sync_partial_ok").as_deref(),
        Some(partial),
        "{}",
        g.logs()
    );
    assert_eq!(newn.info_field("sync_full").as_deref(), Some(full));

    let mut c = newn.conn();
    for i in 0..100 {
        c.call(&["SET", &format!("post:{i}"), &i.to_string()]);
    }

    // The old master comes back and is converted into a replica of the new one.
    signal_pid(g.master.pid(), "CONT");
    assert!(
        follows(&g.master, new, Duration::from_secs(25)),
        "old master did not rejoin:\n{}{}",
        logs_of(&sens),
        g.logs()
    );
    assert!(
        taps.iter().any(|t| t.count("+convert-to-slave") >= 1),
        "{}",
        logs_of(&sens)
    );
    let conf = g.master.config_text();
    assert!(
        conf.lines()
            .any(|l| l.trim() == format!("replicaof = \"127.0.0.1 {new}\"")),
        "{conf}"
    );
    // And the promoted node's file lost its replicaof line.
    let conf = newn.config_text();
    assert!(
        !conf
            .lines()
            .any(|l| l.trim().starts_with("replicaof") && l.contains("127.0.0.1")),
        "{conf}"
    );
    // Data written before and after the failover is everywhere.
    for n in g.nodes() {
        assert!(
            wait_until(Duration::from_secs(10), || {
                get(n.port, "pre:99").as_deref() == Some("99")
                    && get(n.port, "post:99").as_deref() == Some("99")
            }),
            "node {} lacks data",
            n.port
        );
        let mut c = n.conn();
        assert_eq!(c.call(&["DBSIZE"]), b":250\r\n", "node {}", n.port);
    }
    // Same contents everywhere (the writer's last values included).
    let snapshot = |port: u16| -> Vec<Option<String>> {
        (0..50).map(|i| get(port, &format!("w:{i}"))).collect()
    };
    let want = snapshot(new);
    for n in g.nodes() {
        assert!(
            wait_until(Duration::from_secs(5), || snapshot(n.port) == want),
            "node {} differs from the new master",
            n.port
        );
    }
    dump(&sens, &g);
}

// ---- 2. manual SENTINEL FAILOVER under write load ------------------------

/// One INCR over a fresh or kept connection. Ok(Some(v)) = acknowledged,
/// Ok(None) = refused with an error reply (not applied), Err = unknown outcome.
fn incr(conn: &mut Option<BufReader<TcpStream>>, port: u16) -> Result<Option<i64>, bool> {
    if conn.is_none() {
        let s = TcpStream::connect(("127.0.0.1", port)).map_err(|_| false)?;
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        *conn = Some(BufReader::new(s));
    }
    let r = conn.as_mut().unwrap();
    if r.get_mut()
        .write_all(b"*2\r\n$4\r\nINCR\r\n$3\r\nctr\r\n")
        .is_err()
    {
        *conn = None;
        return Err(true);
    }
    let mut line = String::new();
    match r.read_line(&mut line) {
        Ok(n) if n > 0 && line.starts_with(':') => Ok(line[1..].trim().parse().ok()),
        Ok(n) if n > 0 && line.starts_with('-') => {
            *conn = None;
            Ok(None)
        }
        _ => {
            *conn = None;
            Err(true)
        }
    }
}

/// The new master of the `nth` (1-based) +switch-master seen on any tap.
fn wait_nth_switch(taps: &[Tap], nth: usize, timeout: Duration) -> Option<u16> {
    let mut new = None;
    wait_until(timeout, || {
        new = taps.iter().find_map(|t| {
            t.all()
                .into_iter()
                .filter(|(k, _)| k == "+switch-master")
                .nth(nth - 1)
                .and_then(|(_, p)| p.split(' ').nth(4).and_then(|x| x.parse::<u16>().ok()))
        });
        new.is_some()
    });
    new
}

/// `rounds` manual SENTINEL FAILOVERs while 4 clients INCR a counter,
/// re-resolving the master through the sentinels on any error. After each
/// round the counter on the new master is at least the acknowledged count
/// (and at most that plus the INCRs whose outcome the client never saw).
fn manual_failover_under_writes(g: Group, rounds: usize) {
    let sens = sentinels(&g, 0).unwrap();
    wait_discovery(&g, &sens);
    let taps: Vec<Tap> = sens.iter().map(|s| Tap::new(s.port)).collect();
    let sports: Vec<u16> = sens.iter().map(|s| s.port).collect();
    let rsredis_nodes = !g.master.logs().is_empty();

    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicU64::new(0));
    let unknown = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let resolve = move |i: usize| -> Option<u16> {
        let mut c = RespConn::try_connect(sports[i % sports.len()]).ok()?;
        let r =
            String::from_utf8_lossy(&c.call(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"]))
                .into_owned();
        r.split("\r\n").nth(4)?.parse().ok()
    };
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (stop, acked, unknown, errors) =
                (stop.clone(), acked.clone(), unknown.clone(), errors.clone());
            let resolve = resolve.clone();
            std::thread::spawn(move || {
                let mut conn = None;
                let mut port = None;
                while !stop.load(Ordering::Relaxed) {
                    if port.is_none() {
                        port = resolve(w);
                        if port.is_none() {
                            std::thread::sleep(Duration::from_millis(20));
                            continue;
                        }
                    }
                    match incr(&mut conn, port.unwrap()) {
                        Ok(Some(_)) => {
                            acked.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(None) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            port = None;
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        Err(_) => {
                            unknown.fetch_add(1, Ordering::Relaxed);
                            port = None;
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                }
            })
        })
        .collect();
    assert!(
        wait_until(Duration::from_secs(10), || acked.load(Ordering::Relaxed)
            > 0),
        "writers not writing"
    );
    let mut master = g.master.port;
    for round in 1..=rounds {
        let mut c = sens[round % 3].conn();
        assert!(
            wait_until(Duration::from_secs(15), || {
                c.call(&["SENTINEL", "FAILOVER", "mymaster"]) == b"+OK\r\n"
            }),
            "round {round}: SENTINEL FAILOVER refused:\n{}",
            logs_of(&sens)
        );
        let new = wait_nth_switch(&taps, round, Duration::from_secs(20))
            .unwrap_or_else(|| panic!("round {round}: no switch:\n{}{}", logs_of(&sens), g.logs()));
        assert_ne!(new, master);
        assert!(
            all_agree(&sens, new, Duration::from_secs(10)),
            "{}",
            logs_of(&sens)
        );
        // Writers find the new master.
        let at_switch = acked.load(Ordering::Relaxed);
        assert!(
            wait_until(Duration::from_secs(10), || acked.load(Ordering::Relaxed)
                > at_switch + 50),
            "round {round}: writes did not resume"
        );
        // The coordinated FAILOVER TO ran on the old master (writes held until
        // the target caught up), not a blind SLAVEOF NO ONE on the replica.
        if rsredis_nodes {
            let old_logs = g.node_by_port(master).unwrap().logs();
            assert!(
                old_logs.contains(&format!("FAILOVER requested to 127.0.0.1:{new}"))
                    && old_logs.contains("is synced, failing over"),
                "{old_logs}"
            );
        }
        // Everyone follows the new master before the next round.
        for n in g.nodes() {
            if n.port != new {
                assert!(
                    follows(n, new, Duration::from_secs(15)),
                    "round {round}: node {} not following {new}:\n{}{}",
                    n.port,
                    logs_of(&sens),
                    g.logs()
                );
            }
        }
        let newn = g.node_by_port(new).unwrap();
        eprintln!(
            "manual failover round {round}: new master {new} sync_full {:?} sync_partial_ok {:?}",
            newn.info_field("sync_full"),
            newn.info_field("sync_partial_ok")
        );
        master = new;
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let (acked, unknown, errors) = (
        acked.load(Ordering::Relaxed),
        unknown.load(Ordering::Relaxed),
        errors.load(Ordering::Relaxed),
    );
    let ctr: u64 = get(master, "ctr").unwrap().parse().unwrap();
    eprintln!(
        "manual failover x{rounds} ({}): acked {acked}, unknown {unknown}, refused {errors}, counter {ctr}",
        if rsredis_nodes { "rsredis nodes" } else { "redis-server nodes" }
    );
    assert!(
        ctr >= acked && ctr <= acked + unknown,
        "acked {acked} unknown {unknown} counter {ctr}\n{}{}",
        logs_of(&sens),
        g.logs()
    );
    for n in g.nodes() {
        assert!(
            wait_until(Duration::from_secs(5), || get(n.port, "ctr")
                == Some(ctr.to_string())),
            "node {} counter differs",
            n.port
        );
    }
}

#[test]
fn manual_failover_twice_loses_no_acknowledged_write() {
    manual_failover_under_writes(Group::start_rsredis(2, NODE), 2);
}

/// The same load on real redis-server 7.0 nodes, for comparison.
#[test]
fn manual_failover_on_redis_server_nodes_loses_no_acknowledged_write() {
    let Some(g) = Group::start(2, "") else { return };
    manual_failover_under_writes(g, 1);
}

// ---- 3. mixed sentinels over rsredis nodes ------------------------------

#[test]
fn two_real_sentinels_and_one_rsredis_fail_over_rsredis_nodes() {
    let g = Group::start_rsredis(2, NODE);
    let Some(sens) = sentinels(&g, 2) else { return };
    wait_discovery(&g, &sens);
    let taps: Vec<Tap> = sens.iter().map(|s| Tap::new(s.port)).collect();
    // Hellos go through our master's and replicas' pub/sub.
    for n in g.nodes() {
        let mut c = n.conn();
        let r = String::from_utf8_lossy(&c.call(&["PUBSUB", "NUMSUB", "__sentinel__:hello"]))
            .into_owned();
        assert!(r.ends_with(":3\r\n"), "node {}: {r}", n.port);
    }
    let mut c = g.master.conn();
    c.call(&["SET", "before", "1"]);
    let old = g.master.port;
    stop_pid(g.master.pid());
    let new = wait_switch(&taps, Duration::from_millis(DOWN_AFTER + 20000))
        .unwrap_or_else(|| panic!("no failover:\n{}{}", logs_of(&sens), g.logs()));
    assert_ne!(new, old);
    assert!(g.replicas.iter().any(|r| r.port == new));
    assert!(
        all_agree(&sens, new, Duration::from_secs(15)),
        "{}",
        logs_of(&sens)
    );
    let e = epochs_agree(&sens);
    assert!(e.iter().all(|x| x == &e[0] && x.is_some()), "{e:?}");
    let leaders: Vec<usize> = (0..3)
        .filter(|&i| taps[i].count("+elected-leader") > 0)
        .collect();
    assert_eq!(leaders.len(), 1, "{}", logs_of(&sens));
    let newn = g.node_by_port(new).unwrap();
    assert_eq!(newn.info_field("role").as_deref(), Some("master"));
    let other = g.replicas.iter().find(|r| r.port != new).unwrap();
    assert!(
        follows(other, new, Duration::from_secs(15)),
        "{}{}",
        logs_of(&sens),
        g.logs()
    );
    assert_eq!(get(new, "before").as_deref(), Some("1"));
    let mut c = newn.conn();
    assert_eq!(c.call(&["SET", "after", "1"]), b"+OK\r\n");
    signal_pid(g.master.pid(), "CONT");
    assert!(
        follows(&g.master, new, Duration::from_secs(25)),
        "old master did not rejoin:\n{}{}",
        logs_of(&sens),
        g.logs()
    );
    assert!(wait_until(Duration::from_secs(5), || get(old, "after")
        .as_deref()
        == Some("1")));
    // A manual failover led by a real sentinel (MULTI / SLAVEOF NO ONE / CONFIG
    // REWRITE / CLIENT KILL ... / EXEC, no FAILOVER TO) over rsredis nodes.
    let mut c = sens[0].conn();
    assert!(
        wait_until(Duration::from_secs(15), || {
            c.call(&["SENTINEL", "FAILOVER", "mymaster"]) == b"+OK\r\n"
        }),
        "{}",
        logs_of(&sens)
    );
    let second = wait_until(Duration::from_secs(20), || {
        taps[0].count("+switch-master") >= 2
    });
    assert!(second, "no second switch:\n{}{}", logs_of(&sens), g.logs());
    let new2 = taps[0]
        .all()
        .into_iter()
        .filter(|(k, _)| k == "+switch-master")
        .nth(1)
        .and_then(|(_, p)| p.split(' ').nth(4).and_then(|x| x.parse::<u16>().ok()))
        .unwrap();
    assert_ne!(new2, new);
    assert!(
        all_agree(&sens, new2, Duration::from_secs(15)),
        "{}",
        logs_of(&sens)
    );
    for n in g.nodes() {
        if n.port != new2 {
            assert!(
                follows(n, new2, Duration::from_secs(20)),
                "node {} not following {new2}:\n{}{}",
                n.port,
                logs_of(&sens),
                g.logs()
            );
        }
    }
    assert_eq!(get(new2, "after").as_deref(), Some("1"));
    dump(&sens, &g);
}

// ---- 4. HAProxy in front of rsredis nodes ---------------------------------

struct Haproxy {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Haproxy {
    fn start(servers: &[u16]) -> Option<Haproxy> {
        let bin = peer("haproxy").or_else(|| {
            let p = std::path::PathBuf::from("/usr/sbin/haproxy");
            p.exists().then_some(p)
        });
        let Some(bin) = bin else {
            if std::env::var("RSREDIS_REQUIRE_INTEROP").as_deref() == Ok("1") {
                panic!("haproxy is required (RSREDIS_REQUIRE_INTEROP=1)");
            }
            eprintln!("skipping: haproxy not available");
            return None;
        };
        Some(start_on_free_port("haproxy", |port| {
            Haproxy::try_start(&bin, servers, port)
        }))
    }

    /// HAProxy on `port`; None when it did not end up serving it (it exits
    /// when the port was taken before it could bind).
    fn try_start(bin: &std::path::Path, servers: &[u16], port: u16) -> Option<Haproxy> {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = format!(
            "global\n  stats socket {}/stats.sock mode 600 level admin\n\
             defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 60s\n  timeout server 60s\n  timeout check 1s\n\
             frontend fe\n  bind 127.0.0.1:{port}\n  default_backend redis\n\
             backend redis\n  option tcp-check\n\
             \x20 tcp-check send PING\\r\\n\n  tcp-check expect string +PONG\n\
             \x20 tcp-check send info\\ replication\\r\\n\n  tcp-check expect string role:master\n\
             \x20 tcp-check send QUIT\\r\\n\n  tcp-check expect string +OK\n",
            dir.path().display()
        );
        for (i, p) in servers.iter().enumerate() {
            cfg.push_str(&format!(
                "  server n{i} 127.0.0.1:{p} check inter 300 rise 1 fall 1 on-marked-down shutdown-sessions\n"
            ));
        }
        let path = dir.path().join("haproxy.cfg");
        std::fs::write(&path, cfg).unwrap();
        let log = std::fs::File::create(dir.path().join("haproxy.log")).unwrap();
        let child = Command::new(bin)
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn haproxy");
        let mut h = Haproxy { child, dir, port };
        // HAProxy binds its frontend before it opens the stats socket and
        // exits when the bind fails: its own pid on the stats socket, while it
        // runs, means the frontend port is ours.
        let pid = h.child.id();
        let sock = h.dir.path().join("stats.sock");
        let ours = wait_serving(&mut h.child, Duration::from_secs(10), || {
            stats_cmd(&sock, "show info").contains(&format!("\nPid: {pid}\n"))
                && TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        if !ours {
            eprintln!("haproxy did not start on {port}: {}", h.logs());
        }
        ours.then_some(h)
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("haproxy.log")).unwrap_or_default()
    }

    /// Server ports whose status is UP, from `show stat` on the stats socket.
    fn up_servers(&self) -> Vec<u16> {
        let out = stats_cmd(
            &self.dir.path().join("stats.sock"),
            "show servers state redis",
        );
        // Fields: be_id be_name srv_id srv_name srv_addr srv_op_state ... srv_port (col 18).
        out.lines()
            .filter(|l| !l.starts_with('#') && l.split(' ').count() > 18)
            .filter_map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                (f[5] == "2").then(|| f[18].parse().ok()).flatten()
            })
            .collect()
    }
}

/// One command on HAProxy's stats socket; its output ("" when unreachable).
fn stats_cmd(sock: &std::path::Path, cmd: &str) -> String {
    let Ok(mut s) = std::os::unix::net::UnixStream::connect(sock) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.write_all(format!("{cmd}\n").as_bytes());
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// SET through the proxy on a fresh connection; true on +OK.
fn set_via(port: u16, key: &str, val: &str) -> bool {
    let Ok(s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    s.set_read_timeout(Some(Duration::from_millis(800)))
        .unwrap();
    let mut c = BufReader::new(s);
    let req = format!(
        "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n${}\r\n{val}\r\n",
        key.len(),
        val.len()
    );
    if c.get_mut().write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut line = String::new();
    c.read_line(&mut line).is_ok() && line == "+OK\r\n"
}

#[test]
fn haproxy_follows_the_master_across_a_failover() {
    let g = Group::start_rsredis(2, NODE);
    let ports: Vec<u16> = g.nodes().iter().map(|n| n.port).collect();
    let Some(h) = Haproxy::start(&ports) else {
        return;
    };
    assert!(
        wait_until(Duration::from_secs(10), || h.up_servers()
            == vec![g.master.port]),
        "UP servers {:?} (master {}):\n{}",
        h.up_servers(),
        g.master.port,
        h.logs()
    );
    assert!(set_via(h.port, "via", "1"));
    assert_eq!(get(g.master.port, "via").as_deref(), Some("1"));

    let sens = sentinels(&g, 0).unwrap();
    wait_discovery(&g, &sens);
    let taps: Vec<Tap> = sens.iter().map(|s| Tap::new(s.port)).collect();
    stop_pid(g.master.pid());
    let new = wait_switch(&taps, Duration::from_millis(DOWN_AFTER + 15000))
        .unwrap_or_else(|| panic!("no failover:\n{}{}", logs_of(&sens), g.logs()));
    let switched = Instant::now();
    let mut n = 0;
    assert!(
        wait_until(Duration::from_secs(5), || {
            n += 1;
            set_via(h.port, "via", &format!("after{n}"))
        }),
        "no write through haproxy after the switch; UP {:?}\n{}",
        h.up_servers(),
        h.logs()
    );
    eprintln!(
        "haproxy: writes resumed {:?} after +switch-master",
        switched.elapsed()
    );
    assert_eq!(h.up_servers(), vec![new]);
    assert_eq!(get(new, "via"), Some(format!("after{n}")));
    signal_pid(g.master.pid(), "CONT");
    // The old master comes back as a master until a sentinel converts it
    // (+convert-to-slave after ~8 s, as with Redis): meanwhile HAProxy's
    // role probe sees two masters. Measured, not asserted (same as Redis).
    let t = Instant::now();
    let mut two_up = Duration::ZERO;
    while t.elapsed() < Duration::from_secs(25) {
        if h.up_servers().len() > 1 {
            two_up += Duration::from_millis(100);
        }
        if g.master.info_field("role").as_deref() == Some("slave") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("haproxy: two servers UP for ~{two_up:?} before the old master was converted");
    assert!(
        follows(&g.master, new, Duration::from_secs(25)),
        "{}",
        logs_of(&sens)
    );
    // A replica's check fails by `timeout check` (haproxy keeps reading for
    // "role:master" until then), so allow timeout check + inter.
    assert!(
        wait_until(Duration::from_secs(3), || h.up_servers() == vec![new]),
        "UP {:?}:\n{}",
        h.up_servers(),
        h.logs()
    );
    assert!(set_via(h.port, "via", "last"));
    assert_eq!(get(new, "via").as_deref(), Some("last"));
}

// ---- 5. redis-py master_for over rsredis sentinels and nodes -------------

fn python_redis() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import redis.sentinel"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        if std::env::var("RSREDIS_REQUIRE_INTEROP").as_deref() == Ok("1") {
            panic!("python3 with redis is required (RSREDIS_REQUIRE_INTEROP=1)");
        }
        eprintln!("skipping: python3 with redis not available");
    }
    ok
}

#[test]
fn redis_py_master_for_keeps_writing_on_rsredis_nodes() {
    redis_py_across_failover("stop");
}

/// The master goes away with SHUTDOWN NOSAVE instead of SIGSTOP.
#[test]
fn redis_py_master_for_after_master_shutdown() {
    redis_py_across_failover("shutdown");
}

fn redis_py_across_failover(how: &str) {
    if !python_redis() {
        return;
    }
    let g = Group::start_rsredis(2, NODE);
    let sens = sentinels(&g, 0).unwrap();
    wait_discovery(&g, &sens);
    let ports: Vec<String> = sens.iter().map(|s| s.port.to_string()).collect();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/sentinel_client.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(ports.join(","))
        .arg(g.master.pid().to_string())
        .arg(how)
        .env("FAILOVER_LIMIT_SECONDS", "25")
        .output()
        .expect("python3");
    signal_pid(g.master.pid(), "CONT");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "script failed:\n{}\n{}\n{}",
        stdout,
        String::from_utf8_lossy(&out.stderr),
        logs_of(&sens)
    );
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("json");
    eprintln!("redis-py on rsredis nodes across failover: {v}");
    assert_eq!(v["before"][1], g.master.port);
    assert_eq!(v["replicas"].as_array().unwrap().len(), 2);
    assert_eq!(v["replica_read"], true);
    let w = v["write_seconds"]
        .as_f64()
        .unwrap_or_else(|| panic!("writes never recovered: {v}\n{}", logs_of(&sens)));
    assert!(
        w < (DOWN_AFTER as f64 / 1000.0) + 12.0,
        "recovery took {w}s"
    );
    let after = v["after"][1].as_u64().unwrap() as u16;
    assert!(g.replicas.iter().any(|r| r.port == after), "{v}");
}
