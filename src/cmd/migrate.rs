//! DUMP, RESTORE, RESTORE-ASKING and MIGRATE: values moved between nodes
//! as Redis's serialized form: the RDB encoding of one value (type byte,
//! payload), the RDB version (10) as two little-endian bytes, and the
//! CRC-64 (Jones, as in RDB files) of all that, little-endian. Real Redis
//! 7.0 accepts our payloads and we accept its (tests/it/cluster.rs).
//!
//! MIGRATE connects, sends and waits synchronously while holding the
//! keyspace, as Redis does (it blocks the server for the transfer).
//! Connections are not cached between calls yet.

use super::{flags::*, Command, Ctx, KEY1, NOKEYS};
use crate::error::{CmdResult, Error};
use crate::persist::rdb::{self, crc64};
use crate::store::value::Value;
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

const RDB_VERSION: u16 = 10;
const BAD_PAYLOAD: &str = "DUMP payload version or checksum are wrong";

pub static COMMANDS: &[Command] = &[
    Command {
        name: "dump",
        arity: 2,
        flags: READONLY,
        keys: KEY1,
        group: "generic",
        since: "2.6.0",
        args: "key",
        summary: "Return a serialized version of the value stored at the specified key.",
        handler: dump,
        ..Command::DEFAULT
    },
    Command {
        name: "restore",
        acl: &["keyspace", "dangerous"],
        arity: -4,
        flags: WRITE | DENYOOM,
        keys: KEY1,
        group: "generic",
        since: "2.6.0",
        args: "key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]",
        summary: "Create a key using the provided serialized value, previously obtained using DUMP.",
        handler: restore,
        ..Command::DEFAULT
    },
    Command {
        name: "restore-asking",
        acl: &["keyspace", "dangerous"],
        arity: -4,
        flags: WRITE | DENYOOM | ASKING,
        keys: KEY1,
        group: "server",
        since: "3.0.0",
        args: "key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]",
        summary: "An internal command for migrating keys in a cluster",
        handler: restore,
        ..Command::DEFAULT
    },
    Command {
        name: "migrate",
        acl: &["keyspace", "dangerous"],
        arity: -6,
        flags: WRITE | MIGRATES,
        keys: NOKEYS,
        movable_keys: Some(migrate_keys),
        group: "generic",
        since: "2.6.0",
        args: "host port key|\"\" destination-db timeout [COPY] [REPLACE] [AUTH password] [AUTH2 username password] [KEYS key [key ...]]",
        summary: "Atomically transfer a key from a Redis instance to another one.",
        handler: migrate,
        ..Command::DEFAULT
    },
];

