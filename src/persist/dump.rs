//! The dump file (`dir`/`dbfilename`): SAVE, BGSAVE, save points, the final
//! save at shutdown and loading at startup.
//!
//! Files are replaced atomically: a temp file in `dir`, fsync, rename over
//! the dump, fsync of the directory. A failed save leaves the previous file
//! alone, removes the temp file, logs the path and the OS error, and sets
//! `rdb_last_bgsave_status:err` (with `stop-writes-on-bgsave-error`, writes
//! then get -MISCONF until a save succeeds).

use super::{rdb, snapshot};
use crate::config::Config;
use crate::error::Error;
use crate::store::{EncodingLimits, Store};
use parking_lot::{Mutex, RwLock};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

pub const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// After a failed background save, automatic saves wait this long (Redis's
/// CONFIG_BGSAVE_RETRY_DELAY).
const RETRY_DELAY_S: u64 = 5;

/// Persistence counters and flags (INFO persistence), outside the keyspace lock.
/// What persistence owns: its state (INFO persistence, MISCONF), its own
/// settings (copied from the config when it changes) and a handle on the
/// keyspace it saves and loads. It never sees the rest of the server.
pub struct Persistence {
    keyspace: Arc<Mutex<Store>>,
    settings: RwLock<Settings>,
    /// Unix seconds of the last successful save (LASTSAVE).
    pub last_save: AtomicU64,
    /// The startup load runs (clients get -LOADING; INFO loading:1).
    loading: AtomicBool,
    pub loading_started: AtomicU64,
    pub loading_total_bytes: AtomicU64,
    pub loading_loaded_bytes: AtomicU64,
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

/// The configuration persistence acts on.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub path: PathBuf,
    pub compress: bool,
    /// `save` points: (seconds, changes).
    pub save_points: Vec<(u64, u64)>,
    pub stop_writes_on_error: bool,
    pub databases: usize,
    pub limits: EncodingLimits,
    pub key_load_delay_us: i64,
}

impl Settings {
    pub fn from_config(c: &Config) -> Settings {
        Settings {
            path: rdb_path(c),
            compress: c.rdbcompression,
            save_points: c.save.0.clone(),
            stop_writes_on_error: c.stop_writes_on_bgsave_error,
            databases: c.databases as usize,
            limits: EncodingLimits::from_config(c),
            key_load_delay_us: c.key_load_delay,
        }
    }

    pub fn load_opts(&self, drop_expired: bool) -> rdb::LoadOpts {
        rdb::LoadOpts {
            databases: self.databases,
            now_ms: crate::util::now_ms(),
            drop_expired,
            limits: self.limits,
            key_load_delay_us: self.key_load_delay_us,
        }
    }
}

