//! Replication commands: REPLCONF, PSYNC, SYNC (a connection becoming a
//! replica), REPLICAOF/SLAVEOF (following a master), WAIT.

use super::{flags::*, Command, Ctx, Post, NOKEYS};
use crate::error::{CmdResult, Error};
use crate::repl::failover::{self as fo, State as FoState};
use crate::repl::master::{attach_stream, ReplicaConn, Start};
use crate::repl::{replica, ReplicaInfo, ONLINE, WAIT_BGSAVE};
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

pub static COMMANDS: &[Command] = &[
    Command {
        name: "replconf",
        arity: -1,
        flags: ADMIN | NOSCRIPT | LOADING | STALE | ALLOW_BUSY,
        keys: NOKEYS,
        group: "server",
        since: "3.0.0",
        summary: "An internal command for configuring the replication stream.",
        handler: replconf,
        ..Command::DEFAULT
    },
    Command {
        name: "psync",
        arity: -3,
        flags: ADMIN | NOSCRIPT | NO_MULTI,
        keys: NOKEYS,
        group: "server",
        since: "2.8.0",
        args: "replicationid offset",
        summary: "An internal command used in replication.",
        handler: psync,
        ..Command::DEFAULT
    },
    Command {
        name: "sync",
        arity: 1,
        flags: ADMIN | NOSCRIPT | NO_MULTI,
        keys: NOKEYS,
        group: "server",
        since: "1.0.0",
        summary: "An internal command used in replication.",
        handler: sync,
        ..Command::DEFAULT
    },
    Command {
        name: "replicaof",
        arity: 3,
        flags: ADMIN | NOSCRIPT | STALE,
        keys: NOKEYS,
        group: "server",
        since: "5.0.0",
        args: "host port",
        summary: "Configures a server as replica of another, or promotes it to a master.",
        handler: replicaof,
        ..Command::DEFAULT
    },
    Command {
        name: "slaveof",
        arity: 3,
        flags: ADMIN | NOSCRIPT | STALE,
        keys: NOKEYS,
        group: "server",
        since: "1.0.0",
        args: "host port",
        summary: "Sets a Redis server as a replica of another, or promotes it to being a master.",
        handler: replicaof,
        ..Command::DEFAULT
    },
    Command {
        name: "failover",
        arity: -1,
        flags: ADMIN | NOSCRIPT | STALE,
        keys: NOKEYS,
        group: "server",
        since: "6.2.0",
        args: "[TO host port [FORCE]] [ABORT] [TIMEOUT milliseconds]",
        summary: "Starts a coordinated failover from a server to one of its replicas.",
        handler: failover,
        ..Command::DEFAULT
    },
    Command {
        name: "wait",
        acl: &["connection"],
        arity: 3,
        flags: NOSCRIPT,
        keys: NOKEYS,
        group: "generic",
        since: "3.0.0",
        args: "numreplicas timeout",
        summary: "Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed.",
        handler: wait,
        ..Command::DEFAULT
    },
];

pub const GETACK: &[u8] = b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n";

fn replconf(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() % 2 == 0 {
        return Err(Error::Syntax);
    }
    let mut i = 1;
    while i < args.len() {
        let (opt, val) = (&args[i], &args[i + 1]);
        if eq_ic(opt, "ack") || eq_ic(opt, "getack") {
            // Replica links read their ACKs themselves; the master stream's
            // GETACK is answered by the link. Never a reply here.
            return Ok(());
        }
        let rc = ctx.client.replica.get_or_insert_with(Default::default);
        if eq_ic(opt, "listening-port") {
            match parse_i64(val) {
                Some(p) if (0..=65535).contains(&p) => rc.listening_port = p as u16,
                _ => return Err(Error::NotInteger),
            }
        } else if eq_ic(opt, "ip-address") {
            if val.len() > 46 {
                return Err(Error::err("REPLCONF ip-address provided by replica instance is too long: 46 bytes are allowed."));
            }
            rc.ip = Some(String::from_utf8_lossy(val).into_owned());
        } else if eq_ic(opt, "capa") {
            // Unknown capabilities are ignored (newer replicas announce more).
            if eq_ic(val, "eof") {
                rc.capa_eof = true;
            } else if eq_ic(val, "psync2") {
                rc.capa_psync2 = true;
            }
        } else if eq_ic(opt, "rdb-only") {
            match parse_i64(val) {
                Some(v @ (0 | 1)) => rc.rdb_only = v == 1,
                _ => return Err(Error::err("value is not an integer or out of range")),
            }
        } else if eq_ic(opt, "rdb-filter-only") {
            // Only an empty filter (no functions, no keys) is what redis-cli sends.
            rc.rdb_filter_empty = val.is_empty();
        } else {
            return Err(Error::err(format!(
                "Unrecognized REPLCONF option: {}",
                String::from_utf8_lossy(opt)
            )));
        }
        i += 2;
    }
    ctx.out.ok();
    Ok(())
}

