//! List commands: the non-blocking Redis 7.0 LIST family.
//!
//! Values are `store::list::List` (a chain of compact nodes). Writes mark the
//! key modified only when they change it (LTRIM always, as Redis does),
//! delete the key when the list becomes empty, and propagate replayable
//! effects: pops as the concrete `LPOP/RPOP key n` they performed, LMPOP as
//! the LPOP/RPOP it amounts to.

use super::{flags::*, Command, Ctx, Keys, KEY1, NOKEYS};
use crate::error::{CmdResult, Error};
use crate::store::list::List;
use crate::store::{Db, Value};
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;

const KEY2: Keys = Keys {
    first: 1,
    last: 2,
    step: 1,
};

pub static COMMANDS: &[super::Command] = &[
    Command {
        name: "lpush",
        arity: -3,
        flags: WRITE | DENYOOM | FAST,
        keys: KEY1,
        group: "list",
        since: "1.0.0",
        args: "key element [element ...]",
        summary: "Prepends one or more elements to a list. Creates the key if it doesn't exist.",
        handler: lpush,
        ..Command::DEFAULT
    },
    Command {
        name: "rpush",
        arity: -3,
        flags: WRITE | DENYOOM | FAST,
        keys: KEY1,
        group: "list",
        since: "1.0.0",
        args: "key element [element ...]",
        summary: "Appends one or more elements to a list. Creates the key if it doesn't exist.",
        handler: rpush,
        ..Command::DEFAULT
    },
    Command {
        name: "lpushx",
        arity: -3,
        flags: WRITE | DENYOOM | FAST,
        keys: KEY1,
        group: "list",
        since: "2.2.0",
        args: "key element [element ...]",
        summary: "Prepends one or more elements to a list only when the list exists.",
        handler: lpushx,
        ..Command::DEFAULT
    },
    Command {
        name: "rpushx",
        arity: -3,
        flags: WRITE | DENYOOM | FAST,
        keys: KEY1,
        group: "list",
        since: "2.2.0",
        args: "key element [element ...]",
        summary: "Appends an element to a list only when the list exists.",
        handler: rpushx,
        ..Command::DEFAULT
    },
    Command {
        name: "lpop",
        arity: -2,
        flags: WRITE | FAST,
        keys: KEY1,
        group: "list",
        since: "1.0.0",
        args: "key [count]",
        summary: "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.",
        handler: lpop,
        ..Command::DEFAULT
    },
    Command {
        name: "rpop",
        arity: -2,
        flags: WRITE | FAST,
        keys: KEY1,
        group: "list",
        since: "1.0.0",
        args: "key [count]",
        summary: "Returns and removes the last elements of the list. Deletes the list if the last element was popped.",
        handler: rpop,
        ..Command::DEFAULT
    },
    Command {
        name: "llen",
        arity: 2,
        flags: READONLY | FAST,
        keys: KEY1,
        group: "list",
        since: "1.0.0",
        args: "key",
        summary: "Returns the length of a list.",
        handler: llen,
        ..Command::DEFAULT
    },
    Command {
        name: "lrange",
        arity: 4,
        flags: READONLY,
        keys: KEY1,
        group: "list",
        since: "1.0.0",
        args: "key start stop",
        summary: "Returns a range of elements from a list.",
        handler: lrange,
        ..Command::DEFAULT
    },
    Command {
        name: "lindex",
        arity: 3,
        flags: READONLY,
        keys: KEY1,
        group: "list",
        since: "1.0.0",
        args: "key index",
        summary: "Returns an element from a list by its index.",
        handler: lindex,
        ..Command::DEFAULT
    },
    Command {
        name: "lset",
        arity: 4,
        flags: WRITE | DENYOOM,
        keys: KEY1,
        group: "list",
        since: "1.0.0",
        args: "key index element",
        summary: "Sets the value of an element in a list by its index.",
        handler: lset,
        ..Command::DEFAULT
    },
    Command {
        name: "lrem",
        arity: 4,
        flags: WRITE,
        keys: KEY1,
        group: "list",
        since: "1.0.0",
        args: "key count element",
        summary: "Removes elements from a list. Deletes the list if the last element was removed.",
        handler: lrem,
        ..Command::DEFAULT
    },
    Command {
        name: "ltrim",
        arity: 4,
        flags: WRITE,
        keys: KEY1,
        group: "list",
        since: "1.0.0",
        args: "key start stop",
        summary: "Removes elements from both ends a list. Deletes the list if all elements were trimmed.",
        handler: ltrim,
        ..Command::DEFAULT
    },
    Command {
        name: "linsert",
        arity: 5,
        flags: WRITE | DENYOOM,
        keys: KEY1,
        group: "list",
        since: "2.2.0",
        args: "key BEFORE|AFTER pivot element",
        summary: "Inserts an element before or after another element in a list.",
        handler: linsert,
        ..Command::DEFAULT
    },
    Command {
        name: "lpos",
        arity: -3,
        flags: READONLY,
        keys: KEY1,
        group: "list",
        since: "6.0.6",
        args: "key element [RANK rank] [COUNT num-matches] [MAXLEN len]",
        summary: "Returns the index of matching elements in a list.",
        handler: lpos,
        ..Command::DEFAULT
    },
    Command {
        name: "lmove",
        arity: 5,
        flags: WRITE | DENYOOM,
        keys: KEY2,
        group: "list",
        since: "6.2.0",
        args: "source destination LEFT|RIGHT LEFT|RIGHT",
        summary: "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.",
        handler: lmove,
        ..Command::DEFAULT
    },
    Command {
        name: "rpoplpush",
        arity: 3,
        flags: WRITE | DENYOOM,
        keys: KEY2,
        group: "list",
        since: "1.2.0",
        args: "source destination",
        summary: "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.",
        handler: rpoplpush,
        ..Command::DEFAULT
    },
    Command {
        name: "lmpop",
        movable_keys: Some(crate::cmd::numkeys_at::<1>),
        arity: -4,
        flags: WRITE,
        keys: NOKEYS,
        group: "list",
        since: "7.0.0",
        args: "numkeys key [key ...] LEFT|RIGHT [COUNT count]",
        summary: "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.",
        handler: lmpop,
        ..Command::DEFAULT
    },
];

