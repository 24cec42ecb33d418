//! Server commands: INFO, CONFIG, COMMAND, DBSIZE/FLUSH*, DEBUG, SLOWLOG,
//! MEMORY, SHUTDOWN — against the real binary, raw bytes where shapes matter.

use crate::common::*;
use std::io::Read;
use std::time::{Duration, Instant};

fn q<T: redis::FromRedisValue>(c: &mut redis::Connection, args: &[&str]) -> redis::RedisResult<T> {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c)
}

fn err_text(e: redis::RedisError) -> String {
    // "ERR" errors come back as ResponseError with detail; rebuild "CODE detail".
    match (e.code(), e.detail()) {
        (Some(code), Some(d)) => format!("{} {}", code, d),
        _ => e.to_string(),
    }
}

fn info(c: &mut redis::Connection, args: &[&str]) -> String {
    let mut v = vec!["INFO"];
    v.extend_from_slice(args);
    q::<String>(c, &v).unwrap()
}

fn field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
}

/// Read one complete reply whose header is a length line (`$n`/`=n`).
fn read_length_prefixed(r: &mut Raw) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut b = [0u8; 65536];
    loop {
        if let Some(pos) = buf.windows(2).position(|w| w == b"\r\n") {
            let n: usize = std::str::from_utf8(&buf[1..pos]).unwrap().parse().unwrap();
            if buf.len() >= pos + 2 + n + 2 {
                return buf;
            }
        }
        let k = r.stream.read(&mut b).expect("read");
        assert!(k > 0, "connection closed early");
        buf.extend_from_slice(&b[..k]);
    }
}

