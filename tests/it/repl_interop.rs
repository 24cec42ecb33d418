//! Replication with real Redis 7.0 in both directions (§7 checks 11-14):
//! a real replica of an rsredis master, an rsredis replica of a real master,
//! mixed chains, promotion in a mixed set, and `redis-cli --rdb`.
//! Skipped only when redis-server is absent and RSREDIS_REQUIRE_INTEROP is unset.

use crate::common::*;
use std::time::Duration;

const T: Duration = Duration::from_secs(15);

fn rs_master() -> Server {
    Server::with_config("repl-diskless-sync-delay = 0\n")
}

/// A real redis-server that loads a master's payload straight from the
/// socket: with the default disk load a real replica saves it as dump.rdb in
/// its working directory (the crate root), where the next real server would
/// load it at startup (`dir` is a protected config, so it can't be moved).
fn real() -> Option<RealRedis> {
    let server = RealRedis::start()?;
    let mut c = RespConn::connect(server.port);
    assert_eq!(c.c("CONFIG SET repl-diskless-sync-delay 0"), "+OK\r\n");
    assert_eq!(c.c("CONFIG SET repl-diskless-load swapdb"), "+OK\r\n");
    Some(server)
}

fn follow(replica: u16, master: u16) {
    let reply = RespConn::connect(replica).c(&format!("REPLICAOF 127.0.0.1 {master}"));
    assert!(reply.starts_with("+OK"), "{reply}");
    assert!(
        wait_info(replica, "replication", "master_link_status", "up", T),
        "replica on {replica} never got up with {master}"
    );
}

fn stat(port: u16, f: &str) -> i64 {
    info_field(port, "stats", f).unwrap().parse().unwrap()
}

fn assert_same(a: u16, b: u16) {
    assert!(wait_caught_up(a, b, T), "offsets never matched");
    let (x, y) = (dataset(a, 3), dataset(b, 3));
    assert!(x.len() > 50, "{x:?}");
    assert!(same_dataset(&x, &y), "datasets differ:\n{x:?}\n{y:?}");
}

#[test]
fn real_replica_follows_rsredis_master() {
    let Some(r) = real() else { return };
    let m = rs_master();
    fill_all_types(m.port, "pre");
    follow(r.port, m.port);
    fill_all_types(m.port, "post");
    let mut mc = RespConn::connect(m.port);
    mc.c("INCRBYFLOAT f 2.5");
    mc.c("SET e x EX 1000");
    mc.c("EXPIRE prebiglist 5000");
    assert_same(m.port, r.port);
    assert!(wait_until(T, || {
        mc.c("INFO replication")
            .contains(&format!("port={},state=online", r.port))
    }));
    // Cut the link on the real replica: it continues by partial resync.
    let mut rc = RespConn::connect(r.port);
    assert_eq!(rc.c("CLIENT KILL TYPE master"), ":1\r\n");
    mc.c("SET during-cut yes");
    assert!(wait_until(T, || stat(m.port, "sync_partial_ok") == 1));
    assert_eq!(stat(m.port, "sync_full"), 1);
    assert_same(m.port, r.port);
    assert_eq!(mc.c("WAIT 1 2000"), ":1\r\n");
}

#[test]
fn rsredis_replica_follows_real_master() {
    let Some(m) = real() else { return };
    fill_all_types(m.port, "pre");
    let r = Server::start();
    follow(r.port, m.port);
    fill_all_types(m.port, "post");
    let mut mc = RespConn::connect(m.port);
    mc.c("SET k v EX 100");
    mc.c("GETEX prettl EX 200");
    mc.c("SPOP presset");
    mc.call(&[
        "EVAL",
        "redis.call('set','lua','1'); redis.call('incr','lua')",
        "0",
    ]);
    mc.c("PUBLISH ch msg");
    assert_same(m.port, r.port);
    // Encodings on the replica follow the loaded values.
    let mut rc = RespConn::connect(r.port);
    assert_eq!(rc.c("OBJECT ENCODING preiset"), "$6\r\nintset\r\n");
    assert_eq!(rc.c("OBJECT ENCODING prehash"), "$8\r\nlistpack\r\n");
    assert_eq!(rc.c("GET lua"), "$1\r\n2\r\n");
    // Partial resync after the link is cut.
    assert_eq!(rc.c("CLIENT KILL TYPE master"), ":1\r\n");
    mc.c("SET during-cut yes");
    assert!(wait_until(T, || stat(m.port, "sync_partial_ok") == 1));
    assert_same(m.port, r.port);
    assert_eq!(stat(m.port, "sync_full"), 1);
}

#[test]
fn mixed_chain_real_rsredis_real() {
    let Some(a) = real() else { return };
    let Some(c) = real() else { return };
    fill_all_types(a.port, "x");
    let b = Server::start();
    follow(b.port, a.port);
    follow(c.port, b.port);
    fill_all_types(a.port, "y");
    assert!(wait_caught_up(a.port, b.port, T));
    assert_same(a.port, c.port);
    // Same replication history along the chain.
    let id = info_field(a.port, "replication", "master_replid");
    assert_eq!(info_field(b.port, "replication", "master_replid"), id);
    assert_eq!(info_field(c.port, "replication", "master_replid"), id);
}

