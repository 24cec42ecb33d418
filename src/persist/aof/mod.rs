//! Redis 7.0's append-only file: multi-part (a BASE plus INCR files listed
//! by a manifest in `appenddirname`), fed by the one propagation hook
//! (`store::Propagator`, the same effects replicas get, in the same total
//! order), written and fsynced by its own thread (`writer`), rewritten
//! without fork from the snapshot cursor (`rewrite`), loaded at startup
//! (`loader`).
//!
//! Durability by `appendfsync`:
//! - `always`: a reply leaves only once everything appended before it is
//!   fsynced (connections wait on `wait_synced`; one fsync covers every
//!   client's writes buffered meanwhile: group commit).
//! - `everysec`: replies wait until the writes before them are written
//!   (`write(2)`, as Redis writes before replying), fsync once a second in
//!   the background: a killed process loses nothing, a power cut about the
//!   last second (more if the disk stalls: writes are postponed up to 2 s).
//! - `no`: written before the reply; the OS decides when it reaches the disk.

pub mod loader;
pub mod manifest;
pub mod rewrite;
pub mod writer;

use crate::config::Config;
use crate::store::{EncodingLimits, Store};
use manifest::Manifest;
use parking_lot::{Mutex, RwLock};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use writer::{Fsync, Mark, Pipe};

/// The AOF's settings, copied from the config when it changes.
#[derive(Clone, Debug)]
pub struct Settings {
    pub enabled: bool,
    /// `dir`/`appenddirname`.
    pub dir: PathBuf,
    pub filename: String,
    pub fsync: Fsync,
    pub no_fsync_on_rewrite: bool,
    pub preamble: bool,
    pub load_truncated: bool,
    pub timestamps: bool,
    pub auto_pct: i64,
    pub auto_min_size: i64,
    pub compress: bool,
    pub databases: usize,
    pub limits: EncodingLimits,
}

impl Settings {
    pub fn from_config(c: &Config) -> Settings {
        Settings {
            enabled: c.appendonly,
            dir: Path::new(&c.dir).join(&c.appenddirname),
            filename: c.appendfilename.clone(),
            fsync: Fsync::parse(&c.appendfsync),
            no_fsync_on_rewrite: c.no_appendfsync_on_rewrite,
            preamble: c.aof_use_rdb_preamble,
            load_truncated: c.aof_load_truncated,
            timestamps: c.aof_timestamp_enabled,
            auto_pct: c.auto_aof_rewrite_percentage,
            auto_min_size: c.auto_aof_rewrite_min_size,
            compress: c.rdbcompression,
            databases: c.databases as usize,
            limits: EncodingLimits::from_config(c),
        }
    }

    pub fn manifest_path(&self) -> PathBuf {
        self.dir.join(format!("{}.manifest", self.filename))
    }
}

/// The AOF's state (INFO persistence's aof_* fields, MISCONF) and machinery.
pub struct Aof {
    keyspace: Arc<Mutex<Store>>,
    pub settings: RwLock<Settings>,
    pub pipe: Arc<Pipe>,
    manifest: Mutex<Manifest>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// The open INCR file (the writer thread's; connections may write inline).
    out: Mutex<Option<writer::Out>>,
    /// aof_enabled: the sink is attached and a writer runs.
    pub on: AtomicBool,
    pub rewrite_in_progress: AtomicBool,
    pub rewrite_scheduled: AtomicBool,
    pub rewrite_started_ms: AtomicU64,
    pub last_rewrite_secs: AtomicI64,
    pub last_rewrite_failed: AtomicBool,
    pub rewrites: AtomicU64,
    pub rewrite_failures: AtomicU64,
    /// The last write (or fsync) failed: writes are refused until one works.
    write_failed: AtomicBool,
    write_error: Mutex<String>,
    pub delayed_fsync: AtomicU64,
    /// everysec: the writer waited 2 s for a stalled fsync; clients now wait for writes.
    pub stalled: AtomicBool,
    /// everysec: writes are postponed behind a running fsync (under 2 s):
    /// replies go out meanwhile, as Redis's do.
    pub postponing: AtomicBool,
    pub base_size: AtomicU64,
    /// Bytes of INCR files before the current one, and of the current one.
    pub old_incr_size: AtomicU64,
    pub cur_incr_size: AtomicU64,
    /// The INCR file the writer currently appends to.
    current_incr: Mutex<String>,
}

