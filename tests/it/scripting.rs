//! Lua scripting: EVAL/EVALSHA/SCRIPT, the redis.* API, libraries, sandbox,
//! BUSY + SCRIPT KILL, atomicity, and a differential check of replies and
//! error texts against a real redis-server 7.0 when one is installed.

use crate::common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Send one command and read exactly one raw reply.
fn raw_cmd(stream: &mut TcpStream, args: &[&str]) -> Vec<u8> {
    stream.write_all(&resp(args)).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Ok(Some((_, n))) = rsredis::resp::reply::parse_frame(&buf) {
            assert_eq!(n, buf.len(), "one reply expected");
            return buf;
        }
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "connection closed");
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

fn eval(
    c: &mut redis::Connection,
    script: &str,
    keys: &[&str],
    args: &[&str],
) -> redis::RedisResult<redis::Value> {
    redis::cmd("EVAL")
        .arg(script)
        .arg(keys.len())
        .arg(keys)
        .arg(args)
        .query(c)
}

fn err_text(r: redis::RedisResult<redis::Value>) -> String {
    let e = r.expect_err("an error reply");
    format!("{} {}", e.code().unwrap_or(""), e.detail().unwrap_or(""))
        .trim()
        .to_string()
}

#[test]
fn eval_basics_and_conversions() {
    let s = Server::start();
    let mut c = s.client();
    let v: Vec<redis::Value> = redis::cmd("EVAL")
        .arg("return {1, 2, 3.7, 'x', nil, 5}")
        .arg(0)
        .query(&mut c)
        .unwrap();
    assert_eq!(
        v,
        vec![
            redis::Value::Int(1),
            redis::Value::Int(2),
            redis::Value::Int(3),
            redis::Value::BulkString(b"x".to_vec())
        ]
    );
    let v: Vec<String> = redis::cmd("EVAL")
        .arg("return {KEYS[1], KEYS[2], ARGV[1]}")
        .arg(2)
        .arg("a")
        .arg("b")
        .arg("c")
        .query(&mut c)
        .unwrap();
    assert_eq!(v, vec!["a", "b", "c"]);
    let mut r = s.raw();
    r.roundtrip(&resp(&["EVAL", "return true", "0"]), b":1\r\n");
    r.roundtrip(&resp(&["EVAL", "return false", "0"]), b"$-1\r\n");
    r.roundtrip(&resp(&["EVAL", "return -3.99", "0"]), b":-3\r\n");
    r.roundtrip(&resp(&["EVAL", "return {ok='FINE'}", "0"]), b"+FINE\r\n");
    r.roundtrip(
        &resp(&["EVAL", "return redis.error_reply('MY bad')", "0"]),
        b"-MY bad\r\n",
    );
    r.roundtrip(
        &resp(&["EVAL", "return redis.status_reply('S')", "0"]),
        b"+S\r\n",
    );
    r.roundtrip(
        &resp(&["EVAL", "return {double=1.5}", "0"]),
        b"$3\r\n1.5\r\n",
    );
    // Command replies as Lua sees them.
    r.roundtrip(&resp(&["SET", "k", "v"]), b"+OK\r\n");
    r.roundtrip(
        &resp(&[
            "EVAL",
            "local r = redis.call('set', KEYS[1], 'w') return type(r) .. r.ok",
            "1",
            "k",
        ]),
        b"$7\r\ntableOK\r\n",
    );
    r.roundtrip(
        &resp(&["EVAL", "return type(redis.call('get', 'nokey'))", "0"]),
        b"$7\r\nboolean\r\n",
    );
    r.roundtrip(
        &resp(&[
            "EVAL",
            "local e = redis.pcall('incr', KEYS[1]) return e.err",
            "1",
            "k",
        ]),
        b"$43\r\nERR value is not an integer or out of range\r\n",
    );
    r.roundtrip(
        &resp(&["EVAL", "return redis.call('incrby', 'n', 5) + 1", "0"]),
        b":6\r\n",
    );
    // RESP3 inside the script.
    r.roundtrip(
        &resp(&[
            "EVAL",
            "redis.setresp(3) return type(redis.call('get', 'nokey'))",
            "0",
        ]),
        b"$3\r\nnil\r\n",
    );
}

