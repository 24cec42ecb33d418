//! CLIENT subcommands and MONITOR.
use crate::common::*;
use std::time::{Duration, Instant};

fn q<T: redis::FromRedisValue>(c: &mut redis::Connection, args: &[&str]) -> redis::RedisResult<T> {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c)
}

fn err_text(r: redis::RedisResult<redis::Value>) -> String {
    let e = r.expect_err("expected an error");
    format!("{} {}", e.code().unwrap_or(""), e.detail().unwrap_or(""))
        .trim()
        .to_string()
}

/// `field=value` out of a CLIENT LIST/INFO line.
fn field<'a>(line: &'a str, name: &str) -> &'a str {
    line.split(' ')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} in {line:?}"))
}

#[test]
fn list_and_info() {
    let s = Server::start();
    let mut a = s.client();
    let mut b = s.client();
    let _: () = q(&mut a, &["CLIENT", "SETNAME", "alpha"]).unwrap();
    let a_id: i64 = q(&mut a, &["CLIENT", "ID"]).unwrap();
    let b_id: i64 = q(&mut b, &["CLIENT", "ID"]).unwrap();

    let info: String = q(&mut a, &["CLIENT", "INFO"]).unwrap();
    assert!(
        info.ends_with('\n') && info.lines().count() == 1,
        "{info:?}"
    );
    assert!(
        info.starts_with(&format!("id={a_id} addr=127.0.0.1:")),
        "{info}"
    );
    assert_eq!(field(&info, "name"), "alpha");
    assert_eq!(field(&info, "cmd"), "client|info");
    assert_eq!(field(&info, "flags"), "N");
    assert_eq!(field(&info, "db"), "0");
    assert_eq!(field(&info, "multi"), "-1");
    assert_eq!(field(&info, "resp"), "2");
    assert_eq!(field(&info, "user"), "default");

    let list: String = q(&mut b, &["CLIENT", "LIST"]).unwrap();
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list}");
    // Ordered by id; our own line shows the command in progress.
    assert_eq!(field(lines[0], "id"), a_id.to_string());
    assert_eq!(field(lines[0], "name"), "alpha");
    assert_eq!(field(lines[1], "id"), b_id.to_string());
    assert_eq!(field(lines[1], "cmd"), "client|list");

    let only: String = q(&mut b, &["CLIENT", "LIST", "ID", &a_id.to_string(), "999"]).unwrap();
    assert_eq!(only.lines().count(), 1);
    assert_eq!(field(&only, "id"), a_id.to_string());
    let normal: String = q(&mut b, &["CLIENT", "LIST", "TYPE", "normal"]).unwrap();
    assert_eq!(normal.lines().count(), 2);
    for t in ["pubsub", "master", "replica", "slave"] {
        let l: String = q(&mut b, &["CLIENT", "LIST", "TYPE", t]).unwrap();
        assert_eq!(l, "", "type {t}");
    }

    // A subscriber is listed as type pubsub with flags P and sub=1.
    let mut sub = s.raw();
    sub.send(&resp(&["SUBSCRIBE", "x"]));
    sub.read_n("*3\r\n$9\r\nsubscribe\r\n$1\r\nx\r\n:1\r\n".len());
    let ps: String = q(&mut b, &["CLIENT", "LIST", "TYPE", "PUBSUB"]).unwrap();
    assert_eq!(ps.lines().count(), 1, "{ps}");
    assert_eq!(field(&ps, "flags"), "P");
    assert_eq!(field(&ps, "sub"), "1");

    assert_eq!(
        err_text(q(&mut b, &["CLIENT", "LIST", "TYPE", "foo"])),
        "ERR Unknown client type 'foo'"
    );
    assert_eq!(
        err_text(q(&mut b, &["CLIENT", "LIST", "ID", "1", "abc"])),
        "ERR Invalid client ID"
    );
    assert_eq!(
        err_text(q(&mut b, &["CLIENT", "LIST", "ID"])),
        "ERR syntax error"
    );
    assert_eq!(
        err_text(q(&mut b, &["CLIENT", "LIST", "foo"])),
        "ERR syntax error"
    );
    assert_eq!(
        err_text(q(&mut b, &["CLIENT", "SETNAME", "a b"])),
        "ERR Client names cannot contain spaces, newlines or special characters."
    );
    let name: Option<String> = q(&mut b, &["CLIENT", "GETNAME"]).unwrap();
    assert_eq!(name, None);

    // RESP3 gets a verbatim string.
    let mut r = s.raw();
    r.send(&resp(&["HELLO", "3"]));
    r.read_for(Duration::from_millis(200));
    r.send(&resp(&["CLIENT", "INFO"]));
    let got = String::from_utf8_lossy(&r.read_for(Duration::from_millis(200))).into_owned();
    assert!(
        got.starts_with('=') && got.contains("\r\ntxt:id="),
        "{got:?}"
    );
    assert!(got.contains(" resp=3 "), "{got:?}");
}

