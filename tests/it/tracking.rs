//! Client-side caching (CLIENT TRACKING): the same scenarios run against
//! rsredis and a real redis-server 7.0; every reply and every invalidation
//! each connection receives must be byte-identical (client ids, which
//! differ between servers, are replaced by names).

use crate::common::*;
use std::time::Duration;

/// One server's connections and what they saw.
struct Scene {
    port: u16,
    log: Vec<String>,
    ids: Vec<(String, String)>,
}

impl Scene {
    fn new(port: u16) -> Scene {
        Scene {
            port,
            log: Vec::new(),
            ids: Vec::new(),
        }
    }

    fn conn(&mut self, name: &str, resp3: bool) -> RespConn {
        let mut c = RespConn::connect(self.port);
        if resp3 {
            c.call(&["HELLO", "3"]);
        }
        let id = String::from_utf8(c.call(&["CLIENT", "ID"])).unwrap();
        let id = id.trim_start_matches([':']).trim().to_string();
        self.ids.push((id, format!("<{}>", name)));
        c
    }

    /// Client ids only where replies carry one (ids would otherwise clash
    /// with small integer replies).
    fn norm(&self, s: &str) -> String {
        let mut s = s.to_string();
        if !s.contains("redirect") && !s.contains("tracking-redir-broken") && !s.starts_with(':') {
            return s;
        }
        for (id, name) in &self.ids {
            s = s.replace(&format!(":{}\r\n", id), &format!(":{}\r\n", name));
        }
        s
    }

    /// Run a command on `c` (words split on spaces; `{X}` is X's client id)
    /// and log its reply.
    fn run(&mut self, who: &str, c: &mut RespConn, template: &str) {
        let mut line = template.to_string();
        for (id, name) in self.ids.clone() {
            line = line.replace(&format!("{{{}}}", &name[1..name.len() - 1]), &id);
        }
        let words: Vec<&[u8]> = line.split(' ').map(|w| w.as_bytes()).collect();
        c.send(&words);
        // Pushes queued before this command arrive before its reply.
        let r = loop {
            let r = String::from_utf8_lossy(&c.read_reply()).into_owned();
            if !r.starts_with('>') {
                break r;
            }
            let entry = format!("{} got {}", who, self.norm(&r));
            self.log.push(entry);
        };
        let r = if line.contains("GETREDIR") || line.contains("TRACKINGINFO") {
            self.norm(&r)
        } else {
            r
        };
        let entry = format!("{} {} -> {}", who, template, r);
        self.log.push(entry);
    }

    /// Everything `c` was sent before the reply to a PING (pushes and
    /// pub/sub messages), then that reply.
    fn drain(&mut self, who: &str, c: &mut RespConn) {
        c.send(&[b"PING"]);
        loop {
            let r = String::from_utf8_lossy(&c.read_reply()).into_owned();
            let pong = r == "+PONG\r\n" || r.starts_with("*2\r\n$4\r\npong\r\n");
            let entry = format!("{} got {}", who, self.norm(&r));
            self.log.push(entry);
            if pong {
                break;
            }
        }
    }
}

fn both(scenario: impl Fn(&mut Scene)) {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let ours = Server::start();
    let mut a = Scene::new(ours.port);
    let mut b = Scene::new(real.port);
    scenario(&mut a);
    scenario(&mut b);
    for (i, (x, y)) in a.log.iter().zip(&b.log).enumerate() {
        if x != y {
            eprintln!("rsredis:\n{:#?}\nredis:\n{:#?}", a.log, b.log);
        }
        assert_eq!(x, y, "step {} differs (rsredis left, redis right)", i);
    }
    assert_eq!(a.log.len(), b.log.len());
}

