//! RDB persistence through the server: SAVE / BGSAVE / save points / startup
//! load, point-in-time consistency under concurrent writers, corrupt files,
//! a full disk, and interop with a real redis-server both ways.

use crate::common::*;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

type Dataset = BTreeMap<(usize, Vec<u8>), (String, String, i64)>;

fn q<T: redis::FromRedisValue>(c: &mut redis::Connection, args: &[&[u8]]) -> T {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).unwrap());
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c)
        .unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(args[0])))
}

/// Every key of dbs 0..4 with its type, a canonical rendering of its value
/// and its absolute expiry (PEXPIRETIME).
fn dataset(c: &mut redis::Connection) -> Dataset {
    let mut d = Dataset::new();
    for db in 0..4usize {
        let _: () = q(c, &[b"SELECT", db.to_string().as_bytes()]);
        let keys: Vec<Vec<u8>> = q(c, &[b"KEYS", b"*"]);
        for k in keys {
            let t: String = q(c, &[b"TYPE", &k]);
            let v = match t.as_str() {
                "string" => format!("{:?}", q::<Vec<u8>>(c, &[b"GET", &k])),
                "list" => format!("{:?}", q::<Vec<Vec<u8>>>(c, &[b"LRANGE", &k, b"0", b"-1"])),
                "hash" => {
                    let mut v: Vec<(Vec<u8>, Vec<u8>)> = q(c, &[b"HGETALL", &k]);
                    v.sort();
                    format!("{v:?}")
                }
                "set" => {
                    let mut v: Vec<Vec<u8>> = q(c, &[b"SMEMBERS", &k]);
                    v.sort();
                    format!("{v:?}")
                }
                "zset" => format!(
                    "{:?}",
                    q::<Vec<(Vec<u8>, String)>>(c, &[b"ZRANGE", &k, b"0", b"-1", b"WITHSCORES"])
                ),
                other => panic!("unexpected type {other}"),
            };
            let exp: i64 = q(c, &[b"PEXPIRETIME", &k]);
            d.insert((db, k), (t, v, exp));
        }
    }
    let _: () = q(c, &[b"SELECT", b"0"]);
    d
}

/// Data of every type and encoding, TTLs, several databases.
fn populate(c: &mut redis::Connection) {
    let far = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 3_600_000)
        .to_string();
    let far = far.as_bytes();
    let _: () = q(c, &[b"SELECT", b"0"]);
    let _: () = q(c, &[b"SET", b"s:plain", b"hello"]);
    let _: () = q(c, &[b"SET", b"s:int", b"12345"]);
    let _: () = q(c, &[b"SET", b"s:neg", b"-9000000000"]);
    let _: () = q(c, &[b"SET", b"s:bin", b"a\x00b\xffc\r\n"]);
    let _: () = q(c, &[b"SET", b"s:long", "ab".repeat(600).as_bytes()]);
    let _: () = q(c, &[b"SET", b"s:ttl", b"v", b"PXAT", far]);
    let _: () = q(c, &[b"SET", b"", b"empty key"]);
    let _: () = q(c, &[b"RPUSH", b"l:small", b"a", b"b", b"1"]);
    for i in 0..50 {
        let vals: Vec<String> = (0..40).map(|j| format!("e{i}-{j}")).collect();
        let mut args: Vec<&[u8]> = vec![b"RPUSH", b"l:big"];
        args.extend(vals.iter().map(|s| s.as_bytes()));
        let _: i64 = q(c, &args);
    }
    let _: () = q(c, &[b"HSET", b"h:small", b"f1", b"v1", b"f2", b"2"]);
    for i in 0..300 {
        let f = format!("field{i}");
        let _: i64 = q(c, &[b"HSET", b"h:big", f.as_bytes(), b"value"]);
    }
    let _: () = q(
        c,
        &[b"HSET", b"h:longval", b"f", "x".repeat(100).as_bytes()],
    );
    let _: () = q(c, &[b"PEXPIREAT", b"h:small", far]);
    let _: i64 = q(c, &[b"SADD", b"set:int", b"1", b"2", b"-3", b"100000"]);
    let _: i64 = q(c, &[b"SADD", b"set:str", b"a", b"b", b"c"]);
    for i in 0..700 {
        let _: i64 = q(c, &[b"SADD", b"set:big", i.to_string().as_bytes()]);
    }
    let _: i64 = q(
        c,
        &[b"ZADD", b"z:small", b"1", b"a", b"2.5", b"b", b"-inf", b"c"],
    );
    for i in 0..200 {
        let s = format!("{}.25", i as i64 - 100);
        let m = format!("member{i}");
        let _: i64 = q(c, &[b"ZADD", b"z:big", s.as_bytes(), m.as_bytes()]);
    }
    let _: () = q(c, &[b"SELECT", b"1"]);
    let _: () = q(c, &[b"SET", b"db1:key", b"one"]);
    let _: () = q(c, &[b"SET", b"db1:ttl", b"x", b"PXAT", far]);
    let _: i64 = q(c, &[b"RPUSH", b"db1:list", b"x"]);
    let _: () = q(c, &[b"SELECT", b"3"]);
    let _: () = q(c, &[b"SET", b"db3:key", b"three"]);
    let _: () = q(c, &[b"SELECT", b"0"]);
}