#[test]
fn kill_old_and_new_forms() {
    let s = Server::start();
    let mut admin = s.client();
    let mut victim = s.raw();
    victim.roundtrip(&resp(&["CLIENT", "SETNAME", "victim"]), b"+OK\r\n");
    let list: String = q(&mut admin, &["CLIENT", "LIST"]).unwrap();
    let line = list.lines().find(|l| l.contains("name=victim")).unwrap();
    let addr = field(line, "addr").to_string();

    assert_eq!(
        err_text(q(&mut admin, &["CLIENT", "KILL", "1.2.3.4:5"])),
        "ERR No such client"
    );
    let ok: String = q(&mut admin, &["CLIENT", "KILL", &addr]).unwrap();
    assert_eq!(ok, "OK");
    assert!(victim.is_closed());

    // New form: filters, a count, and the caller skipped by default.
    let mut v2 = s.raw();
    let id2 = {
        v2.send(&resp(&["CLIENT", "ID"]));
        let b = v2.read_for(Duration::from_millis(200));
        String::from_utf8_lossy(&b)
            .trim()
            .trim_start_matches(':')
            .to_string()
    };
    let n: i64 = q(&mut admin, &["CLIENT", "KILL", "ID", &id2]).unwrap();
    assert_eq!(n, 1);
    assert!(v2.is_closed());
    let n: i64 = q(&mut admin, &["CLIENT", "KILL", "ID", "99999"]).unwrap();
    assert_eq!(n, 0);

    let mut sub = s.raw();
    sub.send(&resp(&["SUBSCRIBE", "x"]));
    sub.read_n("*3\r\n$9\r\nsubscribe\r\n$1\r\nx\r\n:1\r\n".len());
    let mut plain = s.raw();
    plain.roundtrip(&resp(&["PING"]), b"+PONG\r\n");
    let mut mon = s.raw();
    mon.roundtrip(&resp(&["MONITOR"]), b"+OK\r\n");
    let n: i64 = q(&mut admin, &["CLIENT", "KILL", "TYPE", "pubsub"]).unwrap();
    assert_eq!(n, 1);
    assert!(sub.is_closed());
    // TYPE normal takes plain clients and MONITOR sessions, never the caller.
    let n: i64 = q(&mut admin, &["CLIENT", "KILL", "TYPE", "normal"]).unwrap();
    assert_eq!(n, 2);
    assert!(plain.is_closed());
    assert!(mon.is_closed());
    let pong: String = q(&mut admin, &["PING"]).unwrap();
    assert_eq!(pong, "PONG");

    // The Sentinel failover transaction: kills `admin` (normal), the caller survives.
    let mut r = s.raw();
    r.send(&resp(&["MULTI"]));
    r.send(&resp(&["CLIENT", "KILL", "TYPE", "normal"]));
    r.send(&resp(&["CLIENT", "KILL", "TYPE", "pubsub"]));
    r.send(&resp(&["EXEC"]));
    let want = b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:1\r\n:0\r\n";
    assert_eq!(
        String::from_utf8_lossy(&r.read_n(want.len())),
        String::from_utf8_lossy(want)
    );
    r.roundtrip(&resp(&["PING"]), b"+PONG\r\n");
    let mut admin = s.client();

    for (args, want) in [
        (
            vec!["CLIENT", "KILL", "ID", "abc"],
            "ERR client-id should be greater than 0",
        ),
        (
            vec!["CLIENT", "KILL", "TYPE", "foo"],
            "ERR Unknown client type 'foo'",
        ),
        (
            vec!["CLIENT", "KILL", "SKIPME", "maybe"],
            "ERR syntax error",
        ),
        (vec!["CLIENT", "KILL", "MAXAGE", "1"], "ERR syntax error"),
        (
            vec!["CLIENT", "KILL", "ID", "1", "TYPE"],
            "ERR syntax error",
        ),
        (
            vec!["CLIENT", "KILL", "USER", "nobody"],
            "ERR No such user 'nobody'",
        ),
    ] {
        assert_eq!(err_text(q(&mut admin, &args)), want, "{args:?}");
    }
    let n: i64 = q(&mut admin, &["CLIENT", "KILL", "ADDR", "1.2.3.4:5"]).unwrap();
    assert_eq!(n, 0);

    // Killing ourselves: the reply is written, then the connection closes.
    let mut me = s.raw();
    me.send(&resp(&["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no"]));
    let got = me.read_for(Duration::from_millis(300));
    assert!(got.starts_with(b":"), "{:?}", String::from_utf8_lossy(&got));
    assert!(me.is_closed());
}

