//! The one admission check, differentially: every gate (NOAUTH, READONLY,
//! NOREPLICAS, MISCONF, MASTERDOWN, subscribed mode, MULTI rules, read-only
//! scripts) against every entry path (a client command, MULTI/EXEC, EVAL
//! with redis.call and pcall, EVAL_RO, shebang flags, EVALSHA, the master's
//! stream), on rsredis and on a real redis-server 7.0 put in the same state
//! by the same commands. The replies must be byte-identical.

use crate::common;

use common::{wait_until, RealRedis, RespConn, Server};
use std::time::{Duration, Instant};

/// A probe: commands sent in order on a fresh connection; each element is
/// the argument list of one command.
type Probe = &'static [&'static [&'static str]];

const SET_SCRIPT: &str = "return redis.call('set','k','v')";
const SHEBANG_SET: &str = "#!lua\nreturn redis.call('set','k','v')";

const PROBES: &[Probe] = &[
    &[&["SET", "k", "v"]],
    &[&["GET", "k"]],
    &[&["PING"]],
    &[&["DEL", "k"]],
    &[&["PUBLISH", "c", "m"]],
    &[&["MULTI"], &["SET", "k", "v"], &["EXEC"]],
    &[&["MULTI"], &["GET", "k"], &["EXEC"]],
    &[&["MULTI"], &["GET", "k"], &["SET", "k", "v2"], &["EXEC"]],
    &[&["MULTI"], &["WATCH", "k"], &["DISCARD"]],
    &[&["MULTI"], &["EVAL", SET_SCRIPT, "0"], &["EXEC"]],
    &[&["EVAL", SET_SCRIPT, "0"]],
    &[&["EVAL", "return redis.pcall('set','k','v')", "0"]],
    &[&["EVAL", "return redis.call('get','k')", "0"]],
    &[&[
        "EVAL",
        "return {redis.call('get','k'), redis.pcall('incr','n')}",
        "0",
    ]],
    &[&["EVAL", "return redis.call('publish','c','m')", "0"]],
    &[&["EVAL", "return redis.call('multi')", "0"]],
    &[&["EVAL_RO", SET_SCRIPT, "0"]],
    &[&["EVAL_RO", "return redis.call('get','k')", "0"]],
    &[&["EVAL_RO", "return redis.call('publish','c','m')", "0"]],
    &[&["EVAL", SHEBANG_SET, "0"]],
    &[&[
        "EVAL",
        "#!lua flags=no-writes\nreturn redis.call('get','k')",
        "0",
    ]],
    &[&[
        "EVAL",
        "#!lua flags=no-writes\nreturn redis.call('set','k','v')",
        "0",
    ]],
    &[&["EVAL", "#!lua flags=allow-stale,no-writes\nreturn 1", "0"]],
    &[&["EVAL", "#!lua flags=allow-stale\nreturn 1", "0"]],
    &[&["EVAL_RO", "#!lua\nreturn 1", "0"]],
    &[&["EVAL_RO", "#!lua flags=no-writes\nreturn 1", "0"]],
    &[
        &["SCRIPT", "LOAD", SHEBANG_SET],
        &["EVALSHA", "204c41b37f2eaebe3b73399b1b50f23cb63e97be", "0"],
    ],
    &[
        &["SCRIPT", "LOAD", SET_SCRIPT],
        &[
            "EVALSHA_RO",
            "d223ed8c7345b684e8ed044ed472601f536fa58b",
            "0",
        ],
    ],
    &[
        &["SUBSCRIBE", "c"],
        &["GET", "k"],
        &["PING"],
        &["EVAL", "return 1", "0"],
    ],
    &[&["MULTI"], &["MULTI"], &["EXEC"]],
    &[&["INFO", "nosuchsection"]],
];

/// A state both servers are put in by the same commands.
struct Scenario {
    name: &'static str,
    setup: fn(&mut RespConn, &Ctx),
    /// Commands each probe connection sends first (AUTH...), replies not compared.
    preamble: &'static [&'static [&'static str]],
}

struct Ctx {
    dead_port: String,
    /// The data directory of the server being set up.
    dir: String,
}

fn call(c: &mut RespConn, args: &[&str]) -> String {
    String::from_utf8_lossy(&c.call(args)).into_owned()
}

fn make_replica(c: &mut RespConn, cx: &Ctx) {
    assert!(call(c, &["REPLICAOF", "127.0.0.1", &cx.dead_port]).starts_with("+OK"));
}

/// A failing background save with save points set: writes get -MISCONF.
/// The dump's name is taken by a directory, so the final rename fails.
fn break_bgsave(c: &mut RespConn, cx: &Ctx) {
    std::fs::create_dir_all(format!("{}/dump.rdb", cx.dir)).unwrap();
    assert_eq!(call(c, &["CONFIG", "SET", "save", "3600 1"]), "+OK\r\n");
    assert!(call(c, &["BGSAVE"]).starts_with('+'));
    assert!(
        wait_until(Duration::from_secs(20), || call(
            c,
            &["INFO", "persistence"]
        )
        .contains("rdb_last_bgsave_status:err")),
        "the background save did not fail"
    );
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "master",
        setup: |_, _| {},
        preamble: &[],
    },
    Scenario {
        name: "min-replicas-to-write 5 without replicas",
        setup: |c, _| {
            assert_eq!(
                call(c, &["CONFIG", "SET", "min-replicas-to-write", "5"]),
                "+OK\r\n"
            );
        },
        preamble: &[],
    },
    Scenario {
        name: "read-only replica, link down",
        setup: make_replica,
        preamble: &[],
    },
    Scenario {
        name: "stale replica (replica-serve-stale-data no)",
        setup: |c, cx| {
            make_replica(c, cx);
            assert_eq!(
                call(c, &["CONFIG", "SET", "replica-serve-stale-data", "no"]),
                "+OK\r\n"
            );
        },
        preamble: &[],
    },
    Scenario {
        name: "writable replica (replica-read-only no)",
        setup: |c, cx| {
            make_replica(c, cx);
            assert_eq!(
                call(c, &["CONFIG", "SET", "replica-read-only", "no"]),
                "+OK\r\n"
            );
        },
        preamble: &[],
    },
    Scenario {
        name: "requirepass, not authenticated",
        setup: |c, _| {
            assert_eq!(call(c, &["CONFIG", "SET", "requirepass", "pw"]), "+OK\r\n");
        },
        preamble: &[],
    },
    Scenario {
        name: "requirepass, authenticated",
        setup: |c, _| {
            assert_eq!(call(c, &["CONFIG", "SET", "requirepass", "pw"]), "+OK\r\n");
        },
        preamble: &[&["AUTH", "pw"]],
    },
    Scenario {
        name: "failed background save (MISCONF)",
        setup: break_bgsave,
        preamble: &[],
    },
];

fn run_probe(port: u16, preamble: &[&[&str]], probe: Probe) -> String {
    let mut c = RespConn::connect(port);
    for p in preamble {
        c.call(p);
    }
    let mut out = String::new();
    for args in probe {
        out.push_str(&call(&mut c, args));
    }
    out
}

#[test]
fn every_gate_on_every_entry_path_matches_redis() {
    let mut mismatches = Vec::new();
    let mut compared = 0;
    for sc in SCENARIOS {
        let real_dir = tempfile::tempdir().unwrap();
        let Some(real) = RealRedis::start_with(&["--dir", &real_dir.path().display().to_string()])
        else {
            return;
        };
        let ours = Server::start();
        let dead_port = common::free_port().to_string();
        for (port, dir) in [(real.port, real_dir.path()), (ours.port, ours.dir.path())] {
            let cx = Ctx {
                dead_port: dead_port.clone(),
                dir: dir.display().to_string(),
            };
            let mut c = RespConn::connect(port);
            (sc.setup)(&mut c, &cx);
        }
        for probe in PROBES {
            let want = run_probe(real.port, sc.preamble, probe);
            let got = run_probe(ours.port, sc.preamble, probe);
            compared += 1;
            if want != got {
                mismatches.push(format!(
                    "[{}] {:?}\n  redis:   {:?}\n  rsredis: {:?}",
                    sc.name, probe, want, got
                ));
            }
        }
    }
    eprintln!("compared {} scenario x probe pairs", compared);
    assert!(
        mismatches.is_empty(),
        "{} of {} differ:\n{}",
        mismatches.len(),
        compared,
        mismatches.join("\n")
    );
}

/// The master's stream is obeyed whatever the replica's own gates say: a
/// read-only replica with min-replicas-to-write and a failed save still
/// applies plain writes, MULTI/EXEC blocks and script effects.
#[test]
fn master_stream_passes_every_gate() {
    let Some(probe) = RealRedis::start() else {
        return;
    };
    drop(probe);
    let master = Server::start();
    let replica = Server::start();
    let cx = Ctx {
        dead_port: common::free_port().to_string(),
        dir: replica.dir.path().display().to_string(),
    };
    let mut r = RespConn::connect(replica.port);
    assert_eq!(
        call(&mut r, &["CONFIG", "SET", "min-replicas-to-write", "3"]),
        "+OK\r\n"
    );
    break_bgsave(&mut r, &cx);
    assert!(call(
        &mut r,
        &["REPLICAOF", "127.0.0.1", &master.port.to_string()]
    )
    .starts_with("+OK"));
    assert!(common::wait_info(
        replica.port,
        "replication",
        "master_link_status",
        "up",
        Duration::from_secs(20)
    ));
    let mut m = RespConn::connect(master.port);
    call(&mut m, &["SET", "plain", "1"]);
    for args in [
        &["MULTI"][..],
        &["SET", "tx", "1"],
        &["INCR", "tx"],
        &["EXEC"],
    ] {
        call(&mut m, args);
    }
    call(
        &mut m,
        &[
            "EVAL",
            "redis.call('set','script','1') return redis.call('incr','script')",
            "0",
        ],
    );
    call(&mut m, &["SET", "done", "1"]);
    assert!(
        wait_until(Duration::from_secs(20), || call(&mut r, &["GET", "done"])
            == "$1\r\n1\r\n"),
        "the replica did not follow"
    );
    assert_eq!(call(&mut r, &["GET", "plain"]), "$1\r\n1\r\n");
    assert_eq!(call(&mut r, &["GET", "tx"]), "$1\r\n2\r\n");
    assert_eq!(call(&mut r, &["GET", "script"]), "$1\r\n2\r\n");
    // Its own clients are still refused.
    assert!(call(&mut r, &["SET", "x", "1"]).starts_with("-MISCONF"));
}

/// CLIENT PAUSE WRITE holds commands that may write, EVAL included (it may
/// replicate), but not EVAL_RO or reads; the held command then runs.
#[test]
fn pause_write_holds_scripts_that_may_write() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let ours = Server::start();
    for port in [real.port, ours.port] {
        let mut admin = RespConn::connect(port);
        let mut c = RespConn::connect(port);
        assert_eq!(
            call(&mut admin, &["CLIENT", "PAUSE", "400", "WRITE"]),
            "+OK\r\n"
        );
        let t = Instant::now();
        assert_eq!(
            call(&mut c, &["EVAL_RO", "return redis.call('get','k')", "0"]),
            "$-1\r\n"
        );
        assert_eq!(call(&mut c, &["GET", "k"]), "$-1\r\n");
        assert!(
            t.elapsed() < Duration::from_millis(300),
            "port {port}: reads were held"
        );
        assert_eq!(call(&mut c, &["EVAL", SET_SCRIPT, "0"]), "+OK\r\n");
        assert!(
            t.elapsed() >= Duration::from_millis(350),
            "port {port}: EVAL was not held ({:?})",
            t.elapsed()
        );
        assert_eq!(call(&mut c, &["GET", "k"]), "$1\r\nv\r\n");
    }
}

