//! Operations basics (issue 9, point 8): RUST_LOG on top of loglevel, the log
//! file reopened on SIGHUP, systemd readiness (`supervised`), the pid file.
//! Each test starts the real binary itself: with a log file there is no
//! stdout to read the port from, and some tests need their own environment.

use crate::common;

use common::*;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(15);

/// A child process killed on drop (by its own pid).
struct Proc {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    /// `rsredis <role> --config <file>` with `config` (port and dir added), extra env.
    fn start(role: &str, config: &str, env: &[(&str, &str)]) -> Proc {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let path = dir.path().join(format!("{role}.toml"));
        let text = format!(
            "port = {port}\ndir = {:?}\n{config}",
            dir.path().display().to_string()
        );
        std::fs::write(&path, text).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rsredis"));
        cmd.arg(role)
            .arg("--config")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .env_remove("NOTIFY_SOCKET")
            .env_remove("RUST_LOG");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn rsredis");
        let p = Proc { child, port, dir };
        assert!(
            wait_until(T, || RespConn::try_connect(port).is_ok()),
            "{role} did not start listening"
        );
        p
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn wait_exit(&mut self) -> bool {
        wait_until(T, || matches!(self.child.try_wait(), Ok(Some(_))))
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn wait_log(path: &Path, needle: &str) -> bool {
    wait_until(T, || read(path).contains(needle))
}

// ---------------------------------------------------------------- pidfile

#[test]
fn pidfile_written_at_start_and_removed_at_clean_shutdown() {
    let tmp = tempfile::tempdir().unwrap();
    let pidfile = tmp.path().join("rsredis.pid");
    let mut p = Proc::start(
        "server",
        &format!("pidfile = {:?}\n", pidfile.display().to_string()),
        &[],
    );
    assert_eq!(read(&pidfile).trim(), p.pid().to_string());
    let mut c = RespConn::connect(p.port);
    let got = String::from_utf8(c.call(&["CONFIG", "GET", "pidfile"])).unwrap();
    assert!(got.contains(&pidfile.display().to_string()), "{got}");
    // Immutable, like Redis.
    let set = String::from_utf8(c.call(&["CONFIG", "SET", "pidfile", "/tmp/x"])).unwrap();
    assert!(set.starts_with("-ERR"), "{set}");
    signal_pid(p.pid(), "TERM");
    assert!(p.wait_exit());
    assert!(!pidfile.exists(), "removed at a clean shutdown");
}

#[test]
fn no_pidfile_unless_configured() {
    let p = Proc::start("server", "", &[]);
    let pids: Vec<_> = std::fs::read_dir(p.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".pid"))
        .collect();
    assert!(pids.is_empty());
    let mut c = RespConn::connect(p.port);
    assert_eq!(
        c.call(&["CONFIG", "GET", "pidfile"]),
        b"*2\r\n$7\r\npidfile\r\n$0\r\n\r\n"
    );
}

#[test]
fn sentinel_pidfile() {
    let tmp = tempfile::tempdir().unwrap();
    let pidfile = tmp.path().join("sentinel.pid");
    let mut p = Proc::start(
        "sentinel",
        &format!("pidfile = {:?}\n", pidfile.display().to_string()),
        &[],
    );
    assert!(wait_until(T, || read(&pidfile).trim() == p.pid().to_string()));
    signal_pid(p.pid(), "TERM");
    assert!(p.wait_exit());
    assert!(!pidfile.exists());
}

// ---------------------------------------------------------------- supervised

/// A notify socket at a path or (name starting with '@') in the abstract namespace.
fn notify_socket(dir: &Path, abstract_name: bool) -> (UnixDatagram, String) {
    if abstract_name {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("rsredis-ops-{}-{}", std::process::id(), free_port());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        (UnixDatagram::bind_addr(&addr).unwrap(), format!("@{name}"))
    } else {
        let path = dir.join("notify.sock");
        (
            UnixDatagram::bind(&path).unwrap(),
            path.display().to_string(),
        )
    }
}

/// Datagrams until one equals `want` (bounded); returns all received, in order.
fn recv_until(sock: &UnixDatagram, want: &str) -> Vec<String> {
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let deadline = Instant::now() + T;
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while Instant::now() < deadline {
        if let Ok(n) = sock.recv(&mut buf) {
            let m = String::from_utf8_lossy(&buf[..n]).into_owned();
            let done = m == want;
            got.push(m);
            if done {
                return got;
            }
        }
    }
    panic!("no {want:?} within {T:?}; got {got:?}");
}

#[test]
fn systemd_ready_and_stopping_for_a_master() {
    let tmp = tempfile::tempdir().unwrap();
    let (sock, name) = notify_socket(tmp.path(), true);
    let mut p = Proc::start(
        "server",
        "supervised = \"systemd\"\n",
        &[("NOTIFY_SOCKET", &name)],
    );
    let got = recv_until(&sock, "READY=1\n");
    assert_eq!(got, ["STATUS=Ready to accept connections\n", "READY=1\n"]);
    assert_eq!(
        info_field(p.port, "server", "process_supervised").as_deref(),
        Some("systemd")
    );
    signal_pid(p.pid(), "TERM");
    recv_until(&sock, "STOPPING=1\n");
    assert!(p.wait_exit());
}

#[test]
fn systemd_ready_for_a_replica_only_after_its_first_sync() {
    let m = Server::start();
    let mut mc = RespConn::connect(m.port);
    mc.call(&["SET", "k", "v"]);
    // Hold the master's full sync back with a diskless delay, so the replica
    // is seen waiting before it is ready.
    mc.call(&["CONFIG", "SET", "repl-diskless-sync-delay", "2"]);
    let tmp = tempfile::tempdir().unwrap();
    let (sock, name) = notify_socket(tmp.path(), false);
    let p = Proc::start(
        "server",
        &format!(
            "supervised = \"auto\"\nreplicaof = \"127.0.0.1 {}\"\n",
            m.port
        ),
        &[("NOTIFY_SOCKET", &name)],
    );
    let got = recv_until(&sock, "READY=1\n");
    assert_eq!(got[0], "STATUS=Waiting for MASTER <-> REPLICA sync\n");
    assert!(
        got.iter()
            .any(|s| s.starts_with("STATUS=MASTER <-> REPLICA sync: Finished with success")),
        "{got:?}"
    );
    // READY=1 came after the data arrived.
    let mut c = RespConn::connect(p.port);
    assert_eq!(c.call(&["GET", "k"]), b"$1\r\nv\r\n");
}

#[test]
fn supervised_no_sends_nothing_and_auto_without_socket_is_no() {
    let tmp = tempfile::tempdir().unwrap();
    let (sock, name) = notify_socket(tmp.path(), false);
    let p = Proc::start("server", "", &[("NOTIFY_SOCKET", &name)]);
    assert_eq!(
        info_field(p.port, "server", "process_supervised").as_deref(),
        Some("no")
    );
    sock.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 64];
    assert!(
        sock.recv(&mut buf).is_err(),
        "supervised = no sends nothing"
    );
    let p2 = Proc::start("server", "supervised = \"auto\"\n", &[]);
    assert_eq!(
        info_field(p2.port, "server", "process_supervised").as_deref(),
        Some("no")
    );
    let mut c = RespConn::connect(p2.port);
    let bad = String::from_utf8(c.call(&["CONFIG", "GET", "supervised"])).unwrap();
    assert!(bad.contains("auto"), "{bad}");
}

#[test]
fn sentinel_systemd_ready() {
    let tmp = tempfile::tempdir().unwrap();
    let (sock, name) = notify_socket(tmp.path(), false);
    let mut p = Proc::start(
        "sentinel",
        "supervised = \"systemd\"\n",
        &[("NOTIFY_SOCKET", &name)],
    );
    recv_until(&sock, "READY=1\n");
    assert_eq!(
        info_field(p.port, "server", "process_supervised").as_deref(),
        Some("systemd")
    );
    signal_pid(p.pid(), "TERM");
    recv_until(&sock, "STOPPING=1\n");
    assert!(p.wait_exit());
}

// ---------------------------------------------------------------- logging

/// logrotate: rename the file, SIGHUP, new lines go to a new file at the path.
fn rotate_and_check(role: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("rsredis.log");
    let p = Proc::start(
        role,
        &format!("logfile = {:?}\n", log.display().to_string()),
        &[],
    );
    assert!(wait_log(&log, "pid="), "{}", read(&log));
    let rotated = tmp.path().join("rsredis.log.1");
    std::fs::rename(&log, &rotated).unwrap();
    signal_pid(p.pid(), "HUP");
    assert!(wait_log(&log, "Log file reopened"), "{}", read(&log));
    assert!(read(&rotated).contains("pid="));
    assert!(!read(&rotated).contains("Log file reopened"));
    // Still running: SIGHUP does not stop the process.
    assert_eq!(RespConn::connect(p.port).call(&["PING"]), b"+PONG\r\n");
}

#[test]
fn server_log_file_reopened_on_sighup() {
    rotate_and_check("server");
}

#[test]
fn sentinel_log_file_reopened_on_sighup() {
    rotate_and_check("sentinel");
}

#[test]
fn rust_log_refines_loglevel_and_config_set_still_works() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("rsredis.log");
    let p = Proc::start(
        "server",
        &format!(
            "loglevel = \"warning\"\nlogfile = {:?}\n",
            log.display().to_string()
        ),
        &[("RUST_LOG", "rsredis::net=debug")],
    );
    let mut c = RespConn::connect(p.port);
    // Debug lines of the refined target appear, notice lines elsewhere do not.
    assert!(wait_log(&log, "accepted 127.0.0.1"), "{}", read(&log));
    assert!(!read(&log).contains("Ready to accept connections"));
    assert_eq!(c.call(&["SAVE"]), b"+OK\r\n");
    assert_eq!(c.call(&["PING"]), b"+PONG\r\n");
    assert!(!read(&log).contains("DB saved on disk"));
    assert_eq!(c.call(&["CONFIG", "SET", "loglevel", "notice"]), b"+OK\r\n");
    assert_eq!(c.call(&["SAVE"]), b"+OK\r\n");
    assert!(wait_log(&log, "DB saved on disk"), "{}", read(&log));
    // The refinement survives CONFIG SET.
    let before = read(&log).matches("accepted 127.0.0.1").count();
    RespConn::connect(p.port).call(&["PING"]);
    assert!(wait_until(T, || read(&log)
        .matches("accepted 127.0.0.1")
        .count()
        > before));
}