#[test]
fn pause_and_unpause() {
    let s = Server::start();
    let mut admin = s.client();
    let mut other = s.client();
    let _: () = q(&mut other, &["SET", "k", "v"]).unwrap();

    // WRITE pause: reads go through at once, writes wait for the pause to end.
    let _: () = q(&mut admin, &["CLIENT", "PAUSE", "400", "WRITE"]).unwrap();
    let t = Instant::now();
    let v: String = q(&mut other, &["GET", "k"]).unwrap();
    assert_eq!(v, "v");
    assert!(t.elapsed() < Duration::from_millis(300));
    let t = Instant::now();
    let _: () = q(&mut other, &["SET", "k", "w"]).unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(250),
        "{:?}",
        t.elapsed()
    );

    // ALL pause: reads wait too (even CLIENT UNPAUSE would, as in Redis).
    let _: () = q(&mut admin, &["CLIENT", "PAUSE", "300", "ALL"]).unwrap();
    let t = Instant::now();
    let v: String = q(&mut other, &["GET", "k"]).unwrap();
    assert_eq!(v, "w");
    assert!(
        t.elapsed() >= Duration::from_millis(200),
        "{:?}",
        t.elapsed()
    );

    // A long WRITE pause lifted early by CLIENT UNPAUSE releases the held write.
    let _: () = q(&mut admin, &["CLIENT", "PAUSE", "10000", "WRITE"]).unwrap();
    let t = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    let port = s.port;
    std::thread::spawn(move || {
        let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
            .unwrap()
            .get_connection()
            .unwrap();
        let r: String = redis::cmd("SET").arg("k").arg("x").query(&mut c).unwrap();
        tx.send(r).unwrap();
    });
    assert!(
        rx.recv_timeout(Duration::from_millis(300)).is_err(),
        "SET should be paused"
    );
    let _: () = q(&mut admin, &["CLIENT", "UNPAUSE"]).unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(3)).unwrap(), "OK");
    assert!(t.elapsed() < Duration::from_secs(3));
    let v: String = q(&mut other, &["GET", "k"]).unwrap();
    assert_eq!(v, "x");

    assert_eq!(
        err_text(q(&mut admin, &["CLIENT", "PAUSE", "abc"])),
        "ERR timeout is not an integer or out of range"
    );
    assert_eq!(
        err_text(q(&mut admin, &["CLIENT", "PAUSE", "-1"])),
        "ERR timeout is negative"
    );
    assert_eq!(
        err_text(q(&mut admin, &["CLIENT", "PAUSE", "10", "foo"])),
        "ERR CLIENT PAUSE mode must be WRITE or ALL"
    );
    assert_eq!(
        err_text(q(&mut admin, &["CLIENT", "PAUSE"])),
        "ERR wrong number of arguments for 'client|pause' command"
    );
}

#[test]
fn reply_modes() {
    let s = Server::start();
    let mut r = s.raw();
    // OFF: nothing at all until ON.
    r.send(&resp(&["CLIENT", "REPLY", "OFF"]));
    r.send(&resp(&["SET", "a", "1"]));
    r.send(&resp(&["GET", "a"]));
    r.roundtrip(&resp(&["CLIENT", "REPLY", "ON"]), b"+OK\r\n");
    // SKIP: no reply for SKIP itself nor the next command.
    r.send(&resp(&["CLIENT", "REPLY", "SKIP"]));
    r.send(&resp(&["GET", "a"]));
    r.roundtrip(&resp(&["PING"]), b"+PONG\r\n");
    // SKIP then ON: ON clears the skip and answers.
    r.send(&resp(&["CLIENT", "REPLY", "SKIP"]));
    r.roundtrip(&resp(&["CLIENT", "REPLY", "ON"]), b"+OK\r\n");
    r.roundtrip(&resp(&["GET", "a"]), b"$1\r\n1\r\n");
    r.roundtrip(&resp(&["CLIENT", "REPLY", "FOO"]), b"-ERR syntax error\r\n");
}

