//! INFO fields follow the server's real state (issue 9, point 7): each test
//! changes the state, watches the field follow, and come back.

use crate::common;

use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

fn num(port: u16, section: &str, field: &str) -> i64 {
    info_field(port, section, field)
        .unwrap_or_else(|| panic!("INFO {section} has no {field}"))
        .parse()
        .unwrap_or_else(|_| panic!("{field} is not a number"))
}

fn wait_num(port: u16, section: &str, field: &str, ok: impl Fn(i64) -> bool) -> bool {
    wait_until(T, || ok(num(port, section, field)))
}

#[test]
fn blocked_clients_and_timeout_table_follow_blpop() {
    let s = Server::start();
    let p = s.port;
    assert_eq!(num(p, "clients", "blocked_clients"), 0);
    assert_eq!(num(p, "clients", "clients_in_timeout_table"), 0);

    let mut a = RespConn::connect(p);
    a.send(&[b"BLPOP", b"q1", b"0"]);
    assert!(wait_num(p, "clients", "blocked_clients", |n| n == 1));
    assert_eq!(num(p, "clients", "clients_in_timeout_table"), 0);

    let mut b = RespConn::connect(p);
    let b_id = b.c("CLIENT ID");
    b.send(&[b"BLPOP", b"q2", b"100"]);
    assert!(wait_num(p, "clients", "blocked_clients", |n| n == 2));
    assert_eq!(num(p, "clients", "clients_in_timeout_table"), 1);
    let list = String::from_utf8(RespConn::connect(p).call(&["CLIENT", "LIST"])).unwrap();
    assert_eq!(list.matches("flags=b ").count(), 2, "{list}");

    // WAIT counts as blocked too (no replica will ever ack), with its timeout.
    let mut w = RespConn::connect(p);
    w.send(&[b"WAIT", b"1", b"5000"]);
    assert!(wait_num(p, "clients", "blocked_clients", |n| n == 3));
    assert_eq!(num(p, "clients", "clients_in_timeout_table"), 2);

    let mut c = RespConn::connect(p);
    assert_eq!(c.call(&["LPUSH", "q1", "x"]), b":1\r\n");
    assert_eq!(a.read_reply(), b"*2\r\n$2\r\nq1\r\n$1\r\nx\r\n");
    assert!(wait_num(p, "clients", "blocked_clients", |n| n == 2));
    assert_eq!(num(p, "clients", "clients_in_timeout_table"), 2);

    let b_id = b_id.trim_start_matches(':').trim().to_string();
    assert_eq!(c.call(&["CLIENT", "UNBLOCK", &b_id]), b":1\r\n");
    assert_eq!(b.read_reply(), b"*-1\r\n");
    assert_eq!(w.read_reply(), b":0\r\n", "WAIT times out");
    assert!(wait_num(p, "clients", "blocked_clients", |n| n == 0));
    assert_eq!(num(p, "clients", "clients_in_timeout_table"), 0);
}

#[test]
fn pubsubshard_channels_follow_ssubscribe() {
    let s = Server::start();
    let p = s.port;
    assert_eq!(num(p, "stats", "pubsubshard_channels"), 0);
    let mut a = RespConn::connect(p);
    a.send(&[b"SSUBSCRIBE", b"s1"]);
    a.read_reply();
    let mut b = RespConn::connect(p);
    b.send(&[b"SSUBSCRIBE", b"s1"]);
    b.read_reply();
    b.send(&[b"SSUBSCRIBE", b"s2"]);
    b.read_reply();
    assert_eq!(num(p, "stats", "pubsubshard_channels"), 2);
    b.send(&[b"SUNSUBSCRIBE", b"s2"]);
    b.read_reply();
    assert_eq!(num(p, "stats", "pubsubshard_channels"), 1);
    drop(a);
    drop(b);
    assert!(wait_num(p, "stats", "pubsubshard_channels", |n| n == 0));
}

