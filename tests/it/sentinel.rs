//! One rsredis sentinel against real redis-server 7.0 data nodes:
//! compat-contract §7 checks 15-25 (API shapes byte for byte, votes in the
//! state file, manual failover errors, hello messages, TILT), start-up
//! errors and the front end (inline commands, HELLO, pub/sub, AUTH).
//! Skipped when redis-server is absent unless RSREDIS_REQUIRE_INTEROP=1.

use crate::common::*;
use std::process::Command;
use std::time::{Duration, Instant};

const DOWN_AFTER: u64 = 1500;

fn sentinel_for(g: &Group, quorum: u32, failover_timeout: u64) -> SentinelProc {
    let port = free_port();
    SentinelProc::rsredis(&sentinel_toml(
        port,
        "mymaster",
        g.master.port,
        quorum,
        DOWN_AFTER,
        failover_timeout,
    ))
}

fn s(b: Vec<u8>) -> String {
    String::from_utf8_lossy(&b).into_owned()
}

/// Wait until the sentinel lists `n` replicas of mymaster.
fn wait_replicas(sen: &SentinelProc, n: usize) {
    let ok = wait_until(Duration::from_secs(10), || {
        sen.master_field("mymaster", "num-slaves").as_deref() == Some(&n.to_string())
    });
    assert!(
        ok,
        "sentinel did not discover {n} replicas; logs:\n{}",
        sen.logs()
    );
}

