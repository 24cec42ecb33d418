//! Set commands (Redis 7.0): SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD
//! SPOP SRANDMEMBER SINTER SINTERCARD SUNION SDIFF SINTERSTORE SUNIONSTORE
//! SDIFFSTORE SMOVE SSCAN. Storage and encodings live in store/set.rs.
//!
//! Propagation: SPOP is replayed as SREM of the members it removed (DEL when
//! a counted SPOP takes the whole set); every other write is deterministic
//! and propagated verbatim.

use super::{flags::*, Command, Ctx, Keys, KEY1, NOKEYS};
use crate::error::{CmdResult, Error};
use crate::resp::Out;
use crate::store::set::{Member, Set};
use crate::store::{Db, Value};
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;

const ALL_KEYS: Keys = Keys {
    first: 1,
    last: -1,
    step: 1,
};

pub static COMMANDS: &[super::Command] = &[
    Command {
        name: "sadd",
        arity: -3,
        flags: WRITE | DENYOOM | FAST,
        keys: KEY1,
        group: "set",
        since: "1.0.0",
        args: "key member [member ...]",
        summary: "Adds one or more members to a set. Creates the key if it doesn't exist.",
        handler: sadd,
        ..Command::DEFAULT
    },
    Command {
        name: "srem",
        arity: -3,
        flags: WRITE | FAST,
        keys: KEY1,
        group: "set",
        since: "1.0.0",
        args: "key member [member ...]",
        summary: "Removes one or more members from a set. Deletes the set if the last member was removed.",
        handler: srem,
        ..Command::DEFAULT
    },
    Command {
        name: "smembers",
        arity: 2,
        flags: READONLY,
        keys: KEY1,
        group: "set",
        since: "1.0.0",
        args: "key",
        summary: "Returns all members of a set.",
        handler: smembers,
        ..Command::DEFAULT
    },
    Command {
        name: "sismember",
        arity: 3,
        flags: READONLY | FAST,
        keys: KEY1,
        group: "set",
        since: "1.0.0",
        args: "key member",
        summary: "Determines whether a member belongs to a set.",
        handler: sismember,
        ..Command::DEFAULT
    },
    Command {
        name: "smismember",
        arity: -3,
        flags: READONLY | FAST,
        keys: KEY1,
        group: "set",
        since: "6.2.0",
        args: "key member [member ...]",
        summary: "Determines whether multiple members belong to a set.",
        handler: smismember,
        ..Command::DEFAULT
    },
    Command {
        name: "scard",
        arity: 2,
        flags: READONLY | FAST,
        keys: KEY1,
        group: "set",
        since: "1.0.0",
        args: "key",
        summary: "Returns the number of members in a set.",
        handler: scard,
        ..Command::DEFAULT
    },
    Command {
        name: "spop",
        arity: -2,
        flags: WRITE | FAST,
        keys: KEY1,
        group: "set",
        since: "1.0.0",
        args: "key [count]",
        summary: "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.",
        handler: spop,
        ..Command::DEFAULT
    },
    Command {
        name: "srandmember",
        arity: -2,
        flags: READONLY,
        keys: KEY1,
        group: "set",
        since: "1.0.0",
        args: "key [count]",
        summary: "Get one or multiple random members from a set",
        handler: srandmember,
        ..Command::DEFAULT
    },
    Command {
        name: "sinter",
        arity: -2,
        flags: READONLY,
        keys: ALL_KEYS,
        group: "set",
        since: "1.0.0",
        args: "key [key ...]",
        summary: "Returns the intersect of multiple sets.",
        handler: sinter,
        ..Command::DEFAULT
    },
    Command {
        name: "sintercard",
        movable_keys: Some(crate::cmd::numkeys_at::<1>),
        arity: -3,
        flags: READONLY,
        keys: NOKEYS,
        group: "set",
        since: "7.0.0",
        args: "numkeys key [key ...] [LIMIT limit]",
        summary: "Returns the number of members of the intersect of multiple sets.",
        handler: sintercard,
        ..Command::DEFAULT
    },
    Command {
        name: "sunion",
        arity: -2,
        flags: READONLY,
        keys: ALL_KEYS,
        group: "set",
        since: "1.0.0",
        args: "key [key ...]",
        summary: "Returns the union of multiple sets.",
        handler: sunion,
        ..Command::DEFAULT
    },
    Command {
        name: "sdiff",
        arity: -2,
        flags: READONLY,
        keys: ALL_KEYS,
        group: "set",
        since: "1.0.0",
        args: "key [key ...]",
        summary: "Returns the difference of multiple sets.",
        handler: sdiff,
        ..Command::DEFAULT
    },
    Command {
        name: "sinterstore",
        arity: -3,
        flags: WRITE | DENYOOM,
        keys: ALL_KEYS,
        group: "set",
        since: "1.0.0",
        args: "destination key [key ...]",
        summary: "Stores the intersect of multiple sets in a key.",
        handler: sinterstore,
        ..Command::DEFAULT
    },
    Command {
        name: "sunionstore",
        arity: -3,
        flags: WRITE | DENYOOM,
        keys: ALL_KEYS,
        group: "set",
        since: "1.0.0",
        args: "destination key [key ...]",
        summary: "Stores the union of multiple sets in a key.",
        handler: sunionstore,
        ..Command::DEFAULT
    },
    Command {
        name: "sdiffstore",
        arity: -3,
        flags: WRITE | DENYOOM,
        keys: ALL_KEYS,
        group: "set",
        since: "1.0.0",
        args: "destination key [key ...]",
        summary: "Stores the difference of multiple sets in a key.",
        handler: sdiffstore,
        ..Command::DEFAULT
    },
    Command {
        name: "smove",
        arity: 4,
        flags: WRITE | FAST,
        keys: Keys { first: 1, last: 2, step: 1 },
        group: "set",
        since: "1.0.0",
        args: "source destination member",
        summary: "Moves a member from one set to another.",
        handler: smove,
        ..Command::DEFAULT
    },
    Command {
        name: "sscan",
        arity: -3,
        flags: READONLY,
        keys: KEY1,
        group: "set",
        since: "2.8.0",
        args: "key cursor [MATCH pattern] [COUNT count]",
        summary: "Iterates over members of a set.",
        handler: sscan,
        ..Command::DEFAULT
    },
];

