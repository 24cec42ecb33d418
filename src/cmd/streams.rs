//! The STREAM family (Redis 7.0): XADD XRANGE XREVRANGE XLEN XDEL XTRIM
//! XREAD XSETID XINFO, and consumer groups: XGROUP XREADGROUP XACK XPENDING
//! XCLAIM XAUTOCLAIM. Storage lives in `store::stream`.
//!
//! Replication follows Redis 7.0's effects: XADD carries the ID it
//! generated and a `~` trim rewritten to the exact `=` threshold it reached;
//! XREADGROUP, XCLAIM and XAUTOCLAIM become one `XCLAIM ... FORCE JUSTID
//! LASTID` per delivered/claimed entry (plus `XGROUP SETID` / `XGROUP
//! CREATECONSUMER` for NOACK reads), never the command itself.
//!
//! Blocking XREAD/XREADGROUP queue on their keys like the list pops
//! (src/blocking.rs). Unlike a pop, serving a stream reader does not
//! change the key, so a served (or still waiting) reader passes the wake-up
//! on to the next waiter of the key: every waiter gets to look, in FIFO
//! order, one after the other under the keyspace lock.

use super::blocking as blk;
use super::pubsub::help_reply;
use super::{flags::*, Command, Ctx, Keys, KEY1};
use crate::error::{CmdResult, Error};
use crate::resp::Out;
use crate::store::stream::{Group, NodeLimits, Stream, StreamId, Trim, INVALID_ENTRIES_READ};
use crate::store::{Db, Value};
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;

const XREAD_KEYS: Keys = Keys {
    first: 0,
    last: 0,
    step: 0,
};

pub static COMMANDS: &[super::Command] = &[
    Command {
        name: "xadd",
        arity: -5,
        flags: WRITE | DENYOOM | FAST,
        keys: KEY1,
        group: "stream",
        since: "5.0.0",
        args: "key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value [field value ...]",
        summary: "Appends a new message to a stream. Creates the key if it doesn't exist.",
        handler: xadd,
        ..Command::DEFAULT
    },
    Command {
        name: "xrange",
        arity: -4,
        flags: READONLY,
        keys: KEY1,
        group: "stream",
        since: "5.0.0",
        args: "key start end [COUNT count]",
        summary: "Returns the messages from a stream within a range of IDs.",
        handler: xrange,
        ..Command::DEFAULT
    },
    Command {
        name: "xrevrange",
        arity: -4,
        flags: READONLY,
        keys: KEY1,
        group: "stream",
        since: "5.0.0",
        args: "key end start [COUNT count]",
        summary: "Returns the messages from a stream within a range of IDs in reverse order.",
        handler: xrevrange,
        ..Command::DEFAULT
    },
    Command {
        name: "xlen",
        arity: 2,
        flags: READONLY | FAST,
        keys: KEY1,
        group: "stream",
        since: "5.0.0",
        args: "key",
        summary: "Return the number of messages in a stream.",
        handler: xlen,
        ..Command::DEFAULT
    },
    Command {
        name: "xdel",
        arity: -3,
        flags: WRITE | FAST,
        keys: KEY1,
        group: "stream",
        since: "5.0.0",
        args: "key id [id ...]",
        summary: "Returns the number of messages after removing them from a stream.",
        handler: xdel,
        ..Command::DEFAULT
    },
    Command {
        name: "xtrim",
        arity: -4,
        flags: WRITE,
        keys: KEY1,
        group: "stream",
        since: "5.0.0",
        args: "key MAXLEN|MINID [=|~] threshold [LIMIT count]",
        summary: "Deletes messages from the beginning of a stream.",
        handler: xtrim,
        ..Command::DEFAULT
    },
    Command {
        name: "xread",
        arity: -4,
        flags: READONLY | BLOCKING,
        keys: XREAD_KEYS,
        group: "stream",
        since: "5.0.0",
        args: "[COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...]",
        summary: "Returns messages from multiple streams with IDs greater than the ones requested. Blocks until a message is available otherwise.",
        handler: xread,
        movable_keys: Some(xread_key_positions),
        ..Command::DEFAULT
    },
    Command {
        name: "xreadgroup",
        arity: -7,
        flags: WRITE | BLOCKING,
        keys: XREAD_KEYS,
        group: "stream",
        since: "5.0.0",
        args: "GROUP group consumer [COUNT count] [BLOCK milliseconds] [NOACK] STREAMS key [key ...] id [id ...]",
        summary: "Returns new or historical messages from a stream for a consumer in a group. Blocks until a message is available otherwise.",
        handler: xreadgroup,
        movable_keys: Some(xread_key_positions),
        ..Command::DEFAULT
    },
    Command {
        name: "xsetid",
        arity: -3,
        flags: WRITE | DENYOOM | FAST,
        keys: KEY1,
        group: "stream",
        since: "5.0.0",
        args: "key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]",
        summary: "An internal command for replicating stream values.",
        handler: xsetid,
        ..Command::DEFAULT
    },
    Command {
        name: "xack",
        arity: -4,
        flags: WRITE | FAST,
        keys: KEY1,
        group: "stream",
        since: "5.0.0",
        args: "key group id [id ...]",
        summary: "Returns the number of messages that were successfully acknowledged by the consumer group member of a stream.",
        handler: xack,
        ..Command::DEFAULT
    },
    Command {
        name: "xpending",
        arity: -3,
        flags: READONLY,
        keys: KEY1,
        group: "stream",
        since: "5.0.0",
        args: "key group [[IDLE min-idle-time] start end count [consumer]]",
        summary: "Returns the information and entries from a stream consumer group's pending entries list.",
        handler: xpending,
        ..Command::DEFAULT
    },
    Command {
        name: "xclaim",
        arity: -6,
        flags: WRITE | FAST,
        keys: KEY1,
        group: "stream",
        since: "5.0.0",
        args: "key group consumer min-idle-time id [id ...] [IDLE ms] [TIME unix-time-milliseconds] [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID lastid]",
        summary: "Changes, or acquires, ownership of a message in a consumer group, as if the message was delivered a consumer group member.",
        handler: xclaim,
        ..Command::DEFAULT
    },
    Command {
        name: "xautoclaim",
        arity: -6,
        flags: WRITE | FAST,
        keys: KEY1,
        group: "stream",
        since: "6.2.0",
        args: "key group consumer min-idle-time start [COUNT count] [JUSTID]",
        summary: "Changes, or acquires, ownership of messages in a consumer group, as if the messages were delivered to as consumer group member.",
        handler: xautoclaim,
        ..Command::DEFAULT
    },
    Command {
        name: "xgroup",
        arity: -2,
        group: "stream",
        since: "5.0.0",
        summary: "A container for consumer groups commands.",
        subcommands: XGROUP_SUBS,
        ..Command::DEFAULT
    },
    Command {
        name: "xinfo",
        arity: -2,
        group: "stream",
        since: "5.0.0",
        summary: "A container for stream introspection commands.",
        subcommands: XINFO_SUBS,
        ..Command::DEFAULT
    },
];

const KEY2: Keys = Keys {
    first: 2,
    last: 2,
    step: 1,
};

static XGROUP_SUBS: &[Command] = &[
    Command {
        name: "xgroup|create",
        arity: -5,
        flags: WRITE | DENYOOM,
        keys: KEY2,
        group: "stream",
        since: "5.0.0",
        args: "key group id|$ [MKSTREAM] [ENTRIESREAD entries-read]",
        summary: "Creates a consumer group.",
        handler: xgroup,
        ..Command::DEFAULT
    },
    Command {
        name: "xgroup|createconsumer",
        arity: 5,
        flags: WRITE | DENYOOM,
        keys: KEY2,
        group: "stream",
        since: "6.2.0",
        args: "key group consumer",
        summary: "Creates a consumer in a consumer group.",
        handler: xgroup,
        ..Command::DEFAULT
    },
    Command {
        name: "xgroup|delconsumer",
        arity: 5,
        flags: WRITE,
        keys: KEY2,
        group: "stream",
        since: "5.0.0",
        args: "key group consumer",
        summary: "Deletes a consumer from a consumer group.",
        handler: xgroup,
        ..Command::DEFAULT
    },
    Command {
        name: "xgroup|destroy",
        arity: 4,
        flags: WRITE,
        keys: KEY2,
        group: "stream",
        since: "5.0.0",
        args: "key group",
        summary: "Destroys a consumer group.",
        handler: xgroup,
        ..Command::DEFAULT
    },
    Command {
        name: "xgroup|setid",
        arity: -5,
        flags: WRITE,
        keys: KEY2,
        group: "stream",
        since: "5.0.0",
        args: "key group id|$ [ENTRIESREAD entries-read]",
        summary: "Sets the last-delivered ID of a consumer group.",
        handler: xgroup,
        ..Command::DEFAULT
    },
    Command {
        name: "xgroup|help",
        arity: 2,
        flags: LOADING | STALE,
        group: "stream",
        since: "5.0.0",
        summary: "Returns helpful text about the different subcommands.",
        handler: xgroup_help,
        ..Command::DEFAULT
    },
];

