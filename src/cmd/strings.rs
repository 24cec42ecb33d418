//! String and bitmap commands (Redis 7.0 `t_string.c` / `bitops.c` semantics).
//!
//! Hot paths (GET, plain SET, INCR family) avoid heap allocation: GET writes
//! the stored bytes straight into the reply buffer, a plain SET is one
//! `Db::set`, and counters are formatted into an inline `SmallBytes`.
//! Writes whose replayable form differs from what the client sent (relative
//! TTLs, GETEX, GETDEL, GETSET, INCRBYFLOAT, SET ... GET) record their effect
//! explicitly, as a 7.0 master propagates it.

pub mod bitfield;
pub(crate) mod longdouble;

use super::{flags::*, Command, Ctx, Keys, KEY1};
use crate::error::{CmdResult, Error};
use crate::store::{Db, SmallBytes, Value};
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;

pub static COMMANDS: &[super::Command] = &[
    Command {
        name: "get",
        arity: 2,
        flags: READONLY | FAST,
        keys: KEY1,
        group: "string",
        since: "1.0.0",
        args: "key",
        summary: "Returns the string value of a key.",
        handler: get,
        ..Command::DEFAULT
    },
    Command {
        name: "set",
        arity: -3,
        flags: WRITE | DENYOOM,
        keys: KEY1,
        group: "string",
        since: "1.0.0",
        args: "key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]",
        summary: "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
        handler: set,
        ..Command::DEFAULT
    },
    Command {
        name: "setnx",
        arity: 3,
        flags: WRITE | DENYOOM | FAST,
        keys: KEY1,
        group: "string",
        since: "1.0.0",
        args: "key value",
        summary: "Set the string value of a key only when the key doesn't exist.",
        handler: setnx,
        ..Command::DEFAULT
    },
    Command {
        name: "setex",
        arity: 4,
        flags: WRITE | DENYOOM,
        keys: KEY1,
        group: "string",
        since: "2.0.0",
        args: "key seconds value",
        summary: "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.",
        handler: setex,
        ..Command::DEFAULT
    },
    Command {
        name: "psetex",
        arity: 4,
        flags: WRITE | DENYOOM,
        keys: KEY1,
        group: "string",
        since: "2.6.0",
        args: "key milliseconds value",
        summary: "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.",
        handler: psetex,
        ..Command::DEFAULT
    },
    Command {
        name: "getset",
        arity: 3,
        flags: WRITE | DENYOOM | FAST,
        keys: KEY1,
        group: "string",
        since: "1.0.0",
        args: "key value",
        summary: "Returns the previous string value of a key after setting it to a new value.",
        handler: getset,
        ..Command::DEFAULT
    },
    Command {
        name: "getdel",
        arity: 2,
        flags: WRITE | FAST,
        keys: KEY1,
        group: "string",
        since: "6.2.0",
        args: "key",
        summary: "Returns the string value of a key after deleting the key.",
        handler: getdel,
        ..Command::DEFAULT
    },
    Command {
        name: "getex",
        arity: -2,
        flags: WRITE | FAST,
        keys: KEY1,
        group: "string",
        since: "6.2.0",
        args: "key [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|PERSIST]",
        summary: "Returns the string value of a key after setting its expiration time.",
        handler: getex,
        ..Command::DEFAULT
    },
    Command {
        name: "mget",
        arity: -2,
        flags: READONLY | FAST,
        keys: Keys { first: 1, last: -1, step: 1 },
        group: "string",
        since: "1.0.0",
        args: "key [key ...]",
        summary: "Atomically returns the string values of one or more keys.",
        handler: mget,
        ..Command::DEFAULT
    },
    Command {
        name: "mset",
        arity: -3,
        flags: WRITE | DENYOOM,
        keys: Keys { first: 1, last: -1, step: 2 },
        group: "string",
        since: "1.0.1",
        args: "key value [key value ...]",
        summary: "Atomically creates or modifies the string values of one or more keys.",
        handler: mset,
        ..Command::DEFAULT
    },
    Command {
        name: "msetnx",
        arity: -3,
        flags: WRITE | DENYOOM,
        keys: Keys { first: 1, last: -1, step: 2 },
        group: "string",
        since: "1.0.1",
        args: "key value [key value ...]",
        summary: "Atomically modifies the string values of one or more keys only when all keys don't exist.",
        handler: msetnx,
        ..Command::DEFAULT
    },
    Command {
        name: "append",
        arity: 3,
        flags: WRITE | DENYOOM | FAST,
        keys: KEY1,
        group: "string",
        since: "2.0.0",
        args: "key value",
        summary: "Appends a string to the value of a key. Creates the key if it doesn't exist.",
        handler: append,
        ..Command::DEFAULT
    },
    Command {
        name: "strlen",
        arity: 2,
        flags: READONLY | FAST,
        keys: KEY1,
        group: "string",
        since: "2.2.0",
        args: "key",
        summary: "Returns the length of a string value.",
        handler: strlen,
        ..Command::DEFAULT
    },
    Command {
        name: "getrange",
        arity: 4,
        flags: READONLY,
        keys: KEY1,
        group: "string",
        since: "2.4.0",
        args: "key start end",
        summary: "Returns a substring of the string stored at a key.",
        handler: getrange,
        ..Command::DEFAULT
    },
    Command {
        name: "substr",
        arity: 4,
        flags: READONLY,
        keys: KEY1,
        group: "string",
        since: "1.0.0",
        args: "key start end",
        summary: "Returns a substring from a string value.",
        handler: getrange,
        ..Command::DEFAULT
    },
    Command {
        name: "setrange",
        arity: 4,
        flags: WRITE | DENYOOM,
        keys: KEY1,
        group: "string",
        since: "2.2.0",
        args: "key offset value",
        summary: "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.",
        handler: setrange,
        ..Command::DEFAULT
    },
    Command {
        name: "incr",
        arity: 2,
        flags: WRITE | DENYOOM | FAST,
        keys: KEY1,
        group: "string",
        since: "1.0.0",
        args: "key",
        summary: "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
        handler: incr,
        ..Command::DEFAULT
    },
    Command {
        name: "decr",
        arity: 2,
        flags: WRITE | DENYOOM | FAST,
        keys: KEY1,
        group: "string",
        since: "1.0.0",
        args: "key",
        summary: "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
        handler: decr,
        ..Command::DEFAULT
    },
    Command {
        name: "incrby",
        arity: 3,
        flags: WRITE | DENYOOM | FAST,
        keys: KEY1,
        group: "string",
        since: "1.0.0",
        args: "key increment",
        summary: "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
        handler: incrby,
        ..Command::DEFAULT
    },
    Command {
        name: "decrby",
        arity: 3,
        flags: WRITE | DENYOOM | FAST,
        keys: KEY1,
        group: "string",
        since: "1.0.0",
        args: "key decrement",
        summary: "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.",
        handler: decrby,
        ..Command::DEFAULT
    },
    Command {
        name: "incrbyfloat",
        arity: 3,
        flags: WRITE | DENYOOM | FAST,
        keys: KEY1,
        group: "string",
        since: "2.6.0",
        args: "key increment",
        summary: "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
        handler: incrbyfloat,
        ..Command::DEFAULT
    },
    Command {
        name: "setbit",
        arity: 4,
        flags: WRITE | DENYOOM,
        keys: KEY1,
        group: "bitmap",
        since: "2.2.0",
        args: "key offset value",
        summary: "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.",
        handler: setbit,
        ..Command::DEFAULT
    },
    Command {
        name: "getbit",
        arity: 3,
        flags: READONLY | FAST,
        keys: KEY1,
        group: "bitmap",
        since: "2.2.0",
        args: "key offset",
        summary: "Returns a bit value by offset.",
        handler: getbit,
        ..Command::DEFAULT
    },
    Command {
        name: "bitcount",
        arity: -2,
        flags: READONLY,
        keys: KEY1,
        group: "bitmap",
        since: "2.6.0",
        args: "key [start end [BYTE|BIT]]",
        summary: "Counts the number of set bits (population counting) in a string.",
        handler: bitcount,
        ..Command::DEFAULT
    },
    Command {
        name: "bitpos",
        arity: -3,
        flags: READONLY,
        keys: KEY1,
        group: "bitmap",
        since: "2.8.7",
        args: "key bit [start [end [BYTE|BIT]]]",
        summary: "Finds the first set (1) or clear (0) bit in a string.",
        handler: bitpos,
        ..Command::DEFAULT
    },
    Command {
        name: "bitop",
        arity: -4,
        flags: WRITE | DENYOOM,
        keys: Keys { first: 2, last: -1, step: 1 },
        group: "bitmap",
        since: "2.6.0",
        args: "AND|OR|XOR|NOT destkey key [key ...]",
        summary: "Performs bitwise operations on multiple strings, and stores the result.",
        handler: bitop,
        ..Command::DEFAULT
    },
    Command {
        name: "lcs",
        arity: -3,
        flags: READONLY,
        keys: Keys { first: 1, last: 2, step: 1 },
        group: "string",
        since: "7.0.0",
        args: "key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]",
        summary: "Finds the longest common substring.",
        handler: lcs,
        ..Command::DEFAULT
    },
];

