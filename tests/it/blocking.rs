//! Blocking list pops against the real binary: serving, timeouts, FIFO
//! order, wake-ups from MULTI/EXEC and from other served clients, type
//! changes, CLIENT UNBLOCK, killed and disconnected waiters.

use crate::common::*;
use std::time::{Duration, Instant};

/// Read exactly the expected reply.
fn expect(r: &mut Raw, want: &[u8]) {
    let got = r.read_n(want.len());
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want));
}

fn name_raw(r: &mut Raw, name: &str) {
    r.roundtrip(&resp(&["CLIENT", "SETNAME", name]), b"+OK\r\n");
}

fn blocked(s: &Server, r: &mut Raw, cmd: &[&str], name: &str) {
    name_raw(r, name);
    let mut c = s.client();
    r.send(&resp(cmd));
    let want = format!("cmd={}", cmd[0].to_lowercase());
    assert!(
        wait_until(Duration::from_secs(5), || {
            let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut c).unwrap();
            list.lines()
                .any(|l| l.contains(&format!("name={name} ")) && l.contains(&want))
        }),
        "{name} did not block"
    );
    // CLIENT LIST shows the command once it ran, and a blocking command
    // queues its waiter while it runs: it is in line now.
}

/// Wait until client `name` has no connection left on the server.
fn gone(s: &Server, name: &str) {
    let mut c = s.client();
    assert!(
        wait_until(Duration::from_secs(5), || {
            let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut c).unwrap();
            !list.lines().any(|l| l.contains(&format!("name={name} ")))
        }),
        "the server did not notice that {name} disconnected"
    );
}

#[test]
fn served_by_a_later_push() {
    let s = Server::start();
    let mut w = s.raw();
    blocked(&s, &mut w, &["BLPOP", "q", "0"], "w");
    let mut c = s.client();
    let n: i64 = redis::cmd("RPUSH")
        .arg("q")
        .arg("job1")
        .query(&mut c)
        .unwrap();
    assert_eq!(n, 1);
    expect(&mut w, b"*2\r\n$1\r\nq\r\n$4\r\njob1\r\n");
    let len: i64 = redis::cmd("LLEN").arg("q").query(&mut c).unwrap();
    assert_eq!(
        len, 0,
        "the served element is gone and the empty key deleted"
    );
}

#[test]
fn timeouts_fractional_and_errors() {
    let s = Server::start();
    let mut r = s.raw();
    let t = Instant::now();
    r.roundtrip(&resp(&["BLPOP", "none", "0.2"]), b"*-1\r\n");
    let el = t.elapsed();
    assert!(
        el >= Duration::from_millis(180) && el < Duration::from_secs(2),
        "{el:?}"
    );
    r.roundtrip(
        &resp(&["BLMOVE", "none", "d", "LEFT", "RIGHT", "0.1"]),
        b"$-1\r\n",
    );
    r.roundtrip(
        &resp(&["BLPOP", "k", "-1"]),
        b"-ERR timeout is negative\r\n",
    );
    r.roundtrip(
        &resp(&["BLPOP", "k", "abc"]),
        b"-ERR timeout is not a float or out of range\r\n",
    );
    r.roundtrip(
        &resp(&["BLMPOP", "0.1", "0", "k", "LEFT"]),
        b"-ERR numkeys should be greater than 0\r\n",
    );
    r.roundtrip(
        &resp(&["BLMPOP", "0.1", "1", "k", "LEFT", "COUNT", "0"]),
        b"-ERR count should be greater than 0\r\n",
    );
    r.roundtrip(b"HELLO 3\r\n", b"%7\r\n");
    let _ = r.read_for(Duration::from_millis(100));
    r.roundtrip(&resp(&["BRPOP", "none", "0.05"]), b"_\r\n");
}