static XINFO_SUBS: &[Command] = &[
    Command {
        name: "xinfo|consumers",
        arity: 4,
        flags: READONLY,
        keys: KEY2,
        group: "stream",
        since: "5.0.0",
        args: "key group",
        summary: "Returns a list of the consumers in a consumer group.",
        handler: xinfo,
        ..Command::DEFAULT
    },
    Command {
        name: "xinfo|groups",
        arity: 3,
        flags: READONLY,
        keys: KEY2,
        group: "stream",
        since: "5.0.0",
        args: "key",
        summary: "Returns a list of the consumer groups of a stream.",
        handler: xinfo,
        ..Command::DEFAULT
    },
    Command {
        name: "xinfo|stream",
        arity: -3,
        flags: READONLY,
        keys: KEY2,
        group: "stream",
        since: "5.0.0",
        args: "key [FULL [COUNT count]]",
        summary: "Returns information about a stream.",
        handler: xinfo,
        ..Command::DEFAULT
    },
    Command {
        name: "xinfo|help",
        arity: 2,
        flags: LOADING | STALE,
        group: "stream",
        since: "5.0.0",
        summary: "Returns helpful text about the different subcommands.",
        handler: xinfo_help,
        ..Command::DEFAULT
    },
];

/// XREAD/XREADGROUP keys: the first half of what follows STREAMS (COMMAND GETKEYS).
pub fn xread_key_positions(args: &[Bytes]) -> Vec<usize> {
    let Some(i) = args.iter().skip(1).position(|a| eq_ic(a, "streams")) else {
        return Vec::new();
    };
    let first = i + 2;
    let n = (args.len() - first) / 2;
    (first..first + n).collect()
}

// ---------------------------------------------------------------- parsing

fn invalid_id() -> Error {
    Error::err("Invalid stream ID specified as stream command argument")
}

/// Redis's string2ull: a strict integer first, else what strtoull accepts
/// (leading spaces, a sign, leading zeros), all of the string.
fn string2ull(s: &[u8]) -> Option<u64> {
    if let Some(v) = parse_i64(s) {
        return (v >= 0).then_some(v as u64);
    }
    let mut i = 0;
    while i < s.len() && (s[i] == b' ' || (9..=13).contains(&s[i])) {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    if i >= s.len() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in &s[i..] {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// streamGenericParseIDOrReply: `-`, `+`, `<ms>`, `<ms>-<seq>` and, when
/// `seq_star`, `<ms>-*` (then the bool is false: no sequence given).
fn parse_id_generic(
    arg: &[u8],
    missing_seq: u64,
    strict: bool,
    seq_star: bool,
) -> Result<(StreamId, bool), Error> {
    if arg.len() > 127 {
        return Err(invalid_id());
    }
    // C string semantics: the text ends at a NUL byte.
    let arg = match arg.iter().position(|&c| c == 0) {
        Some(p) => &arg[..p],
        None => arg,
    };
    if strict && (arg == b"-" || arg == b"+") {
        return Err(invalid_id());
    }
    if arg == b"-" {
        return Ok((StreamId::MIN, true));
    }
    if arg == b"+" {
        return Ok((StreamId::MAX, true));
    }
    let (ms_part, seq_part) = match arg.iter().position(|&c| c == b'-') {
        Some(p) => (&arg[..p], Some(&arg[p + 1..])),
        None => (arg, None),
    };
    let ms = string2ull(ms_part).ok_or_else(invalid_id)?;
    match seq_part {
        None => Ok((StreamId::new(ms, missing_seq), true)),
        Some(b"*") if seq_star => Ok((StreamId::new(ms, 0), false)),
        Some(s) => Ok((
            StreamId::new(ms, string2ull(s).ok_or_else(invalid_id)?),
            true,
        )),
    }
}

fn parse_id(arg: &[u8], missing_seq: u64) -> Result<StreamId, Error> {
    parse_id_generic(arg, missing_seq, false, false).map(|r| r.0)
}

fn parse_strict_id(arg: &[u8], missing_seq: u64) -> Result<StreamId, Error> {
    parse_id_generic(arg, missing_seq, true, false).map(|r| r.0)
}

/// A range bound: `(id` excludes.
fn parse_interval_id(arg: &[u8], missing_seq: u64) -> Result<(StreamId, bool), Error> {
    if arg.len() > 1 && arg[0] == b'(' {
        Ok((parse_strict_id(&arg[1..], missing_seq)?, true))
    } else {
        Ok((parse_id(arg, missing_seq)?, false))
    }
}

fn parse_ll(arg: &[u8]) -> Result<i64, Error> {
    parse_i64(arg).ok_or(Error::NotInteger)
}

fn parse_ll_msg(arg: &[u8], msg: &str) -> Result<i64, Error> {
    parse_i64(arg).ok_or_else(|| Error::err(msg))
}

fn nogroup_key(key: &[u8], group: &[u8]) -> Error {
    Error::msg(format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        String::from_utf8_lossy(key),
        String::from_utf8_lossy(group)
    ))
}

// ---------------------------------------------------------------- lookup

/// Slab position of an existing stream (WRONGTYPE for other types).
fn lookup_stream(db: &mut Db, key: &[u8]) -> Result<Option<u32>, Error> {
    let Some(idx) = db.lookup(key) else {
        return Ok(None);
    };
    match db.entry(idx).value {
        Value::Stream(_) => Ok(Some(idx)),
        _ => Err(Error::WrongType),
    }
}

/// Read access (counts hits/misses like `Db::get`).
fn stream_ref<'a>(db: &'a mut Db, key: &[u8]) -> Result<Option<&'a Stream>, Error> {
    match db.get(key) {
        None => Ok(None),
        Some(Value::Stream(s)) => Ok(Some(s)),
        Some(_) => Err(Error::WrongType),
    }
}

/// Write access to the stream at `idx`, marking the key modified.
fn stream_at<'a>(db: &'a mut Db, key: &[u8], idx: u32) -> &'a mut Stream {
    db.touch(key);
    let clock = (db.now / 1000) as u32;
    let e = db.entry_mut(idx);
    e.lru = clock;
    match &mut e.value {
        Value::Stream(s) => s,
        _ => unreachable!("checked by lookup_stream"),
    }
}

/// Write access without marking the key modified (consumer bookkeeping
/// that Redis does not signal).
fn stream_quiet(db: &mut Db, idx: u32) -> &mut Stream {
    match &mut db.entry_mut(idx).value {
        Value::Stream(s) => s,
        _ => unreachable!("checked by lookup_stream"),
    }
}

fn limits(ctx: &Ctx) -> NodeLimits {
    NodeLimits {
        max_bytes: ctx.store.limits.stream_node_max_bytes,
        max_entries: ctx.store.limits.stream_node_max_entries,
    }
}

fn id_bytes(id: StreamId) -> Bytes {
    id.to_bytes()
}

fn reply_id(out: &mut Out, id: StreamId) {
    out.bulk(id.to_string().as_bytes());
}

fn reply_entry(out: &mut Out, id: StreamId, pairs: &[(&[u8], &[u8])]) {
    out.array(2);
    reply_id(out, id);
    out.array(pairs.len() * 2);
    for (f, v) in pairs {
        out.bulk(f);
        out.bulk(v);
    }
}

/// Entries in [start, end], at most `count` (0 = all); returns how many.
fn reply_range(
    out: &mut Out,
    s: &Stream,
    start: StreamId,
    end: StreamId,
    rev: bool,
    count: usize,
) -> usize {
    let mut body = Out::new(out.proto);
    let mut n = 0;
    s.range(start, end, rev, |id, pairs| {
        reply_entry(&mut body, id, pairs);
        n += 1;
        count == 0 || n < count
    });
    out.array(n);
    out.raw(&body.buf);
    n
}

// ---------------------------------------------------------------- XADD / XTRIM

struct AddTrim {
    trim: Option<Trim>,
    approx: bool,
    limit: u64,
    /// Index of the threshold argument (rewritten for propagation).
    arg_idx: usize,
    nomkstream: bool,
    id: Option<(StreamId, bool)>,
    /// Where the ID is (XADD) / where parsing stopped.
    pos: usize,
}

