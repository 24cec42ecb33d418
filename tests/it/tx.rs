//! MULTI / EXEC / DISCARD / WATCH, with exact reply bytes.
use crate::common::*;

#[test]
fn exec_returns_every_result() {
    let s = Server::start();
    let mut r = s.raw();
    r.roundtrip(&resp(&["SET", "str", "x"]), b"+OK\r\n");
    r.roundtrip(&resp(&["MULTI"]), b"+OK\r\n");
    r.roundtrip(&resp(&["SET", "a", "1"]), b"+QUEUED\r\n");
    r.roundtrip(&resp(&["GET", "a"]), b"+QUEUED\r\n");
    r.roundtrip(&resp(&["RPUSH", "l", "x", "y"]), b"+QUEUED\r\n");
    // A runtime error does not abort the rest of the transaction.
    r.roundtrip(&resp(&["LPUSH", "str", "z"]), b"+QUEUED\r\n");
    r.roundtrip(&resp(&["LRANGE", "l", "0", "-1"]), b"+QUEUED\r\n");
    r.roundtrip(
        &resp(&["EXEC"]),
        b"*5\r\n+OK\r\n$1\r\n1\r\n:2\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n*2\r\n$1\r\nx\r\n$1\r\ny\r\n",
    );
    // Empty transaction.
    r.roundtrip(&resp(&["MULTI"]), b"+OK\r\n");
    r.roundtrip(&resp(&["EXEC"]), b"*0\r\n");
    // The redis crate's pipeline-as-transaction works.
    let mut c = s.client();
    let (a, n): (String, i64) = redis::pipe()
        .atomic()
        .cmd("GET")
        .arg("a")
        .cmd("LLEN")
        .arg("l")
        .query(&mut c)
        .unwrap();
    assert_eq!((a.as_str(), n), ("1", 2));
}

#[test]
fn queueing_errors_abort_exec() {
    let s = Server::start();
    let mut r = s.raw();
    // Unknown command while queueing.
    r.roundtrip(&resp(&["MULTI"]), b"+OK\r\n");
    r.roundtrip(
        &resp(&["NOSUCH", "x"]),
        b"-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n",
    );
    r.roundtrip(&resp(&["SET", "a", "1"]), b"+QUEUED\r\n");
    r.roundtrip(
        &resp(&["EXEC"]),
        b"-EXECABORT Transaction discarded because of previous errors.\r\n",
    );
    r.roundtrip(&resp(&["GET", "a"]), b"$-1\r\n");
    // Wrong arity while queueing.
    r.roundtrip(&resp(&["MULTI"]), b"+OK\r\n");
    r.roundtrip(&resp(&["SET", "a", "1"]), b"+QUEUED\r\n");
    r.roundtrip(
        &resp(&["SET", "a"]),
        b"-ERR wrong number of arguments for 'set' command\r\n",
    );
    r.roundtrip(
        &resp(&["EXEC"]),
        b"-EXECABORT Transaction discarded because of previous errors.\r\n",
    );
    r.roundtrip(&resp(&["GET", "a"]), b"$-1\r\n");
    // The aborted state does not leak into the next transaction.
    r.roundtrip(&resp(&["MULTI"]), b"+OK\r\n");
    r.roundtrip(&resp(&["SET", "a", "2"]), b"+QUEUED\r\n");
    r.roundtrip(&resp(&["EXEC"]), b"*1\r\n+OK\r\n");
    r.roundtrip(&resp(&["GET", "a"]), b"$1\r\n2\r\n");
}

#[test]
fn watch_aborts_when_another_client_writes() {
    let s = Server::start();
    let mut r = s.raw();
    let mut other = s.raw();
    r.roundtrip(&resp(&["SET", "w", "1"]), b"+OK\r\n");
    r.roundtrip(&resp(&["WATCH", "w"]), b"+OK\r\n");
    other.roundtrip(&resp(&["SET", "w", "2"]), b"+OK\r\n");
    r.roundtrip(&resp(&["MULTI"]), b"+OK\r\n");
    r.roundtrip(&resp(&["SET", "w", "3"]), b"+QUEUED\r\n");
    r.roundtrip(&resp(&["EXEC"]), b"*-1\r\n");
    r.roundtrip(&resp(&["GET", "w"]), b"$1\r\n2\r\n");

    // EXEC unwatches: the next transaction goes through.
    r.roundtrip(&resp(&["MULTI"]), b"+OK\r\n");
    r.roundtrip(&resp(&["SET", "w", "4"]), b"+QUEUED\r\n");
    r.roundtrip(&resp(&["EXEC"]), b"*1\r\n+OK\r\n");

    // A write by a list command, and a delete, also count; a read does not.
    r.roundtrip(&resp(&["RPUSH", "wl", "a"]), b":1\r\n");
    r.roundtrip(&resp(&["WATCH", "wl", "w"]), b"+OK\r\n");
    other.roundtrip(&resp(&["LRANGE", "wl", "0", "-1"]), b"*1\r\n$1\r\na\r\n");
    other.roundtrip(&resp(&["GET", "w"]), b"$1\r\n4\r\n");
    r.roundtrip(&resp(&["MULTI"]), b"+OK\r\n");
    r.roundtrip(&resp(&["GET", "w"]), b"+QUEUED\r\n");
    r.roundtrip(&resp(&["EXEC"]), b"*1\r\n$1\r\n4\r\n");
    r.roundtrip(&resp(&["WATCH", "wl"]), b"+OK\r\n");
    other.roundtrip(&resp(&["LPOP", "wl"]), b"$1\r\na\r\n");
    r.roundtrip(&resp(&["MULTI"]), b"+OK\r\n");
    r.roundtrip(&resp(&["GET", "w"]), b"+QUEUED\r\n");
    r.roundtrip(&resp(&["EXEC"]), b"*-1\r\n");

    // UNWATCH forgets the keys.
    r.roundtrip(&resp(&["WATCH", "w"]), b"+OK\r\n");
    r.roundtrip(&resp(&["UNWATCH"]), b"+OK\r\n");
    other.roundtrip(&resp(&["SET", "w", "5"]), b"+OK\r\n");
    r.roundtrip(&resp(&["MULTI"]), b"+OK\r\n");
    r.roundtrip(&resp(&["GET", "w"]), b"+QUEUED\r\n");
    r.roundtrip(&resp(&["EXEC"]), b"*1\r\n$1\r\n5\r\n");

    // RESP3: the aborted EXEC is a null.
    r.send(&resp(&["HELLO", "3"]));
    r.read_for(std::time::Duration::from_millis(200));
    r.roundtrip(&resp(&["WATCH", "w"]), b"+OK\r\n");
    other.roundtrip(&resp(&["DEL", "w"]), b":1\r\n");
    r.roundtrip(&resp(&["MULTI"]), b"+OK\r\n");
    r.roundtrip(&resp(&["GET", "w"]), b"+QUEUED\r\n");
    r.roundtrip(&resp(&["EXEC"]), b"_\r\n");
}

