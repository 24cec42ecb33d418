//! The RDB payload of a full sync: taking a point-in-time snapshot (master),
//! writing it, and loading one from a byte stream (replica).
//!
//! This is the only place replication touches the RDB codec and the
//! snapshot machinery, so the rest of `repl` does not depend on their shape.

use crate::server::Shared;
use crate::store::{Db, Store};
use std::io::{Read, Write};

/// A point-in-time view of the dataset, taken under the keyspace lock.
pub struct Snap {
    /// Until the snapshot module lands, the payload is an empty dataset.
    _private: (),
}

/// Begin a snapshot. Called with the keyspace lock held (the caller reads
/// `master_repl_offset` in the same critical section).
pub fn begin(_store: &mut Store) -> Result<Snap, String> {
    Ok(Snap { _private: () })
}

/// Write the snapshot as an RDB file, outside the keyspace lock (blocking thread).
pub fn write(
    _snap: Snap,
    _srv: &Shared,
    aux: &[(&str, String)],
    out: &mut dyn Write,
) -> std::io::Result<()> {
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
    for (k, val) in [("redis-ver", crate::REDIS_VERSION.to_string())]
        .iter()
        .map(|(k, v)| (*k, v.clone()))
        .chain(aux.iter().map(|(k, v)| (*k, v.clone())))
    {
        v.push(0xFA);
        string(&mut v, k.as_bytes());
        string(&mut v, val.as_bytes());
    }
    v.push(0xFF);
    // A zero checksum means "not computed"; every loader accepts it.
    v.extend_from_slice(&[0; 8]);
    out.write_all(&v)
}

/// Load an RDB stream into fresh databases.
pub fn load(mut r: impl Read, srv: &Shared) -> Result<Vec<Db>, String> {
    let mut head = [0u8; 9];
    r.read_exact(&mut head).map_err(|e| e.to_string())?;
    if &head[..5] != b"REDIS" {
        return Err("Wrong signature trying to load DB from file".into());
    }
    std::io::copy(&mut r, &mut std::io::sink()).map_err(|e| e.to_string())?;
    let n = srv.config.read().databases as usize;
    Ok((0..n).map(|_| Db::new()).collect())
}
