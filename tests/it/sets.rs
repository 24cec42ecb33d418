//! Set commands: replies (exact bytes, RESP2 and RESP3), error texts,
//! intset -> hashtable conversion, WRONGTYPE, SPOP/SRANDMEMBER semantics,
//! SSCAN under concurrent writes, and a differential check against a real
//! redis-server 7.0 (replies of unspecified order are sorted first).
use crate::common::reply::*;
use crate::common::*;

use std::collections::HashSet;

/// One parsed reply. Aggregates keep their type byte ('*', '~', '%', '>').
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum R {
    Line(u8, String),
    Bulk(Option<Vec<u8>>),
    Agg(u8, Vec<R>),
    Nil(u8),
}

impl R {
    fn items(&self) -> &[R] {
        match self {
            R::Agg(_, v) => v,
            other => panic!("not an aggregate: {other:?}"),
        }
    }

    fn sorted(mut self) -> R {
        if let R::Agg(_, v) = &mut self {
            v.sort();
        }
        self
    }

    fn strings(&self) -> Vec<String> {
        self.items()
            .iter()
            .map(|r| match r {
                R::Bulk(Some(b)) => String::from_utf8(b.clone()).unwrap(),
                other => panic!("not a bulk: {other:?}"),
            })
            .collect()
    }

    fn int(&self) -> i64 {
        match self {
            R::Line(b':', n) => n.parse().unwrap(),
            other => panic!("not an integer: {other:?}"),
        }
    }
}

type T = RespConn;

/// Parsed replies over the exact-bytes client.
trait Parsed {
    /// Parsed reply of a command given as separate arguments.
    fn qa(&mut self, args: &[&str]) -> R;
    /// Parsed reply of a space-separated command.
    fn q(&mut self, line: &str) -> R;
    fn read(&mut self) -> R;
}

impl Parsed for RespConn {
    fn qa(&mut self, args: &[&str]) -> R {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        self.send(&a);
        self.read()
    }

    fn q(&mut self, line: &str) -> R {
        let words: Vec<&[u8]> = line.split(' ').map(|w| w.as_bytes()).collect();
        self.send(&words);
        self.read()
    }

    fn read(&mut self) -> R {
        let line = self.read_line();
        let head = String::from_utf8_lossy(&line[1..]).into_owned();
        let n: i64 = head.parse().unwrap_or(0);
        match line[0] {
            b'$' if n < 0 => R::Nil(b'$'),
            b'$' => {
                let mut body = self.read_bytes(n as usize + 2);
                body.truncate(n as usize);
                R::Bulk(Some(body))
            }
            t @ (b'*' | b'~' | b'>') if n < 0 => R::Nil(t),
            t @ (b'*' | b'~' | b'>') => R::Agg(t, (0..n).map(|_| self.read()).collect()),
            b'%' => R::Agg(b'%', (0..2 * n).map(|_| self.read()).collect()),
            b'_' => R::Nil(b'_'),
            t => R::Line(t, head),
        }
    }
}

fn sorted_members(t: &mut T, key: &str) -> Vec<String> {
    let mut v = t.q(&format!("SMEMBERS {key}")).strings();
    v.sort();
    v
}