#[test]
fn state_errors_discard_and_reset() {
    let s = Server::start();
    let mut r = s.raw();
    r.roundtrip(&resp(&["EXEC"]), b"-ERR EXEC without MULTI\r\n");
    r.roundtrip(&resp(&["DISCARD"]), b"-ERR DISCARD without MULTI\r\n");
    r.roundtrip(&resp(&["MULTI"]), b"+OK\r\n");
    r.roundtrip(&resp(&["MULTI"]), b"-ERR MULTI calls can not be nested\r\n");
    r.roundtrip(
        &resp(&["WATCH", "x"]),
        b"-ERR WATCH inside MULTI is not allowed\r\n",
    );
    // Neither error aborted the transaction.
    r.roundtrip(&resp(&["SET", "d", "1"]), b"+QUEUED\r\n");
    r.roundtrip(&resp(&["EXEC"]), b"*1\r\n+OK\r\n");

    r.roundtrip(&resp(&["MULTI"]), b"+OK\r\n");
    r.roundtrip(&resp(&["SET", "d", "2"]), b"+QUEUED\r\n");
    r.roundtrip(&resp(&["DISCARD"]), b"+OK\r\n");
    r.roundtrip(&resp(&["GET", "d"]), b"$1\r\n1\r\n");
    r.roundtrip(&resp(&["EXEC"]), b"-ERR EXEC without MULTI\r\n");

    // RESET drops the transaction (and the WATCH).
    let mut other = s.raw();
    r.roundtrip(&resp(&["WATCH", "d"]), b"+OK\r\n");
    r.roundtrip(&resp(&["MULTI"]), b"+OK\r\n");
    r.roundtrip(&resp(&["SET", "d", "3"]), b"+QUEUED\r\n");
    r.roundtrip(&resp(&["RESET"]), b"+RESET\r\n");
    r.roundtrip(&resp(&["EXEC"]), b"-ERR EXEC without MULTI\r\n");
    r.roundtrip(&resp(&["GET", "d"]), b"$1\r\n1\r\n");
    other.roundtrip(&resp(&["SET", "d", "4"]), b"+OK\r\n");
    r.roundtrip(&resp(&["MULTI"]), b"+OK\r\n");
    r.roundtrip(&resp(&["GET", "d"]), b"+QUEUED\r\n");
    r.roundtrip(&resp(&["EXEC"]), b"*1\r\n$1\r\n4\r\n");

    // DISCARD also unwatches.
    r.roundtrip(&resp(&["WATCH", "d"]), b"+OK\r\n");
    r.roundtrip(&resp(&["MULTI"]), b"+OK\r\n");
    r.roundtrip(&resp(&["DISCARD"]), b"+OK\r\n");
    other.roundtrip(&resp(&["SET", "d", "5"]), b"+OK\r\n");
    r.roundtrip(&resp(&["MULTI"]), b"+OK\r\n");
    r.roundtrip(&resp(&["GET", "d"]), b"+QUEUED\r\n");
    r.roundtrip(&resp(&["EXEC"]), b"*1\r\n$1\r\n5\r\n");
}

#[test]
fn quit_inside_multi_closes() {
    let s = Server::start();
    let mut r = s.raw();
    r.roundtrip(&resp(&["MULTI"]), b"+OK\r\n");
    r.roundtrip(&resp(&["SET", "q", "1"]), b"+QUEUED\r\n");
    r.roundtrip(&resp(&["QUIT"]), b"+OK\r\n");
    assert!(r.is_closed());
    let mut c = s.client();
    let v: Option<String> = redis::cmd("GET").arg("q").query(&mut c).unwrap();
    assert_eq!(v, None);
}