/// A (real) → B (rsredis), C (real): freeze A, promote B, C follows B by partial resync.
#[test]
fn promotion_in_a_mixed_set_continues_by_partial_resync() {
    let Some(a) = real() else { return };
    let Some(c) = real() else { return };
    fill_all_types(a.port, "p");
    let b = Server::start();
    follow(b.port, a.port);
    follow(c.port, a.port);
    RespConn::connect(a.port).c("SET before-failover 1");
    assert!(wait_caught_up(a.port, b.port, T) && wait_caught_up(a.port, c.port, T));
    let old_id = info_field(a.port, "replication", "master_replid").unwrap();
    let off: u64 = info_field(b.port, "replication", "master_repl_offset")
        .unwrap()
        .parse()
        .unwrap();
    signal(a.child.id(), "STOP");
    let mut bc = RespConn::connect(b.port);
    assert_eq!(bc.c("REPLICAOF NO ONE"), "+OK\r\n");
    assert_eq!(
        info_field(b.port, "replication", "master_replid2").unwrap(),
        old_id
    );
    assert_eq!(
        info_field(b.port, "replication", "second_repl_offset").unwrap(),
        (off + 1).to_string()
    );
    follow(c.port, b.port);
    assert!(wait_until(T, || stat(b.port, "sync_partial_ok") == 1));
    assert_eq!(stat(b.port, "sync_full"), 0);
    bc.c("SET after-failover 1");
    assert_same(b.port, c.port);
    signal(a.child.id(), "CONT");
}

/// rsredis master (A) → real B, rsredis C; promote the real B; C continues.
#[test]
fn promotion_of_a_real_replica_of_rsredis() {
    let Some(b) = real() else { return };
    let a = rs_master();
    fill_all_types(a.port, "q");
    let c = Server::start();
    follow(b.port, a.port);
    follow(c.port, a.port);
    RespConn::connect(a.port).c("SET before 1");
    assert!(wait_caught_up(a.port, b.port, T) && wait_caught_up(a.port, c.port, T));
    signal(a.pid(), "STOP");
    assert_eq!(RespConn::connect(b.port).c("REPLICAOF NO ONE"), "+OK\r\n");
    follow(c.port, b.port);
    assert!(wait_until(T, || stat(b.port, "sync_partial_ok") == 1));
    assert_eq!(stat(b.port, "sync_full"), 0);
    RespConn::connect(b.port).c("SET after 1");
    assert_same(b.port, c.port);
    signal(a.pid(), "CONT");
}

#[test]
fn redis_cli_rdb_and_check_rdb() {
    let (Some(_), Some(check)) = (peer("redis-cli"), peer("redis-check-rdb")) else {
        return;
    };
    let m = rs_master();
    fill_all_types(m.port, "d");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.rdb");
    let out = redis_cli(m.port, &["--rdb", path.to_str().unwrap()]).unwrap_or_default();
    assert!(path.exists(), "redis-cli --rdb wrote nothing: {out}");
    let o = std::process::Command::new(check)
        .arg(&path)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert!(text.contains("RDB looks OK!"), "{text}");
    assert!(text.contains("Checksum OK"), "{text}");
    // The master keeps serving, and the rdb-only client is gone.
    let mut c = RespConn::connect(m.port);
    assert_eq!(c.c("PING"), "+PONG\r\n");
    assert!(wait_info(m.port, "replication", "connected_slaves", "0", T));
}

/// masterauth/masteruser and replica-announce-ip/port reach a real master
/// the way a real replica sends them (§1.1).
#[test]
fn auth_and_announced_address_seen_by_a_real_master() {
    let Some(m) = real() else { return };
    let mut mc = RespConn::connect(m.port);
    mc.c("CONFIG SET requirepass s3cret");
    mc.c("AUTH s3cret");
    mc.c("SET k v");
    let r = Server::with_config(
        "masteruser = \"default\"\nmasterauth = \"s3cret\"\nreplica-announce-ip = \"10.1.2.3\"\nreplica-announce-port = 7000\n",
    );
    let reply = RespConn::connect(r.port).c(&format!("REPLICAOF 127.0.0.1 {}", m.port));
    assert_eq!(reply, "+OK\r\n");
    assert!(wait_info(
        r.port,
        "replication",
        "master_link_status",
        "up",
        T
    ));
    assert!(wait_until(T, || mc
        .c("INFO replication")
        .contains("slave0:ip=10.1.2.3,port=7000,state=online")));
    assert_eq!(RespConn::connect(r.port).c("GET k"), "$1\r\nv\r\n");
}

/// The `$<len>` payload form (repl-diskless-sync no), loaded by a real replica.
#[test]
fn real_replica_loads_the_length_form() {
    let Some(r) = real() else { return };
    let m = Server::with_config("repl-diskless-sync = false\n");
    fill_all_types(m.port, "len");
    follow(r.port, m.port);
    RespConn::connect(m.port).c("SET after 1");
    assert_same(m.port, r.port);
}
