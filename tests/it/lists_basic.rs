//! The basic list commands: pushes, pops, LLEN, LRANGE, LINDEX, WRONGTYPE.
use crate::common::*;

const WRONGTYPE: &[u8] = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

#[test]
fn push_range_index_len() {
    let s = Server::start();
    let mut r = s.raw();
    r.roundtrip(&resp(&["RPUSH", "l", "b", "c"]), b":2\r\n");
    r.roundtrip(&resp(&["LPUSH", "l", "a", "z"]), b":4\r\n");
    r.roundtrip(&resp(&["RPUSHX", "l", "d"]), b":5\r\n");
    r.roundtrip(&resp(&["LPUSHX", "l", "y"]), b":6\r\n");
    // The X forms never create a key.
    r.roundtrip(&resp(&["LPUSHX", "none", "a"]), b":0\r\n");
    r.roundtrip(&resp(&["RPUSHX", "none", "a", "b"]), b":0\r\n");
    r.roundtrip(&resp(&["EXISTS", "none"]), b":0\r\n");

    r.roundtrip(&resp(&["LLEN", "l"]), b":6\r\n");
    r.roundtrip(&resp(&["LLEN", "none"]), b":0\r\n");
    r.roundtrip(
        &resp(&["LRANGE", "l", "0", "-1"]),
        b"*6\r\n$1\r\ny\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n",
    );
    r.roundtrip(
        &resp(&["LRANGE", "l", "1", "2"]),
        b"*2\r\n$1\r\nz\r\n$1\r\na\r\n",
    );
    r.roundtrip(
        &resp(&["LRANGE", "l", "-2", "100"]),
        b"*2\r\n$1\r\nc\r\n$1\r\nd\r\n",
    );
    r.roundtrip(&resp(&["LRANGE", "l", "-100", "0"]), b"*1\r\n$1\r\ny\r\n");
    r.roundtrip(&resp(&["LRANGE", "l", "3", "2"]), b"*0\r\n");
    r.roundtrip(&resp(&["LRANGE", "l", "6", "10"]), b"*0\r\n");
    r.roundtrip(&resp(&["LRANGE", "none", "0", "-1"]), b"*0\r\n");
    r.roundtrip(
        &resp(&["LRANGE", "l", "a", "1"]),
        b"-ERR value is not an integer or out of range\r\n",
    );

    r.roundtrip(&resp(&["LINDEX", "l", "0"]), b"$1\r\ny\r\n");
    r.roundtrip(&resp(&["LINDEX", "l", "-1"]), b"$1\r\nd\r\n");
    r.roundtrip(&resp(&["LINDEX", "l", "6"]), b"$-1\r\n");
    r.roundtrip(&resp(&["LINDEX", "l", "-7"]), b"$-1\r\n");
    r.roundtrip(&resp(&["LINDEX", "none", "0"]), b"$-1\r\n");
    r.roundtrip(
        &resp(&["LINDEX", "l", "x"]),
        b"-ERR value is not an integer or out of range\r\n",
    );
    r.roundtrip(
        &resp(&["RPUSH", "l"]),
        b"-ERR wrong number of arguments for 'rpush' command\r\n",
    );
}