fn info_field(c: &mut redis::Connection, field: &str) -> String {
    let info: String = redis::cmd("INFO").arg("persistence").query(c).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in INFO"))
        .trim()
        .to_string()
}

fn wait_bgsave(c: &mut redis::Connection) {
    assert!(
        wait_until(Duration::from_secs(60), || info_field(
            c,
            "rdb_bgsave_in_progress"
        ) == "0"),
        "BGSAVE did not finish"
    );
}

#[test]
fn save_then_restart_restores_everything() {
    let data = tempfile::tempdir().unwrap();
    let expected = {
        let s = Server::with_data_dir(data.path(), "save = \"\"\n");
        let mut c = s.client();
        populate(&mut c);
        let d = dataset(&mut c);
        let r: String = redis::cmd("SAVE").query(&mut c).unwrap();
        assert_eq!(r, "OK");
        let last: i64 = redis::cmd("LASTSAVE").query(&mut c).unwrap();
        assert!(last > 0);
        assert_eq!(info_field(&mut c, "rdb_changes_since_last_save"), "0");
        d
    };
    assert!(expected.len() > 15);
    let path = data.path().join("dump.rdb");
    assert!(path.exists());
    assert!(
        std::fs::read_dir(data.path()).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("temp-")),
        "temp file left behind"
    );
    let s = Server::with_data_dir(data.path(), "save = \"\"\n");
    assert!(
        crate::common::wait_until(std::time::Duration::from_secs(10), || s
            .logs()
            .contains("DB loaded from disk")),
        "{}",
        s.logs()
    );
    let mut c = s.client();
    assert_eq!(dataset(&mut c), expected);
    assert!(
        info_field(&mut c, "rdb_last_load_keys_loaded")
            .parse::<u64>()
            .unwrap()
            > 15
    );

    // redis-check-rdb accepts the file the server wrote
    if let Some(check) = peer("redis-check-rdb") {
        let out = Command::new(check).arg(&path).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "redis-check-rdb failed:\n{text}");
        assert!(text.contains("RDB looks OK"), "{text}");
    }
}

