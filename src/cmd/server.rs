//! Server commands: INFO, CONFIG, COMMAND, DBSIZE, FLUSH*, TIME,
//! SHUTDOWN, DEBUG, SLOWLOG, MEMORY.

use super::{flags::*, Command, Ctx, Keys, Post, NOKEYS};
use crate::error::{CmdResult, Error};
use crate::resp::Out;
use crate::store::{Db, Store};
use crate::util::{eq_ic, parse_f64, parse_i64};
use bytes::Bytes;
use std::sync::atomic::Ordering;
use std::time::Duration;

pub(super) const ADM: u32 = ADMIN | NOSCRIPT | LOADING | STALE;
pub(super) const LS: u32 = LOADING | STALE;

pub static COMMANDS: &[Command] = &[
    Command {
        name: "role",
        acl: &["admin", "dangerous"],
        arity: 1,
        flags: NOSCRIPT | LOADING | STALE | FAST | SENTINEL,
        keys: NOKEYS,
        group: "server",
        since: "2.8.12",
        summary: "Returns the replication role.",
        handler: role,
        sentinel: Some(crate::sentinel::front::role_command),
        ..Command::DEFAULT
    },
    Command {
        name: "dbsize",
        acl: &["keyspace"],
        arity: 1,
        flags: READONLY | FAST,
        keys: NOKEYS,
        group: "server",
        since: "1.0.0",
        summary: "Return the number of keys in the selected database",
        handler: dbsize,
        ..Command::DEFAULT
    },
    Command {
        name: "flushdb",
        acl: &["keyspace", "dangerous"],
        arity: -1,
        flags: WRITE,
        keys: NOKEYS,
        group: "server",
        since: "1.0.0",
        args: "[ASYNC|SYNC]",
        summary: "Remove all keys from the current database",
        handler: flushdb,
        ..Command::DEFAULT
    },
    Command {
        name: "flushall",
        acl: &["keyspace", "dangerous"],
        arity: -1,
        flags: WRITE,
        keys: NOKEYS,
        group: "server",
        since: "1.0.0",
        args: "[ASYNC|SYNC]",
        summary: "Remove all keys from all databases",
        handler: flushall,
        ..Command::DEFAULT
    },
    Command {
        name: "time",
        arity: 1,
        flags: LS | FAST,
        keys: NOKEYS,
        group: "server",
        since: "2.6.0",
        summary: "Return the current server time",
        handler: time,
        ..Command::DEFAULT
    },
    Command {
        name: "shutdown",
        arity: -1,
        flags: ADM | NO_MULTI | ALLOW_BUSY | SENTINEL,
        keys: NOKEYS,
        group: "server",
        since: "1.0.0",
        args: "[NOSAVE|SAVE] [NOW] [FORCE] [ABORT]",
        summary: "Synchronously save the dataset to disk and then shut down the server",
        handler: shutdown,
        lock_free: Some(shutdown_busy),
        sentinel: Some(crate::sentinel::front::shutdown_command),
        ..Command::DEFAULT
    },
    Command {
        name: "debug",
        arity: -2,
        flags: ADM,
        keys: NOKEYS,
        group: "server",
        since: "1.0.0",
        args: "subcommand [argument ...]",
        summary: "A container for debugging commands",
        handler: debug,
        ..Command::DEFAULT
    },
    Command {
        name: "slowlog",
        arity: -2,
        flags: 0,
        group: "server",
        since: "2.2.12",
        summary: "A container for slow log commands",
        subcommands: SLOWLOG_SUBS,
        ..Command::DEFAULT
    },
    Command {
        name: "memory",
        arity: -2,
        flags: 0,
        group: "server",
        since: "4.0.0",
        summary: "A container for memory diagnostics commands",
        subcommands: MEMORY_SUBS,
        ..Command::DEFAULT
    },
];

static SLOWLOG_SUBS: &[Command] = &[
    Command {
        name: "slowlog|get",
        arity: -2,
        flags: ADMIN | LS,
        keys: NOKEYS,
        group: "server",
        since: "2.2.12",
        args: "[count]",
        summary: "Get the slow log's entries",
        handler: slowlog_get,
        ..Command::DEFAULT
    },
    Command {
        name: "slowlog|len",
        arity: 2,
        flags: ADMIN | LS,
        keys: NOKEYS,
        group: "server",
        since: "2.2.12",
        summary: "Get the slow log's length",
        handler: slowlog_len,
        ..Command::DEFAULT
    },
    Command {
        name: "slowlog|reset",
        arity: 2,
        flags: ADMIN | LS,
        keys: NOKEYS,
        group: "server",
        since: "2.2.12",
        summary: "Clear all entries from the slow log",
        handler: slowlog_reset,
        ..Command::DEFAULT
    },
    Command {
        name: "slowlog|help",
        arity: 2,
        flags: LS,
        keys: NOKEYS,
        group: "server",
        since: "6.2.0",
        summary: "Show helpful text about the different subcommands",
        handler: slowlog_help,
        ..Command::DEFAULT
    },
];

