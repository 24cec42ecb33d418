//! The docker-compose HA topology (docker/compose.yml), proven with a real
//! Docker engine: images built offline (docker/build-base.sh, then the
//! Dockerfiles), `compose up`, then the field's failure drills through
//! containers, each with a bounded wait and measured figures, printed as a
//! table at the end. Drill 2 also runs on the migration topology
//! (docker/compose.mixed.yml: real redis-server/redis-sentinel 7.0 mixed in).
//!
//! Skipped without a Docker engine and compose, unless
//! RSREDIS_REQUIRE_DOCKER=1 (then it fails). Each run uses its own compose
//! project (own network and volumes) and removes it at the end, also when a
//! drill fails. Traffic goes only to the project's containers.
use crate::common;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::wait_until;

const TAG: &str = "drill";
const POLL: Duration = Duration::from_millis(50);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn require() -> bool {
    std::env::var("RSREDIS_REQUIRE_DOCKER").as_deref() == Ok("1")
}

fn ok(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// `docker compose` (v2 plugin) or `docker-compose` (v1), whichever works.
fn compose_cli() -> Option<Vec<String>> {
    if ok(Command::new("docker").args(["compose", "version"])) {
        return Some(vec!["docker".into(), "compose".into()]);
    }
    if ok(Command::new("docker-compose").arg("version")) {
        return Some(vec!["docker-compose".into()]);
    }
    None
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{:?}: {}", cmd, e));
    if !out.status.success() {
        panic!(
            "{:?} failed ({}):\n{}\n{}",
            cmd,
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn docker(args: &[&str]) -> String {
    run(Command::new("docker").args(args))
}

fn codename() -> String {
    let text = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("VERSION_CODENAME="))
        .map(|s| s.trim_matches('"').to_string())
        .unwrap_or_else(|| "bookworm".into())
}

/// Base image (offline), then the rsredis image from the binary this test
/// was built with (`--target prebuilt`), HAProxy, the web app, real Redis.
fn build_images() {
    let base = format!("debian:{}-slim", codename());
    if !ok(Command::new("docker").args(["image", "inspect", &base])) {
        eprintln!("docker drills: building {base} with docker/build-base.sh");
        run(&mut Command::new(root().join("docker/build-base.sh")));
    }
    let stage = root().join("target/docker");
    std::fs::create_dir_all(&stage).unwrap();
    let bin = stage.join("rsredis");
    let _ = std::fs::remove_file(&bin);
    let exe = env!("CARGO_BIN_EXE_rsredis");
    if !ok(Command::new("strip").arg("-o").arg(&bin).arg(exe)) {
        std::fs::copy(exe, &bin).unwrap();
    }
    let tag_arg = format!("DEBIAN_TAG={}-slim", codename());
    let t0 = Instant::now();
    let r = root();
    let img = |name: &str| format!("{name}:{TAG}");
    run(Command::new("docker")
        .current_dir(&r)
        .args([
            "build",
            "-q",
            "-f",
            "docker/Dockerfile",
            "--target",
            "prebuilt",
        ])
        .args(["--build-arg", &tag_arg, "-t", &img("rsredis"), "."]));
    for (name, dir) in [
        ("rsredis-haproxy", "docker/haproxy"),
        ("rsredis-webapp", "docker/webapp"),
        ("rsredis-redis-debian", "docker/redis-debian"),
    ] {
        run(Command::new("docker").current_dir(&r).args([
            "build",
            "-q",
            "--build-arg",
            &tag_arg,
            "-t",
            &img(name),
            dir,
        ]));
    }
    eprintln!(
        "docker drills: images built in {:.1}s",
        t0.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------- compose

/// One compose project; `down -v` on drop, also when a drill panics.
struct Project {
    cli: Vec<String>,
    name: String,
    file: PathBuf,
    // `compose ps` is slow (v1 is Python): container ids and addresses are
    // cached and forgotten whenever the test changes a container.
    cids: Mutex<HashMap<String, String>>,
    ips: Mutex<HashMap<String, String>>,
}

impl Project {
    fn new(cli: &[String], file: &str, label: &str) -> Project {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        Project {
            cli: cli.to_vec(),
            name: format!("rsredis-{label}-{}-{nanos}", std::process::id()),
            file: root().join(file),
            cids: Mutex::new(HashMap::new()),
            ips: Mutex::new(HashMap::new()),
        }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.cli[0]);
        c.args(&self.cli[1..])
            .arg("-p")
            .arg(&self.name)
            .arg("-f")
            .arg(&self.file)
            .args(args)
            .env("RSREDIS_TAG", TAG)
            .env("RSREDIS_TARGET", "prebuilt")
            // Random host ports: runs never collide; the test uses container IPs.
            .env("WEB_PORT", "")
            .env("WRITE_PORT", "")
            .env("READ_PORT", "")
            .env("STATS_PORT", "")
            .stdin(Stdio::null());
        c
    }

    fn compose(&self, args: &[&str]) -> String {
        run(&mut self.cmd(args))
    }

    fn up(&self) {
        self.forget_all();
        self.compose(&["up", "-d", "--no-build"]);
    }

    fn down(&self) {
        self.compose(&["down", "-t", "10"]);
        self.forget_all();
    }

    fn forget_all(&self) {
        self.cids.lock().unwrap().clear();
        self.ips.lock().unwrap().clear();
    }

    fn forget(&self, svc: &str) {
        self.ips.lock().unwrap().remove(svc);
    }

    fn cid(&self, svc: &str) -> String {
        if let Some(id) = self.cids.lock().unwrap().get(svc) {
            return id.clone();
        }
        let id = self.compose(&["ps", "-a", "-q", svc]);
        assert!(!id.is_empty(), "no container for {svc}");
        let id = id.lines().next().unwrap().to_string();
        self.cids.lock().unwrap().insert(svc.into(), id.clone());
        id
    }

    /// The container's address on the project network ("" when detached or stopped).
    fn ip(&self, svc: &str) -> String {
        if let Some(ip) = self.ips.lock().unwrap().get(svc) {
            return ip.clone();
        }
        let ip = docker(&[
            "inspect",
            "-f",
            "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
            &self.cid(svc),
        ]);
        if !ip.is_empty() {
            self.ips.lock().unwrap().insert(svc.into(), ip.clone());
        }
        ip
    }

    fn network(&self) -> String {
        format!("{}_redisnet", self.name.replace('.', ""))
    }

    fn docker_on(&self, verb: &str, svcs: &[&str]) {
        let ids: Vec<String> = svcs.iter().map(|s| self.cid(s)).collect();
        for s in svcs {
            self.forget(s);
        }
        let mut c = Command::new("docker");
        c.arg(verb);
        if verb == "stop" {
            c.args(["-t", "5"]);
        }
        run(c.args(&ids));
    }

    fn exec(&self, svc: &str, script: &str) -> String {
        docker(&["exec", &self.cid(svc), "bash", "-c", script])
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Ok(out) = self.cmd(&["logs", "--no-color", "--tail", "60"]).output() {
                eprintln!(
                    "---- compose logs ({}) ----\n{}",
                    self.name,
                    String::from_utf8_lossy(&out.stdout)
                );
            }
        }
        let _ = self
            .cmd(&["down", "-v", "--remove-orphans", "-t", "3"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

// ---------------------------------------------------------------- RESP

#[derive(Debug, Clone, PartialEq)]
enum Reply {
    Status(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

impl Reply {
    fn text(&self) -> String {
        match self {
            Reply::Status(s) | Reply::Error(s) => s.clone(),
            Reply::Int(n) => n.to_string(),
            Reply::Bulk(Some(b)) => String::from_utf8_lossy(b).into_owned(),
            Reply::Bulk(None) | Reply::Array(None) => String::new(),
            Reply::Array(Some(v)) => v.iter().map(|r| r.text()).collect::<Vec<_>>().join(" "),
        }
    }
}

struct Conn {
    r: BufReader<TcpStream>,
}

impl Conn {
    fn open(host: &str, port: u16) -> std::io::Result<Conn> {
        let addr: SocketAddr = format!("{host}:{port}")
            .parse()
            .map_err(|_| std::io::Error::other(format!("bad address {host}")))?;
        let s = TcpStream::connect_timeout(&addr, Duration::from_millis(500))?;
        s.set_read_timeout(Some(Duration::from_secs(2)))?;
        s.set_write_timeout(Some(Duration::from_secs(2)))?;
        s.set_nodelay(true)?;
        Ok(Conn {
            r: BufReader::new(s),
        })
    }

    fn cmd(&mut self, args: &[&str]) -> std::io::Result<Reply> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n{}\r\n", a.len(), a).as_bytes());
        }
        self.r.get_mut().write_all(&out)?;
        self.reply()
    }

    fn line(&mut self) -> std::io::Result<String> {
        let mut l = String::new();
        if self.r.read_line(&mut l)? == 0 {
            return Err(std::io::Error::other("connection closed"));
        }
        Ok(l.trim_end().to_string())
    }

    fn reply(&mut self) -> std::io::Result<Reply> {
        let l = self.line()?;
        let (t, rest) = l.split_at(1);
        Ok(match t {
            "+" => Reply::Status(rest.into()),
            "-" => Reply::Error(rest.into()),
            ":" => Reply::Int(rest.parse().unwrap_or(0)),
            "$" => {
                let n: i64 = rest.parse().unwrap_or(-1);
                if n < 0 {
                    Reply::Bulk(None)
                } else {
                    let mut b = vec![0; n as usize + 2];
                    self.r.read_exact(&mut b)?;
                    b.truncate(n as usize);
                    Reply::Bulk(Some(b))
                }
            }
            "*" => {
                let n: i64 = rest.parse().unwrap_or(-1);
                if n < 0 {
                    Reply::Array(None)
                } else {
                    let mut v = Vec::new();
                    for _ in 0..n {
                        v.push(self.reply()?);
                    }
                    Reply::Array(Some(v))
                }
            }
            _ => return Err(std::io::Error::other(format!("bad reply {l}"))),
        })
    }
}

/// One command on a new connection.
fn call(host: &str, port: u16, args: &[&str]) -> std::io::Result<Reply> {
    Conn::open(host, port)?.cmd(args)
}

fn info_field(host: &str, port: u16, field: &str) -> Option<String> {
    let text = call(host, port, &["INFO", "replication"]).ok()?.text();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(|v| v.trim().to_string())
}

// ---------------------------------------------------------------- HTTP

struct Http {
    status: u16,
    cookie: Option<String>,
    body: String,
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn http(
    host: &str,
    port: u16,
    method: &str,
    path: &str,
    form: &[(&str, &str)],
    cookie: Option<&str>,
) -> std::io::Result<Http> {
    let addr: SocketAddr = format!("{host}:{port}")
        .parse()
        .map_err(|_| std::io::Error::other("bad address"))?;
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(500))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let body: String = form
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    if let Some(c) = cookie {
        req.push_str(&format!("Cookie: {c}\r\n"));
    }
    if method == "POST" {
        req.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    s.write_all(req.as_bytes())?;
    let mut raw = String::new();
    s.read_to_string(&mut raw)?;
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let cookie = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        if !k.eq_ignore_ascii_case("set-cookie") {
            return None;
        }
        v.trim().split(';').next().map(|c| c.trim().to_string())
    });
    // gunicorn may answer chunked: the JSON checks below only look for substrings.
    Ok(Http {
        status,
        cookie,
        body: body.to_string(),
    })
}

// ---------------------------------------------------------------- topology

const DATA: [&str; 3] = ["redis-master", "redis-replica-1", "redis-replica-2"];
const SENTINELS: [&str; 3] = ["sentinel-1", "sentinel-2", "sentinel-3"];

struct Topo {
    p: Project,
    figures: Arc<Mutex<Vec<(String, String)>>>,
    label: &'static str,
}

impl Topo {
    fn fig(&self, what: &str, value: String) {
        say(&format!("[{}] {what}: {value}", self.label));
        self.figures
            .lock()
            .unwrap()
            .push((format!("{} {what}", self.label), value));
    }

    fn haproxy(&self) -> String {
        self.p.ip("haproxy")
    }

    /// The master address a sentinel gives, as "host:port".
    fn sentinel_master(&self, s: &str) -> Option<String> {
        let ip = self.p.ip(s);
        if ip.is_empty() {
            return None;
        }
        match call(
            &ip,
            26379,
            &["SENTINEL", "get-master-addr-by-name", "mymaster"],
        ) {
            Ok(Reply::Array(Some(v))) if v.len() == 2 => {
                Some(format!("{}:{}", v[0].text(), v[1].text()))
            }
            _ => None,
        }
    }

    /// The data service a master address ("name-or-ip:port") stands for.
    fn service_of(&self, addr: &str) -> Option<&'static str> {
        let host = addr.rsplit_once(':').map(|(h, _)| h).unwrap_or(addr);
        DATA.iter()
            .copied()
            .find(|s| *s == host || self.p.ip(s) == host)
    }

    /// The master all running sentinels agree on.
    fn agreed_master(&self, sentinels: &[&str]) -> Option<&'static str> {
        let addrs: HashSet<String> = sentinels
            .iter()
            .map(|s| self.sentinel_master(s))
            .collect::<Option<_>>()?;
        if addrs.len() != 1 {
            return None;
        }
        self.service_of(addrs.iter().next().unwrap())
    }

    fn role(&self, svc: &str) -> Option<String> {
        let ip = self.p.ip(svc);
        if ip.is_empty() {
            return None;
        }
        info_field(&ip, 6379, "role")
    }

    fn is_linked_replica(&self, svc: &str) -> bool {
        let ip = self.p.ip(svc);
        !ip.is_empty()
            && info_field(&ip, 6379, "role").as_deref() == Some("slave")
            && info_field(&ip, 6379, "master_link_status").as_deref() == Some("up")
    }

    fn write_via_haproxy(&self, key: &str, val: &str) -> Result<(), String> {
        match call(&self.haproxy(), 6379, &["SET", key, val]) {
            Ok(Reply::Status(s)) if s == "OK" => Ok(()),
            Ok(r) => Err(r.text()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Backends of the write frontend HAProxy has UP (its stats CSV).
    fn haproxy_masters_up(&self) -> Option<usize> {
        let r = http(&self.haproxy(), 8404, "GET", "/stats;csv", &[], None).ok()?;
        if r.status != 200 {
            return None;
        }
        Some(
            r.body
                .lines()
                .filter(|l| {
                    let f: Vec<&str> = l.split(',').collect();
                    f.len() > 17
                        && f[0] == "redis_master"
                        && f[1] != "BACKEND"
                        && f[17].starts_with("UP")
                })
                .count(),
        )
    }

    fn web(
        &self,
        method: &str,
        path: &str,
        form: &[(&str, &str)],
        cookie: Option<&str>,
    ) -> Option<Http> {
        http(&self.haproxy(), 80, method, path, form, cookie).ok()
    }

    /// Everything up: one master agreed by all sentinels, both replicas
    /// linked, sentinels know each other, writes through HAProxy, web app.
    fn wait_healthy(&self, timeout: Duration) -> bool {
        wait_until(timeout, || {
            let Some(m) = self.agreed_master(&SENTINELS) else {
                return false;
            };
            DATA.iter()
                .filter(|s| **s != m)
                .all(|s| self.is_linked_replica(s))
                && SENTINELS.iter().all(|s| {
                    let ip = self.p.ip(s);
                    call(&ip, 26379, &["SENTINEL", "master", "mymaster"])
                        .map(|r| {
                            let t = r.text();
                            t.contains("num-other-sentinels 2") && t.contains("num-slaves 2")
                        })
                        .unwrap_or(false)
                })
                && self.write_via_haproxy("health", "1").is_ok()
                && self
                    .web("GET", "/health", &[], None)
                    .map(|r| r.status == 200)
                    .unwrap_or(false)
        })
    }

    /// Register and log in a web user; returns the session cookie.
    fn web_login(&self, email: &str) -> String {
        let mut cookie = None;
        assert!(
            wait_until(Duration::from_secs(20), || {
                let _ = self.web(
                    "POST",
                    "/register",
                    &[("email", email), ("password", "pw")],
                    None,
                );
                if let Some(r) = self.web(
                    "POST",
                    "/login",
                    &[("email", email), ("password", "pw")],
                    None,
                ) {
                    if r.status == 200 {
                        cookie = r.cookie;
                        return cookie.is_some();
                    }
                }
                false
            }),
            "web login of {email}"
        );
        cookie.unwrap()
    }

    fn web_add(&self, cookie: &str, item: &str, qty: u32) -> bool {
        self.web(
            "POST",
            "/add",
            &[("item", item), ("quantity", &qty.to_string())],
            Some(cookie),
        )
        .map(|r| r.status == 200)
        .unwrap_or(false)
    }

    /// Item quantity shown by /get, when the session is found.
    fn web_get(&self, cookie: &str, email: &str, item: &str) -> Option<i64> {
        let r = self.web("GET", "/get", &[], Some(cookie))?;
        if r.status != 200 || !r.body.contains(email) {
            return None;
        }
        let pat = format!("\"{item}\":");
        let i = r.body.find(&pat)? + pat.len();
        let num: String = r.body[i..]
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        num.parse().ok()
    }

    /// Back to a healthy topology after a drill: everything started.
    fn restore(&self, what: &str) {
        let all: Vec<&str> = DATA.iter().chain(SENTINELS.iter()).copied().collect();
        for s in &all {
            let running = docker(&["inspect", "-f", "{{.State.Running}}", &self.p.cid(s)]);
            if running != "true" {
                self.p.docker_on("start", &[s]);
            }
            self.p.forget(s);
        }
        let t = Instant::now();
        assert!(
            self.wait_healthy(Duration::from_secs(90)),
            "topology did not recover after {what}"
        );
        self.fig(
            &format!("{what}: recovered (all linked) after"),
            secs(t.elapsed()),
        );
    }
}

/// Straight to the process's stderr: the test harness captures only the
/// print macros, and the figures must show in CI's log even on success.
fn say(text: &str) {
    let mut e = std::io::stderr().lock();
    let _ = e.write_all(text.as_bytes());
    let _ = e.write_all(b"\n");
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// Keys among `keys` that exist on `host`.
fn count_existing(host: &str, keys: &[String]) -> usize {
    let mut c = Conn::open(host, 6379).expect("connect to the master");
    let mut n = 0;
    for chunk in keys.chunks(500) {
        let mut args = vec!["EXISTS"];
        args.extend(chunk.iter().map(|s| s.as_str()));
        match c.cmd(&args).expect("EXISTS") {
            Reply::Int(k) => n += k as usize,
            r => panic!("EXISTS: {r:?}"),
        }
    }
    n
}

/// A writer through HAProxy: SET <prefix>:<i>; the keys acknowledged +OK.
struct Writer {
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<(Instant, String)>>>,
    errors: Arc<AtomicU64>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    fn start(host: String, prefix: &str) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(Vec::new()));
        let errors = Arc::new(AtomicU64::new(0));
        let (s, a, e, prefix) = (
            stop.clone(),
            acked.clone(),
            errors.clone(),
            prefix.to_string(),
        );
        let handle = std::thread::spawn(move || {
            let mut conn: Option<Conn> = None;
            let mut i = 0u64;
            while !s.load(Ordering::Relaxed) {
                if conn.is_none() {
                    conn = Conn::open(&host, 6379).ok();
                    if conn.is_none() {
                        e.fetch_add(1, Ordering::Relaxed);
                        std::thread::sleep(POLL);
                        continue;
                    }
                }
                i += 1;
                let key = format!("{prefix}:{i}");
                match conn.as_mut().unwrap().cmd(&["SET", &key, "v"]) {
                    Ok(Reply::Status(st)) if st == "OK" => {
                        a.lock().unwrap().push((Instant::now(), key))
                    }
                    _ => {
                        // -READONLY / -NOREPLICAS / closed: reconnect (HAProxy routes anew).
                        e.fetch_add(1, Ordering::Relaxed);
                        conn = None;
                        std::thread::sleep(POLL);
                    }
                }
            }
        });
        Writer {
            stop,
            acked,
            errors,
            handle: Some(handle),
        }
    }

    fn count(&self) -> usize {
        self.acked.lock().unwrap().len()
    }

    fn acked_after(&self, t: Instant) -> usize {
        self.acked
            .lock()
            .unwrap()
            .iter()
            .filter(|(at, _)| *at > t)
            .count()
    }

    fn finish(mut self) -> (Vec<String>, u64, Duration) {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.take().unwrap().join().unwrap();
        let acked = self.acked.lock().unwrap();
        let gap = acked
            .windows(2)
            .map(|w| w[1].0 - w[0].0)
            .max()
            .unwrap_or_default();
        (
            acked.iter().map(|(_, k)| k.clone()).collect(),
            self.errors.load(Ordering::Relaxed),
            gap,
        )
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

// ---------------------------------------------------------------- drills

/// Drill 1: Manual SENTINEL FAILOVER under writes through HAProxy and the web app.
fn drill1_manual_failover(t: &Topo) {
    let old = t.agreed_master(&SENTINELS).expect("a master");
    let cookie = t.web_login("d1@example.com");
    let writer = Writer::start(t.haproxy(), "d1");
    let web_stop = Arc::new(AtomicBool::new(false));
    let web_acked = Arc::new(AtomicU64::new(0));
    let web = {
        let (stop, acked, host, cookie) = (
            web_stop.clone(),
            web_acked.clone(),
            t.haproxy(),
            cookie.clone(),
        );
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let ok = http(
                    &host,
                    80,
                    "POST",
                    "/add",
                    &[("item", "d1"), ("quantity", "1")],
                    Some(&cookie),
                )
                .map(|r| r.status == 200)
                .unwrap_or(false);
                if ok {
                    acked.fetch_add(1, Ordering::Relaxed);
                } else {
                    std::thread::sleep(POLL);
                }
            }
        })
    };
    assert!(wait_until(Duration::from_secs(20), || writer.count() > 100
        && web_acked.load(Ordering::Relaxed) > 10));
    let t0 = Instant::now();
    let r = call(
        &t.p.ip("sentinel-1"),
        26379,
        &["SENTINEL", "FAILOVER", "mymaster"],
    )
    .unwrap();
    assert_eq!(r, Reply::Status("OK".into()), "SENTINEL FAILOVER");
    let mut new = None;
    assert!(
        wait_until(Duration::from_secs(30), || {
            new = t.agreed_master(&SENTINELS).filter(|m| *m != old);
            new.is_some()
        }),
        "drill 1: sentinels did not agree on a new master"
    );
    let switched = t0.elapsed();
    let new = new.unwrap();
    let after = Instant::now();
    assert!(
        wait_until(Duration::from_secs(30), || writer.acked_after(after) > 50),
        "drill 1: writes through HAProxy did not resume"
    );
    let web_before = web_acked.load(Ordering::Relaxed);
    assert!(wait_until(Duration::from_secs(30), || web_acked
        .load(Ordering::Relaxed)
        > web_before + 5));
    web_stop.store(true, Ordering::Relaxed);
    web.join().unwrap();
    let (keys, errors, gap) = writer.finish();
    let present = count_existing(&t.p.ip(new), &keys);
    let web_n = web_acked.load(Ordering::Relaxed) as i64;
    let mut shown = None;
    assert!(wait_until(Duration::from_secs(10), || {
        shown = t.web_get(&cookie, "d1@example.com", "d1");
        shown.is_some()
    }));
    // Every sentinel's state file names the new master.
    for s in SENTINELS {
        let state = t.p.exec(s, "cat /data/sentinel-state.toml");
        assert!(
            state.contains(new) || state.contains(&t.p.ip(new)),
            "drill 1: {s}'s state file does not name {new}:\n{state}"
        );
    }
    t.fig(
        "1 manual failover: command -> all sentinels on new master",
        secs(switched),
    );
    t.fig(
        "1 manual failover: longest gap between acked writes (HAProxy)",
        secs(gap),
    );
    t.fig(
        "1 manual failover: acked writes / lost",
        format!(
            "{} / {} ({} refused or failed, retried)",
            keys.len(),
            keys.len() - present,
            errors
        ),
    );
    t.fig(
        "1 manual failover: web adds acked / shown by /get",
        format!("{web_n} / {}", shown.unwrap()),
    );
    assert_eq!(present, keys.len(), "drill 1: acknowledged writes lost");
    assert!(
        shown.unwrap() >= web_n,
        "drill 1: acknowledged web adds lost"
    );
}

/// Kill the master container; time to the first write through HAProxy and
/// the first /get of a logged-in session; bring the old master back.
fn drill2_kill_master(t: &Topo, label: &str) {
    let old = t.agreed_master(&SENTINELS).expect("a master");
    let email = format!("d2-{label}@example.com");
    let cookie = t.web_login(&email);
    assert!(wait_until(Duration::from_secs(10), || t.web_add(&cookie, "apple", 3)));
    assert!(wait_until(Duration::from_secs(10), || t.web_add(&cookie, "pear", 2)));
    let apples = t
        .web_get(&cookie, &email, "apple")
        .expect("items before the kill");
    // The items must be on a replica before the kill (replication is async).
    let key = format!("items:{email}");
    assert!(wait_until(Duration::from_secs(10), || {
        DATA.iter().filter(|s| **s != old).all(|s| {
            call(&t.p.ip(s), 6379, &["HGET", &key, "pear"])
                .map(|r| r.text() == "2")
                .unwrap_or(false)
        })
    }));
    let t0 = Instant::now();
    t.p.docker_on("kill", &[old]);
    let (mut t_write, mut t_web) = (None, None);
    let ok = wait_until(Duration::from_secs(60), || {
        if t_write.is_none() && t.write_via_haproxy("d2:probe", "1").is_ok() {
            t_write = Some(t0.elapsed());
        }
        if t_web.is_none() && t.web_get(&cookie, &email, "apple") == Some(apples) {
            t_web = Some(t0.elapsed());
        }
        t_write.is_some() && t_web.is_some()
    });
    assert!(
        ok,
        "drill 2 ({label}): no write / web session within 60 s of the kill"
    );
    let new = t.agreed_master(&SENTINELS);
    assert!(
        new.is_some() && new != Some(old),
        "drill 2: sentinels did not fail over"
    );
    t.fig(
        "2 kill master: kill -> first write through HAProxy",
        secs(t_write.unwrap()),
    );
    t.fig(
        "2 kill master: kill -> first /get of the session, items intact",
        secs(t_web.unwrap()),
    );
    // The old master comes back: how long does it (and HAProxy) show two masters?
    let t1 = Instant::now();
    t.p.docker_on("start", &[old]);
    let (mut two_up, mut said_master, mut last_two) =
        (Duration::ZERO, Duration::ZERO, None::<Instant>);
    let back = wait_until(Duration::from_secs(60), || {
        let ups = t.haproxy_masters_up().unwrap_or(0);
        if ups >= 2 {
            last_two = Some(Instant::now());
            two_up = t1.elapsed();
        }
        if t.role(old).as_deref() == Some("master") {
            said_master = t1.elapsed();
        }
        // Keep watching HAProxy 3 checks past the conversion.
        t.is_linked_replica(old)
            && last_two
                .map(|l| l.elapsed() > Duration::from_secs(3))
                .unwrap_or(t1.elapsed() > Duration::from_secs(3))
    });
    assert!(
        back,
        "drill 2 ({label}): old master did not come back as a replica"
    );
    t.fig(
        "2 kill master: old master restarted -> linked replica",
        secs(t1.elapsed()),
    );
    t.fig(
        "2 kill master: restarted old master said role:master for",
        if said_master.is_zero() {
            "0 (never)".into()
        } else {
            format!("<= {}", secs(said_master))
        },
    );
    t.fig(
        "2 kill master: HAProxy saw two role:master backends for",
        if two_up.is_zero() {
            "0 (never)".into()
        } else {
            format!("<= {}", secs(two_up))
        },
    );
}

/// Drill 3: Both replicas stopped with min-replicas-to-write 1.
fn drill3_no_replicas(t: &Topo) {
    let m = t.agreed_master(&SENTINELS).expect("a master");
    let replicas: Vec<&str> = DATA.iter().copied().filter(|s| *s != m).collect();
    let t0 = Instant::now();
    t.p.docker_on("stop", &replicas);
    let mut last = String::new();
    assert!(
        wait_until(Duration::from_secs(30), || {
            match t.write_via_haproxy("d3:k", "1") {
                Err(e) => {
                    last = e;
                    last.starts_with("NOREPLICAS")
                }
                Ok(()) => false,
            }
        }),
        "drill 3: writes not refused with NOREPLICAS (last: {last})"
    );
    t.fig(
        "3 replicas stopped: stop -> writes get -NOREPLICAS",
        secs(t0.elapsed()),
    );
    // Reads still served (the read frontend) once HAProxy's PING check
    // (inter 1s, fall 1) has taken the stopped replicas out of rotation.
    assert!(
        wait_until(Duration::from_secs(10), || call(
            &t.haproxy(),
            6380,
            &["GET", "health"]
        )
        .is_ok_and(|r| r.text() == "1")),
        "drill 3: read through HAProxy"
    );
    let t1 = Instant::now();
    t.p.docker_on("start", &replicas);
    assert!(
        wait_until(Duration::from_secs(60), || t
            .write_via_haproxy("d3:k", "2")
            .is_ok()),
        "drill 3: writes not accepted again"
    );
    t.fig(
        "3 replicas stopped: replicas started -> writes accepted",
        secs(t1.elapsed()),
    );
    t.restore("3");
}

/// Drill 4: One sentinel stopped, then the master killed: failover still happens.
fn drill4_one_sentinel_down(t: &Topo) {
    let m = t.agreed_master(&SENTINELS).expect("a master");
    t.p.docker_on("stop", &["sentinel-3"]);
    let t0 = Instant::now();
    t.p.docker_on("kill", &[m]);
    assert!(
        wait_until(Duration::from_secs(60), || {
            t.agreed_master(&SENTINELS[..2])
                .map(|n| n != m)
                .unwrap_or(false)
                && t.write_via_haproxy("d4:k", "1").is_ok()
        }),
        "drill 4: no failover with 2 of 3 sentinels"
    );
    t.fig(
        "4 one sentinel down: kill -> failover + write",
        secs(t0.elapsed()),
    );
    t.restore("4");
}

/// Drill 5: Two sentinels stopped, then the master killed: no failover until one returns.
fn drill5_two_sentinels_down(t: &Topo) {
    let m = t.agreed_master(&SENTINELS).expect("a master");
    t.p.docker_on("stop", &["sentinel-2", "sentinel-3"]);
    t.p.docker_on("kill", &[m]);
    let failed_over = wait_until(Duration::from_secs(8), || {
        t.sentinel_master("sentinel-1")
            .and_then(|a| t.service_of(&a))
            .map(|n| n != m)
            .unwrap_or(false)
            || t.write_via_haproxy("d5:k", "1").is_ok()
    });
    assert!(
        !failed_over,
        "drill 5: failover without a majority of sentinels"
    );
    t.fig(
        "5 two sentinels down: failover while 1 of 3 sentinels up",
        "none in 8 s (8x down-after)".into(),
    );
    let t0 = Instant::now();
    t.p.docker_on("start", &["sentinel-2"]);
    assert!(
        wait_until(Duration::from_secs(90), || {
            t.agreed_master(&SENTINELS[..2])
                .map(|n| n != m)
                .unwrap_or(false)
                && t.write_via_haproxy("d5:k", "1").is_ok()
        }),
        "drill 5: no failover after a sentinel returned"
    );
    t.fig(
        "5 two sentinels down: sentinel back -> failover + write",
        secs(t0.elapsed()),
    );
    t.restore("5");
}

/// Drill 6: The master cut off with `docker network disconnect`.
fn drill6_split_brain(t: &Topo) {
    let m = t.agreed_master(&SENTINELS).expect("a master");
    // A client on the old master's side of the cut: a bash loop inside its
    // container, logging "<ms> <i> <reply>" for every SET.
    let writer = r#"exec 3<>/dev/tcp/127.0.0.1/6379; i=0; : >/tmp/d6.log
while [ ! -e /tmp/d6.stop ]; do i=$((i+1)); k="d6:$i"
printf '*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1\r\nv\r\n' ${#k} "$k" >&3
IFS= read -r -t 5 r <&3 || break; echo "$(date +%s%3N) $i ${r%$'\r'}" >>/tmp/d6.log; sleep 0.05; done"#;
    docker(&["exec", "-d", &t.p.cid(m), "bash", "-c", writer]);
    let log = || t.p.exec(m, "cat /tmp/d6.log 2>/dev/null || true");
    assert!(
        wait_until(Duration::from_secs(10), || log().lines().count() > 20),
        "drill 6: writer inside the master"
    );
    let net = t.p.network();
    let cut_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let t0 = Instant::now();
    docker(&["network", "disconnect", &net, &t.p.cid(m)]);
    t.p.forget(m);
    let others: Vec<&str> = DATA.iter().copied().filter(|s| *s != m).collect();
    assert!(
        wait_until(Duration::from_secs(60), || {
            t.agreed_master(&SENTINELS).map(|n| n != m).unwrap_or(false)
                && t.write_via_haproxy("d6:majority", "1").is_ok()
        }),
        "drill 6: the majority side did not promote a replica"
    );
    t.fig(
        "6 split brain: cut -> replica promoted + write via HAProxy",
        secs(t0.elapsed()),
    );
    // The isolated master refuses writes once no replica is good.
    assert!(
        wait_until(Duration::from_secs(40), || log().contains("NOREPLICAS")),
        "drill 6: isolated master kept accepting writes"
    );
    let lines = log();
    let first_refused = lines
        .lines()
        .find(|l| l.contains("NOREPLICAS"))
        .and_then(|l| l.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap();
    let acked_in_cut: Vec<String> = lines
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let ms: u64 = f.next()?.parse().ok()?;
            let i = f.next()?;
            (ms >= cut_ms && f.next() == Some("+OK")).then(|| format!("d6:{i}"))
        })
        .collect();
    t.fig(
        "6 split brain: cut -> isolated master refuses writes (-NOREPLICAS)",
        format!(
            "{:.2} s",
            first_refused.saturating_sub(cut_ms) as f64 / 1000.0
        ),
    );
    let t1 = Instant::now();
    docker(&["network", "connect", "--alias", m, &net, &t.p.cid(m)]);
    t.p.forget(m);
    assert!(
        wait_until(Duration::from_secs(60), || t.is_linked_replica(m)),
        "drill 6: old master did not rejoin as a replica"
    );
    t.fig(
        "6 split brain: reconnect -> old master linked as replica",
        secs(t1.elapsed()),
    );
    let _ = t.p.exec(m, "touch /tmp/d6.stop");
    let new = t.agreed_master(&SENTINELS).expect("master after drill 6");
    let present = count_existing(&t.p.ip(new), &acked_in_cut);
    t.fig(
        "6 split brain: writes acked by the isolated master during the cut / lost",
        format!("{} / {}", acked_in_cut.len(), acked_in_cut.len() - present),
    );
    let _ = others;
    t.restore("6");
}

/// Drill 7: `compose down` then `up` with the same volumes.
fn drill7_down_up(t: &Topo) {
    let m = t.agreed_master(&SENTINELS).expect("a master");
    let cookie = t.web_login("d7@example.com");
    assert!(wait_until(Duration::from_secs(10), || t.web_add(&cookie, "plum", 7)));
    t.write_via_haproxy("d7:marker", "survives").unwrap();
    let epoch = |s: &str| -> String {
        let t_ = call(&t.p.ip(s), 26379, &["SENTINEL", "master", "mymaster"])
            .map(|r| r.text())
            .unwrap_or_default();
        let f: Vec<&str> = t_.split(' ').collect();
        f.iter()
            .position(|x| *x == "config-epoch")
            .map(|i| f[i + 1].to_string())
            .unwrap_or_default()
    };
    let myids: Vec<String> = SENTINELS
        .iter()
        .map(|s| {
            call(&t.p.ip(s), 26379, &["SENTINEL", "MYID"])
                .unwrap()
                .text()
        })
        .collect();
    let epoch_before = epoch("sentinel-1");
    let t0 = Instant::now();
    t.p.down();
    t.p.up();
    assert!(
        t.wait_healthy(Duration::from_secs(120)),
        "drill 7: topology not healthy after down/up"
    );
    t.fig("7 down/up: up -> healthy", secs(t0.elapsed()));
    let got = call(&t.haproxy(), 6379, &["GET", "d7:marker"])
        .unwrap()
        .text();
    assert_eq!(got, "survives", "drill 7: data lost");
    let mut plums = None;
    assert!(
        wait_until(Duration::from_secs(20), || {
            plums = t.web_get(&cookie, "d7@example.com", "plum");
            plums.is_some()
        }),
        "drill 7: web session lost"
    );
    assert_eq!(plums, Some(7));
    let myids_after: Vec<String> = SENTINELS
        .iter()
        .map(|s| {
            call(&t.p.ip(s), 26379, &["SENTINEL", "MYID"])
                .unwrap()
                .text()
        })
        .collect();
    let epoch_after = epoch("sentinel-1");
    let m_after = t.agreed_master(&SENTINELS).unwrap();
    t.fig(
        "7 down/up: data, session kept; sentinel ids kept; master (config epoch)",
        format!(
            "yes; {}; {m} ({epoch_before}) -> {m_after} ({epoch_after})",
            if myids == myids_after { "yes" } else { "NO" }
        ),
    );
    assert_eq!(myids, myids_after, "drill 7: sentinel ids changed");
    assert_eq!(
        epoch_after, epoch_before,
        "drill 7: a failover happened across down/up"
    );
}

/// Drill 8: The master restarted within down-after-milliseconds: no failover.
/// Returns the failure instead of panicking so that the mixed topology still
/// runs (this drill needs the sentinel fix that starts the down-after clock
/// at the first unanswered PING after a reconnect).
fn drill8_quick_restart(t: &Topo) -> Result<(), String> {
    let m = t.agreed_master(&SENTINELS).expect("a master");
    let down_after = 1000u128;
    let config_epoch = || {
        let text = call(
            &t.p.ip("sentinel-1"),
            26379,
            &["SENTINEL", "master", "mymaster"],
        )
        .map(|r| r.text())
        .unwrap_or_default();
        let f: Vec<&str> = text.split(' ').collect();
        f.iter()
            .position(|x| *x == "config-epoch")
            .map(|i| f[i + 1].to_string())
            .unwrap_or_default()
    };
    let epoch = config_epoch();
    let cid = t.p.cid(m);
    let t0 = Instant::now();
    let restarter = std::thread::spawn(move || docker(&["restart", "-t", "0", &cid]));
    // Downtime as clients see it: from the restart to the first PONG.
    let mut back = None;
    let mut went_down = false;
    wait_until(Duration::from_secs(60), || {
        t.p.forget(m);
        let ip = t.p.ip(m);
        let pong = !ip.is_empty()
            && matches!(call(&ip, 6379, &["PING"]), Ok(Reply::Status(s)) if s == "PONG");
        if !pong {
            went_down = true;
        } else if went_down || restarter.is_finished() {
            back = Some(t0.elapsed());
        }
        back.is_some()
    });
    restarter.join().unwrap();
    let downtime = back.expect("drill 8: master did not answer PING after the restart");
    // Watch 5 s (5x down-after) for a sentinel moving the master.
    let moved = wait_until(Duration::from_secs(5), || {
        SENTINELS.iter().any(|s| {
            t.sentinel_master(s)
                .and_then(|a| t.service_of(&a))
                .map(|n| n != m)
                .unwrap_or(false)
        })
    }) || config_epoch() != epoch;
    let quick = downtime.as_millis() < down_after;
    t.fig(
        "8 quick restart: master down for / failover happened",
        format!(
            "{} / {}{}",
            secs(downtime),
            if moved { "YES" } else { "no" },
            if quick {
                ""
            } else {
                " (restart slower than down-after: not a test of the rule)"
            }
        ),
    );
    t.restore("8");
    if quick && moved {
        return Err(format!(
            "drill 8: a master down for {} (< down-after {down_after} ms) was failed over",
            secs(downtime)
        ));
    }
    Ok(())
}

fn print_table(figures: &[(String, String)]) {
    let w = figures.iter().map(|(k, _)| k.len()).max().unwrap_or(10);
    say("\n==== docker drill figures ====");
    say(&format!("| {:w$} | value |", "measure"));
    say(&format!("|{}|{}|", "-".repeat(w + 2), "-".repeat(40)));
    for (k, v) in figures {
        say(&format!("| {k:w$} | {v} |"));
    }
}

fn start(
    cli: &[String],
    file: &str,
    label: &'static str,
    figures: &Arc<Mutex<Vec<(String, String)>>>,
) -> Topo {
    let t = Topo {
        p: Project::new(cli, file, label),
        figures: figures.clone(),
        label,
    };
    let t0 = Instant::now();
    t.p.up();
    assert!(
        t.wait_healthy(Duration::from_secs(120)),
        "{label}: compose up did not become healthy"
    );
    t.fig("compose up -> healthy", secs(t0.elapsed()));
    t
}

#[test]
fn docker_ha_topology_drills() {
    let have_docker = ok(Command::new("docker").args(["info", "--format", "{{.ServerVersion}}"]));
    let cli = compose_cli();
    let (true, Some(cli)) = (have_docker, cli) else {
        assert!(
            !require(),
            "RSREDIS_REQUIRE_DOCKER=1 but no Docker engine or compose"
        );
        eprintln!("skipping docker drills: no Docker engine or compose");
        return;
    };
    let started = Instant::now();
    build_images();
    let figures = Arc::new(Mutex::new(Vec::new()));
    let only = std::env::var("RSREDIS_DOCKER_DRILLS").unwrap_or_default();
    let want = |d: &str| only.is_empty() || only.split(',').any(|x| x == d);
    let deferred = Mutex::new(Vec::<String>::new());
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        {
            let t = start(&cli, "docker/compose.yml", "rsredis", &figures);
            let size = docker(&[
                "image",
                "inspect",
                "-f",
                "{{.Size}}",
                &format!("rsredis:{TAG}"),
            ]);
            t.fig(
                "runtime image size",
                format!("{:.1} MB", size.parse::<f64>().unwrap_or(0.0) / 1e6),
            );
            if want("1") {
                drill1_manual_failover(&t);
            }
            if want("2") {
                drill2_kill_master(&t, "rsredis");
            }
            if want("3") {
                drill3_no_replicas(&t);
            }
            if want("4") {
                drill4_one_sentinel_down(&t);
            }
            if want("5") {
                drill5_two_sentinels_down(&t);
            }
            if want("6") {
                drill6_split_brain(&t);
            }
            if want("7") {
                drill7_down_up(&t);
            }
            if want("8") {
                if let Err(e) = drill8_quick_restart(&t) {
                    deferred.lock().unwrap().push(e);
                }
            }
        }
        if want("mixed") {
            let t = start(&cli, "docker/compose.mixed.yml", "mixed", &figures);
            drill2_kill_master(&t, "mixed");
        }
    }));
    let mut f = figures.lock().unwrap().clone();
    f.push(("docker drills total".into(), secs(started.elapsed())));
    print_table(&f);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
    let deferred = deferred.into_inner().unwrap();
    assert!(deferred.is_empty(), "{}", deferred.join("\n"));
}
