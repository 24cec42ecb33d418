//! LATENCY and INFO latencystats against a real redis-server 7.0: the
//! fixed texts (HELP, DOCTOR, errors) byte for byte, the events a slow
//! command records above latency-monitor-threshold (LATEST/HISTORY/RESET
//! shapes), and per-command percentiles with their config keys.
use crate::common::*;

fn start_real() -> Option<(RealRedis, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let r = RealRedis::start_with(&["--dir", &dir.path().display().to_string()])?;
    Some((r, dir))
}

#[test]
fn fixed_replies_match_real_redis() {
    let Some((real, _d)) = start_real() else {
        return;
    };
    let ours = Server::start();
    let mut got = Vec::new();
    for port in [ours.port, real.port] {
        let mut c = RespConn::connect(port);
        let mut r = Vec::new();
        for l in [
            "LATENCY HELP",
            "LATENCY DOCTOR",
            "LATENCY LATEST",
            "LATENCY HISTORY command",
            "LATENCY RESET",
            "LATENCY GRAPH command",
            "LATENCY FOO",
            "LATENCY",
            "CONFIG GET latency-monitor-threshold",
            "CONFIG GET latency-tracking",
            "CONFIG GET latency-tracking-info-percentiles",
            "CONFIG SET latency-monitor-threshold 1",
            "LATENCY DOCTOR",
        ] {
            r.push(c.c(l));
        }
        got.push(r);
    }
    assert_eq!(got[0], got[1], "ours (left) vs redis-server (right)");
}

/// A Lua busy loop of some tens of ms is a `command` latency event on both.
#[test]
fn slow_command_is_recorded_as_on_redis() {
    let Some((real, _d)) = start_real() else {
        return;
    };
    let ours = Server::start();
    for port in [ours.port, real.port] {
        let mut c = RespConn::connect(port);
        c.c("CONFIG SET latency-monitor-threshold 5");
        c.call(&[
            "EVAL",
            "local i = 0 while i < 20000000 do i = i + 1 end",
            "0",
        ]);
        let latest = c.c("LATENCY LATEST");
        // One event: *1 *4 $7 command :<ts> :<ms> :<ms>
        let lines: Vec<&str> = latest.split("\r\n").collect();
        assert_eq!(
            &lines[..4],
            &["*1", "*4", "$7", "command"],
            "port {port}: {latest}"
        );
        let ms: i64 = lines[5][1..].parse().unwrap();
        assert!(ms >= 5, "port {port}: {latest}");
        let hist = c.c("LATENCY HISTORY command");
        assert!(hist.starts_with("*1\r\n*2\r\n:"), "port {port}: {hist}");
        assert!(c.c("LATENCY GRAPH command").starts_with("$"), "port {port}");
        assert_eq!(c.c("LATENCY RESET command nope"), ":1\r\n");
        assert_eq!(c.c("LATENCY LATEST"), "*0\r\n");
    }
}

fn latencystats(port: u16) -> Vec<String> {
    let text = String::from_utf8_lossy(&RespConn::connect(port).call(&["INFO", "latencystats"]))
        .into_owned();
    text.lines()
        .filter(|l| l.starts_with("latency_percentiles_usec_get:"))
        .map(|l| {
            // The keys (p50=..) without their timing values.
            l.split([':', ','])
                .map(|kv| kv.split('=').next().unwrap().to_string())
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect()
}

#[test]
fn info_latencystats_percentiles_as_redis() {
    let Some((real, _d)) = start_real() else {
        return;
    };
    let ours = Server::start();
    for port in [ours.port, real.port] {
        let mut c = RespConn::connect(port);
        for _ in 0..50 {
            c.c("GET k");
        }
    }
    assert_eq!(latencystats(ours.port), latencystats(real.port));
    assert_eq!(
        latencystats(ours.port),
        vec!["latency_percentiles_usec_get,p50,p99,p99.9".to_string()]
    );
    for port in [ours.port, real.port] {
        let mut c = RespConn::connect(port);
        c.call(&[
            "CONFIG",
            "SET",
            "latency-tracking-info-percentiles",
            "50 90",
        ]);
    }
    assert_eq!(latencystats(ours.port), latencystats(real.port));
    // Values are real: a 1-µs-ish GET never reads as 0 or as seconds.
    let text =
        String::from_utf8_lossy(&RespConn::connect(ours.port).call(&["INFO", "latencystats"]))
            .into_owned();
    let line = text
        .lines()
        .find(|l| l.starts_with("latency_percentiles_usec_get:"))
        .unwrap();
    let p50: f64 = line
        .split("p50=")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(p50 > 0.0 && p50 < 100_000.0, "{line}");
}

/// LATENCY HISTOGRAM: per-command cumulative distributions with the same
/// shape as Redis's (the times themselves differ): the call count, bucket
/// keys at powers of two in µs, counts growing to the call count; a
/// container names its subcommands; unknown names are skipped.
#[test]
fn histogram_has_redis_shape() {
    let Some((real, _d)) = start_real() else {
        return;
    };
    let ours = Server::start();
    let shape = |port: u16| -> Vec<String> {
        let mut c = RespConn::connect(port);
        c.call(&["HELLO", "3"]);
        for i in 0..100 {
            c.call(&["SET", &format!("k{i}"), "v"]);
        }
        c.call(&["CONFIG", "GET", "maxclients"]);
        let mut v = Vec::new();
        for args in [
            vec!["LATENCY", "HISTOGRAM", "set"],
            vec!["LATENCY", "HISTOGRAM", "config", "nosuchcommand"],
            vec!["LATENCY", "HISTOGRAM", "nosuchcommand"],
        ] {
            let r = String::from_utf8(c.call(&args)).unwrap();
            let lines: Vec<&str> = r.split("\r\n").collect();
            // Header: %1 name %2 calls :N histogram_usec %K, then K pairs.
            let k: usize = lines
                .iter()
                .position(|l| *l == "histogram_usec")
                .map(|i| lines[i + 1][1..].parse().unwrap())
                .unwrap_or(0);
            let start = lines
                .iter()
                .position(|l| *l == "histogram_usec")
                .map_or(0, |i| i + 2);
            let pairs: Vec<(u64, u64)> = (0..k)
                .map(|j| {
                    let us = lines[start + 2 * j][1..].parse().unwrap();
                    let n = lines[start + 2 * j + 1][1..].parse().unwrap();
                    (us, n)
                })
                .collect();
            assert!(
                pairs.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1),
                "{r}"
            );
            if let Some(last) = pairs.last() {
                assert!(r.contains(&format!("calls\r\n:{}\r\n", last.1)), "{r}");
            }
            let head: Vec<&str> = lines[..start.max(1) - 1].to_vec();
            v.push(head.join("|"));
        }
        v
    };
    let a = shape(ours.port);
    let b = shape(real.port);
    assert_eq!(a, b);
    assert!(a[0].contains("calls|:100"), "{a:?}");
}