/// streamParseAddOrTrimArgsOrReply.
fn parse_add_trim(ctx: &Ctx, args: &[Bytes], xadd: bool) -> Result<AddTrim, Error> {
    let mut a = AddTrim {
        trim: None,
        approx: false,
        limit: 0,
        arg_idx: 0,
        nomkstream: false,
        id: None,
        pos: 2,
    };
    let mut limit_given = false;
    let argc = args.len();
    let mut i = 2;
    while i < argc {
        let more = argc - 1 - i;
        let opt = &args[i][..];
        if xadd && opt == b"*" {
            break;
        } else if (eq_ic(opt, "maxlen") || eq_ic(opt, "minid")) && more > 0 {
            let maxlen = eq_ic(opt, "maxlen");
            if a.trim.is_some() {
                return Err(Error::err(
                    "syntax error, MAXLEN and MINID options at the same time are not compatible",
                ));
            }
            a.approx = false;
            let next = &args[i + 1][..];
            if more >= 2 && next == b"~" {
                a.approx = true;
                i += 1;
            } else if more >= 2 && next == b"=" {
                i += 1;
            }
            if maxlen {
                let n = parse_ll(&args[i + 1])?;
                if n < 0 {
                    return Err(Error::err("The MAXLEN argument must be >= 0."));
                }
                a.trim = Some(Trim::MaxLen(n as u64));
            } else {
                a.trim = Some(Trim::MinId(parse_strict_id(&args[i + 1], 0)?));
            }
            i += 1;
            a.arg_idx = i;
        } else if eq_ic(opt, "limit") && more > 0 {
            let n = parse_ll(&args[i + 1])?;
            if n < 0 {
                return Err(Error::err("The LIMIT argument must be >= 0."));
            }
            a.limit = n as u64;
            limit_given = true;
            i += 1;
        } else if xadd && eq_ic(opt, "nomkstream") {
            a.nomkstream = true;
        } else if xadd {
            a.id = Some(parse_id_generic(opt, 0, true, true)?);
            break;
        } else {
            return Err(Error::Syntax);
        }
        i += 1;
    }
    a.pos = i;
    if a.limit > 0 && a.trim.is_none() {
        return Err(Error::err(
            "syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ));
    }
    if !xadd && a.trim.is_none() {
        return Err(Error::err(
            "syntax error, XTRIM must be called with a trimming strategy",
        ));
    }
    if ctx.client.master_link {
        // Our master rewrote the threshold to what it reached: no limit here.
        a.limit = 0;
    } else if limit_given {
        if !a.approx {
            return Err(Error::err(
                "syntax error, LIMIT cannot be used without the special ~ option",
            ));
        }
    } else if a.approx {
        let l = 100 * ctx.store.limits.stream_node_max_entries as i64;
        a.limit = if l <= 0 || l > 1_000_000 {
            10_000
        } else {
            l as u64
        };
    } else {
        a.limit = 0;
    }
    Ok(a)
}

/// Rewrite a `~` trim as the exact threshold reached (streamRewriteTrimArgument).
fn rewrite_trim(args: &mut [Bytes], a: &AddTrim, s: &Stream) {
    args[a.arg_idx - 1] = Bytes::from_static(b"=");
    args[a.arg_idx] = match a.trim {
        Some(Trim::MaxLen(_)) => Bytes::from(s.len().to_string()),
        _ => id_bytes(s.edge_id(true).unwrap_or(StreamId::MAX)),
    };
}

fn xadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let a = parse_add_trim(ctx, args, true)?;
    let idpos = a.pos;
    let field_pos = idpos + 1;
    if args.len() < field_pos + 2 || (args.len() - field_pos) % 2 == 1 {
        return Err(Error::arity("xadd"));
    }
    if let Some((id, true)) = a.id {
        if id.is_zero() {
            return Err(Error::err(
                "The ID specified in XADD must be greater than 0-0",
            ));
        }
    }
    let lim = limits(ctx);
    let db = &mut ctx.store.dbs[ctx.client.db];
    let key = &args[1];
    let idx = match lookup_stream(db, key)? {
        Some(i) => i,
        None if a.nomkstream => {
            ctx.out.null();
            return Ok(());
        }
        None => db.set(key, Value::Stream(Box::default()), false),
    };
    let s = stream_at(db, key, idx);
    if s.last_id == StreamId::MAX {
        return Err(Error::err(
            "The stream has exhausted the last possible ID, unable to add more items",
        ));
    }
    let too_small = || {
        Error::err("The ID specified in XADD is equal or smaller than the target stream top item")
    };
    let id = match a.id {
        Some((id, true)) => id,
        Some((id, false)) => {
            if s.last_id.ms == id.ms {
                if s.last_id.seq == u64::MAX {
                    return Err(too_small());
                }
                StreamId::new(id.ms, s.last_id.seq + 1)
            } else {
                id
            }
        }
        None => {
            if ctx.now > s.last_id.ms {
                StreamId::new(ctx.now, 0)
            } else {
                s.last_id.incr().ok_or_else(too_small)?
            }
        }
    };
    if id <= s.last_id {
        return Err(too_small());
    }
    let total: usize = args[field_pos..].iter().map(|b| b.len()).sum();
    if total > crate::store::stream::LISTPACK_MAX_SIZE {
        return Err(Error::err("Elements are too large to be stored"));
    }
    let pairs: Vec<&[u8]> = args[field_pos..].iter().map(|b| &b[..]).collect();
    s.append(id, &pairs, lim);
    ctx.out.bulk(id.to_string().as_bytes());
    let mut eff = args.to_vec();
    if let Some(t) = a.trim {
        s.trim(t, a.approx, a.limit);
        if a.approx {
            rewrite_trim(&mut eff, &a, s);
        }
    }
    if a.id.is_none_or(|(_, seq_given)| !seq_given) {
        eff[idpos] = id_bytes(id);
    }
    ctx.dirty(1);
    ctx.propagate(eff);
    Ok(())
}

fn xtrim(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let a = parse_add_trim(ctx, args, false)?;
    let Some(t) = a.trim else {
        unreachable!("parse_add_trim requires a strategy for XTRIM");
    };
    let db = &mut ctx.store.dbs[ctx.client.db];
    let key = &args[1];
    let Some(idx) = lookup_stream(db, key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let s = stream_quiet(db, idx);
    let deleted = s.trim(t, a.approx, a.limit);
    if deleted > 0 {
        let mut eff = args.to_vec();
        if a.approx {
            rewrite_trim(&mut eff, &a, s);
        }
        stream_at(db, key, idx);
        ctx.dirty(deleted);
        ctx.propagate(eff);
    }
    ctx.out.int(deleted as i64);
    Ok(())
}

// ---------------------------------------------------------------- reads

fn range_generic(ctx: &mut Ctx, args: &[Bytes], rev: bool) -> CmdResult {
    let (start_arg, end_arg) = if rev {
        (&args[3], &args[2])
    } else {
        (&args[2], &args[3])
    };
    let (mut start, startex) = parse_interval_id(start_arg, 0)?;
    if startex {
        start = start
            .incr()
            .ok_or_else(|| Error::err("invalid start ID for the interval"))?;
    }
    let (mut end, endex) = parse_interval_id(end_arg, u64::MAX)?;
    if endex {
        end = end
            .decr()
            .ok_or_else(|| Error::err("invalid end ID for the interval"))?;
    }
    let mut count: i64 = -1;
    let mut j = 4;
    while j < args.len() {
        if eq_ic(&args[j], "count") && j + 1 < args.len() {
            count = parse_ll(&args[j + 1])?;
            if count < 0 {
                count = 0;
            }
            j += 2;
        } else {
            return Err(Error::Syntax);
        }
    }
    let db = &mut ctx.store.dbs[ctx.client.db];
    if count == 0 {
        ctx.out.null_array();
        return Ok(());
    }
    let Some(s) = stream_ref(db, &args[1])? else {
        ctx.out.array(0);
        return Ok(());
    };
    let count = if count < 0 { 0 } else { count as usize };
    reply_range(ctx.out, s, start, end, rev, count);
    Ok(())
}

fn xrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    range_generic(ctx, args, false)
}

fn xrevrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    range_generic(ctx, args, true)
}

fn xlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    let n = stream_ref(db, &args[1])?.map_or(0, |s| s.len());
    ctx.out.int(n as i64);
    Ok(())
}