// ---------------------------------------------------------------- lookups

/// Slab position of a live set for writing: `Ok(None)` when missing,
/// WRONGTYPE (without touching WATCHers) when the key holds something else.
fn lookup_set_write(db: &mut Db, key: &[u8]) -> Result<Option<u32>, Error> {
    match db.lookup(key) {
        None => Ok(None),
        Some(idx) if matches!(db.entry(idx).value, Value::Set(_)) => Ok(Some(idx)),
        Some(_) => Err(Error::WrongType),
    }
}

fn set_at(db: &Db, idx: u32) -> &Set {
    match &db.entry(idx).value {
        Value::Set(s) => s,
        _ => unreachable!("type checked"),
    }
}

fn set_at_mut(db: &mut Db, idx: u32) -> &mut Set {
    match &mut db.entry_mut(idx).value {
        Value::Set(s) => s,
        _ => unreachable!("type checked"),
    }
}

/// Read access: `Ok(None)` when the key is missing.
fn set_ref<'a>(db: &'a mut Db, key: &[u8]) -> Result<Option<&'a Set>, Error> {
    match db.get(key) {
        None => Ok(None),
        Some(Value::Set(s)) => Ok(Some(s)),
        Some(_) => Err(Error::WrongType),
    }
}

/// Read lookups of several keys, in order (the first wrong type is the
/// error, whatever comes before it). Returns slab positions: entries do not
/// move while later keys are looked up, so all of them stay valid.
fn lookup_sets_read(db: &mut Db, keys: &[Bytes]) -> Result<Vec<Option<u32>>, Error> {
    let clock = (db.now / 1000) as u32;
    let mut v = Vec::with_capacity(keys.len());
    for k in keys {
        match db.lookup(k) {
            None => {
                db.misses += 1;
                v.push(None);
            }
            Some(idx) => {
                if !matches!(db.entry(idx).value, Value::Set(_)) {
                    return Err(Error::WrongType);
                }
                db.hits += 1;
                db.set_lru(idx, clock);
                v.push(Some(idx));
            }
        }
    }
    Ok(v)
}

#[inline]
fn bulk_member(out: &mut Out, m: Member) {
    match m {
        Member::Int(i) => out.bulk_int(i),
        Member::Bytes(b) => out.bulk(b),
    }
}

