//! Blocking pops: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP (lists) and
//! BZPOPMIN, BZPOPMAX, BZMPOP (sorted sets).
//!
//! Each handler first tries the non-blocking operation. With nothing to pop
//! it queues the client on its keys (src/blocking.rs) and asks the
//! connection to wait; a write to one of the keys wakes the first waiter,
//! which runs the same handler again. What a served handler pops is
//! propagated as the plain command (LPOP, LMOVE, ...). Inside MULTI/EXEC or a
//! script there is no waiting: the timeout reply comes at once, as in Redis.

use super::{flags::*, lists, zsets, Command, Ctx, Keys, Post, NOKEYS};
use crate::error::{CmdResult, Error};
use crate::net::client::{BlockState, Client};
use crate::resp::{Out, Request};
use crate::server::Shared;
use crate::util::parse_f64;
use bytes::Bytes;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

pub static COMMANDS: &[super::Command] = &[
    Command {
        name: "blpop",
        arity: -3,
        flags: WRITE | BLOCKING,
        keys: Keys { first: 1, last: -2, step: 1 },
        group: "list",
        since: "2.0.0",
        args: "key [key ...] timeout",
        summary: "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.",
        handler: blpop,
        ..Command::DEFAULT
    },
    Command {
        name: "brpop",
        arity: -3,
        flags: WRITE | BLOCKING,
        keys: Keys { first: 1, last: -2, step: 1 },
        group: "list",
        since: "2.0.0",
        args: "key [key ...] timeout",
        summary: "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.",
        handler: brpop,
        ..Command::DEFAULT
    },
    Command {
        name: "blmove",
        arity: 6,
        flags: WRITE | DENYOOM | BLOCKING,
        keys: Keys { first: 1, last: 2, step: 1 },
        group: "list",
        since: "6.2.0",
        args: "source destination LEFT|RIGHT LEFT|RIGHT timeout",
        summary: "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.",
        handler: blmove,
        ..Command::DEFAULT
    },
    Command {
        name: "brpoplpush",
        arity: 4,
        flags: WRITE | DENYOOM | BLOCKING,
        keys: Keys { first: 1, last: 2, step: 1 },
        group: "list",
        since: "2.2.0",
        args: "source destination timeout",
        summary: "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.",
        handler: brpoplpush,
        ..Command::DEFAULT
    },
    Command {
        name: "blmpop",
        movable_keys: Some(crate::cmd::numkeys_at::<2>),
        arity: -5,
        flags: WRITE | BLOCKING,
        keys: NOKEYS,
        group: "list",
        since: "7.0.0",
        args: "timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]",
        summary: "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.",
        handler: blmpop,
        ..Command::DEFAULT
    },
    Command {
        name: "bzpopmin",
        arity: -3,
        flags: WRITE | FAST | BLOCKING,
        keys: Keys { first: 1, last: -2, step: 1 },
        group: "sorted-set",
        since: "5.0.0",
        args: "key [key ...] timeout",
        summary: "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.",
        handler: bzpopmin,
        ..Command::DEFAULT
    },
    Command {
        name: "bzpopmax",
        arity: -3,
        flags: WRITE | FAST | BLOCKING,
        keys: Keys { first: 1, last: -2, step: 1 },
        group: "sorted-set",
        since: "5.0.0",
        args: "key [key ...] timeout",
        summary: "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.",
        handler: bzpopmax,
        ..Command::DEFAULT
    },
    Command {
        name: "bzmpop",
        movable_keys: Some(crate::cmd::numkeys_at::<2>),
        arity: -5,
        flags: WRITE | BLOCKING,
        keys: NOKEYS,
        group: "sorted-set",
        since: "7.0.0",
        args: "timeout numkeys key [key ...] MIN|MAX [COUNT count]",
        summary: "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.",
        handler: bzmpop,
        ..Command::DEFAULT
    },
];

