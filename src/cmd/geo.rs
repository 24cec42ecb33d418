//! Geo commands (Redis 7.0 `geo.c`). A geo set is a sorted set whose
//! scores are 52-bit geohashes (`store::geohash`). GEOADD runs as the ZADD
//! it rewrites to, and propagates that ZADD as Redis does; the searches scan
//! Redis's 9 neighbour boxes in its order, so results, their order and the
//! distance / coordinate texts are Redis's.

use super::{flags::*, zsets, Command, Ctx, Keys, KEY1};
use crate::error::{CmdResult, Error};
use crate::resp::Out;
use crate::store::geohash::{self, Search, Shape};
use crate::store::zset::ZSet;
use crate::store::{Db, Value};
use crate::util::{eq_ic, parse_f64, parse_i64};
use bytes::Bytes;

const SEARCH_ARGS: &str = "key FROMMEMBER member|FROMLONLAT longitude latitude BYRADIUS radius M|KM|FT|MI|BYBOX width height M|KM|FT|MI [ASC|DESC] [COUNT count [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]";

pub static COMMANDS: &[Command] = &[
    Command {
        name: "geoadd",
        arity: -5,
        flags: WRITE | DENYOOM,
        keys: KEY1,
        group: "geo",
        since: "3.2.0",
        args: "key [NX|XX] [CH] longitude latitude member [longitude latitude member ...]",
        summary: "Add one or more geospatial items in the geospatial index represented using a sorted set",
        handler: geoadd,
        ..Command::DEFAULT
    },
    Command {
        name: "geodist",
        arity: -4,
        flags: READONLY,
        keys: KEY1,
        group: "geo",
        since: "3.2.0",
        args: "key member1 member2 [M|KM|FT|MI]",
        summary: "Returns the distance between two members of a geospatial index",
        handler: geodist,
        ..Command::DEFAULT
    },
    Command {
        name: "geohash",
        arity: -2,
        flags: READONLY,
        keys: KEY1,
        group: "geo",
        since: "3.2.0",
        args: "key [member [member ...]]",
        summary: "Returns members of a geospatial index as standard geohash strings",
        handler: geohash_cmd,
        ..Command::DEFAULT
    },
    Command {
        name: "geopos",
        arity: -2,
        flags: READONLY,
        keys: KEY1,
        group: "geo",
        since: "3.2.0",
        args: "key [member [member ...]]",
        summary: "Returns longitude and latitude of members of a geospatial index",
        handler: geopos,
        ..Command::DEFAULT
    },
    Command {
        name: "georadius",
        arity: -6,
        flags: WRITE | DENYOOM,
        keys: KEY1,
        group: "geo",
        since: "3.2.0",
        args: "key longitude latitude radius M|KM|FT|MI [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC|DESC] [STORE key] [STOREDIST key]",
        summary: "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point",
        handler: georadius,
        movable_keys: Some(store_keys::<5>),
        ..Command::DEFAULT
    },
    Command {
        name: "georadius_ro",
        arity: -6,
        flags: READONLY,
        keys: KEY1,
        group: "geo",
        since: "3.2.10",
        args: "key longitude latitude radius M|KM|FT|MI [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC|DESC]",
        summary: "A read-only variant for GEORADIUS",
        handler: georadius_ro,
        ..Command::DEFAULT
    },
    Command {
        name: "georadiusbymember",
        arity: -5,
        flags: WRITE | DENYOOM,
        keys: KEY1,
        group: "geo",
        since: "3.2.0",
        args: "key member radius M|KM|FT|MI [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC|DESC] [STORE key] [STOREDIST key]",
        summary: "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member",
        handler: georadiusbymember,
        movable_keys: Some(store_keys::<4>),
        ..Command::DEFAULT
    },
    Command {
        name: "georadiusbymember_ro",
        arity: -5,
        flags: READONLY,
        keys: KEY1,
        group: "geo",
        since: "3.2.10",
        args: "key member radius M|KM|FT|MI [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC|DESC]",
        summary: "A read-only variant for GEORADIUSBYMEMBER",
        handler: georadiusbymember_ro,
        ..Command::DEFAULT
    },
    Command {
        name: "geosearch",
        arity: -7,
        flags: READONLY,
        keys: KEY1,
        group: "geo",
        since: "6.2.0",
        args: SEARCH_ARGS,
        summary: "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle.",
        handler: geosearch,
        ..Command::DEFAULT
    },
    Command {
        name: "geosearchstore",
        arity: -8,
        flags: WRITE | DENYOOM,
        keys: Keys { first: 1, last: 2, step: 1 },
        group: "geo",
        since: "6.2.0",
        args: "destination source FROMMEMBER member|FROMLONLAT longitude latitude BYRADIUS radius M|KM|FT|MI|BYBOX width height M|KM|FT|MI [ASC|DESC] [COUNT count [ANY]] [STOREDIST]",
        summary: "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key.",
        handler: geosearchstore,
        ..Command::DEFAULT
    },
];

