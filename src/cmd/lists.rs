//! List commands (the basic set; the data-types issue completes the family).

use super::{cmd, flags::*, Ctx, KEY1};
use crate::error::{CmdResult, Error};
use crate::store::{Db, Value};
use crate::util::parse_i64;
use bytes::Bytes;
use std::collections::VecDeque;

pub static COMMANDS: &[super::Command] = &[
    cmd(
        "lpush",
        -3,
        WRITE | DENYOOM | FAST,
        KEY1,
        "list",
        "1.0.0",
        "key element [element ...]",
        "Prepends one or more elements to a list. Creates the key if it doesn't exist.",
        lpush,
    ),
    cmd(
        "rpush",
        -3,
        WRITE | DENYOOM | FAST,
        KEY1,
        "list",
        "1.0.0",
        "key element [element ...]",
        "Appends one or more elements to a list. Creates the key if it doesn't exist.",
        rpush,
    ),
    cmd(
        "lpushx",
        -3,
        WRITE | DENYOOM | FAST,
        KEY1,
        "list",
        "2.2.0",
        "key element [element ...]",
        "Prepends one or more elements to a list only when the list exists.",
        lpushx,
    ),
    cmd(
        "rpushx",
        -3,
        WRITE | DENYOOM | FAST,
        KEY1,
        "list",
        "2.2.0",
        "key element [element ...]",
        "Appends an element to a list only when the list exists.",
        rpushx,
    ),
    cmd(
        "lpop",
        -2,
        WRITE | FAST,
        KEY1,
        "list",
        "1.0.0",
        "key [count]",
        "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.",
        lpop,
    ),
    cmd(
        "rpop",
        -2,
        WRITE | FAST,
        KEY1,
        "list",
        "1.0.0",
        "key [count]",
        "Returns and removes the last elements of the list. Deletes the list if the last element was popped.",
        rpop,
    ),
    cmd(
        "llen",
        2,
        READONLY | FAST,
        KEY1,
        "list",
        "1.0.0",
        "key",
        "Returns the length of a list.",
        llen,
    ),
    cmd(
        "lrange",
        4,
        READONLY,
        KEY1,
        "list",
        "1.0.0",
        "key start stop",
        "Returns a range of elements from a list.",
        lrange,
    ),
    cmd(
        "lindex",
        3,
        READONLY,
        KEY1,
        "list",
        "1.0.0",
        "key index",
        "Returns an element from a list by its index.",
        lindex,
    ),
];

/// Write access to an existing list: `Ok(None)` when the key is missing,
/// WRONGTYPE (without touching WATCHers) when it holds something else.
fn list_mut<'a>(db: &'a mut Db, key: &[u8]) -> Result<Option<&'a mut VecDeque<Bytes>>, Error> {
    let Some(idx) = db.lookup(key) else {
        return Ok(None);
    };
    if !matches!(db.entry(idx).value, Value::List(_)) {
        return Err(Error::WrongType);
    }
    db.touch(key);
    match &mut db.entry_mut(idx).value {
        Value::List(l) => Ok(Some(l)),
        _ => Err(Error::WrongType),
    }
}

/// Read access: `Ok(None)` when the key is missing.
fn list_ref<'a>(db: &'a mut Db, key: &[u8]) -> Result<Option<&'a VecDeque<Bytes>>, Error> {
    match db.get(key) {
        None => Ok(None),
        Some(Value::List(l)) => Ok(Some(l)),
        Some(_) => Err(Error::WrongType),
    }
}

/// LPUSH/RPUSH (`create`) and LPUSHX/RPUSHX (`!create`).
fn push(ctx: &mut Ctx, args: &[Bytes], front: bool, create: bool) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    let key = &args[1];
    if list_mut(db, key)?.is_none() {
        if !create {
            ctx.out.int(0);
            return Ok(());
        }
        db.set(key, Value::List(Default::default()), false);
    }
    let l = list_mut(db, key)?.expect("list exists");
    for a in &args[2..] {
        if front {
            l.push_front(Bytes::copy_from_slice(a));
        } else {
            l.push_back(Bytes::copy_from_slice(a));
        }
    }
    let n = l.len();
    ctx.dirty(args.len() as u64 - 2);
    ctx.out.int(n as i64);
    Ok(())
}

fn lpush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    push(ctx, args, true, true)
}

fn rpush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    push(ctx, args, false, true)
}

fn lpushx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    push(ctx, args, true, false)
}

fn rpushx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    push(ctx, args, false, false)
}

/// LPOP/RPOP key [count]. Without count: one bulk (nil when missing); with
/// count: an array (null array when missing). Popping the last element deletes the key.
fn pop(ctx: &mut Ctx, args: &[Bytes], front: bool) -> CmdResult {
    if args.len() > 3 {
        return Err(Error::arity(ctx.cmd.name));
    }
    let count = match args.get(2) {
        None => None,
        Some(a) => match parse_i64(a) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => return Err(Error::err("value is out of range, must be positive")),
        },
    };
    let db = &mut ctx.store.dbs[ctx.client.db];
    let key = &args[1];
    let Some(l) = list_mut(db, key)? else {
        match count {
            None => ctx.out.null(),
            Some(_) => ctx.out.null_array(),
        }
        return Ok(());
    };
    let take = count.unwrap_or(1).min(l.len());
    let popped: Vec<Bytes> = (0..take)
        .filter_map(|_| if front { l.pop_front() } else { l.pop_back() })
        .collect();
    let now_empty = l.is_empty();
    if now_empty {
        db.remove(key);
    }
    match count {
        None => ctx.out.bulk(&popped[0]),
        Some(_) => ctx.out.bulks(popped.iter()),
    }
    if take > 0 {
        ctx.dirty(take as u64);
    }
    Ok(())
}

fn lpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    pop(ctx, args, true)
}

fn rpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    pop(ctx, args, false)
}

fn llen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    let n = list_ref(db, &args[1])?.map_or(0, |l| l.len());
    ctx.out.int(n as i64);
    Ok(())
}

fn lrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let start = parse_i64(&args[2]).ok_or(Error::NotInteger)?;
    let end = parse_i64(&args[3]).ok_or(Error::NotInteger)?;
    let db = &mut ctx.store.dbs[ctx.client.db];
    let Some(l) = list_ref(db, &args[1])? else {
        ctx.out.array(0);
        return Ok(());
    };
    let len = l.len() as i64;
    let mut start = if start < 0 { start + len } else { start };
    let mut end = if end < 0 { end + len } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        ctx.out.array(0);
        return Ok(());
    }
    if end >= len {
        end = len - 1;
    }
    ctx.out.bulks(l.range(start as usize..=end as usize));
    Ok(())
}

fn lindex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    let Some(l) = list_ref(db, &args[1])? else {
        ctx.out.null();
        return Ok(());
    };
    let i = parse_i64(&args[2]).ok_or(Error::NotInteger)?;
    let i = if i < 0 { i + l.len() as i64 } else { i };
    match (i >= 0).then(|| l.get(i as usize)).flatten() {
        Some(v) => ctx.out.bulk(v),
        None => ctx.out.null(),
    }
    Ok(())
}
