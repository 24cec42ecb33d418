//! The coordinated FAILOVER command (Redis 6.2+/7.0): a planned switch that
//! loses no acknowledged write, the old master continuing by partial resync;
//! FAILOVER without TO, the TIMEOUT abort, FORCE, ABORT, the error texts, and
//! interop with a real redis-server 7.0 on either side.

use crate::common::*;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(15);

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

fn repl(port: u16, f: &str) -> String {
    info_field(port, "replication", f).unwrap_or_default()
}

fn fo_state(port: u16) -> String {
    repl(port, "master_failover_state")
}

fn no_failover(port: u16) -> bool {
    wait_info(
        port,
        "replication",
        "master_failover_state",
        "no-failover",
        T,
    )
}

fn role(port: u16) -> String {
    repl(port, "role")
}

fn err(s: &str) -> String {
    format!("-ERR {s}\r\n")
}

/// A master with two replicas, all linked and caught up.
fn trio() -> (Server, Server, Server) {
    let m = master();
    let r1 = replica_of(m.port);
    let r2 = replica_of(m.port);
    assert!(up(r1.port) && up(r2.port), "{}", r1.logs());
    // ACKs have arrived (online, offsets known) before a FAILOVER looks at them.
    assert!(wait_caught_up(m.port, r1.port, T) && wait_caught_up(m.port, r2.port, T));
    (m, r1, r2)
}

/// Writers that INCR their own counter, retrying on errors, following the
/// master when told READONLY. `acked[i]`: increments the server confirmed;
/// `unsure[i]`: attempts whose connection broke before the reply.
struct Writers {
    stop: Arc<AtomicBool>,
    acked: Vec<Arc<AtomicU64>>,
    unsure: Vec<Arc<AtomicU64>>,
    readonly: Arc<AtomicU64>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Writers {
    fn start(n: usize, port: u16) -> Writers {
        let stop = Arc::new(AtomicBool::new(false));
        let readonly = Arc::new(AtomicU64::new(0));
        let mut w = Writers {
            stop: stop.clone(),
            acked: Vec::new(),
            unsure: Vec::new(),
            readonly: readonly.clone(),
            threads: Vec::new(),
        };
        for i in 0..n {
            let (acked, unsure) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
            w.acked.push(acked.clone());
            w.unsure.push(unsure.clone());
            let (stop, readonly) = (stop.clone(), readonly.clone());
            let target = Arc::new(AtomicU16::new(port));
            w.threads.push(std::thread::spawn(move || {
                let key = format!("ctr{i}");
                let mut conn: Option<RespConn> = None;
                while !stop.load(Ordering::Relaxed) {
                    let port = target.load(Ordering::Relaxed);
                    let c = match conn.as_mut() {
                        Some(c) => c,
                        None => match RespConn::try_connect(port) {
                            Ok(c) => conn.insert(c),
                            Err(_) => {
                                std::thread::sleep(Duration::from_millis(20));
                                continue;
                            }
                        },
                    };
                    let reply = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        c.call(&["INCR", &key])
                    }));
                    match reply {
                        Ok(r) if r.starts_with(b":") => {
                            acked.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(r) if r.starts_with(b"-READONLY") => {
                            // Not executed: ask this node who its master is now.
                            readonly.fetch_add(1, Ordering::Relaxed);
                            if let Some(p) = info_field(port, "replication", "master_port")
                                .and_then(|p| p.parse().ok())
                            {
                                target.store(p, Ordering::Relaxed);
                            }
                            conn = None;
                        }
                        Ok(_) => std::thread::sleep(Duration::from_millis(10)),
                        Err(_) => {
                            unsure.fetch_add(1, Ordering::Relaxed);
                            conn = None;
                        }
                    }
                }
            }));
        }
        w
    }

    fn total(&self) -> u64 {
        self.acked.iter().map(|a| a.load(Ordering::Relaxed)).sum()
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            t.join().unwrap();
        }
    }
}

