//! String and bitmap commands: replies (exact bytes), error texts, TTL
//! interplay, WRONGTYPE, big and binary values. Expected values were checked
//! against a real redis-server 7.0.
use crate::common::reply::*;
use crate::common::*;

use std::time::Duration;

type T = RespConn;

#[test]
fn get_set_and_options() {
    let s = Server::start();
    let mut t = T::connect(s.port);
    assert_eq!(t.c("GET k"), NIL);
    assert_eq!(t.c("SET k v"), OK);
    assert_eq!(t.c("GET k"), bulk("v"));
    assert_eq!(t.c("SET k v2 NX"), NIL);
    assert_eq!(t.c("SET k v2 XX"), OK);
    assert_eq!(t.c("SET other v XX"), NIL);
    assert_eq!(t.c("GET other"), NIL);
    assert_eq!(t.c("SET k v3 GET"), bulk("v2"));
    assert_eq!(t.c("SET new v GET"), NIL);
    assert_eq!(t.c("SET k v4 NX GET"), bulk("v3"), "7.0 allows NX with GET");
    assert_eq!(t.c("GET k"), bulk("v3"));
    assert_eq!(t.c("SET k v ex 10 EX 20"), OK, "repeated unit: last wins");
    assert_eq!(t.c("set k v nx nx"), NIL);
    // Syntax errors.
    for bad in [
        "SET k v NX XX",
        "SET k v XX NX",
        "SET k v EX 10 PX 10",
        "SET k v KEEPTTL EX 10",
        "SET k v PX 10 KEEPTTL",
        "SET k v EX",
        "SET k v PERSIST",
        "SET k v foo",
        "SET k v EXAT 10 PXAT 10",
    ] {
        assert_eq!(t.c(bad), SYNTAX, "{bad}");
    }
    // Expire errors.
    for bad in [
        "SET k v EX 0",
        "SET k v EX -1",
        "SET k v PX 0",
        "SET k v EXAT 0",
        "SET k v EXAT 9223372036854775807",
        "SET k v EX 9223372036854775",
        "SET k v PX 9223372036854775807",
    ] {
        assert_eq!(
            t.c(bad),
            err("ERR invalid expire time in 'set' command"),
            "{bad}"
        );
    }
    assert_eq!(t.c("SET k v EX abc"), NOTINT);
    assert_eq!(t.c("SET k v EX 1.5"), NOTINT);
    assert_eq!(
        t.c("SET"),
        err("ERR wrong number of arguments for 'set' command")
    );
    assert_eq!(
        t.c("GET"),
        err("ERR wrong number of arguments for 'get' command")
    );
    assert_eq!(
        t.c("GET a b"),
        err("ERR wrong number of arguments for 'get' command")
    );
    // GET on a list, SET ... GET on a list (the set does not happen).
    assert_eq!(t.c("LPUSH l a"), int(1));
    assert_eq!(t.c("GET l"), WRONGTYPE);
    assert_eq!(t.c("SET l v GET"), WRONGTYPE);
    assert_eq!(t.c("LPUSH l b"), int(2), "still a list");
    // A plain SET overwrites any type.
    assert_eq!(t.c("SET l v"), OK);
    assert_eq!(t.c("GET l"), bulk("v"));
    // Expire errors come before the GET type check.
    t.c("LPUSH l2 a");
    assert_eq!(
        t.c("SET l2 v EX 0 GET"),
        err("ERR invalid expire time in 'set' command")
    );
}

