//! The RDB payload of a full sync: taking a point-in-time snapshot (master),
//! writing it, and loading one from a byte stream (replica).
//!
//! This is the only place replication touches the RDB codec and the
//! snapshot machinery, so the rest of `repl` does not depend on their shape.

use crate::server::Shared;
use crate::store::{Db, Store};
use std::io::{Read, Write};

/// A point-in-time view of the dataset, taken under the keyspace lock.
pub enum Snap {
    Full(crate::persist::snapshot::Snapshot),
    /// `REPLCONF rdb-filter-only ""` (redis-cli --replica): no keys at all.
    Empty,
}

/// Begin a snapshot. Called with the keyspace lock held (the caller reads
/// `master_repl_offset` in the same critical section).
pub fn begin(store: &mut Store) -> Result<Snap, String> {
    crate::persist::snapshot::begin(store)
        .map(Snap::Full)
        .map_err(|e| e.to_string())
}

/// Write the snapshot as an RDB file, outside the keyspace lock (blocking thread).
pub fn write(
    snap: Snap,
    srv: &Shared,
    aux: &[(&str, String)],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match snap {
        Snap::Full(s) => crate::persist::snapshot::write_rdb(s, &srv.store, aux, out),
        Snap::Empty => write_empty(aux, out),
    }
}

/// An RDB with the aux fields and no keys.
fn write_empty(aux: &[(&str, String)], out: &mut dyn Write) -> std::io::Result<()> {
    let mut v = b"REDIS0010".to_vec();
    let string = |v: &mut Vec<u8>, s: &[u8]| {
        // 6-bit, 14-bit or 32-bit length prefix.
        if s.len() < 64 {
            v.push(s.len() as u8);
        } else if s.len() < 16384 {
            v.push(0x40 | (s.len() >> 8) as u8);
            v.push(s.len() as u8);
        } else {
            v.push(0x80);
            v.extend_from_slice(&(s.len() as u32).to_be_bytes());
        }
        v.extend_from_slice(s);
    };
    let ver = [("redis-ver", crate::REDIS_VERSION.to_string())];
    for (k, val) in ver.iter().chain(aux.iter()) {
        v.push(0xFA);
        string(&mut v, k.as_bytes());
        string(&mut v, val.as_bytes());
    }
    v.push(0xFF);
    let crc = crate::persist::rdb::crc64::crc64(&v);
    v.extend_from_slice(&crc.to_le_bytes());
    out.write_all(&v)
}

/// What a full sync's RDB holds: the databases, the master stream's DB
/// and the function libraries' code.
pub type LoadedSync = (Vec<Db>, usize, Vec<Vec<u8>>);

/// Load an RDB stream into fresh databases; also returns the master stream's
/// DB (`repl-stream-db` aux field, 0 when absent) and the function libraries.
pub fn load(r: impl Read, srv: &Shared) -> Result<LoadedSync, String> {
    // Keys already expired stay: the master will send their DELs.
    let opts = crate::persist::rdb::LoadOpts::from_config(&srv.config.read(), false);
    let loaded = crate::persist::rdb::load(r, &opts).map_err(|e| e.to_string())?;
    let db = loaded
        .aux
        .iter()
        .find(|(k, _)| k == "repl-stream-db")
        .and_then(|(_, v)| std::str::from_utf8(v).ok()?.parse().ok())
        .unwrap_or(0);
    tracing::info!(
        "Done loading RDB, keys loaded: {}, keys expired: {}.",
        loaded.keys,
        loaded.expired_skipped
    );
    Ok((loaded.dbs, db, loaded.functions))
}
