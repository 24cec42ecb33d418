//! rsredis sentinels with real peers: mixed quorums with real `redis-sentinel`
//! 7.0 processes (1 real + 2 rsredis, 2 real + 1 rsredis: discovery through
//! hello messages, votes, one failover, the same new master and epoch
//! everywhere; compat-contract §7 check 30), and redis-py's Sentinel client
//! across a failover (check 31). Skipped when redis-server / redis-sentinel /
//! python3 with redis are absent, unless RSREDIS_REQUIRE_INTEROP=1.

use crate::common::*;
use std::process::Command;
use std::time::Duration;

const DOWN_AFTER: u64 = 2000;
const FAILOVER_TIMEOUT: u64 = 6000;

/// `real` real sentinels followed by `3 - real` rsredis ones, all watching g's master.
fn mixed(g: &Group, real: usize) -> Option<Vec<SentinelProc>> {
    let mut v = Vec::new();
    for i in 0..3 {
        let port = free_port();
        if i < real {
            v.push(SentinelProc::real(&sentinel_conf(
                port,
                "mymaster",
                g.master.port,
                2,
                DOWN_AFTER,
                FAILOVER_TIMEOUT,
            ))?);
        } else {
            v.push(SentinelProc::rsredis(&sentinel_toml(
                port,
                "mymaster",
                g.master.port,
                2,
                DOWN_AFTER,
                FAILOVER_TIMEOUT,
            )));
        }
    }
    Some(v)
}