#[test]
fn api_shapes_byte_exact() {
    let Some(g) = Group::start(1, "") else { return };
    let sen = sentinel_for(&g, 1, 10000);
    let mut c = sen.conn();
    let mp = g.master.port.to_string();

    // 15: GET-MASTER-ADDR-BY-NAME, unknown name.
    assert_eq!(
        s(c.call(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"])),
        format!("*2\r\n$9\r\n127.0.0.1\r\n${}\r\n{}\r\n", mp.len(), mp)
    );
    assert_eq!(
        s(c.call(&["SENTINEL", "get-master-addr-by-name", "nosuch"])),
        "*-1\r\n"
    );
    // 16
    assert_eq!(
        s(c.call(&["SENTINEL", "MASTER", "nosuch"])),
        "-ERR No such master with that name\r\n"
    );
    // 17: *1 of *40, keys start name ip port runid flags, port a bulk, flags = master.
    wait_replicas(&sen, 1);
    let masters = s(c.call(&["SENTINEL", "MASTERS"]));
    let head = format!(
        "*1\r\n*40\r\n$4\r\nname\r\n$8\r\nmymaster\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$4\r\nport\r\n${}\r\n{}\r\n$5\r\nrunid\r\n",
        mp.len(),
        mp
    );
    assert!(masters.starts_with(&head), "{masters}");
    assert!(
        masters.contains("$5\r\nflags\r\n$6\r\nmaster\r\n"),
        "{masters}"
    );
    // 18
    assert_eq!(
        s(c.call(&[
            "SENTINEL",
            "IS-MASTER-DOWN-BY-ADDR",
            "127.0.0.1",
            "9999",
            "0",
            "*"
        ])),
        "*3\r\n:0\r\n$1\r\n*\r\n:0\r\n"
    );
    // 22
    assert_eq!(
        s(c.call(&["SENTINEL", "SET", "mymaster", "quorum", "0"])),
        "-ERR Invalid argument '0' for SENTINEL SET 'quorum'\r\n"
    );
    assert_eq!(
        s(c.call(&["SENTINEL", "MONITOR", "mymaster", "127.0.0.1", &mp, "1"])),
        "-ERR Duplicate master name.\r\n"
    );
    // 23
    assert_eq!(
        s(c.call(&["ROLE"])),
        "*2\r\n$8\r\nsentinel\r\n*1\r\n$8\r\nmymaster\r\n"
    );
    assert_eq!(
        s(c.call(&["GET", "x"])),
        "-ERR unknown command 'GET', with args beginning with: 'x' \r\n"
    );
    assert_eq!(
        s(c.call(&["SENTINEL", "MASTERS", "x"])),
        "-ERR wrong number of arguments for 'sentinel|masters' command\r\n"
    );
    // PUBLISH: hello only.
    assert_eq!(
        s(c.call(&["PUBLISH", "foo", "bar"])),
        "-ERR Only HELLO messages are accepted by Sentinel instances.\r\n"
    );
    assert_eq!(
        s(c.call(&["PUBLISH", "__sentinel__:hello", "junk"])),
        ":1\r\n"
    );
    // Handshake noise from clients never closes the connection (§0.4).
    let r = s(c.call(&["CLIENT", "SETINFO", "LIB-NAME", "x"]));
    assert!(r.starts_with('+') || r.starts_with('-'), "{r}");
    assert_eq!(s(c.call(&["CLIENT", "SETNAME", "me"])), "+OK\r\n");
    assert_eq!(s(c.call(&["CLIENT", "GETNAME"])), "$2\r\nme\r\n");
    assert_eq!(s(c.call(&["PING"])), "+PONG\r\n");
    // MYID: 40 hex; INFO run_id differs.
    let myid = s(c.call(&["SENTINEL", "MYID"]));
    assert!(myid.starts_with("$40\r\n"), "{myid}");
    let myid = myid[5..45].to_string();
    let info = s(c.call(&["INFO"]));
    for sec in ["# Server", "# Clients", "# CPU", "# Stats", "# Sentinel"] {
        assert!(info.contains(sec), "{info}");
    }
    assert!(info.contains("redis_mode:sentinel\r\n"), "{info}");
    assert!(
        info.contains(&format!("tcp_port:{}\r\n", sen.port)),
        "{info}"
    );
    let run_id = info
        .split("run_id:")
        .nth(1)
        .unwrap()
        .split("\r\n")
        .next()
        .unwrap();
    assert_eq!(run_id.len(), 40);
    assert_ne!(run_id, myid);
    assert!(
        info.contains(&format!(
            "master0:name=mymaster,status=ok,address=127.0.0.1:{},slaves=1,sentinels=1\r\n",
            mp
        )),
        "{info}"
    );
    let only = s(c.call(&["INFO", "sentinel"]));
    assert!(
        only.contains("# Sentinel\r\nsentinel_masters:1\r\n"),
        "{only}"
    );
    assert!(!only.contains("# Server"), "{only}");

    // RESP3: HELLO 3 is a 6-entry map with mode sentinel, null is `_`, INFO stays a bulk,
    // instance descriptions become maps.
    let mut c3 = sen.conn();
    let h = s(c3.call(&["HELLO", "3"]));
    assert!(
        h.starts_with("%6\r\n$6\r\nserver\r\n$5\r\nredis\r\n"),
        "{h}"
    );
    assert!(h.contains("$4\r\nmode\r\n$8\r\nsentinel\r\n"), "{h}");
    assert!(!h.contains("role"), "{h}");
    assert_eq!(
        s(c3.call(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "nosuch"])),
        "_\r\n"
    );
    assert!(s(c3.call(&["INFO", "server"])).starts_with('$'));
    assert!(s(c3.call(&["SENTINEL", "MASTERS"])).starts_with("*1\r\n%20\r\n"));
    assert_eq!(
        s(c3.call(&["HELLO", "4"])),
        "-NOPROTO unsupported protocol version\r\n"
    );
    let h2 = s(c3.call(&["HELLO", "2"]));
    assert!(h2.starts_with("*12\r\n"), "{h2}");

    // Inline commands (HAProxy, telnet): PING, info, QUIT then close.
    let mut raw = Raw::connect(sen.port);
    raw.send(b"PING\r\ninfo server\r\nQUIT\r\n");
    let got = raw.read_for(Duration::from_millis(500));
    let got = String::from_utf8_lossy(&got);
    assert!(got.starts_with("+PONG\r\n$"), "{got}");
    assert!(got.contains("redis_mode:sentinel"), "{got}");
    assert!(got.ends_with("+OK\r\n"), "{got}");
    assert!(raw.is_closed());

    // redis-cli against the sentinel.
    if let Some(out) = redis_cli(
        sen.port,
        &["SENTINEL", "get-master-addr-by-name", "mymaster"],
    ) {
        assert_eq!(out.trim(), format!("127.0.0.1\n{}", mp));
    }
}

#[test]
fn hello_messages_reach_the_master() {
    // 24: SUBSCRIBE __sentinel__:hello on the monitored master.
    let Some(g) = Group::start(0, "") else { return };
    let sen = sentinel_for(&g, 1, 10000);
    let mut sub = g.master.conn();
    sub.call(&["SUBSCRIBE", "__sentinel__:hello"]);
    let start = Instant::now();
    let msg = loop {
        let r = s(sub.read_reply());
        if r.contains("message") {
            break r;
        }
        assert!(start.elapsed() < Duration::from_secs(5));
    };
    let body = msg.split("\r\n").nth(6).unwrap().to_string();
    let f: Vec<&str> = body.split(',').collect();
    assert_eq!(f.len(), 8, "{body}");
    assert!(f[0].parse::<std::net::IpAddr>().is_ok(), "{body}");
    assert_eq!(f[1], sen.port.to_string());
    assert!(
        f[2].len() == 40 && f[2].bytes().all(|b| b.is_ascii_hexdigit()),
        "{body}"
    );
    assert!(f[3].parse::<u64>().is_ok());
    assert_eq!(f[4], "mymaster");
    assert_eq!(f[5], "127.0.0.1");
    assert_eq!(f[6], g.master.port.to_string());
    assert!(f[7].parse::<u64>().is_ok());
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    // The sentinel named its links (CLIENT SETNAME sentinel-<id8>-cmd / -pubsub).
    let mut c = g.master.conn();
    let list = s(c.call(&["CLIENT", "LIST"]));
    let id8 = &f[2][..8];
    assert!(list.contains(&format!("name=sentinel-{id8}-cmd")), "{list}");
    assert!(
        list.contains(&format!("name=sentinel-{id8}-pubsub")),
        "{list}"
    );
}

#[test]
fn votes_are_persisted_and_survive_a_restart() {
    // 19
    let Some(g) = Group::start(0, "") else { return };
    let mut sen = sentinel_for(&g, 1, 10000);
    let mp = g.master.port.to_string();
    let ones = "1".repeat(40);
    let vote = |c: &mut RespConn, epoch: &str, id: &str| {
        s(c.call(&[
            "SENTINEL",
            "IS-MASTER-DOWN-BY-ADDR",
            "127.0.0.1",
            &mp,
            epoch,
            id,
        ]))
    };
    let expect = format!("*3\r\n:0\r\n$40\r\n{}\r\n:10\r\n", ones);
    let mut c = sen.conn();
    assert_eq!(vote(&mut c, "10", &ones), expect);
    assert_eq!(vote(&mut c, "10", &"2".repeat(40)), expect);
    assert_eq!(vote(&mut c, "9", &"3".repeat(40)), expect);
    let st = sen.state_file();
    assert!(st.contains("current_epoch = 10"), "{st}");
    assert!(st.contains("leader_epoch = 10"), "{st}");
    assert!(st.contains(&format!("leader = \"{ones}\"")), "{st}");
    let myid = s(c.call(&["SENTINEL", "MYID"]));
    drop(c);
    // Restart: same myid, same vote, same epoch.
    sen.stop();
    sen.launch();
    let mut c = sen.conn();
    assert_eq!(s(c.call(&["SENTINEL", "MYID"])), myid);
    assert_eq!(vote(&mut c, "10", &"4".repeat(40)), expect);
    let st = sen.state_file();
    assert!(st.contains("current_epoch = 10"), "{st}");
    // FLUSHCONFIG rewrites the state file.
    assert_eq!(s(c.call(&["SENTINEL", "FLUSHCONFIG"])), "+OK\r\n");
    assert!(sen
        .logs()
        .contains("Sentinel new configuration saved on disk"));
}

#[test]
fn manual_failover_errors_and_switch() {
    // 20: no replicas -> NOGOODSLAVE; healthy group -> OK then INPROG, and the switch happens.
    let Some(g) = Group::start(1, "") else { return };
    let Some(solo) = Node::start("") else { return };
    let port = free_port();
    let toml = format!(
        "{}\n[[master]]\nname = \"solo\"\nhost = \"127.0.0.1\"\nport = {}\nquorum = 1\ndown-after-milliseconds = {}\n",
        sentinel_toml(port, "mymaster", g.master.port, 1, DOWN_AFTER, 8000),
        solo.port,
        DOWN_AFTER
    );
    let sen = SentinelProc::rsredis(&toml);
    let tap = Tap::new(sen.port);
    let mut c = sen.conn();
    wait_replicas(&sen, 1);
    assert_eq!(
        s(c.call(&["SENTINEL", "FAILOVER", "solo"])),
        "-NOGOODSLAVE No suitable replica to promote\r\n"
    );
    assert!(wait_until(Duration::from_secs(10), || {
        s(c.call(&["SENTINEL", "FAILOVER", "mymaster"])) == "+OK\r\n"
    }));
    assert_eq!(
        s(c.call(&["SENTINEL", "FAILOVER", "mymaster"])),
        "-INPROG Failover already in progress\r\n"
    );
    let sw = tap
        .wait("+switch-master", Duration::from_secs(15))
        .unwrap_or_else(|| panic!("no +switch-master; logs:\n{}", sen.logs()));
    let new = g.replicas[0].port;
    assert_eq!(
        sw,
        format!("mymaster 127.0.0.1 {} 127.0.0.1 {}", g.master.port, new)
    );
    assert_eq!(sen.master_addr("mymaster"), Some(("127.0.0.1".into(), new)));
    assert_eq!(g.replicas[0].info_field("role").as_deref(), Some("master"));
    // The old master is reconfigured as a replica of the new one.
    assert!(
        wait_until(Duration::from_secs(20), || {
            g.master.info_field("master_port") == Some(new.to_string())
        }),
        "old master not converted; logs:\n{}",
        sen.logs()
    );
    for ev in [
        "+new-epoch",
        "+try-failover",
        "+vote-for-leader",
        "+elected-leader",
        "+failover-state-select-slave",
        "+selected-slave",
        "+failover-state-send-slaveof-noone",
        "+failover-state-wait-promotion",
        "+promoted-slave",
        "+failover-state-reconf-slaves",
        "+failover-end",
    ] {
        assert!(tap.count(ev) >= 1, "missing {ev}: {:?}", tap.all());
    }
    // The state file records the new master address and epoch.
    let st = sen.state_file();
    assert!(st.contains(&format!("port = {new}")), "{st}");
    assert!(st.contains("config_epoch = 1"), "{st}");
}

#[test]
fn tilt_after_the_process_was_frozen() {
    // 25: SIGSTOP 3 s -> +tilt, sentinel_tilt:1; -tilt after 30 s.
    let Some(g) = Group::start(0, "") else { return };
    let sen = sentinel_for(&g, 1, 10000);
    let tap = Tap::new(sen.port);
    // The sentinel runs normally first: its timer has ticked (TILT compares
    // a tick with the previous one) and has fetched the master's INFO.
    assert!(wait_until(Duration::from_secs(10), || {
        sen.master_field("mymaster", "info-refresh")
            .is_some_and(|v| v != "0")
    }));
    signal_pid(sen.pid(), "STOP");
    // Deliberate: the freeze of 3 s is what the sentinel must detect.
    std::thread::sleep(Duration::from_secs(3));
    signal_pid(sen.pid(), "CONT");
    let t = tap.wait("+tilt", Duration::from_secs(3));
    assert_eq!(t.as_deref(), Some("#tilt mode entered"), "{:?}", tap.all());
    assert_eq!(
        info_field(sen.port, "sentinel", "sentinel_tilt").as_deref(),
        Some("1")
    );
    // In TILT the sentinel answers is-master-down with 0 and does not mark SDOWN.
    let e = tap.wait("-tilt", Duration::from_secs(40));
    assert_eq!(e.as_deref(), Some("#tilt mode exited"), "{:?}", tap.all());
    assert_eq!(
        info_field(sen.port, "sentinel", "sentinel_tilt").as_deref(),
        Some("0")
    );
    assert_eq!(tap.count("+sdown"), 0, "{:?}", tap.all());
}

#[test]
fn auth_and_shutdown() {
    let Some(g) = Group::start(0, "") else { return };
    let port = free_port();
    let mut sen = SentinelProc::rsredis(&format!(
        "requirepass = \"pw\"\n{}",
        sentinel_toml(port, "mymaster", g.master.port, 1, DOWN_AFTER, 10000)
    ));
    let mut c = sen.conn();
    assert_eq!(
        s(c.call(&["SENTINEL", "MASTERS"])),
        "-NOAUTH Authentication required.\r\n"
    );
    assert!(s(c.call(&["AUTH", "bad"])).starts_with("-WRONGPASS"));
    assert_eq!(s(c.call(&["AUTH", "pw"])), "+OK\r\n");
    assert!(s(c.call(&["SENTINEL", "MASTERS"])).starts_with("*1\r\n"));
    let mut c2 = sen.conn();
    assert!(s(c2.call(&["HELLO", "3", "AUTH", "default", "pw"])).starts_with("%6\r\n"));
    // SHUTDOWN: the process exits 0 and the state file exists.
    c.send(&[b"SHUTDOWN"]);
    let pid = sen.pid();
    assert!(wait_until(Duration::from_secs(5), || {
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| s.contains(") Z "))
                .unwrap_or(true)
    }));
    assert!(sen.state_file().contains("myid = "));
    sen.stop();
}