#[test]
fn debug_reload_and_expired_keys_are_dropped_on_load() {
    let data = tempfile::tempdir().unwrap();
    {
        let s = Server::with_data_dir(data.path(), "save = \"\"\n");
        let mut c = s.client();
        populate(&mut c);
        let before = dataset(&mut c);
        let r: String = redis::cmd("DEBUG").arg("RELOAD").query(&mut c).unwrap();
        assert_eq!(r, "OK");
        assert_eq!(dataset(&mut c), before);
        let _: () = redis::cmd("SET")
            .arg("soon")
            .arg("x")
            .arg("PX")
            .arg(300)
            .query(&mut c)
            .unwrap();
        let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
    }
    // Deliberate: the 300 ms TTL runs out while the server is down.
    std::thread::sleep(Duration::from_millis(400));
    let s = Server::with_data_dir(data.path(), "save = \"\"\n");
    let mut c = s.client();
    let exists: i64 = redis::cmd("EXISTS").arg("soon").query(&mut c).unwrap();
    assert_eq!(exists, 0);
    assert_eq!(info_field(&mut c, "rdb_last_load_keys_expired"), "1");
}

/// 8 clients each INCR a counter and RPUSH to a list in one MULTI while a
/// BGSAVE runs: the file is one point in time, so counter == list length.
#[test]
fn bgsave_is_a_point_in_time_under_concurrent_writers() {
    let data = tempfile::tempdir().unwrap();
    let s = Server::with_data_dir(data.path(), "save = \"\"\n");
    let mut c = s.client();
    // bulk so the snapshot takes many steps
    for b in 0..100 {
        let mut p = redis::pipe();
        for i in 0..1000 {
            p.set(format!("bulk:{b}:{i}"), "some value that takes space")
                .ignore();
        }
        p.query::<()>(&mut c).unwrap();
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let mut wc = s.client();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut n = 0u64;
                let mut worst = Duration::ZERO;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let t = Instant::now();
                    let _: (i64, i64) = redis::pipe()
                        .atomic()
                        .incr(format!("counter:{w}"), 1)
                        .rpush(format!("list:{w}"), n)
                        // overwrite bulk keys the snapshot has not reached yet
                        .set(format!("bulk:{}:{}", 99 - (n % 100), w), "changed")
                        .ignore()
                        .query(&mut wc)
                        .unwrap();
                    worst = worst.max(t.elapsed());
                    n += 1;
                }
                (n, worst)
            })
        })
        .collect();
    let counters = |c: &mut redis::Connection| -> Vec<Option<i64>> {
        (0..8)
            .map(|w| {
                redis::cmd("GET")
                    .arg(format!("counter:{w}"))
                    .query(c)
                    .unwrap()
            })
            .collect()
    };
    // Every writer is writing when the snapshot starts.
    assert!(wait_until(Duration::from_secs(10), || counters(&mut c)
        .iter()
        .all(Option::is_some)));
    let r: String = redis::cmd("BGSAVE").query(&mut c).unwrap();
    assert_eq!(r, "Background saving started");
    let again = redis::cmd("BGSAVE").query::<String>(&mut c).unwrap_err();
    assert!(
        again
            .to_string()
            .contains("Background save already in progress")
            || info_field(&mut c, "rdb_bgsave_in_progress") == "0",
        "{again}"
    );
    wait_bgsave(&mut c);
    // Writes go on after the snapshot: the file must not hold those.
    let sum = |v: Vec<Option<i64>>| v.into_iter().flatten().sum::<i64>();
    let at_end = sum(counters(&mut c));
    assert!(wait_until(Duration::from_secs(10), || sum(counters(
        &mut c
    )) > at_end));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut total = 0;
    for w in writers {
        let (n, worst) = w.join().unwrap();
        total += n;
        eprintln!("writer: {n} transactions, worst latency {worst:?}");
    }
    assert!(total > 0);
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
    assert_eq!(info_field(&mut c, "rdb_saves"), "1");
    drop(c);
    drop(s);

    let s = Server::with_data_dir(data.path(), "save = \"\"\n");
    let mut c = s.client();
    let mut in_file = 0;
    for w in 0..8 {
        let counter: Option<i64> = redis::cmd("GET")
            .arg(format!("counter:{w}"))
            .query(&mut c)
            .unwrap();
        let len: i64 = redis::cmd("LLEN")
            .arg(format!("list:{w}"))
            .query(&mut c)
            .unwrap();
        assert_eq!(
            counter.unwrap_or(0),
            len,
            "writer {w}: not one point in time"
        );
        in_file += len;
    }
    assert!(
        (in_file as u64) < total,
        "the file holds the state at BGSAVE, not the final one"
    );
    let dbsize: i64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
    assert!(dbsize >= 100_000);
}