fn logs(sens: &[SentinelProc]) -> String {
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

fn mixed_quorum_failover(real: usize) {
    let Some(g) = Group::start(2, "") else { return };
    let Some(sens) = mixed(&g, real) else { return };
    // Everyone discovers everyone (hello on the instances' pub/sub) and both replicas.
    for s in &sens {
        let ok = wait_until(Duration::from_secs(20), || {
            s.master_field("mymaster", "num-other-sentinels").as_deref() == Some("2")
                && s.master_field("mymaster", "num-slaves").as_deref() == Some("2")
        });
        assert!(
            ok,
            "sentinel {} did not discover the group:\n{}",
            s.port,
            logs(&sens)
        );
    }
    let taps: Vec<Tap> = sens.iter().map(|s| Tap::new(s.port)).collect();
    let old = g.master.port;
    signal_pid(g.master.pid(), "STOP");
    let mut new = None;
    let found = wait_until(Duration::from_millis(DOWN_AFTER + 25000), || {
        new = taps.iter().find_map(|t| {
            t.all()
                .into_iter()
                .find(|(k, _)| k == "+switch-master")
                .and_then(|(_, p)| p.split(' ').nth(4).and_then(|x| x.parse::<u16>().ok()))
        });
        new.is_some()
    });
    assert!(found, "no failover:\n{}", logs(&sens));
    let new = new.unwrap();
    assert_ne!(new, old);
    assert!(g.replicas.iter().any(|r| r.port == new));
    let agree = wait_until(Duration::from_secs(15), || {
        sens.iter().all(|s| {
            s.master_addr("mymaster") == Some(("127.0.0.1".into(), new))
                && s.master_field("mymaster", "port") == Some(new.to_string())
        })
    });
    assert!(
        agree,
        "sentinels disagree on the new master:\n{}",
        logs(&sens)
    );
    let epochs: Vec<_> = sens
        .iter()
        .map(|s| s.master_field("mymaster", "config-epoch"))
        .collect();
    assert!(
        epochs.iter().all(|e| e == &epochs[0] && e.is_some()),
        "{epochs:?}\n{}",
        logs(&sens)
    );
    // Exactly one leader; every other sentinel learnt the switch from it.
    let leaders: Vec<usize> = taps
        .iter()
        .enumerate()
        .filter(|(_, t)| t.count("+elected-leader") > 0)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(leaders.len(), 1, "{}", logs(&sens));
    for (i, t) in taps.iter().enumerate() {
        if i != leaders[0] {
            assert!(
                t.wait("+config-update-from", Duration::from_secs(5))
                    .is_some(),
                "sentinel {} ({}): {:?}",
                sens[i].port,
                if sens[i].real { "real" } else { "rsredis" },
                t.all()
            );
        }
    }
}

#[test]
fn one_real_two_rsredis_sentinels_fail_over_together() {
    mixed_quorum_failover(1);
}

#[test]
fn two_real_one_rsredis_sentinel_fail_over_together() {
    mixed_quorum_failover(2);
}

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
fn redis_py_keeps_writing_across_a_failover() {
    if !python_redis() {
        return;
    }
    let Some(g) = Group::start(2, "") else { return };
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
    for s in &sens {
        assert!(
            wait_until(Duration::from_secs(15), || {
                s.master_field("mymaster", "num-other-sentinels").as_deref() == Some("2")
                    && s.master_field("mymaster", "num-slaves").as_deref() == Some("2")
            }),
            "{}",
            logs(&sens)
        );
    }
    let ports: Vec<String> = sens.iter().map(|s| s.port.to_string()).collect();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/sentinel_client.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(ports.join(","))
        .arg(g.master.pid().to_string())
        .arg("stop")
        .output()
        .expect("python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "script failed:\n{}\n{}\n{}",
        stdout,
        String::from_utf8_lossy(&out.stderr),
        logs(&sens)
    );
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("json");
    eprintln!("redis-py across failover: {v}");
    assert_eq!(v["before"][1], g.master.port);
    assert_eq!(v["replicas"].as_array().unwrap().len(), 2);
    assert_eq!(v["replica_read"], true);
    let w = v["write_seconds"]
        .as_f64()
        .unwrap_or_else(|| panic!("writes never recovered: {v}\n{}", logs(&sens)));
    assert!(
        w < (DOWN_AFTER as f64 / 1000.0) + 12.0,
        "recovery took {w}s"
    );
    let after = v["after"][1].as_u64().unwrap() as u16;
    assert!(g.replicas.iter().any(|r| r.port == after), "{v}");
}

#[test]
fn real_sentinel_replaced_by_an_imported_rsredis_sentinel() {
    // Migration (§4.1): a real sentinel fails over once (epoch 1), stops, and an
    // rsredis sentinel started from its imported sentinel.conf is the same sentinel.
    let Some(g) = Group::start(1, "") else { return };
    let Some(mut real) = SentinelProc::real(&sentinel_conf(
        free_port(),
        "mymaster",
        g.master.port,
        1,
        DOWN_AFTER,
        FAILOVER_TIMEOUT,
    )) else {
        return;
    };
    assert!(wait_until(Duration::from_secs(15), || {
        real.master_field("mymaster", "num-slaves").as_deref() == Some("1")
    }));
    let mut c = real.conn();
    let myid = String::from_utf8_lossy(&c.call(&["SENTINEL", "MYID"])).into_owned();
    // Right after start the replica may still look unfit: retry until accepted.
    assert!(wait_until(Duration::from_secs(15), || {
        c.call(&["SENTINEL", "FAILOVER", "mymaster"]) == b"+OK\r\n"
    }));
    let new = g.replicas[0].port;
    assert!(
        wait_until(Duration::from_secs(20), || real.master_addr("mymaster")
            == Some(("127.0.0.1".into(), new))),
        "{}",
        real.logs()
    );
    // The real sentinel has flushed the failover to its sentinel.conf.
    let conf = real.dir.path().join("sentinel.conf");
    let monitor = format!("sentinel monitor mymaster 127.0.0.1 {new} ");
    assert!(
        wait_until(Duration::from_secs(10), || {
            std::fs::read_to_string(&conf)
                .is_ok_and(|t| t.contains(&monitor) && t.contains("current-epoch 1"))
        }),
        "{}",
        real.logs()
    );
    real.stop();
    let out_dir = tempfile::tempdir().unwrap();
    let toml_path = out_dir.path().join("sentinel.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_rsredis"))
        .args(["sentinel", "--import-conf"])
        .arg(&conf)
        .arg("--config")
        .arg(&toml_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let toml_text: String = std::fs::read_to_string(&toml_path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("dir ="))
        .map(|l| format!("{l}\n"))
        .collect();
    let state = std::fs::read_to_string(out_dir.path().join("sentinel-state.toml")).unwrap();
    assert!(state.contains("current_epoch = 1"), "{state}");
    // The imported config keeps the real sentinel's port.
    assert!(
        toml_text
            .lines()
            .any(|l| l.trim() == format!("port = {}", real.port)),
        "{toml_text}"
    );
    let sen = SentinelProc::rsredis_with_state(&toml_text, &state);
    let mut c = sen.conn();
    assert_eq!(
        String::from_utf8_lossy(&c.call(&["SENTINEL", "MYID"])),
        myid
    );
    assert_eq!(sen.master_addr("mymaster"), Some(("127.0.0.1".into(), new)));
    assert_eq!(
        sen.master_field("mymaster", "config-epoch").as_deref(),
        Some("1")
    );
    assert!(wait_until(Duration::from_secs(15), || {
        sen.master_field("mymaster", "num-slaves").as_deref() == Some("1")
    }));
}