// ---------------------------------------------------------------- helpers

#[inline]
fn db<'a>(ctx: &'a mut Ctx) -> &'a mut Db {
    &mut ctx.store.dbs[ctx.client.db]
}

/// Record an explicit effect, but only build it when someone listens
/// (the executor's verbatim propagation follows the same rule).
fn effect(ctx: &mut Ctx, args: Vec<Bytes>) {
    if ctx.store.repl.wants_effects() {
        ctx.propagate(args);
    }
}

/// Cheap static argument for effects.
#[inline]
fn lit(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

fn int_arg(i: i64) -> Bytes {
    let mut b = itoa::Buffer::new();
    Bytes::copy_from_slice(b.format(i).as_bytes())
}

fn max_bulk(ctx: &Ctx) -> u64 {
    ctx.client.cfg.proto_max_bulk_len as u64
}

fn too_big() -> Error {
    Error::err("string exceeds maximum allowed size (proto-max-bulk-len)")
}

/// Slab position of a live key for a write (no hit/miss accounting, like
/// Redis's lookupKeyWrite). Watchers are only touched once data changes.
#[inline]
fn lookup_write(db: &mut Db, key: &[u8]) -> Option<u32> {
    let idx = db.lookup(key)?;
    let clock = (db.now / 1000) as u32;
    db.bump_lru(idx, clock);
    Some(idx)
}

/// The string at `idx`, or WRONGTYPE.
#[inline]
fn str_at(db: &Db, idx: u32) -> Result<&[u8], Error> {
    match &db.entry(idx).value {
        Value::Str(s) => Ok(s.as_bytes()),
        _ => Err(Error::WrongType),
    }
}

/// Mutate a stored string as a growable vector (the heap buffer is reused).
fn edit_str<R>(s: &mut SmallBytes, f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    let old = std::mem::replace(s, SmallBytes::new(b""));
    let mut v = match old {
        SmallBytes::Heap(b) => b.into_vec(),
        inline => inline.as_bytes().to_vec(),
    };
    let r = f(&mut v);
    *s = SmallBytes::from(v);
    r
}

/// Reply with a key's string value like Redis's getGenericCommand: nil when
/// missing, WRONGTYPE for other types. Returns whether the key exists.
fn reply_get(ctx: &mut Ctx, key: &[u8]) -> Result<bool, Error> {
    let db = &mut ctx.store.dbs[ctx.client.db];
    match db.get(key) {
        None => {
            ctx.out.null();
            Ok(false)
        }
        Some(Value::Str(s)) => {
            ctx.out.bulk(s.as_bytes());
            Ok(true)
        }
        Some(_) => Err(Error::WrongType),
    }
}

// ---------------------------------------------------------------- GET / SET family

fn get(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    reply_get(ctx, &args[1]).map(|_| ())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ExpKind {
    Ex,
    Px,
    ExAt,
    PxAt,
}

#[derive(Default)]
struct SetOpts<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    expire: Option<(ExpKind, &'a [u8])>,
}

/// Parse SET (from argument 3) or GETEX (from argument 2) options with the
/// same compatibility rules as Redis's parseExtendedStringArgumentsOrReply.
fn parse_set_opts(args: &[Bytes], from: usize, is_set: bool) -> Result<SetOpts<'_>, Error> {
    let mut o = SetOpts::default();
    let mut j = from;
    while j < args.len() {
        let a = &args[j][..];
        let next = args.get(j + 1);
        let kind = |o: &SetOpts| o.expire.map(|e| e.0);
        if is_set && eq_ic(a, "nx") && !o.xx {
            o.nx = true;
        } else if is_set && eq_ic(a, "xx") && !o.nx {
            o.xx = true;
        } else if is_set && eq_ic(a, "get") {
            o.get = true;
        } else if is_set && eq_ic(a, "keepttl") && o.expire.is_none() {
            o.keepttl = true;
        } else if !is_set && eq_ic(a, "persist") && o.expire.is_none() {
            o.persist = true;
        } else if let (Some(k), Some(n)) = (
            match () {
                _ if eq_ic(a, "ex") => Some(ExpKind::Ex),
                _ if eq_ic(a, "px") => Some(ExpKind::Px),
                _ if eq_ic(a, "exat") => Some(ExpKind::ExAt),
                _ if eq_ic(a, "pxat") => Some(ExpKind::PxAt),
                _ => None,
            },
            next,
        ) {
            // The same unit may repeat (last wins); different units conflict.
            if o.keepttl || o.persist || kind(&o).is_some_and(|cur| cur != k) {
                return Err(Error::Syntax);
            }
            o.expire = Some((k, &n[..]));
            j += 1;
        } else {
            return Err(Error::Syntax);
        }
        j += 1;
    }
    Ok(o)
}

/// Absolute expiry in ms from an EX/PX/EXAT/PXAT argument (getExpireMillisecondsOrReply).
fn expire_at(ctx: &Ctx, kind: ExpKind, arg: &[u8]) -> Result<i64, Error> {
    let v = parse_i64(arg).ok_or(Error::NotInteger)?;
    let secs = matches!(kind, ExpKind::Ex | ExpKind::ExAt);
    let invalid = || Error::InvalidExpire(ctx.cmd.name.to_string());
    if v <= 0 || (secs && v > i64::MAX / 1000) {
        return Err(invalid());
    }
    let mut ms = if secs { v * 1000 } else { v };
    if matches!(kind, ExpKind::Ex | ExpKind::Px) {
        ms = ms.checked_add(ctx.now as i64).ok_or_else(invalid)?;
    }
    if ms <= 0 {
        return Err(invalid());
    }
    Ok(ms)
}

fn set(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() == 3 {
        // Fast path: no options.
        db(ctx).set(&args[1], Value::str(&args[2]), false);
        ctx.dirty(1);
        ctx.out.ok();
        return Ok(());
    }
    let o = parse_set_opts(args, 3, true)?;
    set_generic(ctx, &args[1], &args[2], &o, args, None)
}

/// The shared tail of SET/SETNX/SETEX/PSETEX. `replies` = (ok, aborted) for SETNX.
fn set_generic(
    ctx: &mut Ctx,
    key: &Bytes,
    val: &Bytes,
    o: &SetOpts,
    args: &[Bytes],
    replies: Option<(i64, i64)>,
) -> CmdResult {
    let when = match o.expire {
        Some((kind, arg)) => Some(expire_at(ctx, kind, arg)?),
        None => None,
    };
    if o.get {
        reply_get(ctx, key)?;
    }
    let db = &mut ctx.store.dbs[ctx.client.db];
    let found = lookup_write(db, key).is_some();
    if (o.nx && found) || (o.xx && !found) {
        if !o.get {
            match replies {
                Some((_, abort)) => ctx.out.int(abort),
                None => ctx.out.null(),
            }
        }
        return Ok(());
    }
    let idx = db.set(key, Value::str(val), o.keepttl);
    if let Some(ms) = when {
        db.set_expire_idx(idx, ms as u64);
    }
    ctx.dirty(1);
    if !o.get {
        match replies {
            Some((ok, _)) => ctx.out.int(ok),
            None => ctx.out.ok(),
        }
    }
    if let Some(ms) = when {
        effect(
            ctx,
            vec![
                lit("SET"),
                key.clone(),
                val.clone(),
                lit("PXAT"),
                int_arg(ms),
            ],
        );
    } else if o.get && ctx.store.repl.wants_effects() {
        // Propagate without the GET option(s).
        let v = args
            .iter()
            .enumerate()
            .filter(|(j, a)| *j < 3 || !eq_ic(a, "get"))
            .map(|(_, a)| a.clone())
            .collect();
        ctx.propagate(v);
    }
    Ok(())
}

fn setnx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let o = SetOpts {
        nx: true,
        ..Default::default()
    };
    set_generic(ctx, &args[1], &args[2], &o, args, Some((1, 0)))
}