#[test]
fn resp3_client_conversions() {
    let s = Server::start();
    let mut r = s.raw();
    r.send(&resp(&["HELLO", "3"]));
    // Read the whole HELLO map: it ends with the empty `modules` array.
    let mut hello = Vec::new();
    assert!(
        wait_until(Duration::from_secs(10), || {
            hello.extend_from_slice(&r.read_for(Duration::from_millis(50)));
            hello.ends_with(b"$7\r\nmodules\r\n*0\r\n")
        }),
        "{}",
        String::from_utf8_lossy(&hello)
    );
    // A RESP2 script (the default) converts by its own protocol, as Redis
    // 7.0 does: true is 1, false is the client's null; RESP3 scripts give booleans.
    r.roundtrip(&resp(&["EVAL", "return true", "0"]), b":1\r\n");
    r.roundtrip(&resp(&["EVAL", "return false", "0"]), b"_\r\n");
    r.roundtrip(
        &resp(&["EVAL", "redis.setresp(3); return true", "0"]),
        b"#t\r\n",
    );
    r.roundtrip(
        &resp(&["EVAL", "redis.setresp(3); return false", "0"]),
        b"#f\r\n",
    );
    r.roundtrip(&resp(&["EVAL", "return {double=2.5}", "0"]), b",2.5\r\n");
    r.roundtrip(
        &resp(&["EVAL", "return {map={a=1}}", "0"]),
        b"%1\r\n$1\r\na\r\n:1\r\n",
    );
    r.roundtrip(
        &resp(&["EVAL", "return {set={x=true}}", "0"]),
        b"~1\r\n$1\r\nx\r\n",
    );
    r.roundtrip(
        &resp(&["EVAL", "return {big_number='123'}", "0"]),
        b"(123\r\n",
    );
    r.roundtrip(&resp(&["EVAL", "return nil", "0"]), b"_\r\n");
}

#[test]
fn numkeys_and_evalsha_and_script_cache() {
    let s = Server::start();
    let mut c = s.client();
    assert_eq!(
        err_text(redis::cmd("EVAL").arg("return 1").arg(-1).query(&mut c)),
        "ERR Number of keys can't be negative"
    );
    assert_eq!(
        err_text(
            redis::cmd("EVAL")
                .arg("return 1")
                .arg(3)
                .arg("a")
                .query(&mut c)
        ),
        "ERR Number of keys can't be greater than number of args"
    );
    assert_eq!(
        err_text(redis::cmd("EVAL").arg("return 1").arg("x").query(&mut c)),
        "ERR value is not an integer or out of range"
    );
    let sha: String = redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg("return 'hi'")
        .query(&mut c)
        .unwrap();
    assert_eq!(sha, rsredis::scripting::sha1_hex(b"return 'hi'"));
    let v: String = redis::cmd("EVALSHA")
        .arg(&sha)
        .arg(0)
        .query(&mut c)
        .unwrap();
    assert_eq!(v, "hi");
    let v: String = redis::cmd("EVALSHA")
        .arg(sha.to_uppercase())
        .arg(0)
        .query(&mut c)
        .unwrap();
    assert_eq!(v, "hi");
    let v: String = redis::cmd("EVALSHA_RO")
        .arg(&sha)
        .arg(0)
        .query(&mut c)
        .unwrap();
    assert_eq!(v, "hi");
    // EVAL caches too.
    let _: redis::Value = eval(&mut c, "return 7", &[], &[]).unwrap();
    let sha7 = rsredis::scripting::sha1_hex(b"return 7");
    let v: i64 = redis::cmd("EVALSHA")
        .arg(&sha7)
        .arg(0)
        .query(&mut c)
        .unwrap();
    assert_eq!(v, 7);
    let e: Vec<i64> = redis::cmd("SCRIPT")
        .arg("EXISTS")
        .arg(&sha)
        .arg("ffffffffffffffffffffffffffffffffffffffff")
        .query(&mut c)
        .unwrap();
    assert_eq!(e, vec![1, 0]);
    let ok: String = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .arg("ASYNC")
        .query(&mut c)
        .unwrap();
    assert_eq!(ok, "OK");
    let e: Vec<i64> = redis::cmd("SCRIPT")
        .arg("EXISTS")
        .arg(&sha)
        .query(&mut c)
        .unwrap();
    assert_eq!(e, vec![0]);
    assert_eq!(
        err_text(redis::cmd("EVALSHA").arg(&sha).arg(0).query(&mut c)),
        "NOSCRIPT No matching script. Please use EVAL."
    );
    assert_eq!(
        err_text(redis::cmd("SCRIPT").arg("FLUSH").arg("LATER").query(&mut c)),
        "ERR SCRIPT FLUSH only support SYNC|ASYNC option"
    );
    assert_eq!(
        err_text(redis::cmd("SCRIPT").arg("KILL").query(&mut c)),
        "NOTBUSY No scripts in execution right now."
    );
    let help: Vec<String> = redis::cmd("SCRIPT").arg("HELP").query(&mut c).unwrap();
    assert!(help[0].starts_with("SCRIPT <subcommand>"));
}

