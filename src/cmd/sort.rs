//! SORT and SORT_RO (Redis 7.0 `sort.c`) on lists, sets and sorted sets:
//! BY pattern (a pattern without `*`, e.g. `nosort`, skips sorting), LIMIT,
//! GET `#` / `key*` / `hash*->field` patterns, ASC/DESC, ALPHA, STORE.
//!
//! Replication as Redis: SORT ... STORE propagates verbatim (it is made
//! deterministic: a set sorted with BY nosort and STORE is sorted ALPHA
//! first, as Redis does); SORT_RO never writes. In cluster mode BY with a
//! pattern and GET are refused, as Redis 7.0 refuses them. ALPHA compares
//! bytes (Redis's strcoll in the C locale).

use super::{flags::*, Command, Ctx, KEY1};
use crate::error::{CmdResult, Error};
use crate::store::list::List;
use crate::store::{Db, Value};
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;
use std::cmp::Ordering;

pub static COMMANDS: &[Command] = &[
    Command {
        name: "sort",
        acl: &["set", "sortedset", "list", "dangerous"],
        arity: -2,
        flags: WRITE | DENYOOM,
        keys: KEY1,
        group: "generic",
        since: "1.0.0",
        args: "key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC|DESC] [ALPHA] [STORE destination]",
        summary: "Sort the elements in a list, set or sorted set",
        handler: sort,
        movable_keys: Some(store_key),
        ..Command::DEFAULT
    },
    Command {
        name: "sort_ro",
        acl: &["set", "sortedset", "list", "dangerous"],
        arity: -2,
        flags: READONLY,
        keys: KEY1,
        group: "generic",
        since: "7.0.0",
        args: "key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC|DESC] [ALPHA]",
        summary: "Sort the elements in a list, set or sorted set. Read-only variant of SORT.",
        handler: sort_ro,
        ..Command::DEFAULT
    },
];

/// SORT's STORE key (sortGetKeys): the last STORE, skipping LIMIT/GET/BY arguments.
fn store_key(args: &[Bytes]) -> Vec<usize> {
    let mut found = None;
    let mut i = 2;
    while i < args.len() {
        let a = &args[i][..];
        if eq_ic(a, "limit") {
            i += 2;
        } else if eq_ic(a, "get") || eq_ic(a, "by") {
            i += 1;
        } else if eq_ic(a, "store") && i + 1 < args.len() {
            found = Some(i + 1);
        }
        i += 1;
    }
    found.into_iter().collect()
}

fn sort(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    generic(ctx, args, false)
}

fn sort_ro(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    generic(ctx, args, true)
}

/// lookupKeyByPattern: `#` is the element itself; `*` is replaced by the
/// element; `->field` after the `*` reads a hash field. Missing keys,
/// wrong types and patterns without `*` give None.
fn by_pattern(db: &mut Db, pat: &[u8], elem: &[u8]) -> Option<Vec<u8>> {
    if pat == b"#" {
        return Some(elem.to_vec());
    }
    let star = pat.iter().position(|&c| c == b'*')?;
    let after = &pat[star + 1..];
    let (post, field) = match after.windows(2).position(|w| w == b"->") {
        Some(f) if f + 2 < after.len() => (&after[..f], Some(&after[f + 2..])),
        _ => (after, None),
    };
    let mut key = Vec::with_capacity(pat.len() + elem.len());
    key.extend_from_slice(&pat[..star]);
    key.extend_from_slice(elem);
    key.extend_from_slice(post);
    match (db.get(&key)?, field) {
        (Value::Str(s), None) => Some(s.as_bytes().to_vec()),
        (Value::Hash(h), Some(f)) => h.get(f).map(|v| v.to_vec()),
        _ => None,
    }
}