/// A blocking timeout in (fractional) seconds; `None` waits forever.
pub fn parse_timeout(arg: &[u8]) -> Result<Option<Duration>, Error> {
    let secs =
        parse_f64(arg).ok_or_else(|| Error::err("timeout is not a float or out of range"))?;
    if secs < 0.0 {
        return Err(Error::err("timeout is negative"));
    }
    if !secs.is_finite() || secs > 1e12 {
        return Err(Error::err("timeout is out of range"));
    }
    Ok((secs > 0.0).then(|| Duration::from_secs_f64(secs)))
}

/// Nothing to serve: queue the client on `keys` (once; a retry keeps its
/// place and deadline) and wait, or answer the timeout reply at once inside
/// MULTI/EXEC or a script.
pub fn block(
    ctx: &mut Ctx,
    keys: &[Bytes],
    timeout: Option<Duration>,
    null_array: bool,
) -> CmdResult {
    if ctx.store.in_exec_or_script() {
        if null_array {
            ctx.out.null_array();
        } else {
            ctx.out.null();
        }
        return Ok(());
    }
    if ctx.client.blocked.is_none() {
        let db = ctx.client.db;
        let keys: Vec<(usize, Bytes)> = keys
            .iter()
            .map(|k| (db, Bytes::copy_from_slice(k)))
            .collect();
        let st = &mut *ctx.store;
        st.blocking
            .register(&mut st.dbs, &keys, &ctx.client.handle.waiter);
        ctx.client.blocked = Some(BlockState {
            keys,
            deadline: timeout.map(|d| Instant::now() + d),
            null_array,
            stream_ids: Vec::new(),
        });
    }
    ctx.post.push(Post::Block);
    Ok(())
}

/// The command was answered (served or failed): leave every queue.
pub fn unblock(ctx: &mut Ctx) {
    if let Some(b) = ctx.client.blocked.take() {
        let st = &mut *ctx.store;
        st.blocking
            .unregister(&mut st.dbs, &b.keys, &ctx.client.handle.waiter);
    }
}

/// What ended a blocked client's wait (the connection also watches for a
/// kill and buffers input meanwhile).
pub enum Wake {
    /// A write to one of the keys, or CLIENT UNBLOCK.
    Notified,
    /// The command's timeout passed.
    Timeout,
}

/// The asynchronous half of a blocked command: the connection awaits this.
pub async fn wait(client: &Client) -> Wake {
    let deadline = client.blocked.as_ref().and_then(|b| b.deadline);
    let timer = async {
        match deadline {
            Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = client.handle.waiter.notify.notified() => Wake::Notified,
        _ = timer => Wake::Timeout,
    }
}

/// The outcome of a wake-up for the blocked request.
pub enum Resumed {
    /// Answered (served, timed out or unblocked); these follow-ups apply.
    Done(Vec<Post>),
    /// Woken but nothing left to take: still blocked (`post` holds `Post::Block`).
    StillBlocked(Vec<Post>),
}

/// Act on a wake-up: CLIENT UNBLOCK or the timeout end the block with their
/// reply; a write runs the blocked request again (without re-admission).
pub async fn on_wake(
    srv: &Shared,
    client: &mut Client,
    out: &mut Out,
    req: &Request,
    wake: Wake,
) -> Resumed {
    if let Wake::Timeout = wake {
        end_block(srv, client, out, false).await;
        return Resumed::Done(Vec::new());
    }
    let mode = client
        .handle
        .waiter
        .unblock
        .swap(crate::blocking::UNBLOCK_NONE, Ordering::Relaxed);
    if mode != crate::blocking::UNBLOCK_NONE {
        end_block(srv, client, out, mode == crate::blocking::UNBLOCK_ERROR).await;
        return Resumed::Done(Vec::new());
    }
    let mut post = Vec::new();
    {
        let mut store = srv.store_lock().await;
        super::exec::resume(srv, &mut store, client, out, &mut post, req);
    }
    if post.contains(&Post::Block) {
        Resumed::StillBlocked(post)
    } else {
        srv.stats.commands.fetch_add(1, Ordering::Relaxed);
        Resumed::Done(post)
    }
}

/// Leave the blocked state without being served: timeout (null reply) or CLIENT UNBLOCK ERROR.
pub async fn end_block(srv: &Shared, client: &mut Client, out: &mut Out, error: bool) {
    let Some(b) = client.blocked.take() else {
        return;
    };
    {
        let mut store = srv.store_lock().await;
        let st = &mut *store;
        st.blocking
            .unregister(&mut st.dbs, &b.keys, &client.handle.waiter);
    }
    out.proto = client.proto;
    if error {
        out.error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
    } else if b.null_array {
        out.null_array();
    } else {
        out.null();
    }
}

/// Run `attempt`; when it answers (a value or an error) the client leaves the queues.
fn serve_or_block(
    ctx: &mut Ctx,
    keys: &[Bytes],
    timeout: Option<Duration>,
    null_array: bool,
    attempt: impl FnOnce(&mut Ctx) -> Result<bool, Error>,
) -> CmdResult {
    match attempt(ctx) {
        Ok(true) => {
            unblock(ctx);
            Ok(())
        }
        Ok(false) => block(ctx, keys, timeout, null_array),
        Err(e) => {
            unblock(ctx);
            Err(e)
        }
    }
}

fn bpop(ctx: &mut Ctx, args: &[Bytes], left: bool) -> CmdResult {
    let timeout = parse_timeout(&args[args.len() - 1])?;
    let keys = &args[1..args.len() - 1];
    serve_or_block(ctx, keys, timeout, true, |ctx| {
        lists::try_pop_one(ctx, keys, left)
    })
}

fn blpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    bpop(ctx, args, true)
}

