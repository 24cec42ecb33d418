//! The one atomic file write: anything that must survive a crash (RDB
//! dumps, CONFIG REWRITE, the sentinel's state, pidfiles) is written to a
//! temp file in the same directory, fsynced, renamed over the old one, and
//! the directory fsynced, so after a crash either the old or the new
//! content is there, never a mix.

use std::io::{self, BufWriter, Write};
use std::path::Path;

/// Write `path` atomically through a temp file named `tmp_name` in the same
/// directory: write, fsync, rename, fsync the directory. On failure the temp
/// file is removed and the old file is untouched; errors name the file.
/// `may_commit` runs just before the rename (a last chance to give up).
pub fn write_atomic_with(
    path: &Path,
    tmp_name: &str,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    may_commit: impl FnOnce() -> io::Result<()>,
) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(tmp_name);
    let ctx = |what: &str, p: &Path, e: io::Error| {
        io::Error::new(e.kind(), format!("{what} '{}': {e}", p.display()))
    };
    let r = (|| {
        let f = std::fs::File::create(&tmp).map_err(|e| ctx("creating", &tmp, e))?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        write(&mut w).map_err(|e| ctx("writing", &tmp, e))?;
        let f = w
            .into_inner()
            .map_err(|e| ctx("writing", &tmp, e.into_error()))?;
        f.sync_all().map_err(|e| ctx("fsync of", &tmp, e))?;
        drop(f);
        may_commit()?;
        std::fs::rename(&tmp, path).map_err(|e| ctx("renaming the temp file to", path, e))?;
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| ctx("fsync of directory", dir, e))
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

/// `write_atomic_with` for bytes already in memory, with a temp name of
/// its own (`.<name>.tmp-<pid>`).
pub fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let tmp = format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    );
    write_atomic_with(path, &tmp, |w| w.write_all(data), || Ok(()))
}