/// The serialized form of a value (DUMP's reply).
pub fn serialize(value: &Value) -> Vec<u8> {
    // The RDB record with an empty key: type byte, 0x00 (the key), value.
    let mut rec = Vec::new();
    rdb::encode_entry_with(&mut rec, b"", value, 0, true);
    let mut out = Vec::with_capacity(rec.len() + 9);
    out.push(rec[0]);
    out.extend_from_slice(&rec[2..]);
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64::crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Check and decode a serialized value.
pub fn deserialize(payload: &[u8], limits: crate::store::EncodingLimits) -> Result<Value, Error> {
    if payload.len() < 11 {
        return Err(Error::err(BAD_PAYLOAD));
    }
    let (body, footer) = payload.split_at(payload.len() - 10);
    let ver = u16::from_le_bytes([footer[0], footer[1]]);
    let crc = u64::from_le_bytes(footer[2..10].try_into().unwrap());
    if ver > RDB_VERSION || crc64::crc64(&payload[..payload.len() - 8]) != crc {
        return Err(Error::err(BAD_PAYLOAD));
    }
    // Load it as a one-key RDB: header, the record under key "k", EOF, no checksum.
    let mut file = b"REDIS0010".to_vec();
    file.push(body[0]);
    file.extend_from_slice(&[1, b'k']);
    file.extend_from_slice(&body[1..]);
    file.push(0xff);
    file.extend_from_slice(&[0; 8]);
    let opts = rdb::LoadOpts {
        databases: 1,
        now_ms: crate::util::now_ms(),
        drop_expired: false,
        limits,
        key_load_delay_us: 0,
    };
    let mut loaded = rdb::load(&file[..], &opts).map_err(|_| Error::err("Bad data format"))?;
    loaded.dbs[0]
        .remove(b"k")
        .map(|e| e.value)
        .ok_or_else(|| Error::err("Bad data format"))
}

fn dump(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    match ctx.db().get(&args[1]) {
        Some(v) => {
            let p = serialize(v);
            ctx.out.bulk(&p);
        }
        None => ctx.out.null(),
    }
    Ok(())
}

fn restore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut replace = false;
    let mut absttl = false;
    let mut i = 4;
    while i < args.len() {
        let a = &args[i];
        if eq_ic(a, "replace") {
            replace = true;
        } else if eq_ic(a, "absttl") {
            absttl = true;
        } else if (eq_ic(a, "idletime") || eq_ic(a, "freq")) && i + 1 < args.len() {
            match parse_i64(&args[i + 1]) {
                Some(n) if n >= 0 && (eq_ic(a, "idletime") || n <= 255) => {}
                _ if eq_ic(a, "idletime") => {
                    return Err(Error::err("Invalid IDLETIME value, must be >= 0"))
                }
                _ => return Err(Error::err("Invalid FREQ value, must be >= 0 and <= 255")),
            }
            i += 1;
        } else {
            return Err(Error::Syntax);
        }
        i += 1;
    }
    let ttl = match parse_i64(&args[2]) {
        Some(t) if t >= 0 => t as u64,
        Some(_) => return Err(Error::err("Invalid TTL value, must be >= 0")),
        None => return Err(Error::NotInteger),
    };
    let key = &args[1];
    if !replace && ctx.db().exists(key) {
        return Err(Error::BusyKey);
    }
    let value = deserialize(&args[3], ctx.store.limits)?;
    let when = match (ttl, absttl) {
        (0, _) => 0,
        (t, true) => t,
        (t, false) => ctx.now + t,
    };
    if when != 0 && when <= ctx.now {
        // Already expired: the key is gone (Redis deletes and replies OK).
        if ctx.db().remove(key).is_some() {
            ctx.dirty(1);
            ctx.propagate(vec![Bytes::from_static(b"DEL"), key.clone()]);
        }
        ctx.out.ok();
        return Ok(());
    }
    ctx.db().remove(key);
    ctx.db().set(key, value, false);
    if when != 0 {
        ctx.db().set_expire(key, when);
    }
    ctx.dirty(1);
    let mut prop = vec![
        Bytes::from_static(b"RESTORE"),
        key.clone(),
        Bytes::from(when.to_string()),
        args[3].clone(),
        Bytes::from_static(b"REPLACE"),
    ];
    if when != 0 {
        prop.push(Bytes::from_static(b"ABSTTL"));
    }
    ctx.propagate(prop);
    ctx.out.ok();
    Ok(())
}

/// MIGRATE's keys: the key argument unless empty, or those after KEYS.
fn migrate_keys(args: &[Bytes]) -> Vec<usize> {
    if args.len() > 3 && !args[3].is_empty() {
        return vec![3];
    }
    match args.iter().skip(6).position(|a| eq_ic(a, "keys")) {
        Some(p) => (6 + p + 1..args.len()).collect(),
        None => Vec::new(),
    }
}

fn encode_cmd(buf: &mut Vec<u8>, parts: &[&[u8]]) {
    buf.extend_from_slice(format!("*{}\r\n", parts.len()).as_bytes());
    for p in parts {
        buf.extend_from_slice(format!("${}\r\n", p.len()).as_bytes());
        buf.extend_from_slice(p);
        buf.extend_from_slice(b"\r\n");
    }
}

/// One reply line from the target: Ok(()) for +..., Err(text) for -...
fn read_status(r: &mut BufReader<TcpStream>) -> Result<Result<(), String>, Error> {
    let mut line = String::new();
    match r.read_line(&mut line) {
        Ok(n) if n > 0 => {}
        _ => {
            return Err(Error::msg(
                "IOERR error or timeout reading to target instance",
            ))
        }
    }
    let l = line.trim_end();
    match l.as_bytes().first() {
        Some(b'-') => Ok(Err(l[1..].to_string())),
        _ => Ok(Ok(())),
    }
}

