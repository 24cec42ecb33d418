//! Test harness: start the real rsredis binary on a free port, talk to it
//! with the `redis` crate, raw sockets or stock redis-cli, and stop it on drop.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Server {
    child: Option<Child>,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    logs: Arc<Mutex<String>>,
}

impl Server {
    /// A server with default settings (plus `enable-debug-command = "local"`).
    pub fn start() -> Server {
        Server::with_config("")
    }

    /// A server with extra TOML config lines. `port = 0` lets the OS pick;
    /// the port is read back from the "Ready to accept connections" log line.
    pub fn with_config(extra: &str) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let config_path = dir.path().join("node.toml");
        let mut text = String::from("port = 0\nenable-debug-command = \"local\"\n");
        text.push_str(&format!("dir = {:?}\n", dir.path().display().to_string()));
        text.push_str(extra);
        std::fs::write(&config_path, text).expect("write config");
        Server::launch(dir, config_path)
    }

    fn launch(dir: tempfile::TempDir, config_path: PathBuf) -> Server {
        Server::launch_marked(dir, config_path, "Ready to accept connections on ")
    }

    /// `launch`, taking the port from the first log line with `marker`
    /// followed by `host:port` (e.g. "Listening on " before a load).
    fn launch_marked(dir: tempfile::TempDir, config_path: PathBuf, marker: &'static str) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rsredis"))
            .arg("server")
            .arg("--config")
            .arg(&config_path)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn rsredis");
        let logs = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let l2 = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.split(marker).nth(1) {
                    let addr = rest.split([',', ' ']).next().unwrap_or("");
                    if let Some(p) = addr
                        .rsplit(':')
                        .next()
                        .and_then(|p| p.trim().parse::<u16>().ok())
                    {
                        let _ = tx.send(p);
                    }
                }
                let mut l = l2.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let stderr = child.stderr.take().unwrap();
        let l3 = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut l = l3.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let port = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(p) => p,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "rsredis did not become ready; logs:\n{}",
                    logs.lock().unwrap()
                );
            }
        };
        Server {
            child: Some(child),
            port,
            dir,
            config_path,
            logs,
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn client(&self) -> redis::Connection {
        let c = redis::Client::open(self.url()).unwrap();
        let conn = c
            .get_connection_with_timeout(Duration::from_secs(5))
            .expect("connect");
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        conn
    }

    pub fn raw(&self) -> Raw {
        Raw::connect(self.port)
    }

    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Wait for the process to exit on its own (after SHUTDOWN). Returns its exit status.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        let child = self.child.as_mut()?;
        while Instant::now() < deadline {
            if let Ok(Some(st)) = child.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A raw TCP connection for exact-bytes checks.
pub struct Raw {
    pub stream: TcpStream,
}

impl Raw {
    pub fn connect(port: u16) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        Raw { stream }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Read until `expected.len()` bytes arrived (or timeout) and return them.
    pub fn read_n(&mut self, n: usize) -> Vec<u8> {
        let mut buf = vec![0u8; n];
        let mut got = 0;
        while got < n {
            match self.stream.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(k) => got += k,
                Err(_) => break,
            }
        }
        buf.truncate(got);
        buf
    }

    /// Send and expect exactly these bytes back.
    pub fn roundtrip(&mut self, send: &[u8], expect: &[u8]) {
        self.send(send);
        let got = self.read_n(expect.len());
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(expect),
            "reply to {:?}",
            String::from_utf8_lossy(send)
        );
    }

    /// Read whatever arrives within `wait`.
    pub fn read_for(&mut self, wait: Duration) -> Vec<u8> {
        self.stream.set_read_timeout(Some(wait)).unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 65536];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => break,
                Ok(k) => out.extend_from_slice(&buf[..k]),
                Err(_) => break,
            }
        }
        self.stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        out
    }

    /// True once the server has closed the connection.
    pub fn is_closed(&mut self) -> bool {
        self.stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut b = [0u8; 1024];
        loop {
            match self.stream.read(&mut b) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(_) => return false,
            }
        }
    }
}

/// Encode a command as a RESP array.
pub fn resp(args: &[&str]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n{}\r\n", a.len(), a).as_bytes());
    }
    v
}

/// Find a peer binary (redis-cli, redis-server, ...). When it is missing the
/// test is skipped, unless RSREDIS_REQUIRE_INTEROP=1 (CI), where it fails.
pub fn peer(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| Path::new(p).is_file())
    });
    if found.is_none() {
        if std::env::var("RSREDIS_REQUIRE_INTEROP").as_deref() == Ok("1") {
            panic!(
                "{} is required (RSREDIS_REQUIRE_INTEROP=1) but not on PATH",
                name
            );
        }
        eprintln!("skipping: {} not found on PATH", name);
    }
    found
}

/// Run stock redis-cli against a port; returns stdout (trimmed of the final newline).
pub fn redis_cli(port: u16, args: &[&str]) -> Option<String> {
    let cli = peer("redis-cli")?;
    let out = Command::new(cli)
        .arg("-p")
        .arg(port.to_string())
        .args(args)
        .output()
        .expect("run redis-cli");
    Some(
        String::from_utf8_lossy(&out.stdout)
            .trim_end_matches('\n')
            .to_string(),
    )
}

/// Poll `f` until it returns true or `timeout` passes.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

