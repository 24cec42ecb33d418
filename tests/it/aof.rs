//! The append-only file (issue 14) with real processes: crash loops with
//! SIGKILL at random moments (rsredis and real redis-server), interop of
//! AOF directories both ways (+ redis-check-aof), damaged files, rewrites
//! under writes, turning the AOF on at runtime, a full disk.

use crate::common::*;
use rand::Rng;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(20);

fn aof_cfg(fsync: &str) -> String {
    format!(
        "save = \"\"\nappendonly = true\nappendfsync = \"{fsync}\"\nauto-aof-rewrite-percentage = 0\n"
    )
}

fn aof_dir(data: &Path) -> PathBuf {
    data.join("appendonlydir")
}

fn incr_file(data: &Path) -> PathBuf {
    let m = std::fs::read_to_string(aof_dir(data).join("appendonly.aof.manifest")).unwrap();
    let name = m
        .lines()
        .rfind(|l| l.ends_with("type i"))
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .to_string();
    aof_dir(data).join(name)
}

/// What one writer saw acknowledged before its server died.
#[derive(Default)]
struct Acked {
    /// (value INCR replied, when)
    incrs: Vec<(i64, Instant)>,
    /// (key SET, when it was acknowledged)
    sets: Vec<(String, Instant)>,
}

fn cmd_bytes(args: &[&str]) -> Vec<u8> {
    resp(args)
}

/// One client: INCR c:<round>:<t> then SET u:<round>:<t>:<i> <i>, until the
/// connection dies; every acknowledged reply is recorded.
fn writer(port: u16, round: usize, t: usize, stop: Arc<AtomicBool>) -> Acked {
    let mut acked = Acked::default();
    let Ok(s) = TcpStream::connect(("127.0.0.1", port)) else {
        return acked;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    let counter = format!("c:{round}:{t}");
    let mut line = String::new();
    for i in 0.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if w.write_all(&cmd_bytes(&["INCR", &counter])).is_err() {
            break;
        }
        line.clear();
        match r.read_line(&mut line) {
            Ok(n) if n > 0 && line.starts_with(':') => {
                acked
                    .incrs
                    .push((line[1..].trim().parse().unwrap(), Instant::now()));
            }
            _ => break,
        }
        let key = format!("u:{round}:{t}:{i}");
        if w.write_all(&cmd_bytes(&["SET", &key, &i.to_string()]))
            .is_err()
        {
            break;
        }
        line.clear();
        match r.read_line(&mut line) {
            Ok(n) if n > 0 && line == "+OK\r\n" => acked.sets.push((key, Instant::now())),
            _ => break,
        }
    }
    acked
}

/// Run 8 writers, SIGKILL the server after a random 100-400 ms.
fn write_and_kill(port: u16, round: usize, kill: impl FnOnce()) -> Vec<Acked> {
    let stop = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let stop = stop.clone();
            std::thread::spawn(move || writer(port, round, t, stop))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(
        rand::thread_rng().gen_range(100..400),
    ));
    kill();
    stop.store(true, Ordering::Relaxed);
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

/// Count acknowledged writes missing after the restart and how long before
/// the kill the oldest of them was acknowledged.
fn check_round(
    port: u16,
    round: usize,
    acked: &[Acked],
    killed_at: Instant,
) -> (usize, usize, Duration) {
    let mut c = RespConn::connect(port);
    let (mut missing, mut total, mut window) = (0, 0, Duration::ZERO);
    for (t, a) in acked.iter().enumerate() {
        let v = String::from_utf8_lossy(&c.call(&["GET", &format!("c:{round}:{t}")])).into_owned();
        let have: i64 = v.lines().nth(1).and_then(|x| x.parse().ok()).unwrap_or(0);
        total += a.incrs.len() + a.sets.len();
        for &(n, at) in &a.incrs {
            if n > have {
                missing += 1;
                window = window.max(killed_at.saturating_duration_since(at));
            }
        }
        for (k, at) in &a.sets {
            if c.call(&["EXISTS", k]) != b":1\r\n" {
                missing += 1;
                window = window.max(killed_at.saturating_duration_since(*at));
            }
        }
    }
    (missing, total, window)
}