fn migrate(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut copy = false;
    let mut replace = false;
    let mut auth: Option<(Option<Bytes>, Bytes)> = None;
    let mut keys_at = None;
    let mut i = 6;
    while i < args.len() {
        let a = &args[i];
        if eq_ic(a, "copy") {
            copy = true;
        } else if eq_ic(a, "replace") {
            replace = true;
        } else if eq_ic(a, "auth") && i + 1 < args.len() {
            auth = Some((None, args[i + 1].clone()));
            i += 1;
        } else if eq_ic(a, "auth2") && i + 2 < args.len() {
            auth = Some((Some(args[i + 1].clone()), args[i + 2].clone()));
            i += 2;
        } else if eq_ic(a, "keys") {
            if !args[3].is_empty() {
                return Err(Error::err(
                    "When using MIGRATE KEYS option, the key argument must be set to the empty string",
                ));
            }
            keys_at = Some(i + 1);
            break;
        } else {
            return Err(Error::Syntax);
        }
        i += 1;
    }
    let (Some(port), Some(dbid), Some(timeout)) = (
        parse_i64(&args[2]),
        parse_i64(&args[4]),
        parse_i64(&args[5]),
    ) else {
        return Err(Error::NotInteger);
    };
    let timeout = Duration::from_millis(if timeout <= 0 { 1000 } else { timeout as u64 });
    let keys: Vec<Bytes> = match keys_at {
        Some(at) => args[at..].to_vec(),
        None => vec![args[3].clone()],
    };
    // Only the keys that exist move.
    let mut found: Vec<(Bytes, Vec<u8>, u64)> = Vec::new();
    let now = ctx.now;
    for k in &keys {
        let db = ctx.db();
        if let Some(idx) = db.lookup(k) {
            let e = db.entry(idx);
            let ttl = e.ttl().map_or(0, |t| t.saturating_sub(now).max(1));
            found.push((k.clone(), serialize(&e.value), ttl));
        }
    }
    if found.is_empty() {
        ctx.out.simple("NOKEY");
        return Ok(());
    }
    let host = String::from_utf8_lossy(&args[1]).into_owned();
    let io_err = || Error::msg("IOERR error or timeout connecting to the client");
    let addr = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port as u16))
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(io_err)?;
    let stream = TcpStream::connect_timeout(&addr, timeout).map_err(|_| io_err())?;
    let _ = stream.set_read_timeout(Some(timeout));
    let _ = stream.set_write_timeout(Some(timeout));
    let mut w = stream.try_clone().map_err(|_| io_err())?;
    let mut r = BufReader::new(stream);
    let mut buf = Vec::new();
    let mut expected = 0;
    if let Some((user, pass)) = &auth {
        match user {
            Some(u) => encode_cmd(&mut buf, &[b"AUTH", u, pass]),
            None => encode_cmd(&mut buf, &[b"AUTH", pass]),
        }
        expected += 1;
    }
    let db = dbid.to_string();
    encode_cmd(&mut buf, &[b"SELECT", db.as_bytes()]);
    expected += 1;
    let restore: &[u8] = if ctx.srv.cluster.get().is_some() {
        b"RESTORE-ASKING"
    } else {
        b"RESTORE"
    };
    for (k, payload, ttl) in &found {
        let t = ttl.to_string();
        let mut parts: Vec<&[u8]> = vec![restore, k, t.as_bytes(), payload];
        if replace {
            parts.push(b"REPLACE");
        }
        encode_cmd(&mut buf, &parts);
    }
    w.write_all(&buf)
        .map_err(|_| Error::msg("IOERR error or timeout writing to target instance"))?;
    for _ in 0..expected {
        if let Err(e) = read_status(&mut r)? {
            return Err(Error::msg(format!(
                "ERR Target instance replied with error: {e}"
            )));
        }
    }
    let mut first_err = None;
    let mut moved = Vec::new();
    for (k, _, _) in &found {
        match read_status(&mut r)? {
            Ok(()) => moved.push(k.clone()),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    if !copy {
        for k in &moved {
            if ctx.db().remove(k).is_some() {
                ctx.dirty(1);
                ctx.propagate(vec![Bytes::from_static(b"DEL"), k.clone()]);
            }
        }
    }
    match first_err {
        Some(e) => Err(Error::msg(format!(
            "ERR Target instance replied with error: {e}"
        ))),
        None => {
            ctx.out.ok();
            Ok(())
        }
    }
}
