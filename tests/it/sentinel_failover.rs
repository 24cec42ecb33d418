//! Three rsredis sentinels (quorum 2) over a real redis-server 7.0 master and
//! two replicas: manual and automatic failover, the old master rejoining,
//! NOREPLICAS gating, and failover with one or two sentinels down
//! (compat-contract §7 checks 21, 26, 28). Each scenario is its own #[test]
//! (they run in parallel on distinct free ports). Skipped when redis-server
//! is absent unless RSREDIS_REQUIRE_INTEROP=1.

use crate::common::*;
use std::time::{Duration, Instant};

const DOWN_AFTER: u64 = 2000;
const FAILOVER_TIMEOUT: u64 = 6000;

struct Trio {
    g: Group,
    sens: Vec<SentinelProc>,
    taps: Vec<Tap>,
}

impl Trio {
    fn start(extra_node_conf: &str) -> Option<Trio> {
        Trio::start_with(extra_node_conf, "", "", None)
    }

    /// `top`: extra top-level sentinel.toml lines; `master`: extra [[master]] lines;
    /// `pass`: the sentinels' requirepass (for the event taps).
    fn start_with(
        extra_node_conf: &str,
        top: &str,
        master: &str,
        pass: Option<&str>,
    ) -> Option<Trio> {
        let g = Group::start(2, extra_node_conf)?;
        let sens: Vec<SentinelProc> = (0..3)
            .map(|_| {
                SentinelProc::rsredis(&format!(
                    "{top}\n{}{master}\n",
                    sentinel_toml(
                        free_port(),
                        "mymaster",
                        g.master.port,
                        2,
                        DOWN_AFTER,
                        FAILOVER_TIMEOUT,
                    )
                ))
            })
            .collect();
        let taps = sens.iter().map(|s| Tap::connect(s.port, pass)).collect();
        let t = Trio { g, sens, taps };
        for s in &t.sens {
            let ok = wait_until(Duration::from_secs(15), || {
                s.master_field("mymaster", "num-other-sentinels").as_deref() == Some("2")
                    && s.master_field("mymaster", "num-slaves").as_deref() == Some("2")
            });
            assert!(
                ok,
                "sentinel {} did not discover the group:\n{}",
                s.port,
                s.logs()
            );
        }
        Some(t)
    }

    fn logs(&self) -> String {
        self.sens
            .iter()
            .map(|s| format!("--- sentinel {} ---\n{}", s.port, s.logs()))
            .collect()
    }

    /// Wait until every running sentinel in `which` reports `port` as the master.
    fn wait_all_agree(&self, which: &[usize], port: u16, timeout: Duration) -> bool {
        wait_until(timeout, || {
            which.iter().all(|&i| {
                self.sens[i].master_addr("mymaster") == Some(("127.0.0.1".into(), port))
                    && self.sens[i].master_field("mymaster", "port") == Some(port.to_string())
            })
        })
    }

    fn epochs(&self, which: &[usize]) -> Vec<Option<String>> {
        which
            .iter()
            .map(|&i| self.sens[i].master_field("mymaster", "config-epoch"))
            .collect()
    }

    fn replica_ports(&self) -> Vec<u16> {
        self.g.replicas.iter().map(|r| r.port).collect()
    }

    /// The new master after a switch, from the +switch-master payload of tap `i`.
    fn switched_to(&self, i: usize, timeout: Duration) -> Option<u16> {
        let p = self.taps[i].wait("+switch-master", timeout)?;
        p.split(' ').nth(4)?.parse().ok()
    }
}