/// strtod as SORT uses it: the whole string must be a number (leading
/// spaces allowed, empty = 0), no overflow/underflow, not NaN.
fn strtod(b: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(b).ok()?;
    let t = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    if s.is_empty() {
        return Some(0.0);
    }
    // glibc's strtod also reads hexadecimal integers ("0x10" = 16).
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        let v = u64::from_str_radix(hex, 16).ok()? as f64;
        return Some(if neg { -v } else { v });
    }
    let v: f64 = t.parse().ok()?;
    if v.is_nan() {
        return None;
    }
    let lower = t.to_ascii_lowercase();
    if v.is_infinite() && !lower.contains("inf") {
        return None;
    }
    if v != 0.0 && v.abs() < f64::MIN_POSITIVE {
        return None;
    }
    if v == 0.0 {
        let mant = lower.split('e').next().unwrap_or("");
        if mant.bytes().any(|c| (b'1'..=b'9').contains(&c)) {
            return None;
        }
    }
    Some(v)
}

struct Item {
    obj: Vec<u8>,
    score: f64,
    cmp: Option<Vec<u8>>,
}

fn generic(ctx: &mut Ctx, args: &[Bytes], readonly: bool) -> CmdResult {
    let cluster = ctx.srv.cluster.get().is_some();
    let (mut desc, mut alpha) = (false, false);
    let (mut limit_start, mut limit_count) = (0i64, -1i64);
    let mut dontsort = false;
    let mut sortby: Option<&[u8]> = None;
    let mut storekey: Option<&Bytes> = None;
    let mut gets: Vec<&[u8]> = Vec::new();
    let mut j = 2;
    while j < args.len() {
        let left = args.len() - j - 1;
        let a = &args[j][..];
        if eq_ic(a, "asc") {
            desc = false;
        } else if eq_ic(a, "desc") {
            desc = true;
        } else if eq_ic(a, "alpha") {
            alpha = true;
        } else if eq_ic(a, "limit") && left >= 2 {
            limit_start = parse_i64(&args[j + 1]).ok_or(Error::NotInteger)?;
            limit_count = parse_i64(&args[j + 2]).ok_or(Error::NotInteger)?;
            j += 2;
        } else if !readonly && eq_ic(a, "store") && left >= 1 {
            storekey = Some(&args[j + 1]);
            j += 1;
        } else if eq_ic(a, "by") && left >= 1 {
            let p = &args[j + 1][..];
            sortby = Some(p);
            if !p.contains(&b'*') {
                dontsort = true;
            } else if cluster {
                return Err(Error::err("BY option of SORT denied in Cluster mode."));
            }
            j += 1;
        } else if eq_ic(a, "get") && left >= 1 {
            if cluster {
                return Err(Error::err("GET option of SORT denied in Cluster mode."));
            }
            gets.push(&args[j + 1]);
            j += 1;
        } else {
            return Err(Error::Syntax);
        }
        j += 1;
    }
    let in_script = ctx.store.in_exec_or_script();
    let db = &mut ctx.store.dbs[ctx.client.db];
    enum Src {
        List,
        Set,
        ZSet,
    }
    let kind = match db.get(&args[1]) {
        None | Some(Value::List(_)) => Src::List,
        Some(Value::Set(_)) => Src::Set,
        Some(Value::ZSet(_)) => Src::ZSet,
        Some(_) => return Err(Error::WrongType),
    };
    if dontsort && matches!(kind, Src::Set) && (storekey.is_some() || in_script) {
        dontsort = false;
        alpha = true;
        sortby = None;
    }
    // The elements, in the source's own order (reversed for DESC when not sorting).
    let mut elems: Vec<Vec<u8>> = match db.get(&args[1]) {
        None => Vec::new(),
        Some(Value::List(l)) => l.iter().map(|e| e.to_vec()).collect(),
        Some(Value::Set(s)) => s.iter().map(|m| m.to_vec()).collect(),
        Some(Value::ZSet(z)) => {
            let mut v = Vec::with_capacity(z.len());
            z.for_each(|m, _| v.push(m.to_vec()));
            v
        }
        Some(_) => unreachable!("type checked"),
    };
    let len = elems.len() as i64;
    let mut start = limit_start.max(0);
    let mut end = if limit_count < 0 {
        len - 1
    } else {
        start + limit_count - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    if end >= len {
        end = len - 1;
    }
    if dontsort && !matches!(kind, Src::Set) && desc {
        elems.reverse();
    }
    let mut items: Vec<Item> = elems
        .into_iter()
        .map(|obj| Item {
            obj,
            score: 0.0,
            cmp: None,
        })
        .collect();
    let mut conv_error = false;
    if !dontsort {
        for it in items.iter_mut() {
            let byval = match sortby {
                Some(p) => match by_pattern(db, p, &it.obj) {
                    Some(v) => v,
                    None => continue,
                },
                None => {
                    if alpha {
                        continue;
                    }
                    it.obj.clone()
                }
            };
            if alpha {
                it.cmp = Some(byval);
            } else {
                match strtod(&byval) {
                    Some(v) => it.score = v,
                    None => conv_error = true,
                }
            }
        }
        let by = sortby.is_some();
        let cmp = |a: &Item, b: &Item| {
            let c = if !alpha {
                a.score
                    .partial_cmp(&b.score)
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| a.obj.cmp(&b.obj))
            } else if by {
                match (&a.cmp, &b.cmp) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Less,
                    (Some(_), None) => Ordering::Greater,
                    (Some(x), Some(y)) => x.cmp(y),
                }
            } else {
                a.obj.cmp(&b.obj)
            };
            if desc {
                c.reverse()
            } else {
                c
            }
        };
        // As Redis: its pqsort when BY and LIMIT select a range, else qsort
        // (glibc's is a stable merge sort).
        let len = items.len() as i64;
        if by && (start != 0 || end != len - 1) && end >= start {
            super::pqsort::pqsort(&mut items, start as usize, end as usize, &cmp);
        } else {
            items.sort_by(cmp);
        }
    }
    let n = (end - start + 1).max(0) as usize;
    let outputlen = if gets.is_empty() { n } else { gets.len() * n };
    if conv_error {
        return Err(Error::err(
            "One or more scores can't be converted into double",
        ));
    }
    let range = if n == 0 {
        &items[0..0]
    } else {
        &items[start as usize..=end as usize]
    };
    match storekey {
        None => {
            ctx.out.array(outputlen);
            for it in range {
                if gets.is_empty() {
                    ctx.out.bulk(&it.obj);
                }
                for g in &gets {
                    match by_pattern(db, g, &it.obj) {
                        Some(v) => ctx.out.bulk(&v),
                        None => ctx.out.null(),
                    }
                }
            }
        }
        Some(dst) => {
            let mut list = List::new(ctx.store.limits.list_max_listpack_size);
            for it in range {
                if gets.is_empty() {
                    list.push_back(&it.obj);
                }
                for g in &gets {
                    let v = by_pattern(db, g, &it.obj).unwrap_or_default();
                    list.push_back(&v);
                }
            }
            if outputlen > 0 {
                db.set(dst, Value::List(Box::new(list)), false);
                ctx.dirty(outputlen as u64);
            } else if db.remove(dst).is_some() {
                db.touch(dst);
                ctx.dirty(1);
            }
            ctx.out.int(outputlen as i64);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtod_rules() {
        assert_eq!(strtod(b""), Some(0.0));
        assert_eq!(strtod(b" 1.5"), Some(1.5));
        assert_eq!(strtod(b"1.5 "), None);
        assert_eq!(strtod(b"abc"), None);
        assert_eq!(strtod(b"1e400"), None);
        assert_eq!(strtod(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(strtod(b"nan"), None);
    }

    #[test]
    fn store_key_positions() {
        let a: Vec<Bytes> = ["sort", "k", "by", "store", "limit", "0", "1", "store", "d"]
            .iter()
            .map(|s| Bytes::from(s.to_string()))
            .collect();
        assert_eq!(store_key(&a), vec![8]);
    }
}
