//! The non-blocking LIST family: LSET, LREM, LTRIM, LINSERT, LPOS, LMOVE,
//! RPOPLPUSH, LMPOP (plus the basic commands in lists_basic.rs): exact
//! replies and error texts, WRONGTYPE, deletion of emptied lists, multi-node
//! lists, and a differential run of raw replies against a real redis-server.
use crate::common::reply::*;
use crate::common::*;

type T = RespConn;

fn ints(items: &[i64]) -> String {
    let mut s = format!("*{}\r\n", items.len());
    for i in items {
        s.push_str(&int(*i));
    }
    s
}

const NULL_ARRAY: &str = "*-1\r\n";
const RANK0: &str = "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list\r\n";

#[test]
fn lset_and_lindex() {
    let s = Server::start();
    let mut t = T::connect(s.port);
    assert_eq!(t.c("LSET nokey 0 x"), err("ERR no such key"));
    assert_eq!(t.c("LSET nokey x x"), err("ERR no such key"));
    assert_eq!(t.c("RPUSH l a b c"), int(3));
    assert_eq!(t.c("LSET l 0 A"), OK);
    assert_eq!(t.c("LSET l -1 C"), OK);
    assert_eq!(t.c("LSET l 1 a-much-longer-element"), OK);
    assert_eq!(
        t.c("LRANGE l 0 -1"),
        arr(&["A", "a-much-longer-element", "C"])
    );
    assert_eq!(t.c("LSET l 3 x"), err("ERR index out of range"));
    assert_eq!(t.c("LSET l -4 x"), err("ERR index out of range"));
    assert_eq!(t.c("LSET l x x"), NOTINT);
    assert_eq!(t.c("LINDEX l -3"), bulk("A"));
    assert_eq!(
        t.c("LSET l 0"),
        err("ERR wrong number of arguments for 'lset' command")
    );
}

#[test]
fn lrem_counts_and_directions() {
    let s = Server::start();
    let mut t = T::connect(s.port);
    assert_eq!(t.c("LREM nokey 0 a"), int(0));
    assert_eq!(t.c("RPUSH l a b a c a d a"), int(7));
    assert_eq!(t.c("LREM l 2 a"), int(2));
    assert_eq!(t.c("LRANGE l 0 -1"), arr(&["b", "c", "a", "d", "a"]));
    assert_eq!(t.c("RPUSH l a"), int(6));
    assert_eq!(t.c("LREM l -2 a"), int(2));
    assert_eq!(t.c("LRANGE l 0 -1"), arr(&["b", "c", "a", "d"]));
    assert_eq!(t.c("LREM l 0 zz"), int(0));
    assert_eq!(t.c("LREM l x a"), NOTINT);
    assert_eq!(t.c("LREM l 0 a"), int(1));
    // Removing everything deletes the key.
    for e in ["b", "c", "d"] {
        assert_eq!(t.c(&format!("LREM l -100 {e}")), int(1));
    }
    assert_eq!(t.c("EXISTS l"), int(0));
}

#[test]
fn ltrim_ranges() {
    let s = Server::start();
    let mut t = T::connect(s.port);
    assert_eq!(t.c("LTRIM nokey 0 1"), OK);
    assert_eq!(t.c("EXISTS nokey"), int(0));
    assert_eq!(t.c("RPUSH l 1 2 3 4 5 6"), int(6));
    assert_eq!(t.c("LTRIM l 1 -2"), OK);
    assert_eq!(t.c("LRANGE l 0 -1"), arr(&["2", "3", "4", "5"]));
    assert_eq!(t.c("LTRIM l -100 100"), OK);
    assert_eq!(t.c("LLEN l"), int(4));
    assert_eq!(t.c("LTRIM l 1 1"), OK);
    assert_eq!(t.c("LRANGE l 0 -1"), arr(&["3"]));
    assert_eq!(t.c("LTRIM l x 1"), NOTINT);
    assert_eq!(t.c("LTRIM l 0 y"), NOTINT);
    // An empty range deletes the key.
    assert_eq!(t.c("LTRIM l 2 1"), OK);
    assert_eq!(t.c("EXISTS l"), int(0));
    assert_eq!(t.c("RPUSH l a b"), int(2));
    assert_eq!(t.c("LTRIM l 5 10"), OK);
    assert_eq!(t.c("EXISTS l"), int(0));
}