#[test]
fn readonly_scripts_and_script_rules() {
    let s = Server::start();
    let mut c = s.client();
    let sha1 = |body: &str| rsredis::scripting::sha1_hex(body.as_bytes());
    let body = "return redis.call('set', 'a', 'b')";
    assert_eq!(
        err_text(redis::cmd("EVAL_RO").arg(body).arg(0).query(&mut c)),
        format!("ERR Write commands are not allowed from read-only scripts. script: {}, on @user_script:1.", sha1(body))
    );
    let body = "return redis.call('multi')";
    assert_eq!(
        err_text(eval(&mut c, body, &[], &[])),
        format!(
            "ERR This Redis command is not allowed from script script: {}, on @user_script:1.",
            sha1(body)
        )
    );
    let body = "return redis.call('nosuchcmd')";
    assert_eq!(
        err_text(eval(&mut c, body, &[], &[])),
        format!(
            "ERR Unknown Redis command called from script script: {}, on @user_script:1.",
            sha1(body)
        )
    );
    let body = "\n\nreturn redis.call('get')";
    assert_eq!(
        err_text(eval(&mut c, body, &[], &[])),
        format!("ERR Wrong number of args calling Redis command from script script: {}, on @user_script:3.", sha1(body))
    );
    // SELECT inside a script does not change the caller's database.
    let _: redis::Value = eval(
        &mut c,
        "redis.call('select', 1) redis.call('set', 'indb1', 'x')",
        &[],
        &[],
    )
    .unwrap();
    let v: Option<String> = redis::cmd("GET").arg("indb1").query(&mut c).unwrap();
    assert_eq!(v, None);
}