/// A condition that changes between MULTI and EXEC refuses EXEC itself
/// and discards the transaction, as Redis's execCommandAbort.
#[test]
fn exec_is_admitted_with_the_flags_of_its_queue() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let ours = Server::start();
    let mut replies = Vec::new();
    for port in [real.port, ours.port] {
        let mut c = RespConn::connect(port);
        let mut admin = RespConn::connect(port);
        let mut r = String::new();
        for args in [&["MULTI"][..], &["GET", "k"], &["SET", "k", "v"]] {
            r.push_str(&call(&mut c, args));
        }
        call(&mut admin, &["CONFIG", "SET", "min-replicas-to-write", "2"]);
        r.push_str(&call(&mut c, &["EXEC"]));
        r.push_str(&call(&mut c, &["EXEC"]));
        r.push_str(&call(&mut c, &["GET", "k"]));
        // A read-only queue still runs.
        for args in [&["MULTI"][..], &["GET", "k"], &["EXEC"]] {
            r.push_str(&call(&mut c, args));
        }
        call(&mut admin, &["CONFIG", "SET", "min-replicas-to-write", "0"]);
        replies.push(r);
    }
    assert!(replies[0].contains("EXECABORT Transaction discarded because of: NOREPLICAS"));
    assert_eq!(replies[0], replies[1]);
}
