//! BGREWRITEAOF without fork, and turning the AOF on and off.
//!
//! Under the keyspace lock, in one critical section: the snapshot cursor
//! (`store::cow`) marks the point in time, and a `Rotate` mark at the same
//! offset of the AOF buffer sends every later write to a new INCR file (the
//! writer adds it to the manifest when it gets there). A thread then writes
//! the snapshot as the new BASE (`temp-rewriteaof-bg-<pid>.aof`, fsync,
//! rename: `fs::write_atomic_with`), waits until the writer has passed the
//! mark, and swaps the manifest atomically: new BASE, the new INCR file, the
//! old files as history. Only after that manifest is on disk are the old
//! files deleted (and the manifest written once more without them).
//! A crash at any point leaves a manifest whose files are all there.

use super::manifest::{self, Entry, Kind, Manifest};
use super::writer::Mark;
use super::Aof;
use crate::error::Error;
use crate::persist::snapshot;
use crate::store::cow::Sink;
use crate::store::{Store, Value};
use std::io::{self, Write};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const IN_PROGRESS: &str = "Background append only file rewriting already in progress";

impl Aof {
    /// BGREWRITEAOF (and the automatic one): true when started, false when
    /// scheduled after a running snapshot. Keyspace lock held.
    pub fn start_rewrite(self: &Arc<Self>, store: &mut Store) -> Result<bool, Error> {
        if self.rewrite_in_progress.load(Ordering::Relaxed) {
            return Err(Error::err(IN_PROGRESS));
        }
        if snapshot::in_progress(store) {
            self.rewrite_scheduled.store(true, Ordering::Relaxed);
            return Ok(false);
        }
        let fresh = !self.enabled();
        self.begin_rewrite(store, fresh).map_err(|e| {
            Error::err(format!("Can't rewrite append only file in background: {e}"))
        })?;
        Ok(true)
    }

    /// A replica loaded its master's dataset: rewrite the AOF from it (a
    /// running rewrite is of the old dataset: stopped and started again).
    pub fn restart_after_sync(self: &Arc<Self>, store: &mut Store) {
        if !self.enabled() {
            return;
        }
        if self.rewrite_in_progress.load(Ordering::Relaxed) {
            snapshot::cancel(store);
            self.rewrite_scheduled.store(true, Ordering::Relaxed);
            return;
        }
        if let Err(e) = self.start_rewrite(store) {
            tracing::warn!("Can't rewrite the AOF after the sync with the master: {e}");
        }
    }

    fn begin_rewrite(self: &Arc<Self>, store: &mut Store, fresh: bool) -> io::Result<()> {
        let s = self.settings.read().clone();
        std::fs::create_dir_all(&s.dir)?;
        let snap = if s.preamble {
            snapshot::begin_with_compression(store, s.compress)
        } else {
            crate::store::cow::begin(store, encode_commands)
                .ok_or_else(|| Error::err("Background save already in progress"))
        }
        .map_err(|e| io::Error::other(e.to_string()))?;
        let incr = {
            let m = self.manifest.lock();
            format!("{}.{}.incr.aof", s.filename, m.next_incr_seq())
        };
        if fresh {
            // Turning the AOF on: the writer starts on the new INCR file at
            // once; the manifest names it only once the BASE exists.
            let f = super::writer::open_append(&s.dir.join(&incr))?;
            self.cur_incr_size.store(0, Ordering::Relaxed);
            self.old_incr_size.store(0, Ordering::Relaxed);
            self.start_writer(store, f, &incr);
        } else {
            self.pipe.mark(Mark::Rotate {
                name: incr.clone(),
                persist: true,
            });
            store.repl.aof_reset_select();
        }
        self.rewrite_scheduled.store(false, Ordering::Relaxed);
        self.rewrite_in_progress.store(true, Ordering::Relaxed);
        self.rewrite_started_ms
            .store(crate::util::now_ms(), Ordering::Relaxed);
        tracing::info!("Background append only file rewriting started");
        let me = self.clone();
        std::thread::Builder::new()
            .name("aof-rewrite".into())
            .spawn(move || {
                let t = Instant::now();
                let r = me.rewrite_job(snap, &incr, fresh);
                me.rewrite_done(r, t, fresh);
            })?;
        Ok(())
    }

