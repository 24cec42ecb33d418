//! Generic key commands (Redis's "generic" group): deletion, existence,
//! type, iteration (KEYS, SCAN, RANDOMKEY), renaming, copying and moving,
//! OBJECT introspection, and the TTL commands.
//!
//! Lookups follow Redis's flavours: "write" lookups (`Db::lookup`) do lazy
//! expiry only; "read" lookups also count keyspace hits/misses, and the
//! ones that touch (GET-like, TOUCH, COPY's source) refresh the LRU clock.

use super::{flags::*, Command, Ctx, Keys, KEY1, NOKEYS};
use crate::error::{CmdResult, Error};
use crate::store::{Db, Value};
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;

/// Redis shares the integer objects 0..9999; OBJECT REFCOUNT shows INT_MAX for them.
const SHARED_INTEGERS: i64 = 10_000;
const SHARED_REFCOUNT: i64 = i32::MAX as i64;

const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

const KEY2: Keys = Keys {
    first: 1,
    last: 2,
    step: 1,
};
const KEYS_ALL: Keys = Keys {
    first: 1,
    last: -1,
    step: 1,
};
/// OBJECT subcommands: the key is argument 2.
const SUBKEY: Keys = Keys {
    first: 2,
    last: 2,
    step: 1,
};

static OBJECT_SUBCOMMANDS: &[super::Command] = &[
    Command {
        name: "object|encoding",
        arity: 3,
        flags: READONLY,
        keys: SUBKEY,
        group: "generic",
        since: "2.2.3",
        args: "key",
        summary: "Returns the internal encoding of a Redis object.",
        handler: object_encoding,
        ..Command::DEFAULT
    },
    Command {
        name: "object|freq",
        arity: 3,
        flags: READONLY,
        keys: SUBKEY,
        group: "generic",
        since: "4.0.0",
        args: "key",
        summary: "Returns the logarithmic access frequency counter of a Redis object.",
        handler: object_freq,
        ..Command::DEFAULT
    },
    Command {
        name: "object|help",
        arity: 2,
        flags: LOADING | STALE,
        keys: NOKEYS,
        group: "generic",
        since: "6.2.0",
        summary: "Returns helpful text about the different subcommands.",
        handler: object_help,
        ..Command::DEFAULT
    },
    Command {
        name: "object|idletime",
        arity: 3,
        flags: READONLY,
        keys: SUBKEY,
        group: "generic",
        since: "2.2.3",
        args: "key",
        summary: "Returns the time since the last access to a Redis object.",
        handler: object_idletime,
        ..Command::DEFAULT
    },
    Command {
        name: "object|refcount",
        arity: 3,
        flags: READONLY,
        keys: SUBKEY,
        group: "generic",
        since: "2.2.3",
        args: "key",
        summary: "Returns the reference count of a value of a key.",
        handler: object_refcount,
        ..Command::DEFAULT
    },
];

#[rustfmt::skip]
pub static COMMANDS: &[super::Command] = &[
    Command {
        name: "del",
        arity: -2,
        flags: WRITE,
        keys: KEYS_ALL,
        group: "generic",
        since: "1.0.0",
        args: "key [key ...]",
        summary: "Deletes one or more keys.",
        handler: del,
        ..Command::DEFAULT
    },
    Command {
        name: "unlink",
        arity: -2,
        flags: WRITE | FAST,
        keys: KEYS_ALL,
        group: "generic",
        since: "4.0.0",
        args: "key [key ...]",
        summary: "Asynchronously deletes one or more keys.",
        handler: unlink,
        ..Command::DEFAULT
    },
    Command {
        name: "exists",
        arity: -2,
        flags: READONLY | FAST,
        keys: KEYS_ALL,
        group: "generic",
        since: "1.0.0",
        args: "key [key ...]",
        summary: "Determines whether one or more keys exist.",
        handler: exists,
        ..Command::DEFAULT
    },
    Command {
        name: "type",
        arity: 2,
        flags: READONLY | FAST,
        keys: KEY1,
        group: "generic",
        since: "1.0.0",
        args: "key",
        summary: "Determines the type of value stored at a key.",
        handler: type_cmd,
        ..Command::DEFAULT
    },
    Command {
        name: "keys",
        acl: &["keyspace", "dangerous"],
        arity: 2,
        flags: READONLY,
        keys: NOKEYS,
        group: "generic",
        since: "1.0.0",
        args: "pattern",
        summary: "Returns all key names that match a pattern.",
        handler: keys,
        ..Command::DEFAULT
    },
    Command {
        name: "scan",
        arity: -2,
        flags: READONLY,
        keys: NOKEYS,
        group: "generic",
        since: "2.8.0",
        args: "cursor [MATCH pattern] [COUNT count] [TYPE type]",
        summary: "Iterates over the key names in the database.",
        handler: scan,
        ..Command::DEFAULT
    },
    Command {
        name: "randomkey",
        arity: 1,
        flags: READONLY,
        keys: NOKEYS,
        group: "generic",
        since: "1.0.0",
        summary: "Returns a random key name from the database.",
        handler: randomkey,
        ..Command::DEFAULT
    },
    Command {
        name: "rename",
        arity: 3,
        flags: WRITE,
        keys: KEY2,
        group: "generic",
        since: "1.0.0",
        args: "key newkey",
        summary: "Renames a key and overwrites the destination.",
        handler: rename,
        ..Command::DEFAULT
    },
    Command {
        name: "renamenx",
        arity: 3,
        flags: WRITE | FAST,
        keys: KEY2,
        group: "generic",
        since: "1.0.0",
        args: "key newkey",
        summary: "Renames a key only when the target key name doesn't exist.",
        handler: renamenx,
        ..Command::DEFAULT
    },
    Command {
        name: "touch",
        arity: -2,
        flags: READONLY | FAST,
        keys: KEYS_ALL,
        group: "generic",
        since: "3.2.1",
        args: "key [key ...]",
        summary: "Returns the number of existing keys out of those specified after updating the time they were last accessed.",
        handler: touch,
        ..Command::DEFAULT
    },
    Command {
        name: "copy",
        arity: -3,
        flags: WRITE | DENYOOM,
        keys: KEY2,
        group: "generic",
        since: "6.2.0",
        args: "source destination [DB destination-db] [REPLACE]",
        summary: "Copies the value of a key to a new key.",
        handler: copy,
        ..Command::DEFAULT
    },
    Command {
        name: "move",
        arity: 3,
        flags: WRITE | FAST,
        keys: KEY1,
        group: "generic",
        since: "1.0.0",
        args: "key db",
        summary: "Moves a key to another database.",
        handler: move_cmd,
        ..Command::DEFAULT
    },
    Command {
        name: "object",
        arity: -2,
        flags: 0,
        group: "generic",
        since: "2.2.3",
        summary: "A container for object introspection commands.",
        subcommands: OBJECT_SUBCOMMANDS,
        ..Command::DEFAULT
    },
    Command {
        name: "expire",
        arity: -3,
        flags: WRITE | FAST,
        keys: KEY1,
        group: "generic",
        since: "1.0.0",
        args: "key seconds [NX|XX|GT|LT]",
        summary: "Sets the expiration time of a key in seconds.",
        handler: expire,
        ..Command::DEFAULT
    },
    Command {
        name: "pexpire",
        arity: -3,
        flags: WRITE | FAST,
        keys: KEY1,
        group: "generic",
        since: "2.6.0",
        args: "key milliseconds [NX|XX|GT|LT]",
        summary: "Sets the expiration time of a key in milliseconds.",
        handler: pexpire,
        ..Command::DEFAULT
    },
    Command {
        name: "expireat",
        arity: -3,
        flags: WRITE | FAST,
        keys: KEY1,
        group: "generic",
        since: "1.2.0",
        args: "key unix-time-seconds [NX|XX|GT|LT]",
        summary: "Sets the expiration time of a key to a Unix timestamp.",
        handler: expireat,
        ..Command::DEFAULT
    },
    Command {
        name: "pexpireat",
        arity: -3,
        flags: WRITE | FAST,
        keys: KEY1,
        group: "generic",
        since: "2.6.0",
        args: "key unix-time-milliseconds [NX|XX|GT|LT]",
        summary: "Sets the expiration time of a key to a Unix milliseconds timestamp.",
        handler: pexpireat,
        ..Command::DEFAULT
    },
    Command {
        name: "ttl",
        arity: 2,
        flags: READONLY | FAST,
        keys: KEY1,
        group: "generic",
        since: "1.0.0",
        args: "key",
        summary: "Returns the expiration time in seconds of a key.",
        handler: ttl,
        ..Command::DEFAULT
    },
    Command {
        name: "pttl",
        arity: 2,
        flags: READONLY | FAST,
        keys: KEY1,
        group: "generic",
        since: "2.6.0",
        args: "key",
        summary: "Returns the expiration time in milliseconds of a key.",
        handler: pttl,
        ..Command::DEFAULT
    },
    Command {
        name: "expiretime",
        arity: 2,
        flags: READONLY | FAST,
        keys: KEY1,
        group: "generic",
        since: "7.0.0",
        args: "key",
        summary: "Returns the expiration time of a key as a Unix timestamp.",
        handler: expiretime,
        ..Command::DEFAULT
    },
    Command {
        name: "pexpiretime",
        arity: 2,
        flags: READONLY | FAST,
        keys: KEY1,
        group: "generic",
        since: "7.0.0",
        args: "key",
        summary: "Returns the expiration time of a key as a Unix milliseconds timestamp.",
        handler: pexpiretime,
        ..Command::DEFAULT
    },
    Command {
        name: "persist",
        arity: 2,
        flags: WRITE | FAST,
        keys: KEY1,
        group: "generic",
        since: "2.2.0",
        args: "key",
        summary: "Removes the expiration time of a key.",
        handler: persist,
        ..Command::DEFAULT
    },
];

