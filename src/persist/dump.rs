//! The dump file (`dir`/`dbfilename`): SAVE, BGSAVE, save points, the final
//! save at shutdown and loading at startup.
//!
//! Files are replaced atomically: a temp file in `dir`, fsync, rename over
//! the dump, fsync of the directory. A failed save leaves the previous file
//! alone, removes the temp file, logs the path and the OS error, and sets
//! `rdb_last_bgsave_status:err` (with `stop-writes-on-bgsave-error`, writes
//! then get -MISCONF until a save succeeds).

use super::{rdb, snapshot};
use crate::error::Error;
use crate::server::Shared;
use crate::store::Store;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Instant;

pub const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// After a failed background save, automatic saves wait this long (Redis's
/// CONFIG_BGSAVE_RETRY_DELAY).
const RETRY_DELAY_S: u64 = 5;

/// Persistence counters and flags (INFO persistence), outside the keyspace lock.
pub struct PersistState {
    pub bgsave_in_progress: AtomicBool,
    /// BGSAVE SCHEDULE asked while a snapshot ran: the cron starts one later.
    pub bgsave_scheduled: AtomicBool,
    pub bgsave_started_ms: AtomicU64,
    pub last_bgsave_failed: AtomicBool,
    /// Seconds the last background save took; -1 before the first.
    pub last_bgsave_secs: AtomicI64,
    /// Unix seconds of the last background save attempt.
    pub last_bgsave_try: AtomicU64,
    /// `store.dirty` when the running background save began.
    pub dirty_at_bgsave: AtomicU64,
    pub saves: AtomicU64,
    pub last_load_keys_loaded: AtomicU64,
    pub last_load_keys_expired: AtomicU64,
    /// SHUTDOWN already saved (or was told not to): no second save on exit.
    pub final_save_done: AtomicBool,
    /// Hot-path copy: writes get -MISCONF.
    deny_writes: AtomicBool,
    /// Held while a save renames over the dump; `save_gen` counts sync saves.
    file_lock: parking_lot::Mutex<()>,
    save_gen: AtomicU64,
}

impl Default for PersistState {
    fn default() -> Self {
        PersistState {
            bgsave_in_progress: AtomicBool::new(false),
            bgsave_scheduled: AtomicBool::new(false),
            bgsave_started_ms: AtomicU64::new(0),
            last_bgsave_failed: AtomicBool::new(false),
            last_bgsave_secs: AtomicI64::new(-1),
            last_bgsave_try: AtomicU64::new(0),
            dirty_at_bgsave: AtomicU64::new(0),
            saves: AtomicU64::new(0),
            last_load_keys_loaded: AtomicU64::new(0),
            last_load_keys_expired: AtomicU64::new(0),
            final_save_done: AtomicBool::new(false),
            deny_writes: AtomicBool::new(false),
            file_lock: parking_lot::Mutex::new(()),
            save_gen: AtomicU64::new(0),
        }
    }
}

impl PersistState {
    /// True when writes must be refused with -MISCONF.
    #[inline]
    pub fn writes_denied(&self) -> bool {
        self.deny_writes.load(Ordering::Relaxed)
    }

    /// Recompute the MISCONF flag (after a save, or a CONFIG SET).
    pub fn refresh(&self, cfg: &crate::config::Config) {
        let deny = cfg.stop_writes_on_bgsave_error
            && !cfg.save.0.is_empty()
            && self.last_bgsave_failed.load(Ordering::Relaxed);
        self.deny_writes.store(deny, Ordering::Relaxed);
    }
}

fn now_s() -> u64 {
    crate::util::now_ms() / 1000
}

/// Where the dump lives: `dir`/`dbfilename`.
pub fn rdb_path(cfg: &crate::config::Config) -> PathBuf {
    Path::new(&cfg.dir).join(&cfg.dbfilename)
}

/// Aux fields our dump files carry beyond the writer's defaults.
fn file_aux() -> [(&'static str, String); 1] {
    [("aof-base", "0".to_string())]
}

/// The whole keyspace as an RDB, written while the caller holds the lock.
pub fn write_store(
    store: &Store,
    compress: bool,
    extra_aux: &[(&str, String)],
    out: impl Write,
) -> io::Result<()> {
    let mut w = rdb::RdbWriter::new(out, extra_aux)?;
    w.set_compression(compress);
    for (i, db) in store.dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        w.select_db(i, db.len() as u64, db.expires_len() as u64)?;
        for idx in 0..db.slab_len() {
            if let Some(e) = db.slot_at(idx) {
                w.entry(e.key.as_bytes(), &e.value, e.expire)?;
            }
        }
    }
    w.finish().map(drop)
}

/// SAVE: write the dump synchronously, holding the keyspace lock throughout
/// (what Redis does). Refused while a background save runs.
pub fn save(srv: &Shared, store: &mut Store) -> Result<(), Error> {
    if snapshot::in_progress(store) {
        return Err(Error::err("Background save already in progress"));
    }
    save_now(srv, store).map_err(|_| Error::msg("ERR"))
}