#[test]
fn manual_failover_with_three_sentinels() {
    let Some(t) = Trio::start("") else { return };
    // 21
    let mut c = t.sens[0].conn();
    assert_eq!(
        String::from_utf8_lossy(&c.call(&["SENTINEL", "CKQUORUM", "mymaster"])),
        "+OK 3 usable Sentinels. Quorum and failover authorization can be reached\r\n"
    );
    assert!(wait_until(Duration::from_secs(10), || {
        c.call(&["SENTINEL", "FAILOVER", "mymaster"]) == b"+OK\r\n"
    }));
    let new = t
        .switched_to(0, Duration::from_secs(15))
        .unwrap_or_else(|| panic!("no switch on the leader:\n{}", t.logs()));
    assert!(t.replica_ports().contains(&new));
    assert!(
        t.wait_all_agree(&[0, 1, 2], new, Duration::from_secs(10)),
        "sentinels disagree:\n{}",
        t.logs()
    );
    let e = t.epochs(&[0, 1, 2]);
    assert!(e.iter().all(|x| x == &e[0] && x.is_some()), "{e:?}");
    // The others learnt it from hello messages.
    for i in [1, 2] {
        assert!(
            t.taps[i]
                .wait("+config-update-from", Duration::from_secs(5))
                .is_some(),
            "{:?}",
            t.taps[i].all()
        );
    }
    // Every other node now replicates from the new master; parallel-syncs 1 means
    // at most one reconfiguration in flight.
    for n in t.g.nodes() {
        if n.port == new {
            continue;
        }
        assert!(
            wait_until(Duration::from_secs(20), || n.info_field("master_port")
                == Some(new.to_string())
                && n.info_field("master_link_status").as_deref() == Some("up")),
            "node {} not following {}:\n{}",
            n.port,
            new,
            t.logs()
        );
    }
    let evs = t.taps[0].all();
    let mut inflight = 0i32;
    for (k, _) in &evs {
        match k.as_str() {
            "+slave-reconf-sent" => inflight += 1,
            "+slave-reconf-done" | "-slave-reconf-sent-timeout" => inflight -= 1,
            _ => {}
        }
        assert!(inflight <= 1, "{evs:?}");
    }
}

#[test]
fn automatic_failover_after_sigstop_and_rejoin() {
    let Some(t) = Trio::start("") else { return };
    let old = t.g.master.port;
    let stopped = Instant::now();
    signal_pid(t.g.master.pid(), "STOP");
    let new = t
        .switched_to(0, Duration::from_millis(DOWN_AFTER + 15000))
        .or_else(|| t.switched_to(1, Duration::from_secs(1)))
        .unwrap_or_else(|| panic!("no failover:\n{}", t.logs()));
    let took = stopped.elapsed();
    assert!(t.replica_ports().contains(&new));
    assert!(
        t.wait_all_agree(&[0, 1, 2], new, Duration::from_secs(10)),
        "{}",
        t.logs()
    );
    // 26: each sentinel saw +sdown, at least quorum saw +odown, exactly one leader.
    for tap in &t.taps {
        let sd = tap.wait("+sdown", Duration::from_secs(1));
        assert_eq!(
            sd,
            Some(format!("master mymaster 127.0.0.1 {old}")),
            "{:?}",
            tap.all()
        );
    }
    let odowns: usize = t.taps.iter().map(|tp| tp.count("+odown")).sum();
    assert!(odowns >= 1, "{}", t.logs());
    let od = t
        .taps
        .iter()
        .flat_map(|tp| tp.all())
        .find(|(k, _)| k == "+odown")
        .map(|(_, v)| v)
        .unwrap();
    assert!(
        od.starts_with(&format!("master mymaster 127.0.0.1 {old} #quorum ")),
        "{od}"
    );
    assert!(od.ends_with("/2"), "{od}");
    let leaders: usize = t.taps.iter().map(|tp| tp.count("+elected-leader")).sum();
    assert_eq!(leaders, 1, "{}", t.logs());
    let e = t.epochs(&[0, 1, 2]);
    assert!(e.iter().all(|x| x == &e[0] && x.is_some()), "{e:?}");
    assert!(
        took < Duration::from_millis(DOWN_AFTER + 10000),
        "failover took {took:?}"
    );
    // redis-cli against a sentinel answers the new address.
    if let Some(out) = redis_cli(
        t.sens[2].port,
        &["SENTINEL", "get-master-addr-by-name", "mymaster"],
    ) {
        assert_eq!(out.trim(), format!("127.0.0.1\n{new}"));
    }
    // 28: the old master comes back and is turned into a replica of the new one.
    signal_pid(t.g.master.pid(), "CONT");
    assert!(
        wait_until(Duration::from_secs(25), || {
            t.g.master.info_field("role").as_deref() == Some("slave")
                && t.g.master.info_field("master_port") == Some(new.to_string())
        }),
        "old master did not rejoin:\n{}",
        t.logs()
    );
    assert!(
        t.taps.iter().any(|tp| tp.count("+convert-to-slave") >= 1),
        "{}",
        t.logs()
    );
    // Its config file records the replica role (CONFIG REWRITE in the transaction).
    let conf = std::fs::read_to_string(t.g.master.dir.path().join("redis.conf")).unwrap();
    assert!(
        conf.contains(&format!("replicaof 127.0.0.1 {new}")),
        "{conf}"
    );

    // A sentinel restarted now keeps its epoch and the new master.
    let mut t = t;
    let before = t.sens[1].master_field("mymaster", "config-epoch");
    let st_before = t.sens[1].state_file();
    t.sens[1].stop();
    t.sens[1].launch();
    assert_eq!(t.sens[1].master_field("mymaster", "config-epoch"), before);
    assert_eq!(
        t.sens[1].master_addr("mymaster"),
        Some(("127.0.0.1".into(), new))
    );
    let epoch_line = |s: &str| {
        s.lines()
            .find(|l| l.starts_with("current_epoch"))
            .map(str::to_string)
    };
    assert_eq!(epoch_line(&t.sens[1].state_file()), epoch_line(&st_before));
}