impl Server {
    /// A server whose config file is exactly `port = 0`, `dir`, and `text`
    /// (no `enable-debug-command` default), for tests of startup-only settings.
    pub fn with_exact_config(text: &str) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let config_path = dir.path().join("node.toml");
        let mut t = String::from("port = 0\n");
        t.push_str(&format!("dir = {:?}\n", dir.path().display().to_string()));
        t.push_str(text);
        std::fs::write(&config_path, t).expect("write config");
        Server::launch(dir, config_path)
    }
}

/// A tiny RESP client returning each reply's exact bytes (RESP2 and RESP3).
pub struct RespConn {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl RespConn {
    pub fn connect(port: u16) -> RespConn {
        RespConn::try_connect(port).expect("connect")
    }

    pub fn try_connect(port: u16) -> std::io::Result<RespConn> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(Duration::from_secs(20)))?;
        s.set_nodelay(true)?;
        Ok(RespConn {
            w: s.try_clone()?,
            r: BufReader::new(s),
        })
    }

    /// Send one command given as separate (binary) arguments.
    pub fn send(&mut self, args: &[&[u8]]) {
        let mut req = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            req.extend_from_slice(a);
            req.extend_from_slice(b"\r\n");
        }
        self.w.write_all(&req).unwrap();
    }

    /// Send a command given as separate (binary) arguments; its exact reply bytes.
    pub fn call_b(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.send(args);
        self.read_reply()
    }

    /// Send a command given as separate arguments; its exact reply bytes.
    pub fn call(&mut self, args: &[&str]) -> Vec<u8> {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        self.call_b(&a)
    }

    /// Send a command given as space-separated words; returns the reply text.
    pub fn c(&mut self, line: &str) -> String {
        let words: Vec<&[u8]> = line.split(' ').map(|w| w.as_bytes()).collect();
        String::from_utf8_lossy(&self.call_b(&words)).into_owned()
    }

    /// One complete reply, exact bytes.
    pub fn read_reply(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.read_reply_into(&mut out);
        out
    }

    fn read_reply_into(&mut self, out: &mut Vec<u8>) {
        let line = self.read_line();
        out.extend_from_slice(&line);
        out.extend_from_slice(b"\r\n");
        let n: i64 = std::str::from_utf8(&line[1..])
            .unwrap_or("0")
            .parse()
            .unwrap_or(0);
        match line[0] {
            b'$' | b'=' | b'!' if n >= 0 => {
                let body = self.read_bytes(n as usize + 2);
                out.extend_from_slice(&body);
            }
            b'*' | b'~' | b'>' => (0..n.max(0)).for_each(|_| self.read_reply_into(out)),
            b'%' => (0..2 * n).for_each(|_| self.read_reply_into(out)),
            _ => {}
        }
    }

    /// One reply line, without its CRLF.
    pub fn read_line(&mut self) -> Vec<u8> {
        let mut line = Vec::new();
        self.r.read_until(b'\n', &mut line).unwrap();
        assert!(line.ends_with(b"\r\n"), "short reply {:?}", line);
        line.truncate(line.len() - 2);
        line
    }

    /// Exactly `n` bytes.
    pub fn read_bytes(&mut self, n: usize) -> Vec<u8> {
        let mut body = vec![0u8; n];
        self.r.read_exact(&mut body).unwrap();
        body
    }
}

/// A real redis-server for differential checks, on a free port, killed (by
/// its own PID) on drop.
pub struct RealRedis {
    pub child: Child,
    pub port: u16,
    /// Its own `dir` (an `--dir` in the extra arguments wins): a real server
    /// asked for SYNC or acting as a replica writes dump.rdb there, not into
    /// the working directory where later real servers would load it.
    _dir: Option<tempfile::TempDir>,
}

impl RealRedis {
    /// None (the test is skipped) when redis-server is not on PATH, unless
    /// RSREDIS_REQUIRE_INTEROP=1, where that fails the test (see `peer`).
    pub fn start() -> Option<RealRedis> {
        RealRedis::start_with(&[])
    }
}

/// True when the server on `port` reports process id `pid` (never panics:
/// a refused or dropped connection just means "not ours").
pub fn serves_pid(port: u16, pid: u32) -> bool {
    serves_pid_auth(port, pid, None)
}

/// `serves_pid`, sending AUTH <pass> first when the server has a password.
pub fn serves_pid_auth(port: u16, pid: u32, pass: Option<&str>) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut req = Vec::new();
    if let Some(p) = pass {
        req.extend_from_slice(&resp(&["AUTH", p]));
    }
    req.extend_from_slice(b"INFO server\r\n");
    if s.write_all(&req).is_err() {
        return false;
    }
    let want = format!("process_id:{pid}\r\n");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        if String::from_utf8_lossy(&got).contains(&want) {
            return true;
        }
    }
    false
}

