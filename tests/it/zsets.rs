//! Sorted-set commands: replies, error texts, encodings and conversion,
//! WRONGTYPE, ZSCAN under concurrent writes, propagation, and a differential
//! check of exact RESP2/RESP3 replies against a real redis-server 7.0.

use crate::common::*;

use redis::Value as V;

fn q<T: redis::FromRedisValue>(c: &mut redis::Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c)
        .unwrap_or_else(|e| panic!("{:?} failed: {:?}", args, e))
}

fn err(c: &mut redis::Connection, args: &[&str]) -> String {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    match cmd.query::<V>(c) {
        Ok(v) => panic!("{:?} should fail, got {:?}", args, v),
        Err(e) => {
            // "ERR text" as the server sent it.
            let code = e.code().unwrap_or("ERR").to_string();
            let detail = e.detail().unwrap_or("").to_string();
            format!("{} {}", code, detail).trim_end().to_string()
        }
    }
}

fn big_zadd(key: &str, n: usize, same_score: bool) -> Vec<String> {
    let mut v = vec!["ZADD".to_string(), key.to_string()];
    for i in 0..n {
        let score = if same_score {
            "0".to_string()
        } else {
            format!("{}", (i * 7919) % 1000) + if i % 3 == 0 { ".5" } else { "" }
        };
        v.push(score);
        v.push(format!("m{:04}", i));
    }
    v
}

