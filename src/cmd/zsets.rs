//! Sorted-set commands (Redis 7.0's "sorted-set" group, without the blocking
//! BZPOPMIN/BZPOPMAX/BZMPOP). Values live in `store::zset::ZSet`.
//!
//! Reply shapes follow 7.0: WITHSCORES replies are flat in RESP2 and arrays
//! of [member, double] pairs in RESP3; ZPOPMIN/ZPOPMAX use pairs in RESP3
//! only when a count is given; ZMPOP always nests; ZSCAN is flat with scores
//! as bulk strings. Pops propagate as ZREM of the popped members.

use super::{flags::*, Command, Ctx, Keys, KEY1, NOKEYS};
use crate::error::{CmdResult, Error};
use crate::resp::Out;
use crate::store::zset::{cmp_entry, ZSet};
use crate::store::{Db, Value};
use crate::util::{eq_ic, fmt_double, parse_f64, parse_i64};
use bytes::Bytes;

const G: &str = "sorted-set";

pub static COMMANDS: &[super::Command] = &[
    Command {
        name: "zadd",
        arity: -4,
        flags: WRITE | DENYOOM | FAST,
        keys: KEY1,
        group: G,
        since: "1.2.0",
        args: "key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]",
        summary: "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.",
        handler: zadd,
        ..Command::DEFAULT
    },
    Command {
        name: "zincrby",
        arity: 4,
        flags: WRITE | DENYOOM | FAST,
        keys: KEY1,
        group: G,
        since: "1.2.0",
        args: "key increment member",
        summary: "Increments the score of a member in a sorted set.",
        handler: zincrby,
        ..Command::DEFAULT
    },
    Command {
        name: "zrem",
        arity: -3,
        flags: WRITE | FAST,
        keys: KEY1,
        group: G,
        since: "1.2.0",
        args: "key member [member ...]",
        summary: "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.",
        handler: zrem,
        ..Command::DEFAULT
    },
    Command {
        name: "zscore",
        arity: 3,
        flags: READONLY | FAST,
        keys: KEY1,
        group: G,
        since: "1.2.0",
        args: "key member",
        summary: "Returns the score of a member in a sorted set.",
        handler: zscore,
        ..Command::DEFAULT
    },
    Command {
        name: "zmscore",
        arity: -3,
        flags: READONLY | FAST,
        keys: KEY1,
        group: G,
        since: "6.2.0",
        args: "key member [member ...]",
        summary: "Returns the score of one or more members in a sorted set.",
        handler: zmscore,
        ..Command::DEFAULT
    },
    Command {
        name: "zcard",
        arity: 2,
        flags: READONLY | FAST,
        keys: KEY1,
        group: G,
        since: "1.2.0",
        args: "key",
        summary: "Returns the number of members in a sorted set.",
        handler: zcard,
        ..Command::DEFAULT
    },
    Command {
        name: "zcount",
        arity: 4,
        flags: READONLY | FAST,
        keys: KEY1,
        group: G,
        since: "2.0.0",
        args: "key min max",
        summary: "Returns the count of members in a sorted set that have scores within a range.",
        handler: zcount,
        ..Command::DEFAULT
    },
    Command {
        name: "zlexcount",
        arity: 4,
        flags: READONLY | FAST,
        keys: KEY1,
        group: G,
        since: "2.8.9",
        args: "key min max",
        summary: "Returns the number of members in a sorted set within a lexicographical range.",
        handler: zlexcount,
        ..Command::DEFAULT
    },
    Command {
        name: "zrange",
        arity: -4,
        flags: READONLY,
        keys: KEY1,
        group: G,
        since: "1.2.0",
        args: "key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]",
        summary: "Returns members in a sorted set within a range of indexes.",
        handler: zrange,
        ..Command::DEFAULT
    },
    Command {
        name: "zrangestore",
        arity: -5,
        flags: WRITE | DENYOOM,
        keys: Keys { first: 1, last: 2, step: 1 },
        group: G,
        since: "6.2.0",
        args: "dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]",
        summary: "Stores a range of members from sorted set in a key.",
        handler: zrangestore,
        ..Command::DEFAULT
    },
    Command {
        name: "zrangebyscore",
        arity: -4,
        flags: READONLY,
        keys: KEY1,
        group: G,
        since: "1.0.5",
        args: "key min max [WITHSCORES] [LIMIT offset count]",
        summary: "Returns members in a sorted set within a range of scores.",
        handler: zrangebyscore,
        ..Command::DEFAULT
    },
    Command {
        name: "zrevrangebyscore",
        arity: -4,
        flags: READONLY,
        keys: KEY1,
        group: G,
        since: "2.2.0",
        args: "key max min [WITHSCORES] [LIMIT offset count]",
        summary: "Returns members in a sorted set within a range of scores in reverse order.",
        handler: zrevrangebyscore,
        ..Command::DEFAULT
    },
    Command {
        name: "zrangebylex",
        arity: -4,
        flags: READONLY,
        keys: KEY1,
        group: G,
        since: "2.8.9",
        args: "key min max [LIMIT offset count]",
        summary: "Returns members in a sorted set within a lexicographical range.",
        handler: zrangebylex,
        ..Command::DEFAULT
    },
    Command {
        name: "zrevrangebylex",
        arity: -4,
        flags: READONLY,
        keys: KEY1,
        group: G,
        since: "2.8.9",
        args: "key max min [LIMIT offset count]",
        summary: "Returns members in a sorted set within a lexicographical range in reverse order.",
        handler: zrevrangebylex,
        ..Command::DEFAULT
    },
    Command {
        name: "zrevrange",
        arity: -4,
        flags: READONLY,
        keys: KEY1,
        group: G,
        since: "1.2.0",
        args: "key start stop [WITHSCORES]",
        summary: "Returns members in a sorted set within a range of indexes in reverse order.",
        handler: zrevrange,
        ..Command::DEFAULT
    },
    Command {
        name: "zrank",
        arity: 3,
        flags: READONLY | FAST,
        keys: KEY1,
        group: G,
        since: "2.0.0",
        args: "key member",
        summary: "Returns the index of a member in a sorted set ordered by ascending scores.",
        handler: zrank,
        ..Command::DEFAULT
    },
    Command {
        name: "zrevrank",
        arity: 3,
        flags: READONLY | FAST,
        keys: KEY1,
        group: G,
        since: "2.0.0",
        args: "key member",
        summary: "Returns the index of a member in a sorted set ordered by descending scores.",
        handler: zrevrank,
        ..Command::DEFAULT
    },
    Command {
        name: "zremrangebyrank",
        arity: 4,
        flags: WRITE,
        keys: KEY1,
        group: G,
        since: "2.0.0",
        args: "key start stop",
        summary: "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.",
        handler: zremrangebyrank,
        ..Command::DEFAULT
    },
    Command {
        name: "zremrangebyscore",
        arity: 4,
        flags: WRITE,
        keys: KEY1,
        group: G,
        since: "1.2.0",
        args: "key min max",
        summary: "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.",
        handler: zremrangebyscore,
        ..Command::DEFAULT
    },
    Command {
        name: "zremrangebylex",
        arity: 4,
        flags: WRITE,
        keys: KEY1,
        group: G,
        since: "2.8.9",
        args: "key min max",
        summary: "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.",
        handler: zremrangebylex,
        ..Command::DEFAULT
    },
    Command {
        name: "zpopmin",
        arity: -2,
        flags: WRITE | FAST,
        keys: KEY1,
        group: G,
        since: "5.0.0",
        args: "key [count]",
        summary: "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.",
        handler: zpopmin,
        ..Command::DEFAULT
    },
    Command {
        name: "zpopmax",
        arity: -2,
        flags: WRITE | FAST,
        keys: KEY1,
        group: G,
        since: "5.0.0",
        args: "key [count]",
        summary: "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.",
        handler: zpopmax,
        ..Command::DEFAULT
    },
    Command {
        name: "zmpop",
        movable_keys: Some(crate::cmd::numkeys_at::<1>),
        arity: -4,
        flags: WRITE,
        keys: NOKEYS,
        group: G,
        since: "7.0.0",
        args: "numkeys key [key ...] MIN|MAX [COUNT count]",
        summary: "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped.",
        handler: zmpop,
        ..Command::DEFAULT
    },
    Command {
        name: "zunion",
        movable_keys: Some(crate::cmd::numkeys_at::<1>),
        arity: -3,
        flags: READONLY,
        keys: NOKEYS,
        group: G,
        since: "6.2.0",
        args: "numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]",
        summary: "Returns the union of multiple sorted sets.",
        handler: zunion,
        ..Command::DEFAULT
    },
    Command {
        name: "zinter",
        movable_keys: Some(crate::cmd::numkeys_at::<1>),
        arity: -3,
        flags: READONLY,
        keys: NOKEYS,
        group: G,
        since: "6.2.0",
        args: "numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]",
        summary: "Returns the intersect of multiple sorted sets.",
        handler: zinter,
        ..Command::DEFAULT
    },
    Command {
        name: "zdiff",
        movable_keys: Some(crate::cmd::numkeys_at::<1>),
        arity: -3,
        flags: READONLY,
        keys: NOKEYS,
        group: G,
        since: "6.2.0",
        args: "numkeys key [key ...] [WITHSCORES]",
        summary: "Returns the difference between multiple sorted sets.",
        handler: zdiff,
        ..Command::DEFAULT
    },
    Command {
        name: "zunionstore",
        movable_keys: Some(crate::cmd::numkeys_at::<2>),
        arity: -4,
        flags: WRITE | DENYOOM,
        keys: KEY1,
        group: G,
        since: "2.0.0",
        args: "destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX]",
        summary: "Stores the union of multiple sorted sets in a key.",
        handler: zunionstore,
        ..Command::DEFAULT
    },
    Command {
        name: "zinterstore",
        movable_keys: Some(crate::cmd::numkeys_at::<2>),
        arity: -4,
        flags: WRITE | DENYOOM,
        keys: KEY1,
        group: G,
        since: "2.0.0",
        args: "destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX]",
        summary: "Stores the intersect of multiple sorted sets in a key.",
        handler: zinterstore,
        ..Command::DEFAULT
    },
    Command {
        name: "zdiffstore",
        movable_keys: Some(crate::cmd::numkeys_at::<2>),
        arity: -4,
        flags: WRITE | DENYOOM,
        keys: KEY1,
        group: G,
        since: "6.2.0",
        args: "destination numkeys key [key ...]",
        summary: "Stores the difference of multiple sorted sets in a key.",
        handler: zdiffstore,
        ..Command::DEFAULT
    },
    Command {
        name: "zintercard",
        movable_keys: Some(crate::cmd::numkeys_at::<1>),
        arity: -3,
        flags: READONLY,
        keys: NOKEYS,
        group: G,
        since: "7.0.0",
        args: "numkeys key [key ...] [LIMIT limit]",
        summary: "Returns the number of members of the intersect of multiple sorted sets.",
        handler: zintercard,
        ..Command::DEFAULT
    },
    Command {
        name: "zrandmember",
        arity: -2,
        flags: READONLY,
        keys: KEY1,
        group: G,
        since: "6.2.0",
        args: "key [count [WITHSCORES]]",
        summary: "Returns one or more random members from a sorted set.",
        handler: zrandmember,
        ..Command::DEFAULT
    },
    Command {
        name: "zscan",
        arity: -3,
        flags: READONLY,
        keys: KEY1,
        group: G,
        since: "2.8.0",
        args: "key cursor [MATCH pattern] [COUNT count]",
        summary: "Iterates over members and scores of a sorted set.",
        handler: zscan,
        ..Command::DEFAULT
    },
];