#[test]
fn linsert_before_after() {
    let s = Server::start();
    let mut t = T::connect(s.port);
    assert_eq!(t.c("LINSERT nokey BEFORE a b"), int(0));
    assert_eq!(t.c("EXISTS nokey"), int(0));
    assert_eq!(t.c("RPUSH l a c"), int(2));
    assert_eq!(t.c("LINSERT l BEFORE c b"), int(3));
    assert_eq!(t.c("LINSERT l after c d"), int(4));
    assert_eq!(t.c("LINSERT l BEFORE a _"), int(5));
    assert_eq!(t.c("LINSERT l AFTER zz x"), int(-1));
    assert_eq!(t.c("LRANGE l 0 -1"), arr(&["_", "a", "b", "c", "d"]));
    assert_eq!(t.c("LINSERT l MIDDLE a x"), SYNTAX);
    assert_eq!(t.c("LINSERT nokey MIDDLE a x"), SYNTAX);
    // Only the first matching pivot counts.
    assert_eq!(t.c("RPUSH m x x"), int(2));
    assert_eq!(t.c("LINSERT m AFTER x y"), int(3));
    assert_eq!(t.c("LRANGE m 0 -1"), arr(&["x", "y", "x"]));
}

#[test]
fn lpos_options() {
    let s = Server::start();
    let mut t = T::connect(s.port);
    assert_eq!(t.c("LPOS nokey a"), NIL);
    assert_eq!(t.c("LPOS nokey a COUNT 0"), "*0\r\n");
    assert_eq!(t.c("LPOS nokey a RANK 0"), RANK0);
    assert_eq!(t.c("RPUSH l a b c 1 2 3 c c"), int(8));
    assert_eq!(t.c("LPOS l c"), int(2));
    assert_eq!(t.c("LPOS l zz"), NIL);
    assert_eq!(t.c("LPOS l c RANK 2"), int(6));
    assert_eq!(t.c("LPOS l c RANK -1"), int(7));
    assert_eq!(t.c("LPOS l c RANK -3"), int(2));
    assert_eq!(t.c("LPOS l c RANK 4"), NIL);
    assert_eq!(t.c("LPOS l c COUNT 2"), ints(&[2, 6]));
    assert_eq!(t.c("LPOS l c COUNT 0"), ints(&[2, 6, 7]));
    assert_eq!(t.c("LPOS l c COUNT 0 RANK -1"), ints(&[7, 6, 2]));
    assert_eq!(t.c("LPOS l c COUNT 0 RANK 2"), ints(&[6, 7]));
    assert_eq!(t.c("LPOS l c COUNT 0 MAXLEN 7"), ints(&[2, 6]));
    assert_eq!(t.c("LPOS l c COUNT 0 RANK -1 MAXLEN 2"), ints(&[7, 6]));
    assert_eq!(t.c("LPOS l c MAXLEN 2"), NIL);
    assert_eq!(t.c("LPOS l zz COUNT 5"), "*0\r\n");
    assert_eq!(t.c("LPOS l c RANK 0"), RANK0);
    assert_eq!(t.c("LPOS l c RANK x"), NOTINT);
    assert_eq!(t.c("LPOS l c COUNT -1"), err("ERR COUNT can't be negative"));
    assert_eq!(t.c("LPOS l c COUNT x"), err("ERR COUNT can't be negative"));
    assert_eq!(
        t.c("LPOS l c MAXLEN -1"),
        err("ERR MAXLEN can't be negative")
    );
    assert_eq!(t.c("LPOS l c FOO 1"), SYNTAX);
    assert_eq!(t.c("LPOS l c RANK"), SYNTAX);
}