#[test]
fn info_default_sections_and_fields() {
    let s = Server::start();
    let mut c = s.client();
    let _: () = q(&mut c, &["SET", "k", "v"]).unwrap();
    let text = info(&mut c, &[]);
    let headers: Vec<&str> = text.lines().filter(|l| l.starts_with("# ")).collect();
    assert_eq!(
        headers,
        vec![
            "# Server",
            "# Clients",
            "# Memory",
            "# Persistence",
            "# Stats",
            "# Replication",
            "# CPU",
            "# Modules",
            "# Errorstats",
            "# Cluster",
            "# Keyspace"
        ]
    );
    assert_eq!(field(&text, "redis_version"), Some("7.0.15"));
    assert_eq!(field(&text, "redis_mode"), Some("standalone"));
    let run_id = field(&text, "run_id").unwrap();
    assert_eq!(run_id.len(), 40);
    assert!(run_id.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(field(&text, "tcp_port"), Some(s.port.to_string().as_str()));
    assert!(field(&text, "uptime_in_seconds").is_some());
    assert_eq!(field(&text, "loading"), Some("0"));
    assert_eq!(field(&text, "rdb_bgsave_in_progress"), Some("0"));
    assert_eq!(field(&text, "aof_enabled"), Some("0"));
    assert_eq!(field(&text, "role"), Some("master"));
    assert_eq!(field(&text, "connected_slaves"), Some("0"));
    assert_eq!(field(&text, "master_failover_state"), Some("no-failover"));
    let replid = field(&text, "master_replid").unwrap();
    assert_eq!(replid.len(), 40);
    assert_ne!(replid, run_id);
    assert_eq!(field(&text, "master_replid2"), Some(&*"0".repeat(40)));
    assert_eq!(field(&text, "second_repl_offset"), Some("-1"));
    assert_eq!(field(&text, "repl_backlog_active"), Some("0"));
    assert_eq!(field(&text, "sync_full"), Some("0"));
    assert_eq!(field(&text, "sync_partial_ok"), Some("0"));
    assert!(field(&text, "used_memory").unwrap().parse::<u64>().unwrap() > 0);
    assert!(
        field(&text, "used_memory_rss")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
    assert_eq!(field(&text, "cluster_enabled"), Some("0"));
    assert_eq!(field(&text, "db0"), Some("keys=1,expires=0,avg_ttl=0"));
    assert!(!text.contains("cmdstat_"));

    // Replication section in exact order (compat contract §2.1, no replicas).
    let repl = info(&mut c, &["replication"]);
    let keys: Vec<&str> = repl.lines().map(|l| l.split(':').next().unwrap()).collect();
    assert_eq!(
        keys,
        vec![
            "# Replication",
            "role",
            "connected_slaves",
            "master_failover_state",
            "master_replid",
            "master_replid2",
            "master_repl_offset",
            "second_repl_offset",
            "repl_backlog_active",
            "repl_backlog_size",
            "repl_backlog_first_byte_offset",
            "repl_backlog_histlen"
        ]
    );
}

#[test]
fn info_section_selection_and_framing() {
    let s = Server::start();
    let mut c = s.client();
    let server = info(&mut c, &["server"]);
    assert!(server.starts_with("# Server\r\nredis_version:7.0.15\r\n"));
    assert_eq!(server.matches("# ").count(), 1);
    // Several sections come in canonical order, whatever the argument order.
    let two = info(&mut c, &["KEYSPACE", "server"]);
    assert!(two.starts_with("# Server\r\n"));
    assert!(two.contains("\r\n\r\n# Keyspace\r\n"));
    // Unknown section: empty text.
    assert_eq!(info(&mut c, &["nosuch"]), "");
    // Server fields in 7.0 order.
    let order: Vec<&str> = server
        .lines()
        .skip(1)
        .map(|l| l.split(':').next().unwrap())
        .collect();
    assert_eq!(
        order,
        vec![
            "redis_version",
            "redis_git_sha1",
            "redis_git_dirty",
            "redis_build_id",
            "redis_mode",
            "os",
            "arch_bits",
            "monotonic_clock",
            "multiplexing_api",
            "atomicvar_api",
            "gcc_version",
            "process_id",
            "process_supervised",
            "run_id",
            "tcp_port",
            "server_time_usec",
            "uptime_in_seconds",
            "uptime_in_days",
            "hz",
            "configured_hz",
            "lru_clock",
            "executable",
            "config_file",
            "io_threads_active"
        ]
    );

    // everything/all add commandstats; errorstats count error codes (the
    // client library's own handshake may have caused errors: start clean).
    let _: () = q(&mut c, &["CONFIG", "RESETSTAT"]).unwrap();
    let _ = q::<String>(&mut c, &["GET", "nokey"]);
    let _ = q::<String>(&mut c, &["NOSUCHCMD"]);
    let all = info(&mut c, &["everything"]);
    assert!(all.contains("# Commandstats\r\n"));
    assert!(all.contains("cmdstat_get:calls=1,usec="));
    assert!(all.contains("errorstat_ERR:count=1\r\n"), "{all}");
    assert!(info(&mut c, &["all"]).contains("# Commandstats"));
    assert_eq!(field(&all, "keyspace_misses"), Some("1"));
    assert_eq!(field(&all, "total_error_replies"), Some("1"));

    // Raw framing: CRLF everywhere, no bare LF, inline lowercase works (HAProxy).
    let mut r = s.raw();
    r.send(b"info replication\r\n");
    let raw = read_length_prefixed(&mut r);
    let text = String::from_utf8(raw).unwrap();
    assert!(text.starts_with('$'));
    assert!(text.contains("\r\n# Replication\r\nrole:master\r\n"));
    assert_eq!(text.matches('\n').count(), text.matches("\r\n").count());
}

#[test]
fn info_is_verbatim_in_resp3() {
    let s = Server::start();
    let mut r = s.raw();
    r.send(&resp(&["HELLO", "3"]));
    let hello = r.read_for(Duration::from_millis(300));
    assert!(hello.starts_with(b"%7\r\n"));
    r.send(&resp(&["INFO", "server"]));
    let v = read_length_prefixed(&mut r);
    let text = String::from_utf8(v).unwrap();
    assert!(text.starts_with('='), "{text}");
    assert!(text.contains("\r\ntxt:# Server\r\nredis_version:7.0.15\r\n"));
    let len: usize = text[1..text.find('\r').unwrap()].parse().unwrap();
    let body_start = text.find("\r\n").unwrap() + 2;
    assert_eq!(text.len(), body_start + len + 2);
}

#[test]
fn config_get_globs_and_map_shape() {
    let s = Server::start();
    let mut c = s.client();
    let v: Vec<String> = q(&mut c, &["CONFIG", "GET", "slowlog-*"]).unwrap();
    assert_eq!(v.len(), 4);
    assert!(v.contains(&"slowlog-log-slower-than".to_string()));
    assert!(v.contains(&"slowlog-max-len".to_string()));
    // Several patterns, duplicates folded, case-insensitive.
    let v: Vec<String> = q(
        &mut c,
        &["CONFIG", "GET", "TIMEOUT", "timeout", "maxclients"],
    )
    .unwrap();
    assert_eq!(v, vec!["TIMEOUT", "0", "maxclients", "10000"]);
    let v: Vec<String> = q(&mut c, &["CONFIG", "GET", "nosuch"]).unwrap();
    assert!(v.is_empty());
    // `port = 0` in the file: the port in use is reported.
    let v: Vec<String> = q(&mut c, &["CONFIG", "GET", "port"]).unwrap();
    assert_eq!(v, vec!["port".to_string(), s.port.to_string()]);

    let mut r = s.raw();
    r.roundtrip(
        &resp(&["CONFIG", "GET", "hz"]),
        b"*2\r\n$2\r\nhz\r\n$2\r\n10\r\n",
    );
    r.send(&resp(&["HELLO", "3"]));
    let _ = r.read_for(Duration::from_millis(300));
    r.roundtrip(
        &resp(&["CONFIG", "GET", "hz"]),
        b"%1\r\n$2\r\nhz\r\n$2\r\n10\r\n",
    );
    r.roundtrip(
        &resp(&["CONFIG", "GET"]),
        b"-ERR wrong number of arguments for 'config|get' command\r\n",
    );
}

#[test]
fn config_set_is_atomic_and_validated() {
    let s = Server::start();
    let mut c = s.client();
    let get = |c: &mut redis::Connection, name: &str| -> String {
        let v: Vec<String> = q(c, &["CONFIG", "GET", name]).unwrap();
        v[1].clone()
    };
    let _: () = q(&mut c, &["CONFIG", "SET", "timeout", "7", "hz", "20"]).unwrap();
    assert_eq!(get(&mut c, "timeout"), "7");
    assert_eq!(get(&mut c, "hz"), "20");

    // One bad value: nothing applied.
    let e = q::<()>(&mut c, &["CONFIG", "SET", "timeout", "9", "hz", "0"]).unwrap_err();
    assert!(err_text(e).starts_with("ERR CONFIG SET failed (possibly related to argument 'hz')"),);
    assert_eq!(get(&mut c, "timeout"), "7");

    let e = q::<()>(&mut c, &["CONFIG", "SET", "timeout", "1", "timeout", "2"]).unwrap_err();
    assert_eq!(
        err_text(e),
        "ERR CONFIG SET failed (possibly related to argument 'timeout') - duplicate parameter"
    );
    let e = q::<()>(&mut c, &["CONFIG", "SET", "timeout", "1", "databases", "4"]).unwrap_err();
    assert_eq!(
        err_text(e),
        "ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"
    );
    assert_eq!(get(&mut c, "timeout"), "7");
    let e = q::<()>(&mut c, &["CONFIG", "SET", "nosuch", "1"]).unwrap_err();
    assert_eq!(
        err_text(e),
        "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"
    );
    let e = q::<()>(&mut c, &["CONFIG", "SET", "timeout", "1", "hz"]).unwrap_err();
    assert_eq!(err_text(e), "ERR syntax error");
    let e = q::<()>(&mut c, &["CONFIG", "SET", "dir", "/nonexistent/rsredis"]).unwrap_err();
    assert_eq!(
        err_text(e),
        "ERR CONFIG SET failed (possibly related to argument 'dir') - No such file or directory"
    );
    // A real directory works and becomes the working directory.
    let sub = s.dir.path().join("data");
    std::fs::create_dir(&sub).unwrap();
    let _: () = q(&mut c, &["CONFIG", "SET", "dir", sub.to_str().unwrap()]).unwrap();
    assert_eq!(
        std::fs::canonicalize(get(&mut c, "dir")).unwrap(),
        std::fs::canonicalize(&sub).unwrap()
    );
    // Hot-path values follow CONFIG SET (slowlog threshold).
    let _: () = q(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "-1"]).unwrap();
    let _: () = q(&mut c, &["SET", "a", "b"]).unwrap();
    let n: i64 = q(&mut c, &["SLOWLOG", "LEN"]).unwrap();
    assert_eq!(n, 0);
}

#[test]
fn config_rewrite_keeps_comments() {
    let s = Server::with_config("# operator note: keep me\ntimeout = 3\n");
    let mut c = s.client();
    let _: () = q(
        &mut c,
        &["CONFIG", "SET", "timeout", "9", "slowlog-max-len", "64"],
    )
    .unwrap();
    let _: () = q(&mut c, &["CONFIG", "REWRITE"]).unwrap();
    let text = std::fs::read_to_string(&s.config_path).unwrap();
    assert!(text.contains("# operator note: keep me\n"), "{text}");
    assert!(text.contains("timeout = 9\n"), "{text}");
    assert!(!text.contains("timeout = 3"), "{text}");
    assert!(text.contains("slowlog-max-len = 64\n"), "{text}");
    assert!(
        text.contains("enable-debug-command = \"local\"\n"),
        "{text}"
    );
    // The file still loads and says what the server runs with.
    let again = rsredis::config::Config::from_toml_str(&text).unwrap();
    assert_eq!(again.timeout, 9);
    assert_eq!(again.slowlog_max_len, 64);
}

#[test]
fn config_resetstat_and_help() {
    let s = Server::start();
    let mut c = s.client();
    let _: () = q(&mut c, &["CONFIG", "RESETSTAT"]).unwrap();
    let _: () = q(&mut c, &["SET", "a", "1"]).unwrap();
    let _ = q::<String>(&mut c, &["GET", "missing"]);
    let _ = q::<()>(&mut c, &["NOSUCHCMD"]);
    let before = info(&mut c, &["everything"]);
    assert!(before.contains("cmdstat_set:"));
    assert!(before.contains("errorstat_ERR:count=1"));
    let _: () = q(&mut c, &["CONFIG", "RESETSTAT"]).unwrap();
    let after = info(&mut c, &["everything"]);
    assert!(!after.contains("cmdstat_set:"), "{after}");
    assert!(!after.contains("errorstat_"));
    assert_eq!(field(&after, "total_error_replies"), Some("0"));
    assert_eq!(field(&after, "keyspace_misses"), Some("0"));
    assert!(
        field(&after, "total_commands_processed")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            <= 2
    );
    let help: Vec<String> = q(&mut c, &["CONFIG", "HELP"]).unwrap();
    assert!(help[0].starts_with("CONFIG <subcommand>"));
    let e = q::<()>(&mut c, &["CONFIG", "NOPE"]).unwrap_err();
    assert_eq!(
        err_text(e),
        "ERR unknown subcommand 'NOPE'. Try CONFIG HELP."
    );
}

#[test]
fn command_count_info_docs_list() {
    let s = Server::start();
    let mut c = s.client();
    let count: i64 = q(&mut c, &["COMMAND", "COUNT"]).unwrap();
    assert!(count > 20);
    let all: Vec<redis::Value> = q(&mut c, &["COMMAND"]).unwrap();
    assert_eq!(all.len() as i64, count);

    let mut r = s.raw();
    // 7.0 shape: name, arity, flags, first, last, step, categories, tips, key specs, subcommands.
    r.send(&resp(&["COMMAND", "INFO", "get", "nosuch"]));
    let got = r.read_for(Duration::from_millis(300));
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.starts_with(
            "*2\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n"
        ),
        "{text}"
    );
    assert!(text.ends_with("$-1\r\n"), "{text}");
    r.send(&resp(&["COMMAND", "INFO", "config"]));
    let got = String::from_utf8_lossy(&r.read_for(Duration::from_millis(300))).to_string();
    assert!(got.contains("$10\r\nconfig|get\r\n:-3\r\n"), "{got}");
    assert!(got.contains("+admin\r\n"));

    // DOCS: a map name -> doc map with summary/since/group.
    let docs: Vec<redis::Value> = q(&mut c, &["COMMAND", "DOCS", "get"]).unwrap();
    assert_eq!(docs.len(), 2);
    let docs = format!("{:?}", docs);
    assert!(docs.contains("summary") && docs.contains("since") && docs.contains("group"));
    assert!(docs.contains("arguments"));
    let none: Vec<redis::Value> = q(&mut c, &["COMMAND", "DOCS", "nosuch"]).unwrap();
    assert!(none.is_empty());

    let list: Vec<String> = q(&mut c, &["COMMAND", "LIST"]).unwrap();
    assert!(list.contains(&"get".to_string()) && list.contains(&"config|set".to_string()));
    let list: Vec<String> =
        q(&mut c, &["COMMAND", "LIST", "FILTERBY", "PATTERN", "conf*"]).unwrap();
    assert!(list.iter().all(|n| n.starts_with("config")));
    assert_eq!(list.len(), 6);
    let list: Vec<String> = q(&mut c, &["COMMAND", "LIST", "FILTERBY", "MODULE", "x"]).unwrap();
    assert!(list.is_empty());
    let e = q::<()>(&mut c, &["COMMAND", "LIST", "FOO"]).unwrap_err();
    assert_eq!(err_text(e), "ERR syntax error");
}

