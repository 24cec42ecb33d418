//! The RESP and connection layer against the real binary: exact bytes on the
//! wire, hostile input, limits, and the process's own command line.

use crate::common::*;

use rand::{Rng, SeedableRng};
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- helpers

/// True if the peer closed (EOF or reset) within `wait`; false if the
/// connection is still open when the time is up. Replies are discarded.
fn closed_within(r: &mut Raw, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    let mut buf = [0u8; 65536];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        r.stream.set_read_timeout(Some(left)).unwrap();
        match r.stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// Read until the received bytes end with `suffix` (or the timeout passes).
fn read_until_suffix(r: &mut Raw, suffix: &[u8], wait: Duration) -> Vec<u8> {
    let deadline = Instant::now() + wait;
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    while !out.ends_with(suffix) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        r.stream.set_read_timeout(Some(left)).unwrap();
        match r.stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(k) => out.extend_from_slice(&buf[..k]),
        }
    }
    r.stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    out
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Expect exactly `expect`, then the server closing the connection.
fn expect_reply_then_close(r: &mut Raw, send: &[u8], expect: &[u8]) {
    r.roundtrip(send, expect);
    assert!(
        closed_within(r, Duration::from_secs(5)),
        "connection should be closed after {:?}",
        lossy(expect)
    );
}

fn hello_map(proto: u8) -> (Vec<u8>, Vec<u8>) {
    let head = if proto == 3 { "%7" } else { "*14" };
    let before = format!(
        "{head}\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:{proto}\r\n$2\r\nid\r\n:"
    );
    let after =
        "$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n";
    (before.into_bytes(), after.as_bytes().to_vec())
}

/// Check a HELLO reply: the fixed parts byte for byte, the id a positive integer.
fn assert_hello(got: &[u8], proto: u8) {
    let (before, after) = hello_map(proto);
    let text = lossy(got);
    assert!(got.starts_with(&before), "HELLO {proto} reply: {text:?}");
    let rest = &got[before.len()..];
    let crlf = rest
        .windows(2)
        .position(|w| w == b"\r\n")
        .unwrap_or_else(|| panic!("no id line in {text:?}"));
    let id: i64 = lossy(&rest[..crlf])
        .parse()
        .unwrap_or_else(|_| panic!("id is not an integer in {text:?}"));
    assert!(id > 0, "{text:?}");
    assert_eq!(
        lossy(&rest[crlf + 2..]),
        lossy(&after),
        "HELLO {proto} tail"
    );
}