fn run_sentinel(toml_text: &str, state: Option<&str>) -> (i32, String) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("sentinel.toml");
    std::fs::write(
        &p,
        format!("dir = {:?}\n{}", d.path().display().to_string(), toml_text),
    )
    .unwrap();
    if let Some(st) = state {
        std::fs::write(d.path().join("sentinel-state.toml"), st).unwrap();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_rsredis"))
        .args(["sentinel", "--config"])
        .arg(&p)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_config_or_state_refuses_to_start() {
    // Every case fails before the sentinel binds: any port will do.
    let port = 0;
    let (code, err) = run_sentinel(&format!("port = {port}\nquorom = 2\n"), None);
    assert_eq!(code, 1);
    assert!(
        err.contains("sentinel.toml") && err.contains("unknown key 'quorom'"),
        "{err}"
    );
    let (code, err) = run_sentinel(
        &format!("port = {port}\n[[master]]\nname = \"m\"\nhost = \"127.0.0.1\"\nport = 1\nquorum = \"two\"\n"),
        None,
    );
    assert_eq!(code, 1);
    assert!(err.contains("key 'quorum'"), "{err}");
    let (code, err) = run_sentinel(&format!("port = {port}\n"), Some("myid = [\n"));
    assert_eq!(code, 1);
    assert!(err.contains("corrupt state file"), "{err}");
}

#[test]
fn simulate_failure_crash_after_election_exits_99() {
    let Some(g) = Group::start(1, "") else { return };
    let mut sen = sentinel_for(&g, 1, 10000);
    wait_replicas(&sen, 1);
    let mut c = sen.conn();
    assert_eq!(
        s(c.call(&["SENTINEL", "SIMULATE-FAILURE", "crash-after-election"])),
        "+OK\r\n"
    );
    // Right after discovery the replica may not be eligible yet: retry.
    assert!(wait_until(Duration::from_secs(10), || {
        s(c.call(&["SENTINEL", "FAILOVER", "mymaster"])) == "+OK\r\n"
    }));
    let pid = sen.pid();
    let exited = wait_until(Duration::from_secs(10), || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|st| st.contains(") Z "))
            .unwrap_or(true)
    });
    assert!(exited, "{}", sen.logs());
    assert_eq!(sen.wait_status(), Some(99), "{}", sen.logs());
    // The epoch of the started failover was persisted before the crash.
    assert!(
        sen.state_file().contains("current_epoch = 1"),
        "{}",
        sen.state_file()
    );
}