#[test]
fn setnx_setex_psetex_getset_getdel_getex() {
    let s = Server::start();
    let mut t = T::connect(s.port);
    assert_eq!(t.c("SETNX k v"), int(1));
    assert_eq!(t.c("SETNX k w"), int(0));
    assert_eq!(t.c("GET k"), bulk("v"));
    assert_eq!(t.c("SETEX k 100 x"), OK);
    assert_eq!(t.c("GET k"), bulk("x"));
    assert_eq!(
        t.c("SETEX k 0 x"),
        err("ERR invalid expire time in 'setex' command")
    );
    assert_eq!(t.c("SETEX k abc x"), NOTINT);
    assert_eq!(
        t.c("PSETEX k -1 x"),
        err("ERR invalid expire time in 'psetex' command")
    );
    assert_eq!(t.c("PSETEX k 100000 y"), OK);
    assert_eq!(
        t.c("SETEX k 10"),
        err("ERR wrong number of arguments for 'setex' command")
    );
    assert_eq!(t.c("GETSET k z"), bulk("y"));
    assert_eq!(t.c("GETSET nokey z"), NIL);
    assert_eq!(t.c("GET nokey"), bulk("z"));
    assert_eq!(t.c("GETDEL k"), bulk("z"));
    assert_eq!(t.c("GETDEL k"), NIL);
    assert_eq!(t.c("EXISTS k"), int(0));
    t.c("LPUSH l a");
    assert_eq!(t.c("GETSET l v"), WRONGTYPE);
    assert_eq!(t.c("GETDEL l"), WRONGTYPE);
    assert_eq!(t.c("GETEX l"), WRONGTYPE);
    assert_eq!(t.c("SETNX l v"), int(0));
    // GETEX
    t.c("SET k v");
    assert_eq!(t.c("GETEX k"), bulk("v"));
    assert_eq!(t.c("GETEX k PERSIST"), bulk("v"));
    assert_eq!(t.c("GETEX k EX 100"), bulk("v"));
    assert_eq!(t.c("GETEX k PX 100000"), bulk("v"));
    assert_eq!(t.c("GETEX nokey2 EX abc"), NIL, "missing key first");
    assert_eq!(t.c("GETEX k EX abc"), NOTINT);
    assert_eq!(
        t.c("GETEX k EX 0"),
        err("ERR invalid expire time in 'getex' command")
    );
    for bad in [
        "GETEX k NX",
        "GETEX k KEEPTTL",
        "GETEX k PERSIST EX 10",
        "GETEX k EX 1 PX 1",
        "GETEX k EX",
    ] {
        assert_eq!(t.c(bad), SYNTAX, "{bad}");
    }
    // An absolute time in the past deletes the key after replying.
    assert_eq!(t.c("GETEX k EXAT 1"), bulk("v"));
    assert_eq!(t.c("GET k"), NIL);
    t.c("SET k v");
    assert_eq!(t.c("GETEX k PXAT 1"), bulk("v"));
    assert_eq!(t.c("EXISTS k"), int(0));
}

#[test]
fn ttl_interplay() {
    let s = Server::start();
    let mut t = T::connect(s.port);
    // Deliberate waits: TTLs of 100 ms must run out (or not yet).
    let ms = |n| std::thread::sleep(Duration::from_millis(n));
    // SET PX expires; SET without KEEPTTL clears the TTL; KEEPTTL keeps it.
    t.c("SET a v PX 100");
    t.c("SET b v PX 100");
    t.c("SET b v2");
    t.c("SET c v PX 100");
    t.c("SET c v2 KEEPTTL");
    // APPEND, SETRANGE, INCR, INCRBYFLOAT, SETBIT keep the TTL.
    t.c("SET d x PX 100");
    t.c("APPEND d yz");
    t.c("SET e xxxx PX 100");
    t.c("SETRANGE e 1 Y");
    t.c("SET f 5 PX 100");
    assert_eq!(t.c("INCR f"), int(6));
    t.c("SET g 1.5 PX 100");
    assert_eq!(t.c("INCRBYFLOAT g 1"), bulk("2.5"));
    t.c("SET h a PX 100");
    t.c("SETBIT h 0 1");
    // SETEX / PSETEX / GETEX PX expire; GETEX PERSIST removes the TTL; GETSET clears it.
    t.c("SETEX i 1 v");
    t.c("PSETEX j 100 v");
    t.c("SET k v");
    t.c("GETEX k PX 100");
    t.c("SET m v PX 100");
    t.c("GETEX m PERSIST");
    t.c("SET n v PX 100");
    t.c("GETSET n w");
    t.c("SET o v EX 100");
    t.c("SET p v PXAT 1");
    assert_eq!(t.c("GET p"), NIL, "already expired");
    assert_eq!(t.c("GET d"), bulk("xyz"));
    assert_eq!(t.c("GET e"), bulk("xYxx"));
    ms(250);
    for gone in ["a", "c", "d", "e", "f", "g", "h", "j", "k"] {
        assert_eq!(
            t.c(&format!("GET {gone}")),
            NIL,
            "{gone} should have expired"
        );
    }
    assert_eq!(t.c("GET b"), bulk("v2"));
    assert_eq!(t.c("GET m"), bulk("v"));
    assert_eq!(t.c("GET n"), bulk("w"));
    assert_eq!(t.c("GET o"), bulk("v"));
    assert_eq!(t.c("GET i"), bulk("v"));
    // INCR on an expired key starts from zero.
    assert_eq!(t.c("INCR f"), int(1));
    // SETNX succeeds once the old key expired.
    t.c("SET q v PX 50");
    ms(100);
    assert_eq!(t.c("SETNX q w"), int(1));
    assert_eq!(t.c("SET q2 v PX 50"), OK);
    ms(100);
    assert_eq!(t.c("SET q2 w XX"), NIL, "expired key does not exist for XX");
}

