//! The AOF writer: the buffer the keyspace critical section appends to, and
//! the thread that moves it to the current INCR file and fsyncs it.
//!
//! Invariants:
//! - Under the keyspace lock only `Feed::feed` runs: a memcpy into `Pipe`
//!   (its own short mutex) and a condvar notify. Every byte has an absolute
//!   offset (`appended`); a rewrite puts a `Rotate` mark at an offset.
//! - The writer thread takes everything buffered at once, writes it, and
//!   (`appendfsync always`) fsyncs once for all of it: group commit. It then
//!   publishes `(written, synced)`; connections wait for `synced` to pass the
//!   offset of their batch before their replies go out.
//! - `everysec`: a second thread fsyncs once a second. If that fsync is still
//!   running, writes are postponed up to 2 s, then done anyway (counted in
//!   `aof_delayed_fsync`), and from then on connections wait for `written`.
//! - A failed write is undone (the file is truncated back), the data stays
//!   buffered and is retried every 100 ms; meanwhile writes are refused
//!   (MISCONF). Acknowledged writes are never dropped.

use super::Aof;
use parking_lot::{Condvar, Mutex};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fsync {
    Always,
    EverySec,
    No,
}

impl Fsync {
    pub fn parse(s: &str) -> Fsync {
        match s {
            "always" => Fsync::Always,
            "no" => Fsync::No,
            _ => Fsync::EverySec,
        }
    }
}

/// What the writer does at an offset besides writing.
#[derive(Debug)]
pub enum Mark {
    /// From here on, write to this new INCR file. `persist`: add it to the
    /// manifest now (a rewrite of a live AOF) or leave that to the rewrite
    /// (the AOF is being turned on: no manifest until its BASE exists).
    Rotate { name: String, persist: bool },
    /// Flush, fsync, close the file and end the thread (appendonly no).
    Stop,
}

#[derive(Default)]
pub struct Pending {
    pub data: Vec<u8>,
    /// Absolute offset of `data[0]`.
    pub start: u64,
    pub marks: VecDeque<(u64, Mark)>,
    /// Unix second of the last `#TS:` annotation.
    last_ts: u64,
}

/// Progress the connections wait on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub written: u64,
    pub synced: u64,
}

pub struct Pipe {
    pub pending: Mutex<Pending>,
    pub cv: Condvar,
    /// Total bytes ever appended (the absolute end offset).
    pub appended: AtomicU64,
    pub timestamps: AtomicBool,
    pub progress: tokio::sync::watch::Sender<Progress>,
}

impl Default for Pipe {
    fn default() -> Self {
        Pipe {
            pending: Mutex::new(Pending::default()),
            cv: Condvar::new(),
            appended: AtomicU64::new(0),
            timestamps: AtomicBool::new(false),
            progress: tokio::sync::watch::channel(Progress::default()).0,
        }
    }
}

impl Pipe {
    pub fn append(&self, bytes: &[u8]) {
        let mut p = self.pending.lock();
        let mut added = bytes.len();
        if self.timestamps.load(Ordering::Relaxed) {
            let now = crate::util::now_ms() / 1000;
            if now > p.last_ts {
                p.last_ts = now;
                let ts = format!("#TS:{now}\r\n");
                p.data.extend_from_slice(ts.as_bytes());
                added += ts.len();
            }
        }
        p.data.extend_from_slice(bytes);
        self.appended.fetch_add(added as u64, Ordering::Release);
        drop(p);
        self.cv.notify_one();
    }

    /// Put a mark at the current end (call with the keyspace lock held, so
    /// the mark sits exactly between two commands in write order).
    pub fn mark(&self, m: Mark) {
        let mut p = self.pending.lock();
        let at = self.appended.load(Ordering::Acquire);
        p.marks.push_back((at, m));
        drop(p);
        self.cv.notify_one();
    }

    fn publish(&self, f: impl FnOnce(&mut Progress)) {
        self.progress.send_modify(f);
    }
}

/// The propagation hook's AOF sink (`store::AofSink`).
pub struct Feed(pub Arc<Pipe>);

impl crate::store::AofSink for Feed {
    fn feed(&mut self, stream: &[u8]) {
        self.0.append(stream);
    }
}

/// Open an INCR file for appending.
pub fn open_append(path: &std::path::Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("opening '{}': {e}", path.display())))
}