/// Slab index of the list at `key`: `Ok(None)` when missing, WRONGTYPE when
/// it holds something else. Refreshes the LRU clock (as a write lookup does)
/// but does not mark the key modified.
fn list_idx(db: &mut Db, key: &[u8]) -> Result<Option<u32>, Error> {
    let Some(idx) = db.lookup(key) else {
        return Ok(None);
    };
    let clock = (db.now / 1000) as u32;
    match db.entry(idx).value {
        Value::List(_) => {
            db.set_lru(idx, clock);
            Ok(Some(idx))
        }
        _ => Err(Error::WrongType),
    }
}

fn list_at(db: &mut Db, idx: u32) -> &mut List {
    match &mut db.entry_mut(idx).value {
        Value::List(l) => l,
        _ => unreachable!("checked by list_idx"),
    }
}

/// Read access: `Ok(None)` when the key is missing.
fn list_ref<'a>(db: &'a mut Db, key: &[u8]) -> Result<Option<&'a List>, Error> {
    match db.get(key) {
        None => Ok(None),
        Some(Value::List(l)) => Ok(Some(l)),
        Some(_) => Err(Error::WrongType),
    }
}

/// The list at `key`, created empty when missing (WRONGTYPE otherwise).
fn list_or_create<'a>(db: &'a mut Db, key: &[u8], fill: i64) -> Result<&'a mut List, Error> {
    let idx = match list_idx(db, key)? {
        Some(idx) => idx,
        None => db.set(key, Value::List(Box::new(List::new(fill))), false),
    };
    Ok(list_at(db, idx))
}

/// LEFT / RIGHT: true for the head.
pub(super) fn parse_side(a: &[u8]) -> Result<bool, Error> {
    if eq_ic(a, "left") {
        Ok(true)
    } else if eq_ic(a, "right") {
        Ok(false)
    } else {
        Err(Error::Syntax)
    }
}

/// Resolve a possibly negative index; None when out of range.
fn index(i: i64, len: usize) -> Option<usize> {
    let i = if i < 0 { i.checked_add(len as i64)? } else { i };
    (i >= 0 && (i as usize) < len).then_some(i as usize)
}