// ---------------------------------------------------------------- helpers

/// A read lookup that counts keyspace hits/misses but leaves the LRU clock
/// alone (Redis's LOOKUP_NOTOUCH: EXISTS, TYPE, TTL, OBJECT).
fn lookup_read_notouch(db: &mut Db, key: &[u8]) -> Option<u32> {
    let r = db.lookup(key);
    if r.is_some() {
        db.hits += 1;
    } else {
        db.misses += 1;
    }
    r
}

/// True when the entry is logically expired at the command's time.
fn is_expired(db: &Db, idx: u32) -> bool {
    let e = db.entry(idx).expire;
    e != 0 && e <= db.now
}

/// A database index argument (MOVE, COPY ... DB n), as getIntFromObject + selectDb.
fn parse_db_index(ctx: &Ctx, arg: &[u8]) -> Result<usize, Error> {
    let v = parse_i64(arg)
        .filter(|v| i32::try_from(*v).is_ok())
        .ok_or(Error::NotInteger)?;
    if v < 0 || v as usize >= ctx.store.dbs.len() {
        return Err(Error::DbIndexOutOfRange);
    }
    Ok(v as usize)
}

// ---------------------------------------------------------------- DEL / EXISTS / TYPE / TOUCH

/// DEL and UNLINK. UNLINK is the same as DEL here: values are dropped while
/// the keyspace lock is held (no background freeing), which is what Redis
/// does too for small values. It is propagated as UNLINK, verbatim.
fn del(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    del_keys(ctx, args, ctx.srv.config.read().lazyfree_lazy_user_del)
}

fn unlink(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    del_keys(ctx, args, true)
}

/// DEL and UNLINK: `lazy` frees large values on the lazyfree thread.
fn del_keys(ctx: &mut Ctx, args: &[Bytes], lazy: bool) -> CmdResult {
    let mut n = 0;
    for k in &args[1..] {
        if let Some(e) = ctx.db().remove(k) {
            if lazy {
                e.value.free_lazily();
            }
            n += 1;
        }
    }
    ctx.dirty(n);
    ctx.out.int(n as i64);
    Ok(())
}

/// EXISTS counts a key once per mention: `EXISTS k k` is 2.
fn exists(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    let n = args[1..]
        .iter()
        .filter(|k| lookup_read_notouch(db, k).is_some())
        .count();
    ctx.out.int(n as i64);
    Ok(())
}

fn type_cmd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    match lookup_read_notouch(db, &args[1]) {
        Some(idx) => ctx.out.simple(db.entry(idx).value.type_name()),
        None => ctx.out.simple("none"),
    }
    Ok(())
}

/// TOUCH: a read lookup of each key (refreshes the LRU clock), counting the existing ones.
fn touch(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    let n = args[1..].iter().filter(|k| db.get(k).is_some()).count();
    ctx.out.int(n as i64);
    Ok(())
}

// ---------------------------------------------------------------- KEYS / SCAN / RANDOMKEY