/// A synchronous save whatever runs (SHUTDOWN, FLUSHALL, DEBUG RELOAD call
/// it after cancelling a background save).
pub fn save_now(srv: &Shared, store: &mut Store) -> io::Result<()> {
    let (path, compress) = {
        let c = srv.config.read();
        (rdb_path(&c), c.rdbcompression)
    };
    let t = Instant::now();
    let tmp = format!("temp-{}.rdb", std::process::id());
    // A background save that began before this one must not rename its
    // older file over ours afterwards.
    let _files = srv.persist.file_lock.lock();
    srv.persist.save_gen.fetch_add(1, Ordering::Relaxed);
    let r = crate::fs::write_atomic_with(
        &path,
        &tmp,
        |w| write_store(store, compress, &file_aux(), w),
        || Ok(()),
    );
    let p = &srv.persist;
    match &r {
        Ok(()) => {
            store.dirty = 0;
            srv.last_save.store(now_s(), Ordering::Relaxed);
            p.last_bgsave_failed.store(false, Ordering::Relaxed);
            p.saves.fetch_add(1, Ordering::Relaxed);
            tracing::info!(
                "DB saved on disk ({:.3} seconds)",
                t.elapsed().as_secs_f64()
            );
        }
        Err(e) => tracing::error!("Failed saving the DB: {e}"),
    }
    p.refresh(&srv.config.read());
    r
}

/// BGSAVE: start a background save. Refused (or, with `schedule`, queued)
/// while one runs. Returns true when started, false when scheduled.
pub fn bgsave(srv: &Shared, store: &mut Store, schedule: bool) -> Result<bool, Error> {
    if snapshot::in_progress(store) {
        if schedule {
            srv.persist.bgsave_scheduled.store(true, Ordering::Relaxed);
            return Ok(false);
        }
        return Err(Error::err("Background save already in progress"));
    }
    let Some(me) = srv.arc() else {
        return Err(Error::err("server is shutting down"));
    };
    let (path, compress) = {
        let c = srv.config.read();
        (rdb_path(&c), c.rdbcompression)
    };
    let snap = snapshot::begin_with_compression(store, compress)?;
    let p = &srv.persist;
    p.bgsave_scheduled.store(false, Ordering::Relaxed);
    p.bgsave_in_progress.store(true, Ordering::Relaxed);
    p.bgsave_started_ms
        .store(crate::util::now_ms(), Ordering::Relaxed);
    p.last_bgsave_try.store(now_s(), Ordering::Relaxed);
    p.dirty_at_bgsave.store(store.dirty, Ordering::Relaxed);
    let gen = p.save_gen.load(Ordering::Relaxed);
    tracing::info!("Background saving started");
    let spawned = std::thread::Builder::new()
        .name("bgsave".into())
        .spawn(move || {
            let t = Instant::now();
            let tmp = format!("temp-bg-{}.rdb", std::process::id());
            let p = &me.persist;
            let mut files = None;
            let r = crate::fs::write_atomic_with(
                &path,
                &tmp,
                |w| snap.write_rdb(&me, &file_aux(), w),
                || {
                    // Held until the rename and the directory fsync are done.
                    files = Some(p.file_lock.lock());
                    if p.save_gen.load(Ordering::Relaxed) != gen {
                        return Err(io::Error::new(
                            io::ErrorKind::Interrupted,
                            "a newer synchronous save replaced this snapshot",
                        ));
                    }
                    Ok(())
                },
            );
            drop(files);
            bgsave_done(&me, r, t);
        });
    if let Err(e) = spawned {
        // The Snapshot moved into the failed closure and was dropped: hooks are off.
        p.bgsave_in_progress.store(false, Ordering::Relaxed);
        return Err(Error::err(format!("Can't save in background: {e}")));
    }
    Ok(true)
}

fn bgsave_done(srv: &Shared, r: io::Result<()>, t: Instant) {
    let p = &srv.persist;
    let secs = t.elapsed().as_secs_f64();
    {
        let mut st = srv.store.lock();
        match &r {
            Ok(()) => {
                let before = p.dirty_at_bgsave.load(Ordering::Relaxed);
                st.dirty = st.dirty.saturating_sub(before);
                srv.last_save.store(now_s(), Ordering::Relaxed);
                p.last_bgsave_failed.store(false, Ordering::Relaxed);
                p.saves.fetch_add(1, Ordering::Relaxed);
                tracing::info!("Background saving terminated with success ({secs:.3} seconds)");
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                tracing::warn!("Background saving cancelled: {e}");
            }
            Err(e) => {
                p.last_bgsave_failed.store(true, Ordering::Relaxed);
                tracing::error!("Background saving error: {e}");
            }
        }
        p.last_bgsave_secs
            .store(secs.round() as i64, Ordering::Relaxed);
        p.bgsave_in_progress.store(false, Ordering::Relaxed);
        snapshot::gc(&mut st);
    }
    p.refresh(&srv.config.read());
}

