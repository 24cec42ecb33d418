//! The HASH family (Redis 7.0): HSET HGET HMSET HMGET HGETALL HDEL HEXISTS
//! HLEN HKEYS HVALS HINCRBY HINCRBYFLOAT HSETNX HSTRLEN HSCAN HRANDFIELD.
//! Storage and encodings (listpack / hashtable) live in `store::hash`.

use super::strings::longdouble;
use super::{flags::*, Command, Ctx, KEY1};
use crate::error::{CmdResult, Error};
use crate::store::hash::Hash;
use crate::store::{Db, Value};
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;

pub static COMMANDS: &[super::Command] = &[
    Command {
        name: "hset",
        arity: -4,
        flags: WRITE | DENYOOM | FAST,
        keys: KEY1,
        group: "hash",
        since: "2.0.0",
        args: "key field value [field value ...]",
        summary: "Creates or modifies the value of a field in a hash.",
        handler: hset,
        ..Command::DEFAULT
    },
    Command {
        name: "hsetnx",
        arity: 4,
        flags: WRITE | DENYOOM | FAST,
        keys: KEY1,
        group: "hash",
        since: "2.0.0",
        args: "key field value",
        summary: "Sets the value of a field in a hash only when the field doesn't exist.",
        handler: hsetnx,
        ..Command::DEFAULT
    },
    Command {
        name: "hget",
        arity: 3,
        flags: READONLY | FAST,
        keys: KEY1,
        group: "hash",
        since: "2.0.0",
        args: "key field",
        summary: "Returns the value of a field in a hash.",
        handler: hget,
        ..Command::DEFAULT
    },
    Command {
        name: "hmset",
        arity: -4,
        flags: WRITE | DENYOOM | FAST,
        keys: KEY1,
        group: "hash",
        since: "2.0.0",
        args: "key field value [field value ...]",
        summary: "Sets the values of multiple fields.",
        handler: hmset,
        ..Command::DEFAULT
    },
    Command {
        name: "hmget",
        arity: -3,
        flags: READONLY | FAST,
        keys: KEY1,
        group: "hash",
        since: "2.0.0",
        args: "key field [field ...]",
        summary: "Returns the values of all fields in a hash.",
        handler: hmget,
        ..Command::DEFAULT
    },
    Command {
        name: "hgetall",
        arity: 2,
        flags: READONLY,
        keys: KEY1,
        group: "hash",
        since: "2.0.0",
        args: "key",
        summary: "Returns all fields and values in a hash.",
        handler: hgetall,
        ..Command::DEFAULT
    },
    Command {
        name: "hdel",
        arity: -3,
        flags: WRITE | FAST,
        keys: KEY1,
        group: "hash",
        since: "2.0.0",
        args: "key field [field ...]",
        summary: "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.",
        handler: hdel,
        ..Command::DEFAULT
    },
    Command {
        name: "hexists",
        arity: 3,
        flags: READONLY | FAST,
        keys: KEY1,
        group: "hash",
        since: "2.0.0",
        args: "key field",
        summary: "Determines whether a field exists in a hash.",
        handler: hexists,
        ..Command::DEFAULT
    },
    Command {
        name: "hlen",
        arity: 2,
        flags: READONLY | FAST,
        keys: KEY1,
        group: "hash",
        since: "2.0.0",
        args: "key",
        summary: "Returns the number of fields in a hash.",
        handler: hlen,
        ..Command::DEFAULT
    },
    Command {
        name: "hkeys",
        arity: 2,
        flags: READONLY,
        keys: KEY1,
        group: "hash",
        since: "2.0.0",
        args: "key",
        summary: "Returns all fields in a hash.",
        handler: hkeys,
        ..Command::DEFAULT
    },
    Command {
        name: "hvals",
        arity: 2,
        flags: READONLY,
        keys: KEY1,
        group: "hash",
        since: "2.0.0",
        args: "key",
        summary: "Returns all values in a hash.",
        handler: hvals,
        ..Command::DEFAULT
    },
    Command {
        name: "hincrby",
        arity: 4,
        flags: WRITE | DENYOOM | FAST,
        keys: KEY1,
        group: "hash",
        since: "2.0.0",
        args: "key field increment",
        summary: "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.",
        handler: hincrby,
        ..Command::DEFAULT
    },
    Command {
        name: "hincrbyfloat",
        arity: 4,
        flags: WRITE | DENYOOM | FAST,
        keys: KEY1,
        group: "hash",
        since: "2.6.0",
        args: "key field increment",
        summary: "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.",
        handler: hincrbyfloat,
        ..Command::DEFAULT
    },
    Command {
        name: "hstrlen",
        arity: 3,
        flags: READONLY | FAST,
        keys: KEY1,
        group: "hash",
        since: "3.2.0",
        args: "key field",
        summary: "Returns the length of the value of a field.",
        handler: hstrlen,
        ..Command::DEFAULT
    },
    Command {
        name: "hscan",
        arity: -3,
        flags: READONLY,
        keys: KEY1,
        group: "hash",
        since: "2.8.0",
        args: "key cursor [MATCH pattern] [COUNT count]",
        summary: "Iterates over fields and values of a hash.",
        handler: hscan,
        ..Command::DEFAULT
    },
    Command {
        name: "hrandfield",
        arity: -2,
        flags: READONLY,
        keys: KEY1,
        group: "hash",
        since: "6.2.0",
        args: "key [count [WITHVALUES]]",
        summary: "Returns one or more random fields from a hash.",
        handler: hrandfield,
        ..Command::DEFAULT
    },
];