#[test]
fn option_errors_and_info_match_real_redis() {
    both(|s| {
        let mut c = s.conn("c", false);
        let mut o = s.conn("o", false);
        for line in [
            "CLIENT TRACKINGINFO",
            "CLIENT GETREDIR",
            "CLIENT CACHING yes",
            "CLIENT TRACKING maybe",
            "CLIENT TRACKING on PREFIX a",
            "CLIENT TRACKING on BCAST OPTIN",
            "CLIENT TRACKING on OPTIN OPTOUT",
            "CLIENT TRACKING on REDIRECT 999999",
            "CLIENT TRACKING on REDIRECT abc",
            "CLIENT TRACKING on REDIRECT {o} REDIRECT {o}",
            "CLIENT TRACKING on NOPE",
            "CLIENT TRACKING on BCAST PREFIX ab PREFIX a",
            "CLIENT TRACKING on OPTIN REDIRECT {o} NOLOOP",
            "CLIENT TRACKINGINFO",
            "CLIENT GETREDIR",
            "CLIENT CACHING no",
            "CLIENT CACHING maybe",
            "CLIENT CACHING yes",
            "CLIENT TRACKINGINFO",
            "CLIENT TRACKING on OPTOUT",
            "CLIENT TRACKING on BCAST",
            "CLIENT TRACKING off",
            "CLIENT TRACKINGINFO",
            "CLIENT TRACKING on BCAST PREFIX user: PREFIX job:",
            "CLIENT TRACKING on BCAST PREFIX us",
            "CLIENT TRACKING on BCAST PREFIX x",
            "CLIENT TRACKINGINFO",
            "CLIENT TRACKING on",
            "CLIENT TRACKING off",
            "CLIENT TRACKING on OPTOUT",
            "CLIENT CACHING no",
            "CLIENT TRACKINGINFO",
            "CLIENT TRACKING off",
        ] {
            s.run("c", &mut c, line);
        }
        s.run("o", &mut o, "PING");
    });
}

#[test]
fn resp3_default_mode_invalidates_once_per_read() {
    both(|s| {
        let mut a = s.conn("a", true);
        let mut b = s.conn("b", false);
        s.run("b", &mut b, "MSET k1 1 k2 2 k3 3");
        s.run("a", &mut a, "CLIENT TRACKING on");
        s.run("a", &mut a, "GET k1");
        s.run("a", &mut a, "MGET k2 k3 nokey");
        s.run("b", &mut b, "SET k1 x");
        s.run("b", &mut b, "SET k1 y");
        s.drain("a", &mut a);
        // Written twice after one read: one invalidation.
        s.run("b", &mut b, "DEL k2 k3 nokey");
        s.drain("a", &mut a);
        // The client's own write is told too (no NOLOOP), after its reply.
        s.run("a", &mut a, "GET k1");
        s.run("a", &mut a, "SET k1 z");
        s.drain("a", &mut a);
        // Inside MULTI and a script.
        s.run("a", &mut a, "MULTI");
        s.run("a", &mut a, "GET k1");
        s.run("a", &mut a, "EXEC");
        s.run("a", &mut a, "EVAL return(redis.call('get','k1')) 0");
        // A RESP2 script's false (a missing key) is the RESP3 client's null.
        s.run("a", &mut a, "EVAL return(redis.call('get','nokey')) 0");
        s.run("b", &mut b, "MSET k1 1 k2 9");
        s.drain("a", &mut a);
        // A flush tells every tracking client "everything" (null).
        s.run("a", &mut a, "GET k1");
        s.run("b", &mut b, "FLUSHALL");
        s.drain("a", &mut a);
    });
}

#[test]
fn noloop_bcast_and_optin_match_real_redis() {
    both(|s| {
        let mut a = s.conn("a", true);
        let mut n = s.conn("n", true);
        let mut i = s.conn("i", true);
        let mut b = s.conn("b", false);
        s.run(
            "a",
            &mut a,
            "CLIENT TRACKING on BCAST PREFIX user: PREFIX job:",
        );
        s.run("n", &mut n, "CLIENT TRACKING on BCAST NOLOOP");
        s.run("i", &mut i, "CLIENT TRACKING on OPTIN");
        s.run("i", &mut i, "GET user:1");
        s.run("i", &mut i, "CLIENT CACHING yes");
        s.run("i", &mut i, "GET user:2");
        s.run("i", &mut i, "GET user:3");
        s.run("b", &mut b, "MSET user:3 c user:2 b user:1 a other x");
        s.run("n", &mut n, "SET job:9 mine");
        s.run("b", &mut b, "SET job:1 theirs");
        s.drain("a", &mut a);
        s.drain("n", &mut n);
        s.drain("i", &mut i);
    });
}