// ------------------------------------------------------------------ helpers

fn limits(ctx: &Ctx) -> (usize, usize) {
    let l = &ctx.store.limits;
    (l.zset_max_listpack_entries, l.zset_max_listpack_value)
}

/// Read access: `Ok(None)` when the key is missing.
fn zset_ref<'a>(db: &'a mut Db, key: &[u8]) -> Result<Option<&'a ZSet>, Error> {
    match db.get(key) {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(z)),
        Some(_) => Err(Error::WrongType),
    }
}

/// Write access to an existing zset: marks WATCHers (only when the type matches).
fn zset_mut<'a>(db: &'a mut Db, key: &[u8]) -> Result<Option<&'a mut ZSet>, Error> {
    let Some(idx) = db.lookup(key) else {
        return Ok(None);
    };
    if !matches!(db.entry(idx).value, Value::ZSet(_)) {
        return Err(Error::WrongType);
    }
    db.touch(key);
    match &mut db.entry_mut(idx).value {
        Value::ZSet(z) => Ok(Some(z)),
        _ => Err(Error::WrongType),
    }
}

/// Members and scores of a result, in reply order.
type Items = Vec<(Vec<u8>, f64)>;

/// A WITHSCORES-capable reply: flat in RESP2, [member, double] pairs in RESP3.
fn emit_items(out: &mut Out, items: &Items, withscores: bool) {
    let pairs = withscores && out.resp3();
    if withscores && !pairs {
        out.array(items.len() * 2);
    } else {
        out.array(items.len());
    }
    for (m, s) in items {
        if pairs {
            out.array(2);
        }
        out.bulk(m);
        if withscores {
            out.double(*s);
        }
    }
}