// ---------------------------------------------------------------- helpers

/// Read access: `Ok(None)` when the key is missing.
fn hash_ref<'a>(db: &'a mut Db, key: &[u8]) -> Result<Option<&'a Hash>, Error> {
    match db.get(key) {
        None => Ok(None),
        Some(Value::Hash(h)) => Ok(Some(h)),
        Some(_) => Err(Error::WrongType),
    }
}

/// Slab position of an existing hash (WRONGTYPE for other types, None when missing).
fn lookup_hash(db: &mut Db, key: &[u8]) -> Result<Option<u32>, Error> {
    let Some(idx) = db.lookup(key) else {
        return Ok(None);
    };
    match db.entry(idx).value {
        Value::Hash(_) => Ok(Some(idx)),
        _ => Err(Error::WrongType),
    }
}

/// The hash at `idx`, marking the key modified (watchers, LRU).
fn hash_at<'a>(db: &'a mut Db, key: &[u8], idx: u32) -> &'a mut Hash {
    db.touch(key);
    let clock = (db.now / 1000) as u32;
    let e = db.entry_mut(idx);
    e.lru = clock;
    match &mut e.value {
        Value::Hash(h) => h,
        _ => unreachable!("checked by lookup_hash"),
    }
}

/// The existing hash at `key` or a new empty one (the caller adds to it).
fn hash_or_create(db: &mut Db, key: &[u8]) -> Result<u32, Error> {
    Ok(match lookup_hash(db, key)? {
        Some(idx) => idx,
        None => db.set(key, Value::Hash(Box::default()), false),
    })
}

fn reply_opt(out: &mut crate::resp::Out, v: Option<&[u8]>) {
    match v {
        Some(v) => out.bulk(v),
        None => out.null(),
    }
}

// ---------------------------------------------------------------- writes

