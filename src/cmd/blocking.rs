//! Blocking list pops: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP.
//!
//! Each handler first tries the non-blocking operation. With nothing to pop
//! it queues the client on its keys (src/blocking.rs) and asks the
//! connection to wait; a write to one of the keys wakes the first waiter,
//! which runs the same handler again. What a served handler pops is
//! propagated as the plain command (LPOP, LMOVE, ...). Inside MULTI/EXEC or a
//! script there is no waiting: the timeout reply comes at once, as in Redis.

use super::{cmd, flags::*, Ctx, Post, NOKEYS};
use crate::error::{CmdResult, Error};
use crate::net::client::BlockState;
use crate::store::{Db, Value};
use crate::util::{eq_ic, parse_f64, parse_i64};
use bytes::Bytes;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

pub static COMMANDS: &[super::Command] = &[
    cmd("blpop", -3, WRITE | BLOCKING, (1, -2, 1), "list", "2.0.0", "key [key ...] timeout", "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", blpop),
    cmd("brpop", -3, WRITE | BLOCKING, (1, -2, 1), "list", "2.0.0", "key [key ...] timeout", "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", brpop),
    cmd("blmove", 6, WRITE | DENYOOM | BLOCKING, (1, 2, 1), "list", "6.2.0", "source destination LEFT|RIGHT LEFT|RIGHT timeout", "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.", blmove),
    cmd("brpoplpush", 4, WRITE | DENYOOM | BLOCKING, (1, 2, 1), "list", "2.2.0", "source destination timeout", "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.", brpoplpush),
    cmd("blmpop", -5, WRITE | BLOCKING, NOKEYS, "list", "7.0.0", "timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]", "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", blmpop),
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
    if ctx.store.hold_effects > 0 {
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

/// The list at `key`, if any (WRONGTYPE for another type).
fn list_at<'a>(db: &'a mut Db, key: &[u8]) -> Result<Option<&'a mut VecDeque<Bytes>>, Error> {
    let Some(idx) = db.lookup(key) else {
        return Ok(None);
    };
    match &mut db.entry_mut(idx).value {
        Value::List(l) => Ok(Some(l)),
        _ => Err(Error::WrongType),
    }
}

/// Pop up to `count` elements from one end; deletes the key when emptied.
fn pop(db: &mut Db, key: &[u8], left: bool, count: usize) -> Result<Vec<Bytes>, Error> {
    let Some(l) = list_at(db, key)? else {
        return Ok(Vec::new());
    };
    let n = count.min(l.len());
    let items: Vec<Bytes> = (0..n)
        .filter_map(|_| if left { l.pop_front() } else { l.pop_back() })
        .collect();
    let empty = l.is_empty();
    if empty {
        db.remove(key);
    } else if n > 0 {
        db.touch(key);
    }
    Ok(items)
}

fn side(arg: &[u8]) -> Result<bool, Error> {
    if eq_ic(arg, "left") {
        Ok(true)
    } else if eq_ic(arg, "right") {
        Ok(false)
    } else {
        Err(Error::Syntax)
    }
}

fn bpop(ctx: &mut Ctx, args: &[Bytes], left: bool) -> CmdResult {
    let timeout = parse_timeout(&args[args.len() - 1])?;
    let keys = &args[1..args.len() - 1];
    serve_or_block(ctx, keys, timeout, true, |ctx| {
        for key in keys {
            let items = pop(ctx.db(), key, left, 1)?;
            if let Some(v) = items.into_iter().next() {
                ctx.out.array(2);
                ctx.out.bulk(key);
                ctx.out.bulk(&v);
                ctx.dirty(1);
                let name = if left { "LPOP" } else { "RPOP" };
                ctx.propagate(vec![Bytes::from_static(name.as_bytes()), key.clone()]);
                return Ok(true);
            }
        }
        Ok(false)
    })
}

fn blpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    bpop(ctx, args, true)
}

fn brpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    bpop(ctx, args, false)
}

/// Move one element from `src` to `dst`; false when `src` is empty.
fn try_move(
    ctx: &mut Ctx,
    src: &Bytes,
    dst: &Bytes,
    from_left: bool,
    to_left: bool,
    propagate: Vec<Bytes>,
) -> Result<bool, Error> {
    let db = ctx.db();
    if list_at(db, src)?.is_none() {
        return Ok(false);
    }
    list_at(db, dst)?; // WRONGTYPE on the destination before anything moves
    let v = pop(db, src, from_left, 1)?
        .pop()
        .expect("source list is not empty");
    if list_at(db, dst)?.is_none() {
        db.set(dst, Value::List(Default::default()), false);
    }
    let l = list_at(db, dst)?.expect("destination list exists");
    if to_left {
        l.push_front(v.clone());
    } else {
        l.push_back(v.clone());
    }
    db.touch(dst);
    ctx.out.bulk(&v);
    ctx.dirty(1);
    ctx.propagate(propagate);
    Ok(true)
}

fn blmove(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (from_left, to_left) = (side(&args[3])?, side(&args[4])?);
    let timeout = parse_timeout(&args[5])?;
    let prop = vec![
        Bytes::from_static(b"LMOVE"),
        args[1].clone(),
        args[2].clone(),
        args[3].clone(),
        args[4].clone(),
    ];
    serve_or_block(ctx, &args[1..2], timeout, false, |ctx| {
        try_move(ctx, &args[1], &args[2], from_left, to_left, prop)
    })
}

fn brpoplpush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let timeout = parse_timeout(&args[3])?;
    let prop = vec![
        Bytes::from_static(b"RPOPLPUSH"),
        args[1].clone(),
        args[2].clone(),
    ];
    serve_or_block(ctx, &args[1..2], timeout, false, |ctx| {
        try_move(ctx, &args[1], &args[2], false, true, prop)
    })
}

fn blmpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let timeout = parse_timeout(&args[1])?;
    let numkeys = parse_i64(&args[2]).ok_or(Error::NotInteger)?;
    if numkeys <= 0 {
        return Err(Error::err("numkeys should be greater than 0"));
    }
    let numkeys = numkeys as usize;
    if args.len() < 3 + numkeys + 1 {
        return Err(Error::Syntax);
    }
    let keys = &args[3..3 + numkeys];
    let left = side(&args[3 + numkeys])?;
    let mut count = 1usize;
    let mut i = 4 + numkeys;
    while i < args.len() {
        if eq_ic(&args[i], "count") && i + 1 < args.len() {
            let c = parse_i64(&args[i + 1]).ok_or(Error::NotInteger)?;
            if c <= 0 {
                return Err(Error::err("count should be greater than 0"));
            }
            count = c as usize;
            i += 2;
        } else {
            return Err(Error::Syntax);
        }
    }
    serve_or_block(ctx, keys, timeout, true, |ctx| {
        for key in keys {
            let items = pop(ctx.db(), key, left, count)?;
            if !items.is_empty() {
                ctx.out.array(2);
                ctx.out.bulk(key);
                ctx.out.bulks(items.iter());
                ctx.dirty(items.len() as u64);
                let name: &'static [u8] = if left { b"LPOP" } else { b"RPOP" };
                ctx.propagate(vec![
                    Bytes::from_static(name),
                    key.clone(),
                    Bytes::from(items.len().to_string()),
                ]);
                return Ok(true);
            }
        }
        Ok(false)
    })
}