/// Wait (bounded) until a peer we just spawned on a port we picked serves
/// it, as `ours()` tells. False as soon as the process exited (it could not
/// bind: another test took the port between our pick and its bind) or after
/// `timeout`; the caller then kills it and retries on another port.
pub fn wait_serving(child: &mut Child, timeout: Duration, mut ours: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if !matches!(child.try_wait(), Ok(None)) {
            return false;
        }
        if ours() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Start a peer that must be told its port (redis-server, redis-sentinel,
/// haproxy: unlike rsredis they cannot report an OS-chosen one): `start`
/// gets a port nobody listens on right now and returns None when the peer
/// did not end up serving it (see `wait_serving`); then another port is tried.
pub fn start_on_free_port<T>(what: &str, mut start: impl FnMut(u16) -> Option<T>) -> T {
    for _ in 0..10 {
        if let Some(t) = start(free_port()) {
            return t;
        }
    }
    panic!("could not start {what}: 10 ports in a row failed");
}

impl Drop for RealRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Expected RESP2 replies as text, for comparing with `RespConn` replies.
pub mod reply {
    pub fn bulk(s: &str) -> String {
        format!("${}\r\n{}\r\n", s.len(), s)
    }

    pub fn int(n: i64) -> String {
        format!(":{n}\r\n")
    }

    pub fn err(s: &str) -> String {
        format!("-{s}\r\n")
    }

    /// An array of bulks, in the given order.
    pub fn arr(items: &[&str]) -> String {
        let mut s = format!("*{}\r\n", items.len());
        for i in items {
            s.push_str(&bulk(i));
        }
        s
    }

    pub const NIL: &str = "$-1\r\n";
    pub const OK: &str = "+OK\r\n";
    pub const WRONGTYPE: &str =
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    pub const NOTINT: &str = "-ERR value is not an integer or out of range\r\n";
    pub const SYNTAX: &str = "-ERR syntax error\r\n";
}

// ---- Replication helpers (tests/it/replication.rs, tests/it/repl_interop.rs) ----

/// One field of `INFO <section>` on any server (rsredis or real), if present.
pub fn info_field(port: u16, section: &str, field: &str) -> Option<String> {
    let mut c = RespConn::try_connect(port).ok()?;
    let reply = c.call(&["INFO", section]);
    let text = String::from_utf8_lossy(&reply).into_owned();
    let prefix = format!("{field}:");
    text.split("\r\n")
        .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
}

/// Wait until INFO `field` equals `value` (bounded); true on success.
pub fn wait_info(port: u16, section: &str, field: &str, value: &str, timeout: Duration) -> bool {
    wait_until(timeout, || {
        info_field(port, section, field).as_deref() == Some(value)
    })
}

/// Wait until a replica's processed offset reaches its master's offset.
/// REPLICAOF 127.0.0.1 `master` on `replica`, then wait (bounded) until its link is up.
pub fn follow(replica: u16, master: u16) {
    RespConn::connect(replica).c(&format!("REPLICAOF 127.0.0.1 {}", master));
    assert!(
        wait_until(Duration::from_secs(10), || {
            info_field(replica, "replication", "master_link_status").as_deref() == Some("up")
        }),
        "the replica on {replica} never linked to {master}"
    );
}

pub fn wait_caught_up(master: u16, replica: u16, timeout: Duration) -> bool {
    wait_until(timeout, || {
        let m = info_field(master, "replication", "master_repl_offset");
        let r = info_field(replica, "replication", "slave_repl_offset");
        m.is_some() && m == r
    })
}

/// A readable dump of databases 0..ndb: every key with its type, value and
/// TTL (rounded to seconds), sorted; for comparing a master and its replicas.
pub fn dataset(port: u16, ndb: usize) -> Vec<String> {
    let mut c = RespConn::connect(port);
    let mut out = Vec::new();
    for db in 0..ndb {
        c.call(&["SELECT", &db.to_string()]);
        let keys = parse_flat(&c.call(&["KEYS", "*"]));
        for k in keys {
            let t = String::from_utf8_lossy(&c.call(&["TYPE", &k]))
                .trim()
                .to_string();
            let v = match t.as_str() {
                "+string" => c.call(&["GET", &k]),
                "+list" => c.call(&["LRANGE", &k, "0", "-1"]),
                "+set" => {
                    let mut m = parse_flat(&c.call(&["SMEMBERS", &k]));
                    m.sort();
                    m.join(",").into_bytes()
                }
                "+hash" => {
                    let f = parse_flat(&c.call(&["HGETALL", &k]));
                    let mut pairs: Vec<String> =
                        f.chunks(2).map(|p| format!("{}={}", p[0], p[1])).collect();
                    pairs.sort();
                    pairs.join(",").into_bytes()
                }
                "+zset" => c.call(&["ZRANGE", &k, "0", "-1", "WITHSCORES"]),
                _ => Vec::new(),
            };
            let pttl = String::from_utf8_lossy(&c.call(&["PTTL", &k]))
                .trim()
                .trim_start_matches(':')
                .parse::<i64>()
                .unwrap_or(-3);
            let ttl = if pttl > 0 { (pttl + 500) / 1000 } else { pttl };
            out.push(format!(
                "db{db} {k} {t} {} ttl~{ttl}",
                String::from_utf8_lossy(&v)
            ));
        }
    }
    out.sort();
    out
}

/// TTLs may differ by a second between nodes: compare datasets with that tolerance.
pub fn same_dataset(a: &[String], b: &[String]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            let (xa, xt) = x.rsplit_once(" ttl~").unwrap();
            let (ya, yt) = y.rsplit_once(" ttl~").unwrap();
            let (xt, yt): (i64, i64) = (xt.parse().unwrap(), yt.parse().unwrap());
            xa == ya && (xt - yt).abs() <= 1
        })
}

/// The bulk strings of a flat RESP array reply (as text).
pub fn parse_flat(reply: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(reply);
    let mut lines = text.split("\r\n");
    let mut out = Vec::new();
    let _ = lines.next();
    while let Some(l) = lines.next() {
        if l.starts_with('$') {
            out.push(lines.next().unwrap_or("").to_string());
        } else if let Some(i) = l.strip_prefix(':') {
            out.push(i.to_string());
        }
    }
    out
}

