//! HyperLogLog commands (Redis 7.0 `hyperloglog.c`): PFADD, PFCOUNT,
//! PFMERGE, PFDEBUG, PFSELFTEST. HLLs are plain strings in Redis's byte
//! format (`store::hll`), so RDB, replication and DUMP carry them as they are.
//!
//! Propagation as Redis: PFADD, PFMERGE and PFDEBUG's conversions go
//! verbatim; a single-key PFCOUNT that refreshes the cached cardinality
//! changes the string, so it is propagated verbatim too (a real 7.0 master
//! sends PFCOUNT to its replicas in that case).

use super::{flags::*, Command, Ctx, Keys, KEY1};
use crate::error::{CmdResult, Error};
use crate::store::hll::{self, Corrupt};
use crate::store::{Db, SmallBytes, Value};
use crate::util::eq_ic;
use bytes::Bytes;

pub static COMMANDS: &[Command] = &[
    Command {
        name: "pfadd",
        arity: -2,
        flags: WRITE | DENYOOM | FAST,
        keys: KEY1,
        group: "hyperloglog",
        since: "2.8.9",
        args: "key [element [element ...]]",
        summary: "Adds the specified elements to the specified HyperLogLog.",
        handler: pfadd,
        ..Command::DEFAULT
    },
    Command {
        name: "pfcount",
        arity: -2,
        flags: READONLY,
        keys: Keys { first: 1, last: -1, step: 1 },
        group: "hyperloglog",
        since: "2.8.9",
        args: "key [key ...]",
        summary: "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).",
        handler: pfcount,
        ..Command::DEFAULT
    },
    Command {
        name: "pfmerge",
        arity: -2,
        flags: WRITE | DENYOOM,
        keys: Keys { first: 1, last: -1, step: 1 },
        group: "hyperloglog",
        since: "2.8.9",
        args: "destkey [sourcekey [sourcekey ...]]",
        summary: "Merge N different HyperLogLogs into a single one.",
        handler: pfmerge,
        ..Command::DEFAULT
    },
    Command {
        name: "pfdebug",
        arity: 3,
        flags: WRITE | DENYOOM | ADMIN,
        keys: Keys { first: 2, last: 2, step: 1 },
        group: "hyperloglog",
        since: "2.8.9",
        args: "subcommand key",
        summary: "Internal commands for debugging HyperLogLog values",
        handler: pfdebug,
        ..Command::DEFAULT
    },
    Command {
        name: "pfselftest",
        arity: 1,
        flags: ADMIN,
        group: "hyperloglog",
        since: "2.8.9",
        summary: "An internal command for testing HyperLogLog values",
        handler: pfselftest,
        ..Command::DEFAULT
    },
];

fn invalid_obj() -> Error {
    Error::msg("INVALIDOBJ Corrupted HLL object detected")
}

fn not_hll() -> Error {
    Error::msg("WRONGTYPE Key is not a valid HyperLogLog string value.")
}

impl From<Corrupt> for Error {
    fn from(_: Corrupt) -> Self {
        invalid_obj()
    }
}

/// The HLL at `key` for reading: None when missing; WRONGTYPE for other
/// types or strings that are not HLLs (isHLLObjectOrReply).
fn hll_ref<'a>(db: &'a mut Db, key: &[u8]) -> Result<Option<&'a [u8]>, Error> {
    match db.get(key) {
        None => Ok(None),
        Some(Value::Str(s)) if hll::is_hll(s.as_bytes()) => Ok(Some(s.as_bytes())),
        Some(Value::Str(_)) => Err(not_hll()),
        Some(_) => Err(Error::WrongType),
    }
}

/// Slab position of an existing HLL for writing (type checked).
fn hll_idx(db: &mut Db, key: &[u8]) -> Result<Option<u32>, Error> {
    let Some(idx) = db.lookup(key) else {
        return Ok(None);
    };
    match &db.entry(idx).value {
        Value::Str(s) if hll::is_hll(s.as_bytes()) => Ok(Some(idx)),
        Value::Str(_) => Err(not_hll()),
        _ => Err(Error::WrongType),
    }
}

/// Edit the HLL string at `idx` as a vector (no copy for heap strings).
fn edit<R>(db: &mut Db, idx: u32, f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    let Value::Str(s) = &mut db.entry_mut(idx).value else {
        unreachable!("type checked")
    };
    let mut v = match std::mem::replace(s, SmallBytes::new(b"")) {
        SmallBytes::Heap(b) => b.into_vec(),
        inline => inline.as_bytes().to_vec(),
    };
    let r = f(&mut v);
    *s = SmallBytes::from(v);
    r
}

fn pfadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let max_bytes = ctx.store.limits.hll_sparse_max_bytes;
    let db = &mut ctx.store.dbs[ctx.client.db];
    let key = &args[1];
    let (idx, created) = match hll_idx(db, key)? {
        Some(idx) => (idx, false),
        None => (
            db.set(key, Value::Str(SmallBytes::from(hll::new_sparse())), false),
            true,
        ),
    };
    let mut updated = created as u64;
    let res = edit(db, idx, |v| {
        for e in &args[2..] {
            if hll::add(v, e, max_bytes)? {
                updated += 1;
            }
        }
        if updated > 0 {
            hll::invalidate_cache(v);
        }
        Ok::<(), Corrupt>(())
    });
    if updated > 0 {
        db.touch(key);
        ctx.dirty(updated);
    }
    res?;
    ctx.out.int((updated > 0) as i64);
    Ok(())
}