/// Refuse a sync we can't serve (a replica whose own link is down).
fn sync_allowed(ctx: &Ctx) -> CmdResult {
    if fo::state(ctx.srv) != FoState::None {
        return Err(Error::msg("NOMASTERLINK Can't SYNC while failing over"));
    }
    if ctx.srv.repl.is_replica() && !ctx.srv.repl.link_up.load(Ordering::Relaxed) {
        return Err(Error::msg(
            "NOMASTERLINK Can't SYNC while not connected with my master",
        ));
    }
    Ok(())
}

fn new_info(ctx: &mut Ctx, state: u8) -> Arc<ReplicaInfo> {
    let rc = ctx.client.replica.get_or_insert_with(Default::default);
    let ip = rc
        .ip
        .clone()
        .unwrap_or_else(|| ctx.client.handle.addr.ip().to_string());
    let info = Arc::new(ReplicaInfo {
        id: ctx.client.id,
        handle: ctx.client.handle.clone(),
        ip,
        port: rc.listening_port,
        state: AtomicU8::new(state),
        ack_offset: AtomicU64::new(0),
        last_ack_ms: AtomicU64::new(crate::util::mono_ms()),
    });
    ctx.srv.repl.replicas.lock().push(info.clone());
    ctx.srv.repl.no_replicas_since.store(-1, Ordering::Relaxed);
    info
}

fn psync(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 && eq_ic(&args[3], "failover") {
        psync_failover(ctx, &args[1])?;
    }
    sync_allowed(ctx)?;
    let rc = ctx.client.replica.get_or_insert_with(Default::default);
    let name = rc.name(ctx.client.handle.addr);
    let psync2 = rc.capa_psync2;
    tracing::info!("Replica {} asks for synchronization", name);
    let req_id = String::from_utf8_lossy(&args[1]).into_owned();
    let req_off = parse_i64(&args[2]);
    let size = ctx.srv.config.read().repl_backlog_size as usize;

    // §1.3: our history (replid, or replid2 up to second_repl_offset) and the backlog range.
    let partial = {
        let ids = ctx.srv.repl.ids.lock();
        let feed = ctx.srv.repl.feed.lock();
        match (req_off, &feed.backlog) {
            (Some(off), Some(b)) if off >= 0 => {
                let off = off as u64;
                let id_ok = req_id == ids.replid
                    || (req_id == ids.replid2 && off as i64 <= ids.second_offset);
                if !id_ok {
                    if req_id != "?" {
                        if req_id == ids.replid2 {
                            tracing::info!("Partial resynchronization not accepted: Requested offset for second ID was {}, but I can reply up to {}", off, ids.second_offset);
                        } else {
                            tracing::info!("Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{}', my replication IDs are '{}' and '{}')", req_id, ids.replid, ids.replid2);
                        }
                    }
                    None
                } else if !b.covers(off) {
                    tracing::info!("Unable to partial resync with replica {} for lack of backlog (Replica request was: {}).", name, off);
                    None
                } else {
                    Some((off, b.read_from(off), ids.replid.clone()))
                }
            }
            _ => None,
        }
    };
    if let Some((off, bytes, replid)) = partial {
        if psync2 {
            ctx.out.raw(format!("+CONTINUE {}\r\n", replid).as_bytes());
        } else {
            ctx.out.raw(b"+CONTINUE\r\n");
        }
        ctx.out.raw(&bytes);
        let info = new_info(ctx, ONLINE);
        let (rx, pending) = attach_stream(ctx.srv, &info);
        ctx.srv.repl.sync_partial_ok.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            "Partial resynchronization request from {} accepted. Sending {} bytes of backlog starting from offset {}.",
            name,
            bytes.len(),
            off
        );
        let rc = ctx.client.replica.as_mut().expect("set above");
        rc.start = Some(Start::Partial { info, rx, pending });
        become_replica(ctx);
        return Ok(());
    }
    if req_id != "?" {
        ctx.srv
            .repl
            .sync_partial_err
            .fetch_add(1, Ordering::Relaxed);
    }
    tracing::info!("Full resync requested by replica {}", name);
    full(ctx, size, true);
    Ok(())
}

