//! RDB snapshots of the live keyspace: the store's copy-on-write cursor
//! (`store::cow`, which explains the mechanism) driven into the RDB codec.

use crate::error::Error;
use crate::store::{Store, Value};
use parking_lot::Mutex;
use std::io::{self, Write};

pub use crate::store::cow::{cancel, gc, in_progress, JobStats, Sink, Snapshot};

/// Call with the keyspace lock held. Marks the point in time; O(number of dbs),
/// no copying. Only one snapshot runs at a time.
pub fn begin(store: &mut Store) -> Result<Snapshot, Error> {
    begin_with_compression(store, true)
}

/// `begin` with LZF compression of long strings on or off (`rdbcompression`).
pub fn begin_with_compression(store: &mut Store, compress: bool) -> Result<Snapshot, Error> {
    let encode = if compress {
        encode_record
    } else {
        encode_record_plain
    };
    crate::store::cow::begin(store, encode)
        .ok_or_else(|| Error::err("Background save already in progress"))
}

/// Run OUTSIDE the lock, on a blocking thread: writes a complete RDB
/// (header + `extra_aux` + every db + EOF/CRC) to `out`, taking the
/// keyspace lock in short steps.
pub fn write_rdb(
    mut snap: Snapshot,
    keyspace: &Mutex<Store>,
    extra_aux: &[(&str, String)],
    out: impl Write,
) -> io::Result<()> {
    let r = (|| {
        let mut sink = RdbSink::new(out, extra_aux)?;
        for code in std::mem::take(&mut snap.functions) {
            sink.w.function(&code)?;
        }
        // A fair unlock hands the lock to a waiting client instead of
        // letting the job barge back in for its next step.
        snap.drive(
            || keyspace.lock(),
            parking_lot::MutexGuard::unlock_fair,
            &mut sink,
        )?;
        sink.finish()
    })();
    snap.finish();
    gc(&mut keyspace.lock());
    let s = snap.stats;
    tracing::info!(
        "snapshot: {} steps, {} keys walked, longest lock hold {:?} ({} over 2 ms), total {:?}",
        s.steps,
        s.keys_walked,
        s.max_hold,
        s.holds_over_2ms,
        s.total_hold
    );
    r
}

// ---- the RDB side (codec from persist::rdb) ----

fn encode_record(buf: &mut Vec<u8>, key: &[u8], value: &Value, expire_ms: u64) {
    super::rdb::encode_entry(buf, key, value, expire_ms)
}

fn encode_record_plain(buf: &mut Vec<u8>, key: &[u8], value: &Value, expire_ms: u64) {
    super::rdb::encode_entry_with(buf, key, value, expire_ms, false)
}

pub(crate) struct RdbSink<W: Write> {
    w: super::rdb::RdbWriter<W>,
}

impl<W: Write> RdbSink<W> {
    pub(crate) fn new(out: W, extra_aux: &[(&str, String)]) -> io::Result<Self> {
        Ok(RdbSink {
            w: super::rdb::RdbWriter::new(out, extra_aux)?,
        })
    }

    pub(crate) fn finish(self) -> io::Result<()> {
        self.w.finish().map(drop)
    }
}

impl<W: Write> Sink for RdbSink<W> {
    fn select(&mut self, db: usize, keys: u64, expires: u64) -> io::Result<()> {
        self.w.select_db(db, keys, expires)
    }

    fn records(&mut self, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.w.raw(bytes)
    }
}

#[cfg(test)]
mod tests;