/// The differential script: every command's exact reply, in RESP2 and RESP3.
fn script() -> Vec<Vec<String>> {
    let s = |l: &str| l.split(' ').map(String::from).collect::<Vec<_>>();
    let mut v: Vec<Vec<String>> = vec![
        s("ZADD z 1 a 2 b 3 c 4 d 5 e 1.5 f -1 g"),
        s("ZADD z NX 10 a 10 h"),
        s("ZADD z XX CH 11 a 11 zz"),
        s("ZADD z GT CH 0 a 20 b"),
        s("ZADD z LT CH 30 c 0.25 d"),
        s("ZADD z INCR 2.5 e"),
        s("ZADD z GT INCR -1 e"),
        s("ZADD z XX INCR 1 nosuch"),
        s("ZADD z 1"),
        s("ZADD z 1 a 2"),
        s("ZADD z NX XX 1 a"),
        s("ZADD z GT LT 1 a"),
        s("ZADD z NX GT 1 a"),
        s("ZADD z INCR 1 a 2 b"),
        s("ZADD z abc a"),
        s("ZADD z nan a"),
        s("ZADD inf +inf x"),
        s("ZADD inf INCR -inf x"),
        s("ZINCRBY z 0.1 f"),
        s("ZINCRBY z x f"),
        s("ZINCRBY newz 3 m"),
        s("ZSCORE z f"),
        s("ZSCORE z nosuch"),
        s("ZSCORE nokey a"),
        s("ZMSCORE z a nosuch b"),
        s("ZMSCORE nokey a b"),
        s("ZCARD z"),
        s("ZCARD nokey"),
        s("ZCOUNT z -inf +inf"),
        s("ZCOUNT z (1 5"),
        s("ZCOUNT z 1 (5"),
        s("ZCOUNT z 5 1"),
        s("ZCOUNT z a 1"),
        s("ZRANGE z 0 -1"),
        s("ZRANGE z 0 -1 WITHSCORES"),
        s("ZRANGE z -3 -2 WITHSCORES"),
        s("ZRANGE z 5 100"),
        s("ZRANGE z 0 -1 REV WITHSCORES"),
        s("ZRANGE z (1 +inf BYSCORE"),
        s("ZRANGE z +inf (1 BYSCORE REV WITHSCORES"),
        s("ZRANGE z -inf +inf BYSCORE LIMIT 1 3 WITHSCORES"),
        s("ZRANGE z +inf -inf BYSCORE REV LIMIT 2 -1"),
        s("ZRANGE z -inf +inf BYSCORE LIMIT -1 3"),
        s("ZRANGE z 0 -1 LIMIT 0 1"),
        s("ZRANGE z 0 -1 LIMIT 0 -1"),
        s("ZRANGE z - + BYLEX WITHSCORES"),
        s("ZRANGE z a b BYSCORE"),
        s("ZRANGE z a b BYLEX"),
        s("ZRANGE z 0 -1 REV REV"),
        s("ZRANGE z 0 -1 LIMIT 1"),
        s("ZRANGE z x 1"),
        s("ZRANGEBYSCORE z 1 3 WITHSCORES"),
        s("ZRANGEBYSCORE z (1 (3"),
        s("ZRANGEBYSCORE z -inf +inf LIMIT 1 2"),
        s("ZRANGEBYSCORE z -inf +inf BYSCORE"),
        s("ZREVRANGEBYSCORE z +inf -inf WITHSCORES LIMIT 0 3"),
        s("ZREVRANGEBYSCORE z 3 1"),
        s("ZREVRANGE z 0 2 WITHSCORES"),
        s("ZREVRANGE z 0 -1 LIMIT 0 1"),
        s("ZRANK z c"),
        s("ZRANK z nosuch"),
        s("ZREVRANK z c"),
        s("ZRANK nokey c"),
        s("ZADD lex 0 a 0 b 0 c 0 d 0 e 0 f 0 g"),
        s("ZRANGEBYLEX lex - +"),
        s("ZRANGEBYLEX lex [b (e"),
        s("ZRANGEBYLEX lex (b [e LIMIT 1 2"),
        s("ZRANGEBYLEX lex - + WITHSCORES"),
        s("ZREVRANGEBYLEX lex + - LIMIT 0 3"),
        s("ZREVRANGEBYLEX lex [e (b"),
        s("ZRANGEBYLEX lex b c"),
        s("ZRANGE lex [c + BYLEX REV"),
        s("ZRANGE lex + [c BYLEX REV"),
        s("ZLEXCOUNT lex - +"),
        s("ZLEXCOUNT lex [c (f"),
        s("ZLEXCOUNT lex [z [a"),
        s("ZLEXCOUNT lex x y"),
        s("ZRANGESTORE dst z 0 2"),
        s("ZRANGE dst 0 -1 WITHSCORES"),
        s("OBJECT ENCODING dst"),
        s("ZRANGESTORE dst z +inf 3 BYSCORE REV LIMIT 0 2"),
        s("ZRANGE dst 0 -1 WITHSCORES"),
        s("ZRANGESTORE dst z 0 -1 WITHSCORES"),
        s("ZRANGESTORE dst nokey 0 -1"),
        s("EXISTS dst"),
        s("ZREMRANGEBYLEX lex [f +"),
        s("ZREMRANGEBYLEX lex x y"),
        s("ZRANGE lex 0 -1"),
        s("ZREMRANGEBYSCORE z (10 +inf"),
        s("ZREMRANGEBYSCORE z a b"),
        s("ZREMRANGEBYRANK z 0 1"),
        s("ZREMRANGEBYRANK z 10 20"),
        s("ZREMRANGEBYRANK z x 1"),
        s("ZRANGE z 0 -1 WITHSCORES"),
        s("ZPOPMIN z"),
        s("ZPOPMAX z 2"),
        s("ZPOPMIN z 0"),
        s("ZPOPMIN z -1"),
        s("ZPOPMIN z x"),
        s("ZPOPMIN z 1 2"),
        s("ZPOPMIN nokey"),
        s("ZPOPMIN nokey 3"),
        s("ZMPOP 2 nokey z MIN"),
        s("ZMPOP 2 nokey z MAX COUNT 10"),
        s("ZMPOP 1 nokey MIN"),
        s("ZMPOP 0 z MIN"),
        s("ZMPOP 1 z MIN COUNT 0"),
        s("ZMPOP 1 z FOO"),
        s("ZMPOP 3 z MIN"),
        s("EXISTS z"),
        s("ZADD a 1 x 2 y 3 z"),
        s("ZADD b 10 y 20 z 30 w"),
        s("SADD plain y w q"),
        s("ZUNION 2 a b WITHSCORES"),
        s("ZUNION 3 a b plain WITHSCORES"),
        s("ZUNION 2 a b WEIGHTS 2 0.5 AGGREGATE MAX WITHSCORES"),
        s("ZUNION 2 a b AGGREGATE MIN"),
        s("ZINTER 2 a b WITHSCORES"),
        s("ZINTER 3 a b plain WEIGHTS 1 1 5 WITHSCORES"),
        s("ZINTER 2 a nokey"),
        s("ZDIFF 2 a b WITHSCORES"),
        s("ZDIFF 2 a plain"),
        s("ZDIFF 1 a WEIGHTS 1"),
        s("ZUNION 0 a"),
        s("ZUNION 3 a b"),
        s("ZUNION 2 a b WEIGHTS 1 x"),
        s("ZUNION 2 a b WEIGHTS 1"),
        s("ZUNION 2 a b AGGREGATE foo"),
        s("ZUNIONSTORE out 2 a b WEIGHTS 1 2"),
        s("ZRANGE out 0 -1 WITHSCORES"),
        s("OBJECT ENCODING out"),
        s("ZUNIONSTORE out 2 a b WITHSCORES"),
        s("ZINTERSTORE out 2 a b AGGREGATE MAX"),
        s("ZRANGE out 0 -1 WITHSCORES"),
        s("ZDIFFSTORE out 2 a b"),
        s("ZRANGE out 0 -1 WITHSCORES"),
        s("ZINTERSTORE out 2 a nokey"),
        s("EXISTS out"),
        s("ZINTERCARD 2 a b"),
        s("ZINTERCARD 2 a b LIMIT 1"),
        s("ZINTERCARD 3 a b plain"),
        s("ZINTERCARD 0 a"),
        s("ZINTERCARD 3 a b"),
        s("ZINTERCARD 1 a LIMIT -1"),
        s("ZADD wnan 1 x"),
        s("ZADD winf +inf x"),
        s("ZUNION 2 wnan winf WEIGHTS 0 1 WITHSCORES"),
        s("ZADD ninf -inf x"),
        s("ZUNION 2 winf ninf WITHSCORES"),
        s("SET str v"),
        s("ZADD str 1 a"),
        s("ZRANGE str 0 -1"),
        s("ZSCORE str a"),
        s("ZUNION 2 a str"),
        s("ZUNIONSTORE str2 1 a"),
        s("ZRANDMEMBER str"),
        s("ZSCAN str 0"),
        s("ZPOPMIN str 0"),
        s("ZRANDMEMBER a 10 WITHSCORES"),
        s("ZRANDMEMBER a 3"),
        s("ZRANDMEMBER a 0"),
        s("ZRANDMEMBER nokey 5"),
        s("ZRANDMEMBER nokey"),
        s("ZRANDMEMBER a 1 foo"),
        s("ZRANDMEMBER a x"),
        s("ZRANDMEMBER a -9223372036854775808"),
        s("ZRANDMEMBER a 5000000000000000000 WITHSCORES"),
        s("ZSCAN a 0"),
        s("ZSCAN a 0 MATCH *y* COUNT 5"),
        s("ZSCAN a x"),
        s("ZSCAN a 0 COUNT 0"),
        s("ZSCAN a 0 FOO"),
        s("ZSCAN nokey 0 FOO"),
        s("ZADD dbl 0.1 a 1e20 b 1.5e-7 c -0 d 123456789012345678 e"),
        s("ZRANGE dbl 0 -1 WITHSCORES"),
        s("ZSCORE dbl a"),
        s("OBJECT ENCODING a"),
    ];
    // Large sets: skiplist encoding, conversion, ranges over many members.
    v.push(big_zadd("big", 300, false));
    v.push(big_zadd("biglex", 300, true));
    for l in [
        "OBJECT ENCODING big",
        "ZCARD big",
        "ZRANGE big 100 110 WITHSCORES",
        "ZRANGE big -5 -1 REV WITHSCORES",
        "ZRANGEBYSCORE big (500 600 WITHSCORES LIMIT 3 7",
        "ZREVRANGEBYSCORE big 600 (500 LIMIT 2 5",
        "ZCOUNT big 100.5 (900",
        "ZRANK big m0150",
        "ZREVRANK big m0150",
        "ZSCORE big m0299",
        "ZRANGEBYLEX biglex [m0100 (m0110",
        "ZREVRANGEBYLEX biglex (m0200 - LIMIT 5 5",
        "ZLEXCOUNT biglex (m0050 [m0250",
        "ZREMRANGEBYRANK big 0 9",
        "ZREMRANGEBYSCORE big 990 +inf",
        "ZREMRANGEBYLEX biglex - (m0100",
        "ZRANGE biglex 0 4",
        "ZPOPMAX big 3",
        "ZMPOP 1 big MIN COUNT 2",
        "ZINTERSTORE small 2 big a",
        "ZUNIONSTORE bu 2 big biglex AGGREGATE MAX",
        "OBJECT ENCODING bu",
        "ZRANGE bu 0 9 WITHSCORES",
        "ZINTERSTORE bi 2 big biglex WEIGHTS 1 0",
        "OBJECT ENCODING bi",
        "ZCARD bi",
        "ZRANGESTORE bs big 0 9",
        "OBJECT ENCODING bs",
        "ZRANGESTORE bs2 big 0 199",
        "OBJECT ENCODING bs2",
        "ZDIFF 2 big biglex",
        "ZADD longm 1 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "OBJECT ENCODING longm",
        "ZADD conv 1 a",
        "ZADD conv 2 bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
        "OBJECT ENCODING conv",
    ] {
        v.push(s(l));
    }
    v
}