fn sv(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn add_remove_members_and_cardinality() {
    let s = Server::start();
    let mut t = T::connect(s.port);
    assert_eq!(t.c("SADD s a b c a"), int(3));
    assert_eq!(t.c("SADD s a d"), int(1));
    assert_eq!(t.c("SCARD s"), int(4));
    assert_eq!(t.c("SCARD nosuch"), int(0));
    assert_eq!(t.c("SISMEMBER s a"), int(1));
    assert_eq!(t.c("SISMEMBER s z"), int(0));
    assert_eq!(t.c("SISMEMBER nosuch a"), int(0));
    assert_eq!(t.c("SMISMEMBER s a z d"), "*3\r\n:1\r\n:0\r\n:1\r\n");
    assert_eq!(t.c("SMISMEMBER nosuch a b"), "*2\r\n:0\r\n:0\r\n");
    assert_eq!(sorted_members(&mut t, "s"), sv(&["a", "b", "c", "d"]));
    assert_eq!(t.c("SMEMBERS nosuch"), "*0\r\n");
    assert_eq!(t.c("SREM s a z"), int(1));
    assert_eq!(t.c("SREM nosuch a"), int(0));
    assert_eq!(t.c("SREM s b c d"), int(3));
    assert_eq!(t.c("EXISTS s"), int(0), "emptied set is deleted");
    // Intsets reply in ascending order, like Redis.
    assert_eq!(t.c("SADD i 10 -5 3 7"), int(4));
    assert_eq!(t.c("SMEMBERS i"), arr(&["-5", "3", "7", "10"]));
    assert_eq!(t.c("TYPE i"), "+set\r\n");
    assert_eq!(t.c("SISMEMBER i 03"), int(0));
    assert_eq!(t.c("SISMEMBER i -5"), int(1));
    // Binary-safe and long members.
    let long = "x".repeat(1000);
    assert_eq!(t.qa(&["SADD", "b", "a\r\nb", "", &long]).int(), 3);
    assert_eq!(t.qa(&["SISMEMBER", "b", ""]).int(), 1);
    assert_eq!(t.qa(&["SISMEMBER", "b", &long]).int(), 1);
    assert_eq!(t.qa(&["SISMEMBER", "b", "a\r\nb"]).int(), 1);
}

#[test]
fn encodings_and_conversion() {
    let s = Server::start();
    let mut t = T::connect(s.port);
    let ints: Vec<String> = (0..512).map(|i| i.to_string()).collect();
    let mut args = vec!["SADD", "i"];
    args.extend(ints.iter().map(|s| s.as_str()));
    assert_eq!(t.qa(&args).int(), 512);
    assert_eq!(t.c("OBJECT ENCODING i"), bulk("intset"));
    assert_eq!(t.c("SADD i 100"), int(0));
    assert_eq!(t.c("OBJECT ENCODING i"), bulk("intset"));
    assert_eq!(t.c("SADD i 512"), int(1));
    assert_eq!(t.c("OBJECT ENCODING i"), bulk("hashtable"), "513 > 512");
    assert_eq!(t.c("SCARD i"), int(513));
    assert_eq!(t.c("SISMEMBER i 511"), int(1));
    // Conversion is one way.
    assert_eq!(t.c("SREM i 512 511 510"), int(3));
    assert_eq!(t.c("OBJECT ENCODING i"), bulk("hashtable"));
    // A non-integer member converts; non-canonical integers are strings.
    t.c("SADD j 1 2 3");
    assert_eq!(t.c("OBJECT ENCODING j"), bulk("intset"));
    t.c("SADD j 007");
    assert_eq!(t.c("OBJECT ENCODING j"), bulk("hashtable"));
    assert_eq!(sorted_members(&mut t, "j"), sv(&["007", "1", "2", "3"]));
    t.c("SADD k -0");
    assert_eq!(t.c("OBJECT ENCODING k"), bulk("hashtable"));
    t.c("SADD m 9223372036854775807 -9223372036854775808");
    assert_eq!(t.c("OBJECT ENCODING m"), bulk("intset"));
    t.c("SADD m 9223372036854775808");
    assert_eq!(t.c("OBJECT ENCODING m"), bulk("hashtable"));
    t.c("SADD h hello");
    assert_eq!(t.c("OBJECT ENCODING h"), bulk("hashtable"));
    // The threshold follows CONFIG SET.
    assert_eq!(t.c("CONFIG SET set-max-intset-entries 3"), "+OK\r\n");
    t.c("SADD small 1 2 3");
    assert_eq!(t.c("OBJECT ENCODING small"), bulk("intset"));
    t.c("SADD small 4");
    assert_eq!(t.c("OBJECT ENCODING small"), bulk("hashtable"));
    // STORE results pick their encoding like SADD does.
    t.c("SADD a 1 2 3 4 5");
    t.c("SADD b 4 5 6");
    assert_eq!(t.c("SINTERSTORE d a b"), int(2));
    assert_eq!(t.c("OBJECT ENCODING d"), bulk("intset"));
    assert_eq!(t.c("SMEMBERS d"), arr(&["4", "5"]));
    assert_eq!(t.c("SUNIONSTORE d a b"), int(6));
    assert_eq!(t.c("OBJECT ENCODING d"), bulk("hashtable"));
    // SMOVE into a new key creates an intset for an integer.
    assert_eq!(t.c("SMOVE b n 6"), int(1));
    assert_eq!(t.c("OBJECT ENCODING n"), bulk("intset"));
    // COPY keeps the members and the encoding.
    assert_eq!(t.c("COPY j j2"), int(1));
    assert_eq!(sorted_members(&mut t, "j2"), sv(&["007", "1", "2", "3"]));
    assert_eq!(t.c("OBJECT ENCODING j2"), bulk("hashtable"));
    assert!(t.q("MEMORY USAGE i").int() > 0);
}

#[test]
fn algebra_and_store() {
    let s = Server::start();
    let mut t = T::connect(s.port);
    t.c("SADD a x y z 1");
    t.c("SADD b y z w");
    t.c("SADD c z");
    let q = |t: &mut T, l: &str| {
        let mut v = t.q(l).strings();
        v.sort();
        v
    };
    assert_eq!(q(&mut t, "SINTER a b"), sv(&["y", "z"]));
    assert_eq!(q(&mut t, "SINTER a b c"), sv(&["z"]));
    assert_eq!(q(&mut t, "SINTER a nosuch"), sv(&[]));
    assert_eq!(q(&mut t, "SINTER a"), sv(&["1", "x", "y", "z"]));
    assert_eq!(
        q(&mut t, "SUNION a b nosuch"),
        sv(&["1", "w", "x", "y", "z"])
    );
    assert_eq!(q(&mut t, "SDIFF a b"), sv(&["1", "x"]));
    assert_eq!(q(&mut t, "SDIFF a b c nosuch"), sv(&["1", "x"]));
    assert_eq!(q(&mut t, "SDIFF nosuch a"), sv(&[]));
    assert_eq!(t.c("SINTERCARD 2 a b"), int(2));
    assert_eq!(t.c("SINTERCARD 2 a b LIMIT 1"), int(1));
    assert_eq!(t.c("SINTERCARD 2 a b limit 0"), int(2));
    assert_eq!(t.c("SINTERCARD 1 nosuch"), int(0));
    assert_eq!(t.c("SINTERCARD 3 a b c LIMIT 5 LIMIT 1"), int(1));
    // STORE variants overwrite any type and drop the TTL.
    t.c("SET d str");
    t.c("EXPIRE d 100");
    assert_eq!(t.c("SINTERSTORE d a b"), int(2));
    assert_eq!(t.c("TTL d"), int(-1));
    assert_eq!(q(&mut t, "SMEMBERS d"), sv(&["y", "z"]));
    assert_eq!(t.c("SUNIONSTORE d a b"), int(5));
    assert_eq!(t.c("SDIFFSTORE d a b"), int(2));
    assert_eq!(q(&mut t, "SMEMBERS d"), sv(&["1", "x"]));
    // The destination may be a source.
    assert_eq!(t.c("SUNIONSTORE a a b"), int(5));
    assert_eq!(t.c("SCARD a"), int(5));
    // An empty result deletes the destination.
    assert_eq!(t.c("SINTERSTORE d a nosuch"), int(0));
    assert_eq!(t.c("EXISTS d"), int(0));
    t.c("SADD d q");
    assert_eq!(t.c("SDIFFSTORE d c a"), int(0));
    assert_eq!(t.c("EXISTS d"), int(0));
    t.c("SADD d q");
    assert_eq!(t.c("SUNIONSTORE d nosuch"), int(0));
    assert_eq!(t.c("EXISTS d"), int(0));
}

#[test]
fn smove_rules() {
    let s = Server::start();
    let mut t = T::connect(s.port);
    t.c("SADD src a b");
    t.c("SADD dst c");
    assert_eq!(t.c("SMOVE src dst a"), int(1));
    assert_eq!(sorted_members(&mut t, "dst"), sv(&["a", "c"]));
    assert_eq!(t.c("SMOVE src dst a"), int(0));
    assert_eq!(t.c("SMOVE src src b"), int(1));
    assert_eq!(t.c("SMOVE src src z"), int(0));
    t.c("SADD dst b");
    assert_eq!(
        t.c("SMOVE src dst b"),
        int(1),
        "already in dst still counts"
    );
    assert_eq!(t.c("EXISTS src"), int(0), "emptied source deleted");
    assert_eq!(t.c("SMOVE nosuch dst a"), int(0));
    assert_eq!(t.c("SMOVE dst fresh a"), int(1));
    assert_eq!(sorted_members(&mut t, "fresh"), sv(&["a"]));
    t.c("SET str x");
    assert_eq!(t.c("SMOVE nosuch str a"), int(0), "missing source wins");
    assert_eq!(t.c("SMOVE dst str c"), WRONGTYPE);
    assert_eq!(t.c("SMOVE str dst c"), WRONGTYPE);
    assert_eq!(t.c("SCARD dst"), int(2), "nothing moved on error");
}

#[test]
fn spop_and_srandmember() {
    let s = Server::start();
    let mut t = T::connect(s.port);
    let all = sv(&["a", "b", "c", "d", "e"]);
    t.c("SADD s a b c d e");
    let m = t.q("SRANDMEMBER s");
    let R::Bulk(Some(m)) = m else { panic!() };
    assert!(all.contains(&String::from_utf8(m).unwrap()));
    let r = t.q("SRANDMEMBER s 3").strings();
    assert_eq!(r.iter().collect::<HashSet<_>>().len(), 3, "distinct: {r:?}");
    let mut r = t.q("SRANDMEMBER s 10").strings();
    r.sort();
    assert_eq!(r, all);
    let r = t.q("SRANDMEMBER s -20").strings();
    assert_eq!(r.len(), 20);
    assert!(r.iter().all(|m| all.contains(m)));
    assert_eq!(t.c("SRANDMEMBER s 0"), "*0\r\n");
    assert_eq!(t.c("SRANDMEMBER nosuch"), NIL);
    assert_eq!(t.c("SRANDMEMBER nosuch 3"), "*0\r\n");
    assert_eq!(t.c("SRANDMEMBER nosuch -3"), "*0\r\n");
    assert_eq!(t.c("SRANDMEMBER s x"), NOTINT);
    assert_eq!(
        t.c("SRANDMEMBER s -9223372036854775808"),
        err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );
    assert_eq!(t.c("SRANDMEMBER s 1 2"), SYNTAX);
    // (Redis 7.0 runs out of memory here; we refuse.)
    assert_eq!(
        t.c("SRANDMEMBER s -9223372036854775807"),
        err("ERR value is out of range")
    );
    assert_eq!(t.c("SCARD s"), int(5), "SRANDMEMBER does not remove");
    // Distinct samples on a large hashtable, both sampling strategies.
    let many: Vec<String> = (0..2000).map(|i| format!("m{i}")).collect();
    let mut args = vec!["SADD", "big"];
    args.extend(many.iter().map(|s| s.as_str()));
    t.qa(&args);
    for n in [10, 1000, 1999] {
        let r = t.q(&format!("SRANDMEMBER big {n}")).strings();
        assert_eq!(r.iter().collect::<HashSet<_>>().len(), n);
    }

    let R::Bulk(Some(p)) = t.q("SPOP s") else {
        panic!()
    };
    let p = String::from_utf8(p).unwrap();
    assert_eq!(t.qa(&["SISMEMBER", "s", &p]).int(), 0);
    let popped = t.q("SPOP s 2").strings();
    assert_eq!(popped.len(), 2);
    assert_eq!(t.c("SCARD s"), int(2));
    assert_eq!(t.c("SPOP s 0"), "*0\r\n");
    assert_eq!(t.q("SPOP s 5").strings().len(), 2);
    assert_eq!(t.c("EXISTS s"), int(0));
    assert_eq!(t.c("SPOP s"), NIL);
    assert_eq!(t.c("SPOP s 2"), "*0\r\n");
    assert_eq!(
        t.c("SPOP s -1"),
        err("ERR value is out of range, must be positive")
    );
    assert_eq!(
        t.c("SPOP s x"),
        err("ERR value is out of range, must be positive")
    );
    assert_eq!(t.c("SPOP s 1 2"), SYNTAX);
    // Popping a whole big set piece by piece returns every member once.
    let mut seen = HashSet::new();
    loop {
        let r = t.q("SPOP big 300").strings();
        if r.is_empty() {
            break;
        }
        for m in r {
            assert!(seen.insert(m));
        }
    }
    assert_eq!(seen.len(), 2000);
    assert_eq!(t.c("EXISTS big"), int(0));
    // Intsets too.
    t.c("SADD i 1 2 3 4 5 6");
    let mut r = t.q("SPOP i 3").strings();
    r.extend(t.q("SPOP i 3").strings());
    r.sort();
    assert_eq!(r, sv(&["1", "2", "3", "4", "5", "6"]));
}

#[test]
fn errors_and_wrongtype() {
    let s = Server::start();
    let mut t = T::connect(s.port);
    t.c("SET str x");
    t.c("SADD s a");
    for cmd in [
        "SADD str a",
        "SREM str a",
        "SMEMBERS str",
        "SISMEMBER str a",
        "SMISMEMBER str a",
        "SCARD str",
        "SPOP str",
        "SPOP str 2",
        "SRANDMEMBER str",
        "SRANDMEMBER str 2",
        "SINTER s str",
        "SINTER nosuch str",
        "SINTER str nosuch",
        "SUNION s str",
        "SDIFF s str",
        "SDIFF nosuch str",
        "SINTERCARD 2 s str",
        "SINTERCARD 2 nosuch str",
        "SINTERSTORE d s str",
        "SUNIONSTORE d s str",
        "SDIFFSTORE d nosuch str",
        "SSCAN str 0",
    ] {
        assert_eq!(t.c(cmd), WRONGTYPE, "{cmd}");
    }
    assert_eq!(t.c("GET str"), bulk("x"), "untouched");
    assert_eq!(t.c("EXISTS d"), int(0));
    for (cmd, name) in [
        ("SADD s", "sadd"),
        ("SREM s", "srem"),
        ("SMEMBERS", "smembers"),
        ("SMEMBERS s t", "smembers"),
        ("SISMEMBER s", "sismember"),
        ("SMISMEMBER s", "smismember"),
        ("SCARD", "scard"),
        ("SPOP", "spop"),
        ("SRANDMEMBER", "srandmember"),
        ("SINTER", "sinter"),
        ("SINTERCARD 1", "sintercard"),
        ("SUNION", "sunion"),
        ("SDIFF", "sdiff"),
        ("SINTERSTORE d", "sinterstore"),
        ("SUNIONSTORE d", "sunionstore"),
        ("SDIFFSTORE d", "sdiffstore"),
        ("SMOVE a b", "smove"),
        ("SSCAN s", "sscan"),
    ] {
        assert_eq!(
            t.c(cmd),
            err(&format!(
                "ERR wrong number of arguments for '{name}' command"
            )),
            "{cmd}"
        );
    }
    let numkeys = err("ERR numkeys should be greater than 0");
    assert_eq!(t.c("SINTERCARD 0 s"), numkeys);
    assert_eq!(t.c("SINTERCARD -1 s"), numkeys);
    assert_eq!(t.c("SINTERCARD x s"), numkeys);
    assert_eq!(
        t.c("SINTERCARD 3 s s"),
        err("ERR Number of keys can't be greater than number of args")
    );
    assert_eq!(
        t.c("SINTERCARD 1 s LIMIT -1"),
        err("ERR LIMIT can't be negative")
    );
    assert_eq!(
        t.c("SINTERCARD 1 s LIMIT x"),
        err("ERR LIMIT can't be negative")
    );
    assert_eq!(t.c("SINTERCARD 1 s LIMIT"), SYNTAX);
    assert_eq!(t.c("SINTERCARD 1 s FOO 1"), SYNTAX);
    assert_eq!(
        t.c("SINTERCARD 1 nosuch str"),
        SYNTAX,
        "extra key is an option"
    );
    assert_eq!(t.c("SSCAN s x"), err("ERR invalid cursor"));
    assert_eq!(t.c("SSCAN nosuch x"), err("ERR invalid cursor"));
    assert_eq!(t.c("SSCAN s 0 COUNT 0"), SYNTAX);
    assert_eq!(t.c("SSCAN s 0 COUNT x"), NOTINT);
    assert_eq!(t.c("SSCAN s 0 MATCH"), SYNTAX);
    assert_eq!(t.c("SSCAN s 0 TYPE set"), SYNTAX);
    assert_eq!(t.c("SSCAN nosuch 0 COUNT 0"), "*2\r\n$1\r\n0\r\n*0\r\n");
}

#[test]
fn resp3_reply_types() {
    let s = Server::start();
    let mut t = T::connect(s.port);
    t.q("HELLO 3");
    t.c("SADD s 1 2 3");
    t.c("SADD h a b");
    assert_eq!(t.c("SMEMBERS s"), "~3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
    assert_eq!(t.c("SMEMBERS nosuch"), "~0\r\n");
    assert_eq!(
        t.q("SINTER s s").sorted(),
        R::Agg(
            b'~',
            vec![
                R::Bulk(Some(b"1".to_vec())),
                R::Bulk(Some(b"2".to_vec())),
                R::Bulk(Some(b"3".to_vec()))
            ]
        )
    );
    assert!(t.c("SUNION s h").starts_with("~5\r\n"));
    assert!(t.c("SDIFF s h").starts_with("~3\r\n"));
    assert_eq!(t.c("SMISMEMBER s 1 9"), "*2\r\n:1\r\n:0\r\n");
    assert_eq!(t.c("SPOP nosuch"), "_\r\n");
    assert_eq!(t.c("SPOP nosuch 2"), "~0\r\n");
    assert_eq!(t.c("SPOP s 0"), "~0\r\n");
    assert!(t.c("SPOP h 1").starts_with("~1\r\n"));
    assert!(t.c("SRANDMEMBER s 2").starts_with("*2\r\n"));
    assert_eq!(t.c("SRANDMEMBER nosuch 2"), "*0\r\n");
    assert_eq!(t.c("SRANDMEMBER nosuch"), "_\r\n");
    assert_eq!(
        t.c("SSCAN s 0"),
        "*2\r\n$1\r\n0\r\n*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"
    );
    assert!(t.c("SPOP s 5").starts_with("~3\r\n"));
}

#[test]
fn sscan_small_and_match() {
    let s = Server::start();
    let mut t = T::connect(s.port);
    t.c("SADD i 1 2 10 11 20");
    assert_eq!(
        t.c("SSCAN i 0 COUNT 1"),
        "*2\r\n$1\r\n0\r\n".to_owned() + &arr(&["1", "2", "10", "11", "20"])
    );
    assert_eq!(
        t.c("SSCAN i 0 MATCH 1*"),
        "*2\r\n$1\r\n0\r\n".to_owned() + &arr(&["1", "10", "11"])
    );
    assert_eq!(t.c("SSCAN nosuch 0"), "*2\r\n$1\r\n0\r\n*0\r\n");
    // A hashtable: iterate with a small COUNT, MATCH filters.
    let m: Vec<String> = (0..1000).map(|i| format!("k{i}")).collect();
    let mut args = vec!["SADD", "h"];
    args.extend(m.iter().map(|s| s.as_str()));
    t.qa(&args);
    let mut seen = Vec::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let r = t.qa(&["SSCAN", "h", &cursor, "MATCH", "k1*", "COUNT", "20"]);
        let it = r.items();
        let R::Bulk(Some(c)) = &it[0] else { panic!() };
        cursor = String::from_utf8(c.clone()).unwrap();
        seen.extend(it[1].strings());
        calls += 1;
        if cursor == "0" {
            break;
        }
    }
    assert!(calls > 10, "COUNT is honoured: {calls} calls");
    seen.sort();
    let mut want: Vec<String> = m.into_iter().filter(|k| k.starts_with("k1")).collect();
    want.sort();
    assert_eq!(seen, want);
}

/// Every member present for the whole iteration is returned, while another
/// client adds members and deletes enough of them to compact the table.
#[test]
fn sscan_full_iteration_under_concurrent_writes() {
    let s = Server::start();
    let mut t = T::connect(s.port);
    const STABLE: usize = 30_000;
    const TMP: usize = 120_000;
    for chunk in (0..STABLE).collect::<Vec<_>>().chunks(1000) {
        let m: Vec<String> = chunk.iter().map(|i| format!("stable:{i}")).collect();
        let mut args = vec!["SADD", "big"];
        args.extend(m.iter().map(|s| s.as_str()));
        t.qa(&args);
    }
    for chunk in (0..TMP).collect::<Vec<_>>().chunks(1000) {
        let m: Vec<String> = chunk.iter().map(|i| format!("tmp:{i}")).collect();
        let mut args = vec!["SADD", "big"];
        args.extend(m.iter().map(|s| s.as_str()));
        t.qa(&args);
    }
    let mem_before = t.q("MEMORY USAGE big").int();
    let port = s.port;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let writer = std::thread::spawn(move || {
        let mut w = T::connect(port);
        let mut next = 0;
        let mut added = 0;
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            if next < TMP {
                let m: Vec<String> = (next..(next + 500).min(TMP))
                    .map(|i| format!("tmp:{i}"))
                    .collect();
                next += m.len();
                let mut args = vec!["SREM", "big"];
                args.extend(m.iter().map(|s| s.as_str()));
                w.qa(&args);
            }
            let m: Vec<String> = (added..added + 20).map(|i| format!("new:{i}")).collect();
            added += 20;
            let mut args = vec!["SADD", "big"];
            args.extend(m.iter().map(|s| s.as_str()));
            w.qa(&args);
        }
        next
    });
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let r = t.qa(&["SSCAN", "big", &cursor, "COUNT", "100"]);
        let it = r.items();
        let R::Bulk(Some(c)) = &it[0] else { panic!() };
        cursor = String::from_utf8(c.clone()).unwrap();
        for m in it[1].strings() {
            seen.insert(m);
        }
        calls += 1;
        if cursor == "0" || calls > 1_000_000 {
            break;
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let removed = writer.join().unwrap();
    assert!(
        removed > TMP / 2,
        "the writer made progress during the scan: {removed}"
    );
    for i in 0..STABLE {
        assert!(seen.contains(&format!("stable:{i}")), "stable:{i} missed");
    }
    // Deleting most members compacted the table (which the scan survived).
    let mem_after = t.q("MEMORY USAGE big").int();
    eprintln!("removed {removed}, memory {mem_before} -> {mem_after}");
    if removed == TMP {
        assert!(mem_after * 2 < mem_before, "{mem_before} -> {mem_after}");
    }
}

// ---------------------------------------------------------------- differential

/// Commands whose reply order Redis leaves unspecified: compare sorted.
fn unordered(cmd: &str) -> bool {
    let c = cmd.split(' ').next().unwrap().to_ascii_uppercase();
    matches!(
        c.as_str(),
        "SMEMBERS" | "SINTER" | "SUNION" | "SDIFF" | "SPOP" | "SRANDMEMBER"
    )
}

fn run_script(port: u16, script: &[&str]) -> Vec<R> {
    let mut t = T::connect(port);
    script
        .iter()
        .map(|line| {
            let r = t.q(line);
            if line.starts_with("HELLO") {
                return R::Nil(b'h');
            }
            if unordered(line) {
                r.sorted()
            } else {
                r
            }
        })
        .collect()
}

#[test]
fn replies_match_real_redis() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let s = Server::start();
    let script: &[&str] = &[
        "SADD s1 a b c d e",
        "SADD s1 a f",
        "SADD s2 c d e g h",
        "SADD i1 1 2 3 4 5",
        "SADD i2 4 5 6 7 -1",
        "SCARD s1",
        "SCARD nosuch",
        "SISMEMBER s1 a",
        "SISMEMBER s1 z",
        "SISMEMBER i1 3",
        "SISMEMBER i1 03",
        "SMISMEMBER s1 a z b",
        "SMISMEMBER nosuch a",
        "SMEMBERS s1",
        "SMEMBERS i2",
        "SMEMBERS nosuch",
        "SINTER s1 s2",
        "SINTER s1 nosuch",
        "SINTER i1 i2",
        "SUNION s1 s2 i1",
        "SUNION i1 i2",
        "SDIFF s1 s2",
        "SDIFF i1 i2",
        "SDIFF nosuch s1",
        "SINTERCARD 2 s1 s2",
        "SINTERCARD 2 s1 s2 LIMIT 1",
        "SINTERCARD 2 s1 s2 LIMIT 0",
        "SINTERCARD 1 nosuch",
        "SINTERSTORE d s1 s2",
        "SMEMBERS d",
        "OBJECT ENCODING d",
        "SUNIONSTORE d i1 i2",
        "OBJECT ENCODING d",
        "SMEMBERS d",
        "SDIFFSTORE d i1 i2",
        "SMEMBERS d",
        "SINTERSTORE d s1 nosuch",
        "EXISTS d",
        "SMOVE s1 s2 a",
        "SMOVE s1 s2 a",
        "SMOVE s1 s1 b",
        "SMOVE nosuch s1 a",
        "SMOVE i1 i2 1",
        "OBJECT ENCODING i1",
        "SMEMBERS i2",
        "SREM s1 b z",
        "SREM nosuch a",
        "SET str x",
        "SADD str a",
        "SREM str a",
        "SMEMBERS str",
        "SCARD str",
        "SISMEMBER str a",
        "SMISMEMBER str a",
        "SPOP str",
        "SRANDMEMBER str 0",
        "SINTER nosuch str",
        "SUNIONSTORE d str",
        "SMOVE nosuch str a",
        "SMOVE str s1 a",
        "SMOVE s1 str c",
        "SSCAN str 0",
        "SSCAN i1 0",
        "SSCAN i1 0 MATCH 2*",
        "SSCAN i1 0 COUNT 0",
        "SSCAN i1 x",
        "SSCAN nosuch 0 COUNT 0",
        "SSCAN i1 0 TYPE set",
        "SINTERCARD 0 s1",
        "SINTERCARD 3 s1 s2",
        "SINTERCARD 1 s1 LIMIT -1",
        "SINTERCARD 1 s1 FOO",
        "SPOP s1 -1",
        "SPOP s1 1 2",
        "SPOP s1 x",
        "SRANDMEMBER s1 x",
        "SRANDMEMBER s1 -9223372036854775808",
        "SRANDMEMBER s1 1 2",
        "SRANDMEMBER nosuch 5",
        "SRANDMEMBER nosuch",
        "SPOP nosuch",
        "SPOP nosuch 3",
        "SADD s1",
        "SCARD s1 extra",
        "SMOVE a b",
        "OBJECT ENCODING i2",
        "SADD i2 x",
        "OBJECT ENCODING i2",
        "SPOP s2 0",
        "SRANDMEMBER s2 0",
        "SRANDMEMBER s2 100",
        "SPOP i1 100",
        "EXISTS i1",
        "SADD n 0 -0 00 +1 1",
        "OBJECT ENCODING n",
        "SMEMBERS n",
        "HELLO 3",
        "SMEMBERS s2",
        "SINTER s2 s1",
        "SUNION nosuch",
        "SPOP nosuch 2",
        "SRANDMEMBER s2 100",
        "SMISMEMBER s2 c nope",
        "SSCAN n 0 MATCH -*",
        "SPOP s2 100",
        "SPOP s2",
    ];
    assert!(script.len() >= 50);
    let ours = run_script(s.port, script);
    let theirs = run_script(real.port, script);
    for ((cmd, a), b) in script.iter().zip(&ours).zip(&theirs) {
        assert_eq!(a, b, "reply to {cmd:?} differs (ours, redis)");
    }
}