fn brpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    bpop(ctx, args, false)
}

fn blmove(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (from_left, to_left) = (lists::parse_side(&args[3])?, lists::parse_side(&args[4])?);
    let timeout = parse_timeout(&args[5])?;
    serve_or_block(ctx, &args[1..2], timeout, false, |ctx| {
        let moved = lists::try_move(ctx, &args[1], &args[2], from_left, to_left)?;
        if moved {
            ctx.propagate(vec![
                Bytes::from_static(b"LMOVE"),
                args[1].clone(),
                args[2].clone(),
                args[3].clone(),
                args[4].clone(),
            ]);
        }
        Ok(moved)
    })
}

fn brpoplpush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let timeout = parse_timeout(&args[3])?;
    serve_or_block(ctx, &args[1..2], timeout, false, |ctx| {
        let moved = lists::try_move(ctx, &args[1], &args[2], false, true)?;
        if moved {
            ctx.propagate(vec![
                Bytes::from_static(b"RPOPLPUSH"),
                args[1].clone(),
                args[2].clone(),
            ]);
        }
        Ok(moved)
    })
}

fn blmpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let timeout = parse_timeout(&args[1])?;
    let (keys, left, count) = lists::parse_mpop(args, 2)?;
    let keys = &args[keys];
    serve_or_block(ctx, keys, timeout, true, |ctx| {
        lists::try_mpop(ctx, keys, left, count)
    })
}

/// BZPOPMIN/BZPOPMAX: [key, member, score] from the first non-empty sorted set
/// (propagated as the ZREM of the popped member).
fn bzpop(ctx: &mut Ctx, args: &[Bytes], max: bool) -> CmdResult {
    let timeout = parse_timeout(&args[args.len() - 1])?;
    let keys = &args[1..args.len() - 1];
    serve_or_block(ctx, keys, timeout, true, |ctx| {
        let Some((key, items)) = zsets::pop_generic(ctx, keys, max, 1)? else {
            return Ok(false);
        };
        let (member, score) = &items[0];
        ctx.out.array(3);
        ctx.out.bulk(&key);
        ctx.out.bulk(member);
        ctx.out.double(*score);
        Ok(true)
    })
}

fn bzpopmin(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    bzpop(ctx, args, false)
}

fn bzpopmax(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    bzpop(ctx, args, true)
}

fn bzmpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let timeout = parse_timeout(&args[1])?;
    let (keys, max, count) = zsets::parse_zmpop(args, 2)?;
    let keys = &args[keys];
    serve_or_block(ctx, keys, timeout, true, |ctx| {
        zsets::try_zmpop(ctx, keys, max, count)
    })
}