#[test]
fn noreplicas_when_both_replicas_are_down() {
    let Some(mut t) = Trio::start("min-replicas-to-write 1\nmin-replicas-max-lag 2") else {
        return;
    };
    let mut c = t.g.master.conn();
    assert_eq!(
        String::from_utf8_lossy(&c.call(&["SET", "a", "1"])),
        "+OK\r\n"
    );
    for r in t.g.replicas.iter_mut() {
        r.kill();
    }
    let ok = wait_until(Duration::from_secs(15), || {
        String::from_utf8_lossy(&c.call(&["SET", "a", "2"]))
            == "-NOREPLICAS Not enough good replicas to write.\r\n"
    });
    assert!(ok, "master kept accepting writes");
    assert_eq!(
        String::from_utf8_lossy(&c.call(&["GET", "a"])),
        "$1\r\n1\r\n"
    );
    // The sentinels see the replicas go down but the master is fine: no failover.
    assert!(t.taps[0]
        .wait("+sdown", Duration::from_millis(DOWN_AFTER + 3000))
        .is_some_and(|p| p.starts_with("slave ")));
    assert_eq!(
        t.taps
            .iter()
            .map(|tp| tp.count("+try-failover"))
            .sum::<usize>(),
        0
    );
    assert_eq!(
        t.sens[0].master_addr("mymaster"),
        Some(("127.0.0.1".into(), t.g.master.port))
    );
}

#[test]
fn one_sentinel_down_then_master_down_fails_over() {
    let Some(mut t) = Trio::start("") else { return };
    t.sens[2].stop();
    signal_pid(t.g.master.pid(), "STOP");
    let new = t
        .switched_to(0, Duration::from_millis(DOWN_AFTER + 20000))
        .or_else(|| t.switched_to(1, Duration::from_secs(1)))
        .unwrap_or_else(|| panic!("no failover with 2 of 3 sentinels:\n{}", t.logs()));
    assert!(t.replica_ports().contains(&new));
    assert!(
        t.wait_all_agree(&[0, 1], new, Duration::from_secs(10)),
        "{}",
        t.logs()
    );
    let e = t.epochs(&[0, 1]);
    assert_eq!(e[0], e[1]);
}