#[test]
fn script_cache_and_lua_memory_follow_script_load() {
    let s = Server::start();
    let p = s.port;
    let mut c = RespConn::connect(p);
    assert_eq!(num(p, "memory", "number_of_cached_scripts"), 0);
    assert_eq!(num(p, "memory", "used_memory_scripts"), 0);
    let body = "return 1";
    c.call(&["SCRIPT", "LOAD", body]);
    assert_eq!(num(p, "memory", "number_of_cached_scripts"), 1);
    assert_eq!(
        num(p, "memory", "used_memory_scripts"),
        (body.len() + 40) as i64
    );
    let lua_one = num(p, "memory", "used_memory_lua");
    assert!(lua_one > 0, "the VM allocates memory");
    for i in 0..20 {
        let body = format!("return '{}{i}'", "x".repeat(2000));
        c.call(&["SCRIPT", "LOAD", &body]);
    }
    assert_eq!(num(p, "memory", "number_of_cached_scripts"), 21);
    assert!(num(p, "memory", "used_memory_scripts") > 20 * 2000);
    assert!(num(p, "memory", "used_memory_lua") > 0);
    assert_eq!(c.call(&["SCRIPT", "FLUSH"]), b"+OK\r\n");
    assert_eq!(num(p, "memory", "number_of_cached_scripts"), 0);
    assert_eq!(num(p, "memory", "used_memory_scripts"), 0);
    assert_eq!(
        num(p, "memory", "used_memory_lua"),
        0,
        "no VM after a flush"
    );
}

#[test]
fn client_recent_max_buffers_follow_big_requests_and_fade() {
    let s = Server::start();
    let p = s.port;
    let mut c = RespConn::connect(p);
    let big = "v".repeat(300_000);
    assert_eq!(c.call(&["SET", "big", &big]), b"+OK\r\n");
    assert!(num(p, "clients", "client_recent_max_input_buffer") >= 300_000);
    c.call(&["GET", "big"]);
    assert!(num(p, "clients", "client_recent_max_output_buffer") >= 300_000);
    // Like Redis, the peaks cover the last few seconds only.
    let faded = wait_until(Duration::from_secs(20), || {
        num(p, "clients", "client_recent_max_input_buffer") < 300_000
            && num(p, "clients", "client_recent_max_output_buffer") < 300_000
    });
    assert!(faded, "the peaks fade once the big buffers are gone");
}

#[test]
fn replication_bytes_and_backlog_memory_follow_the_stream() {
    let m = Server::start();
    assert_eq!(num(m.port, "memory", "mem_replication_backlog"), 0);
    assert_eq!(num(m.port, "stats", "total_net_repl_output_bytes"), 0);
    let mut mc = RespConn::connect(m.port);
    mc.call(&["SET", "a", "1"]);
    let r = Server::with_config(&format!("replicaof = \"127.0.0.1 {}\"\n", m.port));
    assert!(wait_info(
        r.port,
        "replication",
        "master_link_status",
        "up",
        T
    ));
    assert_eq!(num(r.port, "stats", "total_net_repl_output_bytes"), 0);
    let in0 = num(r.port, "stats", "total_net_repl_input_bytes");
    let out0 = num(m.port, "stats", "total_net_repl_output_bytes");
    assert!(in0 > 0 && out0 > 0, "the full sync went over the link");
    let back0 = num(m.port, "memory", "mem_replication_backlog");
    let val = "x".repeat(10_000);
    mc.call(&["SET", "b", &val]);
    assert!(wait_caught_up(m.port, r.port, T));
    assert!(num(m.port, "stats", "total_net_repl_output_bytes") >= out0 + 10_000);
    assert!(num(r.port, "stats", "total_net_repl_input_bytes") >= in0 + 10_000);
    assert!(num(m.port, "memory", "mem_replication_backlog") >= back0 + 10_000);
    // Client traffic is counted apart, as in Redis 7.0.
    assert!(num(m.port, "stats", "total_net_output_bytes") < 10_000);
}

/// Read one RESP array command from a replica (the fake master's side).
fn read_cmd(r: &mut BufReader<TcpStream>) -> Vec<String> {
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let n: usize = line.trim()[1..].parse().unwrap();
    let mut out = Vec::new();
    for _ in 0..n {
        line.clear();
        r.read_line(&mut line).unwrap();
        let len: usize = line.trim()[1..].parse().unwrap();
        let mut b = vec![0; len + 2];
        r.read_exact(&mut b).unwrap();
        out.push(String::from_utf8_lossy(&b[..len]).into_owned());
    }
    out
}