#[test]
fn command_getkeys() {
    let s = Server::start();
    let mut c = s.client();
    let k: Vec<String> = q(&mut c, &["COMMAND", "GETKEYS", "SET", "a", "b"]).unwrap();
    assert_eq!(k, vec!["a"]);
    let k: Vec<String> = q(&mut c, &["COMMAND", "GETKEYS", "del", "a", "b", "c"]).unwrap();
    assert_eq!(k, vec!["a", "b", "c"]);
    let k: Vec<String> = q(&mut c, &["COMMAND", "GETKEYS", "memory", "usage", "x"]).unwrap();
    assert_eq!(k, vec!["x"]);
    let cases: &[(&[&str], &str)] = &[
        (
            &["COMMAND", "GETKEYS", "nosuch", "a"],
            "ERR Invalid command specified",
        ),
        (
            &["COMMAND", "GETKEYS", "ping", "x"],
            "ERR The command has no key arguments",
        ),
        (
            &["COMMAND", "GETKEYS", "get", "a", "b"],
            "ERR Invalid number of arguments specified for command",
        ),
        (
            &["COMMAND", "GETKEYS", "get"],
            "ERR wrong number of arguments for 'command|getkeys' command",
        ),
    ];
    for (args, want) in cases {
        let e = q::<()>(&mut c, args).unwrap_err();
        assert_eq!(&err_text(e), want, "{args:?}");
    }
}