/// KEYS: every live key matching the glob; logically expired keys are
/// hidden (not deleted, as in Redis 7.0).
fn keys(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let pattern = &args[1][..];
    let all = pattern == b"*";
    let db = &ctx.store.dbs[ctx.client.db];
    let now = db.now;
    // Encode matches straight into a side buffer (the entries cannot be
    // borrowed past the visitor), then emit the array header and the bulks.
    let mut body = crate::resp::Out::new(ctx.out.proto);
    let mut n = 0;
    let mut cursor = 0;
    loop {
        cursor = db.scan(cursor, 4096, |e| {
            let k = e.key.as_bytes();
            if (e.expire == 0 || e.expire > now) && (all || crate::glob::matches(pattern, k, false))
            {
                body.bulk(k);
                n += 1;
            }
        });
        if cursor == 0 {
            break;
        }
    }
    ctx.out.array(n);
    ctx.out.raw(&body.buf);
    Ok(())
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type].
///
/// The cursor is a slab position (see `Db::scan`): a key present for the
/// whole iteration is returned exactly once, whatever else is added or
/// deleted meanwhile. Logically expired keys met on the way are deleted
/// (lazy expiry, propagated as DEL) and not returned, as Redis does.
fn scan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let cursor = super::scan::parse_cursor(&args[1])?;
    let mut count: usize = 10;
    let mut pattern: Option<&[u8]> = None;
    let mut type_name: Option<&[u8]> = None;
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - i - 1;
        if eq_ic(&args[i], "count") && more >= 1 {
            let c = parse_i64(&args[i + 1]).ok_or(Error::NotInteger)?;
            if c < 1 {
                return Err(Error::Syntax);
            }
            // Bounded so that the slot budget (10 x count) cannot overflow.
            count = c.min(1 << 32) as usize;
            i += 2;
        } else if eq_ic(&args[i], "match") && more >= 1 {
            pattern = (&args[i + 1][..] != b"*").then_some(&args[i + 1][..]);
            i += 2;
        } else if eq_ic(&args[i], "type") && more >= 1 {
            type_name = Some(&args[i + 1][..]);
            i += 2;
        } else {
            return Err(Error::Syntax);
        }
    }

    let db = &mut ctx.store.dbs[ctx.client.db];
    let now = db.now;
    let mut found: Vec<Bytes> = Vec::new();
    let mut expired: Vec<Bytes> = Vec::new();
    let next = db.scan(cursor, count, |e| {
        let k = e.key.as_bytes();
        // Redis filters by pattern first, then type, then expiry.
        if pattern.is_some_and(|p| !crate::glob::matches(p, k, false)) {
            return;
        }
        if type_name.is_some_and(|t| !t.eq_ignore_ascii_case(e.value.type_name().as_bytes())) {
            return;
        }
        if e.expire != 0 && e.expire <= now {
            expired.push(Bytes::copy_from_slice(k));
            return;
        }
        found.push(Bytes::copy_from_slice(k));
    });
    for k in &expired {
        // Deletes the key (or only hides it on a replica) and records the DEL.
        db.lookup(k);
    }
    ctx.out.array(2);
    ctx.out.bulk(itoa::Buffer::new().format(next).as_bytes());
    ctx.out.bulks(found.iter());
    Ok(())
}

/// RANDOMKEY: a random live key, nil when the database is empty. Expired keys
/// drawn on the way are deleted (lazily, propagated as DEL). On a replica,
/// where expired keys are only hidden, give up after 100 draws when every key
/// has a TTL and return the expired one, like Redis.
fn randomkey(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    let mut rng = rand::thread_rng();
    let mut tries = 100;
    loop {
        let Some(idx) = db.random_idx(&mut rng) else {
            ctx.out.null();
            return Ok(());
        };
        if is_expired(db, idx) {
            let key = db.entry(idx).key.clone();
            if db.expire_deletes {
                db.lookup(key.as_bytes());
                continue;
            }
            tries -= 1;
            if !(db.len() == db.expires_len() && tries == 0) {
                continue;
            }
        }
        ctx.out.bulk(db.entry(idx).key.as_bytes());
        return Ok(());
    }
}

// ---------------------------------------------------------------- RENAME / COPY / MOVE

fn rename(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    rename_generic(ctx, args, false)
}

fn renamenx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    rename_generic(ctx, args, true)
}