#[test]
fn resp2_redirect_and_broken_redirect_match_real_redis() {
    both(|s| {
        let mut r = s.conn("r", false);
        let mut a = s.conn("a", false);
        let mut a3 = s.conn("a3", true);
        let mut b = s.conn("b", false);
        s.run("r", &mut r, "SUBSCRIBE __redis__:invalidate");
        s.run("a", &mut a, "CLIENT TRACKING on REDIRECT {r}");
        s.run("a3", &mut a3, "CLIENT TRACKING on REDIRECT {r}");
        s.run("a", &mut a, "GET x");
        s.run("a3", &mut a3, "GET y");
        s.run("b", &mut b, "MSET x 1 y 2");
        s.drain("r", &mut r);
        s.run("a", &mut a, "GET x");
        s.run("a3", &mut a3, "GET y");
        s.run("b", &mut b, "FLUSHALL");
        s.drain("r", &mut r);
        // The redirect target goes away: RESP3 trackers are told.
        s.run("a", &mut a, "GET x");
        s.run("a3", &mut a3, "GET y");
        drop(r);
        let port = s.port;
        assert!(wait_until(Duration::from_secs(5), || {
            let list = redis_cli(port, &["CLIENT", "LIST"]).unwrap_or_default();
            list.lines().count() == 4
        }));
        s.run("b", &mut b, "MSET x 2 y 3");
        s.drain("a3", &mut a3);
        s.run("a3", &mut a3, "CLIENT TRACKINGINFO");
        s.run("a", &mut a, "CLIENT TRACKINGINFO");
    });
}

#[test]
fn expired_keys_and_table_limit_invalidate() {
    let srv = Server::start();
    let mut a = RespConn::connect(srv.port);
    a.call(&["HELLO", "3"]);
    assert_eq!(a.c("CLIENT TRACKING on"), "+OK\r\n");
    let mut b = RespConn::connect(srv.port);
    b.c("SET gone 1 PX 30");
    a.c("GET gone");
    // Active expiry (no client touches the key) must still tell the reader.
    let push = String::from_utf8(a.read_reply()).unwrap();
    assert_eq!(push, ">2\r\n$10\r\ninvalidate\r\n*1\r\n$4\r\ngone\r\n");

    b.c("CONFIG SET tracking-table-max-keys 2");
    a.c("MGET t1 t2 t3 t4 t5");
    let mut got = 0;
    while got < 3 {
        let p = String::from_utf8(a.read_reply()).unwrap();
        assert!(p.starts_with(">2\r\n$10\r\ninvalidate\r\n*1\r\n"), "{p}");
        got += 1;
    }
    assert_eq!(
        info_field(srv.port, "stats", "tracking_total_keys").as_deref(),
        Some("2")
    );
    assert_eq!(
        info_field(srv.port, "clients", "tracking_clients").as_deref(),
        Some("1")
    );
    let list = redis_cli(srv.port, &["CLIENT", "LIST"]).unwrap();
    assert!(list.lines().any(|l| l.contains(" flags=t ")), "{list}");
    drop(a);
    assert!(wait_until(Duration::from_secs(5), || {
        info_field(srv.port, "clients", "tracking_clients").as_deref() == Some("0")
    }));
}

/// A replica's full sync replaces its dataset: its tracking clients are told
/// "everything" (a null), and keys the master changes afterwards, applied
/// from the stream, still invalidate.
#[test]
fn full_sync_on_a_replica_invalidates_everything() {
    let master = Server::start();
    let replica = Server::start();
    let mut m = RespConn::connect(master.port);
    m.c("SET k 1");
    let mut a = RespConn::connect(replica.port);
    a.call(&["HELLO", "3"]);
    a.c("CLIENT TRACKING on");
    a.c("GET k");
    let mut r = RespConn::connect(replica.port);
    r.call(&["REPLICAOF", "127.0.0.1", &master.port.to_string()]);
    assert!(wait_caught_up(
        master.port,
        replica.port,
        Duration::from_secs(20)
    ));
    let push = String::from_utf8(a.read_reply()).unwrap();
    assert_eq!(push, ">2\r\n$10\r\ninvalidate\r\n_\r\n");
    a.c("GET k");
    m.c("SET k 2");
    let push = String::from_utf8(a.read_reply()).unwrap();
    assert_eq!(push, ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n");
}