/// `PSYNC <replid> <offset> FAILOVER` from a master handing over to us:
/// promote ourselves (the old ID stays valid up to our offset), then the
/// ordinary PSYNC decision lets the old master continue by partial resync.
fn psync_failover(ctx: &mut Ctx, replid: &[u8]) -> CmdResult {
    tracing::warn!(
        "Failover request received for replid {}.",
        String::from_utf8_lossy(replid)
    );
    if !ctx.srv.repl.is_replica() {
        return Err(Error::err("PSYNC FAILOVER can't be sent to a master."));
    }
    if replid != ctx.srv.repl.ids.lock().replid.as_bytes() {
        return Err(Error::err("PSYNC FAILOVER replid must match my replid."));
    }
    replica::unset_master(ctx.srv, ctx.store);
    tracing::info!(
        "MASTER MODE enabled (failover request from 'id={} addr={} laddr={}')",
        ctx.client.id,
        ctx.client.handle.addr,
        ctx.client.handle.laddr
    );
    Ok(())
}

fn sync(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    sync_allowed(ctx)?;
    let size = ctx.srv.config.read().repl_backlog_size as usize;
    let rc = ctx.client.replica.get_or_insert_with(Default::default);
    let name = rc.name(ctx.client.handle.addr);
    tracing::info!("Replica {} asks for synchronization", name);
    full(ctx, size, false);
    Ok(())
}

fn full(ctx: &mut Ctx, size: usize, psync: bool) {
    ctx.srv.repl.sync_full.fetch_add(1, Ordering::Relaxed);
    let rdb_only = ctx.client.replica.as_ref().is_some_and(|r| r.rdb_only);
    if !rdb_only {
        // A master's first replica creates the backlog (and a fresh replid).
        let master = !ctx.srv.repl.is_replica();
        ctx.srv.repl.ensure_backlog(ctx.store, size, master);
    }
    let info = new_info(ctx, WAIT_BGSAVE);
    let rc: &mut ReplicaConn = ctx.client.replica.as_mut().expect("set above");
    rc.start = Some(Start::Full { info, psync });
    become_replica(ctx);
}

fn become_replica(ctx: &mut Ctx) {
    ctx.client.replica_link = true;
    ctx.post.push(Post::Replica);
}

fn replicaof(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if fo::state(ctx.srv) != FoState::None {
        return Err(Error::err("REPLICAOF not allowed while failing over."));
    }
    if eq_ic(&args[1], "no") && eq_ic(&args[2], "one") {
        if replica::unset_master(ctx.srv, ctx.store) {
            tracing::info!(
                "MASTER MODE enabled (user request from 'id={} addr={} laddr={}')",
                ctx.client.id,
                ctx.client.handle.addr,
                ctx.client.handle.laddr
            );
        }
        ctx.out.ok();
        return Ok(());
    }
    let port = match parse_i64(&args[2]) {
        Some(p) if (0..=65535).contains(&p) => p as u16,
        _ => return Err(Error::err("Invalid master port")),
    };
    let host = String::from_utf8_lossy(&args[1]).into_owned();
    if ctx.srv.repl.is_replica() {
        let same = ctx
            .srv
            .repl
            .master
            .lock()
            .as_ref()
            .is_some_and(|m| m.host.eq_ignore_ascii_case(&host) && m.port == port);
        if same {
            tracing::info!("REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.");
            ctx.out.simple("OK Already connected to specified master");
            return Ok(());
        }
    }
    replica::set_master(ctx.srv, ctx.store, &host, port, true);
    tracing::info!(
        "REPLICAOF {}:{} enabled (user request from 'id={} addr={}')",
        host,
        port,
        ctx.client.id,
        ctx.client.handle.addr
    );
    ctx.out.ok();
    Ok(())
}

/// FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms] (Redis 7.0's
/// argument rules, checks and error texts, in its order).
fn failover(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() == 2 && eq_ic(&args[1], "abort") {
        if fo::state(ctx.srv) == FoState::None {
            return Err(Error::err("No failover in progress."));
        }
        fo::abort(ctx.srv, ctx.store, "Failover manually aborted");
        ctx.out.ok();
        return Ok(());
    }
    let mut timeout: i64 = 0;
    let mut force = false;
    let mut target: Option<(String, i64)> = None;
    let mut j = 1;
    while j < args.len() {
        if eq_ic(&args[j], "timeout") && j + 1 < args.len() && timeout == 0 {
            timeout = parse_i64(&args[j + 1]).ok_or(Error::NotInteger)?;
            if timeout <= 0 {
                return Err(Error::err("FAILOVER timeout must be greater than 0"));
            }
            j += 2;
        } else if eq_ic(&args[j], "to") && j + 2 < args.len() && target.is_none() {
            let port = parse_i64(&args[j + 2]).ok_or(Error::NotInteger)?;
            target = Some((String::from_utf8_lossy(&args[j + 1]).into_owned(), port));
            j += 3;
        } else if eq_ic(&args[j], "force") && !force {
            force = true;
            j += 1;
        } else {
            return Err(Error::Syntax);
        }
    }
    if fo::state(ctx.srv) != FoState::None {
        return Err(Error::err("FAILOVER already in progress."));
    }
    if ctx.srv.repl.is_replica() {
        return Err(Error::err(
            "FAILOVER is not valid when server is a replica.",
        ));
    }
    if ctx.srv.repl.replicas.lock().is_empty() {
        return Err(Error::err("FAILOVER requires connected replicas."));
    }
    if force && (timeout == 0 || target.is_none()) {
        return Err(Error::err(
            "FAILOVER with force option requires both a timeout and target HOST and IP.",
        ));
    }
    let target = match target {
        Some((host, port)) => {
            let reps = ctx.srv.repl.replicas.lock();
            let Some(r) = reps
                .iter()
                .find(|r| r.ip.eq_ignore_ascii_case(&host) && r.port as i64 == port)
            else {
                return Err(Error::err(
                    "FAILOVER target HOST and PORT is not a replica.",
                ));
            };
            if !r.online() {
                return Err(Error::err("FAILOVER target replica is not online."));
            }
            Some((host, r.port))
        }
        None => None,
    };
    fo::begin(ctx.srv, target, timeout as u64, force);
    ctx.out.ok();
    Ok(())
}

fn wait(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if ctx.srv.repl.is_replica() {
        return Err(Error::err("WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated."));
    }
    let num = parse_i64(&args[1]).ok_or(Error::NotInteger)?;
    let timeout = parse_i64(&args[2])
        .ok_or_else(|| Error::err("timeout is not an integer or out of range"))?;
    if timeout < 0 {
        return Err(Error::err("timeout is negative"));
    }
    let target = ctx.client.woff;
    let acked = ctx.srv.repl.count_acked(target);
    if acked as i64 >= num || ctx.store.in_exec_or_script() {
        ctx.out.int(acked as i64);
        return Ok(());
    }
    // Ask every replica for an ACK now instead of waiting for the next periodic one.
    if ctx.store.repl.has_sinks() {
        ctx.store.repl.feed_raw(GETACK);
    }
    let deadline = (timeout > 0)
        .then(|| std::time::Instant::now() + std::time::Duration::from_millis(timeout as u64));
    ctx.post.push(Post::Wait {
        offset: target,
        replicas: num.max(0) as usize,
        deadline,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::cmd::testkit::Harness;

    #[test]
    fn replconf_replies_and_errors() {
        let mut h = Harness::new();
        assert_eq!(h.run("REPLCONF listening-port 7777"), "+OK\r\n");
        assert_eq!(h.run("REPLCONF capa eof capa psync2 capa foo"), "+OK\r\n");
        assert_eq!(h.run("REPLCONF capa"), "-ERR syntax error\r\n");
        assert_eq!(
            h.run("REPLCONF nope 1"),
            "-ERR Unrecognized REPLCONF option: nope\r\n"
        );
        assert_eq!(h.run("REPLCONF ack 10"), "");
        assert_eq!(h.run("REPLCONF getack *"), "");
        assert_eq!(h.run("REPLCONF"), "+OK\r\n");
    }

    #[test]
    fn wait_without_replicas_and_bad_args() {
        let mut h = Harness::new();
        assert_eq!(h.run("WAIT 0 0"), ":0\r\n");
        assert_eq!(h.run("WAIT 1 -1"), "-ERR timeout is negative\r\n");
        assert_eq!(
            h.run("WAIT x 0"),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(
            h.run("REPLICAOF h notaport"),
            "-ERR Invalid master port\r\n"
        );
        assert_eq!(h.run("REPLICAOF no one"), "+OK\r\n");
    }
}