fn parse_long(a: &[u8]) -> Result<i64, Error> {
    parse_i64(a).ok_or(Error::NotInteger)
}

/// Float arguments (scores, increments): Redis's "value is not a valid float".
fn parse_score(a: &[u8]) -> Result<f64, Error> {
    parse_f64(a).ok_or(Error::NotFloat)
}

#[derive(Clone, Copy)]
struct ScoreRange {
    min: f64,
    minex: bool,
    max: f64,
    maxex: bool,
}

fn parse_score_bound(a: &[u8]) -> Option<(f64, bool)> {
    match a.first() {
        Some(b'(') => parse_f64(&a[1..]).map(|v| (v, true)),
        _ => parse_f64(a).map(|v| (v, false)),
    }
}

fn parse_score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange, Error> {
    match (parse_score_bound(min), parse_score_bound(max)) {
        (Some((min, minex)), Some((max, maxex))) => Ok(ScoreRange {
            min,
            minex,
            max,
            maxex,
        }),
        _ => Err(Error::err("min or max is not a float")),
    }
}

impl ScoreRange {
    /// Ascending ranks `lo..hi` of the entries in range.
    fn ranks(&self, z: &ZSet) -> (usize, usize) {
        let lo = z.count_score_below(self.min, self.minex);
        let hi = z.count_score_below(self.max, !self.maxex);
        (lo, hi.max(lo))
    }
}

#[derive(Clone)]
enum LexBound {
    NegInf,
    PosInf,
    Incl(Vec<u8>),
    Excl(Vec<u8>),
}

fn parse_lex_bound(a: &[u8]) -> Option<LexBound> {
    match a.first() {
        Some(b'+') if a.len() == 1 => Some(LexBound::PosInf),
        Some(b'-') if a.len() == 1 => Some(LexBound::NegInf),
        Some(b'[') => Some(LexBound::Incl(a[1..].to_vec())),
        Some(b'(') => Some(LexBound::Excl(a[1..].to_vec())),
        _ => None,
    }
}

#[derive(Clone)]
struct LexRange {
    min: LexBound,
    max: LexBound,
}

fn parse_lex_range(min: &[u8], max: &[u8]) -> Result<LexRange, Error> {
    match (parse_lex_bound(min), parse_lex_bound(max)) {
        (Some(min), Some(max)) => Ok(LexRange { min, max }),
        _ => Err(Error::err("min or max not valid string range item")),
    }
}

impl LexRange {
    /// Ascending ranks `lo..hi` (meaningful when all scores are equal, as in Redis).
    fn ranks(&self, z: &ZSet) -> (usize, usize) {
        // Number of entries strictly before the bound (`upper`: entries at or before it).
        let count = |b: &LexBound, upper: bool| match b {
            LexBound::NegInf => 0,
            LexBound::PosInf => z.len(),
            LexBound::Incl(x) if upper => z.count_before(|_, m| m <= x.as_slice()),
            LexBound::Incl(x) => z.count_before(|_, m| m < x.as_slice()),
            LexBound::Excl(x) if upper => z.count_before(|_, m| m < x.as_slice()),
            LexBound::Excl(x) => z.count_before(|_, m| m <= x.as_slice()),
        };
        let lo = count(&self.min, false);
        let hi = count(&self.max, true);
        (lo, hi.max(lo))
    }
}

/// Redis's rank-range sanitizing: ascending ranks `lo..hi`, empty when out of range.
fn rank_range(start: i64, end: i64, len: usize) -> (usize, usize) {
    let len = len as i64;
    let mut start = if start < 0 { start + len } else { start };
    let mut end = if end < 0 { end + len } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return (0, 0);
    }
    if end >= len {
        end = len - 1;
    }
    (start as usize, end as usize + 1)
}

/// Build a zset from entries sorted by (score, member), in the encoding Redis
/// would end with (listpack when it fits).
fn zset_from_sorted(items: &Items, max_entries: usize, max_value: usize) -> ZSet {
    let fits = items.len() <= max_entries && items.iter().all(|(m, _)| m.len() <= max_value);
    let mut z = if fits {
        ZSet::new_pack()
    } else {
        ZSet::new_big()
    };
    for (m, s) in items {
        z.insert(m, *s, usize::MAX, usize::MAX);
    }
    z
}

/// Store `items` (sorted) at `dst`, or delete `dst` when empty. Replies with the count.
pub(crate) fn store_result(ctx: &mut Ctx, dst: &[u8], items: &Items) {
    let (me, mv) = limits(ctx);
    let db = &mut ctx.store.dbs[ctx.client.db];
    if items.is_empty() {
        if db.remove(dst).is_some() {
            db.touch(dst);
            ctx.dirty(1);
        }
    } else {
        let z = zset_from_sorted(items, me, mv);
        db.set(dst, Value::ZSet(Box::new(z)), false);
        ctx.dirty(1);
    }
    ctx.out.int(items.len() as i64);
}

// ------------------------------------------------------------------ ZADD

const NX: u8 = 1;
const XX: u8 = 2;
const GT: u8 = 4;
const LT: u8 = 8;
const CH: u8 = 16;
const INCR: u8 = 32;

pub(crate) fn zadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut flags = 0u8;
    let mut i = 2;
    while i < args.len() {
        let a = &args[i][..];
        flags |= if eq_ic(a, "nx") {
            NX
        } else if eq_ic(a, "xx") {
            XX
        } else if eq_ic(a, "gt") {
            GT
        } else if eq_ic(a, "lt") {
            LT
        } else if eq_ic(a, "ch") {
            CH
        } else if eq_ic(a, "incr") {
            INCR
        } else {
            break;
        };
        i += 1;
    }
    zadd_generic(ctx, args, i, flags)
}