impl Persistence {
    pub fn new(keyspace: Arc<Mutex<Store>>, cfg: &Config) -> Self {
        Persistence {
            keyspace,
            settings: RwLock::new(Settings::from_config(cfg)),
            last_save: AtomicU64::new(now_s()),
            loading: AtomicBool::new(false),
            loading_started: AtomicU64::new(0),
            loading_total_bytes: AtomicU64::new(0),
            loading_loaded_bytes: AtomicU64::new(0),
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

impl Persistence {
    /// True when writes must be refused with -MISCONF.
    /// The startup load is about to run: set before the listeners serve, so
    /// no client can see the empty keyspace (`load_at_startup` clears it).
    pub fn begin_loading(&self) {
        self.loading.store(true, Ordering::Relaxed);
    }

    /// The startup load is over (AOF loading: `node` drives it).
    pub fn end_loading(&self) {
        self.loading.store(false, Ordering::Relaxed);
    }

    /// Publish the start of a load of `total` bytes (INFO loading_*).
    pub fn start_loading(&self, total: u64) {
        self.loading_started.store(now_s(), Ordering::Relaxed);
        self.loading_total_bytes.store(total, Ordering::Relaxed);
        self.loading_loaded_bytes.store(0, Ordering::Relaxed);
        self.loading.store(true, Ordering::Relaxed);
    }

    #[inline]
    pub fn loading(&self) -> bool {
        self.loading.load(Ordering::Relaxed)
    }

    #[inline]
    pub fn writes_denied(&self) -> bool {
        self.deny_writes.load(Ordering::Relaxed)
    }

    /// Recompute the MISCONF flag (after a save, or a CONFIG SET).
    /// The config changed: take our settings from it.
    pub fn configure(&self, cfg: &Config) {
        *self.settings.write() = Settings::from_config(cfg);
        self.refresh();
    }

    pub fn settings(&self) -> Settings {
        self.settings.read().clone()
    }

    /// Writes are refused (MISCONF) after a failed save while save points
    /// are set and stop-writes-on-bgsave-error is on.
    fn refresh(&self) {
        let deny = {
            let s = self.settings.read();
            s.stop_writes_on_error && !s.save_points.is_empty()
        } && self.last_bgsave_failed.load(Ordering::Relaxed);
        self.deny_writes.store(deny, Ordering::Relaxed);
    }
}

fn now_s() -> u64 {
    crate::util::now_ms() / 1000
}

/// Where the dump lives: `dir`/`dbfilename`.
pub fn rdb_path(cfg: &Config) -> PathBuf {
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
    for code in &store.functions.codes {
        w.function(code)?;
    }
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

impl Persistence {
    /// SAVE: write the dump synchronously, holding the keyspace lock throughout
    /// (what Redis does). Refused while a background save runs.
    pub fn save(&self, store: &mut Store) -> Result<(), Error> {
        if snapshot::in_progress(store) {
            return Err(Error::err("Background save already in progress"));
        }
        self.save_now(store).map_err(|_| Error::msg("ERR"))
    }

    /// A synchronous save whatever runs (SHUTDOWN, FLUSHALL, DEBUG RELOAD call
    /// it after cancelling a background save).
    pub fn save_now(&self, store: &mut Store) -> io::Result<()> {
        let Settings { path, compress, .. } = self.settings();
        let t = Instant::now();
        let tmp = format!("temp-{}.rdb", std::process::id());
        // A background save that began before this one must not rename its
        // older file over ours afterwards.
        let _files = self.file_lock.lock();
        self.save_gen.fetch_add(1, Ordering::Relaxed);
        let r = crate::fs::write_atomic_with(
            &path,
            &tmp,
            |w| write_store(store, compress, &file_aux(), w),
            || Ok(()),
        );
        let p = self;
        match &r {
            Ok(()) => {
                store.dirty = 0;
                self.last_save.store(now_s(), Ordering::Relaxed);
                p.last_bgsave_failed.store(false, Ordering::Relaxed);
                p.saves.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    "DB saved on disk ({:.3} seconds)",
                    t.elapsed().as_secs_f64()
                );
            }
            Err(e) => tracing::error!("Failed saving the DB: {e}"),
        }
        p.refresh();
        r
    }

    /// BGSAVE: start a background save. Refused (or, with `schedule`, queued)
    /// while one runs. Returns true when started, false when scheduled.
    pub fn bgsave(self: &Arc<Self>, store: &mut Store, schedule: bool) -> Result<bool, Error> {
        if snapshot::in_progress(store) {
            if schedule {
                self.bgsave_scheduled.store(true, Ordering::Relaxed);
                return Ok(false);
            }
            return Err(Error::err("Background save already in progress"));
        }
        let me = self.clone();
        let Settings { path, compress, .. } = self.settings();
        let snap = snapshot::begin_with_compression(store, compress)?;
        let p = self;
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
                let p = &*me;
                let mut files = None;
                let r = crate::fs::write_atomic_with(
                    &path,
                    &tmp,
                    |w| snapshot::write_rdb(snap, &me.keyspace, &file_aux(), w),
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
                me.bgsave_done(r, t);
            });
        if let Err(e) = spawned {
            // The Snapshot moved into the failed closure and was dropped: hooks are off.
            p.bgsave_in_progress.store(false, Ordering::Relaxed);
            return Err(Error::err(format!("Can't save in background: {e}")));
        }
        Ok(true)
    }

    fn bgsave_done(&self, r: io::Result<()>, t: Instant) {
        let p = self;
        let secs = t.elapsed().as_secs_f64();
        {
            let mut st = self.keyspace.lock();
            match &r {
                Ok(()) => {
                    let before = p.dirty_at_bgsave.load(Ordering::Relaxed);
                    st.dirty = st.dirty.saturating_sub(before);
                    self.last_save.store(now_s(), Ordering::Relaxed);
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
        p.refresh();
    }

    /// Once a second: start a scheduled BGSAVE, or one due by a `save` point.
    pub fn cron(self: &Arc<Self>) {
        let points = self.settings.read().save_points.clone();
        let p = self;
        let mut st = self.keyspace.lock();
        if snapshot::in_progress(&st) {
            return;
        }
        snapshot::gc(&mut st);
        if p.bgsave_scheduled.load(Ordering::Relaxed) {
            let _ = self.bgsave(&mut st, false);
            return;
        }
        let now = now_s();
        let last = self.last_save.load(Ordering::Relaxed);
        let may_retry = !p.last_bgsave_failed.load(Ordering::Relaxed)
            || now.saturating_sub(p.last_bgsave_try.load(Ordering::Relaxed)) > RETRY_DELAY_S;
        for &(secs, changes) in &points {
            if st.dirty >= changes && now.saturating_sub(last) > secs && may_retry {
                tracing::info!("{changes} changes in {secs} seconds. Saving...");
                if let Err(e) = self.bgsave(&mut st, false) {
                    tracing::warn!("Can't start the background save: {e}");
                }
                break;
            }
        }
    }

    /// The save on the way out (SIGTERM/SIGINT), when `save` points are set and
    /// SHUTDOWN did not already save or refuse to.
    pub fn final_save(&self) {
        // A running BGSAVE is stopped first (like Redis killing its child); its
        // thread removes its temp file on the way out.
        snapshot::cancel(&mut self.keyspace.lock());
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        while self.bgsave_in_progress.load(Ordering::Relaxed) && Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        if self.final_save_done.swap(true, Ordering::Relaxed)
            || self.settings.read().save_points.is_empty()
        {
            return;
        }
        let mut st = self.keyspace.lock();
        snapshot::cancel(&mut st);
        tracing::info!("Saving the final RDB snapshot before exiting.");
        if self.save_now(&mut st).is_err() {
            tracing::warn!("Error trying to save the DB, can't exit.");
        }
    }

    /// Load `dir`/`dbfilename` if it exists (startup, before accepting
    /// connections): expired keys are dropped. A corrupt file is an error naming
    /// the file; the file is never touched.
    pub fn load_at_startup(&self) -> Result<(), String> {
        let (path, opts) = {
            let s = self.settings.read();
            (s.path.clone(), s.load_opts(true))
        };
        if !path.exists() {
            self.loading.store(false, Ordering::Relaxed);
            return Ok(());
        }
        let t = Instant::now();
        let total = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        self.loading_started.store(now_s(), Ordering::Relaxed);
        self.loading_total_bytes.store(total, Ordering::Relaxed);
        self.loading_loaded_bytes.store(0, Ordering::Relaxed);
        self.loading.store(true, Ordering::Relaxed);
        let loaded = super::load_file_progress(&path, &opts, &self.loading_loaded_bytes);
        if loaded.is_ok() {
            // Swapped in before the flag drops: no client sees an empty keyspace.
        } else {
            self.loading.store(false, Ordering::Relaxed);
        }
        let loaded = loaded.map_err(|e| {
            format!(
                "Failed loading the RDB file '{}': {e}. The file was left untouched; \
                 fix or move it away to start.",
                path.display()
            )
        })?;
        self.install(loaded);
        self.loading.store(false, Ordering::Relaxed);
        tracing::info!(
            "DB loaded from disk: {:.3} seconds",
            t.elapsed().as_secs_f64()
        );
        Ok(())
    }

    /// Replace the keyspace with a loaded dataset.
    pub fn install(&self, loaded: rdb::Loaded) {
        let p = self;
        p.last_load_keys_loaded
            .store(loaded.keys, Ordering::Relaxed);
        p.last_load_keys_expired
            .store(loaded.expired_skipped, Ordering::Relaxed);
        tracing::info!(
            "Done loading RDB, keys loaded: {}, keys expired: {}.",
            loaded.keys,
            loaded.expired_skipped
        );
        let mut store = self.keyspace.lock();
        set_functions(&mut store, loaded.functions);
        replace_dbs(&mut store, loaded.dbs);
    }

    /// DEBUG RELOAD: save, empty the keyspace and load the file back.
    pub fn debug_reload(&self, store: &mut Store) -> Result<(), Error> {
        if snapshot::in_progress(store) {
            return Err(Error::err("Background save already in progress"));
        }
        self.save_now(store)
            .map_err(|e| Error::err(format!("Error trying to save the DB: {e}")))?;
        let (path, opts) = {
            let s = self.settings.read();
            (s.path.clone(), s.load_opts(false))
        };
        let loaded = super::load_file(&path, &opts)
            .map_err(|e| Error::err(format!("Error trying to load the RDB dump: {e}")))?;
        set_functions(store, loaded.functions);
        replace_dbs(store, loaded.dbs);
        Ok(())
    }
}

/// The loaded function libraries replace ours (compiled on first use).
pub fn set_functions(store: &mut Store, codes: Vec<Vec<u8>>) {
    store.functions =
        crate::store::FunctionCode::new(codes.into_iter().map(bytes::Bytes::from).collect());
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