#[test]
fn lmove_and_rpoplpush() {
    let s = Server::start();
    let mut t = T::connect(s.port);
    assert_eq!(t.c("LMOVE nokey dst LEFT RIGHT"), NIL);
    assert_eq!(t.c("EXISTS dst"), int(0));
    assert_eq!(t.c("RPUSH src a b c"), int(3));
    assert_eq!(t.c("LMOVE src dst LEFT RIGHT"), bulk("a"));
    assert_eq!(t.c("LMOVE src dst right left"), bulk("c"));
    assert_eq!(t.c("LRANGE dst 0 -1"), arr(&["c", "a"]));
    assert_eq!(t.c("RPOPLPUSH src dst"), bulk("b"));
    // The emptied source is gone.
    assert_eq!(t.c("EXISTS src"), int(0));
    assert_eq!(t.c("LRANGE dst 0 -1"), arr(&["b", "c", "a"]));
    // Same key: a rotation.
    assert_eq!(t.c("LMOVE dst dst LEFT RIGHT"), bulk("b"));
    assert_eq!(t.c("LRANGE dst 0 -1"), arr(&["c", "a", "b"]));
    assert_eq!(t.c("RPOPLPUSH dst dst"), bulk("b"));
    assert_eq!(t.c("LRANGE dst 0 -1"), arr(&["b", "c", "a"]));
    assert_eq!(t.c("LMOVE dst dst LEFT LEFT"), bulk("b"));
    assert_eq!(t.c("LRANGE dst 0 -1"), arr(&["b", "c", "a"]));
    // A one-element list rotated onto itself survives.
    assert_eq!(t.c("RPUSH one x"), int(1));
    assert_eq!(t.c("LMOVE one one RIGHT LEFT"), bulk("x"));
    assert_eq!(t.c("LRANGE one 0 -1"), arr(&["x"]));
    // Wrong destination type: nothing moves.
    assert_eq!(t.c("SET str v"), OK);
    assert_eq!(t.c("LMOVE one str LEFT LEFT"), WRONGTYPE);
    assert_eq!(t.c("RPOPLPUSH one str"), WRONGTYPE);
    assert_eq!(t.c("LLEN one"), int(1));
    assert_eq!(t.c("LMOVE str one LEFT LEFT"), WRONGTYPE);
    // A missing source wins over a wrong-type destination.
    assert_eq!(t.c("LMOVE nokey str LEFT LEFT"), NIL);
    assert_eq!(t.c("LMOVE one dst UP LEFT"), SYNTAX);
    assert_eq!(t.c("LMOVE one dst LEFT DOWN"), SYNTAX);
}

#[test]
fn lmpop_forms_and_errors() {
    let s = Server::start();
    let mut t = T::connect(s.port);
    assert_eq!(t.c("LMPOP 2 a b LEFT"), NULL_ARRAY);
    assert_eq!(t.c("RPUSH b 1 2 3 4"), int(4));
    assert_eq!(
        t.c("LMPOP 2 a b LEFT"),
        format!("*2\r\n{}{}", bulk("b"), arr(&["1"]))
    );
    assert_eq!(
        t.c("LMPOP 2 a b RIGHT COUNT 2"),
        format!("*2\r\n{}{}", bulk("b"), arr(&["4", "3"]))
    );
    assert_eq!(
        t.c("LMPOP 1 b left count 10"),
        format!("*2\r\n{}{}", bulk("b"), arr(&["2"]))
    );
    assert_eq!(t.c("EXISTS b"), int(0));
    for bad in ["LMPOP 0 a LEFT", "LMPOP -1 a LEFT", "LMPOP x a LEFT"] {
        assert_eq!(
            t.c(bad),
            err("ERR numkeys should be greater than 0"),
            "{bad}"
        );
    }
    for bad in [
        "LMPOP 3 a b LEFT",
        "LMPOP 1 a UP",
        "LMPOP 1 a LEFT COUNT",
        "LMPOP 1 a LEFT COUNT 1 COUNT 2",
        "LMPOP 1 a LEFT FOO",
        "LMPOP 9223372036854775807 a LEFT",
    ] {
        assert_eq!(t.c(bad), SYNTAX, "{bad}");
    }
    for bad in ["LMPOP 1 a LEFT COUNT 0", "LMPOP 1 a LEFT COUNT x"] {
        assert_eq!(t.c(bad), err("ERR count should be greater than 0"), "{bad}");
    }
    assert_eq!(
        t.c("LMPOP 1 a"),
        err("ERR wrong number of arguments for 'lmpop' command")
    );
    // WRONGTYPE only when reached before a non-empty list.
    assert_eq!(t.c("SET s v"), OK);
    assert_eq!(t.c("RPUSH l x y"), int(2));
    assert_eq!(
        t.c("LMPOP 2 l s LEFT"),
        format!("*2\r\n{}{}", bulk("l"), arr(&["x"]))
    );
    assert_eq!(t.c("LMPOP 2 s l LEFT"), WRONGTYPE);
    // RESP3: the empty reply is a null.
    t.c("HELLO 3");
    assert_eq!(t.c("LMPOP 1 none LEFT"), "_\r\n");
}