#[test]
fn dbsize_flush_time_lastsave_memory() {
    let s = Server::start();
    let mut c = s.client();
    for k in ["a", "b", "c"] {
        let _: () = q(&mut c, &["SET", k, "v"]).unwrap();
    }
    let _: () = q(&mut c, &["SELECT", "1"]).unwrap();
    let _: () = q(&mut c, &["SET", "x", "y"]).unwrap();
    let n: i64 = q(&mut c, &["DBSIZE"]).unwrap();
    assert_eq!(n, 1);
    let _: () = q(&mut c, &["FLUSHDB"]).unwrap();
    let n: i64 = q(&mut c, &["DBSIZE"]).unwrap();
    assert_eq!(n, 0);
    let _: () = q(&mut c, &["SELECT", "0"]).unwrap();
    let n: i64 = q(&mut c, &["DBSIZE"]).unwrap();
    assert_eq!(n, 3);
    let used: i64 = q(&mut c, &["MEMORY", "USAGE", "a"]).unwrap();
    assert!(used > 0);
    let none: Option<i64> = q(&mut c, &["MEMORY", "USAGE", "nokey"]).unwrap();
    assert_eq!(none, None);
    let e = q::<()>(&mut c, &["MEMORY", "USAGE", "a", "SAMPLES"]).unwrap_err();
    assert_eq!(err_text(e), "ERR syntax error");
    let e = q::<()>(&mut c, &["FLUSHALL", "LATER"]).unwrap_err();
    assert_eq!(err_text(e), "ERR syntax error");
    let _: () = q(&mut c, &["FLUSHALL", "ASYNC"]).unwrap();
    let n: i64 = q(&mut c, &["DBSIZE"]).unwrap();
    assert_eq!(n, 0);
    assert_eq!(field(&info(&mut c, &["keyspace"]), "db0"), None);

    let t: Vec<String> = q(&mut c, &["TIME"]).unwrap();
    let secs: u64 = t[0].parse().unwrap();
    let micros: u64 = t[1].parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(secs.abs_diff(now) <= 2 && micros < 1_000_000);
    let last: u64 = q(&mut c, &["LASTSAVE"]).unwrap();
    assert!(last <= now + 1 && last + 3600 > now);
}

