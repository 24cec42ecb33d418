//! Persistence: the RDB codec (`rdb`), point-in-time snapshots (`snapshot`)
//! and the dump file on disk.

pub mod rdb;

// ---- snapshots and the dump file (wip-snap) ----
pub mod dump;
pub mod snapshot;

use rdb::{LoadOpts, Loaded, RdbError};
use std::path::Path;

/// Load an RDB file from disk.
pub fn load_file(path: &Path, opts: &LoadOpts) -> Result<Loaded, RdbError> {
    let f = std::fs::File::open(path).map_err(RdbError::from)?;
    rdb::load_bufread(&mut std::io::BufReader::with_capacity(1 << 20, f), opts)
}