/// The crash loop against rsredis: `rounds` SIGKILLs on one data dir.
fn crash_loop_rsredis(fsync: &str, rounds: usize) -> (usize, usize, Duration) {
    let data = tempfile::tempdir().unwrap();
    let cfg = aof_cfg(fsync);
    let (mut missing, mut total, mut window) = (0, 0, Duration::ZERO);
    let mut s = Server::with_data_dir(data.path(), &cfg);
    for round in 0..rounds {
        let pid = s.pid();
        let mut killed_at = Instant::now();
        let acked = write_and_kill(s.port, round, || {
            killed_at = Instant::now();
            signal(pid, "KILL");
        });
        drop(s);
        s = Server::with_data_dir(data.path(), &cfg);
        let (m, t, w) = check_round(s.port, round, &acked, killed_at);
        assert!(t > 0, "round {round}: no write was acknowledged");
        missing += m;
        total += t;
        window = window.max(w);
    }
    (missing, total, window)
}

#[test]
fn crash_loop_always_loses_no_acknowledged_write() {
    let (missing, total, _) = crash_loop_rsredis("always", 50);
    eprintln!(
        "rsredis appendfsync always: 50 SIGKILLs, {total} acknowledged writes, {missing} missing"
    );
    assert_eq!(missing, 0);
}

#[test]
fn crash_loop_everysec_measures_loss() {
    let (missing, total, window) = crash_loop_rsredis("everysec", 20);
    eprintln!(
        "rsredis appendfsync everysec: 20 SIGKILLs, {total} acknowledged writes, {missing} missing (oldest lost ack {window:?} before the kill)"
    );
    // Replies wait for write(2) as Redis's: a killed process loses nothing
    // (only a power cut can lose the last second).
    assert_eq!(missing, 0);
}

#[test]
fn crash_loop_real_redis_always() {
    if peer("redis-server").is_none() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let d = data.path().display().to_string();
    let args = [
        "--dir",
        &d,
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--auto-aof-rewrite-percentage",
        "0",
    ];
    let (mut missing, mut total) = (0, 0);
    let mut r = RealRedis::start_with(&args).unwrap();
    for round in 0..50 {
        let pid = r.child.id();
        let mut killed_at = Instant::now();
        let acked = write_and_kill(r.port, round, || {
            killed_at = Instant::now();
            signal(pid, "KILL");
        });
        drop(r);
        r = RealRedis::start_with(&args).unwrap();
        wait_loaded(r.port);
        let (m, t, _) = check_round(r.port, round, &acked, killed_at);
        missing += m;
        total += t;
    }
    eprintln!("redis-server appendfsync always: 10 SIGKILLs, {total} acknowledged writes, {missing} missing");
    assert_eq!(missing, 0);
}

/// SHUTDOWN NOSAVE (the AOF is flushed and fsynced on the way out) and wait for the exit.
fn stop_server(mut c: RespConn, mut s: Server) {
    c.send(&[b"SHUTDOWN", b"NOSAVE"]);
    assert!(s.wait_exit(T).is_some(), "rsredis did not exit");
}

fn stop_real(mut c: RespConn, mut r: RealRedis) {
    c.send(&[b"SHUTDOWN", b"NOSAVE"]);
    let _ = r.child.wait();
}

/// The dataset is loaded (INFO loading:0): before that reads get -LOADING.
fn wait_loaded(port: u16) {
    assert!(wait_until(T, || info_field(port, "persistence", "loading")
        .as_deref()
        == Some("0")));
}

fn wait_rewrite_done(port: u16) {
    assert!(wait_until(T, || {
        info_field(port, "persistence", "aof_rewrite_in_progress").as_deref() == Some("0")
            && info_field(port, "persistence", "aof_rewrite_scheduled").as_deref() == Some("0")
    }));
}