#[test]
fn save_points_trigger_a_background_save() {
    let data = tempfile::tempdir().unwrap();
    let s = Server::with_data_dir(data.path(), "save = \"1 1\"\n");
    let mut c = s.client();
    let cfg: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("save")
        .query(&mut c)
        .unwrap();
    assert_eq!(cfg, vec!["save".to_string(), "1 1".to_string()]);
    let _: () = redis::cmd("SET").arg("a").arg("1").query(&mut c).unwrap();
    assert!(
        wait_until(Duration::from_secs(8), || info_field(&mut c, "rdb_saves")
            != "0"),
        "no save within 8 s; logs:\n{}",
        s.logs()
    );
    wait_bgsave(&mut c);
    assert!(data.path().join("dump.rdb").exists());
    assert!(
        s.logs().contains("changes in 1 seconds. Saving..."),
        "{}",
        s.logs()
    );
    // CONFIG SET save "" disables it; bad values are refused
    let err = redis::cmd("CONFIG")
        .arg("SET")
        .arg("save")
        .arg("1")
        .query::<()>(&mut c)
        .unwrap_err();
    assert!(err.to_string().contains("Invalid save parameters"), "{err}");
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("save")
        .arg("")
        .query(&mut c)
        .unwrap();
}

#[test]
fn corrupt_or_truncated_dump_stops_startup_and_is_left_alone() {
    let data = tempfile::tempdir().unwrap();
    {
        let s = Server::with_data_dir(data.path(), "save = \"\"\n");
        let mut c = s.client();
        populate(&mut c);
        let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
    }
    let path = data.path().join("dump.rdb");
    let good = std::fs::read(&path).unwrap();
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x5a;
    for (name, bytes) in [
        ("flipped", flipped),
        ("truncated", good[..good.len() - 20].to_vec()),
    ] {
        std::fs::write(&path, &bytes).unwrap();
        let (status, out) = start_expect_exit(data.path(), "", Duration::from_secs(20));
        assert_eq!(status.code(), Some(1), "{name}: {out}");
        assert!(
            out.contains("dump.rdb"),
            "{name}: message must name the file: {out}"
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "{name}: file was modified"
        );
    }
}

/// Unmounts on drop.
struct Tmpfs(std::path::PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn full_disk_fails_bgsave_keeps_old_file_and_recovers() {
    let mnt = tempfile::tempdir().unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(mnt.path())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("skipping: cannot mount a tmpfs (needs root)");
        return;
    }
    let _umount = Tmpfs(mnt.path().to_path_buf());
    let s = Server::with_data_dir(mnt.path(), "save = \"3600 1\"\n");
    let mut c = s.client();
    let _: () = redis::cmd("SET")
        .arg("small")
        .arg("1")
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
    let path = mnt.path().join("dump.rdb");
    let old = std::fs::read(&path).unwrap();
    // leave ~250 KB free, then hold ~600 KB of incompressible data
    std::fs::write(mnt.path().join("filler"), vec![7u8; 780 * 1024]).unwrap();
    use rand::RngCore;
    let mut rng = rand::thread_rng();
    for i in 0..300 {
        let mut v = vec![0u8; 2048];
        rng.fill_bytes(&mut v);
        let _: () = redis::cmd("SET")
            .arg(format!("big{i}"))
            .arg(v)
            .query(&mut c)
            .unwrap();
    }
    let r: String = redis::cmd("BGSAVE").query(&mut c).unwrap();
    assert_eq!(r, "Background saving started");
    wait_bgsave(&mut c);
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "err");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        old,
        "the previous dump must stay intact"
    );
    assert_eq!(
        files_in(mnt.path()),
        vec!["dump.rdb", "filler"],
        "temp file left"
    );
    assert!(
        s.logs().contains("No space left on device"),
        "the log must give the OS error: {}",
        s.logs()
    );
    // writes are refused with MISCONF, reads still work
    let err = redis::cmd("SET")
        .arg("x")
        .arg("1")
        .query::<()>(&mut c)
        .unwrap_err();
    assert!(err.to_string().contains("MISCONF"), "{err}");
    let mut raw = RespConn::connect(s.port);
    assert_eq!(
        raw.c("SET x 1"),
        "-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.\r\n"
    );
    let v: String = redis::cmd("GET").arg("small").query(&mut c).unwrap();
    assert_eq!(v, "1");
    // free the space: the next BGSAVE succeeds and writes are accepted again
    std::fs::remove_file(mnt.path().join("filler")).unwrap();
    let r: String = redis::cmd("BGSAVE").query(&mut c).unwrap();
    assert_eq!(r, "Background saving started");
    wait_bgsave(&mut c);
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
    let _: () = redis::cmd("SET").arg("x").arg("1").query(&mut c).unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() > 600_000);
}