/// Send a signal to a process we started (SIGSTOP/SIGCONT/SIGKILL).
pub fn signal(pid: u32, sig: &str) {
    signal_pid(pid, sig)
}

/// Fill a server with values of every type, TTLs and several databases.
pub fn fill_all_types(port: u16, tag: &str) {
    let mut c = RespConn::connect(port);
    for i in 0..50 {
        c.call(&["SET", &format!("{tag}s{i}"), &format!("v{i}")]);
    }
    for n in ["100", "30000", "2000000000", "9000000000"] {
        c.call(&["SET", &format!("{tag}int{n}"), n]);
    }
    c.call(&["SET", &format!("{tag}long"), &"ab".repeat(100)]);
    c.call(&["SET", &format!("{tag}ttl"), "x", "EX", "1000"]);
    c.call(&["RPUSH", &format!("{tag}list"), "a", "b", "c", "1", "2"]);
    for i in 0..300 {
        c.send(&[
            &b"RPUSH"[..],
            format!("{tag}biglist").as_bytes(),
            format!("item-{i}").as_bytes(),
        ]);
    }
    for _ in 0..300 {
        c.read_reply();
    }
    c.call(&["SADD", &format!("{tag}iset"), "1", "2", "3", "100"]);
    c.call(&["SADD", &format!("{tag}sset"), "a", "b", "c"]);
    c.call(&["HSET", &format!("{tag}hash"), "f1", "v1", "f2", "v2"]);
    for i in 0..200 {
        c.send(&[
            &b"HSET"[..],
            format!("{tag}bighash").as_bytes(),
            format!("f{i}").as_bytes(),
            b"v",
        ]);
        c.send(&[
            &b"ZADD"[..],
            format!("{tag}bigzset").as_bytes(),
            format!("{i}.5").as_bytes(),
            format!("m{i}").as_bytes(),
        ]);
    }
    for _ in 0..400 {
        c.read_reply();
    }
    c.call(&["ZADD", &format!("{tag}zset"), "1", "a", "2.5", "b"]);
    c.call(&["PEXPIRE", &format!("{tag}hash"), "500000"]);
    c.call(&["SELECT", "2"]);
    c.call(&["SET", &format!("{tag}db2"), "two"]);
    c.call(&["SADD", &format!("{tag}db2set"), "x", "y"]);
}

// ---- persistence helpers (wip-snap: tests/it/persistence.rs) ----

impl Server {
    /// A server whose `dir` is `data_dir` (kept across restarts); its config
    /// file lives in a tempdir of its own.
    pub fn with_data_dir(data_dir: &Path, extra: &str) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let config_path = dir.path().join("node.toml");
        let mut text = String::from("port = 0\nenable-debug-command = \"local\"\n");
        text.push_str(&format!("dir = {:?}\n", data_dir.display().to_string()));
        text.push_str(extra);
        std::fs::write(&config_path, text).expect("write config");
        Server::launch(dir, config_path)
    }

    /// `with_data_dir`, returning as soon as the node listens ("Listening on"
    /// is logged before the dump is loaded), not once it is ready.
    pub fn with_data_dir_listening(data_dir: &Path, extra: &str) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let config_path = dir.path().join("node.toml");
        let mut text = String::from("port = 0\nenable-debug-command = \"local\"\n");
        text.push_str(&format!("dir = {:?}\n", data_dir.display().to_string()));
        text.push_str(extra);
        std::fs::write(&config_path, text).expect("write config");
        Server::launch_marked(dir, config_path, "Listening on ")
    }
}