fn xdel(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let ids = args[2..]
        .iter()
        .map(|a| parse_strict_id(a, 0))
        .collect::<Result<Vec<_>, _>>()?;
    let db = &mut ctx.store.dbs[ctx.client.db];
    let key = &args[1];
    let Some(idx) = lookup_stream(db, key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let deleted = stream_quiet(db, idx).xdel(&ids);
    if deleted > 0 {
        stream_at(db, key, idx);
        ctx.dirty(deleted);
    }
    ctx.out.int(deleted as i64);
    Ok(())
}

fn xsetid(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let id = parse_strict_id(&args[2], 0)?;
    let mut entries_added: i64 = -1;
    let mut max_xdel = StreamId::MIN;
    let mut i = 3;
    while i < args.len() {
        let more = args.len() - 1 - i;
        if eq_ic(&args[i], "entriesadded") && more > 0 {
            entries_added = parse_ll(&args[i + 1])?;
            if entries_added < 0 {
                return Err(Error::err("entries_added must be positive"));
            }
            i += 2;
        } else if eq_ic(&args[i], "maxdeletedid") && more > 0 {
            max_xdel = parse_strict_id(&args[i + 1], 0)?;
            if id < max_xdel {
                return Err(Error::err(
                    "The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                ));
            }
            i += 2;
        } else {
            return Err(Error::Syntax);
        }
    }
    let db = &mut ctx.store.dbs[ctx.client.db];
    let key = &args[1];
    let Some(idx) = lookup_stream(db, key)? else {
        return Err(Error::NoSuchKey);
    };
    let s = stream_quiet(db, idx);
    if !s.is_empty() {
        let maxid = s.edge_id(false).unwrap_or_default();
        if id < maxid {
            return Err(Error::err(
                "The ID specified in XSETID is smaller than the target stream top item",
            ));
        }
        if entries_added != -1 && s.len() > entries_added as u64 {
            return Err(Error::err(
                "The entries_added specified in XSETID is smaller than the target stream length",
            ));
        }
    }
    if id < s.max_deleted_id {
        return Err(Error::err(
            "The ID specified in XSETID is smaller than current max_deleted_entry_id",
        ));
    }
    s.last_id = id;
    if entries_added != -1 {
        s.entries_added = entries_added as u64;
    }
    if !max_xdel.is_zero() {
        s.max_deleted_id = max_xdel;
    }
    stream_at(db, key, idx);
    ctx.dirty(1);
    ctx.out.ok();
    Ok(())
}

// ---------------------------------------------------------------- XREAD / XREADGROUP

/// What XREAD/XREADGROUP asked for.
struct ReadArgs {
    block: Option<i64>,
    count: usize,
    noack: bool,
    group: Option<(Bytes, Bytes)>,
    streams_at: usize,
    nstreams: usize,
}

fn parse_read(args: &[Bytes], xreadgroup: bool) -> Result<ReadArgs, Error> {
    let mut r = ReadArgs {
        block: None,
        count: 0,
        noack: false,
        group: None,
        streams_at: 0,
        nstreams: 0,
    };
    let argc = args.len();
    let mut i = 1;
    while i < argc {
        let more = argc - i - 1;
        let o = &args[i][..];
        if eq_ic(o, "block") && more > 0 {
            i += 1;
            let ms = parse_i64(&args[i])
                .ok_or_else(|| Error::err("timeout is not an integer or out of range"))?;
            if ms < 0 {
                return Err(Error::err("timeout is negative"));
            }
            r.block = Some(ms);
        } else if eq_ic(o, "count") && more > 0 {
            i += 1;
            r.count = parse_ll(&args[i])?.max(0) as usize;
        } else if eq_ic(o, "streams") && more > 0 {
            r.streams_at = i + 1;
            let n = argc - r.streams_at;
            if n % 2 != 0 {
                let (name, symbol) = if xreadgroup {
                    ("xreadgroup", '>')
                } else {
                    ("xread", '$')
                };
                return Err(Error::err(format!(
                    "Unbalanced '{name}' list of streams: for each stream key an ID or '{symbol}' must be specified."
                )));
            }
            r.nstreams = n / 2;
            break;
        } else if eq_ic(o, "group") && more >= 2 {
            if !xreadgroup {
                return Err(Error::err(
                    "The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            r.group = Some((args[i + 1].clone(), args[i + 2].clone()));
            i += 2;
        } else if eq_ic(o, "noack") {
            if !xreadgroup {
                return Err(Error::err(
                    "The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            r.noack = true;
        } else {
            return Err(Error::Syntax);
        }
        i += 1;
    }
    if r.streams_at == 0 {
        return Err(Error::Syntax);
    }
    if xreadgroup && r.group.is_none() {
        return Err(Error::err("Missing GROUP option for XREADGROUP"));
    }
    Ok(r)
}

/// One stream to serve: its key index, the ID entries must exceed, and
/// whether it reads the consumer's history.
struct Serve {
    i: usize,
    gt: StreamId,
    history: bool,
}

fn xread(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    read_generic(ctx, args, false)
}

fn xreadgroup(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    read_generic(ctx, args, true)
}

fn read_generic(ctx: &mut Ctx, args: &[Bytes], xreadgroup: bool) -> CmdResult {
    let resumed = ctx.client.blocked.is_some();
    let r = match parse_read(args, xreadgroup) {
        Ok(r) => r,
        Err(e) => {
            blk::unblock(ctx);
            return Err(e);
        }
    };
    let keys = &args[r.streams_at..r.streams_at + r.nstreams];
    let result = read_attempt(ctx, args, &r, resumed);
    match result {
        Ok(true) => {
            pass_on(ctx, keys);
            blk::unblock(ctx);
            Ok(())
        }
        Ok(false) => {
            if r.block.is_none() {
                ctx.out.null_array();
                return Ok(());
            }
            let ms = r.block.unwrap_or(0);
            let timeout = (ms > 0).then(|| std::time::Duration::from_millis(ms as u64));
            let first = ctx.client.blocked.is_none();
            let ids = if first {
                Some(resolve_ids(ctx, args, &r)?)
            } else {
                None
            };
            pass_on(ctx, keys);
            blk::block(ctx, keys, timeout, true)?;
            if let (Some(ids), Some(b)) = (ids, ctx.client.blocked.as_mut()) {
                b.stream_ids = ids;
            }
            Ok(())
        }
        Err(e) => {
            pass_on(ctx, keys);
            blk::unblock(ctx);
            Err(e)
        }
    }
}

/// A woken reader is done looking: wake the waiter queued after it on each
/// of its keys, so every reader of the key gets its turn in FIFO order.
fn pass_on(ctx: &mut Ctx, keys: &[Bytes]) {
    if ctx.client.blocked.is_none() {
        return;
    }
    let db = ctx.client.db;
    let w = ctx.client.handle.waiter.clone();
    for k in keys {
        ctx.store.blocking.wake_after(db, k, &w);
    }
}

/// The IDs as given, `$` resolved against the streams now (kept while blocked).
fn resolve_ids(ctx: &mut Ctx, args: &[Bytes], r: &ReadArgs) -> Result<Vec<StreamId>, Error> {
    let db = &mut ctx.store.dbs[ctx.client.db];
    let mut ids = Vec::with_capacity(r.nstreams);
    for i in 0..r.nstreams {
        let key = &args[r.streams_at + i];
        let arg = &args[r.streams_at + r.nstreams + i];
        let id = if &arg[..] == b"$" {
            match lookup_stream(db, key)? {
                Some(idx) => match &db.entry(idx).value {
                    Value::Stream(s) => s.last_id,
                    _ => unreachable!(),
                },
                None => StreamId::MIN,
            }
        } else if &arg[..] == b">" {
            StreamId::MAX
        } else {
            parse_strict_id(arg, 0)?
        };
        ids.push(id);
    }
    Ok(ids)
}

/// Serve what can be served now; Ok(false) when nothing could.
fn read_attempt(ctx: &mut Ctx, args: &[Bytes], r: &ReadArgs, resumed: bool) -> Result<bool, Error> {
    let dbi = ctx.client.db;
    let stored: Option<Vec<StreamId>> = ctx
        .client
        .blocked
        .as_ref()
        .filter(|b| !b.stream_ids.is_empty())
        .map(|b| b.stream_ids.clone());
    let group = r.group.as_ref();
    // Validate keys, groups and IDs first, as Redis does before serving.
    let mut ids = Vec::with_capacity(r.nstreams);
    for i in 0..r.nstreams {
        let key = &args[r.streams_at + i];
        let arg = &args[r.streams_at + r.nstreams + i];
        let db = &mut ctx.store.dbs[dbi];
        // A waiter whose key was overwritten by another type sees it as gone.
        let exists = match stream_ref(db, key) {
            Err(_) if resumed => false,
            r => r?.is_some(),
        };
        if let Some((g, _)) = group {
            let has = exists
                && match stream_ref(db, key)? {
                    Some(s) => s.groups.contains_key(&g[..]),
                    None => false,
                };
            if !has {
                if resumed {
                    // The stream or the group went away while we waited.
                    if !exists {
                        return Err(Error::msg("UNBLOCKED the stream key no longer exists"));
                    }
                    return Err(Error::msg(
                        "NOGROUP the consumer group this client was blocked on no longer exists",
                    ));
                }
                return Err(Error::msg(format!(
                    "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
                    String::from_utf8_lossy(key),
                    String::from_utf8_lossy(g)
                )));
            }
        }
        let id = if &arg[..] == b"$" {
            if group.is_some() {
                return Err(Error::err("The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set."));
            }
            match &stored {
                Some(v) => v[i],
                None => stream_ref(db, key)?.map_or(StreamId::MIN, |s| s.last_id),
            }
        } else if &arg[..] == b">" {
            if group.is_none() {
                return Err(Error::err("The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option."));
            }
            StreamId::MAX
        } else {
            parse_strict_id(arg, 0)?
        };
        ids.push(id);
    }
    // Which streams are served.
    let mut serve = Vec::new();
    for (i, &gt) in ids.iter().enumerate() {
        let key = &args[r.streams_at + i];
        let db = &mut ctx.store.dbs[dbi];
        let Ok(Some(idx)) = lookup_stream(db, key) else {
            continue;
        };
        let s = stream_quiet(db, idx);
        if let Some((g, c)) = group {
            let grp = s.groups.get(&g[..]).expect("checked above");
            let mut item = None;
            if gt != StreamId::MAX {
                item = Some(Serve {
                    i,
                    gt,
                    history: true,
                });
            } else if !s.is_empty() {
                let maxid = s.edge_id(false).unwrap_or_default();
                if maxid > grp.last_id {
                    item = Some(Serve {
                        i,
                        gt: grp.last_id,
                        history: false,
                    });
                }
            }
            // The consumer is created (and its seen-time refreshed) only
            // when something is served, as Redis 7.0 does.
            if item.is_some() {
                let now = ctx.now;
                let grp = s.groups.get_mut(&g[..]).expect("checked above");
                let created = grp.create_consumer(c, now);
                if let Some(cons) = grp.consumers.get_mut(&c[..]) {
                    cons.seen_time = now;
                }
                if created && r.noack {
                    ctx.store.effect(
                        dbi,
                        vec![
                            Bytes::from_static(b"XGROUP"),
                            Bytes::from_static(b"CREATECONSUMER"),
                            key.clone(),
                            g.clone(),
                            c.clone(),
                        ],
                    );
                }
                // Only a NOACK read propagates the creation; otherwise the
                // XCLAIM effects create the consumer on replicas. Counting
                // a change without an effect would propagate XREADGROUP
                // itself.
                if created && r.noack {
                    ctx.store.dirty += 1;
                }
            }
            if let Some(it) = item {
                serve.push(it);
            }
        } else if !s.is_empty() {
            let maxid = s.edge_id(false).unwrap_or_default();
            if maxid > gt {
                serve.push(Serve {
                    i,
                    gt,
                    history: false,
                });
            }
        }
    }
    if serve.is_empty() {
        return Ok(false);
    }
    let count = if r.count == 0 && resumed {
        1000
    } else {
        r.count
    };
    if ctx.out.resp3() {
        ctx.out.map(serve.len());
    } else {
        ctx.out.array(serve.len());
    }
    for sv in &serve {
        let key = &args[r.streams_at + sv.i];
        if !ctx.out.resp3() {
            ctx.out.array(2);
        }
        ctx.out.bulk(key);
        let start = sv.gt.incr().unwrap_or(StreamId::MAX);
        match group {
            None => {
                let db = &mut ctx.store.dbs[dbi];
                let idx = lookup_stream(db, key)?.expect("served");
                let s = stream_quiet(db, idx);
                reply_range(ctx.out, s, start, StreamId::MAX, false, count);
            }
            Some((g, c)) => {
                if sv.history {
                    // Redis 7.0 propagates nothing for a history read (the
                    // delivery counters it bumps stay local).
                    serve_history(ctx, key, g, c, start, count)?;
                } else {
                    serve_new(ctx, key, g, c, start, count, r.noack)?;
                    ctx.store.dirty += 1;
                }
            }
        }
    }
    Ok(true)
}

/// Propagate one PEL entry as Redis's XCLAIM effect.
fn xclaim_effect(
    ctx: &mut Ctx,
    key: &Bytes,
    group: &[u8],
    id_arg: Bytes,
    last_id: StreamId,
    n: &crate::store::stream::Nack,
) {
    let eff = vec![
        Bytes::from_static(b"XCLAIM"),
        key.clone(),
        Bytes::copy_from_slice(group),
        Bytes::copy_from_slice(&n.consumer),
        Bytes::from_static(b"0"),
        id_arg,
        Bytes::from_static(b"TIME"),
        Bytes::from(n.delivery_time.to_string()),
        Bytes::from_static(b"RETRYCOUNT"),
        Bytes::from(n.delivery_count.to_string()),
        Bytes::from_static(b"FORCE"),
        Bytes::from_static(b"JUSTID"),
        Bytes::from_static(b"LASTID"),
        id_bytes(last_id),
    ];
    ctx.propagate(eff);
}

fn setid_effect(ctx: &mut Ctx, key: &Bytes, group: &[u8], g: &Group) {
    ctx.propagate(vec![
        Bytes::from_static(b"XGROUP"),
        Bytes::from_static(b"SETID"),
        key.clone(),
        Bytes::copy_from_slice(group),
        id_bytes(g.last_id),
        Bytes::from_static(b"ENTRIESREAD"),
        Bytes::from(g.entries_read.to_string()),
    ]);
}

/// XREADGROUP with `>`: deliver new entries, advance the group, fill the PEL.
fn serve_new(
    ctx: &mut Ctx,
    key: &Bytes,
    g: &[u8],
    c: &[u8],
    start: StreamId,
    count: usize,
    noack: bool,
) -> CmdResult {
    let dbi = ctx.client.db;
    let db = &mut ctx.store.dbs[dbi];
    let idx = lookup_stream(db, key)?.expect("served");
    // Redis does not signal the key for a read (WATCH stays valid).
    let s = stream_quiet(db, idx);
    let mut delivered = Vec::new();
    let mut body = Out::new(ctx.out.proto);
    s.range(start, StreamId::MAX, false, |id, pairs| {
        reply_entry(&mut body, id, pairs);
        delivered.push(id);
        count == 0 || delivered.len() < count
    });
    ctx.out.array(delivered.len());
    ctx.out.raw(&body.buf);
    let now = ctx.now;
    let mut effects = Vec::new();
    let mut moved = false;
    for &id in &delivered {
        let before = s.groups.get(g).map(|x| x.last_id);
        s.advance_group(g, id);
        let grp = s.groups.get_mut(g).expect("group");
        moved |= before != Some(grp.last_id);
        if !noack {
            grp.assign(id, c, now, 1);
            let n = grp.pel.get(&id).expect("just assigned").clone();
            effects.push((id, grp.last_id, n));
        }
    }
    let grp = s.groups.get(g).expect("group").clone_meta();
    for (id, last, n) in effects {
        xclaim_effect(ctx, key, g, id_bytes(id), last, &n);
    }
    if noack && moved {
        setid_effect(ctx, key, g, &grp);
    }
    Ok(())
}

/// XREADGROUP with an ID: the consumer's own pending entries after it.
fn serve_history(
    ctx: &mut Ctx,
    key: &Bytes,
    g: &[u8],
    c: &[u8],
    start: StreamId,
    count: usize,
) -> CmdResult {
    let dbi = ctx.client.db;
    let db = &mut ctx.store.dbs[dbi];
    let idx = lookup_stream(db, key)?.expect("served");
    let s = stream_quiet(db, idx);
    let grp = s.groups.get(g).expect("group");
    let ids: Vec<StreamId> = grp
        .consumers
        .get(c)
        .map(|cons| {
            cons.pel
                .range(start..)
                .take(if count == 0 { usize::MAX } else { count })
                .copied()
                .collect()
        })
        .unwrap_or_default();
    let now = ctx.now;
    ctx.out.array(ids.len());
    for id in ids {
        let mut found = false;
        s.range(id, id, false, |id, pairs| {
            reply_entry(ctx.out, id, pairs);
            found = true;
            false
        });
        if !found {
            ctx.out.array(2);
            reply_id(ctx.out, id);
            ctx.out.null_array();
            continue;
        }
        let grp = s.groups.get_mut(g).expect("group");
        if let Some(n) = grp.pel.get_mut(&id) {
            n.delivery_time = now;
            n.delivery_count += 1;
        }
    }
    Ok(())
}

trait CloneMeta {
    fn clone_meta(&self) -> Group;
}

impl CloneMeta for Group {
    /// The group's counters without its PEL and consumers.
    fn clone_meta(&self) -> Group {
        Group::new(self.last_id, self.entries_read)
    }
}

// ---------------------------------------------------------------- groups

fn xgroup(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = &args[1];
    let key = &args[2];
    let gname = &args[3];
    let mut mkstream = false;
    let mut entries_read = INVALID_ENTRIES_READ;
    let create = eq_ic(sub, "create");
    let syntax = || {
        Error::err(format!(
            "unknown subcommand or wrong number of arguments for '{}'. Try XGROUP HELP.",
            String::from_utf8_lossy(&sub[..sub.len().min(128)])
        ))
    };
    if create && args.len() >= 5 {
        let mut i = 5;
        while i < args.len() {
            if eq_ic(&args[i], "mkstream") {
                mkstream = true;
                i += 1;
            } else if eq_ic(&args[i], "entriesread") && i + 1 < args.len() {
                entries_read = parse_ll(&args[i + 1])?;
                if entries_read < 0 && entries_read != INVALID_ENTRIES_READ {
                    return Err(Error::err("value for ENTRIESREAD must be positive or -1"));
                }
                i += 2;
            } else {
                return Err(syntax());
            }
        }
    }
    let dbi = ctx.client.db;
    let db = &mut ctx.store.dbs[dbi];
    let idx = lookup_stream(db, key)?;
    if !mkstream {
        let Some(idx) = idx else {
            return Err(Error::err("The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically."));
        };
        let s = stream_quiet(db, idx);
        let needs_group =
            eq_ic(sub, "setid") || eq_ic(sub, "createconsumer") || eq_ic(sub, "delconsumer");
        if needs_group && !s.groups.contains_key(&gname[..]) {
            return Err(Error::msg(format!(
                "NOGROUP No such consumer group '{}' for key name '{}'",
                String::from_utf8_lossy(gname),
                String::from_utf8_lossy(key)
            )));
        }
    }
    let now = ctx.now;
    if create && args.len() <= 8 {
        let id = if &args[4][..] == b"$" {
            match idx {
                Some(i) => stream_quiet(db, i).last_id,
                None => StreamId::MIN,
            }
        } else {
            parse_strict_id(&args[4], 0)?
        };
        let idx = match idx {
            Some(i) => i,
            None => db.set(key, Value::Stream(Box::default()), false),
        };
        let s = stream_quiet(db, idx);
        if s.groups.contains_key(&gname[..]) {
            return Err(Error::msg("BUSYGROUP Consumer Group name already exists"));
        }
        s.groups
            .insert(gname[..].into(), Group::new(id, entries_read));
        ctx.dirty(1);
        ctx.out.ok();
        return Ok(());
    }
    let Some(idx) = idx else {
        return Err(syntax());
    };
    if eq_ic(sub, "setid") && (args.len() == 5 || args.len() == 7) {
        let s = stream_quiet(db, idx);
        let id = if &args[4][..] == b"$" {
            s.last_id
        } else {
            parse_id(&args[4], 0)?
        };
        if args.len() == 7 {
            entries_read = match parse_i64(&args[6]) {
                Some(v) if eq_ic(&args[5], "entriesread") => v,
                _ => return Err(syntax()),
            };
            if entries_read < 0 && entries_read != INVALID_ENTRIES_READ {
                return Err(Error::err("value for ENTRIESREAD must be positive or -1"));
            }
        }
        let g = s.groups.get_mut(&gname[..]).expect("checked");
        g.last_id = id;
        g.entries_read = entries_read;
        ctx.dirty(1);
        ctx.out.ok();
    } else if eq_ic(sub, "destroy") && args.len() == 4 {
        let s = stream_quiet(db, idx);
        if s.groups.remove(&gname[..]).is_some() {
            // Blocked XREADGROUP readers of the group learn it is gone.
            stream_at(db, key, idx);
            ctx.dirty(1);
            ctx.out.int(1);
        } else {
            ctx.out.int(0);
        }
    } else if eq_ic(sub, "createconsumer") && args.len() == 5 {
        let s = stream_quiet(db, idx);
        let g = s.groups.get_mut(&gname[..]).expect("checked");
        let created = g.create_consumer(&args[4], now);
        if created {
            ctx.dirty(1);
        }
        ctx.out.int(created as i64);
    } else if eq_ic(sub, "delconsumer") && args.len() == 5 {
        let s = stream_quiet(db, idx);
        let g = s.groups.get_mut(&gname[..]).expect("checked");
        let pending = g.delete_consumer(&args[4]);
        if pending.is_some() {
            ctx.dirty(1);
        }
        ctx.out.int(pending.unwrap_or(0) as i64);
    } else {
        return Err(syntax());
    }
    Ok(())
}

fn xgroup_help(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    help_reply(
        ctx,
        &[
            "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "CREATE <key> <groupname> <id|$> [option]",
            "    Create a new consumer group. Options are:",
            "    * MKSTREAM",
            "      Create the empty stream if it does not exist.",
            "    * ENTRIESREAD entries_read",
            "      Set the group's entries_read counter (internal use).",
            "CREATECONSUMER <key> <groupname> <consumer>",
            "    Create a new consumer in the specified group.",
            "DELCONSUMER <key> <groupname> <consumer>",
            "    Remove the specified consumer.",
            "DESTROY <key> <groupname>",
            "    Remove the specified group.",
            "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
            "    Set the current group ID and entries_read counter.",
            "HELP",
            "    Prints this help.",
        ],
    );
    Ok(())
}

fn xack(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let dbi = ctx.client.db;
    let db = &mut ctx.store.dbs[dbi];
    let key = &args[1];
    let Some(s) = stream_ref(db, key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    if !s.groups.contains_key(&args[2][..]) {
        ctx.out.int(0);
        return Ok(());
    }
    let ids = args[3..]
        .iter()
        .map(|a| parse_strict_id(a, 0))
        .collect::<Result<Vec<_>, _>>()?;
    let idx = lookup_stream(db, key)?.expect("exists");
    let s = stream_quiet(db, idx);
    let g = s.groups.get_mut(&args[2][..]).expect("exists");
    let mut acked = 0;
    for id in ids {
        if g.ack(id) {
            acked += 1;
        }
    }
    if acked > 0 {
        ctx.dirty(acked);
    }
    ctx.out.int(acked as i64);
    Ok(())
}

fn xpending(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let argc = args.len();
    let justinfo = argc == 3;
    if argc != 3 && !(6..=9).contains(&argc) {
        return Err(Error::Syntax);
    }
    let mut minidle: i64 = 0;
    let mut count: i64 = 0;
    let mut start = StreamId::MIN;
    let mut end = StreamId::MAX;
    let mut consumer: Option<&Bytes> = None;
    if argc >= 6 {
        let mut si = 3;
        if eq_ic(&args[3], "idle") {
            minidle = parse_ll(&args[4])?;
            if argc < 8 {
                return Err(Error::Syntax);
            }
            si += 2;
        }
        count = parse_ll(&args[si + 2])?.max(0);
        let (s0, sx) = parse_interval_id(&args[si], 0)?;
        start = if sx {
            s0.incr()
                .ok_or_else(|| Error::err("invalid start ID for the interval"))?
        } else {
            s0
        };
        let (e0, ex) = parse_interval_id(&args[si + 1], u64::MAX)?;
        end = if ex {
            e0.decr()
                .ok_or_else(|| Error::err("invalid end ID for the interval"))?
        } else {
            e0
        };
        if si + 3 < argc {
            consumer = Some(&args[si + 3]);
        }
    }
    let db = &mut ctx.store.dbs[ctx.client.db];
    let s = stream_ref(db, &args[1])?;
    let Some(g) = s.and_then(|s| s.groups.get(&args[2][..])) else {
        return Err(nogroup_key(&args[1], &args[2]));
    };
    let out = &mut *ctx.out;
    if justinfo {
        out.array(4);
        out.int(g.pel.len() as i64);
        if g.pel.is_empty() {
            out.null();
            out.null();
            out.null_array();
        } else {
            reply_id(out, *g.pel.keys().next().expect("non-empty"));
            reply_id(out, *g.pel.keys().next_back().expect("non-empty"));
            let with: Vec<_> = g
                .consumers
                .iter()
                .filter(|(_, c)| !c.pel.is_empty())
                .collect();
            out.array(with.len());
            for (name, c) in with {
                out.array(2);
                out.bulk(name);
                out.bulk_int(c.pel.len() as i64);
            }
        }
        return Ok(());
    }
    let now = ctx.now as i64;
    let ids: Vec<StreamId> = match consumer {
        Some(name) => match g.consumers.get(&name[..]) {
            Some(c) => c
                .pel
                .range(start..)
                .copied()
                .take_while(|id| *id <= end)
                .collect(),
            None => {
                out.array(0);
                return Ok(());
            }
        },
        None => g
            .pel
            .range(start..)
            .map(|(k, _)| *k)
            .take_while(|id| *id <= end)
            .collect(),
    };
    let mut body = Out::new(out.proto);
    let mut n = 0;
    for id in ids {
        if count == 0 {
            break;
        }
        let nack = &g.pel[&id];
        if minidle != 0 && now - (nack.delivery_time as i64) < minidle {
            continue;
        }
        n += 1;
        count -= 1;
        body.array(4);
        reply_id(&mut body, id);
        body.bulk(&nack.consumer);
        body.int((now - nack.delivery_time as i64).max(0));
        body.int(nack.delivery_count as i64);
    }
    out.array(n);
    out.raw(&body.buf);
    Ok(())
}

fn xclaim(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let dbi = ctx.client.db;
    let key = &args[1];
    let gname = &args[2];
    let cname = &args[3];
    {
        let db = &mut ctx.store.dbs[dbi];
        let s = stream_ref(db, key)?;
        if !s.is_some_and(|s| s.groups.contains_key(&gname[..])) {
            return Err(nogroup_key(key, gname));
        }
    }
    let minidle = parse_ll_msg(&args[4], "Invalid min-idle-time argument for XCLAIM")?.max(0);
    let mut j = 5;
    while j < args.len() && parse_strict_id(&args[j], 0).is_ok() {
        j += 1;
    }
    let last_id_arg = j;
    let now = ctx.now as i64;
    let mut retrycount: i64 = -1;
    let mut deliverytime: i64 = -1;
    let mut force = false;
    let mut justid = false;
    let mut last_id = StreamId::MIN;
    while j < args.len() {
        let more = args.len() - 1 - j;
        let opt = &args[j];
        if eq_ic(opt, "force") {
            force = true;
        } else if eq_ic(opt, "justid") {
            justid = true;
        } else if eq_ic(opt, "idle") && more > 0 {
            j += 1;
            deliverytime = now - parse_ll_msg(&args[j], "Invalid IDLE option argument for XCLAIM")?;
        } else if eq_ic(opt, "time") && more > 0 {
            j += 1;
            deliverytime = parse_ll_msg(&args[j], "Invalid TIME option argument for XCLAIM")?;
        } else if eq_ic(opt, "retrycount") && more > 0 {
            j += 1;
            retrycount = parse_ll_msg(&args[j], "Invalid RETRYCOUNT option argument for XCLAIM")?;
        } else if eq_ic(opt, "lastid") && more > 0 {
            j += 1;
            last_id = parse_strict_id(&args[j], 0)?;
        } else {
            return Err(Error::err(format!(
                "Unrecognized XCLAIM option '{}'",
                String::from_utf8_lossy(opt)
            )));
        }
        j += 1;
    }
    let db = &mut ctx.store.dbs[dbi];
    let idx = lookup_stream(db, key)?.expect("checked");
    let s = stream_quiet(db, idx);
    let mut propagate_last_id = false;
    {
        let g = s.groups.get_mut(&gname[..]).expect("checked");
        if last_id > g.last_id {
            g.last_id = last_id;
            propagate_last_id = true;
        }
    }
    if deliverytime != -1 {
        if deliverytime < 0 || deliverytime > now {
            deliverytime = now;
        }
    } else {
        deliverytime = now;
    }
    let mut body = Out::new(ctx.out.proto);
    let mut n = 0;
    let mut effects: Vec<(Bytes, StreamId, crate::store::stream::Nack)> = Vec::new();
    let mut dirty = 0;
    for arg in &args[5..last_id_arg] {
        let id = parse_strict_id(arg, 0)?;
        let exists = s.contains(id);
        let g = s.groups.get_mut(&gname[..]).expect("checked");
        let had = g.pel.get(&id).cloned();
        if !exists {
            if let Some(nack) = had {
                effects.push((arg.clone(), g.last_id, nack));
                g.ack(id);
                dirty += 1;
                propagate_last_id = false;
            }
            continue;
        }
        let (prev_count, fresh) = match &had {
            Some(nk) => {
                if minidle > 0 && now - (nk.delivery_time as i64) < minidle {
                    continue;
                }
                (nk.delivery_count, false)
            }
            None if force => (1, true),
            None => continue,
        };
        let _ = fresh;
        if !g.consumers.contains_key(&cname[..]) {
            g.create_consumer(cname, now as u64);
        }
        if let Some(c) = g.consumers.get_mut(&cname[..]) {
            c.seen_time = now as u64;
        }
        let count = if retrycount >= 0 {
            retrycount as u64
        } else if !justid {
            prev_count + 1
        } else {
            prev_count
        };
        g.assign(id, cname, deliverytime as u64, count);
        let nack = g.pel[&id].clone();
        let last = g.last_id;
        if justid {
            reply_id(&mut body, id);
        } else {
            let mut emitted = false;
            s.range(id, id, false, |id, pairs| {
                reply_entry(&mut body, id, pairs);
                emitted = true;
                false
            });
            if !emitted {
                body.null();
            }
        }
        n += 1;
        effects.push((arg.clone(), last, nack));
        dirty += 1;
        propagate_last_id = false;
    }
    let meta = s.groups.get(&gname[..]).expect("checked").clone_meta();
    ctx.out.array(n);
    ctx.out.raw(&body.buf);
    for (arg, last, nack) in effects {
        xclaim_effect(ctx, key, gname, arg, last, &nack);
    }
    if propagate_last_id {
        setid_effect(ctx, key, gname, &meta);
        dirty += 1;
    }
    if dirty > 0 {
        ctx.dirty(dirty);
    }
    Ok(())
}

fn xautoclaim(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let gname = &args[2];
    let cname = &args[3];
    let minidle = parse_ll_msg(&args[4], "Invalid min-idle-time argument for XAUTOCLAIM")?.max(0);
    let (mut start, ex) = parse_interval_id(&args[5], 0)?;
    if ex {
        start = start
            .incr()
            .ok_or_else(|| Error::err("invalid start ID for the interval"))?;
    }
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if eq_ic(&args[j], "count") && more > 0 {
            let max = i64::MAX / 16;
            count = match parse_i64(&args[j + 1]) {
                Some(v) if (1..=max).contains(&v) => v,
                _ => return Err(Error::err("COUNT must be > 0")),
            };
            j += 1;
        } else if eq_ic(&args[j], "justid") {
            justid = true;
        } else {
            return Err(Error::Syntax);
        }
        j += 1;
    }
    let dbi = ctx.client.db;
    let db = &mut ctx.store.dbs[dbi];
    let Some(idx) = lookup_stream(db, key)? else {
        return Err(nogroup_key(key, gname));
    };
    let s = stream_quiet(db, idx);
    if !s.groups.contains_key(&gname[..]) {
        return Err(nogroup_key(key, gname));
    }
    let now = ctx.now;
    let mut attempts = count * 10;
    let mut cursor = Some(start);
    let mut deleted = Vec::new();
    let mut body = Out::new(ctx.out.proto);
    let mut n = 0;
    let mut effects = Vec::new();
    loop {
        if attempts == 0 {
            break;
        }
        attempts -= 1;
        if count == 0 {
            break;
        }
        let Some(cur) = cursor else { break };
        let g = s.groups.get(&gname[..]).expect("checked");
        let Some((&id, nack)) = g.pel.range(cur..).next() else {
            cursor = None;
            break;
        };
        let nack = nack.clone();
        cursor = id.incr();
        if !s.contains(id) {
            let g = s.groups.get_mut(&gname[..]).expect("checked");
            effects.push((id, g.last_id, nack));
            g.ack(id);
            deleted.push(id);
            count -= 1;
            continue;
        }
        if minidle > 0 && (now as i64) - (nack.delivery_time as i64) < minidle {
            continue;
        }
        let g = s.groups.get_mut(&gname[..]).expect("checked");
        if !g.consumers.contains_key(&cname[..]) {
            g.create_consumer(cname, now);
        }
        if let Some(c) = g.consumers.get_mut(&cname[..]) {
            c.seen_time = now;
        }
        let dc = if justid {
            nack.delivery_count
        } else {
            nack.delivery_count + 1
        };
        g.assign(id, cname, now, dc);
        let nk = g.pel[&id].clone();
        let last = g.last_id;
        if justid {
            reply_id(&mut body, id);
        } else {
            let mut emitted = false;
            s.range(id, id, false, |id, pairs| {
                reply_entry(&mut body, id, pairs);
                emitted = true;
                false
            });
            if !emitted {
                body.null();
            }
        }
        n += 1;
        count -= 1;
        effects.push((id, last, nk));
    }
    let g = s.groups.get(&gname[..]).expect("checked");
    let next = cursor
        .and_then(|c| g.pel.range(c..).next().map(|(k, _)| *k))
        .unwrap_or(StreamId::MIN);
    let out = &mut *ctx.out;
    out.array(3);
    reply_id(out, next);
    out.array(n);
    out.raw(&body.buf);
    out.array(deleted.len());
    for id in &deleted {
        reply_id(out, *id);
    }
    let dirty = effects.len() as u64;
    for (id, last, nack) in effects {
        xclaim_effect(ctx, key, gname, id_bytes(id), last, &nack);
    }
    if dirty > 0 {
        ctx.dirty(dirty);
    }
    Ok(())
}

// ---------------------------------------------------------------- XINFO

fn xinfo_help(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    help_reply(
        ctx,
        &[
            "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "CONSUMERS <key> <groupname>",
            "    Show consumers of <groupname>.",
            "GROUPS <key>",
            "    Show the stream consumer groups.",
            "STREAM <key> [FULL [COUNT <count>]",
            "    Show information about the stream.",
            "HELP",
            "    Prints this help.",
        ],
    );
    Ok(())
}

/// Redis's rax node count for the node keys is not something we keep; an
/// estimate: one node per key plus the shared prefix path.
fn rax_nodes(s: &Stream) -> i64 {
    let n = s.node_count() as i64;
    if n == 0 {
        1
    } else {
        n + 1
    }
}

fn xinfo(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = &args[1];
    let key = &args[2];
    let now = ctx.now as i64;
    let db = &mut ctx.store.dbs[ctx.client.db];
    let Some(s) = stream_ref(db, key)? else {
        return Err(Error::NoSuchKey);
    };
    let out = &mut *ctx.out;
    if eq_ic(sub, "consumers") {
        let Some(g) = s.groups.get(&args[3][..]) else {
            return Err(Error::msg(format!(
                "NOGROUP No such consumer group '{}' for key name '{}'",
                String::from_utf8_lossy(&args[3]),
                String::from_utf8_lossy(key)
            )));
        };
        out.array(g.consumers.len());
        for (name, c) in &g.consumers {
            out.map(3);
            out.bulk(b"name");
            out.bulk(name);
            out.bulk(b"pending");
            out.int(c.pel.len() as i64);
            out.bulk(b"idle");
            out.int((now - c.seen_time as i64).max(0));
        }
        return Ok(());
    }
    if eq_ic(sub, "groups") {
        out.array(s.groups.len());
        for (name, g) in &s.groups {
            out.map(6);
            out.bulk(b"name");
            out.bulk(name);
            out.bulk(b"consumers");
            out.int(g.consumers.len() as i64);
            out.bulk(b"pending");
            out.int(g.pel.len() as i64);
            out.bulk(b"last-delivered-id");
            reply_id(out, g.last_id);
            out.bulk(b"entries-read");
            if g.entries_read != INVALID_ENTRIES_READ {
                out.int(g.entries_read);
            } else {
                out.null();
            }
            out.bulk(b"lag");
            match s.group_lag(g) {
                Some(l) => out.int(l as i64),
                None => out.null(),
            }
        }
        return Ok(());
    }
    // STREAM <key> [FULL [COUNT <count>]]
    let mut full = false;
    let mut count: i64 = 10;
    if args.len() > 3 {
        let syntax = || {
            Error::err(format!(
                "unknown subcommand or wrong number of arguments for '{}'. Try XINFO HELP.",
                String::from_utf8_lossy(&sub[..sub.len().min(128)])
            ))
        };
        if !eq_ic(&args[3], "full") {
            return Err(syntax());
        }
        full = true;
        if args.len() > 4 {
            if args.len() != 6 || !eq_ic(&args[4], "count") {
                return Err(syntax());
            }
            count = parse_ll(&args[5])?;
            if count < 0 {
                count = 10;
            }
        }
    }
    out.map(if full { 9 } else { 10 });
    out.bulk(b"length");
    out.int(s.len() as i64);
    out.bulk(b"radix-tree-keys");
    out.int(s.node_count() as i64);
    out.bulk(b"radix-tree-nodes");
    out.int(rax_nodes(s));
    out.bulk(b"last-generated-id");
    reply_id(out, s.last_id);
    out.bulk(b"max-deleted-entry-id");
    reply_id(out, s.max_deleted_id);
    out.bulk(b"entries-added");
    out.int(s.entries_added as i64);
    out.bulk(b"recorded-first-entry-id");
    reply_id(out, s.first_id);
    if !full {
        out.bulk(b"groups");
        out.int(s.groups.len() as i64);
        for (label, rev) in [("first-entry", false), ("last-entry", true)] {
            out.bulk(label.as_bytes());
            let mut any = false;
            s.range(StreamId::MIN, StreamId::MAX, rev, |id, pairs| {
                reply_entry(out, id, pairs);
                any = true;
                false
            });
            if !any {
                out.null();
            }
        }
        return Ok(());
    }
    let lim = if count == 0 {
        usize::MAX
    } else {
        count as usize
    };
    out.bulk(b"entries");
    reply_range(
        out,
        s,
        StreamId::MIN,
        StreamId::MAX,
        false,
        if count == 0 { 0 } else { count as usize },
    );
    out.bulk(b"groups");
    out.array(s.groups.len());
    for (name, g) in &s.groups {
        out.map(7);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"last-delivered-id");
        reply_id(out, g.last_id);
        out.bulk(b"entries-read");
        if g.entries_read != INVALID_ENTRIES_READ {
            out.int(g.entries_read);
        } else {
            out.null();
        }
        out.bulk(b"lag");
        match s.group_lag(g) {
            Some(l) => out.int(l as i64),
            None => out.null(),
        }
        out.bulk(b"pel-count");
        out.int(g.pel.len() as i64);
        out.bulk(b"pending");
        let pel: Vec<_> = g.pel.iter().take(lim).collect();
        out.array(pel.len());
        for (id, n) in pel {
            out.array(4);
            reply_id(out, *id);
            out.bulk(&n.consumer);
            out.int(n.delivery_time as i64);
            out.int(n.delivery_count as i64);
        }
        out.bulk(b"consumers");
        out.array(g.consumers.len());
        for (cname, c) in &g.consumers {
            out.map(4);
            out.bulk(b"name");
            out.bulk(cname);
            out.bulk(b"seen-time");
            out.int(c.seen_time as i64);
            out.bulk(b"pel-count");
            out.int(c.pel.len() as i64);
            out.bulk(b"pending");
            let pel: Vec<_> = c.pel.iter().take(lim).collect();
            out.array(pel.len());
            for id in pel {
                let n = &g.pel[id];
                out.array(3);
                reply_id(out, *id);
                out.int(n.delivery_time as i64);
                out.int(n.delivery_count as i64);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_parsing_follows_redis() {
        let p =
            |s: &str| parse_id_generic(s.as_bytes(), 0, true, true).map(|r| (r.0.to_string(), r.1));
        assert_eq!(p("5-3"), Ok(("5-3".into(), true)));
        assert_eq!(p("5"), Ok(("5-0".into(), true)));
        assert_eq!(p("5-*"), Ok(("5-0".into(), false)));
        assert_eq!(p("05-+3"), Ok(("5-3".into(), true)));
        assert!(p("-").is_err());
        assert!(p("-5").is_err());
        assert!(p("5-x").is_err());
        assert!(p("18446744073709551616").is_err());
        assert_eq!(
            parse_id(b"+", 0).unwrap(),
            StreamId::MAX,
            "non-strict accepts + and -"
        );
        assert_eq!(
            xread_key_positions(&[
                Bytes::from("XREAD"),
                Bytes::from("COUNT"),
                Bytes::from("2"),
                Bytes::from("STREAMS"),
                Bytes::from("a"),
                Bytes::from("b"),
                Bytes::from("0"),
                Bytes::from("0"),
            ]),
            vec![4, 5]
        );
    }
}
