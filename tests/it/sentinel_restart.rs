//! rsredis sentinels over real redis-server 7.0 nodes: a master killed with SIGKILL and back on the same port
//! well within down-after-milliseconds is not failed over (the down clock starts at the first unanswered PING,
//! which is the one queued on reconnection, as in redis-sentinel); a master given by host name with
//! resolve-hostnames, reported by IP or, with announce-hostnames, by name. Skipped when redis-server is absent
//! unless RSREDIS_REQUIRE_INTEROP=1.

use crate::common;
use common::*;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DOWN_AFTER: u64 = 1500;

/// A redis-server on a given port (the restarted master), killed by its PID on drop.
struct OnPort {
    child: Child,
    _dir: tempfile::TempDir,
}

impl OnPort {
    fn start(port: u16) -> OnPort {
        let bin = peer("redis-server").expect("redis-server");
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("redis.conf");
        std::fs::write(
            &conf,
            format!(
                "port {port}\nbind 127.0.0.1\nsave \"\"\nappendonly no\ndaemonize no\ndir {}\n",
                dir.path().display()
            ),
        )
        .unwrap();
        let child = Command::new(bin)
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        assert!(
            wait_until(Duration::from_secs(5), || TcpStream::connect((
                "127.0.0.1",
                port
            ))
            .is_ok()),
            "redis-server did not come back on port {port}"
        );
        OnPort { child, _dir: dir }
    }
}

impl Drop for OnPort {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn master_back_within_down_after_is_not_failed_over() {
    let Some(mut g) = Group::start(2, "") else {
        return;
    };
    let sens: Vec<SentinelProc> = (0..3)
        .map(|_| {
            SentinelProc::rsredis(&sentinel_toml(
                free_port(),
                "mymaster",
                g.master.port,
                2,
                DOWN_AFTER,
                6000,
            ))
        })
        .collect();
    for s in &sens {
        assert!(
            wait_until(Duration::from_secs(15), || {
                s.master_field("mymaster", "num-other-sentinels").as_deref() == Some("2")
                    && s.master_field("mymaster", "num-slaves").as_deref() == Some("2")
            }),
            "sentinel {} did not discover the group:\n{}",
            s.port,
            s.logs()
        );
    }
    let taps: Vec<Tap> = sens.iter().map(|s| Tap::new(s.port)).collect();
    let port = g.master.port;
    g.master.kill(); // SIGKILL
    let killed = Instant::now();
    assert!(wait_until(Duration::from_secs(5), || TcpStream::connect((
        "127.0.0.1",
        port
    ))
    .is_err()));
    // The outage itself: the master stays away for 400 ms (this is the scenario, not a wait for a condition).
    std::thread::sleep(Duration::from_millis(400).saturating_sub(killed.elapsed()));
    let _back = OnPort::start(port);
    let bad = |taps: &[Tap]| {
        taps.iter().any(|t| {
            t.all().iter().any(|(k, p)| {
                k == "+switch-master" || (k == "+sdown" && p.starts_with("master mymaster"))
            })
        })
    };
    let seen = wait_until(Duration::from_millis(3 * DOWN_AFTER), || bad(&taps));
    assert!(
        !seen,
        "master back after 400 ms was seen down: {:?}\n{}",
        taps.iter().map(|t| t.all()).collect::<Vec<_>>(),
        sens.iter().map(|s| s.logs()).collect::<String>()
    );
    for s in &sens {
        assert_eq!(
            s.master_addr("mymaster"),
            Some(("127.0.0.1".to_string(), port))
        );
    }
}

/// resolve-hostnames: the master is given as `localhost`; GET-MASTER-ADDR-BY-NAME reports the IP it resolved
/// to, or `localhost` itself with announce-hostnames.
#[test]
fn master_given_by_host_name() {
    let Some(g) = Group::start(1, "") else {
        return;
    };
    let conf = |announce: bool| {
        sentinel_toml(free_port(), "mymaster", g.master.port, 1, 5000, 6000)
            .replace("host = \"127.0.0.1\"", "host = \"localhost\"")
            .replacen(
                "\n",
                &format!("\nresolve-hostnames = true\nannounce-hostnames = {announce}\n"),
                1,
            )
    };
    let plain = SentinelProc::rsredis(&conf(false));
    let named = SentinelProc::rsredis(&conf(true));
    for (s, want) in [(&plain, "127.0.0.1"), (&named, "localhost")] {
        let ok = wait_until(Duration::from_secs(15), || {
            s.master_field("mymaster", "num-slaves").as_deref() == Some("1")
                && s.master_field("mymaster", "role-reported").as_deref() == Some("master")
                && s.master_addr("mymaster") == Some((want.to_string(), g.master.port))
        });
        assert!(
            ok,
            "sentinel {}: {:?}, {:?} slaves\n{}",
            s.port,
            s.master_addr("mymaster"),
            s.master_field("mymaster", "num-slaves"),
            s.logs()
        );
    }
    // The plain one monitors a name but never re-points the replica (it reports 127.0.0.1 as its master).
    assert_eq!(
        g.replicas[0].info_field("master_host").as_deref(),
        Some("127.0.0.1")
    );
}