/// GEORADIUS[BYMEMBER]'s STORE / STOREDIST keys, as 7.0's key specs find
/// them (every one given; the command itself uses the last).
fn store_keys<const FROM: usize>(args: &[Bytes]) -> Vec<usize> {
    let mut found = Vec::new();
    let mut i = FROM;
    while i < args.len() {
        if (eq_ic(&args[i], "store") || eq_ic(&args[i], "storedist")) && i + 1 < args.len() {
            found.push(i + 1);
            i += 1;
        }
        i += 1;
    }
    found
}

fn zset_ref<'a>(db: &'a mut Db, key: &[u8]) -> Result<Option<&'a ZSet>, Error> {
    match db.get(key) {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(z)),
        Some(_) => Err(Error::WrongType),
    }
}

fn float_arg(a: &[u8]) -> Result<f64, Error> {
    parse_f64(a).ok_or(Error::NotFloat)
}

/// extractLongLatOrReply.
fn lon_lat(a: &[u8], b: &[u8]) -> Result<(f64, f64), Error> {
    let (lon, lat) = (float_arg(a)?, float_arg(b)?);
    if !(geohash::LONG_MIN..=geohash::LONG_MAX).contains(&lon)
        || !(geohash::LAT_MIN..=geohash::LAT_MAX).contains(&lat)
    {
        return Err(Error::err(format!(
            "invalid longitude,latitude pair {:.6},{:.6}",
            lon, lat
        )));
    }
    Ok((lon, lat))
}

/// extractUnitOrReply: meters per unit.
fn unit(a: &[u8]) -> Result<f64, Error> {
    if eq_ic(a, "m") {
        Ok(1.0)
    } else if eq_ic(a, "km") {
        Ok(1000.0)
    } else if eq_ic(a, "ft") {
        Ok(0.3048)
    } else if eq_ic(a, "mi") {
        Ok(1609.34)
    } else {
        Err(Error::err(
            "unsupported unit provided. please use M, KM, FT, MI",
        ))
    }
}

fn distance_arg(r: &[u8], u: &[u8]) -> Result<(f64, f64), Error> {
    let d = parse_f64(r).ok_or_else(|| Error::err("need numeric radius"))?;
    if d < 0.0 {
        return Err(Error::err("radius cannot be negative"));
    }
    Ok((d, unit(u)?))
}

/// A coordinate as addReplyHumanLongDouble writes it (`%.17Lf`, trimmed).
fn coord(out: &mut Out, d: f64) {
    let mut s = format!("{:.17}", d);
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" {
        s = "0".into();
    }
    if out.resp3() {
        out.raw(b",");
        out.raw(s.as_bytes());
        out.raw(b"\r\n");
    } else {
        out.bulk(s.as_bytes());
    }
}

/// A distance as addReplyDoubleDistance writes it (`%.4f`, always a bulk string).
fn dist(out: &mut Out, d: f64) {
    out.bulk(format!("{:.4}", d).as_bytes());
}