/// Once a second: start a scheduled BGSAVE, or one due by a `save` point.
pub fn cron(srv: &Shared) {
    let points = srv.config.read().save.0.clone();
    let p = &srv.persist;
    let mut st = srv.store.lock();
    if snapshot::in_progress(&st) {
        return;
    }
    snapshot::gc(&mut st);
    if p.bgsave_scheduled.load(Ordering::Relaxed) {
        let _ = bgsave(srv, &mut st, false);
        return;
    }
    let now = now_s();
    let last = srv.last_save.load(Ordering::Relaxed);
    let may_retry = !p.last_bgsave_failed.load(Ordering::Relaxed)
        || now.saturating_sub(p.last_bgsave_try.load(Ordering::Relaxed)) > RETRY_DELAY_S;
    for &(secs, changes) in &points {
        if st.dirty >= changes && now.saturating_sub(last) > secs && may_retry {
            tracing::info!("{changes} changes in {secs} seconds. Saving...");
            if let Err(e) = bgsave(srv, &mut st, false) {
                tracing::warn!("Can't start the background save: {e}");
            }
            break;
        }
    }
}

/// The save on the way out (SIGTERM/SIGINT), when `save` points are set and
/// SHUTDOWN did not already save or refuse to.
pub fn final_save(srv: &Shared) {
    // A running BGSAVE is stopped first (like Redis killing its child); its
    // thread removes its temp file on the way out.
    snapshot::cancel(&mut srv.store.lock());
    let deadline = Instant::now() + std::time::Duration::from_secs(5);
    while srv.persist.bgsave_in_progress.load(Ordering::Relaxed) && Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    if srv.persist.final_save_done.swap(true, Ordering::Relaxed)
        || srv.config.read().save.0.is_empty()
    {
        return;
    }
    let mut st = srv.store.lock();
    snapshot::cancel(&mut st);
    tracing::info!("Saving the final RDB snapshot before exiting.");
    if save_now(srv, &mut st).is_err() {
        tracing::warn!("Error trying to save the DB, can't exit.");
    }
}

/// Load `dir`/`dbfilename` if it exists (startup, before accepting
/// connections): expired keys are dropped. A corrupt file is an error naming
/// the file; the file is never touched.
pub fn load_at_startup(srv: &Shared) -> Result<(), String> {
    let (path, opts) = {
        let c = srv.config.read();
        (rdb_path(&c), rdb::LoadOpts::from_config(&c, true))
    };
    if !path.exists() {
        return Ok(());
    }
    let t = Instant::now();
    let loaded = super::load_file(&path, &opts).map_err(|e| {
        format!(
            "Failed loading the RDB file '{}': {e}. The file was left untouched; \
             fix or move it away to start.",
            path.display()
        )
    })?;
    install(srv, loaded);
    tracing::info!(
        "DB loaded from disk: {:.3} seconds",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Replace the keyspace with a loaded dataset.
fn install(srv: &Shared, loaded: rdb::Loaded) {
    let p = &srv.persist;
    p.last_load_keys_loaded
        .store(loaded.keys, Ordering::Relaxed);
    p.last_load_keys_expired
        .store(loaded.expired_skipped, Ordering::Relaxed);
    tracing::info!(
        "Done loading RDB, keys loaded: {}, keys expired: {}.",
        loaded.keys,
        loaded.expired_skipped
    );
    replace_dbs(&mut srv.store.lock(), loaded.dbs);
}

/// Swap loaded contents into the databases (watchers and blocked clients stay).
fn replace_dbs(store: &mut Store, dbs: Vec<crate::store::Db>) {
    let n = store.dbs.len();
    for (i, mut db) in dbs.into_iter().enumerate().take(n) {
        let old = &mut store.dbs[i];
        db.expire_deletes = old.expire_deletes;
        db.now = old.now;
        drop(old.take_all());
        old.swap_contents(&mut db);
    }
}

/// DEBUG RELOAD: save, empty the keyspace and load the file back.
pub fn debug_reload(srv: &Shared, store: &mut Store) -> Result<(), Error> {
    if snapshot::in_progress(store) {
        return Err(Error::err("Background save already in progress"));
    }
    save_now(srv, store).map_err(|e| Error::err(format!("Error trying to save the DB: {e}")))?;
    let (path, opts) = {
        let c = srv.config.read();
        (rdb_path(&c), rdb::LoadOpts::from_config(&c, false))
    };
    let loaded = super::load_file(&path, &opts)
        .map_err(|e| Error::err(format!("Error trying to load the RDB dump: {e}")))?;
    replace_dbs(store, loaded.dbs);
    Ok(())
}
