//! Three rsredis sentinels (quorum 2) over a real redis-server 7.0 master and
//! two replicas: manual and automatic failover, the old master rejoining,
//! NOREPLICAS gating, and failover with one or two sentinels down
//! (compat-contract §7 checks 21, 26, 28). Each scenario is its own #[test]
//! (they run in parallel on distinct free ports). Skipped when redis-server
//! is absent unless RSREDIS_REQUIRE_INTEROP=1.

mod common;
use common::*;
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
        let g = Group::start(2, extra_node_conf)?;
        let sens: Vec<SentinelProc> = (0..3)
            .map(|_| {
                SentinelProc::rsredis(&sentinel_toml(
                    free_port(),
                    "mymaster",
                    g.master.port,
                    2,
                    DOWN_AFTER,
                    FAILOVER_TIMEOUT,
                ))
            })
            .collect();
        let taps = sens.iter().map(|s| Tap::new(s.port)).collect();
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
    assert_eq!(
        String::from_utf8_lossy(&c.call(&["SENTINEL", "FAILOVER", "mymaster"])),
        "+OK\r\n"
    );
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
