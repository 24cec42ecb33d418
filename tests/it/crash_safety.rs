//! Crash safety (issue 4): a master SIGKILLed in the middle of a BGSAVE keeps
//! its previous good dump and loads it at restart (the temp file left behind
//! is ignored); a replica that stops reading in the middle of its full sync is
//! dropped after `repl-timeout`. (A replica SIGKILLed mid full sync and then
//! resyncing is `replica_killed_mid_sync_then_resyncs` in tests/it/replication.rs.)

use crate::common::*;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(20);

/// Pipelined MSETs: `n` keys `prefix:i` with `size`-byte incompressible values.
fn fill(port: u16, prefix: &str, n: usize, size: usize) {
    let mut c = RespConn::connect(port);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ n as u64;
    let mut value = || {
        (0..size)
            .map(|_| {
                // xorshift: values LZF cannot shrink.
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect::<Vec<u8>>()
    };
    let per = 500;
    let mut sent = 0;
    for start in (0..n).step_by(per) {
        let mut args: Vec<Vec<u8>> = vec![b"MSET".to_vec()];
        for i in start..(start + per).min(n) {
            args.push(format!("{prefix}:{i}").into_bytes());
            args.push(value());
        }
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        c.send(&refs);
        sent += 1;
        // Keep a bounded number of replies in flight.
        if sent >= 16 {
            assert_eq!(c.read_reply(), b"+OK\r\n");
            sent -= 1;
        }
    }
    for _ in 0..sent {
        assert_eq!(c.read_reply(), b"+OK\r\n");
    }
}

#[test]
fn master_killed_during_bgsave_keeps_and_reloads_the_previous_dump() {
    let data = tempfile::tempdir().unwrap();
    let mut m = Server::with_data_dir(data.path(), "save = \"\"\n");
    let mut c = RespConn::connect(m.port);
    fill(m.port, "good", 1000, 100);
    c.c("SET marker before");
    assert_eq!(c.c("SAVE"), "+OK\r\n");
    let dump = data.path().join("dump.rdb");
    let mut good = std::fs::read(&dump).unwrap();

    // A dataset large enough that the background save is still running when
    // we look; try again bigger if it finished first.
    let mut caught = false;
    let mut n = 100_000;
    for round in 0..3 {
        fill(m.port, &format!("big{round}"), n, 1024);
        let t0 = Instant::now();
        assert_eq!(c.c("BGSAVE"), "+Background saving started\r\n");
        if info_field(m.port, "persistence", "rdb_bgsave_in_progress").as_deref() == Some("1") {
            signal(m.pid(), "KILL");
            caught = true;
            eprintln!("killed {:?} into a BGSAVE of {} keys", t0.elapsed(), n);
            break;
        }
        assert!(wait_info(
            m.port,
            "persistence",
            "rdb_bgsave_in_progress",
            "0",
            T
        ));
        // That BGSAVE completed: it is the new good dump (still our marker).
        good = std::fs::read(&dump).unwrap();
        n *= 2;
    }
    assert!(caught, "never saw a BGSAVE in progress");
    let _ = m.wait_exit(Duration::from_secs(5));
    drop(c);

    // Killed mid-save: dump.rdb is exactly the last complete file.
    let after = std::fs::read(&dump).unwrap();
    assert!(after == good, "dump.rdb changed by the killed save");
    let leftovers: Vec<String> = std::fs::read_dir(data.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|f| f.starts_with("temp-"))
        .collect();
    eprintln!("leftover temp files: {leftovers:?}");
    let first_round = n == 100_000;
    drop(m);

    // Restart on the same directory: the good dump loads, the leftover temp
    // file is ignored (Redis does not delete it either).
    let m2 = Server::with_data_dir(data.path(), "save = \"\"\n");
    let mut c2 = RespConn::connect(m2.port);
    assert_eq!(c2.c("GET marker"), "$6\r\nbefore\r\n");
    if first_round {
        assert_eq!(c2.c("DBSIZE"), ":1001\r\n");
    }
    assert!(
        crate::common::wait_until(std::time::Duration::from_secs(10), || m2
            .logs()
            .contains("DB loaded from disk")),
        "{}",
        m2.logs()
    );
    // Saving again works next to the leftover.
    assert_eq!(c2.c("SET marker after"), "+OK\r\n");
    assert_eq!(c2.c("BGSAVE"), "+Background saving started\r\n");
    assert!(wait_info(
        m2.port,
        "persistence",
        "rdb_bgsave_in_progress",
        "0",
        T
    ));
    assert_eq!(
        info_field(m2.port, "persistence", "rdb_last_bgsave_status").as_deref(),
        Some("ok")
    );
}

#[test]
fn master_drops_a_replica_stuck_in_its_full_sync_after_repl_timeout() {
    let m = Server::with_config(
        "repl-timeout = 2\nrepl-diskless-sync-delay = 0\nrdbcompression = false\n",
    );
    // ~40 MB of incompressible values: far more than the socket buffers hold.
    fill(m.port, "k", 40_000, 1024);
    let mut fake = RespConn::connect(m.port);
    assert_eq!(fake.c("REPLCONF listening-port 5555"), "+OK\r\n");
    assert_eq!(fake.c("REPLCONF capa eof capa psync2"), "+OK\r\n");
    // PSYNC, then never read again.
    fake.send(&[b"PSYNC", b"?", b"-1"]);
    assert!(wait_until(T, || info_field(
        m.port,
        "replication",
        "slave0"
    )
    .is_some_and(|l| l.contains("state=send_bulk"))));
    let t0 = Instant::now();
    assert!(
        wait_info(m.port, "replication", "connected_slaves", "0", T),
        "{}",
        m.logs()
    );
    let took = t0.elapsed();
    assert!(took <= Duration::from_secs(10), "{took:?}");
    assert!(
        m.logs()
            .contains("Disconnecting timedout replica (full sync): 127.0.0.1:5555"),
        "{}",
        m.logs()
    );
    // The master is fine and can feed a healthy replica afterwards.
    assert_eq!(RespConn::connect(m.port).c("PING"), "+PONG\r\n");
    let r = Server::with_config(&format!(
        "repl-diskless-sync-delay = 0\nreplicaof = \"127.0.0.1 {}\"\n",
        m.port
    ));
    assert!(wait_info(
        r.port,
        "replication",
        "master_link_status",
        "up",
        Duration::from_secs(60)
    ));
    assert_eq!(RespConn::connect(r.port).c("DBSIZE"), ":40000\r\n");
    drop(fake);
}