#[test]
fn two_sentinels_down_no_failover_until_one_returns() {
    let Some(mut t) = Trio::start("") else { return };
    t.sens[1].stop();
    t.sens[2].stop();
    signal_pid(t.g.master.pid(), "STOP");
    // The lone sentinel sees SDOWN but cannot reach quorum 2 (nor a majority).
    assert!(t.taps[0]
        .wait("+sdown", Duration::from_millis(DOWN_AFTER + 3000))
        .is_some());
    // Deliberate: no event may follow for a while (a negative cannot be polled).
    std::thread::sleep(Duration::from_millis(DOWN_AFTER + 2000));
    assert_eq!(t.taps[0].count("+odown"), 0, "{}", t.logs());
    assert_eq!(t.taps[0].count("+switch-master"), 0, "{}", t.logs());
    assert_eq!(
        t.sens[0].master_addr("mymaster"),
        Some(("127.0.0.1".into(), t.g.master.port))
    );
    // One comes back (same state file, same myid): now 2 of 3 agree and fail over.
    t.sens[1].launch();
    let new = t
        .switched_to(0, Duration::from_secs(30))
        .unwrap_or_else(|| panic!("no failover after recovery:\n{}", t.logs()));
    assert!(t.replica_ports().contains(&new));
    assert!(
        t.wait_all_agree(&[0, 1], new, Duration::from_secs(10)),
        "{}",
        t.logs()
    );
}

#[test]
fn failover_with_passwords_everywhere() {
    // Nodes with requirepass/masterauth (sentinels send auth-pass to master and replicas);
    // sentinels with requirepass, which they also use towards each other (no sentinel-pass).
    let Some(t) = Trio::start_with(
        "requirepass npw\nmasterauth npw",
        "requirepass = \"spw\"",
        "auth-pass = \"npw\"",
        Some("spw"),
    ) else {
        return;
    };
    let mut c = t.sens[0].try_conn().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&c.call(&["SENTINEL", "CKQUORUM", "mymaster"])),
        "+OK 3 usable Sentinels. Quorum and failover authorization can be reached\r\n"
    );
    signal_pid(t.g.master.pid(), "STOP");
    let new = t
        .switched_to(0, Duration::from_millis(DOWN_AFTER + 15000))
        .or_else(|| t.switched_to(1, Duration::from_secs(1)))
        .unwrap_or_else(|| panic!("no failover with passwords:\n{}", t.logs()));
    assert!(t.replica_ports().contains(&new));
    assert!(
        t.wait_all_agree(&[0, 1, 2], new, Duration::from_secs(10)),
        "{}",
        t.logs()
    );
}

#[test]
fn automatic_failover_after_master_shutdown() {
    let Some(t) = Trio::start("") else { return };
    let old = t.g.master.port;
    let mut c = t.g.master.conn();
    c.send(&[b"SHUTDOWN", b"NOSAVE"]);
    let new = t
        .switched_to(0, Duration::from_millis(DOWN_AFTER + 15000))
        .or_else(|| t.switched_to(1, Duration::from_secs(1)))
        .unwrap_or_else(|| panic!("no failover after SHUTDOWN:\n{}", t.logs()));
    assert_ne!(new, old);
    assert!(t.replica_ports().contains(&new));
    assert!(
        t.wait_all_agree(&[0, 1, 2], new, Duration::from_secs(10)),
        "{}",
        t.logs()
    );
    let leaders: usize = t.taps.iter().map(|tp| tp.count("+elected-leader")).sum();
    assert_eq!(leaders, 1, "{}", t.logs());
    // The other replica follows the new master.
    let other = t.g.replicas.iter().find(|r| r.port != new).unwrap();
    assert!(
        wait_until(Duration::from_secs(15), || other.info_field("master_port")
            == Some(new.to_string())),
        "{}",
        t.logs()
    );
}