#[test]
fn async_loading_follows_a_replica_full_sync() {
    // A real RDB payload, produced by a server of our own.
    let src = Server::start();
    let mut c = RespConn::connect(src.port);
    for i in 0..200 {
        c.call(&["SET", &format!("k{i}"), &"v".repeat(100)]);
    }
    assert_eq!(c.call(&["SAVE"]), b"+OK\r\n");
    let rdb = std::fs::read(src.dir.path().join("dump.rdb")).unwrap();

    // A fake master that stops half-way through the payload.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let mport = l.local_addr().unwrap().port();
    let r = Server::with_config(&format!("replicaof = \"127.0.0.1 {mport}\"\n"));
    let (sock, _) = l.accept().unwrap();
    sock.set_read_timeout(Some(T)).unwrap();
    let mut w = sock.try_clone().unwrap();
    let mut rd = BufReader::new(sock);
    loop {
        let cmd = read_cmd(&mut rd);
        match cmd[0].to_ascii_lowercase().as_str() {
            "ping" => w.write_all(b"+PONG\r\n").unwrap(),
            "psync" | "sync" => break,
            _ => w.write_all(b"+OK\r\n").unwrap(),
        }
    }
    assert_eq!(num(r.port, "persistence", "async_loading"), 0);
    let replid = "a".repeat(40);
    let half = rdb.len() / 2;
    w.write_all(format!("+FULLRESYNC {replid} 0\r\n${}\r\n", rdb.len()).as_bytes())
        .unwrap();
    w.write_all(&rdb[..half]).unwrap();
    assert!(wait_info(r.port, "persistence", "async_loading", "1", T));
    assert!(wait_num(
        r.port,
        "persistence",
        "loading_loaded_bytes",
        |n| n == half as i64
    ));
    assert_eq!(
        num(r.port, "persistence", "loading_total_bytes"),
        rdb.len() as i64
    );
    assert!(num(r.port, "persistence", "loading_start_time") > 0);
    w.write_all(&rdb[half..]).unwrap();
    assert!(wait_info(r.port, "persistence", "async_loading", "0", T));
    assert!(info_field(r.port, "persistence", "loading_total_bytes").is_none());
    assert!(wait_info(
        r.port,
        "replication",
        "master_link_status",
        "up",
        T
    ));
    let db0 = info_field(r.port, "keyspace", "db0").unwrap();
    assert!(db0.starts_with("keys=200,"), "{db0}");
}

#[test]
fn avg_ttl_follows_expires() {
    let s = Server::start();
    let p = s.port;
    let mut c = RespConn::connect(p);
    c.call(&["SET", "k", "v"]);
    let db0 = || info_field(p, "keyspace", "db0").unwrap();
    assert!(db0().ends_with("avg_ttl=0"), "{}", db0());
    c.call(&["PEXPIRE", "k", "100000"]);
    let ttl: i64 = db0().rsplit('=').next().unwrap().parse().unwrap();
    assert!((90_000..=100_000).contains(&ttl), "{}", db0());
    c.call(&["PERSIST", "k"]);
    assert!(db0().ends_with("avg_ttl=0"), "{}", db0());
}

#[test]
fn client_list_fd_and_read_counters_are_real() {
    let s = Server::start();
    let p = s.port;
    let mut a = RespConn::connect(p);
    let mut b = RespConn::connect(p);
    let fd = |c: &mut RespConn| -> i64 {
        let info = String::from_utf8(c.call(&["CLIENT", "INFO"])).unwrap();
        info.split(' ')
            .find_map(|f| f.strip_prefix("fd="))
            .unwrap()
            .parse()
            .unwrap()
    };
    let (fa, fb) = (fd(&mut a), fd(&mut b));
    assert!(fa > 2 && fb > 2 && fa != fb, "{fa} {fb}");
    let r0 = num(p, "stats", "total_reads_processed");
    let w0 = num(p, "stats", "total_writes_processed");
    for _ in 0..10 {
        a.call(&["PING"]);
    }
    assert!(num(p, "stats", "total_reads_processed") >= r0 + 10);
    assert!(num(p, "stats", "total_writes_processed") >= w0 + 10);
}