fn get_int(port: u16, key: &str) -> u64 {
    let r = RespConn::connect(port).call(&["GET", key]);
    let s = String::from_utf8_lossy(&r).into_owned();
    s.split("\r\n")
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn failover_to_a_replica_loses_no_acknowledged_write() {
    let (m, r1, r2) = trio();
    let mut w = Writers::start(4, m.port);
    assert!(wait_until(T, || w.total() > 200));
    let full_before = stat(r1.port, "sync_full");
    let mut mc = RespConn::connect(m.port);
    assert_eq!(
        mc.c(&format!("FAILOVER TO 127.0.0.1 {}", r1.port)),
        "+OK\r\n"
    );
    assert!(no_failover(m.port), "{}", m.logs());
    assert_eq!(role(r1.port), "master", "{}", r1.logs());
    assert_eq!(role(m.port), "slave");
    assert_eq!(repl(m.port, "master_port"), r1.port.to_string());
    // Writers found the new master and keep going there.
    let at_switch = w.total();
    assert!(wait_until(T, || w.total() > at_switch + 200));
    w.stop();

    // The old master continued by partial resync; nobody needed a full sync.
    assert!(wait_info(
        m.port,
        "replication",
        "master_link_status",
        "up",
        T
    ));
    assert_eq!(stat(r1.port, "sync_partial_ok"), 1, "{}", r1.logs());
    assert_eq!(stat(r1.port, "sync_full"), full_before);
    // Every acknowledged INCR is on the new master (none lost; an attempt
    // whose reply was lost to a broken connection may or may not count).
    for i in 0..4 {
        let key = format!("ctr{i}");
        let got = get_int(r1.port, &key);
        let acked = w.acked[i].load(Ordering::Relaxed);
        let unsure = w.unsure[i].load(Ordering::Relaxed);
        assert!(
            got >= acked && got <= acked + unsure,
            "{key}: new master has {got}, acked {acked}, unsure {unsure}"
        );
    }
    assert!(
        w.readonly.load(Ordering::Relaxed) > 0,
        "writers saw the switch"
    );
    // Like Redis, FAILOVER switches only the two nodes: the other replica
    // stays attached to the old master, which passes the new stream on.
    assert_eq!(repl(r2.port, "master_port"), m.port.to_string());
    assert!(up(r2.port));
    assert!(wait_caught_up(r1.port, m.port, T) && wait_caught_up(r1.port, r2.port, T));
    let want = dataset(r1.port, 1);
    assert!(same_dataset(&want, &dataset(m.port, 1)));
    assert!(same_dataset(&want, &dataset(r2.port, 1)));
    // Pointing it at the new master directly: a partial resync too.
    let mut c2 = RespConn::connect(r2.port);
    assert_eq!(c2.c(&format!("REPLICAOF 127.0.0.1 {}", r1.port)), "+OK\r\n");
    assert!(wait_until(T, || stat(r1.port, "sync_partial_ok") == 2));
    assert_eq!(stat(r1.port, "sync_full"), full_before);
    let logs = m.logs();
    assert!(
        logs.contains(&format!("FAILOVER requested to 127.0.0.1:{}.", r1.port)),
        "{logs}"
    );
    assert!(logs.contains("is synced, failing over."), "{logs}");
    let logs = r1.logs();
    assert!(
        logs.contains("Failover request received for replid"),
        "{logs}"
    );
    assert!(
        logs.contains("MASTER MODE enabled (failover request from"),
        "{logs}"
    );
}

#[test]
fn failover_without_target_picks_a_synced_replica() {
    let (m, r1, r2) = trio();
    let mut mc = RespConn::connect(m.port);
    mc.c("SET before 1");
    assert_eq!(mc.c("FAILOVER"), "+OK\r\n");
    assert!(no_failover(m.port), "{}", m.logs());
    assert_eq!(role(m.port), "slave");
    let new = repl(m.port, "master_port");
    let (new_m, other) = if new == r1.port.to_string() {
        (&r1, &r2)
    } else {
        assert_eq!(new, r2.port.to_string());
        (&r2, &r1)
    };
    assert_eq!(role(new_m.port), "master");
    assert_eq!(role(other.port), "slave");
    assert!(crate::common::wait_until(
        std::time::Duration::from_secs(10),
        || m.logs().contains("FAILOVER requested to any replica.")
    ));
    assert!(up(m.port));
    assert_eq!(stat(new_m.port, "sync_partial_ok"), 1);
    assert_eq!(RespConn::connect(new_m.port).c("GET before"), "$1\r\n1\r\n");
}

/// A write sent now, answered later: (connection, reply reader thread).
fn pending_write(port: u16, key: &str) -> std::thread::JoinHandle<(String, Duration)> {
    let key = key.to_string();
    let mut c = RespConn::connect(port);
    let t0 = Instant::now();
    c.send(&[b"SET", key.as_bytes(), b"v"]);
    std::thread::spawn(move || {
        let r = String::from_utf8_lossy(&c.read_reply()).into_owned();
        (r, t0.elapsed())
    })
}

#[test]
fn timeout_aborts_when_the_target_never_catches_up() {
    let (m, r1, r2) = trio();
    signal(r1.pid(), "STOP");
    let mut mc = RespConn::connect(m.port);
    mc.c("SET case 1");
    assert_eq!(
        mc.c(&format!("FAILOVER TO 127.0.0.1 {} TIMEOUT 700", r1.port)),
        "+OK\r\n"
    );
    assert_eq!(fo_state(m.port), "waiting-for-sync");
    // Writes wait (they don't fail); reads are served.
    let w = pending_write(m.port, "held");
    assert_eq!(mc.c("GET case"), "$1\r\n1\r\n");
    assert_eq!(mc.c("FAILOVER"), err("FAILOVER already in progress."));
    assert_eq!(
        mc.c("REPLICAOF NO ONE"),
        err("REPLICAOF not allowed while failing over.")
    );
    let (reply, waited) = w.join().unwrap();
    assert_eq!(reply, "+OK\r\n");
    assert!(waited >= Duration::from_millis(500), "{waited:?}");
    assert_eq!(fo_state(m.port), "no-failover");
    assert_eq!(role(m.port), "master");
    assert!(crate::common::wait_until(
        std::time::Duration::from_secs(10),
        || m.logs().contains(&format!(
            "FAILOVER to 127.0.0.1:{} aborted: Replica never caught up before timeout",
            r1.port
        ))
    ));
    signal(r1.pid(), "CONT");
    assert!(wait_caught_up(m.port, r1.port, T) && wait_caught_up(m.port, r2.port, T));
    assert_eq!(RespConn::connect(r1.port).c("GET held"), "$1\r\nv\r\n");
    assert_eq!(stat(m.port, "sync_partial_ok"), 0);
}

#[test]
fn force_fails_over_after_the_timeout() {
    let (m, r1, r2) = trio();
    signal(r1.pid(), "STOP");
    let mut mc = RespConn::connect(m.port);
    mc.c("SET case 2");
    assert_eq!(
        mc.c(&format!(
            "FAILOVER TO 127.0.0.1 {} TIMEOUT 300 FORCE",
            r1.port
        )),
        "+OK\r\n"
    );
    assert!(wait_info(
        m.port,
        "replication",
        "master_failover_state",
        "failover-in-progress",
        T
    ));
    // Never two masters: the old one is a replica already.
    assert_eq!(role(m.port), "slave");
    assert_eq!(role(r2.port), "slave");
    signal(r1.pid(), "CONT");
    assert!(no_failover(m.port), "{}", m.logs());
    assert_eq!(role(r1.port), "master");
    assert!(up(m.port));
    assert!(wait_caught_up(r1.port, m.port, T));
    assert!(same_dataset(&dataset(r1.port, 1), &dataset(m.port, 1)));
    assert!(crate::common::wait_until(
        std::time::Duration::from_secs(10),
        || m.logs().contains(&format!(
            "FAILOVER to 127.0.0.1:{} time out exceeded, failing over.",
            r1.port
        ))
    ));
}

#[test]
fn abort_puts_everything_back() {
    let (m, r1, r2) = trio();
    signal(r1.pid(), "STOP");
    let mut mc = RespConn::connect(m.port);
    // A write the stopped target will not acknowledge.
    mc.c("SET case 3");
    assert_eq!(
        mc.c(&format!("FAILOVER TO 127.0.0.1 {} TIMEOUT 60000", r1.port)),
        "+OK\r\n"
    );
    assert_eq!(fo_state(m.port), "waiting-for-sync");
    let w = pending_write(m.port, "held");
    // Deliberate: a write that stays pending cannot be polled for; give it
    // 300 ms to (wrongly) complete.
    std::thread::sleep(Duration::from_millis(300));
    assert!(!w.is_finished(), "the write waits");
    assert_eq!(mc.c("FAILOVER ABORT"), "+OK\r\n");
    assert_eq!(fo_state(m.port), "no-failover");
    assert_eq!(w.join().unwrap().0, "+OK\r\n");
    assert_eq!(mc.c("FAILOVER ABORT"), err("No failover in progress."));
    assert!(crate::common::wait_until(
        std::time::Duration::from_secs(10),
        || m.logs().contains("aborted: Failover manually aborted")
    ));
    signal(r1.pid(), "CONT");
    assert!(wait_caught_up(m.port, r1.port, T) && wait_caught_up(m.port, r2.port, T));
    assert_eq!(role(m.port), "master");
    assert_eq!(stat(m.port, "sync_partial_ok"), 0);
}

#[test]
fn error_texts() {
    let m = master();
    let mut mc = RespConn::connect(m.port);
    assert_eq!(
        mc.c("FAILOVER"),
        err("FAILOVER requires connected replicas.")
    );
    assert_eq!(mc.c("FAILOVER ABORT"), err("No failover in progress."));
    assert_eq!(
        mc.c("FAILOVER TIMEOUT 0"),
        err("FAILOVER timeout must be greater than 0")
    );
    assert_eq!(
        mc.c("FAILOVER TIMEOUT -5"),
        err("FAILOVER timeout must be greater than 0")
    );
    assert_eq!(
        mc.c("FAILOVER TIMEOUT x"),
        err("value is not an integer or out of range")
    );
    assert_eq!(
        mc.c("FAILOVER TO h p"),
        err("value is not an integer or out of range")
    );
    for bad in [
        "FAILOVER TO h",
        "FAILOVER x",
        "FAILOVER FORCE FORCE",
        "FAILOVER ABORT TIMEOUT 5",
        "FAILOVER TIMEOUT 5 TIMEOUT 6",
    ] {
        assert_eq!(mc.c(bad), "-ERR syntax error\r\n", "{bad}");
    }
    assert_eq!(
        mc.c("PSYNC abc 1 FAILOVER"),
        err("PSYNC FAILOVER can't be sent to a master.")
    );
    let r = replica_of(m.port);
    assert!(up(r.port));
    assert!(wait_caught_up(m.port, r.port, T));
    assert_eq!(
        mc.c("FAILOVER TO 127.0.0.2 1"),
        err("FAILOVER target HOST and PORT is not a replica.")
    );
    assert_eq!(
        mc.c("FAILOVER FORCE TIMEOUT 100"),
        err("FAILOVER with force option requires both a timeout and target HOST and IP.")
    );
    assert_eq!(
        mc.c(&format!("FAILOVER TO 127.0.0.1 {} FORCE", r.port)),
        err("FAILOVER with force option requires both a timeout and target HOST and IP.")
    );
    let mut rc = RespConn::connect(r.port);
    assert_eq!(
        rc.c("FAILOVER"),
        err("FAILOVER is not valid when server is a replica.")
    );
    assert_eq!(
        rc.c("PSYNC 0123456789012345678901234567890123456789 1 FAILOVER"),
        err("PSYNC FAILOVER replid must match my replid.")
    );
    assert_eq!(role(r.port), "slave");
    // A replica still waiting for its snapshot is not online.
    let slow = Server::with_config("repl-diskless-sync-delay = 5\n");
    let mut fake = RespConn::connect(slow.port);
    assert_eq!(fake.c("REPLCONF listening-port 4321"), "+OK\r\n");
    assert_eq!(fake.c("REPLCONF capa eof capa psync2"), "+OK\r\n");
    fake.send(&[b"PSYNC", b"?", b"-1"]);
    assert!(wait_info(
        slow.port,
        "replication",
        "connected_slaves",
        "1",
        T
    ));
    assert_eq!(
        RespConn::connect(slow.port).c("FAILOVER TO 127.0.0.1 4321"),
        err("FAILOVER target replica is not online.")
    );
    let mut c = RespConn::connect(m.port);
    let cmd = String::from_utf8_lossy(&c.call(&["COMMAND", "INFO", "failover"])).into_owned();
    assert!(cmd.contains("failover\r\n:-1\r\n"), "{cmd}");
    assert!(c
        .c("INFO replication")
        .contains("master_failover_state:no-failover\r\n"));
}

#[test]
fn interop_real_master_fails_over_to_an_rsredis_replica() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let r = replica_of(real.port);
    assert!(up(r.port), "{}", r.logs());
    let mut rc = RespConn::connect(real.port);
    for i in 0..100 {
        rc.c(&format!("SET k{i} {i}"));
    }
    assert!(wait_caught_up(real.port, r.port, T));
    // The real master must have our ACK of its latest offset first.
    assert_eq!(
        rc.c(&format!("FAILOVER TO 127.0.0.1 {}", r.port)),
        "+OK\r\n"
    );
    assert!(no_failover(real.port));
    assert_eq!(role(r.port), "master", "{}", r.logs());
    assert_eq!(role(real.port), "slave");
    assert!(up(real.port));
    assert_eq!(stat(r.port, "sync_partial_ok"), 1, "{}", r.logs());
    assert_eq!(stat(r.port, "sync_full"), 0);
    let mut nc = RespConn::connect(r.port);
    nc.c("SET after 1");
    assert!(wait_caught_up(r.port, real.port, T));
    assert!(same_dataset(&dataset(r.port, 1), &dataset(real.port, 1)));
    assert!(r
        .logs()
        .contains("MASTER MODE enabled (failover request from"));
}