// ---------------------------------------------------------------------------
// Network partition (split brain) with Linux network namespaces. Needs root
// and `ip`; skips with a printed reason when the namespaces cannot be set up.
//
//   root ns (10.77.N.1): replicas r1 r2, sentinels s2 s3   \
//                                                           bridge in ns H
//   ns A    (10.77.N.2): master, sentinel s1               /
//
// Cutting A's port on the bridge isolates the master with one sentinel: the
// majority side (s2, s3) fails over to a replica, the minority sentinel s1
// never starts a failover; after healing s1 adopts the new configuration and
// the old master becomes a replica.
// ---------------------------------------------------------------------------

struct Netns {
    a: String,
    h: String,
    root_ip: String,
    a_ip: String,
    vr: String,
}

fn sh(args: &[&str]) -> Result<(), String> {
    let out = std::process::Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{}: {}", args.join(" "), e))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Netns {
    fn setup() -> Result<Netns, String> {
        let id = std::process::id() % 200 + 20;
        let n = Netns {
            a: format!("rsrA{id}"),
            h: format!("rsrH{id}"),
            root_ip: format!("10.77.{id}.1"),
            a_ip: format!("10.77.{id}.2"),
            vr: format!("rsrv{id}"),
        };
        let (a, h, vr) = (n.a.as_str(), n.h.as_str(), n.vr.as_str());
        let _ = sh(&["ip", "netns", "del", a]);
        let _ = sh(&["ip", "netns", "del", h]);
        let _ = sh(&["ip", "link", "del", vr]);
        sh(&["ip", "netns", "add", a])?;
        sh(&["ip", "netns", "add", h])?;
        sh(&["ip", "-n", h, "link", "add", "br0", "type", "bridge"])?;
        sh(&["ip", "-n", h, "link", "set", "br0", "up"])?;
        sh(&[
            "ip", "link", "add", vr, "type", "veth", "peer", "name", "vr1", "netns", h,
        ])?;
        sh(&["ip", "addr", "add", &format!("{}/24", n.root_ip), "dev", vr])?;
        sh(&["ip", "link", "set", vr, "up"])?;
        sh(&["ip", "-n", h, "link", "set", "vr1", "master", "br0", "up"])?;
        sh(&[
            "ip", "-n", a, "link", "add", "va0", "type", "veth", "peer", "name", "va1", "netns", h,
        ])?;
        sh(&[
            "ip",
            "-n",
            a,
            "addr",
            "add",
            &format!("{}/24", n.a_ip),
            "dev",
            "va0",
        ])?;
        sh(&["ip", "-n", a, "link", "set", "va0", "up"])?;
        sh(&["ip", "-n", a, "link", "set", "lo", "up"])?;
        sh(&["ip", "-n", h, "link", "set", "va1", "master", "br0", "up"])?;
        Ok(n)
    }

    fn partition(&self, cut: bool) {
        sh(&[
            "ip",
            "-n",
            &self.h,
            "link",
            "set",
            "va1",
            if cut { "down" } else { "up" },
        ])
        .unwrap();
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = sh(&["ip", "netns", "del", &self.a]);
        let _ = sh(&["ip", "netns", "del", &self.h]);
        let _ = sh(&["ip", "link", "del", &self.vr]);
    }
}

/// A child process (optionally inside a namespace), stdout+stderr to `log`, killed on drop.
struct Proc {
    child: std::process::Child,
    log: std::path::PathBuf,
}