impl Aof {
    pub fn new(keyspace: Arc<Mutex<Store>>, cfg: &Config) -> Aof {
        let s = Settings::from_config(cfg);
        let pipe = Arc::new(Pipe::default());
        pipe.timestamps.store(s.timestamps, Ordering::Relaxed);
        Aof {
            keyspace,
            settings: RwLock::new(s),
            pipe,
            manifest: Mutex::new(Manifest::default()),
            writer: Mutex::new(None),
            out: Mutex::new(None),
            on: AtomicBool::new(false),
            rewrite_in_progress: AtomicBool::new(false),
            rewrite_scheduled: AtomicBool::new(false),
            rewrite_started_ms: AtomicU64::new(0),
            last_rewrite_secs: AtomicI64::new(-1),
            last_rewrite_failed: AtomicBool::new(false),
            rewrites: AtomicU64::new(0),
            rewrite_failures: AtomicU64::new(0),
            write_failed: AtomicBool::new(false),
            write_error: Mutex::new(String::new()),
            delayed_fsync: AtomicU64::new(0),
            stalled: AtomicBool::new(false),
            postponing: AtomicBool::new(false),
            base_size: AtomicU64::new(0),
            old_incr_size: AtomicU64::new(0),
            cur_incr_size: AtomicU64::new(0),
            current_incr: Mutex::new(String::new()),
        }
    }

    /// The config changed: take the settings (turning the AOF on or off is
    /// `apply_appendonly`, which needs the keyspace).
    pub fn configure(&self, cfg: &Config) {
        let s = Settings::from_config(cfg);
        self.pipe.timestamps.store(s.timestamps, Ordering::Relaxed);
        *self.settings.write() = s;
    }