/// RENAME keeps the TTL of the source; an existing destination is replaced
/// (with its TTL dropped). Renaming a key to itself changes nothing.
fn rename_generic(ctx: &mut Ctx, args: &[Bytes], nx: bool) -> CmdResult {
    let (src, dst) = (&args[1][..], &args[2][..]);
    let db = &mut ctx.store.dbs[ctx.client.db];
    let Some(idx) = db.lookup(src) else {
        return Err(Error::NoSuchKey);
    };
    // Read before removing: `Db::remove` clears the TTL of the entry it returns.
    let expire = db.entry(idx).expire;
    if src == dst {
        if nx {
            ctx.out.int(0);
        } else {
            ctx.out.ok();
        }
        return Ok(());
    }
    if nx && db.lookup(dst).is_some() {
        ctx.out.int(0);
        return Ok(());
    }
    // Expire the destination lazily first if it is due, so the DEL is propagated.
    db.lookup(dst);
    let e = db.remove(src).expect("looked up");
    let idx = db.set(dst, e.value, false);
    if expire != 0 {
        db.set_expire_idx(idx, expire);
    }
    ctx.dirty(1);
    if nx {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

/// COPY source destination [DB destination-db] [REPLACE]: a deep copy of the
/// value with the same TTL. Propagated verbatim (the DB argument is absolute).
fn copy(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ctx.store.set_now(ctx.now); // may read another database
    let src_db = ctx.client.db;
    let mut dst_db = src_db;
    let mut replace = false;
    let mut j = 3;
    while j < args.len() {
        let more = args.len() - j - 1;
        if eq_ic(&args[j], "replace") {
            replace = true;
        } else if eq_ic(&args[j], "db") && more >= 1 {
            dst_db = parse_db_index(ctx, &args[j + 1])?;
            j += 1;
        } else {
            return Err(Error::Syntax);
        }
        j += 1;
    }
    let (key, newkey) = (&args[1][..], &args[2][..]);
    if src_db == dst_db && key == newkey {
        return Err(Error::err("source and destination objects are the same"));
    }
    let src = &mut ctx.store.dbs[src_db];
    let Some(value) = src.get(key).map(Value::deep_clone) else {
        ctx.out.int(0);
        return Ok(());
    };
    let idx = src.lookup(key).expect("just read");
    let expire = src.entry(idx).expire;

    let dst = &mut ctx.store.dbs[dst_db];
    if dst.lookup(newkey).is_some() {
        if !replace {
            ctx.out.int(0);
            return Ok(());
        }
        dst.remove(newkey);
    }
    let idx = dst.set(newkey, value, false);
    if expire != 0 {
        dst.set_expire_idx(idx, expire);
    }
    ctx.dirty(1);
    ctx.out.int(1);
    Ok(())
}

/// MOVE key db: 1 when moved; 0 when the key is missing or already exists in
/// the target. The value moves as is, with its TTL and LRU clock.
fn move_cmd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ctx.store.set_now(ctx.now); // touches another database
    let src_db = ctx.client.db;
    let dst_db = parse_db_index(ctx, &args[2])?;
    if src_db == dst_db {
        return Err(Error::err("source and destination objects are the same"));
    }
    let key = &args[1][..];
    let Some(idx) = ctx.store.dbs[src_db].lookup(key) else {
        ctx.out.int(0);
        return Ok(());
    };
    // Read before removing: `Db::remove` clears the TTL of the entry it returns.
    let expire = ctx.store.dbs[src_db].entry(idx).expire;
    if ctx.store.dbs[dst_db].lookup(key).is_some() {
        ctx.out.int(0);
        return Ok(());
    }
    let e = ctx.store.dbs[src_db].remove(key).expect("looked up");
    let dst = &mut ctx.store.dbs[dst_db];
    let idx = dst.set(key, e.value, false);
    if expire != 0 {
        dst.set_expire_idx(idx, expire);
    }
    dst.set_lru(idx, e.lru);
    ctx.dirty(1);
    ctx.out.int(1);
    Ok(())
}

// ---------------------------------------------------------------- OBJECT

/// OBJECT's lookup: no LRU touch; nil reply when the key is missing.
fn object_lookup(ctx: &mut Ctx, key: &[u8]) -> Option<u32> {
    let r = lookup_read_notouch(&mut ctx.store.dbs[ctx.client.db], key);
    if r.is_none() {
        ctx.out.null();
    }
    r
}

fn object_encoding(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if let Some(idx) = object_lookup(ctx, &args[2]) {
        let enc = ctx.db().entry(idx).value.encoding();
        ctx.out.bulk(enc.as_bytes());
    }
    Ok(())
}

fn object_refcount(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if let Some(idx) = object_lookup(ctx, &args[2]) {
        // Values are never shared here, but Redis shows its shared small
        // integers with INT_MAX; clients and tests expect that.
        let shared = match &ctx.db().entry(idx).value {
            Value::Str(s) => {
                s.as_bytes().len() <= 20
                    && parse_i64(s.as_bytes()).is_some_and(|v| (0..SHARED_INTEGERS).contains(&v))
            }
            _ => false,
        };
        ctx.out.int(if shared { SHARED_REFCOUNT } else { 1 });
    }
    Ok(())
}

fn object_idletime(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    // There is no maxmemory-policy yet, so the policy is never LFU and idle
    // time is always tracked. When LFU policies arrive, answer Redis's
    // "An LFU maxmemory policy is selected, idle time not tracked..." here.
    if let Some(idx) = object_lookup(ctx, &args[2]) {
        let now_s = (ctx.now / 1000) as u32;
        let idle = now_s.saturating_sub(ctx.db().entry(idx).lru);
        ctx.out.int(idle as i64);
    }
    Ok(())
}

fn object_freq(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    // Access frequency is only tracked under an LFU maxmemory policy, which
    // this server does not offer (yet): always Redis's "not selected" error.
    if object_lookup(ctx, &args[2]).is_some() {
        return Err(Error::err(
            "An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        ));
    }
    Ok(())
}

fn object_help(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    ctx.out.array(OBJECT_HELP.len());
    for l in OBJECT_HELP {
        ctx.out.simple(l);
    }
    Ok(())
}

// ---------------------------------------------------------------- EXPIRE family

const EXPIRE_NX: u8 = 1;
const EXPIRE_XX: u8 = 2;
const EXPIRE_GT: u8 = 4;
const EXPIRE_LT: u8 = 8;

fn parse_expire_flags(args: &[Bytes]) -> Result<u8, Error> {
    let mut f = 0;
    for a in args {
        f |= if eq_ic(a, "nx") {
            EXPIRE_NX
        } else if eq_ic(a, "xx") {
            EXPIRE_XX
        } else if eq_ic(a, "gt") {
            EXPIRE_GT
        } else if eq_ic(a, "lt") {
            EXPIRE_LT
        } else {
            return Err(Error::msg(format!(
                "ERR Unsupported option {}",
                String::from_utf8_lossy(a)
            )));
        };
    }
    if f & EXPIRE_NX != 0 && f & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT) != 0 {
        return Err(Error::err(
            "NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if f & EXPIRE_GT != 0 && f & EXPIRE_LT != 0 {
        return Err(Error::err(
            "GT and LT options at the same time are not compatible",
        ));
    }
    Ok(f)
}

fn expire(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let base = ctx.now as i64;
    expire_generic(ctx, args, base, true)
}

fn pexpire(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let base = ctx.now as i64;
    expire_generic(ctx, args, base, false)
}

fn expireat(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    expire_generic(ctx, args, 0, true)
}

fn pexpireat(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    expire_generic(ctx, args, 0, false)
}

/// The four EXPIRE commands. A time in the past deletes the key (propagated
/// as DEL); otherwise the effect is `PEXPIREAT key <abs ms> [flags]`.
fn expire_generic(ctx: &mut Ctx, args: &[Bytes], base: i64, seconds: bool) -> CmdResult {
    let flags = parse_expire_flags(&args[3..])?;
    let mut when = parse_i64(&args[2]).ok_or(Error::NotInteger)?;
    let invalid = || Error::InvalidExpire(ctx.cmd.name.to_string());
    if seconds {
        when = when.checked_mul(1000).ok_or_else(invalid)?;
    }
    let when = when.checked_add(base).ok_or_else(invalid)?;

    let key = &args[1][..];
    let db = &mut ctx.store.dbs[ctx.client.db];
    let Some(idx) = db.lookup(key) else {
        ctx.out.int(0);
        return Ok(());
    };
    // The current TTL, with "no TTL" as -1 (infinite for GT/LT).
    let current = match db.entry(idx).expire {
        0 => -1,
        e => e as i64,
    };
    let refused = (flags & EXPIRE_NX != 0 && current != -1)
        || (flags & EXPIRE_XX != 0 && current == -1)
        || (flags & EXPIRE_GT != 0 && (current == -1 || when <= current))
        || (flags & EXPIRE_LT != 0 && current != -1 && when >= current);
    if refused {
        ctx.out.int(0);
        return Ok(());
    }

    // A replica never deletes on its own: it keeps the (past) time and waits for the DEL.
    if when <= ctx.now as i64 && db.expire_deletes {
        db.remove(key);
        ctx.dirty(1);
        ctx.propagate(vec![Bytes::from_static(b"DEL"), args[1].clone()]);
    } else {
        db.touch(key);
        db.set_expire_idx(idx, when.max(1) as u64);
        ctx.dirty(1);
        let mut effect = Vec::with_capacity(args.len());
        effect.push(Bytes::from_static(b"PEXPIREAT"));
        effect.push(args[1].clone());
        effect.push(Bytes::copy_from_slice(
            itoa::Buffer::new().format(when).as_bytes(),
        ));
        effect.extend(args[3..].iter().cloned());
        ctx.propagate(effect);
    }
    ctx.out.int(1);
    Ok(())
}

/// TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 missing key, -1 no TTL.
fn ttl_generic(ctx: &mut Ctx, args: &[Bytes], ms: bool, absolute: bool) -> CmdResult {
    // Redis 7.0 counts the TTL from the clock, also inside a script (whose
    // frozen time only decides whether the key is still there).
    let now = if ctx.store.frozen_now.is_some() {
        crate::util::now_ms() as i128
    } else {
        ctx.now as i128
    };
    let db = &mut ctx.store.dbs[ctx.client.db];
    let Some(idx) = lookup_read_notouch(db, &args[1]) else {
        ctx.out.int(-2);
        return Ok(());
    };
    let expire = db.entry(idx).expire;
    if expire == 0 {
        ctx.out.int(-1);
        return Ok(());
    }
    let mut t = expire as i128;
    if !absolute {
        t = (t - now).max(0);
    }
    if !ms {
        t = (t + 500) / 1000;
    }
    ctx.out.int(t.clamp(0, i64::MAX as i128) as i64);
    Ok(())
}

fn ttl(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, args, false, false)
}

fn pttl(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, args, true, false)
}

fn expiretime(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, args, false, true)
}

fn pexpiretime(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, args, true, true)
}