#[test]
fn wrongtype_for_every_new_command() {
    let s = Server::start();
    let mut t = T::connect(s.port);
    assert_eq!(t.c("SET s v"), OK);
    for cmd in [
        "LSET s 0 x",
        "LREM s 0 x",
        "LTRIM s 0 1",
        "LINSERT s BEFORE a b",
        "LPOS s a",
        "LMOVE s d LEFT LEFT",
        "RPOPLPUSH s d",
        "LMPOP 1 s LEFT",
    ] {
        assert_eq!(t.c(cmd), WRONGTYPE, "{cmd}");
    }
    assert_eq!(t.c("GET s"), bulk("v"));
    assert_eq!(t.c("EXISTS d"), int(0));
}

#[test]
fn object_encoding_and_type() {
    let s = Server::start();
    let mut t = T::connect(s.port);
    assert_eq!(t.c("RPUSH l a"), int(1));
    assert_eq!(t.c("OBJECT ENCODING l"), bulk("quicklist"));
    assert_eq!(t.c("TYPE l"), "+list\r\n");
}

/// Small nodes (4 entries each) make every command cross node boundaries.
#[test]
fn many_nodes_behave_like_one() {
    let s = Server::with_config("list-max-listpack-size = 4\n");
    let mut t = T::connect(s.port);
    let mut model: Vec<String> = Vec::new();
    for i in 0..40 {
        t.c(&format!("RPUSH l e{i}"));
        model.push(format!("e{i}"));
    }
    let check = |t: &mut T, model: &Vec<String>| {
        let items: Vec<&str> = model.iter().map(|s| s.as_str()).collect();
        assert_eq!(t.c("LRANGE l 0 -1"), arr(&items));
        assert_eq!(t.c("LLEN l"), int(model.len() as i64));
    };
    assert_eq!(t.c("LSET l 17 X"), OK);
    model[17] = "X".into();
    assert_eq!(t.c("LINSERT l BEFORE e9 Y"), int(41));
    model.insert(9, "Y".into());
    assert_eq!(t.c("LINSERT l AFTER e30 Z"), int(42));
    model.insert(32, "Z".into());
    check(&mut t, &model);
    assert_eq!(t.c("LRANGE l 10 13"), arr(&["e9", "e10", "e11", "e12"]));
    assert_eq!(t.c("LINDEX l 33"), bulk(&model[33]));
    assert_eq!(t.c("LPOS l Z"), int(32));
    for i in (0..40).step_by(3) {
        t.c(&format!("LREM l 0 e{i}"));
        model.retain(|e| *e != format!("e{i}"));
    }
    check(&mut t, &model);
    assert_eq!(t.c("LTRIM l 3 -4"), OK);
    model = model[3..model.len() - 3].to_vec();
    check(&mut t, &model);
    assert_eq!(t.c("LMOVE l l LEFT RIGHT"), bulk(&model[0]));
    model.rotate_left(1);
    check(&mut t, &model);
    // Larger elements than a node's budget still work.
    let big = "x".repeat(20_000);
    assert_eq!(t.c(&format!("LSET l 5 {big}")), OK);
    model[5] = big.clone();
    assert_eq!(
        t.c(&format!("LINSERT l BEFORE {big} {big}")),
        int(model.len() as i64 + 1)
    );
    model.insert(5, big);
    check(&mut t, &model);
}