    pub fn enabled(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// -MISCONF text while AOF writes fail, as Redis 7.0.
    pub fn write_error(&self) -> Option<String> {
        if !self.write_failed.load(Ordering::Relaxed) {
            return None;
        }
        Some(format!(
            "MISCONF Errors writing to the AOF file: {}",
            self.write_error.lock()
        ))
    }

    pub fn write_ok(&self) -> bool {
        !self.write_failed.load(Ordering::Relaxed)
    }

    fn note_write_error(&self, e: &io::Error) {
        let text = os_text(e);
        if !self.write_failed.swap(true, Ordering::Relaxed) {
            tracing::warn!("Error writing to the AOF file: {text}");
        }
        *self.write_error.lock() = text;
    }

    fn note_write_ok(&self) {
        if self.write_failed.swap(false, Ordering::Relaxed) {
            tracing::warn!("AOF write error looks solved, Redis can write again.");
        }
    }

    pub fn current_size(&self) -> u64 {
        self.base_size.load(Ordering::Relaxed)
            + self.old_incr_size.load(Ordering::Relaxed)
            + self.cur_incr_size.load(Ordering::Relaxed)
    }

    /// aof_buffer_length: bytes appended but not yet written.
    pub fn buffer_length(&self) -> u64 {
        let w = self.pipe.progress.borrow().written;
        self.pipe.appended.load(Ordering::Relaxed).saturating_sub(w)
    }

    /// The offset a connection must wait for before its replies leave, if
    /// any: everything appended so far must be written (as Redis writes its
    /// AOF buffer before replying: a killed process loses no acknowledged
    /// write), with `always` also fsynced. Read after the batch (its writes
    /// are appended by then; later ones only make the wait a bit longer).
    /// While writes fail, `everysec`/`no` replies go out (as Redis: later
    /// writes get MISCONF); `always` replies wait for the disk.
    pub fn reply_barrier(&self) -> Option<(u64, bool)> {
        if !self.on.load(Ordering::Relaxed) {
            return None;
        }
        let end = self.pipe.appended.load(Ordering::Acquire);
        let p = *self.pipe.progress.borrow();
        if p.synced >= end {
            return None;
        }
        match self.settings.read().fsync {
            Fsync::Always => Some((end, true)),
            Fsync::EverySec
                if self.postponing.load(Ordering::Relaxed)
                    && !self.stalled.load(Ordering::Relaxed) =>
            {
                None
            }
            _ if p.written < end && self.write_ok() => Some((end, false)),
            _ => None,
        }
    }

    /// Wait until `offset` is fsynced (`synced`) or written (written here
    /// when the writer is not busy: no thread hand-off on the reply path).
    pub async fn wait(&self, offset: u64, synced: bool) {
        if !synced && writer::write_inline(self) && self.pipe.progress.borrow().written >= offset {
            return;
        }
        let mut rx = self.pipe.progress.subscribe();
        let _ = rx
            .wait_for(|p| {
                (if synced { p.synced } else { p.written }) >= offset
                    || !self.on.load(Ordering::Relaxed)
                    || (!synced && !self.write_ok())
            })
            .await;
    }

    /// The writer reached a Rotate mark: fsync and leave the old file, open
    /// the new INCR file, and (a live AOF) add it to the manifest.
    fn rotate(&self, file: &mut std::fs::File, name: &str, persist: bool) -> io::Result<()> {
        let _ = file.sync_data();
        let s = self.settings.read().clone();
        let new = writer::open_append(&s.dir.join(name))?;
        if persist {
            let mut m = self.manifest.lock();
            let mut next = m.clone();
            if next.incrs.last().map(|e| e.name.as_str()) != Some(name) {
                let e = next.add_incr(&s.filename);
                debug_assert_eq!(e.name, name);
            }
            next.persist(&s.manifest_path())?;
            *m = next;
        }
        tracing::info!("Creating AOF incr file {name} on background rewrite");
        *file = new;
        *self.current_incr.lock() = name.to_string();
        self.old_incr_size.fetch_add(
            self.cur_incr_size.swap(0, Ordering::Relaxed),
            Ordering::Relaxed,
        );
        Ok(())
    }

    /// Attach the sink and start the writer on `file` (the last INCR file).
    /// Call with the keyspace lock held.
    fn start_writer(self: &Arc<Self>, store: &mut Store, file: std::fs::File, incr: &str) {
        let start = self.pipe.appended.load(Ordering::Acquire);
        {
            let mut p = self.pipe.pending.lock();
            debug_assert!(p.data.is_empty());
            p.start = start;
        }
        self.pipe.progress.send_modify(|pr| {
            pr.written = start;
            pr.synced = start;
        });
        *self.current_incr.lock() = incr.to_string();
        store
            .repl
            .set_aof(Some(Box::new(writer::Feed(self.pipe.clone()))));
        let me = self.clone();
        let h = std::thread::Builder::new()
            .name("aof-writer".into())
            .spawn(move || writer::run(me, file, start))
            .expect("spawning the AOF writer thread");
        *self.writer.lock() = Some(h);
        self.on.store(true, Ordering::Relaxed);
    }

    /// Detach the sink; the writer flushes, fsyncs and ends. Keyspace lock held.
    fn stop_writer(&self, store: &mut Store) -> Option<std::thread::JoinHandle<()>> {
        store.repl.set_aof(None);
        let h = self.writer.lock().take();
        if h.is_some() {
            self.pipe.mark(Mark::Stop);
        }
        self.on.store(false, Ordering::Relaxed);
        self.pipe.progress.send_modify(|_| {});
        h
    }

    /// Flush and fsync what is buffered and stop (shutdown, appendonly no).
    pub fn shutdown(&self) {
        let h = self.stop_writer(&mut self.keyspace.lock());
        if let Some(h) = h {
            let _ = h.join();
        }
    }

    /// Once a second: a scheduled or automatic rewrite.
    pub fn cron(self: &Arc<Self>) {
        if !self.enabled() || self.rewrite_in_progress.load(Ordering::Relaxed) {
            return;
        }
        let s = self.settings.read().clone();
        let mut st = self.keyspace.lock();
        if crate::persist::snapshot::in_progress(&st) {
            return;
        }
        if self.rewrite_scheduled.load(Ordering::Relaxed) {
            let _ = self.start_rewrite(&mut st);
            return;
        }
        let cur = self.current_size();
        let base = self.base_size.load(Ordering::Relaxed).max(1);
        if s.auto_pct > 0 && cur as i64 > s.auto_min_size {
            let growth = (cur.saturating_sub(base)) * 100 / base;
            if growth as i64 >= s.auto_pct && !self.last_rewrite_failed.load(Ordering::Relaxed) {
                tracing::info!("Starting automatic rewriting of AOF on {growth}% growth");
                let _ = self.start_rewrite(&mut st);
            }
        }
    }
}

/// An OS error as strerror() says it (Redis's error texts carry no "(os error N)").
pub fn os_text(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}