#[test]
fn differential_against_real_redis() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let ours = Server::start();
    let mut checked = 0;
    for proto in ["2", "3"] {
        let mut a = RespConn::connect(ours.port);
        let mut b = RespConn::connect(real.port);
        a.call(&["FLUSHALL"]);
        b.call(&["FLUSHALL"]);
        if proto == "3" {
            a.call(&["HELLO", "3"]);
            b.call(&["HELLO", "3"]);
        }
        // Plain-set inputs need SADD (the sets family); skip them until it exists.
        let has_sets = !a.call(&["SADD", "probe", "x"]).starts_with(b"-");
        a.call(&["DEL", "probe"]);
        for cmd in script() {
            if !has_sets && cmd.iter().any(|a| a == "plain") {
                continue;
            }
            let args: Vec<&str> = cmd.iter().map(|s| s.as_str()).collect();
            let ra = a.call(&args);
            let rb = b.call(&args);
            assert_eq!(
                String::from_utf8_lossy(&ra),
                String::from_utf8_lossy(&rb),
                "RESP{} reply to {:?} (left: rsredis, right: redis-server)",
                proto,
                &args[..args.len().min(8)]
            );
            checked += 1;
        }
    }
    eprintln!("differential: {} replies identical", checked);
}

#[test]
fn zadd_options_and_errors() {
    let s = Server::start();
    let mut c = s.client();
    assert_eq!(q::<i64>(&mut c, &["ZADD", "z", "1", "a", "2", "b"]), 2);
    assert_eq!(
        q::<i64>(&mut c, &["ZADD", "z", "CH", "5", "a", "3", "c"]),
        2
    );
    assert_eq!(q::<i64>(&mut c, &["ZADD", "z", "NX", "9", "a"]), 0);
    assert_eq!(q::<String>(&mut c, &["ZSCORE", "z", "a"]), "5");
    assert_eq!(
        err(&mut c, &["ZADD", "z", "NX", "XX", "1", "a"]),
        "ERR XX and NX options at the same time are not compatible"
    );
    assert_eq!(
        err(&mut c, &["ZADD", "z", "GT", "LT", "1", "a"]),
        "ERR GT, LT, and/or NX options at the same time are not compatible"
    );
    assert_eq!(
        err(&mut c, &["ZADD", "z", "INCR", "1", "a", "2", "b"]),
        "ERR INCR option supports a single increment-element pair"
    );
    assert_eq!(
        err(&mut c, &["ZADD", "z", "x", "a"]),
        "ERR value is not a valid float"
    );
    q::<i64>(&mut c, &["ZADD", "i", "inf", "a"]);
    assert_eq!(
        err(&mut c, &["ZINCRBY", "i", "-inf", "a"]),
        "ERR resulting score is not a number (NaN)"
    );
    assert_eq!(q::<String>(&mut c, &["ZSCORE", "i", "a"]), "inf");
    assert_eq!(
        q::<Option<String>>(&mut c, &["ZADD", "z", "GT", "INCR", "-1", "a"]),
        None
    );
    assert_eq!(
        q::<String>(&mut c, &["ZINCRBY", "z", "0.1", "a"]),
        "5.0999999999999996"
    );
    q::<()>(&mut c, &["SET", "s", "x"]);
    for cmd in [
        vec!["ZADD", "s", "1", "a"],
        vec!["ZRANGE", "s", "0", "-1"],
        vec!["ZCARD", "s"],
        vec!["ZREM", "s", "a"],
        vec!["ZSCAN", "s", "0"],
        vec!["ZPOPMIN", "s"],
        vec!["ZINTERCARD", "1", "s"],
        vec!["ZMPOP", "1", "s", "MIN"],
    ] {
        assert!(err(&mut c, &cmd).starts_with("WRONGTYPE"), "{:?}", cmd);
    }
}