#[test]
fn globals_protection() {
    let s = Server::start();
    let mut c = s.client();
    let sha1 = |body: &str| rsredis::scripting::sha1_hex(body.as_bytes());
    for (body, msg) in [
        ("x = 1", "ERR user_script:1: Attempt to modify a readonly table"),
        ("return undefined_thing", "ERR user_script:1: Script attempted to access nonexistent global variable 'undefined_thing'"),
        ("redis.call = function() end", "ERR user_script:1: Attempt to modify a readonly table"),
        ("cjson.encode = nil", "ERR user_script:1: Attempt to modify a readonly table"),
        ("string.x = 1", "ERR user_script:1: Attempt to modify a readonly table"),
        ("_G.y = 2", "ERR user_script:1: Attempt to modify a readonly table"),
        ("rawset(_G, 'z', 1)", "ERR Attempt to modify a readonly table"),
        ("setmetatable(_G, nil)", "ERR Attempt to modify a readonly table"),
        ("return print", "ERR user_script:1: Script attempted to access nonexistent global variable 'print'"),
        ("return dofile", "ERR user_script:1: Script attempted to access nonexistent global variable 'dofile'"),
        ("return loadfile", "ERR user_script:1: Script attempted to access nonexistent global variable 'loadfile'"),
        ("return debug", "ERR user_script:1: Script attempted to access nonexistent global variable 'debug'"),
        ("return os", "ERR user_script:1: Script attempted to access nonexistent global variable 'os'"),
    ] {
        assert_eq!(
            err_text(eval(&mut c, body, &[], &[])),
            format!("{} script: {}, on @user_script:1.", msg, sha1(body)),
            "{}",
            body
        );
    }
    // Locals are fine, and nothing leaks between scripts.
    let v: i64 = redis::cmd("EVAL")
        .arg("local t = {} t.x = 5 return t.x")
        .arg(0)
        .query(&mut c)
        .unwrap();
    assert_eq!(v, 5);
}

#[test]
fn redis_api_and_libraries() {
    let s = Server::start();
    let mut c = s.client();
    let q = |c: &mut redis::Connection, body: &str| -> redis::Value {
        eval(c, body, &[], &[]).unwrap()
    };
    let bulk = |s: &str| redis::Value::BulkString(s.as_bytes().to_vec());
    assert_eq!(
        q(&mut c, "return redis.sha1hex('')"),
        bulk("da39a3ee5e6b4b0d3255bfef95601890afd80709")
    );
    assert_eq!(
        q(&mut c, "return redis.replicate_commands()"),
        redis::Value::Int(1)
    );
    assert_eq!(
        q(
            &mut c,
            "redis.set_repl(redis.REPL_ALL) redis.breakpoint() redis.debug('x') return 1"
        ),
        redis::Value::Int(1)
    );
    assert_eq!(
        q(
            &mut c,
            "redis.log(redis.LOG_WARNING, 'hello from lua') return 1"
        ),
        redis::Value::Int(1)
    );
    assert_eq!(
        q(&mut c, "return redis.REDIS_VERSION"),
        bulk(rsredis::REDIS_VERSION)
    );
    assert_eq!(
        q(&mut c, "return cjson.encode({1, 2, {a=1.5}})"),
        bulk("[1,2,{\"a\":1.5}]")
    );
    assert_eq!(
        q(
            &mut c,
            "return cjson.encode(cjson.decode('[1,null,\"a\",{\"x\":[]}]'))"
        ),
        bulk("[1,null,\"a\",{\"x\":{}}]")
    );
    assert_eq!(
        q(&mut c, "return cjson.decode('{\"a\":[1,2,3]}').a[3]"),
        redis::Value::Int(3)
    );
    assert_eq!(
        q(&mut c, "local t = cmsgpack.unpack(cmsgpack.pack({1, 'two', {x=3}})) return {t[1], t[2], t[3].x}"),
        redis::Value::Array(vec![redis::Value::Int(1), bulk("two"), redis::Value::Int(3)])
    );
    assert_eq!(
        q(&mut c, "return cmsgpack.pack({1,2,'a'})"),
        redis::Value::BulkString(vec![0x93, 1, 2, 0xa1, b'a'])
    );
    assert_eq!(
        q(&mut c, "return struct.pack('>i2', 5)"),
        redis::Value::BulkString(vec![0, 5])
    );
    assert_eq!(
        q(&mut c, "return struct.unpack('<h', struct.pack('<h', -7))"),
        redis::Value::Int(-7)
    );
    assert_eq!(
        q(&mut c, "return struct.size('>i4hB')"),
        redis::Value::Int(7)
    );
    assert_eq!(q(&mut c, "return bit.tohex(255)"), bulk("000000ff"));
    assert_eq!(q(&mut c, "return bit.tohex(-1, -4)"), bulk("FFFF"));
    assert_eq!(
        q(&mut c, "return {bit.band(0xff, 0x0f, 7), bit.bor(1, 2), bit.bxor(3, 1), bit.bnot(0), bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-256, 4), bit.rol(1, 33), bit.ror(1, 1), bit.bswap(0x12345678), bit.tobit(2^32 + 5)}"),
        redis::Value::Array(
            [7, 3, 2, -1, i32::MIN as i64, 15, -16, 2, i32::MIN as i64, 0x78563412, 5]
                .iter()
                .map(|&n| redis::Value::Int(n))
                .collect()
        )
    );
}