/// HSET/HMSET: returns how many fields were created.
fn set_pairs(ctx: &mut Ctx, args: &[Bytes]) -> Result<i64, Error> {
    if args.len() % 2 != 0 {
        return Err(Error::arity(ctx.cmd.name));
    }
    let lim = ctx.store.limits;
    let db = &mut ctx.store.dbs[ctx.client.db];
    let key = &args[1];
    let idx = hash_or_create(db, key)?;
    let h = hash_at(db, key, idx);
    let mut created = 0;
    for p in args[2..].chunks_exact(2) {
        if h.set(
            &p[0],
            &p[1],
            lim.hash_max_listpack_entries,
            lim.hash_max_listpack_value,
        ) {
            created += 1;
        }
    }
    ctx.dirty((args.len() as u64 - 2) / 2);
    Ok(created)
}

fn hset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let n = set_pairs(ctx, args)?;
    ctx.out.int(n);
    Ok(())
}

fn hmset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    set_pairs(ctx, args)?;
    ctx.out.ok();
    Ok(())
}

fn hsetnx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let lim = ctx.store.limits;
    let db = &mut ctx.store.dbs[ctx.client.db];
    let key = &args[1];
    if let Some(idx) = lookup_hash(db, key)? {
        let Value::Hash(h) = &db.entry(idx).value else {
            unreachable!()
        };
        if h.contains(&args[2]) {
            ctx.out.int(0);
            return Ok(());
        }
    }
    let idx = hash_or_create(db, key)?;
    hash_at(db, key, idx).set(
        &args[2],
        &args[3],
        lim.hash_max_listpack_entries,
        lim.hash_max_listpack_value,
    );
    ctx.dirty(1);
    ctx.out.int(1);
    Ok(())
}

fn hdel(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    let key = &args[1];
    let Some(idx) = lookup_hash(db, key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let Value::Hash(h) = &mut db.entry_mut(idx).value else {
        unreachable!()
    };
    let mut deleted = 0;
    for f in &args[2..] {
        if h.remove(f) {
            deleted += 1;
            if h.is_empty() {
                break;
            }
        }
    }
    let empty = h.is_empty();
    if deleted > 0 {
        if empty {
            db.remove(key);
        } else {
            hash_at(db, key, idx);
        }
        ctx.dirty(deleted);
    }
    ctx.out.int(deleted as i64);
    Ok(())
}

fn hincrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let by = parse_i64(&args[3]).ok_or(Error::NotInteger)?;
    let lim = ctx.store.limits;
    let db = &mut ctx.store.dbs[ctx.client.db];
    let key = &args[1];
    let cur = match lookup_hash(db, key)? {
        Some(idx) => match &db.entry(idx).value {
            Value::Hash(h) => match h.get(&args[2]) {
                Some(v) => {
                    parse_i64(v).ok_or_else(|| Error::err("hash value is not an integer"))?
                }
                None => 0,
            },
            _ => unreachable!(),
        },
        None => 0,
    };
    let new = cur.checked_add(by).ok_or(Error::Overflow)?;
    let text = itoa::Buffer::new().format(new).to_owned();
    let idx = hash_or_create(db, key)?;
    hash_at(db, key, idx).set(
        &args[2],
        text.as_bytes(),
        lim.hash_max_listpack_entries,
        lim.hash_max_listpack_value,
    );
    ctx.dirty(1);
    ctx.out.int(new);
    Ok(())
}

fn hincrbyfloat(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let by = longdouble::parse(&args[3]).ok_or(Error::NotFloat)?;
    if longdouble::Ld::ZERO.add(by).is_none() {
        return Err(Error::err("value is NaN or Infinity"));
    }
    let lim = ctx.store.limits;
    let db = &mut ctx.store.dbs[ctx.client.db];
    let key = &args[1];
    let cur = match lookup_hash(db, key)? {
        Some(idx) => match &db.entry(idx).value {
            Value::Hash(h) => match h.get(&args[2]) {
                Some(v) => {
                    longdouble::parse(v).ok_or_else(|| Error::err("hash value is not a float"))?
                }
                None => longdouble::Ld::ZERO,
            },
            _ => unreachable!(),
        },
        None => longdouble::Ld::ZERO,
    };
    let sum = cur
        .add(by)
        .ok_or_else(|| Error::err("increment would produce NaN or Infinity"))?;
    let text = sum.to_human_string();
    let idx = hash_or_create(db, key)?;
    hash_at(db, key, idx).set(
        &args[2],
        text.as_bytes(),
        lim.hash_max_listpack_entries,
        lim.hash_max_listpack_value,
    );
    ctx.dirty(1);
    ctx.out.bulk(text.as_bytes());
    // Replicas store the same text: HSET key field <result>.
    if ctx.store.repl.wants_effects() {
        ctx.propagate(vec![
            Bytes::from_static(b"HSET"),
            args[1].clone(),
            args[2].clone(),
            Bytes::from(text.into_bytes()),
        ]);
    }
    Ok(())
}