fn geoadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (mut nx, mut xx) = (false, false);
    let mut i = 2;
    while i < args.len() {
        let a = &args[i][..];
        if eq_ic(a, "nx") {
            nx = true;
        } else if eq_ic(a, "xx") {
            xx = true;
        } else if !eq_ic(a, "ch") {
            break;
        }
        i += 1;
    }
    if (args.len() - i) % 3 != 0 || (nx && xx) {
        return Err(Error::Syntax);
    }
    let mut zargs: Vec<Bytes> = Vec::with_capacity(i + (args.len() - i) / 3 * 2);
    zargs.push(Bytes::from_static(b"zadd"));
    zargs.extend_from_slice(&args[1..i]);
    for t in args[i..].chunks(3) {
        let (lon, lat) = lon_lat(&t[0], &t[1])?;
        let mut b = itoa::Buffer::new();
        zargs.push(Bytes::copy_from_slice(
            b.format(geohash::score(lon, lat)).as_bytes(),
        ));
        zargs.push(t[2].clone());
    }
    let dirty = ctx.store.dirty;
    zsets::zadd(ctx, &zargs)?;
    if ctx.store.dirty != dirty && ctx.store.repl.has_sinks() {
        ctx.propagate(zargs);
    }
    Ok(())
}

fn geodist(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let to_meter = match args.len() {
        4 => 1.0,
        5 => unit(&args[4])?,
        _ => return Err(Error::Syntax),
    };
    let db = &mut ctx.store.dbs[ctx.client.db];
    let Some(z) = zset_ref(db, &args[1])? else {
        ctx.out.null();
        return Ok(());
    };
    match (z.score(&args[2]), z.score(&args[3])) {
        (Some(a), Some(b)) => {
            let (x1, y1) = geohash::decode_score(a);
            let (x2, y2) = geohash::decode_score(b);
            dist(ctx.out, geohash::distance(x1, y1, x2, y2) / to_meter);
        }
        _ => ctx.out.null(),
    }
    Ok(())
}