/// Reply with every member of `s` as a RESP3 set (array in RESP2).
fn reply_set(out: &mut Out, s: &Set) {
    out.set(s.len());
    for m in s.iter() {
        bulk_member(out, m);
    }
}

fn max_intset(ctx: &Ctx) -> usize {
    ctx.store.limits.set_max_intset_entries
}

// ---------------------------------------------------------------- single-key commands

fn sadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let max = max_intset(ctx);
    let db = &mut ctx.store.dbs[ctx.client.db];
    let key = &args[1];
    let idx = match lookup_set_write(db, key)? {
        Some(idx) => idx,
        None => db.set(key, Value::Set(Box::default()), false),
    };
    let s = set_at_mut(db, idx);
    let added = args[2..].iter().filter(|m| s.insert(m, max)).count();
    if added > 0 {
        db.touch(key);
        ctx.dirty(added as u64);
    }
    ctx.out.int(added as i64);
    Ok(())
}

fn srem(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    let key = &args[1];
    let Some(idx) = lookup_set_write(db, key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let s = set_at_mut(db, idx);
    let removed = args[2..].iter().filter(|m| s.remove(m)).count();
    let now_empty = s.is_empty();
    if removed > 0 {
        db.touch(key);
        if now_empty {
            db.remove(key);
        }
        ctx.dirty(removed as u64);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

fn smembers(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    match set_ref(db, &args[1])? {
        Some(s) => reply_set(ctx.out, s),
        None => ctx.out.set(0),
    }
    Ok(())
}

fn sismember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    let found = set_ref(db, &args[1])?.is_some_and(|s| s.contains(&args[2]));
    ctx.out.int(found as i64);
    Ok(())
}

fn smismember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    let s = set_ref(db, &args[1])?;
    ctx.out.array(args.len() - 2);
    for m in &args[2..] {
        ctx.out.int(s.is_some_and(|s| s.contains(m)) as i64);
    }
    Ok(())
}

fn scard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    let n = set_ref(db, &args[1])?.map_or(0, |s| s.len());
    ctx.out.int(n as i64);
    Ok(())
}

/// SPOP key [count]. Replayed as SREM of the concrete members (in batches
/// of 1024, several wrapped in MULTI/EXEC by the propagator), or as DEL when
/// a count takes the whole set, as Redis 7.0 does.
fn spop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(Error::Syntax);
    }
    let count = match args.get(2) {
        None => None,
        Some(a) => match parse_i64(a) {
            Some(n) if n >= 0 => Some(n as u64),
            _ => return Err(Error::err("value is out of range, must be positive")),
        },
    };
    let key = &args[1];
    let db = &mut ctx.store.dbs[ctx.client.db];
    let Some(idx) = lookup_set_write(db, key)? else {
        match count {
            None => ctx.out.null(),
            Some(_) => ctx.out.set(0),
        }
        return Ok(());
    };
    let mut rng = rand::thread_rng();
    let s = set_at_mut(db, idx);
    let Some(count) = count else {
        let m = s.pop_random(&mut rng).expect("sets are never empty");
        if s.is_empty() {
            db.remove(key);
        } else {
            db.touch(key);
        }
        ctx.out.bulk(&m);
        ctx.propagate(vec![
            Bytes::from_static(b"SREM"),
            Bytes::copy_from_slice(key),
            Bytes::from(m),
        ]);
        ctx.dirty(1);
        return Ok(());
    };
    if count == 0 {
        ctx.out.set(0);
        return Ok(());
    }
    if count >= s.len() as u64 {
        reply_set(ctx.out, s);
        db.remove(key);
        ctx.propagate(vec![
            Bytes::from_static(b"DEL"),
            Bytes::copy_from_slice(key),
        ]);
        ctx.dirty(1);
        return Ok(());
    }
    let count = count as usize;
    ctx.out.set(count);
    let mut batch: Vec<Bytes> = Vec::new();
    let mut batches = Vec::new();
    for _ in 0..count {
        let m = s.pop_random(&mut rng).expect("count < len");
        ctx.out.bulk(&m);
        if batch.is_empty() {
            batch.push(Bytes::from_static(b"SREM"));
            batch.push(Bytes::copy_from_slice(key));
        }
        batch.push(Bytes::from(m));
        if batch.len() == 1024 + 2 {
            batches.push(std::mem::take(&mut batch));
        }
    }
    if !batch.is_empty() {
        batches.push(batch);
    }
    db.touch(key);
    for b in batches {
        ctx.propagate(b);
    }
    ctx.dirty(count as u64);
    Ok(())
}