static MEMORY_SUBS: &[Command] = &[
    Command {
        name: "memory|usage",
        arity: -3,
        flags: READONLY,
        keys: Keys {
            first: 2,
            last: 2,
            step: 1,
        },
        group: "server",
        since: "4.0.0",
        args: "key [SAMPLES count]",
        summary: "Estimate the memory usage of a key",
        handler: memory_usage,
        ..Command::DEFAULT
    },
    Command {
        name: "memory|doctor",
        arity: 2,
        flags: 0,
        keys: NOKEYS,
        group: "server",
        since: "4.0.0",
        summary: "Outputs memory problems report",
        handler: memory_doctor,
        ..Command::DEFAULT
    },
    Command {
        name: "memory|purge",
        arity: 2,
        flags: 0,
        keys: NOKEYS,
        group: "server",
        since: "4.0.0",
        summary: "Ask the allocator to release memory",
        handler: memory_purge,
        ..Command::DEFAULT
    },
    Command {
        name: "memory|malloc-stats",
        arity: 2,
        flags: 0,
        keys: NOKEYS,
        group: "server",
        since: "4.0.0",
        summary: "Show allocator internal stats",
        handler: memory_malloc_stats,
        ..Command::DEFAULT
    },
    Command {
        name: "memory|help",
        arity: 2,
        flags: LS,
        keys: NOKEYS,
        group: "server",
        since: "4.0.0",
        summary: "Show helpful text about the different subcommands",
        handler: memory_help,
        ..Command::DEFAULT
    },
];

pub(super) fn lower(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_ascii_lowercase()
}

pub(super) fn help(out: &mut Out, lines: &[&str]) {
    out.array(lines.len());
    for l in lines {
        out.simple(l);
    }
}

/// `strerror`-like text of an I/O error (no "(os error N)" suffix).
pub(super) fn io_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

// ---------------------------------------------------------------- INFO

/// ROLE: `master` or `slave` first (redis-rb and HAProxy setups check it).
fn role(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    crate::repl::info::role(ctx.srv, ctx.store, ctx.out);
    Ok(())
}

fn dbsize(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let n = ctx.db().len();
    ctx.out.int(n as i64);
    Ok(())
}

/// `[ASYNC|SYNC]` → true for ASYNC.
fn flush_mode(args: &[Bytes]) -> Result<bool, Error> {
    match args.len() {
        1 => Ok(false),
        2 if eq_ic(&args[1], "async") => Ok(true),
        2 if eq_ic(&args[1], "sync") => Ok(false),
        _ => Err(Error::Syntax),
    }
}

/// Empty one database, keeping its hit/miss counters. Returns the old contents.
fn empty_db(store: &mut Store, i: usize) -> Db {
    let db = &mut store.dbs[i];
    let old = db.take_all();
    db.hits = old.hits;
    db.misses = old.misses;
    old
}

/// Free old database contents, on a background thread for ASYNC.
fn release(old: Vec<Db>, lazy: bool) {
    if lazy {
        crate::store::lazyfree::free(old);
    } else {
        drop(old);
    }
}

fn flushdb(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let lazy = flush_mode(args)?;
    let i = ctx.client.db;
    // Counted first: while a snapshot runs the old contents go to it instead.
    let removed = ctx.store.dbs[i].len() as u64;
    let old = empty_db(ctx.store, i);
    release(vec![old], lazy);
    ctx.dirty(removed);
    ctx.propagate(args.to_vec());
    ctx.out.ok();
    Ok(())
}

fn flushall(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let lazy = flush_mode(args)?;
    let n = ctx.store.dbs.len();
    let removed = ctx.store.keys_total() as u64;
    // Like Redis: a running background save is pointless now; with save
    // points set, the (empty) dataset is saved right away.
    let save_points = !ctx.srv.config.read().save.0.is_empty();
    if save_points {
        crate::persist::snapshot::cancel(ctx.store);
    }
    let old: Vec<Db> = (0..n).map(|i| empty_db(ctx.store, i)).collect();
    release(old, lazy);
    if save_points {
        let _ = ctx.srv.persist.save_now(ctx.store);
    }
    ctx.dirty(removed);
    ctx.propagate(args.to_vec());
    ctx.out.ok();
    Ok(())
}

fn time(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let us = crate::util::now_us();
    ctx.out.array(2);
    ctx.out.bulk_int((us / 1_000_000) as i64);
    ctx.out.bulk_int((us % 1_000_000) as i64);
    Ok(())
}

