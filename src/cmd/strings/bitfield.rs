//! BITFIELD and BITFIELD_RO (Redis 7.0 `bitops.c` bitfieldGeneric): signed
//! and unsigned fields of 1..64 (i) / 1..63 (u) bits at bit or `#`-scaled
//! offsets, GET/SET/INCRBY with OVERFLOW WRAP/SAT/FAIL. All operations are
//! parsed first; the string grows once to the highest written bit. As in
//! 7.0, only a written field that changed a value (or a grown / created
//! string) counts as a change; any change propagates the command verbatim
//! (so, like Redis, a key created by writes that all FAILed is not propagated).

use super::super::{flags::*, Command, Ctx, KEY1};
use crate::error::{CmdResult, Error};
use crate::store::{SmallBytes, Value};
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;

pub static COMMANDS: &[Command] = &[
    Command {
        name: "bitfield",
        arity: -2,
        flags: WRITE | DENYOOM,
        keys: KEY1,
        group: "bitmap",
        since: "3.2.0",
        args: "key [GET encoding offset|[OVERFLOW WRAP|SAT|FAIL] SET encoding offset value|INCRBY encoding offset increment ...]",
        summary: "Perform arbitrary bitfield integer operations on strings",
        handler: bitfield,
        ..Command::DEFAULT
    },
    Command {
        name: "bitfield_ro",
        arity: -2,
        flags: READONLY | FAST,
        keys: KEY1,
        group: "bitmap",
        since: "6.0.0",
        args: "key [GET encoding offset [GET encoding offset ...]]",
        summary: "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD",
        handler: bitfield_ro,
        ..Command::DEFAULT
    },
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Get,
    Set,
    Incr,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ow {
    Wrap,
    Sat,
    Fail,
}

struct FieldOp {
    op: Op,
    offset: u64,
    value: i64,
    ow: Ow,
    bits: u32,
    signed: bool,
}

const TYPE_ERR: &str =
    "Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

fn parse_type(a: &[u8]) -> Result<(bool, u32), Error> {
    let err = || Error::err(TYPE_ERR);
    let signed = match a.first() {
        Some(b'i' | b'I') => true,
        Some(b'u' | b'U') => false,
        _ => return Err(err()),
    };
    let bits = parse_i64(&a[1..]).ok_or_else(err)?;
    if bits < 1 || (signed && bits > 64) || (!signed && bits > 63) {
        return Err(err());
    }
    Ok((signed, bits as u32))
}

fn parse_offset(a: &[u8], bits: u32, max_bulk: u64) -> Result<u64, Error> {
    let err = || Error::err("bit offset is not an integer or out of range");
    let hash = a.first() == Some(&b'#');
    let mut off = parse_i64(&a[hash as usize..]).ok_or_else(err)?;
    if hash {
        off = off.wrapping_mul(bits as i64);
    }
    if off < 0 || (off as u64 >> 3) >= max_bulk {
        return Err(err());
    }
    Ok(off as u64)
}

fn get_unsigned(p: &[u8], mut offset: u64, bits: u32) -> u64 {
    let mut v = 0u64;
    for _ in 0..bits {
        let byte = (offset >> 3) as usize;
        let bit = 7 - (offset & 7);
        let b = p.get(byte).map_or(0, |&x| (x >> bit) & 1) as u64;
        v = (v << 1) | b;
        offset += 1;
    }
    v
}

fn get_signed(p: &[u8], offset: u64, bits: u32) -> i64 {
    let mut v = get_unsigned(p, offset, bits) as i64;
    if bits < 64 && v & (1i64 << (bits - 1)) != 0 {
        v |= -1i64 << bits;
    }
    v
}

fn set_unsigned(p: &mut [u8], mut offset: u64, bits: u32, value: u64) {
    for j in 0..bits {
        let on = (value >> (bits - 1 - j)) & 1 != 0;
        let byte = (offset >> 3) as usize;
        let mask = 1u8 << (7 - (offset & 7));
        if on {
            p[byte] |= mask;
        } else {
            p[byte] &= !mask;
        }
        offset += 1;
    }
}

/// checkUnsignedBitfieldOverflow: (overflowed, the wrapped/saturated value).
fn check_unsigned(value: u64, incr: i64, bits: u32, ow: Ow) -> (bool, u64) {
    let max: u64 = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = value.wrapping_neg() as i64;
    let wrap = || (value.wrapping_add(incr as u64)) & !(u64::MAX << bits);
    if value > max || (incr > 0 && incr > maxincr) {
        return (
            true,
            match ow {
                Ow::Wrap => wrap(),
                _ => max,
            },
        );
    }
    if incr < 0 && incr < minincr {
        return (
            true,
            match ow {
                Ow::Wrap => wrap(),
                _ => 0,
            },
        );
    }
    (false, 0)
}

/// checkSignedBitfieldOverflow.
fn check_signed(value: i64, incr: i64, bits: u32, ow: Ow) -> (bool, i64) {
    let max: i64 = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrap = || {
        let msb = 1u64 << (bits - 1);
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & msb != 0 {
                c |= mask;
            } else {
                c &= !mask;
            }
        }
        c as i64
    };
    if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        return (
            true,
            match ow {
                Ow::Wrap => wrap(),
                _ => max,
            },
        );
    }
    if value < min || (bits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr) {
        return (
            true,
            match ow {
                Ow::Wrap => wrap(),
                _ => min,
            },
        );
    }
    (false, 0)
}