#[test]
fn debug_sleep_allowed_locally() {
    let s = Server::start(); // the harness sets enable-debug-command = "local"
    let mut c = s.client();
    let port = s.port;
    let sleeper = std::thread::spawn(move || {
        let mut r = Raw::connect(port);
        let t = Instant::now();
        r.roundtrip(&resp(&["DEBUG", "SLEEP", "0.5"]), b"+OK\r\n");
        t.elapsed()
    });
    // Wait until the sleep has begun: a probe PING goes unanswered for 30 ms.
    let mut probe = Raw::connect(port);
    assert!(wait_until(Duration::from_secs(5), || {
        probe.send(b"PING\r\n");
        probe.read_for(Duration::from_millis(30)).is_empty()
    }));
    // The whole server is stopped meanwhile.
    let t = Instant::now();
    let _: String = q(&mut c, &["PING"]).unwrap();
    let ping_wait = t.elapsed();
    let slept = sleeper.join().unwrap();
    assert!(slept >= Duration::from_millis(480), "{slept:?}");
    assert!(ping_wait >= Duration::from_millis(200), "{ping_wait:?}");
    let _: () = q(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]).unwrap();
    let _: () = q(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"]).unwrap();
    let e = q::<()>(&mut c, &["DEBUG", "NOPE"]).unwrap_err();
    assert_eq!(
        err_text(e),
        "ERR unknown subcommand or wrong number of arguments for 'NOPE'. Try DEBUG HELP."
    );
}