/// SRANDMEMBER key [count]: a positive count gives distinct members, a
/// negative one |count| independent draws (repeats allowed).
fn srandmember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(Error::Syntax);
    }
    let count = match args.get(2) {
        None => None,
        Some(a) => match parse_i64(a) {
            None => return Err(Error::NotInteger),
            Some(i64::MIN) => {
                return Err(Error::err(
                    "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
                ))
            }
            Some(n) => Some(n),
        },
    };
    let db = &mut ctx.store.dbs[ctx.client.db];
    let Some(s) = set_ref(db, &args[1])? else {
        match count {
            None => ctx.out.null(),
            Some(_) => ctx.out.array(0),
        }
        return Ok(());
    };
    let mut rng = rand::thread_rng();
    let Some(count) = count else {
        bulk_member(ctx.out, s.random(&mut rng).expect("sets are never empty"));
        return Ok(());
    };
    if count < 0 {
        // Redis 7.0 tries to build any reply and is killed for lack of memory
        // on absurd counts; refuse those instead of taking the server down.
        if count < -(1 << 32) {
            return Err(Error::err("value is out of range"));
        }
        let n = count.unsigned_abs() as usize;
        ctx.out.array(n);
        for _ in 0..n {
            bulk_member(ctx.out, s.random(&mut rng).expect("non-empty"));
        }
    } else if count as u64 >= s.len() as u64 {
        ctx.out.array(s.len());
        for m in s.iter() {
            bulk_member(ctx.out, m);
        }
    } else {
        let picked = s.sample_distinct(&mut rng, count as usize);
        ctx.out.array(picked.len());
        for m in picked {
            bulk_member(ctx.out, m);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- set algebra

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Inter,
    Union,
    Diff,
}

/// Where the result of an operation goes.
enum Sink<'a> {
    /// Reply with the members (a RESP3 set); a union deduplicates through a
    /// temporary set built with this intset limit.
    Reply(usize),
    /// Count only, stopping at `limit` (0 = no limit).
    Card(usize),
    /// Build a set for a STORE variant.
    Store(&'a mut Set, usize),
}

/// Compute `op` over `sets` (missing keys are empty sets) into `sink`.
/// Returns the result's cardinality; with `Sink::Reply` the members are
/// written to `body` (the caller writes the header).
fn compute(op: Op, sets: &[Option<&Set>], sink: &mut Sink, body: &mut Out) -> usize {
    let mut n = 0;
    let mut emit = |m: Member, sink: &mut Sink| -> bool {
        match sink {
            Sink::Reply(_) => {
                bulk_member(body, m);
                n += 1;
            }
            Sink::Card(limit) => {
                n += 1;
                if *limit != 0 && n >= *limit {
                    return false;
                }
            }
            Sink::Store(dst, max) => {
                if dst.insert_member(m, *max) {
                    n += 1;
                }
            }
        }
        true
    };
    match op {
        Op::Inter => {
            if sets.iter().any(|s| s.is_none()) {
                return 0;
            }
            let mut sets: Vec<&Set> = sets.iter().flatten().copied().collect();
            sets.sort_by_key(|s| s.len());
            let (first, rest) = sets.split_first().expect("at least one key");
            for m in first.iter() {
                if rest.iter().all(|o| o.contains_member(m)) && !emit(m, sink) {
                    break;
                }
            }
        }
        Op::Diff => {
            let Some(Some(first)) = sets.first() else {
                return 0;
            };
            let rest: Vec<&Set> = sets[1..].iter().flatten().copied().collect();
            for m in first.iter() {
                if !rest.iter().any(|o| o.contains_member(m)) {
                    emit(m, sink);
                }
            }
        }
        Op::Union => {
            let live: Vec<&Set> = sets.iter().flatten().copied().collect();
            if let Sink::Reply(max) = *sink {
                if live.len() == 1 {
                    for m in live[0].iter() {
                        emit(m, sink);
                    }
                    return n;
                }
                // Deduplicate through a temporary set (as Redis does).
                let mut tmp = Set::default();
                for s in &live {
                    for m in s.iter() {
                        tmp.insert_member(m, max);
                    }
                }
                for m in tmp.iter() {
                    emit(m, sink);
                }
            } else {
                for s in &live {
                    for m in s.iter() {
                        emit(m, sink);
                    }
                }
            }
        }
    }
    n
}

/// SINTER / SUNION / SDIFF: reply with the members as a RESP3 set.
fn algebra_reply(ctx: &mut Ctx, keys: &[Bytes], op: Op) -> CmdResult {
    let max = max_intset(ctx);
    let db = &mut ctx.store.dbs[ctx.client.db];
    let idxs = lookup_sets_read(db, keys)?;
    let db = &*db;
    let sets: Vec<Option<&Set>> = idxs.iter().map(|i| i.map(|i| set_at(db, i))).collect();
    let mut body = Out::new(ctx.out.proto);
    let n = compute(op, &sets, &mut Sink::Reply(max), &mut body);
    ctx.out.set(n);
    ctx.out.raw(&body.buf);
    Ok(())
}

/// SINTERSTORE / SUNIONSTORE / SDIFFSTORE: the destination is overwritten
/// whatever its type (and loses its TTL); an empty result deletes it.
fn algebra_store(ctx: &mut Ctx, args: &[Bytes], op: Op) -> CmdResult {
    let max = max_intset(ctx);
    let db = &mut ctx.store.dbs[ctx.client.db];
    let idxs = lookup_sets_read(db, &args[2..])?;
    let sets: Vec<Option<&Set>> = idxs.iter().map(|i| i.map(|i| set_at(db, i))).collect();
    let mut result = Set::default();
    let mut scratch = Out::new(ctx.out.proto);
    compute(op, &sets, &mut Sink::Store(&mut result, max), &mut scratch);
    let dst = &args[1];
    let n = result.len();
    if n > 0 {
        db.set(dst, Value::Set(Box::new(result)), false);
        ctx.dirty(1);
    } else if db.remove(dst).is_some() {
        ctx.dirty(1);
    }
    ctx.out.int(n as i64);
    Ok(())
}

fn sinter(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    algebra_reply(ctx, &args[1..], Op::Inter)
}

fn sunion(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    algebra_reply(ctx, &args[1..], Op::Union)
}

fn sdiff(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    algebra_reply(ctx, &args[1..], Op::Diff)
}

fn sinterstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    algebra_store(ctx, args, Op::Inter)
}