fn bitfield(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    generic(ctx, args, false)
}

fn bitfield_ro(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    generic(ctx, args, true)
}

fn generic(ctx: &mut Ctx, args: &[Bytes], ro_cmd: bool) -> CmdResult {
    let max_bulk = ctx.client.cfg.proto_max_bulk_len as u64;
    let mut ops = Vec::new();
    let mut ow = Ow::Wrap;
    let mut readonly = true;
    let mut highest = 0u64;
    let mut j = 2;
    while j < args.len() {
        let rem = args.len() - j - 1;
        let sub = &args[j][..];
        let op = if eq_ic(sub, "get") && rem >= 2 {
            Op::Get
        } else if eq_ic(sub, "set") && rem >= 3 {
            Op::Set
        } else if eq_ic(sub, "incrby") && rem >= 3 {
            Op::Incr
        } else if eq_ic(sub, "overflow") && rem >= 1 {
            let t = &args[j + 1][..];
            ow = if eq_ic(t, "wrap") {
                Ow::Wrap
            } else if eq_ic(t, "sat") {
                Ow::Sat
            } else if eq_ic(t, "fail") {
                Ow::Fail
            } else {
                return Err(Error::err("Invalid OVERFLOW type specified"));
            };
            j += 2;
            continue;
        } else {
            return Err(Error::Syntax);
        };
        let (signed, bits) = parse_type(&args[j + 1])?;
        let offset = parse_offset(&args[j + 2], bits, max_bulk)?;
        let mut value = 0;
        if op != Op::Get {
            readonly = false;
            highest = highest.max(offset + bits as u64 - 1);
            value = parse_i64(&args[j + 3]).ok_or(Error::NotInteger)?;
        }
        ops.push(FieldOp {
            op,
            offset,
            value,
            ow,
            bits,
            signed,
        });
        j += if op == Op::Get { 3 } else { 4 };
    }
    let key = &args[1];
    let db = &mut ctx.store.dbs[ctx.client.db];
    if readonly {
        let s: &[u8] = match db.get(key) {
            None => &[],
            Some(Value::Str(s)) => s.as_bytes(),
            Some(_) => return Err(Error::WrongType),
        };
        ctx.out.array(ops.len());
        for o in &ops {
            if o.signed {
                ctx.out.int(get_signed(s, o.offset, o.bits));
            } else {
                ctx.out.int(get_unsigned(s, o.offset, o.bits) as i64);
            }
        }
        return Ok(());
    }
    if ro_cmd {
        return Err(Error::err("BITFIELD_RO only supports the GET subcommand"));
    }
    // lookupStringForBitCommand: create or zero-extend up to the highest bit.
    let need = (highest >> 3) as usize + 1;
    let (idx, mut grown) = match db.lookup(key) {
        None => (
            db.set(key, Value::Str(SmallBytes::from(vec![0u8; need])), false),
            true,
        ),
        Some(idx) => {
            if !matches!(db.entry(idx).value, Value::Str(_)) {
                return Err(Error::WrongType);
            }
            (idx, false)
        }
    };
    let Value::Str(sv) = &mut db.entry_mut(idx).value else {
        unreachable!("type checked")
    };
    let mut v = match std::mem::replace(sv, SmallBytes::new(b"")) {
        SmallBytes::Heap(b) => b.into_vec(),
        inline => inline.as_bytes().to_vec(),
    };
    if v.len() < need {
        v.resize(need, 0);
        grown = true;
    }
    ctx.out.array(ops.len());
    let mut changes = 0u64;
    for o in &ops {
        if o.op == Op::Get {
            if o.signed {
                ctx.out.int(get_signed(&v, o.offset, o.bits));
            } else {
                ctx.out.int(get_unsigned(&v, o.offset, o.bits) as i64);
            }
            continue;
        }
        if o.signed {
            let old = get_signed(&v, o.offset, o.bits);
            let (overflow, newval, ret) = if o.op == Op::Incr {
                let (of, w) = check_signed(old, o.value, o.bits, o.ow);
                let n = if of { w } else { old.wrapping_add(o.value) };
                (of, n, n)
            } else {
                let (of, w) = check_signed(o.value, 0, o.bits, o.ow);
                (of, if of { w } else { o.value }, old)
            };
            if overflow && o.ow == Ow::Fail {
                ctx.out.null();
            } else {
                ctx.out.int(ret);
                set_unsigned(&mut v, o.offset, o.bits, newval as u64);
                if grown || old != newval {
                    changes += 1;
                }
            }
        } else {
            let old = get_unsigned(&v, o.offset, o.bits);
            let (overflow, newval, ret) = if o.op == Op::Incr {
                let (of, w) = check_unsigned(old, o.value, o.bits, o.ow);
                let n = if of {
                    w
                } else {
                    old.wrapping_add(o.value as u64)
                };
                (of, n, n)
            } else {
                let (of, w) = check_unsigned(o.value as u64, 0, o.bits, o.ow);
                (of, if of { w } else { o.value as u64 }, old)
            };
            if overflow && o.ow == Ow::Fail {
                ctx.out.null();
            } else {
                ctx.out.int(ret as i64);
                set_unsigned(&mut v, o.offset, o.bits, newval);
                if grown || old != newval {
                    changes += 1;
                }
            }
        }
    }
    *sv = SmallBytes::from(v);
    if changes > 0 {
        db.touch(key);
        ctx.dirty(changes);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_and_unsigned_fields() {
        let mut p = vec![0u8; 16];
        set_unsigned(&mut p, 5, 13, 0x1abc);
        assert_eq!(get_unsigned(&p, 5, 13), 0x1abc);
        set_unsigned(&mut p, 64, 8, 0xff);
        assert_eq!(get_signed(&p, 64, 8), -1);
        assert_eq!(get_signed(&p, 64, 4), -1);
        assert_eq!(get_unsigned(&p, 64, 4), 15);
    }

    #[test]
    fn overflow_rules() {
        assert_eq!(check_unsigned(250, 10, 8, Ow::Wrap), (true, 4));
        assert_eq!(check_unsigned(250, 10, 8, Ow::Sat), (true, 255));
        assert_eq!(check_unsigned(5, -10, 8, Ow::Sat), (true, 0));
        assert_eq!(check_signed(120, 10, 8, Ow::Wrap), (true, -126));
        assert_eq!(check_signed(120, 10, 8, Ow::Sat), (true, 127));
        assert_eq!(check_signed(-120, -10, 8, Ow::Sat), (true, -128));
        assert_eq!(check_signed(i64::MAX, 1, 64, Ow::Wrap), (true, i64::MIN));
        assert!(!check_signed(5, 5, 8, Ow::Wrap).0);
    }
}