#[test]
fn pops_and_deletion() {
    let s = Server::start();
    let mut r = s.raw();
    r.roundtrip(&resp(&["RPUSH", "q", "1", "2", "3", "4", "5"]), b":5\r\n");
    r.roundtrip(&resp(&["LPOP", "q"]), b"$1\r\n1\r\n");
    r.roundtrip(&resp(&["RPOP", "q"]), b"$1\r\n5\r\n");
    r.roundtrip(&resp(&["LPOP", "q", "2"]), b"*2\r\n$1\r\n2\r\n$1\r\n3\r\n");
    r.roundtrip(&resp(&["LPOP", "q", "0"]), b"*0\r\n");
    // Asking for more than there is returns what there is; the key goes away.
    r.roundtrip(&resp(&["RPOP", "q", "10"]), b"*1\r\n$1\r\n4\r\n");
    r.roundtrip(&resp(&["EXISTS", "q"]), b":0\r\n");
    r.roundtrip(&resp(&["RPUSH", "q", "x"]), b":1\r\n");
    r.roundtrip(&resp(&["RPOP", "q"]), b"$1\r\nx\r\n");
    r.roundtrip(&resp(&["EXISTS", "q"]), b":0\r\n");
    // Missing keys: nil without count, null array with one.
    r.roundtrip(&resp(&["LPOP", "q"]), b"$-1\r\n");
    r.roundtrip(&resp(&["RPOP", "q", "2"]), b"*-1\r\n");
    r.roundtrip(&resp(&["LPOP", "q", "0"]), b"*-1\r\n");
    for bad in ["-1", "abc"] {
        r.roundtrip(
            &resp(&["LPOP", "q", bad]),
            b"-ERR value is out of range, must be positive\r\n",
        );
    }
    r.roundtrip(
        &resp(&["LPOP", "q", "1", "2"]),
        b"-ERR wrong number of arguments for 'lpop' command\r\n",
    );
    // RESP3 nulls.
    r.send(&resp(&["HELLO", "3"]));
    r.read_for(std::time::Duration::from_millis(200));
    r.roundtrip(&resp(&["LPOP", "q"]), b"_\r\n");
    r.roundtrip(&resp(&["LPOP", "q", "1"]), b"_\r\n");
    r.roundtrip(&resp(&["LINDEX", "q", "0"]), b"_\r\n");
}

#[test]
fn wrongtype_both_ways() {
    let s = Server::start();
    let mut r = s.raw();
    r.roundtrip(&resp(&["SET", "s", "v"]), b"+OK\r\n");
    for args in [
        vec!["LPUSH", "s", "a"],
        vec!["RPUSH", "s", "a"],
        vec!["LPUSHX", "s", "a"],
        vec!["RPUSHX", "s", "a"],
        vec!["LPOP", "s"],
        vec!["RPOP", "s", "2"],
        vec!["LLEN", "s"],
        vec!["LRANGE", "s", "0", "-1"],
        vec!["LINDEX", "s", "0"],
    ] {
        r.roundtrip(&resp(&args), WRONGTYPE);
    }
    // The string is untouched.
    r.roundtrip(&resp(&["GET", "s"]), b"$1\r\nv\r\n");
    r.roundtrip(&resp(&["RPUSH", "l", "a"]), b":1\r\n");
    r.roundtrip(&resp(&["GET", "l"]), WRONGTYPE);
    // SET overwrites a list whatever its type.
    r.roundtrip(&resp(&["SET", "l", "x"]), b"+OK\r\n");
    r.roundtrip(&resp(&["GET", "l"]), b"$1\r\nx\r\n");
}

#[test]
fn queue_use_with_the_redis_crate() {
    let s = Server::start();
    let mut c = s.client();
    for i in 0..100 {
        let _: i64 = redis::cmd("RPUSH")
            .arg("jobs")
            .arg(i)
            .query(&mut c)
            .unwrap();
    }
    let n: i64 = redis::cmd("LLEN").arg("jobs").query(&mut c).unwrap();
    assert_eq!(n, 100);
    let mut seen = Vec::new();
    while let Some(v) = redis::cmd("LPOP")
        .arg("jobs")
        .query::<Option<i64>>(&mut c)
        .unwrap()
    {
        seen.push(v);
    }
    assert_eq!(seen, (0..100).collect::<Vec<_>>());
    let exists: i64 = redis::cmd("EXISTS").arg("jobs").query(&mut c).unwrap();
    assert_eq!(exists, 0);
    // Binary-safe elements.
    let bin: Vec<u8> = vec![0, 1, 2, 255, b'\r', b'\n'];
    let _: i64 = redis::cmd("LPUSH")
        .arg("b")
        .arg(&bin[..])
        .query(&mut c)
        .unwrap();
    let got: Vec<Vec<u8>> = redis::cmd("LRANGE")
        .arg("b")
        .arg(0)
        .arg(-1)
        .query(&mut c)
        .unwrap();
    assert_eq!(got, vec![bin]);
}