fn zincrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zadd_generic(ctx, args, 2, INCR)
}

fn zadd_generic(ctx: &mut Ctx, args: &[Bytes], scoreidx: usize, flags: u8) -> CmdResult {
    let elements = args.len() - scoreidx;
    if elements == 0 || elements % 2 != 0 {
        return Err(Error::Syntax);
    }
    let elements = elements / 2;
    let (nx, xx, gt, lt, incr) = (
        flags & NX != 0,
        flags & XX != 0,
        flags & GT != 0,
        flags & LT != 0,
        flags & INCR != 0,
    );
    if nx && xx {
        return Err(Error::err(
            "XX and NX options at the same time are not compatible",
        ));
    }
    if (nx && (gt || lt)) || (gt && lt) {
        return Err(Error::err(
            "GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if incr && elements > 1 {
        return Err(Error::err(
            "INCR option supports a single increment-element pair",
        ));
    }
    let scores = (0..elements)
        .map(|j| parse_score(&args[scoreidx + 2 * j]))
        .collect::<Result<Vec<f64>, Error>>()?;
    let (me, mv) = limits(ctx);
    let db = &mut ctx.store.dbs[ctx.client.db];
    let key = &args[1];
    if zset_mut(db, key)?.is_none() {
        if xx {
            if incr {
                ctx.out.null();
            } else {
                ctx.out.int(0);
            }
            return Ok(());
        }
        let first = args[scoreidx + 1].len();
        db.set(
            key,
            Value::ZSet(Box::new(ZSet::new_for(first, me, mv))),
            false,
        );
    }
    let z = zset_mut(db, key)?.expect("zset exists");
    let (mut added, mut updated, mut processed) = (0i64, 0i64, 0i64);
    let mut score = 0.0;
    let mut nan = false;
    for (j, &s) in scores.iter().enumerate() {
        let member = &args[scoreidx + 2 * j + 1][..];
        match z.score(member) {
            Some(cur) => {
                if nx {
                    continue;
                }
                let mut new = s;
                if incr {
                    new += cur;
                    if new.is_nan() {
                        nan = true;
                        break;
                    }
                }
                if (gt && new <= cur) || (lt && new >= cur) {
                    continue;
                }
                processed += 1;
                score = new;
                if new != cur {
                    z.insert(member, new, me, mv);
                    updated += 1;
                }
            }
            None => {
                if xx {
                    continue;
                }
                z.insert(member, s, me, mv);
                added += 1;
                processed += 1;
                score = s;
            }
        }
    }
    if z.is_empty() {
        // Created for nothing (only possible when the first element failed).
        db.remove(key);
    }
    if added + updated > 0 {
        ctx.dirty((added + updated) as u64);
    }
    if nan {
        return Err(Error::err("resulting score is not a number (NaN)"));
    }
    if incr {
        if processed > 0 {
            ctx.out.double(score);
        } else {
            ctx.out.null();
        }
    } else {
        ctx.out.int(if flags & CH != 0 {
            added + updated
        } else {
            added
        });
    }
    Ok(())
}

// ------------------------------------------------------------------ simple reads and ZREM

fn zrem(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    let Some(z) = zset_mut(db, &args[1])? else {
        ctx.out.int(0);
        return Ok(());
    };
    let mut n = 0;
    for m in &args[2..] {
        if z.remove(m).is_some() {
            n += 1;
            if z.is_empty() {
                break;
            }
        }
    }
    if z.is_empty() {
        db.remove(&args[1]);
    }
    if n > 0 {
        ctx.dirty(n as u64);
    }
    ctx.out.int(n);
    Ok(())
}

fn zscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    match zset_ref(db, &args[1])?.and_then(|z| z.score(&args[2])) {
        Some(s) => ctx.out.double(s),
        None => ctx.out.null(),
    }
    Ok(())
}

fn zmscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    let z = zset_ref(db, &args[1])?;
    ctx.out.array(args.len() - 2);
    for m in &args[2..] {
        match z.and_then(|z| z.score(m)) {
            Some(s) => ctx.out.double(s),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn zcard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    let n = zset_ref(db, &args[1])?.map_or(0, |z| z.len());
    ctx.out.int(n as i64);
    Ok(())
}

fn zcount(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let r = parse_score_range(&args[2], &args[3])?;
    let db = &mut ctx.store.dbs[ctx.client.db];
    let n = zset_ref(db, &args[1])?.map_or(0, |z| {
        let (lo, hi) = r.ranks(z);
        hi - lo
    });
    ctx.out.int(n as i64);
    Ok(())
}

fn zlexcount(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let r = parse_lex_range(&args[2], &args[3])?;
    let db = &mut ctx.store.dbs[ctx.client.db];
    let n = zset_ref(db, &args[1])?.map_or(0, |z| {
        let (lo, hi) = r.ranks(z);
        hi - lo
    });
    ctx.out.int(n as i64);
    Ok(())
}

fn rank_generic(ctx: &mut Ctx, args: &[Bytes], rev: bool) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    let Some(z) = zset_ref(db, &args[1])? else {
        ctx.out.null();
        return Ok(());
    };
    match z.rank(&args[2]) {
        Some(r) => ctx.out.int(if rev { z.len() - 1 - r } else { r } as i64),
        None => ctx.out.null(),
    }
    Ok(())
}

fn zrank(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    rank_generic(ctx, args, false)
}

fn zrevrank(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    rank_generic(ctx, args, true)
}

// ------------------------------------------------------------------ ZRANGE family

#[derive(Clone, Copy, PartialEq)]
enum RangeType {
    Rank,
    Score,
    Lex,
}

/// The ZRANGE engine shared by ZRANGE, ZRANGESTORE and the legacy variants.
/// `key_idx` is the source key; `dst` the ZRANGESTORE destination.
fn zrange_generic(
    ctx: &mut Ctx,
    args: &[Bytes],
    key_idx: usize,
    dst: Option<&[u8]>,
    preset_type: Option<RangeType>,
    preset_rev: Option<bool>,
) -> CmdResult {
    let mut rtype = preset_type;
    let mut rev = preset_rev;
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut j = key_idx + 3;
    while j < args.len() {
        let a = &args[j][..];
        let left = args.len() - j - 1;
        if dst.is_none() && eq_ic(a, "withscores") {
            withscores = true;
        } else if eq_ic(a, "limit") && left >= 2 {
            offset = parse_long(&args[j + 1])?;
            limit = parse_long(&args[j + 2])?;
            j += 2;
        } else if rev.is_none() && eq_ic(a, "rev") {
            rev = Some(true);
        } else if rtype.is_none() && eq_ic(a, "bylex") {
            rtype = Some(RangeType::Lex);
        } else if rtype.is_none() && eq_ic(a, "byscore") {
            rtype = Some(RangeType::Score);
        } else {
            return Err(Error::Syntax);
        }
        j += 1;
    }
    let rev = rev.unwrap_or(false);
    let rtype = rtype.unwrap_or(RangeType::Rank);
    if limit != -1 && rtype == RangeType::Rank {
        return Err(Error::err(
            "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && rtype == RangeType::Lex {
        return Err(Error::err(
            "syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let (mut minidx, mut maxidx) = (key_idx + 1, key_idx + 2);
    if rev && rtype != RangeType::Rank {
        std::mem::swap(&mut minidx, &mut maxidx);
    }
    enum Parsed {
        Rank(i64, i64),
        Score(ScoreRange),
        Lex(LexRange),
    }
    let parsed = match rtype {
        RangeType::Rank => Parsed::Rank(parse_long(&args[minidx])?, parse_long(&args[maxidx])?),
        RangeType::Score => Parsed::Score(parse_score_range(&args[minidx], &args[maxidx])?),
        RangeType::Lex => Parsed::Lex(parse_lex_range(&args[minidx], &args[maxidx])?),
    };
    let db = &mut ctx.store.dbs[ctx.client.db];
    let mut items: Items = Vec::new();
    if let Some(z) = zset_ref(db, &args[key_idx])? {
        let len = z.len();
        let (lo, hi) = match &parsed {
            Parsed::Rank(start, end) => {
                let (a, b) = rank_range(*start, *end, len);
                if rev {
                    // Descending ranks a..b are ascending ranks len-b..len-a.
                    (len - b, len - a)
                } else {
                    (a, b)
                }
            }
            Parsed::Score(r) => r.ranks(z),
            Parsed::Lex(r) => r.ranks(z),
        };
        let (lo, hi) = if rtype == RangeType::Rank {
            (lo, hi)
        } else if offset < 0 {
            (0, 0)
        } else {
            let n = hi - lo;
            let skip = (offset as usize).min(n);
            let take = if limit < 0 {
                n - skip
            } else {
                (limit as usize).min(n - skip)
            };
            if rev {
                (hi - skip - take, hi - skip)
            } else {
                (lo + skip, lo + skip + take)
            }
        };
        items.reserve(hi.saturating_sub(lo));
        z.visit(lo, hi, rev, |m, s| items.push((m.to_vec(), s)));
    }
    match dst {
        Some(dst) => {
            // The destination keeps the set's order whatever the reply order.
            if rev {
                items.reverse();
            }
            store_result(ctx, dst, &items);
        }
        None => emit_items(ctx.out, &items, withscores),
    }
    Ok(())
}

fn zrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, args, 1, None, None, None)
}

fn zrangestore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let dst = args[1].clone();
    zrange_generic(ctx, args, 2, Some(&dst), None, None)
}

fn zrangebyscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, args, 1, None, Some(RangeType::Score), Some(false))
}

fn zrevrangebyscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, args, 1, None, Some(RangeType::Score), Some(true))
}