fn check_aof(data: &Path) -> String {
    let Some(bin) = peer("redis-check-aof") else {
        return String::new();
    };
    let out = Command::new(bin)
        .arg(aof_dir(data).join("appendonly.aof.manifest"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "redis-check-aof failed:\n{text}");
    assert!(
        text.contains("All AOF files and manifest are valid"),
        "{text}"
    );
    text
}

#[test]
fn real_redis_aof_dir_loads_in_rsredis() {
    if peer("redis-server").is_none() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let d = data.path().display().to_string();
    let want = {
        let r = RealRedis::start_with(&[
            "--dir",
            &d,
            "--appendonly",
            "yes",
            "--aof-timestamp-enabled",
            "yes",
        ])
        .unwrap();
        fill_all_types(r.port, "a");
        let mut c = RespConn::connect(r.port);
        assert!(c.c("BGREWRITEAOF").starts_with('+'));
        wait_rewrite_done(r.port);
        // After the rewrite: an INCR file with a transaction and other dbs.
        fill_all_types(r.port, "b");
        c.c("SELECT 0");
        c.c("MULTI");
        c.c("INCR tx");
        c.c("LPUSH txl x");
        assert_eq!(c.c("EXEC"), "*2\r\n:1\r\n:1\r\n");
        let want = dataset(r.port, 3);
        stop_real(c, r);
        want
    };
    let s = Server::with_data_dir(data.path(), &aof_cfg("everysec"));
    assert!(same_dataset(&dataset(s.port, 3), &want));
    assert!(s.logs().contains("DB loaded from append only file"));
}

fn rsredis_dir_loads_in_real_redis(preamble: bool) {
    let data = tempfile::tempdir().unwrap();
    let cfg = format!(
        "{}aof-use-rdb-preamble = {preamble}\naof-timestamp-enabled = true\n",
        aof_cfg("everysec")
    );
    let want = {
        let s = Server::with_data_dir(data.path(), &cfg);
        fill_all_types(s.port, "a");
        let mut c = RespConn::connect(s.port);
        assert_eq!(
            c.c("BGREWRITEAOF"),
            "+Background append only file rewriting started\r\n"
        );
        wait_rewrite_done(s.port);
        fill_all_types(s.port, "b");
        c.c("SELECT 0");
        c.c("MULTI");
        c.c("INCR tx");
        c.c("LPUSH txl x");
        c.c("EXEC");
        // An expired key: its PXAT in the AOF is in the past when loaded.
        c.c("SET gone 1 PX 1");
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(c.c("EXISTS gone"), ":0\r\n");
        let want = dataset(s.port, 3);
        stop_server(c, s);
        want
    };
    let m = std::fs::read_to_string(aof_dir(data.path()).join("appendonly.aof.manifest")).unwrap();
    let ext = if preamble { "rdb" } else { "aof" };
    assert_eq!(
        m,
        format!("file appendonly.aof.2.base.{ext} seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n")
    );
    check_aof(data.path());
    if peer("redis-server").is_none() {
        return;
    }
    let d = data.path().display().to_string();
    let r = RealRedis::start_with(&["--dir", &d, "--appendonly", "yes"]).unwrap();
    wait_loaded(r.port);
    let got = dataset(r.port, 3);
    for (a, b) in got.iter().zip(&want) {
        if a != b {
            eprintln!("real: {a}\nours: {b}");
        }
    }
    assert!(
        same_dataset(&got, &want),
        "{} vs {} keys",
        got.len(),
        want.len()
    );
    // And back: what real Redis appended loads in rsredis.
    let mut c = RespConn::connect(r.port);
    c.c("SET fromredis 1");
    let want = dataset(r.port, 3);
    stop_real(c, r);
    let s = Server::with_data_dir(data.path(), &cfg);
    assert!(same_dataset(&dataset(s.port, 3), &want));
}

#[test]
fn rsredis_aof_dir_with_rdb_preamble_loads_in_real_redis() {
    rsredis_dir_loads_in_real_redis(true);
}

#[test]
fn rsredis_aof_dir_with_command_base_loads_in_real_redis() {
    rsredis_dir_loads_in_real_redis(false);
}

/// Two keys in the AOF, server stopped; returns the INCR file and its length.
fn small_aof(data: &Path) -> (PathBuf, u64) {
    let s = Server::with_data_dir(data, &aof_cfg("always"));
    let mut c = RespConn::connect(s.port);
    c.c("SET a 1");
    c.c("SET b 2");
    stop_server(c, s);
    let f = incr_file(data);
    let len = std::fs::metadata(&f).unwrap().len();
    (f, len)
}

#[test]
fn truncated_last_record_is_cut_or_refused() {
    let data = tempfile::tempdir().unwrap();
    let (f, len) = small_aof(data.path());
    let mut h = std::fs::OpenOptions::new().append(true).open(&f).unwrap();
    h.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$5\r\nhal")
        .unwrap();
    drop(h);
    // aof-load-truncated no: refuses to start, naming file and offset.
    let (st, out) = start_expect_exit(
        data.path(),
        &format!("{}aof-load-truncated = false\n", aof_cfg("always")),
        T,
    );
    assert!(!st.success());
    assert!(
        out.contains(
            "Unexpected end of file reading the append only file appendonly.aof.1.incr.aof"
        ) && out.contains(&format!("at offset {len}")),
        "{out}"
    );
    // yes (the default): cut back to the last complete command, logged.
    let s = Server::with_data_dir(data.path(), &aof_cfg("always"));
    let mut c = RespConn::connect(s.port);
    assert_eq!(c.c("MGET a b c"), "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n");
    assert!(
        s.logs().contains("short read while loading the AOF file"),
        "{}",
        s.logs()
    );
    assert_eq!(std::fs::metadata(&f).unwrap().len(), len);
    c.c("SET c 3");
    stop_server(c, s);
    check_aof(data.path());
}

#[test]
fn corrupt_record_in_the_middle_refuses_to_start() {
    let data = tempfile::tempdir().unwrap();
    let (f, _) = small_aof(data.path());
    let mut bytes = std::fs::read(&f).unwrap();
    // The second SET's "*3" becomes "!3": not a truncation, a corruption.
    let second = bytes
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w == b"*3")
        .nth(1)
        .unwrap()
        .0;
    bytes[second] = b'!';
    std::fs::write(&f, &bytes).unwrap();
    let (st, out) = start_expect_exit(data.path(), &aof_cfg("always"), T);
    assert!(!st.success());
    assert!(
        out.contains("Bad file format reading the append only file appendonly.aof.1.incr.aof")
            && out.contains(&format!("at offset {second}")),
        "{out}"
    );
    // The file is left as it was.
    assert_eq!(std::fs::read(&f).unwrap(), bytes);
}