#[test]
fn debug_refused_by_default() {
    let s = Server::with_exact_config("");
    let mut r = s.raw();
    r.roundtrip(
        &resp(&["DEBUG", "SLEEP", "0"]),
        b"-ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.\r\n",
    );
    // Startup-only setting.
    r.roundtrip(
        &resp(&["CONFIG", "SET", "enable-debug-command", "yes"]),
        b"-ERR CONFIG SET failed (possibly related to argument 'enable-debug-command') - can't set immutable config\r\n",
    );
}

#[test]
fn slowlog_records_commands() {
    let s = Server::start();
    let mut c = s.client();
    let _: () = q(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]).unwrap();
    let _: () = q(&mut c, &["SLOWLOG", "RESET"]).unwrap();
    let _: () = q(&mut c, &["CLIENT", "SETNAME", "slowpoke"]).unwrap();
    let _: () = q(&mut c, &["SET", "key1", "value1"]).unwrap();
    let len: i64 = q(&mut c, &["SLOWLOG", "LEN"]).unwrap();
    assert!(len >= 2, "{len}");
    let entries: Vec<redis::Value> = q(&mut c, &["SLOWLOG", "GET", "-1"]).unwrap();
    assert!(entries.len() as i64 >= len);
    let dump = format!("{:?}", entries);
    assert!(dump.contains("key1") && dump.contains("value1"), "{dump}");
    assert!(dump.contains("slowpoke"), "{dump}");
    // Entry shape: id, time, micros, args, addr, name.
    let mut r = s.raw();
    r.send(&resp(&["SLOWLOG", "GET", "1"]));
    let got = String::from_utf8_lossy(&r.read_for(Duration::from_millis(300))).to_string();
    assert!(got.starts_with("*1\r\n*6\r\n:"), "{got}");
    assert!(got.contains("127.0.0.1:"), "{got}");
    let one: Vec<redis::Value> = q(&mut c, &["SLOWLOG", "GET", "1"]).unwrap();
    assert_eq!(one.len(), 1);
    let e = q::<()>(&mut c, &["SLOWLOG", "GET", "-2"]).unwrap_err();
    assert_eq!(
        err_text(e),
        "ERR count should be greater than or equal to -1"
    );
    let _: () = q(&mut c, &["SLOWLOG", "RESET"]).unwrap();
    let len: i64 = q(&mut c, &["SLOWLOG", "LEN"]).unwrap();
    assert!(len <= 1);
}