fn vm_rss_kb(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Run the binary with `args`; kill it (and fail) if it is still running after `limit`.
fn run_binary(args: &[&str], cwd: &std::path::Path, limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rsredis"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rsredis");
    let deadline = Instant::now() + limit;
    loop {
        if child.try_wait().expect("try_wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "rsredis {:?} was still running after {:?}; stdout:\n{}\nstderr:\n{}",
                args,
                limit,
                lossy(&out.stdout),
                lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Spawn the binary and wait for its "Ready to accept connections on" line.
/// Returns the child and that line, or the child and the stderr text if it exited first.
fn spawn_until_ready(
    args: &[&str],
    cwd: &std::path::Path,
) -> (std::process::Child, Result<String, String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rsredis"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
            if line.contains("Ready to accept connections on") {
                return (child, Ok(line));
            }
        }
        if let Ok(Some(st)) = child.try_wait() {
            let mut err = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            return (child, Err(format!("exited with {st}: {err}")));
        }
    }
    (child, Err("no ready line within 10 s".into()))
}

fn stop(mut child: std::process::Child) {
    let _ = child.kill();
    let _ = child.wait();
}

// ------------------------------------------------------ inline commands

#[test]
fn inline_commands_then_quit_closes() {
    let s = Server::start();
    let mut r = s.raw();
    expect_reply_then_close(
        &mut r,
        b"PING\r\necho hi\r\nQUIT\r\n",
        b"+PONG\r\n$2\r\nhi\r\n+OK\r\n",
    );

    // A bare \n also ends an inline line; empty lines and *0 / *-1 frames are ignored.
    let mut r = s.raw();
    r.roundtrip(b"PING\n\r\n\n*0\r\n*-1\r\nping\n", b"+PONG\r\n+PONG\r\n");
    // Command names are case-insensitive.
    r.roundtrip(b"pInG\r\n", b"+PONG\r\n");
    r.roundtrip(b"PING hello\r\n", b"$5\r\nhello\r\n");
}

#[test]
fn inline_quoted_arguments() {
    let s = Server::start();
    let mut r = s.raw();
    r.roundtrip(b"SET \"my key\" \"hello world\\n\"\r\n", b"+OK\r\n");
    r.roundtrip(b"GET \"my key\"\r\n", b"$12\r\nhello world\n\r\n");
    r.roundtrip(b"GET 'my key'\r\n", b"$12\r\nhello world\n\r\n");
    r.roundtrip(b"ECHO 'c\\'d'\r\n", b"$3\r\nc'd\r\n");
    r.roundtrip(b"ECHO \"\\x41\\x42\\t\"\r\n", b"$3\r\nAB\t\r\n");
    // Single quotes keep backslashes literally (except \').
    r.roundtrip(b"ECHO 'x\\ny'\r\n", b"$4\r\nx\\ny\r\n");
    r.roundtrip(b"ECHO \"\"\r\n", b"$0\r\n\r\n");
    // Tabs and runs of spaces separate arguments.
    r.roundtrip(b"  ECHO\t   spaced  \r\n", b"$6\r\nspaced\r\n");
    // Two quoted strings in a row are two arguments -> ECHO arity error.
    r.roundtrip(
        b"ECHO 'a' \"b\"\r\n",
        b"-ERR wrong number of arguments for 'echo' command\r\n",
    );
}

// ------------------------------------------------------------ pipelining

#[test]
fn pipeline_10k_commands_in_one_write_raw() {
    let s = Server::start();
    let mut r = s.raw();
    let mut req = Vec::new();
    let mut expect = Vec::new();
    for i in 0..10_000 {
        req.extend_from_slice(&resp(&["SET", &format!("k{i}"), &format!("v{i}")]));
        expect.extend_from_slice(b"+OK\r\n");
    }
    for i in (0..10_000).step_by(7) {
        req.extend_from_slice(format!("GET k{i}\r\n").as_bytes());
        let v = format!("v{i}");
        expect.extend_from_slice(format!("${}\r\n{}\r\n", v.len(), v).as_bytes());
    }
    r.roundtrip(&req, &expect);
    r.roundtrip(b"PING\r\n", b"+PONG\r\n");
}

#[test]
fn pipeline_10k_commands_redis_crate() {
    let s = Server::start();
    let mut c = s.client();
    let mut p = redis::pipe();
    for i in 0..10_000 {
        p.cmd("SET").arg(format!("p{i}")).arg(i).ignore();
    }
    for i in 0..10_000 {
        p.cmd("GET").arg(format!("p{i}"));
    }
    let got: Vec<i64> = p.query(&mut c).unwrap();
    assert_eq!(got, (0..10_000).collect::<Vec<i64>>());
    let n: i64 = redis::cmd("EXISTS")
        .arg("p0")
        .arg("p9999")
        .arg("nope")
        .query(&mut c)
        .unwrap();
    assert_eq!(n, 2);
}

#[test]
fn frames_split_byte_by_byte() {
    let s = Server::start();
    let mut r = s.raw();
    let mut frames = resp(&["SET", "split", "hello world"]);
    frames.extend_from_slice(b"GET split\r\n");
    frames.extend_from_slice(&resp(&["ECHO", ""]));
    for b in &frames {
        r.send(std::slice::from_ref(b));
        // Deliberate: each byte arrives in its own read on the server.
        std::thread::sleep(Duration::from_micros(300));
    }
    let expect = b"+OK\r\n$11\r\nhello world\r\n$0\r\n\r\n";
    assert_eq!(lossy(&r.read_n(expect.len())), lossy(expect));

    // Cut at every position of one frame: two writes each.
    let frame = resp(&["ECHO", "abcdefgh"]);
    for cut in 1..frame.len() {
        r.send(&frame[..cut]);
        std::thread::sleep(Duration::from_millis(1));
        r.send(&frame[cut..]);
        assert_eq!(lossy(&r.read_n(14)), "$8\r\nabcdefgh\r\n", "cut at {cut}");
    }
}

// ------------------------------------------------------------ RESP3 / nulls

#[test]
fn hello_and_resp3() {
    let s = Server::start();
    let mut r = s.raw();
    // RESP2 null bulk.
    r.roundtrip(b"GET missing\r\n", b"$-1\r\n");

    r.send(b"HELLO 3\r\n");
    let got = read_until_suffix(&mut r, b"*0\r\n", Duration::from_secs(5));
    assert_hello(&got, 3);
    // RESP3 null.
    r.roundtrip(b"GET missing\r\n", b"_\r\n");
    r.roundtrip(b"SET k v\r\nGET k\r\n", b"+OK\r\n$1\r\nv\r\n");

    // Unsupported versions are refused and the protocol stays as it was.
    r.roundtrip(b"HELLO 4\r\n", b"-NOPROTO unsupported protocol version\r\n");
    r.roundtrip(b"HELLO 1\r\n", b"-NOPROTO unsupported protocol version\r\n");
    r.roundtrip(
        b"HELLO x\r\n",
        b"-ERR Protocol version is not an integer or out of range\r\n",
    );
    r.roundtrip(b"GET missing\r\n", b"_\r\n");

    // Back to RESP2: a flat 14-element array.
    r.send(b"HELLO 2\r\n");
    let got = read_until_suffix(&mut r, b"*0\r\n", Duration::from_secs(5));
    assert_hello(&got, 2);
    r.roundtrip(b"GET missing\r\n", b"$-1\r\n");

    // HELLO without a version reports the current one.
    r.send(b"HELLO\r\n");
    let got = read_until_suffix(&mut r, b"*0\r\n", Duration::from_secs(5));
    assert_hello(&got, 2);

    // RESET returns to RESP2.
    r.send(b"HELLO 3\r\n");
    let _ = read_until_suffix(&mut r, b"*0\r\n", Duration::from_secs(5));
    r.roundtrip(b"RESET\r\nGET missing\r\n", b"+RESET\r\n$-1\r\n");
}

// --------------------------------------------------- protocol errors

const PROTOCOL_ERRORS: &[(&[u8], &str)] = &[
    (b"*x\r\n", "invalid multibulk length"),
    (b"*3000000000\r\n", "invalid multibulk length"),
    (b"*1\r\n$2147483648\r\n", "invalid bulk length"),
    (b"*1\r\n$-1\r\n", "invalid bulk length"),
    (b"*1\r\n$abc\r\n", "invalid bulk length"),
    (b"*1\r\n+foo\r\n", "expected '$', got '+'"),
    (b"*2\r\n$4\r\nECHO\r\n:12\r\n", "expected '$', got ':'"),
    (b"set k \"abc\r\n", "unbalanced quotes in request"),
    (b"set k 'abc\r\n", "unbalanced quotes in request"),
    (b"set a \"b\"c\r\n", "unbalanced quotes in request"),
];

#[test]
fn protocol_errors_reply_then_close_others_unaffected() {
    let s = Server::start();
    let mut other = s.client();
    let _: () = redis::cmd("SET")
        .arg("keep")
        .arg("1")
        .query(&mut other)
        .unwrap();
    for (input, text) in PROTOCOL_ERRORS {
        let mut r = s.raw();
        let expect = format!("-ERR Protocol error: {text}\r\n");
        expect_reply_then_close(&mut r, input, expect.as_bytes());
        let v: String = redis::cmd("GET").arg("keep").query(&mut other).unwrap();
        assert_eq!(v, "1");
    }

    // Replies to commands before the bad frame are still delivered.
    let mut r = s.raw();
    expect_reply_then_close(
        &mut r,
        b"PING\r\n*1\r\n$x\r\n",
        b"+PONG\r\n-ERR Protocol error: invalid bulk length\r\n",
    );

    // More than 64 KB without a newline: inline and length lines.
    let mut r = s.raw();
    let big = vec![b'a'; 64 * 1024 + 1];
    expect_reply_then_close(
        &mut r,
        &big,
        b"-ERR Protocol error: too big inline request\r\n",
    );
    let mut r = s.raw();
    let mut big = b"*".to_vec();
    big.extend(std::iter::repeat_n(b'1', 64 * 1024 + 1));
    expect_reply_then_close(
        &mut r,
        &big,
        b"-ERR Protocol error: too big mbulk count string\r\n",
    );
    let mut r = s.raw();
    let mut big = b"*1\r\n$".to_vec();
    big.extend(std::iter::repeat_n(b'1', 64 * 1024 + 1));
    expect_reply_then_close(
        &mut r,
        &big,
        b"-ERR Protocol error: too big bulk count string\r\n",
    );

    let v: String = redis::cmd("GET").arg("keep").query(&mut other).unwrap();
    assert_eq!(v, "1");
    let pong: String = redis::cmd("PING").query(&mut s.client()).unwrap();
    assert_eq!(pong, "PONG");
    assert!(
        wait_until(Duration::from_secs(2), || s
            .logs()
            .contains("Protocol error")),
        "protocol errors are logged; logs:\n{}",
        s.logs()
    );
}

#[test]
fn garbage_sender_does_not_disturb_other_clients() {
    let s = Server::start();
    let port = s.port;
    let stop = Arc::new(AtomicBool::new(false));
    let rounds = Arc::new(AtomicUsize::new(0));
    let garbage = {
        let stop = stop.clone();
        let rounds = rounds.clone();
        std::thread::spawn(move || {
            let mut rng = rand::rngs::SmallRng::seed_from_u64(0x5eed);
            let pieces: &[&[u8]] = &[
                b"*", b"$", b"\r\n", b"\n", b"-1", b"0", b"99", b"\"", b"'", b" ", b"*2\r\n",
                b"$3\r\n", b"PING", b"\x00", b"\xff",
            ];
            while !stop.load(Ordering::Relaxed) {
                let Ok(mut st) = TcpStream::connect(("127.0.0.1", port)) else {
                    continue;
                };
                st.set_read_timeout(Some(Duration::from_millis(30)))
                    .unwrap();
                let mut buf = Vec::new();
                while buf.len() < 4096 {
                    if rng.gen_bool(0.5) {
                        buf.push(rng.gen());
                    } else {
                        buf.extend_from_slice(pieces[rng.gen_range(0..pieces.len())]);
                    }
                }
                let _ = st.write_all(&buf);
                let mut sink = [0u8; 65536];
                let _ = st.read(&mut sink);
                rounds.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let workers: Vec<_> = (0..5)
        .map(|t| {
            let url = s.url();
            std::thread::spawn(move || {
                let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
                for i in 0..300 {
                    let k = format!("w{t}:{i}");
                    let v = format!("value-{t}-{i}");
                    let _: () = redis::cmd("SET").arg(&k).arg(&v).query(&mut c).unwrap();
                    let got: String = redis::cmd("GET").arg(&k).query(&mut c).unwrap();
                    assert_eq!(got, v);
                    let e: String = redis::cmd("ECHO").arg(&v).query(&mut c).unwrap();
                    assert_eq!(e, v);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker saw a wrong answer");
    }
    // Let the garbage run a little longer if the workers were very fast.
    wait_until(Duration::from_secs(3), || {
        rounds.load(Ordering::Relaxed) >= 20
    });
    stop.store(true, Ordering::Relaxed);
    garbage.join().unwrap();
    assert!(rounds.load(Ordering::Relaxed) >= 20);
    let mut c = s.client();
    let pong: String = redis::cmd("PING").query(&mut c).unwrap();
    assert_eq!(pong, "PONG");
    let v: String = redis::cmd("GET").arg("w4:299").query(&mut c).unwrap();
    assert_eq!(v, "value-4-299");
}

// ----------------------------------------------------------- limits

#[test]
fn proto_max_bulk_len_refuses_large_header_without_allocating() {
    let s = Server::with_config("proto-max-bulk-len = \"1mb\"\n");
    // Refused on the header alone: no body was sent, so nothing was buffered for it.
    let mut r = s.raw();
    expect_reply_then_close(
        &mut r,
        b"*2\r\n$4\r\nECHO\r\n$2000000\r\n",
        b"-ERR Protocol error: invalid bulk length\r\n",
    );
    // Just under the limit is fine.
    let mut r = s.raw();
    let body = "x".repeat(1_000_000);
    let mut expect = b"$1000000\r\n".to_vec();
    expect.extend_from_slice(body.as_bytes());
    expect.extend_from_slice(b"\r\n");
    r.roundtrip(&resp(&["ECHO", &body]), &expect);

    // Valid headers announcing ~1 MB each but no body must not reserve memory.
    let before = vm_rss_kb(s.pid()).expect("VmRSS");
    let mut c = s.client();
    let pong: String = redis::cmd("PING").query(&mut c).unwrap();
    assert_eq!(pong, "PONG");
    // The server's input byte count, including this INFO request (25 bytes).
    let input = |c: &mut redis::Connection| -> u64 {
        let info: String = redis::cmd("INFO").arg("stats").query(c).unwrap();
        info.lines()
            .find_map(|l| l.strip_prefix("total_net_input_bytes:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("total_net_input_bytes")
    };
    let header = b"*2\r\n$4\r\nECHO\r\n$1048576\r\n";
    let base = input(&mut c);
    let mut pending: Vec<Raw> = (0..40)
        .map(|_| {
            let mut r = s.raw();
            r.send(header);
            r
        })
        .collect();
    // Measure once the server has read every header (the polls' own INFO
    // requests are counted too).
    let mut polls = 0;
    assert!(wait_until(Duration::from_secs(10), || {
        polls += 1;
        input(&mut c) >= base + 40 * header.len() as u64 + polls * 25
    }));
    let after = vm_rss_kb(s.pid()).expect("VmRSS");
    assert!(
        after < before + 20 * 1024,
        "40 pending 1 MB headers grew RSS from {before} kB to {after} kB"
    );
    // They are still waiting for their bodies, not closed.
    assert!(!closed_within(&mut pending[0], Duration::from_millis(100)));
}

#[test]
fn query_buffer_limit_disconnects_client() {
    let s = Server::with_config("client-query-buffer-limit = \"1mb\"\n");
    let mut other = s.client();
    let mut r = s.raw();
    r.send(b"*2\r\n$4\r\nECHO\r\n$3000000\r\n");
    let chunk = vec![b'x'; 64 * 1024];
    for _ in 0..32 {
        // The server may already have closed: write errors are expected.
        if r.stream.write_all(&chunk).is_err() {
            break;
        }
    }
    assert!(
        closed_within(&mut r, Duration::from_secs(5)),
        "client over client-query-buffer-limit must be disconnected"
    );
    assert!(
        wait_until(Duration::from_secs(3), || s
            .logs()
            .contains("max query buffer length")),
        "logs should say why; logs:\n{}",
        s.logs()
    );
    let pong: String = redis::cmd("PING").query(&mut other).unwrap();
    assert_eq!(pong, "PONG");
}

#[test]
fn maxclients_refuses_extra_connections() {
    let s = Server::with_config("maxclients = 2\n");
    let mut a = s.raw();
    let mut b = s.raw();
    a.roundtrip(b"PING\r\n", b"+PONG\r\n");
    b.roundtrip(b"PING\r\n", b"+PONG\r\n");
    let mut c = s.raw();
    let got = c.read_n(b"-ERR max number of clients reached\r\n".len());
    assert_eq!(lossy(&got), "-ERR max number of clients reached\r\n");
    assert!(closed_within(&mut c, Duration::from_secs(5)));
    a.roundtrip(b"PING\r\n", b"+PONG\r\n");
    // A freed slot can be reused.
    drop(b);
    assert!(wait_until(Duration::from_secs(5), || {
        let mut d = s.raw();
        d.send(b"PING\r\n");
        d.read_n(7) == b"+PONG\r\n"
    }));
}

#[test]
fn idle_timeout_closes_client() {
    let s = Server::with_config("timeout = 1\n");
    let mut idle = s.raw();
    idle.roundtrip(b"PING\r\n", b"+PONG\r\n");
    let mut busy = s.raw();
    let start = Instant::now();
    assert!(!closed_within(&mut idle, Duration::from_millis(400)));
    // A client that keeps talking stays connected.
    while start.elapsed() < Duration::from_millis(1800) {
        busy.roundtrip(b"PING\r\n", b"+PONG\r\n");
        // Deliberate: the busy client talks every 250 ms, within the timeout.
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(
        closed_within(&mut idle, Duration::from_secs(4)),
        "idle client should be closed after timeout = 1"
    );
    busy.roundtrip(b"PING\r\n", b"+PONG\r\n");
}

// ------------------------------------------------------- error texts

#[test]
fn unknown_command_arity_and_wrongtype_texts() {
    let s = Server::start();
    let mut r = s.raw();
    r.roundtrip(
        b"foo a b\r\n",
        b"-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n",
    );
    r.roundtrip(
        &resp(&["FOO"]),
        b"-ERR unknown command 'FOO', with args beginning with: \r\n",
    );
    r.roundtrip(
        b"GET\r\n",
        b"-ERR wrong number of arguments for 'get' command\r\n",
    );
    r.roundtrip(
        b"SET k\r\n",
        b"-ERR wrong number of arguments for 'set' command\r\n",
    );
    r.roundtrip(
        b"ECHO a b\r\n",
        b"-ERR wrong number of arguments for 'echo' command\r\n",
    );
    r.roundtrip(b"LPUSH l x\r\n", b":1\r\n");
    r.roundtrip(
        b"GET l\r\n",
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    r.roundtrip(b"SET l x\r\nGET l\r\n", b"+OK\r\n$1\r\nx\r\n");
    r.roundtrip(
        b"LPUSH l y\r\n",
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    // The connection survives all of these.
    r.roundtrip(b"PING\r\n", b"+PONG\r\n");
}

#[test]
fn select_swapdb_del_exists() {
    let s = Server::start();
    let mut r = s.raw();
    r.roundtrip(b"SELECT 16\r\n", b"-ERR DB index is out of range\r\n");
    r.roundtrip(b"SELECT -1\r\n", b"-ERR DB index is out of range\r\n");
    r.roundtrip(
        b"SELECT x\r\n",
        b"-ERR value is not an integer or out of range\r\n",
    );
    r.roundtrip(b"SELECT 15\r\nSELECT 0\r\n", b"+OK\r\n+OK\r\n");
    r.roundtrip(
        b"SET a b\r\nSWAPDB 0 1\r\nEXISTS a\r\nSELECT 1\r\nGET a\r\n",
        b"+OK\r\n+OK\r\n:0\r\n+OK\r\n$1\r\nb\r\n",
    );
    r.roundtrip(b"SWAPDB 0 99\r\n", b"-ERR DB index is out of range\r\n");
    r.roundtrip(b"SWAPDB x 1\r\n", b"-ERR invalid first DB index\r\n");
    r.roundtrip(b"SWAPDB 1 y\r\n", b"-ERR invalid second DB index\r\n");
    r.roundtrip(b"SET c d\r\nEXISTS a a c z\r\n", b"+OK\r\n:3\r\n");
    r.roundtrip(b"DEL a a c z\r\nEXISTS a c\r\n", b":2\r\n:0\r\n");

    let s = Server::with_config("databases = 2\n");
    let mut r = s.raw();
    r.roundtrip(b"SELECT 1\r\n", b"+OK\r\n");
    r.roundtrip(b"SELECT 2\r\n", b"-ERR DB index is out of range\r\n");
}

#[test]
fn multi_exec_discard_shapes() {
    let s = Server::start();
    let mut r = s.raw();
    r.roundtrip(
        b"MULTI\r\nSET a 1\r\nGET a\r\nEXEC\r\n",
        b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n$1\r\n1\r\n",
    );
    r.roundtrip(
        b"MULTI\r\nMULTI\r\nFOO\r\nSET a\r\nEXEC\r\n",
        b"+OK\r\n-ERR MULTI calls can not be nested\r\n-ERR unknown command 'FOO', with args beginning with: \r\n-ERR wrong number of arguments for 'set' command\r\n-EXECABORT Transaction discarded because of previous errors.\r\n",
    );
    r.roundtrip(
        b"EXEC\r\nDISCARD\r\n",
        b"-ERR EXEC without MULTI\r\n-ERR DISCARD without MULTI\r\n",
    );
    r.roundtrip(b"MULTI\r\nEXEC\r\n", b"+OK\r\n*0\r\n");
    r.roundtrip(
        b"MULTI\r\nSET a 2\r\nDISCARD\r\nGET a\r\n",
        b"+OK\r\n+QUEUED\r\n+OK\r\n$1\r\n1\r\n",
    );
    // QUIT inside MULTI still closes.
    expect_reply_then_close(
        &mut r,
        b"MULTI\r\nPING\r\nQUIT\r\n",
        b"+OK\r\n+QUEUED\r\n+OK\r\n",
    );
}

// ------------------------------------------------------------ AUTH

#[test]
fn auth_without_password_configured() {
    let s = Server::start();
    let mut r = s.raw();
    r.roundtrip(
        b"AUTH x\r\n",
        b"-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n",
    );
    r.roundtrip(b"PING\r\n", b"+PONG\r\n");
}

#[test]
fn requirepass_noauth_wrongpass_hello_auth() {
    let s = Server::with_config("requirepass = \"s3cret\"\n");
    let mut r = s.raw();
    r.roundtrip(b"PING\r\n", b"-NOAUTH Authentication required.\r\n");
    r.roundtrip(b"GET k\r\n", b"-NOAUTH Authentication required.\r\n");
    r.roundtrip(
        b"AUTH wrong\r\n",
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n",
    );
    r.roundtrip(
        b"AUTH default wrong\r\n",
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n",
    );
    r.roundtrip(
        b"HELLO 3\r\n",
        b"-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n",
    );
    r.roundtrip(b"AUTH s3cret\r\nPING\r\n", b"+OK\r\n+PONG\r\n");
    r.roundtrip(b"AUTH default s3cret\r\n", b"+OK\r\n");

    // HELLO 3 AUTH in one step.
    let mut h = s.raw();
    h.send(b"HELLO 3 AUTH default s3cret\r\n");
    let got = read_until_suffix(&mut h, b"*0\r\n", Duration::from_secs(5));
    assert_hello(&got, 3);
    h.roundtrip(b"GET nothing\r\n", b"_\r\n");
    let mut h = s.raw();
    h.roundtrip(
        b"HELLO 3 AUTH default nope\r\n",
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n",
    );

    // QUIT works unauthenticated.
    let mut q = s.raw();
    expect_reply_then_close(&mut q, b"QUIT\r\n", b"+OK\r\n");

    // Unauthenticated peers may not announce big frames.
    let mut u = s.raw();
    expect_reply_then_close(
        &mut u,
        b"*11\r\n",
        b"-ERR Protocol error: unauthenticated multibulk length\r\n",
    );
    let mut u = s.raw();
    expect_reply_then_close(
        &mut u,
        b"*1\r\n$100000\r\n",
        b"-ERR Protocol error: unauthenticated bulk length\r\n",
    );
    // ... but 10 arguments are fine, and after AUTH the limits are lifted.
    let mut u = s.raw();
    let ten = resp(&["EXISTS", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    u.roundtrip(&ten, b"-NOAUTH Authentication required.\r\n");
    u.roundtrip(b"AUTH s3cret\r\n", b"+OK\r\n");
    let big = "y".repeat(100_000);
    let mut expect = b"$100000\r\n".to_vec();
    expect.extend_from_slice(big.as_bytes());
    expect.extend_from_slice(b"\r\n");
    u.roundtrip(&resp(&["ECHO", &big]), &expect);

    // RESET drops authentication again.
    u.roundtrip(
        b"RESET\r\nPING\r\n",
        b"+RESET\r\n-NOAUTH Authentication required.\r\n",
    );

    // The redis crate authenticates from the URL.
    let url = format!("redis://:s3cret@127.0.0.1:{}/", s.port);
    let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
    let pong: String = redis::cmd("PING").query(&mut c).unwrap();
    assert_eq!(pong, "PONG");
}

// ---------------------------------------------------- connection life

#[test]
fn quit_and_reset() {
    let s = Server::start();
    let mut r = s.raw();
    r.roundtrip(
        b"SELECT 3\r\nSET x 1\r\nRESET\r\nEXISTS x\r\n",
        b"+OK\r\n+OK\r\n+RESET\r\n:0\r\n",
    );
    r.roundtrip(
        b"MULTI\r\nRESET\r\nEXEC\r\n",
        b"+OK\r\n+RESET\r\n-ERR EXEC without MULTI\r\n",
    );
    expect_reply_then_close(&mut r, b"QUIT\r\nPING\r\n", b"+OK\r\n");
    let mut r = s.raw();
    expect_reply_then_close(&mut r, &resp(&["QUIT"]), b"+OK\r\n");
}

#[test]
fn many_concurrent_clients() {
    let s = Server::start();
    let threads: Vec<_> = (0..50)
        .map(|t| {
            let url = s.url();
            std::thread::spawn(move || {
                let mut c = redis::Client::open(url)
                    .unwrap()
                    .get_connection_with_timeout(Duration::from_secs(10))
                    .unwrap();
                c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                for i in 0..500 {
                    let k = format!("c{t}:{i}");
                    let _: () = redis::cmd("SET")
                        .arg(&k)
                        .arg(format!("{t}-{i}"))
                        .query(&mut c)
                        .unwrap();
                }
                for i in 0..500 {
                    let k = format!("c{t}:{i}");
                    let v: String = redis::cmd("GET").arg(&k).query(&mut c).unwrap();
                    assert_eq!(v, format!("{t}-{i}"));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("client thread failed");
    }
    let mut c = s.client();
    let n: i64 = redis::cmd("EXISTS")
        .arg("c0:0")
        .arg("c49:499")
        .arg("c25:250")
        .query(&mut c)
        .unwrap();
    assert_eq!(n, 3);
}

// ------------------------------------------------------ the binary

#[test]
fn bad_config_files_are_refused_with_file_key_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "port = 7000\nprot = 1\n",
            "unknown.toml",
            &["unknown key 'prot'"],
        ),
        (
            "port = \"abc\"\n",
            "wrongtype.toml",
            &["key 'port'", "integer"],
        ),
        (
            "port = 70000\n",
            "range.toml",
            &["key 'port'", "between 0 and 65535"],
        ),
        (
            "loglevel = \"loud\"\n",
            "enum.toml",
            &["key 'loglevel'", "debug, verbose, notice, warning, nothing"],
        ),
        (
            "maxclients = 0\n",
            "maxclients.toml",
            &["key 'maxclients'", "between 1 and"],
        ),
        ("port = \n", "syntax.toml", &["invalid TOML"]),
    ];
    for (text, name, needles) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = run_binary(
            &["server", "--config", path.to_str().unwrap()],
            dir.path(),
            Duration::from_secs(10),
        );
        let err = lossy(&out.stderr);
        assert!(!out.status.success(), "{name}: should fail; stderr: {err}");
        assert!(
            err.contains(name),
            "{name}: stderr should name the file: {err}"
        );
        for n in *needles {
            assert!(
                err.contains(n),
                "{name}: stderr should contain {n:?}: {err}"
            );
        }
    }
    // A missing file.
    let out = run_binary(
        &["server", "--config", "/nonexistent/rsredis.toml"],
        dir.path(),
        Duration::from_secs(10),
    );
    assert!(!out.status.success());
    assert!(lossy(&out.stderr).contains("/nonexistent/rsredis.toml"));
}

#[test]
fn version_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_binary(&["--version"], dir.path(), Duration::from_secs(10));
    assert!(out.status.success());
    let text = lossy(&out.stdout);
    assert!(
        text.starts_with("rsredis ") && text.contains(env!("CARGO_PKG_VERSION")),
        "{text}"
    );
}

#[test]
fn cli_port_and_bind_flags_override_config() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.toml");
    std::fs::write(&path, "port = 1\nbind = \"10.255.255.1\"\n").unwrap();
    // The flag needs a concrete port: when it is taken before the server
    // binds it (the server exits), try another one.
    let (mut child, port) = start_on_free_port("rsredis --port", |port| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rsredis"))
            .args(["server", "--config", path.to_str().unwrap()])
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--loglevel", "warning"])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        if wait_serving(&mut child, Duration::from_secs(10), || {
            serves_pid(port, pid)
        }) {
            Some((child, port))
        } else {
            let _ = child.kill();
            let _ = child.wait();
            None
        }
    });
    let mut r = Raw::connect(port);
    r.roundtrip(b"PING\r\n", b"+PONG\r\n");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn server_without_config_listens_on_6379() {
    // Only when 6379 is free: never disturb a real Redis on this machine.
    match TcpListener::bind("127.0.0.1:6379") {
        Ok(l) => drop(l),
        Err(_) => {
            eprintln!("skipping: 127.0.0.1:6379 is in use");
            return;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let (child, ready) = spawn_until_ready(&["server"], dir.path());
    let line = match ready {
        Ok(line) => line,
        // Someone grabbed the port between the probe and the bind.
        Err(e) if e.contains("6379") && e.contains("could not bind") => {
            stop(child);
            eprintln!("skipping: lost the race for 6379: {e}");
            return;
        }
        Err(e) => {
            stop(child);
            panic!("rsredis server without config: {e}");
        }
    };
    let result = std::panic::catch_unwind(|| {
        assert!(line.ends_with("127.0.0.1:6379"), "{line}");
        let mut r = Raw::connect(6379);
        r.roundtrip(b"PING\r\n", b"+PONG\r\n");
    });
    stop(child);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

/// config/node.toml is loadable, sets every key to its default, and it and the
/// README document every parameter the server knows.
#[test]
fn shipped_config_documents_every_parameter() {
    use rsredis::config::{Config, PARAMS};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("config/node.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let loaded = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let defaults = Config::default();
    for p in PARAMS {
        assert!(
            text.contains(&format!("\n{} = ", p.name)),
            "config/node.toml should document '{}'",
            p.name
        );
        assert_eq!(
            (p.get)(&loaded),
            (p.get)(&defaults),
            "config/node.toml should set '{}' to its default",
            p.name
        );
        assert!(
            readme.contains(&format!("| `{}` |", p.name)),
            "README.md's configuration table should list '{}'",
            p.name
        );
    }

    // And the binary starts with it.
    let dir = tempfile::tempdir().unwrap();
    let (child, ready) = spawn_until_ready(
        &["server", "--config", path.to_str().unwrap(), "--port", "0"],
        dir.path(),
    );
    let port: u16 = match &ready {
        Ok(line) => line.rsplit(':').next().unwrap().trim().parse().unwrap(),
        Err(e) => {
            let e = e.clone();
            stop(child);
            panic!("config/node.toml: {e}");
        }
    };
    let mut r = Raw::connect(port);
    r.roundtrip(b"PING\r\n", b"+PONG\r\n");
    stop(child);
}