#[test]
fn fifo_among_waiters_and_pipelines_wait() {
    let s = Server::start();
    let mut w1 = s.raw();
    let mut w2 = s.raw();
    let mut w3 = s.raw();
    blocked(&s, &mut w1, &["BRPOP", "q", "5"], "w1");
    blocked(&s, &mut w2, &["BRPOP", "q", "5"], "w2");
    // w3 pipelines a PING behind its blocking pop: it must wait its turn.
    name_raw(&mut w3, "w3");
    w3.send(&[resp(&["BRPOP", "q", "5"]), resp(&["PING"])].concat());
    let mut c = s.client();
    assert!(
        wait_until(Duration::from_secs(5), || {
            let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut c).unwrap();
            list.lines()
                .any(|l| l.contains("name=w3 ") && l.contains("cmd=brpop"))
        }),
        "w3 did not block"
    );
    let _: i64 = redis::cmd("LPUSH")
        .arg("q")
        .arg("a")
        .arg("b")
        .arg("c")
        .query(&mut c)
        .unwrap();
    // RPOP order: a, b, c go to w1, w2, w3 in the order they blocked.
    expect(&mut w1, b"*2\r\n$1\r\nq\r\n$1\r\na\r\n");
    expect(&mut w2, b"*2\r\n$1\r\nq\r\n$1\r\nb\r\n");
    expect(&mut w3, b"*2\r\n$1\r\nq\r\n$1\r\nc\r\n+PONG\r\n");
}

#[test]
fn woken_by_exec_and_by_another_served_client() {
    let s = Server::start();
    let mut mover = s.raw();
    let mut taker = s.raw();
    blocked(
        &s,
        &mut mover,
        &["BLMOVE", "src", "dst", "RIGHT", "LEFT", "0"],
        "mover",
    );
    blocked(&s, &mut taker, &["BLPOP", "dst", "0"], "taker");
    let mut c = s.client();
    let (): () = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg("x")
        .arg("1")
        .ignore()
        .cmd("RPUSH")
        .arg("src")
        .arg("v")
        .ignore()
        .query(&mut c)
        .unwrap();
    expect(&mut mover, b"$1\r\nv\r\n");
    expect(&mut taker, b"*2\r\n$3\r\ndst\r\n$1\r\nv\r\n");
    let exists: i64 = redis::cmd("EXISTS")
        .arg("src")
        .arg("dst")
        .query(&mut c)
        .unwrap();
    assert_eq!(exists, 0);
}