impl Proc {
    fn spawn(ns: Option<&str>, args: &[String], log: std::path::PathBuf) -> Proc {
        let f = std::fs::File::create(&log).unwrap();
        let mut cmd = match ns {
            Some(ns) => {
                let mut c = std::process::Command::new("ip");
                c.args(["netns", "exec", ns]).args(args);
                c
            }
            None => {
                let mut c = std::process::Command::new(&args[0]);
                c.args(&args[1..]);
                c
            }
        };
        let child = cmd
            .stdout(f.try_clone().unwrap())
            .stderr(f)
            .spawn()
            .expect("spawn");
        Proc { child, log }
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Send one command, return whatever arrives within a short time (raw RESP text).
fn call_at(ip: &str, port: u16, args: &[&str]) -> Option<String> {
    use std::io::{Read, Write};
    let addr: std::net::SocketAddr = format!("{ip}:{port}").parse().ok()?;
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    s.set_read_timeout(Some(Duration::from_millis(300))).ok()?;
    let mut req = format!("*{}\r\n", args.len());
    for a in args {
        req.push_str(&format!("${}\r\n{}\r\n", a.len(), a));
    }
    s.write_all(req.as_bytes()).ok()?;
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(2) {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) if !out.is_empty() => break,
            Err(_) => {}
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

fn addr_of(ip: &str, port: u16) -> Option<String> {
    let r = call_at(
        ip,
        port,
        &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"],
    )?;
    let p: Vec<&str> = r.split("\r\n").collect();
    if p.first() != Some(&"*2") {
        return None;
    }
    Some(format!("{}:{}", p.get(2)?, p.get(4)?))
}

#[test]
fn partition_minority_never_elects() {
    if peer("redis-server").is_none() {
        return;
    }
    let ns = match Netns::setup() {
        Ok(n) => n,
        // CI runs as root with `ip` installed: there a failed setup is a failure.
        Err(e) if std::env::var("RSREDIS_REQUIRE_INTEROP").as_deref() == Ok("1") => {
            panic!("network namespaces unavailable: {e}")
        }
        Err(e) => {
            eprintln!("skipping partition test: network namespaces unavailable: {e}");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let d = |f: &str| dir.path().join(f);
    let (rip, aip) = (ns.root_ip.clone(), ns.a_ip.clone());
    let node = |port: u16, bind: &str, replicaof: Option<(&str, u16)>| -> Vec<String> {
        let mut v: Vec<String> = [
            "redis-server",
            "--port",
            &port.to_string(),
            "--bind",
            bind,
            "--save",
            "",
            "--appendonly",
            "no",
            "--repl-diskless-sync-delay",
            "0",
            "--protected-mode",
            "no",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if let Some((h, p)) = replicaof {
            v.extend(["--replicaof".to_string(), h.to_string(), p.to_string()]);
        }
        v
    };
    // The nodes and sentinels here bind only the veth addresses (or the
    // namespace's own loopback), which no other test uses, while every other
    // test binds 127.0.0.1: these picks cannot collide with them.
    let pm = free_port();
    let (p1, p2) = (free_port(), free_port());
    let _m = Proc::spawn(
        Some(&ns.a),
        &node(pm, &format!("{aip} 127.0.0.1"), None),
        d("m.log"),
    );
    assert!(wait_until(Duration::from_secs(5), || call_at(
        &aip,
        pm,
        &["PING"]
    )
    .is_some()));
    let _r1 = Proc::spawn(None, &node(p1, &rip, Some((&aip, pm))), d("r1.log"));
    let _r2 = Proc::spawn(None, &node(p2, &rip, Some((&aip, pm))), d("r2.log"));
    for p in [p1, p2] {
        assert!(
            wait_until(Duration::from_secs(10), || call_at(
                &rip,
                p,
                &["INFO", "replication"]
            )
            .is_some_and(|t| t.contains("master_link_status:up"))),
            "replica {p} did not sync:\n{}\n{}",
            _r1.logs(),
            _m.logs()
        );
    }
    let sentinel = |name: &str, ip: &str, ns: Option<&str>| -> (Proc, u16) {
        let port = free_port();
        let sdir = d(name);
        std::fs::create_dir_all(&sdir).unwrap();
        let conf = sdir.join("sentinel.toml");
        std::fs::write(
            &conf,
            format!(
                "port = {port}\nbind = [\"{ip}\"]\ndir = {:?}\n\n[[master]]\nname = \"mymaster\"\nhost = \"{aip}\"\nport = {pm}\nquorum = 2\ndown-after-milliseconds = {DOWN_AFTER}\nfailover-timeout = {FAILOVER_TIMEOUT}\n",
                sdir.display().to_string()
            ),
        )
        .unwrap();
        let args = vec![
            env!("CARGO_BIN_EXE_rsredis").to_string(),
            "sentinel".into(),
            "--config".into(),
            conf.display().to_string(),
        ];
        (Proc::spawn(ns, &args, d(&format!("{name}.log"))), port)
    };
    let (s1, q1) = sentinel("s1", &aip, Some(&ns.a));
    let (s2, q2) = sentinel("s2", &rip, None);
    let (s3, q3) = sentinel("s3", &rip, None);
    let all = [(&aip, q1, &s1), (&rip, q2, &s2), (&rip, q3, &s3)];
    let logs = || {
        all.iter()
            .map(|(ip, p, s)| format!("--- sentinel {ip}:{p} ---\n{}", s.logs()))
            .collect::<String>()
    };
    for (ip, p, _) in &all {
        assert!(
            wait_until(Duration::from_secs(20), || call_at(
                ip,
                *p,
                &["INFO", "sentinel"]
            )
            .is_some_and(|t| t.contains(",slaves=2,sentinels=3"))),
            "discovery incomplete on {ip}:{p}:\n{}",
            logs()
        );
    }
    let old = format!("{aip}:{pm}");
    ns.partition(true);
    // The majority side fails over to one of the replicas.
    let mut new = None;
    let ok = wait_until(Duration::from_millis(DOWN_AFTER + 20000), || {
        new = addr_of(&rip, q2).filter(|a| *a != old);
        new.is_some()
    });
    assert!(ok, "majority did not fail over:\n{}", logs());
    let new = new.unwrap();
    assert!(
        new == format!("{rip}:{p1}") || new == format!("{rip}:{p2}"),
        "{new}"
    );
    assert!(wait_until(Duration::from_secs(10), || addr_of(&rip, q3)
        == Some(new.clone())));
    // Keep the partition a while longer: the isolated sentinel must not elect
    // itself (a deliberate wait: a negative cannot be polled).
    std::thread::sleep(Duration::from_millis(DOWN_AFTER + 2000));
    let l1 = s1.logs();
    assert!(
        !l1.contains("+elected-leader"),
        "minority elected a leader:\n{l1}"
    );
    assert!(
        !l1.contains("+try-failover"),
        "minority tried a failover:\n{l1}"
    );
    assert!(!l1.contains("+switch-master"), "{l1}");
    // Heal: the minority sentinel adopts the new configuration, the old master rejoins as a replica.
    ns.partition(false);
    assert!(
        wait_until(Duration::from_secs(20), || addr_of(&aip, q1)
            == Some(new.clone())),
        "minority sentinel did not adopt {new}:\n{}",
        logs()
    );
    let (nip, nport) = new.split_once(':').unwrap();
    assert!(
        wait_until(Duration::from_secs(30), || call_at(
            &aip,
            pm,
            &["INFO", "replication"]
        )
        .is_some_and(|t| t.contains("role:slave")
            && t.contains(&format!("master_host:{nip}"))
            && t.contains(&format!("master_port:{nport}")))),
        "old master did not rejoin:\n{}",
        logs()
    );
    let epochs: Vec<Option<String>> = all
        .iter()
        .map(|(ip, p, _)| {
            call_at(ip, *p, &["SENTINEL", "MASTER", "mymaster"]).and_then(|t| {
                let v: Vec<&str> = t.split("\r\n").collect();
                v.iter()
                    .position(|x| *x == "config-epoch")
                    .and_then(|i| v.get(i + 2).map(|s| s.to_string()))
            })
        })
        .collect();
    assert!(
        epochs.iter().all(|e| e == &epochs[0] && e.is_some()),
        "{epochs:?}"
    );
}