#[test]
fn mget_mset_msetnx() {
    let s = Server::start();
    let mut t = T::connect(s.port);
    assert_eq!(t.c("MSET a 1 b 2"), OK);
    t.c("LPUSH l x");
    assert_eq!(
        t.c("MGET a l nokey b"),
        "*4\r\n$1\r\n1\r\n$-1\r\n$-1\r\n$1\r\n2\r\n"
    );
    assert_eq!(
        t.c("MSET a"),
        err("ERR wrong number of arguments for 'mset' command")
    );
    assert_eq!(
        t.c("MSET a 1 b"),
        err("ERR wrong number of arguments for 'mset' command")
    );
    assert_eq!(
        t.c("MSETNX a 1 b"),
        err("ERR wrong number of arguments for 'msetnx' command")
    );
    assert_eq!(t.c("MSETNX a 9 c 3"), int(0));
    assert_eq!(t.c("GET c"), NIL);
    assert_eq!(t.c("MSETNX c 3 d 4"), int(1));
    assert_eq!(t.c("MGET c d"), "*2\r\n$1\r\n3\r\n$1\r\n4\r\n");
    // MSET overwrites other types and the same key twice: last wins.
    assert_eq!(t.c("MSET l v a x a y"), OK);
    assert_eq!(t.c("MGET l a"), "*2\r\n$1\r\nv\r\n$1\r\ny\r\n");
    assert_eq!(t.c("MSETNX e 1 e 2"), int(1));
    assert_eq!(t.c("GET e"), bulk("2"));
}