/// A real redis-server loads the dump our server wrote with SAVE.
#[test]
fn real_redis_loads_our_dump() {
    let data = tempfile::tempdir().unwrap();
    let expected = {
        let s = Server::with_data_dir(data.path(), "save = \"\"\n");
        let mut c = s.client();
        populate(&mut c);
        let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
        dataset(&mut c)
    };
    let dir = data.path().display().to_string();
    let Some(real) = RealRedis::start_with(&["--dir", &dir, "--dbfilename", "dump.rdb"]) else {
        return;
    };
    let mut c = redis::Client::open(format!("redis://127.0.0.1:{}/", real.port))
        .unwrap()
        .get_connection()
        .unwrap();
    assert!(wait_until(Duration::from_secs(10), || {
        redis::cmd("PING").query::<String>(&mut c).is_ok()
    }));
    assert_eq!(dataset(&mut c), expected);
}

/// A dump written by a real redis-server loads at our startup.
#[test]
fn real_redis_dump_loads_at_startup() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().display().to_string();
    let Some(real) = RealRedis::start_with(&["--dir", &dir, "--dbfilename", "dump.rdb"]) else {
        return;
    };
    let expected = {
        let mut c = redis::Client::open(format!("redis://127.0.0.1:{}/", real.port))
            .unwrap()
            .get_connection()
            .unwrap();
        populate(&mut c);
        let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
        dataset(&mut c)
    };
    drop(real);
    let s = Server::with_data_dir(data.path(), "save = \"\"\n");
    let mut c = s.client();
    assert_eq!(dataset(&mut c), expected);
}

/// SHUTDOWN follows 7.0: saves by default when save points are set, SAVE
/// forces it, NOSAVE skips it; SIGTERM saves like a plain SHUTDOWN.
#[test]
fn shutdown_saves_per_redis_rules() {
    let cases: [(&str, Option<&str>, bool); 5] = [
        ("save = \"3600 1\"\n", Some("SHUTDOWN"), true),
        ("save = \"3600 1\"\n", Some("NOSAVE"), false),
        ("save = \"\"\n", Some("SHUTDOWN"), false),
        ("save = \"\"\n", Some("SAVE"), true),
        ("save = \"3600 1\"\n", None, true), // SIGTERM
    ];
    for (cfg, how, saved) in cases {
        let data = tempfile::tempdir().unwrap();
        let mut s = Server::with_data_dir(data.path(), cfg);
        let mut c = s.client();
        let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut c).unwrap();
        match how {
            Some("SHUTDOWN") => {
                let _ = redis::cmd("SHUTDOWN").query::<()>(&mut c);
            }
            Some(arg) => {
                let _ = redis::cmd("SHUTDOWN").arg(arg).query::<()>(&mut c);
            }
            None => {
                Command::new("kill")
                    .args(["-TERM", &s.pid().to_string()])
                    .status()
                    .unwrap();
            }
        }
        let st = s.wait_exit(Duration::from_secs(10)).expect("server exits");
        assert!(st.success(), "{cfg} {how:?}: {st:?}");
        assert_eq!(
            data.path().join("dump.rdb").exists(),
            saved,
            "{cfg} {how:?}: {}",
            s.logs()
        );
        assert_eq!(
            files_in(data.path())
                .iter()
                .filter(|f| f.starts_with("temp-"))
                .count(),
            0
        );
    }
}