/// LPUSH/RPUSH (`create`) and LPUSHX/RPUSHX (`!create`).
fn push(ctx: &mut Ctx, args: &[Bytes], front: bool, create: bool) -> CmdResult {
    let fill = ctx.store.limits.list_max_listpack_size;
    let db = &mut ctx.store.dbs[ctx.client.db];
    let key = &args[1];
    if !create && list_idx(db, key)?.is_none() {
        ctx.out.int(0);
        return Ok(());
    }
    let l = list_or_create(db, key, fill)?;
    l.reserve_end(front, &args[2..]);
    for a in &args[2..] {
        if front {
            l.push_front(a);
        } else {
            l.push_back(a);
        }
    }
    let n = l.len();
    db.touch(key);
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

/// Pop up to `count` elements from the list at `idx`, deleting the key when
/// it empties; marks the key modified when anything was popped.
fn pop_n(db: &mut Db, key: &[u8], idx: u32, front: bool, count: usize) -> Vec<Vec<u8>> {
    let l = list_at(db, idx);
    let take = count.min(l.len());
    let popped: Vec<Vec<u8>> = (0..take)
        .filter_map(|_| if front { l.pop_front() } else { l.pop_back() })
        .collect();
    if take > 0 {
        if l.is_empty() {
            db.remove(key);
        }
        db.touch(key);
    }
    popped
}

fn pop_cmd_name(front: bool) -> Bytes {
    Bytes::from_static(if front { b"LPOP" } else { b"RPOP" })
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
    let Some(idx) = list_idx(db, key)? else {
        match count {
            None => ctx.out.null(),
            Some(_) => ctx.out.null_array(),
        }
        return Ok(());
    };
    let popped = pop_n(db, key, idx, front, count.unwrap_or(1));
    match count {
        None => ctx.out.bulk(&popped[0]),
        Some(_) => ctx.out.bulks(popped.iter()),
    }
    if !popped.is_empty() {
        ctx.dirty(popped.len() as u64);
        let mut eff = vec![pop_cmd_name(front), key.clone()];
        if count.is_some() {
            eff.push(Bytes::from(popped.len().to_string()));
        }
        ctx.propagate(eff);
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
    let n = (end - start + 1) as usize;
    ctx.out.bulks(l.iter_from(start as usize).take(n));
    Ok(())
}

fn lindex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    let Some(l) = list_ref(db, &args[1])? else {
        ctx.out.null();
        return Ok(());
    };
    let i = parse_i64(&args[2]).ok_or(Error::NotInteger)?;
    match index(i, l.len()).and_then(|i| l.get(i)) {
        Some(v) => ctx.out.bulk(v),
        None => ctx.out.null(),
    }
    Ok(())
}

/// LSET key index element: the key is looked up before the index is parsed (as Redis).
fn lset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    let key = &args[1];
    let idx = list_idx(db, key)?.ok_or(Error::NoSuchKey)?;
    let i = parse_i64(&args[2]).ok_or(Error::NotInteger)?;
    let l = list_at(db, idx);
    let i = index(i, l.len()).ok_or(Error::OutOfRange)?;
    l.set(i, &args[3]);
    db.touch(key);
    ctx.dirty(1);
    ctx.out.ok();
    Ok(())
}