/// The open INCR file and how far the stream is in it. Whoever writes
/// (the writer thread, or a connection writing inline) holds its lock from
/// taking the pending bytes to writing them, so the file keeps write order.
pub struct Out {
    file: File,
    file_len: u64,
    written: u64,
}

/// Take what is pending and write it (Rotate marks switch files; a Stop
/// mark ends: Ok(true)). On a failure the unwritten rest goes back in front
/// of the buffer. `inline` (a connection, `everysec`/`no`): only when no
/// mark is pending (marks are the thread's).
fn write_pending(aof: &Aof, out: &mut Out, inline: bool) -> io::Result<bool> {
    let pipe = &aof.pipe;
    let (data, start, mut marks) = {
        let mut p = pipe.pending.lock();
        if inline && !p.marks.is_empty() {
            return Ok(false);
        }
        let data = std::mem::take(&mut p.data);
        let start = p.start;
        p.start = start + data.len() as u64;
        (data, start, std::mem::take(&mut p.marks))
    };
    debug_assert_eq!(start, out.written);
    let mut pos = 0usize;
    let mut stop = false;
    let mut failed: Option<io::Error> = None;
    while let Some(at) = marks.front().map(|m| m.0) {
        let cut = (at - start) as usize;
        if let Err(e) = write_chunk(aof, &mut out.file, &mut out.file_len, &data[pos..cut]) {
            failed = Some(e);
            break;
        }
        out.written += (cut - pos) as u64;
        pos = cut;
        let (_, m) = marks.pop_front().expect("front");
        match m {
            Mark::Stop => {
                stop = true;
                break;
            }
            Mark::Rotate { name, persist } => match aof.rotate(&mut out.file, &name, persist) {
                Ok(()) => out.file_len = 0,
                Err(e) => {
                    marks.push_front((at, Mark::Rotate { name, persist }));
                    failed = Some(e);
                    break;
                }
            },
        }
    }
    if failed.is_none() && !stop {
        match write_chunk(aof, &mut out.file, &mut out.file_len, &data[pos..]) {
            Ok(()) => {
                out.written += (data.len() - pos) as u64;
                pos = data.len();
            }
            Err(e) => failed = Some(e),
        }
    }
    if let Some(e) = failed {
        // write_chunk truncated a partial write back: requeue what was not
        // written, in front, for a later retry.
        let mut p = pipe.pending.lock();
        let mut rest = data[pos..].to_vec();
        rest.extend_from_slice(&p.data);
        p.data = rest;
        p.start = out.written;
        while let Some(m) = marks.pop_back() {
            p.marks.push_front(m);
        }
        drop(p);
        aof.note_write_error(&e);
        let w = out.written;
        pipe.publish(|pr| pr.written = w);
        return Err(e);
    }
    aof.note_write_ok();
    Ok(stop)
}

/// A connection's reply waits for `write(2)` (`everysec`/`no`): write the
/// pending bytes here rather than wait for the thread to wake up, when no
/// one else is writing. Returns true when it wrote.
pub fn write_inline(aof: &Aof) -> bool {
    let Some(mut g) = aof.out.try_lock() else {
        return false;
    };
    let Some(out) = g.as_mut() else {
        return false;
    };
    if write_pending(aof, out, true).is_err() {
        return false;
    }
    let w = out.written;
    let no = aof.settings.read().fsync == Fsync::No;
    aof.pipe.publish(|pr| {
        pr.written = w;
        if no {
            pr.synced = w;
        }
    });
    true
}