#[test]
fn encodings_and_conversion() {
    let s = Server::with_config("zset-max-listpack-entries = 4\nzset-max-listpack-value = 8\n");
    let mut c = s.client();
    q::<i64>(
        &mut c,
        &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"],
    );
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "z"]),
        "listpack"
    );
    q::<i64>(&mut c, &["ZADD", "z", "5", "e"]);
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "z"]),
        "skiplist"
    );
    // One way: shrinking does not convert back.
    q::<i64>(&mut c, &["ZREMRANGEBYRANK", "z", "0", "3"]);
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "z"]),
        "skiplist"
    );
    // A long member converts.
    q::<i64>(&mut c, &["ZADD", "y", "1", "a"]);
    q::<i64>(&mut c, &["ZADD", "y", "1", "abcdefghi"]);
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "y"]),
        "skiplist"
    );
    // Store results convert back when they fit.
    q::<i64>(&mut c, &["ZUNIONSTORE", "u", "1", "z"]);
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "u"]),
        "listpack"
    );
    // CONFIG SET applies to new conversions.
    q::<()>(&mut c, &["CONFIG", "SET", "zset-max-listpack-entries", "0"]);
    q::<i64>(&mut c, &["ZADD", "n", "1", "a"]);
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "n"]),
        "skiplist"
    );
    // Both encodings answer the same.
    let a: Vec<String> = q(&mut c, &["ZRANGE", "u", "0", "-1", "WITHSCORES"]);
    let b: Vec<String> = q(&mut c, &["ZRANGE", "z", "0", "-1", "WITHSCORES"]);
    assert_eq!(a, b);
    assert_eq!(a, vec!["e", "5"]);
    // COPY keeps an independent copy.
    q::<i64>(&mut c, &["COPY", "z", "z2"]);
    q::<i64>(&mut c, &["ZADD", "z2", "9", "q"]);
    assert_eq!(q::<i64>(&mut c, &["ZCARD", "z"]), 1);
    assert_eq!(q::<i64>(&mut c, &["ZCARD", "z2"]), 2);
}