fn zrangebylex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, args, 1, None, Some(RangeType::Lex), Some(false))
}

fn zrevrangebylex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, args, 1, None, Some(RangeType::Lex), Some(true))
}

fn zrevrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, args, 1, None, Some(RangeType::Rank), Some(true))
}

// ------------------------------------------------------------------ ZREMRANGEBY*

fn zremrange_generic(ctx: &mut Ctx, args: &[Bytes], rtype: RangeType) -> CmdResult {
    enum Parsed {
        Rank(i64, i64),
        Score(ScoreRange),
        Lex(LexRange),
    }
    let parsed = match rtype {
        RangeType::Rank => Parsed::Rank(parse_long(&args[2])?, parse_long(&args[3])?),
        RangeType::Score => Parsed::Score(parse_score_range(&args[2], &args[3])?),
        RangeType::Lex => Parsed::Lex(parse_lex_range(&args[2], &args[3])?),
    };
    let db = &mut ctx.store.dbs[ctx.client.db];
    let key = &args[1];
    let Some(z) = zset_mut(db, key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let (lo, hi) = match &parsed {
        Parsed::Rank(a, b) => rank_range(*a, *b, z.len()),
        Parsed::Score(r) => r.ranks(z),
        Parsed::Lex(r) => r.ranks(z),
    };
    let n = if hi > lo {
        z.remove_range(lo, hi).len()
    } else {
        0
    };
    if z.is_empty() {
        db.remove(key);
    }
    if n > 0 {
        ctx.dirty(n as u64);
    }
    ctx.out.int(n as i64);
    Ok(())
}

fn zremrangebyrank(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zremrange_generic(ctx, args, RangeType::Rank)
}

fn zremrangebyscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zremrange_generic(ctx, args, RangeType::Score)
}

fn zremrangebylex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zremrange_generic(ctx, args, RangeType::Lex)
}

// ------------------------------------------------------------------ pops

/// Pop up to `count` entries from the first non-empty zset among `keys`
/// (WRONGTYPE stops at the first wrong key). Propagates ZREM of the popped
/// members. Returns the key and the entries in pop order.
pub(super) fn pop_generic(
    ctx: &mut Ctx,
    keys: &[Bytes],
    max: bool,
    count: usize,
) -> Result<Option<(Bytes, Items)>, Error> {
    let db = &mut ctx.store.dbs[ctx.client.db];
    for key in keys {
        let Some(z) = zset_mut(db, key)? else {
            continue;
        };
        let n = count.min(z.len());
        let len = z.len();
        let mut items = if max {
            z.remove_range(len - n, len)
        } else {
            z.remove_range(0, n)
        };
        if max {
            items.reverse();
        }
        if z.is_empty() {
            db.remove(key);
        }
        if !items.is_empty() {
            ctx.dirty(items.len() as u64);
            let mut eff = Vec::with_capacity(items.len() + 2);
            eff.push(Bytes::from_static(b"ZREM"));
            eff.push(Bytes::copy_from_slice(key));
            eff.extend(items.iter().map(|(m, _)| Bytes::copy_from_slice(m)));
            ctx.propagate(eff);
        }
        return Ok(Some((key.clone(), items)));
    }
    Ok(None)
}