/// A BGSAVE cut short by SHUTDOWN NOSAVE leaves no temp file behind.
#[test]
fn shutdown_during_bgsave_cleans_up() {
    let data = tempfile::tempdir().unwrap();
    let mut s = Server::with_data_dir(data.path(), "save = \"\"\n");
    let mut c = s.client();
    for b in 0..50 {
        let mut p = redis::pipe();
        for i in 0..1000 {
            p.set(format!("k:{b}:{i}"), "x".repeat(100)).ignore();
        }
        p.query::<()>(&mut c).unwrap();
    }
    let r: String = redis::cmd("BGSAVE").query(&mut c).unwrap();
    assert_eq!(r, "Background saving started");
    let _ = redis::cmd("SHUTDOWN").arg("NOSAVE").query::<()>(&mut c);
    let st = s.wait_exit(Duration::from_secs(10)).expect("server exits");
    assert!(st.success());
    assert_eq!(
        files_in(data.path())
            .iter()
            .filter(|f| f.starts_with("temp-"))
            .count(),
        0,
        "{:?}",
        files_in(data.path())
    );
}

/// Like Redis, a node listens before it loads its dump: meanwhile commands
/// get -LOADING, INFO shows loading:1 with its progress, and afterwards the
/// whole dataset is there.
#[test]
fn clients_see_loading_during_the_startup_load() {
    let data = tempfile::tempdir().unwrap();
    {
        let s = Server::with_data_dir(data.path(), "save = \"\"\n");
        let mut c = s.client();
        let _: () = redis::cmd("EVAL")
            .arg("for i=1,3000 do redis.call('set','k'..i,i) end")
            .arg(0)
            .query(&mut c)
            .unwrap();
        let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
    }
    // key-load-delay (Redis's own test hook): 3000 keys x 1 ms, a 3 s load.
    let s = Server::with_data_dir_listening(data.path(), "save = \"\"\nkey-load-delay = 1000\n");
    let mut c = RespConn::connect(s.port);
    assert_eq!(
        c.call(&["GET", "k1"]),
        b"-LOADING Redis is loading the dataset in memory\r\n".to_vec()
    );
    assert_eq!(
        c.call(&["PING"]),
        b"-LOADING Redis is loading the dataset in memory\r\n".to_vec()
    );
    let info = String::from_utf8_lossy(&c.call(&["INFO", "persistence"])).into_owned();
    assert!(info.contains("loading:1\r\n"), "{info}");
    let field = |name: &str| -> u64 {
        info.split(&format!("{name}:"))
            .nth(1)
            .and_then(|r| r.split("\r\n").next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} in {info}"))
    };
    assert!(field("loading_total_bytes") > 0);
    assert!(field("loading_start_time") > 0);
    assert!(wait_until(Duration::from_secs(60), || {
        c.call(&["GET", "k3000"]) == b"$4\r\n3000\r\n".to_vec()
    }));
    assert_eq!(c.call(&["DBSIZE"]), b":3000\r\n".to_vec());
    let info = String::from_utf8_lossy(&c.call(&["INFO", "persistence"])).into_owned();
    assert!(info.contains("loading:0\r\n"), "{info}");
    assert!(s.logs().contains("DB loaded from disk"), "{}", s.logs());
}