fn persist(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    match db.lookup(&args[1]) {
        Some(idx) if db.entry(idx).expire != 0 => {
            db.touch(&args[1]);
            db.set_expire_idx(idx, 0);
            ctx.dirty(1);
            ctx.out.int(1);
        }
        _ => ctx.out.int(0),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::testkit::Harness as H;

    fn now() -> i64 {
        crate::util::now_ms() as i64
    }

    #[test]
    fn cursor_parsing_is_strtoul_like() {
        assert_eq!(crate::cmd::scan::parse_cursor(b"0").ok(), Some(0));
        assert_eq!(crate::cmd::scan::parse_cursor(b"").ok(), Some(0));
        assert_eq!(crate::cmd::scan::parse_cursor(b"+12").ok(), Some(12));
        assert_eq!(crate::cmd::scan::parse_cursor(b"007").ok(), Some(7));
        assert_eq!(crate::cmd::scan::parse_cursor(b"-1").ok(), Some(u64::MAX));
        assert_eq!(
            crate::cmd::scan::parse_cursor(b"18446744073709551615").ok(),
            Some(u64::MAX)
        );
        assert_eq!(
            crate::cmd::scan::parse_cursor(b"18446744073709551616").ok(),
            None
        );
        for bad in [&b"abc"[..], b"-", b"+", b" 1", b"1 ", b"1x"] {
            assert_eq!(crate::cmd::scan::parse_cursor(bad).ok(), None, "{:?}", bad);
        }
    }

    #[test]
    fn del_unlink_exists_type_touch() {
        let mut h = H::new();
        h.run_args(&["SET", "a", "1"]);
        h.run_args(&["SET", "b", "2"]);
        h.run_args(&["LPUSH", "l", "x"]);
        assert_eq!(h.int(&["EXISTS", "a", "a", "b", "nope"]), 3);
        assert_eq!(h.run_args(&["TYPE", "a"]), "+string\r\n");
        assert_eq!(h.run_args(&["TYPE", "l"]), "+list\r\n");
        assert_eq!(h.run_args(&["TYPE", "nope"]), "+none\r\n");
        assert_eq!(h.int(&["TOUCH", "a", "l", "nope"]), 2);
        h.effects();
        assert_eq!(h.int(&["DEL", "a", "nope"]), 1);
        assert_eq!(h.int(&["UNLINK", "b", "l", "b"]), 2);
        assert_eq!(h.int(&["DEL", "nope"]), 0);
        assert_eq!(h.effects(), vec!["DEL a nope", "UNLINK b l b"]);
        assert_eq!(h.len(0), 0);
    }

    #[test]
    fn keys_globs_and_hides_expired() {
        let mut h = H::new();
        for k in ["hello", "hallo", "hxllo", "other"] {
            h.run_args(&["SET", k, "v"]);
        }
        h.force_expire(0, "hxllo", 1);
        let mut got: Vec<String> = h
            .run_args(&["KEYS", "h*llo"])
            .split("\r\n")
            .filter(|l| l.starts_with('h'))
            .map(String::from)
            .collect();
        got.sort();
        assert_eq!(got, vec!["hallo", "hello"]);
        assert!(h.run_args(&["KEYS", "*"]).starts_with("*3\r\n"));
        assert_eq!(h.run_args(&["KEYS", "zz*"]), "*0\r\n");
        // KEYS hides but does not delete (as 7.0).
        assert_eq!(h.len(0), 4);
    }

    #[test]
    fn scan_options_and_errors() {
        let mut h = H::new();
        assert_eq!(h.run_args(&["SCAN", "abc"]), "-ERR invalid cursor\r\n");
        assert_eq!(
            h.run_args(&["SCAN", "x", "COUNT", "0"]),
            "-ERR invalid cursor\r\n"
        );
        assert_eq!(
            h.run_args(&["SCAN", "0", "COUNT", "0"]),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            h.run_args(&["SCAN", "0", "COUNT", "x"]),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(h.run_args(&["SCAN", "0", "MATCH"]), "-ERR syntax error\r\n");
        assert_eq!(
            h.run_args(&["SCAN", "0", "FOO", "bar"]),
            "-ERR syntax error\r\n"
        );
        assert_eq!(h.run_args(&["SCAN", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
        h.run_args(&["SET", "s1", "v"]);
        h.run_args(&["LPUSH", "l1", "v"]);
        assert_eq!(
            h.run_args(&["SCAN", "0", "TYPE", "LIST"]),
            "*2\r\n$1\r\n0\r\n*1\r\n$2\r\nl1\r\n"
        );
        assert_eq!(
            h.run_args(&["SCAN", "0", "MATCH", "s*", "COUNT", "100"]),
            "*2\r\n$1\r\n0\r\n*1\r\n$2\r\ns1\r\n"
        );
        assert_eq!(
            h.run_args(&["SCAN", "0", "TYPE", "zset"]),
            "*2\r\n$1\r\n0\r\n*0\r\n"
        );
        assert_eq!(h.run_args(&["SCAN", "-1"]), "*2\r\n$1\r\n0\r\n*0\r\n");
    }

    #[test]
    fn scan_iterates_everything_and_expires_lazily() {
        let mut h = H::new();
        for i in 0..1000 {
            h.run_args(&["SET", &format!("k{i}"), "v"]);
        }
        h.force_expire(0, "k7", 1);
        h.effects();
        let mut seen = std::collections::HashSet::new();
        let mut cursor = "0".to_string();
        let mut calls = 0;
        loop {
            let r = h.run_args(&["SCAN", &cursor, "COUNT", "50"]);
            let lines: Vec<&str> = r.split("\r\n").collect();
            cursor = lines[2].to_string();
            for k in lines[4..].iter().skip(1).step_by(2) {
                if !k.is_empty() {
                    assert!(seen.insert(k.to_string()), "dup {k}");
                }
            }
            calls += 1;
            if cursor == "0" {
                break;
            }
        }
        assert!(calls >= 10, "COUNT is honoured: {calls} calls");
        assert_eq!(seen.len(), 999);
        assert!(!seen.contains("k7"));
        assert_eq!(h.len(0), 999, "SCAN deleted the expired key");
        assert_eq!(h.effects(), vec!["DEL k7"]);
    }

    #[test]
    fn randomkey_skips_and_reaps_expired() {
        let mut h = H::new();
        assert_eq!(h.run_args(&["RANDOMKEY"]), "$-1\r\n");
        for i in 0..50 {
            h.run_args(&["SET", &format!("e{i}"), "v"]);
            h.force_expire(0, &format!("e{i}"), 1);
        }
        assert_eq!(h.run_args(&["RANDOMKEY"]), "$-1\r\n");
        assert_eq!(h.len(0), 0);
        assert_eq!(
            h.effects()
                .iter()
                .filter(|e| e.starts_with("DEL e"))
                .count(),
            50
        );
        h.run_args(&["SET", "live", "v"]);
        h.run_args(&["SET", "dead", "v"]);
        h.force_expire(0, "dead", 1);
        for _ in 0..20 {
            assert_eq!(h.run_args(&["RANDOMKEY"]), "$4\r\nlive\r\n");
        }
    }

    #[test]
    fn rename_and_renamenx() {
        let mut h = H::new();
        assert_eq!(h.run_args(&["RENAME", "nope", "x"]), "-ERR no such key\r\n");
        assert_eq!(
            h.run_args(&["RENAMENX", "nope", "x"]),
            "-ERR no such key\r\n"
        );
        h.run_args(&["SET", "a", "1"]);
        h.effects();
        assert_eq!(h.run_args(&["RENAME", "a", "a"]), "+OK\r\n");
        assert_eq!(h.int(&["RENAMENX", "a", "a"]), 0);
        assert!(h.effects().is_empty(), "same-key rename is not propagated");
        h.run_args(&["PEXPIRE", "a", "100000"]);
        assert_eq!(h.run_args(&["RENAME", "a", "b"]), "+OK\r\n");
        assert_eq!(h.int(&["EXISTS", "a"]), 0);
        let pttl = h.int(&["PTTL", "b"]);
        assert!(pttl > 90_000 && pttl <= 100_000, "{pttl}");
        // overwrite drops the destination's TTL and takes the source's (none)
        h.run_args(&["SET", "c", "3"]);
        assert_eq!(h.run_args(&["RENAME", "c", "b"]), "+OK\r\n");
        assert_eq!(h.int(&["PTTL", "b"]), -1);
        assert_eq!(h.run_args(&["GET", "b"]), "$1\r\n3\r\n");
        h.run_args(&["SET", "d", "4"]);
        assert_eq!(h.int(&["RENAMENX", "d", "b"]), 0);
        assert_eq!(h.int(&["RENAMENX", "d", "e"]), 1);
        assert_eq!(h.run_args(&["GET", "e"]), "$1\r\n4\r\n");
        h.run_args(&["LPUSH", "l", "x"]);
        assert_eq!(h.run_args(&["RENAME", "l", "e"]), "+OK\r\n");
        assert_eq!(h.run_args(&["TYPE", "e"]), "+list\r\n");
    }

    #[test]
    fn copy_semantics() {
        let mut h = H::new();
        h.run_args(&["SET", "k", "v"]);
        let same = "-ERR source and destination objects are the same\r\n";
        assert_eq!(h.run_args(&["COPY", "k", "k"]), same);
        assert_eq!(h.run_args(&["COPY", "k", "k", "DB", "0"]), same);
        assert_eq!(
            h.run_args(&["COPY", "k", "x", "foo"]),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            h.run_args(&["COPY", "k", "x", "db"]),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            h.run_args(&["COPY", "k", "x", "db", "abc"]),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(
            h.run_args(&["COPY", "k", "x", "db", "16"]),
            "-ERR DB index is out of range\r\n"
        );
        assert_eq!(h.int(&["COPY", "nope", "x"]), 0);
        h.run_args(&["PEXPIRE", "k", "50000"]);
        assert_eq!(h.int(&["COPY", "k", "k", "DB", "3"]), 1);
        h.run_args(&["SELECT", "3"]);
        assert_eq!(h.run_args(&["GET", "k"]), "$1\r\nv\r\n");
        assert!(h.int(&["PTTL", "k"]) > 40_000);
        h.run_args(&["SELECT", "0"]);
        h.run_args(&["SET", "other", "o"]);
        assert_eq!(h.int(&["COPY", "k", "other"]), 0);
        assert_eq!(h.int(&["COPY", "k", "other", "REPLACE"]), 1);
        assert_eq!(h.run_args(&["GET", "other"]), "$1\r\nv\r\n");
        // deep copy: changing the copy leaves the source alone
        h.run_args(&["LPUSH", "l", "a"]);
        assert_eq!(h.int(&["COPY", "l", "l2"]), 1);
        h.run_args(&["LPUSH", "l2", "b"]);
        let src_len = match h.srv.store.lock().dbs[0].get(b"l") {
            Some(Value::List(l)) => l.len(),
            _ => 0,
        };
        assert_eq!(src_len, 1);
        h.effects();
        h.run_args(&["COPY", "k", "z", "DB", "2"]);
        assert_eq!(h.effects(), vec!["COPY k z DB 2"]);
    }

    #[test]
    fn move_semantics() {
        let mut h = H::new();
        h.run_args(&["SET", "k", "v"]);
        assert_eq!(
            h.run_args(&["MOVE", "k", "0"]),
            "-ERR source and destination objects are the same\r\n"
        );
        assert_eq!(
            h.run_args(&["MOVE", "k", "16"]),
            "-ERR DB index is out of range\r\n"
        );
        assert_eq!(
            h.run_args(&["MOVE", "k", "-1"]),
            "-ERR DB index is out of range\r\n"
        );
        assert_eq!(
            h.run_args(&["MOVE", "k", "x"]),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(
            h.run_args(&["MOVE", "k", "99999999999"]),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(h.int(&["MOVE", "nope", "1"]), 0);
        h.run_args(&["PEXPIRE", "k", "50000"]);
        assert_eq!(h.int(&["MOVE", "k", "1"]), 1);
        assert_eq!(h.int(&["EXISTS", "k"]), 0);
        h.run_args(&["SET", "k", "again"]);
        assert_eq!(h.int(&["MOVE", "k", "1"]), 0, "exists at target");
        h.run_args(&["SELECT", "1"]);
        assert_eq!(h.run_args(&["GET", "k"]), "$1\r\nv\r\n");
        assert!(h.int(&["PTTL", "k"]) > 40_000);
    }

    #[test]
    fn object_subcommands() {
        let mut h = H::new();
        h.run_args(&["SET", "i", "123"]);
        h.run_args(&["SET", "big", "123456"]);
        h.run_args(&["SET", "s", "hello"]);
        h.run_args(&["LPUSH", "l", "x"]);
        assert_eq!(h.run_args(&["OBJECT", "ENCODING", "i"]), "$3\r\nint\r\n");
        assert_eq!(h.run_args(&["OBJECT", "encoding", "s"]), "$6\r\nembstr\r\n");
        assert_eq!(
            h.run_args(&["OBJECT", "ENCODING", "l"]),
            "$9\r\nquicklist\r\n"
        );
        assert_eq!(h.run_args(&["OBJECT", "ENCODING", "nope"]), "$-1\r\n");
        assert_eq!(h.int(&["OBJECT", "REFCOUNT", "i"]), 2147483647);
        assert_eq!(h.int(&["OBJECT", "REFCOUNT", "big"]), 1);
        assert_eq!(h.int(&["OBJECT", "REFCOUNT", "s"]), 1);
        assert_eq!(h.run_args(&["OBJECT", "REFCOUNT", "nope"]), "$-1\r\n");
        assert_eq!(h.int(&["OBJECT", "IDLETIME", "s"]), 0);
        {
            let mut st = h.srv.store.lock();
            let idx = st.dbs[0].find(b"s").unwrap();
            st.dbs[0].entry_mut(idx).lru -= 100;
        }
        let idle = h.int(&["OBJECT", "IDLETIME", "s"]);
        assert!((100..=101).contains(&idle), "{idle}");
        // OBJECT does not touch the key; TOUCH does.
        assert!(h.int(&["OBJECT", "IDLETIME", "s"]) >= 100);
        h.run_args(&["TOUCH", "s"]);
        assert_eq!(h.int(&["OBJECT", "IDLETIME", "s"]), 0);
        assert!(h
            .run_args(&["OBJECT", "FREQ", "s"])
            .starts_with("-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"));
        assert_eq!(h.run_args(&["OBJECT", "FREQ", "nope"]), "$-1\r\n");
        let help = h.run_args(&["OBJECT", "HELP"]);
        assert!(help.starts_with(
            "*15\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+ENCODING <key>\r\n"
        ));
        assert!(help.ends_with("+HELP\r\n+    Prints this help.\r\n"));
        assert_eq!(
            h.run_args(&["OBJECT", "foo"]),
            "-ERR unknown subcommand 'foo'. Try OBJECT HELP.\r\n"
        );
        assert_eq!(
            h.run_args(&["OBJECT", "ENCODING", "s", "x"]),
            "-ERR wrong number of arguments for 'object|encoding' command\r\n"
        );
    }

    #[test]
    fn expire_option_rules_and_errors() {
        let mut h = H::new();
        h.run_args(&["SET", "k", "v"]);
        assert_eq!(
            h.run_args(&["EXPIRE", "k", "abc", "foo"]),
            "-ERR Unsupported option foo\r\n"
        );
        assert_eq!(
            h.run_args(&["EXPIRE", "k", "10", "nx", "xx", "bogus"]),
            "-ERR Unsupported option bogus\r\n"
        );
        let compat = "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n";
        assert_eq!(h.run_args(&["EXPIRE", "k", "abc", "NX", "XX"]), compat);
        assert_eq!(h.run_args(&["EXPIRE", "k", "10", "nx", "gt"]), compat);
        assert_eq!(h.run_args(&["EXPIRE", "k", "10", "lt", "nx"]), compat);
        assert_eq!(
            h.run_args(&["PEXPIRE", "k", "10", "GT", "LT"]),
            "-ERR GT and LT options at the same time are not compatible\r\n"
        );
        assert_eq!(
            h.run_args(&["EXPIRE", "k", "abc"]),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(
            h.run_args(&["EXPIRE", "k", "99999999999999999"]),
            "-ERR invalid expire time in 'expire' command\r\n"
        );
        assert_eq!(
            h.run_args(&["EXPIRE", "k", "-9223372036854775807"]),
            "-ERR invalid expire time in 'expire' command\r\n"
        );
        assert_eq!(
            h.run_args(&["PEXPIRE", "k", "9223372036854775807"]),
            "-ERR invalid expire time in 'pexpire' command\r\n"
        );
        assert_eq!(
            h.run_args(&["EXPIREAT", "k", "9223372036854775807"]),
            "-ERR invalid expire time in 'expireat' command\r\n"
        );
        assert_eq!(h.int(&["EXPIRE", "nope", "10"]), 0);

        // NX / XX / GT / LT
        assert_eq!(h.int(&["EXPIRE", "k", "100", "XX"]), 0);
        assert_eq!(
            h.int(&["EXPIRE", "k", "100", "GT"]),
            0,
            "no TTL is infinite"
        );
        assert_eq!(h.int(&["EXPIRE", "k", "100", "NX"]), 1);
        assert_eq!(h.int(&["EXPIRE", "k", "200", "NX"]), 0);
        assert_eq!(h.int(&["EXPIRE", "k", "50", "GT"]), 0);
        assert_eq!(h.int(&["EXPIRE", "k", "200", "gt"]), 1);
        assert_eq!(h.int(&["EXPIRE", "k", "300", "LT"]), 0);
        assert_eq!(h.int(&["EXPIRE", "k", "150", "xx", "lt"]), 1);
        assert_eq!(h.int(&["TTL", "k"]), 150);
        h.run_args(&["SET", "p", "v"]);
        assert_eq!(
            h.int(&["EXPIRE", "p", "100", "LT"]),
            1,
            "LT on no TTL sets it"
        );
        assert_eq!(h.int(&["EXPIRE", "p", "10", "nx", "nx"]), 0);
    }

    #[test]
    fn expire_propagates_pexpireat_or_del() {
        let mut h = H::new();
        h.run_args(&["SET", "k", "v"]);
        h.effects();
        let before = now();
        assert_eq!(h.int(&["EXPIRE", "k", "100"]), 1);
        let after = now();
        let eff = h.effects();
        assert_eq!(eff.len(), 1);
        let parts: Vec<&str> = eff[0].split(' ').collect();
        assert_eq!(parts[..2], ["PEXPIREAT", "k"]);
        let at: i64 = parts[2].parse().unwrap();
        assert!(at >= before + 100_000 && at <= after + 100_000);
        assert_eq!(h.int(&["PEXPIRETIME", "k"]), at);
        assert_eq!(h.int(&["EXPIRETIME", "k"]), (at + 500) / 1000);

        h.run_args(&["PEXPIRE", "k", "5000", "GT"]);
        assert!(h.effects().is_empty(), "refused: no effect");
        h.run_args(&["PEXPIRE", "k", "5000", "LT"]);
        let eff = h.effects();
        assert!(
            eff[0].starts_with("PEXPIREAT k ") && eff[0].ends_with(" LT"),
            "{eff:?}"
        );
        h.run_args(&["EXPIREAT", "k", "4000000000"]);
        assert_eq!(h.effects(), vec!["PEXPIREAT k 4000000000000"]);
        h.run_args(&["PEXPIREAT", "k", "4000000000001"]);
        assert_eq!(h.effects(), vec!["PEXPIREAT k 4000000000001"]);

        // in the past: the key is deleted and a DEL propagated
        assert_eq!(h.int(&["EXPIRE", "k", "-1"]), 1);
        assert_eq!(h.int(&["EXISTS", "k"]), 0);
        assert_eq!(h.effects(), vec!["DEL k"]);
        h.run_args(&["SET", "k", "v"]);
        h.effects();
        assert_eq!(h.int(&["PEXPIREAT", "k", "1"]), 1);
        assert_eq!(h.effects(), vec!["DEL k"]);
        h.run_args(&["SET", "k", "v"]);
        h.effects();
        assert_eq!(h.int(&["PEXPIRE", "k", "0"]), 1);
        assert_eq!(h.effects(), vec!["DEL k"]);
        assert_eq!(h.len(0), 0);
    }

    #[test]
    fn ttl_family_and_persist() {
        let mut h = H::new();
        for c in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
            assert_eq!(h.int(&[c, "nope"]), -2);
        }
        h.run_args(&["SET", "k", "v"]);
        for c in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
            assert_eq!(h.int(&[c, "k"]), -1);
        }
        assert_eq!(h.int(&["PERSIST", "k"]), 0);
        assert_eq!(h.int(&["PERSIST", "nope"]), 0);
        h.run_args(&["PEXPIRE", "k", "10400"]);
        assert_eq!(h.int(&["TTL", "k"]), 10, "rounded to the nearest second");
        h.run_args(&["PEXPIRE", "k", "10600"]);
        assert_eq!(h.int(&["TTL", "k"]), 11);
        let p = h.int(&["PTTL", "k"]);
        assert!(p > 10_000 && p <= 10_600);
        h.run_args(&["PEXPIREAT", "k", "9223372036854775807"]);
        assert_eq!(h.int(&["EXPIRETIME", "k"]), 9223372036854776);
        assert_eq!(h.int(&["PEXPIRETIME", "k"]), i64::MAX);
        h.effects();
        assert_eq!(h.int(&["PERSIST", "k"]), 1);
        assert_eq!(h.effects(), vec!["PERSIST k"]);
        assert_eq!(h.int(&["TTL", "k"]), -1);
        assert_eq!(h.int(&["PERSIST", "k"]), 0);
        assert!(h.effects().is_empty());
        // a logically expired key is missing for all of them
        h.force_expire(0, "k", 1);
        assert_eq!(h.int(&["TTL", "k"]), -2);
        assert_eq!(h.effects(), vec!["DEL k"]);
    }

    #[test]
    fn replica_keeps_expired_keys_until_told() {
        let mut h = H::new();
        h.run_args(&["SET", "k", "v"]);
        h.srv.store.lock().dbs[0].expire_deletes = false;
        h.effects();
        assert_eq!(h.int(&["EXPIRE", "k", "-10"]), 1);
        // hidden, but still there, waiting for the master's DEL
        assert_eq!(h.int(&["EXISTS", "k"]), 0);
        assert_eq!(h.len(0), 1);
        assert_eq!(
            h.run_args(&["RANDOMKEY"]),
            "$1\r\nk\r\n",
            "all volatile: gives up"
        );
    }

    #[test]
    fn command_table_entries() {
        let t = crate::cmd::table();
        let c = |n: &[u8]| t.get(n).unwrap();
        assert_eq!(c(b"del").key_positions(4), vec![1, 2, 3]);
        assert_eq!(c(b"rename").key_positions(3), vec![1, 2]);
        assert_eq!(c(b"copy").key_positions(6), vec![1, 2]);
        assert_eq!(c(b"move").key_positions(3), vec![1]);
        assert!(c(b"keys").key_positions(2).is_empty());
        let obj = c(b"object");
        let enc = t.subcommand(obj, b"ENCODING").unwrap();
        assert_eq!(enc.name, "object|encoding");
        assert_eq!(enc.key_positions(3), vec![2]);
        assert!(c(b"unlink").is(FAST) && !c(b"del").is(FAST));
        assert!(c(b"expiretime").is(READONLY));
    }
}