#[test]
fn zscan_under_concurrent_writes() {
    let s = Server::start();
    let mut c = s.client();
    let mut args = vec!["ZADD".to_string(), "z".to_string()];
    for i in 0..2000 {
        args.push(i.to_string());
        args.push(format!("stable{i}"));
    }
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    assert_eq!(q::<i64>(&mut c, &a), 2000);
    let mut seen = std::collections::HashSet::new();
    let mut cursor = "0".to_string();
    let mut round = 0;
    loop {
        let (next, items): (String, Vec<String>) =
            q(&mut c, &["ZSCAN", "z", &cursor, "COUNT", "50"]);
        for pair in items.chunks(2) {
            seen.insert(pair[0].clone());
        }
        // Concurrent writes: add, remove volatile members, rescore stable ones.
        round += 1;
        for k in 0..20 {
            let m = format!("vol{}_{}", round, k);
            q::<i64>(&mut c, &["ZADD", "z", &k.to_string(), &m]);
        }
        if round > 1 {
            let m = format!("vol{}_{}", round - 1, 3);
            q::<i64>(&mut c, &["ZREM", "z", &m]);
        }
        let m = format!("stable{}", round * 7 % 2000);
        q::<String>(&mut c, &["ZINCRBY", "z", "1000", &m]);
        cursor = next;
        if cursor == "0" {
            break;
        }
        assert!(round < 10_000, "scan does not terminate");
    }
    for i in 0..2000 {
        assert!(seen.contains(&format!("stable{i}")), "stable{i} missed");
    }
    // Small sets come back whole with cursor 0.
    q::<i64>(&mut c, &["ZADD", "small", "1", "a", "2", "b"]);
    let (next, items): (String, Vec<String>) = q(&mut c, &["ZSCAN", "small", "0", "COUNT", "1"]);
    assert_eq!(next, "0");
    assert_eq!(items, vec!["a", "1", "b", "2"]);
}