#[test]
fn interop_rsredis_master_fails_over_to_a_real_replica() {
    let m = master();
    let dir = tempfile::tempdir().unwrap();
    let port = m.port.to_string();
    let Some(real) = RealRedis::start_with(&[
        "--replicaof",
        "127.0.0.1",
        &port,
        "--repl-diskless-load",
        "swapdb",
        "--dir",
        dir.path().to_str().unwrap(),
    ]) else {
        return;
    };
    assert!(up(real.port));
    let mut mc = RespConn::connect(m.port);
    for i in 0..100 {
        mc.c(&format!("SET k{i} {i}"));
    }
    assert!(wait_caught_up(m.port, real.port, T));
    assert_eq!(
        mc.c(&format!("FAILOVER TO 127.0.0.1 {}", real.port)),
        "+OK\r\n"
    );
    assert!(no_failover(m.port), "{}", m.logs());
    assert_eq!(role(real.port), "master");
    assert_eq!(role(m.port), "slave");
    assert!(up(m.port), "{}", m.logs());
    assert_eq!(stat(real.port, "sync_partial_ok"), 1);
    let mut nc = RespConn::connect(real.port);
    nc.c("SET after 1");
    assert!(wait_caught_up(real.port, m.port, T));
    assert!(same_dataset(&dataset(real.port, 1), &dataset(m.port, 1)));
}

