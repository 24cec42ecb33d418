//! Loading the AOF at startup: the manifest's files in order, the BASE as an
//! RDB (preamble) or commands, then each INCR file's commands, handed to
//! the caller to execute (the node runs them through the executor, as its
//! master's stream). `#` lines are annotations (`#TS:`) and are skipped.
//!
//! A last file that ends inside a command (or inside MULTI) is cut back to
//! the last complete command (transaction) when `aof-load-truncated yes`,
//! and the cut is logged; anything else (a corrupt record, a short file
//! that is not the last) refuses to start, naming the file and the offset.

use super::manifest::Manifest;
use crate::persist::rdb;
use bytes::Bytes;
use std::io::{BufRead, BufReader, Read, Seek};
use std::path::Path;

/// One parse step over a file's command part.
#[derive(Debug, PartialEq)]
pub enum Step {
    Cmd(Vec<Bytes>, usize),
    Annotation(usize),
    Eof,
    Truncated,
    Bad(&'static str),
}

fn line(buf: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let rest = &buf[pos..];
    let i = rest.windows(2).position(|w| w == b"\r\n")?;
    Some((&rest[..i], pos + i + 2))
}

fn num(b: &[u8]) -> Option<usize> {
    if b.is_empty() || b.len() > 19 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// Parse the record at `pos`.
pub fn step(buf: &[u8], pos: usize) -> Step {
    if pos >= buf.len() {
        return Step::Eof;
    }
    if buf[pos] == b'#' {
        return match buf[pos..].iter().position(|&c| c == b'\n') {
            Some(i) => Step::Annotation(pos + i + 1),
            None => Step::Truncated,
        };
    }
    if buf[pos] != b'*' {
        return Step::Bad("expected '*'");
    }
    let Some((l, mut p)) = line(buf, pos + 1) else {
        return if buf.len() - pos > 32 {
            Step::Bad("bad multibulk length")
        } else {
            Step::Truncated
        };
    };
    let Some(n) = num(l).filter(|&n| n >= 1) else {
        return Step::Bad("bad multibulk length");
    };
    let mut args = Vec::with_capacity(n);
    for _ in 0..n {
        if p >= buf.len() {
            return Step::Truncated;
        }
        if buf[p] != b'$' {
            return Step::Bad("expected '$'");
        }
        let Some((l, q)) = line(buf, p + 1) else {
            return if buf.len() - p > 32 {
                Step::Bad("bad bulk length")
            } else {
                Step::Truncated
            };
        };
        let Some(len) = num(l) else {
            return Step::Bad("bad bulk length");
        };
        if buf.len() < q + len + 2 {
            return Step::Truncated;
        }
        if &buf[q + len..q + len + 2] != b"\r\n" {
            return Step::Bad("bulk not followed by CRLF");
        }
        args.push(Bytes::copy_from_slice(&buf[q..q + len]));
        p = q + len + 2;
    }
    Step::Cmd(args, p)
}

/// Sizes after loading: (BASE, INCR files but the last, the last INCR).
pub type Sizes = (u64, u64, u64);

pub struct Hooks<'a> {
    /// A BASE in RDB form was read: install it.
    pub install_rdb: &'a mut dyn FnMut(rdb::Loaded),
    /// Execute one command; Err(text) stops the load.
    pub apply: &'a mut dyn FnMut(Vec<Bytes>) -> Result<(), String>,
}

/// Load every file of the manifest from `dir`.
pub fn load(
    dir: &Path,
    manifest: &Manifest,
    opts: &rdb::LoadOpts,
    truncate_ok: bool,
    hooks: &mut Hooks,
) -> Result<Sizes, String> {
    let files: Vec<_> = manifest.load_order().collect();
    let mut sizes: Sizes = (0, 0, 0);
    for (i, e) in files.iter().enumerate() {
        let last = i + 1 == files.len();
        let path = dir.join(&e.name);
        let f = std::fs::File::open(&path).map_err(|err| {
            format!(
                "The AOF file {} doesn't exist or can't be opened: {err}",
                e.name
            )
        })?;
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let mut r = BufReader::with_capacity(1 << 20, f);
        let head = r.fill_buf().map_err(|err| format!("{}: {err}", e.name))?;
        let mut start = 0u64;
        if head.starts_with(b"REDIS") {
            let loaded = rdb::load_bufread(&mut r, opts).map_err(|err| {
                format!(
                    "Bad file format reading the append only file {}: the RDB preamble: {err}",
                    e.name
                )
            })?;
            (hooks.install_rdb)(loaded);
            start = r.stream_position().unwrap_or(0);
        }
        let mut buf = Vec::with_capacity((len - start.min(len)) as usize);
        r.read_to_end(&mut buf)
            .map_err(|err| format!("{}: {err}", e.name))?;
        let good = run_commands(&buf, &e.name, start, last, truncate_ok, hooks)?;
        let size = match good {
            Some(cut) => {
                let at = start + cut as u64;
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .and_then(|f| f.set_len(at))
                    .map_err(|err| format!("Error truncating the AOF file {}: {err}", e.name))?;
                tracing::warn!(
                    "!!! Warning: short read while loading the AOF file {}!!! AOF loaded anyway because aof-load-truncated is enabled: truncated to {at} bytes (was {len})",
                    e.name
                );
                at
            }
            None => len,
        };
        if i == 0 && manifest.base.is_some() {
            sizes.0 = size;
        } else if last {
            sizes.2 = size;
        } else {
            sizes.1 += size;
        }
    }
    Ok(sizes)
}

/// Execute the commands of one file. Some(offset) when the file must be
/// cut there (a truncated last file).
fn run_commands(
    buf: &[u8],
    name: &str,
    base_off: u64,
    last: bool,
    truncate_ok: bool,
    hooks: &mut Hooks,
) -> Result<Option<usize>, String> {
    let mut pos = 0;
    let mut multi_at: Option<usize> = None;
    loop {
        match step(buf, pos) {
            Step::Cmd(args, next) => {
                if args[0].eq_ignore_ascii_case(b"multi") {
                    multi_at = Some(pos);
                } else if args[0].eq_ignore_ascii_case(b"exec") {
                    multi_at = None;
                }
                (hooks.apply)(args).map_err(|e| {
                    format!(
                        "{e} reading the append only file {name} at offset {}",
                        base_off + pos as u64
                    )
                })?;
                pos = next;
            }
            Step::Annotation(next) => pos = next,
            Step::Eof if multi_at.is_none() => return Ok(None),
            Step::Eof | Step::Truncated => {
                let cut = multi_at.unwrap_or(pos);
                if last && truncate_ok {
                    if multi_at.is_some() {
                        tracing::warn!("Revert incomplete MULTI/EXEC transaction in AOF file {name}");
                        (hooks.apply)(vec![Bytes::from_static(b"DISCARD")]).ok();
                    }
                    return Ok(Some(cut));
                }
                return Err(format!(
                    "Unexpected end of file reading the append only file {name} at offset {}. \
                     You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. \
                     2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.",
                    base_off + cut as u64
                ));
            }
            Step::Bad(why) => {
                return Err(format!(
                    "Bad file format reading the append only file {name} at offset {} ({why}): \
                     make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>",
                    base_off + pos as u64
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands_annotations_and_damage() {
        let b = b"#TS:1\r\n*2\r\n$3\r\nDEL\r\n$1\r\na\r\n";
        assert_eq!(step(b, 0), Step::Annotation(7));
        match step(b, 7) {
            Step::Cmd(a, end) => {
                assert_eq!(a, vec![Bytes::from("DEL"), Bytes::from("a")]);
                assert_eq!(end, b.len());
            }
            s => panic!("{s:?}"),
        }
        assert_eq!(step(b, b.len()), Step::Eof);
        for cut in 8..b.len() {
            assert_eq!(step(&b[..cut], 7), Step::Truncated, "cut {cut}");
        }
        assert_eq!(
            step(b"*2\r\n$3\r\nDEL\r\nx1\r\na\r\n", 0),
            Step::Bad("expected '$'")
        );
        assert_eq!(step(b"xx", 0), Step::Bad("expected '*'"));
        assert_eq!(
            step(b"*1\r\n$1\r\nabc\r\n", 0),
            Step::Bad("bulk not followed by CRLF")
        );
    }

    #[test]
    fn truncated_last_file_is_cut_before_an_open_multi() {
        let mut n = 0;
        let mut install = |_l: rdb::Loaded| {};
        let mut apply = |_a: Vec<Bytes>| {
            n += 1;
            Ok(())
        };
        let mut h = Hooks {
            install_rdb: &mut install,
            apply: &mut apply,
        };
        let body = b"*1\r\n$3\r\nGET\r\n*1\r\n$5\r\nMULTI\r\n*1\r\n$3\r\nGET\r\n*1\r\n$4\r\nEX";
        assert_eq!(run_commands(body, "f", 0, true, true, &mut h), Ok(Some(13)));
        let e = run_commands(body, "f", 0, false, true, &mut h).unwrap_err();
        assert!(
            e.contains("Unexpected end of file") && e.contains("offset 13"),
            "{e}"
        );
        let e = run_commands(b"*1\r\n$3\r\nGET\r\n!!", "f", 100, true, true, &mut h).unwrap_err();
        assert!(
            e.contains("Bad file format") && e.contains("offset 113"),
            "{e}"
        );
    }
}
