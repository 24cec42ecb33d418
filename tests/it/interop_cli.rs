//! Stock redis-cli against rsredis. Skipped when redis-cli is not installed,
//! unless RSREDIS_REQUIRE_INTEROP=1 (CI), where a missing tool fails the test.

use crate::common::*;

use std::io::Write;
use std::process::{Command, Stdio};

/// Run redis-cli with `stdin` fed to it; returns (stdout without the final newline, success).
fn cli_stdin(port: u16, args: &[&str], stdin: &[u8]) -> Option<(String, bool)> {
    let cli = peer("redis-cli")?;
    let mut child = Command::new(cli)
        .arg("-p")
        .arg(port.to_string())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run redis-cli");
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("redis-cli output");
    writer.join().unwrap();
    Some((
        String::from_utf8_lossy(&out.stdout)
            .trim_end_matches('\n')
            .to_string(),
        out.status.success(),
    ))
}

/// Mask the client id in HELLO output (it differs per connection): `id 7`,
/// `4# "id" => (integer) 7`, or the line after an `id` / `7) "id"` line.
fn mask_hello_id(s: &str) -> String {
    let mut out = Vec::new();
    let mut prev_was_id = false;
    for l in s.lines() {
        let masked = if l.starts_with("id ") {
            "id <n>".to_string()
        } else if let Some((head, _)) = l
            .split_once("(integer) ")
            .filter(|_| l.contains("\"id\" =>") || prev_was_id)
        {
            format!("{head}(integer) <n>")
        } else if prev_was_id && l.trim().chars().all(|c| c.is_ascii_digit()) {
            "<n>".to_string()
        } else {
            l.to_string()
        };
        prev_was_id = l == "id" || l.trim_end().ends_with(") \"id\"");
        out.push(masked);
    }
    out.join("\n")
}

#[test]
fn ping_set_get() {
    let s = Server::start();
    let Some(out) = redis_cli(s.port, &["PING"]) else {
        return;
    };
    assert_eq!(out, "PONG");
    assert_eq!(redis_cli(s.port, &["SET", "a", "b"]).unwrap(), "OK");
    assert_eq!(redis_cli(s.port, &["GET", "a"]).unwrap(), "b");
    // Not a tty: redis-cli prints raw replies, a nil is an empty line.
    assert_eq!(redis_cli(s.port, &["GET", "nope"]).unwrap(), "");
    assert_eq!(
        redis_cli(s.port, &["--no-raw", "GET", "nope"]).unwrap(),
        "(nil)"
    );
    assert_eq!(
        redis_cli(s.port, &["--no-raw", "GET", "a"]).unwrap(),
        "\"b\""
    );
    assert_eq!(
        redis_cli(s.port, &["--no-raw", "EXISTS", "a", "nope"]).unwrap(),
        "(integer) 1"
    );
    assert_eq!(
        redis_cli(s.port, &["--no-raw", "DEL", "a"]).unwrap(),
        "(integer) 1"
    );
}

#[test]
fn raw_mode() {
    let s = Server::start();
    let Some(out) = redis_cli(s.port, &["--raw", "ECHO", "a b"]) else {
        return;
    };
    assert_eq!(out, "a b");
    assert_eq!(
        redis_cli(s.port, &["--raw", "SET", "multi", "line1\nline2"]).unwrap(),
        "OK"
    );
    assert_eq!(
        redis_cli(s.port, &["--raw", "GET", "multi"]).unwrap(),
        "line1\nline2"
    );
    assert_eq!(
        redis_cli(s.port, &["--no-raw", "GET", "multi"]).unwrap(),
        "\"line1\\nline2\""
    );
}

#[test]
fn pipe_mode_1000_sets() {
    let s = Server::start();
    let mut input = Vec::new();
    for i in 0..1000 {
        input.extend_from_slice(&resp(&["SET", &format!("key:{i}"), &format!("val:{i}")]));
    }
    let Some((out, ok)) = cli_stdin(s.port, &["--pipe"], &input) else {
        return;
    };
    assert!(ok, "redis-cli --pipe failed: {out}");
    assert!(out.contains("errors: 0, replies: 1000"), "{out}");
    let mut c = s.client();
    let v: String = redis::cmd("GET").arg("key:999").query(&mut c).unwrap();
    assert_eq!(v, "val:999");
    let n: i64 = redis::cmd("EXISTS")
        .arg("key:0")
        .arg("key:500")
        .query(&mut c)
        .unwrap();
    assert_eq!(n, 2);
}