fn pfcount(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    if args.len() > 2 {
        let mut max = Box::new([0u8; hll::REGISTERS]);
        for k in &args[1..] {
            if let Some(s) = hll_ref(db, k)? {
                hll::merge_into(&mut max, s)?;
            }
        }
        ctx.out.int(hll::count_raw(&max) as i64);
        return Ok(());
    }
    let key = &args[1];
    let Some(s) = hll_ref(db, key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    if let Some(card) = hll::cached(s) {
        ctx.out.int(card as i64);
        return Ok(());
    }
    let card = hll::count(s)?;
    let idx = db.find(key).expect("just read");
    edit(db, idx, |v| hll::set_cache(v, card));
    db.touch(key);
    ctx.dirty(1);
    if ctx.store.repl.has_sinks() && !ctx.srv.repl.is_replica() {
        ctx.propagate(args.to_vec());
    }
    ctx.out.int(card as i64);
    Ok(())
}

fn pfmerge(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let max_bytes = ctx.store.limits.hll_sparse_max_bytes;
    let db = &mut ctx.store.dbs[ctx.client.db];
    let mut max = Box::new([0u8; hll::REGISTERS]);
    let mut use_dense = false;
    for k in &args[1..] {
        if let Some(s) = hll_ref(db, k)? {
            use_dense |= s[4] == hll::DENSE;
            hll::merge_into(&mut max, s)?;
        }
    }
    let key = &args[1];
    let idx = match hll_idx(db, key)? {
        Some(idx) => idx,
        None => db.set(key, Value::Str(SmallBytes::from(hll::new_sparse())), false),
    };
    let res = edit(db, idx, |v| {
        if use_dense {
            hll::to_dense(v)?;
        }
        for (j, &m) in max.iter().enumerate() {
            if m != 0 {
                hll::set_register(v, j, m, max_bytes)?;
            }
        }
        hll::invalidate_cache(v);
        Ok::<(), Corrupt>(())
    });
    db.touch(key);
    res?;
    ctx.dirty(1);
    ctx.out.ok();
    Ok(())
}

fn pfdebug(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = &args[1];
    let key = &args[2];
    let db = &mut ctx.store.dbs[ctx.client.db];
    if db.lookup(key).is_none() {
        return Err(Error::err("The specified key does not exist"));
    }
    let idx = hll_idx(db, key)?.expect("exists");
    let sparse = match &db.entry(idx).value {
        Value::Str(s) => s.as_bytes()[4] == hll::SPARSE,
        _ => unreachable!("type checked"),
    };
    let mut converted = false;
    if eq_ic(sub, "getreg") {
        if sparse {
            edit(db, idx, hll::to_dense)?;
            converted = true;
        }
        let Value::Str(s) = &db.entry(idx).value else {
            unreachable!("type checked")
        };
        let regs = &s.as_bytes()[hll::HDR..];
        ctx.out.array(hll::REGISTERS);
        for i in 0..hll::REGISTERS {
            ctx.out.int(hll::dense_get(regs, i) as i64);
        }
    } else if eq_ic(sub, "decode") {
        if !sparse {
            return Err(Error::err("HLL encoding is not sparse"));
        }
        let Value::Str(s) = &db.entry(idx).value else {
            unreachable!("type checked")
        };
        let text = hll::decode_sparse(s.as_bytes());
        ctx.out.bulk(text.as_bytes());
    } else if eq_ic(sub, "encoding") {
        ctx.out.simple(if sparse { "sparse" } else { "dense" });
    } else if eq_ic(sub, "todense") {
        if sparse {
            edit(db, idx, hll::to_dense)?;
            converted = true;
        }
        ctx.out.int(sparse as i64);
    } else {
        return Err(Error::err(format!(
            "Unknown PFDEBUG subcommand '{}'",
            String::from_utf8_lossy(sub)
        )));
    }
    if converted {
        db.touch(key);
        ctx.dirty(1);
    }
    Ok(())
}

/// PFSELFTEST: the register codec round trip, and sparse and dense HLLs
/// fed the same elements giving the same registers and estimates within
/// the expected error, as Redis's self test checks.
fn pfselftest(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    let mut regs = vec![0u8; hll::DENSE_SIZE - hll::HDR];
    let mut seed = 0x1234_5678u64;
    let mut vals = vec![0u8; hll::REGISTERS];
    for (i, v) in vals.iter_mut().enumerate() {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        *v = ((seed >> 33) as u8) & hll::REGISTER_MAX;
        hll::dense_set(&mut regs, i, *v);
    }
    for (i, &v) in vals.iter().enumerate() {
        if hll::dense_get(&regs, i) != v {
            return Err(Error::err("TESTFAILED Register error"));
        }
    }
    let mut sparse = hll::new_sparse();
    let mut dense = hll::new_sparse();
    hll::to_dense(&mut dense)?;
    let relerr = 1.04 / (hll::REGISTERS as f64).sqrt();
    for j in 1..=20_000u64 {
        let e = (j.wrapping_mul(0x9e37_79b9_7f4a_7c15)).to_le_bytes();
        hll::add(&mut sparse, &e, usize::MAX)?;
        hll::add(&mut dense, &e, usize::MAX)?;
        if j % 1000 == 0 {
            let (a, b) = (hll::count(&sparse)?, hll::count(&dense)?);
            if a != b {
                return Err(Error::err("TESTFAILED sparse and dense disagree"));
            }
            let err = (b as f64 - j as f64).abs() / j as f64;
            if err > relerr * 5.0 {
                return Err(Error::err(format!(
                    "TESTFAILED Too big error. card:{} abserr:{}",
                    j,
                    (b as f64 - j as f64).abs()
                )));
            }
        }
    }
    ctx.out.ok();
    Ok(())
}