/// SHUTDOWN while a busy script holds the keyspace: only NOSAVE is allowed
/// (Redis 7.0), and the script keeps the lock, so the process exits at once.
fn shutdown_busy(_srv: &crate::server::Shared, args: &[Bytes], out: &mut crate::resp::Out) {
    if args[1..].iter().any(|a| eq_ic(a, "nosave")) {
        tracing::warn!("SHUTDOWN NOSAVE while a script is running: exiting now");
        std::process::exit(0);
    }
    out.error(_srv.scripts.busy_err());
}

fn shutdown(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (mut nosave, mut save, mut force, mut abort) = (false, false, false, false);
    for a in &args[1..] {
        match lower(a).as_str() {
            "nosave" => nosave = true,
            "save" => save = true,
            "now" => {}
            "force" => force = true,
            "abort" => abort = true,
            _ => return Err(Error::Syntax),
        }
    }
    if (nosave && save) || (abort && args.len() != 2) {
        return Err(Error::Syntax);
    }
    if abort {
        return Err(Error::err("No shutdown in progress."));
    }
    // Redis 7.0: save when asked to, or by default when save points are set.
    let save_points = !ctx.srv.config.read().save.0.is_empty();
    if !nosave && (save || save_points) {
        crate::persist::snapshot::cancel(ctx.store);
        tracing::info!("Saving the final RDB snapshot before exiting.");
        if ctx.srv.persist.save_now(ctx.store).is_err() {
            if !force {
                tracing::warn!(
                    "Errors trying to shut down the server. Check the logs for more information."
                );
                return Err(Error::err("Errors trying to SHUTDOWN. Check logs."));
            }
            tracing::warn!("FORCE given: shutting down without saving");
        }
    }
    ctx.srv
        .persist
        .final_save_done
        .store(true, Ordering::Relaxed);
    tracing::info!("SHUTDOWN requested by client {}", ctx.client.handle.addr);
    ctx.post.push(Post::Shutdown);
    Ok(())
}

// ---------------------------------------------------------------- DEBUG

const DEBUG_REFUSED: &str = "DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";