#[test]
fn pops_and_random_members() {
    let s = Server::start();
    let mut c = s.client();
    q::<i64>(&mut c, &["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    let v: Vec<String> = q(&mut c, &["ZRANDMEMBER", "z", "-10"]);
    assert_eq!(v.len(), 10);
    assert!(v.iter().all(|m| ["a", "b", "c"].contains(&m.as_str())));
    let mut v: Vec<String> = q(&mut c, &["ZRANDMEMBER", "z", "2"]);
    v.sort();
    v.dedup();
    assert_eq!(v.len(), 2);
    let m: String = q(&mut c, &["ZRANDMEMBER", "z"]);
    assert!(["a", "b", "c"].contains(&m.as_str()));
    let v: Vec<String> = q(&mut c, &["ZPOPMAX", "z", "2"]);
    assert_eq!(v, vec!["c", "3", "b", "2"]);
    let v: Vec<String> = q(&mut c, &["ZPOPMIN", "z", "5"]);
    assert_eq!(v, vec!["a", "1"]);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "z"]), 0);
    // Big set: distinct random sample.
    let mut args = vec!["ZADD".to_string(), "big".to_string()];
    for i in 0..500 {
        args.push(i.to_string());
        args.push(format!("m{i}"));
    }
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    q::<i64>(&mut c, &a);
    let mut v: Vec<String> = q(&mut c, &["ZRANDMEMBER", "big", "100"]);
    v.sort();
    v.dedup();
    assert_eq!(v.len(), 100);
}

/// ZMPOP nests [member, score] pairs under the key (RESP2 too); the
/// propagated ZREM form is checked by the unit tests in cmd/zsets.rs.
#[test]
fn zmpop_reply_shape() {
    let s = Server::start();
    let mut c = s.client();
    q::<i64>(&mut c, &["ZADD", "z", "1", "a", "1", "b", "2", "c"]);
    let v: V = q(&mut c, &["ZMPOP", "1", "z", "MIN", "COUNT", "2"]);
    assert_eq!(
        v,
        V::Array(vec![
            V::BulkString(b"z".to_vec()),
            V::Array(vec![
                V::Array(vec![
                    V::BulkString(b"a".to_vec()),
                    V::BulkString(b"1".to_vec())
                ]),
                V::Array(vec![
                    V::BulkString(b"b".to_vec()),
                    V::BulkString(b"1".to_vec())
                ]),
            ]),
        ])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANGE", "z", "0", "-1"]),
        vec!["c"]
    );
}