fn geohash_cmd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    let z = zset_ref(db, &args[1])?;
    ctx.out.array(args.len() - 2);
    for m in &args[2..] {
        match z.and_then(|z| z.score(m)) {
            Some(s) => ctx.out.bulk(&geohash::hash_string(s)),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn geopos(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = &mut ctx.store.dbs[ctx.client.db];
    let z = zset_ref(db, &args[1])?;
    ctx.out.array(args.len() - 2);
    for m in &args[2..] {
        match z.and_then(|z| z.score(m)) {
            Some(s) => {
                let (lon, lat) = geohash::decode_score(s);
                ctx.out.array(2);
                coord(ctx.out, lon);
                coord(ctx.out, lat);
            }
            None => ctx.out.null_array(),
        }
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// GEORADIUS (and _RO: `store` false).
    Coords {
        store: bool,
    },
    Member {
        store: bool,
    },
    Search {
        store: bool,
    },
}

fn georadius(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    generic(ctx, args, Kind::Coords { store: true })
}
fn georadius_ro(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    generic(ctx, args, Kind::Coords { store: false })
}
fn georadiusbymember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    generic(ctx, args, Kind::Member { store: true })
}
fn georadiusbymember_ro(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    generic(ctx, args, Kind::Member { store: false })
}
fn geosearch(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    generic(ctx, args, Kind::Search { store: false })
}
fn geosearchstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    generic(ctx, args, Kind::Search { store: true })
}

struct Point {
    member: Vec<u8>,
    score: f64,
    dist: f64,
    lon: f64,
    lat: f64,
}

fn member_pos(z: &ZSet, m: &[u8]) -> Result<(f64, f64), Error> {
    z.score(m)
        .map(geohash::decode_score)
        .ok_or_else(|| Error::err("could not decode requested zset member"))
}

/// georadiusGeneric.
fn generic(ctx: &mut Ctx, args: &[Bytes], kind: Kind) -> CmdResult {
    let src_idx = if matches!(kind, Kind::Search { store: true }) {
        2
    } else {
        1
    };
    let db = &mut ctx.store.dbs[ctx.client.db];
    let zobj = zset_ref(db, &args[src_idx])?;
    let (mut center, mut shape, mut conversion) = ((0.0, 0.0), Shape::Radius(0.0), 1.0);
    let mut storekey: Option<Bytes> = None;
    let base = match kind {
        Kind::Coords { .. } => {
            center = lon_lat(&args[2], &args[3])?;
            let (r, c) = distance_arg(&args[4], &args[5])?;
            shape = Shape::Radius(r);
            conversion = c;
            6
        }
        Kind::Member { .. } => {
            if let Some(z) = zobj {
                center = member_pos(z, &args[2])?;
                let (r, c) = distance_arg(&args[3], &args[4])?;
                shape = Shape::Radius(r);
                conversion = c;
            }
            5
        }
        Kind::Search { store } => {
            if store {
                storekey = Some(args[1].clone());
                3
            } else {
                2
            }
        }
    };
    let search = matches!(kind, Kind::Search { .. });
    let may_store = matches!(
        kind,
        Kind::Coords { store: true } | Kind::Member { store: true }
    );
    let (mut withdist, mut withhash, mut withcoord) = (false, false, false);
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let mut sort: Option<bool> = None; // Some(desc)
    let mut any = false;
    let mut count: i64 = 0;
    let mut storedist = false;
    let rem = args.len() - base;
    let mut i = 0;
    while i < rem {
        let a = &args[base + i][..];
        let arg = |k: usize| &args[base + i + k][..];
        if eq_ic(a, "withdist") {
            withdist = true;
        } else if eq_ic(a, "withhash") {
            withhash = true;
        } else if eq_ic(a, "withcoord") {
            withcoord = true;
        } else if eq_ic(a, "any") {
            any = true;
        } else if eq_ic(a, "asc") {
            sort = Some(false);
        } else if eq_ic(a, "desc") {
            sort = Some(true);
        } else if eq_ic(a, "count") && i + 1 < rem {
            count = parse_i64(arg(1)).ok_or(Error::NotInteger)?;
            if count <= 0 {
                return Err(Error::err("COUNT must be > 0"));
            }
            i += 1;
        } else if eq_ic(a, "store") && i + 1 < rem && may_store {
            storekey = Some(args[base + i + 1].clone());
            storedist = false;
            i += 1;
        } else if eq_ic(a, "storedist") && i + 1 < rem && may_store {
            storekey = Some(args[base + i + 1].clone());
            storedist = true;
            i += 1;
        } else if eq_ic(a, "storedist") && matches!(kind, Kind::Search { store: true }) {
            storedist = true;
        } else if eq_ic(a, "frommember") && i + 1 < rem && search && !fromloc {
            if let Some(z) = zobj {
                center = member_pos(z, arg(1))?;
            }
            frommember = true;
            i += 1;
        } else if eq_ic(a, "fromlonlat") && i + 2 < rem && search && !frommember {
            center = lon_lat(arg(1), arg(2))?;
            fromloc = true;
            i += 2;
        } else if eq_ic(a, "byradius") && i + 2 < rem && search && !bybox {
            let (r, c) = distance_arg(arg(1), arg(2))?;
            shape = Shape::Radius(r);
            conversion = c;
            byradius = true;
            i += 2;
        } else if eq_ic(a, "bybox") && i + 3 < rem && search && !byradius {
            let w = parse_f64(arg(1)).ok_or_else(|| Error::err("need numeric width"))?;
            let h = parse_f64(arg(2)).ok_or_else(|| Error::err("need numeric height"))?;
            if h < 0.0 || w < 0.0 {
                return Err(Error::err("height or width cannot be negative"));
            }
            conversion = unit(arg(3))?;
            shape = Shape::Box(w, h);
            bybox = true;
            i += 3;
        } else {
            return Err(Error::Syntax);
        }
        i += 1;
    }
    if storekey.is_some() && (withdist || withhash || withcoord) {
        return Err(Error::err(format!(
            "{} is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
            if matches!(kind, Kind::Search { store: true }) {
                "GEOSEARCHSTORE"
            } else {
                "STORE option in GEORADIUS"
            }
        )));
    }
    let name = String::from_utf8_lossy(&args[0]);
    if search && !(frommember || fromloc) {
        return Err(Error::err(format!(
            "exactly one of FROMMEMBER or FROMLONLAT can be specified for {}",
            name
        )));
    }
    if search && !(byradius || bybox) {
        return Err(Error::err(format!(
            "exactly one of BYRADIUS and BYBOX can be specified for {}",
            name
        )));
    }
    if any && count == 0 {
        return Err(Error::err("the ANY argument requires COUNT argument"));
    }
    let Some(z) = zobj else {
        match storekey {
            Some(k) => zsets::store_result(ctx, &k, &Vec::new()),
            None => ctx.out.array(0),
        }
        return Ok(());
    };
    if count != 0 && sort.is_none() && !any {
        sort = Some(false);
    }
    let q = Search {
        lon: center.0,
        lat: center.1,
        shape,
        conversion,
    };
    let limit = if any { count as usize } else { 0 };
    let mut pts: Vec<Point> = Vec::new();
    for (min, max) in q.boxes() {
        if limit != 0 && pts.len() >= limit {
            break;
        }
        let lo = z.count_score_below(min as f64, false);
        let hi = z.count_score_below(max as f64, false);
        let mut full = false;
        z.visit(lo, hi, false, |m, s| {
            if full {
                return;
            }
            let (lon, lat) = geohash::decode_score(s);
            if let Some(d) = q.within(lon, lat) {
                pts.push(Point {
                    member: m.to_vec(),
                    score: s,
                    dist: d,
                    lon,
                    lat,
                });
            }
            if limit != 0 && pts.len() >= limit {
                full = true;
            }
        });
    }
    if pts.is_empty() && storekey.is_none() {
        ctx.out.array(0);
        return Ok(());
    }
    let returned = if count == 0 || (pts.len() as i64) < count {
        pts.len()
    } else {
        count as usize
    };
    if let Some(desc) = sort {
        // qsort (glibc's is a stable merge sort) for everything, Redis's
        // own pqsort when COUNT keeps fewer: ties land where Redis puts them.
        let cmp = |a: &Point, b: &Point| {
            let c = a
                .dist
                .partial_cmp(&b.dist)
                .unwrap_or(std::cmp::Ordering::Equal);
            if desc {
                c.reverse()
            } else {
                c
            }
        };
        if returned == pts.len() {
            pts.sort_by(cmp);
        } else {
            super::pqsort::pqsort(&mut pts, 0, returned - 1, &cmp);
        }
    }
    pts.truncate(returned);
    match storekey {
        None => {
            let opts = withdist as usize + withhash as usize + withcoord as usize;
            ctx.out.array(returned);
            for p in &pts {
                if opts > 0 {
                    ctx.out.array(opts + 1);
                }
                ctx.out.bulk(&p.member);
                if withdist {
                    dist(ctx.out, p.dist / conversion);
                }
                if withhash {
                    ctx.out.int(p.score as i64);
                }
                if withcoord {
                    ctx.out.array(2);
                    coord(ctx.out, p.lon);
                    coord(ctx.out, p.lat);
                }
            }
        }
        Some(k) => {
            let mut items: Vec<(Vec<u8>, f64)> = pts
                .into_iter()
                .map(|p| {
                    let s = if storedist {
                        p.dist / conversion
                    } else {
                        p.score
                    };
                    (p.member, s)
                })
                .collect();
            items.sort_by(|a, b| crate::store::zset::cmp_entry(a.1, &a.0, b.1, &b.0));
            zsets::store_result(ctx, &k, &items);
        }
    }
    Ok(())
}