#[test]
fn rewrites_under_writes_keep_every_write_and_delete_old_files() {
    let data = tempfile::tempdir().unwrap();
    let s = Server::with_data_dir(data.path(), &aof_cfg("everysec"));
    let port = s.port;
    let stop = Arc::new(AtomicBool::new(false));
    let st = stop.clone();
    let w = std::thread::spawn(move || {
        let mut c = RespConn::connect(port);
        let mut n = 0u64;
        while !st.load(Ordering::Relaxed) {
            for _ in 0..100 {
                c.send(&[b"SET", format!("k{n}").as_bytes(), b"v"]);
                n += 1;
            }
            for _ in 0..100 {
                assert_eq!(c.read_reply(), b"+OK\r\n");
            }
        }
        n
    });
    let mut c = RespConn::connect(port);
    for i in 0..3 {
        std::thread::sleep(Duration::from_millis(150));
        assert_eq!(
            c.c("BGREWRITEAOF"),
            "+Background append only file rewriting started\r\n"
        );
        wait_rewrite_done(port);
        assert_eq!(
            info_field(port, "persistence", "aof_rewrites").as_deref(),
            Some((i + 1).to_string().as_str())
        );
    }
    stop.store(true, Ordering::Relaxed);
    let n = w.join().unwrap();
    assert_eq!(
        info_field(port, "persistence", "aof_last_bgrewrite_status").as_deref(),
        Some("ok")
    );
    stop_server(c, s);
    let mut files: Vec<String> = std::fs::read_dir(aof_dir(data.path()))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "appendonly.aof.4.base.rdb",
            "appendonly.aof.4.incr.aof",
            "appendonly.aof.manifest"
        ]
    );
    check_aof(data.path());
    let s = Server::with_data_dir(data.path(), &aof_cfg("everysec"));
    let mut c = RespConn::connect(s.port);
    assert_eq!(c.c("DBSIZE"), format!(":{n}\r\n"));
}