fn sunionstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    algebra_store(ctx, args, Op::Union)
}

fn sdiffstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    algebra_store(ctx, args, Op::Diff)
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit].
fn sintercard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let numkeys = match parse_i64(&args[1]) {
        Some(n) if n >= 1 => n as u64,
        _ => return Err(Error::err("numkeys should be greater than 0")),
    };
    if numkeys > (args.len() - 2) as u64 {
        return Err(Error::err(
            "Number of keys can't be greater than number of args",
        ));
    }
    let numkeys = numkeys as usize;
    let mut limit = 0usize;
    let mut i = 2 + numkeys;
    while i < args.len() {
        if eq_ic(&args[i], "limit") && i + 1 < args.len() {
            limit = match parse_i64(&args[i + 1]) {
                Some(l) if l >= 0 => l as usize,
                _ => return Err(Error::err("LIMIT can't be negative")),
            };
            i += 2;
        } else {
            return Err(Error::Syntax);
        }
    }
    let db = &mut ctx.store.dbs[ctx.client.db];
    let idxs = lookup_sets_read(db, &args[2..2 + numkeys])?;
    let db = &*db;
    let sets: Vec<Option<&Set>> = idxs.iter().map(|i| i.map(|i| set_at(db, i))).collect();
    let mut scratch = Out::new(ctx.out.proto);
    let n = compute(Op::Inter, &sets, &mut Sink::Card(limit), &mut scratch);
    ctx.out.int(n as i64);
    Ok(())
}

// ---------------------------------------------------------------- SMOVE / SSCAN