#[test]
fn resp3_mode_hello_shape() {
    let s = Server::start();
    let Some(out) = redis_cli(s.port, &["-3", "--no-raw", "HELLO", "3"]) else {
        return;
    };
    assert_eq!(
        mask_hello_id(&out),
        [
            "1# \"server\" => \"redis\"",
            "2# \"version\" => \"7.0.15\"",
            "3# \"proto\" => (integer) 3",
            "4# \"id\" => (integer) <n>",
            "5# \"mode\" => \"standalone\"",
            "6# \"role\" => \"master\"",
            "7# \"modules\" => (empty array)",
        ]
        .join("\n")
    );
    assert_eq!(
        redis_cli(s.port, &["-3", "--no-raw", "GET", "nope"]).unwrap(),
        "(nil)"
    );
    assert_eq!(
        redis_cli(s.port, &["--no-raw", "HELLO", "4"]).unwrap(),
        "(error) NOPROTO unsupported protocol version"
    );
}

#[test]
fn commands_from_stdin() {
    let s = Server::start();
    let Some((out, ok)) = cli_stdin(s.port, &[], b"SET a b\n") else {
        return;
    };
    assert!(ok);
    assert_eq!(out, "OK");
    let (out, _) = cli_stdin(s.port, &[], b"SET x \"a b\"\nGET x\nGET a\n").unwrap();
    assert_eq!(out, "OK\na b\nb");
    let (out, _) = cli_stdin(s.port, &["--no-raw"], b"MULTI\nSET t 1\nGET t\nEXEC\n").unwrap();
    assert_eq!(out, "OK\nQUEUED\nQUEUED\n1) OK\n2) \"1\"");
}

#[test]
fn error_replies_as_shown_by_cli() {
    let s = Server::start();
    let Some(out) = redis_cli(s.port, &["--no-raw", "LPUSH", "l", "x"]) else {
        return;
    };
    assert_eq!(out, "(integer) 1");
    assert_eq!(
        redis_cli(s.port, &["--no-raw", "GET", "l"]).unwrap(),
        "(error) WRONGTYPE Operation against a key holding the wrong kind of value"
    );
    assert_eq!(
        redis_cli(s.port, &["--no-raw", "FOO", "bar"]).unwrap(),
        "(error) ERR unknown command 'FOO', with args beginning with: 'bar' "
    );
    assert_eq!(
        redis_cli(s.port, &["--no-raw", "SELECT", "99"]).unwrap(),
        "(error) ERR DB index is out of range"
    );
}

#[test]
fn auth_with_dash_a() {
    let s = Server::with_config("requirepass = \"s3cret\"\n");
    let Some(out) = redis_cli(s.port, &["--no-raw", "PING"]) else {
        return;
    };
    assert_eq!(out, "(error) NOAUTH Authentication required.");
    assert_eq!(
        redis_cli(s.port, &["-a", "s3cret", "--no-auth-warning", "PING"]).unwrap(),
        "PONG"
    );
    // -3 with -a makes redis-cli send HELLO 3 AUTH default <pass>.
    assert_eq!(
        redis_cli(
            s.port,
            &[
                "-3",
                "-a",
                "s3cret",
                "--no-auth-warning",
                "--no-raw",
                "GET",
                "x"
            ]
        )
        .unwrap(),
        "(nil)"
    );
}

/// The same redis-cli sessions against rsredis and a real redis-server give the same output.
#[test]
fn same_output_as_real_redis() {
    let s = Server::start();
    if peer("redis-cli").is_none() {
        return;
    }
    let Some(real) = RealRedis::start() else {
        return;
    };
    let sessions: &[(&[&str], &[u8])] = &[
        (
            &["--no-raw"],
            b"PING\nPING hi\nECHO \"a\\tb\"\nSET k v\nGET k\nGET nope\n",
        ),
        (
            &["--no-raw"],
            b"DEL k k nope\nEXISTS k\nLPUSH l a b c\nGET l\nSET l x\nGET l\n",
        ),
        (
            &["--no-raw"],
            b"SELECT 99\nSELECT 1\nSET k1 v\nSWAPDB 0 1\nSELECT 0\nGET k1\n",
        ),
        (
            &["--no-raw"],
            b"MULTI\nSET a 1\nFOO\nEXEC\nEXEC\nMULTI\nGET a\nDISCARD\n",
        ),
        (&["--no-raw"], b"GET\nSET k\nHELLO 4\nHELLO x\nAUTH x\n"),
        (&["--no-raw", "-3"], b"HELLO 3\nGET nope\nHELLO 2\n"),
        (&["--raw"], b"HELLO 3\nSET q \"two\\nlines\"\nGET q\n"),
    ];
    for (args, input) in sessions {
        let (ours, _) = cli_stdin(s.port, args, input).unwrap();
        let (theirs, _) = cli_stdin(real.port, args, input).unwrap();
        assert_eq!(
            mask_hello_id(&ours),
            mask_hello_id(&theirs),
            "session {:?} {:?}",
            args,
            String::from_utf8_lossy(input)
        );
    }
}