fn setex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let o = SetOpts {
        expire: Some((ExpKind::Ex, &args[2][..])),
        ..Default::default()
    };
    set_generic(ctx, &args[1], &args[3], &o, args, None)
}

fn psetex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let o = SetOpts {
        expire: Some((ExpKind::Px, &args[2][..])),
        ..Default::default()
    };
    set_generic(ctx, &args[1], &args[3], &o, args, None)
}

fn getset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    reply_get(ctx, &args[1])?;
    db(ctx).set(&args[1], Value::str(&args[2]), false);
    ctx.dirty(1);
    if ctx.store.repl.wants_effects() {
        effect(ctx, vec![lit("SET"), args[1].clone(), args[2].clone()]);
    }
    Ok(())
}

fn getdel(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if reply_get(ctx, &args[1])? && db(ctx).remove(&args[1]).is_some() {
        ctx.dirty(1);
        if ctx.store.repl.wants_effects() {
            effect(ctx, vec![lit("DEL"), args[1].clone()]);
        }
    }
    Ok(())
}

fn getex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let o = parse_set_opts(args, 2, false)?;
    let key = &args[1];
    let db = &mut ctx.store.dbs[ctx.client.db];
    match db.get(key) {
        None => {
            ctx.out.null();
            return Ok(());
        }
        Some(Value::Str(_)) => {}
        Some(_) => return Err(Error::WrongType),
    }
    let when = match o.expire {
        Some((kind, arg)) => Some((kind, expire_at(ctx, kind, arg)?)),
        None => None,
    };
    let db = &mut ctx.store.dbs[ctx.client.db];
    let idx = db.lookup(key).expect("key just read");
    ctx.out.bulk(str_at(db, idx)?);
    match when {
        Some((ExpKind::ExAt | ExpKind::PxAt, ms)) if ms as u64 <= ctx.now && db.expire_deletes => {
            db.remove(key);
            ctx.dirty(1);
            effect(ctx, vec![lit("DEL"), key.clone()]);
        }
        Some((_, ms)) => {
            db.set_expire_idx(idx, ms as u64);
            db.touch(key);
            ctx.dirty(1);
            effect(ctx, vec![lit("PEXPIREAT"), key.clone(), int_arg(ms)]);
        }
        None if o.persist && db.entry(idx).expire != 0 => {
            db.set_expire_idx(idx, 0);
            db.touch(key);
            ctx.dirty(1);
            effect(ctx, vec![lit("PERSIST"), key.clone()]);
        }
        None => {}
    }
    Ok(())
}

