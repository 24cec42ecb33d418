//! Persistence: the RDB codec (`rdb`), point-in-time snapshots (`snapshot`)
//! and the dump file on disk.

pub mod aof;
pub mod rdb;

// ---- snapshots and the dump file (wip-snap) ----
pub mod dump;
pub mod snapshot;

use rdb::{LoadOpts, Loaded, RdbError};
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Load an RDB file from disk, counting the bytes read into `progress`
/// (INFO loading_loaded_bytes) as it goes.
pub fn load_file_progress(
    path: &Path,
    opts: &LoadOpts,
    progress: &AtomicU64,
) -> Result<Loaded, RdbError> {
    let f = std::fs::File::open(path).map_err(RdbError::from)?;
    let counted = Counted { inner: f, progress };
    rdb::load_bufread(
        &mut std::io::BufReader::with_capacity(1 << 20, counted),
        opts,
    )
}

/// A reader that publishes how much it read (one relaxed add per 1 MB read).
struct Counted<'a, R> {
    inner: R,
    progress: &'a AtomicU64,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Load an RDB file from disk.
pub fn load_file(path: &Path, opts: &LoadOpts) -> Result<Loaded, RdbError> {
    let f = std::fs::File::open(path).map_err(RdbError::from)?;
    rdb::load_bufread(&mut std::io::BufReader::with_capacity(1 << 20, f), opts)
}