    fn rewrite_job(&self, snap: snapshot::Snapshot, incr: &str, fresh: bool) -> io::Result<()> {
        let s = self.settings.read().clone();
        let seq = self.manifest.lock().next_base_seq();
        let name = manifest::base_name(&s.filename, seq, s.preamble);
        let path = s.dir.join(&name);
        let tmp = format!("temp-rewriteaof-bg-{}.aof", std::process::id());
        crate::fs::write_atomic_with(
            &path,
            &tmp,
            |w| {
                if s.preamble {
                    snapshot::write_rdb(snap, &self.keyspace, &[("aof-base", "1".into())], w)
                } else {
                    write_commands(snap, &self.keyspace, w)
                }
            },
            || Ok(()),
        )?;
        tracing::info!("Successfully created the temporary AOF base file {tmp}");
        // The writer must have moved to the new INCR file before the manifest says so.
        if !fresh {
            let deadline = Instant::now() + Duration::from_secs(60);
            while *self.current_incr.lock() != incr {
                if !self.enabled() || Instant::now() > deadline {
                    let _ = std::fs::remove_file(&path);
                    return Err(io::Error::other(
                        "the AOF writer did not reach the new INCR file",
                    ));
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        let base_len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let mut m = self.manifest.lock();
        let mut next: Manifest = m.clone();
        if !next.incrs.iter().any(|e| e.name == incr) {
            next.add_incr(&s.filename);
        }
        next.install_base(
            Entry {
                name: name.clone(),
                seq,
                kind: Kind::Base,
            },
            incr,
        );
        let mpath = s.manifest_path();
        next.persist(&mpath)?;
        tracing::info!("Successfully renamed the temporary AOF base file {tmp} into {name}");
        for h in std::mem::take(&mut next.history) {
            tracing::info!("Removing the history file {} in the background", h.name);
            let _ = std::fs::remove_file(s.dir.join(&h.name));
        }
        next.persist(&mpath)?;
        *m = next;
        self.base_size.store(base_len, Ordering::Relaxed);
        self.old_incr_size.store(0, Ordering::Relaxed);
        Ok(())
    }

    fn rewrite_done(&self, r: io::Result<()>, t: Instant, fresh: bool) {
        let secs = t.elapsed().as_secs_f64();
        self.last_rewrite_secs
            .store(secs.round() as i64, Ordering::Relaxed);
        match r {
            Ok(()) => {
                self.rewrites.fetch_add(1, Ordering::Relaxed);
                self.rewrite_failures.store(0, Ordering::Relaxed);
                self.last_rewrite_failed.store(false, Ordering::Relaxed);
                tracing::info!("Background AOF rewrite finished successfully ({secs:.3} seconds)");
            }
            Err(e) => {
                self.rewrite_failures.fetch_add(1, Ordering::Relaxed);
                self.last_rewrite_failed.store(true, Ordering::Relaxed);
                tracing::warn!("Background AOF rewrite terminated with error: {e}");
                if fresh {
                    tracing::warn!("Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. The AOF stays off.");
                    let h = self.stop_writer(&mut self.keyspace.lock());
                    if let Some(h) = h {
                        let _ = h.join();
                    }
                }
            }
        }
        self.rewrite_in_progress.store(false, Ordering::Relaxed);
        snapshot::gc(&mut self.keyspace.lock());
    }

    /// CONFIG SET appendonly yes|no. Keyspace lock held.
    pub fn apply_appendonly(self: &Arc<Self>, store: &mut Store) -> Result<(), String> {
        let want = self.settings.read().enabled;
        if want == self.enabled() {
            return Ok(());
        }
        if want {
            if self.rewrite_in_progress.load(Ordering::Relaxed) {
                return Err("Unable to turn on AOF. Check server logs.".into());
            }
            if snapshot::in_progress(store) {
                // Redis schedules it after the running BGSAVE; we wait for it here.
                return Err("Unable to turn on AOF. Check server logs.".into());
            }
            self.begin_rewrite(store, true).map_err(|e| {
                tracing::warn!("Redis needs to enable the AOF but can't trigger a background AOF rewrite operation: {e}");
                "Unable to turn on AOF. Check server logs.".to_string()
            })
        } else {
            if self.rewrite_in_progress.load(Ordering::Relaxed) {
                tracing::info!("Killing running AOF rewrite");
                snapshot::cancel(store);
            }
            if let Some(h) = self.stop_writer(store) {
                let _ = h.join();
            }
            Ok(())
        }
    }

    /// Startup with `appendonly yes` and no AOF yet: a BASE of the (empty)
    /// keyspace, INCR 1 and the manifest, synchronously, as Redis 7.0.
    pub fn create_at_startup(self: &Arc<Self>) -> io::Result<()> {
        let s = self.settings.read().clone();
        std::fs::create_dir_all(&s.dir)?;
        let mut store = self.keyspace.lock();
        let mut m = self.manifest.lock().clone();
        let seq = m.next_base_seq();
        let name = manifest::base_name(&s.filename, seq, s.preamble);
        crate::fs::write_atomic(&s.dir.join(&name), &{
            let mut buf = Vec::new();
            if s.preamble {
                crate::persist::dump::write_store(
                    &store,
                    s.compress,
                    &[("aof-base", "1".into())],
                    &mut buf,
                )?;
            }
            buf
        })?;
        tracing::info!("Creating AOF base file {name} on server start");
        let iseq = m.next_incr_seq();
        let incr = format!("{}.{iseq}.incr.aof", s.filename);
        let f = super::writer::open_append(&s.dir.join(&incr))?;
        tracing::info!("Creating AOF incr file {incr} on server start");
        let next = Manifest {
            base: Some(Entry {
                name: name.clone(),
                seq,
                kind: Kind::Base,
            }),
            incrs: vec![Entry {
                name: incr.clone(),
                seq: iseq,
                kind: Kind::Incr,
            }],
            history: Vec::new(),
        };
        next.persist(&s.manifest_path())?;
        m = next;
        *self.manifest.lock() = m;
        self.base_size.store(
            std::fs::metadata(s.dir.join(&name)).map_or(0, |m| m.len()),
            Ordering::Relaxed,
        );
        self.old_incr_size.store(0, Ordering::Relaxed);
        self.cur_incr_size.store(0, Ordering::Relaxed);
        self.start_writer(&mut store, f, &incr);
        Ok(())
    }

    /// After loading: append to the last INCR file (a new one if the
    /// manifest has none) and start the writer.
    pub fn open_after_load(self: &Arc<Self>, sizes: (u64, u64, u64)) -> io::Result<()> {
        let s = self.settings.read().clone();
        let mut store = self.keyspace.lock();
        let mut m = self.manifest.lock();
        let incr = match m.incrs.last() {
            Some(e) => e.name.clone(),
            None => {
                let mut next = m.clone();
                let e = next.add_incr(&s.filename);
                next.persist(&s.manifest_path())?;
                *m = next;
                e.name
            }
        };
        drop(m);
        let f = super::writer::open_append(&s.dir.join(&incr))?;
        self.base_size.store(sizes.0, Ordering::Relaxed);
        self.old_incr_size.store(sizes.1, Ordering::Relaxed);
        self.cur_incr_size.store(sizes.2, Ordering::Relaxed);
        self.start_writer(&mut store, f, &incr);
        Ok(())
    }

    /// Read the manifest at startup (also with the AOF off: the sequence
    /// numbers continue from it when it is turned on).
    pub fn read_manifest(&self) -> Result<Option<Manifest>, String> {
        let path = self.settings.read().manifest_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let m =
                    Manifest::parse(&text).map_err(|e| format!("{e} in '{}'", path.display()))?;
                *self.manifest.lock() = m.clone();
                Ok(Some(m))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!(
                "Can't open the AOF manifest '{}': {e}",
                path.display()
            )),
        }
    }
}

// ---- the BASE as commands (aof-use-rdb-preamble no) ----

fn cmd(buf: &mut Vec<u8>, args: &[&[u8]]) {
    let mut n = itoa::Buffer::new();
    buf.push(b'*');
    buf.extend_from_slice(n.format(args.len()).as_bytes());
    buf.extend_from_slice(b"\r\n");
    for a in args {
        buf.push(b'$');
        buf.extend_from_slice(n.format(a.len()).as_bytes());
        buf.extend_from_slice(b"\r\n");
        buf.extend_from_slice(a);
        buf.extend_from_slice(b"\r\n");
    }
}

/// One key as commands: strings as SET (+ PEXPIREAT); other types as
/// RESTORE of their serialized form (ABSTTL carries the expiry), which any
/// Redis >= 5 replays.
fn encode_commands(buf: &mut Vec<u8>, key: &[u8], value: &Value, expire_ms: u64) {
    let mut n = itoa::Buffer::new();
    match value {
        Value::Str(s) => {
            cmd(buf, &[b"SET", key, s.as_bytes()]);
            if expire_ms > 0 {
                cmd(buf, &[b"PEXPIREAT", key, n.format(expire_ms).as_bytes()]);
            }
        }
        _ => {
            let payload = serialize(value);
            if expire_ms > 0 {
                cmd(
                    buf,
                    &[
                        b"RESTORE",
                        key,
                        n.format(expire_ms).as_bytes(),
                        &payload,
                        b"REPLACE",
                        b"ABSTTL",
                    ],
                );
            } else {
                cmd(buf, &[b"RESTORE", key, b"0", &payload, b"REPLACE"]);
            }
        }
    }
}

/// DUMP's format: the RDB record without its key, RDB version, CRC64.
fn serialize(value: &Value) -> Vec<u8> {
    use crate::persist::rdb;
    let mut rec = Vec::new();
    rdb::encode_entry_with(&mut rec, b"", value, 0, true);
    let mut out = Vec::with_capacity(rec.len() + 9);
    out.push(rec[0]);
    out.extend_from_slice(&rec[2..]);
    out.extend_from_slice(&(rdb::RDB_VERSION as u16).to_le_bytes());
    let crc = rdb::crc64::crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

struct CommandSink<W: Write>(W);

impl<W: Write> Sink for CommandSink<W> {
    fn select(&mut self, db: usize, _keys: u64, _expires: u64) -> io::Result<()> {
        let mut b = Vec::new();
        cmd(
            &mut b,
            &[b"SELECT", itoa::Buffer::new().format(db).as_bytes()],
        );
        self.0.write_all(&b)
    }

    fn records(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.write_all(bytes)
    }
}

fn write_commands(
    mut snap: snapshot::Snapshot,
    keyspace: &parking_lot::Mutex<Store>,
    out: impl Write,
) -> io::Result<()> {
    let mut sink = CommandSink(out);
    let r = snap.drive(
        || keyspace.lock(),
        parking_lot::MutexGuard::unlock_fair,
        &mut sink,
    );
    snap.finish();
    snapshot::gc(&mut keyspace.lock());
    r.and_then(|()| sink.0.flush())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_base_encodes_strings_and_restores() {
        let mut b = Vec::new();
        encode_commands(&mut b, b"k", &Value::str(b"v"), 0);
        assert_eq!(b, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
        b.clear();
        encode_commands(&mut b, b"k", &Value::str(b"v"), 1234);
        assert!(b.ends_with(b"*3\r\n$9\r\nPEXPIREAT\r\n$1\r\nk\r\n$4\r\n1234\r\n"));
    }
}