fn mget(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    ctx.out.array(args.len() - 1);
    for k in &args[1..] {
        match db.get(k) {
            Some(Value::Str(s)) => ctx.out.bulk(s.as_bytes()),
            _ => ctx.out.null(),
        }
    }
    Ok(())
}

fn mset_pairs(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() % 2 == 0 {
        return Err(Error::arity(ctx.cmd.name));
    }
    Ok(())
}

fn mset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    mset_pairs(ctx, args)?;
    let db = &mut ctx.store.dbs[ctx.client.db];
    for p in args[1..].chunks_exact(2) {
        db.set(&p[0], Value::str(&p[1]), false);
    }
    ctx.dirty((args.len() / 2) as u64);
    ctx.out.ok();
    Ok(())
}

fn msetnx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    mset_pairs(ctx, args)?;
    let db = &mut ctx.store.dbs[ctx.client.db];
    if args[1..]
        .chunks_exact(2)
        .any(|p| db.lookup(&p[0]).is_some())
    {
        ctx.out.int(0);
        return Ok(());
    }
    for p in args[1..].chunks_exact(2) {
        db.set(&p[0], Value::str(&p[1]), false);
    }
    ctx.dirty((args.len() / 2) as u64);
    ctx.out.int(1);
    Ok(())
}

// ---------------------------------------------------------------- APPEND / STRLEN / ranges

fn append(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let limit = max_bulk(ctx);
    let (key, add) = (&args[1], &args[2]);
    let db = &mut ctx.store.dbs[ctx.client.db];
    let total = match lookup_write(db, key) {
        None => {
            db.set(key, Value::str(add), false);
            add.len()
        }
        Some(idx) => {
            let cur = str_at(db, idx)?.len();
            let total = cur + add.len();
            if total as u64 > limit {
                return Err(too_big());
            }
            if let Value::Str(s) = &mut db.entry_mut(idx).value {
                if total <= 22 {
                    let mut buf = [0u8; 22];
                    buf[..cur].copy_from_slice(s.as_bytes());
                    buf[cur..total].copy_from_slice(add);
                    *s = SmallBytes::new(&buf[..total]);
                } else {
                    edit_str(s, |v| {
                        v.reserve_exact(add.len());
                        v.extend_from_slice(add);
                    });
                }
            }
            db.touch(key);
            total
        }
    };
    ctx.dirty(1);
    ctx.out.int(total as i64);
    Ok(())
}

fn strlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let n = match db(ctx).get(&args[1]) {
        None => 0,
        Some(Value::Str(s)) => s.len(),
        Some(_) => return Err(Error::WrongType),
    };
    ctx.out.int(n as i64);
    Ok(())
}

fn getrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut start = parse_i64(&args[2]).ok_or(Error::NotInteger)?;
    let mut end = parse_i64(&args[3]).ok_or(Error::NotInteger)?;
    let db = &mut ctx.store.dbs[ctx.client.db];
    let s = match db.get(&args[1]) {
        None => {
            ctx.out.bulk(b"");
            return Ok(());
        }
        Some(Value::Str(s)) => s.as_bytes(),
        Some(_) => return Err(Error::WrongType),
    };
    let len = s.len() as i64;
    if start < 0 && end < 0 && start > end {
        ctx.out.bulk(b"");
        return Ok(());
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        ctx.out.bulk(b"");
    } else {
        ctx.out.bulk(&s[start as usize..=end as usize]);
    }
    Ok(())
}

fn setrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let offset = parse_i64(&args[2]).ok_or(Error::NotInteger)?;
    if offset < 0 {
        return Err(Error::err("offset is out of range"));
    }
    let limit = max_bulk(ctx);
    let (key, val) = (&args[1], &args[3]);
    let need = offset as u64 + val.len() as u64; // offset < 2^63, no overflow
    let offset = offset as usize;
    let db = &mut ctx.store.dbs[ctx.client.db];
    let len = match lookup_write(db, key) {
        None => {
            if val.is_empty() {
                ctx.out.int(0);
                return Ok(());
            }
            if need > limit {
                return Err(too_big());
            }
            let mut v = vec![0u8; need as usize];
            v[offset..].copy_from_slice(val);
            db.set(key, Value::Str(SmallBytes::from(v)), false);
            need as usize
        }
        Some(idx) => {
            let olen = str_at(db, idx)?.len();
            if val.is_empty() {
                ctx.out.int(olen as i64);
                return Ok(());
            }
            if need > limit {
                return Err(too_big());
            }
            let need = need as usize;
            let Value::Str(s) = &mut db.entry_mut(idx).value else {
                unreachable!("type checked")
            };
            let n = edit_str(s, |v| {
                if v.len() < need {
                    v.reserve_exact(need - v.len());
                    v.resize(need, 0);
                }
                v[offset..offset + val.len()].copy_from_slice(val);
                v.len()
            });
            db.touch(key);
            n
        }
    };
    ctx.dirty(1);
    ctx.out.int(len as i64);
    Ok(())
}

// ---------------------------------------------------------------- counters

