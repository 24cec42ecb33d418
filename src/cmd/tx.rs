//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//! Queueing itself happens in the executor (it reads the command table);
//! EXEC runs the queue in the critical section it already holds, and its
//! effects reach replicas wrapped in one MULTI/EXEC.

use super::{exec, flags::*, Command, Ctx, Keys, NOKEYS};
use crate::error::{CmdResult, Error};
use crate::net::client::Client;
use crate::store::Store;
use bytes::Bytes;
use std::sync::atomic::Ordering;

pub static COMMANDS: &[super::Command] = &[
    Command {
        name: "multi",
        arity: 1,
        flags: NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY | NO_QUEUE,
        keys: NOKEYS,
        group: "transactions",
        since: "1.2.0",
        summary: "Starts a transaction.",
        handler: multi,
        ..Command::DEFAULT
    },
    Command {
        name: "exec",
        arity: 1,
        flags: NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG | NO_QUEUE | TX_EXEC,
        keys: NOKEYS,
        group: "transactions",
        since: "1.2.0",
        summary: "Executes all commands in a transaction.",
        handler: exec_cmd,
        ..Command::DEFAULT
    },
    Command {
        name: "discard",
        arity: 1,
        flags: NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY | NO_QUEUE,
        keys: NOKEYS,
        group: "transactions",
        since: "2.0.0",
        summary: "Discards a transaction.",
        handler: discard,
        ..Command::DEFAULT
    },
    Command {
        name: "watch",
        arity: -2,
        flags: NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY | NO_QUEUE,
        keys: Keys {
            first: 1,
            last: -1,
            step: 1,
        },
        group: "transactions",
        since: "2.2.0",
        args: "key [key ...]",
        summary: "Monitors changes to keys to determine the execution of a transaction.",
        handler: watch,
        ..Command::DEFAULT
    },
    Command {
        name: "unwatch",
        arity: 1,
        flags: NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        keys: NOKEYS,
        group: "transactions",
        since: "2.2.0",
        summary: "Forgets about watched keys of a transaction.",
        handler: unwatch,
        ..Command::DEFAULT
    },
];

/// Forget all WATCHed keys of a client.
pub fn unwatch_all(store: &mut Store, client: &mut Client) {
    for (db, key) in client.watched.drain(..) {
        if let Some(d) = store.dbs.get_mut(db) {
            d.unwatch(&key, &client.watch_flag);
        }
    }
    client.watch_flag.store(false, Ordering::Relaxed);
}

fn multi(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(Error::err("MULTI calls can not be nested"));
    }
    ctx.client.multi = Some(Vec::new());
    ctx.client.multi_error = false;
    ctx.client.multi_flags = 0;
    ctx.client.multi_deny_stale = false;
    ctx.out.ok();
    Ok(())
}

fn discard(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_none() {
        return Err(Error::err("DISCARD without MULTI"));
    }
    discard_transaction(ctx.store, ctx.client);
    ctx.out.ok();
    Ok(())
}

/// Forget the queue and the WATCHed keys (DISCARD, a refused EXEC).
pub fn discard_transaction(store: &mut Store, client: &mut Client) {
    client.multi = None;
    client.multi_error = false;
    client.multi_flags = 0;
    client.multi_deny_stale = false;
    unwatch_all(store, client);
}

fn exec_cmd(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let Some(queue) = ctx.client.multi.take() else {
        return Err(Error::err("EXEC without MULTI"));
    };
    let aborted = std::mem::take(&mut ctx.client.multi_error);
    let touched = ctx.client.watch_flag.load(Ordering::Relaxed);
    unwatch_all(ctx.store, ctx.client);
    if aborted {
        return Err(Error::msg(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    if touched {
        ctx.out.null_array();
        return Ok(());
    }
    ctx.out.array(queue.len());
    // Effects of the whole transaction are flushed together by our own call().
    ctx.store.hold_effects += 1;
    for args in &queue {
        exec::run_queued(ctx.srv, ctx.store, ctx.client, ctx.out, ctx.post, args);
    }
    ctx.store.hold_effects -= 1;
    Ok(())
}

fn watch(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(Error::err("WATCH inside MULTI is not allowed"));
    }
    let db = ctx.client.db;
    for k in &args[1..] {
        if ctx.client.watched.iter().any(|(d, w)| *d == db && w == k) {
            continue;
        }
        ctx.store.dbs[db].watch(k, &ctx.client.watch_flag);
        ctx.client.watched.push((db, k.clone()));
    }
    ctx.out.ok();
    Ok(())
}

fn unwatch(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    unwatch_all(ctx.store, ctx.client);
    ctx.out.ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::cmd::testkit::Harness;

    /// Every data type goes through MULTI/EXEC and reaches the replication
    /// stream as one MULTI ... EXEC block, in execution order.
    #[test]
    fn every_type_round_trips_through_exec_and_propagation() {
        let mut h = Harness::new();
        for line in [
            "MULTI",
            "SET s v",
            "RPUSH l a b",
            "HSET h f v",
            "SADD st m",
            "ZADD z 1 m",
            "INCR n",
        ] {
            h.run(line);
        }
        let reply = h.run("EXEC");
        assert_eq!(reply, "*6\r\n+OK\r\n:2\r\n:1\r\n:1\r\n:1\r\n:1\r\n");
        assert_eq!(
            h.stream(),
            vec![
                "MULTI",
                "SELECT 0",
                "SET s v",
                "RPUSH l a b",
                "HSET h f v",
                "SADD st m",
                "ZADD z 1 m",
                "INCR n",
                "EXEC"
            ]
        );
        for (line, want) in [
            ("GET s", "$1\r\nv\r\n"),
            ("LRANGE l 0 -1", "*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
            ("HGET h f", "$1\r\nv\r\n"),
            ("SISMEMBER st m", ":1\r\n"),
            ("ZSCORE z m", "$1\r\n1\r\n"),
            ("GET n", "$1\r\n1\r\n"),
        ] {
            assert_eq!(h.run(line), want, "{line}");
        }
        // A transaction that changes nothing propagates nothing.
        h.run("MULTI");
        h.run("GET s");
        h.run("EXEC");
        assert!(h.stream().is_empty());
    }
}