/// The same large workload gives the same set contents on both servers.
#[test]
fn large_sets_match_real_redis() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let s = Server::start();
    let mut script: Vec<String> = Vec::new();
    for k in 0..4 {
        let m: Vec<String> = (0..3000)
            .filter(|i| i % (k + 2) == 0)
            .map(|i| i.to_string())
            .collect();
        script.push(format!("SADD n{k} {}", m.join(" ")));
        let m: Vec<String> = (0..3000)
            .filter(|i| i % (k + 2) == 0)
            .map(|i| format!("m{i}"))
            .collect();
        script.push(format!("SADD s{k} {}", m.join(" ")));
    }
    for l in [
        "SINTER n0 n1 n2",
        "SUNION n0 n3",
        "SDIFF n0 n1 n2",
        "SINTERCARD 3 s0 s1 s2",
        "SINTERCARD 2 s0 s1 LIMIT 100",
        "SINTERSTORE x s0 s1",
        "SCARD x",
        "SUNIONSTORE y n1 s1",
        "SCARD y",
        "SDIFFSTORE z n0 n1",
        "OBJECT ENCODING z",
        "SMEMBERS z",
        "SREM n0 0 2 4 6",
        "SCARD n0",
        "SMOVE n0 n1 8",
        "SCARD n0",
        "SCARD n1",
        "SRANDMEMBER s0 5000",
        "SINTER s3 nosuch",
    ] {
        script.push(l.to_string());
    }
    let script: Vec<&str> = script.iter().map(|s| s.as_str()).collect();
    let ours = run_script(s.port, &script);
    let theirs = run_script(real.port, &script);
    for ((cmd, a), b) in script.iter().zip(&ours).zip(&theirs) {
        assert!(a == b, "reply to {:?} differs", &cmd[..cmd.len().min(40)]);
    }
}