#[test]
fn append_strlen_ranges() {
    let s = Server::start();
    let mut t = T::connect(s.port);
    assert_eq!(t.c("APPEND k hello"), int(5));
    assert_eq!(
        t.c("APPEND k _world_and_a_long_tail_beyond_inline"),
        int(41)
    );
    assert_eq!(
        t.c("GET k"),
        bulk("hello_world_and_a_long_tail_beyond_inline")
    );
    assert_eq!(t.c("STRLEN k"), int(41));
    assert_eq!(t.c("STRLEN nokey"), int(0));
    t.c("SET n 12345");
    assert_eq!(t.c("APPEND n 6"), int(6));
    assert_eq!(t.c("INCR n"), int(123457));
    t.c("LPUSH l a");
    assert_eq!(t.c("APPEND l x"), WRONGTYPE);
    assert_eq!(t.c("STRLEN l"), WRONGTYPE);
    // GETRANGE / SUBSTR
    t.c("SET s foobar");
    assert_eq!(t.c("GETRANGE s 0 -1"), bulk("foobar"));
    assert_eq!(t.c("GETRANGE s -3 -1"), bulk("bar"));
    assert_eq!(t.c("GETRANGE s 5 1"), bulk(""));
    assert_eq!(t.c("GETRANGE s -1 -5"), bulk(""));
    assert_eq!(t.c("GETRANGE s 0 100"), bulk("foobar"));
    assert_eq!(t.c("GETRANGE s -100 2"), bulk("foo"));
    assert_eq!(t.c("SUBSTR s 1 3"), bulk("oob"));
    assert_eq!(t.c("GETRANGE nokey 0 1"), bulk(""));
    assert_eq!(t.c("GETRANGE s a 1"), NOTINT);
    assert_eq!(t.c("GETRANGE nokey a 1"), NOTINT, "arguments parsed first");
    assert_eq!(t.c("GETRANGE l 0 1"), WRONGTYPE);
    t.c("SET e ");
    assert_eq!(t.c("GETRANGE e 0 -1"), bulk(""));
    // SETRANGE
    assert_eq!(t.c("SETRANGE s 1 XY"), int(6));
    assert_eq!(t.c("GET s"), bulk("fXYbar"));
    assert_eq!(t.c("SETRANGE s 8 !"), int(9));
    assert_eq!(t.c("GET s"), "$9\r\nfXYbar\0\0!\r\n");
    assert_eq!(t.c("SETRANGE s 0 "), int(9));
    assert_eq!(t.c("SETRANGE new 0 "), int(0));
    assert_eq!(t.c("EXISTS new"), int(0));
    assert_eq!(t.c("SETRANGE new 3 ab"), int(5));
    assert_eq!(t.c("GET new"), "$5\r\n\0\0\0ab\r\n");
    assert_eq!(t.c("SETRANGE s -1 x"), err("ERR offset is out of range"));
    assert_eq!(t.c("SETRANGE s a x"), NOTINT);
    let too_big = err("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    assert_eq!(t.c("SETRANGE s 536870912 x"), too_big);
    assert_eq!(t.c("SETRANGE nokey 536870912 x"), too_big);
    assert_eq!(t.c("SETRANGE nokey 9223372036854775807 x"), too_big);
    assert_eq!(t.c("SETRANGE nokey 536870912 "), int(0));
    assert_eq!(t.c("SETRANGE l 0 x"), WRONGTYPE);
    assert_eq!(t.c("SETRANGE l 0 "), WRONGTYPE);
}

#[test]
fn proto_max_bulk_len_limits_append_and_setrange() {
    let s = Server::with_config("proto-max-bulk-len = \"1mb\"\n");
    let mut t = T::connect(s.port);
    let too_big = err("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    assert_eq!(t.c("SETRANGE k 1048575 x"), int(1048576));
    assert_eq!(t.c("APPEND k x"), too_big);
    assert_eq!(t.c("SETRANGE k 1048576 x"), too_big);
    assert_eq!(t.c("STRLEN k"), int(1048576));
    assert_eq!(
        t.c("SETBIT b 8388608 1"),
        err("ERR bit offset is not an integer or out of range")
    );
    assert_eq!(t.c("SETBIT b 8388607 1"), int(0));
}

#[test]
fn counters() {
    let s = Server::start();
    let mut t = T::connect(s.port);
    assert_eq!(t.c("INCR n"), int(1));
    assert_eq!(t.c("INCRBY n 10"), int(11));
    assert_eq!(t.c("DECR n"), int(10));
    assert_eq!(t.c("DECRBY n 20"), int(-10));
    assert_eq!(t.c("GET n"), bulk("-10"));
    assert_eq!(t.c("DECR fresh"), int(-1));
    assert_eq!(t.c("DECRBY fresh2 5"), int(-5));
    assert_eq!(t.c("INCRBY n x"), NOTINT);
    assert_eq!(t.c("INCRBY n 1.5"), NOTINT);
    for v in [
        "abc",
        " 1",
        "1 ",
        "007",
        "1.5",
        "+1",
        "",
        "99999999999999999999",
    ] {
        t.call_b(&[b"SET", b"bad", v.as_bytes()]);
        assert_eq!(t.c("INCR bad"), NOTINT, "{v:?}");
    }
    t.c("SET big 9223372036854775807");
    let overflow = err("ERR increment or decrement would overflow");
    assert_eq!(t.c("INCR big"), overflow);
    assert_eq!(t.c("DECRBY big -1"), overflow);
    assert_eq!(t.c("INCRBY big 0"), int(i64::MAX));
    t.c("SET small -9223372036854775808");
    assert_eq!(t.c("DECR small"), overflow);
    assert_eq!(t.c("INCRBY small -1"), overflow);
    assert_eq!(
        t.c("DECRBY x -9223372036854775808"),
        err("ERR decrement would overflow")
    );
    assert_eq!(t.c("INCRBY x -9223372036854775808"), int(i64::MIN));
    t.c("LPUSH l a");
    for c in [
        "INCR l",
        "DECR l",
        "INCRBY l 1",
        "DECRBY l 1",
        "INCRBYFLOAT l 1",
    ] {
        assert_eq!(t.c(c), WRONGTYPE, "{c}");
    }
    assert_eq!(
        t.c("INCR"),
        err("ERR wrong number of arguments for 'incr' command")
    );
}

#[test]
fn incrbyfloat_matches_long_double_semantics() {
    let s = Server::start();
    let mut t = T::connect(s.port);
    assert_eq!(t.c("INCRBYFLOAT f 10.5"), bulk("10.5"));
    assert_eq!(t.c("INCRBYFLOAT f 0.1"), bulk("10.6"));
    assert_eq!(t.c("INCRBYFLOAT g 0.1"), bulk("0.1"));
    assert_eq!(
        t.c("INCRBYFLOAT g 0.2"),
        bulk("0.3"),
        "long double, not f64"
    );
    t.c("SET m 1000000");
    assert_eq!(t.c("INCRBYFLOAT m 0.1"), bulk("1000000.10000000000002274"));
    assert_eq!(t.c("INCRBYFLOAT h 5.0e3"), bulk("5000"));
    assert_eq!(t.c("INCRBYFLOAT h 0x10"), bulk("5016"));
    assert_eq!(t.c("INCRBYFLOAT h -5016"), bulk("0"));
    assert_eq!(t.c("INCRBYFLOAT tiny -1.5e-20"), bulk("0"));
    let notfloat = err("ERR value is not a valid float");
    assert_eq!(t.c("INCRBYFLOAT h abc"), notfloat);
    assert_eq!(t.c("INCRBYFLOAT h 1e5000"), notfloat);
    assert_eq!(t.c("INCRBYFLOAT h nan"), notfloat);
    t.call_b(&[b"SET", b"sp", b" 1"]);
    assert_eq!(t.c("INCRBYFLOAT sp 1"), notfloat);
    t.c("SET s foo");
    assert_eq!(t.c("INCRBYFLOAT s 1"), notfloat);
    let naninf = err("ERR increment would produce NaN or Infinity");
    assert_eq!(t.c("INCRBYFLOAT h inf"), naninf);
    assert_eq!(t.c("INCRBYFLOAT h -infinity"), naninf);
    t.c("SET huge 1e4932");
    assert_eq!(t.c("INCRBYFLOAT huge 1e4932"), naninf);
    assert_eq!(t.c("GET h"), bulk("0"), "unchanged after errors");
    // The stored value is a plain string usable by INCR when integral.
    assert_eq!(t.c("INCRBYFLOAT i 3"), bulk("3"));
    assert_eq!(t.c("INCR i"), int(4));
}

#[test]
fn setbit_getbit() {
    let s = Server::start();
    let mut t = T::connect(s.port);
    let bad_off = err("ERR bit offset is not an integer or out of range");
    let bad_bit = err("ERR bit is not an integer or out of range");
    assert_eq!(t.c("SETBIT k -1 1"), bad_off);
    assert_eq!(t.c("SETBIT k 4294967296 1"), bad_off);
    assert_eq!(t.c("SETBIT k abc 1"), bad_off);
    assert_eq!(t.c("SETBIT k 0 2"), bad_bit);
    assert_eq!(t.c("SETBIT k 0 -1"), bad_bit);
    assert_eq!(t.c("SETBIT k 0 x"), bad_bit);
    assert_eq!(t.c("GETBIT k -1"), bad_off);
    assert_eq!(t.c("GETBIT k abc"), bad_off);
    assert_eq!(t.c("SETBIT b 7 1"), int(0));
    assert_eq!(t.c("SETBIT b 7 1"), int(1));
    assert_eq!(t.c("GET b"), "$1\r\n\x01\r\n");
    assert_eq!(t.c("SETBIT b 1 1"), int(0));
    assert_eq!(t.c("GET b"), bulk("A"));
    assert_eq!(t.c("SETBIT b 7 0"), int(1));
    assert_eq!(t.c("GET b"), bulk("@"));
    assert_eq!(t.c("SETBIT b 20 1"), int(0));
    assert_eq!(t.c("STRLEN b"), int(3));
    assert_eq!(t.c("GETBIT b 1"), int(1));
    assert_eq!(t.c("GETBIT b 20"), int(1));
    assert_eq!(t.c("GETBIT b 21"), int(0));
    assert_eq!(t.c("GETBIT b 100000"), int(0));
    assert_eq!(t.c("GETBIT nokey 5"), int(0));
    assert_eq!(t.c("SETBIT z 10 0"), int(0));
    assert_eq!(t.c("GET z"), "$2\r\n\0\0\r\n", "creates a zeroed string");
    t.c("LPUSH l a");
    assert_eq!(t.c("GETBIT l 0"), WRONGTYPE);
    assert_eq!(t.c("SETBIT l 0 1"), WRONGTYPE);
}

#[test]
fn bitcount_bitpos() {
    let s = Server::start();
    let mut t = T::connect(s.port);
    t.c("SET s foobar");
    assert_eq!(t.c("BITCOUNT s"), int(26));
    assert_eq!(t.c("BITCOUNT s 1 1"), int(6));
    assert_eq!(t.c("BITCOUNT s 1 1 BYTE"), int(6));
    assert_eq!(t.c("BITCOUNT s 1 1 bit"), int(1));
    assert_eq!(t.c("BITCOUNT s 5 30 BIT"), int(17));
    assert_eq!(t.c("BITCOUNT s 0 -1 bit"), int(26));
    assert_eq!(t.c("BITCOUNT s -1 -2"), int(0));
    assert_eq!(
        t.c("BITCOUNT s -1 -2 xx"),
        int(0),
        "checked before the unit"
    );
    assert_eq!(t.c("BITCOUNT s -100 100"), int(26));
    assert_eq!(t.c("BITCOUNT s 1"), SYNTAX);
    assert_eq!(t.c("BITCOUNT s 1 1 xx"), SYNTAX);
    assert_eq!(t.c("BITCOUNT s 1 1 bit x"), SYNTAX);
    assert_eq!(t.c("BITCOUNT s a b"), NOTINT);
    assert_eq!(t.c("BITCOUNT nokey"), int(0));
    assert_eq!(
        t.c("BITCOUNT nokey a b"),
        int(0),
        "missing key answers first"
    );
    t.c("SET empty ");
    assert_eq!(t.c("BITCOUNT empty"), int(0));
    assert_eq!(t.c("BITCOUNT empty 0 -1"), int(0));

    assert_eq!(t.c("BITPOS s 1"), int(1));
    assert_eq!(t.c("BITPOS s 0"), int(0));
    assert_eq!(t.c("BITPOS s 1 2 -1"), int(17));
    assert_eq!(t.c("BITPOS s 0 7 15 BIT"), int(7));
    assert_eq!(t.c("BITPOS s 1 7 15 bit"), int(9));
    assert_eq!(t.c("BITPOS s 0 100"), int(-1));
    assert_eq!(
        t.c("BITPOS s 2"),
        err("ERR The bit argument must be 1 or 0.")
    );
    assert_eq!(t.c("BITPOS s x"), NOTINT);
    assert_eq!(t.c("BITPOS s 1 a"), NOTINT);
    assert_eq!(t.c("BITPOS s 1 0 b xx"), SYNTAX, "unit checked before end");
    assert_eq!(t.c("BITPOS s 1 1 1 xx"), SYNTAX);
    assert_eq!(t.c("BITPOS s 1 1 1 bit x"), SYNTAX);
    assert_eq!(t.c("BITPOS nokey 0"), int(0));
    assert_eq!(t.c("BITPOS nokey 1"), int(-1));
    t.call_b(&[b"SET", b"ff", b"\xff\xff\xff"]);
    assert_eq!(
        t.c("BITPOS ff 0"),
        int(24),
        "no end: zero padding on the right"
    );
    assert_eq!(t.c("BITPOS ff 0 1"), int(24));
    assert_eq!(t.c("BITPOS ff 0 0 -1"), int(-1), "explicit end: no padding");
    assert_eq!(t.c("BITPOS ff 0 0 -1 bit"), int(-1));
    assert_eq!(t.c("BITPOS ff 1 -1 -1 bit"), int(23));
    t.call_b(&[b"SET", b"z", b"\x00\x00\x01"]);
    assert_eq!(t.c("BITPOS z 1"), int(23));
    assert_eq!(t.c("BITPOS z 1 0 1"), int(-1));
    assert_eq!(t.c("BITPOS empty 0"), int(-1));
    assert_eq!(t.c("BITPOS empty 1"), int(-1));
    assert_eq!(
        t.c("BITPOS s"),
        err("ERR wrong number of arguments for 'bitpos' command")
    );
    t.c("LPUSH l a");
    assert_eq!(t.c("BITCOUNT l"), WRONGTYPE);
    assert_eq!(t.c("BITPOS l 0"), WRONGTYPE);
}

#[test]
fn bitop() {
    let s = Server::start();
    let mut t = T::connect(s.port);
    t.c("SET a foobar");
    t.call_b(&[b"SET", b"b", b"\xff\x0f"]);
    assert_eq!(
        t.c("BITOP xor"),
        err("ERR wrong number of arguments for 'bitop' command")
    );
    assert_eq!(t.c("BITOP foo d a"), SYNTAX);
    assert_eq!(
        t.c("BITOP NOT d a b"),
        err("ERR BITOP NOT must be called with a single source key.")
    );
    assert_eq!(t.c("BITOP NOT d b"), int(2));
    assert_eq!(t.call_b(&[b"GET", b"d"]), b"$2\r\n\x00\xf0\r\n");
    assert_eq!(t.c("BITOP AND d a b"), int(6));
    assert_eq!(t.call_b(&[b"GET", b"d"]), b"$6\r\nf\x0f\0\0\0\0\r\n");
    assert_eq!(t.c("BITOP OR d a b nokey"), int(6));
    assert_eq!(t.call_b(&[b"GET", b"d"]), b"$6\r\n\xff\x6fobar\r\n");
    assert_eq!(t.c("BITOP XOR d a b"), int(6));
    assert_eq!(t.call_b(&[b"GET", b"d"]), b"$6\r\n\x99\x60obar\r\n");
    assert_eq!(t.c("BITOP and d a nokey"), int(6));
    assert_eq!(t.call_b(&[b"GET", b"d"]), b"$6\r\n\0\0\0\0\0\0\r\n");
    // All sources empty: the destination is deleted.
    assert_eq!(t.c("BITOP AND d nokey nokey2"), int(0));
    assert_eq!(t.c("EXISTS d"), int(0));
    // The destination may be one of the sources, and of any type.
    t.c("LPUSH l x");
    assert_eq!(t.c("BITOP AND d a l"), WRONGTYPE);
    assert_eq!(t.c("BITOP NOT l a"), int(6));
    assert_eq!(t.c("BITOP NOT a a"), int(6));
    assert_eq!(t.c("BITOP NOT a a"), int(6));
    assert_eq!(t.c("GET a"), bulk("foobar"));
}

#[test]
fn lcs() {
    let s = Server::start();
    let mut t = T::connect(s.port);
    t.c("MSET a ohmytext b mynewtext");
    assert_eq!(t.c("LCS a b"), bulk("mytext"));
    assert_eq!(t.c("LCS a b LEN"), int(6));
    assert_eq!(
        t.c("LCS a b IDX"),
        "*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n\
         *2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n"
    );
    assert_eq!(
        t.c("LCS a b IDX MINMATCHLEN 4 WITHMATCHLEN"),
        "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n"
    );
    assert_eq!(
        t.c("LCS a b IDX LEN"),
        err("ERR If you want both the length and indexes, please just use IDX.")
    );
    assert_eq!(t.c("LCS a b foo"), SYNTAX);
    assert_eq!(t.c("LCS a b MINMATCHLEN"), SYNTAX);
    assert_eq!(t.c("LCS a b MINMATCHLEN x"), NOTINT);
    assert_eq!(t.c("LCS nokey a"), bulk(""));
    assert_eq!(t.c("LCS nokey nokey LEN"), int(0));
    t.c("LPUSH l x");
    assert_eq!(
        t.c("LCS a l"),
        err("ERR The specified keys must contain string values")
    );
    // RESP3: a real map.
    t.c("HELLO 3");
    assert_eq!(
        t.c("LCS a b IDX MINMATCHLEN 4"),
        "%2\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n$3\r\nlen\r\n:6\r\n"
    );
    assert_eq!(t.c("GET nokey"), "_\r\n");
}

#[test]
fn big_and_binary_values_with_redis_crate() {
    let s = Server::start();
    let mut c = s.client();
    let big: Vec<u8> = (0..1024 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    let _: () = redis::cmd("SET")
        .arg("big")
        .arg(&big)
        .query(&mut c)
        .unwrap();
    let got: Vec<u8> = redis::cmd("GET").arg("big").query(&mut c).unwrap();
    assert_eq!(got, big);
    let n: i64 = redis::cmd("STRLEN").arg("big").query(&mut c).unwrap();
    assert_eq!(n, 1024 * 1024);
    let n: i64 = redis::cmd("APPEND")
        .arg("big")
        .arg(&big[..1000])
        .query(&mut c)
        .unwrap();
    assert_eq!(n, 1024 * 1024 + 1000);
    let tail: Vec<u8> = redis::cmd("GETRANGE")
        .arg("big")
        .arg(-1000)
        .arg(-1)
        .query(&mut c)
        .unwrap();
    assert_eq!(tail, &big[..1000]);
    let n: i64 = redis::cmd("SETRANGE")
        .arg("big")
        .arg(10)
        .arg(b"\0\r\n\xff")
        .query(&mut c)
        .unwrap();
    assert_eq!(n, 1024 * 1024 + 1000);
    let mid: Vec<u8> = redis::cmd("GETRANGE")
        .arg("big")
        .arg(8)
        .arg(15)
        .query(&mut c)
        .unwrap();
    assert_eq!(&mid[2..6], b"\0\r\n\xff");
    let pop: i64 = redis::cmd("BITCOUNT").arg("big").query(&mut c).unwrap();
    let expect: i64 = {
        let mut v = big.clone();
        v.extend_from_slice(&big[..1000]);
        v[10..14].copy_from_slice(b"\0\r\n\xff");
        v.iter().map(|b| b.count_ones() as i64).sum()
    };
    assert_eq!(pop, expect);
    // Binary-safe keys and values, including NUL and CRLF.
    let key = b"k\0\r\nx";
    let val = b"\0\x01\x02\r\n\xfe\xff";
    let _: () = redis::cmd("SET")
        .arg(&key[..])
        .arg(&val[..])
        .query(&mut c)
        .unwrap();
    let got: Vec<u8> = redis::cmd("GET").arg(&key[..]).query(&mut c).unwrap();
    assert_eq!(got, val);
    let got: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
        .arg(&key[..])
        .arg("nokey")
        .query(&mut c)
        .unwrap();
    assert_eq!(got, vec![Some(val.to_vec()), None]);
    let old: Vec<u8> = redis::cmd("GETDEL").arg(&key[..]).query(&mut c).unwrap();
    assert_eq!(old, val);
    // BITOP over the big value.
    let n: i64 = redis::cmd("BITOP")
        .arg("NOT")
        .arg("inv")
        .arg("big")
        .query(&mut c)
        .unwrap();
    assert_eq!(n, 1024 * 1024 + 1000);
    let inv: i64 = redis::cmd("BITCOUNT").arg("inv").query(&mut c).unwrap();
    assert_eq!(inv, (1024 * 1024 + 1000) * 8 - expect);
    // Integer round trips through the typed API.
    let v: i64 = redis::cmd("INCRBY")
        .arg("ctr")
        .arg(41)
        .query(&mut c)
        .unwrap();
    assert_eq!(v, 41);
    let v: String = redis::cmd("INCRBYFLOAT")
        .arg("ctr")
        .arg("0.5")
        .query(&mut c)
        .unwrap();
    assert_eq!(v, "41.5");
}

#[test]
fn transactions_and_watch_see_string_writes() {
    let s = Server::start();
    let mut t = T::connect(s.port);
    let mut other = T::connect(s.port);
    t.c("SET w 1");
    assert_eq!(t.c("WATCH w"), OK);
    other.c("SET w 2");
    // A failed INCR does not count as a modification of the watched key.
    let mut t2 = T::connect(s.port);
    t2.c("SET w2 abc");
    t2.c("WATCH w2");
    assert_eq!(other.c("INCR w2"), NOTINT);
    assert_eq!(other.c("SETBIT w2 0 0"), int(0), "no bit changed");
    t2.c("MULTI");
    t2.c("GET w2");
    assert_eq!(t2.c("EXEC"), "*1\r\n$3\r\nabc\r\n");
    // The modified watched key aborts the transaction.
    t.c("MULTI");
    t.c("INCR w");
    assert_eq!(t.c("EXEC"), "*-1\r\n");
}