// ---------------------------------------------------------------- reads

fn hget(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    let v = hash_ref(db, &args[1])?.and_then(|h| h.get(&args[2]));
    reply_opt(ctx.out, v);
    Ok(())
}

fn hmget(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    let h = hash_ref(db, &args[1])?;
    ctx.out.array(args.len() - 2);
    for f in &args[2..] {
        match h.and_then(|h| h.get(f)) {
            Some(v) => ctx.out.bulk(v),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn hgetall(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    match hash_ref(db, &args[1])? {
        None => ctx.out.map(0),
        Some(h) => {
            ctx.out.map(h.len());
            for (f, v) in h.iter() {
                ctx.out.bulk(f);
                ctx.out.bulk(v);
            }
        }
    }
    Ok(())
}

fn keys_or_vals(ctx: &mut Ctx, args: &[Bytes], vals: bool) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    match hash_ref(db, &args[1])? {
        None => ctx.out.array(0),
        Some(h) => {
            ctx.out.array(h.len());
            for (f, v) in h.iter() {
                ctx.out.bulk(if vals { v } else { f });
            }
        }
    }
    Ok(())
}

fn hkeys(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    keys_or_vals(ctx, args, false)
}

fn hvals(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    keys_or_vals(ctx, args, true)
}

fn hexists(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    let found = hash_ref(db, &args[1])?.is_some_and(|h| h.contains(&args[2]));
    ctx.out.int(found as i64);
    Ok(())
}

fn hlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    let n = hash_ref(db, &args[1])?.map_or(0, |h| h.len());
    ctx.out.int(n as i64);
    Ok(())
}

fn hstrlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    let n = hash_ref(db, &args[1])?
        .and_then(|h| h.get(&args[2]))
        .map_or(0, |v| v.len());
    ctx.out.int(n as i64);
    Ok(())
}

fn hscan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let cursor = super::scan::parse_cursor(&args[2])?;
    let db = &mut ctx.store.dbs[ctx.client.db];
    // Like Redis, options are only looked at when the key exists.
    let Some(h) = hash_ref(db, &args[1])? else {
        super::scan::reply_empty(ctx.out);
        return Ok(());
    };
    let opts = super::scan::ScanOpts::parse(args, 3)?;
    let mut found: Vec<(&[u8], &[u8])> = Vec::new();
    let next = h.scan(cursor, opts.count, |f, v| {
        if opts.matches(f) {
            found.push((f, v));
        }
    });
    super::scan::reply_header(ctx.out, next, found.len() * 2);
    for (f, v) in found {
        ctx.out.bulk(f);
        ctx.out.bulk(v);
    }
    Ok(())
}