/// LREM key count element: count > 0 from the head, < 0 from the tail, 0 all.
fn lrem(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let count = parse_i64(&args[2]).ok_or(Error::NotInteger)?;
    let db = &mut ctx.store.dbs[ctx.client.db];
    let key = &args[1];
    let Some(idx) = list_idx(db, key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let elem: &[u8] = &args[3];
    let l = list_at(db, idx);
    let removed = if count >= 0 {
        let limit = if count == 0 { u64::MAX } else { count as u64 };
        let mut n = 0u64;
        l.remove_where(|_, e| {
            let hit = n < limit && e == elem;
            n += hit as u64;
            hit
        })
    } else {
        // Find the positions from the tail, then remove them in one pass.
        let limit = count.unsigned_abs() as usize;
        let len = l.len();
        let mut pos: Vec<usize> = l
            .iter_rev()
            .enumerate()
            .filter(|(_, e)| *e == elem)
            .take(limit)
            .map(|(i, _)| len - 1 - i)
            .collect();
        pos.reverse();
        let mut next = 0;
        l.remove_where(|i, _| {
            let hit = next < pos.len() && pos[next] == i;
            next += hit as usize;
            hit
        })
    };
    if removed > 0 {
        if l.is_empty() {
            db.remove(key);
        }
        db.touch(key);
        ctx.dirty(removed as u64);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

fn ltrim(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let start = parse_i64(&args[2]).ok_or(Error::NotInteger)?;
    let end = parse_i64(&args[3]).ok_or(Error::NotInteger)?;
    let db = &mut ctx.store.dbs[ctx.client.db];
    let key = &args[1];
    let Some(idx) = list_idx(db, key)? else {
        ctx.out.ok();
        return Ok(());
    };
    let l = list_at(db, idx);
    let len = l.len() as i64;
    let mut start = if start < 0 {
        start.saturating_add(len)
    } else {
        start
    };
    let mut end = if end < 0 {
        end.saturating_add(len)
    } else {
        end
    };
    if start < 0 {
        start = 0;
    }
    let (left, right) = if start > end || start >= len {
        (len, 0)
    } else {
        if end >= len {
            end = len - 1;
        }
        (start, len - end - 1)
    };
    l.remove_front(left as usize);
    l.remove_back(right as usize);
    if l.is_empty() {
        db.remove(key);
    }
    db.touch(key);
    ctx.dirty((left + right) as u64);
    ctx.out.ok();
    Ok(())
}

fn linsert(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let after = if eq_ic(&args[2], "after") {
        true
    } else if eq_ic(&args[2], "before") {
        false
    } else {
        return Err(Error::Syntax);
    };
    let db = &mut ctx.store.dbs[ctx.client.db];
    let key = &args[1];
    let Some(idx) = list_idx(db, key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let l = list_at(db, idx);
    let pivot: &[u8] = &args[3];
    let Some(p) = l.iter().position(|e| e == pivot) else {
        ctx.out.int(-1);
        return Ok(());
    };
    l.insert(p + after as usize, &args[4]);
    let n = l.len();
    db.touch(key);
    ctx.dirty(1);
    ctx.out.int(n as i64);
    Ok(())
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]. Options
/// are validated before the key is looked up.
fn lpos(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut rank: i64 = 1;
    let mut count: Option<u64> = None;
    let mut maxlen: u64 = 0;
    let mut i = 3;
    while i < args.len() {
        let opt = &args[i];
        if i + 1 >= args.len() {
            return Err(Error::Syntax);
        }
        let v = &args[i + 1];
        if eq_ic(opt, "rank") {
            rank = parse_i64(v).ok_or(Error::NotInteger)?;
            if rank == 0 {
                return Err(Error::err(
                    "RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                ));
            }
        } else if eq_ic(opt, "count") {
            match parse_i64(v) {
                Some(n) if n >= 0 => count = Some(n as u64),
                _ => return Err(Error::err("COUNT can't be negative")),
            }
        } else if eq_ic(opt, "maxlen") {
            match parse_i64(v) {
                Some(n) if n >= 0 => maxlen = n as u64,
                _ => return Err(Error::err("MAXLEN can't be negative")),
            }
        } else {
            return Err(Error::Syntax);
        }
        i += 2;
    }
    let db = &mut ctx.store.dbs[ctx.client.db];
    let Some(l) = list_ref(db, &args[1])? else {
        match count {
            Some(_) => ctx.out.array(0),
            None => ctx.out.null(),
        }
        return Ok(());
    };
    let elem: &[u8] = &args[2];
    let want = match count {
        None => 1,
        Some(0) => u64::MAX,
        Some(n) => n,
    };
    let scan = if maxlen == 0 {
        l.len()
    } else {
        (maxlen as usize).min(l.len())
    };
    let skip = rank.unsigned_abs() - 1;
    let len = l.len();
    let mut found: Vec<usize> = Vec::new();
    let mut seen = 0u64;
    let mut consider = |pos: usize, e: &[u8]| -> bool {
        if e == elem {
            if seen >= skip {
                found.push(pos);
                if found.len() as u64 >= want {
                    return false;
                }
            }
            seen += 1;
        }
        true
    };
    if rank > 0 {
        for (i, e) in l.iter().take(scan).enumerate() {
            if !consider(i, e) {
                break;
            }
        }
    } else {
        for (i, e) in l.iter_rev().take(scan).enumerate() {
            if !consider(len - 1 - i, e) {
                break;
            }
        }
    }
    match count {
        Some(_) => {
            ctx.out.array(found.len());
            for p in found {
                ctx.out.int(p as i64);
            }
        }
        None => match found.first() {
            Some(&p) => ctx.out.int(p as i64),
            None => ctx.out.null(),
        },
    }
    Ok(())
}

/// Pop one element from `src` (side `from`) and push it to `dst` (side `to`).
fn move_one(ctx: &mut Ctx, src: &[u8], dst: &[u8], from: bool, to: bool) -> CmdResult {
    if !try_move(ctx, src, dst, from, to)? {
        ctx.out.null();
    }
    Ok(())
}

/// LMOVE's work: false (and no reply) when `src` is missing. Shared with BLMOVE.
pub(super) fn try_move(
    ctx: &mut Ctx,
    src: &[u8],
    dst: &[u8],
    from: bool,
    to: bool,
) -> Result<bool, Error> {
    let fill = ctx.store.limits.list_max_listpack_size;
    let db = &mut ctx.store.dbs[ctx.client.db];
    let Some(sidx) = list_idx(db, src)? else {
        return Ok(false);
    };
    if src != dst {
        // The destination's type is checked before anything changes.
        list_idx(db, dst)?;
    }
    let l = list_at(db, sidx);
    let v = if from { l.pop_front() } else { l.pop_back() }.expect("lists are never empty");
    if src == dst {
        // Rotation: the list never disappears in between.
        if to {
            l.push_front(&v);
        } else {
            l.push_back(&v);
        }
    } else {
        if l.is_empty() {
            db.remove(src);
        }
        db.touch(src);
        let d = list_or_create(db, dst, fill)?;
        if to {
            d.push_front(&v);
        } else {
            d.push_back(&v);
        }
    }
    db.touch(dst);
    ctx.dirty(1);
    ctx.out.bulk(&v);
    Ok(true)
}

fn lmove(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let from = parse_side(&args[3])?;
    let to = parse_side(&args[4])?;
    move_one(ctx, &args[1], &args[2], from, to)
}

fn rpoplpush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    move_one(ctx, &args[1], &args[2], false, true)
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]: pops from the first
/// non-empty list; replies [key, [elements]] or a null array.
fn lmpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (keys, front, count) = parse_mpop(args, 1)?;
    if !try_mpop(ctx, &args[keys], front, count)? {
        ctx.out.null_array();
    }
    Ok(())
}

/// Parse `numkeys key... LEFT|RIGHT [COUNT n]` with numkeys at `args[at]`
/// (LMPOP: 1, BLMPOP: 2). Returns the key range, the side and the count.
pub(super) fn parse_mpop(
    args: &[Bytes],
    at: usize,
) -> Result<(std::ops::Range<usize>, bool, usize), Error> {
    let numkeys = match parse_i64(&args[at]) {
        Some(n) if n > 0 => n as u64,
        _ => return Err(Error::err("numkeys should be greater than 0")),
    };
    let where_idx = match numkeys.checked_add(at as u64 + 1) {
        Some(w) if w < args.len() as u64 => w as usize,
        _ => return Err(Error::Syntax),
    };
    let front = parse_side(&args[where_idx])?;
    let mut count: Option<usize> = None;
    let mut j = where_idx + 1;
    while j < args.len() {
        if count.is_none() && eq_ic(&args[j], "count") && j + 1 < args.len() {
            match parse_i64(&args[j + 1]) {
                Some(n) if n > 0 => count = Some(n as usize),
                _ => return Err(Error::err("count should be greater than 0")),
            }
            j += 2;
        } else {
            return Err(Error::Syntax);
        }
    }
    Ok((at + 1..where_idx, front, count.unwrap_or(1)))
}

/// LMPOP's work on the first non-empty list: replies [key, [elements]] and
/// propagates the concrete pop. False (no reply) when every list is empty.
pub(super) fn try_mpop(
    ctx: &mut Ctx,
    keys: &[Bytes],
    front: bool,
    count: usize,
) -> Result<bool, Error> {
    let db = &mut ctx.store.dbs[ctx.client.db];
    for key in keys {
        let Some(idx) = list_idx(db, key)? else {
            continue;
        };
        let popped = pop_n(db, key, idx, front, count);
        ctx.out.array(2);
        ctx.out.bulk(key);
        ctx.out.bulks(popped.iter());
        ctx.dirty(popped.len() as u64);
        ctx.propagate(vec![
            pop_cmd_name(front),
            key.clone(),
            Bytes::from(popped.len().to_string()),
        ]);
        return Ok(true);
    }
    Ok(false)
}

/// BLPOP/BRPOP's work: one element from the first non-empty list, replied as
/// [key, element] and propagated as a plain LPOP/RPOP. False when all are empty.
pub(super) fn try_pop_one(ctx: &mut Ctx, keys: &[Bytes], front: bool) -> Result<bool, Error> {
    let db = &mut ctx.store.dbs[ctx.client.db];
    for key in keys {
        let Some(idx) = list_idx(db, key)? else {
            continue;
        };
        let popped = pop_n(db, key, idx, front, 1);
        ctx.out.array(2);
        ctx.out.bulk(key);
        ctx.out.bulk(&popped[0]);
        ctx.dirty(1);
        ctx.propagate(vec![pop_cmd_name(front), key.clone()]);
        return Ok(true);
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use crate::cmd::testkit::Harness as H;

    #[test]
    fn pops_propagate_what_they_did() {
        let mut h = H::new();
        h.run("RPUSH l a b c d e");
        assert_eq!(h.effects(), ["RPUSH l a b c d e"]);
        h.run("LPOP l");
        assert_eq!(h.effects(), ["LPOP l"]);
        h.run("rpop l 1");
        assert_eq!(h.effects(), ["RPOP l 1"]);
        // Asking for more than there is replays as what was taken.
        h.run("LPOP l 100");
        assert_eq!(h.effects(), ["LPOP l 3"]);
        // Nothing popped, nothing propagated.
        h.run("LPOP l");
        h.run("LPOP l 5");
        h.run("RPUSH l x");
        h.effects();
        h.run("LPOP l 0");
        assert!(h.effects().is_empty());
    }

    #[test]
    fn lmpop_propagates_as_a_counted_pop() {
        let mut h = H::new();
        h.run("RPUSH b 1 2 3");
        h.effects();
        assert_eq!(
            h.run("LMPOP 2 a b RIGHT COUNT 2"),
            "*2\r\n$1\r\nb\r\n*2\r\n$1\r\n3\r\n$1\r\n2\r\n"
        );
        assert_eq!(h.effects(), ["RPOP b 2"]);
        h.run("LMPOP 1 b LEFT");
        assert_eq!(h.effects(), ["LPOP b 1"]);
        assert_eq!(h.run("LMPOP 1 b LEFT"), "*-1\r\n");
        assert!(h.effects().is_empty());
    }

    #[test]
    fn other_writes_propagate_verbatim_only_when_they_change_something() {
        let mut h = H::new();
        h.run("RPUSH l a b a c a");
        h.effects();
        for (cmd, reply) in [
            ("LREM l 0 zz", ":0\r\n"),
            ("LINSERT l BEFORE zz x", ":-1\r\n"),
            ("LINSERT nokey BEFORE a x", ":0\r\n"),
            ("LTRIM l 0 -1", "+OK\r\n"),
            ("LMOVE nokey l LEFT LEFT", "$-1\r\n"),
        ] {
            assert_eq!(h.run(cmd), reply, "{cmd}");
        }
        assert!(h.effects().is_empty());
        for (cmd, reply) in [
            ("LREM l -2 a", ":2\r\n"),
            ("LSET l -1 z", "+OK\r\n"),
            ("LINSERT l AFTER b y", ":4\r\n"),
            ("LTRIM l 1 -1", "+OK\r\n"),
            ("LMOVE l l RIGHT LEFT", "$1\r\nz\r\n"),
            ("RPOPLPUSH l m", "$1\r\ny\r\n"),
        ] {
            assert_eq!(h.run(cmd), reply, "{cmd}");
            assert_eq!(h.effects(), [cmd]);
        }
        assert_eq!(h.run("LRANGE l 0 -1"), "*2\r\n$1\r\nz\r\n$1\r\nb\r\n");
    }
}