/// Start rsredis on `data_dir` expecting it to exit during startup (e.g. a
/// corrupt dump). Returns its exit status and everything it printed.
pub fn start_expect_exit(
    data_dir: &Path,
    extra: &str,
    timeout: Duration,
) -> (std::process::ExitStatus, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config_path = dir.path().join("node.toml");
    let mut text = String::from("port = 0\n");
    text.push_str(&format!("dir = {:?}\n", data_dir.display().to_string()));
    text.push_str(extra);
    std::fs::write(&config_path, text).expect("write config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_rsredis"))
        .arg("server")
        .arg("--config")
        .arg(&config_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rsredis");
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Ok(Some(st)) = child.try_wait() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("rsredis did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    let _ = child.stdout.take().unwrap().read_to_string(&mut out);
    let _ = child.stderr.take().unwrap().read_to_string(&mut out);
    (status, out)
}

impl RealRedis {
    /// Like `start`, with extra redis-server arguments (e.g. `--dir`).
    pub fn start_with(extra: &[&str]) -> Option<RealRedis> {
        let bin = peer("redis-server")?;
        Some(start_on_free_port("redis-server", |port| {
            let dir = tempfile::tempdir().expect("tempdir");
            let child = Command::new(&bin)
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                .args(["--dir", &dir.path().display().to_string()])
                .args(extra)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn redis-server");
            let mut real = RealRedis {
                child,
                port,
                _dir: Some(dir),
            };
            let pid = real.child.id();
            // Dropping `real` on failure kills it.
            wait_serving(&mut real.child, Duration::from_secs(10), || {
                serves_pid(port, pid)
            })
            .then_some(real)
        }))
    }
}

// ---------------------------------------------------------------------------
// Sentinel tests (branch wip-sproc): real redis-server data nodes, rsredis and
// real sentinels as child processes, and event taps (PSUBSCRIBE *).
// Every process is started on a free port and killed by its own PID on drop.
// ---------------------------------------------------------------------------

/// A port nobody listens on right now (the OS picks it; released before
/// use). Only for `start_on_free_port`, which retries when the port is taken
/// before the peer binds it: rsredis servers bind port 0 and report theirs.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Send a signal to a process we started (`STOP`, `CONT`, `KILL`, `TERM`).
/// `STOP` returns only once every thread is seen stopped, so a test that
/// writes right after it knows the process cannot react any more.
pub fn signal_pid(pid: u32, sig: &str) {
    for _ in 0..5 {
        let ok = Command::new("kill")
            .arg(format!("-{}", sig))
            .arg(pid.to_string())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if sig == "STOP" {
        // kill() returns before the group stop reaches every thread of a
        // multi-threaded server; under load a worker can still answer meanwhile.
        let stopped = wait_until(Duration::from_secs(5), || {
            let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
                return true;
            };
            tasks.filter_map(Result::ok).all(|t| {
                std::fs::read_to_string(t.path().join("stat"))
                    .ok()
                    .and_then(|s| {
                        s.rsplit_once(')')
                            .map(|(_, r)| r.trim_start().starts_with(['T', 't']))
                    })
                    .unwrap_or(true)
            })
        });
        assert!(stopped, "process {pid} did not stop after SIGSTOP");
    }
}

/// A real redis-server 7.0 data node with its own config file (so CONFIG
/// REWRITE sent by sentinels works) and `enable-debug-command local`.
pub struct Node {
    child: Option<Child>,
    pub port: u16,
    pub dir: tempfile::TempDir,
    /// The node's requirepass (from a `requirepass` line in `extra`), sent before INFO.
    pub pass: Option<String>,
}

impl Node {
    /// None when redis-server is absent (and RSREDIS_REQUIRE_INTEROP is unset).
    pub fn start(extra: &str) -> Option<Node> {
        let bin = peer("redis-server")?;
        let pass = extra.lines().find_map(|l| {
            l.trim()
                .strip_prefix("requirepass ")
                .map(|p| p.trim().to_string())
        });
        Some(start_on_free_port("redis-server", |port| {
            let dir = tempfile::tempdir().unwrap();
            let conf = dir.path().join("redis.conf");
            std::fs::write(
                &conf,
                format!(
                    "port {port}\nbind 127.0.0.1\nsave \"\"\nappendonly no\ndaemonize no\n\
                     enable-debug-command local\ndir {}\n{extra}\n",
                    dir.path().display()
                ),
            )
            .unwrap();
            let mut child = Command::new(&bin)
                .arg(&conf)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn redis-server");
            let pid = child.id();
            let up = wait_serving(&mut child, Duration::from_secs(10), || {
                serves_pid_auth(port, pid, pass.as_deref())
            });
            // Dropping the node on failure kills it.
            up.then_some(Node {
                child: Some(child),
                port,
                dir,
                pass: pass.clone(),
            })
        }))
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    pub fn conn(&self) -> RespConn {
        RespConn::connect(self.port)
    }

    /// One INFO field (`role`, `master_port`, ...), None when unreachable.
    pub fn info_field(&self, field: &str) -> Option<String> {
        info_field_auth(self.port, field, self.pass.as_deref())
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(c) = &self.child {
            signal_pid(c.id(), "CONT");
        }
        self.kill();
    }
}

/// `info_field`, sending AUTH first when a password is given.
pub fn info_field_auth(port: u16, field: &str, pass: Option<&str>) -> Option<String> {
    let s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let mut c = RespConn {
        w: s.try_clone().ok()?,
        r: BufReader::new(s),
    };
    if let Some(p) = pass {
        c.send(&[b"AUTH", p.as_bytes()]);
        let mut line = Vec::new();
        c.r.read_until(b'\n', &mut line).ok()?;
    }
    c.send(&[b"INFO"]);
    let mut line = Vec::new();
    c.r.read_until(b'\n', &mut line).ok()?;
    let n: usize = std::str::from_utf8(line.get(1..line.len().saturating_sub(2))?)
        .ok()?
        .parse()
        .ok()?;
    let mut body = vec![0u8; n + 2];
    c.r.read_exact(&mut body).ok()?;
    let text = String::from_utf8_lossy(&body).into_owned();
    let want = format!("{}:", field);
    text.lines()
        .find_map(|l| l.strip_prefix(&want).map(|v| v.trim().to_string()))
}

/// A master with `n` replicas (real redis-server), replication links up.
pub struct Group {
    pub master: Node,
    pub replicas: Vec<Node>,
}

impl Group {
    pub fn start(n: usize, extra: &str) -> Option<Group> {
        let master = Node::start(extra)?;
        let mut replicas = Vec::new();
        for _ in 0..n {
            let r = Node::start(&format!("{extra}\nreplicaof 127.0.0.1 {}", master.port))?;
            replicas.push(r);
        }
        for r in &replicas {
            assert!(
                wait_until(Duration::from_secs(10), || {
                    r.info_field("master_link_status").as_deref() == Some("up")
                }),
                "replica {} did not sync",
                r.port
            );
        }
        Some(Group { master, replicas })
    }

    /// All nodes, master first.
    pub fn nodes(&self) -> Vec<&Node> {
        std::iter::once(&self.master)
            .chain(self.replicas.iter())
            .collect()
    }

    pub fn node_by_port(&self, port: u16) -> Option<&Node> {
        self.nodes().into_iter().find(|n| n.port == port)
    }
}

/// A sentinel process: `rsredis sentinel` or a real `redis-sentinel`.
pub struct SentinelProc {
    child: Option<Child>,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub real: bool,
    config_text: String,
    logs: Arc<Mutex<String>>,
}

/// sentinel.toml text for one master.
pub fn sentinel_toml(
    port: u16,
    master: &str,
    master_port: u16,
    quorum: u32,
    down_after_ms: u64,
    failover_timeout_ms: u64,
) -> String {
    format!(
        "port = {port}\n\n[[master]]\nname = \"{master}\"\nhost = \"127.0.0.1\"\nport = {master_port}\n\
         quorum = {quorum}\ndown-after-milliseconds = {down_after_ms}\nfailover-timeout = {failover_timeout_ms}\n"
    )
}

/// redis-sentinel conf text for one master.
pub fn sentinel_conf(
    port: u16,
    master: &str,
    master_port: u16,
    quorum: u32,
    down_after_ms: u64,
    failover_timeout_ms: u64,
) -> String {
    format!(
        "port {port}\nbind 127.0.0.1\ndaemonize no\nsentinel monitor {master} 127.0.0.1 {master_port} {quorum}\n\
         sentinel down-after-milliseconds {master} {down_after_ms}\nsentinel failover-timeout {master} {failover_timeout_ms}\n"
    )
}

fn pipe_logs(child: &mut Child, logs: &Arc<Mutex<String>>) {
    if let Some(out) = child.stdout.take() {
        let l = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let mut g = l.lock().unwrap();
                g.push_str(&line);
                g.push('\n');
            }
        });
    }
    if let Some(err) = child.stderr.take() {
        let l = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let mut g = l.lock().unwrap();
                g.push_str(&line);
                g.push('\n');
            }
        });
    }
}