fn smove(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let max = max_intset(ctx);
    let (src, dst, member) = (&args[1], &args[2], &args[3]);
    let db = &mut ctx.store.dbs[ctx.client.db];
    let src_idx = db.lookup(src);
    let dst_idx = db.lookup(dst);
    let Some(si) = src_idx else {
        ctx.out.int(0);
        return Ok(());
    };
    let is_set = |db: &Db, i: u32| matches!(db.entry(i).value, Value::Set(_));
    if !is_set(db, si) || dst_idx.is_some_and(|d| !is_set(db, d)) {
        return Err(Error::WrongType);
    }
    if src == dst {
        let found = set_at(db, si).contains(member);
        ctx.out.int(found as i64);
        return Ok(());
    }
    let s = set_at_mut(db, si);
    if !s.remove(member) {
        ctx.out.int(0);
        return Ok(());
    }
    if s.is_empty() {
        db.remove(src);
    } else {
        db.touch(src);
    }
    let mut dirty = 1;
    let di = match dst_idx {
        Some(d) => d,
        None => db.set(dst, Value::Set(Box::default()), false),
    };
    if set_at_mut(db, di).insert(member, max) {
        db.touch(dst);
        dirty += 1;
    }
    ctx.dirty(dirty);
    ctx.out.int(1);
    Ok(())
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]. The cursor is checked
/// first, then the key (a missing key ends the iteration before the options
/// are even parsed, as in Redis 7.0), then the options.
fn sscan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let cursor = super::scan::parse_cursor(&args[2])?;
    let db = &mut ctx.store.dbs[ctx.client.db];
    let Some(s) = set_ref(db, &args[1])? else {
        super::scan::reply_empty(ctx.out);
        return Ok(());
    };
    let opts = super::scan::ScanOpts::parse(args, 3)?;
    let mut body = Out::new(ctx.out.proto);
    let mut n = 0;
    let next = s.scan(cursor, opts.count, |m| {
        m.with_bytes(|b| {
            if opts.matches(b) {
                body.bulk(b);
                n += 1;
            }
        })
    });
    super::scan::reply_header(ctx.out, next, n);
    ctx.out.raw(&body.buf);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_parsing() {
        assert_eq!(crate::cmd::scan::parse_cursor(b"").ok(), Some(0));
        assert_eq!(crate::cmd::scan::parse_cursor(b"42").ok(), Some(42));
        assert_eq!(crate::cmd::scan::parse_cursor(b"-1").ok(), Some(u64::MAX));
        assert_eq!(crate::cmd::scan::parse_cursor(b"x").ok(), None);
        assert_eq!(
            crate::cmd::scan::parse_cursor(b"99999999999999999999").ok(),
            None
        );
    }

    fn set_of(items: &[&str], max: usize) -> Set {
        let mut s = Set::default();
        for i in items {
            s.insert(i.as_bytes(), max);
        }
        s
    }

    fn run(op: Op, sets: &[Option<&Set>]) -> Vec<Vec<u8>> {
        let mut r = Set::default();
        compute(
            op,
            sets,
            &mut Sink::Store(&mut r, 512),
            &mut Out::new(crate::resp::Proto::Resp2),
        );
        let mut v: Vec<Vec<u8>> = r.iter().map(|m| m.to_vec()).collect();
        v.sort();
        v
    }

    #[test]
    fn algebra_mixes_encodings() {
        let a = set_of(&["1", "2", "3", "x"], 512);
        let b = set_of(&["2", "3", "4"], 512);
        assert_eq!(a.encoding(), "hashtable");
        assert_eq!(b.encoding(), "intset");
        let v = |s: &[&str]| s.iter().map(|x| x.as_bytes().to_vec()).collect::<Vec<_>>();
        assert_eq!(run(Op::Inter, &[Some(&a), Some(&b)]), v(&["2", "3"]));
        assert_eq!(run(Op::Inter, &[Some(&a), None]), v(&[]));
        assert_eq!(
            run(Op::Union, &[Some(&a), None, Some(&b)]),
            v(&["1", "2", "3", "4", "x"])
        );
        assert_eq!(run(Op::Diff, &[Some(&a), Some(&b)]), v(&["1", "x"]));
        assert_eq!(run(Op::Diff, &[None, Some(&b)]), v(&[]));
        let mut out = Out::new(crate::resp::Proto::Resp2);
        assert_eq!(
            compute(
                Op::Inter,
                &[Some(&a), Some(&b)],
                &mut Sink::Card(1),
                &mut out
            ),
            1
        );
        assert_eq!(
            compute(
                Op::Inter,
                &[Some(&a), Some(&b)],
                &mut Sink::Card(0),
                &mut out
            ),
            2
        );
        assert!(out.is_empty());
    }

    /// Runs commands through the real executor with a capturing replication
    /// sink, so the propagated effects can be checked exactly.
    mod propagation {
        use crate::cmd::testkit::Harness as H;
        use crate::store::Value;

        fn set_members(h: &H, key: &str) -> Vec<String> {
            let mut v: Vec<String> = match h.srv.store.lock().dbs[0].get(key.as_bytes()) {
                Some(Value::Set(s)) => s
                    .iter()
                    .map(|m| String::from_utf8(m.to_vec()).unwrap())
                    .collect(),
                _ => Vec::new(),
            };
            v.sort();
            v
        }

        /// Members of a RESP2 array reply.
        fn bulks(reply: &str) -> Vec<String> {
            reply
                .split("\r\n")
                .skip(1)
                .filter(|l| !l.starts_with('$') && !l.is_empty())
                .map(String::from)
                .collect()
        }

        #[test]
        fn spop_propagates_srem_of_the_popped_members() {
            let mut h = H::new();
            assert_eq!(h.exchange("SADD s a b c d e").1, vec!["SADD s a b c d e"]);
            let (r, p) = h.exchange("SPOP s");
            let m = bulks(&r);
            assert_eq!(m.len(), 1);
            assert_eq!(p, vec![format!("SREM s {}", m[0])]);
            let (r, p) = h.exchange("SPOP s 2");
            let mut popped = bulks(&r);
            assert_eq!(popped.len(), 2);
            assert_eq!(p.len(), 1, "{p:?}");
            let mut repl: Vec<String> = p[0].split(' ').skip(2).map(String::from).collect();
            assert!(p[0].starts_with("SREM s "));
            popped.sort();
            repl.sort();
            assert_eq!(popped, repl);
            assert_eq!(set_members(&h, "s").len(), 2);
            // Taking the rest deletes the key: replayed as DEL.
            let (r, p) = h.exchange("SPOP s 10");
            assert_eq!(bulks(&r).len(), 2);
            assert_eq!(p, vec!["DEL s"]);
            assert!(set_members(&h, "s").is_empty());
            // Nothing happens: nothing propagated.
            assert!(h.exchange("SPOP s").1.is_empty());
            assert!(h.exchange("SPOP s 3").1.is_empty());
            h.exchange("SADD s 1");
            assert!(h.exchange("SPOP s 0").1.is_empty());
            // The last member popped without a count: SREM empties (deletes) it on replay too.
            assert_eq!(
                h.exchange("SPOP s"),
                ("$1\r\n1\r\n".into(), vec!["SREM s 1".into()])
            );
        }

        #[test]
        fn large_spop_is_batched_and_atomic() {
            let mut h = H::new();
            let members: Vec<String> = (0..3000).map(|i| format!("m{i}")).collect();
            h.exchange(&format!("SADD big {}", members.join(" ")));
            let (_, p) = h.exchange("SPOP big 2500");
            // MULTI, 3 SREMs (1024 + 1024 + 452), EXEC.
            assert_eq!(
                p.len(),
                5,
                "{:?}",
                p.iter().map(|l| l.len()).collect::<Vec<_>>()
            );
            assert_eq!(p[0], "MULTI");
            assert_eq!(p[4], "EXEC");
            let n: usize = p[1..4].iter().map(|l| l.split(' ').count() - 2).sum();
            assert_eq!(n, 2500);
            assert_eq!(set_members(&h, "big").len(), 500);
        }

        #[test]
        fn deterministic_writes_are_verbatim_and_no_ops_silent() {
            let mut h = H::new();
            h.exchange("SADD a 1 2 3");
            assert!(h.exchange("SADD a 1").1.is_empty());
            assert!(h.exchange("SREM a 9").1.is_empty());
            assert_eq!(h.exchange("SREM a 3").1, vec!["SREM a 3"]);
            assert_eq!(h.exchange("SMOVE a b 1").1, vec!["SMOVE a b 1"]);
            assert!(h.exchange("SMOVE a b 1").1.is_empty());
            assert_eq!(h.exchange("SUNIONSTORE d a b").1, vec!["SUNIONSTORE d a b"]);
            assert_eq!(h.exchange("SINTERSTORE d a b").1, vec!["SINTERSTORE d a b"]);
            assert!(
                h.exchange("SINTERSTORE d a b").1.is_empty(),
                "nothing to delete"
            );
            assert!(h.exchange("SMEMBERS a").1.is_empty());
        }
    }
}