/// The writer thread: runs until a `Stop` mark (or the server exits).
pub fn run(aof: Arc<Aof>, file: File, start_offset: u64) {
    let pipe = aof.pipe.clone();
    let file_len = file.metadata().map(|m| m.len()).unwrap_or(0);
    *aof.out.lock() = Some(Out {
        file,
        file_len,
        written: start_offset,
    });
    let fsyncer = Fsyncer::start(aof.clone());
    let mut last_fsync = Instant::now();
    let mut postponed: Option<Instant> = None;
    loop {
        let policy = aof.settings.read().fsync;
        // everysec: don't write behind a running fsync (the write would block
        // on it) for up to 2 s, as Redis.
        if policy == Fsync::EverySec && fsyncer.busy() {
            let since = *postponed.get_or_insert_with(Instant::now);
            if since.elapsed() < Duration::from_secs(2) {
                aof.postponing.store(true, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
            if pipe.appended.load(Ordering::Acquire) > pipe.progress.borrow().written {
                aof.delayed_fsync.fetch_add(1, Ordering::Relaxed);
            }
            if !aof.stalled.swap(true, Ordering::Relaxed) {
                tracing::warn!("Asynchronous AOF fsync is taking too long (disk is busy?). Writing the AOF buffer without waiting for fsync to complete, this may slow down Redis.");
            }
        } else {
            postponed = None;
            aof.postponing.store(false, Ordering::Relaxed);
            aof.stalled.store(false, Ordering::Relaxed);
        }
        {
            let mut p = pipe.pending.lock();
            if p.data.is_empty() && p.marks.is_empty() {
                pipe.cv.wait_for(&mut p, Duration::from_millis(100));
            }
        }
        let mut g = aof.out.lock();
        let out = g.as_mut().expect("the writer's file");
        let stop = match write_pending(&aof, out, false) {
            Ok(stop) => stop,
            Err(_) => {
                drop(g);
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        let written = out.written;
        if stop {
            let _ = out.file.sync_data();
            *g = None;
            pipe.publish(|pr| {
                pr.written = written;
                pr.synced = written;
            });
            fsyncer.stop();
            return;
        }
        let skip_fsync = aof.settings.read().no_fsync_on_rewrite
            && aof.rewrite_in_progress.load(Ordering::Relaxed);
        match policy {
            Fsync::Always if !skip_fsync => {
                if pipe.progress.borrow().synced < written {
                    if let Err(e) = out.file.sync_data() {
                        // Redis exits here; we keep the data and refuse writes until it works.
                        aof.note_write_error(&e);
                        pipe.publish(|pr| pr.written = written);
                        drop(g);
                        std::thread::sleep(Duration::from_millis(100));
                        continue;
                    }
                }
                pipe.publish(|pr| {
                    pr.written = written;
                    pr.synced = written;
                });
            }
            Fsync::EverySec if !skip_fsync => {
                pipe.publish(|pr| pr.written = pr.written.max(written));
                if last_fsync.elapsed() >= Duration::from_secs(1)
                    && !fsyncer.busy()
                    && pipe.progress.borrow().synced < written
                {
                    if let Ok(f) = out.file.try_clone() {
                        fsyncer.request(f, written);
                        last_fsync = Instant::now();
                    }
                }
            }
            // `no`, or a rewrite runs with no-appendfsync-on-rewrite: the OS flushes.
            _ => pipe.publish(|pr| {
                pr.written = written;
                pr.synced = written;
            }),
        }
    }
}

/// Write all of `bytes`; on failure truncate the file back to where it was.
fn write_chunk(aof: &Aof, file: &mut File, file_len: &mut u64, bytes: &[u8]) -> io::Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    match file.write_all(bytes) {
        Ok(()) => {
            *file_len += bytes.len() as u64;
            aof.cur_incr_size.store(*file_len, Ordering::Relaxed);
            Ok(())
        }
        Err(e) => {
            if let Err(t) = file.set_len(*file_len) {
                tracing::warn!("Could not remove short write from the append-only file: {t}");
            }
            Err(e)
        }
    }
}

/// everysec's background fsync (Redis's bio fsync job).
struct Fsyncer {
    tx: std::sync::mpsc::Sender<Option<(File, u64)>>,
    busy: Arc<AtomicBool>,
}

impl Fsyncer {
    fn start(aof: Arc<Aof>) -> Fsyncer {
        let (tx, rx) = std::sync::mpsc::channel::<Option<(File, u64)>>();
        let busy = Arc::new(AtomicBool::new(false));
        let b = busy.clone();
        let _ = std::thread::Builder::new()
            .name("aof-fsync".into())
            .spawn(move || {
                while let Ok(Some((f, upto))) = rx.recv() {
                    match f.sync_data() {
                        Ok(()) => aof.pipe.publish(|pr| pr.synced = pr.synced.max(upto)),
                        Err(e) => tracing::warn!("AOF fsync failed: {e}"),
                    }
                    b.store(false, Ordering::Release);
                }
            });
        Fsyncer { tx, busy }
    }

    fn busy(&self) -> bool {
        self.busy.load(Ordering::Acquire)
    }

    fn request(&self, f: File, upto: u64) {
        self.busy.store(true, Ordering::Release);
        if self.tx.send(Some((f, upto))).is_err() {
            self.busy.store(false, Ordering::Release);
        }
    }

    fn stop(&self) {
        let _ = self.tx.send(None);
    }
}