#[test]
fn busy_and_script_kill() {
    let s = Server::with_config("busy-reply-threshold = 100\n");
    let port = s.port;
    let runner = std::thread::spawn(move || {
        let mut st = connect(port);
        raw_cmd(&mut st, &["EVAL", "while true do end", "0"])
    });
    let mut other = connect(port);
    // Until the script has run for busy-reply-threshold, GET answers (nil).
    let mut reply = Vec::new();
    assert!(wait_until(Duration::from_secs(10), || {
        reply = raw_cmd(&mut other, &["GET", "a"]);
        reply != b"$-1\r\n"
    }));
    assert_eq!(
        reply,
        b"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"
    );
    assert_eq!(raw_cmd(&mut other, &["SCRIPT", "KILL"]), b"+OK\r\n");
    let got = runner.join().unwrap();
    let sha = rsredis::scripting::sha1_hex(b"while true do end");
    assert_eq!(
        String::from_utf8(got).unwrap(),
        format!(
            "-ERR Script killed by user with SCRIPT KILL... script: {}, on @user_script:1.\r\n",
            sha
        )
    );
    assert_eq!(raw_cmd(&mut other, &["PING"]), b"+PONG\r\n");

    // After a write the script cannot be killed.
    let runner = std::thread::spawn(move || {
        let mut st = connect(port);
        raw_cmd(
            &mut st,
            &["EVAL", "redis.call('set', 'w', '1') local t = redis.call('time') while tonumber(redis.call('time')[1]) < t[1] + 2 do end return 1", "0"],
        )
    });
    // The script writes first, then spins: once PING is refused (BUSY) it is
    // past its write.
    assert!(wait_until(Duration::from_secs(10), || {
        raw_cmd(&mut other, &["PING"]) != b"+PONG\r\n"
    }));
    assert_eq!(
        raw_cmd(&mut other, &["SCRIPT", "KILL"]),
        b"-UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.\r\n".to_vec()
    );
    assert_eq!(runner.join().unwrap(), b":1\r\n");
    assert_eq!(raw_cmd(&mut other, &["GET", "w"]), b"$1\r\n1\r\n");
}

#[test]
fn shutdown_nosave_stops_a_busy_server() {
    let mut s = Server::with_config("busy-reply-threshold = 50\n");
    let port = s.port;
    std::thread::spawn(move || {
        let mut st = connect(port);
        st.write_all(&resp(&["EVAL", "while true do end", "0"]))
            .unwrap();
        let mut b = [0u8; 64];
        let _ = st.read(&mut b);
    });
    let mut other = connect(port);
    // Until the script has run for busy-reply-threshold, GET answers (nil).
    assert!(wait_until(Duration::from_secs(10), || {
        raw_cmd(&mut other, &["GET", "a"]) != b"$-1\r\n"
    }));
    assert_eq!(
        raw_cmd(&mut other, &["SET", "a", "1"]),
        b"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"
    );
    other.write_all(&resp(&["SHUTDOWN", "NOSAVE"])).unwrap();
    assert!(s.wait_exit(Duration::from_secs(5)).is_some());
}