fn debug(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let allowed = match ctx.srv.config.read().enable_debug_command.as_str() {
        "yes" => true,
        "local" => ctx.client.handle.is_local(),
        _ => false,
    };
    if !allowed {
        return Err(Error::err(DEBUG_REFUSED));
    }
    let sub = lower(&args[1]);
    match (sub.as_str(), args.len()) {
        ("help", 2) => help(
            ctx.out,
            &[
                "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "OBJECT <key>",
                "    Show low level info about the key and associated value.",
                "RELOAD",
                "    Save the RDB on disk and reload it back to memory.",
                "SET-ACTIVE-EXPIRE <0|1>",
                "    Setting it to 0 disables expiring keys in background when they are not",
                "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
                "    default.",
                "SLEEP <seconds>",
                "    Stop the server for <seconds>. Decimals allowed.",
                "HELP",
                "    Prints this help.",
            ],
        ),
        ("sleep", 3) => {
            let secs = parse_f64(&args[2]).unwrap_or(0.0);
            if secs.is_finite() && secs > 0.0 {
                // Like Redis: the whole server stops, keyspace lock held.
                std::thread::sleep(Duration::from_secs_f64(secs));
            }
            ctx.out.ok();
        }
        ("reload", 2) => {
            ctx.srv.persist.debug_reload(ctx.store)?;
            ctx.out.ok();
        }
        ("set-active-expire", 3) => {
            ctx.store.active_expire = parse_i64(&args[2]).unwrap_or(0) != 0;
            ctx.out.ok();
        }
        ("object", 3) => {
            let now = ctx.now;
            let db = &mut ctx.store.dbs[ctx.client.db];
            let idx = db
                .find(&args[2])
                .filter(|&i| {
                    let e = db.entry(i);
                    e.expire == 0 || e.expire > now
                })
                .ok_or(Error::NoSuchKey)?;
            let e = db.entry(idx);
            let idle = (now / 1000).saturating_sub(e.lru as u64);
            let text = format!(
                "Value at:0x{:x} refcount:1 encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
                idx,
                e.value.encoding(),
                e.value.mem_usage().max(1),
                e.lru & ((1 << 24) - 1),
                idle
            );
            ctx.out.simple(&text);
        }
        _ => {
            return Err(Error::err(format!(
                "unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
                String::from_utf8_lossy(&args[1])
            )))
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- SLOWLOG

fn slowlog_get(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(Error::err(format!(
            "unknown subcommand or wrong number of arguments for '{}'. Try SLOWLOG HELP.",
            String::from_utf8_lossy(&args[1])
        )));
    }
    let count = match args.get(2) {
        None => 10,
        Some(a) => parse_i64(a)
            .filter(|&c| c >= -1)
            .ok_or_else(|| Error::err("count should be greater than or equal to -1"))?,
    };
    let log = ctx.srv.slowlog.lock();
    let n = if count == -1 {
        log.entries.len()
    } else {
        (count as usize).min(log.entries.len())
    };
    ctx.out.array(n);
    for e in log.entries.iter().take(n) {
        ctx.out.array(6);
        ctx.out.int(e.id as i64);
        ctx.out.int(e.time as i64);
        ctx.out.int(e.micros as i64);
        ctx.out.bulks(e.args.iter());
        ctx.out.bulk(e.addr.as_bytes());
        ctx.out.bulk(e.name.as_bytes());
    }
    Ok(())
}

fn slowlog_len(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let n = ctx.srv.slowlog.lock().entries.len();
    ctx.out.int(n as i64);
    Ok(())
}

fn slowlog_reset(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    ctx.srv.slowlog.lock().entries.clear();
    ctx.out.ok();
    Ok(())
}

fn slowlog_help(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    help(
        ctx.out,
        &[
            "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
            "HELP",
            "    Prints this help.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------- MEMORY

fn memory_usage(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut j = 3;
    while j < args.len() {
        if eq_ic(&args[j], "samples") && j + 1 < args.len() {
            let n = parse_i64(&args[j + 1]).ok_or(Error::NotInteger)?;
            if n < 0 {
                return Err(Error::Syntax);
            }
            j += 2;
        } else {
            return Err(Error::Syntax);
        }
    }
    let now = ctx.now;
    let db = &ctx.store.dbs[ctx.client.db];
    let live = db
        .find(&args[2])
        .map(|i| db.entry(i))
        .filter(|e| e.expire == 0 || e.expire > now);
    match live {
        None => ctx.out.null(),
        Some(e) => {
            // Key and value bytes, plus the slab slot and the hash-table slot.
            let n = e.key.len()
                + e.value.mem_usage()
                + std::mem::size_of::<Option<crate::store::Entry>>()
                + 8;
            ctx.out.int(n as i64);
        }
    }
    Ok(())
}

fn memory_doctor(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let (used, _, _) = super::info::memory_estimate(ctx.store);
    let text = if used < 5 * 1024 * 1024 {
        "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting."
    } else {
        "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base."
    };
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

fn memory_purge(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    ctx.out.ok();
    Ok(())
}

fn memory_malloc_stats(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    ctx.out
        .verbatim(b"Stats not supported for the current allocator");
    Ok(())
}

fn memory_help(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    help(
        ctx.out,
        &[
            "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
            "HELP",
            "    Prints this help.",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::cmd::testkit::Harness;

    #[test]
    fn flushes_are_always_propagated() {
        let mut h = Harness::new();
        h.register();
        // Even on an empty dataset, like Redis's forced propagation.
        assert_eq!(h.run_posts(&["FLUSHALL"]).0, "+OK\r\n");
        assert_eq!(h.run_posts(&["SET", "k", "v"]).0, "+OK\r\n");
        assert_eq!(h.run_posts(&["FLUSHDB", "ASYNC"]).0, "+OK\r\n");
        assert_eq!(h.run_posts(&["DBSIZE"]).0, ":0\r\n");
        let stream = h.raw_stream();
        assert_eq!(
            stream,
            "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*1\r\n$8\r\nFLUSHALL\r\n\
             *3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$7\r\nFLUSHDB\r\n$5\r\nASYNC\r\n"
        );
        assert_eq!(h.srv.store.lock().dirty, 2);
    }

    #[test]
    fn shutdown_posts_and_config_set_applies() {
        let mut h = Harness::new();
        h.register();
        let (out, post) = h.run_posts(&["SHUTDOWN", "NOSAVE", "NOW"]);
        assert_eq!(out, "");
        assert_eq!(post, vec![Post::Shutdown]);
        let (out, _) = h.run_posts(&[
            "CONFIG",
            "SET",
            "slowlog-log-slower-than",
            "5",
            "maxclients",
            "7",
        ]);
        assert_eq!(out, "+OK\r\n");
        assert_eq!(h.client.cfg.slowlog_log_slower_than, 5);
        assert_eq!(h.srv.config.read().maxclients, 7);
        let (out, _) = h.run_posts(&["CONFIG", "REWRITE"]);
        assert_eq!(out, "-ERR The server is running without a config file\r\n");
        let (out, _) = h.run_posts(&["INFO", "clients"]);
        assert!(
            out.contains("connected_clients:1\r\nmaxclients:7\r\n")
                || out.contains("maxclients:7\r\n"),
            "{out}"
        );
    }
}