impl SentinelProc {
    /// `rsredis sentinel` with this sentinel.toml text (its `dir` is set to a temp dir).
    pub fn rsredis(toml_text: &str) -> SentinelProc {
        let dir = tempfile::tempdir().unwrap();
        let mut p = SentinelProc {
            child: None,
            port: 0,
            dir,
            real: false,
            config_text: toml_text.to_string(),
            logs: Arc::new(Mutex::new(String::new())),
        };
        p.launch();
        p
    }

    /// `rsredis sentinel` started with an existing state file (sentinel-state.toml text).
    pub fn rsredis_with_state(toml_text: &str, state: &str) -> SentinelProc {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("sentinel-state.toml"), state).unwrap();
        let mut p = SentinelProc {
            child: None,
            port: 0,
            dir,
            real: false,
            config_text: toml_text.to_string(),
            logs: Arc::new(Mutex::new(String::new())),
        };
        p.launch();
        p
    }

    /// A real redis-sentinel with this conf text; None when the binary is absent.
    pub fn real(conf_text: &str) -> Option<SentinelProc> {
        peer("redis-sentinel")?;
        let dir = tempfile::tempdir().unwrap();
        let mut p = SentinelProc {
            child: None,
            port: 0,
            dir,
            real: true,
            config_text: format!("{conf_text}\ndir {}\n", "."),
            logs: Arc::new(Mutex::new(String::new())),
        };
        p.launch();
        Some(p)
    }

    fn config_port(&self) -> u16 {
        self.config_text
            .lines()
            .find_map(|l| port_of_line(l.trim()))
            .expect("port in sentinel config")
    }

    /// The sentinel's requirepass, from `requirepass = "pw"` or `requirepass pw`.
    fn pass(&self) -> Option<String> {
        self.config_text.lines().find_map(|l| {
            let r = l.trim().strip_prefix("requirepass")?;
            (r.starts_with([' ', '='])).then(|| {
                r.trim_start_matches([' ', '='])
                    .trim()
                    .trim_matches('"')
                    .to_string()
            })
        })
    }

    /// (Re)start the process with the same config (and, for rsredis, the same
    /// state file), on its port. When that port turns out to be taken (by
    /// another test, while the sentinel was down or between our pick and its
    /// bind: the process exits), it moves to another free port and
    /// `self.port` says which.
    pub fn launch(&mut self) {
        self.port = self.config_port();
        for attempt in 0..10 {
            if attempt > 0 {
                self.set_port(free_port());
            }
            if self.try_launch() {
                return;
            }
            self.stop();
        }
        panic!(
            "sentinel did not start on any of 10 ports; logs:\n{}",
            self.logs()
        );
    }

    /// Put `port` in the config (and in a real sentinel's conf file, which it rewrites).
    fn set_port(&mut self, port: u16) {
        let with_port = |text: &str, sep: &str| -> String {
            let mut done = false;
            text.lines()
                .map(|l| {
                    if !done && port_of_line(l.trim()).is_some() {
                        done = true;
                        format!("port{sep}{port}\n")
                    } else {
                        format!("{l}\n")
                    }
                })
                .collect()
        };
        let sep = if self.real { " " } else { " = " };
        self.config_text = with_port(&self.config_text, sep);
        let conf = self.dir.path().join("sentinel.conf");
        if self.real && conf.exists() {
            let text = std::fs::read_to_string(&conf).unwrap();
            std::fs::write(&conf, with_port(&text, sep)).unwrap();
        }
        self.port = port;
    }

    /// One start on `self.port`: true once the process serves it.
    fn try_launch(&mut self) -> bool {
        let mut cmd = if self.real {
            let conf = self.dir.path().join("sentinel.conf");
            if !conf.exists() {
                std::fs::write(&conf, &self.config_text).unwrap();
            }
            let mut c = Command::new(peer("redis-sentinel").unwrap());
            c.arg(&conf).current_dir(self.dir.path());
            c
        } else {
            let conf = self.dir.path().join("sentinel.toml");
            let text = format!(
                "dir = {:?}\n{}",
                self.dir.path().display().to_string(),
                self.config_text
            );
            std::fs::write(&conf, text).unwrap();
            let mut c = Command::new(env!("CARGO_BIN_EXE_rsredis"));
            c.arg("sentinel").arg("--config").arg(&conf);
            c
        };
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sentinel");
        pipe_logs(&mut child, &self.logs);
        let (pid, port, pass) = (child.id(), self.port, self.pass());
        let ok = wait_serving(&mut child, Duration::from_secs(10), || {
            serves_pid_auth(port, pid, pass.as_deref())
        });
        self.child = Some(child);
        ok
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    pub fn conn(&self) -> RespConn {
        RespConn::connect(self.port)
    }

    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    pub fn state_file(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sentinel-state.toml")).unwrap_or_default()
    }

    /// A connection, authenticated when the config has `requirepass = "..."`.
    pub fn try_conn(&self) -> Option<RespConn> {
        let mut c = RespConn::try_connect(self.port).ok()?;
        let pass = self.config_text.lines().find_map(|l| {
            l.trim()
                .strip_prefix("requirepass = ")
                .map(|p| p.trim().trim_matches('"').to_string())
        });
        if let Some(p) = pass {
            c.call(&["AUTH", &p]);
        }
        Some(c)
    }

    /// SENTINEL GET-MASTER-ADDR-BY-NAME as (ip, port); None on error or null.
    pub fn master_addr(&self, name: &str) -> Option<(String, u16)> {
        let mut c = self.try_conn()?;
        let r = String::from_utf8_lossy(&c.call(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", name]))
            .into_owned();
        let parts: Vec<&str> = r.split("\r\n").collect();
        if parts.first() != Some(&"*2") {
            return None;
        }
        Some((parts[2].to_string(), parts[4].parse().ok()?))
    }

    /// One field of SENTINEL MASTER <name> (RESP2 flat array).
    pub fn master_field(&self, name: &str, field: &str) -> Option<String> {
        let mut c = self.try_conn()?;
        let r = String::from_utf8_lossy(&c.call(&["SENTINEL", "MASTER", name])).into_owned();
        let vals: Vec<&str> = r
            .split("\r\n")
            .skip(1)
            .enumerate()
            .filter(|(i, _)| i % 2 == 1)
            .map(|(_, v)| v)
            .collect();
        vals.iter()
            .position(|v| *v == field)
            .and_then(|i| vals.get(i + 1))
            .map(|s| s.to_string())
    }

    /// The exit code once the process has ended on its own (None while it runs).
    pub fn wait_status(&mut self) -> Option<i32> {
        let c = self.child.as_mut()?;
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(st)) = c.try_wait() {
                self.child = None;
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            signal_pid(c.id(), "CONT");
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for SentinelProc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The port of a top-level `port = N` (toml) or `port N` (conf) line.
fn port_of_line(l: &str) -> Option<u16> {
    let r = l.strip_prefix("port")?;
    r.starts_with([' ', '='])
        .then(|| r.trim_start_matches([' ', '=']).trim().parse().ok())
        .flatten()
}

/// A `PSUBSCRIBE *` client of a sentinel, collecting (channel, message) pairs.
pub struct Tap {
    pub events: Arc<Mutex<Vec<(String, String)>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl Tap {
    pub fn new(port: u16) -> Tap {
        Tap::connect(port, None)
    }

    /// A tap that sends AUTH <pass> first.
    pub fn connect(port: u16, pass: Option<&str>) -> Tap {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("tap connect");
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut w = s.try_clone().unwrap();
        if let Some(p) = pass {
            w.write_all(format!("*2\r\n$4\r\nAUTH\r\n${}\r\n{}\r\n", p.len(), p).as_bytes())
                .unwrap();
        }
        w.write_all(b"*2\r\n$10\r\nPSUBSCRIBE\r\n$1\r\n*\r\n")
            .unwrap();
        let events = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let subscribed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (ev, st, sub) = (events.clone(), stop.clone(), subscribed.clone());
        std::thread::spawn(move || {
            let mut r = BufReader::new(s);
            let mut buf: Vec<u8> = Vec::new();
            let mut chunk = [0u8; 8192];
            while !st.load(std::sync::atomic::Ordering::Relaxed) {
                match r.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    Err(e)
                        if e.kind() == std::io::ErrorKind::WouldBlock
                            || e.kind() == std::io::ErrorKind::TimedOut =>
                    {
                        continue
                    }
                    Err(_) => break,
                }
                while let Some((items, used)) = parse_bulk_array(&buf) {
                    buf.drain(..used);
                    if items.first().is_some_and(|k| k == "psubscribe") {
                        sub.store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                    if items.len() == 4 && items[0] == "pmessage" {
                        ev.lock()
                            .unwrap()
                            .push((items[2].clone(), items[3].clone()));
                    }
                }
            }
        });
        assert!(
            wait_until(Duration::from_secs(10), || subscribed
                .load(std::sync::atomic::Ordering::Relaxed)),
            "PSUBSCRIBE on {port} not confirmed"
        );
        Tap { events, stop }
    }

    pub fn all(&self) -> Vec<(String, String)> {
        self.events.lock().unwrap().clone()
    }

    pub fn count(&self, kind: &str) -> usize {
        self.all().iter().filter(|(k, _)| k == kind).count()
    }

    /// The payload of the first `kind` event, waiting up to `timeout`.
    pub fn wait(&self, kind: &str, timeout: Duration) -> Option<String> {
        let mut found = None;
        wait_until(timeout, || {
            found = self
                .all()
                .into_iter()
                .find(|(k, _)| k == kind)
                .map(|(_, v)| v);
            found.is_some()
        });
        found
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// An array of bulk strings / integers at the front of `buf`: (items as text, bytes used).
fn parse_bulk_array(buf: &[u8]) -> Option<(Vec<String>, usize)> {
    fn line(buf: &[u8], pos: usize) -> Option<(&[u8], usize)> {
        let rel = buf.get(pos..)?.windows(2).position(|w| w == b"\r\n")?;
        Some((&buf[pos..pos + rel], pos + rel + 2))
    }
    let (l, mut pos) = line(buf, 0)?;
    if l.first() != Some(&b'*') && l.first() != Some(&b'>') {
        // Not an array: skip the line.
        return Some((vec![], pos));
    }
    let n: usize = std::str::from_utf8(&l[1..]).ok()?.parse().ok()?;
    let mut items = Vec::new();
    for _ in 0..n {
        let (h, p) = line(buf, pos)?;
        match h.first() {
            Some(b'$') => {
                let len: usize = std::str::from_utf8(&h[1..]).ok()?.parse().ok()?;
                if buf.len() < p + len + 2 {
                    return None;
                }
                items.push(String::from_utf8_lossy(&buf[p..p + len]).into_owned());
                pos = p + len + 2;
            }
            _ => {
                items.push(String::from_utf8_lossy(&h[1..]).into_owned());
                pos = p;
            }
        }
    }
    Some((items, pos))
}

// ---------------------------------------------------------------------------
// HA tests on rsredis data nodes (branch wip-hanodes: tests/it/ha_rsredis.rs).
// `Node::rsredis` starts an rsredis data node on a free port with its own
// node.toml (so the CONFIG REWRITE sentinels send works) and its log in
// node.log in the same tempdir; `Group::start_rsredis` builds a master and
// replicas of them. Same PID-based cleanup as `Node`.
// ---------------------------------------------------------------------------

impl Node {
    /// An rsredis data node with extra node.toml lines (e.g. `replicaof = "127.0.0.1 6379"`).
    /// It binds port 0 and the port is read back from node.log, like `Server`.
    pub fn rsredis(extra_toml: &str) -> Node {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("node.toml");
        std::fs::write(
            &conf,
            format!(
                "port = 0\nbind = [\"127.0.0.1\"]\nenable-debug-command = \"local\"\n\
                 dir = {:?}\n{extra_toml}\n",
                dir.path().display().to_string()
            ),
        )
        .unwrap();
        let log_path = dir.path().join("node.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_rsredis"))
            .arg("server")
            .arg("--config")
            .arg(&conf)
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn rsredis");
        let mut port = None;
        let ready = wait_serving(&mut child, Duration::from_secs(20), || {
            port = std::fs::read_to_string(&log_path).ok().and_then(|l| {
                l.split("Ready to accept connections on ")
                    .nth(1)
                    .and_then(|r| r.lines().next())
                    .and_then(|r| r.rsplit(':').next())
                    .and_then(|p| p.trim().parse::<u16>().ok())
            });
            port.is_some()
        });
        let logs = std::fs::read_to_string(&log_path).unwrap_or_default();
        let node = Node {
            child: Some(child),
            port: port.unwrap_or(0),
            dir,
            pass: None,
        };
        assert!(ready, "rsredis node did not become ready; logs:\n{logs}");
        node
    }

    /// The node's config file (node.toml for rsredis, redis.conf for redis-server).
    pub fn config_text(&self) -> String {
        let toml = self.dir.path().join("node.toml");
        let path = if toml.exists() {
            toml
        } else {
            self.dir.path().join("redis.conf")
        };
        std::fs::read_to_string(path).unwrap_or_default()
    }

    /// What an rsredis node printed so far (empty for redis-server).
    pub fn logs(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("node.log")).unwrap_or_default()
    }
}

impl Group {
    /// A master with `n` rsredis replicas (all rsredis), replication links up.
    pub fn start_rsredis(n: usize, extra_toml: &str) -> Group {
        let master = Node::rsredis(extra_toml);
        let replicas: Vec<Node> = (0..n)
            .map(|_| {
                Node::rsredis(&format!(
                    "{extra_toml}\nreplicaof = \"127.0.0.1 {}\"\n",
                    master.port
                ))
            })
            .collect();
        for r in &replicas {
            assert!(
                wait_until(Duration::from_secs(10), || {
                    r.info_field("master_link_status").as_deref() == Some("up")
                }),
                "rsredis replica {} did not sync:\n{}",
                r.port,
                r.logs()
            );
        }
        Group { master, replicas }
    }

    /// A multi-line dump of every node's log (rsredis nodes).
    pub fn logs(&self) -> String {
        self.nodes()
            .iter()
            .map(|n| format!("--- node {} ---\n{}", n.port, n.logs()))
            .collect()
    }
}

/// SIGSTOP a process we started; returns once every thread of it is stopped.
pub fn stop_pid(pid: u32) {
    signal_pid(pid, "STOP");
}