fn zpop_cmd(ctx: &mut Ctx, args: &[Bytes], max: bool) -> CmdResult {
    if args.len() > 3 {
        return Err(Error::Syntax);
    }
    let count = match args.get(2) {
        None => None,
        Some(a) => match parse_i64(a) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => return Err(Error::err("value is out of range, must be positive")),
        },
    };
    if count == Some(0) {
        // Type check first, as 7.0 does.
        let db = &mut ctx.store.dbs[ctx.client.db];
        zset_mut(db, &args[1])?;
        ctx.out.array(0);
        return Ok(());
    }
    let items = pop_generic(ctx, &args[1..2], max, count.unwrap_or(1))?
        .map(|(_, it)| it)
        .unwrap_or_default();
    let nested = count.is_some() && ctx.out.resp3();
    ctx.out
        .array(if nested { items.len() } else { items.len() * 2 });
    for (m, s) in &items {
        if nested {
            ctx.out.array(2);
        }
        ctx.out.bulk(m);
        ctx.out.double(*s);
    }
    Ok(())
}

fn zpopmin(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zpop_cmd(ctx, args, false)
}

fn zpopmax(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zpop_cmd(ctx, args, true)
}

/// numkeys as ZMPOP/ZINTERCARD-style commands parse it.
fn parse_numkeys_positive(a: &[u8]) -> Result<usize, Error> {
    match parse_i64(a) {
        Some(n) if n >= 1 => Ok(n as usize),
        _ => Err(Error::err("numkeys should be greater than 0")),
    }
}

fn zmpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (keys, max, count) = parse_zmpop(args, 1)?;
    if !try_zmpop(ctx, &args[keys], max, count)? {
        ctx.out.null_array();
    }
    Ok(())
}

/// Parse `numkeys key... MIN|MAX [COUNT n]` with numkeys at `args[at]`
/// (ZMPOP: 1, BZMPOP: 2). Returns the key range, MAX?, and the count.
pub(super) fn parse_zmpop(
    args: &[Bytes],
    at: usize,
) -> Result<(std::ops::Range<usize>, bool, usize), Error> {
    let numkeys = parse_numkeys_positive(&args[at])?;
    let where_idx = numkeys.checked_add(at + 1).ok_or(Error::Syntax)?;
    if where_idx >= args.len() {
        return Err(Error::Syntax);
    }
    let max = if eq_ic(&args[where_idx], "min") {
        false
    } else if eq_ic(&args[where_idx], "max") {
        true
    } else {
        return Err(Error::Syntax);
    };
    let mut count: Option<usize> = None;
    let mut j = where_idx + 1;
    while j < args.len() {
        if count.is_none() && eq_ic(&args[j], "count") && j + 1 < args.len() {
            j += 1;
            match parse_i64(&args[j]) {
                Some(n) if n >= 1 => count = Some(n as usize),
                _ => return Err(Error::err("count should be greater than 0")),
            }
        } else {
            return Err(Error::Syntax);
        }
        j += 1;
    }
    Ok((at + 1..where_idx, max, count.unwrap_or(1)))
}

/// ZMPOP's work: replies [key, [[member, score]...]]; false (no reply) when all are empty.
pub(super) fn try_zmpop(
    ctx: &mut Ctx,
    keys: &[Bytes],
    max: bool,
    count: usize,
) -> Result<bool, Error> {
    let Some((key, items)) = pop_generic(ctx, keys, max, count)? else {
        return Ok(false);
    };
    ctx.out.array(2);
    ctx.out.bulk(&key);
    ctx.out.array(items.len());
    for (m, s) in &items {
        ctx.out.array(2);
        ctx.out.bulk(m);
        ctx.out.double(*s);
    }
    Ok(true)
}

// ------------------------------------------------------------------ set algebra

/// One input of ZUNION/ZINTER/ZDIFF/ZINTERCARD: a zset, a plain set (scores
/// 1.0) or a missing key (empty).
enum Src<'a> {
    Empty,
    Z(&'a ZSet),
    S(hashbrown::HashSet<Vec<u8>>),
}

impl Src<'_> {
    fn len(&self) -> usize {
        match self {
            Src::Empty => 0,
            Src::Z(z) => z.len(),
            Src::S(s) => s.len(),
        }
    }

    fn score(&self, m: &[u8]) -> Option<f64> {
        match self {
            Src::Empty => None,
            Src::Z(z) => z.score(m),
            Src::S(s) => s.contains(m).then_some(1.0),
        }
    }

    fn for_each(&self, mut f: impl FnMut(&[u8], f64)) {
        match self {
            Src::Empty => {}
            Src::Z(z) => z.for_each(f),
            Src::S(s) => s.iter().for_each(|m| f(m, 1.0)),
        }
    }
}

/// The members of a plain set. (Adapter over the sets family's `Set`.)
fn set_members(s: &crate::store::set::Set) -> hashbrown::HashSet<Vec<u8>> {
    s.iter().map(|m| m.to_vec()).collect()
}

#[derive(Clone, Copy, PartialEq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

#[inline]
fn weighted(w: f64, s: f64) -> f64 {
    let v = w * s;
    if v.is_nan() {
        0.0
    } else {
        v
    }
}

#[inline]
fn aggregate(agg: Aggregate, t: &mut f64, v: f64) {
    match agg {
        Aggregate::Sum => {
            *t += v;
            if t.is_nan() {
                *t = 0.0;
            }
        }
        Aggregate::Min => {
            if v < *t {
                *t = v
            }
        }
        Aggregate::Max => {
            if v > *t {
                *t = v
            }
        }
    }
}

/// Look the input keys up (type-checking each), returning slab positions.
fn lookup_inputs(db: &mut Db, keys: &[Bytes]) -> Result<Vec<Option<u32>>, Error> {
    let mut idxs = Vec::with_capacity(keys.len());
    for k in keys {
        match db.get(k) {
            None => idxs.push(None),
            Some(Value::ZSet(_)) | Some(Value::Set(_)) => idxs.push(db.find(k)),
            Some(_) => return Err(Error::WrongType),
        }
    }
    Ok(idxs)
}

fn make_srcs<'a>(db: &'a Db, idxs: &[Option<u32>]) -> Vec<Src<'a>> {
    idxs.iter()
        .map(|i| match i.map(|i| &db.entry(i).value) {
            Some(Value::ZSet(z)) => Src::Z(z),
            Some(Value::Set(s)) => Src::S(set_members(s)),
            _ => Src::Empty,
        })
        .collect()
}