#[test]
fn scripts_are_atomic() {
    let s = Server::start();
    let port = s.port;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let st2 = stop.clone();
    let watcher = std::thread::spawn(move || {
        let mut c = connect(port);
        let mut seen = 0;
        while !st2.load(std::sync::atomic::Ordering::Relaxed) {
            let r = raw_cmd(&mut c, &["MGET", "a", "b"]);
            let (v, _) = rsredis::resp::reply::parse_frame(&r).unwrap().unwrap();
            if let rsredis::resp::reply::Frame::Array(items) = v {
                assert_eq!(items[0], items[1], "half-applied script seen");
            }
            seen += 1;
        }
        seen
    });
    let mut c = s.client();
    for i in 0..300 {
        let _: redis::Value = eval(
            &mut c,
            "redis.call('set', 'a', ARGV[1]) for i = 1, 2000 do end redis.call('set', 'b', ARGV[1])",
            &[],
            &[&i.to_string()],
        )
        .unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(watcher.join().unwrap() > 0);
}

#[test]
fn rate_limiter_via_evalsha_from_8_threads() {
    let s = Server::start();
    let mut c = s.client();
    // Fixed window per key: INCR + PEXPIRE; admit while the count is within the limit.
    let limiter = "local n = redis.call('incr', KEYS[1]) \
                   if n == 1 then redis.call('pexpire', KEYS[1], ARGV[2]) end \
                   if n <= tonumber(ARGV[1]) then return 1 else return 0 end";
    let sha: String = redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg(limiter)
        .query(&mut c)
        .unwrap();
    let port = s.port;
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let sha = sha.clone();
            std::thread::spawn(move || {
                let mut st = connect(port);
                let mut admitted = 0;
                for _ in 0..50 {
                    let r = raw_cmd(&mut st, &["EVALSHA", &sha, "1", "rl:user1", "137", "60000"]);
                    if r == b":1\r\n" {
                        admitted += 1;
                    } else {
                        assert_eq!(r, b":0\r\n");
                    }
                }
                admitted
            })
        })
        .collect();
    let total: i64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(total, 137);
    let ttl: i64 = redis::cmd("PTTL").arg("rl:user1").query(&mut c).unwrap();
    assert!(ttl > 0 && ttl <= 60000);
    let n: i64 = redis::cmd("GET").arg("rl:user1").query(&mut c).unwrap();
    assert_eq!(n, 400);
}