#[test]
fn shutdown_is_graceful() {
    let mut s = Server::start();
    let mut other = s.raw();
    let mut c = s.client();
    let e = q::<()>(&mut c, &["SHUTDOWN", "NOW", "BOGUS"]).unwrap_err();
    assert_eq!(err_text(e), "ERR syntax error");
    let e = q::<()>(&mut c, &["SHUTDOWN", "ABORT"]).unwrap_err();
    assert_eq!(err_text(e), "ERR No shutdown in progress.");
    // When the final save fails, SHUTDOWN fails and the server stays up.
    let _: () = q(
        &mut c,
        &["CONFIG", "SET", "dbfilename", "no-such-dir/dump.rdb"],
    )
    .unwrap();
    let e = q::<()>(&mut c, &["SHUTDOWN", "SAVE"]).unwrap_err();
    assert_eq!(err_text(e), "ERR Errors trying to SHUTDOWN. Check logs.");
    assert!(wait_until(Duration::from_secs(2), || s
        .logs()
        .contains("Failed saving the DB")));
    let _: String = q(&mut c, &["PING"]).unwrap();

    let mut r = s.raw();
    r.send(&resp(&["SHUTDOWN", "NOSAVE"]));
    let reply = r.read_for(Duration::from_secs(3));
    assert!(
        reply.is_empty(),
        "no reply expected: {:?}",
        String::from_utf8_lossy(&reply)
    );
    assert!(other.is_closed());
    let st = s.wait_exit(Duration::from_secs(5)).expect("server exits");
    assert!(st.success(), "{st:?}");
}

#[test]
fn redis_cli_interop() {
    let s = Server::start();
    let Some(out) = redis_cli(s.port, &["INFO", "server"]) else {
        return;
    };
    assert!(out.contains("redis_version:7.0.15"), "{out}");
    assert!(out.contains(&format!("tcp_port:{}", s.port)), "{out}");
    let out = redis_cli(s.port, &["CONFIG", "GET", "port"]).unwrap();
    assert_eq!(out, format!("port\n{}", s.port));
    let out = redis_cli(s.port, &["--no-raw", "COMMAND", "DOCS", "get"]).unwrap();
    assert!(out.contains("\"summary\""), "{out}");
    let out = redis_cli(s.port, &["COMMAND", "COUNT"]).unwrap();
    assert!(out.parse::<i64>().unwrap() > 20);
}

#[test]
fn role_of_a_master() {
    let s = Server::start();
    let mut r = s.raw();
    r.roundtrip(&resp(&["ROLE"]), b"*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n");
    r.roundtrip(b"HELLO 3\r\n", b"%7\r\n");
    let _ = r.read_for(std::time::Duration::from_millis(200));
    r.roundtrip(&resp(&["ROLE"]), b"*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n");
}

/// COMMAND INFO's ACL categories (the 7th field), for every command and
/// subcommand both servers know: the same set in the same order.
#[test]
fn acl_categories_match_real_redis() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let ours = Server::start();
    let mut theirs = redis::Client::open(format!("redis://127.0.0.1:{}/", real.port))
        .unwrap()
        .get_connection()
        .unwrap();
    let mut mine = ours.client();
    let names: Vec<String> = q(&mut theirs, &["COMMAND", "LIST"]).unwrap();
    let cats = |c: &mut redis::Connection, name: &str| -> Option<Vec<String>> {
        let v: redis::Value = q(c, &["COMMAND", "INFO", name]).unwrap();
        let redis::Value::Array(mut infos) = v else {
            panic!("{v:?}")
        };
        match infos.remove(0) {
            redis::Value::Array(info) => Some(redis::from_redis_value(&info[6]).unwrap()),
            _ => None,
        }
    };
    let mut compared = 0;
    for n in &names {
        let Some(mine_cats) = cats(&mut mine, n) else {
            continue;
        };
        assert_eq!(Some(mine_cats), cats(&mut theirs, n), "categories of {n}");
        compared += 1;
    }
    assert!(compared > 250, "only {compared} commands compared");
}