/// Compute a union/intersection/difference, sorted by (score, member).
fn combine(srcs: &mut [(Src, f64)], op: SetOp, agg: Aggregate) -> Items {
    let mut acc: hashbrown::HashMap<Vec<u8>, f64> = hashbrown::HashMap::new();
    match op {
        SetOp::Union => {
            srcs.sort_by_key(|(s, _)| s.len());
            for (src, w) in srcs.iter() {
                src.for_each(|m, s| {
                    let v = weighted(*w, s);
                    match acc.get_mut(m) {
                        Some(t) => aggregate(agg, t, v),
                        None => {
                            acc.insert(m.to_vec(), v);
                        }
                    }
                });
            }
        }
        SetOp::Inter => {
            srcs.sort_by_key(|(s, _)| s.len());
            if srcs.iter().all(|(s, _)| s.len() > 0) {
                let (first, rest) = srcs.split_first().expect("at least one input");
                first.0.for_each(|m, s| {
                    let mut t = weighted(first.1, s);
                    for (src, w) in rest {
                        match src.score(m) {
                            Some(v) => aggregate(agg, &mut t, weighted(*w, v)),
                            None => return,
                        }
                    }
                    acc.insert(m.to_vec(), t);
                });
            }
        }
        SetOp::Diff => {
            let (first, rest) = srcs.split_first().expect("at least one input");
            first.0.for_each(|m, s| {
                if rest.iter().all(|(src, _)| src.score(m).is_none()) {
                    acc.insert(m.to_vec(), s);
                }
            });
        }
    }
    let mut items: Items = acc.into_iter().collect();
    items.sort_unstable_by(|a, b| cmp_entry(a.1, &a.0, b.1, &b.0));
    items
}

/// ZUNION/ZINTER/ZDIFF and their STORE forms. `numkeys_idx` is 1, or 2 with a destination.
fn setop_generic(ctx: &mut Ctx, args: &[Bytes], dst: Option<&[u8]>, op: SetOp) -> CmdResult {
    let numkeys_idx = if dst.is_some() { 2 } else { 1 };
    let setnum = parse_long(&args[numkeys_idx])?;
    if setnum < 1 {
        return Err(Error::err(format!(
            "at least 1 input key is needed for '{}' command",
            ctx.cmd.name
        )));
    }
    let setnum = setnum as usize;
    if setnum > args.len() - numkeys_idx - 1 {
        return Err(Error::Syntax);
    }
    let keys = &args[numkeys_idx + 1..numkeys_idx + 1 + setnum];
    let db = &mut ctx.store.dbs[ctx.client.db];
    let idxs = lookup_inputs(db, keys)?;
    let mut weights = vec![1.0f64; setnum];
    let mut agg = Aggregate::Sum;
    let mut withscores = false;
    let mut j = numkeys_idx + 1 + setnum;
    while j < args.len() {
        let remaining = args.len() - j;
        let a = &args[j][..];
        if op != SetOp::Diff && remaining > setnum && eq_ic(a, "weights") {
            for (i, w) in weights.iter_mut().enumerate() {
                *w = parse_f64(&args[j + 1 + i])
                    .ok_or_else(|| Error::err("weight value is not a float"))?;
            }
            j += 1 + setnum;
        } else if op != SetOp::Diff && remaining >= 2 && eq_ic(a, "aggregate") {
            let v = &args[j + 1][..];
            agg = if eq_ic(v, "sum") {
                Aggregate::Sum
            } else if eq_ic(v, "min") {
                Aggregate::Min
            } else if eq_ic(v, "max") {
                Aggregate::Max
            } else {
                return Err(Error::Syntax);
            };
            j += 2;
        } else if dst.is_none() && eq_ic(a, "withscores") {
            withscores = true;
            j += 1;
        } else {
            return Err(Error::Syntax);
        }
    }
    let db = &ctx.store.dbs[ctx.client.db];
    let mut srcs: Vec<(Src, f64)> = make_srcs(db, &idxs).into_iter().zip(weights).collect();
    let items = combine(&mut srcs, op, agg);
    drop(srcs);
    match dst {
        Some(dst) => store_result(ctx, dst, &items),
        None => emit_items(ctx.out, &items, withscores),
    }
    Ok(())
}

fn zunion(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    setop_generic(ctx, args, None, SetOp::Union)
}

fn zinter(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    setop_generic(ctx, args, None, SetOp::Inter)
}

fn zdiff(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    setop_generic(ctx, args, None, SetOp::Diff)
}

fn zunionstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let dst = args[1].clone();
    setop_generic(ctx, args, Some(&dst), SetOp::Union)
}

fn zinterstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let dst = args[1].clone();
    setop_generic(ctx, args, Some(&dst), SetOp::Inter)
}

fn zdiffstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let dst = args[1].clone();
    setop_generic(ctx, args, Some(&dst), SetOp::Diff)
}

fn zintercard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let setnum = parse_long(&args[1])?;
    if setnum < 1 {
        return Err(Error::err(
            "at least 1 input key is needed for 'zintercard' command",
        ));
    }
    let setnum = setnum as usize;
    if setnum > args.len() - 2 {
        return Err(Error::Syntax);
    }
    let keys = &args[2..2 + setnum];
    let db = &mut ctx.store.dbs[ctx.client.db];
    let idxs = lookup_inputs(db, keys)?;
    let mut limit = 0usize;
    let mut j = 2 + setnum;
    while j < args.len() {
        if args.len() - j >= 2 && eq_ic(&args[j], "limit") {
            match parse_i64(&args[j + 1]) {
                Some(n) if n >= 0 => limit = n as usize,
                _ => return Err(Error::err("LIMIT can't be negative")),
            }
            j += 2;
        } else {
            return Err(Error::Syntax);
        }
    }
    let db = &ctx.store.dbs[ctx.client.db];
    let mut srcs = make_srcs(db, &idxs);
    srcs.sort_by_key(|s| s.len());
    let mut n = 0usize;
    if srcs.iter().all(|s| s.len() > 0) {
        let (first, rest) = srcs.split_first().expect("at least one input");
        // Count with an early stop at the limit.
        let mut visit = |m: &[u8]| {
            if (limit == 0 || n < limit) && rest.iter().all(|s| s.score(m).is_some()) {
                n += 1;
            }
        };
        match first {
            Src::Z(z) => z.for_each(|m, _| visit(m)),
            Src::S(s) => s.iter().for_each(|m| visit(m)),
            Src::Empty => {}
        }
    }
    ctx.out.int(n as i64);
    Ok(())
}