#[test]
fn resp3_event_deliveries_are_push_frames() {
    let Some(g) = Group::start(0, "") else { return };
    let sen = sentinel_for(&g, 1, 10000);
    let mut c = sen.conn();
    c.call(&["HELLO", "3"]);
    assert_eq!(
        s(c.call(&["SUBSCRIBE", "+set"])),
        ">3\r\n$9\r\nsubscribe\r\n$4\r\n+set\r\n:1\r\n"
    );
    // RESP3 allows ordinary commands while subscribed.
    let mut c2 = sen.conn();
    assert_eq!(
        s(c2.call(&[
            "SENTINEL",
            "SET",
            "mymaster",
            "down-after-milliseconds",
            "5000"
        ])),
        "+OK\r\n"
    );
    let ev = s(c.read_reply());
    let msg = format!(
        "master mymaster 127.0.0.1 {} down-after-milliseconds 5000",
        g.master.port
    );
    let want = format!(
        ">3\r\n$7\r\nmessage\r\n$4\r\n+set\r\n${}\r\n{}\r\n",
        msg.len(),
        msg
    );
    assert_eq!(ev, want);
    assert_eq!(s(c.call(&["PING"])), "+PONG\r\n");
    // RESP2 subscribed mode refuses other commands.
    let mut c3 = sen.conn();
    c3.call(&["SUBSCRIBE", "x"]);
    assert!(s(c3.call(&["SENTINEL", "MASTERS"])).starts_with("-ERR Can't execute 'sentinel'"));
    assert_eq!(s(c3.call(&["PING"])), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
}

/// The sentinel's commands are its view of the one command table: COMMAND
/// lists exactly them with their declared arity, arity errors use the
/// declared name, and a data node does not know the sentinel-only ones
/// (answered like a real redis-server 7.0).
#[test]
fn commands_come_from_the_one_table() {
    let Some(g) = Group::start(0, "") else { return };
    let sen = sentinel_for(&g, 1, 10000);
    let mut c = sen.conn();
    let table = rsredis::cmd::table();
    assert_eq!(
        s(c.call(&["COMMAND", "COUNT"])),
        format!(":{}\r\n", table.sentinel_all.len())
    );
    let all = s(c.call(&["COMMAND"]));
    assert!(
        all.starts_with(&format!("*{}\r\n", table.sentinel_all.len())),
        "{all}"
    );
    for name in ["sentinel", "ping", "subscribe", "info", "quit"] {
        assert!(
            all.contains(&format!("*10\r\n${}\r\n{}\r\n", name.len(), name)),
            "{name}"
        );
    }
    assert!(!all.contains("$3\r\nget\r\n"), "{all}");
    assert!(s(c.call(&["COMMAND", "INFO", "SENTINEL"]))
        .starts_with("*1\r\n*10\r\n$8\r\nsentinel\r\n:-2\r\n"));
    assert_eq!(
        s(c.call(&["ROLE", "x"])),
        "-ERR wrong number of arguments for 'role' command\r\n"
    );
    assert_eq!(
        s(c.call(&["Sentinel"])),
        "-ERR wrong number of arguments for 'sentinel' command\r\n"
    );

    // The data node does not know SENTINEL, as redis-server does not.
    let Some(real) = RealRedis::start() else {
        return;
    };
    let ours = Server::start();
    for args in [&["SENTINEL", "masters"][..], &["sentinel"][..]] {
        let want = s(RespConn::connect(real.port).call(args));
        assert_eq!(s(RespConn::connect(ours.port).call(args)), want, "{args:?}");
    }
    let count = s(RespConn::connect(ours.port).call(&["COMMAND", "COUNT"]));
    assert_eq!(count, format!(":{}\r\n", table.all.len()));
}