#[test]
fn blmpop_count_and_brpoplpush() {
    let s = Server::start();
    let mut w = s.raw();
    blocked(
        &s,
        &mut w,
        &["BLMPOP", "0", "2", "a", "b", "LEFT", "COUNT", "2"],
        "w",
    );
    let mut c = s.client();
    let _: i64 = redis::cmd("RPUSH")
        .arg("b")
        .arg("1")
        .arg("2")
        .arg("3")
        .query(&mut c)
        .unwrap();
    expect(&mut w, b"*2\r\n$1\r\nb\r\n*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    w.roundtrip(&resp(&["BRPOPLPUSH", "b", "c", "0"]), b"$1\r\n3\r\n");
    let v: Vec<String> = redis::cmd("LRANGE")
        .arg("c")
        .arg("0")
        .arg("-1")
        .query(&mut c)
        .unwrap();
    assert_eq!(v, vec!["3"]);
}

#[test]
fn type_change_unblock_and_kill() {
    let s = Server::start();
    let mut c = s.client();
    // A key replaced by another type answers the waiter with WRONGTYPE.
    let mut w = s.raw();
    blocked(&s, &mut w, &["BLPOP", "k", "0"], "w");
    let _: () = redis::cmd("SET").arg("k").arg("str").query(&mut c).unwrap();
    w.roundtrip(
        b"",
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );

    // CLIENT UNBLOCK: TIMEOUT gives the null reply, ERROR the -UNBLOCKED error.
    let id = client_id(&mut w);
    blocked(&s, &mut w, &["BLPOP", "q", "0"], "w");
    let n: i64 = redis::cmd("CLIENT")
        .arg("UNBLOCK")
        .arg(id)
        .query(&mut c)
        .unwrap();
    assert_eq!(n, 1);
    expect(&mut w, b"*-1\r\n");
    blocked(&s, &mut w, &["BLPOP", "q", "0"], "w");
    let n: i64 = redis::cmd("CLIENT")
        .arg("UNBLOCK")
        .arg(id)
        .arg("ERROR")
        .query(&mut c)
        .unwrap();
    assert_eq!(n, 1);
    expect(
        &mut w,
        b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n",
    );
    let n: i64 = redis::cmd("CLIENT")
        .arg("UNBLOCK")
        .arg(id)
        .query(&mut c)
        .unwrap();
    assert_eq!(n, 0, "not blocked any more");

    // A killed waiter and a disconnected one leave the queue; the next waiter is served.
    let mut dead = s.raw();
    let dead_id = client_id(&mut dead);
    blocked(&s, &mut dead, &["BLPOP", "q", "0"], "dead");
    let mut gone = s.raw();
    blocked(&s, &mut gone, &["BLPOP", "q", "0"], "gone");
    let mut live = s.raw();
    blocked(&s, &mut live, &["BLPOP", "q", "0"], "live");
    let n: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("ID")
        .arg(dead_id)
        .query(&mut c)
        .unwrap();
    assert_eq!(n, 1);
    assert!(dead.is_closed());
    drop(gone);
    self::gone(&s, "gone");
    let _: i64 = redis::cmd("RPUSH").arg("q").arg("x").query(&mut c).unwrap();
    expect(&mut live, b"*2\r\n$1\r\nq\r\n$1\r\nx\r\n");
}

fn client_id(r: &mut Raw) -> i64 {
    r.send(&resp(&["CLIENT", "ID"]));
    let b = r.read_for(Duration::from_millis(200));
    String::from_utf8_lossy(&b)
        .trim()
        .trim_start_matches(':')
        .parse()
        .unwrap()
}

#[test]
fn disconnected_waiter_loses_nothing() {
    let s = Server::start();
    let mut w = s.raw();
    blocked(&s, &mut w, &["BLPOP", "q", "0"], "w");
    drop(w);
    gone(&s, "w");
    let mut c = s.client();
    let _: i64 = redis::cmd("RPUSH")
        .arg("q")
        .arg("kept")
        .query(&mut c)
        .unwrap();
    let v: Vec<String> = redis::cmd("LRANGE")
        .arg("q")
        .arg("0")
        .arg("-1")
        .query(&mut c)
        .unwrap();
    assert_eq!(v, vec!["kept"]);
}

#[test]
fn inside_multi_a_blocking_pop_does_not_wait() {
    let s = Server::start();
    let mut r = s.raw();
    r.roundtrip(
        &[
            resp(&["MULTI"]),
            resp(&["BLPOP", "none", "0"]),
            resp(&["EXEC"]),
        ]
        .concat(),
        b"+OK\r\n+QUEUED\r\n*1\r\n*-1\r\n",
    );
}

#[test]
fn sorted_set_blocking_pops() {
    let s = Server::start();
    let mut c = s.client();
    let mut w = s.raw();
    blocked(&s, &mut w, &["BZPOPMIN", "z1", "z2", "0"], "w");
    let _: i64 = redis::cmd("ZADD")
        .arg("z2")
        .arg("2")
        .arg("b")
        .arg("1")
        .arg("a")
        .query(&mut c)
        .unwrap();
    expect(&mut w, b"*3\r\n$2\r\nz2\r\n$1\r\na\r\n$1\r\n1\r\n");
    w.roundtrip(
        &resp(&["BZPOPMAX", "z2", "0"]),
        b"*3\r\n$2\r\nz2\r\n$1\r\nb\r\n$1\r\n2\r\n",
    );
    w.roundtrip(&resp(&["BZPOPMAX", "z2", "0.05"]), b"*-1\r\n");
    blocked(
        &s,
        &mut w,
        &["BZMPOP", "0", "1", "z3", "MAX", "COUNT", "2"],
        "w",
    );
    let _: i64 = redis::cmd("ZADD")
        .arg("z3")
        .arg("1")
        .arg("x")
        .arg("2")
        .arg("y")
        .arg("3")
        .arg("z")
        .query(&mut c)
        .unwrap();
    expect(
        &mut w,
        b"*2\r\n$2\r\nz3\r\n*2\r\n*2\r\n$1\r\nz\r\n$1\r\n3\r\n*2\r\n$1\r\ny\r\n$1\r\n2\r\n",
    );
    let left: Vec<String> = redis::cmd("ZRANGE")
        .arg("z3")
        .arg("0")
        .arg("-1")
        .query(&mut c)
        .unwrap();
    assert_eq!(left, vec!["x"]);
    // RESP3: the score is a double.
    w.roundtrip(b"HELLO 3\r\n", b"%7\r\n");
    let _ = w.read_for(Duration::from_millis(100));
    w.roundtrip(
        &resp(&["BZPOPMIN", "z3", "0"]),
        b"*3\r\n$2\r\nz3\r\n$1\r\nx\r\n,1\r\n",
    );
    w.roundtrip(&resp(&["SET", "str", "v"]), b"+OK\r\n");
    w.roundtrip(
        &resp(&["BZPOPMIN", "str", "0"]),
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
}