// ------------------------------------------------------------------ ZRANDMEMBER, ZSCAN

fn zrandmember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    use rand::Rng;
    if args.len() == 2 {
        let db = &mut ctx.store.dbs[ctx.client.db];
        match zset_ref(db, &args[1])? {
            Some(z) => {
                let r = rand::thread_rng().gen_range(0..z.len());
                let (m, _) = z.get_by_rank(r).expect("rank in range");
                ctx.out.bulk(m);
            }
            None => ctx.out.null(),
        }
        return Ok(());
    }
    let l = parse_long(&args[2])?;
    if l == i64::MIN {
        return Err(Error::err(
            "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let withscores = match args.len() {
        3 => false,
        4 if eq_ic(&args[3], "withscores") => {
            if !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
                return Err(Error::err("value is out of range"));
            }
            true
        }
        _ => return Err(Error::Syntax),
    };
    let db = &mut ctx.store.dbs[ctx.client.db];
    let Some(z) = zset_ref(db, &args[1])? else {
        ctx.out.array(0);
        return Ok(());
    };
    let len = z.len();
    let mut rng = rand::thread_rng();
    let mut items: Items = Vec::new();
    if l < 0 {
        // Repetitions allowed.
        let n = l.unsigned_abs() as usize;
        items.reserve(n.min(1 << 20));
        for _ in 0..n {
            let (m, s) = z.get_by_rank(rng.gen_range(0..len)).expect("rank");
            items.push((m.to_vec(), s));
        }
    } else if l as usize >= len {
        // The whole set, highest first (what 7.0 replies).
        z.visit(0, len, true, |m, s| items.push((m.to_vec(), s)));
    } else {
        for r in rand::seq::index::sample(&mut rng, len, l as usize) {
            let (m, s) = z.get_by_rank(r).expect("rank");
            items.push((m.to_vec(), s));
        }
    }
    emit_items(ctx.out, &items, withscores);
    Ok(())
}

fn zscan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let cursor = super::scan::parse_cursor(&args[2])?;
    let db = &mut ctx.store.dbs[ctx.client.db];
    let Some(z) = zset_ref(db, &args[1])? else {
        super::scan::reply_empty(ctx.out);
        return Ok(());
    };
    let opts = super::scan::ScanOpts::parse(args, 3)?;
    let mut items: Items = Vec::new();
    let next = z.scan(cursor, opts.count, |m, s| {
        if opts.matches(m) {
            items.push((m.to_vec(), s));
        }
    });
    super::scan::reply_header(ctx.out, next, items.len() * 2);
    for (m, s) in &items {
        ctx.out.bulk(m);
        ctx.out.bulk(fmt_double(*s).as_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::testkit::Harness as H;

    #[test]
    fn propagation_is_effects() {
        let mut h = H::new();
        h.run_args(&["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"]);
        assert_eq!(h.effects(), vec!["ZADD z 1 a 2 b 3 c 4 d"]);
        // No change: nothing propagated.
        assert_eq!(h.run_args(&["ZADD", "z", "NX", "9", "a"]), ":0\r\n");
        assert_eq!(h.run_args(&["ZREM", "z", "nosuch"]), ":0\r\n");
        assert_eq!(
            h.run_args(&["ZRANGESTORE", "d", "nokey", "0", "-1"]),
            ":0\r\n"
        );
        assert!(h.effects().is_empty());
        // Pops become ZREM of what was popped.
        h.run_args(&["ZPOPMIN", "z"]);
        h.run_args(&["ZPOPMAX", "z", "2"]);
        assert_eq!(h.effects(), vec!["ZREM z a", "ZREM z d c"]);
        h.run_args(&["ZMPOP", "2", "nokey", "z", "MIN", "COUNT", "5"]);
        assert_eq!(h.effects(), vec!["ZREM z b"]);
        assert_eq!(h.run_args(&["EXISTS", "z"]), ":0\r\n");
        // Deterministic writes go verbatim.
        h.run_args(&["ZADD", "a", "1", "x"]);
        h.run_args(&["ZINCRBY", "a", "2", "x"]);
        h.run_args(&["ZUNIONSTORE", "u", "1", "a"]);
        h.run_args(&["ZREMRANGEBYSCORE", "a", "-inf", "+inf"]);
        assert_eq!(
            h.effects(),
            vec![
                "ZADD a 1 x",
                "ZINCRBY a 2 x",
                "ZUNIONSTORE u 1 a",
                "ZREMRANGEBYSCORE a -inf +inf"
            ]
        );
    }

    #[test]
    fn reads_do_not_create_keys() {
        let mut h = H::new();
        assert_eq!(h.run_args(&["ZADD", "z", "XX", "1", "a"]), ":0\r\n");
        assert_eq!(h.run_args(&["ZINTERSTORE", "d", "2", "z", "y"]), ":0\r\n");
        assert_eq!(h.run_args(&["DBSIZE"]), ":0\r\n");
        assert!(h.effects().is_empty());
    }

    #[test]
    fn rank_ranges_like_redis() {
        assert_eq!(rank_range(0, -1, 5), (0, 5));
        assert_eq!(rank_range(-2, -1, 5), (3, 5));
        assert_eq!(rank_range(3, 1, 5), (0, 0));
        assert_eq!(rank_range(5, 10, 5), (0, 0));
        assert_eq!(rank_range(-100, 100, 5), (0, 5));
        assert_eq!(rank_range(0, -1, 0), (0, 0));
    }

    #[test]
    fn range_parsing() {
        assert!(parse_score_range(b"(1", b"+inf").is_ok());
        assert!(parse_score_range(b"a", b"1").is_err());
        assert!(parse_score_range(b"(nan", b"1").is_err());
        assert!(parse_lex_range(b"-", b"+").is_ok());
        assert!(parse_lex_range(b"a", b"+").is_err());
        assert!(parse_lex_range(b"-x", b"+").is_err());
        assert_eq!(crate::cmd::scan::parse_cursor(b"-1").ok(), Some(u64::MAX));
        assert_eq!(crate::cmd::scan::parse_cursor(b"x").ok(), None);
    }
}