/// A list deleted on becoming empty leaves no trace for any command.
#[test]
fn emptied_lists_are_deleted() {
    let s = Server::start();
    let mut t = T::connect(s.port);
    for (fill, empty) in [
        ("RPUSH l a", "LPOP l"),
        ("RPUSH l a", "RPOP l 5"),
        ("RPUSH l a a", "LREM l 0 a"),
        ("RPUSH l a", "LTRIM l 1 0"),
        ("RPUSH l a", "LMOVE l other LEFT LEFT"),
        ("RPUSH l a", "RPOPLPUSH l other"),
        ("RPUSH l a b", "LMPOP 1 l RIGHT COUNT 2"),
    ] {
        t.c(fill);
        t.c(empty);
        assert_eq!(t.c("EXISTS l"), int(0), "{empty}");
        assert_eq!(t.c("TYPE l"), "+none\r\n");
        t.c("DEL other");
    }
}

#[test]
fn differential_against_real_redis() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let s = Server::start();
    let mut ours = T::connect(s.port);
    let mut theirs = T::connect(real.port);
    // Make sure the other side really is the redis-server we started.
    let info = theirs.c("INFO server");
    assert!(
        info.contains(&format!("process_id:{}\r\n", real.child.id())),
        "not our redis-server"
    );
    let mut script: Vec<String> = [
        "RPUSH l a b c a b c a",
        "LPUSH l z y",
        "LRANGE l 0 -1",
        "LSET l 0 Y",
        "LSET l -1 A",
        "LSET l 9 x",
        "LSET l -10 x",
        "LSET l x x",
        "LSET nokey 0 x",
        "LSET nokey x x",
        "LREM l 1 a",
        "LREM l -1 b",
        "LREM l 0 c",
        "LREM l 0 nothing",
        "LREM l x a",
        "LRANGE l 0 -1",
        "LINSERT l BEFORE b B",
        "LINSERT l AFTER A end",
        "LINSERT l AFTER nothing x",
        "LINSERT nokey AFTER a x",
        "LINSERT l SIDEWAYS a x",
        "LRANGE l 0 -1",
        "LPOS l b",
        "LPOS l b RANK -1",
        "LPOS l b COUNT 0",
        "LPOS l b COUNT 0 RANK -2 MAXLEN 100",
        "LPOS l nothing",
        "LPOS l nothing COUNT 3",
        "LPOS nokey a",
        "LPOS nokey a COUNT 1",
        "LPOS l b RANK 0",
        "LPOS l b COUNT -2",
        "LPOS l b MAXLEN -2",
        "LPOS l b MAXLEN x",
        "LPOS l b RANK x",
        "LPOS l b BOGUS 1",
        "LPOS l b COUNT",
        "LTRIM l 1 -2",
        "LRANGE l 0 -1",
        "LTRIM l 0 100",
        "LTRIM l x 0",
        "LTRIM nokey 0 1",
        "LMOVE l m LEFT RIGHT",
        "LMOVE l m RIGHT LEFT",
        "LMOVE l l LEFT RIGHT",
        "LMOVE l l RIGHT RIGHT",
        "LMOVE nokey m LEFT LEFT",
        "LMOVE l m NOWHERE LEFT",
        "RPOPLPUSH l m",
        "RPOPLPUSH m m",
        "RPOPLPUSH nokey m",
        "LRANGE l 0 -1",
        "LRANGE m 0 -1",
        "LMPOP 2 nokey m LEFT",
        "LMPOP 2 nokey m RIGHT COUNT 2",
        "LMPOP 1 nokey LEFT",
        "LMPOP 0 m LEFT",
        "LMPOP x m LEFT",
        "LMPOP 2 m LEFT",
        "LMPOP 1 m MIDDLE",
        "LMPOP 1 m LEFT COUNT 0",
        "LMPOP 1 m LEFT COUNT -3",
        "LMPOP 1 m LEFT COUNT 1 COUNT 1",
        "LMPOP 1 m LEFT EXTRA",
        "LMPOP 1 m",
        "LPOP l 0",
        "LPOP nokey 0",
        "LPOP l -1",
        "RPOP l 2",
        "LPOP l 100",
        "EXISTS l",
        "SET s v",
        "LSET s 0 x",
        "LREM s 0 x",
        "LTRIM s 0 1",
        "LINSERT s BEFORE a b",
        "LPOS s a",
        "LMOVE s m LEFT LEFT",
        "LMOVE m s LEFT LEFT",
        "RPOPLPUSH m s",
        "LMPOP 2 nokey s LEFT",
        "LSET l",
        "LINSERT l BEFORE a",
        "LPOS l",
        "RPOPLPUSH l",
        "LMOVE a b LEFT",
        "OBJECT ENCODING m",
        "TYPE m",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // A long list crossing many nodes.
    let long: Vec<String> = (0..3000).map(|i| format!("item-{}", i % 700)).collect();
    script.push(format!("RPUSH big {}", long.join(" ")));
    script.extend(
        [
            "LINDEX big 1500",
            "LINDEX big -1234",
            "LSET big 2000 changed",
            "LINSERT big BEFORE item-699 before",
            "LINSERT big AFTER changed after",
            "LPOS big item-5 COUNT 0",
            "LPOS big item-5 RANK -2 COUNT 2",
            "LPOS big item-5 RANK 3 MAXLEN 1500",
            "LREM big 2 item-10",
            "LREM big -2 item-11",
            "LRANGE big 1990 2010",
            "LTRIM big 100 -100",
            "LRANGE big -5 -1",
            "LMPOP 1 big RIGHT COUNT 5",
            "LREM big 0 item-1",
            "LLEN big",
            "LRANGE big 0 20",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    for line in &script {
        let a = ours.c(line);
        let b = theirs.c(line);
        let shown: String = line.chars().take(80).collect();
        assert_eq!(a, b, "reply to {shown:?} differs (ours left)");
    }
    // The same in RESP3 for the null shapes.
    ours.c("HELLO 3");
    theirs.c("HELLO 3");
    for line in [
        "LPOP nokey",
        "LPOP nokey 2",
        "LMPOP 1 nokey LEFT",
        "LPOS nokey a",
        "LPOS m nothing",
        "LMOVE nokey m LEFT LEFT",
        "LINDEX m 100",
        "LMPOP 1 m LEFT",
    ] {
        assert_eq!(ours.c(line), theirs.c(line), "RESP3 reply to {line:?}");
    }
    assert!(script.len() > 100);
}

/// No-op writes leave WATCHers alone, except LTRIM, which (as in Redis)
/// always signals the key.
#[test]
fn watch_sees_only_real_changes() {
    let s = Server::start();
    let mut a = T::connect(s.port);
    let mut b = T::connect(s.port);
    for (other, aborts) in [
        ("LREM l 0 zz", false),
        ("LINSERT l BEFORE zz x", false),
        ("LPOP l 0", false),
        ("LMOVE nokey l LEFT LEFT", false),
        ("LPOS l a", false),
        ("LTRIM l 0 -1", true),
        ("LREM l 1 a", true),
        ("LSET l 0 z", true),
        ("LMOVE l l LEFT RIGHT", true),
    ] {
        a.c("DEL l");
        a.c("RPUSH l a b");
        assert_eq!(a.c("WATCH l"), OK);
        b.c(other);
        assert_eq!(a.c("MULTI"), OK);
        a.c("PING");
        let want = if aborts {
            NULL_ARRAY
        } else {
            "*1\r\n+PONG\r\n"
        };
        assert_eq!(a.c("EXEC"), want, "{other}");
    }
}