fn incr_decr(ctx: &mut Ctx, key: &[u8], by: i64) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    let mut buf = itoa::Buffer::new();
    let new = match lookup_write(db, key) {
        Some(idx) => {
            let cur = parse_i64(str_at(db, idx)?).ok_or(Error::NotInteger)?;
            let new = cur.checked_add(by).ok_or(Error::Overflow)?;
            db.entry_mut(idx).value = Value::str(buf.format(new).as_bytes());
            db.touch(key);
            new
        }
        None => {
            db.set(key, Value::str(buf.format(by).as_bytes()), false);
            by
        }
    };
    ctx.dirty(1);
    ctx.out.int(new);
    Ok(())
}

fn incr(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    incr_decr(ctx, &args[1], 1)
}

fn decr(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    incr_decr(ctx, &args[1], -1)
}

fn incrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let by = parse_i64(&args[2]).ok_or(Error::NotInteger)?;
    incr_decr(ctx, &args[1], by)
}

fn decrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let by = parse_i64(&args[2]).ok_or(Error::NotInteger)?;
    if by == i64::MIN {
        return Err(Error::err("decrement would overflow"));
    }
    incr_decr(ctx, &args[1], -by)
}

fn incrbyfloat(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let db = &mut ctx.store.dbs[ctx.client.db];
    let idx = lookup_write(db, key);
    let cur = match idx {
        Some(i) => longdouble::parse(str_at(db, i)?).ok_or(Error::NotFloat)?,
        None => longdouble::Ld::ZERO,
    };
    let by = longdouble::parse(&args[2]).ok_or(Error::NotFloat)?;
    let sum = cur
        .add(by)
        .ok_or_else(|| Error::err("increment would produce NaN or Infinity"))?;
    let text = sum.to_human_string();
    match idx {
        Some(i) => {
            db.entry_mut(i).value = Value::str(text.as_bytes());
            db.touch(key);
        }
        None => {
            db.set(key, Value::str(text.as_bytes()), false);
        }
    }
    ctx.dirty(1);
    ctx.out.bulk(text.as_bytes());
    if ctx.store.repl.wants_effects() {
        let v = Bytes::from(text.into_bytes());
        effect(ctx, vec![lit("SET"), key.clone(), v, lit("KEEPTTL")]);
    }
    Ok(())
}

// ---------------------------------------------------------------- bitmaps

/// A bit offset argument (getBitOffsetFromArgument): 0 ≤ offset, offset/8 < proto-max-bulk-len.
fn bit_offset(ctx: &Ctx, arg: &[u8]) -> Result<u64, Error> {
    let err = || Error::err("bit offset is not an integer or out of range");
    let off = parse_i64(arg).ok_or_else(err)?;
    if off < 0 || (off as u64 >> 3) >= max_bulk(ctx) {
        return Err(err());
    }
    Ok(off as u64)
}

fn setbit(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let off = bit_offset(ctx, &args[2])?;
    let on = match parse_i64(&args[3]) {
        Some(v @ (0 | 1)) => v == 1,
        _ => return Err(Error::err("bit is not an integer or out of range")),
    };
    let key = &args[1];
    let byte = (off >> 3) as usize;
    let mask = 1u8 << (7 - (off & 7));
    let db = &mut ctx.store.dbs[ctx.client.db];
    let (old, changed) = match lookup_write(db, key) {
        None => {
            let mut v = vec![0u8; byte + 1];
            if on {
                v[byte] |= mask;
            }
            db.set(key, Value::Str(SmallBytes::from(v)), false);
            (false, true)
        }
        Some(idx) => {
            let cur = str_at(db, idx)?;
            let grow = cur.len() <= byte;
            let old = !grow && cur[byte] & mask != 0;
            if grow || old != on {
                let Value::Str(s) = &mut db.entry_mut(idx).value else {
                    unreachable!("type checked")
                };
                edit_str(s, |v| {
                    if v.len() <= byte {
                        v.reserve_exact(byte + 1 - v.len());
                        v.resize(byte + 1, 0);
                    }
                    if on {
                        v[byte] |= mask;
                    } else {
                        v[byte] &= !mask;
                    }
                });
                db.touch(key);
            }
            (old, grow || old != on)
        }
    };
    if changed {
        ctx.dirty(1);
    }
    ctx.out.int(old as i64);
    Ok(())
}

fn getbit(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let off = bit_offset(ctx, &args[2])?;
    let bit = match db(ctx).get(&args[1]) {
        None => 0,
        Some(Value::Str(s)) => {
            let b = s.as_bytes();
            let byte = (off >> 3) as usize;
            (byte < b.len() && b[byte] & (1 << (7 - (off & 7))) != 0) as i64
        }
        Some(_) => return Err(Error::WrongType),
    };
    ctx.out.int(bit);
    Ok(())
}

fn popcount(b: &[u8]) -> u64 {
    let mut chunks = b.chunks_exact(8);
    let mut n: u64 = 0;
    for c in &mut chunks {
        n += u64::from_ne_bytes(c.try_into().expect("8 bytes")).count_ones() as u64;
    }
    n + chunks
        .remainder()
        .iter()
        .map(|x| x.count_ones() as u64)
        .sum::<u64>()
}