#[test]
fn differential_against_real_redis() {
    let Some(real) = RealRedis::start() else {
        eprintln!("redis-server not installed: skipped");
        return;
    };
    let s = Server::start();
    let mut ours = connect(s.port);
    let mut theirs = connect(real.port);
    let setup: &[&[&str]] = &[
        &["SET", "k", "a"],
        &["SET", "n", "10"],
        &["RPUSH", "l", "x", "y", "z"],
    ];
    for cmd in setup {
        raw_cmd(&mut ours, cmd);
        raw_cmd(&mut theirs, cmd);
    }
    let scripts: &[&str] = &[
        "return x",
        "x = 1",
        "redis.call = 1",
        "return redis.call('nosuch')",
        "return redis.call('get')",
        "return redis.call('eval', '', 0)",
        "error('boom')",
        "error({err='XCODE y'})",
        "return redis.call('incr', 'k')",
        "return redis.pcall('incr', 'k')",
        "syntax error here",
        "return {1, 2, 3.7, 'x', nil, 5}",
        "return redis.status_reply('FOO')",
        "return redis.error_reply('BAR baz')",
        "return redis.setresp(4)",
        "return redis.call('get', {})",
        "rawset(_G, 'x', 1)",
        "return cjson.encode({a={}, b=0.1, c='x\"/'})",
        "return bit.tohex(-1, -4)",
        "return struct.unpack('>i2', struct.pack('>i2', -5))",
        "local a = nil + 1",
        "return redis.pcall()",
        "return redis.call()",
        "local ok, e = pcall(redis.call, 'nosuch') return e",
        "return redis.error_reply(1)",
        "setmetatable(_G, nil)",
        "return string.rep('x', 3)",
        "string.rep = nil",
        "return redis.sha1hex('abc')",
        "return {bit.tobit(2^32+5), bit.rol(1, 33), bit.arshift(-256, 4), bit.bswap(0x12345678)}",
        "return cmsgpack.unpack(cmsgpack.pack({1,2,'a',{x=1}}, true, -300, 1.5))",
        "return cmsgpack.pack({1, -1, -100, 300, 70000, 5000000000, 1.5, 0.1, 'abc', true, false})",
        "return struct.size('>i4hB')",
        "return {struct.unpack('<Ic0', struct.pack('<Ic0', 3, 'abc'))}",
        "return redis.call('select', 20)",
        "return {redis.call('ping'), redis.call('type', 'k'), redis.call('lrange', 'l', 0, -1)}",
        "return redis.log(9, 'hi')",
        "return tostring(1e100)",
        "return cjson.encode({1, 2, nil, 4})",
        "return cjson.encode({[1]=1, [20]=2})",
        "return cjson.encode(function() end)",
        "return redis.call('set', 'x', 1.5)",
        "return redis.call('get', 'x')",
        "return {double=3.5}",
        "return redis.set_repl(9)",
        "return loadstring('return 1')()",
        "return loadstring('x = 1')()",
        "return redis.call('GET', 'k', 'z')",
        "return {1, false, true, {ok='x'}, {err='E y'}}",
        "return redis.call('lpop', 'nolist')",
        "return redis.call('incrbyfloat', 'n', '0.5')",
        "return {err='no code here'}",
        "return redis.call('object', 'nosub')",
        "local t = {} for i = 1, 5 do t[i] = i * i end return t",
        "return string.format('%d-%s', 5, 'x')",
        "#!lua\nreturn x",
        "#!lua flags=no-writes\nreturn redis.call('set', 'a', 'b')",
        "#!lua flags=bogus\nreturn 1",
        "#!py\nreturn 1",
        "#!lua name=x\nreturn 1",
        "#!lua flags=no-writes,allow-oom\nreturn redis.call('get', 'k')",
    ];
    let mut mismatches = Vec::new();
    for body in scripts {
        let a = raw_cmd(&mut ours, &["EVAL", body, "0"]);
        let b = raw_cmd(&mut theirs, &["EVAL", body, "0"]);
        if a != b {
            mismatches.push(format!(
                "{}\n  ours:   {:?}\n  theirs: {:?}",
                body,
                String::from_utf8_lossy(&a),
                String::from_utf8_lossy(&b)
            ));
        }
    }
    for args in [
        vec!["EVAL", "return 1", "-1"],
        vec!["EVAL", "return 1", "3", "a"],
        vec!["EVAL", "return 1", "x"],
        vec!["EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"],
        vec!["EVAL_RO", "return redis.call('set', 'a', 'b')", "0"],
        vec!["SCRIPT", "FLUSH", "x"],
        vec!["SCRIPT", "KILL"],
        vec!["SCRIPT", "LOAD", "return 1"],
        vec![
            "SCRIPT",
            "EXISTS",
            "e0e1f9fabfc9d4800c877a703b823ac0578ff8db",
            "00",
        ],
        vec!["SCRIPT", "HELP"],
        vec!["SCRIPT", "NOPE"],
    ] {
        let a = raw_cmd(&mut ours, &args);
        let b = raw_cmd(&mut theirs, &args);
        if a != b {
            mismatches.push(format!(
                "{:?}\n  ours:   {:?}\n  theirs: {:?}",
                args,
                String::from_utf8_lossy(&a),
                String::from_utf8_lossy(&b)
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "differences:\n{}",
        mismatches.join("\n")
    );
}