fn hrandfield(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut rng = rand::thread_rng();
    if args.len() == 2 {
        let db = &mut ctx.store.dbs[ctx.client.db];
        let v = hash_ref(db, &args[1])?.and_then(|h| h.random(&mut rng).map(|p| p.0));
        reply_opt(ctx.out, v);
        return Ok(());
    }
    let l = match parse_i64(&args[2]) {
        Some(l) if l != i64::MIN => l,
        Some(_) => {
            return Err(Error::err(
                "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            ))
        }
        None => return Err(Error::NotInteger),
    };
    if args.len() > 4 || (args.len() == 4 && !eq_ic(&args[3], "withvalues")) {
        return Err(Error::Syntax);
    }
    let withvalues = args.len() == 4;
    // Redis refuses counts whose doubled reply length would overflow.
    if withvalues && l < -(i64::MAX / 2) {
        return Err(Error::err("value is out of range"));
    }
    let db = &mut ctx.store.dbs[ctx.client.db];
    let Some(h) = hash_ref(db, &args[1])? else {
        ctx.out.array(0);
        return Ok(());
    };
    let resp3 = ctx.out.resp3();
    let out = &mut *ctx.out;
    let emit = |out: &mut crate::resp::Out, f: &[u8], v: &[u8]| {
        if withvalues {
            if resp3 {
                out.array(2);
            }
            out.bulk(f);
            out.bulk(v);
        } else {
            out.bulk(f);
        }
    };
    let per = if withvalues && !resp3 { 2 } else { 1 };
    if l < 0 {
        let n = l.unsigned_abs() as usize;
        out.array(n * per);
        h.random_with_repeats(&mut rng, n, |f, v| emit(out, f, v));
    } else {
        let picks = h.random_unique(&mut rng, l as usize);
        out.array(picks.len() * per);
        for (f, v) in picks {
            emit(out, f, v);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_parse_like_strtoul() {
        assert_eq!(crate::cmd::scan::parse_cursor(b"0").ok(), Some(0));
        assert_eq!(crate::cmd::scan::parse_cursor(b"+12").ok(), Some(12));
        assert_eq!(crate::cmd::scan::parse_cursor(b"-1").ok(), Some(u64::MAX));
        assert_eq!(crate::cmd::scan::parse_cursor(b"x").ok(), None);
        assert_eq!(crate::cmd::scan::parse_cursor(b"").ok(), Some(0));
        assert_eq!(
            crate::cmd::scan::parse_cursor(b"99999999999999999999999").ok(),
            None
        );
    }

    #[test]
    fn commands_are_declared_once() {
        let t = super::super::table();
        for c in COMMANDS {
            assert!(std::ptr::eq(t.get(c.name.as_bytes()).unwrap(), c));
            assert_eq!(c.group, "hash");
        }
    }

    /// Runs commands through the real executor with a capturing replication sink.
    mod propagation {
        use crate::cmd::testkit::Harness as H;

        #[test]
        fn effects_not_intents() {
            let mut h = H::new();
            assert_eq!(h.exchange("HSET h a 1 b 2").1, vec!["HSET h a 1 b 2"]);
            assert_eq!(h.exchange("HINCRBY h a 5").1, vec!["HINCRBY h a 5"]);
            let (r, p) = h.exchange("HINCRBYFLOAT h b 0.1");
            assert_eq!(r, "$3\r\n2.1\r\n");
            assert_eq!(p, vec!["HSET h b 2.1"]);
            let (_, p) = h.exchange("HINCRBYFLOAT h c 1.5e3");
            assert_eq!(p, vec!["HSET h c 1500"]);
            // Failed or no-op writes propagate nothing; reads never do.
            assert!(h.exchange("HINCRBYFLOAT h zz abc").1.is_empty());
            assert!(h.exchange("HSETNX h a 9").1.is_empty());
            assert_eq!(h.exchange("HSETNX h n 9").1, vec!["HSETNX h n 9"]);
            assert!(h.exchange("HDEL h nosuch").1.is_empty());
            assert_eq!(h.exchange("HDEL h a nosuch").1, vec!["HDEL h a nosuch"]);
            assert!(h.exchange("HRANDFIELD h -5 WITHVALUES").1.is_empty());
            assert!(h.exchange("HGETALL h").1.is_empty());
            assert!(h.exchange("HSCAN h 0").1.is_empty());
        }
    }
}