/// Resolve a [start, end] range (bytes or bits) against a string of `len`
/// bytes into an inclusive bit range, the way BITCOUNT/BITPOS clamp it.
/// None = empty range.
fn bit_range(len: usize, mut start: i64, mut end: i64, bits: bool) -> Option<(u64, u64)> {
    let total = if bits { len as i64 * 8 } else { len as i64 };
    if start < 0 {
        start += total;
    }
    if end < 0 {
        end += total;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= total {
        end = total - 1;
    }
    if start > end {
        return None;
    }
    Some(if bits {
        (start as u64, end as u64)
    } else {
        (start as u64 * 8, end as u64 * 8 + 7)
    })
}

fn unit_arg(a: &[u8]) -> Result<bool, Error> {
    if eq_ic(a, "bit") {
        Ok(true)
    } else if eq_ic(a, "byte") {
        Ok(false)
    } else {
        Err(Error::Syntax)
    }
}

fn count_bits(s: &[u8], from: u64, to: u64) -> u64 {
    let (fb, tb) = ((from / 8) as usize, (to / 8) as usize);
    let mut n = popcount(&s[fb..=tb]);
    // Remove bits outside the range in the edge bytes.
    let head = (from % 8) as u32;
    if head > 0 {
        n -= (s[fb] >> (8 - head)).count_ones() as u64;
    }
    let tail = 7 - (to % 8) as u32;
    if tail > 0 {
        n -= (s[tb] & ((1u8 << tail) - 1)).count_ones() as u64;
    }
    n
}

fn bitcount(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    let s = match db.get(&args[1]) {
        None => {
            ctx.out.int(0);
            return Ok(());
        }
        Some(Value::Str(s)) => s.as_bytes(),
        Some(_) => return Err(Error::WrongType),
    };
    let range = match args.len() {
        2 => (!s.is_empty()).then(|| (0, s.len() as u64 * 8 - 1)),
        4 | 5 => {
            let start = parse_i64(&args[2]).ok_or(Error::NotInteger)?;
            let end = parse_i64(&args[3]).ok_or(Error::NotInteger)?;
            if start < 0 && end < 0 && start > end {
                ctx.out.int(0);
                return Ok(());
            }
            let bits = match args.get(4) {
                Some(u) => unit_arg(u)?,
                None => false,
            };
            bit_range(s.len(), start, end, bits)
        }
        _ => return Err(Error::Syntax),
    };
    let n = range.map_or(0, |(a, b)| count_bits(s, a, b));
    ctx.out.int(n as i64);
    Ok(())
}

/// First bit equal to `bit` in the inclusive bit range, if any.
fn find_bit(s: &[u8], from: u64, to: u64, bit: bool) -> Option<u64> {
    let mut pos = from;
    // Unaligned head, bit by bit.
    while pos <= to && pos % 8 != 0 {
        if (s[(pos / 8) as usize] >> (7 - pos % 8)) & 1 == bit as u8 {
            return Some(pos);
        }
        pos += 1;
    }
    // Whole bytes, skipping the ones that cannot match.
    let skip = if bit { 0x00 } else { 0xff };
    while pos + 7 <= to {
        let b = s[(pos / 8) as usize];
        if b != skip {
            let x = if bit { b } else { !b };
            return Some(pos + x.leading_zeros() as u64);
        }
        pos += 8;
    }
    while pos <= to {
        if (s[(pos / 8) as usize] >> (7 - pos % 8)) & 1 == bit as u8 {
            return Some(pos);
        }
        pos += 1;
    }
    None
}

fn bitpos(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let bit = match parse_i64(&args[2]) {
        None => return Err(Error::NotInteger),
        Some(b @ (0 | 1)) => b == 1,
        Some(_) => return Err(Error::err("The bit argument must be 1 or 0.")),
    };
    let db = &mut ctx.store.dbs[ctx.client.db];
    let s = match db.get(&args[1]) {
        None => {
            ctx.out.int(if bit { -1 } else { 0 });
            return Ok(());
        }
        Some(Value::Str(s)) => s.as_bytes(),
        Some(_) => return Err(Error::WrongType),
    };
    let mut end_given = false;
    let range = match args.len() {
        3 => (!s.is_empty()).then(|| (0, s.len() as u64 * 8 - 1)),
        4..=6 => {
            let start = parse_i64(&args[3]).ok_or(Error::NotInteger)?;
            let bits = match args.get(5) {
                Some(u) => unit_arg(u)?,
                None => false,
            };
            let end = match args.get(4) {
                Some(e) => {
                    end_given = true;
                    parse_i64(e).ok_or(Error::NotInteger)?
                }
                None => s.len() as i64 - 1,
            };
            bit_range(s.len(), start, end, bits)
        }
        _ => return Err(Error::Syntax),
    };
    let pos = match range {
        None => -1,
        Some((from, to)) => match find_bit(s, from, to, bit) {
            Some(p) => p as i64,
            // Looking for a clear bit with no explicit end: the string is
            // considered padded with zeros on the right.
            None if !bit && !end_given => to as i64 + 1,
            None => -1,
        },
    };
    ctx.out.int(pos);
    Ok(())
}

fn bitop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    #[derive(PartialEq)]
    enum Op {
        And,
        Or,
        Xor,
        Not,
    }
    let op = match &args[1][..] {
        a if eq_ic(a, "and") => Op::And,
        a if eq_ic(a, "or") => Op::Or,
        a if eq_ic(a, "xor") => Op::Xor,
        a if eq_ic(a, "not") => Op::Not,
        _ => return Err(Error::Syntax),
    };
    if op == Op::Not && args.len() != 4 {
        return Err(Error::err(
            "BITOP NOT must be called with a single source key.",
        ));
    }
    let db = &mut ctx.store.dbs[ctx.client.db];
    let mut idxs = Vec::with_capacity(args.len() - 3);
    for k in &args[3..] {
        let idx = db.lookup(k);
        match idx {
            Some(i) => {
                db.hits += 1;
                str_at(db, i)?;
            }
            None => db.misses += 1,
        }
        idxs.push(idx);
    }
    let srcs: Vec<&[u8]> = idxs
        .iter()
        .map(|i| i.map_or(&b""[..], |i| str_at(db, i).expect("type checked")))
        .collect();
    let maxlen = srcs.iter().map(|s| s.len()).max().unwrap_or(0);
    let res = if maxlen == 0 {
        Vec::new()
    } else if op == Op::Not {
        srcs[0].iter().map(|b| !b).collect()
    } else {
        let mut r = vec![0u8; maxlen];
        r[..srcs[0].len()].copy_from_slice(srcs[0]);
        for s in &srcs[1..] {
            let (head, tail) = r.split_at_mut(s.len());
            match op {
                Op::And => {
                    head.iter_mut().zip(s.iter()).for_each(|(d, x)| *d &= x);
                    tail.fill(0);
                }
                Op::Or => head.iter_mut().zip(s.iter()).for_each(|(d, x)| *d |= x),
                Op::Xor => head.iter_mut().zip(s.iter()).for_each(|(d, x)| *d ^= x),
                Op::Not => unreachable!(),
            }
        }
        r
    };
    drop(srcs);
    if maxlen > 0 {
        db.set(&args[2], Value::Str(SmallBytes::from(res)), false);
        ctx.dirty(1);
    } else if db.remove(&args[2]).is_some() {
        ctx.dirty(1);
    }
    ctx.out.int(maxlen as i64);
    Ok(())
}