#[test]
fn misc_subcommands() {
    let s = Server::start();
    let mut c = s.client();
    let _: () = q(&mut c, &["CLIENT", "NO-EVICT", "on"]).unwrap();
    let info: String = q(&mut c, &["CLIENT", "INFO"]).unwrap();
    assert!(field(&info, "flags").contains('e'), "{info}");
    let _: () = q(&mut c, &["CLIENT", "NO-EVICT", "off"]).unwrap();
    assert_eq!(
        err_text(q(&mut c, &["CLIENT", "NO-EVICT", "maybe"])),
        "ERR syntax error"
    );
    let _: () = q(&mut c, &["CLIENT", "SETINFO", "LIB-NAME", "redis-py"]).unwrap();
    let _: () = q(&mut c, &["CLIENT", "SETINFO", "lib-ver", "5.0.1"]).unwrap();
    assert_eq!(
        err_text(q(&mut c, &["CLIENT", "SETINFO", "foo", "x"])),
        "ERR Unrecognized option 'foo'"
    );
    let redir: i64 = q(&mut c, &["CLIENT", "GETREDIR"]).unwrap();
    assert_eq!(redir, -1);
    let _: () = q(&mut c, &["CLIENT", "TRACKING", "off"]).unwrap();
    let _: () = q(&mut c, &["CLIENT", "TRACKING", "on"]).unwrap();
    let redir: i64 = q(&mut c, &["CLIENT", "GETREDIR"]).unwrap();
    assert_eq!(redir, 0);
    let _: () = q(&mut c, &["CLIENT", "TRACKING", "off"]).unwrap();
    let n: i64 = q(&mut c, &["CLIENT", "UNBLOCK", "5"]).unwrap();
    assert_eq!(n, 0);
    assert_eq!(
        err_text(q(&mut c, &["CLIENT", "UNBLOCK", "abc"])),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        err_text(q(&mut c, &["CLIENT", "UNBLOCK", "5", "foo"])),
        "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"
    );
    assert_eq!(
        err_text(q(&mut c, &["CLIENT", "FOO"])),
        "ERR unknown subcommand 'FOO'. Try CLIENT HELP."
    );
    let help: Vec<String> = q(&mut c, &["CLIENT", "HELP"]).unwrap();
    assert!(help[0].starts_with("CLIENT <subcommand>"));
    assert_eq!(help.last().unwrap(), "    Prints this help.");
}

#[test]
fn monitor_sees_other_clients() {
    let s = Server::start();
    let mut mon = s.raw();
    mon.roundtrip(&resp(&["MONITOR"]), b"+OK\r\n");
    let mut w = s.raw();
    w.roundtrip(&resp(&["SET", "k", "hello world"]), b"+OK\r\n");
    w.roundtrip(&resp(&["SELECT", "2"]), b"+OK\r\n");
    w.roundtrip(&resp(&["GET", "k"]), b"$-1\r\n");
    let mut got = String::new();
    assert!(
        wait_until(Duration::from_secs(3), || {
            got.push_str(&String::from_utf8_lossy(
                &mon.read_for(Duration::from_millis(100)),
            ));
            got.matches("\r\n").count() >= 3
        }),
        "{got:?}"
    );
    let lines: Vec<&str> = got.lines().collect();
    // "+<secs>.<micros> [<db> <addr>] <args...>"
    assert!(lines[0].starts_with('+'), "{got:?}");
    assert!(
        lines[0].ends_with(r#"] "SET" "k" "hello world""#),
        "{got:?}"
    );
    assert!(lines[0].contains(" [0 127.0.0.1:"), "{got:?}");
    assert!(
        lines[2].contains(" [2 127.0.0.1:") && lines[2].ends_with(r#""GET" "k""#),
        "{got:?}"
    );
    let ts = lines[0][1..].split(' ').next().unwrap();
    let (secs, micros) = ts.split_once('.').unwrap();
    assert!(secs.parse::<u64>().is_ok() && micros.len() == 6, "{ts}");

    // The monitor shows as flags=O and type normal; a second MONITOR gets no reply.
    let mut c = s.client();
    let list: String = q(&mut c, &["CLIENT", "LIST", "TYPE", "normal"]).unwrap();
    assert!(list.lines().any(|l| field(l, "flags") == "O"), "{list}");
    mon.send(&resp(&["MONITOR"]));
    mon.roundtrip(&resp(&["CLIENT", "ID"]), b"");
    // RESET stops monitoring.
    mon.read_for(Duration::from_millis(200));
    mon.roundtrip(&resp(&["RESET"]), b"+RESET\r\n");
    let _: () = q(&mut c, &["SET", "k2", "v"]).unwrap();
    assert!(mon.read_for(Duration::from_millis(200)).is_empty());
    // MONITOR inside a transaction is refused.
    mon.roundtrip(&resp(&["MULTI"]), b"+OK\r\n");
    mon.roundtrip(&resp(&["MONITOR"]), b"+QUEUED\r\n");
    mon.roundtrip(
        &resp(&["EXEC"]),
        b"*1\r\n-ERR MONITOR isn't allowed for DENY BLOCKING client\r\n",
    );
}