/// One RESP command from a raw reader (a fake node's side of a link).
fn read_command(r: &mut impl std::io::BufRead) -> Vec<String> {
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let n: usize = line.trim_end()[1..].parse().unwrap();
    (0..n)
        .map(|_| {
            line.clear();
            r.read_line(&mut line).unwrap();
            let len: usize = line.trim_end()[1..].parse().unwrap();
            let mut b = vec![0u8; len + 2];
            r.read_exact(&mut b).unwrap();
            String::from_utf8_lossy(&b[..len]).into_owned()
        })
        .collect()
}

#[test]
fn a_target_refusing_the_psync_rolls_the_failover_back() {
    use std::io::{BufRead, BufReader, Read, Write};
    let m = master();
    let mut mc = RespConn::connect(m.port);
    mc.c("SET a 1");
    // A fake replica: it syncs (length form, no capa eof), acks, and listens
    // where it says it does.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let lport = listener.local_addr().unwrap().port();
    let s = std::net::TcpStream::connect(("127.0.0.1", m.port)).unwrap();
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    w.write_all(&resp(&["REPLCONF", "listening-port", &lport.to_string()]))
        .unwrap();
    w.write_all(&resp(&["REPLCONF", "capa", "psync2"])).unwrap();
    w.write_all(&resp(&["PSYNC", "?", "-1"])).unwrap();
    // Replies to the two REPLCONFs, keep-alive newlines, then +FULLRESYNC.
    let mut line = String::new();
    let full = loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        if line.starts_with("+FULLRESYNC") {
            break line.clone();
        }
    };
    let parts: Vec<&str> = full.split_whitespace().collect();
    let (replid, off) = (parts[1].to_string(), parts[2].to_string());
    loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        if line.starts_with('$') {
            break;
        }
    }
    let len: usize = line.trim_end()[1..].parse().unwrap();
    let mut rdb = vec![0u8; len];
    r.read_exact(&mut rdb).unwrap();
    w.write_all(&resp(&["REPLCONF", "ACK", &off])).unwrap();
    assert!(wait_until(T, || repl(m.port, "slave0").contains("state=online")));

    assert_eq!(mc.c(&format!("FAILOVER TO 127.0.0.1 {lport}")), "+OK\r\n");
    // The old master connects to its target and asks it to take over.
    let (t, _) = listener.accept().unwrap();
    let mut tw = t.try_clone().unwrap();
    let mut tr = BufReader::new(t);
    let psync = loop {
        let cmd = read_command(&mut tr);
        match cmd[0].to_ascii_uppercase().as_str() {
            "PING" => tw.write_all(b"+PONG\r\n").unwrap(),
            "REPLCONF" => tw.write_all(b"+OK\r\n").unwrap(),
            _ => break cmd,
        }
    };
    let want_off = (off.parse::<u64>().unwrap() + 1).to_string();
    assert_eq!(psync, vec!["PSYNC", &replid, &want_off, "FAILOVER"]);
    assert_eq!(fo_state(m.port), "failover-in-progress");
    assert_eq!(role(m.port), "slave");
    tw.write_all(b"-ERR no thanks\r\n").unwrap();
    assert!(no_failover(m.port));
    assert_eq!(role(m.port), "master");
    // Like Redis (replicationUnsetMaster), it is a master on a new history.
    assert_eq!(repl(m.port, "master_replid2"), replid);
    assert_eq!(mc.c("SET b 2"), "+OK\r\n");
    assert!(m
        .logs()
        .contains("aborted: Failover target rejected psync request"));
}