#[test]
fn config_set_appendonly_at_runtime_writes_a_base_first() {
    let data = tempfile::tempdir().unwrap();
    let s = Server::with_data_dir(data.path(), "save = \"\"\n");
    let mut c = RespConn::connect(s.port);
    c.c("SET before 1");
    assert_eq!(
        info_field(s.port, "persistence", "aof_enabled").as_deref(),
        Some("0")
    );
    assert_eq!(c.c("CONFIG SET appendonly yes"), "+OK\r\n");
    wait_rewrite_done(s.port);
    assert_eq!(
        info_field(s.port, "persistence", "aof_enabled").as_deref(),
        Some("1")
    );
    c.c("SET after 2");
    let m = std::fs::read_to_string(aof_dir(data.path()).join("appendonly.aof.manifest")).unwrap();
    assert_eq!(m, "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n");
    // Off again: later writes are not in the AOF.
    assert_eq!(c.c("CONFIG SET appendonly no"), "+OK\r\n");
    c.c("SET later 3");
    stop_server(c, s);
    let s = Server::with_data_dir(data.path(), &aof_cfg("everysec"));
    let mut c = RespConn::connect(s.port);
    assert_eq!(
        c.c("MGET before after later"),
        "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n"
    );
}

/// A 2 MB tmpfs mounted for a test, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let d = std::env::temp_dir().join(format!(
            "rsredis-aof-tmpfs-{}-{}",
            std::process::id(),
            rand::thread_rng().gen::<u64>()
        ));
        std::fs::create_dir_all(&d).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&d)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("skipping: cannot mount a tmpfs (not root?)");
            let _ = std::fs::remove_dir(&d);
            return None;
        }
        Some(Tmpfs(d))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn full_disk_refuses_writes_with_misconf_and_recovers() {
    let Some(fs) = Tmpfs::mount("2m") else {
        return;
    };
    let ballast = fs.0.join("ballast");
    std::fs::write(&ballast, vec![0u8; 1 << 20]).unwrap();
    {
        let s = Server::with_data_dir(&fs.0, &aof_cfg("everysec"));
        let mut c = RespConn::connect(s.port);
        let value = "x".repeat(50_000);
        let mut acked = Vec::new();
        let mut refused = String::new();
        for i in 0..100 {
            let r =
                String::from_utf8_lossy(&c.call(&["SET", &format!("k{i}"), &value])).into_owned();
            if r == "+OK\r\n" {
                acked.push(i);
            } else {
                refused = r;
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(
            refused,
            "-MISCONF Errors writing to the AOF file: No space left on device\r\n"
        );
        assert_eq!(
            info_field(s.port, "persistence", "aof_last_write_status").as_deref(),
            Some("err")
        );
        // Reads still work; PING reports the disk error as Redis 7.0 does.
        assert!(c.c("GET k0").starts_with("$50000"));
        assert!(c
            .c("PING")
            .starts_with("-MISCONF Errors writing to the AOF file"));
        // Space comes back: the buffered writes land and writes are accepted again.
        std::fs::remove_file(&ballast).unwrap();
        assert!(wait_until(T, || c.c("SET after 1") == "+OK\r\n"));
        assert_eq!(
            info_field(s.port, "persistence", "aof_last_write_status").as_deref(),
            Some("ok")
        );
        stop_server(c, s);
        let s = Server::with_data_dir(&fs.0, &aof_cfg("everysec"));
        let mut c = RespConn::connect(s.port);
        for i in acked {
            assert_eq!(c.c(&format!("EXISTS k{i}")), ":1\r\n", "k{i} lost");
        }
        assert_eq!(c.c("GET after"), "$1\r\n1\r\n");
    }
}

#[test]
fn info_persistence_reports_aof_fields() {
    let data = tempfile::tempdir().unwrap();
    let s = Server::with_data_dir(data.path(), &aof_cfg("always"));
    let mut c = RespConn::connect(s.port);
    c.c("SET a 1");
    let info = c.c("INFO persistence");
    for f in [
        "aof_enabled:1",
        "aof_rewrite_in_progress:0",
        "aof_rewrite_scheduled:0",
        "aof_last_bgrewrite_status:ok",
        "aof_last_write_status:ok",
        "aof_buffer_length:0",
        "aof_delayed_fsync:0",
        "aof_pending_bio_fsync:0",
    ] {
        assert!(info.contains(&format!("{f}\r\n")), "{f} missing in {info}");
    }
    let cur: u64 = info_field(s.port, "persistence", "aof_current_size")
        .unwrap()
        .parse()
        .unwrap();
    let base: u64 = info_field(s.port, "persistence", "aof_base_size")
        .unwrap()
        .parse()
        .unwrap();
    let incr = std::fs::metadata(incr_file(data.path())).unwrap().len();
    assert!(incr > 0);
    assert_eq!(cur, base + incr);
}

#[test]
fn always_plus_wait_means_on_the_master_disk_and_in_the_replicas_memory() {
    let data = tempfile::tempdir().unwrap();
    let cfg = aof_cfg("always");
    let m = Server::with_data_dir(data.path(), &cfg);
    let r = Server::with_config(&format!(
        "save = \"\"\nreplicaof = \"127.0.0.1 {}\"\n",
        m.port
    ));
    assert!(wait_info(
        r.port,
        "replication",
        "master_link_status",
        "up",
        T
    ));
    let mut c = RespConn::connect(m.port);
    for i in 0..50 {
        assert_eq!(c.c(&format!("SET w{i} {i}")), "+OK\r\n");
        assert_eq!(c.c("WAIT 1 5000"), ":1\r\n");
    }
    // The master dies: every write WAIT acknowledged is in the replica ...
    signal(m.pid(), "KILL");
    drop(m);
    let mut rc = RespConn::connect(r.port);
    assert_eq!(rc.c("DBSIZE"), ":50\r\n");
    // ... and on the master's disk.
    let m = Server::with_data_dir(data.path(), &cfg);
    let mut c = RespConn::connect(m.port);
    assert_eq!(c.c("DBSIZE"), ":50\r\n");
    assert_eq!(c.c("GET w49"), "$2\r\n49\r\n");
}

#[test]
fn replica_with_appendonly_writes_what_it_applies() {
    let m = Server::with_config("save = \"\"\n");
    let data = tempfile::tempdir().unwrap();
    let cfg = format!(
        "{}replicaof = \"127.0.0.1 {}\"\n",
        aof_cfg("always"),
        m.port
    );
    let r = Server::with_data_dir(data.path(), &cfg);
    assert!(wait_info(
        r.port,
        "replication",
        "master_link_status",
        "up",
        T
    ));
    let mut c = RespConn::connect(m.port);
    c.c("SET a 1");
    c.c("SELECT 2");
    c.c("MULTI");
    c.c("INCR n");
    c.c("RPUSH l x");
    c.c("EXEC");
    assert_eq!(c.c("WAIT 1 5000"), ":1\r\n");
    assert!(wait_until(T, || {
        info_field(r.port, "persistence", "aof_rewrite_in_progress").as_deref() == Some("0")
    }));
    // No PINGs or REPLCONFs from the stream in the AOF: only the writes.
    let incr = std::fs::read(incr_file(data.path())).unwrap();
    let text = String::from_utf8_lossy(&incr).to_lowercase();
    assert!(
        !text.contains("ping") && !text.contains("replconf"),
        "{text}"
    );
    // The master goes away; the replica restarts from its own AOF.
    drop(m);
    signal(r.pid(), "KILL");
    drop(r);
    let r = Server::with_data_dir(data.path(), &aof_cfg("always"));
    let mut rc = RespConn::connect(r.port);
    assert_eq!(rc.c("GET a"), "$1\r\n1\r\n");
    rc.c("SELECT 2");
    assert_eq!(rc.c("GET n"), "$1\r\n1\r\n");
    assert_eq!(rc.c("LRANGE l 0 -1"), "*1\r\n$1\r\nx\r\n");
}