// ---------------------------------------------------------------- LCS

fn lcs(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let limit = max_bulk(ctx);
    let db = &mut ctx.store.dbs[ctx.client.db];
    // Both keys are looked up (and lazily expired) before any type check.
    let ia = db.lookup(&args[1]);
    let ib = db.lookup(&args[2]);
    for i in [ia, ib].into_iter().flatten() {
        if !matches!(db.entry(i).value, Value::Str(_)) {
            return Err(Error::err("The specified keys must contain string values"));
        }
    }
    let (mut getlen, mut getidx, mut withmatchlen) = (false, false, false);
    let mut minmatchlen: i64 = 0;
    let mut j = 3;
    while j < args.len() {
        let a = &args[j][..];
        if eq_ic(a, "idx") {
            getidx = true;
        } else if eq_ic(a, "len") {
            getlen = true;
        } else if eq_ic(a, "withmatchlen") {
            withmatchlen = true;
        } else if eq_ic(a, "minmatchlen") && j + 1 < args.len() {
            minmatchlen = parse_i64(&args[j + 1]).ok_or(Error::NotInteger)?.max(0);
            j += 1;
        } else {
            return Err(Error::Syntax);
        }
        j += 1;
    }
    if getidx && getlen {
        return Err(Error::err(
            "If you want both the length and indexes, please just use IDX.",
        ));
    }
    let a = ia.map_or(&b""[..], |i| str_at(db, i).expect("checked"));
    let b = ib.map_or(&b""[..], |i| str_at(db, i).expect("checked"));
    if a.len() >= u32::MAX as usize - 1 || b.len() >= u32::MAX as usize - 1 {
        return Err(Error::err("String too long for LCS"));
    }
    let (alen, blen) = (a.len(), b.len());
    let cells = (alen as u64 + 1) * (blen as u64 + 1);
    if cells * 4 > limit {
        return Err(Error::err(
            "Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    let w = blen + 1;
    let mut t = vec![0u32; cells as usize];
    for i in 1..=alen {
        for jj in 1..=blen {
            t[i * w + jj] = if a[i - 1] == b[jj - 1] {
                t[(i - 1) * w + jj - 1] + 1
            } else {
                t[(i - 1) * w + jj].max(t[i * w + jj - 1])
            };
        }
    }
    let total = t[alen * w + blen];
    if getlen {
        ctx.out.int(total as i64);
        return Ok(());
    }
    // Walk back from the end, collecting the LCS and its matching ranges.
    let mut result = vec![0u8; total as usize];
    let mut ranges: Vec<[u32; 5]> = Vec::new();
    let (mut i, mut jj, mut idx) = (alen, blen, total as usize);
    let unset = alen as u32;
    let (mut a_start, mut a_end, mut b_start, mut b_end) = (unset, 0u32, 0u32, 0u32);
    while i > 0 && jj > 0 {
        let mut emit = false;
        if a[i - 1] == b[jj - 1] {
            result[idx - 1] = a[i - 1];
            if a_start == unset {
                a_start = (i - 1) as u32;
                a_end = a_start;
                b_start = (jj - 1) as u32;
                b_end = b_start;
            } else if a_start == i as u32 && b_start == jj as u32 {
                a_start -= 1;
                b_start -= 1;
            } else {
                emit = true;
            }
            if a_start == 0 || b_start == 0 {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            jj -= 1;
        } else {
            if t[(i - 1) * w + jj] > t[i * w + jj - 1] {
                i -= 1;
            } else {
                jj -= 1;
            }
            if a_start != unset {
                emit = true;
            }
        }
        if emit {
            let mlen = a_end.wrapping_sub(a_start).wrapping_add(1);
            if minmatchlen == 0 || mlen as i64 >= minmatchlen {
                ranges.push([a_start, a_end, b_start, b_end, mlen]);
            }
            a_start = unset;
        }
    }
    if getidx {
        ctx.out.map(2);
        ctx.out.bulk(b"matches");
        ctx.out.array(ranges.len());
        for r in &ranges {
            ctx.out.array(2 + withmatchlen as usize);
            ctx.out.array(2);
            ctx.out.int(r[0] as i64);
            ctx.out.int(r[1] as i64);
            ctx.out.array(2);
            ctx.out.int(r[2] as i64);
            ctx.out.int(r[3] as i64);
            if withmatchlen {
                ctx.out.int(r[4] as i64);
            }
        }
        ctx.out.bulk(b"len");
        ctx.out.int(total as i64);
    } else {
        ctx.out.bulk(&result);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn popcount_and_ranges() {
        let s = b"foobar";
        assert_eq!(popcount(s), 26);
        assert_eq!(count_bits(s, 8, 15), 6);
        // BITCOUNT foobar 5 30 BIT
        let (a, b) = bit_range(6, 5, 30, true).unwrap();
        assert_eq!(count_bits(s, a, b), 17);
        assert_eq!(bit_range(6, -1, -100, false), None);
        assert_eq!(bit_range(0, 0, -1, false), None);
        assert_eq!(popcount(&[0xff; 19]), 152);
    }

    #[test]
    fn find_bits() {
        let s = b"foobar";
        assert_eq!(find_bit(s, 0, 47, true), Some(1));
        assert_eq!(find_bit(s, 16, 47, true), Some(17));
        assert_eq!(find_bit(s, 7, 15, false), Some(7));
        assert_eq!(find_bit(s, 7, 15, true), Some(9));
        assert_eq!(find_bit(&[0xff, 0xff], 0, 15, false), None);
        assert_eq!(find_bit(&[0xff, 0xf0], 0, 15, false), Some(12));
        assert_eq!(find_bit(&[0, 0, 1], 3, 23, true), Some(23));
    }

    #[test]
    fn set_option_rules() {
        let a =
            |v: &[&str]| -> Vec<Bytes> { v.iter().map(|s| Bytes::from(s.to_string())).collect() };
        let ok = |v: &[&str]| parse_set_opts(&a(v), 3, true).is_ok();
        assert!(ok(&["set", "k", "v", "NX", "GET", "EX", "10"]));
        assert!(ok(&["set", "k", "v", "ex", "10", "EX", "20"]));
        assert!(ok(&["set", "k", "v", "nx", "nx"]));
        assert!(!ok(&["set", "k", "v", "nx", "xx"]));
        assert!(!ok(&["set", "k", "v", "ex", "10", "px", "10"]));
        assert!(!ok(&["set", "k", "v", "keepttl", "ex", "10"]));
        assert!(!ok(&["set", "k", "v", "px", "10", "keepttl"]));
        assert!(!ok(&["set", "k", "v", "ex"]));
        assert!(!ok(&["set", "k", "v", "persist"]));
        let gx = |v: &[&str]| parse_set_opts(&a(v), 2, false).is_ok();
        assert!(gx(&["getex", "k", "persist"]));
        assert!(!gx(&["getex", "k", "persist", "ex", "1"]));
        assert!(!gx(&["getex", "k", "nx"]));
        assert!(!gx(&["getex", "k", "keepttl"]));
    }

    #[test]
    fn edit_str_round_trip() {
        let mut s = SmallBytes::new(b"abc");
        edit_str(&mut s, |v| v.extend_from_slice(&[b'x'; 30]));
        assert_eq!(s.len(), 33);
        edit_str(&mut s, |v| v.truncate(2));
        assert_eq!(s.as_bytes(), b"ab");
        assert_eq!(s.heap_size(), 0);
    }

    /// Runs commands through the real executor with a capturing replication
    /// sink, so the propagated effects can be checked exactly.
    mod propagation {
        use crate::cmd::testkit::Harness as H;

        fn now_ms() -> u64 {
            crate::util::now_ms()
        }

        fn pxat(line: &str) -> u64 {
            line.rsplit(' ').next().unwrap().parse().unwrap()
        }

        #[test]
        fn relative_ttls_become_absolute() {
            let mut h = H::new();
            let t0 = now_ms();
            for (cmd, ms) in [
                ("SET k v EX 100", 100_000),
                ("SET k v PX 5000 GET", 5000),
                ("SETEX k 10 v", 10_000),
                ("PSETEX k 700 v", 700),
            ] {
                let (_, p) = h.exchange(cmd);
                assert_eq!(p.len(), 1, "{cmd}: {p:?}");
                assert!(p[0].starts_with("SET k v PXAT "), "{cmd}: {p:?}");
                let at = pxat(&p[0]);
                assert!(at >= t0 + ms && at <= now_ms() + ms, "{cmd}: {at}");
            }
            // Absolute times pass through as PXAT, already-past ones too (as 7.0 does).
            let (_, p) = h.exchange("SET k v EXAT 4000000000");
            assert_eq!(p, vec!["SET k v PXAT 4000000000000"]);
            let (_, p) = h.exchange("SET k v PXAT 1");
            assert_eq!(p, vec!["SET k v PXAT 1"]);
        }

        #[test]
        fn set_variants() {
            let mut h = H::new();
            assert_eq!(h.exchange("SET k v").1, vec!["SET k v"]);
            assert_eq!(h.exchange("SET k v2 GET").1, vec!["SET k v2"]);
            assert_eq!(h.exchange("SET k w get XX").1, vec!["SET k w XX"]);
            assert_eq!(h.exchange("SET k v KEEPTTL").1, vec!["SET k v KEEPTTL"]);
            // Aborted by NX: nothing propagated.
            let (r, p) = h.exchange("SET k v NX GET");
            assert_eq!(r, "$1\r\nv\r\n");
            assert!(p.is_empty());
            assert!(h.exchange("SETNX k x").1.is_empty());
            assert!(h.exchange("SET k v EX 0").1.is_empty());
            assert_eq!(h.exchange("GETSET k z").1, vec!["SET k z"]);
            assert!(h.exchange("MSETNX k 1 q 2").1.is_empty());
            assert_eq!(h.exchange("MSET a 1 b 2").1, vec!["MSET a 1 b 2"]);
        }

        #[test]
        fn getex_getdel_incrbyfloat() {
            let mut h = H::new();
            h.exchange("SET k v");
            assert!(h.exchange("GETEX k").1.is_empty());
            assert!(
                h.exchange("GETEX k PERSIST").1.is_empty(),
                "no TTL to remove"
            );
            let t0 = now_ms();
            let (r, p) = h.exchange("GETEX k EX 100");
            assert_eq!(r, "$1\r\nv\r\n");
            assert!(p[0].starts_with("PEXPIREAT k "), "{p:?}");
            assert!(pxat(&p[0]) >= t0 + 100_000);
            assert_eq!(
                h.exchange("GETEX k PXAT 5000000000000").1,
                vec!["PEXPIREAT k 5000000000000"]
            );
            assert_eq!(h.exchange("GETEX k PERSIST").1, vec!["PERSIST k"]);
            assert_eq!(
                h.exchange("GETEX k EXAT 1"),
                ("$1\r\nv\r\n".into(), vec!["DEL k".into()])
            );
            assert_eq!(h.exchange("GET k").0, "$-1\r\n");
            h.exchange("SET k v");
            assert_eq!(h.exchange("GETDEL k").1, vec!["DEL k"]);
            assert!(h.exchange("GETDEL k").1.is_empty());
            assert_eq!(h.exchange("INCRBYFLOAT f 1.5").1, vec!["SET f 1.5 KEEPTTL"]);
            assert_eq!(
                h.exchange("INCRBYFLOAT f 0.25").1,
                vec!["SET f 1.75 KEEPTTL"]
            );
            assert!(h.exchange("INCRBYFLOAT f abc").1.is_empty());
        }

        #[test]
        fn no_op_writes_are_not_propagated() {
            let mut h = H::new();
            assert_eq!(h.exchange("SETBIT b 1 1").1, vec!["SETBIT b 1 1"]);
            assert!(h.exchange("SETBIT b 1 1").1.is_empty());
            assert_eq!(h.exchange("SETBIT b 1 0").1, vec!["SETBIT b 1 0"]);
            assert!(h.exchange("SETRANGE b 0 ").1.is_empty());
            assert!(h.exchange("BITOP AND d nokey").1.is_empty());
            assert_eq!(h.exchange("INCR n").1, vec!["INCR n"]);
            assert!(h.exchange("INCR b").1.is_empty());
            assert_eq!(h.exchange("APPEND n x").1, vec!["APPEND n x"]);
        }
    }
}
